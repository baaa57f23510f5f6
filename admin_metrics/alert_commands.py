"""``admin-metrics alerts …`` and ``admin-metrics reports …``: thin wrappers over
``alerts.manage`` (the same functions the REST API calls)."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from admin_metrics.cli_obj import Obj, pass_obj
from admin_metrics.settings import Settings
from alerts.types import AlertInputError
from db.metrics import METRIC_IDS


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _sessions(obj: Obj) -> Iterator[sessionmaker[Session]]:
    """Sessions on the store, once it is known to be there at this version's schema."""
    from db.engine import make_engine, session_factory

    engine = make_engine(obj.store_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def _presenter(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Any]:
    """The page's formatting and report service; Chromium starts only if a PDF is built."""
    from dashboard.reports.chart_renderer import ChartRenderer
    from dashboard.reports.insights import InsightOptions
    from dashboard.reports.mailing import ReportPresenter

    renderers: list[ChartRenderer] = []

    def renderer() -> ChartRenderer:
        if not renderers:
            renderers.append(ChartRenderer(settings.chromium_path))
        return renderers[0]

    try:
        yield ReportPresenter(
            sessions,
            max_bytes=settings.export_max_bytes,
            renderer=renderer,
            insights=InsightOptions.from_settings(settings),
        )
    finally:
        for chart_renderer in renderers:
            chart_renderer.close()


def _key(value: str) -> str | int:
    """A rule, channel or schedule by id (digits) or by name."""
    return int(value) if value.isdigit() else value


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except AlertInputError as exc:
        raise click.ClickException(str(exc)) from None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _delivery_line(delivery: Any) -> str:
    from alerts.delivery import describe_target

    error = f" — {delivery.last_error}" if delivery.last_error else ""
    return (
        f"{delivery.purpose} {delivery.kind} to {describe_target(delivery)}: {delivery.status} "
        f"after {delivery.attempts} attempt(s){error}"
    )


# --- alerts ------------------------------------------------------------------------------
@click.group("alerts")
def alerts_group() -> None:
    """Alert rules and their channels (mail recipients, webhooks); history; a test message."""


@alerts_group.command("list")
@pass_obj
def alerts_list(obj: Obj) -> None:
    """Rules with their state (firing or ok) and channels."""
    from alerts.config import alert_config
    from alerts.messages import describe_condition
    from alerts.rules import condition_of
    from db import alerts as store

    settings = obj.settings
    config = alert_config(settings)
    with _sessions(obj) as sessions, _presenter(settings, sessions) as presenter:
        from db.engine import session_scope

        with session_scope(sessions) as session:
            firing = store.open_events(session)
            rules = store.list_rules(session)
            if not rules:
                click.echo("No alert rules (add one with `admin-metrics alerts add`).")
            for rule in rules:
                condition = describe_condition(
                    condition_of(rule),
                    rule.metric_type,
                    "en",
                    presenter,
                    config.storage_capacity_bytes,
                )
                state = "off" if not rule.enabled else "FIRING" if rule.id in firing else "ok"
                channels = ", ".join(c.name for c in rule.channels) or "(no channel)"
                click.echo(
                    f"{rule.id:>3}  {rule.name}  [{rule.level}, {state}]  {condition}  → {channels}"
                )


@alerts_group.command("channels")
@pass_obj
def alerts_channels(obj: Obj) -> None:
    """Channels: mail recipients and webhooks (secrets are never shown)."""
    from db import alerts as store
    from db.engine import session_scope

    with _sessions(obj) as sessions, session_scope(sessions) as session:
        for channel in store.list_channels(session):
            if channel.kind == "email":
                where = channel.recipients or ""
            else:
                from alerts.channels import receiver_host

                signed = ", signed" if channel.secret else ""
                timeout = (
                    f", timeout {channel.timeout_seconds:g} s" if channel.timeout_seconds else ""
                )
                where = f"{receiver_host(channel.url or '')}{signed}{timeout}"
            click.echo(f"{channel.id:>3}  {channel.name}  {channel.kind}  {where}")


@alerts_group.command("add-channel")
@click.argument("name")
@click.option("--email", "emails", help="Comma-separated recipients (sent over SMTP_*).")
@click.option("--webhook", "url", help="URL receiving a JSON POST per message.")
@click.option(
    "--secret",
    is_flag=True,
    help="Sign webhook bodies (X-Signature-SHA256): secret from WEBHOOK_SECRET or a prompt.",
)
@click.option("--timeout", type=float, default=None, help="Webhook timeout in seconds.")
@pass_obj
def alerts_add_channel(
    obj: Obj, name: str, emails: str | None, url: str | None, secret: bool, timeout: float | None
) -> None:
    """Add channel NAME: --email a@x,b@y or --webhook URL [--secret] [--timeout S]."""
    from alerts import manage
    from db.engine import session_scope

    if (emails is None) == (url is None):
        raise click.UsageError("give exactly one of --email or --webhook")
    secret_value = None
    if secret:
        secret_value = os.environ.get("WEBHOOK_SECRET")
        if secret_value is None:
            if not sys.stdin.isatty():
                raise click.ClickException("set WEBHOOK_SECRET or run interactively")
            secret_value = getpass.getpass("Webhook secret: ")
    data = {
        "name": name,
        "kind": "email" if emails is not None else "webhook",
        "recipients": _split(emails),
        "url": url,
        "secret": secret_value,
        "timeout_seconds": timeout,
    }
    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        channel = manage.add_channel(session, data, now=_now())
        click.echo(f"Channel {channel.id} '{channel.name}' ({channel.kind}) added")


@alerts_group.command("delete-channel")
@click.argument("channel")
@pass_obj
def alerts_delete_channel(obj: Obj, channel: str) -> None:
    """Delete CHANNEL (id or name); rules keep their other channels."""
    from alerts import manage
    from db import alerts as store
    from db.engine import session_scope

    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        found = manage.find_channel(session, _key(channel))
        store.delete_channel(session, found.id)
        click.echo(f"Channel '{found.name}' deleted")


def _condition(options: dict[str, Any]) -> dict[str, Any]:
    chosen = [
        k
        for k in (
            "above",
            "below",
            "change",
            "failed_slots",
            "no_success_hours",
            "storage_within_days",
        )
        if options[k] is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one condition: --above/--below X, --change PERCENT, --failed-slots N, "
            "--no-success-hours H or --storage-within-days N"
        )
    kind = chosen[0]
    if kind in ("above", "below"):
        return {"type": "threshold", "op": kind, "value": options[kind], "slots": options["slots"]}
    if kind == "change":
        return {
            "type": "change",
            "percent": options["change"],
            "days": options["days"],
            "direction": options["direction"],
        }
    if kind == "failed_slots":
        return {"type": "collection_failing", "failed_slots": options["failed_slots"]}
    if kind == "no_success_hours":
        return {"type": "collection_failing", "no_success_hours": options["no_success_hours"]}
    return {"type": "storage_forecast", "days": options["storage_within_days"]}


@alerts_group.command("add")
@click.argument("name")
@click.option("--metric", type=click.Choice(list(METRIC_IDS)), help="For --above/--below/--change.")
@click.option("--above", type=float, help="Fire when the value is above X (metric's unit).")
@click.option("--below", type=float, help="Fire when the value is below X.")
@click.option("--slots", type=int, default=1, show_default=True, help="…for N consecutive slots.")
@click.option("--change", type=float, help="Fire when the period average changes > PERCENT.")
@click.option("--days", type=int, default=7, show_default=True, help="Period of --change.")
@click.option(
    "--direction", type=click.Choice(["both", "up", "down"]), default="both", show_default=True
)
@click.option("--failed-slots", type=int, help="Fire after N consecutive failed collections.")
@click.option("--no-success-hours", type=float, help="Fire after H hours without a collection.")
@click.option(
    "--storage-within-days", type=int, help="Fire when storage is forecast full within N days."
)
@click.option(
    "--level",
    type=click.Choice(["info", "warning", "critical"]),
    default="warning",
    show_default=True,
)
@click.option("--reminder-minutes", type=int, default=None, help="Re-send while it lasts.")
@click.option("--lang", type=click.Choice(["ko", "en"]), default=None, help="Message language.")
@click.option("--channel", "channels", multiple=True, help="Channel name or id (repeatable).")
@click.option("--disabled", is_flag=True, help="Add the rule switched off.")
@pass_obj
def alerts_add(
    obj: Obj, name: str, channels: tuple[str, ...], disabled: bool, **options: Any
) -> None:
    """Add rule NAME with one condition and its channels."""
    from alerts import manage
    from alerts.config import alert_config
    from db.engine import session_scope

    settings = obj.settings
    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        channel_ids = [manage.find_channel(session, _key(c)).id for c in channels]
        rule = manage.add_rule(
            session,
            {
                "name": name,
                "metric_type": options["metric"],
                "condition": _condition(options),
                "level": options["level"],
                "enabled": not disabled,
                "reminder_minutes": options["reminder_minutes"],
                "language": options["lang"],
                "channel_ids": channel_ids,
            },
            alert_config(settings),
            now=_now(),
        )
        click.echo(f"Rule {rule.id} '{rule.name}' added")


def _set_enabled(obj: Obj, rule: str, enabled: bool) -> None:
    from alerts import manage
    from alerts.config import alert_config
    from db.engine import session_scope

    settings = obj.settings
    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        found = manage.patch_rule(
            session, _key(rule), {"enabled": enabled}, alert_config(settings), now=_now()
        )
        click.echo(f"Rule '{found.name}' {'enabled' if enabled else 'disabled'}")


@alerts_group.command("enable")
@click.argument("rule")
@pass_obj
def alerts_enable(obj: Obj, rule: str) -> None:
    """Switch RULE (id or name) on."""
    _set_enabled(obj, rule, True)


@alerts_group.command("disable")
@click.argument("rule")
@pass_obj
def alerts_disable(obj: Obj, rule: str) -> None:
    """Switch RULE off (a firing is closed without a message)."""
    _set_enabled(obj, rule, False)


@alerts_group.command("delete")
@click.argument("rule")
@pass_obj
def alerts_delete(obj: Obj, rule: str) -> None:
    """Delete RULE with its history."""
    from alerts import manage
    from db.engine import session_scope

    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        found = manage.find_rule(session, _key(rule))
        manage.remove_rule(session, found.id)
        click.echo(f"Rule '{found.name}' deleted")


@alerts_group.command("history")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--rule", default=None, help="Only this rule (id or name).")
@pass_obj
def alerts_history(obj: Obj, limit: int, rule: str | None) -> None:
    """Recent firings with every delivery, and reports/test messages sent."""
    from alerts import manage
    from db.engine import session_scope

    zone = obj.settings.default_timezone
    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        rule_id = manage.find_rule(session, _key(rule)).id if rule else None
        records = manage.history(session, limit=limit, rule_id=rule_id)
        others = [] if rule else manage.other_deliveries(session, limit=limit)
        if not records and not others:
            click.echo("No alerts sent yet.")
        for record in records:
            event = record.event
            ended = (
                f"resolved {_local(event.resolved_at, zone)} ({event.closed_reason})"
                if event.resolved_at
                else "still firing"
            )
            click.echo(
                f"{_local(event.started_at, zone)}  {record.rule_name} [{record.level}]  {ended}"
            )
            for item in record.deliveries:
                click.echo(f"    {_delivery_line(item.delivery)}")
        for item in others:
            click.echo(
                f"{_local(item.delivery.created_at, zone)}  {item.delivery.subject}  "
                f"{_delivery_line(item.delivery)}"
            )


def _local(value: datetime | None, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return f"{value.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}" if value else "-"


@alerts_group.command("test")
@click.argument("rule")
@pass_obj
def alerts_test(obj: Obj, rule: str) -> None:
    """Send a test message of RULE to each of its channels now; exits 1 if one failed."""
    from alerts import manage
    from alerts.config import alert_config

    settings = obj.settings
    with (
        _user_errors(),
        _sessions(obj) as sessions,
        _presenter(settings, sessions) as presenter,
    ):
        done = manage.send_test(sessions, _key(rule), alert_config(settings), presenter, now=_now())
    for delivery in done:
        click.echo(_delivery_line(delivery))
    if any(d.status != "sent" for d in done):
        raise click.ClickException("a test message could not be delivered")


# --- reports -----------------------------------------------------------------------------
@click.group("reports")
def reports_group() -> None:
    """Weekly/monthly PDF reports by mail, in the organisation's zone (DEFAULT_TIMEZONE)."""


@reports_group.command("list")
@pass_obj
def reports_list(obj: Obj) -> None:
    """Report schedules, with the last time each was sent."""
    from alerts.rules import WEEKDAYS
    from db import alerts as store
    from db.engine import session_scope

    zone = obj.settings.default_timezone
    with _sessions(obj) as sessions, session_scope(sessions) as session:
        schedules = store.list_schedules(session)
        if not schedules:
            click.echo("No report schedules (add one with `admin-metrics reports add`).")
        for s in schedules:
            when = (
                f"weekly {WEEKDAYS[s.weekday or 0]}"
                if s.frequency == "weekly"
                else f"monthly day {s.day_of_month}"
            )
            extras = ", csv" if s.include_csv else ""
            state = "" if s.enabled else " (off)"
            sent = _local(s.last_sent_at, zone)
            click.echo(
                f"{s.id:>3}  {s.name}{state}  {when} {s.hour:02d}:{s.minute:02d} {zone}  "
                f"[{s.language}{extras}]  → {s.recipients}  last sent {sent}"
            )


@reports_group.command("add")
@click.argument("name")
@click.option("--weekly", type=click.Choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
@click.option("--monthly", type=click.IntRange(1, 28), help="Day of the month (1–28).")
@click.option("--at", "time", default="09:00", show_default=True, help="HH:MM, DEFAULT_TIMEZONE.")
@click.option("--to", "recipients", required=True, help="Comma-separated recipients.")
@click.option("--csv", "include_csv", is_flag=True, help="Attach the CSV too.")
@click.option("--lang", type=click.Choice(["ko", "en"]), default=None)
@pass_obj
def reports_add(
    obj: Obj,
    name: str,
    weekly: str | None,
    monthly: int | None,
    time: str,
    recipients: str,
    include_csv: bool,
    lang: str | None,
) -> None:
    """Add report schedule NAME: --weekly DAY or --monthly N, --at HH:MM, --to a@x,b@y."""
    from alerts import manage
    from alerts.config import alert_config
    from alerts.rules import WEEKDAYS
    from db.engine import session_scope

    if (weekly is None) == (monthly is None):
        raise click.UsageError("give exactly one of --weekly DAY or --monthly N")
    data = {
        "name": name,
        "frequency": "weekly" if weekly else "monthly",
        "weekday": WEEKDAYS.index(weekly) if weekly else None,
        "day_of_month": monthly,
        "time": time,
        "recipients": _split(recipients),
        "include_csv": include_csv,
        "language": lang,
    }
    settings = obj.settings
    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        schedule = manage.add_schedule(session, data, alert_config(settings), now=_now())
        click.echo(f"Report schedule {schedule.id} '{schedule.name}' added")


@reports_group.command("delete")
@click.argument("schedule")
@pass_obj
def reports_delete(obj: Obj, schedule: str) -> None:
    """Delete report SCHEDULE (id or name)."""
    from alerts import manage
    from db import alerts as store
    from db.engine import session_scope

    with _user_errors(), _sessions(obj) as sessions, session_scope(sessions) as session:
        found = manage.find_schedule(session, _key(schedule))
        store.delete_schedule(session, found.id)
        click.echo(f"Report schedule '{found.name}' deleted")


@reports_group.command("send-now")
@click.argument("schedule")
@pass_obj
def reports_send_now(obj: Obj, schedule: str) -> None:
    """Build SCHEDULE's report of the last complete period and mail it now (to test)."""
    from alerts import manage
    from alerts.config import alert_config

    settings = obj.settings
    with (
        _user_errors(),
        _sessions(obj) as sessions,
        _presenter(settings, sessions) as presenter,
    ):
        delivery = manage.send_report_now(
            sessions, _key(schedule), alert_config(settings), presenter, now=_now()
        )
    click.echo(f"{delivery.subject}: {_delivery_line(delivery)}")
    if delivery.status != "sent":
        raise click.ClickException("the report could not be delivered")

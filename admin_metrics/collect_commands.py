"""CLI verbs of the collection engine: ``collect`` and ``status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from admin_metrics.cli_obj import Obj, pass_obj

if TYPE_CHECKING:
    from collectors.runner import SlotResult


@click.command("collect")
@click.option(
    "--granularity",
    type=click.Choice(["hourly", "daily"]),
    default="hourly",
    show_default=True,
    help="hourly: collect a slot from the source; daily: roll up a day's hourly values.",
)
@click.option(
    "--slot",
    default=None,
    metavar="ISO8601",
    help="Hourly: an instant in the slot (default now). Daily: a day (default yesterday).",
)
@pass_obj
def collect(obj: Obj, granularity: str, slot: str | None) -> None:
    """Collect now; exits non-zero with the reason when the collection (of any source)
    failed, after a line for each source that did not."""
    from collectors.manual import collect_once, parse_instant

    try:
        at = parse_instant(slot) if slot else None
    except ValueError:
        raise click.BadParameter(
            f"not an ISO 8601 instant: {slot!r}", param_hint="--slot"
        ) from None
    obj.check_store()
    result = collect_once(obj.settings, granularity, at)
    results = [result, *result.others.values()]
    several = len(results) > 1
    for one in results:
        if one.ok:
            click.echo(_collected_line(one, granularity, several))
    failed = [one for one in results if not one.ok]
    if failed:
        stamp = result.slot.isoformat()
        reasons = "; ".join(
            f"source {one.source}: {one.error}" if several else str(one.error) for one in failed
        )
        raise click.ClickException(f"{granularity} {stamp}: collection failed: {reasons}")


def _collected_line(result: SlotResult, granularity: str, several: bool) -> str:
    """What one source's collection stored (``several``: the line names the source)."""
    stamp = result.slot.isoformat()
    if several:
        stamp = f"{stamp} [{result.source}]"
    values = " ".join(f"{k}={v}" for k, v in result.values.items())
    # The catalogue's extra metrics: metric=value, or metric[label]=value per label.
    extras = [
        f"{m}[{label}]={v}" if label else f"{m}={v}"
        for m, by_label in result.extra_values.items()
        for label, v in by_label.items()
    ]
    extras += [f"{m}=failed ({reason})" for m, reason in result.extra_errors.items()]
    values = " ".join([values, *extras])
    if result.already_stored and granularity == "hourly":
        return f"{granularity} {stamp}: {values} (already stored; nothing collected)"
    return (
        f"{granularity} {stamp}: {values} ({result.inserted} new row(s), attempt {result.attempts})"
    )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_obj
def status(obj: Obj, as_json: bool) -> None:
    """Collection status: colour, last and next slot, failed slots in the last 24 h.

    With ``--json`` and a store that cannot be read, a JSON error (``{error, code}``) and a
    non-zero exit, so a monitoring script never parses a traceback.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from collectors.catalogue import configured_sources
    from db.engine import store_session
    from db.status import collection_status

    settings = obj.settings
    try:
        with store_session(obj.store_url) as session:
            result = collection_status(
                session,
                datetime.now(UTC),
                collection_enabled=settings.metrics_collection_enabled,
                sources=configured_sources(settings),
            )
    except (click.ClickException, SQLAlchemyError) as exc:
        if not as_json:
            raise
        message = (
            exc.message
            if isinstance(exc, click.ClickException)
            else str(getattr(exc, "orig", None) or exc)
        )
        error = {"error": " ".join(message.split()), "code": "STORE_UNAVAILABLE"}
        click.echo(json.dumps(error, ensure_ascii=False))
        raise SystemExit(1) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    last = result.last_collection_at.isoformat() if result.last_collection_at else "-"
    nxt = result.next_collection_at.isoformat() if result.next_collection_at else "- (disabled)"
    latest = {True: "stored", False: "failed", None: "-"}[result.latest_slot_succeeded]
    click.echo(f"status: {result.status}")
    click.echo(f"last successful slot: {last}")
    click.echo(f"latest slot: {latest}")
    click.echo(f"next slot: {nxt}")
    click.echo(
        f"failed slots in 24 h: {result.failed_slots_24h} "
        f"(not collected by anyone: {result.missed_slots_24h}; "
        f"failure rows: {result.failure_count_24h})"
    )
    if len(result.sources) > 1:
        for light in result.sources:
            at = light.last_collection_at.isoformat() if light.last_collection_at else "-"
            click.echo(
                f"source {light.source}: {light.status}, last successful slot {at}, "
                f"failed slots in 24 h {light.failed_slots_24h}"
            )
    several = len(result.sources) > 1
    for failure in result.recent_failures:
        where = f" [{failure.source}]" if several else ""
        click.echo(
            f"  {failure.attempted_at.isoformat()}{where} {failure.metric_type}: "
            f"{failure.error_message}"
        )

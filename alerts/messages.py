"""Alert and report messages: mails (text + simple HTML) and webhook JSON, in the rule's or
schedule's language.

Nothing reaches outside the intranet: no images, fonts or styles fetched from anywhere; the
only link is the dashboard under PUBLIC_URL (none when it is unset).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from alerts.i18n import t
from alerts.rules import (
    ChangeCondition,
    CollectionCondition,
    Condition,
    ForecastCondition,
    ThresholdCondition,
)
from alerts.types import AlertConfig, Presenter, Purpose, ReportFiles
from db.metrics import METRICS_BY_ID

DASHBOARD_PATH = "admin/metrics/"
ALERTS_PATH = "admin/metrics/alerts"
# Used when no relay is configured: the delivery is stored and fails with that reason.
FALLBACK_SENDER = "admin-metrics@localhost"


@dataclass(frozen=True, slots=True)
class Notice:
    """Everything one alert message says (no ORM objects: built inside the claim's
    transaction, rendered after it)."""

    purpose: Purpose
    rule_id: int
    rule_name: str
    metric_type: str | None
    condition: Condition
    level: str
    lang: str
    now: datetime
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _local(value: datetime | str | None, zone: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_duration(span: timedelta, lang: str) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return t("duration.minutes", lang).format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return t("duration.hours", lang).format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return t("duration.days", lang).format(d=days, h=hours)


def metric_name(metric_type: str | None, lang: str) -> str:
    return METRICS_BY_ID[metric_type].name(lang) if metric_type else ""


def describe_condition(
    condition: Condition,
    metric_type: str | None,
    lang: str,
    presenter: Presenter,
    capacity: int | None,
) -> str:
    """One line saying what the rule watches, e.g. ``활성 사용자 100명 초과 (3회 연속 수집)``."""
    metric = metric_name(metric_type, lang)
    if isinstance(condition, ThresholdCondition):
        assert metric_type is not None
        text = t(f"cond.{condition.op}", lang).format(
            metric=metric, value=presenter.format_value(condition.value, metric_type, lang)
        )
        if condition.slots > 1:
            text += t("cond.slots", lang).format(n=condition.slots)
        return text
    if isinstance(condition, ChangeCondition):
        return t(f"cond.change.{condition.direction}", lang).format(
            metric=metric, days=condition.days, percent=_number(condition.percent)
        )
    if isinstance(condition, CollectionCondition):
        if condition.failed_slots is not None:
            return t("cond.failed_slots", lang).format(n=condition.failed_slots)
        return t("cond.no_success", lang).format(hours=_number(condition.no_success_hours or 0))
    assert isinstance(condition, ForecastCondition)
    shown = presenter.format_value(capacity, "storage_bytes", lang) if capacity else "—"
    return t("cond.forecast", lang).format(days=condition.days, capacity=shown)


def describe_values(
    condition: Condition,
    metric_type: str | None,
    values: dict[str, Any],
    lang: str,
    presenter: Presenter,
    zone: str,
) -> str:
    """One line saying what was seen (empty when the observation carried nothing)."""
    if not values:
        return ""
    if isinstance(condition, ThresholdCondition) and "value" in values:
        assert metric_type is not None
        return t("seen.value", lang).format(
            value=presenter.format_value(values["value"], metric_type, lang),
            slot=_local(values.get("slot"), zone),
        )
    if isinstance(condition, ChangeCondition) and metric_type is not None:
        return t("seen.change", lang).format(
            average=presenter.format_value(values.get("average"), metric_type, lang),
            previous=presenter.format_value(values.get("previous_average"), metric_type, lang),
            change=presenter.format_change(values.get("change_percent")),
        )
    if isinstance(condition, CollectionCondition):
        if condition.failed_slots is not None:
            return t("seen.failed_slots", lang).format(
                n=values.get("failed_slots", 0), slot=_local(values.get("last_failed_slot"), zone)
            )
        if values.get("last_success") is None:
            return t("seen.never", lang)
        return t("seen.no_success", lang).format(
            slot=_local(values["last_success"], zone),
            hours=_number(float(values.get("hours_without_success", 0))),
        )
    if isinstance(condition, ForecastCondition) and "latest" in values:
        latest = presenter.format_value(values["latest"], "storage_bytes", lang)
        if values.get("days_left") == 0.0 and values["latest"] >= values.get("capacity", 0):
            return t("seen.forecast_full", lang).format(latest=latest)
        if values.get("days_left") is None:
            return ""
        return t("seen.forecast", lang).format(
            latest=latest,
            slope=presenter.format_value(values.get("slope_per_day", 0), "storage_bytes", lang),
            days_left=_number(round(float(values["days_left"]), 1)),
            reach=_local(values.get("reach_at"), zone),
        )
    return ""


def _lead(notice: Notice) -> str:
    lang = notice.lang
    started = notice.started_at or notice.now
    duration = format_duration((notice.resolved_at or notice.now) - started, lang)
    return t(f"mail.alert.{notice.purpose}", lang).format(rule=notice.rule_name, duration=duration)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A notice's text, shared by the mail and the webhook."""

    subject: str
    lead: str
    condition: str
    seen: str
    rows: list[tuple[str, str]]
    link: str | None


def render_notice(notice: Notice, config: AlertConfig, presenter: Presenter) -> Rendered:
    lang, zone = notice.lang, config.zone
    condition = describe_condition(
        notice.condition, notice.metric_type, lang, presenter, config.storage_capacity_bytes
    )
    seen = describe_values(
        notice.condition, notice.metric_type, notice.values, lang, presenter, zone
    )
    subject = t("mail.alert.subject", lang).format(
        level=t(f"level.{notice.level}", lang),
        purpose=t(f"purpose.{notice.purpose}", lang),
        rule=notice.rule_name,
        condition=condition,
    )
    rows = [
        (t("mail.level", lang), t(f"level.{notice.level}", lang)),
        (t("mail.condition", lang), condition),
    ]
    if seen:
        rows.append((t("mail.seen", lang), seen))
    if notice.started_at is not None:
        rows.append((t("mail.started", lang), _local(notice.started_at, zone)))
    if notice.resolved_at is not None:
        rows.append((t("mail.resolved_at", lang), _local(notice.resolved_at, zone)))
    rows.append((t("mail.zone", lang), zone))
    link = config.public_url + DASHBOARD_PATH if config.public_url else None
    return Rendered(subject, _lead(notice), condition, seen, rows, link)


def _new_mail(subject: str, sender: str, recipients: Sequence[str], now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: an automatic message (no out-of-office replies to it).
    message["Auto-Submitted"] = "auto-generated"
    return message


def _text_body(lead: str, rows: list[tuple[str, str]], link: str | None, lang: str) -> str:
    lines = [lead, ""]
    lines += [f"{key}: {value}" for key, value in rows]
    if link:
        lines += ["", f"{t('mail.dashboard', lang)}: {link}"]
    lines += ["", "-- ", t("mail.footer", lang).format(product=t("product", lang))]
    return "\n".join(lines) + "\n"


def _html_body(
    lead: str,
    rows: list[tuple[str, str]],
    link: str | None,
    lang: str,
    table: str = "",
) -> str:
    """A plain, phone-friendly HTML part: inline styles only, nothing fetched."""
    esc = html.escape
    cells = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0;color:#6c757d;'
        f'font-weight:normal">{esc(k)}</th><td style="padding:2px 0">{esc(v)}</td></tr>'
        for k, v in rows
    )
    parts = [
        f'<html lang="{lang}"><body style="font-family:sans-serif;color:#212529">',
        f"<p>{esc(lead)}</p>",
        table,
        f'<table style="border-collapse:collapse;margin-top:8px">{cells}</table>' if cells else "",
    ]
    if link:
        parts.append(
            f'<p><a href="{esc(link, quote=True)}">{esc(t("mail.dashboard", lang))}</a></p>'
        )
    footer = t("mail.footer", lang).format(product=t("product", lang))
    parts.append(f'<p style="color:#6c757d;font-size:small">{esc(footer)}</p></body></html>')
    return "".join(parts)


def alert_email(
    notice: Notice,
    *,
    sender: str,
    recipients: Sequence[str],
    config: AlertConfig,
    presenter: Presenter,
) -> EmailMessage:
    rendered = render_notice(notice, config, presenter)
    message = _new_mail(rendered.subject, sender, recipients, notice.now)
    message["X-Admin-Metrics-Event"] = f"alert.{notice.purpose}"
    message.set_content(_text_body(rendered.lead, rendered.rows, rendered.link, notice.lang))
    message.add_alternative(
        _html_body(rendered.lead, rendered.rows, rendered.link, notice.lang), subtype="html"
    )
    return message


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_webhook(notice: Notice, *, config: AlertConfig, presenter: Presenter) -> bytes:
    """The JSON body (UTF-8). Its HMAC goes in ``X-Signature-SHA256``."""
    rendered = render_notice(notice, config, presenter)
    body = {
        "event": f"alert.{notice.purpose}",
        "rule": {
            "id": notice.rule_id,
            "name": notice.rule_name,
            "metric_type": notice.metric_type,
            "condition": notice.condition.model_dump(exclude_none=True),
            "level": notice.level,
        },
        "started_at": _iso(notice.started_at),
        "resolved_at": _iso(notice.resolved_at),
        "values": notice.values,
        "summary": rendered.subject,
        "message": " ".join(p for p in (rendered.lead, rendered.seen) if p),
        "dashboard_url": rendered.link,
        "sent_at": notice.now.isoformat(),
    }
    return json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")


# --- reports -----------------------------------------------------------------------------
def period_label(start: datetime, end: datetime, zone: str) -> str:
    """``2026-11-23 – 2026-11-29``: the whole days of ``[start, end)`` in ``zone``."""
    last = end.astimezone(ZoneInfo(zone)) - timedelta(microseconds=1)
    return f"{start.astimezone(ZoneInfo(zone)):%Y-%m-%d} – {last:%Y-%m-%d}"


def report_email(
    files: ReportFiles,
    *,
    period: str,
    frequency: str,
    lang: str,
    sender: str,
    recipients: Sequence[str],
    config: AlertConfig,
    now: datetime,
    manual: bool = False,
) -> EmailMessage:
    """The report mail: a short summary of the six metrics in the body, files attached."""
    kind = t(f"report.{frequency}", lang)
    subject = t("report.subject", lang).format(kind=kind, product=t("product", lang), period=period)
    if manual:
        subject += t("report.manual", lang)
    lead = t("report.intro", lang).format(period=period, zone=config.zone)
    link = config.public_url + DASHBOARD_PATH if config.public_url else None
    message = _new_mail(subject, sender, recipients, now)
    message["X-Admin-Metrics-Event"] = "report"
    width = max((len(line.name) for line in files.summary), default=0)
    text_rows = [
        f"{line.name.ljust(width)}  {line.latest}  ({line.change})" for line in files.summary
    ]
    names = ", ".join(a.filename for a in files.attachments)
    text = [lead, "", *text_rows, "", f"{t('report.attachments', lang)}: {names}"]
    if link:
        text += ["", f"{t('mail.dashboard', lang)}: {link}"]
    text += ["", "-- ", t("mail.footer", lang).format(product=t("product", lang))]
    message.set_content("\n".join(text) + "\n")
    esc = html.escape
    head = "".join(
        f'<th style="text-align:{a};padding:3px 10px;border-bottom:1px solid #dee2e6">{esc(h)}</th>'
        for h, a in (
            (t("report.metric", lang), "left"),
            (t("report.latest", lang), "right"),
            (t("report.change", lang), "right"),
        )
    )
    body = "".join(
        f'<tr><td style="padding:3px 10px">{esc(line.name)}</td>'
        f'<td style="padding:3px 10px;text-align:right">{esc(line.latest)}</td>'
        f'<td style="padding:3px 10px;text-align:right">{esc(line.change)}</td></tr>'
        for line in files.summary
    )
    table = f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
    attached = [(t("report.attachments", lang), names)]
    message.add_alternative(_html_body(lead, attached, link, lang, table=table), subtype="html")
    for attachment in files.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        # Text files are UTF-8 (the CSV keeps its BOM for Excel): say so, or readers guess.
        params = {"charset": "utf-8"} if maintype == "text" else None
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return message

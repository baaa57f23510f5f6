"""API v1 resources of alerting: rules, channels, history, report schedules.

Thin views: a strict JSON body (``alerts.rules`` models) or query → one ``alerts.manage`` /
``db.alerts`` call → JSON. ``AlertInputError`` becomes ``{error, code}`` with its status
(400 invalid, 404 unknown id, 409 name taken, 503 report not sent). Like the rest of the API
they sit behind the app-wide admin guard; the routes go on the API blueprint explicitly
(``add_alert_routes``), so they share its error handling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from alerts import manage
from alerts.channels import receiver_host
from alerts.config import alert_config
from alerts.delivery import describe_target
from alerts.reports import ScheduleTimes, next_occurrence
from alerts.rules import (
    ChannelDraft,
    RuleDraft,
    RulePatch,
    ScheduleDraft,
    condition_of,
    parse_json,
)
from alerts.types import AlertInputError
from dashboard.api.alert_schemas import HistoryQuery
from dashboard.api.errors import ApiProblem, problem_from_validation
from dashboard.context import get_context
from db import alerts as store
from db.models import (
    AlertChannel,
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertEvent,
    AlertRule,
    ReportSchedule,
)

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**31 - 1


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@contextmanager
def _as_problem() -> Iterator[None]:
    try:
        yield
    except AlertInputError as exc:
        raise ApiProblem(exc.code, detail=str(exc)) from None


def _body(model: type[M]) -> M:
    if not request.is_json:  # also keeps cross-site form posts out (session cookies)
        raise ApiProblem("ALERT_INVALID", detail="send a JSON object (application/json)")
    with _as_problem():
        return parse_json(model, request.get_data())


def _row_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise ApiProblem("ALERT_NOT_FOUND", detail=f"no such id: {value}")
    return value


# --- serialisation -----------------------------------------------------------------------
def _recipients(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def channel_json(channel: AlertChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "recipients": _recipients(channel.recipients),
        "host": receiver_host(channel.url) if channel.url else None,
        "signed": bool(channel.secret),
        "timeout_seconds": channel.timeout_seconds,
        "created_at": _iso(channel.created_at),
    }


def rule_json(rule: AlertRule, firing: AlertEvent | None) -> dict[str, Any]:
    state = "off" if not rule.enabled else "firing" if firing is not None else "ok"
    return {
        "id": rule.id,
        "name": rule.name,
        "metric_type": rule.metric_type,
        "condition": condition_of(rule).model_dump(mode="json", exclude_none=True),
        "level": rule.level,
        "enabled": rule.enabled,
        "reminder_minutes": rule.reminder_minutes,
        "language": rule.language,
        "channel_ids": [c.id for c in rule.channels],
        "state": state,
        "firing_since": _iso(firing.started_at) if firing is not None else None,
        "created_at": _iso(rule.created_at),
        "updated_at": _iso(rule.updated_at),
    }


def delivery_json(delivery: AlertDelivery, attempts: list[AlertDeliveryAttempt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "purpose": delivery.purpose,
        "kind": delivery.kind,
        "target": describe_target(delivery),
        "subject": delivery.subject,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "last_error": delivery.last_error,
        "next_attempt_at": _iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "created_at": _iso(delivery.created_at),
        "sent_at": _iso(delivery.sent_at),
        "attempt_log": [
            {
                "attempt": a.attempt,
                "attempted_at": _iso(a.attempted_at),
                "ok": a.ok,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


def schedule_json(schedule: ReportSchedule, tz: str, now: datetime) -> dict[str, Any]:
    upcoming = next_occurrence(ScheduleTimes.of(schedule), now, tz) if schedule.enabled else None
    return {
        "id": schedule.id,
        "name": schedule.name,
        "frequency": schedule.frequency,
        "weekday": schedule.weekday,
        "day_of_month": schedule.day_of_month,
        "time": f"{schedule.hour:02d}:{schedule.minute:02d}",
        "timezone": tz,
        "recipients": _recipients(schedule.recipients),
        "include_csv": schedule.include_csv,
        "language": schedule.language,
        "enabled": schedule.enabled,
        "next_run_at": _iso(upcoming),
        "last_sent_at": _iso(schedule.last_sent_at),
        "created_at": _iso(schedule.created_at),
    }


# --- rules -------------------------------------------------------------------------------
def list_rules() -> Response:
    with get_context().session() as session:
        firing = store.open_events(session)
        rules = [rule_json(r, firing.get(r.id)) for r in store.list_rules(session)]
    return jsonify({"rules": rules})


def create_rule() -> tuple[Response, int, dict[str, str]]:
    ctx = get_context()
    draft = _body(RuleDraft)
    with _as_problem(), ctx.session() as session:
        rule = manage.add_rule(session, draft, alert_config(ctx.settings), now=_now())
        payload = rule_json(rule, None)
    location = ctx.url(f"api/v1/alerts/rules/{payload['id']}")
    return jsonify(payload), 201, {"Location": location}


def get_rule(rule_id: int) -> Response:
    with _as_problem(), get_context().session() as session:
        rule = manage.find_rule(session, _row_id(rule_id))
        return jsonify(rule_json(rule, store.open_event(session, rule.id)))


def patch_rule(rule_id: int) -> Response:
    ctx = get_context()
    patch = _body(RulePatch)
    with _as_problem(), ctx.session() as session:
        rule = manage.patch_rule(
            session, _row_id(rule_id), patch, alert_config(ctx.settings), now=_now()
        )
        return jsonify(rule_json(rule, store.open_event(session, rule.id)))


def delete_rule(rule_id: int) -> tuple[str, int]:
    with _as_problem(), get_context().session() as session:
        manage.remove_rule(session, _row_id(rule_id))
    return "", 204


# --- channels ----------------------------------------------------------------------------
def list_channels() -> Response:
    with get_context().session() as session:
        return jsonify({"channels": [channel_json(c) for c in store.list_channels(session)]})


def create_channel() -> tuple[Response, int]:
    draft = _body(ChannelDraft)
    with _as_problem(), get_context().session() as session:
        channel = manage.add_channel(session, draft, now=_now())
        return jsonify(channel_json(channel)), 201


def delete_channel(channel_id: int) -> tuple[str, int]:
    with _as_problem(), get_context().session() as session:
        channel = manage.find_channel(session, _row_id(channel_id))
        store.delete_channel(session, channel.id)
    return "", 204


# --- history -----------------------------------------------------------------------------
def history() -> Response:
    try:
        query = HistoryQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise problem_from_validation(exc) from None
    with _as_problem(), get_context().session() as session:
        firings = manage.history(session, limit=query.limit, rule_id=query.rule_id)
        others = [] if query.rule_id else manage.other_deliveries(session, limit=query.limit)
        body = {
            "firings": [
                {
                    "id": f.event.id,
                    "rule_id": f.event.rule_id,
                    "rule_name": f.rule_name,
                    "metric_type": f.metric_type,
                    "level": f.level,
                    "started_at": _iso(f.event.started_at),
                    "resolved_at": _iso(f.event.resolved_at),
                    "closed_reason": f.event.closed_reason,
                    "trigger_values": f.event.trigger_values,
                    "resolve_values": f.event.resolve_values,
                    "deliveries": [delivery_json(d.delivery, d.attempts) for d in f.deliveries],
                }
                for f in firings
            ],
            "deliveries": [delivery_json(d.delivery, d.attempts) for d in others],
        }
    return jsonify(body)


# --- report schedules --------------------------------------------------------------------
def list_schedules() -> Response:
    ctx = get_context()
    now = _now()
    with ctx.session() as session:
        schedules = store.list_schedules(session)
        body = [schedule_json(s, ctx.settings.default_timezone, now) for s in schedules]
    return jsonify({"schedules": body})


def create_schedule() -> tuple[Response, int]:
    ctx = get_context()
    draft = _body(ScheduleDraft)
    now = _now()
    with _as_problem(), ctx.session() as session:
        schedule = manage.add_schedule(session, draft, alert_config(ctx.settings), now=now)
        return jsonify(schedule_json(schedule, ctx.settings.default_timezone, now)), 201


def delete_schedule(schedule_id: int) -> tuple[str, int]:
    with _as_problem(), get_context().session() as session:
        schedule = manage.find_schedule(session, _row_id(schedule_id))
        store.delete_schedule(session, schedule.id)
    return "", 204


def send_schedule(schedule_id: int) -> Response:
    """Build and mail the schedule's report of the last complete period now."""
    ctx = get_context()
    presenter = ctx.report_presenter()
    with _as_problem():
        delivery = manage.send_report_now(
            ctx.sessions, _row_id(schedule_id), alert_config(ctx.settings), presenter, now=_now()
        )
    with ctx.session() as session:
        attempts = store.attempts_for(session, [delivery.id])[delivery.id]
    if delivery.status != "sent":
        raise ApiProblem("REPORT_SEND_FAILED", detail=delivery.last_error or "not sent")
    return jsonify({"delivery": delivery_json(delivery, attempts)})


ROUTES: tuple[tuple[str, str, Callable[..., Any], str], ...] = (
    ("/alerts/rules", "GET", list_rules, "alert_rules"),
    ("/alerts/rules", "POST", create_rule, "alert_rule_create"),
    ("/alerts/rules/<int:rule_id>", "GET", get_rule, "alert_rule"),
    ("/alerts/rules/<int:rule_id>", "PATCH", patch_rule, "alert_rule_patch"),
    ("/alerts/rules/<int:rule_id>", "DELETE", delete_rule, "alert_rule_delete"),
    ("/alerts/channels", "GET", list_channels, "alert_channels"),
    ("/alerts/channels", "POST", create_channel, "alert_channel_create"),
    ("/alerts/channels/<int:channel_id>", "DELETE", delete_channel, "alert_channel_delete"),
    ("/alerts/history", "GET", history, "alert_history"),
    ("/reports/schedules", "GET", list_schedules, "report_schedules"),
    ("/reports/schedules", "POST", create_schedule, "report_schedule_create"),
    (
        "/reports/schedules/<int:schedule_id>",
        "DELETE",
        delete_schedule,
        "report_schedule_delete",
    ),
    ("/reports/schedules/<int:schedule_id>/send", "POST", send_schedule, "report_schedule_send"),
)


def add_alert_routes(bp: Blueprint) -> None:
    """Put the alert resources on the API blueprint (before it is registered)."""
    for rule, method, view, endpoint in ROUTES:
        bp.add_url_rule(rule, endpoint, view, methods=[method])

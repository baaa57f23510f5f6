"""What the CLI and the REST API do with rules, channels and schedules: validated drafts in,
store rows out, one ``AlertInputError`` (message + HTTP status) for anything wrong.

Also the two "now" actions — a test message through a rule's channels and a report sent
by hand — which attempt their deliveries at once (one attempt, recorded like any other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import attempt_delivery
from alerts.evaluate import enqueue_notice, notice_for
from alerts.reports import build_report_delivery
from alerts.rules import (
    ChannelDraft,
    RuleDraft,
    RulePatch,
    ScheduleDraft,
    condition_params,
    draft_of,
    parse_model,
)
from alerts.types import AlertConfig, AlertInputError, Presenter
from db import alerts as store
from db.engine import session_scope
from db.models import (
    AlertChannel,
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertEvent,
    AlertRule,
    ReportSchedule,
)


def _unique(found: object, what: str, name: str) -> None:
    if found is not None:
        raise AlertInputError(f"{what} {name!r} already exists", status=409, code="ALERT_CONFLICT")


def _check_channels(session: Session, ids: list[int]) -> None:
    known = {c.id for c in store.channels_by_ids(session, ids)}
    missing = [str(i) for i in ids if i not in known]
    if missing:
        raise AlertInputError(f"no such channel: {', '.join(missing)}")


def _check_capacity(draft: RuleDraft, config: AlertConfig) -> None:
    if draft.condition.type == "storage_forecast" and config.storage_capacity_bytes is None:
        raise AlertInputError(
            "a storage_forecast rule needs STORAGE_CAPACITY_BYTES (the storage's capacity)"
        )


# --- channels ----------------------------------------------------------------------------
def add_channel(
    session: Session, data: ChannelDraft | dict[str, Any], *, now: datetime
) -> AlertChannel:
    draft = data if isinstance(data, ChannelDraft) else parse_model(ChannelDraft, data)
    _unique(store.channel_by_name(session, draft.name), "channel", draft.name)
    return store.create_channel(
        session,
        name=draft.name,
        kind=draft.kind,
        recipients=draft.recipients,
        url=draft.url,
        secret=draft.secret,
        timeout_seconds=draft.timeout_seconds,
        now=now,
    )


def find_channel(session: Session, key: str | int) -> AlertChannel:
    channel = (
        store.get_channel(session, key)
        if isinstance(key, int)
        else store.channel_by_name(session, key)
    )
    if channel is None:
        raise AlertInputError(f"no such channel: {key}", status=404, code="ALERT_NOT_FOUND")
    return channel


# --- rules -------------------------------------------------------------------------------
def add_rule(
    session: Session, data: RuleDraft | dict[str, Any], config: AlertConfig, *, now: datetime
) -> AlertRule:
    draft = data if isinstance(data, RuleDraft) else parse_model(RuleDraft, data)
    _check_capacity(draft, config)
    _check_channels(session, draft.channel_ids)
    _unique(store.rule_by_name(session, draft.name), "rule", draft.name)
    return store.create_rule(
        session,
        name=draft.name,
        metric_type=draft.metric_type,
        condition_type=draft.condition.type,
        params=condition_params(draft.condition),
        level=draft.level,
        enabled=draft.enabled,
        reminder_minutes=draft.reminder_minutes,
        language=draft.language or config.default_language,
        channel_ids=draft.channel_ids,
        now=now,
    )


def find_rule(session: Session, key: str | int) -> AlertRule:
    rule = (
        store.get_rule(session, key) if isinstance(key, int) else store.rule_by_name(session, key)
    )
    if rule is None:
        raise AlertInputError(f"no such rule: {key}", status=404, code="ALERT_NOT_FOUND")
    return rule


def patch_rule(
    session: Session,
    key: str | int,
    data: RulePatch | dict[str, Any],
    config: AlertConfig,
    *,
    now: datetime,
) -> AlertRule:
    """Change some fields; the rule as a whole is validated again (a new condition must
    fit the metric, a renamed rule must stay unique)."""
    patch = data if isinstance(data, RulePatch) else parse_model(RulePatch, data)
    rule = find_rule(session, key)
    given = patch.model_dump(exclude_unset=True)
    merged = draft_of(rule).model_dump()
    merged.update(given)
    if (
        "condition" in given
        and "metric_type" not in given
        and given["condition"]["type"]
        in (
            "collection_failing",
            "storage_forecast",
        )
    ):
        merged["metric_type"] = None  # the new kind decides (none, or storage)
    draft = parse_model(RuleDraft, merged)
    _check_capacity(draft, config)
    _check_channels(session, draft.channel_ids)
    if draft.name != rule.name:
        _unique(store.rule_by_name(session, draft.name), "rule", draft.name)
    return store.update_rule(
        session,
        rule,
        now=now,
        channel_ids=draft.channel_ids if "channel_ids" in given else None,
        name=draft.name,
        metric_type=draft.metric_type,
        condition_type=draft.condition.type,
        params=condition_params(draft.condition),
        level=draft.level,
        enabled=draft.enabled,
        reminder_minutes=draft.reminder_minutes,
        language=draft.language or rule.language,
    )


def remove_rule(session: Session, key: str | int) -> None:
    store.delete_rule(session, find_rule(session, key).id)


# --- schedules ---------------------------------------------------------------------------
def add_schedule(
    session: Session, data: ScheduleDraft | dict[str, Any], config: AlertConfig, *, now: datetime
) -> ReportSchedule:
    draft = data if isinstance(data, ScheduleDraft) else parse_model(ScheduleDraft, data)
    _unique(store.schedule_by_name(session, draft.name), "report schedule", draft.name)
    return store.create_schedule(
        session,
        name=draft.name,
        frequency=draft.frequency,
        weekday=draft.weekday,
        day_of_month=draft.day_of_month,
        hour=draft.hour,
        minute=draft.minute,
        recipients=draft.recipients,
        include_csv=draft.include_csv,
        language=draft.language or config.default_language,
        enabled=draft.enabled,
        now=now,
    )


def find_schedule(session: Session, key: str | int) -> ReportSchedule:
    schedule = (
        store.get_schedule(session, key)
        if isinstance(key, int)
        else store.schedule_by_name(session, key)
    )
    if schedule is None:
        raise AlertInputError(f"no such report schedule: {key}", status=404, code="ALERT_NOT_FOUND")
    return schedule


# --- act now -----------------------------------------------------------------------------
def _attempt_now(
    sessions: sessionmaker[Session], ids: list[int], config: AlertConfig, now: datetime
) -> list[AlertDelivery]:
    done: list[AlertDelivery] = []
    for delivery_id in ids:
        result = attempt_delivery(sessions, delivery_id, smtp=config.smtp, clock=lambda: now)
        if result is not None:
            done.append(result)
    return done


def send_test(
    sessions: sessionmaker[Session],
    key: str | int,
    config: AlertConfig,
    presenter: Presenter,
    *,
    now: datetime,
) -> list[AlertDelivery]:
    """A test message of rule ``key`` to each of its channels, sent now (one attempt)."""
    with session_scope(sessions) as session:
        rule = find_rule(session, key)
        if not rule.channels:
            raise AlertInputError(f"rule {rule.name!r} has no channels to test")
        notice = notice_for(
            rule, "test", now=now, event=None, values={}, default_language=config.default_language
        )
        ids = enqueue_notice(
            session, rule, notice, config=config, presenter=presenter, event_id=None, max_attempts=1
        )
    return _attempt_now(sessions, ids, config, now)


def send_report_now(
    sessions: sessionmaker[Session],
    key: str | int,
    config: AlertConfig,
    presenter: Presenter,
    *,
    now: datetime,
) -> AlertDelivery:
    """The schedule's report of the last complete period, built and sent now (one attempt;
    the schedule's own occurrences are not affected)."""
    with session_scope(sessions) as session:
        schedule_id = find_schedule(session, key).id
    if config.smtp is None:
        raise AlertInputError(
            "no mail relay configured (set SMTP_HOST and SMTP_FROM)",
            status=503,
            code="REPORT_SEND_FAILED",
        )
    delivery_id = build_report_delivery(
        sessions,
        schedule_id,
        at=now,
        config=config,
        presenter=presenter,
        now=now,
        manual=True,
        max_attempts=1,
    )
    assert delivery_id is not None
    done = _attempt_now(sessions, [delivery_id], config, now)
    if done:
        return done[0]
    with session_scope(sessions) as session:  # built but failed: already recorded
        delivery = store.get_delivery(session, delivery_id)
        assert delivery is not None
        return delivery


# --- history -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    delivery: AlertDelivery
    attempts: list[AlertDeliveryAttempt]


@dataclass(frozen=True, slots=True)
class FiringRecord:
    event: AlertEvent
    rule_name: str
    metric_type: str | None
    level: str
    deliveries: list[DeliveryRecord]


def history(session: Session, *, limit: int = 50, rule_id: int | None = None) -> list[FiringRecord]:
    """The newest firings with their deliveries and every attempt, newest first."""
    events = store.recent_events(session, limit=limit, rule_id=rule_id)
    rules = {r.id: r for r in store.list_rules(session)}
    deliveries = store.recent_deliveries(
        session, limit=limit * 20, event_ids=[e.id for e in events]
    )
    attempts = store.attempts_for(session, [d.id for d in deliveries])
    by_event: dict[int, list[DeliveryRecord]] = {}
    for delivery in sorted(deliveries, key=lambda d: d.id):
        assert delivery.event_id is not None
        by_event.setdefault(delivery.event_id, []).append(
            DeliveryRecord(delivery, attempts[delivery.id])
        )
    return [
        FiringRecord(
            event,
            rules[event.rule_id].name,
            rules[event.rule_id].metric_type,
            rules[event.rule_id].level,
            by_event.get(event.id, []),
        )
        for event in events
    ]


def other_deliveries(session: Session, *, limit: int = 50) -> list[DeliveryRecord]:
    """Reports and test messages (deliveries without a firing), newest first."""
    deliveries = store.recent_deliveries(session, limit=limit, purposes=["report", "test"])
    attempts = store.attempts_for(session, [d.id for d in deliveries])
    return [DeliveryRecord(d, attempts[d.id]) for d in deliveries]

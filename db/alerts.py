"""The alert and report store: channels, rules, firings, deliveries and report schedules.

Plain functions over a ``Session`` (no web framework). Work that several processes could
race on — firing a rule, resolving it, reminding, sending a delivery, sending a report
occurrence — is *claimed* with an idempotent insert or a conditional UPDATE whose row count
says who won (healthchecks' ``sendalerts`` pattern), so it happens exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import (
    AlertChannel,
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertEvent,
    AlertRule,
    MetricCollectionFailure,
    MetricSnapshot,
    ReportSchedule,
)


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


# --- channels ----------------------------------------------------------------------------
def create_channel(
    session: Session,
    *,
    name: str,
    kind: str,
    recipients: Sequence[str] = (),
    url: str | None = None,
    secret: str | None = None,
    timeout_seconds: float | None = None,
    now: datetime,
) -> AlertChannel:
    channel = AlertChannel(
        name=name,
        kind=kind,
        recipients=", ".join(recipients) if recipients else None,
        url=url,
        secret=secret,
        timeout_seconds=timeout_seconds,
        created_at=now,
    )
    session.add(channel)
    session.flush()
    return channel


def list_channels(session: Session) -> list[AlertChannel]:
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))


def get_channel(session: Session, channel_id: int) -> AlertChannel | None:
    return session.get(AlertChannel, channel_id)


def channel_by_name(session: Session, name: str) -> AlertChannel | None:
    return session.scalars(select(AlertChannel).where(AlertChannel.name == name)).first()


def channels_by_ids(session: Session, ids: Iterable[int]) -> list[AlertChannel]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {
        c.id: c for c in session.scalars(select(AlertChannel).where(AlertChannel.id.in_(wanted)))
    }
    return [found[i] for i in wanted if i in found]


def delete_channel(session: Session, channel_id: int) -> bool:
    return (
        _rowcount(session.execute(delete(AlertChannel).where(AlertChannel.id == channel_id))) == 1
    )


# --- rules -------------------------------------------------------------------------------
def create_rule(
    session: Session,
    *,
    name: str,
    metric_type: str | None,
    condition_type: str,
    params: dict[str, Any],
    level: str,
    language: str,
    channel_ids: Sequence[int],
    enabled: bool = True,
    reminder_minutes: int | None = None,
    now: datetime,
) -> AlertRule:
    rule = AlertRule(
        name=name,
        metric_type=metric_type,
        condition_type=condition_type,
        params=dict(params),
        level=level,
        enabled=enabled,
        reminder_minutes=reminder_minutes,
        language=language,
        created_at=now,
        updated_at=now,
    )
    rule.channels = channels_by_ids(session, channel_ids)
    session.add(rule)
    session.flush()
    return rule


RULE_FIELDS = frozenset(
    {
        "name",
        "metric_type",
        "condition_type",
        "params",
        "level",
        "enabled",
        "reminder_minutes",
        "language",
    }
)


def update_rule(
    session: Session,
    rule: AlertRule,
    *,
    now: datetime,
    channel_ids: Sequence[int] | None = None,
    **changes: Any,
) -> AlertRule:
    """Apply ``changes`` (fields of ``RULE_FIELDS``). Disabling a rule closes its open firing
    without a message (nothing is sent for a rule that is off); any other change leaves the
    firing open and the next evaluation decides under the new condition."""
    unknown = set(changes) - RULE_FIELDS
    if unknown:
        raise ValueError(f"unknown rule field(s): {', '.join(sorted(unknown))}")
    was_enabled = rule.enabled
    for key, value in changes.items():
        setattr(rule, key, dict(value) if key == "params" else value)
    if channel_ids is not None:
        rule.channels = channels_by_ids(session, channel_ids)
    rule.updated_at = now
    session.flush()
    if was_enabled and not rule.enabled:
        event = open_event(session, rule.id)
        if event is not None:
            claim_resolution(session, event.id, now, {}, reason="rule_disabled")
    return rule


def list_rules(session: Session, *, enabled_only: bool = False) -> list[AlertRule]:
    stmt = select(AlertRule).order_by(AlertRule.id)
    if enabled_only:
        stmt = stmt.where(AlertRule.enabled.is_(True))
    return list(session.scalars(stmt))


def get_rule(session: Session, rule_id: int) -> AlertRule | None:
    return session.get(AlertRule, rule_id)


def rule_by_name(session: Session, name: str) -> AlertRule | None:
    return session.scalars(select(AlertRule).where(AlertRule.name == name)).first()


def delete_rule(session: Session, rule_id: int) -> bool:
    """Delete a rule with its firings and their deliveries (ON DELETE CASCADE)."""
    return _rowcount(session.execute(delete(AlertRule).where(AlertRule.id == rule_id))) == 1


# --- firings (the state machine's claims) ------------------------------------------------
def open_event(session: Session, rule_id: int) -> AlertEvent | None:
    return session.scalars(
        select(AlertEvent).where(AlertEvent.rule_id == rule_id, AlertEvent.resolved_at.is_(None))
    ).first()


def open_events(session: Session) -> dict[int, AlertEvent]:
    events = session.scalars(select(AlertEvent).where(AlertEvent.resolved_at.is_(None)))
    return {e.rule_id: e for e in events}


def claim_firing(
    session: Session, rule_id: int, now: datetime, values: dict[str, Any]
) -> AlertEvent | None:
    """Open a firing for ``rule_id``; None when one is already open (someone else fired).

    The partial unique index ``uq_alert_events_open_rule`` decides: the insert runs in a
    savepoint so losing the race leaves the caller's transaction intact.
    """
    event = AlertEvent(rule_id=rule_id, started_at=now, trigger_values=values, last_notified_at=now)
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        return None
    return event


def claim_resolution(
    session: Session,
    event_id: int,
    now: datetime,
    values: dict[str, Any],
    *,
    reason: str = "condition_ended",
) -> bool:
    """Close an open firing; True only for the one caller that closed it."""
    result = session.execute(
        update(AlertEvent)
        .where(AlertEvent.id == event_id, AlertEvent.resolved_at.is_(None))
        .values(resolved_at=now, resolve_values=values, closed_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return _rowcount(result) == 1


def claim_reminder(session: Session, event: AlertEvent, now: datetime) -> bool:
    """Move ``last_notified_at`` forward; True only if nobody else did since it was read."""
    result = session.execute(
        update(AlertEvent)
        .where(
            AlertEvent.id == event.id,
            AlertEvent.resolved_at.is_(None),
            AlertEvent.last_notified_at == event.last_notified_at,
        )
        .values(last_notified_at=now, reminders_sent=AlertEvent.reminders_sent + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return _rowcount(result) == 1


def recent_events(
    session: Session, *, limit: int = 50, rule_id: int | None = None
) -> list[AlertEvent]:
    stmt = select(AlertEvent).order_by(AlertEvent.started_at.desc(), AlertEvent.id.desc())
    if rule_id is not None:
        stmt = stmt.where(AlertEvent.rule_id == rule_id)
    return list(session.scalars(stmt.limit(limit)))


def events_between(session: Session, start: datetime, end: datetime) -> list[AlertEvent]:
    """Firings that overlap ``[start, end]`` (for marks on a graph)."""
    stmt = (
        select(AlertEvent)
        .where(
            AlertEvent.started_at <= end,
            or_(AlertEvent.resolved_at.is_(None), AlertEvent.resolved_at >= start),
        )
        .order_by(AlertEvent.started_at)
    )
    return list(session.scalars(stmt))


# --- deliveries --------------------------------------------------------------------------
def add_delivery(
    session: Session,
    *,
    purpose: str,
    kind: str,
    target: str,
    subject: str,
    payload: bytes,
    timeout_seconds: float,
    max_attempts: int,
    now: datetime,
    signature: str | None = None,
    event_id: int | None = None,
    rule_id: int | None = None,
    schedule_id: int | None = None,
    channel_id: int | None = None,
) -> AlertDelivery:
    delivery = AlertDelivery(
        purpose=purpose,
        kind=kind,
        target=target,
        subject=subject,
        payload=payload,
        signature=signature,
        timeout_seconds=timeout_seconds,
        status="pending",
        attempts=0,
        max_attempts=max_attempts,
        next_attempt_at=now,
        created_at=now,
        event_id=event_id,
        rule_id=rule_id,
        schedule_id=schedule_id,
        channel_id=channel_id,
    )
    session.add(delivery)
    session.flush()
    return delivery


def _claimable(now: datetime) -> Any:
    return (
        (AlertDelivery.status == "pending")
        & (AlertDelivery.next_attempt_at <= now)
        & or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now)
    )


def due_delivery_ids(session: Session, now: datetime, *, limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is due and that nobody is sending right now."""
    stmt = (
        select(AlertDelivery.id)
        .where(_claimable(now))
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim_delivery(
    session: Session, delivery_id: int, now: datetime, lease_until: datetime
) -> AlertDelivery | None:
    """Take a due delivery for one attempt (until ``lease_until``); None if not ours.

    A sender that dies mid-attempt leaves the lease, which expires, so another process
    retries: delivery is at-least-once, never silently dropped.
    """
    result = session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id, _claimable(now))
        .values(claimed_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    session.expire_all()
    return session.get(AlertDelivery, delivery_id)


def finish_attempt(
    session: Session,
    delivery_id: int,
    *,
    attempted_at: datetime,
    ok: bool,
    error: str | None,
    duration_ms: int,
    retry_at: datetime | None,
) -> AlertDelivery:
    """Record one attempt and move the delivery on: sent, pending again at ``retry_at``, or
    failed (``retry_at`` None after a failure: permanent error or no attempts left)."""
    delivery = session.get(AlertDelivery, delivery_id)
    assert delivery is not None, f"delivery {delivery_id} vanished"
    delivery.attempts += 1
    session.add(
        AlertDeliveryAttempt(
            delivery_id=delivery_id,
            attempt=delivery.attempts,
            attempted_at=attempted_at,
            ok=ok,
            error=error,
            duration_ms=duration_ms,
        )
    )
    delivery.claimed_until = None
    if ok:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", attempted_at, None
        if delivery.schedule_id is not None:
            schedule = session.get(ReportSchedule, delivery.schedule_id)
            if schedule is not None:
                schedule.last_sent_at = attempted_at
    else:
        delivery.last_error = error
        if retry_at is None:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = retry_at
    session.flush()
    return delivery


def get_delivery(session: Session, delivery_id: int) -> AlertDelivery | None:
    return session.get(AlertDelivery, delivery_id)


def recent_deliveries(
    session: Session,
    *,
    limit: int = 100,
    event_ids: Sequence[int] | None = None,
    purposes: Sequence[str] | None = None,
) -> list[AlertDelivery]:
    stmt = select(AlertDelivery).order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc())
    if event_ids is not None:
        stmt = stmt.where(AlertDelivery.event_id.in_(list(event_ids)))
    if purposes is not None:
        stmt = stmt.where(AlertDelivery.purpose.in_(list(purposes)))
    return list(session.scalars(stmt.limit(limit)))


def attempts_for(
    session: Session, delivery_ids: Sequence[int]
) -> dict[int, list[AlertDeliveryAttempt]]:
    found: dict[int, list[AlertDeliveryAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    stmt = (
        select(AlertDeliveryAttempt)
        .where(AlertDeliveryAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(AlertDeliveryAttempt.delivery_id, AlertDeliveryAttempt.attempt)
    )
    for attempt in session.scalars(stmt):
        found[attempt.delivery_id].append(attempt)
    return found


# --- report schedules --------------------------------------------------------------------
def create_schedule(
    session: Session,
    *,
    name: str,
    frequency: str,
    weekday: int | None,
    day_of_month: int | None,
    hour: int,
    minute: int,
    recipients: Sequence[str],
    include_csv: bool,
    language: str,
    enabled: bool = True,
    now: datetime,
) -> ReportSchedule:
    schedule = ReportSchedule(
        name=name,
        frequency=frequency,
        weekday=weekday,
        day_of_month=day_of_month,
        hour=hour,
        minute=minute,
        recipients=", ".join(recipients),
        include_csv=include_csv,
        language=language,
        enabled=enabled,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(session: Session, *, enabled_only: bool = False) -> list[ReportSchedule]:
    stmt = select(ReportSchedule).order_by(ReportSchedule.id)
    if enabled_only:
        stmt = stmt.where(ReportSchedule.enabled.is_(True))
    return list(session.scalars(stmt))


def get_schedule(session: Session, schedule_id: int) -> ReportSchedule | None:
    return session.get(ReportSchedule, schedule_id)


def schedule_by_name(session: Session, name: str) -> ReportSchedule | None:
    return session.scalars(select(ReportSchedule).where(ReportSchedule.name == name)).first()


def delete_schedule(session: Session, schedule_id: int) -> bool:
    stmt = delete(ReportSchedule).where(ReportSchedule.id == schedule_id)
    return _rowcount(session.execute(stmt)) == 1


def claim_report_occurrence(session: Session, schedule_id: int, occurrence: datetime) -> bool:
    """Mark ``occurrence`` of a schedule as handled; True only for the one caller that did."""
    result = session.execute(
        update(ReportSchedule)
        .where(
            ReportSchedule.id == schedule_id,
            ReportSchedule.enabled.is_(True),
            or_(ReportSchedule.last_due_at.is_(None), ReportSchedule.last_due_at < occurrence),
        )
        .values(last_due_at=occurrence)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return _rowcount(result) == 1


# --- reads for the collection-failing condition ------------------------------------------
def collected_slots(session: Session, start: datetime, end: datetime) -> list[datetime]:
    """Hourly slots with stored values in ``[start, end]``, oldest first."""
    stmt = (
        select(MetricSnapshot.collected_at)
        .where(
            MetricSnapshot.granularity == "hourly",
            MetricSnapshot.collected_at >= start,
            MetricSnapshot.collected_at <= end,
        )
        .distinct()
        .order_by(MetricSnapshot.collected_at)
    )
    return list(session.scalars(stmt))


def failed_slots(session: Session, start: datetime, end: datetime) -> list[datetime]:
    """Hourly slots with failure records in ``[start, end]``, oldest first."""
    stmt = (
        select(MetricCollectionFailure.attempted_at)
        .where(
            MetricCollectionFailure.granularity == "hourly",
            MetricCollectionFailure.attempted_at >= start,
            MetricCollectionFailure.attempted_at <= end,
        )
        .distinct()
        .order_by(MetricCollectionFailure.attempted_at)
    )
    return list(session.scalars(stmt))


def first_failure_at(session: Session) -> datetime | None:
    stmt = (
        select(MetricCollectionFailure.attempted_at)
        .where(MetricCollectionFailure.granularity == "hourly")
        .order_by(MetricCollectionFailure.attempted_at)
        .limit(1)
    )
    return session.scalars(stmt).first()


def prune_history(session: Session, before: datetime) -> int:
    """Delete firings resolved before ``before`` (their deliveries and attempts go with them)
    and finished report/test deliveries created before it. Returns the rows deleted."""
    events = session.execute(
        delete(AlertEvent).where(
            AlertEvent.resolved_at.is_not(None), AlertEvent.resolved_at < before
        )
    )
    others = session.execute(
        delete(AlertDelivery).where(
            AlertDelivery.event_id.is_(None),
            AlertDelivery.status != "pending",
            AlertDelivery.created_at < before,
        )
    )
    return _rowcount(events) + _rowcount(others)

"""Rule evaluation: read what each rule needs from the store, decide, claim, enqueue.

For every enabled rule, in its own short transaction:
1. observe the condition on the stored series (``alerts.conditions``, pure);
2. ``decide`` (pure) against the rule's open firing: fire, resolve, remind or nothing;
3. claim that step in the store (``db.alerts``: one open firing per rule, conditional
   UPDATEs), so two evaluators never send the same step twice;
4. enqueue one delivery per channel, rendered now, sent later by ``alerts.delivery``.
A broken rule is logged and skipped; the others are still evaluated.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from alerts.channels import sign
from alerts.conditions import (
    change_observation,
    failing_observation,
    forecast_observation,
    threshold_observation,
)
from alerts.messages import FALLBACK_SENDER, Notice, alert_email, alert_webhook, render_notice
from alerts.rules import (
    ChangeCondition,
    CollectionCondition,
    Condition,
    ThresholdCondition,
    condition_of,
)
from alerts.types import AlertConfig, Observation, Presenter, Purpose
from analytics.forecast import daily_input
from db import alerts as store
from db.engine import session_scope
from db.models import AlertEvent, AlertRule
from db.queries import latest_slot, timeseries

log = logging.getLogger(__name__)

Action = Literal["fire", "resolve", "remind"]
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class EvalContext:
    now: datetime
    slot_seconds: int
    capacity: int | None
    zone: str
    hourly_retention_days: int

    @classmethod
    def of(cls, config: AlertConfig, now: datetime) -> EvalContext:
        return cls(
            now,
            config.slot_seconds,
            config.storage_capacity_bytes,
            config.zone,
            config.hourly_retention_days,
        )


def decide(
    active: bool | None,
    event: AlertEvent | None,
    now: datetime,
    reminder_minutes: int | None,
) -> Action | None:
    """The state machine: fire when the condition starts, resolve when it ends, remind
    every ``reminder_minutes`` while it lasts (if set); nothing while unknown."""
    if active is None:
        return None
    if event is None:
        return "fire" if active else None
    if not active:
        return "resolve"
    if reminder_minutes and now - event.last_notified_at >= timedelta(minutes=reminder_minutes):
        return "remind"
    return None


def observe(
    session: Session, rule: AlertRule, condition: Condition, ctx: EvalContext
) -> Observation:
    """Read what ``condition`` needs and evaluate it."""
    now, slot = ctx.now, timedelta(seconds=ctx.slot_seconds)
    if isinstance(condition, ThresholdCondition):
        assert rule.metric_type is not None
        series = timeseries(
            session, rule.metric_type, "hourly", now - slot * (condition.slots + 2), now
        )
        return threshold_observation(
            series,
            op=condition.op,
            value=condition.value,
            slots=condition.slots,
            slot_seconds=ctx.slot_seconds,
            now=now,
        )
    if isinstance(condition, ChangeCondition):
        assert rule.metric_type is not None
        newest = latest_slot(session, "hourly")
        if newest is None:
            return Observation(None, {"reason": "no data"})
        end, span = newest + slot, timedelta(days=condition.days)
        granularity = "hourly" if 2 * condition.days <= ctx.hourly_retention_days else "daily"
        current = timeseries(session, rule.metric_type, granularity, end - span, end - _JUST_BEFORE)
        previous = timeseries(
            session, rule.metric_type, granularity, end - 2 * span, end - span - _JUST_BEFORE
        )
        return change_observation(
            current,
            previous,
            percent=condition.percent,
            direction=condition.direction,
            days=condition.days,
        )
    if isinstance(condition, CollectionCondition):
        if condition.failed_slots is not None:
            start = now - slot * (condition.failed_slots + 24)
            collected = store.collected_slots(session, start, now)
            failed = store.failed_slots(session, start, now)
            last_success = first_failure = None
        else:
            collected = failed = []
            last_success = latest_slot(session, "hourly")
            first_failure = None if last_success else store.first_failure_at(session)
        return failing_observation(
            collected,
            failed,
            failed_slots=condition.failed_slots,
            no_success_hours=condition.no_success_hours,
            last_success=last_success,
            first_failure=first_failure,
            now=now,
        )
    if ctx.capacity is None:
        return Observation(None, {"reason": "STORAGE_CAPACITY_BYTES is not set"})
    # Read as the page's and the API's forecast reads (``dashboard.reports.insights``).
    daily = daily_input(partial(timeseries, session, "storage_bytes"), now=now, tz=ctx.zone)
    return forecast_observation(daily, capacity=ctx.capacity, days=condition.days, now=now)


def notice_for(
    rule: AlertRule,
    purpose: Purpose,
    *,
    now: datetime,
    event: AlertEvent | None,
    values: dict[str, object],
    default_language: str,
) -> Notice:
    return Notice(
        purpose=purpose,
        rule_id=rule.id,
        rule_name=rule.name,
        metric_type=rule.metric_type,
        condition=condition_of(rule),
        level=rule.level,
        lang=rule.language or default_language,
        now=now,
        started_at=event.started_at if event else None,
        resolved_at=event.resolved_at if event else None,
        values=dict(values),
    )


def enqueue_notice(
    session: Session,
    rule: AlertRule,
    notice: Notice,
    *,
    config: AlertConfig,
    presenter: Presenter,
    event_id: int | None,
    max_attempts: int | None = None,
) -> list[int]:
    """One delivery per channel of ``rule``, rendered now (a retry sends the same bytes)."""
    ids: list[int] = []
    attempts = max_attempts or config.delivery_attempts
    subject = render_notice(notice, config, presenter).subject
    for channel in rule.channels:
        signature = None
        if channel.kind == "email":
            recipients = [r.strip() for r in (channel.recipients or "").split(",") if r.strip()]
            sender = config.smtp.sender if config.smtp else FALLBACK_SENDER
            message = alert_email(
                notice, sender=sender, recipients=recipients, config=config, presenter=presenter
            )
            payload = message.as_bytes(policy=email.policy.SMTP)
            target, timeout = ", ".join(recipients), config.delivery_timeout
        else:
            payload = alert_webhook(notice, config=config, presenter=presenter)
            signature = sign(payload, channel.secret) if channel.secret else None
            target = channel.url or ""
            timeout = channel.timeout_seconds or config.delivery_timeout
        delivery = store.add_delivery(
            session,
            purpose=notice.purpose,
            kind=channel.kind,
            target=target,
            subject=subject,
            payload=payload,
            signature=signature,
            timeout_seconds=timeout,
            max_attempts=attempts,
            now=notice.now,
            event_id=event_id,
            rule_id=rule.id,
            channel_id=channel.id,
        )
        ids.append(delivery.id)
    return ids


def evaluate_rule(
    session: Session,
    rule: AlertRule,
    *,
    ctx: EvalContext,
    config: AlertConfig,
    presenter: Presenter,
) -> list[int]:
    """Evaluate one rule and claim its next step; returns the deliveries enqueued."""
    observation = observe(session, rule, condition_of(rule), ctx)
    event = store.open_event(session, rule.id)
    action = decide(observation.active, event, ctx.now, rule.reminder_minutes)
    now = ctx.now
    if action is None:
        return []
    if action == "fire":
        event = store.claim_firing(session, rule.id, now, observation.values)
        if event is None:
            return []  # another evaluator fired it first
        purpose: Purpose = "firing"
    elif action == "resolve":
        assert event is not None
        if not store.claim_resolution(session, event.id, now, observation.values):
            return []
        event = session.get(AlertEvent, event.id)
        purpose = "resolved"
    else:
        assert event is not None
        if not store.claim_reminder(session, event, now):
            return []
        event = session.get(AlertEvent, event.id)
        purpose = "reminder"
    assert event is not None
    log.info("Alert rule %r: %s (%s)", rule.name, purpose, observation.values)
    notice = notice_for(
        rule,
        purpose,
        now=now,
        event=event,
        values=observation.values,
        default_language=config.default_language,
    )
    return enqueue_notice(
        session, rule, notice, config=config, presenter=presenter, event_id=event.id
    )


def evaluate_rules(
    sessions: sessionmaker[Session],
    config: AlertConfig,
    presenter: Presenter,
    *,
    now: datetime,
) -> list[int]:
    """Evaluate every enabled rule (each in its own transaction); the deliveries enqueued."""
    ctx = EvalContext.of(config, now)
    with session_scope(sessions) as session:
        rule_ids = [r.id for r in store.list_rules(session, enabled_only=True)]
    enqueued: list[int] = []
    for rule_id in rule_ids:
        try:
            with session_scope(sessions) as session:
                rule = store.get_rule(session, rule_id)
                if rule is None or not rule.enabled:
                    continue
                enqueued += evaluate_rule(
                    session, rule, ctx=ctx, config=config, presenter=presenter
                )
        except Exception:  # noqa: BLE001 - one broken rule must not silence the others
            log.exception("Alert rule %d could not be evaluated", rule_id)
    return enqueued

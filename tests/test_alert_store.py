"""The alert and report store through its migration: schema equals the models, and every
claim (fire, resolve, remind, send a delivery, send a report occurrence) has one winner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from db import alerts as store
from db.engine import make_engine
from db.migrate import current_revision, downgrade, head_revision, upgrade
from db.models import Base

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ALERT_TABLES = {
    "alert_channels",
    "alert_rules",
    "alert_rule_channels",
    "alert_events",
    "alert_deliveries",
    "alert_delivery_attempts",
    "report_schedules",
}


def _diff_for_alert_tables(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    def table_of(entry: Any) -> str | None:
        item = entry[0] if isinstance(entry, list) else entry
        for part in item[1:]:
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if isinstance(part, str) and part in ALERT_TABLES:
                return part
            if name in ALERT_TABLES:
                return str(name)
        return None

    return [d for d in diff if table_of(d) in ALERT_TABLES]


def test_migration_creates_exactly_the_modelled_alert_tables(store_url: str) -> None:
    assert current_revision(store_url) == head_revision()
    assert _diff_for_alert_tables(store_url) == []


def test_alert_tables_go_down_and_up_again(store_url: str) -> None:
    downgrade(store_url, "20261203_sessions_audit")  # the alert revision's parent
    engine = make_engine(store_url)
    try:
        assert not (ALERT_TABLES & set(sa.inspect(engine).get_table_names()))
    finally:
        engine.dispose()
    upgrade(store_url)
    assert _diff_for_alert_tables(store_url) == []


def _rule(session: Any, **overrides: Any) -> Any:
    channel = store.create_channel(
        session, name="ops-mail", kind="email", recipients=["ops@intranet.example"], now=NOW
    )
    values: dict[str, Any] = {
        "name": "many users",
        "metric_type": "active_users",
        "condition_type": "threshold",
        "params": {"op": "above", "value": 100, "slots": 1},
        "level": "warning",
        "language": "ko",
        "channel_ids": [channel.id],
        "now": NOW,
    }
    values.update(overrides)
    return store.create_rule(session, **values)


def test_a_rule_fires_once_resolves_once_and_reminds_once(
    store_sessions: Callable[[], Any],
) -> None:
    with store_sessions() as session:
        rule = _rule(session)
        assert [c.name for c in rule.channels] == ["ops-mail"]
        first = store.claim_firing(session, rule.id, NOW, {"value": 120})
        assert first is not None
        assert store.claim_firing(session, rule.id, NOW, {"value": 130}) is None  # already open
        assert store.open_event(session, rule.id) is not None  # the savepoint kept our work

        event = store.open_event(session, rule.id)
        assert store.claim_reminder(session, event, NOW + timedelta(hours=1))
        stale = type(event)(id=event.id, last_notified_at=NOW)  # read before the reminder
        assert not store.claim_reminder(session, stale, NOW + timedelta(hours=1))

        assert store.claim_resolution(session, first.id, NOW + timedelta(hours=2), {"value": 90})
        assert not store.claim_resolution(session, first.id, NOW + timedelta(hours=3), {})
        # A new firing may open once the old one is resolved.
        assert store.claim_firing(session, rule.id, NOW + timedelta(hours=4), {}) is not None
        events = store.recent_events(session)
    assert [e.resolved_at is None for e in events] == [True, False]
    assert events[1].closed_reason == "condition_ended"
    assert events[1].reminders_sent == 1


def test_disabling_a_rule_closes_its_firing_without_a_message(
    store_sessions: Callable[[], Any],
) -> None:
    with store_sessions() as session:
        rule = _rule(session)
        store.claim_firing(session, rule.id, NOW, {"value": 120})
        store.update_rule(session, rule, now=NOW + timedelta(minutes=5), enabled=False)
        assert store.open_event(session, rule.id) is None
        (event,) = store.recent_events(session)
    assert event.closed_reason == "rule_disabled"


def test_a_delivery_is_claimed_by_one_sender_and_every_attempt_is_kept(
    store_sessions: Callable[[], Any],
) -> None:
    with store_sessions() as session:
        delivery = store.add_delivery(
            session,
            purpose="test",
            kind="webhook",
            target="http://hooks.intranet.example/x",
            subject="alert.test",
            payload=b"{}",
            timeout_seconds=5,
            max_attempts=2,
            now=NOW,
        )
        lease = NOW + timedelta(minutes=1)
        assert store.due_delivery_ids(session, NOW) == [delivery.id]
        assert store.claim_delivery(session, delivery.id, NOW, lease) is not None
        assert store.claim_delivery(session, delivery.id, NOW, lease) is None  # leased
        assert store.due_delivery_ids(session, NOW) == []
        retry = NOW + timedelta(seconds=30)
        store.finish_attempt(
            session,
            delivery.id,
            attempted_at=NOW,
            ok=False,
            error="HTTP 500",
            duration_ms=12,
            retry_at=retry,
        )
        assert store.due_delivery_ids(session, NOW) == []  # not yet due
        assert store.claim_delivery(session, delivery.id, retry, retry + timedelta(1)) is not None
        done = store.finish_attempt(
            session,
            delivery.id,
            attempted_at=retry,
            ok=True,
            error=None,
            duration_ms=8,
            retry_at=None,
        )
        attempts = store.attempts_for(session, [delivery.id])[delivery.id]
    assert (done.status, done.attempts, done.sent_at, done.last_error) == ("sent", 2, retry, None)
    assert [(a.attempt, a.ok, a.error) for a in attempts] == [
        (1, False, "HTTP 500"),
        (2, True, None),
    ]


def test_a_report_occurrence_is_claimed_once(store_sessions: Callable[[], Any]) -> None:
    with store_sessions() as session:
        schedule = store.create_schedule(
            session,
            name="weekly",
            frequency="weekly",
            weekday=0,
            day_of_month=None,
            hour=9,
            minute=0,
            recipients=["boss@intranet.example"],
            include_csv=False,
            language="ko",
            now=NOW,
        )
        occurrence = NOW + timedelta(days=4)
        assert store.claim_report_occurrence(session, schedule.id, occurrence)
        assert not store.claim_report_occurrence(session, schedule.id, occurrence)
        assert not store.claim_report_occurrence(session, schedule.id, NOW)  # older
        assert store.claim_report_occurrence(session, schedule.id, occurrence + timedelta(7))


def test_the_store_refuses_a_schedule_without_its_day(store_sessions: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), store_sessions() as session:
        store.create_schedule(
            session,
            name="broken",
            frequency="monthly",
            weekday=None,
            day_of_month=None,
            hour=9,
            minute=0,
            recipients=["a@intranet.example"],
            include_csv=False,
            language="ko",
            now=NOW,
        )


def test_old_history_is_pruned_with_its_deliveries(store_sessions: Callable[[], Any]) -> None:
    from db.models import AlertDelivery, AlertDeliveryAttempt

    def delivery(session: Any, purpose: str, at: datetime, event_id: int | None) -> Any:
        row = store.add_delivery(
            session,
            purpose=purpose,
            kind="email",
            target="a@intranet.example",
            subject="s",
            payload=b"x",
            timeout_seconds=5,
            max_attempts=1,
            now=at,
            event_id=event_id,
        )
        store.finish_attempt(
            session, row.id, attempted_at=at, ok=True, error=None, duration_ms=1, retry_at=None
        )
        return row

    old = NOW - timedelta(days=400)
    with store_sessions() as session:
        rule = _rule(session)
        ancient = store.claim_firing(session, rule.id, old, {})
        store.claim_resolution(session, ancient.id, old + timedelta(hours=1), {})
        delivery(session, "firing", old, ancient.id)
        delivery(session, "report", old, None)
        recent = store.claim_firing(session, rule.id, NOW, {})  # still open: kept
        delivery(session, "firing", NOW, recent.id)
        assert store.prune_history(session, NOW - timedelta(days=365)) == 2
        assert [e.id for e in store.recent_events(session)] == [recent.id]
        assert session.scalar(sa.select(sa.func.count()).select_from(AlertDelivery)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(AlertDeliveryAttempt)) == 1

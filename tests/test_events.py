"""Events (annotations) on the graphs: the store on both backends (through migrations), the
automatic events (collection outages, alert firings), the REST API with its audit rows, and
the command line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from dashboard.reports.event_marks import load_chart_events
from db import alerts
from db.engine import make_engine, store_session
from db.events import (
    EventError,
    EventNotFound,
    add_event,
    delete_event,
    get_event,
    list_events,
    update_event,
)
from db.metrics import METRIC_IDS
from db.migrate import current_revision, head_revision
from db.models import Base, MetricCollectionFailure, MetricSnapshot

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REFUSED = "원본 데이터베이스 연결 실패"
TIMEOUT = "원본 데이터베이스 응답 시간 초과"


def _fail(session: Any, slot: datetime, messages: dict[str, str] | None = None) -> None:
    """Failure rows of one hourly slot, one per metric (as the collector writes them)."""
    session.add_all(
        MetricCollectionFailure(
            metric_type=metric,
            granularity="hourly",
            attempted_at=slot,
            error_message=(messages or {}).get(metric, REFUSED),
        )
        for metric in METRIC_IDS
    )


def _store(session: Any, slot: datetime) -> None:
    session.add_all(
        MetricSnapshot(metric_type=m, granularity="hourly", collected_at=slot, value=1)
        for m in METRIC_IDS
    )


# --- schema ------------------------------------------------------------------------------
def test_migration_creates_exactly_the_modelled_events_table(store_url: str) -> None:
    assert current_revision(store_url) == head_revision() == "20261205_events"
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert [d for d in diff if "metric_events" in repr(d)] == []
        insert = sa.text(
            "INSERT INTO metric_events (starts_at, ends_at, title, kind) VALUES (:s, :e, :t, :k)"
        )
        day = "2026-12-01 00:00:00"
        for row in (
            {"s": day, "e": "2026-11-30 00:00:00", "t": "backwards", "k": "other"},
            {"s": day, "e": None, "t": "unknown kind", "k": "party"},
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(insert, row)
    finally:
        engine.dispose()


# --- the store ---------------------------------------------------------------------------
def test_events_are_added_changed_listed_and_deleted(store_sessions: Callable[..., Any]) -> None:
    with store_sessions() as session:
        window = add_event(
            session,
            start=T0 + 9 * HOUR + timedelta(microseconds=500),
            end=T0 + 11 * HOUR,
            title="  DB 점검  ",
            kind="maintenance",
            description="야간 점검",
            created_by="admin",
        )
        point = add_event(session, start=T0 + DAY, end=None, title="v1.2 배포", kind="release")
    assert (window.start, window.title, window.automatic) == (T0 + 9 * HOUR, "DB 점검", False)
    assert (point.end, point.created_by, point.description) == (None, None, None)

    with store_sessions() as session:
        assert [e.id for e in list_events(session, T0, T0 + 2 * DAY)] == [window.id, point.id]
        # [start, end): a point at the end is out, a range reaching into the window is in.
        assert [e.id for e in list_events(session, T0 + 10 * HOUR, T0 + DAY)] == [window.id]
        assert list_events(session, T0 + 11 * HOUR, T0 + DAY) == []
        changed = update_event(session, point.id, end=T0 + DAY + HOUR, kind="incident")
        assert (changed.title, changed.kind, changed.end) == (
            "v1.2 배포",
            "incident",
            T0 + DAY + HOUR,
        )
        assert update_event(session, window.id, description=None).description is None
    with store_sessions() as session:
        assert get_event(session, point.id) == changed
        assert delete_event(session, window.id).title == "DB 점검"
        assert get_event(session, window.id) is None
        with pytest.raises(EventNotFound):
            delete_event(session, window.id)
        with pytest.raises(EventNotFound):
            update_event(session, 2**40, title="x")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "party"}, "kind"),
        ({"end": T0 - HOUR}, "end: must not be before start"),
        ({"start": datetime(2026, 12, 1)}, "offset"),
        ({"start": datetime(1999, 1, 1, tzinfo=UTC)}, "between 2000 and 2100"),
        ({"title": "   "}, "title: must not be empty"),
        ({"title": "x" * 201}, "at most 200"),
        ({"title": "a\nb"}, "one line"),
        ({"description": "a\x00b"}, "control characters"),
    ],
)
def test_a_wrong_event_is_refused_with_a_message(
    sqlite_url: str, fields: dict[str, Any], message: str
) -> None:
    draft: dict[str, Any] = {"start": T0, "end": None, "title": "점검", "kind": "other"}
    with store_session(sqlite_url) as session, pytest.raises(EventError, match=message):
        add_event(session, **{**draft, **fields})


def test_an_outage_becomes_one_automatic_event(store_sessions: Callable[..., Any]) -> None:
    """Three consecutive failed slots never stored are one outage; a failed slot stored
    after all is not part of it; its title is the run's most frequent error."""
    with store_sessions() as session:
        _store(session, T0 + 9 * HOUR)
        _fail(session, T0 + 10 * HOUR, {"tag_count": TIMEOUT, "document_count": TIMEOUT})
        _fail(session, T0 + 11 * HOUR)
        _fail(session, T0 + 12 * HOUR, {m: TIMEOUT for m in METRIC_IDS[:3]})
        _fail(session, T0 + 13 * HOUR)  # failed, then re-collected: not an outage
        _store(session, T0 + 13 * HOUR)
        _fail(session, T0 + 20 * HOUR, {m: TIMEOUT for m in METRIC_IDS})
    with store_sessions() as session:
        events = list_events(session, T0, T0 + DAY)
        first, second = events
        assert (first.kind, first.start, first.end, first.slots) == (
            "outage",
            T0 + 10 * HOUR,
            T0 + 13 * HOUR,
            3,
        )
        assert (first.id, first.automatic, first.created_by, first.title) == (
            None,
            True,
            None,
            REFUSED,  # 13 of the run's 18 rows
        )
        assert (second.start, second.slots, second.title) == (T0 + 20 * HOUR, 1, TIMEOUT)
        # A window inside the outage still shows it whole; without automatic events, nothing.
        (inside,) = list_events(session, T0 + 11 * HOUR, T0 + 12 * HOUR)
        assert (inside.start, inside.end) == (T0 + 10 * HOUR, T0 + 13 * HOUR)
        assert list_events(session, T0, T0 + DAY, automatic=False) == []
        assert list_events(session, T0 + 13 * HOUR, T0 + 20 * HOUR) == []

        marks = load_chart_events(session, T0, T0 + DAY, "ko")
        assert marks[0].title == f"수집 실패: 3개 슬롯 ({REFUSED})" and marks[0].automatic
        english = load_chart_events(session, T0, T0 + DAY, "en")
        assert english[1].title == f"Collection failed: 1 slots ({TIMEOUT})"


def test_an_alert_firing_becomes_an_automatic_event(store_sessions: Callable[..., Any]) -> None:
    with store_sessions() as session:
        rule = alerts.create_rule(
            session,
            name="사용자 급증",
            metric_type="active_users",
            condition_type="threshold",
            params={"type": "threshold", "op": "above", "value": 500, "slots": 1},
            level="critical",
            language="ko",
            channel_ids=[],
            now=T0,
        )
        firing = alerts.claim_firing(session, rule.id, T0 + 3 * HOUR, {"value": 612})
        assert firing is not None
        assert alerts.claim_resolution(session, firing.id, T0 + 5 * HOUR, {"value": 300})
        add_event(session, start=T0 + 4 * HOUR, end=None, title="원인 조사", kind="incident")
    with store_sessions() as session:
        fired, noted = list_events(session, T0, T0 + DAY)
        assert (fired.kind, fired.title, fired.level, fired.id) == (
            "alert",
            "사용자 급증",
            "critical",
            None,
        )
        assert (fired.start, fired.end) == (T0 + 3 * HOUR, T0 + 5 * HOUR)
        assert noted.title == "원인 조사"
        assert list_events(session, T0 + 5 * HOUR + timedelta(seconds=1), T0 + DAY) == []
        (mark, _) = load_chart_events(session, T0, T0 + DAY, "en")
        assert (mark.title, mark.kind, mark.automatic) == ("Alert: 사용자 급증", "alert", True)

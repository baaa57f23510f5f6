"""The collection engine on a real PostgreSQL and SQLite: values, failures, idempotence,
daily rollup, catch-up and retention."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from collectors.registry import COLLECTORS, DEFAULT_QUERIES
from collectors.runner import (
    FAILURES_KEPT,
    GIVE_UP_LOG,
    SUCCESS_LOG,
    apply_retention,
    catch_up_daily,
    collect_slot,
    insert_snapshots,
    rollup_day,
)
from collectors.source import make_source_engine
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure, MetricSnapshot
from tests.support import fill_source, run_sql, source_url_for

SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sessions(store_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return source_url_for(store_url, request, tmp_path)


@pytest.fixture
def source(source_url: str) -> Iterator[Engine]:
    engine = make_source_engine(source_url)
    yield engine
    engine.dispose()


def snapshots(sessions: sessionmaker[Session], granularity: str = "hourly") -> list[tuple]:
    with session_scope(sessions) as session:
        rows = session.execute(
            select(
                MetricSnapshot.metric_type,
                MetricSnapshot.collected_at,
                MetricSnapshot.value,
                MetricSnapshot.retry_count,
            )
            .where(MetricSnapshot.granularity == granularity)
            .order_by(MetricSnapshot.collected_at, MetricSnapshot.metric_type)
        )
        return [tuple(r) for r in rows]


def failures(sessions: sessionmaker[Session]) -> list[MetricCollectionFailure]:
    with session_scope(sessions) as session:
        return list(session.scalars(select(MetricCollectionFailure)))


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_six_collectors_are_registered_in_catalogue_order() -> None:
    assert tuple(COLLECTORS) == METRIC_IDS
    assert all(":now" in DEFAULT_QUERIES[m] for m in ("active_users", "active_sessions"))


def test_collected_values_equal_the_source_counts(
    sessions: sessionmaker[Session], source: Engine, source_url: str
) -> None:
    fill_source(
        source_url,
        SLOT,
        users=5,
        live_sessions=[1, 1, 2, 3],  # 4 live sessions of 3 distinct users
        expired_sessions=[4, 5, 5],  # expired before the slot: not counted
        conversations=7,
        file_sizes=[],  # empty documents table → storage 0
        tags=2,
    )
    result = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder())
    expected = {
        "active_users": 3,
        "storage_bytes": 0,
        "active_sessions": 4,
        "conversation_count": 7,
        "document_count": 0,
        "tag_count": 2,
    }
    assert result.ok and result.attempts == 1 and result.inserted == 6
    assert result.values == expected
    assert snapshots(sessions) == [(m, SLOT, expected[m], 0) for m in sorted(expected)]


def test_storage_is_the_sum_of_file_sizes_as_bigint(
    sessions: sessionmaker[Session], source: Engine, source_url: str
) -> None:
    sizes = [3_000_000_000, 2_500_000_000, 17]  # beyond 32-bit
    fill_source(
        source_url,
        SLOT,
        users=0,
        live_sessions=[],
        expired_sessions=[1],
        conversations=0,
        file_sizes=sizes,
        tags=0,
    )
    result = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder())
    assert result.values["storage_bytes"] == sum(sizes)
    assert result.values["document_count"] == 3
    assert result.values["active_sessions"] == 0 and result.values["active_users"] == 0


def test_sessions_are_counted_as_of_the_slot_not_the_database_clock(
    sessions: sessionmaker[Session], source: Engine, source_url: str
) -> None:
    fill_source(
        source_url,
        SLOT,
        users=2,
        live_sessions=[1, 2],  # expire at SLOT + 1 h
        expired_sessions=[],
        conversations=0,
        file_sizes=[],
        tags=0,
    )
    later = SLOT + timedelta(hours=2)
    collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder())
    collect_slot(sessions, source, DEFAULT_QUERIES, later, sleep=SleepRecorder())
    rows = {(m, at): v for m, at, v, _ in snapshots(sessions)}
    assert rows[("active_sessions", SLOT)] == 2
    assert rows[("active_sessions", later)] == 0


def test_a_failing_query_leaves_a_gap_and_the_next_slot_succeeds(
    sessions: sessionmaker[Session],
    source: Engine,
    source_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queries = dict(DEFAULT_QUERIES, tag_count="SELECT count(*) FROM labels")  # no such table
    sleeper = SleepRecorder()
    with caplog.at_level(logging.INFO, logger="collectors.runner"):
        result = collect_slot(sessions, source, queries, SLOT, sleep=sleeper)
    assert not result.ok and result.attempts == 3
    assert sleeper.calls == [1.0, 2.0]  # back-off between the three attempts
    assert snapshots(sessions) == []  # all six or none
    rows = failures(sessions)
    assert sorted(r.metric_type for r in rows) == sorted(METRIC_IDS)
    assert {r.retry_count for r in rows} == {3}
    assert {r.attempted_at for r in rows} == {SLOT}
    culprit = next(r for r in rows if r.metric_type == "tag_count")
    assert "태그 수" in culprit.error_message and "labels" in culprit.error_message
    other = next(r for r in rows if r.metric_type == "active_users")
    assert "'태그 수' 수집 실패" in other.error_message
    assert GIVE_UP_LOG in caplog.text and SUCCESS_LOG not in caplog.text

    run_sql(source_url, ["CREATE TABLE labels (id INTEGER PRIMARY KEY)"])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="collectors.runner"):
        nxt = collect_slot(
            sessions, source, queries, SLOT + timedelta(hours=1), sleep=SleepRecorder()
        )
    assert nxt.ok and SUCCESS_LOG in caplog.text
    assert {at for _m, at, _v, _r in snapshots(sessions)} == {SLOT + timedelta(hours=1)}


def test_a_retry_that_succeeds_records_its_retry_count(
    sessions: sessionmaker[Session], source: Engine, source_url: str
) -> None:
    queries = dict(DEFAULT_QUERIES, tag_count="SELECT count(*) FROM labels")

    def create_table_then_wait(_seconds: float) -> None:
        run_sql(source_url, ["CREATE TABLE labels (id INTEGER PRIMARY KEY)"])

    result = collect_slot(sessions, source, queries, SLOT, sleep=create_table_then_wait)
    assert result.ok and result.attempts == 2
    assert {r for _m, _at, _v, r in snapshots(sessions)} == {1}
    assert failures(sessions) == []


def test_a_bad_result_is_not_retried(sessions: sessionmaker[Session], source: Engine) -> None:
    queries = dict(DEFAULT_QUERIES, tag_count="SELECT -5")
    sleeper = SleepRecorder()
    result = collect_slot(sessions, source, queries, SLOT, sleep=sleeper)
    assert not result.ok and result.attempts == 1 and sleeper.calls == []
    assert snapshots(sessions) == []
    assert len(failures(sessions)) == 6
    assert any("음수" in r.error_message for r in failures(sessions))


def test_recollecting_a_slot_changes_nothing(
    sessions: sessionmaker[Session], source: Engine, source_url: str
) -> None:
    fill_source(
        source_url,
        SLOT,
        users=1,
        live_sessions=[1],
        expired_sessions=[],
        conversations=3,
        file_sizes=[10],
        tags=1,
    )
    collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder())
    before = snapshots(sessions)
    run_sql(source_url, ["INSERT INTO tags (name) VALUES ('new')"])
    again = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder())
    assert again.ok and again.inserted == 0
    assert snapshots(sessions) == before
    assert failures(sessions) == []


def add_hourly(sessions: sessionmaker[Session], at: datetime, value: int) -> None:
    with session_scope(sessions) as session:
        insert_snapshots(session, {m: value for m in METRIC_IDS}, "hourly", at)


def test_daily_rollup_is_the_rounded_average_of_the_day(
    sessions: sessionmaker[Session],
) -> None:
    day = date(2026, 3, 1)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for hour, value in enumerate([10, 11, 11, 13]):  # mean 11.25 → 11
        add_hourly(sessions, start + timedelta(hours=hour), value)
    add_hourly(sessions, start + timedelta(hours=23), 15)  # mean of 5 values: 12.0
    add_hourly(sessions, start + timedelta(days=1), 1000)  # next day: not part of it
    add_hourly(sessions, start - timedelta(hours=1), 1000)  # previous day: not part of it
    result = rollup_day(sessions, day)
    assert result.ok and result.inserted == 6
    assert {v for _m, _at, v, _r in snapshots(sessions, "daily")} == {12}
    assert {at for _m, at, _v, _r in snapshots(sessions, "daily")} == {start}
    assert rollup_day(sessions, day).inserted == 0  # idempotent


def test_daily_rollup_rounds_half_up(sessions: sessionmaker[Session]) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    add_hourly(sessions, start, 2)
    add_hourly(sessions, start + timedelta(hours=1), 3)  # 2.5 → 3
    rollup_day(sessions, date(2026, 3, 1))
    assert {v for _m, _at, v, _r in snapshots(sessions, "daily")} == {3}


def test_missed_days_are_caught_up_but_not_today(sessions: sessionmaker[Session]) -> None:
    today = datetime(2026, 3, 10, tzinfo=UTC)
    for days_ago in (4, 3, 2, 0):
        add_hourly(sessions, today - timedelta(days=days_ago) + timedelta(hours=5), days_ago)
    rollup_day(sessions, (today - timedelta(days=3)).date())  # was rolled up at midnight
    done = catch_up_daily(sessions, today + timedelta(hours=7))
    assert done == [(today - timedelta(days=d)).date() for d in (4, 2)]
    daily = {(at, v) for _m, at, v, _r in snapshots(sessions, "daily")}
    assert daily == {(today - timedelta(days=d), d) for d in (4, 3, 2)}
    assert catch_up_daily(sessions, today + timedelta(hours=8)) == []


def test_retention_deletes_exactly_what_is_older_than_the_settings(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    hourly_edge = now - timedelta(days=30)
    daily_edge = now - timedelta(days=90)
    with session_scope(sessions) as session:
        for at in (hourly_edge - timedelta(hours=1), hourly_edge, hourly_edge + timedelta(hours=1)):
            insert_snapshots(session, {"tag_count": 1}, "hourly", at)
        for at in (daily_edge - timedelta(days=1), daily_edge, daily_edge + timedelta(days=1)):
            insert_snapshots(session, {"tag_count": 1}, "daily", at)
        base = datetime(2026, 5, 1, tzinfo=UTC)
        session.add_all(
            MetricCollectionFailure(
                metric_type="tag_count",
                granularity="hourly",
                attempted_at=base,
                error_message=f"실패 {i}",
                created_at=base + timedelta(seconds=i),
            )
            for i in range(FAILURES_KEPT + 5)
        )
    with session_scope(sessions) as session:
        result = apply_retention(session, now, hourly_days=30, daily_days=90)
    assert (result.hourly, result.daily, result.failures) == (1, 1, 5)
    assert [at for _m, at, _v, _r in snapshots(sessions)] == [
        hourly_edge,
        hourly_edge + timedelta(hours=1),
    ]
    assert [at for _m, at, _v, _r in snapshots(sessions, "daily")] == [
        daily_edge,
        daily_edge + timedelta(days=1),
    ]
    with session_scope(sessions) as session:
        kept = session.scalars(select(MetricCollectionFailure.error_message)).all()
        assert len(kept) == FAILURES_KEPT
        assert "실패 4" not in kept and "실패 5" in kept
        assert session.scalar(select(func.count()).select_from(MetricCollectionFailure)) == 1000


def test_postgres_source_is_read_in_one_read_only_repeatable_read_transaction(
    pg_url: str, empty_pg_url: str
) -> None:
    store = make_engine(pg_url)
    source = make_source_engine(empty_pg_url)
    try:
        check = (
            "SELECT CASE WHEN current_setting('transaction_isolation') = 'repeatable read' "
            "AND current_setting('transaction_read_only') = 'on' "
            "AND current_setting('statement_timeout') = '1234ms' "
            "AND txid_current_if_assigned() IS NULL THEN 1 ELSE 0 END"
        )
        queries = {m: check for m in METRIC_IDS}
        result = collect_slot(
            session_factory(store), source, queries, SLOT, timeout_ms=1234, sleep=SleepRecorder()
        )
        assert result.ok and set(result.values.values()) == {1}
        # A write is refused by the source transaction itself.
        run_sql(empty_pg_url, ["CREATE SEQUENCE s"])
        writing = dict(queries, tag_count="SELECT nextval('s')")
        failed = collect_slot(
            session_factory(store),
            source,
            writing,
            SLOT + timedelta(hours=1),
            sleep=SleepRecorder(),
        )
        assert not failed.ok and "read-only" in (failed.error or "")
    finally:
        source.dispose()
        store.dispose()


def test_a_slow_query_hits_the_statement_timeout(
    sessions: sessionmaker[Session], source: Engine, store_url: str
) -> None:
    slow = (
        "SELECT count(*) FROM generate_series(1, 100000000)"
        if store_url.startswith("postgresql")
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 100000000) SELECT count(*) FROM n"
    )
    queries = dict(DEFAULT_QUERIES, conversation_count=slow)
    sleeper = SleepRecorder()
    result = collect_slot(sessions, source, queries, SLOT, timeout_ms=200, sleep=sleeper)
    assert not result.ok and result.attempts == 3
    assert snapshots(sessions) == []


def test_store_connection_is_sqlalchemy_2_typed() -> None:
    # The query text of every collector is a single SELECT (checked like a replacement).
    from collectors.queries import query_problem

    assert all(query_problem(sql) is None for sql in DEFAULT_QUERIES.values())
    assert sa.__version__.startswith("2")


def test_a_missing_sqlite_source_is_a_failure_and_is_never_created(
    sqlite_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-source.db"
    store = make_engine(sqlite_url)
    source = make_source_engine(f"sqlite:///{missing}")
    try:
        result = collect_slot(
            session_factory(store), source, DEFAULT_QUERIES, SLOT, sleep=SleepRecorder()
        )
    finally:
        source.dispose()
        store.dispose()
    assert not result.ok and result.attempts == 3
    assert "소스 데이터베이스 연결 실패" in (result.error or "")
    assert not missing.exists()

"""Faults of the source and of the collector itself, on a real PostgreSQL and SQLite: a source
that stops answering is cut off at the deadline, every past slot gets a reason, a new leader
takes over the current slot, the status counts slots, and claims stay exactly-once."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from admin_metrics.settings import Settings, SettingsError, load_settings
from collectors.accounting import (
    MAX_ACCOUNTED_SLOTS,
    MISSED_MESSAGE,
    STOPPED_MESSAGE,
    account_for_slots,
)
from collectors.queries import probe_source
from collectors.registry import DEFAULT_QUERIES
from collectors.runner import CollectionBudget, collect_slot, insert_snapshots
from collectors.scheduler import MetricsService
from collectors.source import make_source_engine
from db.claims import claim_slot
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import CollectionClaim, MetricCollectionFailure, MetricSnapshot
from db.status import collection_status
from tests.relay import TcpRelay
from tests.support import (
    SOURCE_SCHEMA,
    create_source_tables,
    fill_source,
    run_sql,
    source_url_for,
    wait_for,
)

SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def no_sleep(_seconds: float) -> None:
    """Back-off without waiting (the budget still counts real time)."""


@pytest.fixture
def sessions(store_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = source_url_for(store_url, request, tmp_path)
    fill_source(
        url,
        SLOT,
        users=2,
        live_sessions=[1, 2],
        expired_sessions=[],
        conversations=3,
        file_sizes=[10],
        tags=4,
    )
    return url


@pytest.fixture
def source(source_url: str) -> Iterator[Engine]:
    engine = make_source_engine(source_url)
    yield engine
    engine.dispose()


def rows_by_slot(sessions: sessionmaker[Session]) -> Counter[datetime]:
    with session_scope(sessions) as session:
        return Counter(
            session.scalars(
                select(MetricSnapshot.collected_at).where(MetricSnapshot.granularity == "hourly")
            )
        )


def failures_by_slot(sessions: sessionmaker[Session]) -> dict[datetime, list[str]]:
    found: dict[datetime, list[str]] = {}
    with session_scope(sessions) as session:
        for at, message in session.execute(
            select(MetricCollectionFailure.attempted_at, MetricCollectionFailure.error_message)
        ):
            found.setdefault(at, []).append(message)
    return found


def claims(sessions: sessionmaker[Session]) -> dict[datetime, tuple[str, str | None]]:
    with session_scope(sessions) as session:
        return {
            slot: (owner, outcome)
            for slot, owner, outcome in session.execute(
                select(CollectionClaim.slot, CollectionClaim.owner, CollectionClaim.outcome)
            )
        }


def store_slot(sessions: sessionmaker[Session], slot: datetime, value: int = 1) -> None:
    with session_scope(sessions) as session:
        insert_snapshots(session, dict.fromkeys(METRIC_IDS, value), "hourly", slot)


# --- the deadline ----------------------------------------------------------------------------
def test_the_deadline_is_a_validated_setting() -> None:
    assert load_settings(_env_file=None).metrics_collection_deadline_seconds == 30
    for bad in ("2", "abc", "99999"):
        with pytest.raises(SettingsError) as info:
            load_settings(_env_file=None, metrics_collection_deadline_seconds=bad)
        assert str(info.value).startswith("Invalid setting METRICS_COLLECTION_DEADLINE_SECONDS")


def test_the_budget_shares_the_deadline_among_attempts_and_waits() -> None:
    budget = CollectionBudget(30.0)
    assert budget.nominal_attempt_seconds == pytest.approx(9.0)
    end = 100.0 + 30.0
    # Every attempt hangs to its own deadline: the third one ends exactly at the budget.
    first = budget.attempt_deadline(end, 0, 100.0)
    second = budget.attempt_deadline(end, 1, first + 1.0)
    third = budget.attempt_deadline(end, 2, second + 2.0)
    assert (first, second, third) == pytest.approx((109.0, 119.0, 130.0))
    # A first attempt that fails at once leaves the time to the later ones.
    assert budget.attempt_deadline(end, 1, 101.1) == pytest.approx(101.1 + (28.9 - 2) / 2)


@pytest.fixture
def relayed_pg(pg_url: str, empty_pg_url: str) -> Iterator[tuple[str, TcpRelay]]:
    """A PostgreSQL source with the app's tables, reached through a relay that can hang."""
    run_sql(
        empty_pg_url, [s.format(ts="TIMESTAMPTZ", pk="SERIAL PRIMARY KEY") for s in SOURCE_SCHEMA]
    )
    fill_source(
        empty_pg_url,
        SLOT,
        users=1,
        live_sessions=[1],
        expired_sessions=[],
        conversations=2,
        file_sizes=[5],
        tags=3,
    )
    target = sa.engine.make_url(empty_pg_url)
    relay = TcpRelay(target.host or "127.0.0.1", target.port or 5432).start()
    url = target.set(port=relay.port).render_as_string(hide_password=False)
    yield url, relay
    relay.close()


@pytest.mark.slow
def test_a_source_that_stops_answering_mid_collection_fails_within_the_deadline(
    pg_url: str, relayed_pg: tuple[str, TcpRelay]
) -> None:
    url, relay = relayed_pg
    store = make_engine(pg_url)
    sessions = session_factory(store)
    budget = CollectionBudget(6.0)
    source = make_source_engine(url, connect_timeout=budget.nominal_attempt_seconds)
    try:
        # The sixth query (tag_count reads `tags`) never gets an answer; nor do the retries.
        relay.hang_on(b"FROM tags")
        started = time.monotonic()
        result = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, budget=budget)
        elapsed = time.monotonic() - started
        assert relay.hung_at is not None
        assert not result.ok and result.attempts == 3
        assert elapsed <= budget.seconds + 1.0, elapsed
        messages = failures_by_slot(sessions)[SLOT]
        assert len(messages) == 6 and all("제한 시간" in m for m in messages)
        assert rows_by_slot(sessions) == Counter()

        relay.resume()  # the network is back: the same engine collects the next slot
        nxt = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT + HOUR, budget=budget)
        assert nxt.ok and nxt.values["tag_count"] == 3
        assert rows_by_slot(sessions) == Counter({SLOT + HOUR: 6})
    finally:
        source.dispose()
        store.dispose()


@pytest.mark.slow
def test_a_query_past_the_deadline_is_cancelled_on_the_server(
    pg_url: str, empty_pg_url: str
) -> None:
    run_sql(
        empty_pg_url, [s.format(ts="TIMESTAMPTZ", pk="SERIAL PRIMARY KEY") for s in SOURCE_SCHEMA]
    )
    store = make_engine(pg_url)
    sessions = session_factory(store)
    source = make_source_engine(empty_pg_url)
    watcher = make_engine(empty_pg_url)
    queries = dict(DEFAULT_QUERIES, tag_count="SELECT count(*) FROM tags, pg_sleep(60)")

    def sleeping_backends() -> int:
        with watcher.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' "
                        "AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )

    try:
        started = time.monotonic()
        # The statement timeout (10 min) would not stop it; the 5 s deadline does.
        result = collect_slot(
            sessions,
            source,
            queries,
            SLOT,
            timeout_ms=600_000,
            budget=CollectionBudget(5.0),
            sleep=no_sleep,
        )
        assert time.monotonic() - started <= 6.0
        assert not result.ok and "tag_count" in (result.error or "")
        deadline = time.monotonic() + 5
        while sleeping_backends() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sleeping_backends() == 0, "the cancelled query still runs on the source"
    finally:
        watcher.dispose()
        source.dispose()
        store.dispose()


@pytest.mark.slow
def test_a_slow_sqlite_query_is_interrupted_at_the_deadline(
    sqlite_url: str, tmp_path: Path
) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    run_sql(source_url, [s.format(ts="TEXT", pk="INTEGER PRIMARY KEY") for s in SOURCE_SCHEMA])
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 10000000000) SELECT count(*) FROM n"
    )
    store = make_engine(sqlite_url)
    source = make_source_engine(source_url)
    try:
        started = time.monotonic()
        result = collect_slot(
            session_factory(store),
            source,
            dict(DEFAULT_QUERIES, conversation_count=slow),
            SLOT,
            timeout_ms=600_000,
            budget=CollectionBudget(5.0),
            sleep=no_sleep,
        )
        assert time.monotonic() - started <= 6.0
        assert not result.ok and result.attempts == 3
        assert len(failures_by_slot(session_factory(store))[SLOT]) == 6
    finally:
        source.dispose()
        store.dispose()


@pytest.mark.slow
def test_start_up_checks_of_a_silent_source_end_within_the_deadline(
    relayed_pg: tuple[str, TcpRelay],
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from collectors.queries import check_source_queries

    url, relay = relayed_pg
    queries_file = tmp_path / "queries.toml"
    queries_file.write_text('tag_count = "SELECT count(*) FROM tags"\n', encoding="utf-8")
    settings = make_settings(
        source_database_url=url,
        source_queries_file=queries_file,
        metrics_collection_deadline_seconds=5,
    )
    relay.hang()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        queries = check_source_queries(settings)  # the replacement is not verified: a warning
        problems = probe_source(settings, queries)
    assert time.monotonic() - started <= 2 * 5 + 1
    assert "replacement queries not verified" in caplog.text
    assert set(problems) == set(METRIC_IDS)


# --- stored slots are left alone ---------------------------------------------------------------
def test_recollecting_a_stored_slot_with_a_broken_source_writes_no_failures(
    sessions: sessionmaker[Session], source: Engine, tmp_path: Path
) -> None:
    first = collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=no_sleep)
    assert first.ok and first.inserted == 6
    broken = make_source_engine(f"sqlite:///{tmp_path / 'no-such-source.db'}")
    try:
        again = collect_slot(sessions, broken, DEFAULT_QUERIES, SLOT, sleep=no_sleep)
    finally:
        broken.dispose()
    assert again.ok and again.already_stored and again.values == first.values
    assert failures_by_slot(sessions) == {}


def test_the_manual_collect_of_a_stored_slot_writes_no_failures(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from collectors.manual import collect_once

    good = make_settings(database_url=store_url, source_database_url=source_url)
    assert collect_once(good, "hourly", SLOT + timedelta(minutes=17), sleep=no_sleep).ok
    # e.g. run where the source is not reachable (another folder, a typo in the URL)
    broken = make_settings(
        database_url=store_url, source_database_url=f"sqlite:///{tmp_path / 'missing.db'}"
    )
    again = collect_once(broken, "hourly", SLOT + timedelta(minutes=40), sleep=no_sleep)
    assert again.ok and again.already_stored
    engine = make_engine(store_url)
    try:
        assert failures_by_slot(session_factory(engine)) == {}
    finally:
        engine.dispose()


# --- claims are exactly-once -------------------------------------------------------------------
def test_two_collectors_racing_for_one_slot_store_it_once(
    sessions: sessionmaker[Session], source: Engine
) -> None:
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run(owner: str) -> None:
        barrier.wait()
        results.append(
            collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, owner=owner, sleep=no_sleep)
        )

    threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r.ok for r in results) and len(results) == 2
    assert sum(r.inserted for r in results) == 6
    assert rows_by_slot(sessions) == Counter({SLOT: 6})
    assert failures_by_slot(sessions) == {}
    ((owner, outcome),) = claims(sessions).values()
    assert owner.startswith("worker-") and outcome == "stored"


def test_a_claim_is_taken_over_by_the_next_owner_exactly_once(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime.now(UTC)
    with session_scope(sessions) as session:
        first = claim_slot(session, "hourly", SLOT, "dead:1", now)
    assert first is not None
    with session_scope(sessions) as session:
        taken = claim_slot(session, "hourly", SLOT, "leader:2", now + timedelta(seconds=1))
    assert taken == first
    assert claims(sessions) == {SLOT: ("leader:2", None)}


# --- accounting of past slots --------------------------------------------------------------------
def test_every_past_slot_gets_a_reason_once(sessions: sessionmaker[Session]) -> None:
    start = SLOT - 6 * HOUR
    store_slot(sessions, start)  # the first collection ever
    store_slot(sessions, start + HOUR)
    with session_scope(sessions) as session:  # a collector claimed +2 h and was killed
        claim_slot(session, "hourly", start + 2 * HOUR, "killed:7", datetime.now(UTC))
    store_slot(sessions, start + 4 * HOUR)
    now = SLOT + timedelta(minutes=3)  # the current slot is still in its grace window

    done = account_for_slots(sessions, now, owner="leader:1")
    assert done.stopped == [start + 2 * HOUR]
    assert done.missed == [start + 3 * HOUR, start + 5 * HOUR]
    failures = failures_by_slot(sessions)
    assert set(failures) == {start + 2 * HOUR, start + 3 * HOUR, start + 5 * HOUR}
    assert failures[start + 2 * HOUR] == [STOPPED_MESSAGE] * 6
    assert failures[start + 3 * HOUR] == [MISSED_MESSAGE] * 6
    assert SLOT not in failures  # not yet: the current slot can still be collected
    assert claims(sessions)[start + 2 * HOUR] == ("killed:7", "stopped")

    again = account_for_slots(sessions, now + 2 * HOUR, owner="leader:2")
    assert again.missed == [SLOT, SLOT + HOUR] and again.stopped == []
    assert sum(len(v) for v in failures_by_slot(sessions).values()) == 5 * 6


def test_accounting_in_two_processes_at_once_records_each_slot_once(
    sessions: sessionmaker[Session],
) -> None:
    store_slot(sessions, SLOT - 10 * HOUR)
    barrier = threading.Barrier(2)

    def run(owner: str) -> None:
        barrier.wait()
        account_for_slots(sessions, SLOT + timedelta(minutes=1), owner=owner)

    threads = [threading.Thread(target=run, args=(f"leader:{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    failures = failures_by_slot(sessions)
    assert sorted(failures) == [SLOT - h * HOUR for h in range(9, 0, -1)]
    assert {len(v) for v in failures.values()} == {6}


def test_a_fresh_store_is_not_charged_with_the_hours_before_it(
    sessions: sessionmaker[Session],
) -> None:
    assert account_for_slots(sessions, SLOT + 30 * HOUR, owner="leader:1").missed == []
    assert failures_by_slot(sessions) == {}


def test_a_long_outage_is_recorded_for_its_newest_slots_only(
    sessions: sessionmaker[Session],
) -> None:
    store_slot(sessions, SLOT - timedelta(days=20))
    done = account_for_slots(sessions, SLOT + timedelta(minutes=10), owner="leader:1")
    # As many as the 1000 failure rows kept can tell: about a week of hourly slots.
    assert len(done.missed) == MAX_ACCOUNTED_SLOTS == 166
    assert done.missed[-1] == SLOT and done.missed[0] == SLOT - 165 * HOUR


def test_failures_trimmed_by_retention_are_not_recorded_again(
    sessions: sessionmaker[Session],
) -> None:
    store_slot(sessions, SLOT - 3 * HOUR)
    account_for_slots(sessions, SLOT + timedelta(minutes=10), owner="leader:1")
    with session_scope(sessions) as session:
        session.execute(sa.delete(MetricCollectionFailure))  # as if trimmed to the newest 1000
    again = account_for_slots(sessions, SLOT + timedelta(minutes=20), owner="leader:2")
    assert again.missed == [] and failures_by_slot(sessions) == {}


# --- the leader takes over the current slot --------------------------------------------------
@pytest.fixture
def services() -> Iterator[list[MetricsService]]:
    started: list[MetricsService] = []
    yield started
    for service in started:
        service.stop()


def leader_at(
    at: datetime,
    store_url: str,
    source_url: str,
    make_settings: Callable[..., Settings],
    services: list[MetricsService],
) -> MetricsService:
    """A service whose clock says ``at``, elected at once (the only one)."""
    from collectors.queries import check_source_queries

    settings = make_settings(
        database_url=store_url, source_database_url=source_url, metrics_collection_enabled=True
    )
    service = MetricsService(
        settings, check_source_queries(settings), election_interval=0.1, clock=lambda: at
    )
    services.append(service.start())
    return service


def test_a_leader_elected_seconds_after_the_boundary_collects_that_slot(
    store_url: str,
    source_url: str,
    sessions: sessionmaker[Session],
    make_settings: Callable[..., Settings],
    services: list[MetricsService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store_slot(sessions, SLOT - 3 * HOUR)  # collected before the deployment went down
    with caplog.at_level(logging.INFO):
        leader_at(SLOT + timedelta(seconds=5), store_url, source_url, make_settings, services)
        wait_for(lambda: rows_by_slot(sessions)[SLOT] == 6, 20, "the current slot")
    assert "Metrics scheduler started" in caplog.text
    failures = failures_by_slot(sessions)
    assert set(failures) == {SLOT - 2 * HOUR, SLOT - HOUR}  # down: recorded as missed
    assert failures[SLOT - HOUR] == [MISSED_MESSAGE] * 6
    assert claims(sessions)[SLOT][1] == "stored"


def test_a_leader_elected_after_the_grace_window_records_the_slot_as_missed(
    store_url: str,
    source_url: str,
    sessions: sessionmaker[Session],
    make_settings: Callable[..., Settings],
    services: list[MetricsService],
) -> None:
    store_slot(sessions, SLOT - HOUR)
    leader_at(SLOT + timedelta(minutes=6), store_url, source_url, make_settings, services)
    wait_for(lambda: SLOT in failures_by_slot(sessions), 20, "the late slot's record")
    assert failures_by_slot(sessions)[SLOT] == [MISSED_MESSAGE] * 6
    assert SLOT not in rows_by_slot(sessions)  # a gauge read 6 min late is not the slot's


def test_a_slot_a_killed_leader_left_claimed_is_taken_over_inside_the_grace(
    store_url: str,
    source_url: str,
    sessions: sessionmaker[Session],
    make_settings: Callable[..., Settings],
    services: list[MetricsService],
) -> None:
    store_slot(sessions, SLOT - HOUR)
    with session_scope(sessions) as session:
        claim_slot(session, "hourly", SLOT, "killed:9", SLOT + timedelta(seconds=1))
    leader = leader_at(SLOT + timedelta(seconds=40), store_url, source_url, make_settings, services)
    wait_for(lambda: rows_by_slot(sessions)[SLOT] == 6, 20, "the taken-over slot")
    assert claims(sessions)[SLOT] == (leader.owner, "stored")
    assert failures_by_slot(sessions) == {}


# --- status by slots -----------------------------------------------------------------------------
def test_status_after_an_outage_that_ended_counts_slots_and_is_not_error(
    sessions: sessionmaker[Session], source: Engine
) -> None:
    now = SLOT + timedelta(minutes=20)
    for hours in range(12, 0, -1):
        store_slot(sessions, SLOT - hours * HOUR)
    broken = dict(DEFAULT_QUERIES, tag_count="SELECT count(*) FROM labels")  # no such table
    with session_scope(sessions) as session:  # three slots of the outage failed
        session.execute(
            sa.delete(MetricSnapshot).where(
                MetricSnapshot.collected_at.in_([SLOT - h * HOUR for h in (6, 5, 4)])
            )
        )
    for hours in (6, 5, 4):
        collect_slot(sessions, source, broken, SLOT - hours * HOUR, sleep=no_sleep)
    collect_slot(sessions, source, DEFAULT_QUERIES, SLOT, sleep=no_sleep)  # recovered

    with session_scope(sessions) as session:
        status = collection_status(session, now).to_json()
    assert status["status"] == "warning"  # 3 failed slots (18 rows): not error
    assert status["failed_slots_24h"] == 3 and status["failure_count_24h"] == 18
    assert status["missed_slots_24h"] == 0
    assert status["last_successful_slot"] == SLOT.isoformat() == status["last_collection_at"]
    assert status["latest_slot_succeeded"] is True

    # One failed slot is collected after all: its failures leave the status, stay as history.
    collect_slot(sessions, source, DEFAULT_QUERIES, SLOT - 5 * HOUR, sleep=no_sleep)
    with session_scope(sessions) as session:
        status = collection_status(session, now).to_json()
        kept = session.scalar(sa.select(sa.func.count()).select_from(MetricCollectionFailure))
    assert status["failed_slots_24h"] == 2 and status["failure_count_24h"] == 12
    assert status["status"] == "healthy"
    assert {f["attempted_at"] for f in status["recent_failures"]} <= {
        (SLOT - h * HOUR).isoformat() for h in (6, 4)
    }
    assert kept == 18


def test_status_says_when_the_latest_slot_failed_and_counts_missed_slots(
    sessions: sessionmaker[Session],
) -> None:
    store_slot(sessions, SLOT - 3 * HOUR)
    account_for_slots(sessions, SLOT + timedelta(minutes=10), owner="leader:1")
    with session_scope(sessions) as session:
        status = collection_status(session, SLOT + timedelta(minutes=11))
    assert status.latest_slot_succeeded is False
    assert status.failed_slots_24h == 3 and status.missed_slots_24h == 3
    assert status.status == "error"  # last stored slot 3 h ago: late

    with session_scope(sessions) as session:
        assert collection_status(session, SLOT).latest_slot_succeeded is False
    store_slot(sessions, SLOT + HOUR)
    with session_scope(sessions) as session:
        after = collection_status(session, SLOT + HOUR + timedelta(minutes=1))
    assert after.latest_slot_succeeded is True and after.missed_slots_24h == 3


def test_the_collectors_fixed_reasons_have_english_words_in_the_catalogue() -> None:
    from dashboard.i18n import t

    assert t("dash.status.reason_missed", "ko") == MISSED_MESSAGE
    assert t("dash.status.reason_stopped", "ko") == STOPPED_MESSAGE
    assert t("dash.status.reason_missed", "en").startswith("No collector was running")


# --- start-up check of the source ---------------------------------------------------------------
def test_the_source_check_names_each_failing_metric_and_its_cause(
    tmp_path: Path, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    source = f"sqlite:///{tmp_path / 'partial-source.db'}"
    run_sql(
        source,
        [
            "CREATE TABLE sessions (id INTEGER, user_id INTEGER, expires_at TEXT)",
            "CREATE TABLE documents (id INTEGER, file_size INTEGER)",
            "CREATE TABLE conversations (id INTEGER)",
        ],
    )
    settings = make_settings(source_database_url=source)
    with caplog.at_level(logging.WARNING, logger="collectors.queries"):
        problems = probe_source(settings, DEFAULT_QUERIES)
    assert set(problems) == {"tag_count"} and "tags" in problems["tag_count"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "tag_count" in lines[0] and "no such table: tags" in lines[0]


def test_the_source_check_of_an_unreachable_source_is_quick_and_one_line_per_metric(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    from tests.pgserver import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    settings = make_settings(source_database_url=url, metrics_collection_deadline_seconds=5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="collectors.queries"):
        problems = probe_source(settings, DEFAULT_QUERIES)
    assert time.monotonic() - started < 5
    assert set(problems) == set(METRIC_IDS)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 6 and all("refused" in line for line in lines)


# --- real servers ------------------------------------------------------------------------------
def slot_table(store_url: str) -> tuple[Counter[datetime], dict[datetime, list[str]], dict]:
    """Rows per slot, failure messages per slot and claims (owner, outcome, times) per slot."""
    engine = make_engine(store_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as session:
            found = {
                slot: (owner, outcome, claimed, finished)
                for slot, owner, outcome, claimed, finished in session.execute(
                    select(
                        CollectionClaim.slot,
                        CollectionClaim.owner,
                        CollectionClaim.outcome,
                        CollectionClaim.claimed_at,
                        CollectionClaim.finished_at,
                    )
                )
            }
        return rows_by_slot(sessions), failures_by_slot(sessions), found
    finally:
        engine.dispose()


def assert_every_slot_accounted(store_url: str, slot_seconds: int) -> tuple[int, int]:
    """Between the first and the newest record, each slot has its six rows or failure rows
    (none silently missing, none with 1–5 rows). Returns (stored, failed) slot counts."""
    rows, failures, _claims = slot_table(store_url)
    assert set(rows.values()) <= {6}, f"slots with a partial set of rows: {rows}"
    recorded = set(rows) | set(failures)
    first, last = min(recorded), max(recorded)
    step = timedelta(seconds=slot_seconds)
    slot, silent = first, []
    while slot <= last:
        if slot not in recorded:
            silent.append(slot)
        slot += step
    assert not silent, f"slots with no rows and no reason: {silent}"
    return len(rows), len(set(failures) - set(rows))


def server_env(store_url: str, source_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": store_url,
        "SOURCE_DATABASE_URL": source_url,
        "METRICS_COLLECTION_ENABLED": "true",
        **extra,
    }


@pytest.mark.slow
def test_a_server_cut_off_from_its_source_records_the_slot_and_recovers_without_restart(
    pg_url: str, relayed_pg: tuple[str, TcpRelay], live_server_factory: Callable[..., Any]
) -> None:
    url, relay = relayed_pg
    env = server_env(
        pg_url,
        url,
        METRICS_TEST_SLOT_SECONDS="8",
        METRICS_COLLECTION_DEADLINE_SECONDS="6",
    )
    live_server_factory(env, workers=1)
    wait_for(lambda: slot_table(pg_url)[0], 40, "a first stored slot")
    relay.hang_on(b"FROM tags")  # the next collection stops getting answers at its 6th query

    def failed_slot() -> datetime | None:
        _rows, failures, found = slot_table(pg_url)
        done = [s for s in failures if found.get(s, ("", None))[1] == "failed"]
        return max(done) if done else None

    slot = wait_for(failed_slot, 30, "the hung slot's failure rows")
    relay.resume()
    rows, failures, found = slot_table(pg_url)
    _owner, _outcome, claimed_at, finished_at = found[slot]
    assert (finished_at - claimed_at).total_seconds() <= 6 + 1  # the deadline, plus 1 s
    assert len(failures[slot]) == 6 and all("제한 시간" in m for m in failures[slot])
    wait_for(
        lambda: any(s > slot for s in slot_table(pg_url)[0]),
        30,
        "the next slot stored by the same server",
    )
    assert_every_slot_accounted(pg_url, 8)


def owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])


@pytest.mark.slow
def test_kill_9_of_the_leader_mid_collection_the_slot_is_taken_over_or_recorded(
    pg_url: str,
    empty_pg_url: str,
    tmp_path: Path,
    live_server_factory: Callable[..., Any],
) -> None:
    import os
    import signal

    create_source_tables(empty_pg_url)
    slow = tmp_path / "slow-queries.toml"
    slow.write_text('tag_count = "SELECT count(*) FROM tags, pg_sleep(1.5)"\n', encoding="utf-8")
    env = server_env(
        pg_url,
        empty_pg_url,
        SOURCE_QUERIES_FILE=str(slow),
        METRICS_TEST_SLOT_SECONDS="12",
        METRICS_COLLECTION_DEADLINE_SECONDS="10",
    )
    live_server_factory(env, workers=2)

    def collecting() -> tuple[datetime, str] | None:
        running = [(s, c[0]) for s, c in slot_table(pg_url)[2].items() if c[1] is None]
        return running[0] if running else None

    slot, owner = wait_for(collecting, 40, "a leader in the middle of a collection")
    os.kill(owner_pid(owner), signal.SIGKILL)

    def settled() -> tuple[str, str | None] | None:
        claim = slot_table(pg_url)[2].get(slot)
        return claim[:2] if claim and claim[1] is not None else None

    new_owner, outcome = wait_for(settled, 30, "the slot taken over or recorded")
    rows, failures, _claims = slot_table(pg_url)
    if outcome == "stored":  # taken over inside the grace window by the new leader
        assert new_owner != owner and rows[slot] == 6 and slot not in failures
    else:  # the grace had passed when the new leader looked: recorded, never back-dated
        assert outcome == "stopped" and failures[slot] == [STOPPED_MESSAGE] * 6
        assert slot not in rows
    assert set(rows.values()) <= {6}  # no slot has 1–5 rows


@pytest.mark.slow
def test_four_workers_over_twenty_slots_leave_no_slot_unaccounted(
    pg_url: str, empty_pg_url: str, live_server_factory: Callable[..., Any]
) -> None:
    import os
    import signal

    create_source_tables(empty_pg_url)
    env = server_env(pg_url, empty_pg_url, METRICS_TEST_SLOT_SECONDS="2")
    live_server_factory(env, workers=4)

    def span() -> int:
        rows, failures, _claims = slot_table(pg_url)
        recorded = set(rows) | set(failures)
        return int((max(recorded) - min(recorded)).total_seconds() // 2) + 1 if recorded else 0

    wait_for(lambda: span() >= 8, 60, "eight slots")
    # Kill the leading worker; gunicorn starts a new one, another worker takes over.
    leader = max(slot_table(pg_url)[2].items())[1][0]
    os.kill(owner_pid(leader), signal.SIGKILL)
    wait_for(lambda: span() >= 22, 90, "twenty-two slots")
    stored, failed = assert_every_slot_accounted(pg_url, 2)
    owners = {c[0] for c in slot_table(pg_url)[2].values()}
    assert len(owners) >= 2 and stored >= 15, (stored, failed, owners)

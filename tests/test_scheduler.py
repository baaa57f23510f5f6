"""Status colours, the leader lock and the scheduler: exactly one collector per deployment,
and a follower takes over when the leader dies (in-process and with real gunicorn servers)."""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from admin_metrics.settings import Settings
from collectors.leader import AdvisoryLock, FileLeaderLock
from collectors.runner import insert_snapshots
from collectors.scheduler import MetricsService
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure, MetricSnapshot
from db.status import classify, collection_status
from tests.support import fill_source, source_url_for

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# --- status ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lateness", "failures", "colour"),
    [
        (timedelta(0), 0, "healthy"),
        (timedelta(minutes=5), 2, "healthy"),
        (timedelta(minutes=5, seconds=1), 0, "warning"),
        (timedelta(minutes=60), 0, "warning"),
        (timedelta(minutes=60, seconds=1), 0, "error"),
        (timedelta(0), 3, "warning"),
        (timedelta(0), 10, "warning"),
        (timedelta(0), 11, "error"),
        (timedelta(minutes=-50), 0, "healthy"),  # within the current hour
    ],
)
def test_status_colour_boundaries(lateness: timedelta, failures: int, colour: str) -> None:
    last_slot = NOW - timedelta(hours=1) - lateness
    assert classify(last_slot, failures, NOW) == colour


@pytest.mark.parametrize(
    ("latest_succeeded", "failures", "colour"),
    [
        (True, 11, "warning"),  # an outage of 11 h that has ended: not red for a day
        (True, 30, "warning"),
        (True, 2, "healthy"),
        (False, 11, "error"),  # still failing
        (None, 11, "error"),
    ],
)
def test_a_recovered_collection_is_not_red_for_its_past_failures(
    latest_succeeded: bool | None, failures: int, colour: str
) -> None:
    on_time = NOW - timedelta(hours=1)
    assert classify(on_time, failures, NOW, latest_succeeded) == colour


def test_status_is_pending_before_the_first_collection() -> None:
    assert classify(None, 0, NOW) == "pending"
    assert classify(None, 50, NOW) == "pending"


def test_collection_status_from_the_store(store_sessions: Callable[[], Any]) -> None:
    with store_sessions() as session:
        status = collection_status(session, NOW)
        assert status.status == "pending" and status.last_collection_at is None
        slot = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        insert_snapshots(session, {m: 1 for m in METRIC_IDS}, "hourly", slot)
        for i in range(3):
            session.add(
                MetricCollectionFailure(
                    metric_type="tag_count",
                    granularity="hourly",
                    attempted_at=NOW - timedelta(minutes=10 + i),
                    error_message=f"소스 쿼리 오류 {i}",
                    created_at=NOW - timedelta(minutes=10 + i),
                )
            )
        session.flush()
        status = collection_status(session, NOW, is_collecting=True)
        payload = status.to_json()
    assert payload["status"] == "warning"  # on time, but 3 failures in 24 h
    assert payload["last_collection_at"] == slot.isoformat()
    assert payload["next_collection_at"] == "2026-03-02T11:00:00+00:00"
    assert payload["failure_count_24h"] == 3 and payload["is_collecting"] is True
    assert payload["recent_failures"][0]["error_message"] == "소스 쿼리 오류 0"
    with store_sessions() as session:
        disabled = collection_status(session, NOW, collection_enabled=False)
    assert disabled.next_collection_at is None


# --- leader lock -------------------------------------------------------------------------
def test_advisory_lock_has_exactly_one_holder(pg_url: str) -> None:
    first, second = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_file_lock_has_exactly_one_holder(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "x.lock"), FileLeaderLock(tmp_path / "x.lock")
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


# --- scheduler in one process ------------------------------------------------------------
@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = source_url_for(store_url, request, tmp_path)
    fill_source(
        url,
        datetime.now(UTC),
        users=3,
        live_sessions=[1, 2],
        expired_sessions=[3],
        conversations=4,
        file_sizes=[100, 200],
        tags=1,
    )
    return url


def slot_counts(store_url: str) -> Counter[datetime]:
    engine = make_engine(store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            rows = session.execute(
                select(MetricSnapshot.collected_at, func.count())
                .where(MetricSnapshot.granularity == "hourly")
                .group_by(MetricSnapshot.collected_at)
            )
            return Counter({at: n for at, n in rows})
    finally:
        engine.dispose()


@pytest.fixture
def services() -> Iterator[list[MetricsService]]:
    started: list[MetricsService] = []
    yield started
    for service in started:
        service.stop()


def test_one_leader_collects_and_a_follower_takes_over(
    store_url: str,
    source_url: str,
    make_settings: Callable[..., Settings],
    services: list[MetricsService],
) -> None:
    from collectors.queries import check_source_queries

    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        metrics_collection_enabled=True,
        metrics_test_slot_seconds=2,
    )
    queries = check_source_queries(settings)
    for _ in range(2):
        services.append(MetricsService(settings, queries, election_interval=0.2).start())
    leader = wait_for(lambda: next((s for s in services if s.is_leader), None), 10, "a leader")
    follower = next(s for s in services if s is not leader)
    wait_for(lambda: len(slot_counts(store_url)) >= 2, 20, "two collected slots")
    assert not follower.is_leader

    leader.stop()
    stopped_at = datetime.now(UTC)
    wait_for(lambda: follower.is_leader, 10, "the follower to take over")
    wait_for(
        lambda: any(at > stopped_at for at in slot_counts(store_url)),
        20,
        "a slot collected by the new leader",
    )
    counts = slot_counts(store_url)
    assert set(counts.values()) == {6}
    slots = sorted(counts)
    assert all((b - a).total_seconds() % 2 == 0 for a, b in zip(slots, slots[1:], strict=False))


# --- real servers: gunicorn with several workers, two deployments' worth -------------------
COLLECTED = re.compile(r"Hourly metrics collected successfully \(slot (\S+),")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_gunicorn_workers_elect_one_leader_and_fail_over(
    pg_url: str,
    empty_pg_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    live_server_factory: Callable[..., Any],
) -> None:
    from tests.support import SOURCE_SCHEMA, run_sql

    run_sql(
        empty_pg_url,
        [s.format(ts="TIMESTAMPTZ", pk="SERIAL PRIMARY KEY") for s in SOURCE_SCHEMA],
    )
    env = {
        "DATABASE_URL": pg_url,
        "SOURCE_DATABASE_URL": empty_pg_url,
        "METRICS_COLLECTION_ENABLED": "true",
        "METRICS_TEST_SLOT_SECONDS": "2",
    }
    servers = [live_server_factory(env, workers=2), live_server_factory(env, workers=1)]

    def leaders() -> list[Any]:
        return [s for s in servers if "Metrics scheduler started" in s.log_text()]

    wait_for(lambda: len(slot_counts(pg_url)) >= 3, 60, "three collected slots")
    assert len(leaders()) == 1
    assert sum(s.log_text().count("Metrics scheduler started") for s in servers) == 1
    leader = leaders()[0]
    other = next(s for s in servers if s is not leader)

    # Kill the leader's whole gunicorn (master and workers) without any clean-up.
    workers = children(leader.proc.pid)
    os.kill(leader.proc.pid, signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    leader.proc.wait(timeout=10)
    killed_at = datetime.now(UTC)

    wait_for(lambda: "Metrics scheduler started" in other.log_text(), 30, "the other to lead")
    wait_for(
        lambda: sum(at > killed_at for at in slot_counts(pg_url)) >= 2,
        30,
        "slots collected by the new leader",
    )
    counts = slot_counts(pg_url)
    assert set(counts.values()) == {6}  # each slot has exactly one set of six rows
    assert other.log_text().count("Metrics scheduler started") == 1
    # Every slot was collected by exactly one process (no duplicate work).
    collected = Counter(m for s in servers for m in COLLECTED.findall(s.log_text()))
    assert collected and set(collected.values()) == {1}


def test_app_factory_starts_the_service_only_when_enabled(
    store_url: str, source_url: str, make_settings: Callable[..., Settings]
) -> None:
    from dashboard.app import create_app
    from dashboard.context import get_context

    disabled = create_app(make_settings(database_url=store_url, source_database_url=source_url))
    assert get_context(disabled).scheduler is None
    get_context(disabled).engine.dispose()

    # Yesterday has hourly data but no daily row: the new leader rolls it up at start.
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=1
    )
    engine = make_engine(store_url)
    with session_scope(session_factory(engine)) as session:
        for hour, value in ((3, 10), (4, 13)):
            insert_snapshots(session, {"tag_count": value}, "hourly", yesterday.replace(hour=hour))
    enabled = create_app(
        make_settings(
            database_url=store_url,
            source_database_url=source_url,
            metrics_collection_enabled=True,
            business_timezone="UTC",  # UTC days here; the KST rollup: test_business_days
        )
    )
    service = get_context(enabled).scheduler
    try:
        assert isinstance(service, MetricsService)
        wait_for(lambda: service.is_leader, 10, "the only worker to lead")

        def daily_value() -> int | None:
            with session_scope(session_factory(engine)) as session:
                return session.scalar(
                    select(MetricSnapshot.value).where(
                        MetricSnapshot.granularity == "daily",
                        MetricSnapshot.collected_at == yesterday,
                    )
                )

        assert wait_for(daily_value, 15, "the catch-up rollup") == 12  # round(11.5) half up
    finally:
        service.stop()
        engine.dispose()
        get_context(enabled).engine.dispose()
    assert not service.is_leader

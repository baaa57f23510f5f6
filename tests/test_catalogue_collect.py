"""Collection of the catalogue's extra metrics beside the six: per-slot counts of the hour a
slot closes, one row per label, the label cap, failures that never cost the six their slot,
daily rollups per metric and label, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from admin_metrics.settings import Settings
from collectors.catalogue import check_catalogue
from collectors.manual import collect_once
from collectors.runner import apply_retention, collect_slot, insert_series, rollup_day
from collectors.source import make_source_engine
from db.catalogue import Catalogue, CatalogueMetric
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure, MetricSnapshot
from db.periods import day_window
from db.queries import failures_since, timeseries
from db.status import collection_status
from tests.support import fill_source, run_sql, source_url_for, stamp

SLOT = datetime(2026, 3, 2, 10, tzinfo=UTC)
CATALOGUE = """
[metrics.messages]
name_ko = "메시지 수"
name_en = "Messages"
unit = "count"
kind = "per_slot"
rollup = "sum"
query = "SELECT count(*) FROM messages WHERE created_at >= :slot_start AND created_at < :slot_end"

[metrics.documents_by_department]
name_ko = "부서별 문서 수"
name_en = "Documents by department"
unit = "documents"
kind = "gauge"
rollup = "max"
labelled = true
query = "SELECT department, count(*) FROM department_documents GROUP BY department"
"""


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = source_url_for(store_url, request, tmp_path)
    ts = "TIMESTAMPTZ" if url.startswith("postgresql") else "TEXT"
    run_sql(
        url,
        [
            f"CREATE TABLE messages (id INTEGER, created_at {ts})",
            "CREATE TABLE department_documents (department VARCHAR(50))",
        ],
    )
    return url


def add_messages(url: str, *instants: datetime) -> None:
    run_sql(
        url,
        [
            f"INSERT INTO messages (id, created_at) VALUES ({i}, :at{i})"
            for i in range(len(instants))
        ],
        [{f"at{i}": stamp(url, at) for i, at in enumerate(instants)}],  # type: ignore[list-item]
    )


def add_documents(url: str, **per_department: int) -> None:
    rows = [d for d, n in per_department.items() for _ in range(n)]
    run_sql(
        url,
        [f"INSERT INTO department_documents (department) VALUES (:d{i})" for i in range(len(rows))],
        [{f"d{i}": d for i, d in enumerate(rows)}],  # type: ignore[list-item]
    )


@pytest.fixture
def settings(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Settings:
    path = tmp_path / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    fill_source(
        source_url,
        SLOT,
        users=2,
        live_sessions=[1],
        expired_sessions=[],
        conversations=3,
        file_sizes=[10],
        tags=4,
    )
    return make_settings(
        database_url=store_url, source_database_url=source_url, metrics_catalogue_file=path
    )


def series(settings: Settings, metric: str, label: str = "", granularity: str = "hourly") -> Any:
    engine = make_engine(settings.store_url)
    try:
        with session_factory(engine)() as session:
            df = timeseries(
                session,
                metric,
                granularity,
                SLOT - timedelta(days=3),
                SLOT + timedelta(days=3),
                label=label,
            )
    finally:
        engine.dispose()
    return dict(zip(df["timestamp"].dt.to_pydatetime(), df["value"].tolist(), strict=True))


def test_extras_are_collected_in_the_six_slot_per_slot_counting_the_hour_it_closes(
    settings: Settings,
) -> None:
    url = str(settings.source_database_url)
    add_messages(
        url,
        SLOT - timedelta(minutes=59),  # in the hour 09:00–10:00 the 10:00 slot closes
        SLOT - timedelta(seconds=1),
        SLOT - timedelta(hours=1, seconds=1),  # the hour before
        SLOT,  # the next hour
    )
    add_documents(url, HR=2, IT=5)
    result = collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)
    assert result.ok and set(result.values) == set(METRIC_IDS) and result.values["tag_count"] == 4
    assert result.extra_values == {
        "messages": {"": 2},
        "documents_by_department": {"HR": 2, "IT": 5},
    }
    assert result.extra_errors == {}
    assert series(settings, "messages") == {SLOT: 2}
    assert series(settings, "documents_by_department", "IT") == {SLOT: 5}
    assert series(settings, "documents_by_department", "HR") == {SLOT: 2}
    assert series(settings, "documents_by_department") == {}  # no unlabelled series
    assert series(settings, "tag_count") == {SLOT: 4}


def test_a_labelled_metric_over_the_cap_records_a_failure_and_stores_nothing_of_it(
    settings: Settings,
) -> None:
    url = str(settings.source_database_url)
    add_documents(url, HR=1)
    catalogue = check_catalogue(settings.model_copy(update={"metrics_max_labels": 2}))
    add_documents(url, IT=1, OPS=1)  # three labels from now on
    engine = make_engine(settings.store_url)
    source = make_source_engine(url)
    try:
        sessions = session_factory(engine)
        result = collect_slot(
            sessions,
            source,
            catalogue.builtin_queries,
            SLOT,
            extras=catalogue.extras,
            max_labels=2,
            sleep=lambda _s: None,
        )
        with sessions() as session:
            failures = failures_since(session, SLOT - timedelta(hours=1))
            status = collection_status(session, SLOT + timedelta(minutes=5))
    finally:
        source.dispose()
        engine.dispose()
    assert result.ok and result.values["document_count"] == 1
    assert "documents_by_department" not in result.extra_values
    assert "more than METRICS_MAX_LABELS (2)" in result.extra_errors["documents_by_department"]
    assert result.extra_values["messages"] == {"": 0}
    assert list(failures["metric_type"]) == ["documents_by_department"]
    assert "METRICS_MAX_LABELS" in failures["error_message"].iloc[0]
    assert series(settings, "documents_by_department", "HR") == {}
    # The slot is stored: the six's light is not charged, the failure is listed.
    assert status.failed_slots_24h == 0
    assert [f.metric_type for f in status.recent_failures] == ["documents_by_department"]


def test_an_extra_whose_query_fails_keeps_the_six_and_the_other_extras(
    settings: Settings,
) -> None:
    url = str(settings.source_database_url)
    add_documents(url, HR=3)
    catalogue = check_catalogue(settings)
    run_sql(url, ["DROP TABLE messages"])  # the first extra now fails on the source
    engine = make_engine(settings.store_url)
    source = make_source_engine(url)
    try:
        result = collect_slot(
            session_factory(engine),
            source,
            catalogue.builtin_queries,
            SLOT,
            extras=catalogue.extras,
            sleep=lambda _s: None,
        )
    finally:
        source.dispose()
        engine.dispose()
    assert result.ok and result.values["conversation_count"] == 3
    assert set(result.extra_errors) == {"messages"}
    assert "the source rejected the query" in result.extra_errors["messages"]
    assert result.extra_values == {"documents_by_department": {"HR": 3}}
    assert series(settings, "documents_by_department", "HR") == {SLOT: 3}


def test_a_failed_slot_of_the_six_stores_no_extra_either(
    settings: Settings,
) -> None:
    url = str(settings.source_database_url)
    catalogue = check_catalogue(settings)
    run_sql(url, ["DROP TABLE tags"])
    engine = make_engine(settings.store_url)
    source = make_source_engine(url)
    try:
        sessions = session_factory(engine)
        result = collect_slot(
            sessions,
            source,
            catalogue.builtin_queries,
            SLOT,
            extras=catalogue.extras,
            sleep=lambda _s: None,
        )
        with sessions() as session:
            stored = session.scalar(sa.select(sa.func.count()).select_from(MetricSnapshot))
            failed = session.scalars(sa.select(MetricCollectionFailure.metric_type)).all()
    finally:
        source.dispose()
        engine.dispose()
    assert not result.ok and stored == 0
    assert sorted(failed) == sorted(METRIC_IDS)


def metric(metric_id: str, kind: str, rollup: str) -> CatalogueMetric:
    return CatalogueMetric(
        metric_id,
        metric_id,
        metric_id,
        "count",
        "개",
        "count",
        kind,
        rollup,
        "SELECT 1",  # type: ignore[arg-type]
    )


def test_daily_rollup_combines_each_series_per_its_metric_and_a_per_slot_day_ends_at_midnight(
    store_url: str,
) -> None:
    """A per-slot count's day is the slots (00:00, 24:00]: the hour each closes."""
    day = date(2026, 3, 2)
    window = day_window(day, "UTC")
    catalogue = Catalogue(
        (
            *Catalogue.builtin(dict.fromkeys(METRIC_IDS, "SELECT 1")).metrics,
            metric("messages", "per_slot", "sum"),
            metric("peak", "gauge", "max"),
            metric("latest", "gauge", "last"),
            metric("mean", "gauge", "average"),
        )
    )
    engine = make_engine(store_url)
    sessions = session_factory(engine)
    with session_scope(sessions) as session:
        for hour in range(25):  # 00:00 of the day … 00:00 of the next day
            at = window.start + timedelta(hours=hour)
            rows = {("messages", ""): hour, ("peak", "a"): hour % 7, ("peak", "b"): 1}
            rows |= {("latest", ""): hour, ("mean", ""): hour, ("tag_count", ""): hour}
            insert_series(session, rows, "hourly", at)
    result = rollup_day(sessions, day, "UTC", catalogue)
    again = rollup_day(sessions, day, "UTC", catalogue)
    engine.dispose()
    assert result.ok
    assert result.values == {"tag_count": 12}  # the six: the rounded average of 00:00–23:00
    assert result.extra_values == {
        "messages": {"": sum(range(1, 25))},  # 01:00 … 24:00
        "peak": {"a": 6, "b": 1},
        "latest": {"": 23},
        "mean": {"": 12},  # round half up of 11.5
    }
    assert again.ok and again.inserted == 0  # idempotent


def test_retention_deletes_labelled_rows_too(store_sessions: Callable[[], Any]) -> None:
    old = datetime(2026, 1, 1, 10, tzinfo=UTC)
    with store_sessions() as session:
        insert_series(session, {("by_model", "a"): 1, ("by_model", "b"): 2}, "hourly", old)
        insert_series(session, {("by_model", "a"): 3}, "hourly", SLOT)
    with store_sessions() as session:
        result = apply_retention(session, SLOT, 30, 90)
        left = session.execute(sa.select(MetricSnapshot.label, MetricSnapshot.value)).all()
    assert result.hourly == 2
    assert left == [("a", 3)]


def test_the_scheduler_collects_the_catalogue_and_rolls_it_up_per_metric(
    settings: Settings,
) -> None:
    from collectors.scheduler import MetricsService

    url = str(settings.source_database_url)
    add_messages(url, SLOT - timedelta(minutes=30))
    add_documents(url, HR=1)
    catalogue = check_catalogue(settings)
    clock = [SLOT + timedelta(seconds=10)]
    service = MetricsService(
        settings, catalogue.builtin_queries, clock=lambda: clock[0], catalogue=catalogue
    )
    try:
        result = service.collect_current_slot()
        assert result is not None and result.ok
        assert result.extra_values == {
            "messages": {"": 1},
            "documents_by_department": {"HR": 1},
        }
        clock[0] = SLOT + timedelta(days=2)
        service.daily_rollup()
    finally:
        service.stop()
    assert list(series(settings, "messages", granularity="daily").values()) == [1]
    assert list(series(settings, "documents_by_department", "HR", "daily").values()) == [1]

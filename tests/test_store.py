"""Store query functions on real PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from db.engine import make_engine
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure, MetricSnapshot
from db.queries import failures_since, latest_slot, latest_values, timeseries

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _fill(session, hours: int = 5) -> None:  # type: ignore[no-untyped-def]
    for h in range(hours):
        for i, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=100 * i + h,
                    granularity="hourly",
                    collected_at=T0 + timedelta(hours=h),
                )
            )


def test_timeseries_is_aware_utc_with_exact_values(store_sessions) -> None:  # type: ignore[no-untyped-def]
    with store_sessions() as session:
        _fill(session)
    with store_sessions() as session:
        df = timeseries(
            session, "active_sessions", "hourly", T0 + timedelta(hours=1), T0 + timedelta(hours=4)
        )  # half-open [start, end): the slots 01:00, 02:00, 03:00
    assert list(df.columns) == ["timestamp", "value"]
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert df["value"].dtype == "int64"
    assert list(df["value"]) == [201, 202, 203]
    assert df["timestamp"].iloc[0] == pd.Timestamp(T0 + timedelta(hours=1))


def test_orm_reads_back_aware_utc(store_sessions) -> None:  # type: ignore[no-untyped-def]
    seoul = datetime(2026, 3, 1, 9, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Seoul")
    )
    with store_sessions() as session:
        session.add(
            MetricSnapshot(
                metric_type="tag_count", value=1, granularity="hourly", collected_at=seoul
            )
        )
    with store_sessions() as session:
        row = session.scalars(sa.select(MetricSnapshot)).one()
        assert row.collected_at.tzinfo is not None
        assert row.collected_at.utcoffset() == timedelta(0)
        assert row.collected_at == datetime(2026, 3, 1, 9, tzinfo=UTC)
        assert row.created_at.tzinfo is not None
        assert latest_slot(session) == datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_latest_values_of_the_newest_slot(store_sessions) -> None:  # type: ignore[no-untyped-def]
    with store_sessions() as session:
        assert latest_values(session).empty
        _fill(session, hours=3)
    with store_sessions() as session:
        df = latest_values(session)
    assert list(df["metric_type"]) == list(METRIC_IDS)
    assert list(df["value"]) == [100 * i + 2 for i in range(6)]
    assert (df["timestamp"] == pd.Timestamp(T0 + timedelta(hours=2))).all()


def test_failures_since_newest_first(store_sessions) -> None:  # type: ignore[no-untyped-def]
    with store_sessions() as session:
        for h in range(4):
            session.add(
                MetricCollectionFailure(
                    metric_type="tag_count",
                    granularity="hourly",
                    attempted_at=T0 + timedelta(hours=h),
                    error_message=f"실패 {h}",
                )
            )
    with store_sessions() as session:
        df = failures_since(session, T0 + timedelta(hours=2))
    assert list(df["error_message"]) == ["실패 3", "실패 2"]
    assert str(df["attempted_at"].dtype) == "datetime64[ns, UTC]"


def test_range_query_uses_idx_metric_type_time(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO metric_snapshots (metric_type, value, granularity, collected_at) "
                    "SELECT m, g, 'hourly', timestamptz '2026-01-01' + g * interval '1 hour' "
                    "FROM generate_series(0, 2000) g, unnest(ARRAY['active_users','storage_bytes',"
                    "'active_sessions','conversation_count','document_count','tag_count']) m"
                )
            )
            conn.execute(sa.text("ANALYZE metric_snapshots"))
            stmt = (
                sa.select(MetricSnapshot.collected_at, MetricSnapshot.value)
                .where(
                    MetricSnapshot.metric_type == "tag_count",
                    MetricSnapshot.granularity == "hourly",
                    MetricSnapshot.collected_at >= datetime(2026, 1, 10, tzinfo=UTC),
                    MetricSnapshot.collected_at <= datetime(2026, 1, 17, tzinfo=UTC),
                )
                .order_by(MetricSnapshot.collected_at)
            )
            compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {compiled}")))
    finally:
        engine.dispose()
    assert "idx_metric_type_time" in plan, plan


def test_range_query_of_one_series_is_an_index_scan(pg_url: str) -> None:
    """The API's series query (metric, source, label) is an index scan with labelled rows of
    other series beside it (the planner may take the unique key's index, which leads with
    metric_type, source, label, granularity, collected_at, or a time index)."""
    from db.queries import _series_statement

    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO metric_snapshots "
                    "(metric_type, value, granularity, collected_at, label) "
                    "SELECT m, g, 'hourly', timestamptz '2026-01-01' + g * interval '1 hour', l "
                    "FROM generate_series(0, 2000) g, unnest(ARRAY['tag_count', 'by_model']) m, "
                    "unnest(ARRAY['', 'a', 'b', 'c']) l"
                )
            )
            conn.execute(sa.text("ANALYZE metric_snapshots"))
            params = {
                "metric_type": "tag_count",
                "source": "default",
                "label": "",
                "granularity": "hourly",
                "start": datetime(2026, 1, 10, tzinfo=UTC),
                "end": datetime(2026, 1, 17, tzinfo=UTC),
            }
            stmt = _series_statement("postgresql").params(**params)
            text = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {text}")))
    finally:
        engine.dispose()
    assert "Index Scan using" in plan and "Seq Scan" not in plan, plan

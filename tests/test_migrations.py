"""Schema comes only from Alembic; up/down/up works on both backends."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from db.engine import make_engine
from db.migrate import current_revision, downgrade, upgrade
from tests.support import REPO

METRIC_TABLES = {"metric_snapshots", "metric_collection_failures"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        return str(request.getfixturevalue("empty_pg_url"))
    return f"sqlite:///{tmp_path / 'fresh' / 'metrics.db'}"


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    upgrade(empty_url)
    assert METRIC_TABLES | {"admin_users", "api_tokens", "metric_exports"} <= _tables(empty_url)
    downgrade(empty_url, "base")
    assert not (METRIC_TABLES & _tables(empty_url))
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert _tables(empty_url) >= METRIC_TABLES


def test_metric_tables_come_from_the_named_revision(empty_url: str) -> None:
    upgrade(empty_url, "20251102_add_metrics_tables")
    assert current_revision(empty_url) == "20251102_add_metrics_tables"
    assert _tables(empty_url) - {"alembic_version"} == METRIC_TABLES


def test_indexes_and_constraint_names(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        inspector = sa.inspect(engine)
        indexes = {ix["name"] for ix in inspector.get_indexes("metric_snapshots")}
        uniques = {
            uq["name"]: uq["column_names"]
            for uq in inspector.get_unique_constraints("metric_snapshots")
        }
        failure_indexes = {ix["name"] for ix in inspector.get_indexes("metric_collection_failures")}
    finally:
        engine.dispose()
    assert {"idx_metric_type_time", "idx_cleanup_hourly", "idx_cleanup_daily"} <= indexes
    assert "unique_metric_snapshot" in uniques
    assert uniques["unique_metric_snapshot"] == [
        "metric_type",
        "source",
        "label",
        "granularity",
        "collected_at",
    ]
    assert "idx_failures_created_at" in failure_indexes


def test_unique_constraint_rejects_duplicate_slot(store_url: str) -> None:
    engine = make_engine(store_url)
    slot = datetime(2026, 1, 1, 5, tzinfo=UTC)
    row = {"m": "tag_count", "v": 3, "g": "hourly", "t": slot.replace(tzinfo=None)}
    if engine.dialect.name == "postgresql":
        row["t"] = slot
    insert = sa.text(
        "INSERT INTO metric_snapshots (metric_type, value, granularity, collected_at) "
        "VALUES (:m, :v, :g, :t)"
    )
    try:
        with engine.begin() as conn:
            conn.execute(insert, row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {**row, "g": "weekly", "t": row["t"]})
    finally:
        engine.dispose()


def test_python_m_alembic_upgrade_head_from_repo_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db_file = tmp_path / "cli" / "metrics.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    current = subprocess.run(
        [sys.executable, "-m", "alembic", "current"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "(head)" in current.stdout
    assert _tables(f"sqlite:///{db_file}") >= METRIC_TABLES


def test_serve_refuses_an_unmigrated_store_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "SECRET_KEY": "serve-secret-key-0123456789",
        "METRICS_COLLECTION_ENABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "-m", "admin_metrics.cli", "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "admin-metrics db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_business_day_migration_rerolls_what_hourly_data_still_cover(empty_url: str) -> None:
    """20261203_business_day_daily: complete KST days with hourly rows are re-rolled at KST
    midnight and replace the UTC-day row of the same date; older UTC-day rows stay."""
    from datetime import date, timedelta

    from db.periods import day_window, local_date

    upgrade(empty_url, "20251104_add_exports")
    table = sa.table(
        "metric_snapshots",
        sa.column("metric_type"),
        sa.column("value"),
        sa.column("granularity"),
        sa.column("collected_at", sa.DateTime(timezone=True)),
        sa.column("retry_count"),
    )
    today = local_date(datetime.now(UTC), "Asia/Seoul")
    kst = [today - timedelta(days=d) for d in (3, 2, 1)]  # 3 KST days of hourly data
    first = day_window(kst[0], "Asia/Seoul").start + timedelta(hours=5)  # cut by "retention"
    end = day_window(kst[-1], "Asia/Seoul").end
    hourly, at = [], first
    while at < end:
        hourly.append(("active_users", at.hour, "hourly", at, 0))
        at += timedelta(hours=1)
    old_days = [today - timedelta(days=d) for d in (6, 5, 2, 1)]  # UTC-day rows
    daily = [
        ("active_users", 999, "daily", datetime(d.year, d.month, d.day, tzinfo=UTC), 0)
        for d in old_days
    ]
    engine = make_engine(empty_url)
    keys = ("metric_type", "value", "granularity", "collected_at", "retry_count")
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [dict(zip(keys, row, strict=True)) for row in hourly])
        conn.execute(sa.insert(table), [dict(zip(keys, row, strict=True)) for row in daily])
    upgrade(empty_url, "20261203_business_day_daily", business_timezone="Asia/Seoul")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.collected_at, table.c.value)
            .where(table.c.granularity == "daily")
            .order_by(table.c.collected_at)
        ).all()
    engine.dispose()
    stored = {(at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC): v for at, v in rows}

    def mean_of(day: date) -> int:
        window = day_window(day, "Asia/Seoul")
        values = [v for _m, v, _g, at, _r in hourly if window.start <= at < window.end]
        return int(sum(values) / len(values) + 0.5)

    expected = {
        datetime(d.year, d.month, d.day, tzinfo=UTC): 999 for d in old_days[:2]
    }  # beyond the hourly data: left as UTC days
    for day in kst[1:]:  # the oldest KST day may be cut by retention: not re-rolled
        expected[day_window(day, "Asia/Seoul").start] = mean_of(day)
    assert stored == expected


def test_catalogue_series_migration_keeps_the_six_and_lets_labels_and_sources_coexist(
    empty_url: str,
) -> None:
    """20261205_catalogue_series: existing rows become the default source's unlabelled
    series; the new key holds one row per label; the downgrade keeps the six's rows."""
    upgrade(empty_url, "20261205_events")
    slot = datetime(2026, 1, 1, 5, tzinfo=UTC)
    engine = make_engine(empty_url)
    at = slot if engine.dialect.name == "postgresql" else slot.replace(tzinfo=None)
    insert = sa.text(
        "INSERT INTO metric_snapshots (metric_type, value, granularity, collected_at) "
        "VALUES (:m, :v, 'hourly', :t)"
    )
    failure = sa.text(
        "INSERT INTO metric_collection_failures "
        "(metric_type, granularity, attempted_at, error_message) "
        "VALUES ('tag_count', 'hourly', :t, '실패')"
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                insert,
                [{"m": "tag_count", "v": 3, "t": at}, {"m": "document_count", "v": 4, "t": at}],
            )
            conn.execute(failure, {"t": at})
        upgrade(empty_url)
        select_rows = sa.text(
            "SELECT metric_type, source, label, value FROM metric_snapshots ORDER BY metric_type"
        )
        with engine.connect() as conn:
            assert conn.execute(select_rows).all() == [
                ("document_count", "default", "", 4),
                ("tag_count", "default", "", 3),
            ]
            failures = "SELECT source FROM metric_collection_failures"
            assert conn.execute(sa.text(failures)).scalars().all() == ["default"]
        labelled = sa.text(
            "INSERT INTO metric_snapshots "
            "(metric_type, value, granularity, collected_at, source, label) "
            "VALUES ('documents_by_department', :v, 'hourly', :t, 'default', :label)"
        )
        with engine.begin() as conn:
            conn.execute(
                labelled, [{"v": 1, "t": at, "label": "HR"}, {"v": 2, "t": at, "label": "IT"}]
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(labelled, {"v": 5, "t": at, "label": "IT"})

        downgrade(empty_url, "20261205_events")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT metric_type, value FROM metric_snapshots ORDER BY metric_type")
            ).all()
        assert rows == [("document_count", 4), ("tag_count", 3)]
        upgrade(empty_url)
    finally:
        engine.dispose()


def test_source_claims_migration_keeps_the_claims_and_lets_each_source_claim_a_slot(
    empty_url: str,
) -> None:
    """20261206_source_claims: existing claims become the default source's; two sources
    claim the same slot, one source never twice; the downgrade keeps the default's."""
    upgrade(empty_url, "20261205_catalogue_series")
    slot = datetime(2026, 1, 1, 5, tzinfo=UTC)
    engine = make_engine(empty_url)
    at = slot if engine.dialect.name == "postgresql" else slot.replace(tzinfo=None)
    claim = (
        "INSERT INTO metric_collection_claims (granularity, slot, owner, claimed_at{extra}) "
        "VALUES ('hourly', :t, 'leader:1', :t{value})"
    )
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(claim.format(extra="", value="")), {"t": at})
        upgrade(empty_url)
        by_source = sa.text(claim.format(extra=", source", value=", :s"))
        with engine.begin() as conn:
            conn.execute(by_source, {"t": at, "s": "branch_office"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(by_source, {"t": at, "s": "branch_office"})
        sources = sa.text("SELECT source FROM metric_collection_claims ORDER BY source")
        with engine.connect() as conn:
            assert conn.execute(sources).scalars().all() == ["branch_office", "default"]
        downgrade(empty_url, "20261205_catalogue_series")
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM metric_collection_claims"))
            assert count.scalar_one() == 1
        upgrade(empty_url)
    finally:
        engine.dispose()

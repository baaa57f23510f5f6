"""Backup and restore of the two metric tables with pg_dump/psql (README "Backup").

The README's procedure: ``pg_dump --data-only -t metric_snapshots -t
metric_collection_failures`` from the running store; on the new database
``admin-metrics db upgrade`` then ``psql -v ON_ERROR_STOP=1 -1 -f``. The API of the
restored store returns the same series, and new collections continue without id clashes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.migrate import upgrade
from db.models import MetricCollectionFailure, MetricSnapshot
from tests.support import create_user, login


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string for pg_dump/psql."""
    return (
        sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def _tool(name: str) -> str:
    for candidate in (f"/usr/lib/postgresql/15/bin/{name}", shutil.which(name)):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"{name} not found (install postgresql-15)")


def _fill(url: str, now: datetime) -> None:
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            for hour in range(48):
                slot = now - timedelta(hours=48 - hour)
                if hour in (10, 11, 45):  # gaps; the failure below is the slot of hour 45
                    continue
                for i, metric in enumerate(METRIC_IDS):
                    session.add(
                        MetricSnapshot(
                            metric_type=metric,
                            value=1000 * i + hour * 7,
                            granularity="hourly",
                            collected_at=slot,
                        )
                    )
            session.add(
                MetricCollectionFailure(
                    metric_type="active_users",
                    granularity="hourly",
                    attempted_at=now - timedelta(hours=3),
                    error_message="원본 데이터베이스에 연결할 수 없습니다",
                )
            )
    finally:
        engine.dispose()


def _series(url: str, make_settings: Callable[..., Any], now: datetime) -> list[Any]:
    from dashboard.app import create_app
    from dashboard.context import get_context

    create_user(url, "backup-admin")
    app = create_app(make_settings(database_url=url))
    try:
        client = app.test_client()
        assert login(client, "backup-admin").status_code == 302
        out = []
        for metric in METRIC_IDS:
            response = client.get(
                "/api/v1/metrics/timeseries",
                query_string={
                    "metric_type": metric,
                    "granularity": "hourly",
                    "start_date": (now - timedelta(days=3)).isoformat(),
                    "end_date": now.isoformat(),
                },
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            out.append(response.get_json()["data"])
        status = client.get("/api/v1/metrics/status").get_json()
        out.append([(f["metric_type"], f["error_message"]) for f in status["recent_failures"]])
        return out
    finally:
        get_context(app).engine.dispose()


def test_metric_tables_survive_pg_dump_and_restore(
    pg_url: str, empty_pg_url: str, make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _fill(pg_url, now)
    dump = tmp_path / "metrics_backup.sql"
    subprocess.run(
        [
            _tool("pg_dump"),
            "--data-only",
            "-t",
            "metric_snapshots",
            "-t",
            "metric_collection_failures",
            "-f",
            str(dump),
            _libpq(pg_url),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = dump.read_text()
    assert "COPY public.metric_snapshots" in text
    assert "COPY public.metric_collection_failures" in text
    assert "admin_users" not in text, "only the two metric tables"

    # A new deployment: migrate, then load the data in one transaction.
    upgrade(empty_pg_url)
    subprocess.run(
        [_tool("psql"), "-v", "ON_ERROR_STOP=1", "-1", "-q", "-f", str(dump), _libpq(empty_pg_url)],
        check=True,
        capture_output=True,
        timeout=120,
    )

    original = _series(pg_url, make_settings, now)
    restored = _series(empty_pg_url, make_settings, now)
    assert restored == original
    assert len(original[0]) == 45 and original[-1], "the series and the failure came across"

    # Collection continues on the restored store: the id sequences came along.
    engine = make_engine(empty_pg_url)
    try:
        with session_scope(session_factory(engine)) as session:
            session.add(
                MetricSnapshot(
                    metric_type="tag_count", value=1, granularity="hourly", collected_at=now
                )
            )
            session.add(
                MetricCollectionFailure(
                    metric_type="tag_count",
                    granularity="hourly",
                    attempted_at=now,
                    error_message="x",
                )
            )
    finally:
        engine.dispose()

#!/usr/bin/env python
"""Benchmark ``GET /api/v1/metrics/timeseries`` against a bare psycopg fetch of the same rows.

A throw-away PostgreSQL 15 server is started and filled with 365 days of hourly and daily
snapshots for all six metrics (retention raised to 400 days for the run); the real server
(``admin-metrics serve``, gunicorn, one worker) answers over HTTP with a bearer token
(gzip accepted, as ``requests`` does). For each case the same rows are also fetched with a
plain psycopg cursor on a warm connection — the floor any API call stands on.

Usage: .venv/bin/python scripts/bench_api.py [--repeat N]
Prints markdown rows for the README's ``## Benchmarks`` table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
import requests  # noqa: E402
from benchlib import (  # noqa: E402 (scripts/, beside this file)
    history_rows,
    p95,
    start_server,
    stop_server,
    timed,
)
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from db.accounts import create_api_token, set_admin_password  # noqa: E402
from db.engine import make_engine, session_factory, session_scope  # noqa: E402
from db.metrics import METRIC_IDS  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import MetricSnapshot  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DAYS = 365
CASES = (
    ("7 d hourly", "hourly", 7),
    ("30 d hourly", "hourly", 30),
    ("90 d daily", "daily", 90),
    ("365 d hourly", "hourly", 365),
)
BARE_SQL = (
    "SELECT collected_at, value FROM metric_snapshots "
    "WHERE metric_type = %s AND granularity = %s AND collected_at >= %s AND collected_at <= %s "
    "ORDER BY collected_at"
)


def seed(url: str) -> str:
    """A year of hourly and daily rows for all metrics, an admin and a token (returned)."""
    upgrade(url)
    engine = make_engine(url)
    rows = history_rows(END, hourly_days=DAYS, daily_days=DAYS)
    try:
        with session_scope(session_factory(engine)) as session:
            session.execute(insert(MetricSnapshot), rows)
            set_admin_password(session, "bench", "bench-password-123")
            session.flush()
            token = create_api_token(session, "bench", "bench")
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE metric_snapshots")
            conn.commit()
    finally:
        engine.dispose()
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    pg = PgServer().start()
    proc = None
    try:
        with psycopg.connect(pg.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute("CREATE DATABASE bench_api")
        url = pg.url("bench_api")
        token = seed(url)
        workdir = Path(tempfile.mkdtemp(prefix="amh-bench-api-"))
        proc, base, _log = start_server(
            workdir,
            {
                "DATABASE_URL": url,
                "METRICS_HOURLY_RETENTION_DAYS": "400",
                "METRICS_DAILY_RETENTION_DAYS": "400",
                "LOG_LEVEL": "WARNING",
            },
        )
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        results = []
        with psycopg.connect(plain) as conn:
            for label, granularity, days in CASES:
                start, end = END - timedelta(days=days), END
                params = {
                    "metric_type": "active_users",
                    "granularity": granularity,
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                }
                first = http.get(base + "api/v1/metrics/timeseries", params=params, timeout=30)
                first.raise_for_status()
                body = first.json()

                def call(params: dict[str, str] = params) -> None:
                    response = http.get(
                        base + "api/v1/metrics/timeseries", params=params, timeout=30
                    )
                    assert response.status_code == 200, response.text

                def bare(
                    start: datetime = start, end: datetime = end, g: str = granularity
                ) -> None:
                    with conn.cursor() as cur:
                        cur.execute(BARE_SQL, ("active_users", g, start, end))
                        cur.fetchall()
                    conn.commit()

                api_ms = timed(call, args.repeat, warmup=10)
                bare_ms = timed(bare, args.repeat, warmup=10)
                results.append((label, body, api_ms, bare_ms))
        # The fixed cost of any request, for context: HTTP + gunicorn + Flask + ``SELECT 1``
        # without sign-in, and the token sign-in plus the smallest query.
        floors = [
            ("`/healthz` (no sign-in, `SELECT 1`)", base + "healthz"),
            (
                "`/api/v1/metrics/current` (token sign-in + 1 small query)",
                base + "api/v1/metrics/current",
            ),
        ]
        floor_ms = [
            (label, timed(lambda u=u: http.get(u, timeout=30), args.repeat, warmup=10))
            for label, u in floors
        ]
        print(
            f"\nPostgreSQL 15, {len(METRIC_IDS)} metrics x {DAYS} d hourly + daily in the table; "
            f"{args.repeat} requests per case over HTTP (gunicorn, 1 worker, bearer token, gzip)\n"
        )
        print("| what | target | measured |")
        print("|---|---|---|")
        for label, body, api_ms, bare_ms in results:
            ratio = p95(api_ms) / p95(bare_ms)
            print(
                f"| API `/metrics/timeseries` {label} ({body['total_points']} rows → "
                f"{len(body['data'])} points) | p95 < 50 ms, ≤ 3× bare fetch | "
                f"p50 {statistics.median(api_ms):.1f} ms, p95 {p95(api_ms):.1f} ms; bare psycopg "
                f"p50 {statistics.median(bare_ms):.2f} ms, p95 {p95(bare_ms):.2f} ms "
                f"(p95 ratio {ratio:.1f}×) |"
            )
        for label, times in floor_ms:
            print(
                f"| request floor: {label} | — | p50 {statistics.median(times):.1f} ms, "
                f"p95 {p95(times):.1f} ms |"
            )
    finally:
        if proc is not None:
            stop_server(proc)
        pg.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Concurrency benchmark (README "Benchmarks"): N clients on loopback against a real
``admin-metrics serve`` (gunicorn, ``--workers``) on PostgreSQL with 30 days hourly / 90 days
daily of history.

1. A small authenticated API call (7 d hourly ``/api/v1/metrics/timeseries``, bearer
   token) against ``/healthz`` in the same run, one client: p50 of each and their ratio.
   Target: API p50 ≤ 1.5 × /healthz p50.
2. ``--clients`` signed-in clients (default 20) each sending ``--requests`` range-change
   callbacks (the POST that redraws six graphs), cycling through four ranges, all at once;
   answers compressed as a browser asks (``Accept-Encoding: br, gzip``). Target: p95 ≤ 500 ms,
   0 errors. The same for the API call.

Bounded: a fixed number of threads and requests, every request with a timeout.
Usage: ``.venv/bin/python scripts/bench_concurrency.py [--clients 20] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from tests.support import (  # noqa: E402
    create_user,
    http_login,
    render_request,
    seed_history,
    start_live_server,
    stop_live_server,
)

SEARCHES = (
    "?range=7&granularity=hourly",
    "?range=30&granularity=hourly",
    "?range=90&granularity=daily",
    "?range=30&granularity=hourly&compare=previous",
)
API_SMALL = "api/v1/metrics/timeseries?metric_type=active_users&granularity=hourly"
ENCODING = {"Accept-Encoding": "br, gzip"}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float], errors: int) -> str:
    return (
        f"p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms, "
        f"{errors} errors (n={len(samples) + errors})"
    )


def make_token(pg_url: str) -> str:
    from db.accounts import create_api_token
    from db.engine import store_session

    with store_session(pg_url) as session:
        return create_api_token(session, "bench", "admin")


def alternating(base: str, calls: dict[str, dict[str, str]], runs: int) -> list[list[float]]:
    """Milliseconds of ``runs`` calls of each path, one client on one connection, the paths
    taking turns (so a change in the machine's load meanwhile touches them alike)."""
    session = requests.Session()
    samples: list[list[float]] = [[] for _ in calls]
    for i in range(runs + 10):
        for (path, headers), own in zip(calls.items(), samples, strict=True):
            started = time.perf_counter()
            response = session.get(base + path, headers=headers, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code, response.text[:200])
            if i >= 10:  # warm-up: connection, caches
                own.append(elapsed)
    return samples


def concurrent(
    clients: int, per_client: int, make: object, send: object
) -> tuple[list[float], int]:
    """``make()`` → per-client state (signed in before the clock starts); ``send(state, i)``
    → one response. All clients start together."""
    states = [make() for _ in range(clients)]  # type: ignore[operator]
    samples: list[float] = []
    errors = [0]
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def run(state: object) -> None:
        gate.wait()
        for i in range(per_client):
            started = time.perf_counter()
            try:
                response = send(state, i)  # type: ignore[operator]
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    samples.append(elapsed)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=run, args=(s,)) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return samples, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=10, help="per client")
    parser.add_argument("--runs", type=int, default=500, help="sequential API/healthz calls")
    args = parser.parse_args()

    server = PgServer().start()
    work = Path(tempfile.mkdtemp(prefix="amh-bench-conc-"))
    live = None
    rows: list[tuple[str, str, str]] = []
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE "amh_conc"'))
        engine.dispose()
        pg_url = server.url("amh_conc")
        upgrade(pg_url)
        seed_history(pg_url, hourly_days=30, daily_days=90)
        create_user(pg_url, "admin")
        token = make_token(pg_url)
        live = start_live_server({"DATABASE_URL": pg_url}, work, workers=args.workers, timeout=180)
        base = live.url
        bearer = {"Authorization": f"Bearer {token}", **ENCODING}

        health, api = alternating(base, {"healthz": ENCODING, API_SMALL: bearer}, args.runs)
        ratio = statistics.median(api) / statistics.median(health)
        rows.append(("GET /healthz, one client", "—", summary(health, 0)))
        rows.append(
            (
                "small authenticated API call (7 d hourly, bearer token), one client",
                "p50 ≤ 1.5 × /healthz",
                f"{summary(api, 0)}; {ratio:.2f} × /healthz p50",
            )
        )
        print(rows[-2:], flush=True)

        first = requests.Session()
        assert http_login(first, base, "admin").status_code == 302
        deps = first.get(base + "admin/metrics/_dash-dependencies", timeout=30).json()
        bodies = [render_request(deps, search=s) for s in SEARCHES]

        def signed_in() -> requests.Session:
            session = requests.Session()
            session.headers.update(ENCODING)
            assert http_login(session, base, "admin").status_code == 302
            return session

        def callback(session: requests.Session, i: int) -> requests.Response:
            return session.post(
                base + "admin/metrics/_dash-update-component", json=bodies[i % 4], timeout=60
            )

        samples, errors = concurrent(args.clients, args.requests, signed_in, callback)
        rows.append(
            (
                f"range-change callback, {args.clients} concurrent clients, "
                f"{args.workers} workers (4 ranges, PostgreSQL)",
                "p95 ≤ 500 ms, 0 errors",
                summary(samples, errors),
            )
        )
        print(rows[-1], flush=True)

        def api_client() -> requests.Session:
            session = requests.Session()
            session.headers.update(bearer)
            return session

        def api_call(session: requests.Session, _i: int) -> requests.Response:
            return session.get(base + API_SMALL, timeout=60)

        samples, errors = concurrent(args.clients, args.requests * 3, api_client, api_call)
        rows.append(
            (
                f"small API call, {args.clients} concurrent clients, {args.workers} workers",
                "0 errors",
                summary(samples, errors),
            )
        )
        print(rows[-1], flush=True)
    finally:
        if live is not None:
            stop_live_server(live)
        server.stop()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nload average (1/5/15 min) at the end: {load}; {os.cpu_count()} CPUs")
    print("\n| what | target | measured |\n|---|---|---|")
    for what, target, measured in rows:
        print(f"| {what} | {target} | {measured} |")


if __name__ == "__main__":
    main()

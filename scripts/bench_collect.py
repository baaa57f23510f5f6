#!/usr/bin/env python
"""Benchmark: collection of a large PostgreSQL source vs the sum of the same raw queries.

Builds (with generate_series) an LLM-web-app source of ≈ 50 k users, 200 k sessions (half
live), 2 M conversations, 1 M documents and 50 k tags, then times
  * raw: each default query alone on a plain autocommit connection (summed), and
  * collection: ``read_source`` (all six in one read-only REPEATABLE READ snapshot) and the
    whole ``collect_slot`` (snapshot + idempotent six-row insert into the store).
Target: collection < 1 s and ≤ 1.2 × raw. Medians of several warm runs.

Usage: scripts/bench_collect.py [--admin-url postgresql://…/postgres] [--runs 7]
Without --admin-url a throw-away PostgreSQL server is started (tests/pgserver.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.registry import DEFAULT_QUERIES  # noqa: E402
from collectors.runner import collect_slot  # noqa: E402
from collectors.source import make_source_engine, read_source  # noqa: E402
from db.engine import make_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402

BUILD = """
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
                       token text NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE conversations (id bigserial PRIMARY KEY, user_id bigint NOT NULL,
                            title text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE documents (id bigserial PRIMARY KEY, user_id bigint NOT NULL,
                        filename text NOT NULL, file_size bigint NOT NULL);
CREATE TABLE tags (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO users (email) SELECT 'user' || g || '@example.org' FROM generate_series(1, 50000) g;
INSERT INTO sessions (user_id, token, expires_at)
  SELECT 1 + (g * 7919) % 50000, md5(g::text),
         now() + ((g % 2) * 2 - 1) * (interval '1 minute' * (1 + g % 600))
  FROM generate_series(1, 200000) g;
INSERT INTO conversations (user_id, title, created_at)
  SELECT 1 + g % 50000, 'conversation ' || g, now() - interval '1 second' * g
  FROM generate_series(1, 2000000) g;
INSERT INTO documents (user_id, filename, file_size)
  SELECT 1 + g % 50000, 'doc' || g || '.pdf', 1000 + (g::bigint * 104729) % 5000000
  FROM generate_series(1, 1000000) g;
INSERT INTO tags (name) SELECT 'tag' || g FROM generate_series(1, 50000) g;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX conversations_user_id ON conversations (user_id);
CREATE INDEX documents_user_id ON documents (user_id);
"""


def build_source(admin_url: str) -> tuple[str, str]:
    admin = make_engine(admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    names = (f"bench_src_{uuid.uuid4().hex[:8]}", f"bench_store_{uuid.uuid4().hex[:8]}")
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    source_url, store_url = (
        sa.engine.make_url(admin_url).set(database=n).render_as_string(hide_password=False)
        for n in names
    )
    engine = make_engine(source_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection  # no placeholder parsing of the % operators
        for statement in filter(str.strip, BUILD.split(";")):
            raw.execute(statement)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # as a live database would be (autovacuum)
    engine.dispose()
    upgrade(store_url)
    return source_url, store_url


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(admin_url: str, runs: int) -> None:
    t0 = time.perf_counter()
    source_url, store_url = build_source(admin_url)
    print(f"source built in {time.perf_counter() - t0:.1f} s")
    source = make_source_engine(source_url)
    store = make_engine(store_url)
    sessions = session_factory(store)
    raw_engine = make_engine(source_url, isolation_level="AUTOCOMMIT")
    now = datetime.now(UTC)
    try:
        per_query: dict[str, list[float]] = {m: [] for m in DEFAULT_QUERIES}
        raw_sum: list[float] = []
        snapshot: list[float] = []
        full: list[float] = []
        for i in range(runs + 1):  # the first round warms caches and is discarded
            total = 0.0
            with raw_engine.connect() as conn:
                for metric, sql in DEFAULT_QUERIES.items():
                    start = time.perf_counter()
                    conn.execute(sa.text(sql), {"now": now} if ":now" in sql else {}).scalar()
                    took = time.perf_counter() - start
                    total += took
                    if i:
                        per_query[metric].append(took)
            start = time.perf_counter()
            values = read_source(source, DEFAULT_QUERIES, now, 30_000)
            took_snapshot = time.perf_counter() - start
            start = time.perf_counter()
            result = collect_slot(
                sessions, source, DEFAULT_QUERIES, now + timedelta(hours=i), timeout_ms=30_000
            )
            took_full = time.perf_counter() - start
            assert result.ok, result.error
            if i:
                raw_sum.append(total)
                snapshot.append(took_snapshot)
                full.append(took_full)
        print("values:", values)
        for metric, samples in per_query.items():
            print(f"  raw {metric:<20} {median_ms(samples):8.1f} ms")
        raw, snap, whole = median_ms(raw_sum), median_ms(snapshot), median_ms(full)
        print(f"raw queries, sum            {raw:8.1f} ms")
        print(f"read_source (one snapshot)  {snap:8.1f} ms  ({snap / raw:.2f}× raw)")
        print(f"collect_slot (with insert)  {whole:8.1f} ms  ({whole / raw:.2f}× raw)")
        met = whole < 1000 and whole <= 1.2 * raw
        print(f"target < 1000 ms and ≤ 1.2× raw: {'met' if met else 'NOT met'}")
    finally:
        source.dispose()
        store.dispose()
        raw_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", help="PostgreSQL URL with CREATE DATABASE rights")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.admin_url:
        run(args.admin_url, args.runs)
        return
    from tests.pgserver import PgServer

    server = PgServer().start()
    try:
        run(server.admin_url, args.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark: how long the faults of a source and of the leader take to be dealt with.

1. **Hang → recorded failure.** A PostgreSQL source behind a loopback TCP relay
   (``tests/relay.py``) that stops forwarding bytes at the sixth query of a collection; the
   connections stay open, so the client gets silence, not an error. Measured: from the hang to
   the slot's failure rows committed (``collect_slot`` returning), per deadline
   (``METRICS_COLLECTION_DEADLINE_SECONDS``). Target: ≤ the deadline + 1 s.
2. **kill -9 of the leader mid-collection.** ``admin-metrics serve`` with 2 workers on a
   PostgreSQL store, a replaced ``tag_count`` query that sleeps 2 s, test slots of 20 s (grace
   10 s). While the leading worker collects, it is killed with SIGKILL. Measured: from the kill
   to the scheduler lock held by another backend (``pg_locks``), and to the slot being
   finished by the new leader (``stored``, or ``stopped`` had the grace passed). Target:
   ≤ 5 s to the lock, the slot stored.

Usage: .venv/bin/python scripts/bench_faults.py [--deadlines 10 30] [--kills 3]
Prints markdown rows for the README's ``## Benchmarks`` table.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from benchlib import start_server, stop_server  # noqa: E402 (scripts/, beside this file)
from sqlalchemy.engine import make_url  # noqa: E402

from collectors.registry import DEFAULT_QUERIES  # noqa: E402
from collectors.runner import CollectionBudget, collect_slot  # noqa: E402
from collectors.source import make_source_engine  # noqa: E402
from db.engine import make_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from tests.relay import TcpRelay  # noqa: E402
from tests.support import create_source_tables  # noqa: E402

SLOT_SECONDS = 20


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(pg: PgServer, name: str) -> str:
    with psycopg.connect(plain(pg.url("postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.url(name)


def hang_to_failure(store_url: str, source_url: str, deadline: float, slot: datetime) -> float:
    """Seconds from the relay's hang to the failure rows committed."""
    target = make_url(source_url)
    relay = TcpRelay(target.host or "127.0.0.1", target.port or 5432).start()
    budget = CollectionBudget(deadline)
    relayed = target.set(port=relay.port).render_as_string(hide_password=False)
    source = make_source_engine(relayed, connect_timeout=budget.nominal_attempt_seconds)
    store = make_engine(store_url)
    try:
        relay.hang_on(b"FROM tags")
        result = collect_slot(session_factory(store), source, DEFAULT_QUERIES, slot, budget=budget)
        recorded = time.monotonic()
        assert not result.ok and relay.hung_at is not None, result
        return recorded - relay.hung_at
    finally:
        source.dispose()
        store.dispose()
        relay.close()


def lock_holder(conn: psycopg.Connection) -> int | None:
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return int(row[0]) if row else None


def running_claim(conn: psycopg.Connection) -> tuple[datetime, str] | None:
    row = conn.execute(
        "SELECT slot, owner FROM metric_collection_claims WHERE outcome IS NULL "
        "ORDER BY slot DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def poll(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def kill_and_take_over(store_url: str, source_url: str, workdir: Path, kills: int) -> list[dict]:
    slow = workdir / "slow-queries.toml"
    slow.write_text('tag_count = "SELECT count(*) FROM tags, pg_sleep(2)"\n', encoding="utf-8")
    proc, _base, log = start_server(
        workdir,
        {
            "DATABASE_URL": store_url,
            "SOURCE_DATABASE_URL": source_url,
            "SOURCE_QUERIES_FILE": str(slow),
            "METRICS_COLLECTION_ENABLED": "true",
            "METRICS_TEST_SLOT_SECONDS": str(SLOT_SECONDS),
            "METRICS_COLLECTION_DEADLINE_SECONDS": "15",
        },
        workers=2,
    )
    results = []
    try:
        with psycopg.connect(plain(store_url), autocommit=True) as conn:
            for _ in range(kills):
                slot, owner = poll(lambda: running_claim(conn), 3 * SLOT_SECONDS, "a collection")
                holder = lock_holder(conn)
                os.kill(int(owner.split(":")[1]), signal.SIGKILL)
                killed = time.monotonic()
                poll(
                    lambda h=holder: lock_holder(conn) not in (None, h),
                    30,
                    "another lock holder",
                )
                locked = time.monotonic()

                def finished(s: datetime = slot) -> str | None:
                    row = conn.execute(
                        "SELECT outcome FROM metric_collection_claims WHERE slot = %s", (s,)
                    ).fetchone()
                    return row[0] if row and row[0] else None

                outcome = poll(finished, 30, "the slot finished")
                done = time.monotonic()
                slot_age = (datetime.now(UTC) - slot).total_seconds()
                results.append(
                    {
                        "lock_s": locked - killed,
                        "finished_s": done - killed,
                        "outcome": outcome,
                        "slot_age_s": slot_age,
                    }
                )
                print(
                    f"  kill -9 → lock {locked - killed:.2f} s, slot {outcome} "
                    f"{done - killed:.2f} s after the kill ({slot_age:.1f} s after the slot)"
                )
                # Leave the slot that was taken over before waiting for the next collection.
                poll(lambda s=slot: (running_claim(conn) or (s,))[0] != s, 60, "the next slot")
    except Exception:
        print(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop_server(proc)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", type=float, nargs="+", default=[10.0, 30.0])
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()

    pg = PgServer().start()
    try:
        source = create_database(pg, "bench_source")
        create_source_tables(source)
        hangs = []
        store = create_database(pg, "bench_store_hang")
        upgrade(store)
        for index, deadline in enumerate(args.deadlines):
            slot = datetime(2026, 1, 1, index, tzinfo=UTC)
            seconds = hang_to_failure(store, source, deadline, slot)
            hangs.append((deadline, seconds))
            print(f"  deadline {deadline:.0f} s: hang → failure rows {seconds:.2f} s")
        store = create_database(pg, "bench_store_kill")  # a deployment of its own
        upgrade(store)
        workdir = Path(tempfile.mkdtemp(prefix="amh-bench-faults-"))
        kills = kill_and_take_over(store, source, workdir, args.kills)
    finally:
        pg.stop()

    print("\n| what | target | measured |")
    print("|---|---|---|")
    for deadline, seconds in hangs:
        print(
            f"| source hang → failure recorded (relay stops forwarding at the 6th query; "
            f"`METRICS_COLLECTION_DEADLINE_SECONDS={deadline:.0f}`) | ≤ {deadline + 1:.0f} s "
            f"| {seconds:.2f} s |"
        )
    locks = [k["lock_s"] for k in kills]
    finished = [k["finished_s"] for k in kills]
    outcomes = ", ".join(k["outcome"] for k in kills)
    print(
        f"| kill -9 of the leading worker mid-collection ({len(kills)} kills, 2 workers) → "
        f"lock held by another | ≤ 5 s | median {statistics.median(locks):.2f} s, "
        f"max {max(locks):.2f} s |"
    )
    print(
        f"| … → the slot in flight finished by the new leader | stored inside the grace "
        f"| {outcomes}; median {statistics.median(finished):.2f} s, max {max(finished):.2f} s "
        f"after the kill |"
    )


if __name__ == "__main__":
    main()

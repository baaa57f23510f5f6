"""Reading the source database: one read-only, consistent transaction for all six values.

PostgreSQL: ``REPEATABLE READ, READ ONLY`` with a ``statement_timeout`` and UTC session time
zone. SQLite (the demo source): ``PRAGMA query_only`` plus one explicit read transaction (a
single snapshot), with a progress handler enforcing the same timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from collectors.errors import CollectionError
from db.engine import make_engine, normalise_url
from db.metrics import METRICS_BY_ID

# SQLite timestamps in the demo source are stored as this text form (UTC, sortable).
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def make_source_engine(url: str) -> Engine:
    """An engine for the source that can only read."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and "mode" not in parsed.query:
            # Opened read-only: a missing source file is an error, never created empty.
            path = Path(parsed.database).resolve()
            parsed = parsed.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 30})

        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")

        event.listen(engine, "connect", _read_only)
        return engine
    return make_engine(url, pool_size=1)


def bind_now(engine: Engine, now: datetime) -> object:
    """The collection instant in the form the source compares its timestamps with."""
    now = now.astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return now.strftime(SQLITE_TIMESTAMP_FORMAT)
    return now


@contextmanager
def read_only_snapshot(engine: Engine, timeout_ms: int) -> Iterator[Connection]:
    """A connection inside one read-only transaction with a statement timeout."""
    if engine.dialect.name == "postgresql":
        with (
            engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            ) as conn,
            conn.begin(),
        ):
            conn.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(timeout_ms)},
            )
            conn.execute(text("SELECT set_config('TimeZone', 'UTC', true)"))
            yield conn
        return
    with engine.connect() as conn, conn.begin():
        raw: Any = conn.connection.driver_connection
        deadline = time.monotonic() + timeout_ms / 1000
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            conn.exec_driver_sql("BEGIN")  # one snapshot for every statement below
            yield conn
        finally:
            raw.set_progress_handler(None, 0)


def as_count(metric_id: str, rows: list[Any]) -> int:
    """The single non-negative integer a metric query must return, else a permanent error."""
    name = METRICS_BY_ID[metric_id].name_ko
    if len(rows) != 1 or len(rows[0]) != 1:
        shape = f"{len(rows)}행" if len(rows) != 1 else f"{len(rows[0])}열"
        raise CollectionError(
            f"{name}({metric_id}) 쿼리가 값 하나가 아닌 결과를 반환함 ({shape})",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned {len(rows)} row(s) of {len(rows[0]) if rows else 0} column(s), "
            "not one value",
        )
    value = rows[0][0]
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CollectionError(
            f"{name}({metric_id}) 쿼리 결과가 정수가 아님: {value!r}",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned {value!r}, not an integer",
        )
    if value < 0:
        raise CollectionError(
            f"{name}({metric_id}) 쿼리 결과가 음수임: {value}",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned a negative number ({value})",
        )
    return value


def _db_error_text(exc: SQLAlchemyError) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return " ".join(str(orig).split())[:300]


@lru_cache(maxsize=64)
def _statement(sql: str) -> tuple[TextClause, bool]:
    """The compiled-once statement and whether it takes ``:now``."""
    stmt = text(sql)
    return stmt, "now" in stmt.compile().params


def run_queries(conn: Connection, queries: Mapping[str, str], now: object) -> dict[str, int]:
    """Run each metric query on an open snapshot; the first failure names its metric."""
    values: dict[str, int] = {}
    for metric_id, sql in queries.items():
        stmt, uses_now = _statement(sql)
        params = {"now": now} if uses_now else {}
        try:
            rows = list(conn.execute(stmt, params))
        except SQLAlchemyError as exc:
            name = METRICS_BY_ID[metric_id].name_ko
            detail = _db_error_text(exc)
            raise CollectionError(
                f"{name}({metric_id}) 소스 쿼리 오류: {detail}",
                metric_id=metric_id,
                reason=f"the source rejected the query: {detail}",
            ) from exc
        values[metric_id] = as_count(metric_id, rows)
    return values


def read_source(
    engine: Engine, queries: Mapping[str, str], now: datetime, timeout_ms: int
) -> dict[str, int]:
    """All metric values as of ``now`` from one read-only snapshot of the source."""
    try:
        with read_only_snapshot(engine, timeout_ms) as conn:
            return run_queries(conn, queries, bind_now(engine, now))
    except CollectionError:
        raise
    except SQLAlchemyError as exc:
        raise CollectionError(f"소스 데이터베이스 연결 실패: {_db_error_text(exc)}") from exc

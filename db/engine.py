"""Engine construction for the store and the (read-only) source database."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

# A store that cannot be reached (down, restarting, pool exhausted): a 503 on the web, one
# log line, not a bug.
STORE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
)


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, **kwargs: Any) -> Engine:
    """Create an engine with sane defaults for either backend."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.get("poolclass") is NullPool:
        return create_engine(url, **kwargs)
    return create_engine(url, pool_size=pool_size, max_overflow=10, **kwargs)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the web process read while the scheduler writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def driver_rows(
    conn: Connection, statement: Executable, params: Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """``conn.execute(statement, params).all()`` as plain tuples, for the reads on every API
    call (the token check, a series).

    On PostgreSQL the statement, compiled once, runs on psycopg's own connection: SQLAlchemy's
    per-call execution context and a ``Row`` per row were a third of a small API call. What
    callers and tests rely on stays: the ``before/after_cursor_execute`` listeners run, and
    errors are SQLAlchemy's (a store that went away: ``OperationalError``, the connection
    invalidated). Only for statements whose binds and columns need no type processing on
    PostgreSQL (``UTCDateTime`` binds an aware datetime as it is and psycopg returns aware
    ones). Other dialects take the usual path.
    """
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, params).all()
    sql, defaults = _compiled(statement, conn.dialect)
    values = {**defaults, **params}
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            for before in conn.dispatch.before_cursor_execute:
                before(conn, cursor, sql, values, None, False)
            rows: list[tuple[Any, ...]] = cursor.execute(sql, values).fetchall()
            for after in conn.dispatch.after_cursor_execute:
                after(conn, cursor, sql, values, None, False)
            return rows
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, values, exc, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from None


@functools.lru_cache(maxsize=32)
def _compiled(statement: Executable, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The SQL of ``statement`` for ``dialect`` and its literals' values (the other
    parameters are the caller's: one left out is an error, not a NULL)."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    return compiled.string, {k: v for k, v in compiled.params.items() if v is not None}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def store_session(url: str) -> Iterator[Session]:
    """A committed session on a short-lived engine that is disposed afterwards: one
    command-line verb's whole use of the store."""
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()

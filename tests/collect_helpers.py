"""Helpers for the collection tests: an LLM-web-app-shaped source the test fills itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.source import SQLITE_TIMESTAMP_FORMAT
from db.engine import make_engine

SOURCE_SCHEMA = (
    "CREATE TABLE users (id {pk}, name VARCHAR(50))",
    "CREATE TABLE sessions (id {pk}, user_id INTEGER, expires_at {ts})",
    "CREATE TABLE conversations (id {pk}, title VARCHAR(50))",
    "CREATE TABLE documents (id {pk}, file_size BIGINT)",
    "CREATE TABLE tags (id {pk}, name VARCHAR(50))",
)


def source_url_for(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A separate, empty source database on the store's backend, with the app's tables."""
    if store_url.startswith("postgresql"):
        url: str = request.getfixturevalue("empty_pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'source.db'}"
    create_source_tables(url)
    return url


def create_source_tables(url: str) -> None:
    """The LLM web app's tables (empty) in the database ``url``."""
    if url.startswith("postgresql"):
        ts, pk = "TIMESTAMPTZ", "SERIAL PRIMARY KEY"
    else:
        ts, pk = "TEXT", "INTEGER PRIMARY KEY"  # SQLite sources keep UTC text timestamps
    run_sql(url, [sql.format(ts=ts, pk=pk) for sql in SOURCE_SCHEMA])


def run_sql(
    url: str, statements: Iterable[str], params: list[dict[str, object]] | None = None
) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql), params or {})
    finally:
        engine.dispose()


def stamp(url: str, when: datetime) -> object:
    """A timestamp in the source's representation."""
    if url.startswith("sqlite"):
        return when.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)
    return when


def fill_source(
    url: str,
    now: datetime,
    *,
    users: int,
    live_sessions: list[int],
    expired_sessions: list[int],
    conversations: int,
    file_sizes: list[int],
    tags: int,
) -> None:
    """Rows with ids; sessions given by their user ids (live: expire after ``now``)."""
    from datetime import timedelta

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for i in range(users):
                conn.execute(sa.text("INSERT INTO users (name) VALUES (:n)"), {"n": f"u{i}"})
            for user_id, delta in [(u, 1) for u in live_sessions] + [
                (u, -1) for u in expired_sessions
            ]:
                conn.execute(
                    sa.text("INSERT INTO sessions (user_id, expires_at) VALUES (:u, :e)"),
                    {"u": user_id, "e": stamp(url, now + timedelta(hours=delta))},
                )
            for i in range(conversations):
                conn.execute(
                    sa.text("INSERT INTO conversations (title) VALUES (:t)"), {"t": f"c{i}"}
                )
            for size in file_sizes:
                conn.execute(sa.text("INSERT INTO documents (file_size) VALUES (:s)"), {"s": size})
            for i in range(tags):
                conn.execute(sa.text("INSERT INTO tags (name) VALUES (:n)"), {"n": f"t{i}"})
    finally:
        engine.dispose()

"""``db.engine.driver_rows``: the API's hot reads on psycopg's own connection give the same
rows as SQLAlchemy's path, fire the same listeners, and fail with SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from db.engine import driver_rows, make_engine
from db.queries import _series_statement
from tests.support import seed_history


@pytest.mark.parametrize("granularity", ["hourly", "daily"])
def test_the_same_rows_as_sqlalchemys_path(store_url: str, granularity: str) -> None:
    seed_history(store_url, hourly_days=3, daily_days=10)
    engine = make_engine(store_url)
    end = datetime.now(UTC) + timedelta(hours=1)
    params = {
        "metric_type": "active_users",
        "source": "default",
        "label": "",
        "granularity": granularity,
        "start": end - timedelta(days=10),
        "end": end,
    }
    statement = _series_statement(engine.dialect.name)
    try:
        with engine.connect() as conn:
            expected = [tuple(row) for row in conn.execute(statement, params).all()]
            got = [tuple(row) for row in driver_rows(conn, statement, params)]
    finally:
        engine.dispose()
    assert len(expected) > 3
    assert got == expected


def test_listeners_see_each_statement(pg_url: str) -> None:
    engine = make_engine(pg_url)
    seen: list[tuple[str, str]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(("before", a[2])))
    sa.event.listen(engine, "after_cursor_execute", lambda *a: seen.append(("after", a[2])))
    try:
        with engine.connect() as conn:
            rows = driver_rows(conn, sa.select(sa.literal(7).label("n")), {})
    finally:
        engine.dispose()
    assert rows == [(7,)]
    assert [when for when, _ in seen] == ["before", "after"]
    assert seen[0][1].startswith("SELECT")


def test_a_missing_parameter_is_an_error_not_a_null(pg_url: str) -> None:
    engine = make_engine(pg_url)
    statement = sa.select(sa.literal(1)).where(sa.bindparam("x", type_=sa.Integer) > 0)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError):
            driver_rows(conn, statement, {})
    finally:
        engine.dispose()


def test_a_lost_connection_is_sqlalchemys_error_and_invalidated(pg_url: str) -> None:
    """The server ends the backend (as a restart does): the caller gets OperationalError (a
    503 on the web, never a 500) and the pool does not hand the dead connection out again."""
    engine = make_engine(pg_url)
    admin = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(sa.exc.OperationalError) as caught:
                driver_rows(conn, sa.select(sa.literal(1)), {})
            assert caught.value.connection_invalidated
            assert conn.invalidated
        with engine.connect() as fresh:
            assert driver_rows(fresh, sa.select(sa.literal(2)), {}) == [(2,)]
    finally:
        engine.dispose()
        admin.dispose()

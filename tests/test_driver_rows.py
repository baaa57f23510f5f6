"""``db.engine.driver_rows``: the API's hot reads on psycopg's own connection give the same
rows as SQLAlchemy's path, fire the same listeners, and fail with SQLAlchemy's errors; and
the series they read keep every microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import driver_rows, make_engine
from db.models import MetricSnapshot
from db.queries import _series_statement, timeseries_arrays
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


@pytest.mark.parametrize(
    "stamp",
    [
        datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
        datetime(2026, 12, 6, 2, 0, 0, 123457, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2105, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2250, 1, 1, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_a_series_keeps_every_microsecond(store_url: str, stamp: datetime) -> None:
    """The series reader's epoch arithmetic is exact: what goes in comes out."""
    engine = make_engine(store_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(
                MetricSnapshot(
                    metric_type="active_users", granularity="hourly", collected_at=stamp, value=5
                )
            )
        with engine.connect() as conn:
            got = timeseries_arrays(
                conn, "active_users", "hourly", stamp - timedelta(hours=1), stamp + timedelta(1)
            )
    finally:
        engine.dispose()
    assert got.values.tolist() == [5]
    assert got.frame()["timestamp"].iloc[0].to_pydatetime() == stamp

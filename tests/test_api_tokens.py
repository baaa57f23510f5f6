"""API tokens from the CLI: shown once, stored hashed, listed without secrets, revocable,
refused for non-admins, and dead with their account."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask

from admin_metrics.cli import cli
from dashboard.context import get_context
from db.accounts import hash_token
from db.engine import make_engine
from db.models import AdminUser, ApiToken


@pytest.fixture
def store_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def run(store_url: str, tmp_path: Path) -> Callable[..., Result]:
    def invoke(*args: str) -> Result:
        env = {"DATABASE_URL": store_url, "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _status(app: Flask, token: str) -> int:
    response = app.test_client().get(
        "/api/v1/metrics/status", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_create_token_prints_it_once_and_stores_only_its_hash(
    app: Flask, run: Callable[..., Result], store_url: str
) -> None:
    result = run("create-token", "ci", "--user", "admin")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("amh_") and len(token) > 40
    assert "shown only now" in result.stderr
    assert _status(app, token) == 200

    engine = make_engine(store_url)
    with engine.connect() as conn:
        dump = " ".join(
            str(v) for row in conn.execute(sa.text("SELECT * FROM api_tokens")) for v in row
        )
    engine.dispose()
    assert token not in dump
    assert hash_token(token) in dump

    listed = run("list-tokens")
    assert listed.exit_code == 0
    assert "ci" in listed.output and "admin" in listed.output
    assert token not in listed.output and hash_token(token) not in listed.output


def test_revoked_token_stops_working(app: Flask, run: Callable[..., Result]) -> None:
    token = run("create-token", "laptop", "--user", "admin").stdout.strip()
    assert _status(app, token) == 200
    result = run("revoke-token", "laptop")
    assert result.exit_code == 0
    assert _status(app, token) == 401
    again = run("revoke-token", "laptop")
    assert again.exit_code != 0
    assert "no token named 'laptop'" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create-token", "x", "--user", "viewer"), "not an active administrator"),
        (("create-token", "x", "--user", "nobody"), "no account named 'nobody'"),
        (("create-token", " ", "--user", "admin"), "token name must be"),
        (("create-token", "y" * 101, "--user", "admin"), "token name must be"),
    ],
)
def test_create_token_refuses_bad_requests(
    app: Flask, run: Callable[..., Result], args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert result.stdout.strip() == "" or "amh_" not in result.stdout


def test_token_names_are_unique(app: Flask, run: Callable[..., Result]) -> None:
    assert run("create-token", "ci", "--user", "admin").exit_code == 0
    second = run("create-token", "ci", "--user", "admin")
    assert second.exit_code != 0
    assert "already exists" in second.output


def test_tokens_die_with_their_account(app: Flask, run: Callable[..., Result]) -> None:
    token = run("create-token", "ci", "--user", "admin").stdout.strip()
    assert _status(app, token) == 200
    with get_context(app).session() as session:
        session.delete(session.query(AdminUser).filter_by(username="admin").one())
    with get_context(app).session() as session:
        assert session.query(ApiToken).count() == 0
    assert _status(app, token) == 401
    assert "No API tokens." in run("list-tokens").output


def test_a_small_api_call_is_one_checkout_and_two_statements(
    app: Flask, run: Callable[..., Result]
) -> None:
    """The token check and the query share the request's read connection in autocommit: one
    pool checkout, the token lookup and the series query, no BEGIN/COMMIT round trips (and
    the connection is back in the pool when the request ends)."""
    token = run("create-token", "script", "--user", "admin").stdout.strip()
    engine = get_context(app).engine
    client = app.test_client()
    url = "/api/v1/metrics/timeseries?metric_type=active_users&granularity=hourly"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(url, headers=headers).status_code == 200  # notes the token's use
    checkouts: list[int] = []
    statements: list[tuple[str, bool]] = []  # (SQL, in autocommit: no BEGIN/COMMIT sent)

    def on_checkout(*_: object) -> None:
        checkouts.append(1)

    def on_execute(conn: sa.Connection, _cursor: object, sql: str, *_: object) -> None:
        statements.append((sql, conn.connection.dbapi_connection.autocommit))  # type: ignore[union-attr]

    sa.event.listen(engine, "checkout", on_checkout)
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        response = client.get(url, headers=headers)
    finally:
        sa.event.remove(engine, "checkout", on_checkout)
        sa.event.remove(engine, "before_cursor_execute", on_execute)
    assert response.status_code == 200
    assert len(checkouts) == 1
    assert [(sql.split()[0], autocommit) for sql, autocommit in statements] == [
        ("SELECT", True),
        ("SELECT", True),
    ]
    assert "api_tokens" in statements[0][0] and "metric_snapshots" in statements[1][0]
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

"""Server-side sessions: sign-out, a password change, disabling and revocation end a session
for good — a copied cookie opens neither the page, Dash's endpoints, the API nor a download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask
from flask_login.utils import _cookie_digest

from admin_metrics.cli import cli
from dashboard.context import get_context
from db.accounts import disable_admin, set_admin_password
from db.models import AdminSession
from tests.support import (
    ADMIN_PASSWORD,
    OPEN,
    REFUSED,
    callback_body,
    create_export,
    create_user,
    csrf_token,
    data_routes,
    replay,
    seed_history,
    session_cookie,
    sign_out,
    signed_in,
    table_rows,
)


@pytest.fixture
def seeded(app: Flask) -> Flask:
    seed_history(get_context(app).settings.store_url, hourly_days=2, daily_days=3)
    return app


def _open_session(app: Flask) -> tuple[Any, str, str, dict[str, Any]]:
    """A signed-in client, its cookie, an export of its own and a callback body."""
    client = signed_in(app)
    export_url = create_export(client)
    body = callback_body(client)
    assert data_routes(client, export_url, body) == OPEN
    return client, session_cookie(client), export_url, body


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(seeded: Flask) -> None:
    client, cookie, export_url, body = _open_session(seeded)
    copy = replay(seeded, cookie)
    assert data_routes(copy, export_url, body) == OPEN, "a copy works while signed in"

    response = sign_out(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert table_rows(seeded, "admin_sessions") == []
    assert data_routes(client, export_url, body) == REFUSED
    assert data_routes(replay(seeded, cookie), export_url, body) == REFUSED


def test_get_logout_shows_a_button_and_keeps_the_session(seeded: Flask) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    page = client.get("/logout")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="logout-submit"' in text and 'method="post"' in text
    assert data_routes(client, export_url, body) == OPEN


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_post_logout_without_the_csrf_token_keeps_the_session(
    seeded: Flask, token: str | None
) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/logout", data=data)
    assert response.status_code == 400
    assert "세션이 만료되었습니다" in response.get_data(as_text=True)
    assert data_routes(client, export_url, body) == OPEN
    assert len(table_rows(seeded, "admin_sessions")) == 1


def test_the_page_header_signs_out_with_a_post_form(seeded: Flask) -> None:
    client = signed_in(seeded)
    layout = client.get("/admin/metrics/_dash-layout").get_json()

    def find(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "Form":
                return node
            for value in node.values():
                found = find(value)
                if found:
                    return found
        if isinstance(node, list):
            for item in node:
                found = find(item)
                if found:
                    return found
        return None

    form = find(layout)
    assert form is not None, "the header has a sign-out form"
    assert form["props"]["method"] == "POST" and form["props"]["action"] == "/logout"
    hidden = form["props"]["children"][0]["props"]
    assert hidden["name"] == "csrf_token" and hidden["value"]
    # The token in the page is the one the sign-out needs.
    assert client.post("/logout", data={"csrf_token": hidden["value"]}).status_code == 302
    assert client.get("/admin/metrics/").status_code == 302


def test_password_change_ends_every_session_of_that_user_only(seeded: Flask) -> None:
    create_user(get_context(seeded).settings.store_url, "alice")
    sessions = [_open_session(seeded) for _ in range(2)]
    alice = signed_in(seeded, "alice")
    alice_export = create_export(alice)
    body = sessions[0][3]
    with get_context(seeded).session() as session:
        set_admin_password(session, "admin", "a brand new password")
    for client, cookie, export_url, _ in sessions:
        assert data_routes(client, export_url, body) == REFUSED
        assert data_routes(replay(seeded, cookie), export_url, body) == REFUSED
    assert data_routes(alice, alice_export, body) == OPEN
    # The new password signs in again.
    signed_in(seeded, "admin", "a brand new password")


def test_setting_the_same_password_again_keeps_sessions(seeded: Flask) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    with get_context(seeded).session() as session:
        set_admin_password(session, "admin", ADMIN_PASSWORD)
    assert data_routes(client, export_url, body) == OPEN


def test_disabling_the_account_ends_every_session(seeded: Flask) -> None:
    sessions = [_open_session(seeded) for _ in range(2)]
    with get_context(seeded).session() as session:
        assert disable_admin(session, "admin") == 2
    for client, cookie, export_url, body in sessions:
        assert data_routes(client, export_url, body) == REFUSED
        assert data_routes(replay(seeded, cookie), export_url, body) == REFUSED
    # Disabled accounts cannot sign in again either.
    from tests.support import login

    assert login(seeded.test_client(), "admin").status_code == 401


def test_a_remember_me_cookie_cannot_bring_a_session_back(seeded: Flask) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    with client.session_transaction() as flask_session:
        token = flask_session["_user_id"]
    sign_out(client)
    attacker = seeded.test_client()
    with seeded.test_request_context():
        forged = f"{token}|{_cookie_digest(token)}"
    attacker.set_cookie("remember_token", forged)
    assert data_routes(attacker, export_url, body) == REFUSED


def test_the_cookie_carries_only_a_random_session_token(seeded: Flask) -> None:
    client = signed_in(seeded)
    with client.session_transaction() as flask_session:
        token = flask_session["_user_id"]
        keys = set(flask_session.keys())
    assert keys <= {"_user_id", "_fresh", "_id", "csrf_token"}, keys
    assert len(token) >= 40 and not token.isdigit()
    rows = table_rows(seeded, "admin_sessions")
    assert len(rows) == 1 and token not in str(rows), "the store keeps only the hash"


def _shift_session(app: Flask, **changes: timedelta) -> None:
    with get_context(app).session() as session:
        for row in session.scalars(sa.select(AdminSession)):
            for column, delta in changes.items():
                setattr(row, column, getattr(row, column) - delta)


def test_idle_sessions_end(seeded: Flask) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    idle = get_context(seeded).settings.session_idle_minutes
    _shift_session(seeded, last_seen_at=timedelta(minutes=idle - 2))
    assert data_routes(client, export_url, body) == OPEN, "within the idle timeout"
    # That request moved last_seen_at to now again; an idle gap longer than the timeout ends it.
    _shift_session(seeded, last_seen_at=timedelta(minutes=idle + 1))
    assert data_routes(client, export_url, body) == REFUSED
    assert table_rows(seeded, "admin_sessions") == []


def test_sessions_end_after_their_lifetime_even_when_active(seeded: Flask) -> None:
    client, _cookie, export_url, body = _open_session(seeded)
    hours = get_context(seeded).settings.session_max_hours
    _shift_session(seeded, created_at=timedelta(hours=hours, minutes=1))
    assert data_routes(client, export_url, body) == REFUSED


def test_last_seen_is_written_at_most_once_a_minute(seeded: Flask) -> None:
    client = signed_in(seeded)
    first = table_rows(seeded, "admin_sessions")[0]["last_seen_at"]
    for _ in range(3):
        assert client.get("/api/v1/metrics/status").status_code == 200
    assert table_rows(seeded, "admin_sessions")[0]["last_seen_at"] == first
    _shift_session(seeded, last_seen_at=timedelta(seconds=61))
    assert client.get("/api/v1/metrics/status").status_code == 200
    assert table_rows(seeded, "admin_sessions")[0]["last_seen_at"] != first


@pytest.fixture
def two_workers(
    store_url: str, make_settings: Callable[..., Any], app: Flask
) -> Iterator[tuple[Flask, Flask]]:
    """A second app instance on the same store: another gunicorn worker or replica."""
    from dashboard.app import create_app

    other = create_app(make_settings(database_url=store_url))
    other.config["TESTING"] = True
    yield app, other
    get_context(other).engine.dispose()


def test_sign_out_on_one_worker_holds_on_another(
    two_workers: tuple[Flask, Flask], seeded: Flask
) -> None:
    first, second = two_workers
    client, cookie, export_url, body = _open_session(first)
    on_second = replay(second, cookie)
    assert data_routes(on_second, export_url, body) == OPEN
    assert on_second.post("/logout", data={"csrf_token": csrf_token(on_second)}).status_code == 302
    assert data_routes(client, export_url, body) == REFUSED


# --- the command line ----------------------------------------------------------------------
@pytest.fixture
def run(app: Flask, tmp_path: Path) -> Callable[..., Result]:
    url = get_context(app).settings.store_url

    def invoke(*args: str) -> Result:
        env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_cli_lists_and_revokes_sessions(seeded: Flask, run: Callable[..., Result]) -> None:
    import admin_metrics.session_commands  # noqa: F401 - registers the commands

    sessions = [_open_session(seeded) for _ in range(2)]
    listed = run("sessions", "list")
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if line.split()[1:2] == ["admin"]]
    assert len(lines) == 2 and "password" in lines[0]
    for _client, cookie, _url, _body in sessions:
        assert cookie not in listed.output
    revoked = run("sessions", "revoke", "admin")
    assert revoked.exit_code == 0 and "Ended 2 session(s)" in revoked.output
    for client, _cookie, export_url, body in sessions:
        assert data_routes(client, export_url, body) == REFUSED
    assert "No open sessions." in run("sessions", "list").output
    missing = CliRunner().invoke(cli, ["sessions", "revoke", "nobody"], env=_env(seeded))
    assert missing.exit_code != 0 and "no account named 'nobody'" in missing.output


def _env(app: Flask) -> dict[str, str]:
    return {"DATABASE_URL": get_context(app).settings.store_url, "LOG_LEVEL": "WARNING"}


def test_cli_disable_admin_ends_its_sessions(seeded: Flask, run: Callable[..., Result]) -> None:
    import admin_metrics.session_commands  # noqa: F401 - registers the commands

    client, _cookie, export_url, body = _open_session(seeded)
    result = run("disable-admin", "admin")
    assert result.exit_code == 0 and "1 session(s) ended" in result.output
    assert data_routes(client, export_url, body) == REFUSED

"""Trusted reverse-proxy sign-on, in-process (the real nginx runs in test_proxy_nginx.py).

The header counts only when the TCP peer (REMOTE_ADDR) is in AUTH_PROXY_TRUSTED; the named
user must be an active admin, or is created as one with AUTH_PROXY_AUTO_CREATE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dashboard.auth import session_policy
from dashboard.context import get_context
from db.models import AdminUser
from db.sessions import resolve_session
from tests.support import audit_actions, create_user, login, table_rows

HEADER = "X-Forwarded-User"
PROXY = {"REMOTE_ADDR": "10.20.0.5"}
OUTSIDER = {"REMOTE_ADDR": "192.168.7.9"}
PAGE = "/admin/metrics/"


@pytest.fixture
def proxy_app_factory(
    sqlite_url: str, make_settings: Callable[..., Any]
) -> Iterator[Callable[..., Flask]]:
    from dashboard.app import create_app

    create_user(sqlite_url, "admin")
    create_user(sqlite_url, "alice")
    create_user(sqlite_url, "viewer", admin=False)
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        values: dict[str, Any] = {
            "database_url": sqlite_url,
            "auth_proxy_header": HEADER,
            "auth_proxy_trusted": "10.20.0.0/16, 127.0.0.2",
        }
        values.update(overrides)
        app = create_app(make_settings(**values))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_context(app).engine.dispose()


@pytest.fixture
def proxy_app(proxy_app_factory: Callable[..., Flask]) -> Flask:
    return proxy_app_factory()


def _user(app: Flask, username: str) -> AdminUser | None:
    with get_context(app).session() as session:
        row = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
        if row is not None:
            session.expunge(row)
        return row


def _signed_in_id(client: FlaskClient) -> str | None:
    """The account id of the browser's server-side session (the cookie holds its token)."""
    with client.session_transaction() as session:
        token = session.get("_user_id")
    if token is None:
        return None
    app = client.application
    with get_context(app).session() as db:
        found = resolve_session(db, str(token), session_policy(get_context(app)))
        return str(found[1].id) if found else None


def test_header_from_trusted_proxy_signs_in_an_admin(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    response = client.get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY)
    assert response.status_code == 200
    alice = _user(proxy_app, "alice")
    assert alice is not None and _signed_in_id(client) == str(alice.id)
    assert alice.last_login_at is not None
    # API and Dash callbacks work with the same header, no password anywhere.
    layout = client.get(PAGE + "_dash-layout", headers={HEADER: "alice"}, environ_base=PROXY)
    assert layout.status_code == 200


def test_header_from_untrusted_address_is_ignored_and_logged(
    proxy_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = proxy_app.test_client()
    with caplog.at_level(logging.WARNING, logger="dashboard.auth"):
        page = client.get(PAGE, headers={HEADER: "alice"}, environ_base=OUTSIDER)
        layout = client.get(PAGE + "_dash-layout", headers={HEADER: "alice"}, environ_base=OUTSIDER)
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    assert layout.status_code == 401
    assert _signed_in_id(client) is None
    assert "Ignored sign-on header X-Forwarded-User from untrusted address 192.168.7.9" in (
        caplog.text
    )


def test_forwarded_for_cannot_make_an_outsider_trusted(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    headers = {HEADER: "alice", "X-Forwarded-For": "10.20.0.5", "X-Real-IP": "10.20.0.5"}
    assert client.get(PAGE, headers=headers, environ_base=OUTSIDER).status_code == 302


def test_non_admin_and_unknown_users_are_refused(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    for name in ("viewer", "nobody"):
        response = client.get(PAGE, headers={HEADER: name}, environ_base=PROXY)
        assert response.status_code == 403, name
        assert response.get_json()["code"] == "AUTH_FORBIDDEN"
    assert _user(proxy_app, "nobody") is None
    # The login page stays reachable for them (public endpoint).
    assert client.get("/login", headers={HEADER: "viewer"}, environ_base=PROXY).status_code == 200


def test_inactive_admin_is_refused(proxy_app: Flask) -> None:
    with get_context(proxy_app).session() as session:
        row = session.scalars(select(AdminUser).where(AdminUser.username == "alice")).one()
        row.is_active = False
    response = proxy_app.test_client().get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY)
    assert response.status_code == 403


def test_auto_create_makes_an_unknown_user_an_admin_once(
    proxy_app_factory: Callable[..., Flask],
) -> None:
    app = proxy_app_factory(auth_proxy_auto_create=True)
    for _ in range(2):
        client = app.test_client()
        assert client.get(PAGE, headers={HEADER: "carol"}, environ_base=PROXY).status_code == 200
    carol = _user(app, "carol")
    assert carol is not None and carol.is_admin and carol.is_active
    # ... but never promotes an existing non-admin.
    viewer = app.test_client().get(PAGE, headers={HEADER: "viewer"}, environ_base=PROXY)
    assert viewer.status_code == 403


def test_auto_created_account_has_no_usable_password(
    proxy_app_factory: Callable[..., Flask],
) -> None:
    app = proxy_app_factory(auth_proxy_auto_create=True)
    app.test_client().get(PAGE, headers={HEADER: "carol"}, environ_base=PROXY)
    for guess in ("", "carol", "password"):
        assert login(app.test_client(), "carol", guess).status_code in (400, 401)


def test_header_switches_a_session_of_another_person(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    assert login(client, "admin").status_code == 302
    admin, alice = _user(proxy_app, "admin"), _user(proxy_app, "alice")
    assert admin is not None and alice is not None
    assert _signed_in_id(client) == str(admin.id)
    assert client.get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY).status_code == 200
    assert _signed_in_id(client) == str(alice.id)
    # A non-admin behind the same browser must not inherit alice's session.
    assert client.get(PAGE, headers={HEADER: "viewer"}, environ_base=PROXY).status_code == 403
    assert _signed_in_id(client) is None


def test_malformed_header_is_ignored(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    for value in ("", "   ", "x" * 151, "alice\x07"):
        response = client.get(PAGE, headers={HEADER: value}, environ_base=PROXY)
        assert response.status_code == 302, repr(value)


def test_sign_on_is_off_without_trusted_addresses(
    proxy_app_factory: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dashboard.auth"):
        app = proxy_app_factory(auth_proxy_trusted="")
    assert "AUTH_PROXY_TRUSTED is empty" in caplog.text
    response = app.test_client().get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY)
    assert response.status_code == 302


def test_sign_on_is_off_without_a_header_name(proxy_app_factory: Callable[..., Flask]) -> None:
    app = proxy_app_factory(auth_proxy_header=None)
    response = app.test_client().get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY)
    assert response.status_code == 302


def test_ipv6_proxy_addresses_are_supported(proxy_app_factory: Callable[..., Flask]) -> None:
    app = proxy_app_factory(auth_proxy_trusted="fd00::/8")
    client = app.test_client()
    ok = client.get(PAGE, headers={HEADER: "alice"}, environ_base={"REMOTE_ADDR": "fd00::7"})
    assert ok.status_code == 200
    other = app.test_client().get(
        PAGE, headers={HEADER: "alice"}, environ_base={"REMOTE_ADDR": "fe80::1"}
    )
    assert other.status_code == 302


def test_sign_on_opens_a_server_side_session_that_can_be_revoked(proxy_app: Flask) -> None:
    from db.accounts import disable_admin

    client = proxy_app.test_client()
    assert client.get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY).status_code == 200
    rows = table_rows(proxy_app, "admin_sessions")
    assert [(row["method"], row["address"]) for row in rows] == [("proxy", PROXY["REMOTE_ADDR"])]
    # Further requests reuse it (no new session, no new audit row per request).
    for _ in range(3):
        client.get(PAGE + "_dash-layout", headers={HEADER: "alice"}, environ_base=PROXY)
    assert len(table_rows(proxy_app, "admin_sessions")) == 1
    assert audit_actions(proxy_app).count("proxy_sign_on") == 1
    # Disabling the account ends it; the next header sign-on is refused.
    with get_context(proxy_app).session() as session:
        disable_admin(session, "alice")
    assert client.get(PAGE + "_dash-layout").status_code == 401
    again = client.get(PAGE, headers={HEADER: "alice"}, environ_base=PROXY)
    assert again.status_code == 403


def test_sign_on_through_a_proxy_that_forwards_the_client_address(proxy_app: Flask) -> None:
    client = proxy_app.test_client()
    headers = {HEADER: "alice", "X-Forwarded-For": "198.51.100.23"}
    assert client.get(PAGE, headers=headers, environ_base=PROXY).status_code == 200
    assert _signed_in_id(client) is not None
    rows = table_rows(proxy_app, "admin_sessions")
    assert [row["address"] for row in rows] == ["198.51.100.23"], "the client, not the proxy"

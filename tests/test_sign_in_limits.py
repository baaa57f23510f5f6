"""Sign-in limits in the store: they hold across workers, end when they say, and cannot be
turned against the admin (other names from a shared address, others' failures against a
browser that signed in before, forged X-Forwarded-For)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from dashboard.context import get_context
from tests.support import ADMIN_PASSWORD, attempt, create_user, sign_out, table_rows

WRONG = "wrong password!"


@pytest.fixture
def make_app(store_url: str, make_settings: Callable[..., Any]) -> Iterator[Callable[..., Flask]]:
    """App instances on one store; each is what a separate worker or replica would be."""
    from dashboard.app import create_app

    create_user(store_url, "admin")
    create_user(store_url, "other")
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        values: dict[str, Any] = {
            "database_url": store_url,
            "login_rate_limit": "3 per minute",
            "login_address_rate_limit": "5 per minute",
        }
        values.update(overrides)
        app = create_app(make_settings(**values))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_context(app).engine.dispose()


def test_failures_on_two_workers_count_together(make_app: Callable[..., Flask]) -> None:
    first, second = make_app(), make_app()
    clients = [first.test_client(), second.test_client()]
    for i in range(3):
        assert attempt(clients[i % 2], "admin", WRONG).status_code == 401
    for client in clients:
        locked = attempt(client, "admin", ADMIN_PASSWORD)
        assert locked.status_code == 429, "the third failure locked it on both workers"
        assert "Retry-After" in locked.headers


def _said_until(response: Any, tz: str) -> datetime:
    """The end of the lockout the message announces (HH:MM:SS in the default zone)."""
    text = response.get_data(as_text=True)
    found = re.search(r"(\d{2}):(\d{2}):(\d{2})에 다시 시도할 수 있습니다 \((\d+)초 후\)", text)
    assert found, text[-600:]
    hh, mm, ss, seconds = (int(g) for g in found.groups())
    assert int(response.headers["Retry-After"]) == seconds
    now = datetime.now(ZoneInfo(tz))
    return now.replace(hour=hh, minute=mm, second=ss, microsecond=0)


def test_the_lockout_ends_when_it_says(make_app: Callable[..., Flask]) -> None:
    app = make_app(login_rate_limit="2 per 10 seconds")
    tz = get_context(app).settings.default_timezone
    client = app.test_client()
    for _ in range(2):
        assert attempt(client, "admin", WRONG).status_code == 401
    locked = attempt(client, "admin", ADMIN_PASSWORD)
    assert locked.status_code == 429
    until = _said_until(locked, tz)
    assert 0 < (until - datetime.now(ZoneInfo(tz))).total_seconds() <= 11
    # Knocking during the lockout does not make it longer.
    again = attempt(client, "admin", ADMIN_PASSWORD)
    assert again.status_code == 429 and _said_until(again, tz) == until
    # Until the announced time it stays shut; from then on it opens.
    if (until - datetime.now(ZoneInfo(tz))).total_seconds() > 2:
        assert attempt(client, "admin", ADMIN_PASSWORD).status_code == 429
    while time.time() < until.timestamp():
        time.sleep(0.05)
    assert attempt(client, "admin", ADMIN_PASSWORD).status_code == 302


def test_other_user_names_only_reach_the_wider_address_limit(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    client = app.test_client()
    for name in ("u1", "u1", "u2", "u2"):
        assert attempt(client, name, WRONG).status_code == 401
    # Four failures of other names: not the admin's counter, and under the address limit.
    admin = app.test_client()
    assert attempt(admin, "admin", ADMIN_PASSWORD).status_code == 302
    sign_out(admin)
    assert attempt(client, "u3", WRONG).status_code == 401
    # Now the address as a whole is locked for unknown browsers ...
    locked = attempt(app.test_client(), "admin", ADMIN_PASSWORD)
    assert locked.status_code == 429
    # ... but a browser that signed in before, and other addresses, are not.
    assert attempt(admin, "admin", ADMIN_PASSWORD).status_code == 302
    assert attempt(app.test_client(), "admin", address="10.9.8.7").status_code == 302


def test_a_browser_that_signed_in_before_is_not_locked_out_by_others(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    admin = app.test_client()
    assert attempt(admin, "admin").status_code == 302
    assert admin.get_cookie("admin_metrics_device") is not None
    sign_out(admin)
    attacker = app.test_client()  # same address (a shared NAT or proxy), no device cookie
    for _ in range(3):
        assert attempt(attacker, "admin", WRONG).status_code == 401
    assert attempt(attacker, "admin", ADMIN_PASSWORD).status_code == 429
    assert attempt(admin, "admin", ADMIN_PASSWORD).status_code == 302


def test_a_known_browser_still_has_its_own_limit(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    admin = app.test_client()
    assert attempt(admin, "admin").status_code == 302
    sign_out(admin)
    for _ in range(3):
        assert attempt(admin, "admin", WRONG).status_code == 401
    assert attempt(admin, "admin", ADMIN_PASSWORD).status_code == 429
    # Its device cookie is for "admin": for another name it counts as an unknown browser.
    assert attempt(admin, "other", ADMIN_PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_users_counter(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    for _ in range(2):
        client = app.test_client()
        assert attempt(client, "admin", WRONG).status_code == 401
        assert attempt(client, "admin", WRONG).status_code == 401
        assert attempt(client, "admin", ADMIN_PASSWORD).status_code == 302
    assert table_rows(app, "sign_in_failures") == []


PROXY = "10.20.0.5"


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(auth_proxy_trusted="10.20.0.0/16")
    attacker = {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(3):
        response = attempt(app.test_client(), "admin", WRONG, headers=attacker, address=PROXY)
        assert response.status_code == 401
    assert attempt(app.test_client(), "admin", headers=attacker, address=PROXY).status_code == 429
    colleague = {"X-Forwarded-For": "198.51.100.2"}
    client = app.test_client()
    assert attempt(client, "admin", headers=colleague, address=PROXY).status_code == 302
    rows = table_rows(app, "admin_sessions")
    assert [row["address"] for row in rows] == ["198.51.100.2"]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_app: Callable[..., Flask]) -> None:
    app = make_app(auth_proxy_trusted="10.20.0.0/16")
    outsider = "192.168.7.9"
    for i in range(3):
        forged = {"X-Forwarded-For": f"203.0.113.{i}"}
        response = attempt(app.test_client(), "admin", WRONG, headers=forged, address=outsider)
        assert response.status_code == 401
    forged = {"X-Forwarded-For": "203.0.113.99"}
    locked = attempt(app.test_client(), "admin", headers=forged, address=outsider)
    assert locked.status_code == 429, "rotating X-Forwarded-For does not dodge the limit"
    addresses = {row["address"] for row in table_rows(app, "sign_in_failures")}
    assert addresses == {outsider}


def test_hops_zero_never_believes_forwarded_for(make_app: Callable[..., Flask]) -> None:
    app = make_app(auth_proxy_trusted="10.20.0.0/16", proxy_fix_hops=0)
    client = app.test_client()
    response = attempt(client, "admin", headers={"X-Forwarded-For": "198.51.100.7"}, address=PROXY)
    assert response.status_code == 302
    assert [row["address"] for row in table_rows(app, "admin_sessions")] == [PROXY]

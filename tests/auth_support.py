"""Helpers for the session, sign-in limit and audit tests (imported, not fixtures)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from db.engine import make_engine
from tests.conftest import ADMIN_PASSWORD, login
from tests.dashboard_seed import render_request

SESSION_COOKIE = "admin_metrics_session"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAGE = "/admin/metrics/"


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of this browser's session (from the sign-out page)."""
    page = client.get("/logout").get_data(as_text=True)
    found = CSRF.search(page)
    assert found, "the sign-out page carries a CSRF token"
    return found.group(1)


def sign_out(client: FlaskClient) -> Any:
    return client.post("/logout", data={"csrf_token": csrf_token(client)})


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "signed in"
    return cookie.value


def replay(app: Flask, cookie: str) -> FlaskClient:
    """Another browser presenting a copied session cookie."""
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, cookie)
    return client


def signed_in(app: Flask, username: str = "admin", password: str = ADMIN_PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[-400:]
    return client


def create_export(client: FlaskClient) -> str:
    """A small CSV export through the API (session auth); returns its download URL."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    response = client.post(
        "/api/v1/metrics/export",
        json={
            "metric_types": ["active_users"],
            "start_date": (now - timedelta(days=1)).isoformat(),
            "end_date": now.isoformat(),
            "granularity": "hourly",
            "format": "csv",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    url: str = response.get_json()["download_url"]
    return url


def callback_body(client: FlaskClient) -> dict[str, Any]:
    """A real ``_dash-update-component`` body (the six graphs), from a signed-in client."""
    dependencies = client.get(PAGE + "_dash-dependencies")
    assert dependencies.status_code == 200
    return render_request(dependencies.get_json(), search="?range=7")


def data_routes(client: FlaskClient, export_url: str, body: dict[str, Any]) -> dict[str, int]:
    """Status codes of the page, Dash's endpoints, the API and an export download."""
    return {
        "page": client.get(PAGE).status_code,
        "layout": client.get(PAGE + "_dash-layout").status_code,
        "callback": client.post(PAGE + "_dash-update-component", json=body).status_code,
        "api": client.get("/api/v1/metrics/status").status_code,
        "export": client.get(export_url).status_code,
    }


OPEN = {"page": 200, "layout": 200, "callback": 200, "api": 200, "export": 200}
REFUSED = {"page": 302, "layout": 401, "callback": 401, "api": 401, "export": 401}


def table_rows(app_or_url: Flask | str, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` as dicts (for greps of the raw stored values)."""
    if isinstance(app_or_url, Flask):
        engine = get_context(app_or_url).engine
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    engine = make_engine(app_or_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    finally:
        engine.dispose()


def audit_actions(app: Flask) -> list[str]:
    rows = table_rows(app, "audit_log")
    return [row["action"] for row in sorted(rows, key=lambda r: r["id"])]


def attempt(
    client: FlaskClient,
    username: str,
    password: str = ADMIN_PASSWORD,
    *,
    headers: dict[str, str] | None = None,
    address: str | None = None,
) -> Any:
    """One sign-in through the form, optionally through a proxy or from another address."""
    environ = {"REMOTE_ADDR": address} if address else {}
    page = client.get("/login", headers=headers, environ_base=environ).get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "login form has a CSRF token"
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        headers=headers,
        environ_base=environ,
    )

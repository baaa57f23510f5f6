"""Access: the guard covers every data route; login, logout, CSRF, cookies, tokens."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from db.accounts import hash_token
from db.models import ApiToken
from tests.support import ADMIN_PASSWORD, login, sign_out, stored_token


def _concrete(rule: str) -> str:
    """Fill URL converters with harmless values so the route can be requested."""
    return re.sub(
        r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "x" if m.group(1) != "path" else "x/y", rule
    )


def test_every_data_route_refuses_anonymous(app: Flask, anon_client: FlaskClient) -> None:
    public = get_context(app).public_endpoints
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = anon_client.open(_concrete(rule.rule), method=method)
            checked += 1
            assert response.status_code in (302, 401), (rule.rule, method, response.status_code)
            if response.status_code == 302:
                assert "/login?next=" in response.headers["Location"], rule.rule
            else:
                assert response.get_json()["code"] == "AUTH_REQUIRED"
    assert checked >= 6


def test_public_endpoints_are_only_login_health_and_static(app: Flask) -> None:
    public = get_context(app).public_endpoints
    for endpoint in public:
        rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint]
        for rule in rules:
            assert (
                rule in ("/login", "/logout", "/healthz")
                or "/static/" in rule
                or "/assets/" in rule
                or "_dash-component-suites" in rule
                or rule.endswith("_favicon.ico")
            ), rule


def test_dash_endpoints_need_admin(anon_client: FlaskClient, admin_client: FlaskClient) -> None:
    for path in ("/admin/metrics/_dash-layout", "/admin/metrics/_dash-dependencies"):
        assert anon_client.get(path).status_code == 401
        assert admin_client.get(path).status_code == 200
    assert anon_client.post("/admin/metrics/_dash-update-component", json={}).status_code == 401


def test_wrong_password_fails_and_right_one_works(anon_client: FlaskClient) -> None:
    bad = login(anon_client, "admin", "wrong password!")
    assert bad.status_code == 401
    assert "올바르지 않습니다" in bad.get_data(as_text=True)
    assert anon_client.get("/admin/metrics/").status_code == 302
    good = login(anon_client, "admin", ADMIN_PASSWORD)
    assert good.status_code == 302
    assert good.headers["Location"] == "/admin/metrics/"
    assert anon_client.get("/admin/metrics/").status_code == 200


def test_unknown_user_fails_like_wrong_password(anon_client: FlaskClient) -> None:
    response = login(anon_client, "nobody", ADMIN_PASSWORD)
    assert response.status_code == 401


def test_login_without_csrf_token_is_refused(anon_client: FlaskClient) -> None:
    response = anon_client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert anon_client.get("/admin/metrics/").status_code == 302


def test_non_admin_is_forbidden(viewer_client: FlaskClient) -> None:
    response = viewer_client.get("/admin/metrics/_dash-layout")
    assert response.status_code in (401, 403)


def test_logout_ends_the_session(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/metrics/").status_code == 200
    assert admin_client.get("/logout").status_code == 200, "GET only shows the button"
    assert admin_client.get("/admin/metrics/").status_code == 200
    assert sign_out(admin_client).status_code == 302
    assert admin_client.get("/admin/metrics/").status_code == 302


def test_logout_page_of_an_anonymous_visitor_leads_to_sign_in(anon_client: FlaskClient) -> None:
    response = anon_client.get("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_session_cookie_flags(anon_client: FlaskClient) -> None:
    response = login(anon_client, "admin")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "admin_metrics_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_open_redirect_is_refused(anon_client: FlaskClient) -> None:
    page = anon_client.get("/login?next=https://evil.example/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    response = anon_client.post(
        "/login",
        data={
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "csrf_token": token.group(1),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/admin/metrics/"


def test_bearer_token_of_admin_opens_data_routes(app: Flask, anon_client: FlaskClient) -> None:
    token = stored_token(app, "admin")
    response = anon_client.get(
        "/admin/metrics/_dash-layout", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    bad = anon_client.get("/admin/metrics/_dash-layout", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_bearer_token_of_non_admin_is_403(app: Flask, anon_client: FlaskClient) -> None:
    token = stored_token(app, "viewer")
    response = anon_client.get(
        "/admin/metrics/_dash-layout", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "AUTH_FORBIDDEN"


def test_healthz_is_public_and_reports_store(anon_client: FlaskClient) -> None:
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_security_headers(anon_client: FlaskClient) -> None:
    response = anon_client.get("/login")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("lang", ["en"])
def test_login_page_in_english(anon_client: FlaskClient, lang: str) -> None:
    page = anon_client.get(f"/login?lang={lang}").get_data(as_text=True)
    assert "Administrator sign-in" in page


def test_token_use_is_recorded_once_a_minute(app: Flask, anon_client: FlaskClient) -> None:
    token = stored_token(app, "admin")
    headers = {"Authorization": f"Bearer {token}"}

    def last_used() -> object:
        with get_context(app).session() as session:
            row = session.query(ApiToken).filter_by(token_hash=hash_token(token)).one()
            return row.last_used_at

    assert last_used() is None
    assert anon_client.get("/admin/metrics/_dash-layout", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    assert anon_client.get("/admin/metrics/_dash-layout", headers=headers).status_code == 200
    assert last_used() == first

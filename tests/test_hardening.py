"""Hardening: security headers everywhere, a CSP the page works under, login rate limiting,
JSON logs that keep the seed guide's messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from admin_metrics.logs import JsonFormatter, configure_logging
from db.migrate import upgrade
from tests.support import ADMIN_PASSWORD, LiveServer, browser_login, create_user, login

SEED_LOG_MESSAGES = (
    "Metrics scheduler started",
    "Hourly metrics collected successfully",
    "메트릭 수집 최대 재시도 횟수 초과",
    "CSV 크기 초과 (12000000 bytes), 다운샘플링 적용",
    "다운샘플링 완료: 2160 -> 1000 행",
)


def _csp(response: Any) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


# --- headers ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["/login", "/admin/metrics/", "/admin/metrics/_dash-layout", "/static/bootstrap.min.css"],
)
def test_security_headers_on_pages_callbacks_and_static(
    admin_client: FlaskClient, path: str
) -> None:
    response = admin_client.get(path)
    assert response.status_code == (302 if path == "/login" else 200)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_script_policy_allows_no_inline_script_or_eval_but_dash_bootstrap(
    admin_client: FlaskClient,
) -> None:
    import base64
    import hashlib
    import re

    page = admin_client.get("/admin/metrics/")
    script_src = _csp(page)["script-src"].split()
    assert script_src[0] == "'self'"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    # Every inline script on the page is allowed by exactly its hash.
    # (Dash's Internet Explorer warning sits in a conditional comment: never executed.)
    html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
    executable = [body for attrs, body in inline if "application/json" not in attrs]
    assert executable, "Dash bootstraps its renderer inline"
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src


def test_security_headers_on_errors_and_api(anon_client: FlaskClient) -> None:
    for path in ("/api/v1/metrics/status", "/admin/metrics/_dash-dependencies"):
        response = anon_client.get(path)
        assert response.status_code == 401
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in response.headers


def test_session_cookie_is_http_only_and_lax_by_default(anon_client: FlaskClient) -> None:
    response = login(anon_client, "admin")
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("admin_metrics_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


# --- login rate limiting ------------------------------------------------------------------
@pytest.fixture
def limited_app(sqlite_url: str, make_settings: Callable[..., Any]) -> Flask:
    from dashboard.app import create_app

    create_user(sqlite_url, "admin")
    create_user(sqlite_url, "other")
    app = create_app(make_settings(database_url=sqlite_url, login_rate_limit="3 per minute"))
    app.config["TESTING"] = True
    return app


def test_failed_logins_are_limited_per_address_and_user(
    limited_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = limited_app.test_client()
    for _ in range(3):
        assert login(client, "admin", "wrong password!").status_code == 401
    with caplog.at_level(logging.WARNING, logger="dashboard.auth"):
        limited = login(client, "admin", "wrong password!")
    assert limited.status_code == 429
    body = limited.get_data(as_text=True)
    assert "로그인 시도가 너무 많습니다" in body
    assert 'id="login-error"' in body, "shown on the login form"
    # The minute's window, its end announced rounded up to the whole second: at most 61 s.
    assert 0 < int(limited.headers["Retry-After"]) <= 61
    assert "Sign-in refused during a lockout" in caplog.text and "'admin'" in caplog.text
    # Even the right password waits until the window passes.
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 429
    # Another user from the same address, and the same user from another address, are not
    # affected.
    assert login(client, "other", ADMIN_PASSWORD).status_code == 302
    elsewhere = limited_app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert login(elsewhere, "admin", ADMIN_PASSWORD).status_code == 302


def test_user_name_case_does_not_dodge_the_limit(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for name in ("admin", "ADMIN", "Admin"):
        login(client, name, "wrong password!")
    assert login(client, " aDmin ", "wrong password!").status_code == 429


def test_successful_sign_ins_do_not_use_up_attempts(limited_app: Flask) -> None:
    for _ in range(5):
        client = limited_app.test_client()
        assert login(client, "admin", ADMIN_PASSWORD).status_code == 302


def test_rate_limit_message_in_english(limited_app: Flask) -> None:
    client = limited_app.test_client()
    client.set_cookie("lang", "en")
    for _ in range(3):
        login(client, "admin", "wrong password!")
    limited = login(client, "admin", "wrong password!")
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.get_data(as_text=True)


def test_login_page_itself_is_not_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for _ in range(10):
        assert client.get("/login").status_code == 200


# --- JSON logs -----------------------------------------------------------------------------
def test_json_log_lines_keep_the_seed_messages(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        for message in SEED_LOG_MESSAGES:
            logging.getLogger("collectors.scheduler").info(message)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("x").exception("with traceback")
    finally:
        configure_logging("INFO", "text")
    lines = capsys.readouterr().err.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["message"] for r in records[:5]] == list(SEED_LOG_MESSAGES)
    assert records[0]["level"] == "INFO" and records[0]["logger"] == "collectors.scheduler"
    assert records[0]["time"].endswith("+00:00")
    assert "ValueError: boom" in records[5]["exc_info"]
    # Korean stays readable for grep (no \\uXXXX escapes).
    assert "메트릭 수집 최대 재시도 횟수 초과" in lines[2]


def test_json_formatter_output_is_one_line() -> None:
    record = logging.LogRecord("a", logging.INFO, __file__, 1, "two\nlines", None, None)
    assert "\n" not in JsonFormatter().format(record)


def test_live_server_logs_json_including_gunicorn(
    tmp_path: Path, live_server_factory: Callable[..., LiveServer]
) -> None:
    import requests

    url = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    (tmp_path / "var").mkdir(exist_ok=True)
    upgrade(url)
    server = live_server_factory({"DATABASE_URL": url, "LOG_FORMAT": "json"})
    assert requests.get(server.url + "healthz", timeout=10).status_code == 200
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    messages = [r["message"] for r in records]
    assert any(m.startswith("Listening at: http://127.0.0.1:") for m in messages)
    assert any('"GET /healthz HTTP/1.1" 200' in m for m in messages)


# --- the page under the CSP (real browser) ----------------------------------------------
def test_dashboard_works_under_the_csp_without_violations(
    tmp_path: Path, live_server_factory: Callable[..., LiveServer], browser: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    (tmp_path / "var").mkdir(exist_ok=True)
    upgrade(url)
    create_user(url, "admin")
    server = live_server_factory({"DATABASE_URL": url})
    browser.get(server.url + "admin/metrics/")
    browser_login(browser)
    wait = WebDriverWait(browser, 60)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot")))
    # Hovering and re-rendering exercise Plotly's runtime styles too.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot .main-svg")))
    logs = browser.get_log("browser")
    violations = [e for e in logs if "Content Security Policy" in e["message"]]
    assert violations == []
    severe = [e for e in logs if e["level"] == "SEVERE"]
    assert severe == []
    # And the policy was really in force on that page.
    headers = browser.execute_script(
        "const r = new XMLHttpRequest(); r.open('GET', location.href, false); r.send();"
        "return r.getResponseHeader('Content-Security-Policy');"
    )
    assert headers and "default-src 'self'" in headers

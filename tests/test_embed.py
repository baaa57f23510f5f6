"""Embedding in a portal's iframe: FRAME_ANCESTORS drives CSP ``frame-ancestors`` and
X-Frame-Options; a real browser shows the dashboard inside an allowed origin's page and
refuses it inside any other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.migrate import upgrade
from tests.support import LiveServer, browser_login, create_user, login, wait_for

# The portal page: its iframe shows whatever ``?src=`` names (the app's address is known
# only once the app runs, and the app must know the portal's origin before it starts).
HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Portal</title>
<link rel="icon" href="data:,"></head>
<body><h1>Intranet portal</h1>
<iframe id="metrics" width="1200" height="800"></iframe>
<script>
document.getElementById("metrics").src = new URLSearchParams(location.search).get("src");
</script></body></html>"""


def _app(make_settings: Callable[..., Any], sqlite_url: str, **overrides: Any) -> Flask:
    from dashboard.app import create_app

    app = create_app(make_settings(database_url=sqlite_url, **overrides))
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize(
    ("ancestors", "x_frame_options"),
    [
        ("'self'", "SAMEORIGIN"),
        ("'none'", "DENY"),
        ("https://portal.example.org", None),
        ("'self' https://portal.example.org https://*.intra.example", None),
    ],
)
def test_frame_ancestors_drive_csp_and_x_frame_options(
    make_settings: Callable[..., Any], sqlite_url: str, ancestors: str, x_frame_options: str | None
) -> None:
    app = _app(make_settings, sqlite_url, frame_ancestors=ancestors)
    for path in ("/login", "/healthz"):
        response = app.test_client().get(path)
        assert f"frame-ancestors {ancestors}" in response.headers["Content-Security-Policy"]
        # X-Frame-Options cannot name origins: left out then (CSP decides).
        assert response.headers.get("X-Frame-Options") == x_frame_options


def test_cross_site_iframe_cookie_is_samesite_none_and_secure(
    make_settings: Callable[..., Any], sqlite_url: str
) -> None:
    create_user(sqlite_url, "admin")
    app = _app(
        make_settings,
        sqlite_url,
        session_cookie_samesite="None",
        session_cookie_secure=True,
        frame_ancestors="https://portal.example.org",
    )
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = login(client, "admin")
    assert response.status_code == 302
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("admin_metrics_session=")
    )
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_samesite_none_without_secure_is_refused_at_start_up(
    make_settings: Callable[..., Any],
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="SESSION_COOKIE_SECURE=true"):
        make_settings(session_cookie_samesite="None")


def _frame_refused(browser: Any) -> bool:
    return any(
        "frame-ancestors" in entry["message"]
        and ("Refused to frame" in entry["message"] or "Framing" in entry["message"])
        for entry in browser.get_log("browser")
    )


def test_dashboard_in_an_iframe_of_an_allowed_portal_and_refused_elsewhere(
    tmp_path: Path,
    live_server_factory: Callable[..., LiveServer],
    page_server: Callable[[str, str], str],
    browser: Any,
) -> None:
    allowed_page = page_server("portal.html", HOST_PAGE)
    other_page = page_server("other.html", HOST_PAGE)
    allowed_origin = allowed_page.rsplit("/", 1)[0]
    store = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    (tmp_path / "var").mkdir(exist_ok=True)
    upgrade(store)
    create_user(store, "admin")
    server = live_server_factory({"DATABASE_URL": store, "FRAME_ANCESTORS": allowed_origin})
    dashboard = server.url + "admin/metrics/"

    # Allowed portal: sign in inside the iframe, the dashboard draws its graphs there.
    browser.get(f"{allowed_page}?src={quote(dashboard, safe='')}")
    WebDriverWait(browser, 30).until(ec.frame_to_be_available_and_switch_to_it((By.ID, "metrics")))
    browser_login(browser)
    WebDriverWait(browser, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot"))
    )
    assert browser.execute_script("return window.top !== window.self")
    browser.switch_to.default_content()
    assert not _frame_refused(browser)

    # Any other origin: the browser refuses to show the app in the frame.
    browser.get(f"{other_page}?src={quote(dashboard, safe='')}")
    wait_for(lambda: _frame_refused(browser), what="Chromium to refuse the frame")
    browser.switch_to.frame(browser.find_element(By.ID, "metrics"))
    assert browser.execute_script("return location.href").startswith("chrome-error://")
    assert browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot") == []
    assert browser.find_elements(By.ID, "username") == []

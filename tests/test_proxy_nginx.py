"""The app mounted under a portal sub-path behind a REAL nginx (Debian package) on loopback.

Two nginx servers front one app (URL_PREFIX=/portal/metrics/):
- the *portal* (port 0): plain reverse proxy; it strips any X-Forwarded-User a client sends;
- the *SSO portal* (port 1): nginx authenticates the person (basic auth stands in for the
  portal's single sign-on) and passes the name in X-Forwarded-User.
nginx connects to the app from 127.0.0.2 (``proxy_bind``), the only trusted proxy address,
so a client talking to the app directly from 127.0.0.1 is untrusted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.accounts import hash_token, new_token
from db.engine import make_engine, session_factory, session_scope
from db.migrate import upgrade
from db.models import AdminUser, ApiToken
from tests.fixtures_deploy import Nginx, proxy_location
from tests.support import (
    ADMIN_PASSWORD,
    LiveServer,
    browser_login,
    create_user,
    http_login,
    http_logout,
    wait_for,
)

PREFIX = "/portal/metrics/"
SSO_PASSWORDS = {"alice": "alice-portal-pw", "viewer": "viewer-portal-pw", "carol": "carol-pw"}


@dataclass
class Portal:
    app: LiveServer
    nginx: Nginx
    store_url: str

    @property
    def base(self) -> str:
        """The app as the portal's visitors see it."""
        return self.nginx.url(0) + PREFIX

    @property
    def sso_base(self) -> str:
        return self.nginx.url(1) + PREFIX

    @property
    def direct_port(self) -> int:
        return int(urlsplit(self.app.url).port or 0)


@pytest.fixture
def portal(
    tmp_path: Path,
    live_server_factory: Callable[..., LiveServer],
    nginx_factory: Callable[..., Nginx],
) -> Portal:
    store = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    (tmp_path / "var").mkdir(exist_ok=True)
    upgrade(store)
    create_user(store, "admin")
    create_user(store, "alice")
    create_user(store, "viewer", admin=False)
    app = live_server_factory(
        {
            "DATABASE_URL": store,
            "URL_PREFIX": PREFIX,
            "AUTH_PROXY_HEADER": "X-Forwarded-User",
            "AUTH_PROXY_TRUSTED": "127.0.0.2",
            "AUTH_PROXY_AUTO_CREATE": "true",
        }
    )
    app_port = int(urlsplit(app.url).port or 0)
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in SSO_PASSWORDS.items()))

    def servers(ports: list[int]) -> str:
        plain = proxy_location(
            PREFIX, app_port, 'proxy_bind 127.0.0.2;\n proxy_set_header X-Forwarded-User "";'
        )
        sso = proxy_location(
            PREFIX,
            app_port,
            "proxy_bind 127.0.0.2;\n"
            "proxy_set_header X-Forwarded-User $remote_user;\n"
            'auth_basic "portal";\n'
            f"auth_basic_user_file {htpasswd};",
        )
        return (
            f"server {{ listen 127.0.0.1:{ports[0]}; {plain}\n"
            "  location / { return 404 'portal home'; } }\n"
            f"server {{ listen 127.0.0.1:{ports[1]}; {sso} }}\n"
        )

    nginx = nginx_factory(servers, 2)
    return Portal(app, nginx, store)


def _token(store_url: str, username: str = "admin") -> str:
    token = new_token()
    engine = make_engine(store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            user = session.query(AdminUser).filter_by(username=username).one()
            session.add(
                ApiToken(name=f"t-{username}", token_hash=hash_token(token), user_id=user.id)
            )
    finally:
        engine.dispose()
    return token


def _links(html: str) -> list[str]:
    return [
        m.group(2)
        for m in re.finditer(r'(src|href|action)="([^"]+)"', html)
        if not m.group(2).startswith(("data:", "#"))
    ]


def test_every_url_lives_under_the_prefix_through_nginx(portal: Portal) -> None:
    base, s = portal.base, requests.Session()

    # Anonymous: the page sends the visitor to the login form under the prefix.
    first = s.get(base + "admin/metrics/", allow_redirects=False, timeout=10)
    assert first.status_code == 302
    assert urlsplit(first.headers["Location"]).path == PREFIX + "login"
    login_page = s.get(base + "login", timeout=10)
    assert login_page.status_code == 200
    links = _links(login_page.text)
    assert links and all(link.startswith(PREFIX) for link in links), links
    for link in links:
        if "static/" in link:
            assert s.get(portal.nginx.url(0) + link, timeout=10).status_code == 200, link

    signed_in = http_login(s, base, "admin")
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == PREFIX + "admin/metrics/"

    # The Dash page: every script, stylesheet and link, and Dash's own request prefix.
    page = s.get(base + "admin/metrics/", timeout=10)
    assert page.status_code == 200
    links = _links(page.text)
    assert links and all(link.startswith(PREFIX) for link in links), links
    for link in links:
        if "_dash-component-suites" in link or link.endswith(".css"):
            assert s.get(portal.nginx.url(0) + link, timeout=10).status_code == 200, link
    config = re.search(
        r'<script id="_dash-config" type="application/json">(.*?)</script>', page.text
    )
    assert config is not None
    dash_config = json.loads(config.group(1))
    assert dash_config["requests_pathname_prefix"] == PREFIX + "admin/metrics/"
    for path in ("_dash-layout", "_dash-dependencies"):
        assert s.get(base + "admin/metrics/" + path, timeout=10).status_code == 200

    # REST API and downloads, with a bearer token, through the same sub-path.
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {_token(portal.store_url)}"
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert api.get(base + "api/v1/metrics/status", timeout=10).status_code == 200
    export = api.post(
        base + "api/v1/metrics/export",
        json={
            "metric_types": ["active_users"],
            "start_date": (now - timedelta(days=1)).isoformat(),
            "end_date": now.isoformat(),
            "granularity": "hourly",
            "format": "csv",
        },
        timeout=30,
    )
    assert export.status_code in (200, 201), export.text
    download = export.json()["download_url"]
    assert download.startswith(PREFIX + "api/v1/exports/"), download
    csv = api.get(portal.nginx.url(0) + download, timeout=10)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    spec = api.get(base + "api/v1/openapi.json", timeout=10)
    assert spec.status_code == 200

    # Sign-out returns to the login form under the prefix.
    out = http_logout(s, base)
    assert urlsplit(out.headers["Location"]).path == PREFIX + "login"
    assert s.get(base + "admin/metrics/", allow_redirects=False, timeout=10).status_code == 302

    # Nothing answers outside the prefix: not through nginx, not on the app itself.
    assert s.get(portal.nginx.url(0) + "/admin/metrics/", timeout=10).status_code == 404
    direct = f"http://127.0.0.1:{portal.direct_port}/"
    for path in ("admin/metrics/", "login", "healthz", "api/v1/metrics/status"):
        # (anonymous requests get the guard's 401 first: default deny)
        assert api.get(direct + path, allow_redirects=False, timeout=10).status_code == 404, path


def test_browser_signs_in_and_loads_the_dashboard_through_nginx(
    portal: Portal, browser: Any
) -> None:
    browser.get(portal.base + "admin/metrics/")
    wait_for(lambda: "/login" in browser.current_url, what="login redirect")
    browser_login(browser)
    WebDriverWait(browser, 60).until(
        lambda b: urlsplit(b.current_url).path == PREFIX + "admin/metrics/"
    )
    WebDriverWait(browser, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#react-entry-point *"))
    )
    # Graphs are drawn through Dash callbacks, i.e. POSTs under the prefix via nginx.
    WebDriverWait(browser, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot"))
    )
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    http = [u for u in urls if u.startswith("http")]
    assert http, "requests were logged"
    origin = portal.nginx.url(0)
    outside = [u for u in http if not u.startswith(origin + PREFIX)]
    assert outside == []
    assert any("_dash-update-component" in u for u in http)
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_portal_sign_on_through_nginx(portal: Portal) -> None:
    base = portal.sso_base
    alice = requests.Session()
    alice.auth = ("alice", SSO_PASSWORDS["alice"])
    page = alice.get(base + "admin/metrics/", allow_redirects=False, timeout=10)
    assert page.status_code == 200, "signed on by the portal: no login form"
    assert alice.get(base + "admin/metrics/_dash-layout", timeout=10).status_code == 200
    assert alice.get(base + "api/v1/metrics/status", timeout=10).status_code == 200

    viewer = requests.get(
        base + "admin/metrics/", auth=("viewer", SSO_PASSWORDS["viewer"]), timeout=10
    )
    assert viewer.status_code == 403

    # AUTH_PROXY_AUTO_CREATE=true: a portal user unknown here becomes an admin.
    carol = requests.get(
        base + "admin/metrics/", auth=("carol", SSO_PASSWORDS["carol"]), timeout=10
    )
    assert carol.status_code == 200
    engine = make_engine(portal.store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            row = session.query(AdminUser).filter_by(username="carol").one()
            assert row.is_admin
    finally:
        engine.dispose()

    # The portal itself refuses a wrong portal password (nginx, before the app).
    bad = requests.get(base + "admin/metrics/", auth=("alice", "nope"), timeout=10)
    assert bad.status_code == 401
    assert "signed in through the proxy from 127.0.0.2" in portal.app.log_text()


def test_sign_on_header_is_not_trusted_from_other_addresses(portal: Portal) -> None:
    # Straight to the app from 127.0.0.1 (trusted: only 127.0.0.2).
    direct = f"http://127.0.0.1:{portal.direct_port}{PREFIX}"
    forged = {"X-Forwarded-User": "alice", "X-Forwarded-For": "127.0.0.2"}
    page = requests.get(
        direct + "admin/metrics/", headers=forged, allow_redirects=False, timeout=10
    )
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    api = requests.get(direct + "api/v1/metrics/status", headers=forged, timeout=10)
    assert api.status_code == 401
    wait_for(
        lambda: (
            "Ignored sign-on header X-Forwarded-User from untrusted address 127.0.0.1"
            in portal.app.log_text()
        ),
        what="the ignored header to be logged",
    )

    # Through the plain portal, which strips the client's header before it reaches the app.
    smuggled = requests.get(
        portal.base + "admin/metrics/", headers=forged, allow_redirects=False, timeout=10
    )
    assert smuggled.status_code == 302


def test_password_sign_in_still_works_beside_the_portal(portal: Portal) -> None:
    s = requests.Session()
    assert http_login(s, portal.base, "admin", ADMIN_PASSWORD).status_code == 302
    assert s.get(portal.base + "admin/metrics/", timeout=10).status_code == 200

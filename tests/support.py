"""Helpers many test files share (and the benchmark scripts): sign-in, accounts, the live
server, polling for a condition, history seeding, source databases, PostgreSQL admin SQL.

Imported as ``from tests.support import ...``; ``conftest.py`` holds only fixtures and is
never imported.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import insert

from collectors.source import SQLITE_TIMESTAMP_FORMAT
from dashboard.context import get_context
from dashboard.page import ids
from db.accounts import hash_token, new_token, set_admin_password
from db.engine import make_engine, store_session
from db.metrics import METRIC_IDS
from db.models import AdminUser, ApiToken, MetricSnapshot
from db.periods import day_window, local_date
from tests.pgserver import free_port

REPO = Path(__file__).resolve().parent.parent
AXE = REPO / "tests" / "vendor" / "axe.min.js"  # axe-core, for the accessibility checks
ADMIN_PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- PostgreSQL --------------------------------------------------------------------------
def pg_url_for(admin_url: str, dbname: str) -> str:
    """The URL of database ``dbname`` on the server of ``admin_url``."""
    return sa.engine.make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)


def admin_exec(admin_url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    engine = make_engine(admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


# --- accounts and signing in -------------------------------------------------------------
def create_user(
    url: str, username: str, password: str = ADMIN_PASSWORD, *, admin: bool = True
) -> None:
    with store_session(url) as session:
        user, _ = set_admin_password(session, username, password)
        user.is_admin = admin


def stored_token(app: Flask, username: str) -> str:
    """A new API token of ``username`` stored directly — also for a non-admin, whom the CLI
    refuses: a token is how such a caller shows up (a non-admin cannot sign in)."""
    token = new_token()
    with get_context(app).session() as session:
        user = session.query(AdminUser).filter_by(username=username).one()
        name = f"test-{username}-{token[-8:]}"
        session.add(ApiToken(name=name, token_hash=hash_token(token), user_id=user.id))
    return token


def login(client: FlaskClient, username: str, password: str = ADMIN_PASSWORD) -> Any:
    """Sign in a Flask test client through the login form (CSRF token included)."""
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "login form has a CSRF token"
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )


def http_login(
    session: requests.Session, base: str, username: str, password: str = ADMIN_PASSWORD
) -> requests.Response:
    """Sign in through the login form at ``{base}login`` (CSRF token included)."""
    page = session.get(base + "login", timeout=10)
    token = CSRF.search(page.text)
    assert token, f"login form with a CSRF token at {base}login ({page.status_code})"
    return session.post(
        base + "login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=10,
    )


def http_logout(session: requests.Session, base: str) -> requests.Response:
    """Sign out with the button of ``{base}logout`` (a POST with the CSRF token)."""
    page = session.get(base + "logout", timeout=10)
    token = CSRF.search(page.text)
    assert token, f"sign-out form with a CSRF token at {base}logout ({page.status_code})"
    return session.post(
        base + "logout", data={"csrf_token": token.group(1)}, allow_redirects=False, timeout=10
    )


def browser_login(browser: Any, password: str = ADMIN_PASSWORD, username: str = "admin") -> None:
    """Fill the login form the browser is showing and submit it."""
    wait = WebDriverWait(browser, 30)
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def sign_in(browser: Any, server: LiveServer, path: str = "admin/metrics/") -> None:
    """Sign the browser in as admin on ``server`` and open ``path``."""
    browser.get(server.url + "login")
    browser_login(browser)
    wait_for(lambda: "/admin/metrics/" in browser.current_url, 30, "signed in")
    if path != "admin/metrics/":
        browser.get(server.url + path)


def assert_local_and_clean(browser: Any) -> None:
    """Every request the page made stayed on this machine, and the console has no errors."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    web = [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    assert web, "the performance log recorded the page's requests"
    outside = [u for u in web if urlsplit(u).hostname != "127.0.0.1"]
    assert outside == [], outside
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe


def axe_violations(browser: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page now (WCAG 2.1 A/AA rules)."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',
            'wcag21aa']}}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.failureSummary)
        })))).catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));
        """
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


# --- live server -------------------------------------------------------------------------


class LiveServer:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_live_server(
    env_overrides: dict[str, str], tmp_path: Path, *, workers: int = 1, timeout: float = 60
) -> LiveServer:
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SOURCE_"))}
    env.update(
        {
            "SECRET_KEY": "live-secret-key-0123456789abcdef",
            "DATA_DIR": str(tmp_path / "var"),
            "METRICS_COLLECTION_ENABLED": "false",
            # A Chromium per live server would swamp the test machine (tests can ask).
            "CHART_RENDERER_WARM": "false",
        }
    )
    env.update(env_overrides)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "admin_metrics.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    prefix = env.get("URL_PREFIX", "/").strip("/")
    base = f"http://127.0.0.1:{port}/" + (prefix + "/" if prefix else "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')}")
        try:
            if requests.get(base + "healthz", timeout=2).status_code == 200:
                return LiveServer(proc, base, log)
        except (requests.ConnectionError, requests.Timeout):  # a worker still booting
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become healthy:\n{log.read_text(errors='replace')}")


def stop_live_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()


CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--disable-quic",
)


def chromium_binary() -> str | None:
    for path in ("/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if Path(path).exists():
            return path
    return shutil.which("chromium")


# --- history seeding ---------------------------------------------------------------------

# Hours (counted back from the newest slot) that have no data: gaps to draw dotted.
DEFAULT_GAPS = (5, 6, 7, 50, 200)


def metric_value(metric: str, slot: datetime) -> int:
    """A deterministic, plausible value for ``metric`` at ``slot``."""
    hours = slot.timestamp() / 3600
    day = 0.5 + 0.5 * math.sin((slot.hour - 6) / 24 * 2 * math.pi)  # busy in the daytime
    week = 0.85 if slot.weekday() >= 5 else 1.0
    growth = 1 + (hours % 100_000) / 100_000
    base = {
        "active_users": 120 * day * week * growth + 15,
        "storage_bytes": 48 * 1024**3 * growth,
        "active_sessions": 260 * day * week * growth + 20,
        "conversation_count": 150_000 * growth,
        "document_count": 42_000 * growth,
        "tag_count": 900 * growth,
    }[metric]
    return max(0, int(base))


def hourly_slots(newest: datetime, days: int, gaps: Iterable[int]) -> list[datetime]:
    missing = set(gaps)
    return [newest - timedelta(hours=h) for h in range(days * 24) if h not in missing]


def seed_history(
    url: str,
    *,
    newest: datetime | None = None,
    hourly_days: int = 30,
    daily_days: int = 90,
    gaps: Iterable[int] = DEFAULT_GAPS,
    zone: str = "Asia/Seoul",
) -> datetime:
    """Insert the history; returns the newest hourly slot."""
    now = datetime.now(UTC)
    newest = newest or now.replace(minute=0, second=0, microsecond=0)
    rows: list[dict[str, object]] = []
    for slot in hourly_slots(newest, hourly_days, gaps):
        rows += [
            {
                "metric_type": m,
                "value": metric_value(m, slot),
                "granularity": "hourly",
                "collected_at": slot,
            }
            for m in METRIC_IDS
        ]
    # Daily rows are business days (BUSINESS_TIMEZONE, default Asia/Seoul): the mean of that
    # local day's hourly values, stored at its local midnight, up to yesterday.
    today = local_date(newest, zone)
    for d in range(1, daily_days + 1):
        window = day_window(today - timedelta(days=d), zone)
        hours = int(window.length.total_seconds() // 3600)
        for m in METRIC_IDS:
            values = [metric_value(m, window.start + timedelta(hours=h)) for h in range(hours)]
            rows.append(
                {
                    "metric_type": m,
                    "value": round(sum(values) / hours),
                    "granularity": "daily",
                    "collected_at": window.start,
                }
            )
    with store_session(url) as session:
        for i in range(0, len(rows), 5000):
            session.execute(insert(MetricSnapshot), rows[i : i + 5000])
    return newest


def insert_source_rows(
    session: Any,
    metric: str,
    values: dict[datetime, int],
    *,
    source: str,
    label: str = "",
    granularity: str = "hourly",
) -> None:
    """One series' rows of any source and label (the collector writes only the default
    source's), ``values`` by slot."""
    session.execute(
        insert(MetricSnapshot),
        [
            {
                "metric_type": metric,
                "source": source,
                "label": label,
                "value": value,
                "granularity": granularity,
                "collected_at": slot,
            }
            for slot, value in values.items()
        ],
    )


def render_request(
    dependencies: list[dict[str, Any]],
    *,
    search: str,
    tz: str = "Asia/Seoul",
    lang: str = "ko",
    slot: str | None = "seen",
    theme: str | None = None,
    layouts: list[str] | None = None,
) -> dict[str, Any]:
    """The body of a ``_dash-update-component`` POST that (re)draws the six graphs, built
    from ``_dash-dependencies`` like the browser does (``layouts``: the layout keys of the
    graphs the browser shows; None: a first drawing)."""
    values = {
        ("url", "search"): search,
        ("viewer-timezone", "data"): tz,
        ("latest-slot", "data"): slot,
        ("retry-button", "n_clicks"): None,
        ("page-lang", "data"): lang,
        ("page-theme", "data"): theme,
        ("events-version", "data"): 0,
        ("graph-layouts", "data"): layouts,
    }
    return callback_request(dependencies, "graph-active_users.figure", values)


def figure_array(value: Any) -> list[Any]:
    """A figure array as Dash sends it: a list, or a typed array (base64 of its dtype)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


PAGE_URL = "http://localhost/admin/metrics/"


def callback_request(
    dependencies: list[dict[str, Any]],
    output_part: str,
    values: dict[tuple[str, str], Any],
    changed: str | None = None,
) -> dict[str, Any]:
    """The body of a ``_dash-update-component`` POST for the callback whose output names
    ``output_part``, with the browser's ``values`` by (component id, property). The page's
    address is the URL's query string on this page, as in the browser; ``changed`` defaults
    to whichever of the two the callback takes."""
    callback = next(d for d in dependencies if output_part in d["output"])
    if ("url", "search") in values:
        values = {("url", "href"): PAGE_URL + (values[("url", "search")] or ""), **values}
    if changed is None:
        takes = {(i["id"], i["property"]) for i in callback["inputs"]}
        changed = "url.href" if ("url", "href") in takes else "url.search"

    def spec(item: dict[str, str]) -> dict[str, Any]:
        return {**item, "value": values[(item["id"], item["property"])]}

    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in callback["output"].strip(".").split("...")
    ]
    return {
        "output": callback["output"],
        "outputs": outputs,
        "inputs": [spec(i) for i in callback["inputs"]],
        "state": [spec(s) for s in callback["state"]],
        "changedPropIds": [changed],
    }


# Export tests: a small store with known values and a known gap.

# A METRICS_CATALOGUE_FILE with a per-slot count (its query runs on the store, the
# source of these tests) and a labelled gauge.
EXTRAS_CATALOGUE = """
[metrics.messages]
name_ko = "메시지 수"
name_en = "Messages"
unit = "count"
kind = "per_slot"
rollup = "sum"
query = '''SELECT count(*) FROM metric_snapshots
           WHERE collected_at >= :slot_start AND collected_at < :slot_end'''

[metrics.by_model]
name_ko = "모델별 대화 수"
name_en = "Conversations by model"
unit = "conversations"
kind = "gauge"
rollup = "max"
labelled = true
query = "SELECT 'llama', 1"
"""

T0 = datetime(2025, 11, 1, tzinfo=UTC)
HOURS = 24
GAP_HOURS = (5, 6)  # both slots failed: no metric has a value there


def stored_value(metric_index: int, hour: int) -> int:
    """Distinct, large-ish values (storage in the billions) so a rounding bug would show."""
    if METRIC_IDS[metric_index] == "storage_bytes":
        return 5_000_000_000 + hour * 1_234_567
    return 100 * (metric_index + 1) + hour * (metric_index + 1)


def seed_hourly(session: Any, hours: int = HOURS, gaps: tuple[int, ...] = GAP_HOURS) -> None:
    for hour in range(hours):
        if hour in gaps:
            continue
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=stored_value(index, hour),
                    granularity="hourly",
                    collected_at=T0 + timedelta(hours=hour),
                )
            )


def seed_daily(session: Any, start: datetime, days: int) -> None:
    for day in range(days):
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=stored_value(index, day),
                    granularity="daily",
                    collected_at=start + timedelta(days=day),
                )
            )


def seed_recent_hourly(session: Any, hours: int = 48) -> datetime:
    """Hourly rows ending at the current hour (presets and API retention checks are relative
    to now); returns that newest slot. Values: ``1000 × (metric index + 1) + hours ago``."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in range(hours):
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=1000 * (index + 1) + h,
                    granularity="hourly",
                    collected_at=now - timedelta(hours=h),
                )
            )
    return now


# --- the command line ---------------------------------------------------------------------
def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``admin-metrics`` run: no database settings from this one,
    ``DATA_DIR`` under ``tmp_path``, collection off, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SOURCE_"))}
    env.update(
        {
            "DATA_DIR": str(tmp_path / "var"),
            "SECRET_KEY": "cli-secret-key-0123456789abcdef",
            "METRICS_COLLECTION_ENABLED": "false",
        }
    )
    env.update(extra)
    return env


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``admin-metrics ARGS`` in the folder ``tmp_path``; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-c", "from admin_metrics.cli import main; main()", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- source databases (collection tests) -------------------------------------------------

SOURCE_SCHEMA = (
    "CREATE TABLE users (id {pk}, name VARCHAR(50))",
    "CREATE TABLE sessions (id {pk}, user_id INTEGER, expires_at {ts})",
    "CREATE TABLE conversations (id {pk}, title VARCHAR(50))",
    "CREATE TABLE documents (id {pk}, file_size BIGINT)",
    "CREATE TABLE tags (id {pk}, name VARCHAR(50))",
)


def source_url_for(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A separate, empty source database on the store's backend, with the app's tables."""
    if store_url.startswith("postgresql"):
        url: str = request.getfixturevalue("empty_pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'source.db'}"
    create_source_tables(url)
    return url


def create_source_tables(url: str) -> None:
    """The LLM web app's tables (empty) in the database ``url``."""
    if url.startswith("postgresql"):
        ts, pk = "TIMESTAMPTZ", "SERIAL PRIMARY KEY"
    else:
        ts, pk = "TEXT", "INTEGER PRIMARY KEY"  # SQLite sources keep UTC text timestamps
    run_sql(url, [sql.format(ts=ts, pk=pk) for sql in SOURCE_SCHEMA])


def run_sql(
    url: str, statements: Iterable[str], params: list[dict[str, object]] | None = None
) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql), params or {})
    finally:
        engine.dispose()


def stamp(url: str, when: datetime) -> object:
    """A timestamp in the source's representation."""
    if url.startswith("sqlite"):
        return when.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)
    return when


def fill_source(
    url: str,
    now: datetime,
    *,
    users: int,
    live_sessions: list[int],
    expired_sessions: list[int],
    conversations: int,
    file_sizes: list[int],
    tags: int,
) -> None:
    """Rows with ids; sessions given by their user ids (live: expire after ``now``)."""
    from datetime import timedelta

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for i in range(users):
                conn.execute(sa.text("INSERT INTO users (name) VALUES (:n)"), {"n": f"u{i}"})
            for user_id, delta in [(u, 1) for u in live_sessions] + [
                (u, -1) for u in expired_sessions
            ]:
                conn.execute(
                    sa.text("INSERT INTO sessions (user_id, expires_at) VALUES (:u, :e)"),
                    {"u": user_id, "e": stamp(url, now + timedelta(hours=delta))},
                )
            for i in range(conversations):
                conn.execute(
                    sa.text("INSERT INTO conversations (title) VALUES (:t)"), {"t": f"c{i}"}
                )
            for size in file_sizes:
                conn.execute(sa.text("INSERT INTO documents (file_size) VALUES (:s)"), {"s": size})
            for i in range(tags):
                conn.execute(sa.text("INSERT INTO tags (name) VALUES (:n)"), {"n": f"t{i}"})
    finally:
        engine.dispose()


# --- sessions, sign-in limits and the audit log ----------------------------------------------
SESSION_COOKIE = "admin_metrics_session"
DASH_PAGE = "/admin/metrics/"


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
    dependencies = client.get(DASH_PAGE + "_dash-dependencies")
    assert dependencies.status_code == 200
    return render_request(dependencies.get_json(), search="?range=7")


def data_routes(client: FlaskClient, export_url: str, body: dict[str, Any]) -> dict[str, int]:
    """Status codes of the page, Dash's endpoints, the API and an export download."""
    return {
        "page": client.get(DASH_PAGE).status_code,
        "layout": client.get(DASH_PAGE + "_dash-layout").status_code,
        "callback": client.post(DASH_PAGE + "_dash-update-component", json=body).status_code,
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


def page_export_request(
    client: FlaskClient,
    button: str,
    *,
    search: str = "?range=7&granularity=hourly",
    tz: str | None = "Asia/Seoul",
    lang: str = "ko",
) -> Any:
    """Click the page's CSV or PDF button, as the browser posts it to Dash."""
    payload = {
        "output": f"..{ids.EXPORT_DOWNLOAD}.data...{ids.EXPORT_STATUS}.children..",
        "outputs": [
            {"id": ids.EXPORT_DOWNLOAD, "property": "data"},
            {"id": ids.EXPORT_STATUS, "property": "children"},
        ],
        "inputs": [
            {"id": ids.EXPORT_CSV_BUTTON, "property": "n_clicks", "value": 1},
            {"id": ids.EXPORT_PDF_BUTTON, "property": "n_clicks", "value": 1},
        ],
        "state": [
            {"id": ids.URL, "property": "search", "value": search},
            {"id": ids.TIMEZONE, "property": "data", "value": tz},
            {"id": ids.LANG, "property": "data", "value": lang},
        ],
        "changedPropIds": [f"{button}.n_clicks"],
    }
    return client.post(DASH_PAGE + "_dash-update-component", json=payload)

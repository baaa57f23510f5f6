"""Shared fixtures: real PostgreSQL and SQLite stores (through migrations), settings,
app personas (admin, non-admin, anonymous), a live server subprocess and headless Chromium.

Only fixtures live here (nothing imports this file); helpers are in ``tests/support.py``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin_metrics.settings import Settings
from db.engine import make_engine, session_factory, session_scope
from db.migrate import upgrade
from tests.pgserver import PgServer
from tests.support import (
    CHROMIUM_FLAGS,
    LiveServer,
    admin_exec,
    chromium_binary,
    create_user,
    login,
    pg_url_for,
    start_live_server,
    stop_live_server,
)

pytest_plugins = ["tests.fixtures_deploy"]


# --- PostgreSQL --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = PgServer().start()
    try:
        yield server.admin_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> str:
    """A database migrated to head once; each test clones it (fast, and still migrations)."""
    name = f"amh_tmpl_{uuid.uuid4().hex[:8]}"
    admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
    upgrade(pg_url_for(pg_admin_url, name))
    return name


@pytest.fixture
def pg_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"amh_t_{uuid.uuid4().hex[:10]}"
    admin_exec(pg_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield pg_url_for(pg_admin_url, name)
    admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database with no tables at all."""
    name = f"amh_e_{uuid.uuid4().hex[:10]}"
    admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
    yield pg_url_for(pg_admin_url, name)
    admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- SQLite ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "metrics.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite store for one test."""
    target = tmp_path / "var" / "metrics.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["postgresql", "sqlite"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Run a store test on both backends."""
    fixture = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store_sessions(store_url: str) -> Iterator[Callable[[], Any]]:
    """``with store_sessions() as session:`` on the parametrised store."""
    engine = make_engine(store_url)
    factory = session_factory(engine)
    yield lambda: session_scope(factory)
    engine.dispose()


# --- settings and app --------------------------------------------------------------------
@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings independent of the machine's environment and any .env file."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "var",
            "secret_key": "test-secret-key-0123456789abcdef",
            "metrics_collection_enabled": False,
            # One Chromium per app would swamp the test machine; tests that need a warm
            # renderer ask for it.
            "chart_renderer_warm": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


@pytest.fixture
def app(store_url: str, make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    from dashboard.app import create_app
    from dashboard.context import get_context

    create_user(store_url, "admin")
    create_user(store_url, "viewer", admin=False)
    flask_app = create_app(make_settings(database_url=store_url))
    flask_app.config["TESTING"] = True
    yield flask_app
    get_context(flask_app).engine.dispose()


@pytest.fixture
def anon_client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    return client


@pytest.fixture
def viewer_client(app: Flask) -> FlaskClient:
    """A signed-in account without admin rights."""
    client = app.test_client()
    login(client, "viewer")
    return client


# --- live server and browser -------------------------------------------------------------
@pytest.fixture
def live_server_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def factory(env: dict[str, str], **kwargs: Any) -> LiveServer:
        server = start_live_server(env, tmp_path, **kwargs)
        started.append(server)
        return server

    yield factory
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in started:
        stop_live_server(server)
        if failed:
            print(f"\n--- server log {server.url} ---\n{server.log_text()}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Real headless Debian Chromium through chromedriver, with console and network logs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = chromium_binary()
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail("chromium and chromium-driver must be installed (scripts/test.sh does it)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()

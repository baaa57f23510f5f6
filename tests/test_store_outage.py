"""A real PostgreSQL stopped under a running server and started again: the page shows its
designed failure message with the retry button (no bare 500), and recovers afterwards
without a restart of the server."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.engine import make_engine
from db.migrate import upgrade
from tests.pgserver import PgServer
from tests.support import LiveServer, browser_login, create_user, http_login, seed_history

LOAD_FAILED = "메트릭 데이터를 불러오는데 실패했습니다"


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL of this test alone (the shared one must not be stopped)."""
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_server(
    own_pg: PgServer, live_server_factory: Callable[..., LiveServer]
) -> tuple[PgServer, LiveServer]:
    name = f"amh_o_{uuid.uuid4().hex[:8]}"
    engine = make_engine(own_pg.admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = own_pg.url(name)
    upgrade(url)
    create_user(url, "admin")
    seed_history(url, hourly_days=3, daily_days=10)
    return own_pg, live_server_factory({"DATABASE_URL": url})


def _statuses(log: str) -> set[str]:
    return set(re.findall(r'" (\d{3}) \d+ "', log))


def test_requests_during_an_outage_get_503_with_a_message(
    outage_server: tuple[PgServer, LiveServer],
) -> None:
    pg, server = outage_server
    client = requests.Session()
    assert http_login(client, server.url, "admin").status_code == 302
    assert client.get(server.url + "admin/metrics/", timeout=10).status_code == 200
    pg.pause()
    try:
        page = client.get(server.url + "admin/metrics/", timeout=30)
        assert page.status_code == 503 and LOAD_FAILED in page.text
        assert 'id="retry-button"' in page.text
        layout = client.get(server.url + "admin/metrics/_dash-layout", timeout=30)
        assert layout.status_code == 503
        assert layout.json() == {"error": LOAD_FAILED, "code": "STORE_UNAVAILABLE"}
        api = client.get(server.url + "api/v1/metrics/status", timeout=30)
        assert api.status_code == 503 and api.json()["code"] == "STORE_UNAVAILABLE"
        login = client.get(server.url + "login", timeout=30)
        assert login.status_code == 200, "the sign-in form itself needs no store"
    finally:
        pg.resume()
    assert client.get(server.url + "admin/metrics/", timeout=30).status_code == 200
    log = server.log_text()
    assert "Traceback" not in log
    assert not [s for s in _statuses(log) if s.startswith("5") and s != "503"]


@pytest.mark.browser
def test_the_page_shows_its_message_while_the_store_is_down_and_recovers(
    outage_server: tuple[PgServer, LiveServer], browser: Any
) -> None:
    pg, server = outage_server
    wait = WebDriverWait(browser, 60)
    browser.get(server.url + "admin/metrics/")
    browser_login(browser)
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot")))

    pg.pause()
    try:
        # Any interaction sends Dash requests; each gets the JSON 503 the page turns into
        # its message.
        preset = browser.find_element(By.XPATH, "//*[@id='range-preset']//label[contains(., '30')]")
        preset.click()
        alert = wait.until(ec.visibility_of_element_located((By.ID, "load-error")))
        assert LOAD_FAILED in alert.text
        assert browser.find_element(By.ID, "retry-button").is_displayed()
        wait.until(ec.invisibility_of_element_located((By.ID, "metrics-content")))
        # Retrying while the store is still down keeps the message.
        browser.find_element(By.ID, "retry-button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "load-error")))
    finally:
        pg.resume()

    browser.find_element(By.ID, "retry-button").click()
    wait.until(ec.invisibility_of_element_located((By.ID, "load-error")))
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot")))
    # Choices made while the store was down can be made again now.
    browser.find_element(By.XPATH, "//*[@id='range-preset']//label[contains(., '90')]").click()
    wait.until(lambda b: "range=90" in b.current_url)
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot")))
    log = server.log_text()
    assert "Traceback" not in log
    assert not [s for s in _statuses(log) if s.startswith("5") and s != "503"]

"""The status light in real headless Chromium: clicking it opens the recent failed slots —
time in the viewer's zone, metric, reason — in Korean and in English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from collectors.accounting import MISSED_MESSAGE, account_for_slots
from collectors.registry import DEFAULT_QUERIES
from collectors.runner import collect_slot
from collectors.source import make_source_engine
from dashboard.page import ids
from db.engine import make_engine, session_factory
from db.models import MetricSnapshot
from tests.support import LiveServer, create_source_tables, create_user, seed_history, sign_in

pytestmark = pytest.mark.browser
TIMEOUT = 30
HOUR = timedelta(hours=1)


def _drop_slots(url: str, slots: list[datetime]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(MetricSnapshot).where(MetricSnapshot.collected_at.in_(slots)))
    finally:
        engine.dispose()


@pytest.fixture
def with_failures(pg_url: str, tmp_path: Path) -> tuple[str, datetime]:
    """Two days of history with three failed slots of the last hours, recorded by the real
    collection code: one whose tag_count query failed, two no collector ran for."""
    create_user(pg_url, "admin")
    newest = seed_history(pg_url, hourly_days=2, daily_days=2, gaps=())
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    create_source_tables(source_url)
    engine = make_engine(pg_url)
    sessions = session_factory(engine)
    source = make_source_engine(source_url)
    try:
        _drop_slots(pg_url, [newest - 6 * HOUR])
        broken = dict(DEFAULT_QUERIES, tag_count="SELECT count(*) FROM labels")
        collect_slot(sessions, source, broken, newest - 6 * HOUR, sleep=lambda _s: None)
        _drop_slots(pg_url, [newest - 3 * HOUR, newest - 4 * HOUR])
        account_for_slots(sessions, datetime.now(UTC), owner="test:1")
    finally:
        source.dispose()
        engine.dispose()
    return pg_url, newest


def open_failures(browser: Any) -> str:
    WebDriverWait(browser, TIMEOUT).until(
        lambda b: any(e.text.strip() for e in b.find_elements(By.ID, ids.STATUS_BADGE)),
        "the status badge",
    )
    browser.find_element(By.ID, ids.STATUS_BUTTON).click()
    body = WebDriverWait(browser, TIMEOUT).until(
        lambda b: (
            (e := b.find_elements(By.ID, ids.STATUS_FAILURES))
            and e[0].is_displayed()
            and e[0].text.strip()
            and e[0]
        ),
        "the failures popover",
    )
    return str(body.text)


def assert_clean_console(browser: Any) -> None:
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe


def test_clicking_the_status_light_lists_the_failed_slots_in_the_viewers_zone(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    with_failures: tuple[str, datetime],
) -> None:
    url, newest = with_failures
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Seoul"})
    server = live_server_factory({"DATABASE_URL": url, "DEFAULT_TIMEZONE": "UTC"})
    sign_in(browser, server)
    WebDriverWait(browser, TIMEOUT).until(
        lambda b: any("24시간 실패 3" in e.text for e in b.find_elements(By.ID, ids.STATUS_BADGE)),
        "the badge counting 3 failed slots",
    )

    text = open_failures(browser)
    seoul = {h: (newest - h * HOUR + 9 * HOUR).strftime("%Y-%m-%d %H:%M") for h in (3, 4, 6)}
    lines = text.splitlines()
    assert "실패한 수집 3회 (수집기 없음·중단 2회)" in text, text
    assert lines.index(next(x for x in lines if seoul[3] in x)) < lines.index(
        next(x for x in lines if seoul[6] in x)
    ), "newest first"
    missed = [x for x in lines if seoul[4] in x]
    assert missed and "전체 메트릭" in missed[0] and MISSED_MESSAGE in missed[0], text
    culprit = [x for x in lines if seoul[6] in x]
    assert any("태그 수" in x and "labels" in x for x in culprit), text
    assert any("메트릭 5개" in x for x in culprit), text
    assert newest.strftime("%Y-%m-%d %H:%M") not in text  # UTC times are not shown

    # English, and a slot stored after all leaves the list.
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(MetricSnapshot),
                [
                    {
                        "metric_type": m,
                        "value": 1,
                        "granularity": "hourly",
                        "collected_at": newest - 6 * HOUR,
                    }
                    for m in DEFAULT_QUERIES
                ],
            )
    finally:
        engine.dispose()
    browser.get(server.url + "admin/metrics/?lang=en")
    text = open_failures(browser)
    assert "Collection failures, last 24 h" in browser.page_source
    assert "2 failed slot(s)" in text and "All metrics" in text, text
    assert "No collector was running at this time" in text and MISSED_MESSAGE not in text
    assert seoul[6] not in text and seoul[3] in text
    assert_clean_console(browser)


def test_the_popover_says_when_nothing_failed(
    browser: Any, live_server_factory: Callable[..., LiveServer], pg_url: str
) -> None:
    create_user(pg_url, "admin")
    seed_history(pg_url, hourly_days=1, daily_days=1, gaps=())
    server = live_server_factory({"DATABASE_URL": pg_url})
    sign_in(browser, server, "admin/metrics/?lang=en")
    assert "No failed collections in the last 24 hours." in open_failures(browser)
    assert_clean_console(browser)

"""Events, forecasts and unusual values on the dashboard in real headless Chromium: marks on
all six graphs, the events card (add from a graph's time, edit, delete), the trend on the
growing metrics with its sentence on the card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from dashboard.page import ids
from db import events as store
from db.engine import store_session
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure
from tests.support import LiveServer, create_user, seed_history, sign_in

pytestmark = pytest.mark.browser
TIMEOUT = 40

# Per graph: its event marks (the triangles' hover texts), the event shapes' kinds, and the
# roles of the overlay traces.
MARKS_JS = """
return arguments[0].map(id => {
    const el = document.getElementById(id);
    const g = el && (el.classList.contains('js-plotly-plot') ? el
        : el.querySelector('.js-plotly-plot'));
    if (!g || !g._fullData || !g.querySelector('.scatterlayer .trace')) return null;
    const marks = g._fullData.find(t => t.meta && t.meta.role === 'event');
    return {
        events: marks ? Array.from(marks.text) : [],
        shapes: (g.layout.shapes || []).map(s => s.name),
        roles: g._fullData.map(t => t.meta && t.meta.role).filter(r => r),
    };
});
"""


def graph_marks(browser: Any) -> list[dict[str, Any]] | None:
    marks = browser.execute_script(MARKS_JS, [ids.graph(m) for m in METRIC_IDS])
    return marks if all(marks) else None


def wait_for(browser: Any, condition: Callable[[Any], Any], message: str) -> Any:
    return WebDriverWait(
        browser, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition, message)


def dialog_closed(browser: Any) -> bool:
    """The event dialog and its backdrop are gone (they fade out after a save)."""
    return not browser.find_elements(By.CSS_SELECTOR, ".modal.show, .modal-backdrop")


def click(browser: Any, xpath: str) -> None:
    """Click a button of the events list, brought to the middle of the window first."""
    button = browser.find_element(By.XPATH, xpath)
    # Bootstrap scrolls smoothly: jump at once, so the click lands where the button is.
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", button
    )
    button.click()


def events_text(browser: Any) -> str:
    return str(browser.find_element(By.ID, ids.EVENTS_LIST).text)


@pytest.fixture
def seeded(pg_url: str) -> tuple[str, datetime]:
    """30 days of history; the slots 5–7 h ago failed (recorded: an automatic outage event),
    and a release two days ago."""
    create_user(pg_url, "admin")
    newest = seed_history(pg_url, hourly_days=30, daily_days=90)
    with store_session(pg_url) as session:
        for hours in (5, 6, 7):
            for metric in METRIC_IDS:
                session.add(
                    MetricCollectionFailure(
                        metric_type=metric,
                        granularity="hourly",
                        attempted_at=newest - timedelta(hours=hours),
                        error_message="소스 데이터베이스 연결 실패",
                    )
                )
        store.add_event(
            session,
            start=newest - timedelta(days=2),
            end=None,
            title="v2.1 배포",
            kind="release",
            description="모델 서버 교체",
            created_by="admin",
        )
    return pg_url, newest


def test_events_forecast_and_the_events_card(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    url, newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    sign_in(browser, server)

    # Both events are marked on all six graphs: a line (and a band for the outage's range)
    # with a hover naming them.
    marks = wait_for(
        browser,
        lambda b: (m := graph_marks(b)) and all(len(g["events"]) == 2 for g in m) and m,
        "two events on every graph",
    )
    for graph in marks:
        assert "event-release" in graph["shapes"] and "event-outage" in graph["shapes"]
        assert any("v2.1 배포" in text for text in graph["events"])
        assert any("수집 실패: 3개 슬롯" in text for text in graph["events"])
    # The growing metrics carry a trend ahead of their last value; the card says where it goes.
    by_metric = dict(zip(METRIC_IDS, marks, strict=True))
    for metric in ("storage_bytes", "conversation_count", "document_count", "tag_count"):
        assert "forecast" in by_metric[metric]["roles"], metric
        assert "추세 예측:" in browser.find_element(By.ID, ids.card(metric)).text
    assert "forecast" not in by_metric["active_users"]["roles"]

    listed = wait_for(browser, lambda b: "v2.1 배포" in (t := events_text(b)) and t, "the list")
    assert "수집 실패: 3개 슬롯" in listed and "자동" in listed

    # Add: a click on a graph's time opens the dialog with that time as the start.
    browser.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "g.emit('plotly_click', {points: [{x: '2026-12-01 09:00', y: 1}], event: {}});",
        ids.graph("active_users"),
    )
    wait_for(browser, lambda b: b.find_element(By.ID, ids.EVENT_TITLE).is_displayed(), "dialog")
    assert browser.find_element(By.ID, ids.EVENT_START).get_attribute("value") == (
        "2026-12-01T09:00"
    )
    browser.find_element(By.ID, ids.EVENT_TITLE).send_keys("DB 점검")
    Select(browser.find_element(By.ID, ids.EVENT_KIND)).select_by_value("maintenance")
    start = browser.find_element(By.ID, ids.EVENT_START)
    start.send_keys(Keys.CONTROL, "a")
    browser.execute_script(
        "const el = arguments[0], set = Object.getOwnPropertyDescriptor("
        "HTMLInputElement.prototype, 'value').set;"
        "set.call(el, arguments[1]); el.dispatchEvent(new Event('input', {bubbles: true}));",
        start,
        (newest - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    browser.find_element(By.ID, ids.EVENT_SAVE).click()
    wait_for(browser, lambda b: "DB 점검" in events_text(b), "the new event listed")
    wait_for(browser, dialog_closed, "the dialog closed after saving")
    wait_for(
        browser,
        lambda b: (m := graph_marks(b)) and all(len(g["events"]) == 3 for g in m),
        "three events on every graph",
    )
    with store_session(url) as session:
        listed_now = store.list_events(session, newest - timedelta(days=3), newest)
        (added,) = [e for e in listed_now if e.title == "DB 점검"]
        assert added.kind == "maintenance" and added.created_by == "admin"

    # Edit: the dialog is filled from the event; the new title replaces the old one.
    click(browser, "//button[@aria-label='편집: v2.1 배포']")
    wait_for(
        browser,
        lambda b: b.find_element(By.ID, ids.EVENT_FORM_TITLE).text == "이벤트 편집: v2.1 배포",
        "the edit dialog",
    )
    title = browser.find_element(By.ID, ids.EVENT_TITLE)
    assert title.get_attribute("value") == "v2.1 배포"
    title.send_keys(Keys.CONTROL, "a")
    title.send_keys("v2.1.1 배포")
    browser.find_element(By.ID, ids.EVENT_SAVE).click()
    wait_for(browser, lambda b: "v2.1.1 배포" in events_text(b), "the edited title")
    wait_for(browser, dialog_closed, "the dialog closed after saving")

    # Delete the new one: gone from the list and the graphs.
    click(browser, "//button[@aria-label='삭제: DB 점검']")
    wait_for(browser, lambda b: "DB 점검" not in events_text(b), "the event deleted")
    wait_for(
        browser,
        lambda b: (m := graph_marks(b)) and all(len(g["events"]) == 2 for g in m),
        "two events again",
    )
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

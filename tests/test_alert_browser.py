"""The "알림 / Alerts" window in real headless Chromium against a running server: create,
edit and disable a rule; the history of firings is shown; no console errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from alerts import manage
from alerts.config import alert_config
from dashboard.page import ids
from db import alerts as store
from db.engine import make_engine, session_factory, session_scope
from tests.support import LiveServer, create_user, sign_in

pytestmark = pytest.mark.browser
TIMEOUT = 30


def wait_text(browser: Any, element_id: str, text: str) -> str:
    def seen(b: Any) -> str | None:
        found = b.find_elements(By.ID, element_id)
        content = found[0].text if found else ""
        return content if text in content else None

    return WebDriverWait(
        browser, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)
    ).until(seen, f"{text!r} in #{element_id}")


def type_into(browser: Any, element_id: str, text: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    field.send_keys(text)


def rule_row_xpath(name: str) -> str:
    return f"//*[@id='{ids.ALERT_RULES}']//tr[td[normalize-space()='{name}']]"


def rule_row(browser: Any, name: str, text: str = "") -> str:
    """The text of the rules table's row of ``name`` once it holds ``text``. The table is
    redrawn after every change, so a row found a moment ago may be gone: look again."""

    def found(b: Any) -> str | None:
        rows = b.find_elements(By.XPATH, rule_row_xpath(name))
        content = rows[0].text if rows else ""
        return content if rows and text in content else None

    return WebDriverWait(
        browser, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)
    ).until(found, f"a row for rule {name!r} with {text!r}")


def click_in_row(browser: Any, name: str, button: str) -> None:
    """Click the row's button, looking the row up again if a redraw replaced it."""

    def clicked(b: Any) -> bool:
        row = b.find_element(By.XPATH, rule_row_xpath(name))
        row.find_element(By.XPATH, f".//button[normalize-space()='{button}']").click()
        return True

    WebDriverWait(browser, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)).until(
        clicked, f"the {button!r} button of rule {name!r}"
    )


@pytest.fixture
def seeded(pg_url: str, make_settings: Callable[..., Any]) -> str:
    """An admin, a mail channel, and a rule that fired and resolved yesterday."""
    create_user(pg_url, "admin")
    config = alert_config(make_settings(database_url=pg_url))
    engine = make_engine(pg_url)
    when = datetime.now(UTC) - timedelta(days=1)
    try:
        with session_scope(session_factory(engine)) as session:
            channel = manage.add_channel(
                session,
                {"name": "ops", "kind": "email", "recipients": ["ops@intranet.example"]},
                now=when,
            )
            rule = manage.add_rule(
                session,
                {
                    "name": "수집 점검",
                    "condition": {"type": "collection_failing", "failed_slots": 3},
                    "channel_ids": [channel.id],
                },
                config,
                now=when,
            )
            event = store.claim_firing(session, rule.id, when, {"failed_slots": 3})
            assert event is not None
            store.claim_resolution(session, event.id, when + timedelta(hours=2), {})
            delivery = store.add_delivery(
                session,
                purpose="firing",
                kind="email",
                target="ops@intranet.example",
                subject="[주의·발생] 수집 점검",
                payload=b"x",
                timeout_seconds=5,
                max_attempts=3,
                now=when,
                event_id=event.id,
                rule_id=rule.id,
                channel_id=channel.id,
            )
            store.finish_attempt(
                session,
                delivery.id,
                attempted_at=when,
                ok=True,
                error=None,
                duration_ms=20,
                retry_at=None,
            )
    finally:
        engine.dispose()
    return pg_url


def test_alerts_window_creates_edits_and_disables_a_rule_and_shows_history(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: str
) -> None:
    server = live_server_factory({"DATABASE_URL": seeded})
    sign_in(browser, server)
    WebDriverWait(browser, TIMEOUT).until(
        lambda b: b.find_element(By.ID, ids.ALERTS_OPEN).is_displayed(), "the header's button"
    )
    assert browser.find_element(By.ID, ids.ALERTS_OPEN).text == "알림"
    browser.find_element(By.ID, ids.ALERTS_OPEN).click()

    # The seeded rule and its firing in the history (with the delivery that went out).
    wait_text(browser, ids.ALERT_RULES, "수집 점검")
    wait_text(browser, ids.ALERT_RULES, "메트릭 수집이 3회 연속 실패")
    history = wait_text(browser, ids.ALERT_HISTORY, "수집 점검")
    assert "메일 firing: 보냄" in history

    # Create: 활성 사용자 above 500 for 3 slots, to the ops channel.
    type_into(browser, ids.ALERT_NAME, "사용자 급증")
    Select(browser.find_element(By.ID, ids.ALERT_METRIC)).select_by_value("active_users")
    type_into(browser, ids.ALERT_VALUE, "500")
    type_into(browser, ids.ALERT_SLOTS, "3")
    browser.find_element(
        By.XPATH, f"//*[@id='{ids.ALERT_CHANNELS}']//label[contains(., 'ops')]"
    ).click()
    browser.find_element(By.ID, ids.ALERT_SAVE).click()
    wait_text(browser, ids.ALERT_FEEDBACK, "규칙 '사용자 급증'을(를) 저장했습니다.")
    row = rule_row(browser, "사용자 급증")
    assert "활성 사용자 500명 초과 (3회 연속 수집)" in row
    assert "정상" in row and "ops" in row

    # Edit: the form is filled from the rule; raise the threshold to 800.
    click_in_row(browser, "사용자 급증", "편집")
    wait_text(browser, ids.ALERT_FORM_TITLE, "규칙 편집: 사용자 급증")
    assert browser.find_element(By.ID, ids.ALERT_VALUE).get_attribute("value") == "500"
    type_into(browser, ids.ALERT_VALUE, "800")
    browser.find_element(By.ID, ids.ALERT_SAVE).click()
    rule_row(browser, "사용자 급증", "800명 초과")  # the edited threshold

    # Disable: the state says so, and so does the store.
    click_in_row(browser, "사용자 급증", "끄기")
    rule_row(browser, "사용자 급증", "꺼짐")  # the rule switched off
    engine = make_engine(seeded)
    try:
        with session_scope(session_factory(engine)) as session:
            rule = store.rule_by_name(session, "사용자 급증")
            assert rule is not None and not rule.enabled
            assert rule.params == {"op": "above", "value": 800.0, "slots": 3}
    finally:
        engine.dispose()

    # Only this machine was asked for anything, and the console stayed clean.
    urls = [
        json.loads(e["message"])["message"]["params"]["request"]["url"]
        for e in browser.get_log("performance")
        if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    web = [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    assert web and all(urlsplit(u).hostname == "127.0.0.1" for u in web), web
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

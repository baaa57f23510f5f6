"""Sign-in in real headless Chromium; nothing is requested from outside this machine."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.migrate import upgrade
from tests.support import ADMIN_PASSWORD, create_user


def requested_urls(browser) -> list[str]:  # type: ignore[no-untyped-def]
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_login_in_browser_and_no_request_leaves_the_machine(  # type: ignore[no-untyped-def]
    browser, live_server_factory, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    upgrade(url)
    create_user(url, "admin")
    server = live_server_factory({"DATABASE_URL": url})

    browser.get(server.url + "admin/metrics/")
    wait = WebDriverWait(browser, 30)
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("wrong-password")
    browser.find_element(By.ID, "login-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "login-error")))
    browser.get_log("browser")  # drain: the refused attempt's 401 is expected there

    browser.find_element(By.ID, "username").clear()
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(lambda b: urlsplit(b.current_url).path == "/admin/metrics/")
    # The Dash page has rendered its layout (fetched through the guarded callbacks).
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#react-entry-point *")))
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")

    # Chromium's own chrome:// pages are not network requests; everything else must be local.
    schemes = ("http", "https", "ws", "wss")
    web = [u for u in requested_urls(browser) if urlsplit(u).scheme in schemes]
    assert web, "the performance log recorded the page's requests"
    assert {urlsplit(u).hostname for u in web} == {"127.0.0.1"}, web
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

    # The header's sign-out button posts the form with its CSRF token; the session is over.
    wait.until(ec.element_to_be_clickable((By.ID, "logout-link"))).click()
    wait.until(lambda b: urlsplit(b.current_url).path == "/login")
    assert "로그아웃되었습니다" in browser.page_source
    browser.get(server.url + "admin/metrics/")
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    assert urlsplit(browser.current_url).path == "/login"

"""The page at the level of Grafana and Plausible, in real headless Chromium: nothing links
off the machine, a zoom on one graph sets all six and the URL, pickers that help, keyboard
use, axe-core (vendored under tests/vendor, injected from the local file) in both languages
and themes, and the screenshots under docs/ (rewritten with ``UPDATE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.page import ids
from db.metrics import METRIC_IDS
from tests.support import LiveServer, axe_violations, create_user, seed_history, sign_in

pytestmark = pytest.mark.browser
TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent
SIZES = {"phone": (390, 844), "laptop": (1366, 768), "desktop": (1920, 1080)}

GRAPHS_JS = """
return arguments[0].map(id => {
    const el = document.getElementById(id);
    const g = el && (el.classList.contains('js-plotly-plot') ? el
        : el.querySelector('.js-plotly-plot'));
    return g && g._fullLayout && g.querySelector('.scatterlayer .trace')
        ? g._fullLayout.xaxis.range.map(String) : null;
});
"""


def wait_for(browser: Any, condition: Callable[[Any], Any], message: str) -> Any:
    return WebDriverWait(browser, TIMEOUT).until(condition, message)


def x_ranges(browser: Any) -> list[list[str]] | None:
    ranges = browser.execute_script(GRAPHS_JS, [ids.graph(m) for m in METRIC_IDS])
    return ranges if all(ranges) else None


def query(browser: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.current_url).query).items()}


def set_theme_cookie(browser: Any, theme: str) -> None:
    browser.add_cookie({"name": "theme", "value": theme, "path": "/"})


@pytest.fixture
def server(
    pg_url: str, live_server_factory: Callable[..., LiveServer]
) -> tuple[LiveServer, datetime]:
    create_user(pg_url, "admin")
    newest = seed_history(pg_url, hourly_days=30, daily_days=90)
    return live_server_factory({"DATABASE_URL": pg_url}), newest


def test_screenshots_in_both_themes(browser: Any, server: tuple[LiveServer, datetime]) -> None:
    """The dark theme paints the page dark (and the light one light) at three sizes; with
    UPDATE_SCREENSHOTS=1 the pictures are written to docs/ (committed, and looked at)."""
    live, _ = server
    sign_in(browser, live)
    out = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else None
    for theme in ("light", "dark"):
        set_theme_cookie(browser, theme)
        for name, (width, height) in SIZES.items():
            browser.set_window_size(width, height)
            browser.get(live.url + "admin/metrics/?range=7&granularity=hourly&compare=previous")
            WebDriverWait(browser, 90).until(x_ranges, f"six graphs drawn at {name}/{theme}")
            assert (
                browser.execute_script(
                    "return document.documentElement.getAttribute('data-bs-theme')"
                )
                == theme
            )
            background = browser.execute_script(
                "const g = document.querySelector('.main-svg');"
                "return getComputedStyle(document.body).backgroundColor + '|' +"
                " (g && g.style.background)"
            )
            body, paper = background.split("|")
            dark = theme == "dark"
            assert (sum(int(c) for c in body[4:-1].split(",")[:3]) < 200) == dark, background
            assert ("255, 255, 255" in paper) != dark, background
            if out is not None:
                browser.save_screenshot(str(out / f"screenshot-{name}-{theme}.png"))


def walk_tabs(browser: Any, steps: int) -> list[str]:
    """Press Tab ``steps`` times from the top; what had the focus after each press."""
    browser.execute_script("document.activeElement && document.activeElement.blur()")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    seen = []
    for _ in range(steps):
        seen.append(
            browser.execute_script(
                "const e = document.activeElement;"
                "return (e.id || '') + '|' + (e.className && e.className.baseVal === undefined"
                " ? e.className : '') + '|' + (e.getAttribute('data-title') || e.value || '')"
                " + '|' + (e.closest('[id^=graph-]') ? e.closest('[id^=graph-]').id : '')"
            )
        )
        browser.switch_to.active_element.send_keys(Keys.TAB)
    return seen


def test_air_gapped_linked_zoom_presets_picker_and_keyboard(
    browser: Any, server: tuple[LiveServer, datetime]
) -> None:
    live, _ = server
    sign_in(browser, live)
    week = wait_for(browser, x_ranges, "six graphs drawn")

    # Nothing points off the machine: every href/src/action is local, the toolbars hold
    # only zoom, pan, reset and PNG, plotly's cloud/link/logo are off, and pressing every
    # tool opens no window.
    addresses = browser.execute_script(
        "return [...document.querySelectorAll('[href], [src], [action]')].map(e =>"
        " e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))"
    )
    outside = [a for a in addresses if urlsplit(a).netloc not in ("", urlsplit(live.url).netloc)]
    assert outside == [], outside
    tools = browser.execute_script(
        "return [...document.querySelectorAll('.js-plotly-plot')].map(g => ["
        " g._context.showSendToCloud, g._context.showLink, g._context.displaylogo,"
        " [...g.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-val')"
        " || b.getAttribute('data-title'))])"
    )
    assert len(tools) == 6
    for send, link, logo, buttons in tools:
        assert (send, bool(link), logo) == (False, False, False)
        assert len(buttons) == 4 and "zoom" in buttons and "pan" in buttons, buttons
    opened = browser.execute_script(
        "window.__opened = []; window.open = (u) => { window.__opened.push(String(u)); };"
        "document.querySelectorAll('#graph-active_users .modebar-btn').forEach(b => b.click());"
        "return window.__opened"
    )
    assert opened == []
    assert "plotly.com" not in browser.page_source and "chart-studio" not in browser.page_source

    # A drag-zoom on one graph sets all six and the URL; back returns; a double-click resets.
    browser.execute_script("window.__opened = undefined")
    graph = browser.find_element(By.CSS_SELECTOR, f"#{ids.graph('storage_bytes')} .nsewdrag")
    ActionChains(browser).move_to_element_with_offset(
        graph, -120, 0
    ).click_and_hold().move_by_offset(160, 10).release().perform()
    wait_for(browser, lambda b: "zoom_start" in query(b), "URL carries the zoom")
    zoomed = wait_for(
        browser,
        lambda b: (r := x_ranges(b)) and r[0] != week[0] and len({tuple(x) for x in r}) == 1 and r,
        "all six graphs zoomed alike",
    )
    assert zoomed[0][0] > week[0][0] and zoomed[0][1] < week[0][1]
    assert query(browser)["zoom_start"] == zoomed[0][0][:16].replace(" ", "T")
    browser.back()
    wait_for(browser, lambda b: "zoom_start" not in query(b), "back: no zoom in the URL")
    wait_for(browser, lambda b: x_ranges(b) == week, "back: the week again")

    # Presets 24 h / today / this week / this month write their URL values.
    spans: dict[str, list[str]] = {}
    previous = week
    for label, value in (
        ("24시간", "24h"),
        ("오늘", "today"),
        ("이번 주", "week"),
        ("이번 달", "month"),
    ):
        browser.find_element(
            By.XPATH, f"//*[@id='{ids.RANGE_PRESET}']//label[normalize-space()='{label}']"
        ).click()
        wait_for(browser, lambda b, v=value: query(b).get("range") == v, f"URL range={value}")
        # In the last hour of the day 24 h (whole hours up to the next one) is today.
        same = value == "today" and previous[0][0][11:16] == "00:00"
        drawn = wait_for(
            browser,
            lambda b, p=previous, s=same: (r := x_ranges(b)) and (s or r != p) and r,
            f"{value} drawn",
        )
        spans[value], previous = drawn[0], drawn
    start, end = (datetime.fromisoformat(v[:19]) for v in spans["24h"])
    assert (end - start).total_seconds() == 24 * 3600, spans["24h"]
    assert spans["today"][0][11:16] == "00:00" and spans["month"][0][8:10] == "01", spans

    # The picker (pre-filled with the range on screen) opens on the last two months with the
    # future days disabled.
    field = browser.find_element(By.ID, "date-range-start")
    assert field.get_attribute("value") == spans["month"][0][:10]
    field.click()
    calendar = wait_for(
        browser,
        lambda b: b.execute_script(
            "const c = document.querySelector('.dash-datepicker-content');"
            "return c && [...c.querySelectorAll('.dash-datepicker-calendar-month-header')]"
            ".map(h => h.textContent)"
        ),
        "calendar open",
    )
    today = datetime.now().date()
    assert calendar[-1].startswith(f"{today.year} {today.month}월"), calendar
    future = browser.execute_script(
        "const months = document.querySelectorAll('.dash-datepicker-calendar');"
        "const last = months[months.length - 1];"
        "return [...last.querySelectorAll('.dash-datepicker-calendar-date-inside')].map(d =>"
        " [Number(d.textContent), d.getAttribute('aria-disabled') === 'true'])"
    )
    assert future and all(disabled == (day > today.day) for day, disabled in future), future
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)

    # Keyboard only: Tab reaches the range, granularity, compare and export controls, each
    # graph's toolbar is one tab stop, and Enter presses a range button.
    stops = walk_tabs(browser, 45)
    text = "\n".join(stops)
    for needle in (
        "theme-toggle",
        "lang-link",
        "compare-switch",
        "export-csv-button",
        "table-toggle",
    ):
        assert needle in text, stops
    # One pass over the page (Tab wraps round to the first control after the last).
    lap = stops[: stops.index(stops[0], 1)] if stops[0] in stops[1:] else stops
    graph_stops = [s for s in lap if s.split("|")[3].startswith("graph-")]
    per_graph = {s.split("|")[3] for s in graph_stops}
    assert len(graph_stops) == len(per_graph) == 6, lap  # one stop per graph toolbar
    radio = browser.find_element(By.CSS_SELECTOR, f"#{ids.RANGE_PRESET} input[value='30']")
    browser.execute_script("arguments[0].focus()", radio)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda b: query(b).get("range") == "30", "Enter pressed 30 days")


def test_axe_finds_no_serious_violations(browser: Any, server: tuple[LiveServer, datetime]) -> None:
    """axe-core on the sign-in page in both themes, the dashboard in both languages × both
    themes (comparing, with the events card), and a graph's table view: no serious or
    critical WCAG 2.1 A/AA violation."""
    live, _ = server
    browser.get(live.url + "login")
    assert axe_violations(browser) == []
    set_theme_cookie(browser, "dark")
    browser.get(live.url + "login")
    assert axe_violations(browser) == [], "login, dark"
    sign_in(browser, live)
    for lang, theme in (("ko", "light"), ("ko", "dark"), ("en", "light"), ("en", "dark")):
        set_theme_cookie(browser, theme)
        browser.get(live.url + f"admin/metrics/?range=7&compare=previous&lang={lang}")
        wait_for(browser, x_ranges, "six graphs drawn")
        assert browser.execute_script("return document.documentElement.lang") == lang
        assert browser.title == (
            "관리자 메트릭 히스토리" if lang == "ko" else "Admin Metrics History"
        )
        assert axe_violations(browser) == [], (lang, theme)
    browser.find_element(By.CSS_SELECTOR, "[id*='table-toggle'][id*='active_users']").click()
    table = wait_for(
        browser,
        lambda b: b.find_elements(By.CSS_SELECTOR, ".table-view table"),
        "table view shown",
    )[0]
    assert table.find_elements(By.TAG_NAME, "caption")
    assert table.find_elements(By.CSS_SELECTOR, "tr.table-gap"), "gap slots are marked"
    assert axe_violations(browser) == []

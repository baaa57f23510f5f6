"""The dashboard page in real headless Chromium against a running server (``admin-metrics
serve`` subprocess) on a PostgreSQL store seeded through migrations + inserted rows.

Each test also checks that no request left the machine and the console has no errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.charts.formatting import format_exact
from dashboard.page import ids
from db.engine import make_engine
from db.metrics import METRIC_IDS
from db.models import MetricSnapshot
from tests.support import (
    LiveServer,
    assert_local_and_clean,
    create_user,
    metric_value,
    seed_history,
    sign_in,
)

pytestmark = pytest.mark.browser
TIMEOUT = 30

# The plotly graph div inside a dcc.Graph, by the dcc.Graph's id.
GD_JS = """
const gd = (id) => {
    const el = document.getElementById(id);
    if (!el) return null;
    return el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');
};
// _fullData: plotly.js has decoded the typed arrays Dash sends (e.g. y as base64 float64).
const series = (g, period) => (g && g._fullData || []).find(
    t => t.meta && t.meta.role === 'series' && t.meta.period === period);
// An x value as the wall-clock time it is drawn at, "2026-11-02T09:00:00.000Z" (x is sent
// in its shortest exact form, "2026-11-02T09"; the date axis keeps wall-clock as UTC ms).
const wall = (g, v) => new Date(g._fullLayout.xaxis.d2c(v)).toISOString();
"""


def js(browser: Any, body: str, *args: Any) -> Any:
    return browser.execute_script(GD_JS + body, *args)


def wait_for(browser: Any, condition: Callable[[Any], Any], message: str) -> Any:
    return WebDriverWait(browser, TIMEOUT).until(condition, message)


def graphs_state(browser: Any) -> list[dict[str, Any]]:
    """Per graph: drawn SVG traces, and period 1/2 point counts and first x value."""
    return js(
        browser,
        """
        return arguments[0].map(id => {
            const g = gd(id);
            const s1 = series(g, 1), s2 = series(g, 2);
            // Points drawn: line breaks are NaN/null y values.
            const count = (s) => s ? Array.from(s.y).filter(
                v => v !== null && !Number.isNaN(v)).length : 0;
            return {
                drawn: !!(g && g.querySelector('.scatterlayer .trace')),
                message: g ? [...g.querySelectorAll('.annotation-text')]
                    .map(a => a.textContent).join(' ') : '',
                n1: count(s1), n2: count(s2),
                first: s1 ? wall(g, s1.x.find(v => v !== null)) : null,
                dash2: s2 && s2.line ? s2.line.dash : null,  // line: unset mid-redraw
            };
        });
        """,
        [ids.graph(m) for m in METRIC_IDS],
    )


def all_drawn(browser: Any) -> list[dict[str, Any]] | None:
    state = graphs_state(browser)
    return state if all(g["drawn"] for g in state) else None


def query(browser: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.current_url).query).items()}


def click_option(browser: Any, group_id: str, label: str) -> None:
    browser.find_element(
        By.XPATH, f"//*[@id='{group_id}']//label[normalize-space()='{label}']"
    ).click()


@pytest.fixture
def seeded(pg_url: str) -> tuple[str, datetime]:
    create_user(pg_url, "admin")
    newest = seed_history(pg_url, hourly_days=30, daily_days=90)
    return pg_url, newest


def test_page_renders_and_controls_drive_graphs_and_url(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    url, _newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    sign_in(browser, server)

    # Six graphs and six cards with values and units.
    week = wait_for(browser, all_drawn, "six graphs drawn")
    assert all(130 <= g["n1"] <= 169 for g in week), [g["n1"] for g in week]  # 7 d hourly
    cards = [browser.find_element(By.ID, ids.card(m)).text for m in METRIC_IDS]
    assert all(re.search(r"\d", c) for c in cards), cards
    assert "명" in cards[0] and re.search(r"[KMGT]iB", cards[1]), cards  # IEC (issue 13)
    badge = browser.find_element(By.ID, ids.STATUS_BADGE).text
    assert "마지막 수집" in badge and "24시간 실패 0" in badge, badge

    # 30 days: the graphs reach further back and the URL says so.
    click_option(browser, ids.RANGE_PRESET, "30일")
    wait_for(browser, lambda b: query(b).get("range") == "30", "URL range=30")
    month = wait_for(
        browser,
        lambda b: (s := all_drawn(b)) and all(g["n1"] > 600 for g in s) and s,
        "graphs redrawn for 30 days",
    )
    assert month[0]["first"] < week[0]["first"]

    # Back restores 7 days (URL, control and graphs); forward returns to 30.
    browser.back()
    wait_for(browser, lambda b: query(b).get("range", "7") == "7", "back to 7 days")
    wait_for(
        browser,
        lambda b: (s := all_drawn(b)) and s[0]["n1"] == week[0]["n1"],
        "graphs back to 7 days",
    )
    checked = browser.find_element(By.CSS_SELECTOR, f"#{ids.RANGE_PRESET} input:checked")
    assert checked.get_attribute("value") == "7"
    browser.forward()
    wait_for(browser, lambda b: query(b).get("range") == "30", "forward to 30 days")

    # Daily: one point per day.
    click_option(browser, ids.GRANULARITY, "일별")
    wait_for(browser, lambda b: query(b).get("granularity") == "daily", "URL granularity")
    daily = wait_for(
        browser,
        lambda b: (s := all_drawn(b)) and all(g["n1"] <= 31 for g in s) and s,
        "daily graphs",
    )
    assert all(25 <= g["n1"] <= 31 for g in daily), daily

    # Hourly for 90 days: retention note.
    click_option(browser, ids.GRANULARITY, "시간별")
    click_option(browser, ids.RANGE_PRESET, "90일")
    wait_for(
        browser,
        lambda b: "최근 30일만 보관" in b.find_element(By.ID, ids.NOTES).text,
        "hourly retention note",
    )

    # Compare mode: dashed overlay and % badges on every card.
    click_option(browser, ids.RANGE_PRESET, "7일")
    assert not browser.find_element(By.ID, ids.COMPARE_OPTIONS).is_displayed()
    browser.find_element(By.ID, ids.COMPARE_SWITCH).click()
    wait_for(browser, lambda b: query(b).get("compare") == "previous", "URL compare")
    assert browser.find_element(By.ID, ids.COMPARE_OPTIONS).is_displayed()
    wait_for(
        browser,
        lambda b: (s := all_drawn(b)) and all(g["n2"] > 100 and g["dash2"] == "dash" for g in s),
        "comparison overlay, dashed",
    )
    dashed = js(
        browser,
        "return [...document.querySelectorAll('.scatterlayer .trace path.js-line')]"
        ".filter(p => !['', 'none'].includes(p.style.strokeDasharray || ''))"
        ".length",
    )
    assert dashed >= 6
    badges = browser.find_elements(By.CSS_SELECTOR, ".compare-badge")
    assert len(badges) == 6
    assert all(re.fullmatch(r"([▲▼] )?\d[\d,]*\.\d%|—", b.text) for b in badges), [
        b.text for b in badges
    ]
    legend = js(
        browser,
        "return [...gd(arguments[0]).querySelectorAll('.legendtext')].map(e => e.textContent)",
        ids.graph("active_users"),
    )
    assert len(legend) == 2 and all(re.search(r"\d{4}-\d{2}-\d{2}", s) for s in legend), legend

    # Choosing a custom comparison keeps the view until its dates are picked.
    def compare_inputs_enabled(b: Any) -> bool:
        # The picker names its start-date input (start_date_id).
        return bool(b.find_element(By.ID, f"{ids.COMPARE_RANGE}-start").is_enabled())

    assert not compare_inputs_enabled(browser)
    click_option(browser, ids.COMPARE_MODE, "직접 선택")
    wait_for(browser, compare_inputs_enabled, "custom comparison dates can be picked")
    checked = browser.find_element(By.CSS_SELECTOR, f"#{ids.COMPARE_MODE} input:checked")
    assert checked.get_attribute("value") == "custom"
    assert query(browser).get("compare") == "previous"
    assert_local_and_clean(browser)


def test_hover_shows_exact_value_in_browser_time_zone(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    url, newest = seeded
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Seoul"})
    server = live_server_factory({"DATABASE_URL": url, "DEFAULT_TIMEZONE": "UTC"})
    sign_in(browser, server)
    wait_for(browser, all_drawn, "six graphs drawn")
    assert "Asia/Seoul" in browser.find_element(By.ID, ids.NOTES).text

    slot = newest - timedelta(hours=24)
    seoul = slot + timedelta(hours=9)
    graph = ids.graph("conversation_count")
    target = seoul.strftime("%Y-%m-%dT%H:%M")
    text = hover_point(browser, graph, "series", target)
    value = format_exact(metric_value("conversation_count", slot), "conversation_count")
    assert value in text, (value, text)
    assert seoul.strftime("%Y-%m-%d %H:%M") in text, text
    # Bytes: the axis' unit and the exact bytes (customdata), as the table writes them.
    text = hover_point(browser, ids.graph("storage_bytes"), "series", target)
    value = format_exact(metric_value("storage_bytes", slot), "storage_bytes")
    assert value in text, (value, text)

    # The seeded gap (3 missing hours): its dotted bridge says the collection failed.
    text = hover_point(browser, graph, "gap-hover", "")
    assert "이 기간 동안 데이터 수집 실패" in text, text
    assert_local_and_clean(browser)


def hover_point(browser: Any, graph: str, role: str, x_prefix: str) -> str:
    """Move the real mouse onto the first point of the trace with ``role`` whose x starts
    with ``x_prefix``; returns the hover label's text."""
    label = f"#{graph} .hoverlayer .hovertext"
    # Start from no label, so the text read below belongs to this point.
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "page-title")).perform()
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, label), "no hover label")
    point = js(
        browser,
        """
        const g = gd(arguments[0]);
        g.scrollIntoView({block: 'center', behavior: 'instant'});
        const s = g._fullData.find(t => t.meta && t.meta.role === arguments[1]
                                       && t.meta.period === 1);
        const at = (v) => v !== null && wall(g, v).startsWith(arguments[2]);
        const i = s ? Array.from(s.x).findIndex(at) : -1;
        if (i < 0) return null;
        const fl = g._fullLayout;
        const box = g.getBoundingClientRect();
        return {
            x: fl.xaxis.l2p(fl.xaxis.d2l(s.x[i])) + fl.xaxis._offset - box.width / 2,
            y: fl.yaxis.l2p(fl.yaxis.d2l(s.y[i])) + fl.yaxis._offset - box.height / 2,
        };
        """,
        graph,
        role,
        x_prefix,
    )
    assert point, f"a {role} point at {x_prefix!r} in {graph}"
    plot = browser.find_element(By.CSS_SELECTOR, f"#{graph} .js-plotly-plot")
    ActionChains(browser).move_to_element_with_offset(
        plot, round(point["x"]), round(point["y"])
    ).perform()
    text: str = wait_for(
        browser,
        lambda b: " ".join(
            e.get_attribute("textContent") for e in b.find_elements(By.CSS_SELECTOR, label)
        ),
        "hover label",
    )
    return text


def test_copied_link_reproduces_the_view_in_english(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    url, _newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    sign_in(
        browser,
        server,
        "admin/metrics/?range=30&granularity=daily&compare=previous&lang=en",
    )
    state = wait_for(
        browser, lambda b: (s := all_drawn(b)) and all(g["n2"] > 0 for g in s) and s, "graphs"
    )
    assert all(g["n1"] <= 31 for g in state)
    checked = {
        e.get_attribute("value")
        for e in browser.find_elements(By.CSS_SELECTOR, "input:checked")
        if e.get_attribute("value")
    }
    assert {"30", "daily"} <= checked
    assert browser.find_element(By.ID, ids.COMPARE_SWITCH).is_selected()
    assert "Last collection" in browser.find_element(By.ID, ids.STATUS_BADGE).text
    assert "users" in browser.find_element(By.ID, ids.card("active_users")).text
    # The language link keeps the selection and switches back to Korean.
    href = browser.find_element(By.ID, ids.LANG_LINK).get_attribute("href")
    assert "lang=ko" in href and "range=30" in href

    # A custom range (whole days in the viewer's zone) from a link.
    browser.get(server.url + "admin/metrics/?range=custom&start=2026-01-01&end=2026-01-03")
    wait_for(
        browser,
        lambda b: (
            b.find_element(By.ID, f"{ids.DATE_RANGE}-start").get_attribute("value") == "2026-01-01"
        ),
        "custom dates shown",
    )
    checked = browser.find_element(By.CSS_SELECTOR, f"#{ids.RANGE_PRESET} input:checked")
    assert checked.get_attribute("value") == "custom"
    assert_local_and_clean(browser)


def test_empty_store_shows_collecting_message_with_time(
    browser: Any, live_server_factory: Callable[..., LiveServer], pg_url: str
) -> None:
    create_user(pg_url, "admin")
    server = live_server_factory({"DATABASE_URL": pg_url})
    sign_in(browser, server)
    state = wait_for(
        browser,
        lambda b: (s := graphs_state(b)) and all("수집 중" in g["message"] for g in s) and s,
        "empty-state messages",
    )
    for graph in state:
        assert "데이터 수집 중입니다" in graph["message"]
        assert re.search(r"첫 데이터는 \d{2}:\d{2}에 표시됩니다", graph["message"]), graph
    assert "—" in browser.find_element(By.ID, ids.card("active_users")).text
    assert_local_and_clean(browser)


def test_load_failure_shows_message_and_retry_recovers(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    url, _newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE metric_snapshots RENAME TO metric_snapshots_away"))
        sign_in(browser, server)
        alert = wait_for(
            browser,
            lambda b: (
                (e := b.find_elements(By.ID, ids.LOAD_ERROR)) and e[0].is_displayed() and e[0]
            ),
            "load error",
        )
        assert "메트릭 데이터를 불러오는데 실패했습니다" in alert.text
        assert not browser.find_element(By.ID, ids.CONTENT).is_displayed()
        assert "Traceback" not in browser.page_source
        assert "Dashboard: loading metric data failed" in server.log_text()

        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE metric_snapshots_away RENAME TO metric_snapshots"))
        browser.find_element(By.ID, ids.RETRY_BUTTON).click()
        wait_for(browser, all_drawn, "graphs after retry")
        assert not browser.find_elements(By.CSS_SELECTOR, f"#{ids.LOAD_ERROR}.show")
    finally:
        engine.dispose()
    assert_local_and_clean(browser)


def test_new_collection_is_drawn_by_the_refresh_check(
    browser: Any, live_server_factory: Callable[..., LiveServer], pg_url: str
) -> None:
    create_user(pg_url, "admin")
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    seed_history(pg_url, newest=this_hour - timedelta(hours=1), hourly_days=8, daily_days=8)
    server = live_server_factory({"DATABASE_URL": pg_url})
    sign_in(browser, server)
    before = wait_for(browser, all_drawn, "six graphs drawn")[0]["n1"]

    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(MetricSnapshot),
                [
                    {
                        "metric_type": m,
                        "value": metric_value(m, this_hour),
                        "granularity": "hourly",
                        "collected_at": this_hour,
                    }
                    for m in METRIC_IDS
                ],
            )
    finally:
        engine.dispose()
    # What the 60-second dcc.Interval does on its next tick.
    browser.execute_script(
        "window.dash_clientside.set_props(arguments[0], {n_intervals: 1})", ids.REFRESH_INTERVAL
    )
    wait_for(
        browser,
        lambda b: (s := all_drawn(b)) and all(g["n1"] == before + 1 for g in s),
        "the new slot drawn",
    )
    assert_local_and_clean(browser)


def test_comparison_beyond_retention_is_explained_and_switches_to_daily(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    """30 days hourly + compare: the previous 30 days are not kept hourly. The page says so
    over the cards and one click shows the daily comparison, overlaid."""
    url, _newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    sign_in(browser, server, path="admin/metrics/?range=30&granularity=hourly&compare=previous")
    note = wait_for(
        browser,
        lambda b: (
            (text := b.find_element(By.ID, ids.NOTES).text)
            and "비교 기간" in text
            and "최근 30일" in text
            and text
        ),
        "explanation of the comparison beyond hourly retention",
    )
    assert "일별 데이터로 비교하면 최근 90일까지" in note, note
    switch = browser.find_element(By.ID, "switch-daily")
    assert switch.text == "일별로 비교"
    switch.click()
    wait_for(browser, lambda b: query(b).get("granularity") == "daily", "URL granularity=daily")
    assert query(browser).get("compare") == "previous" and query(browser).get("range") == "30"
    wait_for(
        browser,
        lambda b: (
            (s := all_drawn(b))
            and all(g["n1"] >= 28 and g["n2"] >= 28 and g["dash2"] == "dash" for g in s)
        ),
        "daily comparison overlay, dashed",
    )
    wait_for(
        browser,
        lambda b: "비교 기간" not in b.find_element(By.ID, ids.NOTES).text,
        "no retention note in daily",
    )
    badges = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".compare-badge")]
    assert len(badges) == 6 and all(b != "—" for b in badges), badges
    assert_local_and_clean(browser)


def test_page_draws_with_the_partial_plotly_and_compressed_bundles(
    browser: Any, live_server_factory: Callable[..., LiveServer], seeded: tuple[str, datetime]
) -> None:
    """Graphs draw with ``assets/plotly-basic.min.js`` (Dash's full plotly.min.js and the
    unused dash_table bundle never load) and the browser received compressed files."""
    url, _newest = seeded
    server = live_server_factory({"DATABASE_URL": url})
    sign_in(browser, server)
    wait_for(browser, all_drawn, "six graphs drawn")
    assert js(browser, "return !!(window.Plotly && window.Plotly.react)")
    responses: dict[str, dict[str, Any]] = {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            responses[response["url"]] = {k.lower(): v for k, v in response["headers"].items()}
    loaded = list(responses)
    assert any("plotly-basic.min.js" in u for u in loaded), loaded
    assert not [u for u in loaded if "plotly.min.js" in u and "plotly-basic" not in u], loaded
    assert not [u for u in loaded if "dash_table" in u], loaded
    bundle = next(h for u, h in responses.items() if "plotly-basic.min.js" in u)
    assert bundle.get("content-encoding") in ("br", "gzip"), bundle
    assert "accept-encoding" in bundle.get("vary", "").lower(), bundle
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

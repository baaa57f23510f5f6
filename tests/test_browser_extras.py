"""The catalogue's parts of the page (issue 18) in real headless Chromium: the "more
metrics" section draws a per-slot count and a labelled metric (top labels and others), the
chooser turns a metric off and on through the URL, and the source selector's "all" redraws
the graphs with every source combined."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from dashboard.page import ids
from db.engine import store_session
from tests.support import (
    EXTRAS_CATALOGUE,
    LiveServer,
    assert_local_and_clean,
    axe_violations,
    create_user,
    insert_source_rows,
    seed_history,
    sign_in,
    wait_for,
)

pytestmark = pytest.mark.browser

CATALOGUE = EXTRAS_CATALOGUE
MODELS = ("llama", "qwen", "gemma", "mistral", "phi", "deepseek", "solar")


def seed_catalogue(url: str, folder: Path, *, days: int = 8) -> Path:
    """The six's history, and a week of hourly extras from two sources (``default`` and
    ``branch``): messages with a daily rhythm, conversations by seven models. Returns the
    catalogue file."""
    create_user(url, "admin")
    newest = seed_history(url, hourly_days=days, daily_days=days + 2)
    slots = [newest - timedelta(hours=h) for h in range(days * 24)]

    def rhythm(slot: datetime, base: int) -> int:
        return round(base * (1.5 + math.sin(slot.hour / 24 * 2 * math.pi)))

    with store_session(url) as session:
        for source, base in (("default", 40), ("branch", 15)):
            values = {s: rhythm(s, base) for s in slots}
            insert_source_rows(session, "messages", values, source=source)
        for rank, model in enumerate(MODELS):
            values = {s: (len(MODELS) - rank) * 30 + i // 24 for i, s in enumerate(slots)}
            insert_source_rows(session, "by_model", values, source="default", label=model)
    path = folder / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    return path


EXTRAS_JS = """
const gd = (id) => {
    const el = document.getElementById(id);
    return el && el.querySelector('.js-plotly-plot');
};
return arguments[0].map(id => {
    const g = gd(id);
    const series = (g && g._fullData || []).filter(t => t.meta && t.meta.role === 'series');
    return {
        drawn: !!(g && g.querySelector('.scatterlayer .trace')),
        names: series.map(t => t.name),
        last: series.length ? Array.from(series[0].y).filter(v => v === v).pop() : null,
        visible: !!(document.getElementById(arguments[1][id]) || {}).offsetParent,
    };
});
"""


def extras_state(browser: Any) -> list[dict[str, Any]]:
    metrics = ("messages", "by_model")
    cards = {ids.graph(m): ids.extra_card(m) for m in metrics}
    return browser.execute_script(EXTRAS_JS, [ids.graph(m) for m in metrics], cards)  # type: ignore[no-any-return]


def query(browser: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(browser.current_url).query, keep_blank_values=True)


def test_more_metrics_are_drawn_chosen_through_the_url_and_read_from_all_sources(
    browser: Any, live_server_factory: Callable[..., LiveServer], sqlite_url: str, tmp_path: Path
) -> None:
    catalogue = seed_catalogue(sqlite_url, tmp_path)
    server = live_server_factory(
        {"DATABASE_URL": sqlite_url, "METRICS_CATALOGUE_FILE": str(catalogue)}
    )
    sign_in(browser, server)

    def drawn() -> list[dict[str, Any]] | None:
        state = extras_state(browser)
        return state if all(g["drawn"] and g["visible"] for g in state) else None

    messages, models = wait_for(drawn, what="the extra metrics drawn")
    assert models["names"] == ["llama", "qwen", "gemma", "mistral", "phi", "기타"]
    assert browser.find_element(By.ID, "extras-title").text == "추가 지표"

    # The chooser, from the keyboard: messages off (the URL remembers it, its card goes),
    # then on again.
    chooser = browser.find_element(By.ID, ids.EXTRAS_CHOOSER)
    switch = chooser.find_element(By.CSS_SELECTOR, "input[value='messages']")
    switch.send_keys(Keys.SPACE)
    wait_for(lambda: query(browser).get("extras") == ["by_model"], what="URL extras=by_model")
    wait_for(lambda: not extras_state(browser)[0]["visible"], what="messages hidden")
    switch.send_keys(Keys.SPACE)
    wait_for(
        lambda: set(query(browser).get("extras", [""])[0].split(",")) == {"messages", "by_model"},
        what="URL extras with both",
    )
    wait_for(drawn, what="messages drawn again")

    # A zoom on an extra graph goes to the URL like one on the six's, and the six follow.
    browser.execute_script(
        """const gd = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');
        Plotly.relayout(gd, {'xaxis.range[0]': arguments[1], 'xaxis.range[1]': arguments[2]});""",
        ids.graph("messages"),
        "2026-01-01 00:00",
        "2026-01-02 00:00",
    )
    wait_for(lambda: query(browser).get("zoom_start") == ["2026-01-01T00:00"], what="URL zoom")
    six_axis = "return document.getElementById(arguments[0]).querySelector('.js-plotly-plot')" + (
        "._fullLayout.xaxis.range[0]"
    )
    wait_for(
        lambda: str(browser.execute_script(six_axis, ids.graph("tag_count"))).startswith(
            "2026-01-01"
        ),
        what="the six zoomed too",
    )
    browser.back()
    wait_for(lambda: "zoom_start" not in query(browser), what="zoom undone")

    # Two sources: the selector is shown; "all" sums the messages of both.
    select = browser.find_element(By.ID, ids.SOURCE)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", select)
    assert select.is_displayed()
    options = [o.text for o in Select(select).options if o.get_attribute("value")]
    assert options == ["기본", "branch", "전체"]
    Select(select).select_by_value("all")
    wait_for(lambda: query(browser).get("source") == ["all"], what="URL source=all")
    combined = wait_for(
        lambda: (s := drawn()) and s[0]["last"] != messages["last"] and s, what="all redrawn"
    )
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    expected = sum(round(b * (1.5 + math.sin(newest.hour / 24 * 2 * math.pi))) for b in (40, 15))
    assert combined[0]["last"] == expected
    assert_local_and_clean(browser)

    # The section, its switches, the source selector and the label filter pass axe-core's
    # WCAG 2.1 A/AA rules in both themes.
    for theme in ("light", "dark"):
        browser.add_cookie({"name": "theme", "value": theme, "path": "/"})
        browser.get(server.url + "admin/metrics/?range=7&source=all&label=by_model:qwen")
        wait_for(lambda: (s := drawn()) and s[1]["names"] == ["qwen"], what="the filter drawn")
        assert axe_violations(browser) == [], theme

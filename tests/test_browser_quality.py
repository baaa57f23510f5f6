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
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.page import ids
from db.metrics import METRIC_IDS
from tests.support import LiveServer, create_user, seed_history, sign_in

pytestmark = pytest.mark.browser
TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
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
            wait_for(browser, x_ranges, "six graphs drawn")
            assert browser.execute_script(
                "return document.documentElement.getAttribute('data-bs-theme')"
            ) == theme
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

"""The export buttons in real headless Chromium against a running server: the files arrive,
the CSV is in the browser's time zone, and a spinner shows while the PDF is made."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.page import ids
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.migrate import upgrade
from tests.support import create_user, seed_recent_hourly, sign_in

pytestmark = pytest.mark.browser
VIEWER_ZONE = "America/New_York"


def _wait(browser: Any, condition: Any, message: str, timeout: float = 120) -> Any:
    """Poll with a deadline (a cold Chromium start on a loaded machine can take a while)."""
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition, message)


def _downloaded(folder: Path, suffix: str) -> Path | None:
    files = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
    return files[0] if files else None


def _state(browser: Any) -> dict[str, Any]:
    return browser.execute_script(
        """
        const status = document.getElementById(arguments[0]);
        return {
            busy: status.classList.contains('exporting'),
            disabled: document.getElementById(arguments[1]).disabled,
            text: status.textContent,
        };
        """,
        ids.EXPORT_STATUS,
        ids.EXPORT_PDF_BUTTON,
    )


def test_page_exports_csv_in_the_viewers_zone_and_pdf_with_a_spinner(  # type: ignore[no-untyped-def]
    browser, live_server_factory, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    upgrade(url)
    create_user(url, "admin")
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        newest = seed_recent_hourly(session, 48)
    engine.dispose()
    server = live_server_factory({"DATABASE_URL": url})

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": VIEWER_ZONE})
    sign_in(browser, server, "admin/metrics/?range=7&granularity=hourly")
    _wait(browser, lambda b: b.find_elements(By.ID, ids.EXPORT_CSV_BUTTON), "export buttons")
    # The page has read the browser's zone (its notes name it) before we ask for a file.
    _wait(
        browser,
        lambda b: VIEWER_ZONE in b.find_element(By.ID, ids.NOTES).text,
        "the page shows the viewer's time zone",
    )

    browser.find_element(By.ID, ids.EXPORT_CSV_BUTTON).click()
    csv = _wait(browser, lambda b: _downloaded(downloads, ".csv"), "CSV downloaded")
    assert csv.name.startswith("metrics_")
    content = csv.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert table.columns[0] == f"시각 ({VIEWER_ZONE})"
    assert len(table.columns) == 1 + len(METRIC_IDS) and len(table) == 48
    assert table.iloc[-1, 0] == pd.Timestamp(newest).tz_convert(VIEWER_ZONE).isoformat()

    browser.find_element(By.ID, ids.EXPORT_PDF_BUTTON).click()
    # The first PDF starts the worker's Chromium (seconds): the spinner shows meanwhile.
    busy = _wait(browser, lambda b: _state(b)["busy"] and _state(b), "spinner while exporting")
    assert busy["disabled"] is True
    pdf = _wait(browser, lambda b: _downloaded(downloads, ".pdf"), "PDF downloaded")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert sum(len(page.images) for page in reader.pages) == len(METRIC_IDS)
    assert "관리자 메트릭 보고서" in reader.pages[0].extract_text()
    idle = _wait(browser, lambda b: (not _state(b)["busy"]) and _state(b), "spinner gone")
    assert idle["disabled"] is False and "실패" not in idle["text"]

    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

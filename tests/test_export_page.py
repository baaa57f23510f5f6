"""The page's export buttons, through Dash's real callback endpoint (as the browser calls it)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask

from dashboard.context import get_context
from dashboard.page import ids
from dashboard.page.export_callbacks import page_export_spec
from db.metrics import METRIC_IDS
from tests.support import page_export_request, seed_recent_hourly


def _seed_recent(app: Flask, hours: int = 48) -> datetime:
    with get_context(app).session() as session:
        return seed_recent_hourly(session, hours)


def test_csv_button_downloads_the_selection_in_the_viewers_zone(app, admin_client) -> None:  # type: ignore[no-untyped-def]
    now = _seed_recent(app)
    response = page_export_request(admin_client, ids.EXPORT_CSV_BUTTON, tz="America/New_York")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = json.loads(response.get_data())["response"]
    download = body[ids.EXPORT_DOWNLOAD]["data"]
    assert download["filename"].startswith("metrics_") and download["filename"].endswith(".csv")
    content = base64.b64decode(download["content"])
    assert content.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert table.columns[0] == "시각 (America/New_York)"
    assert len(table.columns) == 1 + len(METRIC_IDS)
    assert len(table) == 48
    last = pd.Timestamp(table.iloc[-1, 0])
    assert last == pd.Timestamp(now)
    assert last.utcoffset() == pd.Timestamp(now).tz_convert("America/New_York").utcoffset()
    assert table.iloc[-1, 0].endswith(("-05:00", "-04:00"))  # EST / EDT, written out
    assert body[ids.EXPORT_STATUS]["children"] == ""


def test_pdf_failure_shows_the_korean_message(app, admin_client) -> None:  # type: ignore[no-untyped-def]
    ctx = get_context(app)
    ctx.settings = ctx.settings.model_copy(update={"chromium_path": Path("/nonexistent")})
    _seed_recent(app, hours=3)
    response = page_export_request(admin_client, ids.EXPORT_PDF_BUTTON)
    assert response.status_code == 200
    body = json.loads(response.get_data())["response"]
    assert ids.EXPORT_DOWNLOAD not in body  # no file
    assert "데이터 내보내기에 실패했습니다" in json.dumps(body, ensure_ascii=False)


def test_export_callback_is_refused_to_anonymous_and_non_admins(  # type: ignore[no-untyped-def]
    anon_client, viewer_client
) -> None:
    assert page_export_request(anon_client, ids.EXPORT_CSV_BUTTON).status_code == 401
    assert page_export_request(viewer_client, ids.EXPORT_CSV_BUTTON).status_code in (401, 403)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_page_spec_follows_the_url_state(app) -> None:  # type: ignore[no-untyped-def]
    ctx = get_context(app)
    now = datetime(2025, 11, 20, 15, 20, tzinfo=UTC)
    spec = page_export_spec(
        ctx,
        fmt="pdf",
        search="?range=custom&start=2025-11-01&end=2025-11-03&granularity=daily",
        tz_name="Asia/Seoul",
        lang="en",
        now=now,
    )
    assert spec.granularity == "daily" and spec.fmt == "pdf" and spec.lang == "en"
    assert spec.tz == "Asia/Seoul" and spec.metric_types == METRIC_IDS
    # Business days (daily; BUSINESS_TIMEZONE = DEFAULT_TIMEZONE = Asia/Seoul), half-open:
    # [2025-11-01 00:00 KST, 2025-11-04 00:00 KST).
    assert spec.start == datetime(2025, 10, 31, 15, tzinfo=UTC)
    assert spec.end == datetime(2025, 11, 3, 15, tzinfo=UTC)
    unknown_zone = page_export_spec(
        ctx, fmt="csv", search="?range=7", tz_name=None, lang=None, now=now
    )
    assert unknown_zone.tz == ctx.settings.default_timezone
    assert unknown_zone.end - unknown_zone.start == timedelta(days=7)

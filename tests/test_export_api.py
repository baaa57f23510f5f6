"""Exports through the REST API: create, download, expiry, access, size limit."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from flask import Flask
from pypdf import PdfReader

from dashboard.context import get_context
from dashboard.reports.chart_renderer import ChartRenderer
from db.metrics import METRIC_IDS
from db.models import ExportFile
from tests.support import seed_daily, seed_recent_hourly, stored_token

EXPORT = "/api/v1/metrics/export"


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    chart_renderer = ChartRenderer(Path("/usr/lib/chromium/chromium"))
    yield chart_renderer
    chart_renderer.close()


def _token(app: Flask, username: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {stored_token(app, username)}"}


def _seed(app: Flask, hours: int = 24) -> datetime:
    with get_context(app).session() as session:
        return seed_recent_hourly(session, hours)


def _body(newest: datetime, fmt: str = "csv", **extra: Any) -> dict[str, Any]:
    return {
        "metric_types": ["active_users", "storage_bytes"],
        "start_date": (newest - timedelta(hours=23)).isoformat(),
        "end_date": (newest + timedelta(hours=1)).isoformat(),  # half-open: 24 slots
        "granularity": "hourly",
        "format": fmt,
        **extra,
    }


def test_api_export_creates_a_csv_an_admin_can_download(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    newest = _seed(app)
    auth = _token(app)
    response = anon_client.post(EXPORT, json=_body(newest, timezone="Asia/Seoul"), headers=auth)
    assert response.status_code == 201, response.get_json()
    info = response.get_json()
    assert info["downsampled"] is False
    expires = datetime.fromisoformat(info["expires_at"])
    assert expires.utcoffset() is not None
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert info["download_url"].startswith("/api/v1/exports/")

    download = anon_client.get(info["download_url"], headers=auth)
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "metrics_" in download.headers["Content-Disposition"]
    content = download.get_data()
    assert len(content) == info["file_size_bytes"]
    assert content.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == ["시각 (Asia/Seoul)", "활성 사용자 (명)", "저장 공간 (bytes)"]
    assert len(table) == 24
    assert table.iloc[-1, 0] == pd.Timestamp(newest).tz_convert("Asia/Seoul").isoformat()
    assert table.iloc[-1, 1] == "1000" and table.iloc[0, 1] == "1023"


def test_anonymous_and_non_admin_downloads_are_refused(app, anon_client, viewer_client) -> None:  # type: ignore[no-untyped-def]
    newest = _seed(app)
    created = anon_client.post(EXPORT, json=_body(newest), headers=_token(app))
    url = created.get_json()["download_url"]
    assert anon_client.get(url).status_code == 401
    assert viewer_client.get(url).status_code in (401, 403)
    assert anon_client.get(url, headers=_token(app, "viewer")).status_code == 403
    assert anon_client.post(EXPORT, json=_body(newest)).status_code == 401


def test_expired_export_is_404(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    newest = _seed(app)
    auth = _token(app)
    url = anon_client.post(EXPORT, json=_body(newest), headers=auth).get_json()["download_url"]
    export_id = url.rsplit("/", 1)[1]
    with get_context(app).session() as session:
        row = session.get(ExportFile, export_id)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    response = anon_client.get(url, headers=auth)
    assert response.status_code == 404
    assert response.get_json()["code"] == "EXPORT_NOT_FOUND"
    assert anon_client.get("/api/v1/exports/not-a-uuid", headers=auth).status_code == 404


def test_api_pdf_export(app, anon_client, renderer) -> None:  # type: ignore[no-untyped-def]
    get_context(app).chart_renderer = renderer
    newest = _seed(app)
    auth = _token(app)
    body = _body(newest, "pdf", metric_types=list(METRIC_IDS))
    response = anon_client.post(EXPORT, json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    download = anon_client.get(response.get_json()["download_url"], headers=auth)
    assert download.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(download.get_data()))
    assert sum(len(page.images) for page in reader.pages) == len(METRIC_IDS)


def test_export_that_cannot_fit_is_413(app, anon_client, renderer) -> None:  # type: ignore[no-untyped-def]
    ctx = get_context(app)
    ctx.chart_renderer = renderer
    ctx.settings = ctx.settings.model_copy(update={"export_max_bytes": 1024})
    newest = _seed(app)
    response = anon_client.post(EXPORT, json=_body(newest, "pdf"), headers=_token(app))
    assert response.status_code == 413
    assert response.get_json()["code"] == "EXPORT_TOO_LARGE"


def test_missing_chromium_is_a_clear_failure_not_a_hang(app, anon_client, caplog) -> None:  # type: ignore[no-untyped-def]
    ctx = get_context(app)
    ctx.settings = ctx.settings.model_copy(update={"chromium_path": Path("/nonexistent")})
    newest = _seed(app)
    response = anon_client.post(EXPORT, json=_body(newest, "pdf"), headers=_token(app))
    assert response.status_code == 503
    assert response.get_json()["code"] == "EXPORT_FAILED"
    assert "Chromium not found at /nonexistent" in caplog.text


def test_api_export_timestamps_default_to_the_default_timezone(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    # Issue 13: one default for the API and the CLI (DEFAULT_TIMEZONE), no longer UTC.
    newest = _seed(app)
    auth = _token(app)
    info = anon_client.post(EXPORT, json=_body(newest), headers=auth).get_json()
    content = anon_client.get(info["download_url"], headers=auth).get_data()
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert table.columns[0] == "시각 (Asia/Seoul)"
    assert table.iloc[-1, 0] == newest.astimezone(ZoneInfo("Asia/Seoul")).isoformat()


def test_daily_export_is_dated_in_business_days_whatever_zone_is_asked(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    # A daily value is the organisation's day (Asia/Seoul midnight = 15:00 UTC the day
    # before): asked in UTC, the file still names the Seoul dates, not the day before.
    seoul = ZoneInfo("Asia/Seoul")
    today = datetime.now(seoul).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=5)
    with get_context(app).session() as session:
        seed_daily(session, first.astimezone(UTC), 3)
    body = {
        "metric_types": ["active_users"],
        "start_date": first.isoformat(),
        "end_date": (first + timedelta(days=3)).isoformat(),
        "granularity": "daily",
        "format": "csv",
        "timezone": "UTC",
    }
    auth = _token(app)
    info = anon_client.post(EXPORT, json=body, headers=auth).get_json()
    content = anon_client.get(info["download_url"], headers=auth).get_data()
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert table.columns[0] == "날짜 (Asia/Seoul)"
    assert list(table.iloc[:, 0]) == [str((first + timedelta(days=d)).date()) for d in range(3)]

"""Numbers an admin can trust (issue 13): the same view gives the same numbers on the page's
cards, in the PDF summary, in the CSV and from the API comparison, on the same stored rows.

Nothing here re-checks the period rules (tests/test_periods.py fixes them); this compares
places with each other, each reading the real store through its own path.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from dashboard.charts.formatting import format_percent_change, format_value
from dashboard.context import get_context
from dashboard.page import ids
from dashboard.page.export_callbacks import page_export_spec
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.csv_export import csv_header
from dashboard.reports.export_service import export_file
from dashboard.reports.pdf_report import summary_value
from db.metrics import METRIC_IDS
from tests.support import render_request, seed_history

CHROMIUM = Path("/usr/lib/chromium/chromium")
SEARCH = "?range=7&granularity=hourly&compare=previous"
TZ = "Asia/Seoul"


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    chart_renderer = ChartRenderer(CHROMIUM)
    yield chart_renderer
    chart_renderer.close()


def _texts(node: Any, class_name: str) -> list[str]:
    """The text of every component with ``class_name`` in Dash's JSON of a layout."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += _texts(item, class_name)
    elif isinstance(node, dict):
        props = node.get("props", {})
        if class_name in str(props.get("className", "")).split():
            found.append(_plain(props.get("children")))
        found += _texts(props.get("children"), class_name)
    return found


def _plain(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list):
        return "".join(_plain(n) for n in node)
    return _plain(node.get("props", {}).get("children"))


def _page(client: FlaskClient) -> dict[str, Any]:
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    response = client.post(
        "/admin/metrics/_dash-update-component",
        json=render_request(deps, search=SEARCH, tz=TZ),
    )
    assert response.status_code == 200
    return response.get_json()["response"]


def _csv_blocks(content: bytes) -> list[list[dict[str, str]]]:
    text = content.decode("utf-8-sig")
    blocks = [b for b in text.split("\r\n\r\n") if b.strip()]
    return [list(csv.DictReader(io.StringIO(b))) for b in blocks]


def _average(rows: list[dict[str, str]], column: str) -> float:
    values = [int(r[column]) for r in rows if r[column] != ""]
    return sum(values) / len(values)


def _csv_view(ctx: Any, now: datetime) -> tuple[Any, list[dict[str, str]], list[dict[str, str]]]:
    spec = page_export_spec(ctx, fmt="csv", search=SEARCH, tz_name=TZ, lang="ko", now=now)
    result = export_file(ctx.sessions, spec, max_bytes=ctx.settings.export_max_bytes)
    assert result.filename == (
        f"metrics_hourly_{spec.start.astimezone(spec.zone).date()}_"
        # The end is exclusive: the name carries the day of the period's last instant.
        f"{(spec.end - timedelta(microseconds=1)).astimezone(spec.zone).date()}.csv"
    )
    current_rows, previous_rows = _csv_blocks(result.content)
    return spec, current_rows, previous_rows


def test_page_csv_and_api_agree_on_one_view(
    app: Flask, admin_client: FlaskClient, store_url: str
) -> None:
    seed_history(store_url, hourly_days=16, daily_days=20)
    now = datetime.now(UTC)
    ctx = get_context(app)

    # The page: each card's average and change badge.
    out = _page(admin_client)
    cards = {m: out[ids.card(m)]["children"] for m in METRIC_IDS}
    page_average = {m: _texts(cards[m], "card-average")[0] for m in METRIC_IDS}
    page_change = {m: _texts(cards[m], "compare-badge")[0] for m in METRIC_IDS}
    # The same view as CSV (both periods), through the page's spec.
    spec, current_rows, previous_rows = _csv_view(ctx, now)

    for metric in METRIC_IDS:
        # The API comparison of exactly these two windows.
        response = admin_client.get(
            "/api/v1/metrics/comparison",
            query_string={
                "metric_type": metric,
                "granularity": "hourly",
                "period1_start": spec.start.isoformat(),
                "period1_end": spec.end.isoformat(),
                "period2_start": spec.previous_start.isoformat(),
                "period2_end": spec.previous_end.isoformat(),
            },
        )
        assert response.status_code == 200, response.get_json()
        api = response.get_json()
        assert api["period1"]["start_date"] == spec.start.astimezone(UTC).isoformat()
        assert "." not in api["period1"]["end_date"]  # whole seconds

        header = csv_header(metric, "ko")
        csv_avg, csv_prev = _average(current_rows, header), _average(previous_rows, header)
        change = (csv_avg - csv_prev) / csv_prev * 100
        assert api["period1"]["average"] == pytest.approx(csv_avg)
        assert api["period2"]["average"] == pytest.approx(csv_prev)
        assert api["change_percentage"] == pytest.approx(change)
        assert api["period1"]["total_points"] == len([r for r in current_rows if r[header]])
        assert page_average[metric] == format_value(csv_avg, metric, "ko")
        assert page_change[metric] == format_percent_change(change)


def test_pdf_summary_gives_the_same_numbers_as_the_csv(
    app: Flask, store_url: str, renderer: ChartRenderer
) -> None:
    seed_history(store_url, hourly_days=16, daily_days=20)
    now = datetime.now(UTC)
    ctx = get_context(app)
    ctx.chart_renderer = renderer
    spec, current_rows, previous_rows = _csv_view(ctx, now)
    pdf_spec = page_export_spec(ctx, fmt="pdf", search=SEARCH, tz_name=TZ, lang="ko", now=now)
    pdf = export_file(
        ctx.sessions,
        pdf_spec,
        max_bytes=ctx.settings.export_max_bytes,
        renderer=ctx.get_chart_renderer,
    )
    assert pdf.filename.endswith(".pdf") and pdf_spec.previous_start == spec.previous_start
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for metric in METRIC_IDS:
        header = csv_header(metric, "ko")
        csv_avg, csv_prev = _average(current_rows, header), _average(previous_rows, header)
        change = (csv_avg - csv_prev) / csv_prev * 100
        assert summary_value(csv_avg, metric, "ko") in pdf_text
        assert summary_value(csv_prev, metric, "ko") in pdf_text  # both periods' numbers
        assert format_percent_change(change) in pdf_text

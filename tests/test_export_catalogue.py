"""Exports of catalogue metrics (issue 18): the six stay columns, the extra metrics follow in
a long block (time, metric, source, label, value) of the CSV and a table of the PDF, through
the API and the CLI alike, and what they carry is exactly what the store holds."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from admin_metrics.settings import Settings
from collectors.runner import insert_series, insert_snapshots
from dashboard.context import get_context
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.csv_export import ExtraSeries, fit_csv, wide_table
from db.catalogue import CatalogueMetric
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.queries import series_rows
from tests.support import create_user, stored_token
from tests.test_catalogue_api import CATALOGUE
from tests.test_export_csv import BOM, CLI

EXPORT = "/api/v1/metrics/export"
TOP = datetime(2026, 11, 20, 12, tzinfo=UTC)
HOURS = 6
LABELS = {"llama": 1, "qwen": 100, "=cmd": 1000}  # "=cmd": an admin's label, kept as text


def _value(label: str, hour: int) -> int:
    return LABELS[label] + hour


def _seed(session: Any) -> None:
    """HOURS slots up to TOP: the six (7), messages (10 + h), by_model per label."""
    for hour in range(HOURS):
        at = TOP - timedelta(hours=HOURS - 1 - hour)
        insert_snapshots(session, dict.fromkeys(METRIC_IDS, 7), "hourly", at)
        rows = {("messages", ""): 10 + hour}
        rows.update({("by_model", label): _value(label, hour) for label in LABELS})
        insert_series(session, rows, "hourly", at)


@pytest.fixture
def catalogue_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    return path


@pytest.fixture
def app(
    pg_url: str, make_settings: Callable[..., Settings], catalogue_file: Path
) -> Iterator[Flask]:
    from dashboard.app import create_app

    create_user(pg_url, "admin")
    flask_app = create_app(
        make_settings(database_url=pg_url, metrics_catalogue_file=catalogue_file)
    )
    with get_context(flask_app).session() as session:
        _seed(session)
    yield flask_app
    get_context(flask_app).engine.dispose()


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    chart_renderer = ChartRenderer(Path("/usr/lib/chromium/chromium"))
    yield chart_renderer
    chart_renderer.close()


def _export(app: Flask, client: FlaskClient, **body: Any) -> tuple[int, Any]:
    auth = {"Authorization": f"Bearer {stored_token(app, 'admin')}"}
    request = {
        "start_date": (TOP - timedelta(hours=HOURS - 1)).isoformat(),
        "end_date": (TOP + timedelta(hours=1)).isoformat(),
        "granularity": "hourly",
        "format": "csv",
        "timezone": "UTC",
        **body,
    }
    response = client.post(EXPORT, json=request, headers=auth)
    if response.status_code != 201:
        return response.status_code, response.get_json()
    download = client.get(response.get_json()["download_url"], headers=auth)
    assert download.status_code == 200
    return 201, download.get_data()


def _blocks(content: bytes) -> list[list[list[str]]]:
    """The CSV's blocks (parted by blank lines), each a list of rows."""
    assert content.startswith(BOM)
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        if row:
            blocks[-1].append(row)
        elif blocks[-1]:
            blocks.append([])
    return blocks


def _expected_extras(stamp: Callable[[int], str]) -> list[list[str]]:
    """The extras block's rows the store holds, in catalogue order, label, then time."""
    rows = [[stamp(h), "메시지 수 (개)", "default", "", str(10 + h)] for h in range(HOURS)]
    for label in sorted(LABELS):
        shown = "'" + label if label.startswith("=") else label
        rows += [
            [stamp(h), "모델별 대화 수 (conversations)", "default", shown, str(_value(label, h))]
            for h in range(HOURS)
        ]
    return rows


def _utc(hour: int) -> str:
    return (TOP - timedelta(hours=HOURS - 1 - hour)).isoformat()


def test_api_csv_carries_the_six_as_columns_and_every_label_of_the_extras(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    status, content = _export(
        app, anon_client, metric_types=["active_users", "by_model", "messages"]
    )
    assert status == 201, content
    six, extras = _blocks(content)
    assert six[0] == ["시각 (UTC)", "활성 사용자 (명)"]
    assert [r[1] for r in six[1:]] == ["7"] * HOURS
    assert extras[0] == ["시각 (UTC)", "지표", "원본", "레이블", "값"]
    # Asked for by_model before messages: the block follows the order asked for.
    by_model = [r for r in _expected_extras(_utc) if r[1].startswith("모델")]
    messages = [r for r in _expected_extras(_utc) if r[1].startswith("메시지")]
    assert extras[1:] == by_model + messages


def test_api_export_of_extras_only(app, anon_client) -> None:  # type: ignore[no-untyped-def]
    status, content = _export(app, anon_client, metric_types=["messages"])
    assert status == 201, content
    (only,) = _blocks(content)
    assert only[0][1:] == ["지표", "원본", "레이블", "값"]
    assert [r[4] for r in only[1:]] == [str(10 + h) for h in range(HOURS)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"metric_types": ["active_users", "nope"]}, "METRICS_UNKNOWN_METRIC"),
        ({"metric_types": ["messages"], "source": "elsewhere"}, "METRICS_UNKNOWN_SOURCE"),
    ],
)
def test_api_export_refuses_an_unknown_metric_or_source(app, anon_client, body, code) -> None:  # type: ignore[no-untyped-def]
    status, problem = _export(app, anon_client, **body)
    assert (status, problem["code"]) == (400, code)


def test_api_pdf_has_a_table_of_the_extras(app, anon_client, renderer) -> None:  # type: ignore[no-untyped-def]
    get_context(app).chart_renderer = renderer
    status, content = _export(
        app, anon_client, metric_types=["tag_count", "by_model", "messages"], format="pdf"
    )
    assert status == 201, content
    reader = PdfReader(io.BytesIO(content))
    assert sum(len(page.images) for page in reader.pages) == 1  # the six's charts only
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "추가 지표" in text
    last = HOURS - 1
    # Per label: latest, min, max, average of the period.
    for label, base in LABELS.items():
        mean = base + last / 2
        cells = f"{label} {base + last:,} {base:,} {base + last:,} {mean:,.1f}"
        assert cells in text, (cells, text)
    assert f"메시지 수 (개) {10 + last} 10 {10 + last}" in text


def test_cli_exports_catalogue_metrics_from_the_file(
    sqlite_url: str, tmp_path: Path, catalogue_file: Path
) -> None:
    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        _seed(session)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "METRICS_"))}
    env.update(DATABASE_URL=sqlite_url, METRICS_CATALOGUE_FILE=str(catalogue_file))
    out = tmp_path / "report.csv"

    def run(metrics: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "export", "--format", "csv", "--granularity", "hourly", "--tz", "UTC"]
            + ["--metrics", metrics, "--from", _utc(0), "--to", _utc(HOURS), "-o", str(out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    proc = run("messages,by_model")
    assert proc.returncode == 0, proc.stderr
    (extras,) = _blocks(out.read_bytes())
    assert extras[1:] == _expected_extras(_utc)
    out.unlink()
    proc = run("messages,nope")
    assert proc.returncode == 2
    assert "unknown metric: nope" in proc.stderr and "messages, by_model" in proc.stderr
    assert not out.exists()


def test_an_oversized_csv_reduces_each_extra_series_and_keeps_exact_values(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    with session_scope(sessions) as session:
        for hour in range(200):
            at = TOP - timedelta(hours=hour)
            insert_series(
                session,
                {("by_model", label): _value(label, hour) for label in LABELS},
                "hourly",
                at,
            )
        rows = series_rows(session, ["by_model"], "hourly", TOP - timedelta(days=30), TOP)
    engine.dispose()
    metric = CatalogueMetric(
        "by_model", "모델별", "By model", "count", "개", "count", "gauge", "max", "", True
    )
    extras = ExtraSeries(rows, (metric,))
    full, reduced = (
        fit_csv(wide_table({}, "hourly"), tz="UTC", lang="en", max_bytes=limit, extras=extras)
        for limit in (10**9, 8000)
    )
    assert full[1] is False and reduced[1] is True and len(reduced[0]) <= 8000
    table = pd.read_csv(io.BytesIO(reduced[0]), encoding="utf-8-sig", dtype=str)
    counts = table.groupby("Label").size()
    assert set(counts.index) == {"llama", "qwen", "'=cmd"} and counts.max() < 200
    stored = {(r.label, r.timestamp.isoformat()): str(r.value) for r in rows.itertuples()}
    for row in table.itertuples(index=False):
        label = row[3].removeprefix("'")
        assert stored[(label, row[0])] == row[4]


def test_api_export_of_all_sources_combines_the_six_and_names_each_extra_source(
    app, anon_client
) -> None:  # type: ignore[no-untyped-def]
    """``source=all`` (the page's All): the six summed per slot as the page draws them; the
    extras' rows of every source, each with its own."""
    with get_context(app).session() as session:
        for hour in range(HOURS):
            at = TOP - timedelta(hours=HOURS - 1 - hour)
            branch = {("active_users", ""): 100 + hour, ("messages", ""): 50 + hour}
            insert_series(session, branch, "hourly", at, source="branch")
    status, content = _export(
        app, anon_client, metric_types=["active_users", "messages"], source="all"
    )
    assert status == 201, content
    six, extras = _blocks(content)
    assert [r[1] for r in six[1:]] == [str(7 + 100 + h) for h in range(HOURS)]
    assert extras[1:] == [
        [_utc(h), "메시지 수 (개)", "branch", "", str(50 + h)] for h in range(HOURS)
    ] + [[_utc(h), "메시지 수 (개)", "default", "", str(10 + h)] for h in range(HOURS)]

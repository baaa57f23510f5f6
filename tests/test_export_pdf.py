"""PDF reports: real Kaleido/Chromium charts, ReportLab layout, the embedded Korean font."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from pypdf import PdfReader

from admin_metrics.settings import Settings
from dashboard.charts.formatting import format_percent_change
from dashboard.context import AppContext
from dashboard.reports import pdf_report
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.export_service import create_export, render_export
from dashboard.reports.insights import InsightOptions
from dashboard.reports.pdf_report import summary_label, summary_value
from dashboard.reports.types import ExportError, ExportSpec
from db.metrics import METRIC_IDS, METRICS_BY_ID
from tests.support import (
    GAP_HOURS,
    HOURS,
    T0,
    seed_daily,
    seed_hourly,
    stored_value,
    wait_for,
)

CHROMIUM = Path("/usr/lib/chromium/chromium")
END = T0 + timedelta(hours=HOURS)  # half-open [T0, END): all HOURS slots

MAX_BYTES: int = Settings.model_fields["export_max_bytes"].default  # EXPORT_MAX_BYTES


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    """One browser for the whole module, as in production (started on first use)."""
    chart_renderer = ChartRenderer(CHROMIUM)
    yield chart_renderer
    chart_renderer.close()


def _spec(**overrides: Any) -> ExportSpec:
    values: dict[str, Any] = {
        "metric_types": METRIC_IDS,
        "start": T0,
        "end": END,
        "granularity": "hourly",
        "fmt": "pdf",
        "tz": "Asia/Seoul",
    }
    values.update(overrides)
    return ExportSpec(**values)


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _fonts(reader: PdfReader) -> dict[str, Any]:
    fonts: dict[str, Any] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


def _images(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


def test_pdf_has_korean_names_summary_numbers_embedded_font_and_one_chart_each(  # type: ignore[no-untyped-def]
    sqlite_url, make_settings, renderer
) -> None:
    from db.engine import make_engine, session_factory, session_scope

    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    with session_scope(factory) as session:
        seed_hourly(session)
        # The previous period (same length, just before) for the change column.
        for index, metric in enumerate(METRIC_IDS):
            from db.models import MetricSnapshot

            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=stored_value(index, 0) // 2,
                    granularity="hourly",
                    collected_at=T0 - timedelta(hours=3),
                )
            )
    with session_scope(factory) as session:
        result = render_export(session, _spec(), renderer=renderer, max_bytes=MAX_BYTES)
    engine.dispose()

    assert result.content.startswith(b"%PDF-")
    assert result.filename.endswith(".pdf") and result.downsampled is False
    reader = PdfReader(io.BytesIO(result.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = _text(reader)
    assert "관리자 메트릭 보고서" in text
    assert "2025-11-01 09:00 – 2025-11-02 09:00" in text  # half-open period in Seoul time
    assert "Asia/Seoul (UTC+09:00)" in text
    assert "생성 시각" in text
    for index, metric in enumerate(METRIC_IDS):
        assert METRICS_BY_ID[metric].name_ko in text
        hours = [h for h in range(HOURS) if h not in (5, 6)]
        values = [stored_value(index, h) for h in hours]
        assert summary_label(metric, "ko") in text
        averages = sum(values) / len(values)
        for number in (values[-1], min(values), max(values), averages):  # current … average
            assert summary_value(number, metric, "ko") in text, (metric, number)
        previous = stored_value(index, 0) // 2
        change = (sum(values) / len(values) - previous) / previous * 100
        assert format_percent_change(change) in text
    pages = len(reader.pages)
    assert f"1 / {pages} 페이지" in text and f"{pages} / {pages} 페이지" in text

    fonts = _fonts(reader)
    nanum = [name for name in fonts if "NanumGothic" in name]
    assert nanum, fonts.keys()
    for name in nanum:
        descriptor = fonts[name]["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # TrueType program embedded, not a CID reference
    assert not any("HYGothic" in name for name in fonts)

    assert _images(reader) == len(METRIC_IDS)  # one chart per metric, nothing else


def test_pdf_through_the_service_uses_the_app_renderer_and_is_stored(app, renderer) -> None:  # type: ignore[no-untyped-def]
    from dashboard.context import get_context

    ctx = get_context(app)
    ctx.chart_renderer = renderer
    assert ctx.get_chart_renderer() is renderer
    with ctx.session() as session:
        seed_hourly(session)
    spec = _spec(metric_types=("active_users", "storage_bytes"), lang="en", tz="UTC")
    row = _create(ctx, spec)
    assert row.format == "pdf" and row.filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(row.content))
    text = _text(reader)
    assert "Admin Metrics Report" in text and "Active users" in text and "Storage" in text
    assert _images(reader) == 2


def test_missing_chromium_fails_fast_with_a_clear_error(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard.context import get_context

    ctx = get_context(app)
    ctx.settings = ctx.settings.model_copy(update={"chromium_path": Path("/nonexistent")})
    started = time.monotonic()
    with pytest.raises(ExportError, match="Chromium not found at /nonexistent"):
        _create(ctx, _spec())
    assert time.monotonic() - started < 5
    renderer = ctx.get_chart_renderer()
    assert not renderer.browser_open  # nothing was started


def _create(ctx: AppContext, spec: ExportSpec) -> Any:
    """Store an export with the app's store, limits and renderer (as the API does)."""
    return create_export(
        ctx.sessions,
        spec,
        max_bytes=ctx.settings.export_max_bytes,
        ttl_seconds=ctx.settings.export_ttl_seconds,
        renderer=ctx.get_chart_renderer,
        user_id=None,
    )


def _figure(title: str) -> go.Figure:
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2]), layout={"title": {"text": title}})


def test_concurrent_callers_each_get_their_own_images(renderer) -> None:  # type: ignore[no-untyped-def]
    titles = [f"chart {i}" for i in range(4)]
    expected = {
        title: renderer.render([_figure(title)], width=300, height=200, scale=1)[0]
        for title in titles
    }
    assert len(set(expected.values())) == len(titles)
    results: dict[str, list[bytes]] = {title: [] for title in titles}
    errors: list[BaseException] = []

    def worker(title: str) -> None:
        try:
            for _ in range(2):
                results[title] += renderer.render([_figure(title)], width=300, height=200, scale=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(title,)) for title in titles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for title in titles:
        assert results[title] == [expected[title]] * 2, title


def test_browser_closes_when_idle_and_restarts_on_next_use() -> None:
    chart_renderer = ChartRenderer(CHROMIUM, idle_close_s=0.5)
    try:
        chart_renderer.render([_figure("a")], width=200, height=150, scale=1)
        deadline = time.monotonic() + 20
        while chart_renderer.browser_open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not chart_renderer.browser_open
        png = chart_renderer.render([_figure("b")], width=200, height=150, scale=1)[0]
        assert png.startswith(b"\x89PNG")
    finally:
        chart_renderer.close()
    assert not chart_renderer.browser_open


def test_renderer_restarts_after_a_failed_render(renderer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ExportError, match="chart rendering failed"):
        renderer.render([_figure("x")], width=200, height=150, fmt="no-such-format")
    assert not renderer.browser_open
    png = renderer.render([_figure("y")], width=200, height=150, scale=1)[0]
    assert png.startswith(b"\x89PNG")


def test_generation_time_is_printed_in_the_export_zone(sqlite_url, make_settings, renderer) -> None:  # type: ignore[no-untyped-def]
    from db.engine import make_engine, session_factory, session_scope

    engine = make_engine(sqlite_url)
    now = datetime(2025, 11, 2, 5, 30, 52, tzinfo=UTC)
    with session_scope(session_factory(engine)) as session:
        result = render_export(
            session,
            _spec(metric_types=("tag_count",)),
            renderer=renderer,
            now=now,
            max_bytes=MAX_BYTES,
        )
    engine.dispose()
    text = _text(PdfReader(io.BytesIO(result.content)))
    assert "2025-11-02 14:30:52" in text
    # Issue 13: the file is named by its granularity and period (export zone), not the time.
    assert result.filename == "metrics_hourly_2025-11-01_2025-11-02.pdf"


def test_summary_cells_scale_bytes_and_keep_counts_plain() -> None:
    assert summary_label("conversation_count", "en") == "Conversations (conversations)"
    assert summary_label("storage_bytes", "ko") == "저장 공간"
    assert summary_value(31638, "conversation_count", "en") == "31,638"
    assert summary_value(99.64, "active_users", "ko") == "99.6"
    assert summary_value(16.5 * 1024**3, "storage_bytes", "ko") == "16.5 GiB"  # IEC
    assert summary_value(None, "tag_count", "ko") == "—"


def test_missing_korean_font_is_a_clear_error(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pdf_report, "FONT_DIRS", (tmp_path,))
    monkeypatch.setattr(pdf_report.pdfmetrics, "getRegisteredFontNames", lambda: [])
    with pytest.raises(ExportError, match="NanumGothic.ttf not found .*fonts-nanum"):
        pdf_report.register_fonts()


def test_warm_up_starts_the_browser_in_the_background_and_a_render_shares_it() -> None:
    chart_renderer = ChartRenderer(CHROMIUM, idle_close_s=0.5)
    try:
        started = time.perf_counter()
        assert chart_renderer.warm_up() is True
        # It returns before Chromium is up (a start takes seconds, this well under one).
        assert time.perf_counter() - started < 0.5
        assert not chart_renderer.browser_open
        # A render while the browser is starting waits for that same browser.
        png = chart_renderer.render([_figure("w")], width=200, height=150, scale=1)[0]
        assert png.startswith(b"\x89PNG")
        first = chart_renderer._kaleido
        assert first is not None
        # An unused warm browser still closes when idle.
        deadline = time.monotonic() + 20
        while chart_renderer.browser_open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not chart_renderer.browser_open
    finally:
        chart_renderer.close()


def test_warm_up_opens_the_browser_before_any_pdf() -> None:
    chart_renderer = ChartRenderer(CHROMIUM)
    try:
        assert chart_renderer.warm_up()
        deadline = time.monotonic() + 180  # a loaded machine starts Chromium slowly
        while not chart_renderer.browser_open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert chart_renderer.browser_open
    finally:
        chart_renderer.close()
    assert not chart_renderer.browser_open


def test_warm_up_without_chromium_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    chart_renderer = ChartRenderer(tmp_path / "no-chromium")
    assert chart_renderer.warm_up() is False
    chart_renderer.close()


def test_app_start_up_warms_the_renderer_without_waiting(sqlite_url, make_settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard.app import create_app
    from dashboard.context import get_context

    app = create_app(make_settings(database_url=sqlite_url, chart_renderer_warm=True))
    ctx = get_context(app)
    try:
        assert ctx.chart_renderer is not None  # created and starting in the background
        # create_app returned before the browser was up (Chromium takes seconds to start):
        # a worker's start-up never waits for it.
        assert not ctx.chart_renderer.browser_open
        deadline = time.monotonic() + 180
        while not ctx.chart_renderer.browser_open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ctx.chart_renderer.browser_open
    finally:
        assert "chart_renderer" in ctx.close()


def test_pdf_lists_the_events_and_the_trends_of_the_period(sqlite_url, renderer) -> None:  # type: ignore[no-untyped-def]
    """The period's events (an admin's and an automatic outage) in a table and marked on the
    charts; the growing metrics' trend sentences, as on the page's cards."""
    from db import events
    from db.engine import make_engine, session_factory, session_scope
    from db.models import MetricCollectionFailure

    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    with session_scope(factory) as session:
        seed_hourly(session)  # slots 5 and 6 are gaps
        seed_daily(session, T0 - timedelta(days=20), 20)  # 20 days of growth: a trend
        for hour in GAP_HOURS:
            for metric in METRIC_IDS:
                session.add(
                    MetricCollectionFailure(
                        metric_type=metric,
                        granularity="hourly",
                        attempted_at=T0 + timedelta(hours=hour),
                        error_message="소스 데이터베이스 연결 실패",
                    )
                )
        events.add_event(
            session,
            start=T0 + timedelta(hours=3),
            end=None,
            title="배포 v3 <모델 교체>",
            kind="release",
            created_by="admin",
        )
    with session_scope(factory) as session:
        result = render_export(
            session,
            _spec(),
            renderer=renderer,
            max_bytes=MAX_BYTES,
            now=END,  # the period reaches "now": trends are drawn ahead of it
            insights=InsightOptions(zone="Asia/Seoul"),
        )
    engine.dispose()

    text = _text(PdfReader(io.BytesIO(result.content)))
    assert "이벤트" in text
    assert "배포 v3 <모델 교체>" in text  # the admin's text as text, not markup
    assert "2025-11-01 12:00" in text  # 03:00 UTC in Seoul
    assert "수집 실패: 2개 슬롯" in text
    assert "추세 예측" in text
    for metric in ("storage_bytes", "conversation_count", "document_count", "tag_count"):
        assert f"{METRICS_BY_ID[metric].name_ko}: 추세 예측: 30일 후 약" in text, metric
    assert f"{METRICS_BY_ID['active_users'].name_ko}: 추세" not in text


def _session_processes(sid: int) -> list[str]:
    """The processes still in session ``sid`` (a Chromium left behind stays in it)."""
    ps = subprocess.run(["ps", "-e", "-o", "sid=,pid=,comm="], capture_output=True, text=True)
    return [line for line in ps.stdout.splitlines() if line.split()[0] == str(sid)]


def _cli_pdf(tmp_path: Path, url: str, *extra: str) -> tuple[subprocess.CompletedProcess, int]:
    """``admin-metrics export --format pdf`` in a session of its own; (result, session id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "EXPORT_"))}
    env["DATABASE_URL"] = url
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "admin-metrics"), "export", "--format", "pdf"]
        + ["--from", T0.isoformat(), "--to", END.isoformat(), "--granularity", "hourly"]
        + [*extra, "-o", str(tmp_path / "report.pdf")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stdout, stderr = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), proc.pid


def test_cli_pdf_has_the_charts_and_leaves_no_browser_behind(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The CLI starts Chromium at once (it closes as soon as the charts are drawn) and
    loads the page's plotly.js bundle into it; at exit no Chromium process is left."""
    from db.engine import make_engine, session_factory, session_scope

    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        seed_hourly(session)
    engine.dispose()
    result, sid = _cli_pdf(tmp_path, sqlite_url, "--lang", "en")
    assert result.returncode == 0, result.stderr
    reader = PdfReader(tmp_path / "report.pdf")
    assert "Admin Metrics Report" in _text(reader)
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == len(METRIC_IDS)  # one chart a metric, drawn by Chromium
    assert all(image.image.width >= pdf_report.CHART_WIDTH_PX for image in images)
    wait_for(lambda: not _session_processes(sid), timeout=10, what="no Chromium left")


def test_cli_pdf_usage_error_after_the_browser_started(sqlite_url: str, tmp_path: Path) -> None:
    """A bad metric is found after Chromium's start began: exit 2, the reason, no file."""
    result, _ = _cli_pdf(tmp_path, sqlite_url, "--metrics", "nope")
    assert result.returncode == 2
    assert "unknown metric: nope" in result.stderr
    assert not (tmp_path / "report.pdf").exists()


def _child_processes() -> set[int]:
    """This process's children (choreographer runs each Chromium under one)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:  # ended meanwhile
            continue
        if stat and int(stat[stat.rindex(")") + 2 :].split()[1]) == os.getpid():
            pids.add(int(entry.name))
    return pids


def test_close_while_the_browser_starts_waits_for_it_then_closes_it() -> None:
    """``close()`` in the middle of a warm-up (the CLI at a usage error) lets the start
    end and closes that browser; cutting the start off left its process running."""
    before = _child_processes()  # the module's renderer has its own
    chart_renderer = ChartRenderer(CHROMIUM)
    assert chart_renderer.warm_up()
    wait_for(lambda: _child_processes() - before, timeout=10, what="Chromium starting")
    chart_renderer.close()
    # Its process is gone moments after the close (left running without the wait).
    wait_for(lambda: not _child_processes() - before, timeout=15, what="no Chromium left")


def test_a_start_too_slow_for_the_shutdown_is_cancelled_and_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the start outlasts the shutdown's wait (a loaded host), it is cancelled, and the
    cancelled start closes the browser it was opening."""
    from dashboard.reports import chart_renderer as module

    monkeypatch.setattr(module, "SHUTDOWN_WAIT_S", 0.05)
    before = _child_processes()
    chart_renderer = ChartRenderer(CHROMIUM)
    assert chart_renderer.warm_up()
    wait_for(lambda: _child_processes() - before, timeout=10, what="Chromium starting")
    chart_renderer.close()
    assert not chart_renderer.browser_open
    wait_for(lambda: not _child_processes() - before, timeout=15, what="no Chromium left")

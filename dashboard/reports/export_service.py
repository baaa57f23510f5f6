"""The one export service: CSV and PDF reports for the page, the REST API and the CLI.

``render_export`` turns an ``ExportSpec`` into file bytes; ``create_export`` also stores the
file (``db.exports``) so any worker or replica can serve it until it expires. The service
takes a session factory, the chart renderer and the limits as values (no web app inside).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dashboard.charts.overlays import NO_INSIGHTS
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.csv_export import extras_table, fit_csv, wide_table
from dashboard.reports.event_marks import load_chart_events
from dashboard.reports.insights import InsightOptions, load_insights
from dashboard.reports.pdf_report import build_pdf_report
from dashboard.reports.types import (
    ExportData,
    ExportError,
    ExportResult,
    ExportSpec,
    ExportTooLarge,
    export_filename,
)
from db.engine import session_scope
from db.exports import save_export
from db.models import ExportFile
from db.queries import series_rows, timeseries_many

log = logging.getLogger(__name__)

# Called only for a PDF, so a CSV export never creates (or starts) a browser.
RendererSource = Callable[[], ChartRenderer]


def load_export_data(
    session: Session,
    spec: ExportSpec,
    insights: InsightOptions | None = None,
    *,
    now: datetime | None = None,
) -> ExportData:
    """The series of ``spec`` (and of the period before, for a PDF's change % or in compare
    mode), the period's events and, for a PDF with ``insights``, the forecasts and unusual
    values drawn on its charts."""
    start, end = spec.start.astimezone(UTC), spec.end.astimezone(UTC)
    frames = timeseries_many(
        session, spec.metric_types, spec.granularity, start, end, source=spec.source
    )
    extras = series_rows(
        session, [m.id for m in spec.extras], spec.granularity, start, end, source=spec.source
    )
    events = tuple(load_chart_events(session, start, end, spec.lang))
    if spec.fmt != "pdf" and not spec.comparing:
        return ExportData(frames, events=events, extras=extras)
    # Half-open periods: the default previous period ends where this one starts, so no slot
    # is counted twice.
    previous = timeseries_many(
        session,
        spec.metric_types,
        spec.granularity,
        spec.previous_start.astimezone(UTC),
        spec.previous_end.astimezone(UTC),
        source=spec.source,
    )
    marks = (
        load_insights(
            session,
            frames,
            granularity=spec.granularity,
            start=start,
            end=end,
            comparing=spec.comparing,
            options=insights,
            now=now or datetime.now(UTC),
        )
        if spec.fmt == "pdf" and insights is not None
        else NO_INSIGHTS
    )
    return ExportData(frames, previous, events, marks, extras)


def render_data(
    data: ExportData,
    spec: ExportSpec,
    *,
    max_bytes: int,
    renderer: ChartRenderer | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """The file for ``spec`` from series already read; ``max_bytes`` is ``EXPORT_MAX_BYTES``."""
    now = now or datetime.now(UTC)
    filename = export_filename(spec)
    if spec.fmt == "csv":
        content, downsampled = fit_csv(
            wide_table(data.frames, spec.granularity),
            tz=spec.tz,
            lang=spec.lang,
            max_bytes=max_bytes,
            granularity=spec.granularity,
            compare=wide_table(data.previous, spec.granularity) if spec.comparing else None,
            events=data.events,
            extras=extras_table(data.extras, spec.extras),
        )
        return ExportResult(content, filename, downsampled)

    if renderer is None:
        raise ExportError("PDF export needs a chart renderer")
    try:
        content, downsampled = build_pdf_report(data, spec, renderer=renderer, now=now)
    except ExportError:
        raise
    except Exception as exc:  # a layout or figure bug must still end as "export failed"
        log.exception("PDF report generation failed")
        raise ExportError(f"PDF generation failed: {type(exc).__name__}: {exc}") from exc
    if len(content) > max_bytes:
        raise ExportTooLarge(f"PDF is {len(content)} bytes, EXPORT_MAX_BYTES={max_bytes}")
    return ExportResult(content, filename, downsampled)


def render_export(
    session: Session,
    spec: ExportSpec,
    *,
    max_bytes: int,
    renderer: ChartRenderer | None = None,
    now: datetime | None = None,
    insights: InsightOptions | None = None,
) -> ExportResult:
    """Read the series for ``spec`` and render the file (PDF needs ``renderer``)."""
    data = load_export_data(session, spec, insights, now=now)
    return render_data(data, spec, max_bytes=max_bytes, renderer=renderer, now=now)


def export_file(
    sessions: sessionmaker[Session],
    spec: ExportSpec,
    *,
    max_bytes: int,
    renderer: RendererSource | None = None,
    now: datetime | None = None,
    insights: InsightOptions | None = None,
) -> ExportResult:
    """Render ``spec`` from the store behind ``sessions`` (nothing is stored).

    The series are read in one short session; chart rendering happens outside any
    database transaction. ``renderer`` is asked for only when a PDF is made.
    """
    chart_renderer = renderer() if spec.fmt == "pdf" and renderer is not None else None
    with session_scope(sessions) as session:
        data = load_export_data(session, spec, insights, now=now)
    return render_data(data, spec, max_bytes=max_bytes, renderer=chart_renderer, now=now)


def create_export(
    sessions: sessionmaker[Session],
    spec: ExportSpec,
    *,
    max_bytes: int,
    ttl_seconds: int,
    renderer: RendererSource | None = None,
    user_id: int | None,
    now: datetime | None = None,
    insights: InsightOptions | None = None,
) -> ExportFile:
    """Render ``spec`` and store it for ``ttl_seconds`` (``EXPORT_TTL_SECONDS``); the row
    carries the id.

    Raises ``ExportTooLarge`` (413) or ``ExportError`` (log the message, show
    ``export.failed``).
    """
    result = export_file(
        sessions, spec, max_bytes=max_bytes, renderer=renderer, now=now, insights=insights
    )
    with session_scope(sessions) as session:
        row = save_export(
            session,
            content=result.content,
            fmt=spec.fmt,
            filename=result.filename,
            downsampled=result.downsampled,
            ttl_seconds=ttl_seconds,
            user_id=user_id,
            now=now,
        )
    log.info(
        "Export %s created: %s, %d bytes, %d metrics, downsampled=%s",
        row.id,
        row.filename,
        row.size_bytes,
        len(spec.metric_types),
        row.downsampled,
    )
    return row

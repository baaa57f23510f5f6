"""The report service and value formatting as the ``alerts`` package sees them.

``alerts`` may not import the web wing, so the composition root (the app factory, the
CLI) hands it a ``ReportPresenter``: the page's own value formatting and the page's own
CSV/PDF export service. ``build_report_files`` is the one place that calls the export
service for mailed reports. Like the rest of the reports room: no Flask, no Dash, no
settings object — the limit and the renderer come in as values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from alerts.types import Attachment, ReportError, ReportFiles, ReportRequest, SummaryLine
from dashboard.charts.formatting import format_percent_change, format_value
from dashboard.charts.summaries import summarize
from dashboard.reports.export_service import RendererSource, load_export_data, render_data
from dashboard.reports.insights import InsightOptions
from dashboard.reports.types import MEDIA_TYPES, ExportError, ExportSpec
from db.engine import session_scope
from db.metrics import METRIC_IDS, METRICS_BY_ID


def report_filename(request: ReportRequest, fmt: str) -> str:
    """``metrics_hourly_2026-11-23_2026-11-29.pdf``: what and which days, not when made."""
    zone = ZoneInfo(request.tz)
    first_day = request.start.astimezone(zone)
    last_day = (request.end - timedelta(microseconds=1)).astimezone(zone)
    return f"metrics_{request.granularity}_{first_day:%Y-%m-%d}_{last_day:%Y-%m-%d}.{fmt}"


def build_report_files(
    sessions: sessionmaker[Session],
    request: ReportRequest,
    *,
    max_bytes: int,
    renderer: RendererSource,
    insights: InsightOptions | None = None,
) -> ReportFiles:
    """The PDF (and optionally the CSV) of all six metrics over the request's period, with
    the comparison to the period before, plus the mail's summary lines — all from one read
    of the store, so the mail and the attachment show the same numbers."""
    spec = ExportSpec(
        metric_types=METRIC_IDS,
        start=request.start,
        end=request.end,
        granularity=request.granularity,
        fmt="pdf",
        tz=request.tz,
        lang=request.lang,
    )
    with session_scope(sessions) as session:
        data = load_export_data(session, spec, insights, now=request.now)
    try:
        pdf = render_data(data, spec, max_bytes=max_bytes, renderer=renderer(), now=request.now)
        attachments = [Attachment(report_filename(request, "pdf"), pdf.content, MEDIA_TYPES["pdf"])]
        if request.include_csv:
            csv_spec = replace(spec, fmt="csv")
            csv = render_data(data, csv_spec, max_bytes=max_bytes, now=request.now)
            attachments.append(Attachment(report_filename(request, "csv"), csv.content, "text/csv"))
    except ExportError as exc:
        raise ReportError(str(exc)) from exc
    lines = []
    for metric_type in METRIC_IDS:
        summary = summarize(
            data.frames[metric_type],
            metric_type=metric_type,
            compare_df=data.previous.get(metric_type),
        )
        lines.append(
            SummaryLine(
                metric_type=metric_type,
                name=METRICS_BY_ID[metric_type].name(request.lang),
                latest=format_value(summary.latest, metric_type, request.lang),
                change=format_percent_change(summary.compare_percent),
            )
        )
    return ReportFiles(tuple(attachments), tuple(lines))


class ReportPresenter:
    """``alerts.types.Presenter`` over the dashboard's formatting and export service."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_bytes: int,
        renderer: RendererSource,
        insights: InsightOptions | None = None,
    ) -> None:
        self._sessions = sessions
        self._max_bytes = max_bytes
        self._renderer = renderer
        self._insights = insights

    def format_value(self, value: float | None, metric_type: str, lang: str) -> str:
        return format_value(value, metric_type, lang)

    def format_change(self, change: float | None) -> str:
        return format_percent_change(change)

    def build_report(self, request: ReportRequest) -> ReportFiles:
        return build_report_files(
            self._sessions,
            request,
            max_bytes=self._max_bytes,
            renderer=self._renderer,
            insights=self._insights,
        )

"""The page's CSV/PDF buttons: the current selection, in the viewer's time zone, as a file.

Thin: parse the page state → one ``ExportSpec`` → the export service → ``dcc.Download``.
While it works both buttons are disabled and a spinner shows; a failure says
``데이터 내보내기에 실패했습니다`` (the reason goes to the log).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx

from dashboard.charts.formatting import window_text
from dashboard.context import AppContext, record_audit
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.view_state import chosen_extras, resolve_view
from dashboard.reports.export_service import export_file
from dashboard.reports.types import ExportError, ExportSpec, ExportTooLarge, InvalidExportSpec
from db import audit
from db.metrics import METRIC_IDS

log = logging.getLogger(__name__)

# Bootstrap's spinner on the status area while the export runs (see assets/export.css).
BUSY_CLASS = "export-status exporting"
IDLE_CLASS = "export-status"


def page_export_spec(
    ctx: AppContext,
    *,
    fmt: str,
    search: str | None,
    tz_name: str | None,
    lang: str | None,
    now: datetime,
) -> ExportSpec:
    """What the page shows right now (range, granularity, the comparison period in compare
    mode; all six metrics and the extra ones shown) as an export: the same windows, so the
    same numbers."""
    settings = ctx.settings
    tz, state, periods = resolve_view(search, tz_name, settings, now)
    previous = periods.previous
    zone = periods.calendar_zone if state.granularity == "daily" else tz
    labels = (
        (
            window_text(periods.current, zone, state.granularity),
            window_text(previous, zone, state.granularity),
        )
        if previous is not None
        else None
    )
    return ExportSpec(
        metric_types=METRIC_IDS,
        # The extra metrics the page shows, every label, and the source on screen ("all":
        # the six combined as on the page, the extras' rows of every source, each named).
        extras=chosen_extras(state, ctx.catalogue.extras),
        source=state.source,
        start=periods.current.start,
        end=periods.current.end,
        granularity=state.granularity,
        fmt=fmt,  # type: ignore[arg-type]
        tz=zone,
        lang=lang if lang in ("ko", "en") else settings.default_language,
        compare_start=previous.start if previous is not None else None,
        compare_end=previous.end if previous is not None else None,
        period_labels=labels,
    )


def _message(key: str, lang: str, color: str) -> Any:
    return dbc.Alert(t(key, lang), color=color, className="export-message py-1 px-2 mb-0 small")


def register_export_callbacks(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Output(ids.EXPORT_STATUS, "children"),
        Input(ids.EXPORT_CSV_BUTTON, "n_clicks"),
        Input(ids.EXPORT_PDF_BUTTON, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.TIMEZONE, "data"),
        State(ids.LANG, "data"),
        running=[
            (Output(ids.EXPORT_CSV_BUTTON, "disabled"), True, False),
            (Output(ids.EXPORT_PDF_BUTTON, "disabled"), True, False),
            (Output(ids.EXPORT_STATUS, "className"), BUSY_CLASS, IDLE_CLASS),
        ],
        prevent_initial_call=True,
    )
    def export(
        _csv: int | None,
        _pdf: int | None,
        search: str | None,
        tz_name: str | None,
        lang: str | None,
    ) -> tuple[Any, Any]:
        fmt = "pdf" if dash_ctx.triggered_id == ids.EXPORT_PDF_BUTTON else "csv"
        lang = lang if lang in ("ko", "en") else ctx.settings.default_language
        try:
            spec = page_export_spec(
                ctx, fmt=fmt, search=search, tz_name=tz_name, lang=lang, now=datetime.now(UTC)
            )
            result = export_file(
                ctx.sessions,
                spec,
                max_bytes=ctx.settings.export_max_bytes,
                renderer=ctx.get_chart_renderer,
                insights=ctx.insight_options,
            )
            with ctx.session() as session:  # no file leaves without its audit row
                record_audit(
                    session, audit.EXPORT_DOWNLOADED, details={**spec.describe(), "via": "page"}
                )
        except InvalidExportSpec as exc:  # e.g. a custom range over the 90-day export limit
            log.info("Page export refused: %s", exc)
            return no_update, _message("export.range_too_long", lang, "warning")
        except ExportTooLarge as exc:
            log.warning("Page export too large: %s", exc)
            return no_update, _message("export.too_large", lang, "warning")
        except ExportError as exc:
            log.error("Page export failed: %s", exc)
            return no_update, _message("export.failed", lang, "danger")
        except Exception:
            log.exception("Page export failed unexpectedly (%s, %s)", fmt, search)
            return no_update, _message("export.failed", lang, "danger")
        note = (
            html.Span(t("export.downsampled", lang), className="small text-muted")
            if result.downsampled
            else ""
        )
        return dcc.send_bytes(result.content, result.filename), note

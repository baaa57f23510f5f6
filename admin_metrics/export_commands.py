"""``admin-metrics export``: the CSV/PDF report from the command line (cron on a closed network)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from admin_metrics.cli_obj import Obj, pass_obj
from db.metrics import DEFAULT_SOURCE, GRANULARITIES, METRIC_IDS

if TYPE_CHECKING:
    from dashboard.reports.chart_renderer import ChartRenderer
    from dashboard.reports.types import ExportResult, ExportSpec
    from db.catalogue import CatalogueMetric

log = logging.getLogger(__name__)


def _parse_instant(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or time (e.g. 2025-11-01 or "
            "2025-11-01T09:00:00+09:00)",
            param_hint=name,
        ) from None


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "pdf"]), required=True)
@click.option(
    "--metrics",
    default=",".join(METRIC_IDS),
    show_default=True,
    help="Comma-separated metric ids: the six and METRICS_CATALOGUE_FILE's.",
)
@click.option(
    "--source",
    default=DEFAULT_SOURCE,
    show_default=True,
    help="The source instance whose values are exported.",
)
@click.option("--from", "start", required=True, help="Start (ISO 8601; no offset: --tz).")
@click.option("--to", "end", required=True, help="End (ISO 8601; no offset: --tz).")
@click.option(
    "--granularity", type=click.Choice(list(GRANULARITIES)), default="daily", show_default=True
)
@click.option(
    "--tz",
    default=None,
    help="Time zone of the file [default: DEFAULT_TIMEZONE; daily: BUSINESS_TIMEZONE].",
)
@click.option(
    "--lang", type=click.Choice(["ko", "en"]), default=None, help="[default: DEFAULT_LANGUAGE]"
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="File to write.",
)
@pass_obj
def export(
    obj: Obj,
    fmt: str,
    metrics: str,
    source: str,
    start: str,
    end: str,
    granularity: str,
    tz: str | None,
    lang: str | None,
    output: Path,
) -> None:
    """Write a CSV or PDF report of stored metrics to OUTPUT (same service as the page/API)."""
    from dashboard.reports.chart_renderer import ChartRenderer

    renderer = None
    if fmt == "pdf":
        # One batch of charts: the browser closes as soon as they are drawn, while the PDF
        # is laid out.
        renderer = ChartRenderer(obj.settings.chromium_path, idle_close_s=0)
        # Chromium (≈ 1 s) is the longest step: it starts while the report's modules load
        # (pandas, plotly, ReportLab: imported only here) and the store is read.
        renderer.warm_up()
    try:
        chosen = _metrics(obj, metrics)
        result, spec = _render(
            obj, renderer, fmt, chosen, source, (start, end), granularity, tz, lang
        )
    finally:
        if renderer is not None:
            renderer.close()
    output.write_bytes(result.content)
    _audit_export(obj.settings.store_url, spec, output)
    note = ", downsampled" if result.downsampled else ""
    click.echo(f"Wrote {output} ({len(result.content):,} bytes{note})")


def _metrics(obj: Obj, metrics: str) -> tuple[tuple[str, ...], tuple[CatalogueMetric, ...]]:
    """``--metrics`` as the six's ids and METRICS_CATALOGUE_FILE's extra metrics (the file
    read, not run on the source: an export reads only the store)."""
    from collectors.catalogue import load_catalogue_file
    from collectors.errors import CatalogueConfigError

    ids = tuple(m.strip() for m in metrics.split(",") if m.strip())
    path = obj.settings.metrics_catalogue_file
    try:
        extras = {e.id: e for e in load_catalogue_file(path) if not e.builtin} if path else {}
    except CatalogueConfigError as exc:
        raise click.UsageError(str(exc)) from None
    unknown = [m for m in ids if m not in METRIC_IDS and m not in extras]
    if unknown:
        valid = ", ".join([*METRIC_IDS, *extras])
        raise click.BadParameter(
            f"unknown metric: {', '.join(unknown)} (valid: {valid})", param_hint="--metrics"
        )
    return tuple(m for m in ids if m in METRIC_IDS), tuple(extras[m] for m in ids if m in extras)


def _render(
    obj: Obj,
    renderer: ChartRenderer | None,
    fmt: str,
    chosen: tuple[tuple[str, ...], tuple[CatalogueMetric, ...]],
    source: str,
    span: tuple[str, str],
    granularity: str,
    tz: str | None,
    lang: str | None,
) -> tuple[ExportResult, ExportSpec]:
    from dashboard.i18n import t
    from dashboard.reports.export_service import render_export
    from dashboard.reports.insights import InsightOptions
    from dashboard.reports.types import ExportError, ExportSpec, InvalidExportSpec, export_zone
    from db.engine import store_session

    settings = obj.settings
    try:
        spec = ExportSpec(
            metric_types=chosen[0],
            extras=chosen[1],
            source=source,
            start=_parse_instant(span[0], "--from"),
            end=_parse_instant(span[1], "--to"),
            granularity=granularity,
            fmt=fmt,  # type: ignore[arg-type]
            tz=export_zone(granularity, tz or settings.default_timezone, settings.business_zone),
            lang=lang or settings.default_language,
        )
    except InvalidExportSpec as exc:
        raise click.UsageError(str(exc)) from None
    try:
        with store_session(obj.store_url) as session:
            result = render_export(
                session,
                spec,
                max_bytes=settings.export_max_bytes,
                renderer=renderer,
                insights=InsightOptions.from_settings(settings),
            )
    except ExportError as exc:
        log.error("Export failed: %s", exc)
        raise click.ClickException(f"{t('export.failed', spec.lang)}: {exc}") from None
    return result, spec


def _audit_export(store_url: str, spec: ExportSpec, output: Path) -> None:
    """Who exported what goes to the audit log, from the command line too."""
    from db import audit
    from db.engine import store_session

    with store_session(store_url) as session:
        audit.record_event(
            session,
            audit.EXPORT_CREATED,
            actor=audit.CLI_ACTOR,
            details={**spec.describe(), "via": "cli", "file": output.name},
        )

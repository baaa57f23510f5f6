"""The value cards and the collection-status badge: plain Dash components from summaries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.charts.formatting import (
    format_percent_change,
    format_timestamp,
    format_value,
    is_notable_change,
)
from dashboard.charts.summaries import summarize
from dashboard.i18n import t
from dashboard.page import ids
from db.metrics import METRIC_IDS, METRICS_BY_ID
from db.status import CollectionStatus, RecentFailure, SourceStatus

# Bootstrap colours of the status lights.
STATUS_COLOURS: Final = {
    "healthy": "success",
    "warning": "warning",
    "error": "danger",
    "pending": "secondary",
}


def card_body(
    metric_type: str,
    df: pd.DataFrame,
    compare_df: pd.DataFrame | None,
    tz: str,
    lang: str,
    granularity: str = "hourly",
    outlook: str | None = None,
) -> list[Any]:
    """Latest value (and its slot), the period's average with min/max, in compare mode
    the change of the averages (the same ``summarize`` numbers as the PDF, CSV and API),
    and ``outlook``: the forecast's sentence (capacity reached in N days, or the value
    expected at the horizon)."""
    s = summarize(df, metric_type=metric_type, compare_df=compare_df)
    spread_parts = (
        [
            f"{t('dash.min', lang)} {format_value(s.minimum, metric_type, lang)}",
            f"{t('dash.max', lang)} {format_value(s.maximum, metric_type, lang)}",
        ]
        if s.minimum is not None
        else []
    )
    spread = " · ".join(spread_parts)
    body: list[Any] = [
        html.Div(format_value(s.latest, metric_type, lang), className="value-card-value"),
        html.Div(
            format_timestamp(s.latest_at, tz, granularity) if s.latest_at is not None else "",
            className="value-card-time",
        ),
        html.Div(
            [
                html.Span(t("dash.average", lang) + " "),
                html.Span(format_value(s.average, metric_type, lang), className="card-average"),
            ],
            className="value-card-average",
            title=spread,
        ),
        # The line may break at the "·", never inside "최소 15명".
        html.Div(
            [html.Span(spread_parts[0]), " · ", html.Span(spread_parts[1])] if spread_parts else [],
            className="value-card-spread",
        ),
    ]
    if compare_df is not None:
        notable = is_notable_change(s.compare_percent)
        reason = (
            t("dash.compare_empty", lang)
            if s.compare_average is None
            else f"{t('dash.average', lang)} {format_value(s.compare_average, metric_type, lang)}"
        )
        body.append(
            html.Div(
                [
                    html.Span(t("dash.change_compare", lang) + " "),
                    html.Span(
                        format_percent_change(s.compare_percent),
                        className="compare-badge"
                        + (" compare-notable" if notable else "")
                        + (" compare-up" if (s.compare_percent or 0) > 0 else "")
                        + (" compare-down" if (s.compare_percent or 0) < 0 else ""),
                    ),
                    html.Span(f" ({reason})", className="compare-average"),
                ],
                className="value-card-compare",
            )
        )
    if outlook:
        body.append(html.Div(outlook, className="value-card-forecast"))
    return body


def freshness_text(last: datetime | None, now: datetime, tz: str, lang: str) -> str:
    """``업데이트 14:05 (3분 전)``: when the newest collection landed, and how long ago."""
    if last is None:
        return ""
    minutes = max(0, int((now - last).total_seconds() // 60))
    ago = (
        t("dash.just_now", lang)
        if minutes == 0
        else t("dash.minutes_ago", lang).format(n=f"{minutes:,}")
    )
    hhmm = pd.Timestamp(last).tz_convert(tz).strftime("%H:%M")
    return t("dash.updated", lang).format(time=hhmm, ago=ago)


def status_badge(status: CollectionStatus, tz: str, lang: str, now: datetime) -> list[Any]:
    last = (
        format_timestamp(status.last_collection_at, tz)
        if status.last_collection_at
        else t("dash.status.never", lang)
    )
    nxt = (
        format_timestamp(status.next_collection_at, tz)
        if status.next_collection_at
        else t("dash.status.off", lang)
    )
    return [
        dbc.Badge(
            t(f"dash.status.{status.status}", lang),
            color=STATUS_COLOURS[status.status],
            className=f"status-light status-{status.status}",
            id="status-light",
        ),
        html.Span(
            freshness_text(status.last_collection_at, now, tz, lang),
            className="freshness",
            id=ids.FRESHNESS,
        ),
        html.Span(
            f"{t('dash.status.last', lang)} {last} · "
            f"{t('dash.status.failures', lang)} {status.failed_slots_24h} · "
            f"{t('dash.status.next', lang)} {nxt}",
            # Phones keep the light and the freshness; the details start at 576 px.
            className="status-text d-none d-sm-inline",
        ),
    ]


def _metrics_label(metrics: list[str], lang: str) -> str:
    if len(metrics) == len(METRIC_IDS):
        return t("dash.status.all_metrics", lang)
    if len(metrics) <= 2:
        # A catalogue metric (not one of the six) is named by its id.
        return ", ".join(METRICS_BY_ID[m].name(lang) if m in METRICS_BY_ID else m for m in metrics)
    return t("dash.status.n_metrics", lang).format(n=len(metrics))


def failure_rows(failures: list[RecentFailure]) -> list[tuple[Any, list[str], str, str]]:
    """(slot, metrics, reason, source) newest first: a source's metrics that failed in a
    slot for the same reason (all six, when the source was down) are one row."""
    grouped: dict[tuple[Any, str, str], list[str]] = {}
    for failure in failures:
        key = (failure.attempted_at, failure.error_message, failure.source)
        grouped.setdefault(key, []).append(failure.metric_type)
    rows = [(at, metrics, reason, source) for (at, reason, source), metrics in grouped.items()]
    return sorted(rows, key=lambda row: (row[0], len(row[1])), reverse=True)


def _reason(message: str, lang: str) -> str:
    """The recorded (Korean) reason; the collector's fixed ones in the page's language."""
    for key in ("dash.status.reason_missed", "dash.status.reason_stopped"):
        if message == t(key, "ko"):
            return t(key, lang)
    return message


def _source_light(light: SourceStatus, name: str, tz: str, lang: str) -> Any:
    last = (
        format_timestamp(light.last_collection_at, tz)
        if light.last_collection_at
        else t("dash.status.never", lang)
    )
    return html.Li(
        [
            dbc.Badge(
                t(f"dash.status.{light.status}", lang),
                color=STATUS_COLOURS[light.status],
                className=f"status-light status-{light.status}",
            ),
            html.Span(f" {name}", className="status-source-name"),
            html.Span(
                f" · {t('dash.status.last', lang)} {last} · "
                f"{t('dash.status.failures', lang)} {light.failed_slots_24h}",
                className="status-source-text",
            ),
        ],
        className="status-source",
    )


def status_failures(
    status: CollectionStatus,
    tz: str,
    lang: str,
    source_names: Mapping[str, str] | None = None,
) -> list[Any]:
    """The popover behind the status light: each source's light when there are several
    (``source_names``: source → its name in ``lang``, else its id), then the recent failed
    slots (time in the viewer's zone, metric — with its source when there are several —
    reason as recorded); slots stored after all are not listed."""
    names = source_names or {}
    several = len(status.sources) > 1
    lights = (
        [
            html.Ul(
                [_source_light(s, names.get(s.source, s.source), tz, lang) for s in status.sources],
                className="status-sources list-unstyled",
            )
        ]
        if several
        else []
    )
    if not status.recent_failures:
        return [
            *lights,
            html.P(t("dash.status.no_failures", lang), className="status-no-failures"),
        ]
    header = html.Tr(
        [html.Th(t(f"dash.status.col_{c}", lang)) for c in ("time", "metric", "reason")]
    )
    body = [
        html.Tr(
            [
                html.Td(format_timestamp(at, tz), className="failure-time"),
                html.Td(
                    f"{names.get(source, source)} · {_metrics_label(metrics, lang)}"
                    if several
                    else _metrics_label(metrics, lang),
                    className="failure-metric",
                ),
                html.Td(_reason(reason, lang), className="failure-reason"),
            ]
        )
        for at, metrics, reason, source in failure_rows(status.recent_failures)
    ]
    summary = t("dash.status.failed_slots", lang).format(
        failed=status.failed_slots_24h, missed=status.missed_slots_24h
    )
    return [
        *lights,
        html.P(summary, className="status-failure-summary"),
        dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", className="status-failures"),
    ]

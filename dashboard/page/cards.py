"""The value cards and the collection-status badge: plain Dash components from summaries."""

from __future__ import annotations

from typing import Any

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
from db.status import CollectionStatus


def card_body(
    metric_type: str,
    df: pd.DataFrame,
    compare_df: pd.DataFrame | None,
    tz: str,
    lang: str,
    granularity: str = "hourly",
) -> list[Any]:
    """Latest value (and its slot), the period's average with min/max, and in compare mode
    the change of the averages (the same ``summarize`` numbers as the PDF, CSV and API)."""
    s = summarize(df, metric_type=metric_type, compare_df=compare_df)
    spread = (
        f"{t('dash.min', lang)} {format_value(s.minimum, metric_type, lang)} · "
        f"{t('dash.max', lang)} {format_value(s.maximum, metric_type, lang)}"
        if s.minimum is not None
        else ""
    )
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
        html.Div(spread, className="value-card-spread"),
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
    return body


def status_badge(status: CollectionStatus, tz: str, lang: str) -> list[Any]:
    colours = {
        "healthy": "success",
        "warning": "warning",
        "error": "danger",
        "pending": "secondary",
    }
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
            color=colours[status.status],
            className=f"status-light status-{status.status}",
            id="status-light",
        ),
        html.Span(
            f"{t('dash.status.last', lang)} {last} · "
            f"{t('dash.status.failures', lang)} {status.failure_count_24h} · "
            f"{t('dash.status.next', lang)} {nxt}",
            className="status-text",
        ),
    ]

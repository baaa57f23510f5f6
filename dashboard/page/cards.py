"""The value cards and the collection-status badge: plain Dash components from summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.charts.formatting import (
    format_delta,
    format_percent_change,
    format_timestamp,
    format_value,
    is_notable_change,
)
from dashboard.charts.summaries import summarize
from dashboard.i18n import t
from dashboard.page import ids
from db.status import CollectionStatus


def card_body(
    metric_type: str, df: pd.DataFrame, compare_df: pd.DataFrame | None, tz: str, lang: str
) -> list[Any]:
    s = summarize(df, metric_type=metric_type, compare_df=compare_df)
    change = format_delta(s.change, metric_type, lang)
    if s.change_percent is not None:
        change += f" ({format_percent_change(s.change_percent)})"
    body: list[Any] = [
        html.Div(format_value(s.latest, metric_type, lang), className="value-card-value"),
        html.Div(
            format_timestamp(s.latest_at, tz) if s.latest_at is not None else "",
            className="value-card-time",
        ),
        html.Div(
            [html.Span(t("dash.change_range", lang) + " "), html.Span(change)],
            className="value-card-change",
        ),
    ]
    if compare_df is not None:
        notable = is_notable_change(s.compare_percent)
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
                ],
                className="value-card-compare",
            )
        )
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
            freshness_text(status.last_collection_at, now, tz, lang),
            className="freshness",
            id=ids.FRESHNESS,
        ),
        html.Span(
            f"{t('dash.status.last', lang)} {last} · "
            f"{t('dash.status.failures', lang)} {status.failure_count_24h} · "
            f"{t('dash.status.next', lang)} {nxt}",
            # Phones keep the light and the freshness; the details start at 576 px.
            className="status-text d-none d-sm-inline",
        ),
    ]

"""The value cards and the collection-status badge: plain Dash components from summaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashboard.charts.formatting import (
    format_percent_change,
    format_timestamp,
    format_value,
    is_notable_change,
    window_text,
)
from dashboard.charts.summaries import summarize
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.view_state import Periods, ViewState
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


def view_notes(
    state: ViewState, periods: Periods, tz: str, lang: str, daily_retention_days: int
) -> list[Any]:
    """The notes over the cards: ignored URL parameters (named), what retention cut and why
    (with a one-click switch to daily when hourly retention is the limit), the zone."""
    notes: list[Any] = []
    if state.ignored:
        notes.append(
            html.Div(
                t("dash.invalid_param", lang).format(params=", ".join(state.ignored)),
                className="note note-warning",
            )
        )
    gran = t(f"dash.granularity_{state.granularity}", lang)
    kept = format_timestamp(periods.kept_from, tz, state.granularity) if periods.kept_from else ""
    days = periods.retention_days
    if periods.current_clipped:
        requested = window_text(periods.requested, tz, state.granularity)
        notes.append(
            html.Div(
                t("dash.retention_current", lang).format(
                    granularity=gran, days=days, kept=kept, period=requested
                ),
                className="note note-retention",
            )
        )
    if periods.previous_clipped and periods.requested_previous is not None:
        whole = periods.previous is None or periods.previous.end <= periods.previous.start
        what = t("dash.retention_none" if whole else "dash.retention_part", lang)
        notes.append(
            html.Div(
                t("dash.retention_compare", lang).format(
                    period=window_text(periods.requested_previous, tz, state.granularity),
                    granularity=gran,
                    days=days,
                    kept=kept,
                    what=what,
                    daily_days=daily_retention_days,
                ),
                className="note note-retention note-retention-compare",
            )
        )
    if (periods.clipped) and state.granularity == "hourly":
        notes.append(
            dcc.Link(
                t("dash.switch_daily", lang),
                href=replace(state, granularity="daily", ignored=()).to_query(),
                id="switch-daily",
                className="btn btn-sm btn-outline-primary note-switch",
            )
        )
    notes.append(html.Div(f"{t('dash.timezone', lang)}: {tz}", className="note note-tz"))
    return notes


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

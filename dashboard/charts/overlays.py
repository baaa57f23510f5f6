"""What is drawn over a metric's line: events, the trend forecast and unusual values (pure).

Each function returns plotly trace dicts (and layout shapes) in the figure's units, so the
page and the PDF draw them alike through ``build_metric_figure``:

- **events** (``ChartEvent``): a dotted vertical line at a point event, a light band over a
  time range, and a small triangle at the top of the plot that carries the hover (shapes
  have no hover of their own); the triangles sit on a hidden second y axis from 0 to 1 so
  they stay at the top whatever the values are.
- **forecast** (``analytics.forecast.Forecast``): the trend ahead of the last value, dashed,
  with its uncertainty band and a "forecast" label at its end.
- **unusual values** (``analytics.unusual.unusual_points``): open circles on the values far
  from what that hour of the week usually shows, with a hover that says how far.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from analytics.forecast import Forecast
from dashboard.charts.events import ChartEvent, kind_label
from dashboard.charts.formatting import format_exact, format_value, slot_text
from dashboard.charts.theme import Theme
from dashboard.i18n import t

# Mid-tones readable on the light and the dark background alike.
EVENT_COLOURS: Final = {
    "maintenance": "#7950f2",
    "release": "#2f9e44",
    "incident": "#e03131",
    "other": "#868e96",
    "outage": "#f08c00",
    "alert": "#d6336c",
}
EVENT_AXIS: Final = "y2"  # the hidden 0–1 axis the event triangles sit on
FORECAST_SHARE: Final = 0.25  # the forecast may widen the axis by a quarter of the window
MIN_TREND_WINDOW: Final = pd.Timedelta(days=7)  # shorter views draw no trend


@dataclass(frozen=True)
class Insights:
    """Per metric, its trend forecast and its unusual values (what is drawn besides events)."""

    forecasts: Mapping[str, Forecast] = field(default_factory=dict)
    unusual: Mapping[str, pd.DataFrame] = field(default_factory=dict)


NO_INSIGHTS: Final = Insights()


def wall_clock(stamp: datetime | pd.Timestamp, tz: str) -> pd.Timestamp:
    """An aware time as the naive wall-clock time of ``tz`` the axis shows (naive: as is)."""
    value = pd.Timestamp(stamp)
    return value.tz_convert(tz).tz_localize(None) if value.tzinfo else value


def utc_bound(value: datetime | pd.Timestamp, tz: str) -> pd.Timestamp:
    """An axis bound as UTC: aware values as they are, naive ones as wall-clock of ``tz``
    (a zoomed axis is kept in the viewer's wall-clock time)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize(tz).tz_convert("UTC")


def event_hover(event: ChartEvent, tz: str, lang: str) -> str:
    """Title, kind and time (or time range) of an event, and its description."""
    when = slot_text(pd.Timestamp(event.start), tz, "hourly")
    if event.end is not None and event.end > event.start:
        when += " – " + slot_text(pd.Timestamp(event.end), tz, "hourly")
    # Plotly renders a subset of HTML in hover texts: an admin's text stays plain text.
    lines = [
        f"<b>{html.escape(event.title, quote=False)}</b>",
        f"{kind_label(event.kind, lang)} · {when}",
    ]
    if event.description:
        lines.append(html.escape(event.description[:200], quote=False))
    return "<br>".join(lines)


def event_marks(
    events: Sequence[ChartEvent],
    *,
    tz: str,
    lang: str,
    x_range: tuple[datetime, datetime] | None,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(traces, shapes) marking ``events`` that touch ``x_range`` (all when None)."""
    if x_range is None:
        shown = list(events)
    else:
        first, last = utc_bound(x_range[0], tz), utc_bound(x_range[1], tz)
        shown = [
            e
            for e in events
            if pd.Timestamp(e.start) < last and pd.Timestamp(e.end or e.start) >= first
        ]
    if not shown:
        return [], []
    shapes: list[dict[str, object]] = []
    for event in shown:
        colour = EVENT_COLOURS.get(event.kind, EVENT_COLOURS["other"])
        start = wall_clock(event.start, tz)
        if event.end is not None and event.end > event.start:
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": start,
                    "x1": wall_clock(event.end, tz),
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": colour,
                    "opacity": 0.12,
                    "line": {"width": 0},
                    "layer": "below",
                    "name": f"event-{event.kind}",
                }
            )
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": start,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "width": 1, "dash": "dot"},
                "layer": "below",
                "name": f"event-{event.kind}",
            }
        )
    trace: dict[str, object] = {
        "type": "scatter",
        "x": np.array([wall_clock(e.start, tz) for e in shown], dtype="datetime64[ns]"),
        "y": np.ones(len(shown)),
        "yaxis": EVENT_AXIS,
        "mode": "markers",
        "marker": {
            "symbol": "triangle-down",
            "size": 10,
            "color": [EVENT_COLOURS.get(e.kind, EVENT_COLOURS["other"]) for e in shown],
        },
        "text": np.array([event_hover(e, tz, lang) for e in shown], dtype=object),
        "hovertemplate": "%{text}<extra></extra>",
        "showlegend": False,
        "cliponaxis": False,
        "meta": {"role": "event", "ids": [e.id for e in shown]},
    }
    return [trace], shapes


def event_axis() -> dict[str, object]:
    """The hidden axis the event triangles sit on (0 at the bottom, 1 at the top)."""
    return {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}


def forecast_until(
    forecast: Forecast, x_range: tuple[datetime, datetime] | None, tz: str
) -> pd.Timestamp | None:
    """Where a drawn forecast ends (UTC): its horizon, but never more than a quarter of the
    window beyond the window's end (a 30-day trend would squash a week); None — not drawn —
    for a window shorter than a week (a trend of days says nothing about hours; the card
    still says it) or one that ends before the last value (an old period)."""
    last = pd.Timestamp(forecast.timestamps[-1])
    if x_range is None:
        return last
    start, end = utc_bound(x_range[0], tz), utc_bound(x_range[1], tz)
    if end < pd.Timestamp(forecast.latest_at) or end - start < MIN_TREND_WINDOW:
        return None
    return min(last, end + (end - start) * FORECAST_SHARE)


def axis_with_forecasts(
    x_range: tuple[datetime, datetime], forecasts: Iterable[Forecast], tz: str
) -> tuple[datetime, datetime]:
    """The one time axis of all graphs of a view: ``x_range`` widened so that every forecast
    fits (``forecast_until``); the graphs stay aligned, so zoom and hover stay linked."""
    ends = [u for f in forecasts if (u := forecast_until(f, x_range, tz)) is not None]
    if not ends:
        return x_range
    until, end = max(ends), pd.Timestamp(x_range[1])
    if end.tzinfo:
        return x_range[0], max(end, until).to_pydatetime()
    return x_range[0], max(end, until.tz_convert(tz).tz_localize(None)).to_pydatetime()


def forecast_traces(
    forecast: Forecast,
    *,
    metric_type: str,
    tz: str,
    lang: str,
    divisor: float,
    after: pd.Timestamp,
    until: pd.Timestamp,
    theme: Theme,
) -> tuple[list[dict[str, object]], dict[str, object] | None]:
    """(traces, label annotation): the band, a short joint from the last value drawn
    (``after``, UTC) and the dashed trend from there to ``until`` (the axis' end). The trend
    never overlaps the drawn values, so a hover there is always the stored value."""
    stamps = pd.DatetimeIndex(forecast.timestamps)
    ahead = np.asarray((stamps > after) & (stamps <= until))
    if not ahead.any():
        return [], None
    epoch = stamps.asi8.astype(np.float64)
    start = float(pd.Timestamp(after).value)

    def at_start(values: np.ndarray) -> float:
        return float(np.interp(start, epoch, values))

    x = pd.DatetimeIndex([pd.Timestamp(after)]).append(stamps[ahead])
    wall = x.tz_convert(tz).tz_localize(None).to_numpy(dtype="datetime64[ns]")
    expected, lower, upper = (
        np.concatenate([[at_start(v)], v[ahead]]) / divisor
        for v in (forecast.expected, forecast.lower, forecast.upper)
    )
    dates = x.tz_convert(tz).strftime("%Y-%m-%d")
    label = t("insights.forecast", lang)
    hover = np.array(
        [
            f"{label}: {format_value(round(e * divisor), metric_type, lang)}<br>"
            f"{format_value(round(lo * divisor), metric_type, lang)} – "
            f"{format_value(round(hi * divisor), metric_type, lang)}<br>{d}"
            for e, lo, hi, d in zip(expected[1:], lower[1:], upper[1:], dates[1:], strict=True)
        ],
        dtype=object,
    )
    common = {"type": "scatter", "x": wall, "showlegend": False, "hoverinfo": "skip"}
    dashed = {"color": theme.primary, "width": 2, "dash": "dash"}
    traces: list[dict[str, object]] = [
        {**common, "y": upper, "mode": "lines", "line": {"width": 0}, "meta": {"role": "band"}},
        {
            **common,
            "y": lower,
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": _rgba(theme.primary, 0.14),
            "meta": {"role": "band"},
        },
        # From the last value to the first day ahead: drawn, never hovered.
        {
            **common,
            "x": wall[:2],
            "y": expected[:2],
            "mode": "lines",
            "line": dashed,
            "opacity": 0.85,
            "meta": {"role": "forecast-joint"},
        },
        {
            "type": "scatter",
            "x": wall[1:],
            "y": expected[1:],
            "mode": "lines+markers" if len(hover) == 1 else "lines",
            "line": dashed,
            "marker": {"size": 4},
            "opacity": 0.85,
            "text": hover,
            "hovertemplate": "%{text}<extra></extra>",
            "showlegend": False,
            "meta": {"role": "forecast"},
        },
    ]
    annotation: dict[str, object] = {
        "text": label,
        "x": pd.Timestamp(wall[-1]).isoformat(),
        "y": float(expected[-1]),
        "xanchor": "right",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 10, "color": theme.muted},
        "name": "forecast-label",
    }
    return traces, annotation


def unusual_trace(
    points: pd.DataFrame,
    *,
    metric_type: str,
    tz: str,
    lang: str,
    divisor: float,
    theme: Theme,
) -> dict[str, object] | None:
    """Open circles on unusual values; the hover gives the usual value and how far off."""
    if points.empty:
        return None
    stamps = pd.DatetimeIndex(points["timestamp"])
    when = stamps.tz_convert(tz).strftime("%Y-%m-%d %H:%M")
    hover = [
        t("insights.unusual_hover", lang).format(
            value=format_exact(v, metric_type, lang),
            usual=format_exact(round(e), metric_type, lang),
            score=f"{abs(s):.1f}",
            direction=t("insights.higher" if s > 0 else "insights.lower", lang),
            time=w,
        )
        for v, e, s, w in zip(
            points["value"].tolist(),
            points["expected"].tolist(),
            points["score"].tolist(),
            when,
            strict=True,
        )
    ]
    return {
        "type": "scatter",
        "x": stamps.tz_convert(tz).tz_localize(None).to_numpy(dtype="datetime64[ns]"),
        "y": points["value"].to_numpy(dtype=np.float64) / divisor,
        "mode": "markers",
        "marker": {
            "symbol": "circle-open",
            "size": 12,
            "color": theme.unusual,
            "line": {"width": 2, "color": theme.unusual},
        },
        "text": np.array(hover, dtype=object),
        "hovertemplate": "%{text}<extra></extra>",
        "showlegend": False,
        "meta": {"role": "unusual"},
    }


def _rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def forecast_sentence(forecast: Forecast, *, metric_type: str, tz: str, lang: str) -> str:
    """The card's (and the PDF's) line: when the capacity is reached at the current trend,
    or (no capacity known) the value expected at the forecast's horizon."""
    if forecast.capacity is not None:
        capacity = format_value(forecast.capacity, metric_type, lang)
        if forecast.days_to_capacity is None or forecast.reach_at is None:
            return t("insights.no_reach", lang).format(capacity=capacity)
        if forecast.days_to_capacity <= 0:
            return t("insights.reached", lang).format(capacity=capacity)
        return t("insights.reach", lang).format(
            days=f"{round(forecast.days_to_capacity):,}",
            capacity=capacity,
            date=pd.Timestamp(forecast.reach_at).tz_convert(tz).strftime("%Y-%m-%d"),
        )
    stamps = pd.DatetimeIndex(forecast.timestamps)
    days = round((stamps[-1] - stamps[0]) / pd.Timedelta(days=1))
    value = float(forecast.expected[-1])
    return t("insights.expected", lang).format(
        days=days, value=format_value(round(value), metric_type, lang)
    )

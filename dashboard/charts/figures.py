"""Pure figure builders shared by the page and the PDF export.

Nothing here touches the database or Dash: every function takes DataFrames with the
``timestamp`` (datetime64[ns, UTC]) / ``value`` columns that ``db.queries`` returns and
gives back a ``go.Figure``, so they are unit-tested on tiny frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.forecast import Forecast
from dashboard.charts.events import ChartEvent
from dashboard.charts.formatting import (
    MetricRef,
    byte_decimals,
    byte_scale,
    metric_info,
    period_text,
    slot_text,
    with_unit,
)
from dashboard.charts.overlays import (
    EVENT_AXIS,
    event_axis,
    event_marks,
    forecast_traces,
    forecast_until,
    unusual_trace,
    utc_bound,
    wall_clock,
)
from dashboard.charts.series import GRANULARITY_STEP, MAX_POINTS, gap_starts, reduce_points
from dashboard.charts.theme import LIGHT, Theme
from dashboard.i18n import t
from db.metrics import MetricInfo

FONT_FAMILY = "NanumGothic, 'Nanum Gothic', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif"


def _local(timestamps: pd.Series, tz: str) -> pd.Series:
    """UTC timestamps as naive wall-clock times of ``tz`` (what the axis shows)."""
    return timestamps.dt.tz_convert(tz).dt.tz_localize(None)


def _compact(wall: np.ndarray) -> np.ndarray:
    """Wall-clock datetime64 values as ISO strings in the coarsest unit that keeps them all
    exact (``"2026-11-02T09"``: 16 bytes a point in the callback answer where nanoseconds
    took 32). Strings, not datetime64: each JSON engine writes those its own way (orjson
    always to the second).

    Not numbers: plotly.js reads a number on a date axis as ms since the epoch shown in the
    *browser's* time zone, so wall-clock ms would move every point by the viewer's UTC
    offset (and the PDF's by the server's)."""
    for unit in ("D", "h", "m", "s"):
        coarse = wall.astype(f"datetime64[{unit}]")
        if (coarse == wall).all():
            return np.datetime_as_string(coarse, unit=unit)
    return np.datetime_as_string(wall)


@dataclass(frozen=True, slots=True)
class _Lines:
    """numpy arrays (cheap for plotly to validate, copy and serialise; numeric ones travel
    as typed arrays)."""

    x: np.ndarray  # wall-clock ISO strings (_compact); a break row in the middle of each gap
    y: np.ndarray  # float64 in the axis' unit, NaN on break rows (breaks the solid line)
    raw: np.ndarray  # float64 stored values, NaN on break rows (the hover's exact bytes)
    # object (str): the period's own times, only when it is shifted onto period 1's axis
    # (its x is then not its time); None otherwise, the hover formats x.
    when: np.ndarray | None
    bridge_x: np.ndarray  # per gap: start, end, end (the third row has y NaN)
    bridge_y: np.ndarray
    gap_x: np.ndarray  # per gap: its middle, carrying the hover message
    gap_y: np.ndarray
    gap_hover: np.ndarray


def _lines(
    df: pd.DataFrame,
    *,
    granularity: str,
    tz: str,
    lang: str,
    shift: pd.Timedelta,
    divisor: float,
    break_before: set[pd.Timestamp] | None,
) -> _Lines:
    """Solid line broken at gaps, dotted bridges and gap hover texts for one period."""
    stamps = df["timestamp"].reset_index(drop=True)
    values = df["value"].to_numpy(dtype=np.float64)
    local = _local(stamps + shift, tz).to_numpy(dtype="datetime64[ns]")
    breaks = gap_starts(stamps, granularity)
    if break_before is not None:
        # After LTTB consecutive points are further apart than a slot without a real gap:
        # only the gaps of the original series count.
        breaks = np.array([i for i in breaks if stamps.iloc[i] in break_before], dtype=np.int64)
    when = None
    if shift != pd.Timedelta(0):
        fmt = "%Y-%m-%d" if granularity == "daily" else "%Y-%m-%d %H:%M"
        texts = stamps.dt.tz_convert(tz).dt.strftime(fmt).to_numpy(dtype=object)
        when = np.insert(texts, breaks, "")
    scaled = values / divisor
    x0, x1 = local[breaks - 1], local[breaks]
    y0, y1 = scaled[breaks - 1], scaled[breaks]
    # Floored to a whole hour, so that an hourly series' x stay whole hours, the shortest to
    # send (_compact); a gap spans at least two hours, so it stays between its two points.
    middle = (x0 + (x1 - x0) // 2).astype("datetime64[h]").astype("datetime64[ns]")
    message = t("dash.gap_hover", lang)
    return _Lines(
        x=_compact(np.insert(local, breaks, middle)),
        y=np.insert(scaled, breaks, np.nan),
        raw=np.insert(values, breaks, np.nan),
        when=when,
        bridge_x=_compact(np.column_stack([x0, x1, x1]).ravel()),
        bridge_y=np.column_stack([y0, y1, np.full(len(breaks), np.nan)]).ravel(),
        gap_x=_compact(middle),
        gap_y=(y0 + y1) / 2,
        gap_hover=np.array(
            [
                f"{message}<br>{text}"
                for text in missing_slots_text(stamps, breaks, granularity, tz, lang)
            ],
            dtype=object,
        ),
    )


def _drawn(
    frame: pd.DataFrame,
    granularity: str,
    tz: str,
    lang: str,
    *,
    shift: pd.Timedelta,
    divisor: float,
    notes: list[str],
) -> tuple[pd.DataFrame, _Lines]:
    """A series as drawn: above ``MAX_POINTS`` reduced with LTTB (a note added to ``notes``),
    its line broken only at the original series' gaps."""
    break_before = None
    if len(frame) > MAX_POINTS:
        starts = gap_starts(frame["timestamp"], granularity)
        break_before = set(frame["timestamp"].iloc[starts].tolist())
        notes.append(t("dash.downsampled", lang).format(n=f"{len(frame):,}", m=f"{MAX_POINTS:,}"))
        frame = reduce_points(frame, granularity)
    lines = _lines(
        frame,
        granularity=granularity,
        tz=tz,
        lang=lang,
        shift=shift,
        divisor=divisor,
        break_before=break_before,
    )
    return frame, lines


def missing_slots_text(
    stamps: pd.Series, breaks: np.ndarray, granularity: str, tz: str, lang: str
) -> list[str]:
    """Per gap: its first and last *missing* slot and how many are missing (not the two
    collected points around it, which would name a wider outage than happened)."""
    step = GRANULARITY_STEP[granularity]
    texts: list[str] = []
    for i in breaks.tolist():
        before, after = stamps.iloc[i - 1], stamps.iloc[i]
        missing = max(1, round((after - before) / step) - 1)
        first, last = before + step, after - step
        if granularity == "daily":  # a day is 23–25 h across DST: name the local dates
            first_text = (before.tz_convert(tz) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
            last_text = (after.tz_convert(tz) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        else:
            first_text, last_text = (
                slot_text(first, tz, granularity),
                slot_text(last, tz, granularity),
            )
        texts.append(
            t("dash.gap_range", lang).format(n=f"{missing:,}", first=first_text, last=last_text)
        )
    return texts


def _tickformats(lang: str, granularity: str = "hourly") -> list[dict[str, object]]:
    day = "%m/%d" if lang == "ko" else "%b %d"
    if granularity == "daily":  # a daily value is a day: never a time of day on its label
        return [{"dtickrange": [None, None], "value": day}]
    return [
        {"dtickrange": [None, 86_400_000], "value": "%H:%M<br>" + day},
        {"dtickrange": [86_400_000, None], "value": day},
    ]


# --- builders ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Period:
    """One period drawn on the graph: its frame, shift onto period 1's axis and styling."""

    frame: pd.DataFrame
    shift: pd.Timedelta
    label: str
    colour: str
    dash: str


def build_metric_figure(
    df: pd.DataFrame,
    *,
    metric_type: str,
    granularity: str,
    tz: str,
    lang: str = "ko",
    compare_df: pd.DataFrame | None = None,
    period_labels: tuple[str, str] | None = None,
    for_print: bool = False,
    compare_offset: pd.Timedelta | None = None,
    x_range: tuple[datetime, datetime] | None = None,
    theme: Theme = LIGHT,
    events: Sequence[ChartEvent] = (),
    forecast: Forecast | None = None,
    unusual: pd.DataFrame | None = None,
    metric: MetricInfo | None = None,
) -> go.Figure:
    """One metric's line graph.

    - ``df``: ``timestamp`` (UTC) / ``value``; drawn solid, broken at missing slots, each gap
      bridged by a dotted segment whose hover says the collection failed.
    - More than 1000 points are reduced with LTTB (gaps kept) and the graph says so.
    - ``compare_df`` (period 2) is shifted by ``compare_offset`` (default: so that both
      periods' first points coincide) onto period 1's axis and drawn dashed; the legend
      names both periods (``period_labels`` or their dates).
    - Times are shown as wall-clock time of ``tz``; hovers give the exact value.
    - ``x_range``: the axis range (UTC datetimes), e.g. the selected period.
    - ``for_print``: static styling for the PDF (title, larger).
    - ``theme``: the viewer's colours (the PDF keeps the light default).
    - ``events``: marked on the time axis (line or band, hover on a triangle at the top);
      ``forecast``: the trend ahead of the last value, dashed with its band (the axis widens
      by at most a quarter of the window); ``unusual``: circles on unusual values
      (``dashboard.charts.overlays``).
    - ``metric``: the names and unit of a catalogue metric that is not one of the six
      (``CatalogueMetric.info``); the six are found by ``metric_type``.
    """
    info = metric or metric_info(metric_type)
    comparing = compare_df is not None
    if df.empty and (compare_df is None or compare_df.empty):
        return build_message_figure(t("dash.no_data_range", lang), for_print=for_print, theme=theme)
    peak = max(_peak(df), _peak(compare_df))
    divisor, axis_unit = byte_scale(peak) if info.is_bytes else (1.0, info.unit(lang))
    periods = _periods(df, compare_df, tz, period_labels, compare_offset, theme)

    value_hover, exact_bytes = _value_hover(info, lang, divisor, axis_unit, peak)
    traces: list[dict[str, object]] = []
    notes: list[str] = []
    for index, period in enumerate(periods):
        frame, lines = _drawn(
            period.frame, granularity, tz, lang, shift=period.shift, divisor=divisor, notes=notes
        )
        traces.append(
            _series_trace(
                lines,
                period,
                index,
                points=len(frame),
                comparing=comparing,
                value_hover=value_hover,
                exact_bytes=exact_bytes,
                granularity=granularity,
            )
        )
        traces.extend(_gap_traces(lines, period, index, theme))

    if unusual is not None:
        marks = unusual_trace(
            unusual, metric_type=metric_type, tz=tz, lang=lang, divisor=divisor, theme=theme
        )
        traces.extend([marks] if marks else [])
    annotations = _annotations(axis_unit, notes, for_print=for_print, theme=theme)
    if forecast is not None and not df.empty:
        # Drawn up to the axis' end: the caller widens the axis for it (one axis for all
        # graphs of a view: ``overlays.axis_with_forecasts``).
        until = forecast_until(forecast, x_range, tz)
        if until is not None and x_range is not None:
            until = min(until, utc_bound(x_range[1], tz))
        if until is not None:
            drawn, label = forecast_traces(
                forecast,
                metric_type=metric_type,
                tz=tz,
                lang=lang,
                divisor=divisor,
                after=pd.Timestamp(df["timestamp"].iloc[-1]),
                until=until,
                theme=theme,
            )
            traces.extend(drawn)
            annotations.extend([label] if label else [])
    event_traces, shapes = event_marks(events, tz=tz, lang=lang, x_range=x_range)
    traces.extend(event_traces)

    layout = _metric_layout(
        metric_type=metric_type,
        granularity=granularity,
        tz=tz,
        lang=lang,
        comparing=comparing,
        for_print=for_print,
        x_range=x_range,
        peak=peak,
        theme=theme,
    )
    if for_print:
        layout["title"] = {"text": f"{info.name(lang)} ({axis_unit})", "x": 0.01}
    layout["annotations"] = annotations
    if shapes:
        layout["shapes"] = shapes
    if event_traces:
        layout[EVENT_AXIS.replace("y", "yaxis")] = event_axis()
    return go.Figure(data=traces, layout=layout)


def build_labelled_figure(
    series: Sequence[tuple[str, pd.DataFrame]],
    *,
    metric: MetricInfo,
    granularity: str,
    tz: str,
    lang: str = "ko",
    x_range: tuple[datetime, datetime] | None = None,
    theme: Theme = LIGHT,
    events: Sequence[ChartEvent] = (),
) -> go.Figure:
    """A labelled metric's graph: one line per ``(label, frame)`` (``series``, in legend
    order), each broken and bridged at its own missing slots like ``build_metric_figure``'s
    line; the legend and the hover name the label (one unified tooltip lists every label
    at the time under the pointer)."""
    if all(frame.empty for _, frame in series):
        return build_message_figure(t("dash.no_data_range", lang), theme=theme)
    peak = max(_peak(frame) for _, frame in series)
    divisor, axis_unit = byte_scale(peak) if metric.is_bytes else (1.0, metric.unit(lang))
    value_hover, exact_bytes = _value_hover(metric, lang, divisor, axis_unit, peak)
    traces: list[dict[str, object]] = []
    notes: list[str] = []
    colours = theme.labels
    for index, (label, frame) in enumerate(series):
        drawn, lines = _drawn(
            frame, granularity, tz, lang, shift=pd.Timedelta(0), divisor=divisor, notes=notes
        )
        period = _Period(drawn, pd.Timedelta(0), label, colours[index % len(colours)], "solid")
        traces.append(
            _series_trace(
                lines,
                period,
                index,
                points=len(drawn),
                comparing=True,
                value_hover=value_hover,
                exact_bytes=exact_bytes,
                granularity=granularity,
            )
        )
        traces.extend(_gap_traces(lines, period, index, theme))
    event_traces, shapes = event_marks(events, tz=tz, lang=lang, x_range=x_range)
    traces.extend(event_traces)
    layout = _metric_layout(
        metric_type=metric.id,
        granularity=granularity,
        tz=tz,
        lang=lang,
        comparing=True,
        for_print=False,
        x_range=x_range,
        peak=peak,
        theme=theme,
        legend_rows=2,  # up to six labels
    )
    layout["annotations"] = _annotations(axis_unit, notes, for_print=False, theme=theme)
    if shapes:
        layout["shapes"] = shapes
    if event_traces:
        layout[EVENT_AXIS.replace("y", "yaxis")] = event_axis()
    return go.Figure(data=traces, layout=layout)


def _peak(df: pd.DataFrame | None) -> float:
    """The largest absolute value (0 for no data): it picks the byte unit of the axis."""
    return float(df["value"].abs().max()) if df is not None and not df.empty else 0.0


def _frame_period(df: pd.DataFrame | None, tz: str) -> str:
    """The dates a frame covers, for the legend (``—`` when it is empty)."""
    if df is None:
        return ""
    if df.empty:
        return "—"
    return period_text(df["timestamp"].iloc[0], df["timestamp"].iloc[-1], tz)


def _periods(
    df: pd.DataFrame,
    compare_df: pd.DataFrame | None,
    tz: str,
    period_labels: tuple[str, str] | None,
    compare_offset: pd.Timedelta | None,
    theme: Theme,
) -> list[_Period]:
    """Period 1 solid, and period 2 (if any) dashed and shifted onto period 1's axis."""
    labels = period_labels or (_frame_period(df, tz), _frame_period(compare_df, tz))
    periods = [_Period(df, pd.Timedelta(0), labels[0], theme.primary, "solid")]
    if compare_df is not None:
        if compare_offset is None:
            compare_offset = (
                df["timestamp"].iloc[0] - compare_df["timestamp"].iloc[0]
                if not df.empty and not compare_df.empty
                else pd.Timedelta(0)
            )
        periods.append(_Period(compare_df, compare_offset, labels[1], theme.compare, "dash"))
    return periods


def _value_hover(
    metric: MetricRef, lang: str, divisor: float, axis_unit: str, peak: float
) -> tuple[str, bool]:
    """The value part of a series hover, formatted in the browser from the point's data
    (no text per point in the answer) the way ``format_exact`` writes it: ``1,234명`` /
    ``1,234 users``; bytes in the axis' unit and in full (``4.66 GiB (5,000,000,000 bytes)``).
    The flag: the stored values travel as ``customdata`` (the exact bytes)."""
    if not metric_info(metric).is_bytes:
        return with_unit("%{y:,}", metric, lang), False
    if divisor == 1.0:  # the axis is in bytes: whole bytes, y is exact
        return "%{y:,.0f} bytes", False
    # A template has one number format for all points, so the decimals follow
    # format_bytes' rule for the axis' peak, once per trace, and every point is written in
    # the axis' unit (a value far below the peak may read "0.50 KiB" where the table says
    # "512 bytes"); the exact bytes follow in any case.
    decimals = byte_decimals(peak / divisor)
    return f"%{{y:,.{decimals}f}} {axis_unit} (%{{customdata:,.0f}} bytes)", True


def _series_trace(
    lines: _Lines,
    period: _Period,
    index: int,
    *,
    points: int,
    comparing: bool,
    value_hover: str,
    exact_bytes: bool,
    granularity: str,
) -> dict[str, object]:
    """The period's solid (or dashed) line, broken at gaps, with exact-value hovers."""
    if lines.when is None:
        when = "%{x|%Y-%m-%d}" if granularity == "daily" else "%{x|%Y-%m-%d %H:%M}"
    else:
        # A template's date format reads date strings only, not ms: a shifted period's own
        # times (compare mode) travel as text.
        when = "%{text}"
    trace: dict[str, object] = {
        "type": "scatter",
        "x": lines.x,
        "y": lines.y,
        "mode": "lines+markers" if points <= 48 else "lines",
        "name": period.label,
        "legendgroup": f"period{index + 1}",
        "line": {"color": period.colour, "width": 2, "dash": period.dash},
        "marker": {"size": 5},
        "connectgaps": False,
        # The period's name only matters when two periods are on the graph.
        "hovertemplate": f"{value_hover}<br>{when}<extra>"
        + (period.label if comparing else "")
        + "</extra>",
        "meta": {"role": "series", "period": index + 1},
        "showlegend": comparing,
    }
    if exact_bytes:
        trace["customdata"] = lines.raw
    if lines.when is not None:
        trace["text"] = lines.when
    return trace


def _gap_traces(
    lines: _Lines, period: _Period, index: int, theme: Theme
) -> list[dict[str, object]]:
    """Dotted bridges over the period's gaps and invisible points carrying their hover."""
    if not len(lines.bridge_x):
        return []
    group = f"period{index + 1}"
    return [
        {
            "type": "scatter",
            "x": lines.bridge_x,
            "y": lines.bridge_y,
            "mode": "lines",
            "line": {"color": period.colour if index else theme.gap, "width": 1.5, "dash": "dot"},
            "connectgaps": False,
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": group,
            "meta": {"role": "gap", "period": index + 1},
        },
        # Invisible points in the middle of each gap carry the hover message.
        {
            "type": "scatter",
            "x": lines.gap_x,
            "y": lines.gap_y,
            "mode": "markers",
            "marker": {"size": 14, "color": theme.gap, "opacity": 0},
            "text": lines.gap_hover,
            "hovertemplate": "%{text}<extra></extra>",
            "showlegend": False,
            "legendgroup": group,
            "meta": {"role": "gap-hover", "period": index + 1},
        },
    ]


def _metric_layout(
    *,
    metric_type: str,
    granularity: str,
    tz: str,
    lang: str,
    comparing: bool,
    for_print: bool,
    x_range: tuple[datetime, datetime] | None,
    peak: float,
    theme: Theme,
    legend_rows: int = 1,
) -> dict[str, object]:
    """Axes, margins, legend and hover styling of a metric graph (``legend_rows``: the
    room the legend under the dates needs when it is shown).

    Hover: a vertical spike line marks the time (the page mirrors it on the other graphs);
    when comparing, one unified tooltip lists both periods' values at that time.
    """
    xaxis: dict[str, object] = {
        **_axis_style(theme),
        # Set, not guessed from the first trace's values.
        "type": "date",
        "tickformatstops": _tickformats(lang, granularity),
        "showspikes": not for_print,
        "spikemode": "across",
        "spikesnap": "cursor",
        "spikethickness": 1,
        "spikedash": "dot",
        "spikecolor": theme.spike,
    }
    if granularity == "daily" and x_range is not None:
        # Ticks on whole days (at most ~10 of them): a tick never falls between two days.
        days = max(1, round((x_range[1] - x_range[0]).total_seconds() / 86_400))
        xaxis["dtick"] = 86_400_000 * max(1, -(-days // 10))
        xaxis["tick0"] = wall_clock(x_range[0], tz)
    if x_range is not None:
        xaxis["range"] = [wall_clock(v, tz) for v in x_range]
    return {
        **_base_layout(for_print, theme),
        "margin": {
            "l": 56,
            "r": 16,
            "t": 48 if for_print else 16,
            "b": 48 + 18 * legend_rows if comparing else 36,
        },
        "hovermode": "x unified" if comparing else "closest",
        "hoverdistance": 40,
        "spikedistance": -1,
        "hoverlabel": {
            "font": {"family": FONT_FAMILY, "color": theme.text},
            "bgcolor": theme.hover_bg,
            "bordercolor": theme.axis_line,
        },
        "showlegend": comparing,
        # Below the axis labels, at the bottom edge of the figure.
        "legend": {
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11, "color": theme.text},
        },
        "uirevision": f"{metric_type}-{granularity}",
        "xaxis": xaxis,
        "yaxis": {
            **_axis_style(theme),
            "tickformat": ",~r",
            "rangemode": "tozero" if peak == 0 else "normal",
        },
    }


def _annotations(
    axis_unit: str, notes: list[str], *, for_print: bool, theme: Theme
) -> list[dict[str, object]]:
    """The unit above the y axis (on screen) and the downsampling note (when reduced)."""
    # The unit sits level above the tick labels (a rotated axis title turns Korean units
    # such as 명 on their side); in print the chart title carries it already.
    annotations: list[dict[str, object]] = []
    if not for_print:
        annotations.append(
            {
                "text": axis_unit,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 1,
                # Starting at the plot's left edge: long English units fit the figure.
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": theme.muted},
                "name": "unit",
            }
        )
    if notes:
        annotations.append(
            {
                "text": " · ".join(dict.fromkeys(notes)),
                "xref": "paper",
                "yref": "paper",
                "x": 1,
                "y": 1,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": theme.muted},
                "name": "downsampled-note",
            }
        )
    return annotations


def _axis_style(theme: Theme) -> dict[str, object]:
    return {"gridcolor": theme.grid, "linecolor": theme.axis_line, "zeroline": False}


def _base_layout(for_print: bool, theme: Theme) -> dict[str, object]:
    return {
        # No named template: copying plotly's default template into every figure (and
        # validating it) costs more than the data; the few styles needed are set here.
        "template": {},
        "paper_bgcolor": theme.paper,
        "plot_bgcolor": theme.paper,
        "font": {"family": FONT_FAMILY, "size": 13 if for_print else 12, "color": theme.text},
        "height": 340 if for_print else 280,
    }


def build_message_figure(
    message: str, detail: str | None = None, *, for_print: bool = False, theme: Theme = LIGHT
) -> go.Figure:
    """A figure with no axes that shows a centred message (empty store, empty range)."""
    text = f"<b>{message}</b>" + (
        f"<br><span style='font-size:12px'>{detail}</span>" if detail else ""
    )
    layout: dict[str, object] = {
        **_base_layout(for_print, theme),
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "margin": {"l": 16, "r": 16, "t": 16, "b": 16},
        "annotations": [
            {
                "text": text,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 15, "color": theme.text, "family": FONT_FAMILY},
                "name": "message",
            }
        ],
    }
    return go.Figure(layout=layout)


def build_empty_store_figure(
    next_slot: datetime, *, tz: str, lang: str = "ko", theme: Theme = LIGHT
) -> go.Figure:
    """``데이터 수집 중입니다`` / ``첫 데이터는 HH:MM에 표시됩니다`` (next slot, in ``tz``)."""
    hhmm = pd.Timestamp(next_slot).tz_convert(tz).strftime("%H:%M")
    return build_message_figure(
        t("dash.empty_title", lang),
        t("dash.empty_detail", lang).format(time=hhmm),
        theme=theme,
    )

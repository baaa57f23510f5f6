"""Pure figure builders and value formatting shared by the page and the PDF export.

Nothing here touches the database or Dash: every function takes DataFrames with the
``timestamp`` (datetime64[ns, UTC]) / ``value`` columns that ``db.queries`` returns and
gives back a ``go.Figure`` or plain values, so they are unit-tested on tiny frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.i18n import t
from dashboard.series import MAX_POINTS, lttb, percent_change, period_average
from db.metrics import METRICS_BY_ID

GRANULARITY_STEP: dict[str, pd.Timedelta] = {
    "hourly": pd.Timedelta(hours=1),
    "daily": pd.Timedelta(days=1),
}
PRIMARY_COLOUR = "#1f6fd1"
COMPARE_COLOUR = "#e8590c"
GAP_COLOUR = "#868e96"
HIGHLIGHT_PERCENT = 20.0
BYTE_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")
AXIS_STYLE: dict[str, object] = {"gridcolor": "#eef0f3", "linecolor": "#ced4da", "zeroline": False}
FONT_FAMILY = "NanumGothic, 'Nanum Gothic', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif"


# --- value formatting ---------------------------------------------------------------------
def byte_scale(value: float) -> tuple[float, str]:
    """The divisor and unit (1024-based) that show ``value`` bytes as 1–1023 of a unit."""
    divisor, unit = 1.0, BYTE_UNITS[0]
    for power, name in enumerate(BYTE_UNITS):
        if abs(value) >= 1024**power:
            divisor, unit = float(1024**power), name
    return divisor, unit


def format_bytes(value: float) -> str:
    """``1536`` → ``1.50 KB``; whole bytes below 1 KB (``512 bytes``)."""
    divisor, unit = byte_scale(value)
    if divisor == 1.0:
        return f"{value:,.0f} bytes"
    scaled = value / divisor
    decimals = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
    return f"{scaled:,.{decimals}f} {unit}"


def format_number(value: float) -> str:
    """Thousands separators; decimals only when the value is not whole."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def format_value(value: float | int | None, metric_type: str, lang: str = "ko") -> str:
    """A value with its unit: bytes as KB/MB/GB/TB, counts with separators (``1,234명``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    info = METRICS_BY_ID[metric_type]
    if info.is_bytes:
        return format_bytes(float(value))
    unit = info.unit(lang)
    return (
        f"{format_number(float(value))}{unit}"
        if lang == "ko"
        else f"{format_number(float(value))} {unit}"
    )


def format_exact(value: float | int, metric_type: str, lang: str = "ko") -> str:
    """The exact value for hovers: bytes also in full (``1.50 KB (1,536 bytes)``)."""
    info = METRICS_BY_ID[metric_type]
    if info.is_bytes and abs(value) >= 1024:
        return f"{format_bytes(float(value))} ({float(value):,.0f} bytes)"
    return format_value(value, metric_type, lang)


def format_delta(value: float | None, metric_type: str, lang: str = "ko") -> str:
    """A signed difference with unit (``+1,234명``, ``−1.20 GB``); "—" when unknown."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + format_value(abs(value), metric_type, lang)


def format_percent_change(change: float | None) -> str:
    """``▲ 12.3%`` / ``▼ 4.0%`` / ``0.0%``; "—" when undefined (previous period 0)."""
    if change is None:
        return "—"
    arrow = "▲ " if change > 0 else "▼ " if change < 0 else ""
    return f"{arrow}{abs(change):,.1f}%"


def is_notable_change(change: float | None) -> bool:
    """Highlighted on the page: |change| > 20 %."""
    return change is not None and abs(change) > HIGHLIGHT_PERCENT


def format_timestamp(ts: pd.Timestamp | datetime, tz: str, granularity: str = "hourly") -> str:
    """Wall-clock time in ``tz``; daily slots as a date."""
    local = pd.Timestamp(ts).tz_convert(tz)
    return (
        local.strftime("%Y-%m-%d") if granularity == "daily" else local.strftime("%Y-%m-%d %H:%M")
    )


# --- summaries ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricSummary:
    """What a value card (and the PDF summary table) shows for one metric."""

    metric_type: str
    latest: float | None
    latest_at: pd.Timestamp | None
    first: float | None
    minimum: float | None
    maximum: float | None
    average: float | None
    change: float | None  # last − first of the range
    change_percent: float | None  # (last − first) / first × 100
    compare_average: float | None = None
    compare_percent: float | None = None  # (avg p1 − avg p2) / avg p2 × 100


def summarize(
    df: pd.DataFrame, *, metric_type: str, compare_df: pd.DataFrame | None = None
) -> MetricSummary:
    """Latest value, first→last change, min/max/average and the comparison with ``compare_df``."""
    avg = period_average(df)
    compare_avg = period_average(compare_df) if compare_df is not None else None
    if df.empty:
        return MetricSummary(
            metric_type, None, None, None, None, None, None, None, None, compare_avg, None
        )
    values = df["value"]
    first, last = float(values.iloc[0]), float(values.iloc[-1])
    return MetricSummary(
        metric_type=metric_type,
        latest=last,
        latest_at=pd.Timestamp(df["timestamp"].iloc[-1]),
        first=first,
        minimum=float(values.min()),
        maximum=float(values.max()),
        average=avg,
        change=last - first,
        change_percent=percent_change(last, first),
        compare_average=compare_avg,
        compare_percent=percent_change(avg, compare_avg) if compare_df is not None else None,
    )


# --- gaps and downsampling ----------------------------------------------------------------
def gap_starts(timestamps: pd.Series, granularity: str) -> np.ndarray:
    """Positions ``i`` where a slot is missing between point ``i − 1`` and point ``i``."""
    if len(timestamps) < 2:
        return np.array([], dtype=np.int64)
    step = GRANULARITY_STEP[granularity]
    diffs = timestamps.diff().to_numpy()[1:]
    # Half a step of slack: a daily series across a DST change is still contiguous.
    return np.flatnonzero(diffs > (step * 1.5).to_timedelta64()) + 1


def reduce_points(df: pd.DataFrame, granularity: str, n_out: int = MAX_POINTS) -> pd.DataFrame:
    """LTTB down to at most ``n_out`` rows while keeping both ends of every gap.

    The gap's end points are forced into the result so the gap is still drawn where it was.
    """
    if len(df) <= n_out:
        return df
    gaps = gap_starts(df["timestamp"], granularity)
    keep = np.unique(np.concatenate([gaps - 1, gaps]))
    budget = max(n_out - len(keep), 3)
    reduced = lttb(df, budget)
    if len(keep):
        forced = df.iloc[keep]
        reduced = (
            pd.concat([reduced, forced])
            .drop_duplicates(subset="timestamp")
            .sort_values("timestamp")
            .reset_index(drop=True)
        )
        if len(reduced) > n_out:  # only with more gaps than points: keep the gaps, thin the rest
            reduced = lttb(reduced, n_out)
    return reduced


def _local(timestamps: pd.Series, tz: str) -> pd.Series:
    """UTC timestamps as naive wall-clock times of ``tz`` (what the axis shows)."""
    return timestamps.dt.tz_convert(tz).dt.tz_localize(None)


@dataclass(frozen=True, slots=True)
class _Lines:
    """numpy arrays (cheap for plotly to validate, copy and serialise)."""

    x: np.ndarray  # wall-clock datetime64; a break row sits in the middle of each gap
    y: np.ndarray  # float64, NaN on break rows (breaks the solid line)
    hover: np.ndarray  # object (str)
    bridge_x: np.ndarray  # per gap: start, end, end (the third row has y NaN)
    bridge_y: np.ndarray
    gap_x: np.ndarray  # per gap: its middle, carrying the hover message
    gap_y: np.ndarray
    gap_hover: np.ndarray


def _lines(
    df: pd.DataFrame,
    *,
    metric_type: str,
    granularity: str,
    tz: str,
    lang: str,
    shift: pd.Timedelta,
    divisor: float,
    break_before: set[pd.Timestamp] | None,
) -> _Lines:
    """Solid line broken at gaps, dotted bridges and hover texts for one period."""
    stamps = df["timestamp"].reset_index(drop=True)
    values = df["value"].to_numpy(dtype=np.float64)
    local = _local(stamps + shift, tz).to_numpy(dtype="datetime64[ns]")
    fmt = "%Y-%m-%d" if granularity == "daily" else "%Y-%m-%d %H:%M"
    when = stamps.dt.tz_convert(tz).dt.strftime(fmt).to_numpy(dtype=object)
    hover = np.array(
        [
            f"{format_exact(v, metric_type, lang)}<br>{w}"
            for v, w in zip(values.tolist(), when, strict=True)
        ],
        dtype=object,
    )
    breaks = gap_starts(stamps, granularity)
    if break_before is not None:
        # After LTTB consecutive points are further apart than a slot without a real gap:
        # only the gaps of the original series count.
        breaks = np.array([i for i in breaks if stamps.iloc[i] in break_before], dtype=np.int64)
    scaled = values / divisor
    x0, x1 = local[breaks - 1], local[breaks]
    y0, y1 = scaled[breaks - 1], scaled[breaks]
    middle = x0 + (x1 - x0) // 2
    message = t("dash.gap_hover", lang)
    return _Lines(
        x=np.insert(local, breaks, middle),
        y=np.insert(scaled, breaks, np.nan),
        hover=np.insert(hover, breaks, ""),
        bridge_x=np.column_stack([x0, x1, x1]).ravel(),
        bridge_y=np.column_stack([y0, y1, np.full(len(breaks), np.nan)]).ravel(),
        gap_x=middle,
        gap_y=(y0 + y1) / 2,
        gap_hover=np.array(
            [
                f"{message}<br>{a} – {b}"
                for a, b in zip(when[breaks - 1], when[breaks], strict=True)
            ],
            dtype=object,
        ),
    )


def period_label(df: pd.DataFrame, tz: str) -> str:
    """``2026-11-22 – 2026-11-29`` from the first and last timestamp (in ``tz``)."""
    if df.empty:
        return "—"
    first = df["timestamp"].iloc[0].tz_convert(tz).strftime("%Y-%m-%d")
    last = df["timestamp"].iloc[-1].tz_convert(tz).strftime("%Y-%m-%d")
    return first if first == last else f"{first} – {last}"


def _tickformats(lang: str) -> list[dict[str, object]]:
    day = "%m/%d" if lang == "ko" else "%b %d"
    return [
        {"dtickrange": [None, 86_400_000], "value": "%H:%M<br>" + day},
        {"dtickrange": [86_400_000, None], "value": day},
    ]


# --- builders ------------------------------------------------------------------------------
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
    """
    info = METRICS_BY_ID[metric_type]
    comparing = compare_df is not None
    if df.empty and (compare_df is None or compare_df.empty):
        return build_message_figure(t("dash.no_data_range", lang), for_print=for_print)
    peak = max(
        float(df["value"].abs().max()) if not df.empty else 0.0,
        float(compare_df["value"].abs().max())
        if compare_df is not None and not compare_df.empty
        else 0.0,
    )
    divisor, axis_unit = byte_scale(peak) if info.is_bytes else (1.0, info.unit(lang))
    labels = period_labels or (
        period_label(df, tz),
        period_label(compare_df, tz) if compare_df is not None else "",
    )
    periods: list[tuple[pd.DataFrame, pd.Timedelta, str, str, str]] = [
        (df, pd.Timedelta(0), labels[0], PRIMARY_COLOUR, "solid")
    ]
    if compare_df is not None:
        if compare_offset is None:
            compare_offset = (
                df["timestamp"].iloc[0] - compare_df["timestamp"].iloc[0]
                if not df.empty and not compare_df.empty
                else pd.Timedelta(0)
            )
        periods.append((compare_df, compare_offset, labels[1], COMPARE_COLOUR, "dash"))

    traces: list[dict[str, object]] = []
    notes: list[str] = []
    for index, (frame, shift, label, colour, dash) in enumerate(periods):
        break_before: set[pd.Timestamp] | None = None
        if len(frame) > MAX_POINTS:
            starts = gap_starts(frame["timestamp"], granularity)
            break_before = set(frame["timestamp"].iloc[starts].tolist())
            notes.append(
                t("dash.downsampled", lang).format(n=f"{len(frame):,}", m=f"{MAX_POINTS:,}")
            )
            frame = reduce_points(frame, granularity)
        lines = _lines(
            frame,
            metric_type=metric_type,
            granularity=granularity,
            tz=tz,
            lang=lang,
            shift=shift,
            divisor=divisor,
            break_before=break_before,
        )
        group = f"period{index + 1}"
        traces.append(
            {
                "type": "scatter",
                "x": lines.x,
                "y": lines.y,
                "mode": "lines+markers" if len(frame) <= 48 else "lines",
                "name": label,
                "legendgroup": group,
                "line": {"color": colour, "width": 2, "dash": dash},
                "marker": {"size": 5},
                "connectgaps": False,
                "text": lines.hover,
                # The period's name only matters when two periods are on the graph.
                "hovertemplate": "%{text}<extra>" + (label if comparing else "") + "</extra>",
                "meta": {"role": "series", "period": index + 1},
                "showlegend": comparing,
            }
        )
        if len(lines.bridge_x):
            traces.append(
                {
                    "type": "scatter",
                    "x": lines.bridge_x,
                    "y": lines.bridge_y,
                    "mode": "lines",
                    "line": {"color": colour if index else GAP_COLOUR, "width": 1.5, "dash": "dot"},
                    "connectgaps": False,
                    "hoverinfo": "skip",
                    "showlegend": False,
                    "legendgroup": group,
                    "meta": {"role": "gap", "period": index + 1},
                }
            )
            # Invisible points in the middle of each gap carry the hover message.
            traces.append(
                {
                    "type": "scatter",
                    "x": lines.gap_x,
                    "y": lines.gap_y,
                    "mode": "markers",
                    "marker": {"size": 14, "color": GAP_COLOUR, "opacity": 0},
                    "text": lines.gap_hover,
                    "hovertemplate": "%{text}<extra></extra>",
                    "showlegend": False,
                    "legendgroup": group,
                    "meta": {"role": "gap-hover", "period": index + 1},
                }
            )

    xaxis: dict[str, object] = {**AXIS_STYLE, "tickformatstops": _tickformats(lang)}
    if x_range is not None:
        xaxis["range"] = [_wall_clock(v, tz) for v in x_range]
    layout: dict[str, object] = {
        **_base_layout(for_print),
        "margin": {"l": 56, "r": 16, "t": 48 if for_print else 16, "b": 66 if comparing else 36},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "showlegend": comparing,
        # Below the axis labels, at the bottom edge of the figure.
        "legend": {
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11},
        },
        "uirevision": f"{metric_type}-{granularity}",
        "xaxis": xaxis,
        "yaxis": {
            **AXIS_STYLE,
            "tickformat": ",~r",
            "rangemode": "tozero" if peak == 0 else "normal",
        },
    }
    if for_print:
        layout["title"] = {"text": f"{info.name(lang)} ({axis_unit})", "x": 0.01}
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
                "font": {"size": 11, "color": "#6c757d"},
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
                "font": {"size": 10, "color": "#6c757d"},
                "name": "downsampled-note",
            }
        )
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)


def _wall_clock(value: datetime, tz: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(tz).tz_localize(None) if stamp.tzinfo else stamp


def _base_layout(for_print: bool) -> dict[str, object]:
    return {
        # No named template: copying plotly's default template into every figure (and
        # validating it) costs more than the data; the few styles needed are set here.
        "template": {},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": FONT_FAMILY, "size": 13 if for_print else 12, "color": "#343a40"},
        "height": 340 if for_print else 280,
    }


def build_message_figure(
    message: str, detail: str | None = None, *, for_print: bool = False
) -> go.Figure:
    """A figure with no axes that shows a centred message (empty store, empty range)."""
    text = f"<b>{message}</b>" + (
        f"<br><span style='font-size:12px'>{detail}</span>" if detail else ""
    )
    layout: dict[str, object] = {
        **_base_layout(for_print),
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
                "font": {"size": 15, "color": "#495057", "family": FONT_FAMILY},
                "name": "message",
            }
        ],
    }
    return go.Figure(layout=layout)


def build_empty_store_figure(next_slot: datetime, *, tz: str, lang: str = "ko") -> go.Figure:
    """``데이터 수집 중입니다`` / ``첫 데이터는 HH:MM에 표시됩니다`` (next slot, in ``tz``)."""
    hhmm = pd.Timestamp(next_slot).tz_convert(tz).strftime("%H:%M")
    return build_message_figure(
        t("dash.empty_title", lang), t("dash.empty_detail", lang).format(time=hhmm)
    )

"""Per-metric summaries (latest, min/max/average, changes) for the value cards and the PDF."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.charts.series import percent_change, period_average


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

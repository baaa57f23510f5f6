"""Per-metric summaries for the value cards, the PDF summary, the CSV and the API.

One definition of the numbers an admin reads: the latest value, the period's average,
minimum and maximum, and in compare mode the change of the two periods' averages
(``(avg current − avg comparison) / avg comparison × 100``). There is no first→last
delta: for metrics with a daily rhythm it compares two times of day, not two periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.charts.series import percent_change, period_average


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """What a value card (and the PDF summary table, the CSV footer, the API) shows."""

    metric_type: str
    latest: float | None
    latest_at: pd.Timestamp | None
    minimum: float | None
    maximum: float | None
    average: float | None
    points: int = 0
    compare_average: float | None = None
    compare_minimum: float | None = None
    compare_maximum: float | None = None
    compare_points: int = 0
    compare_percent: float | None = None  # (avg p1 − avg p2) / avg p2 × 100


def summarize(
    df: pd.DataFrame, *, metric_type: str, compare_df: pd.DataFrame | None = None
) -> MetricSummary:
    """Latest value, min/max/average and the change of averages against ``compare_df``."""
    avg = period_average(df)
    compare = compare_df if compare_df is not None else df.iloc[0:0]
    compare_avg = period_average(compare) if compare_df is not None else None
    has = not df.empty
    has_compare = not compare.empty
    return MetricSummary(
        metric_type=metric_type,
        latest=float(df["value"].iloc[-1]) if has else None,
        latest_at=pd.Timestamp(df["timestamp"].iloc[-1]) if has else None,
        minimum=float(df["value"].min()) if has else None,
        maximum=float(df["value"].max()) if has else None,
        average=avg,
        points=len(df),
        compare_average=compare_avg,
        compare_minimum=float(compare["value"].min()) if has_compare else None,
        compare_maximum=float(compare["value"].max()) if has_compare else None,
        compare_points=len(compare) if compare_df is not None else 0,
        compare_percent=percent_change(avg, compare_avg) if compare_df is not None else None,
    )

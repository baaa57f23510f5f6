"""The rows of a graph's "view as table": the same stored points, with the gaps marked.

Pure (no Dash, no database): a frame with ``timestamp`` (UTC) / ``value`` in, rows out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.charts.formatting import format_exact
from dashboard.charts.series import gap_starts
from dashboard.i18n import t


@dataclass(frozen=True, slots=True)
class TableRow:
    time: str  # wall-clock time of the viewer's zone; for a gap: "from – to"
    value: str  # the exact value with its unit, or the gap message
    gap: bool = False


def table_rows(
    df: pd.DataFrame, metric_type: str, granularity: str, tz: str, lang: str
) -> list[TableRow]:
    """One row per stored point, and one marked row for each run of missing slots."""
    if df.empty:
        return []
    fmt = "%Y-%m-%d" if granularity == "daily" else "%Y-%m-%d %H:%M"
    stamps = df["timestamp"].reset_index(drop=True)
    when = stamps.dt.tz_convert(tz).dt.strftime(fmt).tolist()
    values = df["value"].tolist()
    gaps = set(gap_starts(stamps, granularity).tolist())
    rows: list[TableRow] = []
    for i, (w, v) in enumerate(zip(when, values, strict=True)):
        if i in gaps:
            rows.append(TableRow(f"{when[i - 1]} – {w}", t("dash.table_gap", lang), gap=True))
        rows.append(TableRow(w, format_exact(v, metric_type, lang)))
    return rows

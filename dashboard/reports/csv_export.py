"""The CSV export: one row per slot, one column per metric, LTTB-reduced to fit the limit.

The catalogue's extra metrics follow in a long block (one row per stored value: time,
metric, source, label, value): a labelled metric may have up to METRICS_MAX_LABELS series,
too many for columns, and a spreadsheet's pivot table reads the long form directly.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from collections.abc import Sequence
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

from dashboard.charts.events import ChartEvent, kind_label
from dashboard.charts.series import lttb
from dashboard.i18n import t
from dashboard.reports.types import ExportTooLarge, spreadsheet_safe
from db.catalogue import CatalogueMetric
from db.metrics import METRICS_BY_ID, MetricInfo

log = logging.getLogger(__name__)

SLOT_FREQ: Final[dict[str, str]] = {"hourly": "h", "daily": "D"}
# LTTB needs at least three points per series; below that a file cannot shrink further.
_MIN_POINTS = 3


def wide_table(frames: dict[str, pd.DataFrame], granularity: str) -> pd.DataFrame:
    """One row per slot (UTC index), one nullable Int64 column per metric.

    Slots between the first and the last stored one that have no value are kept as
    empty rows: a gap in collection is a gap in the file, never silently dropped.
    """
    series = {
        m: pd.Series(df["value"].to_numpy(), index=pd.DatetimeIndex(df["timestamp"]), dtype="Int64")
        for m, df in frames.items()
    }
    stamps = [s.index for s in series.values() if len(s)]
    if not stamps:
        index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    else:
        observed = stamps[0].append(stamps[1:]).unique().sort_values()
        grid = pd.date_range(observed.min(), observed.max(), freq=SLOT_FREQ[granularity])
        if granularity == "daily" and len(observed):
            # Business days are 23 or 25 hours long across a DST change: a grid point an
            # hour or two off a stored day is that day, not a missing one.
            nearest = observed[
                np.clip(observed.searchsorted(grid), 0, len(observed) - 1)
            ].to_numpy()
            before = observed[np.clip(observed.searchsorted(grid) - 1, 0, len(observed) - 1)]
            slack = np.timedelta64(2, "h")
            near = (np.abs(grid.to_numpy() - nearest) <= slack) | (
                np.abs(grid.to_numpy() - before.to_numpy()) <= slack
            )
            grid = grid[~near]
        index = grid.union(observed).rename("timestamp")
    return pd.DataFrame({m: s.reindex(index) for m, s in series.items()}, index=index)


def csv_header(metric_type: str, lang: str) -> str:
    """A column of the six: ``활성 사용자 (명)``, ``저장 공간 (bytes)``."""
    return column_header(METRICS_BY_ID[metric_type], lang)


def column_header(info: MetricInfo, lang: str) -> str:
    """``메시지 수 (개)``, ``저장 공간 (bytes)``: the metric and the unit of its whole values
    (bytes stay bytes whatever a catalogue calls them; the page's KiB/MiB/GiB are IEC)."""
    return f"{info.name(lang)} ({'bytes' if info.is_bytes else info.unit(lang)})"


class ExtraSeries(NamedTuple):
    """The extra metrics of an export and their stored values (``db.queries.series_rows``)."""

    rows: pd.DataFrame
    metrics: tuple[CatalogueMetric, ...]


def extras_table(
    rows: pd.DataFrame | None, metrics: tuple[CatalogueMetric, ...]
) -> ExtraSeries | None:
    """The extras block's data, or None when the export has no extra metric."""
    return ExtraSeries(rows, metrics) if metrics and rows is not None else None


def _stamps(
    index: pd.DatetimeIndex, *, tz: str, lang: str, granularity: str
) -> tuple[str, list[str]]:
    """The time column's header and cells: daily rows carry their date (the business day),
    hourly rows an ISO 8601 timestamp with the zone's offset."""
    local = index.tz_convert(tz)
    if granularity == "daily":
        return f"{t('export.csv.date', lang)} ({tz})", [ts.strftime("%Y-%m-%d") for ts in local]
    return f"{t('export.csv.timestamp', lang)} ({tz})", [ts.isoformat() for ts in local]


def extras_block(extras: ExtraSeries, *, tz: str, lang: str, granularity: str) -> str:
    """The extra metrics as CSV text, one row per stored value in the catalogue's metric
    order, then label, then time (an unlabelled series has an empty label). Admins' label
    texts are made spreadsheet-safe."""
    rows = extras.rows
    head, stamps = _stamps(
        pd.DatetimeIndex(rows["timestamp"]), tz=tz, lang=lang, granularity=granularity
    )
    names = {m.id: column_header(m.info, lang) for m in extras.metrics}
    out = pd.DataFrame(
        {
            head: stamps,
            t("export.csv.metric", lang): [names[m] for m in rows["metric_type"]],
            t("export.csv.source", lang): rows["source"].to_numpy(),
            t("export.csv.label", lang): [spreadsheet_safe(v) for v in rows["label"]],
            t("export.csv.value", lang): rows["value"].to_numpy(),
        }
    )
    return out.to_csv(index=False, na_rep="", lineterminator="\r\n")


def _block(table: pd.DataFrame, *, tz: str, lang: str, granularity: str, label: str) -> str:
    """One period as CSV text, one row per slot (``_stamps``)."""
    head, stamps = _stamps(table.index, tz=tz, lang=lang, granularity=granularity)
    out = pd.DataFrame({label + head: stamps})
    for metric_type in table.columns:
        out[csv_header(metric_type, lang)] = table[metric_type].array
    return out.to_csv(index=False, na_rep="", lineterminator="\r\n")


def events_block(events: Sequence[ChartEvent], *, tz: str, lang: str) -> str:
    """The events of the period as CSV text (start, end, kind, title, description); the
    admins' texts are made spreadsheet-safe (never run as a formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [f"{t('export.csv.event_start', lang)} ({tz})"]
        + [t(f"export.csv.event_{k}", lang) for k in ("end", "kind", "title", "description")]
    )
    for event in events:
        writer.writerow(
            [
                pd.Timestamp(event.start).tz_convert(tz).isoformat(),
                pd.Timestamp(event.end).tz_convert(tz).isoformat() if event.end else "",
                kind_label(event.kind, lang),
                spreadsheet_safe(event.title),
                spreadsheet_safe(event.description or ""),
            ]
        )
    return buffer.getvalue()


def csv_bytes(
    table: pd.DataFrame,
    *,
    tz: str,
    lang: str,
    granularity: str = "hourly",
    compare: pd.DataFrame | None = None,
    events: Sequence[ChartEvent] = (),
    extras: ExtraSeries | None = None,
) -> bytes:
    """UTF-8 with BOM (Excel keeps the Korean). The six's block (when any of them is
    exported); in compare mode a second block: the comparison period, with its own header
    row; the extra metrics' block; the events block — blocks parted by a blank line."""
    blocks = []
    if len(table.columns):
        blocks.append(_block(table, tz=tz, lang=lang, granularity=granularity, label=""))
        if compare is not None:
            label = t("export.csv.compare_label", lang) + " "
            blocks.append(_block(compare, tz=tz, lang=lang, granularity=granularity, label=label))
    if extras is not None:
        blocks.append(extras_block(extras, tz=tz, lang=lang, granularity=granularity))
    if events:
        blocks.append(events_block(events, tz=tz, lang=lang))
    return "\r\n".join(blocks).encode("utf-8-sig")


def _reduce_extras(extras: ExtraSeries, points_per_series: int) -> ExtraSeries:
    """Each extra series (metric and label) LTTB-reduced to ``points_per_series``."""
    parts = [
        rows.loc[
            rows["timestamp"].isin(
                lttb(rows[["timestamp", "value"]], points_per_series)["timestamp"]
            )
        ]
        for _, rows in extras.rows.groupby(["metric_type", "source", "label"], sort=False)
    ]
    kept = pd.concat(parts) if parts else extras.rows
    return ExtraSeries(kept.reset_index(drop=True), extras.metrics)


def _reduce_rows(table: pd.DataFrame, points_per_metric: int) -> pd.DataFrame:
    """Keep the union of the slots LTTB picks for each metric (with all their real values)."""
    keep: set[pd.Timestamp] = set()
    for metric_type in table.columns:
        column = table[metric_type].dropna()
        frame = pd.DataFrame({"timestamp": column.index, "value": column.to_numpy(dtype="int64")})
        keep.update(lttb(frame, points_per_metric)["timestamp"])
    return table.loc[sorted(keep)]


def fit_csv(
    table: pd.DataFrame,
    *,
    tz: str,
    lang: str,
    max_bytes: int,
    granularity: str = "hourly",
    compare: pd.DataFrame | None = None,
    events: Sequence[ChartEvent] = (),
    extras: ExtraSeries | None = None,
) -> tuple[bytes, bool]:
    """The CSV bytes, LTTB-reduced until they fit ``max_bytes``; ``(content, downsampled)``."""
    write = functools.partial(csv_bytes, tz=tz, lang=lang, granularity=granularity, events=events)
    content = write(table, compare=compare, extras=extras)
    if len(content) <= max_bytes:
        return content, False
    log.warning("CSV 크기 초과 (%d bytes), 다운샘플링 적용", len(content))
    longest = extras.rows.groupby(["metric_type", "source", "label"]).size().max() if extras else 0
    points = max(len(table), int(longest) if pd.notna(longest) else 0)
    while True:
        # Shrink in proportion to the overshoot (a little more, so it converges quickly).
        points = max(_MIN_POINTS, min(points - 1, int(points * max_bytes / len(content) * 0.95)))
        reduced = _reduce_rows(table, points)
        content = write(
            reduced,
            compare=_reduce_rows(compare, points) if compare is not None else None,
            extras=_reduce_extras(extras, points) if extras is not None else None,
        )
        if len(content) <= max_bytes:
            break
        if points <= _MIN_POINTS:
            raise ExportTooLarge(
                f"CSV does not fit EXPORT_MAX_BYTES={max_bytes} even with {len(reduced)} rows "
                f"({len(content)} bytes)"
            )
    log.info("다운샘플링 완료: %d -> %d 행", len(table), len(reduced))
    return content, True

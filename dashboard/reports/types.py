"""Export value types and errors: the leaf every part of the reports (and each caller) imports.

Imports nothing of the reports (only ``db.metrics`` for the metric ids and the pure chart
value types), so the renderer, the PDF, the CSV and the service can all raise and accept
these without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from dashboard.charts.events import ChartEvent
from dashboard.charts.overlays import NO_INSIGHTS, Insights
from dashboard.reports.errors import ExportError as ExportError  # re-exported: one import
from dashboard.reports.errors import ExportTooLarge as ExportTooLarge
from dashboard.reports.errors import InvalidExportSpec as InvalidExportSpec
from db.catalogue import CatalogueMetric
from db.metrics import DEFAULT_SOURCE, GRANULARITIES, METRICS_BY_ID

ExportFormat = Literal["csv", "pdf"]
FORMATS: Final[tuple[str, ...]] = ("csv", "pdf")
# One limit for the page, the API and the CLI: at most 90 days per export (an hour of slack
# for a range of 90 calendar days across a DST change).
MAX_EXPORT_DAYS: Final = 90
MAX_EXPORT_RANGE: Final = timedelta(days=MAX_EXPORT_DAYS)
_DST_SLACK: Final = timedelta(hours=1)
MEDIA_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a cell that it would run as a formula (an
    admin's text typed as ``=HYPERLINK(…)``) gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class ExportSpec:
    """What to export: the half-open period ``[start, end)`` (``db.periods``). Naive
    ``start``/``end`` are read as wall-clock times in ``tz``.

    ``compare_start``/``compare_end``: the comparison period of compare mode; the CSV then
    carries a second block and the PDF overlays it and gives both periods' numbers. Without
    it the PDF's change column compares with the period of the same length just before.
    """

    metric_types: tuple[str, ...]
    start: datetime
    end: datetime
    granularity: str
    fmt: ExportFormat
    tz: str = "UTC"
    lang: str = "ko"
    compare_start: datetime | None = None
    compare_end: datetime | None = None
    # Compare mode on the page: labels of the two periods (legend, CSV/PDF headings).
    period_labels: tuple[str, str] | None = None
    # METRICS_CATALOGUE_FILE metrics beyond the six, every label of each (resolved by the
    # caller from the app's catalogue), and the source instance all values are read from.
    extras: tuple[CatalogueMetric, ...] = ()
    source: str = DEFAULT_SOURCE

    def __post_init__(self) -> None:
        # Accept "a,b" and lists too (CLI, JSON), but always hold a tuple.
        chosen: object = self.metric_types
        if isinstance(chosen, str):
            chosen = [part.strip() for part in chosen.split(",") if part.strip()]
        object.__setattr__(self, "metric_types", tuple(chosen))  # type: ignore[arg-type]
        if not self.metric_types and not self.extras:
            raise InvalidExportSpec("choose at least one metric")
        unknown = [m for m in self.metric_types if m not in METRICS_BY_ID]
        if unknown:
            raise InvalidExportSpec(
                f"unknown metric: {', '.join(unknown)} (valid: {', '.join(METRICS_BY_ID)})"
            )
        extra_ids = [m.id for m in self.extras]
        if any(m.builtin for m in self.extras):
            raise InvalidExportSpec("a built-in metric is not an extra one")
        if len(set(self.metric_types) | set(extra_ids)) != len(self.metric_types) + len(extra_ids):
            raise InvalidExportSpec("a metric is listed twice")
        if self.granularity not in GRANULARITIES:
            raise InvalidExportSpec(f"granularity must be hourly or daily: {self.granularity!r}")
        if self.fmt not in FORMATS:
            raise InvalidExportSpec(f"format must be csv or pdf, not {self.fmt!r}")
        if self.lang not in ("ko", "en"):
            raise InvalidExportSpec(f"language must be ko or en, not {self.lang!r}")
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidExportSpec(f"unknown time zone {self.tz!r}") from None
        for name in ("start", "end", "compare_start", "compare_end"):
            value: datetime | None = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=zone))
        if self.end <= self.start:
            raise InvalidExportSpec("end must be after start")
        if self.end - self.start > MAX_EXPORT_RANGE + _DST_SLACK:
            raise InvalidExportSpec(f"range over {MAX_EXPORT_DAYS} days")
        if (self.compare_start is None) != (self.compare_end is None):
            raise InvalidExportSpec("a comparison period needs both its start and its end")
        if (
            self.compare_start is not None
            and self.compare_end is not None
            and self.compare_end < self.compare_start
        ):
            raise InvalidExportSpec("comparison end must not be before its start")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def comparing(self) -> bool:
        return self.compare_start is not None

    @property
    def previous_start(self) -> datetime:
        """Start of the comparison period: the chosen one, else the period of the same
        length just before (for the PDF's change %)."""
        return self.compare_start or self.start - (self.end - self.start)

    @property
    def previous_end(self) -> datetime:
        """End (exclusive) of the comparison period; adjacent to ``start`` by default."""
        return self.compare_end or self.start

    def describe(self) -> dict[str, object]:
        """What was exported, for the audit log: metrics, source, range, granularity, format."""
        return {
            "metrics": [*self.metric_types, *(m.id for m in self.extras)],
            "source": self.source,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "granularity": self.granularity,
            "format": self.fmt,
        }


class ExportResult(NamedTuple):
    content: bytes
    filename: str
    downsampled: bool


@dataclass(frozen=True)
class ExportData:
    """The stored series an export is made of (read in one short session)."""

    frames: dict[str, pd.DataFrame]
    previous: dict[str, pd.DataFrame] = field(default_factory=dict)
    events: tuple[ChartEvent, ...] = ()  # marked on the charts, listed in the PDF and CSV
    insights: Insights = NO_INSIGHTS  # forecasts and unusual values (PDF charts)
    # The extra metrics' values of the period, every label (``db.queries.series_rows``).
    extras: pd.DataFrame | None = None


def export_zone(granularity: str, requested: str, business_zone: str) -> str:
    """The zone an export is written in: the one asked for, except that daily values are the
    organisation's days (00:00–24:00 in ``BUSINESS_TIMEZONE``), so a daily export is dated
    in that zone — in UTC or New York time a Seoul day would carry the date before."""
    return business_zone if granularity == "daily" else requested


def export_filename(spec: ExportSpec) -> str:
    """``metrics_hourly_2026-11-26_2026-12-03.csv``: the source when not the default one, the
    granularity and the first and last day of the period in the export's zone (the end is
    exclusive: its last instant's day)."""
    zone = ZoneInfo(spec.tz)
    first = spec.start.astimezone(zone).date()
    last = (spec.end - timedelta(microseconds=1)).astimezone(zone).date()
    source = "" if spec.source == DEFAULT_SOURCE else f"{spec.source}_"
    return f"metrics_{source}{spec.granularity}_{first}_{last}.{spec.fmt}"

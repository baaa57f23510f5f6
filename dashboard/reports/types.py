"""Export value types and errors: the leaf every part of the reports (and each caller) imports.

Imports nothing of the wing (only ``db.metrics`` for the metric ids), so the renderer, the
PDF, the CSV and the service can all raise and accept these without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from db.metrics import GRANULARITIES, METRICS_BY_ID

ExportFormat = Literal["csv", "pdf"]
FORMATS: Final[tuple[str, ...]] = ("csv", "pdf")
MEDIA_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


class ExportError(Exception):
    """The export could not be generated; ``str()`` is the reason for the log.

    Users see ``t("export.failed")`` (데이터 내보내기에 실패했습니다), never this text.
    """


class ExportTooLarge(ExportError):
    """Even the strongest LTTB reduction does not fit ``EXPORT_MAX_BYTES`` (API: 413)."""


class InvalidExportSpec(ValueError):
    """The request itself is wrong (unknown metric, end ≤ start, ...): a 400, not a failure."""


@dataclass(frozen=True)
class ExportSpec:
    """What to export. Naive ``start``/``end`` are read as wall-clock times in ``tz``."""

    metric_types: tuple[str, ...]
    start: datetime
    end: datetime
    granularity: str
    fmt: ExportFormat
    tz: str = "UTC"
    lang: str = "ko"

    def __post_init__(self) -> None:
        # Accept "a,b" and lists too (CLI, JSON), but always hold a tuple.
        chosen: object = self.metric_types
        if isinstance(chosen, str):
            chosen = [part.strip() for part in chosen.split(",") if part.strip()]
        object.__setattr__(self, "metric_types", tuple(chosen))  # type: ignore[arg-type]
        if not self.metric_types:
            raise InvalidExportSpec("choose at least one metric")
        unknown = [m for m in self.metric_types if m not in METRICS_BY_ID]
        if unknown:
            raise InvalidExportSpec(f"unknown metric: {', '.join(unknown)}")
        if len(set(self.metric_types)) != len(self.metric_types):
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
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=zone))
        if self.end <= self.start:
            raise InvalidExportSpec("end must be after start")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def previous_start(self) -> datetime:
        """Start of the previous period of the same length (for the PDF's change %)."""
        return self.start - (self.end - self.start)

    def describe(self) -> dict[str, object]:
        """What was exported, for the audit log: metrics, range, granularity, format."""
        return {
            "metrics": list(self.metric_types),
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


def export_filename(fmt: str, now: datetime, tz: str = "UTC") -> str:
    """``metrics_20251102_143052.csv`` — the generation time in the export's time zone."""
    return f"metrics_{now.astimezone(ZoneInfo(tz)):%Y%m%d_%H%M%S}.{fmt}"

"""The one export service: CSV and PDF reports for the page, the REST API and the CLI.

``render_export`` turns an ``ExportSpec`` into file bytes; ``create_export`` also stores the
file (``db.exports``) so any worker or replica can serve it until it expires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy.orm import Session

from admin_metrics.settings import Settings
from dashboard.i18n import t
from dashboard.series import lttb
from db.exports import save_export
from db.metrics import GRANULARITIES, METRICS_BY_ID
from db.queries import timeseries_many

if TYPE_CHECKING:
    from dashboard.chart_renderer import ChartRenderer
    from dashboard.context import AppContext
    from db.models import ExportFile

log = logging.getLogger(__name__)

ExportFormat = Literal["csv", "pdf"]
FORMATS: Final[tuple[str, ...]] = ("csv", "pdf")
MEDIA_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}
SLOT_FREQ: Final[dict[str, str]] = {"hourly": "h", "daily": "D"}
# LTTB needs at least three points per series; below that a file cannot shrink further.
_MIN_POINTS = 3


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


def load_export_data(session: Session, spec: ExportSpec) -> ExportData:
    frames = timeseries_many(
        session,
        spec.metric_types,
        spec.granularity,
        spec.start.astimezone(UTC),
        spec.end.astimezone(UTC),
    )
    if spec.fmt != "pdf":
        return ExportData(frames)
    # The previous period ends just before this one starts, so no slot is counted twice.
    previous = timeseries_many(
        session,
        spec.metric_types,
        spec.granularity,
        spec.previous_start.astimezone(UTC),
        spec.start - timedelta(microseconds=1),
    )
    return ExportData(frames, previous)


# --- CSV ---------------------------------------------------------------------------------
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
        observed = stamps[0].append(stamps[1:]).unique()
        grid = pd.date_range(observed.min(), observed.max(), freq=SLOT_FREQ[granularity])
        index = grid.union(observed).rename("timestamp")
    return pd.DataFrame({m: s.reindex(index) for m, s in series.items()}, index=index)


def csv_header(metric_type: str, lang: str) -> str:
    info = METRICS_BY_ID[metric_type]
    return f"{info.name(lang)} ({info.unit(lang)})"


def csv_bytes(table: pd.DataFrame, *, tz: str, lang: str) -> bytes:
    """UTF-8 with BOM (Excel keeps the Korean), ISO 8601 timestamps with the zone's offset."""
    local = table.index.tz_convert(tz)
    out = pd.DataFrame(
        {f"{t('export.csv.timestamp', lang)} ({tz})": [ts.isoformat() for ts in local]}
    )
    for metric_type in table.columns:
        out[csv_header(metric_type, lang)] = table[metric_type].array
    text = out.to_csv(index=False, na_rep="", lineterminator="\r\n")
    return text.encode("utf-8-sig")


def _reduce_rows(table: pd.DataFrame, points_per_metric: int) -> pd.DataFrame:
    """Keep the union of the slots LTTB picks for each metric (with all their real values)."""
    keep: set[pd.Timestamp] = set()
    for metric_type in table.columns:
        column = table[metric_type].dropna()
        frame = pd.DataFrame({"timestamp": column.index, "value": column.to_numpy(dtype="int64")})
        keep.update(lttb(frame, points_per_metric)["timestamp"])
    return table.loc[sorted(keep)]


def fit_csv(table: pd.DataFrame, *, tz: str, lang: str, max_bytes: int) -> tuple[bytes, bool]:
    """The CSV bytes, LTTB-reduced until they fit ``max_bytes``; ``(content, downsampled)``."""
    content = csv_bytes(table, tz=tz, lang=lang)
    if len(content) <= max_bytes:
        return content, False
    log.warning("CSV 크기 초과 (%d bytes), 다운샘플링 적용", len(content))
    points = len(table)
    while True:
        # Shrink in proportion to the overshoot (a little more, so it converges quickly).
        points = max(_MIN_POINTS, min(points - 1, int(points * max_bytes / len(content) * 0.95)))
        reduced = _reduce_rows(table, points)
        content = csv_bytes(reduced, tz=tz, lang=lang)
        if len(content) <= max_bytes:
            break
        if points <= _MIN_POINTS:
            raise ExportTooLarge(
                f"CSV does not fit EXPORT_MAX_BYTES={max_bytes} even with {len(reduced)} rows "
                f"({len(content)} bytes)"
            )
    log.info("다운샘플링 완료: %d -> %d 행", len(table), len(reduced))
    return content, True


# --- the service -------------------------------------------------------------------------
def render_data(
    settings: Settings,
    data: ExportData,
    spec: ExportSpec,
    *,
    renderer: ChartRenderer | None = None,
    now: datetime | None = None,
) -> ExportResult:
    now = now or datetime.now(UTC)
    filename = export_filename(spec.fmt, now, spec.tz)
    if spec.fmt == "csv":
        content, downsampled = fit_csv(
            wide_table(data.frames, spec.granularity),
            tz=spec.tz,
            lang=spec.lang,
            max_bytes=settings.export_max_bytes,
        )
        return ExportResult(content, filename, downsampled)

    from dashboard.pdf_report import build_pdf_report

    if renderer is None:
        raise ExportError("PDF export needs a chart renderer")
    try:
        content, downsampled = build_pdf_report(data, spec, renderer=renderer, now=now)
    except ExportError:
        raise
    except Exception as exc:  # a layout or figure bug must still end as "export failed"
        log.exception("PDF report generation failed")
        raise ExportError(f"PDF generation failed: {type(exc).__name__}: {exc}") from exc
    if len(content) > settings.export_max_bytes:
        raise ExportTooLarge(
            f"PDF is {len(content)} bytes, EXPORT_MAX_BYTES={settings.export_max_bytes}"
        )
    return ExportResult(content, filename, downsampled)


def render_export(
    settings: Settings,
    session: Session,
    spec: ExportSpec,
    *,
    renderer: ChartRenderer | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Read the series for ``spec`` and render the file (PDF needs ``renderer``)."""
    return render_data(settings, load_export_data(session, spec), spec, renderer=renderer, now=now)


def export_for_app(
    ctx: AppContext, spec: ExportSpec, *, now: datetime | None = None
) -> ExportResult:
    """Render ``spec`` with the app's store and chart renderer (nothing is stored).

    The series are read in one short session; chart rendering happens outside any
    database transaction.
    """
    renderer = None
    if spec.fmt == "pdf":
        from dashboard.chart_renderer import get_chart_renderer

        renderer = get_chart_renderer(ctx)
    with ctx.session() as session:
        data = load_export_data(session, spec)
    return render_data(ctx.settings, data, spec, renderer=renderer, now=now)


def create_export(
    ctx: AppContext, spec: ExportSpec, *, user_id: int | None, now: datetime | None = None
) -> ExportFile:
    """Render ``spec`` and store it for ``EXPORT_TTL_SECONDS``; the row carries the id.

    Raises ``ExportTooLarge`` (413) or ``ExportError`` (log the message, show
    ``export.failed``).
    """
    result = export_for_app(ctx, spec, now=now)
    with ctx.session() as session:
        row = save_export(
            session,
            content=result.content,
            fmt=spec.fmt,
            filename=result.filename,
            downsampled=result.downsampled,
            ttl_seconds=ctx.settings.export_ttl_seconds,
            user_id=user_id,
            now=now,
        )
    log.info(
        "Export %s created: %s, %d bytes, %d metrics, downsampled=%s",
        row.id,
        row.filename,
        row.size_bytes,
        len(spec.metric_types),
        row.downsampled,
    )
    return row

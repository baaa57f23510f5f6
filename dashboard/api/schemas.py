"""REST API v1 request and response schemas (pydantic).

Requests are validated here and nowhere else; a failure raises a pydantic error whose type
is a stable code of ``dashboard.api.errors`` (``problem_from_validation`` turns it into an
``ApiProblem``). The same schemas generate the OpenAPI document (``dashboard.api.openapi``).

Timestamps must carry an offset (``Z`` or ``+09:00``): a naive or date-only value is
ambiguous (KST or UTC?) and is refused with ``METRICS_TIMEZONE_REQUIRED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from admin_metrics.settings import Settings
from admin_metrics.zones import zone_name
from dashboard.reports.types import MAX_EXPORT_DAYS, MAX_EXPORT_RANGE
from db.audit import ACTIONS, DEFAULT_PAGE, MAX_PAGE, AuditFilter
from db.catalogue import ALL_SOURCES, Catalogue
from db.metrics import DEFAULT_SOURCE, METRIC_IDS
from db.periods import Window, preset_window, previous_window

MetricId = Literal[
    "active_users",
    "storage_bytes",
    "active_sessions",
    "conversation_count",
    "document_count",
    "tag_count",
]
# A series' metric: one of the six or a METRICS_CATALOGUE_FILE id (checked per app).
CatalogueMetricId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        description="A metric id of the catalogue (`GET /metrics/catalogue`): one of the six "
        "or one of METRICS_CATALOGUE_FILE's.",
    ),
]
GranularityName = Literal["hourly", "daily"]
ExportFormatName = Literal["csv", "pdf"]

# The six and up to this many more of METRICS_CATALOGUE_FILE in one export.
MAX_EXPORT_METRICS: Final = 100
MIN_HORIZON_DAYS: Final = 1
MAX_HORIZON_DAYS: Final = 365
DEFAULT_PRESET: Final = "7"  # defaults are the page's "7 days" (``db.periods``)
# A client computing "now − 30 days" a moment before the server does, or starting at local
# midnight, must not be refused: retention is checked with one day of slack.
RETENTION_GRACE: Final = timedelta(days=1)
MAX_LABEL_LENGTH: Final = 100
DEFAULT_PERIOD_LABELS: Final = ("이번 주", "지난 주")


# --- timestamps ---------------------------------------------------------------------------
# RFC 3339 date-time; a space instead of the offset's "+" is accepted because an unencoded
# "+09:00" in a query string arrives as " 09:00".
_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
    r"(?P<offset>[Zz]|[+\- ]\d{2}:\d{2})?$"
)


def parse_timestamp(value: object) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp with offset, as an aware UTC ``datetime``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError("METRICS_TIMEZONE_REQUIRED", "timestamp without offset")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise PydanticCustomError("METRICS_INVALID_DATE", "timestamp must be a string")
    text = value.strip()
    match = _TIMESTAMP.match(text)
    if match is None:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            raise PydanticCustomError("METRICS_TIMEZONE_REQUIRED", "date without time and offset")
        raise PydanticCustomError("METRICS_INVALID_DATE", "not an ISO 8601 timestamp")
    offset = match["offset"]
    if offset is None:
        raise PydanticCustomError("METRICS_TIMEZONE_REQUIRED", "timestamp without offset")
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif offset[0] == " ":
        offset = "+" + offset[1:]
    frac = (match["frac"] or "")[:7]  # Python keeps microseconds: drop finer digits
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{frac}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PydanticCustomError("METRICS_INVALID_DATE", "not a valid instant") from None


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]


@dataclass(frozen=True)
class ValidationSettings:
    """What request validation needs to know: the clock and the retention settings."""

    now: datetime
    hourly_retention_days: int
    daily_retention_days: int
    timezone: str = "UTC"  # DEFAULT_TIMEZONE: the calendar of hourly defaults
    business_timezone: str = "UTC"  # BUSINESS_TIMEZONE: the calendar of daily defaults
    # The catalogue's metric ids, each with whether it is labelled; the source instances.
    metrics: tuple[tuple[str, bool], ...] = tuple((m, False) for m in METRIC_IDS)
    sources: tuple[str, ...] = (DEFAULT_SOURCE,)

    def retention_days(self, granularity: str) -> int:
        if granularity == "hourly":
            return self.hourly_retention_days
        return self.daily_retention_days

    def zone(self, granularity: str) -> str:
        return self.timezone if granularity == "hourly" else self.business_timezone

    def default_window(self, granularity: str) -> Window:
        """The page's "7 days" as of ``now``: 168 hourly slots ending with the current one,
        or the 7 complete business days ending yesterday."""
        return preset_window(DEFAULT_PRESET, granularity, now=self.now, zone=self.zone(granularity))

    @classmethod
    def of(
        cls, settings: Settings, now: datetime, catalogue: Catalogue | None = None
    ) -> ValidationSettings:
        """The request checks of an app with ``settings`` (and ``catalogue``), as of ``now``."""
        metrics = (
            tuple((m.id, m.labelled) for m in catalogue.metrics)
            if catalogue is not None
            else cls.metrics
        )
        return cls(
            now=now,
            hourly_retention_days=settings.metrics_hourly_retention_days,
            daily_retention_days=settings.metrics_daily_retention_days,
            timezone=settings.default_timezone,
            business_timezone=settings.business_zone,
            metrics=metrics,
            sources=catalogue.source_names if catalogue is not None else cls.sources,
        )


def _context(info: ValidationInfo) -> ValidationSettings:
    context = info.context
    if not isinstance(context, ValidationSettings):
        raise TypeError("validate API requests with context=ValidationSettings(...)")
    return context


def _minus(instant: datetime, length: timedelta) -> datetime:
    """``instant - length`` for a default start; before year 1 is a bad date, not a crash."""
    try:
        return instant - length
    except OverflowError:
        raise PydanticCustomError(
            "METRICS_INVALID_DATE", "the range starts before year 1"
        ) from None


def query_window(
    start: datetime | None, end: datetime | None, granularity: str, context: ValidationSettings
) -> Window:
    """A query's ``[start, end)``: without both, the page's "7 days"; with one, as long as
    that, ending now or at ``end`` (not checked: see ``check_range``)."""
    default = context.default_window(granularity)
    if start is None and end is None:
        return default
    end = end or context.now
    return Window(start or _minus(end, default.length), end)


def check_range(
    start: datetime, end: datetime, granularity: str, context: ValidationSettings
) -> None:
    """``end > start`` and ``start`` within the retention of ``granularity``."""
    if end <= start:
        raise PydanticCustomError("METRICS_INVALID_TIME_RANGE", "end must be after start")
    oldest = context.now - timedelta(days=context.retention_days(granularity)) - RETENTION_GRACE
    if start < oldest:
        raise PydanticCustomError(
            "METRICS_RANGE_OUTSIDE_RETENTION",
            "start beyond {days} days of {granularity} retention",
            {"days": context.retention_days(granularity), "granularity": granularity},
        )


def check_series(
    metric_type: str, source: str, label: str | None, context: ValidationSettings
) -> None:
    """The metric is in the catalogue, the source is known (or ``all``: the series readers
    combine every source, ``db.queries.series_arrays``), and a label is given exactly when
    the metric is labelled."""
    labelled = dict(context.metrics).get(metric_type)
    if labelled is None:
        raise PydanticCustomError(
            "METRICS_UNKNOWN_METRIC", "unknown metric", {"field": metric_type[:50]}
        )
    if source not in (*context.sources, ALL_SOURCES):
        raise PydanticCustomError("METRICS_UNKNOWN_SOURCE", "unknown source", {"field": source})
    if labelled and not label:
        raise PydanticCustomError(
            "METRICS_INVALID_LABEL",
            "label required",
            {"detail": f"{metric_type} is labelled: give one label (see GET /metrics/catalogue)"},
        )
    if not labelled and label is not None:
        raise PydanticCustomError(
            "METRICS_INVALID_LABEL",
            "label not allowed",
            {"detail": f"{metric_type} has no labels"},
        )


SOURCE_DESCRIPTION: Final = (
    "The source instance: `default` (SOURCE_DATABASE_URL) or a `[sources.<name>]` of "
    "METRICS_CATALOGUE_FILE (see `GET /metrics/catalogue`)."
)
SERIES_SOURCE_DESCRIPTION: Final = (
    SOURCE_DESCRIPTION[:-1] + ", or `all`: every source's series combined per slot (counts, "
    "bytes and custom units summed, seconds and percents averaged); a slot that a source "
    "with data in the range lacks is left out (a gap)."
)
LABEL_DESCRIPTION: Final = (
    "One label of a labelled metric (required for one, refused for an unlabelled metric)."
)


# --- requests -----------------------------------------------------------------------------
class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimeseriesQuery(_Query):
    """``GET /metrics/timeseries``: one series' stored values in a range."""

    metric_type: CatalogueMetricId
    source: str = Field(DEFAULT_SOURCE, max_length=50, description=SERIES_SOURCE_DESCRIPTION)
    label: str | None = Field(None, min_length=1, max_length=200, description=LABEL_DESCRIPTION)
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    start_date: Timestamp | None = Field(
        None,
        validation_alias=AliasChoices("start_date", "start_time"),
        description="Range start, inclusive (ISO 8601 with offset). Default: the page's "
        "'7 days' (hourly: 168 slots ending with the current one; daily: the 7 complete "
        "business days ending yesterday).",
    )
    end_date: Timestamp | None = Field(
        None,
        validation_alias=AliasChoices("end_date", "end_time"),
        description="Range end, exclusive (ISO 8601 with offset): periods are half-open "
        "`[start, end)`. Default: the end of the page's '7 days'.",
    )

    @model_validator(mode="after")
    def _defaults_and_range(self, info: ValidationInfo) -> TimeseriesQuery:
        context = _context(info)
        check_series(self.metric_type, self.source, self.label, context)
        window = query_window(self.start_date, self.end_date, self.granularity, context)
        check_range(window.start, window.end, self.granularity, context)
        self.start_date, self.end_date = window.start, window.end
        return self

    @property
    def start(self) -> datetime:
        assert self.start_date is not None
        return self.start_date

    @property
    def end(self) -> datetime:
        assert self.end_date is not None
        return self.end_date


class ComparisonQuery(_Query):
    """``GET /metrics/comparison``: two periods of one metric and the change of their averages.

    Periods are half-open ``[start, end)``. Defaults are the page's: period 1 is "7 days"
    (``db.periods``), period 2 the previous period of as many slots; a period 2 given by its
    start alone has as many slots as period 1.
    """

    metric_type: CatalogueMetricId
    source: str = Field(DEFAULT_SOURCE, max_length=50, description=SERIES_SOURCE_DESCRIPTION)
    label: str | None = Field(None, min_length=1, max_length=200, description=LABEL_DESCRIPTION)
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    period1_start: Timestamp | None = Field(
        None, description="Period 1 start (ISO 8601 with offset). Default: the page's '7 days'."
    )
    period1_end: Timestamp | None = Field(
        None,
        description="Period 1 end, exclusive (ISO 8601 with offset). Default: the end "
        "of the page's '7 days'.",
    )
    period2_start: Timestamp | None = Field(
        None,
        description="Period 2 start. Default: the previous period (as many slots as period 1, "
        "ending where it starts).",
    )
    period2_end: Timestamp | None = Field(
        None, description="Period 2 end, exclusive. Default: period2_start + length of period 1."
    )
    period1_label: str = Field(
        DEFAULT_PERIOD_LABELS[0], max_length=MAX_LABEL_LENGTH, description="Label of period 1."
    )
    period2_label: str = Field(
        DEFAULT_PERIOD_LABELS[1], max_length=MAX_LABEL_LENGTH, description="Label of period 2."
    )

    @model_validator(mode="after")
    def _defaults_and_ranges(self, info: ValidationInfo) -> ComparisonQuery:
        context = _context(info)
        check_series(self.metric_type, self.source, self.label, context)
        zone = context.zone(self.granularity)
        default = context.default_window(self.granularity)
        p1 = query_window(self.period1_start, self.period1_end, self.granularity, context)
        check_range(p1.start, p1.end, self.granularity, context)
        if self.period2_start is None and self.period2_end is None:
            preset = DEFAULT_PRESET if p1 == default else "custom"
            p2 = previous_window(preset, p1, self.granularity, zone)
            if preset == "custom":  # any period: as long as period 1, just before it
                p2 = Window(_minus(p1.start, p1.length), p1.start)
        elif self.period2_start is not None:
            p2 = Window(self.period2_start, self.period2_end or self.period2_start + p1.length)
        else:
            assert self.period2_end is not None
            p2 = Window(_minus(self.period2_end, p1.length), self.period2_end)
        check_range(p2.start, p2.end, self.granularity, context)
        p1_start, p1_end, p2_start, p2_end = p1.start, p1.end, p2.start, p2.end
        self.period1_start, self.period1_end = p1_start, p1_end
        self.period2_start, self.period2_end = p2_start, p2_end
        return self

    def period(self, number: int) -> tuple[str, datetime, datetime]:
        """``(label, start, end)`` of period 1 or 2 (after defaults were applied)."""
        label, start, end = (
            (self.period1_label, self.period1_start, self.period1_end)
            if number == 1
            else (self.period2_label, self.period2_start, self.period2_end)
        )
        assert start is not None and end is not None
        return label, start, end


class ForecastQuery(_Query):
    """``GET /metrics/forecast``: the trend of one metric ahead of its last daily value."""

    metric_type: MetricId = Field(description="One of the six metric ids.")
    horizon_days: int | None = Field(
        None,
        ge=MIN_HORIZON_DAYS,
        le=MAX_HORIZON_DAYS,
        description=f"Days ahead of the last value ({MIN_HORIZON_DAYS}–{MAX_HORIZON_DAYS}). "
        "Default: FORECAST_HORIZON_DAYS (30).",
    )


class ExportRequest(BaseModel):
    """``POST /metrics/export`` body."""

    model_config = ConfigDict(extra="ignore")

    metric_types: list[CatalogueMetricId] = Field(
        min_length=1,
        max_length=MAX_EXPORT_METRICS,
        description="Metric ids of the catalogue (a repeated id counts once): the six are "
        "columns of the CSV and charts of the PDF; METRICS_CATALOGUE_FILE's extra metrics, "
        "every label, a long block of the CSV (time, metric, source, label, value) and a "
        "table of the PDF.",
    )
    source: str = Field(DEFAULT_SOURCE, max_length=50, description=SERIES_SOURCE_DESCRIPTION)
    start_date: Timestamp = Field(
        validation_alias=AliasChoices("start_date", "start_time"),
        description="Range start (ISO 8601 with offset).",
    )
    end_date: Timestamp = Field(
        validation_alias=AliasChoices("end_date", "end_time"),
        description=f"Range end, exclusive (ISO 8601 with offset); at most {MAX_EXPORT_DAYS} "
        "days after the start (the page and the CLI have the same limit).",
    )
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    format: ExportFormatName = Field(description="`csv` (UTF-8 with BOM) or `pdf` (A4 report).")
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone for the file's timestamps (default: DEFAULT_TIMEZONE, "
        "as for the CLI).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if zone_name(value) is None:  # also a folder such as "America"
            raise PydanticCustomError("METRICS_INVALID_PARAMETER", "unknown time zone")
        return value

    @model_validator(mode="after")
    def _range(self, info: ValidationInfo) -> ExportRequest:
        context = _context(info)
        if self.end_date <= self.start_date:
            raise PydanticCustomError("METRICS_INVALID_TIME_RANGE", "end must be after start")
        if self.end_date - self.start_date > MAX_EXPORT_RANGE + timedelta(hours=1):
            raise PydanticCustomError("EXPORT_RANGE_TOO_LONG", "range over 90 days")
        check_range(self.start_date, self.end_date, self.granularity, context)
        known = dict(context.metrics)
        for metric_type in self.metric_types:
            if metric_type not in known:
                raise PydanticCustomError(
                    "METRICS_UNKNOWN_METRIC", "unknown metric", {"field": metric_type[:50]}
                )
        if self.source not in (*context.sources, ALL_SOURCES):
            raise PydanticCustomError(
                "METRICS_UNKNOWN_SOURCE", "unknown source", {"field": self.source}
            )
        return self

    @property
    def unique_metric_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.metric_types))


class AuditQuery(_Query):
    """``GET /audit`` and ``GET /audit.csv``: the audit log, newest first, filtered."""

    since: Timestamp | None = Field(None, description="From (inclusive, ISO 8601 with offset).")
    until: Timestamp | None = Field(None, description="Before (exclusive, ISO 8601 with offset).")
    user: str | None = Field(
        None, min_length=1, max_length=150, description="Only events by this actor."
    )
    action: str | None = Field(
        None, description="Only this kind of event.", json_schema_extra={"enum": list(ACTIONS)}
    )
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Events per page.")
    offset: int = Field(0, ge=0, le=10**9, description="Events to skip (paging).")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTIONS:
            raise PydanticCustomError("METRICS_INVALID_PARAMETER", "unknown audit action")
        return value

    @model_validator(mode="after")
    def _window(self) -> AuditQuery:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise PydanticCustomError("METRICS_INVALID_TIME_RANGE", "until must be after since")
        return self

    @property
    def filter(self) -> AuditFilter:
        return AuditFilter(since=self.since, until=self.until, actor=self.user, action=self.action)


# --- responses (documentation and tests; the views build plain dicts) ----------------------
class ApiError(BaseModel):
    error: str = Field(description="Human-readable message (Korean by default, `?lang=en`).")
    code: str = Field(description="Stable English error code, e.g. METRICS_INVALID_TIME_RANGE.")


class DataPoint(BaseModel):
    timestamp: datetime = Field(
        description="The slot (UTC, ISO 8601 with offset, whole seconds). A daily slot is a "
        "business day (BUSINESS_TIMEZONE), stored at its local midnight."
    )
    value: int = Field(
        ge=0,
        description="The stored integer; storage_bytes in whole bytes (the page shows IEC "
        "units: 1 KiB = 1024 bytes, 1 GiB = 2^30 bytes).",
    )


class LocalizedText(BaseModel):
    ko: str
    en: str


class CatalogueMetric(BaseModel):
    id: str = Field(
        description="What `metric_type` takes in the timeseries and comparison (the six: "
        "everywhere in the API)."
    )
    name: LocalizedText
    unit: LocalizedText = Field(description="The unit as the page shows it.")
    unit_kind: Literal["count", "bytes", "seconds", "percent", "custom"] = Field(
        description="`bytes` values are shown in IEC units (KiB, MiB, GiB); `custom`: the "
        "catalogue's own word."
    )
    kind: Literal["gauge", "per_slot"] = Field(
        description="`gauge`: the value at the slot; `per_slot`: what happened during the "
        "hour the slot closes."
    )
    daily_rollup: Literal["last", "max", "average", "sum"] = Field(
        description="How the daily value combines the day's hours (`average`: rounded mean)."
    )
    builtin: bool = Field(description="One of the six built-in metrics.")
    labelled: bool = Field(description="Each label is its own series (`label` parameter).")
    sources: list[str] = Field(description="Source instances holding this metric.")
    labels: list[str] = Field(
        description="Labels of a labelled metric seen in the store (none: [])."
    )


class CatalogueSource(BaseModel):
    id: str = Field(description="The `source` parameter's value; `default` first.")
    name: LocalizedText


class CatalogueResponse(BaseModel):
    metrics: list[CatalogueMetric] = Field(description="In the page's order.")
    sources: list[CatalogueSource] = Field(
        description="The configured source instances, collected in the same slot."
    )


class CurrentResponse(BaseModel):
    timestamp: datetime | None = Field(description="The newest hourly slot; null when empty.")
    metrics: dict[MetricId, int] = Field(description="Value per metric id at that slot.")


class TimeseriesResponse(BaseModel):
    metric_type: str
    source: str
    label: str | None
    granularity: GranularityName
    data: list[DataPoint] = Field(max_length=1000, description="Oldest first, ≤ 1000 points.")
    start_date: datetime
    end_date: datetime
    total_points: int = Field(ge=0, description="Stored points in the range (before LTTB).")
    downsampled: bool = Field(description="True when `data` was reduced with LTTB.")


class ComparisonPeriod(BaseModel):
    label: str
    start_date: datetime
    end_date: datetime
    average: float | None = Field(description="Mean of all stored values; null when empty.")
    minimum: int | None = Field(None, description="Smallest stored value; null when empty.")
    maximum: int | None = Field(None, description="Largest stored value; null when empty.")
    latest: int | None = Field(None, description="The newest stored value; null when empty.")
    total_points: int = Field(ge=0)
    downsampled: bool
    data: list[DataPoint] = Field(max_length=1000)


class ComparisonResponse(BaseModel):
    metric_type: str
    source: str
    label: str | None
    granularity: GranularityName
    period1: ComparisonPeriod
    period2: ComparisonPeriod
    change_percentage: float | None = Field(
        description="(avg1 − avg2) / avg2 × 100; null when period 2 is empty or averages 0."
    )


class ForecastLatest(BaseModel):
    timestamp: datetime = Field(description="The last daily value's day (UTC, whole seconds).")
    value: float = Field(
        description="That value (a daily mean of hourly values may be fractional)."
    )


class ForecastPoint(BaseModel):
    timestamp: datetime = Field(description="A day ahead of the last value (UTC, whole seconds).")
    expected: float = Field(description="The trend there.")
    lower: float = Field(description="Lower edge of the 95 % band (slope interval and scatter).")
    upper: float = Field(description="Upper edge of the band.")


class ForecastResponse(BaseModel):
    metric_type: MetricId
    horizon_days: int = Field(ge=MIN_HORIZON_DAYS, le=MAX_HORIZON_DAYS)
    capacity: int | None = Field(
        description="STORAGE_CAPACITY_BYTES for storage_bytes; null otherwise or when unset."
    )
    days_to_capacity: float | None = Field(
        description="Days from now until the trend reaches the capacity (0: already there); "
        "null without a capacity, a forecast, or a rising trend (within ten years)."
    )
    reach_at: datetime | None = Field(description="When the trend reaches the capacity.")
    slope_per_day: float | None = Field(
        description="Growth per day (Theil–Sen); null without a forecast."
    )
    points: int = Field(ge=0, description="Daily values in the last 90 days the trend is made of.")
    latest: ForecastLatest | None = Field(description="The last daily value; null when none.")
    trend: list[ForecastPoint] = Field(
        description="From the last value's day to the horizon, daily; empty with fewer than "
        "7 days of data."
    )
    message: str = Field(description="The forecast, or why there is none, in one sentence.")


class RecentFailureModel(BaseModel):
    metric_type: str
    attempted_at: datetime
    error_message: str


class SourceStatusModel(BaseModel):
    source: str = Field(description="The source instance (`default`: SOURCE_DATABASE_URL).")
    status: Literal["healthy", "warning", "error", "pending"] = Field(
        description="This source's light, by the same rules as the overall one."
    )
    last_collection_at: datetime | None = Field(description="Its newest stored hourly slot.")
    failed_slots_24h: int = Field(ge=0)
    missed_slots_24h: int = Field(ge=0)
    latest_slot_succeeded: bool | None


class StatusResponse(BaseModel):
    status: Literal["healthy", "warning", "error", "pending"] = Field(
        description="By lateness of the last stored slot and failed slots in 24 h (SPEC §4); "
        "with several sources, the worst of their lights."
    )
    last_collection_at: datetime | None
    next_collection_at: datetime | None = Field(description="Null when collection is off.")
    failure_count_24h: int = Field(
        ge=0, description="Failure rows of the last 24 h, without those of slots stored since."
    )
    failed_slots_24h: int = Field(
        ge=0, description="Slots of the last 24 h with failure rows and no stored values."
    )
    missed_slots_24h: int = Field(
        ge=0,
        description="Of those, slots no collector finished: none was running, or it stopped "
        "during the collection.",
    )
    last_successful_slot: datetime | None = Field(
        description="The newest stored hourly slot (same as last_collection_at)."
    )
    latest_slot_succeeded: bool | None = Field(
        description="Whether the newest slot with any record was stored; null before the first."
    )
    recent_failures: list[RecentFailureModel] = Field(
        description="Newest first; failures of slots stored after all are left out."
    )
    is_collecting: bool
    sources: list[SourceStatusModel] = Field(
        description="Each source instance's light, the default source first."
    )


class ExportResponse(BaseModel):
    download_url: str = Field(description="Path of `GET /exports/{export_id}` on this server.")
    file_size_bytes: int = Field(ge=0)
    expires_at: datetime
    downsampled: bool


class AuditEventModel(BaseModel):
    id: int
    occurred_at: datetime = Field(description="When (UTC, ISO 8601 with offset).")
    actor: str | None = Field(description="Who: an account, `(cli)`, `(proxy)` or `(system)`.")
    action: str = Field(json_schema_extra={"enum": list(ACTIONS)})
    address: str | None = Field(description="The client's address (through a trusted proxy).")
    details: dict[str, Any] = Field(description="What: metrics, range, reason, … never secrets.")


class AuditPageResponse(BaseModel):
    events: list[AuditEventModel] = Field(max_length=MAX_PAGE, description="Newest first.")
    total: int = Field(ge=0, description="Events matching the filters.")
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
    next_offset: int | None = Field(description="`offset` of the next page; null on the last.")

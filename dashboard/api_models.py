"""REST API v1 request and response models (pydantic): validation, error codes, OpenAPI.

Requests are validated here and nowhere else; a failure becomes an ``ApiProblem`` with a
stable English ``code`` and a catalogue key for the Korean/English ``error`` message.
The same models generate the OpenAPI document (``build_openapi``), so the document cannot
drift from what the views accept.

Timestamps must carry an offset (``Z`` or ``+09:00``): a naive or date-only value is
ambiguous (KST or UTC?) and is refused with ``METRICS_TIMEZONE_REQUIRED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

MetricId = Literal[
    "active_users",
    "storage_bytes",
    "active_sessions",
    "conversation_count",
    "document_count",
    "tag_count",
]
GranularityName = Literal["hourly", "daily"]
ExportFormatName = Literal["csv", "pdf"]

MAX_EXPORT_METRICS: Final = 6
MAX_EXPORT_RANGE: Final = timedelta(days=90)
DEFAULT_RANGE: Final = timedelta(days=7)
# A client computing "now − 30 days" a moment before the server does, or starting at local
# midnight, must not be refused: retention is checked with one day of slack.
RETENTION_GRACE: Final = timedelta(days=1)
MAX_LABEL_LENGTH: Final = 100
DEFAULT_PERIOD_LABELS: Final = ("이번 주", "지난 주")


# --- errors -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorInfo:
    status: int
    message_key: str


ERRORS: Final[dict[str, ErrorInfo]] = {
    "METRICS_MISSING_PARAMETER": ErrorInfo(400, "api.missing_parameter"),
    "METRICS_UNKNOWN_METRIC": ErrorInfo(400, "api.unknown_metric"),
    "METRICS_UNKNOWN_GRANULARITY": ErrorInfo(400, "api.unknown_granularity"),
    "METRICS_INVALID_DATE": ErrorInfo(400, "api.invalid_date"),
    "METRICS_TIMEZONE_REQUIRED": ErrorInfo(400, "api.timezone_required"),
    "METRICS_INVALID_TIME_RANGE": ErrorInfo(400, "api.invalid_time_range"),
    "METRICS_RANGE_OUTSIDE_RETENTION": ErrorInfo(400, "api.outside_retention"),
    "METRICS_INVALID_PARAMETER": ErrorInfo(400, "api.invalid_parameter"),
    "EXPORT_INVALID_BODY": ErrorInfo(400, "api.invalid_body"),
    "EXPORT_INVALID_METRIC_COUNT": ErrorInfo(400, "api.export_metric_count"),
    "EXPORT_INVALID_FORMAT": ErrorInfo(400, "api.export_invalid_format"),
    "EXPORT_RANGE_TOO_LONG": ErrorInfo(400, "api.export_range_too_long"),
    "EXPORT_TOO_LARGE": ErrorInfo(413, "api.export_too_large"),
    "EXPORT_FAILED": ErrorInfo(503, "api.export_failed"),
    "EXPORT_NOT_FOUND": ErrorInfo(404, "api.export_not_found"),
    "API_NOT_FOUND": ErrorInfo(404, "api.not_found"),
    "API_METHOD_NOT_ALLOWED": ErrorInfo(405, "api.method_not_allowed"),
    "API_REQUEST_TOO_LARGE": ErrorInfo(413, "api.request_too_large"),
    "API_BAD_REQUEST": ErrorInfo(400, "api.bad_request"),
    "STORE_UNAVAILABLE": ErrorInfo(503, "api.store_unavailable"),
    "API_INTERNAL_ERROR": ErrorInfo(500, "error.internal"),
}


class ApiProblem(Exception):
    """An expected failure: becomes ``{error, code}`` with ``ERRORS[code].status``."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def status(self) -> int:
        return ERRORS[self.code].status


# Which code a built-in pydantic error on a field means.
_FIELD_CODES: Final[dict[str, str]] = {
    "metric_type": "METRICS_UNKNOWN_METRIC",
    "metric_types": "METRICS_UNKNOWN_METRIC",
    "granularity": "METRICS_UNKNOWN_GRANULARITY",
    "format": "EXPORT_INVALID_FORMAT",
}


def problem_from_validation(exc: ValidationError) -> ApiProblem:
    """The first error of a validation failure as an ``ApiProblem`` (its field named)."""
    error = exc.errors(include_url=False)[0]
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    name = loc[0] if loc else ""
    kind = error["type"]
    if kind in ERRORS:  # raised by our own validators with the code as the type
        extra = {key: str(value) for key, value in error.get("ctx", {}).items()}
        return ApiProblem(kind, field=name, **extra)
    if kind == "missing":
        return ApiProblem("METRICS_MISSING_PARAMETER", field=name)
    if kind in ("json_invalid", "model_type", "model_attributes_type", "dict_type"):
        return ApiProblem("EXPORT_INVALID_BODY", field=name)
    if name == "metric_types" and kind in ("too_short", "too_long"):
        return ApiProblem("EXPORT_INVALID_METRIC_COUNT", field=name)
    if name == "metric_types" and kind == "list_type":
        return ApiProblem("METRICS_INVALID_PARAMETER", field=name)
    return ApiProblem(_FIELD_CODES.get(name, "METRICS_INVALID_PARAMETER"), field=name)


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

    def retention_days(self, granularity: str) -> int:
        if granularity == "hourly":
            return self.hourly_retention_days
        return self.daily_retention_days


def _context(info: ValidationInfo) -> ValidationSettings:
    context = info.context
    if not isinstance(context, ValidationSettings):
        raise TypeError("validate API requests with context=ValidationSettings(...)")
    return context


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


# --- requests -----------------------------------------------------------------------------
class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimeseriesQuery(_Query):
    """``GET /metrics/timeseries``: one metric's stored values in a range."""

    metric_type: MetricId = Field(description="One of the six metric ids.")
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    start_date: Timestamp | None = Field(
        None,
        validation_alias=AliasChoices("start_date", "start_time"),
        description="Range start, inclusive (ISO 8601 with offset). Default: end − 7 days.",
    )
    end_date: Timestamp | None = Field(
        None,
        validation_alias=AliasChoices("end_date", "end_time"),
        description="Range end, inclusive (ISO 8601 with offset). Default: now.",
    )

    @model_validator(mode="after")
    def _defaults_and_range(self, info: ValidationInfo) -> TimeseriesQuery:
        context = _context(info)
        end = self.end_date or context.now
        start = self.start_date or end - DEFAULT_RANGE
        check_range(start, end, self.granularity, context)
        self.start_date, self.end_date = start, end
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

    Defaults: period 1 is the 7 days up to now, period 2 the period of the same length just
    before it.
    """

    metric_type: MetricId = Field(description="One of the six metric ids.")
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    period1_start: Timestamp | None = Field(
        None, description="Period 1 start (ISO 8601 with offset). Default: period1_end − 7 days."
    )
    period1_end: Timestamp | None = Field(
        None, description="Period 1 end (ISO 8601 with offset). Default: now."
    )
    period2_start: Timestamp | None = Field(
        None,
        description="Period 2 start. Default: period2_end minus the length of period 1.",
    )
    period2_end: Timestamp | None = Field(None, description="Period 2 end. Default: period1_start.")
    period1_label: str = Field(
        DEFAULT_PERIOD_LABELS[0], max_length=MAX_LABEL_LENGTH, description="Label of period 1."
    )
    period2_label: str = Field(
        DEFAULT_PERIOD_LABELS[1], max_length=MAX_LABEL_LENGTH, description="Label of period 2."
    )

    @model_validator(mode="after")
    def _defaults_and_ranges(self, info: ValidationInfo) -> ComparisonQuery:
        context = _context(info)
        p1_end = self.period1_end or context.now
        p1_start = self.period1_start or p1_end - DEFAULT_RANGE
        check_range(p1_start, p1_end, self.granularity, context)
        p2_end = self.period2_end or p1_start
        p2_start = self.period2_start or p2_end - (p1_end - p1_start)
        check_range(p2_start, p2_end, self.granularity, context)
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


class ExportRequest(BaseModel):
    """``POST /metrics/export`` body."""

    model_config = ConfigDict(extra="ignore")

    metric_types: list[MetricId] = Field(
        min_length=1,
        max_length=MAX_EXPORT_METRICS,
        description="1 to 6 metric ids (a repeated id counts once).",
    )
    start_date: Timestamp = Field(
        validation_alias=AliasChoices("start_date", "start_time"),
        description="Range start (ISO 8601 with offset).",
    )
    end_date: Timestamp = Field(
        validation_alias=AliasChoices("end_date", "end_time"),
        description="Range end (ISO 8601 with offset); at most 90 days after the start.",
    )
    granularity: GranularityName = Field("hourly", description="Hourly slots or daily rollups.")
    format: ExportFormatName = Field(description="`csv` (UTF-8 with BOM) or `pdf` (A4 report).")
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone for the file's timestamps (default: UTC).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("METRICS_INVALID_PARAMETER", "unknown time zone") from None
        return value

    @model_validator(mode="after")
    def _range(self, info: ValidationInfo) -> ExportRequest:
        context = _context(info)
        if self.end_date <= self.start_date:
            raise PydanticCustomError("METRICS_INVALID_TIME_RANGE", "end must be after start")
        if self.end_date - self.start_date > MAX_EXPORT_RANGE:
            raise PydanticCustomError("EXPORT_RANGE_TOO_LONG", "range over 90 days")
        check_range(self.start_date, self.end_date, self.granularity, context)
        return self

    @property
    def unique_metric_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.metric_types))


# --- responses (documentation and tests; the views build plain dicts) ----------------------
class ApiError(BaseModel):
    error: str = Field(description="Human-readable message (Korean by default, `?lang=en`).")
    code: str = Field(description="Stable English error code, e.g. METRICS_INVALID_TIME_RANGE.")


class DataPoint(BaseModel):
    timestamp: datetime = Field(description="The slot (UTC, ISO 8601 with offset).")
    value: int = Field(ge=0)


class CurrentResponse(BaseModel):
    timestamp: datetime | None = Field(description="The newest hourly slot; null when empty.")
    metrics: dict[MetricId, int] = Field(description="Value per metric id at that slot.")


class TimeseriesResponse(BaseModel):
    metric_type: MetricId
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
    total_points: int = Field(ge=0)
    downsampled: bool
    data: list[DataPoint] = Field(max_length=1000)


class ComparisonResponse(BaseModel):
    metric_type: MetricId
    granularity: GranularityName
    period1: ComparisonPeriod
    period2: ComparisonPeriod
    change_percentage: float | None = Field(
        description="(avg1 − avg2) / avg2 × 100; null when period 2 is empty or averages 0."
    )


class RecentFailureModel(BaseModel):
    metric_type: str
    attempted_at: datetime
    error_message: str


class StatusResponse(BaseModel):
    status: Literal["healthy", "warning", "error", "pending"]
    last_collection_at: datetime | None
    next_collection_at: datetime | None = Field(description="Null when collection is off.")
    failure_count_24h: int = Field(ge=0)
    recent_failures: list[RecentFailureModel]
    is_collecting: bool


class ExportResponse(BaseModel):
    download_url: str = Field(description="Path of `GET /exports/{export_id}` on this server.")
    file_size_bytes: int = Field(ge=0)
    expires_at: datetime
    downsampled: bool


# --- OpenAPI ------------------------------------------------------------------------------
_RESPONSE_MODELS: Final = (
    ApiError,
    CurrentResponse,
    TimeseriesResponse,
    ComparisonResponse,
    StatusResponse,
    ExportResponse,
)
_ALIASES: Final[dict[str, str]] = {"start_time": "start_date", "end_time": "end_date"}


@dataclass
class _Operation:
    method: str
    path: str
    summary: str
    response: type[BaseModel] | None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()  # besides 400, 401, 403 which every operation can answer
    extra: dict[str, Any] = field(default_factory=dict)


_OPERATIONS: Final = (
    _Operation("get", "/metrics/current", "Latest hourly slot of all metrics", CurrentResponse),
    _Operation(
        "get",
        "/metrics/timeseries",
        "One metric over a range (≤ 1000 points, LTTB)",
        TimeseriesResponse,
        query=TimeseriesQuery,
    ),
    _Operation(
        "get",
        "/metrics/comparison",
        "Two periods of one metric and the % change of their averages",
        ComparisonResponse,
        query=ComparisonQuery,
    ),
    _Operation("get", "/metrics/status", "Collection status", StatusResponse),
    _Operation(
        "post",
        "/metrics/export",
        "Create a CSV or PDF export (≤ 90 days); download it from `download_url`",
        ExportResponse,
        body=ExportRequest,
        errors=(413, 503),
    ),
    _Operation(
        "get",
        "/exports/{export_id}",
        "Download an export until it expires",
        None,
        errors=(404,),
    ),
)


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: no title/description, no null branch, no null default."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "description")}
    if "anyOf" in schema:
        branches = [b for b in schema.pop("anyOf") if b.get("type") != "null"]
        if len(branches) == 1:
            schema.update(branches[0])
        else:
            schema["anyOf"] = branches
    if schema.get("default", "") is None:
        schema.pop("default")
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": prop.get("description", ""),
                "schema": _strip(prop),
            }
        )
    for alias, target in _ALIASES.items():
        if target in schema["properties"]:
            params.append(
                {
                    "name": alias,
                    "in": "query",
                    "required": False,
                    "description": f"Alias of `{target}` (`{target}` wins when both are given).",
                    "schema": _strip(schema["properties"][target]),
                }
            )
    return params


_ERROR_TEXT: Final = {
    400: "Invalid input: unknown metric or granularity, malformed or naive timestamp, "
    "end ≤ start, range outside retention, export over 90 days, 0 or > 6 metrics, bad format, "
    "a repeated parameter, `lang` other than ko/en.",
    401: "Missing or wrong token (`WWW-Authenticate: Bearer`).",
    403: "The token's or session's account is not an active administrator.",
    404: "Unknown or expired export.",
    413: "The export does not fit EXPORT_MAX_BYTES even reduced (EXPORT_TOO_LARGE), "
    "or the request body is too large.",
    503: "The export could not be generated (EXPORT_FAILED).",
}


def build_openapi(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of API v1, mounted at ``server_url`` (e.g. ``/api/v1``)."""
    _refs, defs = models_json_schema(
        [(model, "serialization") for model in _RESPONSE_MODELS] + [(ExportRequest, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    schemas = defs.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, str]:
        name = model.__name__
        if name not in schemas:  # pydantic suffixes names whose modes differ
            name = next(n for n in schemas if n.startswith(name + "-"))
        return {"$ref": f"#/components/schemas/{name}"}

    def json_response(description: str, model: type[BaseModel]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": ref(model)}}}

    lang = {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of `error` messages (default: DEFAULT_LANGUAGE).",
        "schema": {"type": "string", "enum": ["ko", "en"]},
    }
    paths: dict[str, Any] = {}
    for op in _OPERATIONS:
        parameters = [lang]
        if op.query is not None:
            parameters = _query_parameters(op.query) + parameters
        if "{export_id}" in op.path:
            parameters.insert(
                0,
                {
                    "name": "export_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                },
            )
        responses: dict[str, Any] = {}
        if op.response is not None:
            status = "201" if op.method == "post" else "200"
            responses[status] = json_response("Success", op.response)
        else:
            responses["200"] = {
                "description": "The file (`Content-Disposition: attachment`).",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        for code in (400, *op.errors, 401, 403):
            responses[str(code)] = json_response(_ERROR_TEXT[code], ApiError)
        operation: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.method + op.path.replace("/", "_").replace("{", "").replace("}", ""),
            "parameters": parameters,
            "responses": responses,
        }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Admin Metrics History API",
            "version": "1.0.0",
            "description": "System-wide metrics history of the LLM web app. Every operation "
            "needs an active administrator: `Authorization: Bearer <token>` "
            "(`admin-metrics create-token`) or a signed-in browser session. Errors are "
            "`{error, code}`; timestamps are ISO 8601 with offset (naive ones are refused).",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }

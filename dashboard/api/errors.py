"""REST API v1 error codes: the stable English ``code`` of each failure, its HTTP status and
the catalogue key of its Korean/English ``error`` message, and how a validation failure maps
onto them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError


@dataclass(frozen=True)
class ErrorInfo:
    status: int
    message_key: str


ERRORS: Final[dict[str, ErrorInfo]] = {
    "METRICS_MISSING_PARAMETER": ErrorInfo(400, "api.missing_parameter"),
    "METRICS_UNKNOWN_METRIC": ErrorInfo(400, "api.unknown_metric"),
    "METRICS_UNKNOWN_GRANULARITY": ErrorInfo(400, "api.unknown_granularity"),
    "METRICS_UNKNOWN_SOURCE": ErrorInfo(400, "api.unknown_source"),
    "METRICS_INVALID_LABEL": ErrorInfo(400, "api.invalid_label"),
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
    "ALERT_INVALID": ErrorInfo(400, "api.alert_invalid"),
    "ALERT_NOT_FOUND": ErrorInfo(404, "api.alert_not_found"),
    "ALERT_CONFLICT": ErrorInfo(409, "api.alert_conflict"),
    "REPORT_SEND_FAILED": ErrorInfo(503, "api.report_send_failed"),
    "EVENT_INVALID": ErrorInfo(400, "events.error.invalid"),
    "EVENT_NOT_FOUND": ErrorInfo(404, "events.error.not_found"),
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
        # A model-level check names its field itself (``ctx["field"]``).
        extra = {key: str(value) for key, value in error.get("ctx", {}).items()}
        return ApiProblem(kind, **{"field": name, **extra})
    if kind == "missing":
        return ApiProblem("METRICS_MISSING_PARAMETER", field=name)
    if kind in ("json_invalid", "model_type", "model_attributes_type", "dict_type"):
        return ApiProblem("EXPORT_INVALID_BODY", field=name)
    if name == "metric_types" and kind in ("too_short", "too_long"):
        return ApiProblem("EXPORT_INVALID_METRIC_COUNT", field=name)
    if name == "metric_types" and kind == "list_type":
        return ApiProblem("METRICS_INVALID_PARAMETER", field=name)
    return ApiProblem(_FIELD_CODES.get(name, "METRICS_INVALID_PARAMETER"), field=name)

"""The OpenAPI 3.1 document of API v1, generated from the request/response schemas, so the
document cannot drift from what the views accept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from alerts.rules import ChannelDraft, RuleDraft, RulePatch, ScheduleDraft
from dashboard.api.alert_schemas import (
    ChannelList,
    ChannelOut,
    HistoryQuery,
    HistoryResponse,
    RuleList,
    RuleOut,
    ScheduleList,
    ScheduleOut,
    SendResponse,
)
from dashboard.api.event_schemas import EventDraft, EventList, EventOut, EventPatch, EventsQuery
from dashboard.api.schemas import (
    ApiError,
    AuditPageResponse,
    AuditQuery,
    CatalogueResponse,
    ComparisonQuery,
    ComparisonResponse,
    CurrentResponse,
    ExportRequest,
    ExportResponse,
    ForecastQuery,
    ForecastResponse,
    StatusResponse,
    TimeseriesQuery,
    TimeseriesResponse,
)

_RESPONSE_MODELS: Final = (
    ApiError,
    CatalogueResponse,
    CurrentResponse,
    TimeseriesResponse,
    ComparisonResponse,
    ForecastResponse,
    StatusResponse,
    ExportResponse,
    RuleList,
    RuleOut,
    ChannelList,
    ChannelOut,
    HistoryResponse,
    ScheduleList,
    ScheduleOut,
    SendResponse,
    AuditPageResponse,
    EventList,
    EventOut,
)
_REQUEST_MODELS: Final = (
    ExportRequest,
    RuleDraft,
    RulePatch,
    ChannelDraft,
    ScheduleDraft,
    EventDraft,
    EventPatch,
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
    status: str | None = None  # default: 201 for POST, 200 otherwise
    # A file download instead of JSON: media type → schema.
    files: dict[str, Any] = field(default_factory=dict)


_OPERATIONS: Final = (
    _Operation(
        "get",
        "/metrics/catalogue",
        "The metrics: ids, names, units, kinds, daily rollup, sources and labels",
        CatalogueResponse,
    ),
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
    _Operation(
        "get",
        "/metrics/forecast",
        "One metric's trend ahead (Theil–Sen, 95 % band) and days until the capacity",
        ForecastResponse,
        query=ForecastQuery,
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
        "Download an export until it expires (only its creator can)",
        None,
        errors=(404,),
        files={
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    ),
    _Operation(
        "get",
        "/audit",
        "The audit log, newest first, one page (sign-ins, sessions, tokens, exports …)",
        AuditPageResponse,
        query=AuditQuery,
    ),
    _Operation(
        "get",
        "/audit.csv",
        "The audit log as CSV (UTF-8 with BOM; up to 100 000 events; same filters)",
        None,
        query=AuditQuery,
        files={"text/csv": {"schema": {"type": "string"}}},
    ),
    _Operation("get", "/alerts/rules", "Alert rules with their state", RuleList),
    _Operation(
        "post", "/alerts/rules", "Create an alert rule", RuleOut, body=RuleDraft, errors=(409,)
    ),
    _Operation("get", "/alerts/rules/{rule_id}", "One alert rule", RuleOut, errors=(404,)),
    _Operation(
        "patch",
        "/alerts/rules/{rule_id}",
        "Change fields of an alert rule (e.g. `enabled: false`)",
        RuleOut,
        body=RulePatch,
        errors=(404, 409),
        status="200",
    ),
    _Operation(
        "delete",
        "/alerts/rules/{rule_id}",
        "Delete an alert rule with its history",
        None,
        errors=(404,),
        status="204",
    ),
    _Operation("get", "/alerts/channels", "Alert channels (secrets never shown)", ChannelList),
    _Operation(
        "post",
        "/alerts/channels",
        "Create a channel: mail recipients or a JSON webhook",
        ChannelOut,
        body=ChannelDraft,
        errors=(409,),
    ),
    _Operation(
        "delete",
        "/alerts/channels/{channel_id}",
        "Delete a channel",
        None,
        errors=(404,),
        status="204",
    ),
    _Operation(
        "get",
        "/alerts/history",
        "Firings with every delivery and attempt; reports and test messages",
        HistoryResponse,
        query=HistoryQuery,
    ),
    _Operation("get", "/reports/schedules", "Scheduled reports", ScheduleList),
    _Operation(
        "post",
        "/reports/schedules",
        "Schedule a weekly or monthly report",
        ScheduleOut,
        body=ScheduleDraft,
        errors=(409,),
    ),
    _Operation(
        "delete",
        "/reports/schedules/{schedule_id}",
        "Delete a report schedule",
        None,
        errors=(404,),
        status="204",
    ),
    _Operation(
        "post",
        "/reports/schedules/{schedule_id}/send",
        "Build the report of the last complete period and mail it now",
        SendResponse,
        errors=(404, 503),
        status="200",
    ),
    _Operation(
        "get",
        "/events",
        "Events overlapping a range, by start: admins' and automatic ones (outages, alerts)",
        EventList,
        query=EventsQuery,
    ),
    _Operation("post", "/events", "Record an event", EventOut, body=EventDraft),
    _Operation("get", "/events/{event_id}", "One recorded event", EventOut, errors=(404,)),
    _Operation(
        "patch",
        "/events/{event_id}",
        "Change fields of a recorded event",
        EventOut,
        body=EventPatch,
        errors=(404,),
        status="200",
    ),
    _Operation(
        "delete",
        "/events/{event_id}",
        "Delete a recorded event",
        None,
        errors=(404,),
        status="204",
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
    "forecast horizon outside 1–365 days, a repeated parameter, `lang` other than ko/en, an "
    "invalid event (EVENT_INVALID).",
    401: "Missing or wrong token (`WWW-Authenticate: Bearer`).",
    403: "The token's or session's account is not an active administrator.",
    404: "Unknown or expired export (or another administrator's), "
    "or no rule, channel, schedule or event with that id.",
    409: "A rule, channel or schedule of that name exists (ALERT_CONFLICT).",
    413: "The export does not fit EXPORT_MAX_BYTES even reduced (EXPORT_TOO_LARGE), "
    "or the request body is too large.",
    503: "The export could not be generated (EXPORT_FAILED) or the report could not be "
    "mailed (REPORT_SEND_FAILED, e.g. no mail relay configured).",
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    """``{export_id}`` is a UUID; the alert resources' ids are positive 32-bit integers."""
    params = []
    for name in re.findall(r"{(\w+)}", path):
        schema: dict[str, Any] = (
            {"type": "string", "format": "uuid"}
            if name == "export_id"
            else {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def build_openapi(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of API v1, mounted at ``server_url`` (e.g. ``/api/v1``)."""
    _refs, defs = models_json_schema(
        [(model, "serialization") for model in _RESPONSE_MODELS]
        + [(model, "validation") for model in _REQUEST_MODELS],
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
        parameters = _path_parameters(op.path) + parameters
        responses: dict[str, Any] = {}
        if op.response is not None:
            status = op.status or ("201" if op.method == "post" else "200")
            responses[status] = json_response("Success", op.response)
        elif op.status == "204":
            responses["204"] = {"description": "Done (no content)."}
        else:
            responses["200"] = {
                "description": "The file (`Content-Disposition: attachment`).",
                "content": op.files,
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

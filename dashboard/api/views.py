"""REST API v1 (SPEC §6): a Flask blueprint at ``{URL_PREFIX}api/v1`` on the Dash server.

Thin views: validate with ``dashboard.api.schemas`` → one ``db`` query function → JSON.
Authentication is the app-wide guard (``dashboard.auth``): a bearer token or a signed-in
session of an active admin; 401 with ``WWW-Authenticate: Bearer`` / 403 otherwise.
Every failure is JSON ``{error, code}``; no input produces a 500.
"""

from __future__ import annotations

import logging
import string
from datetime import UTC, datetime
from functools import lru_cache
from io import BytesIO
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd
from flask import Blueprint, Flask, Response, jsonify, request, send_file
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from analytics.forecast import MIN_DAYS, Forecast, expected_at, forecast_series
from dashboard.api.alert_views import add_alert_routes
from dashboard.api.errors import ERRORS, ApiProblem, problem_from_validation
from dashboard.api.event_views import add_event_routes
from dashboard.api.openapi import build_openapi
from dashboard.api.schemas import (
    AuditQuery,
    ComparisonQuery,
    ExportRequest,
    ForecastQuery,
    TimeseriesQuery,
    ValidationSettings,
)
from dashboard.charts.series import MAX_POINTS, lttb
from dashboard.charts.summaries import summarize
from dashboard.context import AppContext, get_context, record_audit, request_language
from dashboard.i18n import LANGUAGES, t
from dashboard.reports.audit_csv import audit_csv
from dashboard.reports.export_service import create_export
from dashboard.reports.insights import load_daily
from dashboard.reports.types import (
    MEDIA_TYPES,
    ExportError,
    ExportSpec,
    ExportTooLarge,
    InvalidExportSpec,
    export_zone,
)
from db import audit
from db.catalogue import NO_LABEL, CatalogueMetric
from db.exports import get_export
from db.metrics import DEFAULT_SOURCE
from db.queries import SeriesArrays, latest_values, series_arrays, series_seen
from db.status import collection_status

log = logging.getLogger(__name__)

API_PATH: Final = "api/v1"

bp = Blueprint("api", __name__)
# The alert, report and event resources share this blueprint's error handling and guard.
add_alert_routes(bp)
add_event_routes(bp)

Q = TypeVar("Q", bound=BaseModel)


def register_api(server: Flask, ctx: AppContext) -> None:
    """Mount the API under the URL prefix and answer unknown API paths with JSON."""
    server.register_blueprint(bp, url_prefix=ctx.url(API_PATH))
    # Routing failures (unknown path, wrong method) never reach a blueprint's handlers.
    server.before_request(_routing_error_as_json)


# --- responses ----------------------------------------------------------------------------
class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def error_response(problem: ApiProblem) -> Response:
    message = t(ERRORS[problem.code].message_key, request_language())
    body = {
        "error": string.Formatter().vformat(message, (), _Blank(problem.params)),
        "code": problem.code,
    }
    response = jsonify(body)
    response.status_code = problem.status
    response.headers["Cache-Control"] = "no-store"
    return response


def _iso(value: datetime) -> str:
    """ISO 8601 UTC in whole seconds (slots and period bounds are whole seconds)."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


@lru_cache(maxsize=8192)
def _iso_second(epoch_seconds: int) -> str:
    """A whole-second instant as ISO 8601 UTC: the slots repeat from one call to the next
    (every caller of the same hours), so each is formatted once, not once per point."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def _points(series: SeriesArrays) -> list[dict[str, Any]]:
    """``[{timestamp, value}]`` with ISO 8601 UTC timestamps (whole seconds when possible)."""
    if not len(series.values):
        return []
    nanoseconds = series.stamps.view(np.int64)
    if (nanoseconds % 1_000_000_000).any():
        texts = [t + "+00:00" for t in np.datetime_as_string(series.stamps, unit="us").tolist()]
    else:
        texts = [_iso_second(s) for s in (nanoseconds // 1_000_000_000).tolist()]
    return [
        {"timestamp": text, "value": value}
        for text, value in zip(texts, series.values.tolist(), strict=True)
    ]


def _series(series: SeriesArrays) -> dict[str, Any]:
    """The points (LTTB-reduced above ``MAX_POINTS``) and how many there were."""
    total = len(series.values)
    if total > MAX_POINTS:
        series = SeriesArrays.of(lttb(series.frame()))
    return {
        "data": _points(series),
        "total_points": total,
        "downsampled": len(series.values) < total,
    }


def _metric(ctx: AppContext, metric_type: str) -> CatalogueMetric:
    """The catalogue entry of a validated query's metric."""
    metric = ctx.catalogue.get(metric_type)
    if metric is None:  # validation checked it against the same catalogue
        raise ApiProblem("METRICS_UNKNOWN_METRIC", field=metric_type)
    return metric


def _validation_settings(ctx: AppContext) -> ValidationSettings:
    return ValidationSettings.of(ctx.settings, datetime.now(UTC), ctx.catalogue)


def _query(model: type[Q], ctx: AppContext) -> Q:
    try:
        return model.model_validate(request.args.to_dict(), context=_validation_settings(ctx))
    except ValidationError as exc:
        raise problem_from_validation(exc) from None


# --- hooks and error handlers ---------------------------------------------------------------
def _routing_error_as_json() -> Response | None:
    base = get_context().url(API_PATH)
    exc = request.routing_exception
    if exc is None or not (request.path == base or request.path.startswith(base + "/")):
        return None
    if isinstance(exc, MethodNotAllowed):
        response = error_response(ApiProblem("API_METHOD_NOT_ALLOWED"))
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
        return response
    if isinstance(exc, NotFound):
        return error_response(ApiProblem("API_NOT_FOUND"))
    return None


@bp.before_request
def _plain_query() -> None:
    """Each parameter at most once (no silent pick of one value); ``lang`` is ko or en."""
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ApiProblem("METRICS_INVALID_PARAMETER", field=name)
    if request.args.get("lang", LANGUAGES[0]) not in LANGUAGES:
        raise ApiProblem("METRICS_INVALID_PARAMETER", field="lang")


@bp.after_request
def _finish(response: Response) -> Response:
    # Compression (brotli or gzip, with ``Vary``) is the app's, ``dashboard/wire.py``.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    return error_response(problem)


_HTTP_CODES: Final = {
    400: "API_BAD_REQUEST",
    404: "API_NOT_FOUND",
    405: "API_METHOD_NOT_ALLOWED",
    413: "API_REQUEST_TOO_LARGE",
}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    response = error_response(ApiProblem(_HTTP_CODES.get(exc.code or 400, "API_BAD_REQUEST")))
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
    return response


@bp.errorhandler(OperationalError)
def _store_down(exc: OperationalError) -> Response:
    log.error("API %s %s: store unavailable: %s", request.method, request.path, exc.orig)
    return error_response(ApiProblem("STORE_UNAVAILABLE"))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("API %s %s failed", request.method, request.path)
    return error_response(ApiProblem("API_INTERNAL_ERROR"))


# --- views --------------------------------------------------------------------------------
@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(_openapi_document(get_context().url(API_PATH)))


@lru_cache(maxsize=4)
def _openapi_document(server_url: str) -> dict[str, Any]:
    return build_openapi(server_url)


@bp.get("/metrics/catalogue")
def catalogue() -> Response:
    """The metrics this instance keeps: the six and METRICS_CATALOGUE_FILE's, with the
    sources and labels the store holds for them."""
    ctx = get_context()
    with ctx.session() as session:
        seen = series_seen(session)
    metrics = []
    for m in ctx.catalogue.metrics:
        held = seen.get(m.id, {})
        metrics.append(
            {
                "id": m.id,
                "name": {"ko": m.name_ko, "en": m.name_en},
                "unit": {"ko": m.unit_ko, "en": m.unit_en},
                "unit_kind": m.unit_kind,
                "kind": m.kind,
                "daily_rollup": m.rollup,
                "builtin": m.builtin,
                "labelled": m.labelled,
                "sources": sorted({DEFAULT_SOURCE, *held}),
                "labels": sorted({label for labels in held.values() for label in labels if label}),
            }
        )
    sources = [
        {"id": s.name, "name": {"ko": s.name_ko, "en": s.name_en}} for s in ctx.catalogue.sources
    ]
    return jsonify({"metrics": metrics, "sources": sources})


@bp.get("/metrics/current")
def current() -> Response:
    with get_context().session() as session:
        latest = latest_values(session)
    return jsonify(
        {
            "timestamp": _iso(latest["timestamp"].iloc[0]) if len(latest) else None,
            "metrics": dict(
                zip(latest["metric_type"].tolist(), latest["value"].tolist(), strict=True)
            ),
        }
    )


@bp.get("/metrics/timeseries")
def timeseries_view() -> Response:
    ctx = get_context()
    query = _query(TimeseriesQuery, ctx)
    series = series_arrays(
        ctx.read_connection(),
        _metric(ctx, query.metric_type),
        query.granularity,
        query.start,
        query.end,
        source=query.source,
        label=query.label or NO_LABEL,
    )
    return jsonify(
        {
            "metric_type": query.metric_type,
            "source": query.source,
            "label": query.label,
            "granularity": query.granularity,
            "start_date": _iso(query.start),
            "end_date": _iso(query.end),
            **_series(series),
        }
    )


@bp.get("/metrics/comparison")
def comparison() -> Response:
    ctx = get_context()
    query = _query(ComparisonQuery, ctx)
    metric = _metric(ctx, query.metric_type)
    periods: list[dict[str, Any]] = []
    frames: list[pd.DataFrame] = []
    with ctx.session() as session:
        for number in (1, 2):
            label, start, end = query.period(number)
            df = series_arrays(
                session,
                metric,
                query.granularity,
                start,
                end,
                source=query.source,
                label=query.label or NO_LABEL,
            ).frame()
            frames.append(df)
            # The cards' and the PDF's numbers (``summarize``), for each period on its own.
            own = summarize(df, metric_type=query.metric_type)
            periods.append(
                {
                    "label": label,
                    "start_date": _iso(start),
                    "end_date": _iso(end),
                    "average": own.average,
                    "minimum": _int_or_none(own.minimum),
                    "maximum": _int_or_none(own.maximum),
                    "latest": _int_or_none(own.latest),
                    **_series(SeriesArrays.of(df)),
                }
            )
    both = summarize(frames[0], metric_type=query.metric_type, compare_df=frames[1])
    return jsonify(
        {
            "metric_type": query.metric_type,
            "source": query.source,
            "label": query.label,
            "granularity": query.granularity,
            "period1": periods[0],
            "period2": periods[1],
            "change_percentage": both.compare_percent,
        }
    )


@bp.get("/metrics/forecast")
def forecast_view() -> Response:
    ctx = get_context()
    query = _query(ForecastQuery, ctx)
    horizon = query.horizon_days or ctx.settings.forecast_horizon_days
    capacity = ctx.settings.storage_capacity_bytes if query.metric_type == "storage_bytes" else None
    now = datetime.now(UTC)
    with ctx.session() as session:
        daily = load_daily(session, query.metric_type, now=now, tz=ctx.settings.business_zone)
    forecast = forecast_series(daily, horizon_days=horizon, capacity=capacity, now=now)
    latest = None
    if len(daily):
        last = daily.iloc[-1]
        latest = {"timestamp": _iso_stamp(last["timestamp"]), "value": float(last["value"])}
    body: dict[str, Any] = {
        "metric_type": query.metric_type,
        "horizon_days": horizon,
        "capacity": capacity,
        "days_to_capacity": None,
        "reach_at": None,
        "slope_per_day": None,
        "points": len(daily),
        "latest": latest,
        "trend": [],
        "message": f"not enough history: {MIN_DAYS} days of data are needed, "
        f"{len(daily)} are stored",
    }
    if forecast is not None:
        body.update(
            days_to_capacity=_rounded(forecast.days_to_capacity),
            reach_at=_iso_stamp(forecast.reach_at) if forecast.reach_at is not None else None,
            slope_per_day=forecast.slope_per_day,
            points=forecast.points,
            trend=[
                {"timestamp": _iso_stamp(stamp), "expected": exp, "lower": low, "upper": up}
                for stamp, exp, low, up in zip(
                    forecast.timestamps,
                    forecast.expected.tolist(),
                    forecast.lower.tolist(),
                    forecast.upper.tolist(),
                    strict=True,
                )
            ],
            message=_forecast_sentence(forecast, horizon),
        )
    return jsonify(body)


def _iso_stamp(stamp: pd.Timestamp) -> str:
    """``_iso`` of a pandas timestamp, which may carry nanoseconds (a reach day is fractional)."""
    return _iso(pd.Timestamp(stamp).floor("s").to_pydatetime())


def _rounded(days: float | None) -> float | None:
    return None if days is None else round(days, 2)


def _forecast_sentence(forecast: Forecast, horizon: int) -> str:
    """The card's sentence for scripts, in plain English and the metric's own unit."""
    if forecast.capacity is None:
        expected = expected_at(forecast, horizon)
        return f"at the current trend the value in {horizon} days is about {expected:,.0f}"
    if forecast.days_to_capacity is None:
        return f"at the current trend the capacity of {forecast.capacity:,.0f} is not reached"
    if forecast.days_to_capacity == 0:
        return f"the capacity of {forecast.capacity:,.0f} is reached"
    return (
        f"at the current trend the capacity of {forecast.capacity:,.0f} is reached "
        f"in about {forecast.days_to_capacity:.0f} days"
    )


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


@bp.get("/metrics/status")
def status() -> Response:
    ctx = get_context()
    with ctx.session() as session:
        result = collection_status(
            session,
            collection_enabled=ctx.settings.metrics_collection_enabled,
            is_collecting=ctx.scheduler is not None and ctx.scheduler.is_collecting,
            sources=ctx.catalogue.source_names,
        )
    return jsonify(result.to_json())


@bp.post("/metrics/export")
def export() -> tuple[Response, int, dict[str, str]]:
    ctx = get_context()
    if not request.is_json:  # also keeps cross-site form posts out (session cookies)
        raise ApiProblem("EXPORT_INVALID_BODY")
    try:
        body = ExportRequest.model_validate_json(
            request.get_data(), context=_validation_settings(ctx)
        )
    except ValidationError as exc:
        raise problem_from_validation(exc) from None
    try:
        chosen = [ctx.catalogue.get(m) for m in body.unique_metric_types]
        spec = ExportSpec(
            metric_types=tuple(m.id for m in chosen if m is not None and m.builtin),
            extras=tuple(m for m in chosen if m is not None and not m.builtin),
            source=body.source,
            start=body.start_date,
            end=body.end_date,
            granularity=body.granularity,
            fmt=body.format,
            # One default for the API and the CLI: DEFAULT_TIMEZONE (daily: the business days).
            tz=export_zone(
                body.granularity,
                body.timezone or ctx.settings.default_timezone,
                ctx.settings.business_zone,
            ),
            lang=request_language(),
        )
        row = create_export(
            ctx.sessions,
            spec,
            max_bytes=ctx.settings.export_max_bytes,
            ttl_seconds=ctx.settings.export_ttl_seconds,
            renderer=ctx.get_chart_renderer,
            user_id=getattr(current_user, "id", None),
            insights=ctx.insight_options,
        )
        with ctx.session() as session:
            record_audit(
                session, audit.EXPORT_CREATED, details={**spec.describe(), "export": row.id}
            )
    except InvalidExportSpec as exc:
        log.info("Export request refused: %s", exc)
        raise ApiProblem("METRICS_INVALID_PARAMETER") from None
    except ExportTooLarge as exc:
        log.warning("Export too large: %s", exc)
        raise ApiProblem("EXPORT_TOO_LARGE") from None
    except ExportError as exc:
        log.error("Export failed: %s", exc)
        raise ApiProblem("EXPORT_FAILED") from None
    url = ctx.url(f"{API_PATH}/exports/{row.id}")
    payload = {
        "download_url": url,
        "file_size_bytes": row.size_bytes,
        "expires_at": _iso(row.expires_at),
        "downsampled": bool(row.downsampled),
    }
    return jsonify(payload), 201, {"Location": url}


@bp.get("/exports/<export_id>")
def download(export_id: str) -> Response:
    with get_context().session() as session:
        # Only its creator may download a file: another admin gets the same 404.
        row = get_export(session, export_id, owner_id=current_user.id)
        if row is None:
            raise ApiProblem("EXPORT_NOT_FOUND")
        content, fmt, filename = row.content, row.format, row.filename
        record_audit(
            session,
            audit.EXPORT_DOWNLOADED,
            details={"export": export_id, "format": fmt, "file": filename},
        )
    return send_file(
        BytesIO(content),
        mimetype=MEDIA_TYPES.get(fmt, "application/octet-stream"),
        as_attachment=True,
        download_name=filename,
        conditional=False,
        etag=False,
        max_age=0,
    )


# --- the audit log ----------------------------------------------------------------------------
# A CSV holds at most this many events (newest first); narrow the window for more.
MAX_CSV_EVENTS: Final = 100_000


@bp.get("/audit")
def audit_events() -> Response:
    """One page of the audit log, newest first (``limit``/``offset``; ``next_offset``)."""
    ctx = get_context()
    query = _query(AuditQuery, ctx)
    with ctx.session() as session:
        events = audit.list_events(session, query.filter, limit=query.limit, offset=query.offset)
        total = audit.count_events(session, query.filter)
    end = query.offset + len(events)
    return jsonify(
        {
            "events": [event.to_json() for event in events],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
            "next_offset": end if end < total else None,
        }
    )


@bp.get("/audit.csv")
def audit_events_csv() -> Response:
    """Every matching event (up to ``MAX_CSV_EVENTS``) as a CSV download."""
    ctx = get_context()
    query = _query(AuditQuery, ctx)
    events: list[audit.AuditRecord] = []
    with ctx.session() as session:
        while len(events) < MAX_CSV_EVENTS:
            page = audit.list_events(
                session, query.filter, limit=audit.MAX_PAGE, offset=len(events)
            )
            events += page
            if len(page) < audit.MAX_PAGE:
                break
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return send_file(
        BytesIO(audit_csv(events[:MAX_CSV_EVENTS])),
        mimetype="text/csv; charset=utf-8",
        as_attachment=True,
        download_name=f"audit-{stamp}.csv",
        conditional=False,
        etag=False,
        max_age=0,
    )

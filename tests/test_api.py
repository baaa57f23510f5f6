"""REST API v1 on a real PostgreSQL store with known rows: values, aliases, comparison,
status, exports, access (401/403), validation codes, headers, OpenAPI conformance."""

from __future__ import annotations

import gzip
import types
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel

from dashboard.api import views as api_views
from dashboard.api.schemas import (
    ApiError,
    CatalogueResponse,
    ComparisonResponse,
    CurrentResponse,
    ExportResponse,
    MetricId,
    StatusResponse,
    TimeseriesResponse,
    parse_timestamp,
)
from dashboard.context import get_context
from dashboard.reports.types import ExportError, ExportTooLarge
from db.accounts import create_api_token
from db.engine import session_scope
from db.exports import save_export
from db.metrics import METRIC_IDS
from db.models import AdminUser, MetricCollectionFailure, MetricSnapshot
from db.periods import preset_window
from tests.support import stored_token


@pytest.fixture
def store_url(pg_url: str) -> str:
    """The API tests run on PostgreSQL (the conftest's ``app`` uses this store)."""
    return pg_url


NOW = datetime.now(UTC)
TOP = NOW.replace(minute=0, second=0, microsecond=0)
MIDNIGHT = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
HOURS = 48
DAYS = 10


def hourly_value(metric_index: int, hours_ago: int) -> int:
    return 1000 * (metric_index + 1) + (HOURS - hours_ago)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def add_rows(app: Flask, rows: list[MetricSnapshot | MetricCollectionFailure]) -> None:
    with get_context(app).session() as session:
        session.add_all(rows)


def known_rows() -> list[MetricSnapshot | MetricCollectionFailure]:
    rows: list[MetricSnapshot | MetricCollectionFailure] = []
    for index, metric in enumerate(METRIC_IDS):
        for hours_ago in range(HOURS):
            rows.append(
                MetricSnapshot(
                    metric_type=metric,
                    granularity="hourly",
                    collected_at=TOP - timedelta(hours=hours_ago),
                    value=hourly_value(index, hours_ago),
                )
            )
        for days_ago in range(1, DAYS + 1):
            rows.append(
                MetricSnapshot(
                    metric_type=metric,
                    granularity="daily",
                    collected_at=MIDNIGHT - timedelta(days=days_ago),
                    value=10 * days_ago,
                )
            )
    return rows


@pytest.fixture
def stored(app: Flask) -> Flask:
    add_rows(app, known_rows())
    return app


@pytest.fixture
def token(app: Flask) -> str:
    with get_context(app).session() as session:
        return create_api_token(session, "tests", "admin")


@pytest.fixture
def api(anon_client: FlaskClient, token: str) -> Callable[..., Any]:
    """``api(path, **query)`` → response, with the admin's bearer token."""

    def call(path: str, method: str = "GET", json: Any = None, **query: str) -> Any:
        return anon_client.open(
            "/api/v1" + path,
            method=method,
            query_string=query,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
        )

    return call


@pytest.fixture(scope="module")
def readonly(
    pg_admin_url: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    """One app for the many validation cases (they only read): ``(client, auth headers)``."""
    from admin_metrics.settings import Settings
    from dashboard.app import create_app
    from tests.support import admin_exec, create_user, pg_url_for

    name = f"amh_api_{uuid.uuid4().hex[:10]}"
    admin_exec(pg_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = pg_url_for(pg_admin_url, name)
    create_user(url, "admin")
    flask_app = create_app(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            secret_key="test-secret-key-0123456789abcdef",
            metrics_collection_enabled=False,
            data_dir=tmp_path_factory.mktemp("readonly") / "var",
        )
    )
    with get_context(flask_app).session() as session:
        token = create_api_token(session, "readonly", "admin")
    yield flask_app.test_client(), {"Authorization": f"Bearer {token}"}
    get_context(flask_app).engine.dispose()
    admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def conforms(model: type[BaseModel], response: Any) -> dict[str, Any]:
    """The JSON body, after checking it against the documented response model."""
    body = response.get_json()
    model.model_validate(body)
    return body  # type: ignore[no-any-return]


# --- endpoints return the stored values -----------------------------------------------------
def test_current_returns_the_latest_slot(stored: Flask, api: Callable[..., Any]) -> None:
    response = api("/metrics/current")
    assert response.status_code == 200
    body = conforms(CurrentResponse, response)
    assert body["timestamp"] == iso(TOP)
    assert body["metrics"] == {m: hourly_value(i, 0) for i, m in enumerate(METRIC_IDS)}


def test_catalogue_lists_the_metrics_every_endpoint_takes(api: Callable[..., Any]) -> None:
    body = conforms(CatalogueResponse, api("/metrics/catalogue"))
    assert [m["id"] for m in body["metrics"]] == list(METRIC_IDS)
    storage = body["metrics"][METRIC_IDS.index("storage_bytes")]
    assert storage["unit_kind"] == "bytes" and storage["name"] == {
        "ko": "저장 공간",
        "en": "Storage",
    }
    assert {m["unit_kind"] for m in body["metrics"]} == {"bytes", "count"}
    assert all(m["sources"] == ["default"] and m["labels"] == [] for m in body["metrics"])
    for metric in body["metrics"]:  # each id is a metric_type the series endpoint takes
        assert api("/metrics/timeseries", metric_type=metric["id"]).status_code == 200


def test_current_on_an_empty_store(api: Callable[..., Any]) -> None:
    body = conforms(CurrentResponse, api("/metrics/current"))
    assert body == {"timestamp": None, "metrics": {}}


def test_timeseries_returns_stored_rows_exactly(stored: Flask, api: Callable[..., Any]) -> None:
    # Half-open [start, end) (issue 13): the end is the slot after the last one wanted.
    start, end = TOP - timedelta(hours=23), TOP + timedelta(hours=1)
    response = api(
        "/metrics/timeseries",
        metric_type="active_sessions",
        granularity="hourly",
        start_date=iso(start),
        end_date=iso(end),
    )
    assert response.status_code == 200
    body = conforms(TimeseriesResponse, response)
    index = METRIC_IDS.index("active_sessions")
    assert body["data"] == [
        {"timestamp": iso(TOP - timedelta(hours=h)), "value": hourly_value(index, h)}
        for h in range(23, -1, -1)
    ]
    assert body["total_points"] == 24
    assert body["downsampled"] is False
    assert (body["start_date"], body["end_date"]) == (iso(start), iso(end))
    assert body["metric_type"] == "active_sessions"
    assert body["granularity"] == "hourly"


def test_timeseries_accepts_start_time_and_end_time(stored: Flask, api: Callable[..., Any]) -> None:
    params = {"metric_type": "tag_count", "granularity": "daily"}
    start, end = iso(MIDNIGHT - timedelta(days=5)), iso(MIDNIGHT - timedelta(days=1))
    by_name = api("/metrics/timeseries", start_date=start, end_date=end, **params).get_json()
    by_alias = api("/metrics/timeseries", start_time=start, end_time=end, **params).get_json()
    assert by_alias == by_name
    assert [p["value"] for p in by_alias["data"]] == [50, 40, 30, 20]


def test_timeseries_offsets_are_converted_to_utc(stored: Flask, api: Callable[..., Any]) -> None:
    seoul = (TOP - timedelta(hours=2)).astimezone(ZoneInfo("Asia/Seoul"))
    body = api(
        "/metrics/timeseries", metric_type="active_users", start_date=seoul.isoformat()
    ).get_json()
    assert body["start_date"] == iso(TOP - timedelta(hours=2))
    assert [p["timestamp"] for p in body["data"]][0] == iso(TOP - timedelta(hours=2))


def test_timeseries_defaults_to_the_last_seven_days(stored: Flask, api: Callable[..., Any]) -> None:
    body = api("/metrics/timeseries", metric_type="document_count").get_json()
    assert body["granularity"] == "hourly"
    end = datetime.fromisoformat(body["end_date"])
    assert end - datetime.fromisoformat(body["start_date"]) == timedelta(days=7)
    # The page's "7 days": 168 slots ending with the current one (db.periods).
    assert end == preset_window("7", "hourly", now=datetime.now(UTC), zone="Asia/Seoul").end
    assert body["total_points"] == HOURS


def test_long_series_are_reduced_to_1000_points(
    app: Flask, make_settings: Callable[..., Any], store_url: str, token: str
) -> None:
    from dashboard.app import create_app

    rows = [
        MetricSnapshot(
            metric_type="storage_bytes",
            granularity="hourly",
            collected_at=TOP - timedelta(hours=h),
            value=h * 7 % 1000,
        )
        for h in range(1500)
    ]
    add_rows(app, rows)
    wide = create_app(make_settings(database_url=store_url, metrics_hourly_retention_days=90))
    try:
        response = wide.test_client().get(
            "/api/v1/metrics/timeseries",
            query_string={
                "metric_type": "storage_bytes",
                "start_date": iso(TOP - timedelta(days=80)),
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        get_context(wide).engine.dispose()
    body = conforms(TimeseriesResponse, response)
    assert body["total_points"] == 1500
    assert body["downsampled"] is True
    assert len(body["data"]) == 1000
    # LTTB keeps the first and last stored points and only stored points.
    assert body["data"][0] == {
        "timestamp": iso(TOP - timedelta(hours=1499)),
        "value": 1499 * 7 % 1000,
    }
    assert body["data"][-1] == {"timestamp": iso(TOP), "value": 0}
    stored_values = {iso(TOP - timedelta(hours=h)): h * 7 % 1000 for h in range(1500)}
    assert all(stored_values[p["timestamp"]] == p["value"] for p in body["data"])


# --- comparison -------------------------------------------------------------------------------
def _daily_comparison(api: Callable[..., Any], **extra: str) -> Any:
    return api(
        "/metrics/comparison",
        metric_type="conversation_count",
        granularity="daily",
        period1_start=iso(MIDNIGHT - timedelta(days=3)),
        period1_end=iso(MIDNIGHT),  # half-open: days 3, 2, 1
        period2_start=iso(MIDNIGHT - timedelta(days=6)),
        period2_end=iso(MIDNIGHT - timedelta(days=3)),
        **extra,
    )


def test_comparison_percentage_from_period_averages(stored: Flask, api: Callable[..., Any]) -> None:
    response = _daily_comparison(api)
    assert response.status_code == 200
    body = conforms(ComparisonResponse, response)
    # period 1: days 3,2,1 → 30,20,10 (avg 20); period 2: days 6,5,4 → 60,50,40 (avg 50).
    assert [p["value"] for p in body["period1"]["data"]] == [30, 20, 10]
    assert [p["value"] for p in body["period2"]["data"]] == [60, 50, 40]
    assert body["period1"]["average"] == 20.0
    assert body["period2"]["average"] == 50.0
    assert body["change_percentage"] == pytest.approx(-60.0)
    assert (body["period1"]["label"], body["period2"]["label"]) == ("이번 주", "지난 주")
    custom = _daily_comparison(api, period1_label="11월", period2_label="10월").get_json()
    assert (custom["period1"]["label"], custom["period2"]["label"]) == ("11월", "10월")


def test_comparison_is_null_when_the_second_period_is_empty_or_zero(
    stored: Flask, api: Callable[..., Any]
) -> None:
    empty = api(
        "/metrics/comparison",
        metric_type="tag_count",
        granularity="daily",
        period1_start=iso(MIDNIGHT - timedelta(days=3)),
        period1_end=iso(MIDNIGHT),
        period2_start=iso(MIDNIGHT - timedelta(days=40)),
        period2_end=iso(MIDNIGHT - timedelta(days=30)),
    ).get_json()
    assert empty["period2"] == {**empty["period2"], "average": None, "total_points": 0, "data": []}
    assert empty["change_percentage"] is None
    add_rows(
        stored,
        [
            MetricSnapshot(
                metric_type="tag_count",
                granularity="daily",
                collected_at=MIDNIGHT - timedelta(days=d),
                value=0,
            )
            for d in (20, 21)
        ],
    )
    zero = api(
        "/metrics/comparison",
        metric_type="tag_count",
        granularity="daily",
        period1_start=iso(MIDNIGHT - timedelta(days=3)),
        period1_end=iso(MIDNIGHT),
        period2_start=iso(MIDNIGHT - timedelta(days=22)),
        period2_end=iso(MIDNIGHT - timedelta(days=19)),
    ).get_json()
    assert zero["period2"]["average"] == 0.0
    assert zero["change_percentage"] is None


def test_comparison_defaults_to_this_week_against_last_week(
    stored: Flask, api: Callable[..., Any]
) -> None:
    body = conforms(ComparisonResponse, api("/metrics/comparison", metric_type="active_users"))
    p1, p2 = body["period1"], body["period2"]
    assert p2["end_date"] == p1["start_date"]
    start1 = datetime.fromisoformat(p1["start_date"])
    assert datetime.fromisoformat(p1["end_date"]) - start1 == timedelta(days=7)
    assert start1 - datetime.fromisoformat(p2["start_date"]) == timedelta(days=7)
    assert p1["total_points"] == HOURS and p2["total_points"] == 0


# --- status -----------------------------------------------------------------------------------
def test_status_reports_collection_state(stored: Flask, api: Callable[..., Any]) -> None:
    add_rows(
        stored,
        [
            MetricCollectionFailure(
                metric_type="tag_count",
                granularity="hourly",
                attempted_at=NOW - timedelta(hours=2),
                error_message="원본 데이터베이스에 연결할 수 없습니다",
            ),
            MetricCollectionFailure(
                metric_type="tag_count",
                granularity="hourly",
                attempted_at=NOW - timedelta(hours=30),
                error_message="오래된 실패",
            ),
        ],
    )
    body = conforms(StatusResponse, api("/metrics/status"))
    assert body["last_collection_at"] == iso(TOP) == body["last_successful_slot"]
    assert body["failure_count_24h"] == 1
    assert body["failed_slots_24h"] == 1 and body["missed_slots_24h"] == 0
    assert body["latest_slot_succeeded"] is True
    assert body["recent_failures"] == [
        {
            "metric_type": "tag_count",
            "attempted_at": iso(NOW - timedelta(hours=2)),
            "error_message": "원본 데이터베이스에 연결할 수 없습니다",
        }
    ]
    assert body["status"] == "healthy"
    assert body["is_collecting"] is False
    # METRICS_COLLECTION_ENABLED=false (the test settings): no next collection.
    assert body["next_collection_at"] is None


def test_status_is_pending_before_the_first_collection_and_shows_collecting(
    app: Flask, api: Callable[..., Any]
) -> None:
    get_context(app).scheduler = types.SimpleNamespace(  # type: ignore[assignment]
        is_collecting=True, stop=lambda: None
    )
    body = api("/metrics/status").get_json()
    assert body["status"] == "pending"
    assert body["last_collection_at"] is None
    assert body["is_collecting"] is True


# --- access -----------------------------------------------------------------------------------
ENDPOINTS = (
    ("GET", "/metrics/current"),
    ("GET", "/metrics/timeseries?metric_type=active_users"),
    ("GET", "/metrics/comparison?metric_type=active_users"),
    ("GET", "/metrics/forecast?metric_type=storage_bytes"),
    ("GET", "/metrics/status"),
    ("POST", "/metrics/export"),
    ("GET", "/exports/00000000-0000-0000-0000-000000000000"),
    ("GET", "/openapi.json"),
    ("GET", "/audit"),
    ("GET", "/audit.csv"),
)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_and_wrong_tokens_get_401_with_bearer_challenge(
    anon_client: FlaskClient, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer amh_wrong"}, {"Authorization": "Basic eDp5"}):
        response = anon_client.open("/api/v1" + path, method=method, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert conforms(ApiError, response)["code"] == "AUTH_REQUIRED"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_token_of_a_non_admin_gets_403(
    app: Flask, anon_client: FlaskClient, method: str, path: str
) -> None:
    # (A non-admin cannot sign in at all, so a token is the only way to present one.)
    token = stored_token(app, "viewer")
    by_token = anon_client.open(
        "/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    assert by_token.status_code == 403
    assert by_token.get_json()["code"] == "AUTH_FORBIDDEN"


def test_signed_in_admin_session_works_without_token(
    stored: Flask, admin_client: FlaskClient
) -> None:
    response = admin_client.get("/api/v1/metrics/current")
    assert response.status_code == 200
    assert response.get_json()["timestamp"] == iso(TOP)


def test_token_of_disabled_admin_is_403(app: Flask, api: Callable[..., Any]) -> None:
    assert api("/metrics/current").status_code == 200
    with get_context(app).session() as session:
        session.query(AdminUser).filter_by(username="admin").one().is_active = False
    refused = api("/metrics/current")
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "AUTH_FORBIDDEN"


def test_token_dies_with_its_account(app: Flask, api: Callable[..., Any]) -> None:
    assert api("/metrics/status").status_code == 200
    with get_context(app).session() as session:
        session.delete(session.query(AdminUser).filter_by(username="admin").one())
    response = api("/metrics/status")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- validation -------------------------------------------------------------------------------
def _ago(**delta: float) -> str:
    return iso(NOW - timedelta(**delta))


TS = "/metrics/timeseries"
CMP = "/metrics/comparison"
VALIDATION_CASES: list[tuple[str, dict[str, str], str]] = [
    (TS, {}, "METRICS_MISSING_PARAMETER"),
    (TS, {"metric_type": "cpu_load"}, "METRICS_UNKNOWN_METRIC"),
    (TS, {"metric_type": "active_users", "granularity": "minutely"}, "METRICS_UNKNOWN_GRANULARITY"),
    (TS, {"metric_type": "active_users", "start_date": "yesterday"}, "METRICS_INVALID_DATE"),
    (
        TS,
        {"metric_type": "active_users", "start_date": "2025-13-01T00:00:00Z"},
        "METRICS_INVALID_DATE",
    ),
    (
        TS,
        {"metric_type": "active_users", "end_time": "2025-11-02T25:00:00Z"},
        "METRICS_INVALID_DATE",
    ),
    (
        TS,
        {"metric_type": "active_users", "start_date": "0001-01-01T00:00:00+05:00"},
        "METRICS_INVALID_DATE",
    ),
    (TS, {"metric_type": "active_users", "start_date": "1700000000"}, "METRICS_INVALID_DATE"),
    (
        TS,
        {"metric_type": "active_users", "start_date": _ago(days=1)[:19]},
        "METRICS_TIMEZONE_REQUIRED",
    ),
    (
        TS,
        {"metric_type": "active_users", "start_date": _ago(days=1)[:10]},
        "METRICS_TIMEZONE_REQUIRED",
    ),
    (
        TS,
        {"metric_type": "active_users", "start_date": _ago(hours=1), "end_date": _ago(hours=2)},
        "METRICS_INVALID_TIME_RANGE",
    ),
    (
        TS,
        {"metric_type": "active_users", "start_date": _ago(hours=1), "end_date": _ago(hours=1)},
        "METRICS_INVALID_TIME_RANGE",
    ),
    (
        TS,
        {"metric_type": "active_users", "start_date": _ago(days=40)},
        "METRICS_RANGE_OUTSIDE_RETENTION",
    ),
    (
        TS,
        {"metric_type": "active_users", "granularity": "daily", "start_date": _ago(days=100)},
        "METRICS_RANGE_OUTSIDE_RETENTION",
    ),
    (CMP, {}, "METRICS_MISSING_PARAMETER"),
    (CMP, {"metric_type": "users"}, "METRICS_UNKNOWN_METRIC"),
    (
        CMP,
        {"metric_type": "active_users", "period2_start": _ago(days=2), "period2_end": _ago(days=3)},
        "METRICS_INVALID_TIME_RANGE",
    ),
    (
        CMP,
        {"metric_type": "active_users", "period1_start": _ago(days=45)},
        "METRICS_RANGE_OUTSIDE_RETENTION",
    ),
    (CMP, {"metric_type": "active_users", "period1_label": "x" * 101}, "METRICS_INVALID_PARAMETER"),
]


@pytest.mark.parametrize(("path", "query", "code"), VALIDATION_CASES)
def test_bad_query_is_400_with_code(
    readonly: tuple[FlaskClient, dict[str, str]], path: str, query: dict[str, str], code: str
) -> None:
    client, auth = readonly
    response = client.get("/api/v1" + path, query_string=query, headers=auth)
    assert response.status_code == 400
    body = conforms(ApiError, response)
    assert body["code"] == code
    assert any("\uac00" <= ch <= "\ud7a3" for ch in body["error"]), "Korean message"


def _export_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metric_types": ["active_users", "tag_count"],
        "start_date": _ago(days=2),
        "end_date": _ago(hours=0),
        "granularity": "hourly",
        "format": "csv",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


EXPORT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"metric_types": []}, "EXPORT_INVALID_METRIC_COUNT"),
    ({"metric_types": list(METRIC_IDS) * 17}, "EXPORT_INVALID_METRIC_COUNT"),  # 102 > 100
    ({"metric_types": ["active_users", "gpu"]}, "METRICS_UNKNOWN_METRIC"),
    ({"metric_types": "active_users"}, "METRICS_INVALID_PARAMETER"),
    ({"format": "xlsx"}, "EXPORT_INVALID_FORMAT"),
    ({"format": None}, "METRICS_MISSING_PARAMETER"),
    ({"granularity": "weekly"}, "METRICS_UNKNOWN_GRANULARITY"),
    ({"start_date": "2025-11-02"}, "METRICS_TIMEZONE_REQUIRED"),
    ({"start_date": 1700000000}, "METRICS_INVALID_DATE"),
    ({"end_date": _ago(days=3)}, "METRICS_INVALID_TIME_RANGE"),
    (
        {"granularity": "daily", "start_date": _ago(days=91), "end_date": _ago(hours=0)},
        "EXPORT_RANGE_TOO_LONG",
    ),
    ({"start_date": _ago(days=35)}, "METRICS_RANGE_OUTSIDE_RETENTION"),
    ({"timezone": "Mars/Olympus"}, "METRICS_INVALID_PARAMETER"),
]


@pytest.mark.parametrize(("overrides", "code"), EXPORT_CASES)
def test_bad_export_request_is_400_with_code(
    readonly: tuple[FlaskClient, dict[str, str]], overrides: dict[str, Any], code: str
) -> None:
    client, auth = readonly
    response = client.post("/api/v1/metrics/export", json=_export_body(**overrides), headers=auth)
    assert response.status_code == 400
    assert conforms(ApiError, response)["code"] == code


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
        (b"metric_types=active_users", "application/x-www-form-urlencoded"),
        (b'{"metric_types": ["active_users"]}', "text/plain"),
    ],
)
def test_export_body_must_be_a_json_object(
    readonly: tuple[FlaskClient, dict[str, str]], data: bytes, content_type: str
) -> None:
    client, auth = readonly
    response = client.post(
        "/api/v1/metrics/export", data=data, content_type=content_type, headers=auth
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "EXPORT_INVALID_BODY"


def test_errors_speak_english_on_request(readonly: tuple[FlaskClient, dict[str, str]]) -> None:
    client, auth = readonly
    query = {"metric_type": "nope", "lang": "en"}
    body = client.get("/api/v1" + TS, query_string=query, headers=auth).get_json()
    assert body["code"] == "METRICS_UNKNOWN_METRIC"
    assert body["error"].startswith("Unknown metric")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-02T10:00:00Z", datetime(2025, 11, 2, 10, tzinfo=UTC)),
        ("2025-11-02t19:00:00+09:00", datetime(2025, 11, 2, 10, tzinfo=UTC)),
        ("2025-11-02T19:00:00 09:00", datetime(2025, 11, 2, 10, tzinfo=UTC)),  # unencoded "+"
        ("2025-11-02T10:00:00.1234567-00:00", datetime(2025, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offsets_parse_to_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_metric_id_type_matches_the_catalogue() -> None:
    assert MetricId.__args__ == METRIC_IDS  # type: ignore[attr-defined]


# --- exports ----------------------------------------------------------------------------------
class FakeExportService:
    """Stands in for ``create_export`` to test the API's wiring of the export service."""

    def __init__(self, outcome: str = "ok") -> None:
        self.outcome = outcome
        self.specs: list[Any] = []
        self.users: list[int | None] = []

    def create_export(
        self, sessions: Any, spec: Any, *, user_id: int | None, **_limits: Any
    ) -> Any:
        self.specs.append(spec)
        self.users.append(user_id)
        if self.outcome == "too-large":
            raise ExportTooLarge("12 MB even at 3 points per series")
        if self.outcome == "fail":
            raise ExportError("Chromium not found")
        with session_scope(sessions) as session:
            return save_export(
                session,
                content="\ufeff시각,활성 사용자 (명)\n".encode(),
                fmt=spec.fmt,
                filename="metrics_20251102_143052.csv",
                downsampled=True,
                ttl_seconds=3600,
                user_id=user_id,
            )


@pytest.fixture
def fake_exports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    def install(outcome: str) -> FakeExportService:
        fake = FakeExportService(outcome)
        monkeypatch.setattr(api_views, "create_export", fake.create_export)
        return fake

    yield install


def test_export_creates_a_file_to_download(
    app: Flask, api: Callable[..., Any], fake_exports: Callable[[str], Any]
) -> None:
    fake = fake_exports("ok")
    body = _export_body(metric_types=["tag_count", "active_users", "tag_count"], timezone="UTC")
    response = api("/metrics/export", method="POST", json=body)
    assert response.status_code == 201
    created = conforms(ExportResponse, response)
    assert response.headers["Location"] == created["download_url"]
    assert created["downsampled"] is True
    assert created["file_size_bytes"] == len("\ufeff시각,활성 사용자 (명)\n".encode())
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    (spec,) = fake.specs
    assert spec.metric_types == ("tag_count", "active_users")
    assert (spec.fmt, spec.granularity, spec.tz, spec.lang) == ("csv", "hourly", "UTC", "ko")
    assert spec.start == datetime.fromisoformat(body["start_date"])
    with get_context(app).session() as session:
        admin_id = session.query(AdminUser).filter_by(username="admin").one().id
    assert fake.users == [admin_id]

    assert created["download_url"].startswith("/api/v1/exports/")
    download = api(created["download_url"].removeprefix("/api/v1"))
    assert download.status_code == 200
    assert download.data == "\ufeff시각,활성 사용자 (명)\n".encode()
    assert download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=metrics_20251102_143052.csv"
    )
    assert download.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [("too-large", 413, "EXPORT_TOO_LARGE"), ("fail", 503, "EXPORT_FAILED")],
)
def test_export_failures_are_json_errors(
    api: Callable[..., Any],
    fake_exports: Callable[[str], Any],
    outcome: str,
    status: int,
    code: str,
) -> None:
    fake_exports(outcome)
    response = api("/metrics/export", method="POST", json=_export_body())
    assert response.status_code == status
    assert conforms(ApiError, response)["code"] == code


def test_expired_or_unknown_export_is_404(app: Flask, api: Callable[..., Any]) -> None:
    with get_context(app).session() as session:
        owner = session.query(AdminUser).filter_by(username="admin").one().id
        old = save_export(
            session,
            content=b"%PDF-1.4",
            fmt="pdf",
            filename="old.pdf",
            downsampled=False,
            ttl_seconds=3600,
            now=NOW - timedelta(hours=2),
            user_id=owner,
        )
        fresh = save_export(
            session,
            content=b"%PDF-1.4",
            fmt="pdf",
            filename="new.pdf",
            downsampled=False,
            ttl_seconds=3600,
            user_id=owner,
        )
        old_id, fresh_id = old.id, fresh.id
    ok = api(f"/exports/{fresh_id}")
    assert (ok.status_code, ok.mimetype) == (200, "application/pdf")
    for export_id in (old_id, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api(f"/exports/{export_id}")
        assert response.status_code == 404
        assert response.get_json()["code"] == "EXPORT_NOT_FOUND"


def test_real_csv_export_round_trip(stored: Flask, api: Callable[..., Any]) -> None:
    response = api(
        "/metrics/export",
        method="POST",
        json=_export_body(metric_types=["active_users"], start_date=_ago(hours=5)),
    )
    assert response.status_code == 201, response.get_json()
    download = api(response.get_json()["download_url"].removeprefix("/api/v1"))
    assert download.status_code == 200
    text = download.data.decode("utf-8-sig")
    assert str(hourly_value(0, 0)) in text
    assert "활성 사용자" in text


# --- headers, routing, documents -----------------------------------------------------------
def test_responses_are_not_cached_and_large_ones_are_gzipped(
    stored: Flask, api: Callable[..., Any], anon_client: FlaskClient, token: str
) -> None:
    small = api("/metrics/status")
    assert small.headers["Cache-Control"] == "no-store"
    assert "Content-Encoding" not in small.headers
    query = {"metric_type": "active_users", "start_date": _ago(days=3), "end_date": _ago(hours=0)}
    plain = anon_client.get(
        "/api/v1/metrics/timeseries",
        query_string=query,
        headers={"Authorization": f"Bearer {token}"},
    )
    zipped = anon_client.get(
        "/api/v1/metrics/timeseries",
        query_string=query,
        headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip, deflate"},
    )
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data)
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["Cache-Control"] == "no-store"


def test_unknown_path_and_method_are_json(api: Callable[..., Any]) -> None:
    missing = api("/metrics/nothing")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "API_NOT_FOUND"
    wrong = api("/metrics/current", method="DELETE")
    assert wrong.status_code == 405
    assert wrong.get_json()["code"] == "API_METHOD_NOT_ALLOWED"
    assert "GET" in wrong.headers["Allow"]
    get_export = api("/metrics/export")
    assert get_export.status_code == 405
    assert "POST" in get_export.headers["Allow"]


def test_openapi_describes_exactly_the_endpoints(api: Callable[..., Any]) -> None:
    response = api("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops} == {
        ("GET", "/metrics/catalogue"),
        ("GET", "/metrics/current"),
        ("GET", "/metrics/timeseries"),
        ("GET", "/metrics/comparison"),
        ("GET", "/metrics/status"),
        # The capacity forecast (issue 17).
        ("GET", "/metrics/forecast"),
        ("POST", "/metrics/export"),
        ("GET", "/exports/{export_id}"),
        ("GET", "/audit"),
        ("GET", "/audit.csv"),
        # Alerts and scheduled reports (issue 16).
        ("GET", "/alerts/rules"),
        ("POST", "/alerts/rules"),
        ("GET", "/alerts/rules/{rule_id}"),
        ("PATCH", "/alerts/rules/{rule_id}"),
        ("DELETE", "/alerts/rules/{rule_id}"),
        ("GET", "/alerts/channels"),
        ("POST", "/alerts/channels"),
        ("DELETE", "/alerts/channels/{channel_id}"),
        ("GET", "/alerts/history"),
        ("GET", "/reports/schedules"),
        ("POST", "/reports/schedules"),
        ("DELETE", "/reports/schedules/{schedule_id}"),
        ("POST", "/reports/schedules/{schedule_id}/send"),
        # Events on the graphs (issue 17).
        ("GET", "/events"),
        ("POST", "/events"),
        ("GET", "/events/{event_id}"),
        ("PATCH", "/events/{event_id}"),
        ("DELETE", "/events/{event_id}"),
    }
    params = {p["name"] for p in doc["paths"]["/metrics/timeseries"]["get"]["parameters"]}
    assert {
        "metric_type",
        "granularity",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
    } <= params
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for ops in doc["paths"].values():
        for op in ops.values():
            assert {"401", "403"} <= set(op["responses"])


def test_token_is_never_logged(
    stored: Flask, api: Callable[..., Any], token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    api("/metrics/current")
    api("/metrics/timeseries", metric_type="bogus")
    api("/metrics/export", method="POST", json={"metric_types": []})
    assert token not in caplog.text


@pytest.mark.parametrize(
    "query",
    [
        [("metric_type", "active_users"), ("metric_type", "tag_count")],
        [("metric_type", "active_users"), ("lang", "fr")],
        [("metric_type", "active_users"), ("lang", "en"), ("lang", "en")],
    ],
)
def test_repeated_parameters_and_unknown_language_are_refused(
    readonly: tuple[FlaskClient, dict[str, str]], query: list[tuple[str, str]]
) -> None:
    client, auth = readonly
    response = client.get("/api/v1/metrics/timeseries", query_string=query, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["code"] == "METRICS_INVALID_PARAMETER"


def test_oversized_body_is_a_json_413(anon_client: FlaskClient, token: str) -> None:
    response = anon_client.post(
        "/api/v1/metrics/export",
        data=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.get_json()["code"] == "API_REQUEST_TOO_LARGE"


def test_unexpected_failure_is_a_logged_json_500_not_a_page(
    app: Flask,
    api: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("query bug")

    monkeypatch.setattr(api_views, "latest_values", broken)
    response = api("/metrics/current")
    assert response.status_code == 500
    assert response.get_json()["code"] == "API_INTERNAL_ERROR"
    assert "API GET /api/v1/metrics/current failed" in caplog.text


def test_api_lives_under_the_url_prefix(
    app: Flask, make_settings: Callable[..., Any], store_url: str, token: str
) -> None:
    from dashboard.app import create_app

    portal = create_app(make_settings(database_url=store_url, url_prefix="/portal/metrics/"))
    try:
        client = portal.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        doc = client.get("/portal/metrics/api/v1/openapi.json", headers=auth).get_json()
        assert doc["servers"] == [{"url": "/portal/metrics/api/v1"}]
        assert client.get("/portal/metrics/api/v1/metrics/status", headers=auth).status_code == 200
        anonymous = client.get("/portal/metrics/api/v1/metrics/status")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/api/v1/metrics/status", headers=auth).status_code == 404
    finally:
        get_context(portal).engine.dispose()

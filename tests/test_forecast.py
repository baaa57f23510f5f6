"""Capacity forecast (issue 17): the Theil–Sen trend of daily values, its band and the day
the capacity is reached — pure, then over the REST API on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from analytics.forecast import MIN_DAYS, expected_at, forecast_series
from dashboard.api.schemas import ForecastResponse
from dashboard.context import get_context
from dashboard.reports.insights import load_forecast
from db.accounts import create_api_token
from db.metrics import METRIC_IDS
from db.models import MetricSnapshot

GB = 1024**3
DAY0 = pd.Timestamp("2026-09-01 15:00", tz="UTC")  # a Seoul midnight, as daily rows are stored


def daily_frame(values: np.ndarray, *, missing: tuple[int, ...] = ()) -> pd.DataFrame:
    days = [d for d in range(len(values)) if d not in missing]
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex([DAY0 + pd.Timedelta(days=d) for d in days]),
            "value": values[days],
        }
    )


def growth(days: int, *, start: float, per_day: float, noise: float, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + per_day * np.arange(days) + rng.normal(0, noise, days)


# --- pure ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_capacity_day_of_noisy_growth_with_an_outage_is_within_two_days(seed: int) -> None:
    # 60 days growing 2 GiB a day from 100 GiB, ±1.5 GiB of noise, no data on days 40–42.
    # The truth reaches 300 GiB on day 100, i.e. 41 days after the last one (day 59).
    values = growth(60, start=100 * GB, per_day=2 * GB, noise=1.5 * GB, seed=seed)
    frame = daily_frame(values, missing=(40, 41, 42))
    now = DAY0 + pd.Timedelta(days=59, hours=10)

    forecast = forecast_series(frame, capacity=300 * GB, now=now.to_pydatetime())

    assert forecast is not None
    assert forecast.points == 57
    truth_days = 100 - (59 + 10 / 24)
    assert forecast.days_to_capacity is not None
    assert abs(forecast.days_to_capacity - truth_days) <= 2
    assert forecast.reach_at is not None
    assert abs(forecast.reach_at - (DAY0 + pd.Timedelta(days=100))) <= pd.Timedelta(days=2)
    assert forecast.slope_per_day == pytest.approx(2 * GB, rel=0.05)


def test_the_trend_starts_at_the_last_observation_and_steps_daily_to_the_horizon() -> None:
    frame = daily_frame(growth(20, start=1000, per_day=10, noise=2))
    forecast = forecast_series(frame, horizon_days=14)
    assert forecast is not None
    assert forecast.latest_at == DAY0 + pd.Timedelta(days=19)
    assert forecast.latest_value == frame["value"].iloc[-1]
    assert len(forecast.timestamps) == len(forecast.expected) == 15
    assert forecast.timestamps[0] == forecast.latest_at
    assert forecast.timestamps[-1] == forecast.latest_at + pd.Timedelta(days=14)
    assert str(forecast.timestamps.tz) == "UTC"
    assert forecast.expected.dtype == np.float64
    assert (np.diff(forecast.timestamps) == pd.Timedelta(days=1)).all()
    # No capacity: the expected value in N days is what the card says instead.
    assert forecast.capacity is None and forecast.days_to_capacity is None
    assert forecast.reach_at is None
    assert expected_at(forecast, 14) == pytest.approx(forecast.expected[-1])
    assert expected_at(forecast, 14) == pytest.approx(1000 + 10 * 33, abs=10)


def test_the_band_contains_the_trend_and_widens_ahead() -> None:
    frame = daily_frame(growth(45, start=5000, per_day=25, noise=40), missing=(10, 11, 30))
    forecast = forecast_series(frame, horizon_days=60)
    assert forecast is not None
    assert (forecast.lower <= forecast.expected).all()
    assert (forecast.expected <= forecast.upper).all()
    width = forecast.upper - forecast.lower
    assert width[-1] > width[0] > 0
    # The truth 60 days ahead lies inside the band.
    truth = 5000 + 25 * (44 + 60)
    assert forecast.lower[-1] < truth < forecast.upper[-1]


def test_a_level_step_does_not_wreck_the_forecast() -> None:
    # A bulk import of 50 GiB on day 30: the growth is still 2 GiB a day. Capacity 350 GiB is
    # reached on day 100 (150 GiB after the step + 2 GiB × 100).
    values = growth(60, start=100 * GB, per_day=2 * GB, noise=1 * GB)
    values[30:] += 50 * GB
    forecast = forecast_series(daily_frame(values), capacity=350 * GB)
    assert forecast is not None
    assert forecast.slope_per_day == pytest.approx(2 * GB, rel=0.1)
    assert forecast.days_to_capacity is not None
    assert abs(forecast.days_to_capacity - (100 - 59)) <= 2
    # A clean-up (a drop) likewise: the line starts from the new, lower level.
    values = growth(60, start=100 * GB, per_day=2 * GB, noise=1 * GB)
    values[45:] -= 60 * GB
    forecast = forecast_series(daily_frame(values), capacity=300 * GB)
    assert forecast is not None
    assert forecast.expected[0] == pytest.approx(values[-1], rel=0.02)
    assert forecast.days_to_capacity is not None
    assert abs(forecast.days_to_capacity - (130 - 59)) <= 3


def test_fewer_than_seven_days_give_no_forecast() -> None:
    values = growth(MIN_DAYS, start=10, per_day=1, noise=0)
    assert forecast_series(daily_frame(values)) is not None
    assert forecast_series(daily_frame(values[:-1])) is None
    assert forecast_series(daily_frame(values, missing=(3,))) is None  # 6 days with data
    assert forecast_series(daily_frame(values[:0])) is None


def test_only_the_last_ninety_days_count() -> None:
    # Two years ago the store shrank; only the recent 30 days (inside the window) matter.
    old = daily_frame(growth(10, start=900, per_day=-5, noise=0))
    recent = daily_frame(growth(30, start=100, per_day=3, noise=0))
    recent["timestamp"] += pd.Timedelta(days=700)
    forecast = forecast_series(pd.concat([old, recent]))
    assert forecast is not None
    assert forecast.points == 30
    assert forecast.slope_per_day == pytest.approx(3)


def test_capacity_edge_cases() -> None:
    rising = daily_frame(growth(10, start=90, per_day=1, noise=0))
    already = forecast_series(rising, capacity=95)
    assert already is not None
    assert already.days_to_capacity == 0 and already.reach_at == already.latest_at
    falling = daily_frame(growth(10, start=90, per_day=-1, noise=0))
    never = forecast_series(falling, capacity=1000)
    assert never is not None and never.days_to_capacity is None and never.reach_at is None
    flat = daily_frame(np.full(10, 50.0))
    assert forecast_series(flat, capacity=100).days_to_capacity is None  # type: ignore[union-attr]
    # Creeping up a byte a day towards a petabyte: "never", not a date in the year 3 million.
    creeping = daily_frame(growth(10, start=0, per_day=1, noise=0))
    assert forecast_series(creeping, capacity=2.0**50).days_to_capacity is None  # type: ignore[union-attr]
    # Counted from `now`: a day later, a day less.
    at_last = forecast_series(rising, capacity=110)
    later = forecast_series(
        rising, capacity=110, now=(DAY0 + pd.Timedelta(days=10)).to_pydatetime()
    )
    assert at_last is not None and later is not None
    assert at_last.days_to_capacity == pytest.approx(11)
    assert later.days_to_capacity == pytest.approx(10)
    assert later.reach_at == at_last.reach_at
    with pytest.raises(ValueError):
        forecast_series(rising, horizon_days=0)


# --- the REST API on PostgreSQL -----------------------------------------------------------------
@pytest.fixture
def capacity_app(pg_url: str, make_settings: Callable[..., Any]) -> Iterator[Flask]:
    """The app on a PostgreSQL store with STORAGE_CAPACITY_BYTES = 300 GiB."""
    from dashboard.app import create_app
    from tests.support import create_user

    create_user(pg_url, "admin")
    flask_app = create_app(make_settings(database_url=pg_url, storage_capacity_bytes=300 * GB))
    yield flask_app
    get_context(flask_app).engine.dispose()


def bearer(app: Flask) -> dict[str, str]:
    with get_context(app).session() as session:
        return {"Authorization": f"Bearer {create_api_token(session, 'tests', 'admin')}"}


def seed_daily_growth(app: Flask, days: int, *, today: datetime) -> None:
    """``days`` daily rows up to yesterday: storage grows 2 GiB a day and reaches 300 GiB
    40 days after yesterday; the other metrics grow by 100 a day."""
    rows = []
    for back in range(1, days + 1):
        day = today - timedelta(days=back)
        for metric in METRIC_IDS:
            value = (
                220 * GB - 2 * GB * (back - 1) if metric == "storage_bytes" else 10_000 - 100 * back
            )
            rows.append(
                MetricSnapshot(
                    metric_type=metric, granularity="daily", collected_at=day, value=value
                )
            )
    with get_context(app).session() as session:
        session.add_all(rows)


def get_forecast(client: FlaskClient, headers: dict[str, str], **query: str) -> Any:
    return client.get("/api/v1/metrics/forecast", query_string=query, headers=headers)


def test_forecast_api_answers_the_trend_band_and_capacity_day(capacity_app: Flask) -> None:
    today = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    if today > datetime.now(UTC):
        today -= timedelta(days=1)
    seed_daily_growth(capacity_app, 30, today=today)
    client, headers = capacity_app.test_client(), bearer(capacity_app)

    response = get_forecast(client, headers, metric_type="storage_bytes", horizon_days="60")

    assert response.status_code == 200
    body = response.get_json()
    ForecastResponse.model_validate(body)
    assert body["metric_type"] == "storage_bytes"
    assert body["horizon_days"] == 60
    assert body["capacity"] == 300 * GB
    assert body["points"] == 30
    yesterday = today - timedelta(days=1)
    assert body["latest"] == {
        "timestamp": yesterday.isoformat(),
        "value": 220 * GB,
    }
    # Reached 40 days after yesterday, counted from now (somewhere in today's first day).
    assert 38 <= body["days_to_capacity"] <= 40
    assert body["reach_at"].startswith((yesterday + timedelta(days=40)).date().isoformat())
    assert body["slope_per_day"] == pytest.approx(2 * GB)
    assert len(body["trend"]) == 61
    first, last = body["trend"][0], body["trend"][-1]
    assert first["timestamp"] == yesterday.isoformat()
    assert first["expected"] == pytest.approx(220 * GB)
    assert last["lower"] <= last["expected"] <= last["upper"]
    assert last["expected"] == pytest.approx(220 * GB + 120 * GB)
    for point in body["trend"]:
        assert point["timestamp"].endswith("+00:00") and "." not in point["timestamp"]
    assert body["message"] == (
        "at the current trend the capacity of 322,122,547,200 is reached "
        f"in about {body['days_to_capacity']:.0f} days"
    )

    # Another metric: no capacity, the default horizon (FORECAST_HORIZON_DAYS = 30).
    other = get_forecast(client, headers, metric_type="document_count").get_json()
    assert other["capacity"] is None and other["days_to_capacity"] is None
    assert other["reach_at"] is None
    assert other["horizon_days"] == 30 and len(other["trend"]) == 31
    assert other["trend"][-1]["expected"] == pytest.approx(10_000 - 100 + 30 * 100)
    assert other["message"] == "at the current trend the value in 30 days is about 12,900"


def test_forecast_api_with_less_than_seven_days_says_so_plainly(capacity_app: Flask) -> None:
    today = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    seed_daily_growth(capacity_app, 3, today=today)
    client, headers = capacity_app.test_client(), bearer(capacity_app)

    body = get_forecast(client, headers, metric_type="storage_bytes").get_json()

    ForecastResponse.model_validate(body)
    assert body["trend"] == []
    assert body["days_to_capacity"] is None and body["reach_at"] is None
    assert body["slope_per_day"] is None
    assert body["points"] == 3
    assert body["capacity"] == 300 * GB
    assert body["latest"]["value"] == 220 * GB
    assert body["message"] == "not enough history: 7 days of data are needed, 3 are stored"

    empty = get_forecast(client, headers, metric_type="tag_count")
    assert empty.status_code == 200
    assert empty.get_json()["latest"] is not None  # every metric was seeded
    assert empty.get_json()["trend"] == []


def test_forecast_api_on_an_empty_store(capacity_app: Flask) -> None:
    client, headers = capacity_app.test_client(), bearer(capacity_app)
    body = get_forecast(client, headers, metric_type="active_users").get_json()
    assert body["latest"] is None and body["points"] == 0 and body["trend"] == []
    assert body["message"] == "not enough history: 7 days of data are needed, 0 are stored"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "METRICS_MISSING_PARAMETER"),
        ({"metric_type": "disk"}, "METRICS_UNKNOWN_METRIC"),
        ({"metric_type": "storage_bytes", "horizon_days": "0"}, "METRICS_INVALID_PARAMETER"),
        ({"metric_type": "storage_bytes", "horizon_days": "366"}, "METRICS_INVALID_PARAMETER"),
        ({"metric_type": "storage_bytes", "horizon_days": "ten"}, "METRICS_INVALID_PARAMETER"),
        ({"metric_type": "storage_bytes", "horizon_days": "1.5"}, "METRICS_INVALID_PARAMETER"),
        ({"metric_type": "storage_bytes", "horizon_days": "9" * 40}, "METRICS_INVALID_PARAMETER"),
    ],
)
def test_forecast_api_refuses_bad_input_with_400(
    capacity_app: Flask, query: dict[str, str], code: str
) -> None:
    response = get_forecast(capacity_app.test_client(), bearer(capacity_app), **query)
    assert response.status_code == 400
    assert response.get_json()["code"] == code


def test_forecast_api_needs_a_token(capacity_app: Flask) -> None:
    response = capacity_app.test_client().get(
        "/api/v1/metrics/forecast", query_string={"metric_type": "storage_bytes"}
    )
    assert response.status_code == 401


def test_forecast_is_in_the_openapi_document(capacity_app: Flask) -> None:
    doc = (
        capacity_app.test_client()
        .get("/api/v1/openapi.json", headers=bearer(capacity_app))
        .get_json()
    )
    operation = doc["paths"]["/metrics/forecast"]["get"]
    assert {"metric_type", "horizon_days"} <= {p["name"] for p in operation["parameters"]}
    horizon = next(p for p in operation["parameters"] if p["name"] == "horizon_days")
    assert (horizon["schema"]["minimum"], horizon["schema"]["maximum"]) == (1, 365)
    assert "200" in operation["responses"] and "400" in operation["responses"]


# --- read from the store (PostgreSQL and SQLite) ------------------------------------------------
def test_a_young_store_is_forecast_from_daily_means_of_its_hourly_values(
    store_sessions: Callable[[], Any],
) -> None:
    # Ten days of hourly documents (no daily rollup yet): 24 more every day, one an hour.
    now = datetime(2026, 12, 3, 5, 30, tzinfo=UTC)
    first = now.replace(minute=0) - timedelta(days=10)
    with store_sessions() as session:
        session.add_all(
            MetricSnapshot(
                metric_type="document_count",
                granularity="hourly",
                collected_at=first + timedelta(hours=h),
                value=1000 + h,
            )
            for h in range(10 * 24)
        )
    with store_sessions() as session:
        forecast = load_forecast(session, "document_count", now=now, tz="Asia/Seoul")
        nothing = load_forecast(session, "tag_count", now=now, tz="Asia/Seoul")
    assert forecast is not None
    assert forecast.points == 11  # Seoul days touched by those 240 hours
    assert forecast.slope_per_day == pytest.approx(24, rel=0.02)
    assert len(forecast.timestamps) == 31 and forecast.capacity is None
    assert nothing is None

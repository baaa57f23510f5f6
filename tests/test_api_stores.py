"""The API on both stores (PostgreSQL and the embedded SQLite default): same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from db.accounts import create_api_token
from db.models import MetricSnapshot


def test_endpoints_answer_alike_on_both_stores(app: Flask, anon_client: FlaskClient) -> None:
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with get_context(app).session() as session:
        session.add_all(
            MetricSnapshot(
                metric_type="active_users",
                granularity="hourly",
                collected_at=top - timedelta(hours=h),
                value=10 + h,
            )
            for h in range(5)
        )
        token = create_api_token(session, "stores", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    current = anon_client.get("/api/v1/metrics/current", headers=headers).get_json()
    assert current == {"timestamp": top.isoformat(), "metrics": {"active_users": 10}}
    series = anon_client.get(
        "/api/v1/metrics/timeseries",
        query_string={
            "metric_type": "active_users",
            "start_date": (top - timedelta(hours=2)).isoformat(),
        },
        headers=headers,
    ).get_json()
    assert [p["value"] for p in series["data"]] == [12, 11, 10]
    assert series["data"][-1]["timestamp"] == top.isoformat()
    comparison = anon_client.get(
        "/api/v1/metrics/comparison",
        query_string={
            "metric_type": "active_users",
            "period1_start": (top - timedelta(hours=1)).isoformat(),
            "period1_end": (top + timedelta(hours=1)).isoformat(),  # half-open
            "period2_start": (top - timedelta(hours=4)).isoformat(),
            "period2_end": (top - timedelta(hours=2)).isoformat(),
        },
        headers=headers,
    ).get_json()
    # (10 + 11) / 2 = 10.5 against (13 + 14) / 2 = 13.5
    assert comparison["change_percentage"] == (10.5 - 13.5) / 13.5 * 100
    status = anon_client.get("/api/v1/metrics/status", headers=headers).get_json()
    assert status["last_collection_at"] == top.isoformat()

"""``GET /metrics``: Prometheus text format of what the store holds; never open to everyone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from admin_metrics.settings import Settings
from dashboard.context import get_context
from db.engine import make_engine
from db.models import CollectionClaim
from tests.support import HOURS, T0, seed_hourly

TOKEN = "scrape-token-0123456789"


def _app(make_settings: Callable[..., Settings], store_url: str, **overrides: Any) -> Flask:
    from dashboard.app import create_app

    flask_app = create_app(make_settings(database_url=store_url, **overrides))
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def prometheus_app(make_settings: Callable[..., Settings], store_url: str) -> Any:
    flask_app = _app(make_settings, store_url, prometheus_enabled=True, prometheus_token=TOKEN)
    yield flask_app
    get_context(flask_app).engine.dispose()


def _samples(text: str) -> dict[str, list[Any]]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_metrics_report_what_the_store_holds(prometheus_app: Flask, store_url: str) -> None:
    ctx = get_context(prometheus_app)
    with ctx.session() as session:
        seed_hourly(session)
        newest = T0 + timedelta(hours=HOURS - 1)
        session.add(
            CollectionClaim(
                granularity="hourly",
                slot=newest,
                owner="test",
                claimed_at=newest + timedelta(seconds=2),
                finished_at=newest + timedelta(seconds=5, milliseconds=250),
                outcome="stored",
            )
        )
    response = prometheus_app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and "version=" in response.content_type
    samples = _samples(response.get_data(as_text=True))

    # The test's own SQL: the values of the newest hourly slot.
    engine = make_engine(store_url)
    with engine.connect() as conn:
        expected = dict(
            conn.execute(
                sa.text(
                    "SELECT metric_type, value FROM metric_snapshots WHERE granularity = 'hourly'"
                    " AND collected_at = (SELECT max(collected_at) FROM metric_snapshots"
                    " WHERE granularity = 'hourly')"
                )
            ).all()
        )
    engine.dispose()
    values = {
        s.labels["metric"]: s.value
        for s in samples["admin_metrics_value"]
        if s.labels["source"] == "default"
    }
    assert values == {metric: float(value) for metric, value in expected.items()}
    assert len(values) == 6

    (last,) = samples["admin_metrics_collection_last_success_timestamp_seconds"]
    assert last.value == newest.timestamp() and last.labels == {"source": "default"}
    (duration,) = samples["admin_metrics_collection_duration_seconds"]
    assert duration.value == pytest.approx(3.25)
    lit = [
        s.labels["admin_metrics_collection_status"]
        for s in samples["admin_metrics_collection_status"]
        if s.value == 1
    ]
    assert len(lit) == 1 and lit[0] in ("healthy", "warning", "error", "pending")
    assert "admin_metrics_collection_failed_slots_24h" in samples


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}],
)
def test_refused_without_the_token(prometheus_app: Flask, headers: dict[str, str]) -> None:
    response = prometheus_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"admin_metrics_value" not in response.data


@pytest.mark.parametrize(("allow", "status"), [(["127.0.0.0/8"], 200), (["10.0.0.0/8"], 401)])
def test_an_allowed_address_needs_no_token(
    make_settings: Callable[..., Settings], sqlite_url: str, allow: list[str], status: int
) -> None:
    flask_app = _app(make_settings, sqlite_url, prometheus_enabled=True, prometheus_allow=allow)
    try:
        response = flask_app.test_client().get("/metrics")  # the test client is 127.0.0.1
        assert response.status_code == status
    finally:
        get_context(flask_app).engine.dispose()


def test_off_by_default(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    flask_app = _app(make_settings, sqlite_url)
    try:
        assert "prometheus_metrics" not in flask_app.view_functions
        response = flask_app.test_client().get("/metrics")
        assert response.status_code != 200 and b"admin_metrics_value" not in response.data
    finally:
        get_context(flask_app).engine.dispose()

"""The catalogue over the API and Prometheus: catalogue ids, ``source`` and ``label`` on the
series endpoints (bad values are 400s), ``GET /metrics/catalogue`` with the labels the store
holds, and every catalogue series exported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from admin_metrics.settings import Settings
from collectors.runner import insert_series, insert_snapshots
from dashboard.api.schemas import CatalogueResponse, ComparisonResponse, TimeseriesResponse
from dashboard.context import get_context
from db.metrics import METRIC_IDS
from tests.support import EXTRAS_CATALOGUE, create_user, stored_token

TOP = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SCRAPE_TOKEN = "scrape-token-0123456789"
CATALOGUE = (
    EXTRAS_CATALOGUE
    + """
[metrics.tag_count]
name_en = "Labels"
"""
)


@pytest.fixture
def store_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def app(store_url: str, make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Flask]:
    """An app whose catalogue has a per-slot count and a labelled gauge (queries checked on
    the store, which is the source here), Prometheus on."""
    from dashboard.app import create_app

    path = tmp_path / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    create_user(store_url, "admin")
    flask_app = create_app(
        make_settings(
            database_url=store_url,
            metrics_catalogue_file=path,
            prometheus_enabled=True,
            prometheus_token=SCRAPE_TOKEN,
        )
    )
    with get_context(flask_app).session() as session:
        for hours_ago in range(3):
            at = TOP - timedelta(hours=hours_ago)
            insert_snapshots(session, dict.fromkeys(METRIC_IDS, 7), "hourly", at)
            rows = {("messages", ""): 10 + hours_ago, ("by_model", "llama"): hours_ago}
            rows[("by_model", "qwen")] = 100 + hours_ago
            insert_series(session, rows, "hourly", at)
    yield flask_app
    get_context(flask_app).engine.dispose()


@pytest.fixture
def api(app: Flask) -> Callable[..., Any]:
    client: FlaskClient = app.test_client()
    token = stored_token(app, "admin")

    def call(path: str, **query: str) -> Any:
        return client.get(
            "/api/v1" + path, query_string=query, headers={"Authorization": f"Bearer {token}"}
        )

    return call


def test_the_catalogue_lists_the_extras_with_their_kinds_and_the_labels_stored(
    api: Callable[..., Any],
) -> None:
    response = api("/metrics/catalogue")
    assert response.status_code == 200
    body = response.get_json()
    CatalogueResponse.model_validate(body)
    by_id = {m["id"]: m for m in body["metrics"]}
    assert list(by_id) == [*METRIC_IDS, "messages", "by_model"]
    assert by_id["tag_count"]["name"] == {"ko": "태그 수", "en": "Labels"}
    assert by_id["tag_count"]["builtin"] and by_id["tag_count"]["daily_rollup"] == "average"
    messages = by_id["messages"]
    assert (messages["kind"], messages["daily_rollup"], messages["labelled"]) == (
        "per_slot",
        "sum",
        False,
    )
    assert messages["labels"] == [] and messages["sources"] == ["default"]
    model = by_id["by_model"]
    assert model["labelled"] and model["labels"] == ["llama", "qwen"]
    assert (model["unit_kind"], model["unit"]["en"]) == ("custom", "conversations")


def test_timeseries_of_an_extra_metric_and_of_one_label(api: Callable[..., Any]) -> None:
    start = (TOP - timedelta(hours=5)).isoformat()
    end = (TOP + timedelta(hours=1)).isoformat()
    response = api("/metrics/timeseries", metric_type="messages", start_date=start, end_date=end)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    TimeseriesResponse.model_validate(body)
    assert [p["value"] for p in body["data"]] == [12, 11, 10]
    assert (body["source"], body["label"]) == ("default", None)

    qwen = api(
        "/metrics/timeseries", metric_type="by_model", label="qwen", start_date=start, end_date=end
    ).get_json()
    assert [p["value"] for p in qwen["data"]] == [102, 101, 100] and qwen["label"] == "qwen"
    unknown = api("/metrics/timeseries", metric_type="by_model", label="gpt", start_date=start)
    assert unknown.status_code == 200 and unknown.get_json()["data"] == []

    # The six answer as before, explicitly from the default source.
    tags = api("/metrics/timeseries", metric_type="tag_count", source="default", start_date=start)
    assert [p["value"] for p in tags.get_json()["data"]] == [7, 7, 7]

    compared = api("/metrics/comparison", metric_type="by_model", label="llama")
    assert compared.status_code == 200
    ComparisonResponse.model_validate(compared.get_json())
    assert compared.get_json()["label"] == "llama"


@pytest.mark.parametrize(
    ("query", "code", "text"),
    [
        ({"metric_type": "gpu_load"}, "METRICS_UNKNOWN_METRIC", "gpu_load"),
        ({"metric_type": "x" * 300}, "METRICS_UNKNOWN_METRIC", "metric_type"),
        ({"metric_type": "tag_count", "source": "replica"}, "METRICS_UNKNOWN_SOURCE", "replica"),
        ({"metric_type": "by_model"}, "METRICS_INVALID_LABEL", "by_model is labelled"),
        ({"metric_type": "tag_count", "label": "a"}, "METRICS_INVALID_LABEL", "has no labels"),
        ({"metric_type": "by_model", "label": ""}, "METRICS_INVALID_PARAMETER", "label"),
    ],
)
@pytest.mark.parametrize("path", ["/metrics/timeseries", "/metrics/comparison"])
def test_a_bad_metric_source_or_label_is_a_400_with_a_message(
    api: Callable[..., Any], path: str, query: dict[str, str], code: str, text: str
) -> None:
    response = api(path, lang="en", **query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == code and text in body["error"]


def test_prometheus_exports_every_catalogue_series_of_the_latest_slot(app: Flask) -> None:
    response = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}
    )
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    (values,) = [f for f in families if f.name == "admin_metrics_value"]
    exported = {
        (s.labels["metric"], s.labels["source"], s.labels["label"]): s.value for s in values.samples
    }
    expected = {(m, "default", ""): 7.0 for m in METRIC_IDS}
    expected[("messages", "default", "")] = 10.0
    expected[("by_model", "default", "llama")] = 0.0
    expected[("by_model", "default", "qwen")] = 100.0
    assert exported == expected

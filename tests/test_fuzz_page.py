"""Property-based: no input makes the page or Dash's callback endpoint answer 5xx.

Hypothesis generates callback bodies (every server callback of the page, each input and
state replaced by any JSON value; and bodies of any shape) and shareable page URLs (query
strings with ancient, far-future and malformed dates, zone folders, junk). Malformed bodies
get a 400 JSON message; well-formed ones a 200/204, and the graphs never fall back to the
failure message for a bad URL: the page shows its note and the default view instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.context import get_context
from tests.support import create_user, login, render_request, seed_history

UPDATE = "/admin/metrics/_dash-update-component"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
zone_names = st.sampled_from(
    [
        "Asia/Seoul",
        "UTC",
        "America",
        "Etc",
        "Europe/",
        "../../etc/passwd",
        "",
        "x" * 300,
        "Mars/Olympus",
        "posixrules",
        "Factory",
        "UTC\x00",
    ]
) | st.text(max_size=30)
# Key values of pattern-matching ids (the page keys its table views by metric id).
id_values = st.sampled_from(["active_users", "tag_count", "nope", ""]) | st.integers(0, 5)
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
date_texts = dates | st.sampled_from(["", "0000-00-00", "2026-02-30", "nonsense", "2026-1-1"])
query_values = {
    "range": st.sampled_from(["7", "30", "90", "custom", "12", "", "-1"]) | st.text(max_size=8),
    "start": date_texts,
    "end": date_texts,
    "granularity": st.sampled_from(["hourly", "daily", "weekly", ""]),
    "compare": st.sampled_from(["previous", "custom", "sideways", ""]),
    "compare_start": date_texts,
    "compare_end": date_texts,
    "lang": st.sampled_from(["ko", "en", "xx"]),
    "junk": st.text(max_size=50),
}
queries = st.fixed_dictionaries({}, optional=query_values).map(lambda q: "?" + urlencode(q))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One seeded SQLite app for every example (the examples do not change it)."""
    from admin_metrics.settings import Settings
    from dashboard.app import create_app
    from db.migrate import upgrade

    root = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{root / 'metrics.db'}"
    upgrade(url)
    create_user(url, "admin")
    seed_history(url, hourly_days=3, daily_days=10)
    app = create_app(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=root,
            database_url=url,
            secret_key="fuzz-secret-key-0123456789",
            metrics_collection_enabled=False,
        )
    )
    app.config["TESTING"] = True
    yield app
    get_context(app).close()


@pytest.fixture(scope="module")
def client(fuzz_app: Flask) -> FlaskClient:
    client = fuzz_app.test_client()
    assert login(client, "admin").status_code == 302
    return client


@pytest.fixture(scope="module")
def dependencies(client: FlaskClient) -> list[dict[str, Any]]:
    deps: list[dict[str, Any]] = client.get("/admin/metrics/_dash-dependencies").get_json()
    return deps


def _server_callbacks(dependencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in dependencies if not d.get("clientside_function")]


def _concrete(raw: str, match: Any, draw: Callable[[Any], Any]) -> Any:
    """A declared id as the browser sends it: pattern ids get concrete key values (one MATCH
    value per body; ALL becomes a list of ids)."""
    if not raw.startswith("{"):
        return raw
    pattern = json.loads(raw)

    def one(value: Any) -> dict[str, Any]:
        return {
            k: (value if v in (["MATCH"], ["ALL"], ["ALLSMALLER"]) else v)
            for k, v in pattern.items()
        }

    if any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values()):
        return [one(v) for v in draw(st.lists(id_values, max_size=2))]
    return one(match)


def _prop_id(component: Any, prop: str) -> str:
    if isinstance(component, dict):
        return json.dumps(component, sort_keys=True, separators=(",", ":")) + "." + prop
    return f"{component}.{prop}"


def _outputs(output: str, match: Any, draw: Callable[[Any], Any]) -> Any:
    """As the browser lists them: an ALL output is a list with an entry per matching id."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    items: list[Any] = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        concrete = _concrete(component, match, draw)
        if isinstance(concrete, list):
            items.append([{"id": c, "property": prop} for c in concrete])
        else:
            items.append({"id": concrete, "property": prop})
    return items if output.startswith("..") else items[0]


def _assert_answered(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert body is not None and body["code"] and body["error"], "a JSON message"


@FUZZ
@given(data=st.data())
def test_any_value_in_a_well_formed_callback_is_answered(
    client: FlaskClient, dependencies: list[dict[str, Any]], data: st.DataObject
) -> None:
    callback = data.draw(st.sampled_from(_server_callbacks(dependencies)))
    match = data.draw(id_values)

    def item(spec: dict[str, str]) -> Any:
        component = _concrete(spec["id"], match, data.draw)
        if isinstance(component, list):
            return [
                {"id": c, "property": spec["property"], "value": data.draw(json_values)}
                for c in component
            ]
        return {"id": component, "property": spec["property"], "value": data.draw(json_values)}

    inputs = [item(i) for i in callback["inputs"]]
    flat = [i for entry in inputs for i in (entry if isinstance(entry, list) else [entry])]
    changed = data.draw(
        st.lists(st.sampled_from([_prop_id(i["id"], i["property"]) for i in flat]), max_size=2)
        if flat
        else st.just([])
    )
    body = {
        "output": callback["output"],
        "outputs": _outputs(callback["output"], match, data.draw),
        "inputs": inputs,
        "state": [item(s) for s in callback["state"]],
        "changedPropIds": changed,
    }
    response = client.post(UPDATE, json=body)
    _assert_answered(response)
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]


body_keys = st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds", "x"])


@FUZZ
@given(
    body=json_values | st.dictionaries(body_keys, json_values, max_size=5),
    keep_output=st.booleans(),
)
def test_malformed_callback_bodies_get_a_400_message(
    client: FlaskClient, dependencies: list[dict[str, Any]], body: Any, keep_output: bool
) -> None:
    if keep_output and isinstance(body, dict):
        body["output"] = _server_callbacks(dependencies)[0]["output"]
    response = client.post(UPDATE, data=json.dumps(body), content_type="application/json")
    _assert_answered(response)


@FUZZ
@given(search=queries, tz=zone_names)
def test_any_shared_page_url_draws_the_page_or_its_note(
    client: FlaskClient, dependencies: list[dict[str, Any]], search: str, tz: str
) -> None:
    page = client.get("/admin/metrics/" + search)
    assert page.status_code == 200
    response = client.post(UPDATE, json=render_request(dependencies, search=search, tz=tz))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    result = response.get_json()["response"]
    assert result["load-error"]["is_open"] is False, "a bad URL is not a load failure"


@pytest.mark.parametrize("size", [10_000, 500_000])
def test_huge_query_strings_are_answered(
    client: FlaskClient, dependencies: list[dict[str, Any]], size: int
) -> None:
    search = "?range=custom&start=" + "9" * size
    assert client.get("/admin/metrics/" + search).status_code in (200, 414)
    response = client.post(UPDATE, json=render_request(dependencies, search=search))
    assert response.status_code == 200
    assert response.get_json()["response"]["load-error"]["is_open"] is False


def test_unknown_asset_paths_are_one_line_404s(
    fuzz_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    anonymous = fuzz_app.test_client()
    paths = [
        "/admin/metrics/assets/nope.js",
        "/admin/metrics/_dash-component-suites/nopkg/x.js",
        "/admin/metrics/_dash-component-suites/dash/nope.js",
        "/admin/metrics/_dash-component-suites/dash/../../../etc/passwd",
        "/admin/metrics/_dash-component-suites/plotly/package_data/nope.js",
        "/static/nope.css",
    ]
    for path in paths:
        caplog.clear()
        response = anonymous.get(path)
        assert response.status_code == 404, path
        assert "Traceback" not in caplog.text and len(caplog.records) <= 1, caplog.text

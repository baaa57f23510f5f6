"""The page's catalogue parts (issue 18): the URL keys of the source, the extra metrics and
the label filter (pure), and the extras section's callbacks through Flask: the chosen
extras are drawn, a labelled metric as its top labels and "others" or as the filter's
labels, the "all" source as the API reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin_metrics.settings import Settings
from collectors.runner import insert_snapshots
from dashboard.charts.series import top_labels
from dashboard.context import get_context
from dashboard.page import ids
from dashboard.page.view_state import ViewState, chosen_extras, parse_query
from db.catalogue import CatalogueMetric
from db.metrics import METRIC_IDS
from tests.support import (
    EXTRAS_CATALOGUE,
    callback_request,
    create_user,
    figure_array,
    insert_source_rows,
    render_request,
    signed_in,
    stored_token,
)

TOP = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
HOUR = timedelta(hours=1)
CATALOGUE = (
    EXTRAS_CATALOGUE
    + """
[metrics.latency]
name_ko = "응답 시간"
name_en = "Latency"
unit = "seconds"
kind = "gauge"
rollup = "average"
query = "SELECT 1"
"""
)
# Seven labels, their latest values 70, 60, … 10: the top five and "others" (20 + 10).
MODELS = {f"m{i}": 10 * (7 - i) for i in range(7)}


# --- URL state ------------------------------------------------------------------------------
def test_source_extras_and_labels_round_trip_through_the_query_string() -> None:
    state = ViewState(
        source="b",
        extras=("messages", "by_model"),
        labels=(("by_model", ("m1", "a:b")),),
    )
    assert parse_query(state.to_query()) == state
    assert parse_query("?range=7") == ViewState()  # default source, default extras, no filter
    assert parse_query("?extras=").extras == ()  # none chosen is not the default
    assert parse_query("?source=all").source == "all"


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("?extras=messages,Bad-Id,,messages", ("messages",)),
        ("?label=by_model:&label=:m1&label=by_model:m2&label=by_model:m2", ()),
        ("?source=../etc", "default"),
    ],
)
def test_malformed_choices_are_left_out(search: str, expected: Any) -> None:
    state = parse_query(search)
    if search.startswith("?extras"):
        assert state.extras == expected
    elif search.startswith("?label"):
        assert state.labels == (("by_model", ("m2",)),)
    else:
        assert state.source == expected and state.ignored == ("source",)


def _extra(metric_id: str) -> CatalogueMetric:
    return CatalogueMetric(
        metric_id, metric_id, metric_id, "count", "개", "count", "gauge", "last", ""
    )


def test_chosen_extras_ignore_unknown_ids_and_default_to_the_first_six() -> None:
    extras = [_extra(f"x{i}") for i in range(8)]
    assert [m.id for m in chosen_extras(ViewState(), extras)] == [f"x{i}" for i in range(6)]
    chosen = chosen_extras(parse_query("?extras=x7,nope,x1"), extras)
    assert [m.id for m in chosen] == ["x1", "x7"]  # the catalogue's order
    assert chosen_extras(parse_query("?extras="), extras) == ()


def _frame(values: dict[int, int]) -> pd.DataFrame:
    """Hours after TOP → value, as ``db.queries`` gives a series."""
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(
                [TOP + h * HOUR for h in values], dtype="datetime64[ns, UTC]"
            ),
            "value": pd.array(list(values.values()), dtype="int64"),
        }
    )


@pytest.mark.parametrize(
    ("how", "others"),
    [
        # c missed hour 1 (nothing there, not a gap); hour 3: no label had a row (a gap).
        ("sum", {0: 3, 1: 1, 2: 5}),
        ("average", {0: 2, 1: 1, 2: 3}),  # half up: 1.5 → 2, 2.5 → 3
    ],
)
def test_others_count_a_missing_label_as_nothing_and_keep_a_missing_slot_a_gap(
    how: str, others: dict[int, int]
) -> None:
    frames = {
        "a": _frame({0: 50, 1: 50, 2: 50}),
        "b": _frame({0: 1, 1: 1, 2: 2}),
        "c": _frame({0: 2, 2: 3}),
        "gone": _frame({}),
    }
    top, rest = top_labels(frames, how, n=1)
    assert [label for label, _ in top] == ["a"]
    assert rest is not None
    hours = ((rest["timestamp"] - TOP) // HOUR).tolist()
    assert dict(zip(hours, rest["value"].tolist(), strict=True)) == others
    assert top_labels(frames, how, n=3) == ([(k, frames[k]) for k in ("a", "c", "b")], None)


# --- callbacks ------------------------------------------------------------------------------
@pytest.fixture
def app(sqlite_url: str, make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Flask]:
    """Extras (a per-slot count, a labelled metric with seven labels, seconds) over the
    last six hours of two sources; source b missed the newest hour of messages."""
    from dashboard.app import create_app

    path = tmp_path / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    create_user(sqlite_url, "admin")
    flask_app = create_app(make_settings(database_url=sqlite_url, metrics_catalogue_file=path))
    slots = [TOP - h * HOUR for h in range(6)]
    with get_context(flask_app).session() as session:
        for slot in slots:
            insert_snapshots(session, dict.fromkeys(METRIC_IDS, 5), "hourly", slot)
        insert_source_rows(session, "messages", dict.fromkeys(slots, 10), source="default")
        insert_source_rows(session, "messages", dict.fromkeys(slots[1:], 3), source="b")
        insert_source_rows(session, "latency", dict.fromkeys(slots, 2), source="default")
        for model, value in MODELS.items():
            insert_source_rows(
                session, "by_model", dict.fromkeys(slots, value), source="default", label=model
            )
    yield flask_app
    get_context(flask_app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return signed_in(app)


def _extras(client: FlaskClient, search: str, lang: str = "ko") -> dict[str, Any]:
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    values = {
        ("url", "search"): search,
        ("viewer-timezone", "data"): "Asia/Seoul",
        ("latest-slot", "data"): "seen",
        ("retry-button", "n_clicks"): None,
        ("page-theme", "data"): None,
        ("events-version", "data"): 0,
        ("page-lang", "data"): lang,
    }
    body = callback_request(deps, f"{ids.extra_card('messages')}.style", values)
    response = client.post("/admin/metrics/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]  # type: ignore[no-any-return]


def _series(figure: dict[str, Any]) -> dict[str, list[Any]]:
    """The figure's series traces: name → y values (NaN break rows left out)."""
    return {
        trace["name"]: [y for y in figure_array(trace["y"]) if y == y]
        for trace in figure["data"]
        if trace.get("meta", {}).get("role") == "series"
    }


def test_the_section_draws_every_extra_by_default_and_only_the_chosen_ones(
    client: FlaskClient,
) -> None:
    out = _extras(client, "?range=7")
    for metric in ("messages", "by_model", "latency"):
        assert out[ids.extra_card(metric)]["style"] is None
        assert _series(out[ids.graph(metric)]["figure"])
    assert list(_series(out[ids.graph("messages")]["figure"]).values()) == [[10] * 6]
    unit = out[ids.graph("latency")]["figure"]["layout"]["annotations"][0]["text"]
    assert unit == "초"

    chosen = _extras(client, "?range=7&extras=latency,unknown")
    assert chosen[ids.extra_card("messages")]["style"] == {"display": "none"}
    assert ids.graph("messages") not in chosen  # a hidden graph is not drawn
    assert chosen[ids.extra_card("latency")]["style"] is None
    assert chosen[ids.EXTRAS_NONE]["style"] == {"display": "none"}
    nothing = _extras(client, "?range=7&extras=")
    assert nothing[ids.EXTRAS_NONE]["style"] is None


def test_a_labelled_metric_shows_its_top_five_labels_and_others(client: FlaskClient) -> None:
    figure = _extras(client, "?range=7", lang="en")[ids.graph("by_model")]["figure"]
    series = _series(figure)
    assert list(series) == ["m0", "m1", "m2", "m3", "m4", "Others"]
    assert series["m0"] == [70] * 6 and series["Others"] == [30] * 6  # 20 + 10
    hover = next(t for t in figure["data"] if t["name"] == "m0")["hovertemplate"]
    assert "m0" in hover and "conversations" in hover


def test_the_label_filter_shows_exactly_the_chosen_labels(client: FlaskClient) -> None:
    search = "?range=7&label=by_model:m6&label=by_model:m2&label=by_model:gone"
    series = _series(_extras(client, search)[ids.graph("by_model")]["figure"])
    assert list(series) == ["m6", "m2", "gone"]
    assert series["m6"] == [10] * 6 and series["gone"] == []


def test_the_all_source_graph_agrees_with_the_api(app: Flask, client: FlaskClient) -> None:
    drawn = _series(_extras(client, "?range=7&source=all")[ids.graph("messages")]["figure"])
    (values,) = drawn.values()
    token = stored_token(app, "admin")
    api = client.get(
        "/api/v1/metrics/timeseries",
        query_string={
            "metric_type": "messages",
            "source": "all",
            "start_date": (TOP - 6 * HOUR).isoformat(),
            "end_date": (TOP + HOUR).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert values == [p["value"] for p in api["data"]] == [13] * 5  # the newest hour: a gap
    default = _series(_extras(client, "?range=7")[ids.graph("messages")]["figure"])
    assert list(default.values()) == [[10] * 6]


def test_the_six_follow_the_source_and_the_notes_name_it(client: FlaskClient) -> None:
    """The fixture's six are the default source's only: "all" is the same numbers, named."""
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    answers = {}
    for search in ("?range=7", "?range=7&source=all", "?range=7&source=b"):
        body = render_request(deps, search=search, lang="en")
        response = client.post("/admin/metrics/_dash-update-component", json=body)
        assert response.status_code == 200
        answers[search] = response.get_json()["response"]
    notes = {s: str(a[ids.NOTES]["children"]) for s, a in answers.items()}
    assert "Source" not in notes["?range=7"]
    assert (
        "Source: All" in notes["?range=7&source=all"] and "Source: b" in notes["?range=7&source=b"]
    )
    tags = {s: _series(a[ids.graph("tag_count")]["figure"]) for s, a in answers.items()}
    assert list(tags["?range=7&source=all"].values()) == [[5] * 6]
    assert tags["?range=7&source=all"] == tags["?range=7"]
    assert "layout" in answers["?range=7&source=b"][ids.graph("tag_count")]["figure"]
    assert tags["?range=7&source=b"] == {}  # source b holds none of the six: no data


def _choices(client: FlaskClient, search: str, changed: str, **controls: Any) -> dict[str, Any]:
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    values = {
        ("url", "search"): search,
        (ids.SOURCE, "value"): controls.get("source", "default"),
        (ids.EXTRAS_CHOOSER, "value"): controls.get("extras", ["messages", "by_model", "latency"]),
        (ids.label_filter("by_model"), "value"): controls.get("labels", []),
        ("latest-slot", "data"): "seen",
    }
    body = callback_request(deps, f"{ids.EXTRAS_CHOOSER}.value", values, changed)
    response = client.post("/admin/metrics/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]  # type: ignore[no-any-return]


def test_the_choices_and_the_url_follow_each_other(client: FlaskClient) -> None:
    loaded = _choices(client, "?range=30&source=all&extras=latency&label=by_model:m1", "url.search")
    assert loaded[ids.SOURCE]["value"] == "all"
    assert loaded[ids.EXTRAS_CHOOSER]["value"] == ["latency"]
    assert loaded[ids.label_filter("by_model")]["value"] == ["m1"]

    off = _choices(client, "?range=30", f"{ids.EXTRAS_CHOOSER}.value", extras=["messages"])
    search = off["url"]["search"]
    assert parse_query(search) == ViewState("30", extras=("messages",))
    picked = _choices(client, search, f"{ids.SOURCE}.value", source="all", extras=["messages"])
    assert parse_query(picked["url"]["search"]).source == "all"
    filtered = _choices(
        client, "?range=7", f"{ids.label_filter('by_model')}.value", labels=["m3", "m1"]
    )
    assert parse_query(filtered["url"]["search"]).labels == (("by_model", ("m3", "m1")),)

    # Choosing what is shown keeps the zoom of the time axis.
    zoomed = "?range=7&zoom_start=2026-11-02T09:00&zoom_end=2026-11-03T09:00"
    kept = _choices(client, zoomed, f"{ids.EXTRAS_CHOOSER}.value", extras=["latency"])
    assert "zoom_start=2026-11-02T09%3A00&zoom_end=2026-11-03T09%3A00" in kept["url"]["search"]


def test_a_source_the_store_does_not_hold_falls_back_to_the_default(client: FlaskClient) -> None:
    held = _choices(client, "?range=7&source=b", "url.search")
    assert held[ids.SOURCE]["value"] == "b" and "url" not in held
    stale = _choices(client, "?range=7&source=gone", "url.search", source="b")
    assert stale[ids.SOURCE]["value"] == "default"
    assert parse_query(stale["url"]["search"]) == ViewState()
    # Only what differs is sent: a control that already shows it is left alone.
    shown = _choices(client, "?range=7&source=gone", "url.search")
    assert ids.SOURCE not in shown and parse_query(shown["url"]["search"]) == ViewState()

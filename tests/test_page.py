"""The page's URL state (pure) and its render callback through Flask on both stores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from dashboard.page import ids
from dashboard.page.view_state import (
    ViewState,
    from_controls,
    parse_query,
    resolve_periods,
    resolve_timezone,
    search_of,
)
from db.metrics import METRIC_IDS
from db.periods import (
    aligned_comparison,
    custom_window,
    first_kept_slot,
    preset_window,
    previous_window,
)
from tests.support import PAGE_URL, callback_request, render_request, seed_history

NOW = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)


# --- URL state ------------------------------------------------------------------------------
def test_state_round_trips_through_the_query_string() -> None:
    state = ViewState(
        "custom",
        date(2026, 11, 1),
        date(2026, 11, 10),
        "daily",
        "custom",
        date(2026, 10, 1),
        date(2026, 10, 10),
    )
    assert parse_query(state.to_query()) == state
    assert parse_query("") == ViewState()
    assert parse_query("?range=30&granularity=daily&compare=previous") == ViewState(
        "30", granularity="daily", compare="previous"
    )


@pytest.mark.parametrize(
    "search",
    [
        "?range=12",
        "?granularity=weekly",
        "?range=custom&start=2026-11-10&end=2026-11-01",
        "?range=custom&start=nonsense&end=2026-11-01",
        "?range=custom&start=2020-01-01&end=2026-11-01",
        "?compare=sideways",
    ],
)
def test_malformed_query_falls_back_and_is_flagged(search: str) -> None:
    state = parse_query(search)
    assert state.invalid
    assert state.range in ("7", "30", "90") or state.start is not None


def test_picking_dates_selects_custom_and_a_preset_clears_them() -> None:
    common: dict[str, Any] = {
        "granularity": "hourly",
        "compare_on": False,
        "compare_mode": "previous",
        "compare_start": None,
        "compare_end": None,
    }
    picked = from_controls(
        range_value="7", start="2026-11-01", end="2026-11-03", picked_dates=True, **common
    )
    assert (picked.range, picked.start, picked.end) == (
        "custom",
        date(2026, 11, 1),
        date(2026, 11, 3),
    )
    preset = from_controls(range_value="30", start="2026-11-01", end="2026-11-03", **common)
    assert (preset.range, preset.start) == ("30", None)
    half = from_controls(range_value="7", start="2026-11-01", end=None, picked_dates=True, **common)
    assert half.range == "7"  # an unfinished custom choice keeps the view valid


def test_view_periods_are_the_db_periods() -> None:
    """The page does no period arithmetic of its own (the rules: tests/test_periods.py):
    hourly views count in the viewer's zone, daily ones in the business zone."""
    kwargs: dict[str, Any] = {"now": NOW, "hourly_retention_days": 30, "daily_retention_days": 90}
    hourly = resolve_periods(ViewState("7", compare="previous"), tz="Asia/Seoul", **kwargs)
    current = preset_window("7", "hourly", now=NOW, zone="Asia/Seoul")
    assert hourly.current == current
    assert hourly.previous == previous_window("7", current, "hourly", "Asia/Seoul")
    assert hourly.offset == current.start - hourly.previous.start
    assert not hourly.clipped
    custom = ViewState("custom", date(2026, 11, 1), date(2026, 11, 2), granularity="daily")
    daily = resolve_periods(custom, tz="America/New_York", business_tz="Asia/Seoul", **kwargs)
    assert daily.current == custom_window(
        date(2026, 11, 1), date(2026, 11, 2), "daily", "Asia/Seoul"
    )
    assert daily.calendar_zone == "Asia/Seoul"
    aligned = resolve_periods(
        ViewState(
            "7",
            compare="custom",
            compare_start=date(2026, 11, 1),
            compare_end=date(2026, 11, 7),
            compare_align="weekday",
        ),
        tz="UTC",
        **kwargs,
    )
    week = preset_window("7", "hourly", now=NOW, zone="UTC")
    assert aligned.previous == aligned_comparison(
        week, date(2026, 11, 1), "hourly", "UTC", "weekday"
    )


def test_hourly_range_past_retention_is_clipped() -> None:
    periods = resolve_periods(
        ViewState("90"), now=NOW, tz="UTC", hourly_retention_days=30, daily_retention_days=90
    )
    assert periods.clipped and periods.current_clipped
    assert periods.current.start == first_kept_slot(NOW, 30, "hourly", "UTC")
    assert periods.requested == preset_window("90", "hourly", now=NOW, zone="UTC")
    daily = resolve_periods(
        ViewState("90", granularity="daily"),
        now=NOW,
        tz="UTC",
        hourly_retention_days=30,
        daily_retention_days=90,
    )
    assert not daily.clipped
    compare = resolve_periods(
        ViewState("30", compare="previous"),
        now=NOW,
        tz="UTC",
        hourly_retention_days=30,
        daily_retention_days=90,
    )
    # The previous 30 days lie beyond 30 days of hourly retention but for the one slot that
    # contains "now − 30 days": flagged, so the page explains it.
    assert compare.previous_clipped and not compare.current_clipped
    assert compare.previous is not None
    assert compare.previous.start == first_kept_slot(NOW, 30, "hourly", "UTC")


@pytest.mark.parametrize("preset", ["24h", "today", "week", "month", "7", "30", "90"])
def test_short_presets_are_accepted(preset: str) -> None:
    state = parse_query(f"?range={preset}&granularity=hourly")
    assert (state.range, state.invalid) == (preset, False)
    assert parse_query(state.to_query()) == state


def test_ignored_parameters_are_named() -> None:
    state = parse_query("?range=12&granularity=weekly&compare=custom&compare_align=moon")
    assert state.ignored == ("granularity", "range", "compare_start/compare_end", "compare_align")
    aligned = parse_query(
        "?compare=custom&compare_start=2026-11-01&compare_end=2026-11-07&compare_align=weekday"
    )
    assert (aligned.compare_align, aligned.invalid) == ("weekday", False)
    assert parse_query(aligned.to_query()) == aligned


def test_unknown_time_zone_falls_back() -> None:
    assert resolve_timezone("Asia/Seoul", "UTC") == "Asia/Seoul"
    assert resolve_timezone("Mars/Olympus", "UTC") == "UTC"
    assert resolve_timezone(None, "Asia/Seoul") == "Asia/Seoul"


@pytest.mark.parametrize(
    ("href", "search"),
    [
        ("http://host/admin/metrics/", ""),
        ("http://host/admin/metrics/?range=30&granularity=daily", "?range=30&granularity=daily"),
        ("https://host:8443/sub/admin/metrics/?range=7#top", "?range=7"),
        ("http://host/admin/metrics/?", ""),
        ("", ""),
        (None, ""),
        (42, ""),
    ],
)
def test_the_graphs_read_the_query_of_the_address(href: object, search: str) -> None:
    assert search_of(href) == search


# --- the controls over HTTP -----------------------------------------------------------------
def _props(node: Any, component_id: str) -> dict[str, Any] | None:
    """The props of the component ``component_id`` in a ``_dash-layout`` tree."""
    if isinstance(node, list):
        return next((p for n in node if (p := _props(n, component_id)) is not None), None)
    if not isinstance(node, dict) or "props" not in node:
        return None
    props: dict[str, Any] = node["props"]
    return props if props.get("id") == component_id else _props(props.get("children"), component_id)


def _sync_controls(app: Flask, client: FlaskClient, search: str) -> dict[str, Any]:
    """What ``sync_controls`` sends on page load of ``search``, the controls as the layout
    shows them, in the default zone."""
    layout = client.get("/admin/metrics/_dash-layout").get_json()
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    callback = next(d for d in deps if f"{ids.DATE_RANGE}.max_date_allowed" in d["output"])
    values = {
        (i["id"], i["property"]): (_props(layout, i["id"]) or {}).get(i["property"])
        for i in [*callback["inputs"], *callback["state"]]
    }
    values[("url", "search")] = search
    values[(ids.TIMEZONE, "data")] = get_context(app).settings.default_timezone
    body = callback_request(deps, f"{ids.DATE_RANGE}.max_date_allowed", values)
    answer = client.post("/admin/metrics/_dash-update-component", json=body)
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)[:300]
    return answer.get_json()["response"] if answer.status_code == 200 else {}


def test_a_plain_page_load_sends_the_controls_nothing(
    app: Flask, admin_client: FlaskClient
) -> None:
    """The layout shows the default view's days and limits in the default zone, so on its
    load the URL-to-controls callback has nothing to send (each prop sent is a redraw); a
    link's view sends only what differs from it."""
    assert _sync_controls(app, admin_client, "") == {}
    monthly = _sync_controls(app, admin_client, "?range=30")
    assert monthly[ids.RANGE_PRESET] == {"value": "30"}
    assert set(monthly[ids.DATE_RANGE]) == {"start_date"}  # same end, same allowed days
    daily = _sync_controls(app, admin_client, "?range=30&granularity=daily")
    assert {"start_date", "min_date_allowed"} <= set(daily[ids.DATE_RANGE])
    assert "url" not in daily  # the URL set the controls: it is not written back


# --- the render callback over HTTP ----------------------------------------------------------
def _render(client: FlaskClient, search: str, **kwargs: Any) -> dict[str, Any]:
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    response = client.post(
        "/admin/metrics/_dash-update-component", json=render_request(deps, search=search, **kwargs)
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


def test_one_callback_renders_six_graphs_and_cards(
    app: Flask, admin_client: FlaskClient, store_url: str
) -> None:
    seed_history(store_url, hourly_days=10, daily_days=20)
    out = _render(admin_client, "?range=7&granularity=hourly&compare=previous")
    for metric in METRIC_IDS:
        figure = out[ids.graph(metric)]["figure"]
        roles = [(tr["meta"]["role"], tr["meta"]["period"]) for tr in figure["data"]]
        assert ("series", 1) in roles and ("series", 2) in roles
        assert ("gap", 1) in roles  # the seeded history has missing slots
        assert out[ids.card(metric)]["children"]
    assert out[ids.LOAD_ERROR]["is_open"] is False


def test_an_unchanged_layout_is_not_sent_again(
    app: Flask, admin_client: FlaskClient, store_url: str
) -> None:
    """The browser sends the layout keys of what it shows: a graph whose layout is the same
    but for its x axis gets only its traces and x axis (a Patch); another layout (a theme)
    comes whole."""
    seed_history(store_url, hourly_days=10, daily_days=20)
    first = _render(admin_client, "?range=7&granularity=hourly")
    layouts = first[ids.GRAPH_LAYOUTS]["data"]
    assert len(layouts) == len(METRIC_IDS) and len(set(layouts)) == len(METRIC_IDS)

    again = _render(admin_client, "?range=7&granularity=hourly", layouts=layouts)
    assert again[ids.GRAPH_LAYOUTS]["data"] == layouts
    for metric in METRIC_IDS:
        whole = first[ids.graph(metric)]["figure"]
        patch = again[ids.graph(metric)]["figure"]
        assert "layout" not in patch and patch["__dash_patch_update"]
        changed = {tuple(op["location"]): op["params"]["value"] for op in patch["operations"]}
        assert changed == {
            ("data",): whole["data"],
            ("layout", "xaxis"): whole["layout"]["xaxis"],
        }

    # Another range of the same shape (hourly, no comparison): a graph whose y axis and unit
    # stay (the user counts) gets traces and x axis only, one whose unit changes is whole.
    month = _render(admin_client, "?range=30&granularity=hourly", layouts=layouts)
    month_layouts = month[ids.GRAPH_LAYOUTS]["data"]
    assert month_layouts[0] == layouts[0]
    for metric, old, new in zip(METRIC_IDS, layouts, month_layouts, strict=True):
        assert ("operations" in month[ids.graph(metric)]["figure"]) == (old == new)

    dark = _render(admin_client, "?range=7&granularity=hourly", layouts=layouts, theme="dark")
    assert all(a != b for a, b in zip(dark[ids.GRAPH_LAYOUTS]["data"], layouts, strict=True))
    assert "layout" in dark[ids.graph("active_users")]["figure"]


def test_render_before_any_collection_shows_the_empty_state(admin_client: FlaskClient) -> None:
    out = _render(admin_client, "?range=7", tz="UTC")
    figure = out[ids.graph("tag_count")]["figure"]
    text = figure["layout"]["annotations"][0]["text"]
    assert "데이터 수집 중입니다" in text and "에 표시됩니다" in text


def test_render_callback_needs_an_admin(
    anon_client: FlaskClient, viewer_client: FlaskClient, admin_client: FlaskClient
) -> None:
    deps = admin_client.get("/admin/metrics/_dash-dependencies").get_json()
    body = render_request(deps, search="?range=7")
    url = "/admin/metrics/_dash-update-component"
    assert anon_client.post(url, json=body).status_code == 401
    assert viewer_client.post(url, json=body).status_code in (401, 403)


def test_refresh_check_redraws_only_when_a_new_slot_landed(
    admin_client: FlaskClient, store_url: str
) -> None:
    newest = seed_history(store_url, hourly_days=2, daily_days=2)
    deps = admin_client.get("/admin/metrics/_dash-dependencies").get_json()
    check = next(d for d in deps if d["output"] == f"{ids.LATEST_SLOT}.data")

    def tick(seen: str | None) -> Any:
        return admin_client.post(
            "/admin/metrics/_dash-update-component",
            json={
                "output": check["output"],
                "outputs": {"id": ids.LATEST_SLOT, "property": "data"},
                "inputs": [{**check["inputs"][0], "value": 3}],
                "state": [{**check["state"][0], "value": seen}],
                "changedPropIds": [f"{ids.REFRESH_INTERVAL}.n_intervals"],
            },
        )

    first = tick(None)
    assert first.status_code == 200
    marker = first.get_json()["response"][ids.LATEST_SLOT]["data"]
    assert str(newest.year) in marker
    again = tick(marker)  # nothing new: the store is not updated, so nothing redraws
    assert again.status_code in (200, 204)
    assert again.status_code == 204 or again.get_json()["response"] == {}


def _table_request(
    deps: list[dict[str, Any]], clicks: dict[str, int], changed: str | None = None
) -> dict[str, Any]:
    """The browser's call of the tables callback with the six toggles clicked so often, after
    ``changed`` (default: the storage graph's toggle)."""
    callback = next(d for d in deps if '"table-view"' in d["output"])

    def pattern(kind: str, prop: str) -> list[dict[str, Any]]:
        return [{"id": {"metric": m, "type": kind}, "property": prop} for m in METRIC_IDS]

    toggles = pattern("table-toggle", "n_clicks")
    for toggle in toggles:
        if toggle["id"]["metric"] in clicks:  # never clicked: no value, as the browser sends
            toggle["value"] = clicks[toggle["id"]["metric"]]

    return {
        "output": callback["output"],
        "outputs": [
            pattern("table-view", "children"),
            pattern("table-toggle", "children"),
            pattern("table-toggle", "aria-expanded"),
        ],
        "inputs": [
            toggles,
            {"id": "url", "property": "href", "value": PAGE_URL + "?range=7&granularity=hourly"},
            {"id": "viewer-timezone", "property": "data", "value": "UTC"},
            {"id": "latest-slot", "property": "data", "value": None},
        ],
        "state": [{"id": "page-lang", "property": "data", "value": "en"}],
        "changedPropIds": [changed or '{"metric":"storage_bytes","type":"table-toggle"}.n_clicks'],
    }


def test_one_callback_opens_each_graphs_table(
    app: Flask, admin_client: FlaskClient, store_url: str
) -> None:
    """The tables of all six graphs are one callback (none fires while the page loads): a
    toggle clicked an odd number of times shows its graph's points, the others stay closed."""
    seed_history(store_url, hourly_days=8, daily_days=3)
    deps = admin_client.get("/admin/metrics/_dash-dependencies").get_json()
    body = _table_request(deps, {"storage_bytes": 1, "tag_count": 2})
    answer = admin_client.post("/admin/metrics/_dash-update-component", json=body)
    assert answer.status_code == 200
    outputs = answer.get_json()["response"]

    def of(kind: str, metric: str) -> dict[str, Any]:
        key = '{"metric":"%s","type":"%s"}' % (metric, kind)  # noqa: UP031 - Dash's key form
        return outputs[key]  # type: ignore[no-any-return]

    for metric in METRIC_IDS:
        opened = metric == "storage_bytes"
        assert of("table-toggle", metric)["aria-expanded"] == ("true" if opened else "false")
        view = of("table-view", metric)["children"]
        assert (view != []) is opened
    table = str(of("table-view", "storage_bytes")["children"])
    assert "Tbody" in table and table.count("'Tr'") > 100  # 7 days of hourly rows

    # The page loads, or its range changes, with every table closed: nothing to redraw.
    for changed in ("url.href", "viewer-timezone.data"):
        closed = _table_request(deps, {"tag_count": 2}, changed)
        answer = admin_client.post("/admin/metrics/_dash-update-component", json=closed)
        assert answer.status_code == 204, changed
    # A table closed by its toggle is an answer (its label and aria-expanded change back).
    closed = _table_request(deps, {"storage_bytes": 2})
    answer = admin_client.post("/admin/metrics/_dash-update-component", json=closed)
    assert answer.status_code == 200
    assert (
        of("table-toggle", "storage_bytes")
        != answer.get_json()["response"]['{"metric":"storage_bytes","type":"table-toggle"}']
    )

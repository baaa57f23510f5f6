"""The Dash endpoint's body check: a well-formed call of any registered callback passes
(pattern-matching ones included), anything else is named."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.page.dash_requests import callback_body_problem

EDIT = '{"index":["ALL"],"type":"edit"}'
TABLE = '{"metric":["MATCH"],"type":"table"}'
CALLBACKS: dict[str, Any] = {
    "title.children": {
        "inputs": [{"id": EDIT, "property": "n_clicks"}, {"id": "clear", "property": "n_clicks"}],
        "state": [],
    },
    f"{TABLE}.children": {
        "inputs": [{"id": TABLE.replace("table", "toggle"), "property": "n"}],
        "state": [],
    },
}


def _edit_body(ids: list[Any], changed: list[str]) -> dict[str, Any]:
    return {
        "output": "title.children",
        "outputs": {"id": "title", "property": "children"},
        "inputs": [
            [{"id": i, "property": "n_clicks", "value": 1} for i in ids],
            {"id": "clear", "property": "n_clicks"},
        ],
        "changedPropIds": changed,
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (_edit_body([{"index": 3, "type": "edit"}], ['{"index":3,"type":"edit"}.n_clicks']), None),
        (_edit_body([], ["clear.n_clicks"]), None),
        (_edit_body([{"index": 3, "type": "other"}], []), "inputs do not match the callback"),
        (_edit_body([{"index": 3}], []), "inputs do not match the callback"),
        (
            _edit_body([{"index": 3, "type": "edit"}], ['{"index":3,"type":"x"}.n_clicks']),
            "changedPropIds do not match the inputs",
        ),
        (
            {
                "output": f"{TABLE}.children",
                "outputs": {"id": {"metric": "tag_count", "type": "table"}, "property": "children"},
                "inputs": [{"id": {"metric": "tag_count", "type": "toggle"}, "property": "n"}],
            },
            None,
        ),
        (
            {
                "output": f"{TABLE}.children",
                "outputs": {
                    "id": {"metric": "tag_count", "type": "toggle"},
                    "property": "children",
                },
                "inputs": [{"id": {"metric": "tag_count", "type": "toggle"}, "property": "n"}],
            },
            "outputs do not match the callback",
        ),
        ([], "the body is not a JSON object"),
        ({"output": "nope.children"}, "unknown callback output"),
    ],
)
def test_callback_bodies_are_checked_against_the_registered_callbacks(
    body: object, problem: str | None
) -> None:
    assert callback_body_problem(body, CALLBACKS) == problem

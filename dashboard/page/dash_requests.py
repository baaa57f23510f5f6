"""Dash's callback endpoint answers a malformed request with a 400 JSON message.

Dash trusts the body of ``_dash-update-component``: a missing key, an unknown output or a
list where it expects an object is a ``KeyError``/``TypeError`` inside Dash, i.e. a 500 with
a traceback. The browser only ever sends what ``_dash-dependencies`` describes, so anything
else is refused here, before Dash sees it: the body must name a registered callback and
list exactly its outputs, inputs and state (ids and properties); only the values are free.
The callbacks themselves then cope with any JSON value (see the page's input coercion).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from flask import Response, jsonify, request

from dashboard.context import request_language
from dashboard.i18n import t

log = logging.getLogger(__name__)

UPDATE_PATH: Final = "_dash-update-component"


Declared = tuple[str | dict[str, Any], str]  # (component id, property)
_WILDCARDS: Final = (["MATCH"], ["ALL"], ["ALLSMALLER"])
_MANY: Final = (["ALL"], ["ALLSMALLER"])


def _component(raw: str) -> str | dict[str, Any]:
    """A declared id: a plain string, or a pattern-matching id (JSON with wildcards)."""
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(parsed, dict):
            return parsed
    return raw


def _declared(items: list[dict[str, str]]) -> list[Declared]:
    return [(_component(i["id"]), i["property"]) for i in items]


def _declared_outputs(output: str) -> list[Declared]:
    """``"..a.b...c.d.."`` (several outputs) or ``"a.b"`` → ``[("a", "b"), ("c", "d")]``."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [(_component(part.rpartition(".")[0]), part.rpartition(".")[2]) for part in parts]


def _id_matches(sent: object, declared: str | dict[str, Any]) -> bool:
    if isinstance(declared, str):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    for key, want in declared.items():
        got = sent[key]
        if want in _WILDCARDS:
            if not isinstance(got, str | int | float | bool):  # a concrete key value
                return False
        elif got != want:
            return False
    return True


def _one_matches(item: object, component: str | dict[str, Any], prop: str) -> bool:
    return (
        isinstance(item, dict)
        and item.get("property") == prop
        and _id_matches(item.get("id"), component)
    )


def _item_matches(item: object, component: str | dict[str, Any], prop: str) -> bool:
    """One declared dependency: an object, or (ALL / ALLSMALLER) a list of objects."""
    if isinstance(component, dict) and any(v in _MANY for v in component.values()):
        return isinstance(item, list) and all(_one_matches(i, component, prop) for i in item)
    return _one_matches(item, component, prop)


def _same_items(sent: object, declared: list[Declared]) -> bool:
    """The same ids and properties in the same order (a ``value`` is left out by the
    browser when the property is still undefined, e.g. a button never clicked)."""
    if not isinstance(sent, list) or len(sent) != len(declared):
        return False
    return all(
        _item_matches(item, component, prop)
        for item, (component, prop) in zip(sent, declared, strict=True)
    )


def _changed_ok(changed: object, inputs: list[Declared]) -> bool:
    """``changedPropIds``: ``id.prop`` strings naming declared inputs (Dash parses a JSON id
    there with ``json.loads`` when a callback asks for ``triggered_id``)."""
    if not isinstance(changed, list):
        return False
    for entry in changed:
        if not isinstance(entry, str) or len(entry) > 1000:
            return False
        raw, _, prop = entry.rpartition(".")
        try:
            sent: object = json.loads(raw) if raw.startswith("{") else raw
        except ValueError:
            return False
        if not any(p == prop and _id_matches(sent, c) for c, p in inputs):
            return False
    return True


def callback_body_problem(body: object, callback_map: Mapping[str, Any]) -> str | None:
    """None when ``body`` is a well-formed call of a registered callback, else the reason."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "unknown callback output"
    callback = callback_map[output]
    inputs = _declared(callback["inputs"])
    if not _same_items(body.get("inputs"), inputs):
        return "inputs do not match the callback"
    if not _same_items(body.get("state", []), _declared(callback["state"])):
        return "state does not match the callback"
    if not callback.get("no_output"):
        outputs = _declared_outputs(output)
        sent = body.get("outputs")
        if not _same_items(sent if output.startswith("..") else [sent], outputs):
            return "outputs do not match the callback"
    if not _changed_ok(body.get("changedPropIds", []), inputs):
        return "changedPropIds do not name the inputs"
    return None


def callback_request_check(
    callback_map: Callable[[], Mapping[str, Any]], base_path: str
) -> Callable[[], Response | None]:
    """A ``before_request`` hook (registered after the sign-in guard) for Dash's endpoint."""
    path = base_path + UPDATE_PATH

    def check() -> Response | None:
        if request.path != path or request.method != "POST":
            return None
        problem = callback_body_problem(request.get_json(silent=True), callback_map())
        if problem is None:
            return None
        log.info("Refused Dash callback request: %s", problem)
        response = jsonify(
            {"error": t("dash.bad_request", request_language()), "code": "DASH_BAD_REQUEST"}
        )
        response.status_code = 400
        response.headers["Cache-Control"] = "no-store"
        return response

    return check

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


def _declared_outputs(output: str) -> list[tuple[str, str]]:
    """``"..a.b...c.d.."`` (several outputs) or ``"a.b"`` → ``[("a", "b"), ("c", "d")]``."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    pairs = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        pairs.append((component, prop))
    return pairs


def _pattern(component: str) -> dict[str, Any] | None:
    """The declared id of a pattern-matching callback (``{"index": ["ALL"], "type": …}``)."""
    if not component.startswith("{"):
        return None
    try:
        parsed = json.loads(component)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _same_id(sent: object, component: str, pattern: dict[str, Any] | None) -> bool:
    """A plain id must be equal; a pattern's concrete id has the same keys, and the same
    values where the pattern has no wildcard (``["ALL"]``, ``["MATCH"]``, ...)."""
    if pattern is None:
        return sent == component
    if not isinstance(sent, dict) or sent.keys() != pattern.keys():
        return False
    return all(isinstance(v, list) or sent[k] == v for k, v in pattern.items())


def _same_item(item: object, component: str, prop: str) -> bool:
    pattern = _pattern(component)
    if pattern is not None and isinstance(item, list):  # ALL / ALLSMALLER: one per match
        return all(_same_item(i, component, prop) for i in item)
    if not isinstance(item, dict):
        return False
    return _same_id(item.get("id"), component, pattern) and item.get("property") == prop


def _same_items(sent: object, declared: list[tuple[str, str]]) -> bool:
    """The same ids and properties in the same order (a ``value`` is left out by the
    browser when the property is still undefined, e.g. a button never clicked)."""
    if not isinstance(sent, list) or len(sent) != len(declared):
        return False
    return all(
        _same_item(item, component, prop)
        for item, (component, prop) in zip(sent, declared, strict=True)
    )


def _known_change(changed: object, inputs: list[tuple[str, str]]) -> bool:
    """``changedPropIds`` entry: ``id.prop`` of an input (a pattern's concrete id in JSON)."""
    if not isinstance(changed, str):
        return False
    component, _, prop = changed.rpartition(".")
    for declared, declared_prop in inputs:
        if prop != declared_prop:
            continue
        pattern = _pattern(declared)
        if pattern is None and component == declared:
            return True
        if pattern is not None:
            try:
                concrete = json.loads(component)
            except ValueError:
                continue
            if _same_id(concrete, declared, pattern):
                return True
    return False


def callback_body_problem(body: object, callback_map: Mapping[str, Any]) -> str | None:
    """None when ``body`` is a well-formed call of a registered callback, else the reason."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "unknown callback output"
    callback = callback_map[output]
    inputs = [(i["id"], i["property"]) for i in callback["inputs"]]
    state = [(s["id"], s["property"]) for s in callback["state"]]
    if not _same_items(body.get("inputs"), inputs):
        return "inputs do not match the callback"
    if not _same_items(body.get("state", []), state):
        return "state does not match the callback"
    outputs = _declared_outputs(output)
    sent = body.get("outputs")
    if callback.get("no_output"):
        pass
    elif output.startswith(".."):
        if not _same_items(sent, outputs):
            return "outputs do not match the callback"
    elif not _same_items([sent], outputs):
        return "outputs do not match the callback"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(_known_change(c, inputs) for c in changed):
        return "changedPropIds do not match the inputs"
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

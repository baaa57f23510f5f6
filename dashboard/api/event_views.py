"""API v1 resource of events (annotations): ``/events``.

Thin views: a strict JSON body (``event_schemas``) or the range query → one ``db.events``
call → JSON (``EventRecord.to_json``). ``EventError`` becomes ``EVENT_INVALID`` (400) and
``EventNotFound`` ``EVENT_NOT_FOUND`` (404). Automatic events (outages, alert firings) have no
id, so they can be read but never changed. Every change is audited with the signed-in admin.
Like the rest of the API they sit behind the app-wide admin guard; the routes go on the API
blueprint explicitly (``add_event_routes``), so they share its error handling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError

from alerts.rules import validation_message
from dashboard.api.errors import ApiProblem, problem_from_validation
from dashboard.api.event_schemas import EventDraft, EventPatch, EventsQuery
from dashboard.api.schemas import ValidationSettings
from dashboard.context import get_context, record_audit
from db import audit
from db import events as store
from db.events import EventError, EventNotFound

M = TypeVar("M", bound=BaseModel)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _as_problem() -> Iterator[None]:
    try:
        yield
    except EventNotFound as exc:
        raise ApiProblem("EVENT_NOT_FOUND", detail=str(exc)) from None
    except EventError as exc:
        raise ApiProblem("EVENT_INVALID", detail=str(exc)) from None


def _body(model: type[M]) -> M:
    if not request.is_json:  # also keeps cross-site form posts out (session cookies)
        raise ApiProblem("EVENT_INVALID", detail="send a JSON object (application/json)")
    try:
        return model.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        raise ApiProblem("EVENT_INVALID", detail=validation_message(exc)) from None


def list_events() -> Response:
    ctx = get_context()
    try:
        query = EventsQuery.model_validate(
            request.args.to_dict(), context=ValidationSettings.of(ctx.settings, _now())
        )
    except ValidationError as exc:
        raise problem_from_validation(exc) from None
    start, end = query.window
    with ctx.session() as session:
        events = store.list_events(session, start, end, automatic=query.automatic)
    return jsonify(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "events": [event.to_json() for event in events],
        }
    )


def create_event() -> tuple[Response, int, dict[str, str]]:
    ctx = get_context()
    draft = _body(EventDraft)
    with _as_problem(), ctx.session() as session:
        event = store.add_event(
            session,
            start=draft.start,
            end=draft.end,
            title=draft.title,
            kind=draft.kind,
            description=draft.description,
            created_by=current_user.username,
        )
        record_audit(session, audit.EVENT_CREATED, details=store.audit_details(event))
    location = ctx.url(f"api/v1/events/{event.id}")
    return jsonify(event.to_json()), 201, {"Location": location}


def get_event(event_id: int) -> Response:
    with get_context().session() as session:
        event = store.get_event(session, event_id)
    if event is None:
        raise ApiProblem("EVENT_NOT_FOUND", detail=f"no event with id {event_id}")
    return jsonify(event.to_json())


def patch_event(event_id: int) -> Response:
    patch = _body(EventPatch)
    with _as_problem(), get_context().session() as session:
        event = store.update_event(session, event_id, now=_now(), **patch.changes)
        details = store.audit_details(event, changed=sorted(patch.changes))
        record_audit(session, audit.EVENT_UPDATED, details=details)
    return jsonify(event.to_json())


def delete_event(event_id: int) -> tuple[str, int]:
    with _as_problem(), get_context().session() as session:
        event = store.delete_event(session, event_id)
        record_audit(session, audit.EVENT_DELETED, details=store.audit_details(event))
    return "", 204


ROUTES: tuple[tuple[str, str, Callable[..., Any], str], ...] = (
    ("/events", "GET", list_events, "events"),
    ("/events", "POST", create_event, "event_create"),
    ("/events/<int:event_id>", "GET", get_event, "event"),
    ("/events/<int:event_id>", "PATCH", patch_event, "event_patch"),
    ("/events/<int:event_id>", "DELETE", delete_event, "event_delete"),
)


def add_event_routes(bp: Blueprint) -> None:
    """Put the events resource on the API blueprint (before it is registered)."""
    for rule, method, view, endpoint in ROUTES:
        bp.add_url_rule(rule, endpoint, view, methods=[method])

"""Callbacks of the events card: thin — read the form, one ``db.events`` call (audited),
redraw. Every change bumps ``EVENTS_VERSION``, which redraws the list and the graphs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashboard.context import AppContext, record_audit
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.events_panel import LOCAL_INPUT_FORMAT, events_table, local_input_value
from dashboard.page.view_state import page_language, resolve_timezone, resolve_view, search_of
from dashboard.reports.event_marks import load_chart_events
from db import audit
from db import events as store
from db.engine import STORE_ERRORS
from db.events import EventError, EventNotFound, EventRecord
from db.metrics import METRIC_IDS

log = logging.getLogger(__name__)
FORM_FIELDS = (ids.EVENT_TITLE, ids.EVENT_KIND, ids.EVENT_START, ids.EVENT_END)


def _index(value: object) -> int | None:
    """An event id from a pattern-matching button id or a store (None when it is not one)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    return None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_local(value: object, tz: str) -> datetime | None:
    """A ``datetime-local`` input's value (wall-clock time of ``tz``) as aware UTC; None when
    empty or not such a value (the browser can send any JSON)."""
    text = _text(value)[:19]
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None or not 1 < moment.year < 9999:
        return None
    return moment.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def clicked_time(click: object) -> str:
    """The time of a click on a graph (``clickData``) as a datetime-local value, or ''."""
    try:
        x = click["points"][0]["x"]  # type: ignore[index]
        moment = datetime.fromisoformat(str(x)[:16])
    except (TypeError, KeyError, IndexError, ValueError):
        return ""
    return moment.strftime(LOCAL_INPUT_FORMAT) if 1 < moment.year < 9999 else ""


def _form_values(event: EventRecord, tz: str) -> tuple[Any, ...]:
    return (
        event.title,
        event.kind,
        local_input_value(event.start, tz),
        local_input_value(event.end, tz),
        event.description or "",
    )


def register_event_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    settings = ctx.settings

    @app.callback(
        Output(ids.EVENTS_LIST, "children"),
        Input(ids.URL, "href"),
        Input(ids.TIMEZONE, "data"),
        Input(ids.EVENTS_VERSION, "data"),
        Input(ids.LATEST_SLOT, "data"),
        State(ids.LANG, "data"),
    )
    def show_events(
        href: str | None, tz_name: str | None, _version: Any, _slot: Any, lang: str
    ) -> Any:
        """The events of the range on screen (the same as marked on the graphs)."""
        lang = page_language(lang, settings.default_language)
        tz, _state, periods = resolve_view(search_of(href), tz_name, settings, datetime.now(UTC))
        try:
            with ctx.session() as session:
                events = load_chart_events(
                    session, periods.requested.start, periods.requested.end, lang
                )
        except STORE_ERRORS:
            raise  # the app's answer: 503 and one log line; the page shows its message
        except Exception:
            log.exception("Dashboard: loading events failed")
            return html.P(t("dash.load_failed", lang), className="small text-danger mb-0")
        return events_table(events, tz, lang)

    @app.callback(
        Output(ids.EVENT_FORM, "is_open"),
        Output(ids.EVENT_FORM_TITLE, "children"),
        Output(ids.EVENT_EDIT_ID, "data"),
        Output(ids.EVENT_TITLE, "value"),
        Output(ids.EVENT_KIND, "value"),
        Output(ids.EVENT_START, "value"),
        Output(ids.EVENT_END, "value"),
        Output(ids.EVENT_DESCRIPTION, "value"),
        Output(ids.EVENT_FEEDBACK, "children"),
        Input(ids.EVENT_ADD, "n_clicks"),
        Input({"type": ids.EVENT_EDIT_BUTTON, "index": ALL}, "n_clicks"),
        *[Input(ids.graph(m), "clickData") for m in METRIC_IDS],
        State(ids.TIMEZONE, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def open_form(_add: Any, _edits: Any, *rest: Any) -> Any:
        """Open the dialog: blank (now), at the clicked time of a graph, or filled from the
        event whose edit button was pressed."""
        *clicks, tz_name, lang = rest
        lang = page_language(lang, settings.default_language)
        tz = resolve_timezone(tz_name, settings.default_timezone)
        trigger = dash.ctx.triggered_id
        if not dash.ctx.triggered or not dash.ctx.triggered[0]["value"]:
            raise PreventUpdate  # a redraw of the list, not a click
        if isinstance(trigger, dict):
            index = _index(trigger.get("index"))
            with ctx.session() as session:
                event = store.get_event(session, index) if index is not None else None
            if event is None:
                raise PreventUpdate
            title = t("events.form.edit", lang).format(title=event.title)
            return (True, title, event.id, *_form_values(event, tz), "")
        start = ""
        for metric, click in zip(METRIC_IDS, clicks, strict=True):
            if trigger == ids.graph(metric):
                start = clicked_time(click)
        if not start:
            start = local_input_value(datetime.now(UTC), tz)
        return (True, t("events.form.new", lang), None, "", "other", start, "", "", "")

    @app.callback(
        Output(ids.EVENT_FORM, "is_open", allow_duplicate=True),
        Input(ids.EVENT_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def close_form(_clicks: Any) -> bool:
        return False

    @app.callback(
        Output(ids.EVENT_FEEDBACK, "children", allow_duplicate=True),
        Output(ids.EVENTS_VERSION, "data"),
        Output(ids.EVENT_FORM, "is_open", allow_duplicate=True),
        Input(ids.EVENT_SAVE, "n_clicks"),
        State(ids.EVENT_TITLE, "value"),
        State(ids.EVENT_KIND, "value"),
        State(ids.EVENT_START, "value"),
        State(ids.EVENT_END, "value"),
        State(ids.EVENT_DESCRIPTION, "value"),
        State(ids.EVENT_EDIT_ID, "data"),
        State(ids.EVENTS_VERSION, "data"),
        State(ids.TIMEZONE, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def save_event(
        _clicks: Any,
        title: Any,
        kind: Any,
        start: Any,
        end: Any,
        description: Any,
        editing: Any,
        version: Any,
        tz_name: Any,
        lang: Any,
    ) -> Any:
        lang = page_language(lang, settings.default_language)
        tz = resolve_timezone(tz_name, settings.default_timezone)
        version = _index(version) or 0
        starts_at = parse_local(start, tz)
        if starts_at is None:
            return t("events.start_required", lang), no_update, no_update
        fields: dict[str, Any] = {
            "title": _text(title),
            "kind": _text(kind),
            "start": starts_at,
            "end": parse_local(end, tz),
            "description": _text(description) or None,
        }
        editing_id = _index(editing)
        if editing is not None and editing_id is None:  # not an event id: refuse
            return t("dash.bad_request", lang), no_update, no_update
        try:
            with ctx.session() as session:
                if editing_id is None:
                    event = store.add_event(session, **fields, created_by=_user())
                    record_audit(session, audit.EVENT_CREATED, details=store.audit_details(event))
                else:
                    event = store.update_event(session, editing_id, **fields)
                    record_audit(session, audit.EVENT_UPDATED, details=store.audit_details(event))
        except EventNotFound:
            return t("events.not_found", lang), version + 1, False
        except EventError as exc:
            return t("events.save_failed", lang).format(detail=exc), no_update, no_update
        return "", version + 1, False

    @app.callback(
        Output(ids.EVENTS_VERSION, "data", allow_duplicate=True),
        Input({"type": ids.EVENT_DELETE_BUTTON, "index": ALL}, "n_clicks"),
        State(ids.EVENTS_VERSION, "data"),
        prevent_initial_call=True,
    )
    def delete_event(_clicks: Any, version: Any) -> Any:
        trigger = dash.ctx.triggered_id
        if not isinstance(trigger, dict) or not dash.ctx.triggered[0]["value"]:
            return no_update
        index = _index(trigger.get("index"))
        if index is None:
            return no_update
        try:
            with ctx.session() as session:
                event = store.delete_event(session, index)
                record_audit(session, audit.EVENT_DELETED, details=store.audit_details(event))
        except EventNotFound:  # deleted meanwhile (another admin, another tab): redraw
            pass
        return (_index(version) or 0) + 1


def _user() -> str | None:
    return str(current_user.username) if current_user.is_authenticated else None

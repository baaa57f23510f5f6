"""Callbacks of the "알림 / Alerts" window: thin — read the form, one ``alerts.manage``
call, redraw. Every change bumps ``ALERTS_VERSION``; one callback redraws the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, no_update

from alerts import manage
from alerts.config import alert_config
from alerts.messages import describe_condition
from alerts.rules import condition_of
from alerts.types import AlertInputError
from dashboard.context import AppContext
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.alerts_panel import (
    CONDITIONS,
    channel_options,
    history_table,
    rules_table,
)
from db import alerts as store

HISTORY_ROWS = 20
FORM_FIELDS = (
    ids.ALERT_NAME,
    ids.ALERT_CONDITION,
    ids.ALERT_METRIC,
    ids.ALERT_LEVEL,
    ids.ALERT_OP,
    ids.ALERT_VALUE,
    ids.ALERT_SLOTS,
    ids.ALERT_PERCENT,
    ids.ALERT_DAYS,
    ids.ALERT_DIRECTION,
    ids.ALERT_MODE,
    ids.ALERT_COUNT,
    ids.ALERT_FORECAST_DAYS,
    ids.ALERT_REMINDER,
    ids.ALERT_LANGUAGE,
    ids.ALERT_CHANNELS,
)
BLANK_FORM: tuple[Any, ...] = (
    "",
    "threshold",
    "active_users",
    "warning",
    "above",
    None,
    1,
    None,
    7,
    "both",
    "failed_slots",
    3,
    30,
    None,
    None,
    [],
)


def _number(value: Any) -> Any:
    """A number input's value as the API would take it (ints stay ints); anything that is
    not a number (the browser can send any JSON) is None, which the rule check refuses."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


def _index(value: object) -> int | None:
    """A row's id from a pattern-matching button id or a store (None when it is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def rule_data(values: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as a rule draft (``alerts.rules.RuleDraft``'s shape). Choices that
    are not strings are left out (``None``), so the rule check answers them."""
    values = {
        k: v if isinstance(v, str | int | float | list) or v is None else None
        for k, v in values.items()
    }
    for choice in (
        ids.ALERT_CONDITION,
        ids.ALERT_OP,
        ids.ALERT_DIRECTION,
        ids.ALERT_MODE,
        ids.ALERT_NAME,
        ids.ALERT_METRIC,
        ids.ALERT_LEVEL,
        ids.ALERT_LANGUAGE,
    ):
        values[choice] = _text(values.get(choice))
    kind = values[ids.ALERT_CONDITION]
    condition: dict[str, Any] = {"type": kind}
    if kind == "threshold":
        condition.update(
            op=values[ids.ALERT_OP],
            value=_number(values[ids.ALERT_VALUE]),
            slots=_number(values[ids.ALERT_SLOTS]) or 1,
        )
    elif kind == "change":
        condition.update(
            percent=_number(values[ids.ALERT_PERCENT]),
            days=_number(values[ids.ALERT_DAYS]) or 7,
            direction=values[ids.ALERT_DIRECTION],
        )
    elif kind == "collection_failing":
        condition[values[ids.ALERT_MODE] or "slots"] = _number(values[ids.ALERT_COUNT])
    else:
        condition["days"] = _number(values[ids.ALERT_FORECAST_DAYS]) or 30
    return {
        "name": values[ids.ALERT_NAME] or "",
        "metric_type": values[ids.ALERT_METRIC] if kind in ("threshold", "change") else None,
        "condition": condition,
        "level": values[ids.ALERT_LEVEL],
        "reminder_minutes": _number(values[ids.ALERT_REMINDER]),
        "language": values[ids.ALERT_LANGUAGE] or None,
        "channel_ids": [
            i for c in _list(values[ids.ALERT_CHANNELS]) if (i := _index(c)) is not None
        ],
    }


def form_values(rule: Any) -> tuple[Any, ...]:
    """A stored rule back into the form's fields (``FORM_FIELDS`` order)."""
    c = condition_of(rule).model_dump()
    values = dict(zip(FORM_FIELDS, BLANK_FORM, strict=True))
    values.update(
        {
            ids.ALERT_NAME: rule.name,
            ids.ALERT_CONDITION: c["type"],
            ids.ALERT_METRIC: rule.metric_type or "active_users",
            ids.ALERT_LEVEL: rule.level,
            ids.ALERT_REMINDER: rule.reminder_minutes,
            ids.ALERT_LANGUAGE: rule.language,
            ids.ALERT_CHANNELS: [ch.id for ch in rule.channels],
        }
    )
    if c["type"] == "threshold":
        values.update(
            {
                ids.ALERT_OP: c["op"],
                ids.ALERT_VALUE: _number(c["value"]),
                ids.ALERT_SLOTS: c["slots"],
            }
        )
    elif c["type"] == "change":
        values.update(
            {
                ids.ALERT_PERCENT: _number(c["percent"]),
                ids.ALERT_DAYS: c["days"],
                ids.ALERT_DIRECTION: c["direction"],
            }
        )
    elif c["type"] == "collection_failing":
        mode = "failed_slots" if c.get("failed_slots") is not None else "no_success_hours"
        values.update({ids.ALERT_MODE: mode, ids.ALERT_COUNT: _number(c[mode])})
    else:
        values[ids.ALERT_FORECAST_DAYS] = c["days"]
    return tuple(values[f] for f in FORM_FIELDS)


def register_alert_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    @app.callback(
        Output(ids.ALERTS_MODAL, "is_open"),
        Input(ids.ALERTS_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_window(_clicks: int | None) -> bool:
        return True

    @app.callback(
        [Output(ids.condition_group(kind), "style") for kind in CONDITIONS],
        Input(ids.ALERT_CONDITION, "value"),
        # The layout starts with the default condition's fields shown.
        prevent_initial_call=True,
    )
    def show_condition_fields(kind: str) -> list[dict[str, str]]:
        return [{} if k == kind else {"display": "none"} for k in CONDITIONS]

    @app.callback(
        Output(ids.ALERT_RULES, "children"),
        Output(ids.ALERT_CHANNELS, "options"),
        Output(ids.ALERT_HISTORY, "children"),
        Input(ids.ALERTS_MODAL, "is_open"),
        Input(ids.ALERTS_VERSION, "data"),
        State(ids.LANG, "data"),
        State(ids.TIMEZONE, "data"),
        # Drawn when the window opens, not with the page (a request on every page load).
        prevent_initial_call=True,
    )
    def redraw(is_open: bool, _version: int, lang: str, tz: str | None) -> Any:
        if not is_open:
            return no_update, no_update, no_update
        zone = tz or ctx.settings.default_timezone
        capacity = ctx.settings.storage_capacity_bytes
        formatter = ctx.report_presenter()
        with ctx.session() as session:
            firing = store.open_events(session)
            rows = [
                {
                    "id": rule.id,
                    "name": rule.name,
                    "condition": describe_condition(
                        condition_of(rule), rule.metric_type, lang, formatter, capacity
                    ),
                    "level": rule.level,
                    "state": "off" if not rule.enabled else "firing" if rule.id in firing else "ok",
                    "channels": ", ".join(c.name for c in rule.channels) or "—",
                    "enabled": rule.enabled,
                }
                for rule in store.list_rules(session)
            ]
            options = channel_options(store.list_channels(session), lang)
            history = manage.history(session, limit=HISTORY_ROWS)
            return rules_table(rows, lang), options, history_table(history, zone, lang)

    @app.callback(
        *[Output(f, "value") for f in FORM_FIELDS],
        Output(ids.ALERT_EDIT_ID, "data"),
        Output(ids.ALERT_FORM_TITLE, "children"),
        Input({"type": ids.ALERT_EDIT_BUTTON, "index": ALL}, "n_clicks"),
        Input(ids.ALERT_CLEAR, "n_clicks"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def fill_form(_edits: list[int | None], _clear: int | None, lang: str) -> Any:
        trigger = dash.ctx.triggered_id
        if isinstance(trigger, dict):
            if not dash.ctx.triggered[0]["value"]:  # the table was redrawn, not clicked
                return (no_update,) * (len(FORM_FIELDS) + 2)
            index = _index(trigger.get("index"))
            if index is None:
                return (no_update,) * (len(FORM_FIELDS) + 2)
            with ctx.session() as session:
                rule = store.get_rule(session, index)
                if rule is None:
                    return (no_update,) * (len(FORM_FIELDS) + 2)
                title = t("alerts.form.edit", lang).format(name=rule.name)
                return (*form_values(rule), rule.id, title)
        blank = tuple(
            lang if f == ids.ALERT_LANGUAGE else v
            for f, v in zip(FORM_FIELDS, BLANK_FORM, strict=True)
        )
        return (*blank, None, t("alerts.form.new", lang))

    @app.callback(
        Output(ids.ALERT_FEEDBACK, "children"),
        Output(ids.ALERTS_VERSION, "data"),
        Output(ids.ALERT_EDIT_ID, "data", allow_duplicate=True),
        Input(ids.ALERT_SAVE, "n_clicks"),
        *[State(f, "value") for f in FORM_FIELDS],
        State(ids.ALERT_EDIT_ID, "data"),
        State(ids.ALERTS_VERSION, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def save_rule(_clicks: int | None, *state: Any) -> Any:
        *fields, editing, version, lang = state
        data = rule_data(dict(zip(FORM_FIELDS, fields, strict=True)))
        if editing is not None:
            editing = _index(editing)
            if editing is None:  # not a rule id: refuse instead of creating a new rule
                detail = t("dash.bad_request", lang)
                return t("alerts.save_failed", lang).format(detail=detail), no_update, no_update
        version = version if isinstance(version, int) and not isinstance(version, bool) else 0
        config = alert_config(ctx.settings)
        now = datetime.now(UTC)
        try:
            with ctx.session() as session:
                if editing is None:
                    rule = manage.add_rule(session, data, config, now=now)
                else:
                    rule = manage.patch_rule(session, editing, data, config, now=now)
                name = rule.name
        except AlertInputError as exc:
            return t("alerts.save_failed", lang).format(detail=exc), no_update, no_update
        return t("alerts.saved", lang).format(name=name), (version or 0) + 1, rule.id

    @app.callback(
        Output(ids.ALERTS_VERSION, "data", allow_duplicate=True),
        Input({"type": ids.ALERT_TOGGLE_BUTTON, "index": ALL}, "n_clicks"),
        State(ids.ALERTS_VERSION, "data"),
        prevent_initial_call=True,
    )
    def toggle_rule(_clicks: list[int | None], version: int) -> Any:
        trigger = dash.ctx.triggered_id
        if not isinstance(trigger, dict) or not dash.ctx.triggered[0]["value"]:
            return no_update
        index = _index(trigger.get("index"))
        if index is None:
            return no_update
        version = version if isinstance(version, int) and not isinstance(version, bool) else 0
        with ctx.session() as session:
            rule = store.get_rule(session, index)
            if rule is None:
                return no_update
            manage.patch_rule(
                session,
                rule.id,
                {"enabled": not rule.enabled},
                alert_config(ctx.settings),
                now=datetime.now(UTC),
            )
        return (version or 0) + 1

    @app.callback(
        Output(ids.ALERT_CHANNEL_FEEDBACK, "children"),
        Output(ids.ALERTS_VERSION, "data", allow_duplicate=True),
        Input(ids.ALERT_CHANNEL_ADD, "n_clicks"),
        State(ids.ALERT_CHANNEL_NAME, "value"),
        State(ids.ALERT_CHANNEL_KIND, "value"),
        State(ids.ALERT_CHANNEL_TARGET, "value"),
        State(ids.ALERT_CHANNEL_SECRET, "value"),
        State(ids.ALERTS_VERSION, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def add_channel(
        _clicks: int | None,
        name: str | None,
        kind: str,
        target: str | None,
        secret: str | None,
        version: int,
        lang: str,
    ) -> Any:
        text = (_text(target) or "").strip()
        version = version if isinstance(version, int) and not isinstance(version, bool) else 0
        data: dict[str, Any] = {
            "name": _text(name) or "",
            "kind": _text(kind),
        }
        secret = _text(secret)
        if kind == "email":
            data["recipients"] = [p.strip() for p in text.split(",") if p.strip()]
        else:
            data.update(url=text or None, secret=secret or None)
        try:
            with ctx.session() as session:
                channel = manage.add_channel(session, data, now=datetime.now(UTC))
                added = channel.name
        except AlertInputError as exc:
            return t("alerts.save_failed", lang).format(detail=exc), no_update
        return t("alerts.channel.added", lang).format(name=added), (version or 0) + 1

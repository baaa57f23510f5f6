"""The "알림 / Alerts" window of the dashboard page: its layout and the pure renderers of
its tables (rules, history) — no callbacks, no store access here.

It is a full-screen dialog of the same Dash app, opened from the header, so the graphs
and their state stay where they are while an admin edits rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from alerts.manage import FiringRecord
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.widgets import labelled_col
from db.metrics import METRICS
from db.models import AlertChannel

CONDITIONS = ("threshold", "change", "collection_failing", "storage_forecast")
LEVELS = ("info", "warning", "critical")
STATE_COLOURS = {"ok": "success", "firing": "danger", "off": "secondary"}


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for value, label in pairs]


def _condition_fields(lang: str) -> list[Any]:
    number = {"type": "number", "size": "sm"}
    return [
        dbc.Row(
            [
                labelled_col(
                    t("alerts.field.op", lang),
                    dbc.Select(
                        id=ids.ALERT_OP,
                        options=_options(
                            [(o, t(f"alerts.op.{o}", lang)) for o in ("above", "below")]
                        ),
                        value="above",
                        size="sm",
                    ),
                    2,
                ),
                labelled_col(
                    t("alerts.field.value", lang), dbc.Input(id=ids.ALERT_VALUE, min=0, **number), 4
                ),
                labelled_col(
                    t("alerts.field.slots", lang),
                    dbc.Input(id=ids.ALERT_SLOTS, value=1, min=1, **number),
                    2,
                ),
            ],
            id=ids.condition_group("threshold"),
            className="g-2",
        ),
        dbc.Row(
            [
                labelled_col(
                    t("alerts.field.percent", lang),
                    dbc.Input(id=ids.ALERT_PERCENT, min=0, **number),
                    2,
                ),
                labelled_col(
                    t("alerts.field.days", lang),
                    dbc.Input(id=ids.ALERT_DAYS, value=7, min=1, **number),
                    2,
                ),
                labelled_col(
                    t("alerts.field.direction", lang),
                    dbc.Select(
                        id=ids.ALERT_DIRECTION,
                        options=_options(
                            [(d, t(f"alerts.dir.{d}", lang)) for d in ("both", "up", "down")]
                        ),
                        value="both",
                        size="sm",
                    ),
                    2,
                ),
            ],
            id=ids.condition_group("change"),
            className="g-2",
            style={"display": "none"},
        ),
        dbc.Row(
            [
                labelled_col(
                    t("alerts.field.mode", lang),
                    dbc.Select(
                        id=ids.ALERT_MODE,
                        options=_options(
                            [
                                (m, t(f"alerts.mode.{m}", lang))
                                for m in ("failed_slots", "no_success_hours")
                            ]
                        ),
                        value="failed_slots",
                        size="sm",
                    ),
                    3,
                ),
                labelled_col(
                    t("alerts.field.count", lang),
                    dbc.Input(id=ids.ALERT_COUNT, value=3, min=1, **number),
                    2,
                ),
            ],
            id=ids.condition_group("collection_failing"),
            className="g-2",
            style={"display": "none"},
        ),
        dbc.Row(
            [
                labelled_col(
                    t("alerts.field.forecast_days", lang),
                    dbc.Input(id=ids.ALERT_FORECAST_DAYS, value=30, min=1, **number),
                    2,
                )
            ],
            id=ids.condition_group("storage_forecast"),
            className="g-2",
            style={"display": "none"},
        ),
    ]


def _rule_form(lang: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(t("alerts.form.new", lang), id=ids.ALERT_FORM_TITLE, className="h6"),
                dbc.Row(
                    [
                        labelled_col(
                            t("alerts.field.name", lang),
                            dbc.Input(id=ids.ALERT_NAME, size="sm", maxLength=100),
                            3,
                        ),
                        labelled_col(
                            t("alerts.field.condition", lang),
                            dbc.Select(
                                id=ids.ALERT_CONDITION,
                                options=_options(
                                    [(c, t(f"alerts.cond.{c}", lang)) for c in CONDITIONS]
                                ),
                                value="threshold",
                                size="sm",
                            ),
                        ),
                        labelled_col(
                            t("alerts.field.metric", lang),
                            dbc.Select(
                                id=ids.ALERT_METRIC,
                                options=_options([(m.id, m.name(lang)) for m in METRICS]),
                                value=METRICS[0].id,
                                size="sm",
                            ),
                        ),
                        labelled_col(
                            t("alerts.field.level", lang),
                            dbc.Select(
                                id=ids.ALERT_LEVEL,
                                options=_options(
                                    [(v, t(f"alerts.level.{v}", lang)) for v in LEVELS]
                                ),
                                value="warning",
                                size="sm",
                            ),
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                *_condition_fields(lang),
                dbc.Row(
                    [
                        labelled_col(
                            t("alerts.field.reminder", lang),
                            dbc.Input(id=ids.ALERT_REMINDER, type="number", min=5, size="sm"),
                            3,
                        ),
                        labelled_col(
                            t("alerts.field.language", lang),
                            dbc.Select(
                                id=ids.ALERT_LANGUAGE,
                                options=_options([("ko", "한국어"), ("en", "English")]),
                                value=lang,
                                size="sm",
                            ),
                            2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(t("alerts.field.channels", lang), className="small mb-1"),
                                dbc.Checklist(
                                    id=ids.ALERT_CHANNELS, options=[], value=[], inline=True
                                ),
                            ],
                            md=7,
                        ),
                    ],
                    className="g-2 mt-1",
                ),
                html.Div(
                    [
                        dbc.Button(
                            t("alerts.save", lang), id=ids.ALERT_SAVE, color="primary", size="sm"
                        ),
                        dbc.Button(
                            t("alerts.clear", lang),
                            id=ids.ALERT_CLEAR,
                            color="secondary",
                            outline=True,
                            size="sm",
                        ),
                        html.Span(id=ids.ALERT_FEEDBACK, className="small", role="status"),
                    ],
                    className="d-flex align-items-center gap-2 mt-3",
                ),
            ]
        ),
        className="mb-3",
    )


def _channel_form(lang: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(t("alerts.channels", lang), className="h6"),
                dbc.Row(
                    [
                        labelled_col(
                            t("alerts.field.name", lang),
                            dbc.Input(id=ids.ALERT_CHANNEL_NAME, size="sm", maxLength=100),
                            2,
                        ),
                        labelled_col(
                            t("alerts.channel.kind", lang),
                            dbc.Select(
                                id=ids.ALERT_CHANNEL_KIND,
                                options=_options(
                                    [
                                        (k, t(f"alerts.channel.{k}", lang))
                                        for k in ("email", "webhook")
                                    ]
                                ),
                                value="email",
                                size="sm",
                            ),
                            2,
                        ),
                        labelled_col(
                            t("alerts.channel.target", lang),
                            dbc.Input(id=ids.ALERT_CHANNEL_TARGET, size="sm"),
                            4,
                        ),
                        labelled_col(
                            t("alerts.channel.secret", lang),
                            dbc.Input(id=ids.ALERT_CHANNEL_SECRET, type="password", size="sm"),
                            2,
                        ),
                        dbc.Col(
                            dbc.Button(
                                t("alerts.channel.add", lang),
                                id=ids.ALERT_CHANNEL_ADD,
                                color="secondary",
                                size="sm",
                            ),
                            md=2,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id=ids.ALERT_CHANNEL_FEEDBACK, className="small mt-2", role="status"),
            ]
        ),
        className="mb-3",
    )


def alerts_button(lang: str) -> html.Button:
    """The header's way in."""
    return html.Button(
        t("alerts.open", lang), id=ids.ALERTS_OPEN, className="btn btn-sm btn-outline-primary"
    )


def alerts_modal(lang: str) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(t("alerts.title", lang)), close_button=True),
            dbc.ModalBody(
                [
                    dcc.Store(id=ids.ALERTS_VERSION, data=0),
                    dcc.Store(id=ids.ALERT_EDIT_ID, data=None),
                    html.H2(t("alerts.rules", lang), className="h5"),
                    html.Div(id=ids.ALERT_RULES, className="mb-3"),
                    _rule_form(lang),
                    _channel_form(lang),
                    html.H2(t("alerts.history", lang), className="h5"),
                    html.Div(id=ids.ALERT_HISTORY),
                ]
            ),
        ],
        id=ids.ALERTS_MODAL,
        is_open=False,
        fullscreen=True,
        scrollable=True,
    )


# --- table renderers (pure) ------------------------------------------------------------------
def rules_table(rows: list[dict[str, Any]], lang: str) -> Any:
    """``rows``: ``{id, name, condition (text), level, state, channels (text), enabled}``."""
    if not rows:
        return html.P(t("alerts.none", lang), className="text-muted small")
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"alerts.col.{c}", lang))
                for c in ("name", "condition", "level", "state", "channels")
            ]
            + [html.Th("")]
        )
    )
    body = []
    for row in rows:
        toggle = "alerts.disable" if row["enabled"] else "alerts.enable"
        body.append(
            html.Tr(
                [
                    html.Td(row["name"], className="alert-rule-name"),
                    html.Td(row["condition"], className="alert-rule-condition"),
                    html.Td(t(f"alerts.level.{row['level']}", lang)),
                    html.Td(
                        dbc.Badge(
                            t(f"alerts.state.{row['state']}", lang),
                            color=STATE_COLOURS[row["state"]],
                            className="alert-rule-state",
                        )
                    ),
                    html.Td(row["channels"]),
                    html.Td(
                        html.Div(
                            [
                                dbc.Button(
                                    t("alerts.edit", lang),
                                    id={"type": ids.ALERT_EDIT_BUTTON, "index": row["id"]},
                                    size="sm",
                                    color="link",
                                ),
                                dbc.Button(
                                    t(toggle, lang),
                                    id={"type": ids.ALERT_TOGGLE_BUTTON, "index": row["id"]},
                                    size="sm",
                                    color="link",
                                ),
                            ],
                            className="d-flex gap-1",
                        )
                    ),
                ],
                id=f"alert-rule-row-{row['id']}",
            )
        )
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True, responsive=True)


def _local(value: datetime | None, tz: str) -> str:
    return f"{value.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}" if value else ""


def history_table(records: list[FiringRecord], tz: str, lang: str) -> Any:
    if not records:
        return html.P(t("alerts.history.none", lang), className="text-muted small")
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"alerts.col.{c}", lang))
                for c in ("started", "name", "level", "resolved", "deliveries")
            ]
        )
    )
    body = []
    for record in records:
        event = record.event
        sent = ", ".join(
            f"{t('alerts.kind.' + d.delivery.kind, lang)} {d.delivery.purpose}: "
            f"{t('alerts.delivery.' + d.delivery.status, lang)}"
            + (f" ({d.delivery.attempts})" if d.delivery.attempts > 1 else "")
            for d in record.deliveries
        )
        body.append(
            html.Tr(
                [
                    html.Td(_local(event.started_at, tz)),
                    html.Td(record.rule_name),
                    html.Td(t(f"alerts.level.{record.level}", lang)),
                    html.Td(_local(event.resolved_at, tz) or t("alerts.ongoing", lang)),
                    html.Td(sent, className="small"),
                ],
                className="alert-history-row",
            )
        )
    return dbc.Table([head, html.Tbody(body)], size="sm", responsive=True)


def channel_options(channels: list[AlertChannel], lang: str) -> list[dict[str, Any]]:
    return [
        {"label": f"{c.name} ({t('alerts.kind.' + c.kind, lang)})", "value": c.id} for c in channels
    ]

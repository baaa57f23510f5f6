"""The events card under the graphs: the events of the range on screen (the admins' own and
the automatic ones: collection outages, alert firings) and the form to add or edit one.

Layout and pure renderers only — the callbacks are in ``event_callbacks.py``. Times in the
form are wall-clock times of the viewer's zone (``datetime-local`` inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashboard.charts.events import ChartEvent, kind_label
from dashboard.charts.formatting import slot_text
from dashboard.charts.overlays import EVENT_COLOURS
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.ids import aria
from dashboard.page.widgets import labelled_col
from db.events import EVENT_KINDS

LOCAL_INPUT_FORMAT: Final = "%Y-%m-%dT%H:%M"  # the value of a datetime-local input
TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 2000


def local_input_value(moment: datetime | None, tz: str) -> str:
    """``2026-12-05T14:00``: ``moment`` as a datetime-local input shows it in ``tz``."""
    if moment is None:
        return ""
    return pd.Timestamp(moment).tz_convert(tz).strftime(LOCAL_INPUT_FORMAT)


def _form(lang: str) -> dbc.Modal:
    """The add/edit dialog: opened by the card's button or a click on a graph's time."""
    kinds = [{"label": kind_label(k, lang), "value": k} for k in EVENT_KINDS]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(t("events.form.new", lang), id=ids.EVENT_FORM_TITLE)),
            dbc.ModalBody(
                [
                    dbc.Row(
                        [
                            labelled_col(
                                t("events.field.title", lang),
                                dbc.Input(
                                    id=ids.EVENT_TITLE, maxLength=TITLE_MAX, size="sm", type="text"
                                ),
                                8,
                            ),
                            labelled_col(
                                t("events.field.kind", lang),
                                dbc.Select(
                                    id=ids.EVENT_KIND, options=kinds, value="other", size="sm"
                                ),
                                4,
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            labelled_col(
                                t("events.field.start", lang),
                                dbc.Input(id=ids.EVENT_START, type="datetime-local", size="sm"),
                                6,
                            ),
                            labelled_col(
                                t("events.field.end", lang),
                                dbc.Input(id=ids.EVENT_END, type="datetime-local", size="sm"),
                                6,
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Label(
                        t("events.field.description", lang),
                        html_for=ids.EVENT_DESCRIPTION,
                        className="small mb-1",
                    ),
                    dbc.Textarea(
                        id=ids.EVENT_DESCRIPTION, maxLength=DESCRIPTION_MAX, rows=3, size="sm"
                    ),
                    html.Div(id=ids.EVENT_FEEDBACK, className="small mt-2", **aria(live="polite")),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button(
                        t("events.cancel", lang),
                        id=ids.EVENT_CANCEL,
                        color="secondary",
                        outline=True,
                        size="sm",
                    ),
                    dbc.Button(
                        t("events.save", lang), id=ids.EVENT_SAVE, color="primary", size="sm"
                    ),
                ]
            ),
        ],
        id=ids.EVENT_FORM,
        is_open=False,
    )


def events_card(lang: str) -> dbc.Card:
    """The card under the graphs; its list is drawn by ``event_callbacks``."""
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.H2(t("events.title", lang), className="graph-title-text"),
                    html.Button(
                        t("events.add", lang),
                        id=ids.EVENT_ADD,
                        type="button",
                        className="btn btn-sm btn-outline-primary",
                        **aria(haspopup="dialog"),
                    ),
                ],
                className="graph-title d-flex align-items-center justify-content-between",
            ),
            dbc.CardBody(
                [
                    dcc.Store(id=ids.EVENTS_VERSION, data=0),
                    dcc.Store(id=ids.EVENT_EDIT_ID),
                    html.P(t("events.hint", lang), className="small text-body-secondary mb-2"),
                    _form(lang),
                    html.Div(id=ids.EVENTS_LIST),
                ]
            ),
        ],
        className="mt-3 events-card",
    )


def _when(event: ChartEvent, tz: str) -> str:
    start = slot_text(pd.Timestamp(event.start), tz, "hourly")
    if event.end is None or event.end <= event.start:
        return start
    return f"{start} – {slot_text(pd.Timestamp(event.end), tz, 'hourly')}"


def events_table(events: Sequence[ChartEvent], tz: str, lang: str) -> Any:
    """The events of the range, oldest first; the admins' own have edit/delete buttons."""
    if not events:
        return html.P(t("events.none", lang), className="small text-body-secondary mb-0")
    rows: list[Any] = []
    for event in events:
        badge = html.Span(
            kind_label(event.kind, lang),
            # Body-coloured text (contrast in both themes), the kind's colour as a bar.
            className="badge border text-body event-kind",
            style={"borderLeft": f"4px solid {EVENT_COLOURS.get(event.kind, '#868e96')}"},
        )
        title: list[Any] = [html.Span(event.title, className="event-title")]
        if event.description:
            title.append(html.Div(event.description, className="small text-body-secondary"))
        actions: list[Any] = []
        if event.id is not None:
            actions = [
                html.Button(
                    t("events.edit", lang),
                    id={"type": ids.EVENT_EDIT_BUTTON, "index": event.id},
                    type="button",
                    className="btn btn-sm btn-link p-0 me-2",
                    **aria(label=f"{t('events.edit', lang)}: {event.title}"),
                ),
                html.Button(
                    t("events.delete", lang),
                    id={"type": ids.EVENT_DELETE_BUTTON, "index": event.id},
                    type="button",
                    className="btn btn-sm btn-link link-danger p-0",
                    **aria(label=f"{t('events.delete', lang)}: {event.title}"),
                ),
            ]
        else:
            actions = [html.Span(t("events.automatic", lang), className="small")]
        rows.append(
            html.Tr(
                [
                    html.Th(_when(event, tz), scope="row", className="text-nowrap"),
                    html.Td(badge),
                    html.Td(title),
                    html.Td(actions, className="text-nowrap"),
                ]
            )
        )
    head = [t(k, lang) for k in ("events.col.time", "events.col.kind", "events.col.title")]
    return html.Div(
        html.Table(
            [
                html.Caption(t("events.caption", lang).format(n=len(events))),
                html.Thead(
                    html.Tr(
                        [html.Th(h, scope="col") for h in head]
                        + [html.Th(html.Span(t("events.col.actions", lang)), scope="col")]
                    )
                ),
                html.Tbody(rows),
            ],
            className="table table-sm mb-0 events-table",
        ),
        className="table-scroll",
    )

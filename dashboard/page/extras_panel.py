"""The page's parts for the catalogue (issue 18): the source selector among the controls and
the "추가 지표 / More metrics" section under the six graphs, with its chooser and a graph
card per extra metric (a label filter on a labelled one). Their callbacks are in
``extra_callbacks``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard.charts.series import TOP_LABELS
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.ids import aria
from dashboard.page.view_state import DEFAULT_EXTRAS
from dashboard.page.widgets import graph_card
from db.catalogue import ALL_SOURCES, CatalogueMetric
from db.metrics import DEFAULT_SOURCE


def source_options(sources: Sequence[str], lang: str) -> list[dict[str, str]]:
    """The default source first, then the others by name, then "all"."""
    names = {DEFAULT_SOURCE: t("dash.source_default", lang)}
    return [{"label": names.get(s, s), "value": s} for s in sources] + [
        {"label": t("dash.source_all", lang), "value": ALL_SOURCES}
    ]


def source_control(sources: Sequence[str], lang: str) -> dbc.Col:
    """The source selector; hidden while the store holds one source only."""
    return dbc.Col(
        [
            dbc.Label(t("dash.source", lang), html_for=ids.SOURCE, className="control-label"),
            dbc.Select(
                id=ids.SOURCE,
                options=source_options(sources, lang),
                value=DEFAULT_SOURCE,
                size="sm",
                className="source-select",
            ),
        ],
        id=ids.SOURCE_GROUP,
        xs=12,
        sm="auto",
        style=None if len(sources) > 1 else {"display": "none"},
    )


def _extra_graph(metric: CatalogueMetric, labels: Sequence[str], lang: str) -> dbc.Col:
    name = metric.name(lang)
    below: list[Any] = []
    if metric.labelled:
        # A native disclosure of checkboxes: keyboard-usable and named without any script
        # (Dash 4's dropdown keeps a focusable input under aria-hidden, an axe violation).
        below.append(
            html.Details(
                [
                    html.Summary(t("dash.label_filter", lang).format(metric=name)),
                    html.P(
                        t("dash.label_filter_all", lang).format(n=TOP_LABELS),
                        className="small text-body-secondary mb-1",
                    ),
                    dbc.Checklist(
                        id=ids.label_filter(metric.id),
                        options=list(labels),
                        value=[],
                        inline=True,
                        className="label-filter",
                    ),
                ],
                className="label-filter-group px-2 pb-2",
            )
        )
    card = graph_card(metric.id, name, lang, tools=[], below=below, labelled=metric.labelled)
    card.id = ids.extra_card(metric.id)
    return card


def extras_section(
    extras: Sequence[CatalogueMetric], labels: Mapping[str, Sequence[str]], lang: str
) -> html.Section:
    """The extra metrics' section: a heading, the chooser (checkboxes, one per metric) and
    the graph cards, the unchosen ones hidden (``extra_callbacks``)."""
    return html.Section(
        [
            html.H2(t("dash.extras_title", lang), id="extras-title", className="extras-title"),
            html.Div(
                [
                    html.Span(
                        t("dash.extras_chooser", lang),
                        id="extras-chooser-label",
                        className="control-label",
                    ),
                    dbc.Checklist(
                        id=ids.EXTRAS_CHOOSER,
                        options=[{"label": m.name(lang), "value": m.id} for m in extras],
                        value=[m.id for m in extras[:DEFAULT_EXTRAS]],
                        inline=True,
                        switch=True,
                        className="extras-chooser",
                    ),
                ],
                role="group",
                className="extras-choice mb-2",
                **aria(labelledby="extras-chooser-label"),
            ),
            html.P(
                t("dash.extras_none", lang),
                id=ids.EXTRAS_NONE,
                className="note",
                style={"display": "none"},
            ),
            dbc.Row([_extra_graph(m, labels.get(m.id, ()), lang) for m in extras], className="g-3"),
        ],
        id=ids.EXTRAS_SECTION,
        className="extras-section mt-4",
        **aria(labelledby="extras-title"),
    )

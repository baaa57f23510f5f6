"""Small layout pieces the page's panels share (the Alerts window, the events dialog, the
graphs of the six and of the catalogue's extra metrics)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.ids import aria

# Air-gapped toolbar: only tools that stay on this machine (no cloud upload, no link to
# plotly's site, no logo), shown when the pointer or the keyboard focus is on a graph.
MODEBAR_BUTTONS: Any = [["zoom2d", "pan2d", "resetScale2d", "toImage"]]


def graph_config(lang: str) -> Any:
    """dcc.Graph's config; Plotly's own texts come from assets/vendor/plotly-locale-ko.js."""
    return {
        "displaylogo": False,
        "showSendToCloud": False,
        "showLink": False,
        "showEditInChartStudio": False,
        "showTips": False,
        "displayModeBar": True,
        "responsive": True,
        "doubleClick": "reset",
        "modeBarButtons": MODEBAR_BUTTONS,
        "toImageButtonOptions": {"format": "png", "scale": 2},
        "locale": "ko" if lang == "ko" else "en",
    }


def labelled_col(label: str, control: Any, width: int = 3) -> dbc.Col:
    """A form column: a small label tied to ``control`` (by its id), then the control."""
    return dbc.Col(
        [dbc.Label(label, html_for=control.id, className="small mb-1"), control], md=width
    )


def graph_card(
    metric_id: str,
    name: str,
    lang: str,
    *,
    tools: list[Any],
    below: list[Any],
    labelled: bool = False,
) -> dbc.Col:
    """A metric's graph in a card: its name and ``tools`` in the header, the graph (a named
    group for its toolbar), then ``below``. A ``labelled`` graph keeps its legend (the
    labels) on phones too."""
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader(
                    [html.H2(name, className="graph-title-text"), *tools],
                    className="graph-title d-flex align-items-center justify-content-between",
                ),
                dbc.CardBody(
                    [
                        html.Div(
                            dcc.Graph(
                                id=ids.graph(metric_id),
                                config=graph_config(lang),
                                className="metric-graph labelled-graph"
                                if labelled
                                else "metric-graph",
                                style={"height": "280px"},
                            ),
                            role="group",
                            **aria(label=t("dash.graph_tools", lang).format(metric=name)),
                        ),
                        *below,
                    ],
                    className="p-1",
                ),
            ],
            className="h-100",
        ),
        xs=12,
        lg=6,
        xxl=4,
    )

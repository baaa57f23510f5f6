"""The dashboard page at ``/admin/metrics/``: layout (dash-bootstrap-components) and wiring.

State lives in the query string (see ``view_state``); ``callbacks`` turns it into graphs.
Bootstrap's CSS and the page styles are served from ``assets/`` (no CDN).
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import Flask, Response, has_request_context, request
from flask_wtf.csrf import generate_csrf

from dashboard.context import AppContext, request_language
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.alert_callbacks import register_alert_callbacks
from dashboard.page.alerts_panel import alerts_button, alerts_modal
from dashboard.page.callbacks import register_callbacks, slot_marker
from dashboard.page.dash_requests import callback_request_check
from dashboard.page.export_callbacks import register_export_callbacks
from dashboard.page.view_state import COMPARE_CUSTOM, COMPARE_PREVIOUS
from db.metrics import METRICS
from db.periods import PRESET_DAYS

REFRESH_MS = 60_000
GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "displayModeBar": "hover",
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}


def _csrf() -> str:
    """The CSRF token for the sign-out form (none while Dash validates the layout)."""
    return generate_csrf() if has_request_context() else ""


def _header(ctx: AppContext, lang: str) -> dbc.Navbar:
    other = "en" if lang == "ko" else "ko"
    return dbc.Navbar(
        dbc.Container(
            [
                html.Div(
                    [
                        html.H1(t("app.title", lang), id="page-title", className="page-title"),
                        html.Button(
                            html.Div(id=ids.STATUS_BADGE, className="status-badge"),
                            id=ids.STATUS_BUTTON,
                            type="button",
                            className="status-button",
                            title=t("dash.status.details", lang),
                        ),
                        dbc.Popover(
                            [
                                dbc.PopoverHeader(t("dash.status.recent_failures", lang)),
                                dbc.PopoverBody(id=ids.STATUS_FAILURES),
                            ],
                            id=ids.STATUS_POPOVER,
                            target=ids.STATUS_BUTTON,
                            trigger="legacy",
                            placement="bottom-start",
                            class_name="status-popover",
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center gap-3",
                ),
                html.Div(
                    [
                        alerts_button(lang),
                        html.A(
                            t("nav.language", lang),
                            id=ids.LANG_LINK,
                            href=f"?lang={other}",
                            className="btn btn-sm btn-outline-secondary",
                        ),
                        # Sign-out is a POST with the CSRF token (a link could be forged).
                        html.Form(
                            [
                                dcc.Input(type="hidden", name="csrf_token", value=_csrf()),
                                html.Button(
                                    t("nav.logout", lang),
                                    id=ids.LOGOUT_LINK,
                                    type="submit",
                                    className="btn btn-sm btn-outline-dark",
                                ),
                            ],
                            method="POST",
                            action=ctx.url("logout"),
                            className="m-0",
                        ),
                    ],
                    className="d-flex gap-2",
                ),
            ],
            fluid=True,
            className="flex-wrap gap-2",
        ),
        color="light",
        className="border-bottom mb-3",
    )


def _button_group(component_id: str, options: list[dict[str, str]], value: str) -> Any:
    """Radio items drawn as a Bootstrap button group (one choice highlighted)."""
    return dbc.RadioItems(
        id=component_id,
        options=options,
        value=value,
        inline=True,
        className="btn-group btn-group-sm",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-primary",
        labelCheckedClassName="active",
    )


def _date_range(component_id: str, lang: str) -> dcc.DatePickerRange:
    return dcc.DatePickerRange(
        id=component_id,
        display_format="YYYY-MM-DD",
        clearable=True,
        start_date_placeholder_text="YYYY-MM-DD",
        end_date_placeholder_text="YYYY-MM-DD",
        first_day_of_week=0 if lang == "en" else 1,
    )


def _controls(lang: str) -> dbc.Card:
    presets = [{"label": t("dash.days", lang).format(n=n), "value": n} for n in PRESET_DAYS]
    presets.append({"label": t("dash.custom", lang), "value": "custom"})
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(t("dash.range", lang), className="control-label"),
                            html.Div(
                                [
                                    _button_group(ids.RANGE_PRESET, presets, "7"),
                                    _date_range(ids.DATE_RANGE, lang),
                                ],
                                className="d-flex flex-wrap align-items-center gap-2",
                            ),
                        ],
                        xs=12,
                        lg="auto",
                    ),
                    dbc.Col(
                        [
                            dbc.Label(t("dash.granularity", lang), className="control-label"),
                            _button_group(
                                ids.GRANULARITY,
                                [
                                    {"label": t("dash.hourly", lang), "value": "hourly"},
                                    {"label": t("dash.daily", lang), "value": "daily"},
                                ],
                                "hourly",
                            ),
                        ],
                        xs=12,
                        sm="auto",
                    ),
                    dbc.Col(
                        [
                            dbc.Label(t("dash.compare", lang), className="control-label"),
                            html.Div(
                                [
                                    dbc.Switch(
                                        id=ids.COMPARE_SWITCH,
                                        value=False,
                                        className="mb-0",
                                    ),
                                    html.Div(
                                        [
                                            dbc.RadioItems(
                                                id=ids.COMPARE_MODE,
                                                options=[
                                                    {
                                                        "label": t("dash.compare_previous", lang),
                                                        "value": COMPARE_PREVIOUS,
                                                    },
                                                    {
                                                        "label": t("dash.compare_custom", lang),
                                                        "value": COMPARE_CUSTOM,
                                                    },
                                                ],
                                                value=COMPARE_PREVIOUS,
                                                inline=True,
                                                className="mb-0",
                                            ),
                                            _date_range(ids.COMPARE_RANGE, lang),
                                        ],
                                        id=ids.COMPARE_OPTIONS,
                                        # No d-flex: its !important would beat the callback's
                                        # display:none.
                                        className="flex-wrap align-items-center gap-2",
                                        style={"display": "none"},
                                    ),
                                ],
                                className="d-flex flex-wrap align-items-center gap-3",
                            ),
                        ],
                        xs=12,
                        lg=True,
                    ),
                    dbc.Col(
                        # Export: the export feature registers its callbacks on these ids.
                        html.Div(
                            [
                                dbc.Button(
                                    t("dash.export_csv", lang),
                                    id=ids.EXPORT_CSV_BUTTON,
                                    color="secondary",
                                    outline=True,
                                    size="sm",
                                ),
                                dbc.Button(
                                    t("dash.export_pdf", lang),
                                    id=ids.EXPORT_PDF_BUTTON,
                                    color="secondary",
                                    outline=True,
                                    size="sm",
                                ),
                                html.Div(id=ids.EXPORT_STATUS, className="export-status"),
                                dcc.Download(id=ids.EXPORT_DOWNLOAD),
                            ],
                            className="d-flex flex-wrap align-items-center gap-2 export-bar",
                        ),
                        xs=12,
                        xl="auto",
                        className="align-self-end",
                    ),
                ],
                className="g-3 align-items-start",
            )
        ),
        className="mb-3 control-bar",
    )


def _card(metric: Any, lang: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(metric.name(lang), className="value-card-title"),
                    html.Div(id=ids.card(metric.id), className="value-card-body"),
                ]
            ),
            className="value-card h-100",
        ),
        xs=6,
        md=4,
        xl=2,
    )


def _graph(metric: Any, lang: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader(metric.name(lang), className="graph-title"),
                dbc.CardBody(
                    dcc.Graph(
                        id=ids.graph(metric.id),
                        config=GRAPH_CONFIG,
                        className="metric-graph",
                        style={"height": "280px"},
                    ),
                    className="p-1",
                ),
            ],
            className="h-100",
        ),
        xs=12,
        lg=6,
        xxl=4,
    )


def serve_layout(ctx: AppContext, lang: str, latest: str | None = None) -> html.Div:
    """The page for one visitor; ``latest`` is the slot marker the auto-refresh compares."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.TIMEZONE),
            dcc.Store(id=ids.LANG, data=lang),
            dcc.Store(id=ids.LATEST_SLOT, data=latest),
            dcc.Interval(id=ids.REFRESH_INTERVAL, interval=REFRESH_MS),
            _header(ctx, lang),
            alerts_modal(lang),
            dbc.Container(
                [
                    _controls(lang),
                    html.Div(id=ids.NOTES, className="page-notes"),
                    dbc.Alert(
                        [
                            html.Span(t("dash.load_failed", lang), className="me-3"),
                            dbc.Button(
                                t("dash.retry", lang),
                                id=ids.RETRY_BUTTON,
                                color="danger",
                                size="sm",
                                outline=True,
                            ),
                        ],
                        id=ids.LOAD_ERROR,
                        color="danger",
                        is_open=False,
                        className="d-flex align-items-center",
                    ),
                    dcc.Loading(
                        html.Div(
                            [
                                dbc.Row([_card(m, lang) for m in METRICS], className="g-3 mb-3"),
                                dbc.Row([_graph(m, lang) for m in METRICS], className="g-3"),
                            ],
                            id=ids.CONTENT,
                        ),
                        id=ids.LOADING,
                        type="circle",
                        delay_show=150,
                        overlay_style={"visibility": "visible", "opacity": 0.5},
                    ),
                ],
                fluid=True,
                className="pb-4",
            ),
        ],
        lang=lang,
    )


def _remember_language(response: Response) -> Response:
    """``?lang=`` on the page is remembered in the ``lang`` cookie, because Dash fetches the
    layout with a separate request that does not carry the page's query string."""
    lang = request.args.get("lang")
    if lang in ("ko", "en") and request.method == "GET" and response.mimetype == "text/html":
        response.set_cookie("lang", lang, samesite="Lax", max_age=365 * 86400)
    return response


class MetricsDash(dash.Dash):
    """Dash without the ``dash_table`` bundle: the page has no DataTable, and Dash would
    otherwise load its 1 MB script on every visit. Plotly.js is not Dash's full bundle
    either: ``assets/plotly-basic.min.js`` (scatter, bar, pie) sets ``window.Plotly``, which
    ``dcc.Graph`` uses instead of fetching ``plotly.min.js``."""

    def _collect_and_register_resources(  # type: ignore[no-untyped-def]
        self, resources, include_async=True, url_attr="src"
    ):
        kept = [r for r in resources if not _is_dash_table(r)]
        return super()._collect_and_register_resources(kept, include_async, url_attr)


def _is_dash_table(resource: dict[str, Any]) -> bool:
    paths = resource.get("relative_package_path") or ""
    paths = [paths] if isinstance(paths, str) else paths
    return resource.get("namespace") == "dash" and any(p.startswith("dash_table/") for p in paths)


def build_dash(server: Flask, ctx: AppContext, *, assets_folder: str, base_path: str) -> dash.Dash:
    app = MetricsDash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash's hints omit a Flask instance
        url_base_pathname=base_path,
        assets_folder=assets_folder,
        serve_locally=True,
        title=t("app.title", ctx.settings.default_language),
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while updating
        compress=False,
    )

    def layout() -> html.Div:
        # Dash also calls this once outside a request to validate the layout.
        if not has_request_context():
            return serve_layout(ctx, ctx.settings.default_language)
        return serve_layout(ctx, request_language(), slot_marker(ctx))

    app.layout = layout
    server.after_request(_remember_language)
    register_callbacks(app, ctx)
    register_export_callbacks(app, ctx)
    # After the sign-in guard (init_auth ran first): anonymous callers get 401, malformed
    # callback requests 400, never a 500.
    server.before_request(callback_request_check(lambda: app.callback_map, base_path))
    register_alert_callbacks(app, ctx)
    ctx.dash_app = app
    # Keep last: Dash sets itself up lazily on a worker's first request, and concurrent
    # first requests (the page's script tags) can then see a half-registered script list
    # and answer 500. Setting up now, once per process, avoids that race.
    with server.test_request_context(base_path):
        app._setup_server()
    return app

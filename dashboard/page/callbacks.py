"""Thin Dash callbacks: parse the inputs → query the store → build figures → return.

- ``sync_controls``: controls ⇄ query string (the URL is the state; back/forward work).
- ``refresh_status``: every 60 s a cheap latest-slot check and the status badge; the slot
  store only changes when a new collection landed, which is what redraws the graphs.
- ``render``: all six graphs and cards from one set of store reads, cached per
  (granularity, window, latest slots) so many admins viewing the same range share them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from dash import (
    ALL,
    ClientsideFunction,
    Dash,
    Input,
    Output,
    Patch,
    State,
    dcc,
    html,
    no_update,
)
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate
from plotly.io.json import to_json_plotly

from dashboard.charts.events import ChartEvent
from dashboard.charts.figures import build_empty_store_figure, build_metric_figure
from dashboard.charts.formatting import format_timestamp, window_text
from dashboard.charts.overlays import (
    NO_INSIGHTS,
    Insights,
    axis_with_forecasts,
    forecast_sentence,
)
from dashboard.charts.series import Series
from dashboard.charts.tables import table_rows
from dashboard.charts.theme import THEMES, theme_for
from dashboard.context import AppContext
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.cards import card_body, status_badge, status_failures
from dashboard.page.ids import aria
from dashboard.page.view_state import (
    COMPARE_CUSTOM,
    COMPARE_PREVIOUS,
    CUSTOM,
    Period,
    Periods,
    ViewState,
    from_controls,
    page_language,
    parse_query,
    parse_zoom,
    picker_days,
    resolve_timezone,
    resolve_view,
    search_of,
)
from dashboard.reports.event_marks import load_chart_events
from dashboard.reports.insights import load_insights
from db.catalogue import ALL_SOURCES
from db.engine import STORE_ERRORS
from db.metrics import DEFAULT_SOURCE, METRIC_IDS, METRICS_BY_ID
from db.queries import latest_slot, series_many
from db.status import collection_status, next_hourly_slot

log = logging.getLogger(__name__)
# Failure rows the status popover lists: ten failed slots of six metrics.
STATUS_FAILURE_ROWS = 60
DAY_LIMITS = ("min_date_allowed", "max_date_allowed")


@dataclass(frozen=True, slots=True)
class ViewData:
    current: Series
    previous: Series | None
    empty_store: bool
    slots: tuple[Any, ...] = ()  # the latest hourly and daily slots the data is as of
    events: tuple[ChartEvent, ...] = ()  # marked on every graph
    insights: Insights = NO_INSIGHTS  # forecasts and unusual values


def load_view(
    ctx: AppContext,
    state: ViewState,
    periods: Periods,
    *,
    lang: str | None = None,
    now: datetime | None = None,
) -> ViewData:
    """The six series of the selection's source (and of the comparison period) from the
    store; with ``lang`` also the events of the range and the forecasts and unusual values."""
    cache = ctx.series_cache
    with ctx.session() as session:
        slots = (latest_slot(session, "hourly"), latest_slot(session, "daily"))
        if slots == (None, None):
            return ViewData({}, None, empty_store=True)

        six = [m for m in ctx.catalogue.metrics if m.builtin]

        def window(period: Period) -> Series:
            key = (state.granularity, period.start, period.end, slots, state.source)
            return cache.get_or_load(
                key,
                lambda: series_many(
                    session,
                    six,
                    state.granularity,
                    period.start,
                    period.end,
                    source=state.source,
                ),
            )

        current = window(periods.current)
        previous = window(periods.previous) if periods.previous else None
        if lang is None:
            return ViewData(current, previous, empty_store=False, slots=slots)
        # Events change without a collection (an admin adds one): always read (one query).
        events = tuple(
            load_chart_events(session, periods.requested.start, periods.requested.end, lang)
        )
        options = ctx.insight_options
        comparing = previous is not None
        key = (state.granularity, periods.current, comparing, slots, options, state.source)
        insights = ctx.insights_cache.get_or_load(
            key,
            lambda: load_insights(
                session,
                current,
                granularity=state.granularity,
                start=periods.current.start,
                end=periods.current.end,
                comparing=comparing,
                options=options,
                now=now or datetime.now(UTC),
            ),
        )
    return ViewData(current, previous, False, slots, events, insights)


def view_notes(
    state: ViewState, periods: Periods, tz: str, lang: str, daily_retention_days: int
) -> list[Any]:
    """The notes over the cards: ignored URL parameters (named), what retention cut and why
    (with a one-click switch to daily when hourly retention is the limit), the zone."""
    notes: list[Any] = []
    if state.ignored:
        notes.append(
            html.Div(
                t("dash.invalid_param", lang).format(params=", ".join(state.ignored)),
                className="note note-warning",
            )
        )
    gran = t(f"dash.granularity_{state.granularity}", lang)
    kept = format_timestamp(periods.kept_from, tz, state.granularity) if periods.kept_from else ""
    days = periods.retention_days
    if periods.current_clipped:
        requested = window_text(periods.requested, tz, state.granularity)
        notes.append(
            html.Div(
                t("dash.retention_current", lang).format(
                    granularity=gran, days=days, kept=kept, period=requested
                ),
                className="note note-retention",
            )
        )
    if periods.previous_clipped and periods.requested_previous is not None:
        whole = periods.previous is None or periods.previous.end <= periods.previous.start
        what = t("dash.retention_none" if whole else "dash.retention_part", lang)
        notes.append(
            html.Div(
                t("dash.retention_compare", lang).format(
                    period=window_text(periods.requested_previous, tz, state.granularity),
                    granularity=gran,
                    days=days,
                    kept=kept,
                    what=what,
                    daily_days=daily_retention_days,
                ),
                className="note note-retention note-retention-compare",
            )
        )
    if (periods.clipped) and state.granularity == "hourly":
        notes.append(
            dcc.Link(
                t("dash.switch_daily", lang),
                href=replace(state, granularity="daily", ignored=()).to_query(),
                id="switch-daily",
                className="btn btn-sm btn-outline-primary note-switch",
            )
        )
    notes.append(html.Div(f"{t('dash.timezone', lang)}: {tz}", className="note note-tz"))
    if state.source != DEFAULT_SOURCE:
        # Beside the zone: the numbers are not the default source's.
        name = t("dash.source_all", lang) if state.source == ALL_SOURCES else state.source
        notes.append(html.Div(f"{t('dash.source', lang)}: {name}", className="note note-source"))
    return notes


def figure_zone(state: ViewState, periods: Periods, tz: str) -> str:
    """The zone the graphs draw in: daily points are the organisation's days, drawn at their
    dates in that zone; hourly ones in the viewer's."""
    return periods.calendar_zone if state.granularity == "daily" else tz


def view_axis(
    data: ViewData, periods: Periods, zoom: tuple[datetime, datetime] | None, fig_tz: str
) -> tuple[datetime, datetime]:
    """One time axis for every graph of the view (linked zoom and hover): the zoom, else the
    requested window widened for the six's trends."""
    return zoom or axis_with_forecasts(
        (periods.requested.start, periods.requested.end),
        data.insights.forecasts.values(),
        fig_tz,
    )


def _last_day(end: datetime, zone: ZoneInfo) -> date:
    """The last calendar day a half-open window ending at ``end`` touches."""
    return (end - timedelta(microseconds=1)).astimezone(zone).date()


def slot_marker(ctx: AppContext) -> str:
    """The newest hourly and daily slots: it changes exactly when a collection lands, so the
    page redraws only then. "error" while the store cannot be read."""
    try:
        with ctx.session() as session:
            return f"{latest_slot(session, 'hourly')}|{latest_slot(session, 'daily')}"
    except STORE_ERRORS as exc:
        log.error("Dashboard: latest slot: store unavailable: %s", exc.__class__.__name__)
        return "error"
    except Exception:
        log.exception("Dashboard: checking the latest slot failed")
        return "error"


def register_callbacks(app: Dash, ctx: AppContext) -> None:
    settings = ctx.settings

    # assets/dashboard.js: the browser's time zone, and the language link.
    app.clientside_callback(
        ClientsideFunction("metrics", "timezone"),
        Output(ids.TIMEZONE, "data"),
        Input(ids.URL, "pathname"),
    )
    app.clientside_callback(
        ClientsideFunction("metrics", "languageLink"),
        Output(ids.LANG_LINK, "href"),
        Input(ids.URL, "search"),
        State(ids.LANG, "data"),
    )

    app.clientside_callback(
        ClientsideFunction("metrics", "theme"),
        Output(ids.THEME, "data"),
        Input(ids.THEME_TOGGLE, "n_clicks"),
        State(ids.THEME, "data"),
    )
    app.clientside_callback(
        ClientsideFunction("metrics", "toggleControls"),
        Output(ids.CONTROLS_COLLAPSE, "is_open"),
        Output(ids.CONTROLS_TOGGLE, "aria-expanded"),
        Input(ids.CONTROLS_TOGGLE, "n_clicks"),
        State(ids.CONTROLS_COLLAPSE, "is_open"),
    )
    # Linked time axis: a zoom on any graph (the six and the catalogue's extras) goes to the
    # URL, and every graph follows it.
    graphs = [*METRIC_IDS, *(m.id for m in ctx.catalogue.extras)]
    app.clientside_callback(
        ClientsideFunction("metrics", "zoom"),
        Output(ids.URL, "search", allow_duplicate=True),
        *[Input(ids.graph(m), "relayoutData") for m in graphs],
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("metrics", "linkGraphs"),
        Output(ids.HOVER_LINK, "data"),
        *[Input(ids.graph(m), "figure") for m in graphs],
    )

    control_values = [
        (ids.RANGE_PRESET, "value"),
        (ids.DATE_RANGE, "start_date"),
        (ids.DATE_RANGE, "end_date"),
        (ids.GRANULARITY, "value"),
        (ids.COMPARE_SWITCH, "value"),
        (ids.COMPARE_MODE, "value"),
        (ids.COMPARE_RANGE, "start_date"),
        (ids.COMPARE_RANGE, "end_date"),
    ]

    # What the controls show beyond their values: the comparison's options, and the days
    # each picker allows.
    shown_controls = [
        (ids.COMPARE_OPTIONS, "style"),
        (ids.COMPARE_RANGE, "disabled"),
        *[(r, p) for r in (ids.DATE_RANGE, ids.COMPARE_RANGE) for p in DAY_LIMITS],
    ]

    @app.callback(
        Output(ids.URL, "search"),
        *[Output(c, p) for c, p in control_values],
        *[Output(c, p) for c, p in shown_controls],
        Input(ids.URL, "search"),
        *[Input(c, p) for c, p in control_values],
        State(ids.TIMEZONE, "data"),
        *[State(c, p) for c, p in shown_controls],
    )
    def sync_controls(search: str | None, *values: Any) -> tuple[Any, ...]:
        """The URL sets the controls (page load, back/forward, a pasted link), and the
        controls set the URL. Only what changes is sent: on a plain page load the layout
        already shows it, and every prop sent costs the browser a redraw of its control."""
        n = len(control_values)
        answer = _sync_controls(search, *values[: n + 1])
        current = (search, *values[:n], *values[n + 1 :])
        return tuple(
            no_update if new == old else new for new, old in zip(answer, current, strict=True)
        )

    def _sync_controls(search: str | None, *values: Any) -> tuple[Any, ...]:
        trigger = dash_ctx.triggered_id
        # Values come from the browser: anything but a string counts as "not chosen".
        range_value, start, end, gran, _on, mode, c_start, c_end, tz_name = (
            v if isinstance(v, str) else None for v in values
        )
        compare_on = values[4] is True
        search = search if isinstance(search, str) else None
        if trigger in (None, ids.URL):
            # Page load, back/forward or a pasted link: the URL sets the controls.
            state = parse_query(search)
            url_out: Any = no_update
            mode = state.compare or mode or COMPARE_PREVIOUS
            if state.compare_start and state.compare_end:
                c_start, c_end = state.compare_start.isoformat(), state.compare_end.isoformat()
        else:
            # Half-made choices ("custom" clicked, one date picked) wait for the rest.
            if (
                (trigger == ids.RANGE_PRESET and range_value == CUSTOM and not (start and end))
                or (trigger == ids.DATE_RANGE and not (start and end))
                or (trigger == ids.COMPARE_RANGE and not (c_start and c_end))
            ):
                raise PreventUpdate
            state = from_controls(
                range_value=range_value,
                start=start,
                end=end,
                granularity=gran,
                compare_on=bool(compare_on),
                compare_mode=mode,
                compare_start=c_start,
                compare_end=c_end,
                picked_dates=trigger == ids.DATE_RANGE,
            ).with_choices_of(parse_query(search))
            query = state.to_query()
            url_out = query if query != (search or "") else no_update
            mode = mode or COMPARE_PREVIOUS  # "custom" stays chosen while its dates are picked
        start, end, *limits = picker_days(state, tz_name, settings, datetime.now(UTC))
        return (
            url_out,
            state.range,
            start,
            end,
            state.granularity,
            state.compare is not None,
            mode,
            c_start,
            c_end,
            {"display": "flex"} if state.compare else {"display": "none"},
            mode != COMPARE_CUSTOM,
            *limits,
            *limits,
        )

    @app.callback(
        Output(ids.STATUS_BADGE, "children"),
        Output(ids.STATUS_FAILURES, "children"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        Input(ids.TIMEZONE, "data"),
        Input(ids.RETRY_BUTTON, "n_clicks"),
        State(ids.LANG, "data"),
    )
    def show_status(
        _n: int | None, tz_name: str | None, _retry: int | None, lang: str
    ) -> tuple[Any, Any]:
        tz = resolve_timezone(tz_name, settings.default_timezone)
        lang = page_language(lang, settings.default_language)
        try:
            with ctx.session() as session:
                status = collection_status(
                    session,
                    collection_enabled=settings.metrics_collection_enabled,
                    recent_limit=STATUS_FAILURE_ROWS,
                    sources=ctx.catalogue.source_names,
                )
        except STORE_ERRORS:
            raise  # the app's answer: 503 and one log line; the page shows its message
        except Exception:
            log.exception("Dashboard: reading the collection status failed")
            return [], []
        names = {s.name: s.display_name(lang) for s in ctx.catalogue.sources}
        failures = status_failures(status, tz, lang, names)
        return status_badge(status, tz, lang, datetime.now(UTC)), failures

    # Not on page load (the layout carries the current marker), so the first drawing of the
    # graphs does not wait for this round trip.
    @app.callback(
        Output(ids.LATEST_SLOT, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        State(ids.LATEST_SLOT, "data"),
        prevent_initial_call=True,
    )
    def check_latest_slot(_n: int | None, seen: str | None) -> Any:
        marker = slot_marker(ctx)
        return marker if marker != seen else no_update

    @app.callback(
        *[Output(ids.graph(m), "figure") for m in METRIC_IDS],
        *[Output(ids.card(m), "children") for m in METRIC_IDS],
        Output(ids.NOTES, "children"),
        Output(ids.LOAD_ERROR, "is_open"),
        Output(ids.CONTENT, "style"),
        Output(ids.GRAPH_LAYOUTS, "data"),
        Input(ids.URL, "href"),
        Input(ids.TIMEZONE, "data"),
        Input(ids.LATEST_SLOT, "data"),
        Input(ids.RETRY_BUTTON, "n_clicks"),
        Input(ids.THEME, "data"),
        Input(ids.EVENTS_VERSION, "data"),  # an event added, edited or deleted: redraw marks
        State(ids.LANG, "data"),
        State(ids.GRAPH_LAYOUTS, "data"),
    )
    def render(
        href: str | None,
        tz_name: str | None,
        _slot: str | None,
        _retry: int | None,
        theme: str | None,
        _events: Any,
        lang: str,
        shown_layouts: Any,
    ) -> tuple[Any, ...]:
        search = search_of(href)
        now = datetime.now(UTC)
        tz, state, periods = resolve_view(search, tz_name, settings, now)
        lang = page_language(lang, settings.default_language)
        theme = theme if theme in THEMES and isinstance(theme, str) else None
        zoom = parse_zoom(search)
        n = len(METRIC_IDS)
        try:
            data = load_view(ctx, state, periods, lang=lang, now=now)
            if data.empty_store:
                figures, cards = _build(data, state, periods, tz, lang, now, zoom, theme)
            else:
                # Same data, periods, zone and language: the same figures (shared by
                # every admin viewing this range until the next collection lands).
                key = (state, periods, tz, lang, data.slots, zoom, theme, data.events)
                figures, cards = ctx.figure_cache.get_or_load(
                    key, lambda: _build(data, state, periods, tz, lang, now, zoom, theme)
                )
        except STORE_ERRORS:
            raise  # the app's answer: 503 and one log line; the page shows its message
        except Exception:
            # The admin sees a message and a retry button, never a traceback.
            log.exception("Dashboard: loading metric data failed for %s", state.to_query())
            return (*[no_update] * (2 * n), [], True, {"display": "none"}, no_update)
        refreshed = dash_ctx.triggered_id == ids.LATEST_SLOT
        notes = _notes(state, periods, tz, lang, zoom, refreshed, now)
        layouts = [_layout_key(figure) for figure in figures]
        shown = shown_layouts if isinstance(shown_layouts, list) else []
        sent = [
            figure if i >= len(shown) or shown[i] != layout else _traces_and_axis(figure)
            for i, (figure, layout) in enumerate(zip(figures, layouts, strict=True))
        ]
        return (*sent, *cards, notes, False, {}, layouts)

    def _notes(
        state: ViewState,
        periods: Periods,
        tz: str,
        lang: str,
        zoom: tuple[datetime, datetime] | None,
        refreshed: bool,
        now: datetime,
    ) -> list[Any]:
        notes: list[Any] = []
        if refreshed:
            # Auto-refresh redrew the page: say so, so a changed graph is no surprise.
            hhmm = now.astimezone(ZoneInfo(tz)).strftime("%H:%M")
            notes.append(
                html.Div(
                    t("dash.refreshed", lang).format(time=hhmm),
                    className="note note-refreshed",
                    id="refresh-note",
                )
            )
        if zoom:
            fmt = "%Y-%m-%d %H:%M"
            notes.append(
                html.Div(
                    [
                        t("dash.zoomed", lang).format(
                            start=zoom[0].strftime(fmt), end=zoom[1].strftime(fmt)
                        )
                        + " ",
                        dcc.Link(t("dash.zoom_reset", lang), href=state.to_query()),
                    ],
                    className="note note-zoom",
                )
            )
        return notes + view_notes(state, periods, tz, lang, settings.metrics_daily_retention_days)

    def _build(
        data: ViewData,
        state: ViewState,
        periods: Periods,
        tz: str,
        lang: str,
        now: datetime,
        zoom: tuple[datetime, datetime] | None,
        theme_name: str | None,
    ) -> tuple[list[Any], list[Any]]:
        theme = theme_for(theme_name)
        if data.empty_store:
            empty = wire_ready(
                build_empty_store_figure(next_hourly_slot(now), tz=tz, lang=lang, theme=theme)
            )
            return [empty] * len(METRIC_IDS), [
                [html.Div("—", className="value-card-value")] for _ in METRIC_IDS
            ]
        labels = (
            (
                window_text(periods.current, tz, state.granularity),
                window_text(periods.previous, tz, state.granularity),
            )
            if periods.previous
            else None
        )
        figures: list[Any] = []
        cards: list[Any] = []
        fig_tz = figure_zone(state, periods, tz)
        x_range = view_axis(data, periods, zoom, fig_tz)
        for metric in METRIC_IDS:
            df = data.current[metric]
            compare_df = data.previous[metric] if data.previous is not None else None
            forecast = data.insights.forecasts.get(metric)
            figures.append(
                wire_ready(
                    build_metric_figure(
                        df,
                        metric_type=metric,
                        granularity=state.granularity,
                        tz=fig_tz,
                        lang=lang,
                        compare_df=compare_df,
                        period_labels=labels,
                        compare_offset=pd.Timedelta(periods.offset),
                        x_range=x_range,
                        theme=theme,
                        events=data.events,
                        forecast=forecast,
                        unusual=data.insights.unusual.get(metric),
                    )
                )
            )
            outlook = (
                forecast_sentence(forecast, metric_type=metric, tz=fig_tz, lang=lang)
                if forecast is not None
                else None
            )
            cards.append(
                card_body(metric, df, compare_df, fig_tz, lang, state.granularity, outlook)
            )
        return figures, cards

    @app.callback(
        Output(ids.table_view(ALL), "children"),
        Output(ids.table_toggle(ALL), "children"),
        Output(ids.table_toggle(ALL), "aria-expanded"),
        Input(ids.table_toggle(ALL), "n_clicks"),
        Input(ids.URL, "href"),
        Input(ids.TIMEZONE, "data"),
        Input(ids.LATEST_SLOT, "data"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def show_tables(
        _clicks: Any, href: str | None, tz_name: str | None, _slot: Any, lang: str
    ) -> tuple[list[Any], list[str], list[str]]:
        """ "표로 보기": each open graph's points (both periods when comparing) as a table.

        One callback for every graph: the page loads with all tables closed, and six
        callbacks (a request and an answer each, on every range change) were a fifth of the
        time to the first drawn graphs.
        """
        lang = page_language(lang, settings.default_language)
        # Ids and clicks come from the request: each output answers by its own id's metric,
        # and anything odd is a closed table.
        toggles = dash_ctx.inputs_list[0]
        shown: set[str] = set()
        for toggle in toggles if isinstance(toggles, list) else []:
            metric = _metric_of(toggle)
            if metric in METRIC_IDS and _odd_count(toggle.get("value")):
                shown.add(metric)
        toggled = any(isinstance(c, dict) for c in dash_ctx.triggered_prop_ids.values())
        if not shown and not toggled:
            # The page loaded or its range changed with every table closed: nothing to redraw
            # (the browser then renders nothing either).
            raise PreventUpdate
        tables: dict[str, Any] = {}
        if shown:
            tz, state, periods = resolve_view(search_of(href), tz_name, settings, datetime.now(UTC))
            data = load_view(ctx, state, periods)
            frames = [(window_text(periods.current, tz, state.granularity), data.current)]
            if data.previous is not None and periods.previous is not None:
                label = window_text(periods.previous, tz, state.granularity)
                frames.append((label, data.previous))
            # Daily points are the organisation's days, as on the graph.
            zone = periods.calendar_zone if state.granularity == "daily" else tz
            for metric in shown:
                tables[metric] = (
                    html.P(t("dash.no_data_range", lang))
                    if data.empty_store
                    else _table(metric, frames, state.granularity, zone, lang)
                )
        views, labels, expanded = (
            [_metric_of(output) for output in outputs] for outputs in dash_ctx.outputs_list
        )
        return (
            [tables.get(m, []) for m in views],
            [t("dash.hide_table" if m in shown else "dash.view_table", lang) for m in labels],
            ["true" if m in shown else "false" for m in expanded],
        )

    def _table(
        metric: str, frames: list[tuple[str, Series]], granularity: str, tz: str, lang: str
    ) -> Any:
        comparing = len(frames) > 1
        rows: list[Any] = []
        count = 0
        for label, series in frames:
            for row in table_rows(series[metric], metric, granularity, tz, lang):
                count += 0 if row.gap else 1
                cells = [html.Th(row.time, scope="row"), html.Td(row.value)]
                if comparing:
                    cells.insert(0, html.Td(label))
                rows.append(html.Tr(cells, className="table-gap" if row.gap else None))
        head = [t("dash.table_time", lang), t("dash.table_value", lang)]
        if comparing:
            head.insert(0, t("dash.table_period", lang))
        name = METRICS_BY_ID[metric].name(lang)
        return html.Div(
            html.Table(
                [
                    html.Caption(t("dash.table_caption", lang).format(metric=name, n=count)),
                    html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
                    html.Tbody(rows),
                ],
                className="table table-sm table-striped mb-0",
            ),
            className="table-scroll",
            tabIndex=0,
            role="region",
            **aria(label=name),
        )


def _metric_of(item: Any) -> str:
    """The ``metric`` of a pattern id in a callback's inputs or outputs list ("": none)."""
    component = item.get("id") if isinstance(item, dict) else None
    return str(component.get("metric", "")) if isinstance(component, dict) else ""


def _odd_count(clicks: Any) -> bool:
    """A toggle clicked an odd number of times is open."""
    return isinstance(clicks, int) and not isinstance(clicks, bool) and clicks % 2 == 1


def wire_ready(figure: go.Figure) -> dict[str, Any]:
    """The figure as the plain JSON values Dash sends, made once when it is cached: Dash
    otherwise has plotly validate and convert every array of every figure in every answer,
    which was ≈ 60 % of a cached range change (the answer is the same bytes)."""
    return json.loads(to_json_plotly(figure))  # type: ignore[no-any-return]


def _layout_key(figure: dict[str, Any]) -> str:
    """A digest of the figure's layout but for its x axis: while it stays the same (the next
    slot of the same view, a range of the same shape), only the traces and the x axis are
    sent (``_traces_and_axis``)."""
    layout = {k: v for k, v in figure.get("layout", {}).items() if k != "xaxis"}
    text = json.dumps(layout, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _traces_and_axis(figure: dict[str, Any]) -> Patch:
    """The graph's traces and x axis, applied to the figure the browser already has. The x
    axis goes whole: plotly writes a user's zoom or reset (``autorange``) into the figure
    the browser keeps, and a range alone would leave that ``autorange`` in force."""
    patch = Patch()
    patch["data"] = figure["data"]
    patch["layout"]["xaxis"] = figure["layout"].get("xaxis", {})
    return patch

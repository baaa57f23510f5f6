"""Callbacks of the catalogue's parts of the page (issue 18), thin like ``callbacks``':

- ``sync_choices``: the source selector, the extra metrics' chooser and the label filters
  ⇄ the query string (``source``, ``extras``, ``label``), as ``sync_controls`` does for the
  range (one callback, so the URL and the controls never chase each other).
- ``render_extras``: the chosen extra metrics' graphs, from the same view (range,
  granularity, comparison, zoom, source, events, time axis) as the six. A labelled metric
  shows its top labels and "others", or exactly the labels its filter keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, no_update
from dash import ctx as dash_ctx
from sqlalchemy.orm import Session

from dashboard.charts.figures import (
    build_empty_store_figure,
    build_labelled_figure,
    build_metric_figure,
)
from dashboard.charts.formatting import window_text
from dashboard.charts.series import top_labels
from dashboard.charts.theme import THEMES, Theme, theme_for
from dashboard.context import AppContext
from dashboard.i18n import t
from dashboard.page import ids
from dashboard.page.callbacks import ViewData, figure_zone, load_view, view_axis, wire_ready
from dashboard.page.view_state import (
    Periods,
    ViewState,
    chosen_extras,
    page_language,
    parse_query,
    parse_zoom,
    resolve_view,
    search_of,
    with_zoom,
)
from db.catalogue import ALL_SOURCES, CatalogueMetric
from db.engine import STORE_ERRORS
from db.metrics import DEFAULT_SOURCE
from db.queries import series_arrays, sources_and_labels
from db.status import next_hourly_slot

log = logging.getLogger(__name__)
HIDDEN = {"display": "none"}


def held_series(ctx: AppContext, marker: str | None) -> tuple[list[str], dict[str, list[str]]]:
    """The sources (default first) and each labelled metric's labels the store holds, read
    once per latest slots (``marker``: ``slot_marker``'s; None or "error": none read)."""
    if marker is None or marker == "error":
        return [DEFAULT_SOURCE], {}
    with ctx.session() as session:
        return ctx.seen_cache.get_or_load(("seen", marker), lambda: sources_and_labels(session))


def extra_figure(
    session: Session,
    metric: CatalogueMetric,
    *,
    data: ViewData,
    state: ViewState,
    periods: Periods,
    tz: str,
    lang: str,
    theme: Theme,
    zoom: tuple[datetime, datetime] | None,
    labels: Sequence[str],
) -> go.Figure:
    """One extra metric's graph for the view: an unlabelled one like the six's (comparison
    included); a labelled one as its filter's labels, else its top labels and "others"."""
    fig_tz = figure_zone(state, periods, tz)
    x_range = view_axis(data, periods, zoom, fig_tz)

    def read(period: Any, label: str = "") -> pd.DataFrame:
        return series_arrays(
            session,
            metric,
            state.granularity,
            period.start,
            period.end,
            source=state.source,
            label=label,
        ).frame()

    if not metric.labelled:
        previous = read(periods.previous) if periods.previous else None
        period_labels = (
            (
                window_text(periods.current, tz, state.granularity),
                window_text(periods.previous, tz, state.granularity),
            )
            if periods.previous
            else None
        )
        return build_metric_figure(
            read(periods.current),
            metric_type=metric.id,
            metric=metric.info,
            granularity=state.granularity,
            tz=fig_tz,
            lang=lang,
            compare_df=previous,
            period_labels=period_labels,
            compare_offset=pd.Timedelta(periods.offset),
            x_range=x_range,
            theme=theme,
            events=data.events,
        )
    kept = state.labels_of(metric.id)
    frames = {label: read(periods.current, label) for label in kept or labels}
    if kept:
        series = [(label, frames[label]) for label in kept]
    else:
        top, others = top_labels(frames, metric.across_sources)
        series = top + ([(t("dash.others", lang), others)] if others is not None else [])
    return build_labelled_figure(
        series,
        metric=metric.info,
        granularity=state.granularity,
        tz=fig_tz,
        lang=lang,
        x_range=x_range,
        theme=theme,
        events=data.events,
    )


def register_extra_callbacks(app: Dash, ctx: AppContext) -> None:
    """The source selector's wiring always; the extras section's when the catalogue has
    extra metrics (only then is it on the page)."""
    settings = ctx.settings
    extras = ctx.catalogue.extras
    labelled = [m for m in extras if m.labelled]
    controls = [(ids.SOURCE, "value")]
    if extras:
        controls.append((ids.EXTRAS_CHOOSER, "value"))
    controls += [(ids.label_filter(m.id), "value") for m in labelled]

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        *[Output(c, p) for c, p in controls],
        Input(ids.URL, "search"),
        *[Input(c, p) for c, p in controls],
        State(ids.LATEST_SLOT, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def sync_choices(search: Any, source: Any, *rest: Any) -> tuple[Any, ...]:
        *values, marker = rest
        state = parse_query(search)
        if dash_ctx.triggered_id in (None, ids.URL):
            # Page load, back/forward or a pasted link: the URL sets the controls; a source
            # the store does not hold (a stale link) is replaced by the default one.
            sources, _labels = held_series(ctx, marker if isinstance(marker, str) else None)
            url: Any = no_update
            if state.source not in (*sources, ALL_SOURCES):
                state = replace(state, source=DEFAULT_SOURCE)
                url = with_zoom(state.to_query(), search)
            chooser = [[m.id for m in chosen_extras(state, extras)]] if extras else []
            filters = [list(state.labels_of(m.id)) for m in labelled]
            # Only what differs from what the controls show (usually nothing on page load).
            return tuple(
                no_update if new == old else new
                for new, old in zip(
                    (url, state.source, *chooser, *filters), (None, source, *values), strict=True
                )
            )
        chosen = values[0] if extras else None
        kept_labels = values[1:] if extras else ()
        new = replace(
            state,
            source=source if isinstance(source, str) and source else DEFAULT_SOURCE,
            extras=tuple(str(v) for v in chosen) if isinstance(chosen, list) else state.extras,
            labels=tuple(
                (m.id, tuple(str(v) for v in kept))
                for m, kept in zip(labelled, kept_labels, strict=True)
                if isinstance(kept, list) and kept
            ),
        )
        query = with_zoom(new.to_query(), search)
        return (query if query != search else no_update, *[no_update] * len(controls))

    if not extras:
        return

    @app.callback(
        *[Output(ids.graph(m.id), "figure") for m in extras],
        *[Output(ids.extra_card(m.id), "style") for m in extras],
        Output(ids.EXTRAS_NONE, "style"),
        Input(ids.URL, "href"),
        Input(ids.TIMEZONE, "data"),
        Input(ids.LATEST_SLOT, "data"),
        Input(ids.RETRY_BUTTON, "n_clicks"),
        Input(ids.THEME, "data"),
        Input(ids.EVENTS_VERSION, "data"),
        State(ids.LANG, "data"),
    )
    def render_extras(
        href: Any,
        tz_name: Any,
        marker: Any,
        _retry: Any,
        theme_name: Any,
        _events: Any,
        lang: Any,
    ) -> tuple[Any, ...]:
        search = search_of(href)
        now = datetime.now(UTC)
        tz, state, periods = resolve_view(search, tz_name, settings, now)
        lang = page_language(lang, settings.default_language)
        theme = theme_for(theme_name if theme_name in THEMES else None)
        shown = chosen_extras(state, extras)
        styles = [None if m in shown else HIDDEN for m in extras]
        none_note = HIDDEN if shown else None
        try:
            data = load_view(ctx, state, periods, lang=lang, now=now)
            if data.empty_store:
                empty = wire_ready(
                    build_empty_store_figure(next_hourly_slot(now), tz=tz, lang=lang, theme=theme)
                )
                figures = [empty if m in shown else no_update for m in extras]
                return (*figures, *styles, none_note)
            _sources, labels = held_series(ctx, marker if isinstance(marker, str) else None)
            zoom = parse_zoom(search)
            with ctx.session() as session:
                figures = [
                    wire_ready(
                        extra_figure(
                            session,
                            m,
                            data=data,
                            state=state,
                            periods=periods,
                            tz=tz,
                            lang=lang,
                            theme=theme,
                            zoom=zoom,
                            labels=labels.get(m.id, []),
                        )
                    )
                    if m in shown
                    else no_update
                    for m in extras
                ]
        except STORE_ERRORS:
            raise  # the app's answer: 503 and one log line; the page shows its message
        except Exception:
            # The six's callback shows the message and the retry button.
            log.exception("Dashboard: loading the extra metrics failed for %s", state.to_query())
            return (*[no_update] * len(extras), *styles, none_note)
        return (*figures, *styles, none_note)

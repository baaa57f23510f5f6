"""The page's selection (range, granularity, comparison) and its query-string form.

The URL is the single source of truth: controls write it, the graphs read it, so a copied
link reproduces the view and back/forward work. The controls sync with its query string;
what draws (graphs, tables, events) reads its whole address instead, so that on page load
it does not wait for the controls' round trip (Dash holds a callback until every callback
writing one of its inputs has answered). Pure functions, no Dash, no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from admin_metrics.zones import zone_name
from db.catalogue import CatalogueMetric
from db.metrics import DEFAULT_SOURCE
from db.periods import (
    ALIGNS,
    CUSTOM,
    PRESETS,
    Window,
    aligned_comparison,
    custom_window,
    first_kept_slot,
    preset_window,
    previous_window,
    week_start_index,
)

if TYPE_CHECKING:
    from admin_metrics.settings import Settings

GRANULARITIES: Final[tuple[str, ...]] = ("hourly", "daily")
COMPARE_PREVIOUS: Final = "previous"
COMPARE_CUSTOM: Final = "custom"
MAX_CUSTOM_DAYS: Final = 366
# Days the page accepts at all: beyond them a window could not even be computed (year 1,
# year 9999 + 1 day) and no metric was ever stored there.
FIRST_DAY: Final = date(1970, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)
# The catalogue's extra metrics shown when the URL does not choose (a long catalogue would
# otherwise load dozens of graphs at once); the chooser lists them all.
DEFAULT_EXTRAS: Final = 6
# What the URL may name as a metric (the catalogue's id rule), a source and a label; anything
# else is ignored like any malformed parameter.
_METRIC_ID: Final = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SOURCE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
MAX_LABEL_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class ViewState:
    range: str = "7"  # a preset (days) or "custom"
    start: date | None = None  # custom range, calendar days in the viewer's time zone
    end: date | None = None
    granularity: str = "hourly"
    compare: str | None = None  # None, "previous" or "custom"
    compare_start: date | None = None
    compare_end: date | None = None
    # The query-string parameters that asked for something impossible and were ignored.
    ignored: tuple[str, ...] = ()
    compare_align: str = "start"  # custom comparison: "start" (same date) or "weekday"
    source: str = DEFAULT_SOURCE  # a source instance, or "all" (every source combined)
    # The catalogue's extra metrics chosen (ids); None: the default (``chosen_extras``).
    extras: tuple[str, ...] | None = None
    # The label filter: (metric id, labels shown) per labelled metric filtered.
    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def invalid(self) -> bool:
        return bool(self.ignored)

    def to_query(self) -> str:
        """The canonical query string (with the leading ``?``)."""
        params: dict[str, str] = {"range": self.range}
        if self.range == CUSTOM and self.start and self.end:
            params |= {"start": self.start.isoformat(), "end": self.end.isoformat()}
        params["granularity"] = self.granularity
        if self.compare:
            params["compare"] = self.compare
            if self.compare == COMPARE_CUSTOM and self.compare_start and self.compare_end:
                params |= {
                    "compare_start": self.compare_start.isoformat(),
                    "compare_end": self.compare_end.isoformat(),
                }
                if self.compare_align != "start":
                    params["compare_align"] = self.compare_align
        pairs = list(params.items())
        if self.source != DEFAULT_SOURCE:
            pairs.append(("source", self.source))
        if self.extras is not None:
            pairs.append(("extras", ",".join(self.extras)))
        pairs += [
            ("label", f"{metric}:{label}") for metric, chosen in self.labels for label in chosen
        ]
        return "?" + urlencode(pairs)

    def labels_of(self, metric_id: str) -> tuple[str, ...]:
        """The labels the filter keeps for a metric (none: the top labels and "others")."""
        return dict(self.labels).get(metric_id, ())

    def with_choices_of(self, other: ViewState) -> ViewState:
        """This range and comparison with ``other``'s source, extra metrics and labels (what
        the range controls leave alone)."""
        return replace(self, source=other.source, extras=other.extras, labels=other.labels)


DEFAULT_STATE: Final = ViewState()


def _date(value: object) -> date | None:
    """A calendar day from the URL or a date picker; anything else (another JSON type, a
    malformed, ancient or far-future date) is None, which the callers treat as invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _valid_span(start: date | None, end: date | None) -> bool:
    return bool(start and end and start <= end and (end - start).days < MAX_CUSTOM_DAYS)


def search_of(href: object) -> str:
    """The query string (``?…``, or empty) of the page's address as the browser reports it;
    anything but a string reads as empty."""
    if not isinstance(href, str):
        return ""
    query = urlsplit(href).query
    return f"?{query}" if query else ""


def _query_text(search: object) -> str:
    """The URL's query string as Dash sends it back; any other JSON value reads as empty."""
    return search if isinstance(search, str) else ""


def parse_query(search: object) -> ViewState:
    """The state a query string describes; anything malformed falls back to the default
    (also a value that is not a string at all: it comes from the browser)."""
    raw = parse_qs(_query_text(search).lstrip("?"))

    def one(key: str) -> str | None:
        values = raw.get(key)
        return values[0] if values else None

    ignored: list[str] = []
    if search is not None and not isinstance(search, str):
        ignored.append("search")
    granularity = one("granularity") or "hourly"
    if granularity not in GRANULARITIES:
        granularity = "hourly"
        ignored.append("granularity")
    range_ = one("range") or "7"
    start, end = _date(one("start")), _date(one("end"))
    if range_ == CUSTOM:
        if not _valid_span(start, end):
            range_, start, end = "7", None, None
            ignored.append("start/end")
    elif range_ not in PRESETS:
        range_, start, end = "7", None, None
        ignored.append("range")
    else:
        start = end = None
    compare = one("compare")
    compare_start, compare_end = _date(one("compare_start")), _date(one("compare_end"))
    if compare not in (None, COMPARE_PREVIOUS, COMPARE_CUSTOM):
        compare = None
        ignored.append("compare")
    if compare == COMPARE_CUSTOM and not _valid_span(compare_start, compare_end):
        compare = COMPARE_PREVIOUS
        ignored.append("compare_start/compare_end")
    if compare != COMPARE_CUSTOM:
        compare_start = compare_end = None
    align = one("compare_align") or "start"
    if align not in ALIGNS:
        align = "start"
        ignored.append("compare_align")
    source = one("source") or DEFAULT_SOURCE
    if not _SOURCE.match(source):
        source = DEFAULT_SOURCE
        ignored.append("source")
    return ViewState(
        range_,
        start,
        end,
        granularity,
        compare,
        compare_start,
        compare_end,
        ignored=tuple(ignored),
        compare_align=align if compare == COMPARE_CUSTOM else "start",
        source=source,
        extras=_extras(search),
        labels=_labels(raw.get("label", [])),
    )


def _extras(search: object) -> tuple[str, ...] | None:
    """``extras=a,b`` (empty: none chosen); ids that are not metric ids are left out, those
    the catalogue does not hold later (``chosen_extras``)."""
    values = parse_qs(_query_text(search).lstrip("?"), keep_blank_values=True).get("extras")
    if not values:
        return None
    return tuple(dict.fromkeys(i for i in values[0].split(",") if _METRIC_ID.match(i)))


def _labels(values: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``label=metric:label`` parameters grouped by metric, in the URL's order; malformed ones
    are left out."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        metric, _, label = value.partition(":")
        if _METRIC_ID.match(metric) and 0 < len(label) <= MAX_LABEL_LENGTH:
            labels = chosen.setdefault(metric, [])
            labels.extend([] if label in labels else [label])
    return tuple((metric, tuple(labels)) for metric, labels in chosen.items())


def chosen_extras(
    state: ViewState, extras: Sequence[CatalogueMetric]
) -> tuple[CatalogueMetric, ...]:
    """The catalogue's extra metrics the page shows, in the catalogue's order: those the URL
    chose (ids it does not hold are ignored), else the first ``DEFAULT_EXTRAS``."""
    if state.extras is None:
        return tuple(extras[:DEFAULT_EXTRAS])
    return tuple(m for m in extras if m.id in state.extras)


def from_controls(
    *,
    range_value: str | None,
    start: str | None,
    end: str | None,
    granularity: str | None,
    compare_on: bool,
    compare_mode: str | None,
    compare_start: str | None,
    compare_end: str | None,
    picked_dates: bool = False,
    compare_align: str | None = None,
) -> ViewState:
    """The state the controls show. Picking dates selects the custom range; a preset clears
    them. Incomplete custom choices keep the rest of the state valid."""
    start_d, end_d = _date(start), _date(end)
    if picked_dates and _valid_span(start_d, end_d):
        range_ = CUSTOM
    elif range_value in PRESETS:
        range_, start_d, end_d = str(range_value), None, None
    elif _valid_span(start_d, end_d):
        range_ = CUSTOM
    else:
        range_, start_d, end_d = "7", None, None
    compare: str | None = None
    c_start, c_end = _date(compare_start), _date(compare_end)
    if compare_on:
        compare = (
            COMPARE_CUSTOM
            if compare_mode == COMPARE_CUSTOM and _valid_span(c_start, c_end)
            else COMPARE_PREVIOUS
        )
    if compare != COMPARE_CUSTOM:
        c_start = c_end = None
    state = ViewState(
        range_,
        start_d,
        end_d,
        granularity if granularity in GRANULARITIES else "hourly",
        compare,
        c_start,
        c_end,
    )
    align = compare_align if compare == COMPARE_CUSTOM and compare_align in ALIGNS else "start"
    return replace(state, ignored=(), compare_align=align)


def page_language(value: object, default: str) -> str:
    """The page's language store as sent back by the browser: ``ko``/``en``, else the
    default (it is a JSON value like any other)."""
    return value if value in ("ko", "en") and isinstance(value, str) else default


def resolve_timezone(name: object, fallback: str) -> str:
    """A valid IANA zone name: the browser's when it is known, else ``fallback`` (also for
    a folder such as ``America``, a number or an over-long name)."""
    return zone_name(name) or fallback


Period = Window  # a half-open UTC window (``db.periods``)


@dataclass(frozen=True, slots=True)
class Periods:
    """The UTC windows to query (``db.periods`` rules), already clipped to retention."""

    current: Window
    previous: Window | None  # the comparison period, on its own dates
    offset: timedelta  # added to the comparison's timestamps to overlay it on ``current``
    clipped: bool  # retention cut part of a requested window
    retention_days: int  # how long this granularity is kept (the clipping limit)
    requested: Window  # the current window before clipping (the axis range)
    calendar_zone: str = "UTC"  # the zone days are counted in (viewer's; daily: business)
    current_clipped: bool = False
    previous_clipped: bool = False
    requested_previous: Window | None = None  # the comparison before clipping
    kept_from: datetime | None = None  # the first slot retention still keeps


def resolve_periods(
    state: ViewState,
    *,
    now: datetime,
    tz: str,
    hourly_retention_days: int,
    daily_retention_days: int,
    business_tz: str | None = None,
    week_start: int = 0,
) -> Periods:
    """Turn the selection into half-open UTC windows as of ``now`` (``db.periods`` rules).

    The calendar zone is the viewer's ``tz`` for hourly views and ``business_tz`` (the
    organisation's days, default ``tz``) for daily ones.
    """
    now = now.astimezone(UTC)
    gran = state.granularity
    zone = tz if gran == "hourly" else (business_tz or tz)
    if state.range == CUSTOM and state.start and state.end:
        current = custom_window(state.start, state.end, gran, zone)
    else:
        current = preset_window(state.range, gran, now=now, zone=zone, week_start=week_start)
    previous: Window | None = None
    if state.compare == COMPARE_CUSTOM and state.compare_start:
        previous = aligned_comparison(
            current, state.compare_start, gran, zone, align=state.compare_align
        )
    elif state.compare:
        previous = previous_window(state.range, current, gran, zone)
    offset = current.start - previous.start if previous else timedelta(0)
    keep = hourly_retention_days if gran == "hourly" else daily_retention_days
    kept_from = first_kept_slot(now, keep, gran, zone)

    def clip(period: Window) -> tuple[Window, bool]:
        if period.start < kept_from:
            return Window(kept_from, max(period.end, kept_from)), True
        return period, False

    clipped_current, current_cut = clip(current)
    clipped_previous, previous_cut = clip(previous) if previous else (None, False)
    return Periods(
        current=clipped_current,
        previous=clipped_previous,
        offset=offset,
        clipped=current_cut or previous_cut,
        retention_days=keep,
        requested=current,
        calendar_zone=zone,
        current_clipped=current_cut,
        previous_clipped=previous_cut,
        requested_previous=previous,
        kept_from=kept_from,
    )


def resolve_view(
    search: str | None, tz_name: str | None, settings: Settings, now: datetime
) -> tuple[str, ViewState, Periods]:
    """What the page shows as of ``now``: the viewer's zone, the parsed query string and its
    UTC windows under the configured retention (shared by the graphs and the exports)."""
    tz = resolve_timezone(tz_name, settings.default_timezone)
    state = parse_query(search)
    periods = resolve_periods(
        state,
        now=now,
        tz=tz,
        hourly_retention_days=settings.metrics_hourly_retention_days,
        daily_retention_days=settings.metrics_daily_retention_days,
        business_tz=settings.business_zone,
        week_start=week_start_index(settings.week_start),
    )
    return tz, state, periods


def picker_days(
    state: ViewState, tz_name: str | None, settings: Settings, now: datetime
) -> tuple[str, str, str, str]:
    """The range picker's days for ``state`` as of ``now``, ISO dates in the viewer's zone:
    the first and last day on screen (a preset's too), then the first and last day it
    allows (those retention keeps, up to today)."""
    tz, _state, periods = resolve_view(state.to_query(), tz_name, settings, now)
    zone = ZoneInfo(tz)
    shown = periods.requested
    today = now.astimezone(zone).date()
    return (
        (state.start or shown.start.astimezone(zone).date()).isoformat(),
        (state.end or (shown.end - timedelta(microseconds=1)).astimezone(zone).date()).isoformat(),
        (today - timedelta(days=periods.retention_days)).isoformat(),
        today.isoformat(),
    )


def parse_zoom(search: object) -> tuple[datetime, datetime] | None:
    """The zoomed time axis (``zoom_start``/``zoom_end``: wall-clock minutes of the viewer's
    zone, set by a drag-zoom on any graph); None when absent or malformed. It narrows what
    the graphs show, not what is loaded, so it never changes the range or the cards."""
    raw = parse_qs(_query_text(search).lstrip("?"))
    try:
        start = datetime.fromisoformat(raw["zoom_start"][0])
        end = datetime.fromisoformat(raw["zoom_end"][0])
    except (KeyError, IndexError, ValueError):
        return None
    if start.tzinfo or end.tzinfo or start >= end:
        return None
    if start.date() < FIRST_DAY or end.date() > LAST_DAY:
        return None
    return start, end


def with_zoom(query: str, search: object) -> str:
    """``query`` (a ``to_query``) keeping the zoom of ``search``: choosing what is shown (a
    source, metrics, labels) leaves the time axis where it was."""
    zoom = parse_zoom(search)
    if zoom is None:
        return query
    fmt = "%Y-%m-%dT%H:%M"
    bounds = {"zoom_start": zoom[0].strftime(fmt), "zoom_end": zoom[1].strftime(fmt)}
    return f"{query}&{urlencode(bounds)}"

"""The page's selection (range, granularity, comparison) and its query-string form.

The URL is the single source of truth: controls write it, the graphs read it, so a copied
link reproduces the view and back/forward work. Pure functions, no Dash, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from admin_metrics.settings import Settings

PRESETS: Final[tuple[str, ...]] = ("7", "30", "90")
CUSTOM: Final = "custom"
GRANULARITIES: Final[tuple[str, ...]] = ("hourly", "daily")
COMPARE_PREVIOUS: Final = "previous"
COMPARE_CUSTOM: Final = "custom"
MAX_CUSTOM_DAYS: Final = 366


@dataclass(frozen=True, slots=True)
class ViewState:
    range: str = "7"  # a preset (days) or "custom"
    start: date | None = None  # custom range, calendar days in the viewer's time zone
    end: date | None = None
    granularity: str = "hourly"
    compare: str | None = None  # None, "previous" or "custom"
    compare_start: date | None = None
    compare_end: date | None = None
    invalid: bool = False  # the query string asked for something impossible

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
        return "?" + urlencode(params)


DEFAULT_STATE: Final = ViewState()


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _valid_span(start: date | None, end: date | None) -> bool:
    return bool(start and end and start <= end and (end - start).days < MAX_CUSTOM_DAYS)


def parse_query(search: str | None) -> ViewState:
    """The state a query string describes; anything malformed falls back to the default."""
    raw = parse_qs((search or "").lstrip("?"))

    def one(key: str) -> str | None:
        values = raw.get(key)
        return values[0] if values else None

    invalid = False
    granularity = one("granularity") or "hourly"
    if granularity not in GRANULARITIES:
        granularity, invalid = "hourly", True
    range_ = one("range") or "7"
    start, end = _date(one("start")), _date(one("end"))
    if range_ == CUSTOM:
        if not _valid_span(start, end):
            range_, start, end, invalid = "7", None, None, True
    elif range_ not in PRESETS:
        range_, start, end, invalid = "7", None, None, True
    else:
        start = end = None
    compare = one("compare")
    compare_start, compare_end = _date(one("compare_start")), _date(one("compare_end"))
    if compare not in (None, COMPARE_PREVIOUS, COMPARE_CUSTOM):
        compare, invalid = None, True
    if compare == COMPARE_CUSTOM and not _valid_span(compare_start, compare_end):
        compare, invalid = COMPARE_PREVIOUS, True
    if compare != COMPARE_CUSTOM:
        compare_start = compare_end = None
    return ViewState(
        range_, start, end, granularity, compare, compare_start, compare_end, invalid=invalid
    )


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
    return replace(state, invalid=False)


def resolve_timezone(name: str | None, fallback: str) -> str:
    """A valid IANA zone name: the browser's when it is known, else ``fallback``."""
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, inclusive

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Periods:
    """The UTC windows to query, already clipped to what retention keeps."""

    current: Period
    previous: Period | None  # the comparison period, on its own dates
    offset: timedelta  # added to the comparison's timestamps to overlay it on ``current``
    clipped: bool  # retention cut part of a requested window
    retention_days: int  # how long this granularity is kept (the clipping limit)
    requested: Period  # the current window before clipping (the axis range)


def _day_window(start: date, end: date, tz: str) -> Period:
    zone = ZoneInfo(tz)
    lo = datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(UTC)
    hi_day = end + timedelta(days=1)
    hi = datetime(hi_day.year, hi_day.month, hi_day.day, tzinfo=zone).astimezone(UTC)
    return Period(lo, hi - timedelta(seconds=1))


def resolve_periods(
    state: ViewState,
    *,
    now: datetime,
    tz: str,
    hourly_retention_days: int,
    daily_retention_days: int,
) -> Periods:
    """Turn the selection into UTC windows as of ``now`` (presets end at the current hour)."""
    now = now.astimezone(UTC)
    if state.range == CUSTOM and state.start and state.end:
        current = _day_window(state.start, state.end, tz)
    else:
        end = now.replace(minute=0, second=0, microsecond=0)
        current = Period(end - timedelta(days=int(state.range)), end)
    previous: Period | None = None
    offset = timedelta(0)
    if state.compare == COMPARE_CUSTOM and state.compare_start and state.compare_end:
        previous = _day_window(state.compare_start, state.compare_end, tz)
        offset = current.start - previous.start
    elif state.compare:
        offset = current.length + (timedelta(seconds=1) if state.range == CUSTOM else timedelta(0))
        previous = Period(current.start - offset, current.end - offset)
    keep = hourly_retention_days if state.granularity == "hourly" else daily_retention_days
    limit = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=keep)
    clipped = False

    def clip(period: Period) -> Period:
        nonlocal clipped
        if period.start < limit:
            clipped = True
            return Period(limit, max(period.end, limit))
        return period

    return Periods(
        current=clip(current),
        previous=clip(previous) if previous else None,
        offset=offset,
        clipped=clipped,
        retention_days=keep,
        requested=current,
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
    )
    return tz, state, periods


def parse_zoom(search: str | None) -> tuple[datetime, datetime] | None:
    """The zoomed time axis (``zoom_start``/``zoom_end``: wall-clock minutes of the viewer's
    zone, set by a drag-zoom on any graph); None when absent or malformed. It narrows what
    the graphs show, not what is loaded, so it never changes the range or the cards."""
    raw = parse_qs((search or "").lstrip("?"))
    try:
        start = datetime.fromisoformat(raw["zoom_start"][0])
        end = datetime.fromisoformat(raw["zoom_end"][0])
    except (KeyError, IndexError, ValueError):
        return None
    if start.tzinfo or end.tzinfo or start >= end:
        return None
    return start, end

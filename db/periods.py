"""The one definition of periods: which slots "7 days", "today", "previous period" mean.

Pure standard library (the collectors' daily rollup and the whole dashboard use it), so the
page, the PDF, the CSV, the API and the CLI cannot disagree about a boundary slot.

Rules (README "Periods"):

- A period is **half-open** ``[start, end)`` in UTC: a slot belongs to it when
  ``start <= slot < end``. Two adjacent periods never share a slot.
- A slot is where a value is stored: an hourly slot is a whole UTC hour; a daily slot is
  the organisation's day (``BUSINESS_TIMEZONE``), stored at that day's local midnight.
- The **current slot** is the one ``now`` lies in (the hour that is being, or has just been,
  collected; for daily the business day in progress).
- **Last N days**, hourly: the ``N × 24`` hourly slots ending with the current slot.
  Daily: the ``N`` complete business days ending with yesterday. A day's value is its
  rollup, written just after the day ends, so the current partial day has no daily value
  yet: counting it would make "7 days daily" 6 points. 7 days daily is 7 points.
- **Short presets** (``24h``, ``today``, ``week``, ``month``): ``24h`` = the last 24 slots
  (daily: yesterday, the last complete day); ``today`` / ``week`` / ``month`` start at
  local midnight of today, of the week's first day (``WEEK_START``) or of the month's 1st
  in the calendar zone and end with the current slot (daily: with the current day, whose
  value appears when it is complete).
- The **calendar zone** is the viewer's zone for hourly periods and ``BUSINESS_TIMEZONE``
  for daily ones (a daily value *is* a business day).
- The **previous period** has exactly as many slots as the current one and starts one
  preset unit earlier (``N`` days for "last N days" and custom ranges, 1 day / 7 days /
  1 month for today / week / month): hourly presets shift by whole 24-hour days, so time of
  day is the same in UTC; across a DST change the local wall clock differs by the hour the
  clocks moved (the slot count wins). A previous period never overlaps the current one.
- A **custom comparison** starts on its chosen date at the current period's time of day
  and has as many slots as the current period (its end follows); with
  ``align="weekday"`` its start moves back (0–6 days) to the current start's weekday.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

Granularity = Literal["hourly", "daily"]
Align = Literal["start", "weekday"]

PRESET_DAYS: Final[tuple[str, ...]] = ("7", "30", "90")
SHORT_PRESETS: Final[tuple[str, ...]] = ("24h", "today", "week", "month")
PRESETS: Final[tuple[str, ...]] = PRESET_DAYS + SHORT_PRESETS
CUSTOM: Final = "custom"
ALIGNS: Final[tuple[str, ...]] = ("start", "weekday")
WEEKDAYS: Final[tuple[str, ...]] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
HOUR: Final = timedelta(hours=1)
DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC period ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a Window needs aware datetimes")

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, datetime) and self.start <= instant < self.end

    @property
    def last_instant(self) -> datetime:
        """The last whole second inside the window (for "inclusive end" readers)."""
        return self.end - timedelta(seconds=1)


# --- slots ---------------------------------------------------------------------------------
def hour_floor(instant: datetime) -> datetime:
    """The hourly slot ``instant`` lies in (a whole UTC hour)."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_midnight(day: date, zone: str) -> datetime:
    """00:00 of ``day`` in ``zone`` as a UTC instant (where a daily value is stored)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local_date(instant: datetime, zone: str) -> date:
    """The calendar day of ``zone`` that ``instant`` falls on."""
    return instant.astimezone(ZoneInfo(zone)).date()


def day_window(day: date, zone: str) -> Window:
    """The business day ``day``: 00:00–24:00 in ``zone`` (23 or 25 hours across DST)."""
    return Window(local_midnight(day, zone), local_midnight(day + DAY, zone))


def days_window(first: date, last: date, zone: str) -> Window:
    """Whole calendar days ``first``..``last`` (both included) of ``zone``."""
    if last < first:
        raise ValueError("last day before first day")
    return Window(local_midnight(first, zone), local_midnight(last + DAY, zone))


def slot_floor(instant: datetime, granularity: str, zone: str) -> datetime:
    """The start of the slot ``instant`` lies in (daily: the day of ``zone``)."""
    if granularity == "hourly":
        return hour_floor(instant)
    return local_midnight(local_date(instant, zone), zone)


def _ceil_hour(instant: datetime) -> datetime:
    floor = hour_floor(instant)
    return floor if floor == instant.astimezone(UTC) else floor + HOUR


def slot_count(window: Window, granularity: str, zone: str) -> int:
    """How many slots of ``granularity`` lie in ``window``."""
    if granularity == "hourly":
        lo, hi = _ceil_hour(window.start), _ceil_hour(window.end)
        return max(0, int((hi - lo) / HOUR))
    first = local_date(window.start, zone)
    if local_midnight(first, zone) < window.start:
        first += DAY
    last = local_date(window.end - timedelta(microseconds=1), zone)
    return max(0, (last - first).days + 1)


def slot_starts(window: Window, granularity: str, zone: str) -> list[datetime]:
    """Every slot of ``window`` (UTC instants, oldest first)."""
    if granularity == "hourly":
        first = _ceil_hour(window.start)
        return [first + i * HOUR for i in range(slot_count(window, granularity, zone))]
    first_day = local_date(window.start, zone)
    if local_midnight(first_day, zone) < window.start:
        first_day += DAY
    return [
        local_midnight(first_day + timedelta(days=i), zone)
        for i in range(slot_count(window, granularity, zone))
    ]


def _advance(start: datetime, slots: int, granularity: str, zone: str) -> datetime:
    """The end of ``slots`` consecutive slots starting at slot ``start``."""
    if granularity == "hourly":
        return start + slots * HOUR
    return local_midnight(local_date(start, zone) + timedelta(days=slots), zone)


# --- presets -------------------------------------------------------------------------------
def week_start_index(name: str) -> int:
    """``monday`` → 0 … ``sunday`` → 6 (``WEEK_START``)."""
    return WEEKDAYS.index(name.lower())


def _months_back(day: date, months: int) -> date:
    month0 = day.month - 1 - months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def preset_window(
    preset: str, granularity: str, *, now: datetime, zone: str, week_start: int = 0
) -> Window:
    """The current period of a preset as of ``now`` (``zone``: the calendar zone)."""
    end = _advance(slot_floor(now, granularity, zone), 1, granularity, zone)
    today = local_date(now, zone)
    if preset in PRESET_DAYS:
        days = int(preset)
        if granularity == "hourly":
            return Window(end - days * 24 * HOUR, end)
        # The N complete business days ending yesterday: today's value is written when the
        # day is over, so "7 days daily" is 7 points, never 6 and a missing partial day.
        last = local_midnight(today, zone)
        return Window(local_midnight(today - timedelta(days=days), zone), last)
    if preset == "24h":
        if granularity == "hourly":
            return Window(end - 24 * HOUR, end)
        return Window(local_midnight(today - DAY, zone), local_midnight(today, zone))
    if preset == "today":
        first = today
    elif preset == "week":
        first = today - timedelta(days=(today.weekday() - week_start) % 7)
    elif preset == "month":
        first = today.replace(day=1)
    else:
        raise ValueError(f"unknown preset {preset!r}")
    return Window(local_midnight(first, zone), end)


def _step_back(preset: str, start: datetime, granularity: str, zone: str, days: int) -> datetime:
    """Where the previous period starts: one preset unit before ``start``."""
    if granularity == "hourly" and preset in (*PRESET_DAYS, "24h"):
        return start - days * 24 * HOUR
    first = local_date(start, zone)
    if preset == "month":
        return local_midnight(_months_back(first, 1), zone)
    if preset == "week":
        return local_midnight(first - timedelta(days=7), zone)
    if preset == "today":
        return local_midnight(first - DAY, zone)
    return local_midnight(first - timedelta(days=days), zone)


def previous_window(preset: str, current: Window, granularity: str, zone: str) -> Window:
    """The period compared with ``current``: as many slots, one preset unit earlier, and
    never overlapping ``current`` (a longer month against a shorter one ends at its start)."""
    slots = slot_count(current, granularity, zone)
    if granularity == "hourly" and preset == CUSTOM:
        # Exactly as many hourly slots, just before (a range across a DST change is 23 or 25
        # hours longer or shorter than whole days: the slot count wins over the wall clock).
        return Window(current.start - slots * HOUR, current.start)
    if preset in PRESET_DAYS:
        days = int(preset)
    elif preset == CUSTOM:
        days = _calendar_days(current, zone)
    else:
        days = 1
    start = _step_back(preset, current.start, granularity, zone, days)
    end = min(_advance(start, slots, granularity, zone), current.start)
    return Window(start, end)


def _calendar_days(window: Window, zone: str) -> int:
    """Calendar days of ``zone`` a day-aligned window spans (custom ranges)."""
    return (local_date(window.end, zone) - local_date(window.start, zone)).days or 1


def custom_window(first: date, last: date, granularity: str, zone: str) -> Window:
    """A custom range of whole days ``first``..``last`` of the calendar zone."""
    del granularity  # the same days for both; the zone differs (viewer / business)
    return days_window(first, last, zone)


def aligned_comparison(
    current: Window, compare_first: date, granularity: str, zone: str, align: str = "start"
) -> Window:
    """A custom comparison starting on ``compare_first`` at ``current``'s local time of day
    (``align="weekday"``: moved back to the same weekday), with as many slots."""
    local_start = current.start.astimezone(ZoneInfo(zone))
    day = compare_first
    if align == "weekday":
        day -= timedelta(days=(day.weekday() - local_start.weekday()) % 7)
    wall = datetime.combine(day, local_start.time().replace(tzinfo=None), tzinfo=ZoneInfo(zone))
    start = slot_floor(wall.astimezone(UTC), granularity, zone)
    slots = slot_count(current, granularity, zone)
    return Window(start, _advance(start, slots, granularity, zone))


def retention_limit(now: datetime, days: int, granularity: str, zone: str) -> datetime:
    """The oldest slot retention keeps: the slot that contains ``now − days`` (so 30 days of
    hourly retention keep every slot of "last 30 days", and 90 daily days keep 90 days)."""
    return slot_floor(now.astimezone(UTC) - timedelta(days=days), granularity, zone)


def first_kept_slot(now: datetime, days: int, granularity: str, zone: str) -> datetime:
    """The first slot still stored under ``days`` of retention (``apply_retention``)."""
    return retention_limit(now, days, granularity, zone)

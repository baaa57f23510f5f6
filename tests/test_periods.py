"""The period arithmetic, fixed in one table (``db.periods``): the only place these rules are
checked. Every other test uses the functions and compares places with each other."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from db.periods import (
    Window,
    aligned_comparison,
    custom_window,
    day_window,
    first_kept_slot,
    preset_window,
    previous_window,
    slot_count,
    slot_starts,
    week_start_index,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


SEOUL_NOW = utc(2026, 12, 3, 9, 30)  # Thursday 18:30 KST
NY_NOW = utc(2026, 11, 3, 14, 30)  # Tuesday 09:30 EST, two days after DST ended
SEOUL, NY = "Asia/Seoul", "America/New_York"

# (preset, granularity, zone, now, week start, current, slots, previous, previous slots)
PRESET_TABLE = [
    # last N days, hourly: N × 24 slots ending with the current slot (09:00 UTC)
    ("7", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 26, 10), utc(2026, 12, 3, 10)), 168,
     (utc(2026, 11, 19, 10), utc(2026, 11, 26, 10)), 168),
    ("30", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 3, 10), utc(2026, 12, 3, 10)), 720,
     (utc(2026, 10, 4, 10), utc(2026, 11, 3, 10)), 720),
    # last N days, daily: N complete KST days ending yesterday (stored at KST midnight)
    ("7", "daily", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 25, 15), utc(2026, 12, 2, 15)), 7,
     (utc(2026, 11, 18, 15), utc(2026, 11, 25, 15)), 7),
    ("90", "daily", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 9, 3, 15), utc(2026, 12, 2, 15)), 90,
     (utc(2026, 6, 5, 15), utc(2026, 9, 3, 15)), 90),
    # short presets
    ("24h", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)), 24,
     (utc(2026, 12, 1, 10), utc(2026, 12, 2, 10)), 24),
    ("24h", "daily", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 12, 1, 15), utc(2026, 12, 2, 15)), 1,
     (utc(2026, 11, 30, 15), utc(2026, 12, 1, 15)), 1),
    ("today", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 12, 2, 15), utc(2026, 12, 3, 10)), 19,
     (utc(2026, 12, 1, 15), utc(2026, 12, 2, 10)), 19),
    ("week", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 29, 15), utc(2026, 12, 3, 10)), 91,
     (utc(2026, 11, 22, 15), utc(2026, 11, 26, 10)), 91),
    ("week", "hourly", SEOUL, SEOUL_NOW, "sunday",
     (utc(2026, 11, 28, 15), utc(2026, 12, 3, 10)), 115,
     (utc(2026, 11, 21, 15), utc(2026, 11, 26, 10)), 115),
    ("month", "hourly", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 30, 15), utc(2026, 12, 3, 10)), 67,
     (utc(2026, 10, 31, 15), utc(2026, 11, 3, 10)), 67),
    ("month", "daily", SEOUL, SEOUL_NOW, "monday",
     (utc(2026, 11, 30, 15), utc(2026, 12, 3, 15)), 3,
     (utc(2026, 10, 31, 15), utc(2026, 11, 3, 15)), 3),
    # DST (New York left EDT on 2026-11-01): hourly keeps 168 slots; a daily week has
    # 7 local days of which one is 25 h long, and still 7 slots.
    ("7", "hourly", NY, NY_NOW, "monday",
     (utc(2026, 10, 27, 15), utc(2026, 11, 3, 15)), 168,
     (utc(2026, 10, 20, 15), utc(2026, 10, 27, 15)), 168),
    ("7", "daily", NY, NY_NOW, "monday",
     (utc(2026, 10, 27, 4), utc(2026, 11, 3, 5)), 7,
     (utc(2026, 10, 20, 4), utc(2026, 10, 27, 4)), 7),
    ("today", "hourly", NY, NY_NOW, "monday",
     (utc(2026, 11, 3, 5), utc(2026, 11, 3, 15)), 10,
     (utc(2026, 11, 2, 5), utc(2026, 11, 2, 15)), 10),
    ("week", "daily", NY, NY_NOW, "sunday",
     (utc(2026, 11, 1, 4), utc(2026, 11, 4, 5)), 3,
     (utc(2026, 10, 25, 4), utc(2026, 10, 28, 4)), 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "gran", "zone", "now", "week", "current", "slots", "previous", "prev_slots"),
    PRESET_TABLE,
)
def test_preset_periods(
    preset: str,
    gran: str,
    zone: str,
    now: datetime,
    week: str,
    current: tuple[datetime, datetime],
    slots: int,
    previous: tuple[datetime, datetime],
    prev_slots: int,
) -> None:
    window = preset_window(preset, gran, now=now, zone=zone, week_start=week_start_index(week))
    assert (window.start, window.end) == current
    assert slot_count(window, gran, zone) == slots == len(slot_starts(window, gran, zone))
    before = previous_window(preset, window, gran, zone)
    assert (before.start, before.end) == previous
    assert slot_count(before, gran, zone) == prev_slots
    assert before.end <= window.start  # half-open: no slot in both


# (first day, last day, granularity, zone, current, slots, previous)
CUSTOM_TABLE = [
    (date(2026, 11, 1), date(2026, 11, 7), "daily", SEOUL,
     (utc(2026, 10, 31, 15), utc(2026, 11, 7, 15)), 7,
     (utc(2026, 10, 24, 15), utc(2026, 10, 31, 15))),
    (date(2026, 11, 1), date(2026, 11, 7), "hourly", SEOUL,
     (utc(2026, 10, 31, 15), utc(2026, 11, 7, 15)), 168,
     (utc(2026, 10, 24, 15), utc(2026, 10, 31, 15))),
    # Across the DST change: 49 hourly slots, and the previous period has 49 as well.
    (date(2026, 10, 31), date(2026, 11, 1), "hourly", NY,
     (utc(2026, 10, 31, 4), utc(2026, 11, 2, 5)), 49,
     (utc(2026, 10, 29, 3), utc(2026, 10, 31, 4))),
    (date(2026, 10, 31), date(2026, 11, 1), "daily", NY,
     (utc(2026, 10, 31, 4), utc(2026, 11, 2, 5)), 2,
     (utc(2026, 10, 29, 4), utc(2026, 10, 31, 4))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "last", "gran", "zone", "current", "slots", "previous"), CUSTOM_TABLE
)
def test_custom_periods(
    first: date,
    last: date,
    gran: str,
    zone: str,
    current: tuple[datetime, datetime],
    slots: int,
    previous: tuple[datetime, datetime],
) -> None:
    window = custom_window(first, last, gran, zone)
    assert (window.start, window.end) == current
    assert slot_count(window, gran, zone) == slots
    before = previous_window("custom", window, gran, zone)
    assert (before.start, before.end) == previous
    assert slot_count(before, gran, zone) == slots


# (granularity, compare date, align, comparison window): against the 7 days of SEOUL_NOW,
# which start on Thursday 2026-11-26 19:00 KST (hourly) / 00:00 KST (daily).
ALIGN_TABLE = [
    ("hourly", date(2026, 11, 1), "start", (utc(2026, 11, 1, 10), utc(2026, 11, 8, 10))),
    # 2026-11-01 is a Sunday: back to Thursday 10-29, same time of day.
    ("hourly", date(2026, 11, 1), "weekday", (utc(2026, 10, 29, 10), utc(2026, 11, 5, 10))),
    ("daily", date(2026, 11, 1), "start", (utc(2026, 10, 31, 15), utc(2026, 11, 7, 15))),
    ("daily", date(2026, 11, 1), "weekday", (utc(2026, 10, 28, 15), utc(2026, 11, 4, 15))),
]


@pytest.mark.parametrize(("gran", "day", "align", "expected"), ALIGN_TABLE)
def test_custom_comparison_is_aligned_by_its_start(
    gran: str, day: date, align: str, expected: tuple[datetime, datetime]
) -> None:
    current = preset_window("7", gran, now=SEOUL_NOW, zone=SEOUL)
    compare = aligned_comparison(current, day, gran, SEOUL, align)
    assert (compare.start, compare.end) == expected
    assert slot_count(compare, gran, SEOUL) == slot_count(current, gran, SEOUL)
    local = compare.start.astimezone(current.start.tzinfo)
    assert local.time() == current.start.time()  # same time of day


def test_business_days_and_retention_limits() -> None:
    assert day_window(date(2026, 12, 2), SEOUL) == Window(
        utc(2026, 12, 1, 15), utc(2026, 12, 2, 15)
    )
    assert day_window(date(2026, 11, 1), NY).length.total_seconds() == 25 * 3600
    # Retention keeps the slot that contains "now − retention": all of "last 30 days" hourly
    # and of "last 90 days" daily.
    assert first_kept_slot(SEOUL_NOW, 30, "hourly", SEOUL) == utc(2026, 11, 3, 9)
    assert first_kept_slot(SEOUL_NOW, 90, "daily", SEOUL) == utc(2026, 9, 3, 15)
    assert (
        first_kept_slot(SEOUL_NOW, 30, "hourly", SEOUL)
        <= preset_window("30", "hourly", now=SEOUL_NOW, zone=SEOUL).start
    )
    assert (
        first_kept_slot(SEOUL_NOW, 90, "daily", SEOUL)
        <= preset_window("90", "daily", now=SEOUL_NOW, zone=SEOUL).start
    )

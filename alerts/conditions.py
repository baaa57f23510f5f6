"""Pure evaluation of the four conditions over series already read from the store.

Each function turns frames or slot lists into an ``Observation``: ``active`` True/False,
or None when the data cannot tell (then the rule's state does not change — a missing slot
neither fires nor resolves a threshold rule; the collection rule is the one that speaks
about missing data). ``values`` is what the messages and the history show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from alerts.types import Observation

FORECAST_WINDOW_DAYS = 14
FORECAST_MIN_POINTS = 3


def _iso(value: datetime | pd.Timestamp) -> str:
    return pd.Timestamp(value).tz_convert(UTC).isoformat()


def threshold_observation(
    series: pd.DataFrame,
    *,
    op: Literal["above", "below"],
    value: float,
    slots: int,
    slot_seconds: int,
    now: datetime,
) -> Observation:
    """Active when each of the last ``slots`` consecutive slots is above/below ``value``.

    Inactive as soon as the newest slot is back on the other side. None when the newest
    stored slot is stale (older than two slots) or the run of slots is still too short or
    broken by a gap.
    """
    if series.empty:
        return Observation(None, {"reason": "no data"})
    stamps = pd.DatetimeIndex(series["timestamp"])
    values = series["value"].to_numpy(dtype="float64")
    newest = stamps[-1].to_pydatetime()
    base = {"op": op, "threshold": value, "slots": slots, "slot": _iso(newest)}
    base["value"] = float(values[-1])
    if now - newest > timedelta(seconds=2 * slot_seconds):
        return Observation(None, {**base, "reason": "stale"})
    hits = values > value if op == "above" else values < value
    if not hits[-1]:
        return Observation(False, base)
    tail = stamps[-slots:]
    if len(tail) < slots:
        return Observation(None, {**base, "reason": "too few slots"})
    steps = (tail[1:] - tail[:-1]).total_seconds().to_numpy()
    if (steps != slot_seconds).any() or not hits[-slots:].all():
        return Observation(None, {**base, "reason": "run not long enough"})
    return Observation(True, {**base, "values": [float(v) for v in values[-slots:]]})


def _average(frame: pd.DataFrame) -> float | None:
    return float(frame["value"].mean()) if not frame.empty else None


def change_observation(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    percent: float,
    direction: Literal["both", "up", "down"],
    days: int,
) -> Observation:
    """``(avg current − avg previous) / avg previous × 100`` beyond ``percent``.

    None when either period has no data or the previous average is 0 (no defined change).
    """
    now_avg, before_avg = _average(current), _average(previous)
    values = {
        "average": now_avg,
        "previous_average": before_avg,
        "percent": percent,
        "days": days,
        "direction": direction,
    }
    if now_avg is None or before_avg is None or before_avg == 0:
        return Observation(None, {**values, "change_percent": None})
    change = (now_avg - before_avg) / before_avg * 100
    values["change_percent"] = change
    if direction == "up":
        active = change > percent
    elif direction == "down":
        active = change < -percent
    else:
        active = abs(change) > percent
    return Observation(active, values)


def failing_observation(
    collected: Sequence[datetime],
    failed: Sequence[datetime],
    *,
    failed_slots: int | None,
    no_success_hours: float | None,
    last_success: datetime | None,
    first_failure: datetime | None,
    now: datetime,
) -> Observation:
    """Collection failing.

    ``failed_slots`` mode: the newest slots with an outcome, newest first, are failed (failure
    records, no stored values) ``failed_slots`` times in a row. ``no_success_hours`` mode: the
    last successful slot is older than that (or none ever, while failures exist).
    """
    if failed_slots is not None:
        ok = set(collected)
        outcomes = sorted(set(collected) | set(failed), reverse=True)
        run = 0
        for slot in outcomes:
            if slot in ok:
                break
            run += 1
        values: dict[str, object] = {
            "failed_slots": run,
            "limit_slots": failed_slots,
            "last_failed_slot": _iso(outcomes[0]) if run else None,
        }
        if not outcomes:
            return Observation(None, {**values, "reason": "no collection yet"})
        return Observation(run >= failed_slots, values)
    assert no_success_hours is not None
    since = last_success or first_failure
    if since is None:
        return Observation(None, {"reason": "no collection yet", "limit_hours": no_success_hours})
    hours = (now - since).total_seconds() / 3600
    seen: dict[str, object] = {
        "last_success": _iso(last_success) if last_success else None,
        "hours_without_success": round(hours, 2),
        "limit_hours": no_success_hours,
    }
    return Observation(hours > no_success_hours, seen)


def daily_means(hourly: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Hourly values averaged per day of ``tz`` (for a store without daily rollups yet)."""
    if hourly.empty:
        return hourly
    local = pd.DatetimeIndex(hourly["timestamp"]).tz_convert(tz)
    means = pd.Series(hourly["value"].to_numpy(dtype="float64"), index=local).resample("D").mean()
    means = means.dropna()
    return pd.DataFrame(
        {"timestamp": means.index.tz_convert(UTC), "value": means.to_numpy(dtype="float64")}
    )


def forecast_observation(
    daily: pd.DataFrame, *, capacity: int, days: int, now: datetime
) -> Observation:
    """Capacity reached within ``days`` days by a least-squares line (``numpy.polyfit``)
    through the daily values. None with fewer than three days of data."""
    values = daily["value"].to_numpy(dtype="float64")
    base: dict[str, object] = {"capacity": capacity, "days": days, "points": int(len(values))}
    if len(values) < FORECAST_MIN_POINTS:
        return Observation(None, {**base, "reason": "fewer than three days of data"})
    stamps = pd.DatetimeIndex(daily["timestamp"])
    origin = stamps[0]
    x = (stamps - origin).total_seconds().to_numpy() / 86400
    slope, intercept = np.polyfit(x, values, 1)
    latest = float(values[-1])
    base.update(latest=latest, slope_per_day=float(slope))
    if latest >= capacity:
        return Observation(True, {**base, "days_left": 0.0, "reach_at": _iso(stamps[-1])})
    if slope <= 0:
        return Observation(False, {**base, "days_left": None, "reach_at": None})
    x_now = (pd.Timestamp(now) - origin).total_seconds() / 86400
    days_left = max(0.0, float((capacity - intercept) / slope - x_now))
    reach = pd.Timestamp(now) + pd.Timedelta(days=days_left)
    return Observation(
        days_left <= days, {**base, "days_left": round(days_left, 2), "reach_at": _iso(reach)}
    )

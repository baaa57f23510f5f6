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

import pandas as pd

from alerts.types import Observation
from analytics.forecast import MIN_DAYS, forecast_series


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


def forecast_observation(
    daily: pd.DataFrame, *, capacity: int, days: int, now: datetime
) -> Observation:
    """Capacity reached within ``days`` days by the forecast's robust trend
    (``analytics.forecast``: Theil–Sen through the daily values, level steps taken out), the
    same line the page and the API show. None with fewer than ``MIN_DAYS`` days of data."""
    base: dict[str, object] = {"capacity": capacity, "days": days, "points": int(len(daily))}
    forecast = forecast_series(daily, horizon_days=max(1, days), capacity=capacity, now=now)
    if forecast is None:
        return Observation(None, {**base, "reason": f"fewer than {MIN_DAYS} days of data"})
    base.update(
        points=forecast.points, latest=forecast.latest_value, slope_per_day=forecast.slope_per_day
    )
    days_left, reach_at = forecast.days_to_capacity, forecast.reach_at
    if days_left is None or reach_at is None:  # not rising, or not within ten years
        return Observation(False, {**base, "days_left": None, "reach_at": None})
    return Observation(
        days_left <= days,
        {**base, "days_left": round(days_left, 2), "reach_at": _iso(reach_at)},
    )

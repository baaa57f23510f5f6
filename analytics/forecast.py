"""Capacity forecast: a robust straight line through the daily values, drawn ahead.

How (README "Forecast and unusual values"):

1. the last ``WINDOW_DAYS`` days of daily values (missing days — outages — simply have no
   point; the line is fitted on the days that exist);
2. **level steps** (a bulk import or a clean-up: one day-to-day change far outside the usual
   ones, ``STEP_SCALES`` robust standard deviations and at least ``STEP_MIN_FRACTION`` of the
   level) are taken out by shifting the values before the step by its excess, so the slope is
   the growth and the line starts from today's level instead of averaging two levels;
3. the **Theil–Sen** slope (``scipy.stats.theilslopes``: the median of the slopes between all
   pairs of days, so a few odd days do not tilt it) with its 95 % slope interval; the line
   goes through the **recent level** (the median over the last ``LEVEL_DAYS`` days of each
   day's value less the slope's growth), so growth that sped up over the months does not
   start the line below today's values;
4. the **band** around the line ahead: the lines from that level with the interval's lowest
   and highest slope, widened by 1.96 robust standard deviations of the residuals
   (1.4826 × their median absolute deviation);
5. the **capacity**: the day the line reaches it, counted from ``now``; 0 when the latest value
   is already there, None when the line does not rise or reaches it only after
   ``MAX_REACH_DAYS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import pandas as pd

from analytics.daily import daily_means

MIN_DAYS: Final = 7
WINDOW_DAYS: Final = 90
CONFIDENCE: Final = 0.95
# Two-sided 95 % of a normal distribution: the residual part of the band.
RESIDUAL_Z: Final = 1.959963984540054
# A day-to-day change this many robust standard deviations from the usual change is a step ...
STEP_SCALES: Final = 6.0
# ... and only when it also moves the level by this fraction (noise-free series have no spread).
STEP_MIN_FRACTION: Final = 0.02
# Beyond this the line "never" reaches the capacity (and a date that far is meaningless).
MAX_REACH_DAYS: Final = 3650.0
# The line's level is the median of the last week's days (robust to one odd day).
LEVEL_DAYS: Final = 7

# ``(granularity, start, end) -> frame`` of one metric: how the callers hand their store in.
SeriesReader = Callable[[str, datetime, datetime], pd.DataFrame]


@dataclass(frozen=True, slots=True)
class Forecast:
    """The trend ahead of the last observation, its band and when it reaches the capacity."""

    timestamps: pd.DatetimeIndex  # UTC, daily from the last observation (first) to the horizon
    expected: np.ndarray  # float64, the trend at those times
    lower: np.ndarray  # the band: lower <= expected <= upper
    upper: np.ndarray
    slope_per_day: float
    latest_at: pd.Timestamp  # UTC, the last observation used
    latest_value: float
    capacity: float | None
    days_to_capacity: float | None  # from ``now``; None: no capacity or never; 0: already there
    reach_at: pd.Timestamp | None
    points: int  # daily points used


def _clean(daily: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Finite values, oldest first, one per timestamp (the last one wins)."""
    stamps = pd.to_datetime(daily["timestamp"], utc=True)
    values = pd.Series(pd.to_numeric(daily["value"], errors="coerce"), dtype="float64")
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(stamps))
    series = series[np.isfinite(series.to_numpy())]
    series = series[~series.index.duplicated(keep="last")].sort_index()
    return pd.DatetimeIndex(series.index), series.to_numpy(dtype="float64")


def _without_steps(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y`` with every level step removed by shifting the values before it (step 2 above)."""
    dx = np.diff(x)
    rates = np.diff(y) / dx
    usual_rate = float(np.median(rates))
    excess = np.diff(y) - usual_rate * dx  # each change beyond the usual growth over its days
    from scipy.stats import median_abs_deviation  # lazy: see forecast_series

    spread = float(median_abs_deviation(excess, scale="normal"))
    level = float(np.median(np.abs(y)))
    limit = max(STEP_SCALES * spread, STEP_MIN_FRACTION * level, 1.0)
    steps = np.abs(excess) > limit
    if not steps.any():
        return y
    # Shift each value by the sum of the step excesses after it: the newest level stays.
    shift = np.concatenate([np.cumsum(np.where(steps, excess, 0.0)[::-1])[::-1], [0.0]])
    return y + shift


def daily_input(read: SeriesReader, *, now: datetime, tz: str) -> pd.DataFrame:
    """What ``forecast_series`` is given: the daily rollups of the last ``WINDOW_DAYS`` days
    before ``now``; in a store with fewer than ``MIN_DAYS`` of them (young, or its rollups
    started late) the daily means in ``tz`` (the business zone) of the hourly values, when
    those span more days. The hourly values are read only then."""
    start = now - timedelta(days=WINDOW_DAYS)
    daily = read("daily", start, now)
    if len(daily) >= MIN_DAYS:
        return daily
    means = daily_means(read("hourly", start, now), tz)
    return means if len(means) > len(daily) else daily


def forecast_series(
    daily: pd.DataFrame,
    *,
    horizon_days: int = 30,
    capacity: float | None = None,
    now: datetime | None = None,
) -> Forecast | None:
    """The trend of ``daily`` (columns ``timestamp`` UTC, ``value``; one row per day, missing
    days allowed) ``horizon_days`` ahead of its last value; None with fewer than ``MIN_DAYS``
    days of data in the last ``WINDOW_DAYS``. ``now`` (default: the last observation) is where
    ``days_to_capacity`` counts from."""
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    stamps, values = _clean(daily)
    if len(values) == 0:
        return None
    latest_at = pd.Timestamp(stamps[-1])
    recent = stamps > latest_at - pd.Timedelta(days=WINDOW_DAYS)
    stamps, values = stamps[recent], values[recent]
    if len(values) < MIN_DAYS:
        return None
    # Days relative to the last observation: the line's value at 0 is "today's" trend level.
    x = ((stamps - latest_at) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    y = _without_steps(x, values)
    # Imported on the first forecast: scipy.stats costs ≈ 1 s to import, which every web
    # worker and CLI command would otherwise pay at start (the CLI's PDF starts Chromium
    # first and imports this meanwhile).
    from scipy.stats import median_abs_deviation, theilslopes

    fit = theilslopes(y, x, alpha=CONFIDENCE, method="joint")
    slope = float(fit.slope)
    residual_spread = float(
        median_abs_deviation(y - (float(fit.intercept) + slope * x), scale="normal")
    )
    # Today's level: the recent days' values less the slope's growth since (x ≤ 0 here).
    level = float(np.median((y - slope * x)[x > -LEVEL_DAYS]))

    ahead = np.arange(horizon_days + 1, dtype="float64")
    timestamps = pd.DatetimeIndex(latest_at + pd.to_timedelta(ahead, unit="D"))
    expected = level + slope * ahead
    low_line = level + float(fit.low_slope) * ahead
    high_line = level + float(fit.high_slope) * ahead
    margin = RESIDUAL_Z * residual_spread
    lower = np.minimum(low_line, expected) - margin
    upper = np.maximum(high_line, expected) + margin

    latest_value = float(values[-1])
    days_to_capacity, reach_at = _capacity_reach(
        capacity, latest_value, latest_at, level, slope, now
    )
    return Forecast(
        timestamps=timestamps,
        expected=expected,
        lower=lower,
        upper=upper,
        slope_per_day=slope,
        latest_at=latest_at,
        latest_value=latest_value,
        capacity=capacity,
        days_to_capacity=days_to_capacity,
        reach_at=reach_at,
        points=len(values),
    )


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return stamp.tz_convert(UTC)


def _capacity_reach(
    capacity: float | None,
    latest_value: float,
    latest_at: pd.Timestamp,
    level: float,
    slope: float,
    now: datetime | None,
) -> tuple[float | None, pd.Timestamp | None]:
    """``(days from now, when)`` the line ``level + slope × days after latest_at`` reaches
    ``capacity`` (step 5 of the module's docstring)."""
    if capacity is None:
        return None, None
    start = latest_at if now is None else _utc(now)
    if latest_value >= capacity:
        return 0.0, latest_at
    if slope <= 0:
        return None, None
    days_after_latest = (capacity - level) / slope
    if days_after_latest > MAX_REACH_DAYS:
        return None, None
    reach_at = latest_at + pd.Timedelta(days=days_after_latest)
    days = max(0.0, (reach_at - start) / pd.Timedelta(days=1))
    return days, max(reach_at, start)


def expected_at(forecast: Forecast, days: float) -> float:
    """The trend ``days`` after the last observation (e.g. 30: "expected in 30 days")."""
    return float(forecast.expected[0] + forecast.slope_per_day * days)

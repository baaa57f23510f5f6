"""Unusual values: hourly slots far from what that hour of the week usually shows.

For each slot, the values at the same hour of the same weekday (in the viewer's or the
organisation's zone) over the ``weeks`` weeks before it give a robust band, their median ±
``threshold`` × 1.4826 × their median absolute deviation (never narrower than the series'
usual distance from those medians, pooled over all its slots); a slot outside it is
unusual, and its robust z-score says how far. Comparing with the same hour of the week
means the daily peak and the quiet weekend are what is expected, not what is marked.

Hourly series only: a daily value has no hour of the week (the page does not ask for daily).
"""

from __future__ import annotations

import warnings
from statistics import NormalDist
from typing import Final

import numpy as np
import pandas as pd

MIN_HISTORY_WEEKS: Final = 3
DEFAULT_WEEKS: Final = 4
# The spread never counts as less than this fraction of the usual value, nor less than 1:
# with a handful of nearly equal past values the MAD is ~0, and every wobble would be "unusual".
SPREAD_FLOOR_FRACTION: Final = 0.05
SPREAD_FLOOR_ABSOLUTE: Final = 1.0
# The MAD of normal data times this is its standard deviation (``scale="normal"`` in SciPy's
# ``median_abs_deviation``, which is computed here on the whole table at once: per row it
# cost ~40 ms a metric).
NORMAL_MAD_SCALE: Final = 1 / NormalDist().inv_cdf(0.75)
# Across a daylight-saving change the same local hour a week earlier is 167 or 169 hours back.
_DST_SLACK: Final = pd.Timedelta(hours=2)

COLUMNS: Final = ("timestamp", "value", "expected", "score")


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "value": pd.Series([], dtype="float64"),
            "expected": pd.Series([], dtype="float64"),
            "score": pd.Series([], dtype="float64"),
        }
    )


def _series(frame: pd.DataFrame) -> pd.Series:
    stamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))
    return pd.Series(frame["value"].to_numpy(dtype="float64"), index=stamps)


def unusual_points(
    window: pd.DataFrame,
    history: pd.DataFrame,
    *,
    tz: str,
    threshold: float = 4.0,
    weeks: int = DEFAULT_WEEKS,
) -> pd.DataFrame:
    """The slots of ``window`` whose robust z-score against their hour of the week exceeds
    ``threshold``.

    ``window`` and ``history`` are hourly frames (``timestamp`` UTC, ``value``); ``history``
    may precede or overlap the window (earlier window slots are history for later ones). A
    slot with fewer than ``MIN_HISTORY_WEEKS`` past values at its hour of the week is never
    marked. Returns ``timestamp, value, expected`` (the median) ``, score`` (signed robust z),
    oldest first; an empty frame with those columns when nothing is unusual.
    """
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    if window.empty:
        return _empty()
    shown = _series(window)
    both = pd.concat([_series(history), shown])
    both = both[~both.index.duplicated(keep="last")].sort_index()
    both = both[np.isfinite(both.to_numpy())]
    local = both.index.tz_convert(tz)
    hour_of_week = pd.Series(local.day_of_week * 24 + local.hour, index=both.index)
    past = _past_same_hour(both, hour_of_week, weeks)
    with warnings.catch_warnings():  # a slot without any past value: NaN is the answer
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(past, axis=1)
        mad = NORMAL_MAD_SCALE * np.nanmedian(np.abs(past - expected[:, None]), axis=1)
        table = pd.DataFrame(
            {
                "value": both,
                "expected": expected,
                "count": np.count_nonzero(~np.isnan(past), axis=1),
                "mad": mad,
            },
            index=both.index,
        )
    table = table[table["count"] >= MIN_HISTORY_WEEKS]
    # Three or four past values give a shaky MAD (often near 0): the series' usual distance
    # from its hour-of-week median, pooled over all its slots, is a floor to the spread.
    residual = (table["value"] - table["expected"]).to_numpy()
    pooled = (
        NORMAL_MAD_SCALE * float(np.median(np.abs(residual - np.median(residual))))
        if len(residual)
        else 0.0
    )
    table = table[table.index.isin(shown.index)]
    if table.empty:
        return _empty()
    spread = np.maximum.reduce(
        [
            table["mad"].to_numpy(),
            np.full(len(table), pooled),
            SPREAD_FLOOR_FRACTION * np.abs(table["expected"].to_numpy()),
            np.full(len(table), SPREAD_FLOOR_ABSOLUTE),
        ]
    )
    score = (table["value"].to_numpy() - table["expected"].to_numpy()) / spread
    marked = np.abs(score) > threshold
    if not marked.any():
        return _empty()
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(table.index[marked]).tz_convert("UTC"),
            "value": table["value"].to_numpy()[marked],
            "expected": table["expected"].to_numpy()[marked],
            "score": score[marked],
        }
    ).reset_index(drop=True)


def _past_same_hour(values: pd.Series, hour_of_week: pd.Series, weeks: int) -> np.ndarray:
    """One row per slot: the values at its hour of the week 1 … ``weeks`` weeks before it
    (NaN where that week has no value), never the slot itself."""
    span = pd.Timedelta(weeks=weeks) + _DST_SLACK
    stamps = pd.Series(values.index, index=values.index)
    by_hour_values = values.groupby(hour_of_week)
    by_hour_stamps = stamps.groupby(hour_of_week)
    columns = []
    for lag in range(1, weeks + 1):
        # The lag-th earlier slot at this hour of the week, if it lies within the weeks asked
        # (after an outage it may be older, and then it is not that week's value).
        earlier = by_hour_values.shift(lag).to_numpy(dtype="float64")
        age = stamps - by_hour_stamps.shift(lag)
        columns.append(np.where((age <= span).to_numpy(), earlier, np.nan))
    return np.column_stack(columns)

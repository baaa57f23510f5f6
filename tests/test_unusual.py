"""Unusual values (issue 17): a slot far from its hour of the week's usual band is marked;
the regular daily peak, a young history and a flat series are not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation

from analytics.unusual import MIN_HISTORY_WEEKS, NORMAL_MAD_SCALE, unusual_points
from dashboard.reports.insights import load_unusual
from db.models import MetricSnapshot
from db.queries import timeseries

ZONE = "Asia/Seoul"
WEEK = 7 * 24
# A Monday 00:00 in Seoul, so each week of the series starts on the same hour of the week.
START = pd.Timestamp("2026-11-02 00:00", tz=ZONE).tz_convert("UTC")


def weekly_rhythm(weeks: int, *, seed: int = 3, noise: float = 0.03) -> pd.DataFrame:
    """Hourly active users: a peak at 14:00 local every day, half as busy at weekends,
    a quiet floor at night, plus a few per cent of noise."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(START, periods=weeks * WEEK, freq="h")
    local = stamps.tz_convert(ZONE)
    weekend = np.where(local.day_of_week >= 5, 0.5, 1.0)
    peak = 200 * np.exp(-((local.hour.to_numpy() - 14) ** 2) / 8.0)
    values = (30 + peak * weekend) * (1 + rng.normal(0, noise, len(stamps)))
    return pd.DataFrame({"timestamp": stamps, "value": np.round(values)})


def split(frame: pd.DataFrame, window_weeks: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = len(frame) - window_weeks * WEEK
    return frame.iloc[cut:].reset_index(drop=True), frame.iloc[:cut].reset_index(drop=True)


def test_an_injected_spike_is_marked_and_the_daily_peak_is_not() -> None:
    series = weekly_rhythm(5)
    # Wednesday 03:00 local in the last week: normally ~30 users, here 150.
    spike_at = START + pd.Timedelta(weeks=4, days=2, hours=3)
    series.loc[series["timestamp"] == spike_at, "value"] = 150.0
    window, history = split(series)

    marked = unusual_points(window, history, tz=ZONE)

    assert list(marked.columns) == ["timestamp", "value", "expected", "score"]
    assert list(marked["timestamp"]) == [spike_at]
    row = marked.iloc[0]
    assert row["value"] == 150.0
    assert row["expected"] == pytest.approx(30, abs=3)
    assert row["score"] > 20  # far beyond the threshold of 4
    # The peaks themselves (14:00 local, ~230 users on weekdays) were in the window, unmarked.
    peaks = window[window["timestamp"].dt.tz_convert(ZONE).dt.hour == 14]
    assert len(peaks) == 7 and peaks["value"].min() > 100


def test_a_drop_has_a_negative_score() -> None:
    series = weekly_rhythm(5)
    dip_at = START + pd.Timedelta(weeks=4, days=1, hours=14)  # Tuesday's peak, gone
    series.loc[series["timestamp"] == dip_at, "value"] = 20.0
    window, history = split(series)
    marked = unusual_points(window, history, tz=ZONE)
    assert list(marked["timestamp"]) == [dip_at]
    assert marked.iloc[0]["score"] < -4


def test_one_frame_holding_history_and_window_gives_the_same_marks() -> None:
    series = weekly_rhythm(5)
    spike_at = START + pd.Timedelta(weeks=4, days=5, hours=10)
    series.loc[series["timestamp"] == spike_at, "value"] = 900.0
    window, history = split(series)
    apart = unusual_points(window, history, tz=ZONE)
    together = unusual_points(window, series, tz=ZONE)
    pd.testing.assert_frame_equal(apart, together)


def test_a_window_with_less_than_three_weeks_of_history_marks_nothing() -> None:
    series = weekly_rhythm(MIN_HISTORY_WEEKS)  # 2 weeks of history + the window
    spike_at = START + pd.Timedelta(weeks=2, days=2, hours=3)
    series.loc[series["timestamp"] == spike_at, "value"] = 1000.0
    window, history = split(series)
    assert unusual_points(window, history, tz=ZONE).empty


def test_an_outage_in_the_history_leaves_those_hours_unmarked() -> None:
    series = weekly_rhythm(4)  # 3 weeks of history: just enough ...
    spike_at = START + pd.Timedelta(weeks=3, days=2, hours=3)
    series.loc[series["timestamp"] == spike_at, "value"] = 1000.0
    window, history = split(series)
    assert list(unusual_points(window, history, tz=ZONE)["timestamp"]) == [spike_at]
    # ... until an outage took that hour of one of the weeks before.
    gap = spike_at - pd.Timedelta(weeks=2)
    history = history[history["timestamp"] != gap]
    assert unusual_points(window, history, tz=ZONE).empty


def test_a_flat_series_marks_nothing() -> None:
    stamps = pd.date_range(START, periods=5 * WEEK, freq="h")
    rng = np.random.default_rng(5)
    # A tag count that hardly moves: 900, sometimes 901 (the MAD is 0 for most hours).
    flat = pd.DataFrame({"timestamp": stamps, "value": 900 + rng.integers(0, 2, len(stamps))})
    window, history = split(flat)
    assert unusual_points(window, history, tz=ZONE).empty
    zeros = flat.assign(value=0)
    window, history = split(zeros)
    assert unusual_points(window, history, tz=ZONE).empty


def test_a_steadily_growing_count_is_not_unusual() -> None:
    stamps = pd.date_range(START, periods=5 * WEEK, freq="h")
    growing = pd.DataFrame({"timestamp": stamps, "value": 150_000 + 12 * np.arange(len(stamps))})
    window, history = split(growing)
    assert unusual_points(window, history, tz=ZONE).empty


def test_empty_inputs_give_an_empty_frame_with_the_columns() -> None:
    series = weekly_rhythm(5)
    empty = series.iloc[0:0]
    for window, history in ((empty, series), (series, empty), (empty, empty)):
        result = unusual_points(window, history, tz=ZONE)
        assert result.empty
        assert list(result.columns) == ["timestamp", "value", "expected", "score"]


def test_the_threshold_decides_how_far_is_unusual() -> None:
    series = weekly_rhythm(5)
    bump_at = START + pd.Timedelta(weeks=4, days=3, hours=3)
    series.loc[series["timestamp"] == bump_at, "value"] = 45.0  # ~30 usual: 50 % more
    window, history = split(series)
    assert list(unusual_points(window, history, tz=ZONE, threshold=4.0)["timestamp"]) == [bump_at]
    assert unusual_points(window, history, tz=ZONE, threshold=20.0).empty
    with pytest.raises(ValueError):
        unusual_points(window, history, tz=ZONE, threshold=0)


# --- read from the store (PostgreSQL and SQLite) ------------------------------------------------
def test_load_unusual_reads_the_weeks_before_the_window(
    store_sessions: Callable[[], Any],
) -> None:
    series = weekly_rhythm(5)
    spike_at = START + pd.Timedelta(weeks=4, days=2, hours=3)
    series.loc[series["timestamp"] == spike_at, "value"] = 150.0
    with store_sessions() as session:
        session.add_all(
            MetricSnapshot(
                metric_type="active_users",
                granularity="hourly",
                collected_at=stamp.to_pydatetime(),
                value=int(value),
            )
            for stamp, value in zip(series["timestamp"], series["value"], strict=True)
        )
    window_start = (START + pd.Timedelta(weeks=4)).to_pydatetime()
    with store_sessions() as session:
        window = timeseries(
            session, "active_users", "hourly", window_start, window_start + timedelta(weeks=1)
        )
        marked = load_unusual(
            session, "active_users", window, start=window_start, tz=ZONE, threshold=4.0
        )
        # Another metric has no history at all: nothing to compare with, nothing marked.
        nothing = load_unusual(
            session, "tag_count", window, start=window_start, tz=ZONE, threshold=4.0
        )
    assert list(marked["timestamp"]) == [spike_at]
    assert nothing.empty


def test_the_whole_table_spread_is_scipys_median_absolute_deviation() -> None:
    """The spread computed for all slots at once equals SciPy's MAD (``scale="normal"``,
    missing weeks omitted) row by row."""
    rng = np.random.default_rng(7)
    past = rng.normal(100, 10, size=(50, 4))
    past[rng.random(past.shape) < 0.2] = np.nan
    expected = np.nanmedian(past, axis=1)
    ours = NORMAL_MAD_SCALE * np.nanmedian(np.abs(past - expected[:, None]), axis=1)
    theirs = median_abs_deviation(past, axis=1, scale="normal", nan_policy="omit")
    np.testing.assert_allclose(ours, theirs)

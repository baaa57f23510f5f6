"""Daily series out of hourly ones, for a store whose daily rollups are still too few."""

from __future__ import annotations

from datetime import UTC

import pandas as pd


def daily_means(hourly: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Hourly values averaged per day of ``tz``, stamped at that day's local midnight (in UTC),
    as the daily rollup stores them; days without values are left out."""
    if hourly.empty:
        return pd.DataFrame(
            {
                "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                "value": pd.Series([], dtype="float64"),
            }
        )
    local = pd.DatetimeIndex(hourly["timestamp"]).tz_convert(tz)
    means = pd.Series(hourly["value"].to_numpy(dtype="float64"), index=local).resample("D").mean()
    means = means.dropna()
    return pd.DataFrame(
        {"timestamp": means.index.tz_convert(UTC), "value": means.to_numpy(dtype="float64")}
    )

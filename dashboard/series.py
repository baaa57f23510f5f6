"""Pure series helpers shared by the page, the API, the CSV/PDF exports (pandas only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tsdownsample import LTTBDownsampler

MAX_POINTS = 1000


def lttb(df: pd.DataFrame, n_out: int = MAX_POINTS) -> pd.DataFrame:
    """Reduce a ``timestamp``/``value`` frame to at most ``n_out`` rows with LTTB.

    The first and last points are always kept (LTTB's guarantee); rows keep their dtypes.
    """
    if len(df) <= n_out:
        return df
    n_out = max(n_out, 3)
    x = df["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    y = df["value"].to_numpy(dtype=np.float64)
    index = LTTBDownsampler().downsample(x, y, n_out=n_out)
    return df.iloc[np.sort(index)].reset_index(drop=True)


def period_average(df: pd.DataFrame) -> float | None:
    """Mean of the ``value`` column, None for an empty period."""
    if df.empty:
        return None
    return float(df["value"].mean())


def percent_change(current: float | None, previous: float | None) -> float | None:
    """``(current − previous) / previous × 100``; None when it is undefined (previous 0/None)."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100.0

"""Pure series helpers shared by the page, the API, the CSV/PDF exports (pandas only):
LTTB reduction, gaps (missing slots), period averages and changes, a small result cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from tsdownsample import LTTBDownsampler

MAX_POINTS = 1000
# A labelled metric's graph draws this many labels on their own, the rest as "others".
TOP_LABELS = 5


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


def top_labels(
    frames: Mapping[str, pd.DataFrame], how: str, n: int = TOP_LABELS
) -> tuple[list[tuple[str, pd.DataFrame]], pd.DataFrame | None]:
    """The ``n`` labels with the largest latest value in the range (ties by name), each
    with its frame, and the rest as one series per slot (``how``: ``sum`` or ``average``
    rounded half up, the metric's rule for combining series); None when there is no rest.

    A label without a row at a slot had nothing there (a labelled query returns the labels
    it finds), so the rest's slots are those where any label has a row: a slot where the
    metric was not collected at all stays a gap.
    """
    held = {label: frame for label, frame in frames.items() if not frame.empty}
    ranked = sorted(held, key=lambda label: (-int(held[label]["value"].iloc[-1]), label))
    top, rest = ranked[:n], ranked[n:]
    chosen = [(label, held[label]) for label in top]
    if not rest:
        return chosen, None
    slots = pd.DatetimeIndex(
        sorted(set().union(*(frame["timestamp"].tolist() for frame in held.values())))
    )
    wide = pd.concat(
        {label: held[label].set_index("timestamp")["value"] for label in rest}, axis=1, sort=True
    ).reindex(slots)
    average = np.floor(wide.mean(axis=1) + 0.5).dropna()  # half up: values are never < 0
    values = wide.sum(axis=1) if how == "sum" else average
    others = pd.DataFrame(
        {"timestamp": values.index, "value": values.to_numpy().astype(np.int64)}
    ).reset_index(drop=True)
    return chosen, others


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


GRANULARITY_STEP: dict[str, pd.Timedelta] = {
    "hourly": pd.Timedelta(hours=1),
    "daily": pd.Timedelta(days=1),
}


def gap_starts(timestamps: pd.Series, granularity: str) -> np.ndarray:
    """Positions ``i`` where a slot is missing between point ``i − 1`` and point ``i``."""
    if len(timestamps) < 2:
        return np.array([], dtype=np.int64)
    step = GRANULARITY_STEP[granularity]
    diffs = timestamps.diff().to_numpy()[1:]
    # Half a step of slack: a daily series across a DST change is still contiguous.
    return np.flatnonzero(diffs > (step * 1.5).to_timedelta64()) + 1


def reduce_points(df: pd.DataFrame, granularity: str, n_out: int = MAX_POINTS) -> pd.DataFrame:
    """LTTB down to at most ``n_out`` rows while keeping both ends of every gap.

    The gap's end points are forced into the result so the gap is still drawn where it was.
    """
    if len(df) <= n_out:
        return df
    gaps = gap_starts(df["timestamp"], granularity)
    keep = np.unique(np.concatenate([gaps - 1, gaps]))
    budget = max(n_out - len(keep), 3)
    reduced = lttb(df, budget)
    if len(keep):
        forced = df.iloc[keep]
        reduced = (
            pd.concat([reduced, forced])
            .drop_duplicates(subset="timestamp")
            .sort_values("timestamp")
            .reset_index(drop=True)
        )
        if len(reduced) > n_out:  # only with more gaps than points: keep the gaps, thin the rest
            reduced = lttb(reduced, n_out)
    return reduced


Series = dict[str, pd.DataFrame]
CACHE_SIZE = 64


V = TypeVar("V")


class SeriesCache(Generic[V]):
    """A small thread-safe LRU of query results keyed by what determines them (the page's
    six series per granularity, window and latest slots, shared by every admin viewing them),
    and of what is built from them (the page's figures and cards).

    One load per key at a time: when many admins ask for the same new range at once (a new
    slot has just landed), one request loads it and the others wait for that result instead
    of all reading and building the same thing (the slowest answers under load).
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], V] = OrderedDict()
        self._loading: dict[tuple[Any, ...], Future[V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: tuple[Any, ...], load: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._loading.get(key)
            if pending is None:
                self._loading[key] = mine = Future[V]()
        if pending is not None:
            return pending.result()  # the loader's value, or its exception
        try:
            value = load()
        except BaseException as exc:
            with self._lock:
                del self._loading[key]
            mine.set_exception(exc)  # the waiters fail alike; the next request loads anew
            raise
        with self._lock:
            del self._loading[key]
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        mine.set_result(value)
        return value

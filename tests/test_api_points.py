"""The API's points: ISO 8601 UTC timestamps, whole seconds unless a stamp has a fraction."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.api.views import _points
from db.queries import SeriesArrays


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["2026-12-06T02:00:00"], ["2026-12-06T02:00:00+00:00"]),
        (
            ["2026-12-05T23:00:00", "2026-12-06T00:00:00"],
            ["2026-12-05T23:00:00+00:00", "2026-12-06T00:00:00+00:00"],
        ),
        # One stamp with a fraction: every stamp of the series in microseconds.
        (
            ["2026-12-06T02:00:00", "2026-12-06T02:00:00.250"],
            ["2026-12-06T02:00:00.000000+00:00", "2026-12-06T02:00:00.250000+00:00"],
        ),
        ([], []),
    ],
)
def test_timestamps(stamps: list[str], expected: list[str]) -> None:
    series = SeriesArrays(
        np.array(stamps, dtype="datetime64[ns]"), np.arange(len(stamps), dtype=np.int64)
    )
    points = _points(series)
    assert [p["timestamp"] for p in points] == expected
    assert [p["value"] for p in points] == list(range(len(stamps)))
    assert all(type(p["value"]) is int for p in points)

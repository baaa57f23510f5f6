"""The "all sources" reading (issue 18): one rule per metric (``across_sources``), one reader
(``series_arrays``) that combines the sources per slot and leaves a slot that a source lacks
as a gap, and the API giving the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask

from admin_metrics.settings import Settings
from db.catalogue import ALL_SOURCES, CatalogueMetric, Combine
from db.queries import SeriesArrays, combine_series, series_arrays
from tests.support import create_user, insert_source_rows, stored_token

T0 = datetime(2026, 11, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _metric(unit: str, *, labelled: bool = False) -> CatalogueMetric:
    return CatalogueMetric(
        id="extra",
        name_ko="추가",
        name_en="Extra",
        unit=unit,
        unit_ko=unit,
        unit_en=unit,
        kind="gauge",
        rollup="last",
        query="SELECT 1",
        labelled=labelled,
    )


@pytest.mark.parametrize(
    ("unit", "rule"),
    [
        ("count", "sum"),
        ("bytes", "sum"),
        ("documents", "sum"),  # a custom word counts things
        ("seconds", "average"),
        ("percent", "average"),
    ],
)
def test_each_unit_combines_sources_by_its_rule(unit: str, rule: Combine) -> None:
    assert _metric(unit).across_sources == rule


def _series(values: dict[int, int]) -> SeriesArrays:
    """Hours after T0 → value."""
    stamps = [np.datetime64((T0 + h * HOUR).replace(tzinfo=None), "ns") for h in values]
    return SeriesArrays(
        np.array(stamps, dtype="datetime64[ns]"), np.array(list(values.values()), np.int64)
    )


def _hours(series: SeriesArrays) -> dict[int, int]:
    start = np.datetime64(T0.replace(tzinfo=None), "ns")
    hours = ((series.stamps - start) // np.timedelta64(1, "h")).tolist()
    return dict(zip(hours, series.values.tolist(), strict=True))


@pytest.mark.parametrize(
    ("parts", "how", "expected"),
    [
        # Both sources every hour: the sum, or the average rounded half up.
        ([{0: 10, 1: 20}, {0: 1, 1: 2}], "sum", {0: 11, 1: 22}),
        ([{0: 10, 1: 21}, {0: 1, 1: 2}], "average", {0: 6, 1: 12}),
        # One source missed hour 1: a gap, never a dip (10 + nothing).
        ([{0: 10, 1: 20, 2: 30}, {0: 1, 2: 3}], "sum", {0: 11, 2: 33}),
        ([{0: 10, 1: 20, 2: 30}, {0: 1, 2: 3}], "average", {0: 6, 2: 17}),
        # A source with nothing in the range does not count.
        ([{0: 10, 1: 20}, {}], "sum", {0: 10, 1: 20}),
        # No source: nothing.
        ([{}, {}], "sum", {}),
        ([], "average", {}),
        # One source: itself.
        ([{3: 7}], "average", {3: 7}),
    ],
)
def test_sources_combine_per_slot_and_a_missing_source_is_a_gap(
    parts: list[dict[int, int]], how: Combine, expected: dict[int, int]
) -> None:
    assert _hours(combine_series([_series(p) for p in parts], how)) == expected


@pytest.mark.parametrize(
    ("unit", "label", "expected"),
    [
        ("count", "", {0: 110, 2: 330}),  # hour 1: source b missed it → gap
        ("percent", "", {0: 55, 2: 165}),
        ("count", "qwen", {0: 5, 1: 7}),  # a label's series only (b has no qwen rows)
    ],
)
def test_the_store_reader_combines_every_source(
    store_sessions: Callable[[], Any], unit: str, label: str, expected: dict[int, int]
) -> None:
    with store_sessions() as session:
        a = {T0: 100, T0 + HOUR: 200, T0 + 2 * HOUR: 300}
        insert_source_rows(session, "extra", a, source="default")
        insert_source_rows(session, "extra", {T0: 10, T0 + 2 * HOUR: 30}, source="b")
        insert_source_rows(session, "extra", {T0: 5, T0 + HOUR: 7}, source="a", label="qwen")
        # Outside the range or another granularity: never read.
        insert_source_rows(session, "extra", {T0 + 5 * HOUR: 1}, source="c")
        insert_source_rows(session, "extra", {T0: 1}, source="d", granularity="daily")
    with store_sessions() as session:
        read = series_arrays(
            session, _metric(unit), "hourly", T0, T0 + 3 * HOUR, source=ALL_SOURCES, label=label
        )
        one = series_arrays(session, _metric(unit), "hourly", T0, T0 + 3 * HOUR, source="b")
    assert _hours(read) == expected
    assert _hours(one) == {0: 10, 2: 30}


CATALOGUE = """
[metrics.latency]
name_ko = "응답 시간"
name_en = "Latency"
unit = "seconds"
kind = "gauge"
rollup = "average"
query = "SELECT 1"
"""


@pytest.fixture
def app(sqlite_url: str, make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Flask]:
    from dashboard.app import create_app
    from dashboard.context import get_context

    path = tmp_path / "catalogue.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    create_user(sqlite_url, "admin")
    flask_app = create_app(make_settings(database_url=sqlite_url, metrics_catalogue_file=path))
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with get_context(flask_app).session() as session:
        slots = [top - h * HOUR for h in range(4)]
        insert_source_rows(
            session, "latency", dict(zip(slots, (4, 6, 8, 10), strict=True)), source="default"
        )
        insert_source_rows(session, "latency", {slots[0]: 1, slots[2]: 3}, source="b")
        insert_source_rows(session, "tag_count", dict.fromkeys(slots, 7), source="default")
        insert_source_rows(session, "tag_count", dict.fromkeys(slots, 2), source="b")
    yield flask_app
    get_context(flask_app).engine.dispose()


def test_the_api_reads_all_sources_with_the_same_reader(app: Flask) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {stored_token(app, 'admin')}"}

    def values(path: str, **query: str) -> Any:
        response = client.get(f"/api/v1/metrics/{path}", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    latency = values("timeseries", metric_type="latency", source="all")
    assert latency["source"] == "all"
    # Seconds are averaged; the two hours source b missed are gaps.
    assert [p["value"] for p in latency["data"]] == [6, 3]
    tags = values("timeseries", metric_type="tag_count", source="all")
    assert [p["value"] for p in tags["data"]] == [9, 9, 9, 9]
    compared = values("comparison", metric_type="tag_count", source="all")
    assert compared["period1"]["latest"] == 9

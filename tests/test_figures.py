"""Unit tests of the pure figure builders and value formatting (tiny frames, no DB, no Dash)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pandas as pd
import plotly.io as pio
import pytest

from dashboard.charts.figures import build_empty_store_figure, build_metric_figure
from dashboard.charts.formatting import (
    format_bytes,
    format_delta,
    format_exact,
    format_percent_change,
    format_value,
    is_notable_change,
    period_text,
)
from dashboard.charts.series import SeriesCache, reduce_points
from dashboard.charts.summaries import summarize


def frame(
    start: str, values: list[int], *, freq: str = "h", drop: tuple[int, ...] = ()
) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=len(values), freq=freq, tz="UTC")
    df = pd.DataFrame(
        {
            "timestamp": stamps.astype("datetime64[ns, UTC]"),
            "value": pd.array(values, dtype="int64"),
        }
    )
    return df.drop(index=list(drop)).reset_index(drop=True)


def traces(fig: object, role: str, period: int = 1) -> list[object]:
    return [
        tr
        for tr in fig.data  # type: ignore[attr-defined]
        if tr.meta and tr.meta["role"] == role and tr.meta["period"] == period
    ]


def times(values: object) -> list[pd.Timestamp]:
    """x values of the figure (wall-clock datetime64 of some unit) as timestamps."""
    return [pd.Timestamp(v) for v in values]  # type: ignore[attr-defined]


def ys(trace: object) -> list[float | None]:
    """The y values with the line breaks (NaN, sent as null) as None."""
    return [None if pd.isna(v) else float(v) for v in trace.y]  # type: ignore[attr-defined]


# --- gaps -----------------------------------------------------------------------------------
def test_gap_is_drawn_dotted_with_korean_hover() -> None:
    df = frame("2026-11-01", [10, 11, 12, 13, 14, 15, 16], drop=(3, 4))  # 03:00, 04:00 missing
    fig = build_metric_figure(df, metric_type="active_users", granularity="hourly", tz="UTC")

    (series,) = traces(fig, "series")
    assert series.connectgaps is False
    assert series.line.dash == "solid"
    # The solid line is broken exactly once, between 02:00 and 05:00.
    assert ys(series) == [10, 11, 12, None, 15, 16]

    (bridge,) = traces(fig, "gap")
    assert bridge.line.dash == "dot"
    assert times(bridge.x[:2]) == [
        pd.Timestamp("2026-11-01 02:00"),
        pd.Timestamp("2026-11-01 05:00"),
    ]
    assert ys(bridge) == [12, 15, None]  # one dotted segment from the last to the next point
    (hover,) = traces(fig, "gap-hover")
    assert len(hover.x) == 1
    assert hover.text[0].startswith("이 기간 동안 데이터 수집 실패")
    # It names the missing slots (03:00 and 04:00), not the collected points around them.
    assert hover.text[0].endswith("누락 2개 슬롯: 2026-11-01 03:00 – 2026-11-01 04:00")
    assert pd.Timestamp("2026-11-01 02:00") < times(hover.x)[0] < pd.Timestamp("2026-11-01 05:00")


def test_gap_hover_in_english() -> None:
    df = frame("2026-11-01", [1, 2, 3, 4], drop=(1,))
    fig = build_metric_figure(
        df, metric_type="tag_count", granularity="hourly", tz="UTC", lang="en"
    )
    (hover,) = traces(fig, "gap-hover")
    assert hover.text[0].startswith("Data collection failed during this period")


def test_contiguous_series_has_no_gap_traces() -> None:
    df = frame("2026-11-01", [1, 2, 3, 4])
    fig = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="UTC")
    assert traces(fig, "gap") == [] and traces(fig, "gap-hover") == []
    assert None not in ys(traces(fig, "series")[0])


def test_daily_gap_uses_daily_step() -> None:
    df = frame("2026-11-01", [1, 2, 3, 4, 5], freq="D", drop=(2,))
    fig = build_metric_figure(df, metric_type="tag_count", granularity="daily", tz="UTC")
    (gap,) = traces(fig, "gap-hover")
    assert len(gap.x) == 1
    assert gap.text[0].endswith("누락 1개 슬롯: 2026-11-03 – 2026-11-03")  # dates, no time
    # The same daily frame read as hourly would be all gaps: the step matters.
    hourly = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="UTC")
    assert len(traces(hourly, "gap-hover")[0].x) == 3


# --- comparison -----------------------------------------------------------------------------
def test_compare_period_is_shifted_onto_first_axis_and_dashed() -> None:
    current = frame("2026-11-08", [10, 20, 30])
    previous = frame("2026-11-01", [5, 10, 15])
    fig = build_metric_figure(
        current,
        metric_type="active_users",
        granularity="hourly",
        tz="UTC",
        compare_df=previous,
        period_labels=("11/08", "11/01"),
        compare_offset=pd.Timedelta(days=7),
    )
    (p1,) = traces(fig, "series", 1)
    (p2,) = traces(fig, "series", 2)
    assert list(p2.x) == list(p1.x)  # overlaid on period 1's axis
    assert p2.line.dash == "dash" and p1.line.dash == "solid"
    assert p2.line.color != p1.line.color
    assert (p1.name, p2.name) == ("11/08", "11/01")
    assert fig.layout.showlegend is True
    # The hover still tells the real date of period 2 (its x is period 1's time), and the
    # unified hover names each period.
    assert p2.text[0] == "2026-11-01 00:00"
    assert p2.hovertemplate == "%{y:,}명<br>%{text}<extra>11/01</extra>"
    assert p1.text is None
    assert p1.hovertemplate == "%{y:,}명<br>%{x|%Y-%m-%d %H:%M}<extra>11/08</extra>"


def test_compare_default_offset_aligns_first_points_and_labels_with_dates() -> None:
    current = frame("2026-11-08 00:00", [1, 2])
    previous = frame("2026-10-01 00:00", [1, 2])
    fig = build_metric_figure(
        current, metric_type="tag_count", granularity="hourly", tz="UTC", compare_df=previous
    )
    assert list(traces(fig, "series", 2)[0].x) == list(traces(fig, "series", 1)[0].x)
    assert traces(fig, "series", 2)[0].name == "2026-10-01"


def test_percent_change_of_period_averages() -> None:
    current = frame("2026-11-08", [10, 20, 30])  # avg 20
    previous = frame("2026-11-01", [10, 10, 10, 10])  # avg 10
    s = summarize(current, metric_type="active_users", compare_df=previous)
    assert s.compare_percent == pytest.approx(100.0)
    assert format_percent_change(s.compare_percent) == "▲ 100.0%"
    assert is_notable_change(s.compare_percent)
    down = summarize(previous, metric_type="active_users", compare_df=current)
    assert down.compare_percent == pytest.approx(-50.0)
    assert format_percent_change(down.compare_percent) == "▼ 50.0%"
    small = summarize(frame("2026-11-08", [11]), metric_type="tag_count", compare_df=previous)
    assert not is_notable_change(small.compare_percent)


def test_percent_change_with_zero_previous_average_is_a_dash() -> None:
    s = summarize(
        frame("2026-11-08", [3, 4]), metric_type="tag_count", compare_df=frame("2026-11-01", [0, 0])
    )
    assert s.compare_percent is None
    assert format_percent_change(s.compare_percent) == "—"
    assert not is_notable_change(None)


def test_summary_is_latest_average_and_spread() -> None:
    # Issue 13: the first→last delta is gone (it compared two times of day); the card reads
    # the latest value, the period's average and its min/max.
    s = summarize(frame("2026-11-01", [100, 50, 150]), metric_type="active_users")
    assert s.latest == 150
    assert (s.minimum, s.maximum, s.average, s.points) == (50, 150, 100, 3)
    assert not hasattr(s, "change")
    assert format_delta(-50.0, "active_users") == "−50명"


# --- downsampling ---------------------------------------------------------------------------
def test_lttb_caps_at_1000_and_keeps_first_and_last() -> None:
    values = [(i * 37) % 101 for i in range(2500)]
    df = frame("2026-01-01", values)
    fig = build_metric_figure(df, metric_type="active_users", granularity="hourly", tz="UTC")
    (series,) = traces(fig, "series")
    xs = [x for x, y in zip(times(series.x), ys(series), strict=True) if y is not None]
    assert len(xs) <= 1000
    assert xs[0] == pd.Timestamp("2026-01-01 00:00")
    assert xs[-1] == df["timestamp"].iloc[-1].tz_localize(None)
    note = [a for a in fig.layout.annotations if a.name == "downsampled-note"]
    assert note and "2,500" in note[0].text


def test_lttb_keeps_gaps() -> None:
    df = frame("2026-01-01", list(range(3000)), drop=tuple(range(1200, 1210)))
    reduced = reduce_points(df, "hourly")
    assert len(reduced) <= 1000
    stamps = set(reduced["timestamp"])
    assert df["timestamp"].iloc[1199] in stamps and df["timestamp"].iloc[1200] in stamps
    fig = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="UTC")
    assert len(traces(fig, "gap-hover")[0].x) == 1  # one real gap, not one per thinned pair
    assert ys(traces(fig, "series")[0]).count(None) == 1


def test_short_series_is_not_downsampled() -> None:
    fig = build_metric_figure(
        frame("2026-01-01", list(range(1000))),
        metric_type="tag_count",
        granularity="hourly",
        tz="UTC",
    )
    assert len(traces(fig, "series")[0].x) == 1000
    assert not [a for a in fig.layout.annotations if a.name == "downsampled-note"]


# --- time zones -----------------------------------------------------------------------------
def test_timezone_puts_the_same_slot_at_different_wall_clock_hours() -> None:
    df = frame("2026-11-01 15:00", [7])
    seoul = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="Asia/Seoul")
    utc = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="UTC")
    assert times(traces(seoul, "series")[0].x) == [pd.Timestamp("2026-11-02 00:00")]
    assert times(traces(utc, "series")[0].x) == [pd.Timestamp("2026-11-01 15:00")]
    # The hover writes x as it is (a number on a date axis is shown as UTC wall-clock).
    assert seoul.layout.xaxis.type == "date"
    assert "%{x|%Y-%m-%d %H:%M}" in traces(seoul, "series")[0].hovertemplate


def test_x_travels_as_short_wall_clock_strings() -> None:
    # 16:00 and 17:00 UTC missing: the break row sits on a whole hour inside the gap.
    df = frame("2026-11-01 15:00", [1, 2, 3, 4, 5], drop=(1, 2))
    fig = build_metric_figure(df, metric_type="tag_count", granularity="hourly", tz="Asia/Seoul")
    sent = json.loads(pio.to_json(fig))
    series = sent["data"][0]
    assert series["meta"]["role"] == "series" and "text" not in series
    # Whole hours as hours (not "2026-11-02T00:00:00.000000000"), in the viewer's wall-clock.
    assert series["x"] == ["2026-11-02T00", "2026-11-02T01", "2026-11-02T03", "2026-11-02T04"]
    assert series["y"]["dtype"] == "f8"  # already a typed array
    assert sent["layout"]["xaxis"]["type"] == "date"
    daily = build_metric_figure(
        frame("2026-11-01", [1, 2], freq="D"),
        metric_type="tag_count",
        granularity="daily",
        tz="UTC",
    )
    assert json.loads(pio.to_json(daily))["data"][0]["x"] == ["2026-11-01", "2026-11-02"]


@pytest.mark.parametrize(
    ("lang", "metric", "value_hover"),
    [
        ("ko", "active_users", "%{y:,}명"),
        ("en", "active_users", "%{y:,} users"),
        ("ko", "conversation_count", "%{y:,}개"),
        ("en", "document_count", "%{y:,} documents"),
    ],
)
def test_count_hover_is_formatted_from_y_with_the_unit_as_written_elsewhere(
    lang: str, metric: str, value_hover: str
) -> None:
    fig = build_metric_figure(
        frame("2026-11-01", [1234, 1]),
        metric_type=metric,
        granularity="hourly",
        tz="UTC",
        lang=lang,
    )
    (series,) = traces(fig, "series")
    assert series.hovertemplate == value_hover + "<br>%{x|%Y-%m-%d %H:%M}<extra></extra>"
    # What plotly writes for %{y:,} with 1234 is what the table and the cards write.
    assert value_hover.replace("%{y:,}", "1,234") == format_exact(1234, metric, lang)
    assert series.customdata is None and series.text is None


def test_daily_hover_writes_the_date_only() -> None:
    fig = build_metric_figure(
        frame("2026-11-01", [1, 2], freq="D"),
        metric_type="tag_count",
        granularity="daily",
        tz="UTC",
    )
    assert traces(fig, "series")[0].hovertemplate == "%{y:,}개<br>%{x|%Y-%m-%d}<extra></extra>"


def test_empty_store_figure_names_the_next_slot_in_viewer_time() -> None:
    next_slot = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    fig = build_empty_store_figure(next_slot, tz="Asia/Seoul")
    text = fig.layout.annotations[0].text
    assert "데이터 수집 중입니다" in text and "첫 데이터는 11:00에 표시됩니다" in text
    assert fig.layout.xaxis.visible is False  # no empty axis grid
    en = build_empty_store_figure(next_slot, tz="UTC", lang="en")
    assert "02:00" in en.layout.annotations[0].text


def test_empty_range_shows_a_message_not_an_empty_grid() -> None:
    empty = frame("2026-11-01", [])
    fig = build_metric_figure(empty, metric_type="tag_count", granularity="hourly", tz="UTC")
    assert "선택한 기간에 데이터가 없습니다" in fig.layout.annotations[0].text
    assert not fig.data


# --- formatting -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512, "512 bytes"),
        # IEC units (issue 13): the values are 1024-based, so they are labelled KiB/MiB/GiB.
        (1536, "1.50 KiB"),
        (5 * 1024**2, "5.00 MiB"),
        (250 * 1024**3, "250 GiB"),
        (3 * 1024**4, "3.00 TiB"),
    ],
)
def test_bytes_are_shown_with_a_unit(value: int, expected: str) -> None:
    assert format_bytes(value) == expected
    assert format_value(value, "storage_bytes") == expected


def test_counts_have_thousands_separators_and_units() -> None:
    assert format_value(1234567, "conversation_count") == "1,234,567개"
    assert format_value(1234, "active_users", "en") == "1,234 users"
    assert format_value(None, "active_users") == "—"


def test_bytes_axis_is_scaled_and_hover_is_exact() -> None:
    df = frame("2026-11-01", [3 * 1024**3, 3 * 1024**3 + 1])
    fig = build_metric_figure(df, metric_type="storage_bytes", granularity="hourly", tz="UTC")
    series = traces(fig, "series")[0]
    assert series.y[0] == pytest.approx(3.0)
    assert [a.text for a in fig.layout.annotations if a.name == "unit"] == ["GiB"]
    # The exact bytes travel as numbers; the template writes them as format_exact does
    # ("3.00 GiB (3,221,225,473 bytes)").
    assert list(series.customdata) == [3 * 1024**3, 3 * 1024**3 + 1]
    assert series.hovertemplate == (
        "%{y:,.2f} GiB (%{customdata:,.0f} bytes)<br>%{x|%Y-%m-%d %H:%M}<extra></extra>"
    )
    assert format_exact(3 * 1024**3 + 1, "storage_bytes") == "3.00 GiB (3,221,225,473 bytes)"
    sent = json.loads(pio.to_json(fig))["data"][0]
    assert sent["customdata"]["dtype"] == "f8"


@pytest.mark.parametrize(
    ("peak", "number"), [(50 * 1024**3, "%{y:,.1f} GiB"), (500 * 1024**2, "%{y:,.0f} MiB")]
)
def test_bytes_hover_decimals_follow_the_axis_peak(peak: int, number: str) -> None:
    df = frame("2026-11-01", [peak // 10, peak])
    fig = build_metric_figure(df, metric_type="storage_bytes", granularity="hourly", tz="UTC")
    assert traces(fig, "series")[0].hovertemplate.startswith(number + " (")


def test_bytes_below_one_kib_are_whole_bytes_from_y() -> None:
    fig = build_metric_figure(
        frame("2026-11-01", [512, 1000]),
        metric_type="storage_bytes",
        granularity="hourly",
        tz="UTC",
    )
    series = traces(fig, "series")[0]
    assert series.hovertemplate.startswith("%{y:,.0f} bytes<br>")
    assert series.customdata is None


def test_period_text_writes_dates_or_minutes_in_the_zone() -> None:
    start = datetime(2025, 11, 1, 15, 0, tzinfo=UTC)
    end = datetime(2025, 11, 8, 15, 0, tzinfo=UTC)
    assert period_text(start, end, "Asia/Seoul") == "2025-11-02 – 2025-11-09"
    assert period_text(start, start, "UTC") == "2025-11-01"
    assert period_text(start, end, "UTC", minutes=True) == "2025-11-01 15:00 – 2025-11-08 15:00"


def test_cache_loads_a_key_once_while_many_threads_ask_for_it() -> None:
    """Twelve requests for the same new range at once: one load, twelve equal answers."""
    cache: SeriesCache[int] = SeriesCache()
    calls: list[int] = []
    gate = threading.Barrier(12)

    def load() -> int:
        calls.append(1)
        time.sleep(0.2)  # the others arrive meanwhile
        return len(calls)

    def ask() -> int:
        gate.wait()
        return cache.get_or_load(("range", 7), load)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: ask(), range(12)))
    assert answers == [1] * 12 and len(calls) == 1
    assert cache.get_or_load(("range", 30), load) == 2  # another key loads on its own


def test_cache_waiters_share_a_failed_load_and_the_next_request_loads_again() -> None:
    cache: SeriesCache[str] = SeriesCache()
    started = threading.Event()

    def failing() -> str:
        started.set()
        time.sleep(0.2)
        raise RuntimeError("store down")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get_or_load, ("k",), failing)
        started.wait(5)
        second = pool.submit(cache.get_or_load, ("k",), lambda: "never called")
        for future in (first, second):
            with pytest.raises(RuntimeError, match="store down"):
                future.result(5)
    assert cache.get_or_load(("k",), lambda: "loaded") == "loaded"

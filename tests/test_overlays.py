"""What is drawn over a metric's line (events, trend forecast, unusual values): pure builders
on tiny frames, no DB, no Dash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from analytics.forecast import forecast_series
from dashboard.charts.events import ChartEvent
from dashboard.charts.figures import build_metric_figure
from dashboard.charts.overlays import EVENT_COLOURS, axis_with_forecasts, forecast_sentence

START = datetime(2026, 11, 1, tzinfo=UTC)


def hourly(values: list[float], start: datetime = START) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.DataFrame({"timestamp": stamps, "value": np.asarray(values, dtype="int64")})


def daily(values: list[float], start: datetime = START) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"timestamp": stamps, "value": np.asarray(values, dtype="float64")})


def by_role(fig: object, role: str) -> list[object]:
    return [t for t in fig.data if t.meta and t.meta.get("role") == role]  # type: ignore[attr-defined]


def test_events_are_marked_with_a_line_a_band_and_a_hover_in_the_viewers_zone() -> None:
    df = hourly([10] * 48)
    events = [
        ChartEvent(START + timedelta(hours=5), None, "release", "v2.1 <배포>", None, 1),
        ChartEvent(
            START + timedelta(hours=20),
            START + timedelta(hours=23),
            "outage",
            "수집 실패: 3개 슬롯",
        ),
        # Outside the axis range: not drawn.
        ChartEvent(START - timedelta(days=3), None, "incident", "old", None, 2),
    ]
    fig = build_metric_figure(
        df,
        metric_type="active_users",
        granularity="hourly",
        tz="Asia/Seoul",
        events=events,
        x_range=(START, START + timedelta(days=2)),
    )
    (marks,) = by_role(fig, "event")
    assert marks.meta["ids"] == [1, None]
    # Wall-clock time of Seoul (UTC+9) on the axis, at the top of the hidden 0–1 axis.
    assert [pd.Timestamp(x) for x in marks.x] == [
        pd.Timestamp("2026-11-01 14:00"),
        pd.Timestamp("2026-11-02 05:00"),
    ]
    assert list(marks.y) == [1.0, 1.0] and marks.yaxis == "y2"
    assert fig.layout.yaxis2.range == (0, 1) and fig.layout.yaxis2.visible is False
    # The admin's text is shown as text, not markup.
    assert "v2.1 &lt;배포&gt;" in marks.text[0] and "배포" in marks.text[0]
    assert "2026-11-02 05:00 – 2026-11-02 08:00" in marks.text[1]
    shapes = fig.layout.shapes
    assert [s.type for s in shapes] == ["line", "rect", "line"]  # the range event has a band
    assert shapes[1].fillcolor == EVENT_COLOURS["outage"]


def test_forecast_is_drawn_dashed_ahead_of_the_last_value_with_its_band() -> None:
    growth = [1_000 + 50 * i for i in range(20)]
    forecast = forecast_series(daily(growth), horizon_days=30, now=START + timedelta(days=19))
    assert forecast is not None
    df = hourly([1_000 + 50 * i / 24 for i in range(20 * 24)])
    # The axis is widened by at most a quarter of the 20-day window (5 days) for the trend.
    axis = axis_with_forecasts((START, START + timedelta(days=20)), [forecast], "UTC")
    assert axis[1] == datetime(2026, 11, 26, tzinfo=UTC)
    fig = build_metric_figure(
        df,
        metric_type="document_count",
        granularity="hourly",
        tz="UTC",
        forecast=forecast,
        x_range=axis,
    )
    (trend,) = by_role(fig, "forecast")
    (joint,) = by_role(fig, "forecast-joint")
    assert trend.line.dash == joint.line.dash == "dash"
    assert joint.hoverinfo == "skip"
    # The trend starts after the last stored value (the joint links them): a hover over the
    # stored values never lands on the trend.
    last_value_at = pd.Timestamp(df["timestamp"].iloc[-1]).tz_localize(None)
    assert pd.Timestamp(joint.x[0]) == last_value_at
    assert pd.Timestamp(trend.x[0]) > last_value_at
    assert pd.Timestamp(trend.x[-1]) == pd.Timestamp("2026-11-26")
    band = by_role(fig, "band")
    assert len(band) == 2 and band[1].fill == "tonexty"
    assert np.all(np.asarray(band[1].y)[1:] <= np.asarray(trend.y) + 1e-9)
    assert np.all(np.asarray(band[0].y)[1:] >= np.asarray(trend.y) - 1e-9)
    assert pd.Timestamp(fig.layout.xaxis.range[1]) == pd.Timestamp("2026-11-26")
    assert any(a.name == "forecast-label" for a in fig.layout.annotations)


def test_no_forecast_is_drawn_over_an_old_window_or_one_shorter_than_a_week() -> None:
    now = START + timedelta(days=19)
    forecast = forecast_series(daily([100 + i for i in range(20)]), now=now)
    assert forecast is not None
    for window in (
        (START, START + timedelta(days=7)),  # ended long before the last value
        (now - timedelta(days=1), now + timedelta(hours=1)),  # 24 h: hours, not days
    ):
        assert axis_with_forecasts(window, [forecast], "UTC") == window
        fig = build_metric_figure(
            hourly([100] * 24, start=window[0]),
            metric_type="document_count",
            granularity="hourly",
            tz="UTC",
            forecast=forecast,
            x_range=window,
        )
        assert by_role(fig, "forecast") == [], window


def test_unusual_values_are_circled_with_how_far_they_are() -> None:
    df = hourly([100, 102, 400, 101])
    unusual = pd.DataFrame(
        {
            "timestamp": [df["timestamp"].iloc[2]],
            "value": [400.0],
            "expected": [101.0],
            "score": [12.5],
        }
    )
    fig = build_metric_figure(
        df, metric_type="active_users", granularity="hourly", tz="UTC", unusual=unusual, lang="en"
    )
    (marks,) = by_role(fig, "unusual")
    assert list(marks.y) == [400.0]
    assert marks.marker.symbol == "circle-open"
    assert "Higher than the usual 101 users" in marks.text[0] and "12.5×" in marks.text[0]


def test_forecast_sentence_says_when_the_capacity_is_reached_or_the_expected_value() -> None:
    growth = daily([10 * 2**30 + i * 2**30 for i in range(20)])  # 1 GiB a day
    now = START + timedelta(days=19)
    with_capacity = forecast_series(growth, capacity=40 * 2**30, now=now)
    assert with_capacity is not None and with_capacity.days_to_capacity is not None
    text = forecast_sentence(with_capacity, metric_type="storage_bytes", tz="UTC", lang="ko")
    assert text.startswith("현재 추세라면 약 11일 후 40.0 GiB 도달")
    without = forecast_series(growth, horizon_days=30, now=now)
    assert without is not None
    text = forecast_sentence(without, metric_type="storage_bytes", tz="UTC", lang="en")
    assert text.startswith("Trend: about 5") and text.endswith("in 30 days")

"""The forecast and the unusual values of one metric, read from the store for the page, the
cards, the PDF and the API: one ``db.queries`` read → one ``analytics`` computation.

No Flask, no Dash: the PDF (CLI included) calls these as the page does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Final, Protocol

import pandas as pd
from sqlalchemy.orm import Session

from analytics.forecast import Forecast, daily_input, forecast_series
from analytics.unusual import DEFAULT_WEEKS, unusual_points
from dashboard.charts.overlays import Insights
from db.queries import timeseries

# The metrics that only grow (or shrink by clean-ups): a trend ahead of them means something.
# Active users and sessions follow the day and the week; a straight line through them does not.
FORECAST_METRICS: Final = ("storage_bytes", "conversation_count", "document_count", "tag_count")
# The band of a slot needs the weeks before it (and a daylight-saving hour of slack).
UNUSUAL_HISTORY: Final = timedelta(weeks=DEFAULT_WEEKS, hours=2)
# A window ending more than this before now is history: no trend is drawn ahead of it.
PRESENT: Final = timedelta(days=1)


class InsightSettings(Protocol):
    """The settings the insights follow (the project's ``Settings`` has them; the reports
    import no settings module)."""

    @property
    def storage_capacity_bytes(self) -> int | None: ...
    @property
    def forecast_horizon_days(self) -> int: ...
    @property
    def unusual_values_enabled(self) -> bool: ...
    @property
    def unusual_values_threshold(self) -> float: ...
    @property
    def business_zone(self) -> str: ...


@dataclass(frozen=True, slots=True)
class InsightOptions:
    """Those settings as values, hashable (they are part of the page's cache keys)."""

    capacity: float | None = None  # STORAGE_CAPACITY_BYTES: storage's forecast reaches it
    horizon_days: int = 30  # FORECAST_HORIZON_DAYS
    unusual_threshold: float | None = 4.0  # UNUSUAL_VALUES_THRESHOLD; None: marking off
    zone: str = "UTC"  # BUSINESS_TIMEZONE: the days and the hours of the week

    @classmethod
    def from_settings(cls, settings: InsightSettings) -> InsightOptions:
        return cls(
            capacity=settings.storage_capacity_bytes,
            horizon_days=settings.forecast_horizon_days,
            unusual_threshold=(
                settings.unusual_values_threshold if settings.unusual_values_enabled else None
            ),
            zone=settings.business_zone,
        )


def load_daily(
    session: Session, metric_type: str, *, now: datetime, tz: str = "UTC"
) -> pd.DataFrame:
    """The daily values the forecast of ``metric_type`` is made from (``daily_input``: the
    last 90 days of rollups, or a young store's daily means of hourly values in ``tz``)."""
    return daily_input(partial(timeseries, session, metric_type), now=now, tz=tz)


def load_forecast(
    session: Session,
    metric_type: str,
    *,
    now: datetime,
    horizon_days: int = 30,
    capacity: float | None = None,
    tz: str = "UTC",
) -> Forecast | None:
    """The forecast of ``metric_type`` ``horizon_days`` ahead (``analytics.forecast``); None
    with fewer than ``MIN_DAYS`` days of data. ``tz``: the business zone, for the daily means
    of a young store's hourly values."""
    daily = load_daily(session, metric_type, now=now, tz=tz)
    return forecast_series(daily, horizon_days=horizon_days, capacity=capacity, now=now)


def load_unusual(
    session: Session,
    metric_type: str,
    window: pd.DataFrame,
    *,
    start: datetime,
    tz: str,
    threshold: float,
) -> pd.DataFrame:
    """The unusual slots of ``window`` (an hourly frame starting at ``start``), judged against
    the stored hourly values of the weeks before ``start`` (``analytics.unusual``); columns
    ``timestamp, value, expected, score``. Hourly windows only."""
    history = timeseries(session, metric_type, "hourly", start - UNUSUAL_HISTORY, start)
    return unusual_points(window, history, tz=tz, threshold=threshold)


def load_insights(
    session: Session,
    series: Mapping[str, pd.DataFrame],
    *,
    granularity: str,
    start: datetime,
    end: datetime,
    comparing: bool,
    options: InsightOptions,
    now: datetime,
) -> Insights:
    """What the page and the PDF draw over the lines of ``series`` (the window
    ``[start, end)``): the trend of each growing metric when the window reaches the present
    and nothing is compared (two periods on one axis leave no room ahead), and the unusual
    values of each hourly series (when marking is on)."""
    forecasts: dict[str, Forecast] = {}
    if not comparing and end >= now - PRESENT:
        for metric in FORECAST_METRICS:
            if metric not in series:
                continue
            forecast = load_forecast(
                session,
                metric,
                now=now,
                horizon_days=options.horizon_days,
                capacity=options.capacity if metric == "storage_bytes" else None,
                tz=options.zone,
            )
            if forecast is not None:
                forecasts[metric] = forecast
    unusual: dict[str, pd.DataFrame] = {}
    if granularity == "hourly" and options.unusual_threshold is not None:
        for metric, frame in series.items():
            if frame.empty:
                continue
            marks = load_unusual(
                session,
                metric,
                frame,
                start=start,
                tz=options.zone,
                threshold=options.unusual_threshold,
            )
            if not marks.empty:
                unusual[metric] = marks
    return Insights(forecasts, unusual)

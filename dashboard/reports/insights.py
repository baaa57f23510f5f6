"""The forecast and the unusual values of one metric, read from the store for the page, the
cards, the PDF and the API: one ``db.queries`` read → one ``analytics`` computation.

No Flask, no Dash: the PDF (CLI included) calls these as the page does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Final

import pandas as pd
from sqlalchemy.orm import Session

from analytics.forecast import Forecast, daily_input, forecast_series
from analytics.unusual import DEFAULT_WEEKS, unusual_points
from db.queries import timeseries

# The metrics that only grow (or shrink by clean-ups): a trend ahead of them means something.
# Active users and sessions follow the day and the week; a straight line through them does not.
FORECAST_METRICS: Final = ("storage_bytes", "conversation_count", "document_count", "tag_count")
# The band of a slot needs the weeks before it (and a daylight-saving hour of slack).
UNUSUAL_HISTORY: Final = timedelta(weeks=DEFAULT_WEEKS, hours=2)


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

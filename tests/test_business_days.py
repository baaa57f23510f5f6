"""Daily values are the organisation's days (issue 13): the rollup in Asia/Seoul writes rows
for the KST day, at KST midnight; "7 days daily" shows 7 points labelled by date only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from collectors.runner import catch_up_daily, insert_snapshots
from dashboard.context import get_context
from dashboard.page import ids
from db.engine import session_scope
from db.metrics import METRIC_IDS
from db.models import MetricSnapshot
from db.periods import day_window, hour_floor, local_date
from tests.support import figure_array, render_request

KST = "Asia/Seoul"


def test_daily_rollup_in_seoul_gives_seven_kst_days_with_date_labels(
    app: Flask, admin_client: FlaskClient
) -> None:
    ctx = get_context(app)
    now = datetime.now(UTC)
    newest = hour_floor(now)
    # Nine KST days of hourly data, the value being the KST hour of the slot.
    first = day_window(local_date(now, KST) - timedelta(days=8), KST).start
    with session_scope(ctx.sessions) as session:
        at = first
        while at <= newest:
            kst_hour = (at + timedelta(hours=9)).hour
            insert_snapshots(session, dict.fromkeys(METRIC_IDS, kst_hour), "hourly", at)
            at += timedelta(hours=1)
    days = catch_up_daily(ctx.sessions, now, KST)
    assert days == [local_date(now, KST) - timedelta(days=d) for d in range(8, 0, -1)]
    with session_scope(ctx.sessions) as session:
        rows = session.execute(
            select(MetricSnapshot.collected_at, MetricSnapshot.value).where(
                MetricSnapshot.metric_type == "active_users",
                MetricSnapshot.granularity == "daily",
            )
        ).all()
    # Stored at KST midnight (15:00 UTC); a whole KST day of hours 0..23 averages 11.5 → 12.
    assert {at.astimezone(UTC).hour for at, _v in rows} == {15}
    assert {v for _at, v in rows} == {12}

    deps = admin_client.get("/admin/metrics/_dash-dependencies").get_json()
    response = admin_client.post(
        "/admin/metrics/_dash-update-component",
        json=render_request(deps, search="?range=7&granularity=daily", tz="America/New_York"),
    )
    out: dict[str, Any] = response.get_json()["response"]
    figure = out[ids.graph("active_users")]["figure"]
    (series,) = [tr for tr in figure["data"] if tr["meta"]["role"] == "series"]
    points = [y for y in figure_array(series["y"]) if y == y]  # NaN: a line break
    assert len(points) == 7  # 7 days daily: 7 points, not 6
    # Drawn at their KST dates (even for a New York viewer) and hovered by date, no time.
    stamps = [pd.Timestamp(x) for x in figure_array(series["x"])]
    assert stamps and all((x.hour, x.minute) == (0, 0) for x in stamps), stamps
    assert "%{x|%Y-%m-%d}<extra>" in series["hovertemplate"]
    stops = figure["layout"]["xaxis"]["tickformatstops"]
    assert all("%H" not in stop["value"] for stop in stops)

"""Synthetic metric history for the dashboard's tests and benchmark (inserted directly).

Daily and weekly rhythm, growth and a few missing slots, hourly for ``hourly_days`` and
daily averages for ``daily_days`` — the shape the collectors store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import MetricSnapshot

# Hours (counted back from the newest slot) that have no data: gaps to draw dotted.
DEFAULT_GAPS = (5, 6, 7, 50, 200)


def metric_value(metric: str, slot: datetime) -> int:
    """A deterministic, plausible value for ``metric`` at ``slot``."""
    hours = slot.timestamp() / 3600
    day = 0.5 + 0.5 * math.sin((slot.hour - 6) / 24 * 2 * math.pi)  # busy in the daytime
    week = 0.85 if slot.weekday() >= 5 else 1.0
    growth = 1 + (hours % 100_000) / 100_000
    base = {
        "active_users": 120 * day * week * growth + 15,
        "storage_bytes": 48 * 1024**3 * growth,
        "active_sessions": 260 * day * week * growth + 20,
        "conversation_count": 150_000 * growth,
        "document_count": 42_000 * growth,
        "tag_count": 900 * growth,
    }[metric]
    return max(0, int(base))


def hourly_slots(newest: datetime, days: int, gaps: Iterable[int]) -> list[datetime]:
    missing = set(gaps)
    return [newest - timedelta(hours=h) for h in range(days * 24) if h not in missing]


def seed_history(
    url: str,
    *,
    newest: datetime | None = None,
    hourly_days: int = 30,
    daily_days: int = 90,
    gaps: Iterable[int] = DEFAULT_GAPS,
) -> datetime:
    """Insert the history; returns the newest hourly slot."""
    now = datetime.now(UTC)
    newest = newest or now.replace(minute=0, second=0, microsecond=0)
    rows: list[dict[str, object]] = []
    for slot in hourly_slots(newest, hourly_days, gaps):
        rows += [
            {
                "metric_type": m,
                "value": metric_value(m, slot),
                "granularity": "hourly",
                "collected_at": slot,
            }
            for m in METRIC_IDS
        ]
    today = newest.replace(hour=0)
    for d in range(1, daily_days + 1):
        day = today - timedelta(days=d)
        for m in METRIC_IDS:
            values = [metric_value(m, day + timedelta(hours=h)) for h in range(24)]
            rows.append(
                {
                    "metric_type": m,
                    "value": round(sum(values) / 24),
                    "granularity": "daily",
                    "collected_at": day,
                }
            )
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            for i in range(0, len(rows), 5000):
                session.execute(insert(MetricSnapshot), rows[i : i + 5000])
    finally:
        engine.dispose()
    return newest


def render_request(
    dependencies: list[dict[str, Any]],
    *,
    search: str,
    tz: str = "Asia/Seoul",
    lang: str = "ko",
    slot: str | None = "seen",
) -> dict[str, Any]:
    """The body of a ``_dash-update-component`` POST that (re)draws the six graphs, built
    from ``_dash-dependencies`` like the browser does."""
    callback = next(d for d in dependencies if "graph-active_users.figure" in d["output"])
    values = {
        ("url", "search"): search,
        ("viewer-timezone", "data"): tz,
        ("latest-slot", "data"): slot,
        ("retry-button", "n_clicks"): None,
        ("page-lang", "data"): lang,
    }

    def spec(item: dict[str, str]) -> dict[str, Any]:
        return {**item, "value": values[(item["id"], item["property"])]}

    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in callback["output"].strip(".").split("...")
    ]
    return {
        "output": callback["output"],
        "outputs": outputs,
        "inputs": [spec(i) for i in callback["inputs"]],
        "state": [spec(s) for s in callback["state"]],
        "changedPropIds": ["url.search"],
    }

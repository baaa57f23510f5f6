"""Shared data for the export tests: a small store with known values and a known gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from db.metrics import METRIC_IDS
from db.models import MetricSnapshot

T0 = datetime(2025, 11, 1, tzinfo=UTC)
HOURS = 24
GAP_HOURS = (5, 6)  # both slots failed: no metric has a value there


def stored_value(metric_index: int, hour: int) -> int:
    """Distinct, large-ish values (storage in the billions) so a rounding bug would show."""
    if METRIC_IDS[metric_index] == "storage_bytes":
        return 5_000_000_000 + hour * 1_234_567
    return 100 * (metric_index + 1) + hour * (metric_index + 1)


def seed_hourly(session: Any, hours: int = HOURS, gaps: tuple[int, ...] = GAP_HOURS) -> None:
    for hour in range(hours):
        if hour in gaps:
            continue
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=stored_value(index, hour),
                    granularity="hourly",
                    collected_at=T0 + timedelta(hours=hour),
                )
            )


def seed_daily(session: Any, start: datetime, days: int) -> None:
    for day in range(days):
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=stored_value(index, day),
                    granularity="daily",
                    collected_at=start + timedelta(days=day),
                )
            )


def seed_recent_hourly(session: Any, hours: int = 48) -> datetime:
    """Hourly rows ending at the current hour (presets and API retention checks are relative
    to now); returns that newest slot. Values: ``1000 × (metric index + 1) + hours ago``."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in range(hours):
        for index, metric in enumerate(METRIC_IDS):
            session.add(
                MetricSnapshot(
                    metric_type=metric,
                    value=1000 * (index + 1) + h,
                    granularity="hourly",
                    collected_at=now - timedelta(hours=h),
                )
            )
    return now

"""Daily rows become the organisation's days: re-roll them in BUSINESS_TIMEZONE.

Until now a daily row was the average of a *UTC* day, stored at UTC midnight (09:00 KST).
It is now the average of a business day (00:00–24:00 in ``BUSINESS_TIMEZONE``, default
``DEFAULT_TIMEZONE``), stored at that local midnight.

Honest about what can be recomputed: a business day is re-rolled from the hourly rows only
when those still exist for it, i.e. for complete days inside the hourly retention (the
oldest day touched by hourly data may be cut by retention and is left alone, as is the
current, unfinished day). An old UTC-day row is replaced when the business day that covers
most of it (the one ending at 24:00 local on the same date east of UTC) was re-rolled;
older rows stay UTC days, stored at UTC midnight (README "Daily rollups").

The downgrade leaves the rows as they are: the hourly data needed to rebuild UTC days may be
gone, and a wrong-looking row is better than a silently invented one.

Revision ID: 20261203_business_day_daily
Revises: 20261203_alerts_reports (re-chained after main's revisions on merge)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

revision: str = "20261203_business_day_daily"
down_revision: str | None = "20261203_alerts_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

snapshots = sa.table(
    "metric_snapshots",
    sa.column("id", sa.Integer),
    sa.column("metric_type", sa.String),
    sa.column("value", sa.BigInteger),
    sa.column("granularity", sa.String),
    sa.column("collected_at", sa.DateTime(timezone=True)),
    sa.column("retry_count", sa.Integer),
)


def _utc(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _bind(value: datetime, dialect: str) -> datetime:
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def upgrade() -> None:
    zone = ZoneInfo(context.config.attributes.get("business_timezone") or "Asia/Seoul")
    conn = op.get_bind()
    dialect = conn.dialect.name
    hourly = conn.execute(
        sa.select(snapshots.c.metric_type, snapshots.c.collected_at, snapshots.c.value).where(
            snapshots.c.granularity == "hourly"
        )
    ).all()
    if not hourly:
        return
    sums: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for metric, at, value in hourly:
        key = (str(metric), _utc(at).astimezone(zone).date())
        sums[key][0] += int(value)
        sums[key][1] += 1
    days = sorted({day for _m, day in sums})
    today = datetime.now(UTC).astimezone(zone).date()
    rerolled = {d for d in days[1:] if d < today}  # the oldest may be cut by retention
    if not rerolled:
        return
    # Old UTC-day rows of the dates that are re-rolled give way to the business days.
    for day in sorted(rerolled):
        utc_midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        local_midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        conn.execute(
            sa.delete(snapshots).where(
                snapshots.c.granularity == "daily",
                snapshots.c.collected_at.in_(
                    [_bind(utc_midnight, dialect), _bind(local_midnight, dialect)]
                ),
            )
        )
    rows = []
    for (metric, day), (total, count) in sorted(sums.items()):
        if day not in rerolled:
            continue
        mean = (Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        at = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        rows.append(
            {
                "metric_type": metric,
                "value": int(mean),
                "granularity": "daily",
                "collected_at": _bind(at, dialect),
                "retry_count": 0,
            }
        )
    for start in range(0, len(rows), 500):
        conn.execute(sa.insert(snapshots), rows[start : start + 500])


def downgrade() -> None:
    """Nothing to undo safely (see the module docstring)."""

"""Collection status (SPEC §4), shared by the page, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from db.queries import count_failures_since, failures_since, latest_slot

StatusColour = Literal["healthy", "warning", "error", "pending"]

WARNING_LATENESS = timedelta(minutes=5)
ERROR_LATENESS = timedelta(minutes=60)
WARNING_FAILURES = 3
ERROR_FAILURES = 10


def next_hourly_slot(now: datetime) -> datetime:
    """The next top of the hour strictly after ``now`` (UTC)."""
    now = now.astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def classify(last_slot: datetime | None, failures_24h: int, now: datetime) -> StatusColour:
    """Colour by lateness ``now − (last slot + 1 h)`` and the failure count of 24 h.

    green: lateness ≤ 5 min and < 3 failures; yellow: lateness in (5, 60] min or 3–10
    failures; red: lateness > 60 min or > 10 failures; pending before the first slot.
    """
    if last_slot is None:
        return "pending"
    lateness = now - (last_slot + timedelta(hours=1))
    if lateness > ERROR_LATENESS or failures_24h > ERROR_FAILURES:
        return "error"
    if lateness > WARNING_LATENESS or failures_24h >= WARNING_FAILURES:
        return "warning"
    return "healthy"


@dataclass(frozen=True, slots=True)
class RecentFailure:
    metric_type: str
    attempted_at: datetime
    error_message: str


@dataclass(frozen=True, slots=True)
class CollectionStatus:
    status: StatusColour
    last_collection_at: datetime | None
    next_collection_at: datetime | None
    failure_count_24h: int
    recent_failures: list[RecentFailure] = field(default_factory=list)
    is_collecting: bool = False

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "status": self.status,
            "last_collection_at": iso(self.last_collection_at),
            "next_collection_at": iso(self.next_collection_at),
            "failure_count_24h": self.failure_count_24h,
            "recent_failures": [
                {
                    "metric_type": f.metric_type,
                    "attempted_at": f.attempted_at.isoformat(),
                    "error_message": f.error_message,
                }
                for f in self.recent_failures
            ],
            "is_collecting": self.is_collecting,
        }


def collection_status(
    session: Session,
    now: datetime | None = None,
    *,
    collection_enabled: bool = True,
    is_collecting: bool = False,
    recent_limit: int = 10,
) -> CollectionStatus:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since = now - timedelta(hours=24)
    last = latest_slot(session, "hourly")
    failures = count_failures_since(session, since)
    recent = failures_since(session, since, limit=recent_limit)
    return CollectionStatus(
        status=classify(last, failures, now),
        last_collection_at=last,
        next_collection_at=next_hourly_slot(now) if collection_enabled else None,
        failure_count_24h=failures,
        recent_failures=[
            RecentFailure(str(r.metric_type), r.attempted_at.to_pydatetime(), str(r.error_message))
            for r in recent.itertuples(index=False)
        ],
        is_collecting=is_collecting,
    )

"""Collection status (SPEC §4, amended), shared by the page, the API and the CLI.

Failures are counted in failed *slots*, not rows (a failed slot has one row per metric), and
a slot stored after all — re-collected, or stored by a racing collector — is not failed: its
failure rows stay as history but leave the status (counts and ``recent_failures``).

With several source instances each has its own light (``SourceStatus``: its last stored
slot, its failed and missed slots); the overall light is the worst of them, so a broken
second source shows. A source that has never stored a slot while another has is measured
from its first record (its first failure), not left pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy.orm import Session

from db.claims import first_recorded_slot
from db.metrics import DEFAULT_SOURCE
from db.queries import (
    count_failures_since,
    failed_slots_since,
    failures_since,
    last_stored_slot,
    latest_slot,
    missed_slots_since,
    newest_failed_slot,
)

StatusColour = Literal["healthy", "warning", "error", "pending"]

WARNING_LATENESS = timedelta(minutes=5)
ERROR_LATENESS = timedelta(minutes=60)
WARNING_FAILURES = 3
ERROR_FAILURES = 10
# How bad each light is, for the overall light of several sources (pending: nothing yet).
SEVERITY: Final[dict[str, int]] = {"pending": 0, "healthy": 1, "warning": 2, "error": 3}


def next_hourly_slot(now: datetime) -> datetime:
    """The next top of the hour strictly after ``now`` (UTC)."""
    now = now.astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def classify(
    last_slot: datetime | None,
    failed_slots_24h: int,
    now: datetime,
    latest_succeeded: bool | None = None,
) -> StatusColour:
    """Colour by lateness ``now − (last slot + 1 h)`` and the failed slots of 24 h.

    green: lateness ≤ 5 min and < 3 failed slots; yellow: lateness in (5, 60] min or 3–10
    failed slots; red: lateness > 60 min or > 10 failed slots; pending before the first slot.
    A collection that has recovered (``latest_succeeded``: the newest slot was stored) is
    never red for its past failures: they keep it yellow until they leave the 24 hours.
    """
    if last_slot is None:
        return "pending"
    lateness = now - (last_slot + timedelta(hours=1))
    recovered = latest_succeeded is True
    if lateness > ERROR_LATENESS or (failed_slots_24h > ERROR_FAILURES and not recovered):
        return "error"
    if lateness > WARNING_LATENESS or failed_slots_24h >= WARNING_FAILURES:
        return "warning"
    return "healthy"


@dataclass(frozen=True, slots=True)
class RecentFailure:
    metric_type: str
    attempted_at: datetime
    error_message: str
    source: str = DEFAULT_SOURCE


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source instance's light: ``last_collection_at`` is its newest stored slot,
    ``failed_slots_24h`` / ``missed_slots_24h`` its own slots, as in ``CollectionStatus``."""

    source: str
    status: StatusColour
    last_collection_at: datetime | None
    failed_slots_24h: int
    missed_slots_24h: int
    latest_slot_succeeded: bool | None

    def to_json(self) -> dict[str, Any]:
        last = self.last_collection_at
        return {
            "source": self.source,
            "status": self.status,
            "last_collection_at": last.isoformat() if last else None,
            "failed_slots_24h": self.failed_slots_24h,
            "missed_slots_24h": self.missed_slots_24h,
            "latest_slot_succeeded": self.latest_slot_succeeded,
        }


@dataclass(frozen=True, slots=True)
class CollectionStatus:
    """``failure_count_24h``: failure rows of the last 24 h (the seed's field); the slot view:
    ``failed_slots_24h`` (slots of the last 24 h with failures and no rows),
    ``missed_slots_24h`` (those of them no collector finished: none was running, or it
    stopped mid-way), ``last_successful_slot`` (= ``last_collection_at``) and
    ``latest_slot_succeeded`` (whether the newest slot with any record was stored; None
    before the first)."""

    status: StatusColour
    last_collection_at: datetime | None
    next_collection_at: datetime | None
    failure_count_24h: int
    recent_failures: list[RecentFailure] = field(default_factory=list)
    is_collecting: bool = False
    failed_slots_24h: int = 0
    missed_slots_24h: int = 0
    latest_slot_succeeded: bool | None = None
    # Each source's light, the default source first.
    sources: list[SourceStatus] = field(default_factory=list)

    @property
    def last_successful_slot(self) -> datetime | None:
        return self.last_collection_at

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "status": self.status,
            "last_collection_at": iso(self.last_collection_at),
            "next_collection_at": iso(self.next_collection_at),
            "failure_count_24h": self.failure_count_24h,
            "failed_slots_24h": self.failed_slots_24h,
            "missed_slots_24h": self.missed_slots_24h,
            "last_successful_slot": iso(self.last_successful_slot),
            "latest_slot_succeeded": self.latest_slot_succeeded,
            "recent_failures": [
                {
                    "metric_type": f.metric_type,
                    "attempted_at": f.attempted_at.isoformat(),
                    "error_message": f.error_message,
                }
                for f in self.recent_failures
            ],
            "is_collecting": self.is_collecting,
            "sources": [s.to_json() for s in self.sources],
        }


def _latest_succeeded(last: datetime | None, newest_failed: datetime | None) -> bool | None:
    """Whether the newest slot with any record was stored (None before the first)."""
    if last is None and newest_failed is None:
        return None
    return newest_failed is None or (last is not None and last > newest_failed)


def source_status(
    session: Session, source: str, now: datetime, *, deployment_collected: bool
) -> SourceStatus:
    """``source``'s light. ``deployment_collected``: some source has stored a slot; then a
    source that never stored one is late since its first record, not pending."""
    since = now - timedelta(hours=24)
    last = last_stored_slot(session, source)
    failed = len(failed_slots_since(session, since, source))
    latest_ok = _latest_succeeded(last, newest_failed_slot(session, source))
    reference = last
    if last is None and deployment_collected:
        first = first_recorded_slot(session, "hourly", source)
        reference = first - timedelta(hours=1) if first is not None else None
    return SourceStatus(
        source=source,
        status=classify(reference, failed, now, latest_ok),
        last_collection_at=last,
        failed_slots_24h=failed,
        missed_slots_24h=len(missed_slots_since(session, since, source)),
        latest_slot_succeeded=latest_ok,
    )


def collection_status(
    session: Session,
    now: datetime | None = None,
    *,
    collection_enabled: bool = True,
    is_collecting: bool = False,
    recent_limit: int = 10,
    sources: Sequence[str] = (DEFAULT_SOURCE,),
) -> CollectionStatus:
    """The overall status and each of ``sources``' (the catalogue's source names). With one
    source the overall light is its light; with several, the worst of theirs."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since = now - timedelta(hours=24)
    last = latest_slot(session, "hourly")
    failed_slots = len(failed_slots_since(session, since))
    recent = failures_since(session, since, limit=recent_limit, unresolved_only=True)
    latest_ok = _latest_succeeded(last, newest_failed_slot(session))
    lights = [
        source_status(session, source, now, deployment_collected=last is not None)
        for source in sources
    ]
    overall = classify(last, failed_slots, now, latest_ok)
    if len(lights) > 1:
        overall = max((light.status for light in lights), key=SEVERITY.__getitem__)
    return CollectionStatus(
        status=overall,
        last_collection_at=last,
        next_collection_at=next_hourly_slot(now) if collection_enabled else None,
        failure_count_24h=count_failures_since(session, since, unresolved_only=True),
        recent_failures=[
            RecentFailure(
                str(r.metric_type),
                r.attempted_at.to_pydatetime(),
                str(r.error_message),
                str(r.source),
            )
            for r in recent.itertuples(index=False)
        ],
        is_collecting=is_collecting,
        failed_slots_24h=failed_slots,
        missed_slots_24h=len(missed_slots_since(session, since)),
        latest_slot_succeeded=latest_ok,
        sources=lights,
    )

"""Collection claims and the slot records they account for (store side, no collection logic).

A *claim* says "this collector is reading slot S" until it is finished with an outcome in the
transaction that writes the slot's six rows or its failure rows. Every write here is
conditional and checks its row count, as healthchecks' ``sendalerts`` claims a flip, so two
processes never both win the same step:

1. ``claim_slot``: ``INSERT … ON CONFLICT DO NOTHING``; an id back means the claim is ours.
   Otherwise the existing claim is taken over with ``UPDATE … WHERE id = … AND owner = old
   AND claimed_at = old`` — only the leader (holder of the deployment lock) collects, so the
   old owner is dead or stale. One row updated: ours; none: another process took it first.
2. The source is read outside any store transaction.
3. ``finish_claim``: ``UPDATE … SET outcome, finished_at WHERE id = … AND owner = me``, in the
   transaction that stores the rows (``stored``) or the failure rows (``failed``).

``settle_stopped`` and ``claim_missed`` account for a past slot in the same way (conditional
update / conditional insert, the failure rows written only by the winner).

Everything is per source instance (``source``, default ``db.metrics.DEFAULT_SOURCE``): each
source's slot is claimed, stored, failed and accounted for on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from db.catalogue import NO_LABEL
from db.metrics import DEFAULT_SOURCE, METRIC_IDS
from db.models import CollectionClaim, MetricCollectionFailure, MetricSnapshot
from db.types import UTCDateTime
from db.upsert import insert_new


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    owner: str
    claimed_at: datetime
    outcome: str | None


CLAIM_KEY = ("granularity", "source", "slot")


def _claim(session: Session, granularity: str, slot: datetime, source: str) -> Claim | None:
    row = session.execute(
        select(
            CollectionClaim.id,
            CollectionClaim.owner,
            CollectionClaim.claimed_at,
            CollectionClaim.outcome,
        ).where(
            CollectionClaim.granularity == granularity,
            CollectionClaim.source == source,
            CollectionClaim.slot == slot,
        )
    ).one_or_none()
    return Claim(*row) if row else None


def claim_slot(
    session: Session,
    granularity: str,
    slot: datetime,
    owner: str,
    now: datetime,
    source: str = DEFAULT_SOURCE,
) -> int | None:
    """Take slot ``slot`` of ``source`` on for ``owner`` (step 1 above); the claim id, or
    None when another process took it over at the same moment."""
    row = {
        "granularity": granularity,
        "source": source,
        "slot": slot,
        "owner": owner,
        "claimed_at": now,
    }
    ids = insert_new(session, CollectionClaim, [row], CLAIM_KEY)
    if ids:
        return ids[0]
    old = _claim(session, granularity, slot, source)
    if old is None:  # deleted by retention in between: nothing left to race for
        return None
    result = session.execute(
        update(CollectionClaim)
        .where(
            CollectionClaim.id == old.id,
            CollectionClaim.owner == old.owner,
            CollectionClaim.claimed_at == old.claimed_at,
        )
        .values(owner=owner, claimed_at=now, finished_at=None, outcome=None)
    )
    return old.id if result.rowcount == 1 else None  # type: ignore[attr-defined]


def finish_claim(session: Session, claim_id: int, owner: str, outcome: str, now: datetime) -> bool:
    """Step 3: record how the claimed collection ended; False if another owner took it."""
    result = session.execute(
        update(CollectionClaim)
        .where(CollectionClaim.id == claim_id, CollectionClaim.owner == owner)
        .values(outcome=outcome, finished_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def settle_stopped(session: Session, claim: Claim, now: datetime) -> bool:
    """Mark a claim nobody finished as ``stopped``; True for the one process that did."""
    result = session.execute(
        update(CollectionClaim)
        .where(
            CollectionClaim.id == claim.id,
            CollectionClaim.owner == claim.owner,
            CollectionClaim.outcome.is_(None),
        )
        .values(outcome="stopped", finished_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_missed(
    session: Session,
    granularity: str,
    slot: datetime,
    owner: str,
    now: datetime,
    source: str = DEFAULT_SOURCE,
) -> bool:
    """A finished ``missed`` claim for a slot of ``source`` nobody took on; True if this
    call inserted it."""
    row = {
        "granularity": granularity,
        "source": source,
        "slot": slot,
        "owner": owner,
        "claimed_at": now,
        "finished_at": now,
        "outcome": "missed",
    }
    return bool(insert_new(session, CollectionClaim, [row], CLAIM_KEY))


def add_failures(
    session: Session,
    messages: Mapping[str, str],
    granularity: str,
    slot: datetime,
    attempts: int,
    now: datetime,
    source: str = DEFAULT_SOURCE,
) -> None:
    """One failure row per metric of ``source`` (``attempted_at`` is the slot, as the status
    reads it)."""
    session.add_all(
        MetricCollectionFailure(
            metric_type=metric_id,
            source=source,
            granularity=granularity,
            attempted_at=slot,
            error_message=message,
            retry_count=attempts,
            created_at=now,
        )
        for metric_id, message in messages.items()
    )


def stored_values(
    session: Session, granularity: str, slot: datetime, source: str = DEFAULT_SOURCE
) -> dict[str, int]:
    """The slot's stored values of the six of ``source`` by metric id (all six when the
    source's slot is stored)."""
    rows = session.execute(
        select(MetricSnapshot.metric_type, MetricSnapshot.value).where(
            MetricSnapshot.granularity == granularity,
            MetricSnapshot.collected_at == slot,
            *_the_six(source),
        )
    )
    return {str(metric): int(value) for metric, value in rows}


def _the_six(source: str) -> tuple[ColumnElement[bool], ...]:
    """The rows of the six built-in series of ``source`` (its slot is stored when they are)."""
    return (
        MetricSnapshot.metric_type.in_(METRIC_IDS),
        MetricSnapshot.source == source,
        MetricSnapshot.label == NO_LABEL,
    )


def is_stored(values: Mapping[str, int]) -> bool:
    return set(values) >= set(METRIC_IDS)


@dataclass(frozen=True, slots=True)
class SlotRecords:
    """What the store holds for the slots of a window, by slot."""

    stored: set[datetime]
    failed: set[datetime]
    claims: dict[datetime, Claim]


def first_recorded_slot(
    session: Session, granularity: str = "hourly", source: str = DEFAULT_SOURCE
) -> datetime | None:
    """The oldest slot of ``source`` with any record (rows, failure rows or a claim):
    accounting starts there, so a fresh deployment (or a source added later) is not charged
    with the hours before it existed."""
    candidates = [
        session.scalar(
            select(func.min(MetricSnapshot.collected_at)).where(
                MetricSnapshot.granularity == granularity, MetricSnapshot.source == source
            )
        ),
        session.scalar(
            select(func.min(MetricCollectionFailure.attempted_at)).where(
                MetricCollectionFailure.granularity == granularity,
                MetricCollectionFailure.source == source,
            )
        ),
        session.scalar(
            select(func.min(CollectionClaim.slot)).where(
                CollectionClaim.granularity == granularity, CollectionClaim.source == source
            )
        ),
    ]
    dialect = session.get_bind().dialect
    # min() loses the column type on SQLite; normalise through the same type.
    found = [UTCDateTime().process_result_value(c, dialect) for c in candidates]
    return min((f for f in found if f is not None), default=None)


def slot_records(
    session: Session,
    granularity: str,
    start: datetime,
    end: datetime,
    source: str = DEFAULT_SOURCE,
) -> SlotRecords:
    """Stored slots, slots with failure rows and claims of ``source`` with ``start <= slot
    <= end``."""
    stored = session.scalars(
        select(MetricSnapshot.collected_at)
        .where(
            MetricSnapshot.granularity == granularity,
            MetricSnapshot.collected_at >= start,
            MetricSnapshot.collected_at <= end,
            *_the_six(source),
        )
        .group_by(MetricSnapshot.collected_at)
        .having(func.count() >= len(METRIC_IDS))
    )
    failed = session.scalars(
        select(MetricCollectionFailure.attempted_at)
        .where(
            MetricCollectionFailure.granularity == granularity,
            MetricCollectionFailure.source == source,
            MetricCollectionFailure.attempted_at >= start,
            MetricCollectionFailure.attempted_at <= end,
        )
        .distinct()
    )
    claims = session.execute(
        select(
            CollectionClaim.slot,
            CollectionClaim.id,
            CollectionClaim.owner,
            CollectionClaim.claimed_at,
            CollectionClaim.outcome,
        ).where(
            CollectionClaim.granularity == granularity,
            CollectionClaim.source == source,
            CollectionClaim.slot >= start,
            CollectionClaim.slot <= end,
        )
    )
    return SlotRecords(
        stored=set(stored),
        failed=set(failed),
        claims={slot: Claim(cid, owner, at, outcome) for slot, cid, owner, at, outcome in claims},
    )

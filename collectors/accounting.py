"""Every slot ends accounted for: a past slot with neither its rows nor failure rows gets a
reason recorded, so a gap in a graph always has one.

The leader runs ``account_for_slots`` when it is elected and before each collection. For each
slot from the first recorded one on whose grace window has ended — at most the last
``MAX_ACCOUNTED_SLOTS`` slots (≈ 7 days of hourly slots: six rows each fill the 1000 failure
rows the store keeps) and never beyond the hourly retention:

- rows stored → nothing to do (a claim left unfinished is closed as ``stored``);
- a finished claim → accounted already (its failure rows may since have been trimmed);
- an unfinished claim → the collector that claimed it stopped (killed, lost its store): the
  claim is closed as ``stopped`` by a conditional update and, by the one process whose
  update counted, failure rows "collector stopped during collection" are written;
- failure rows without a claim (``admin-metrics collect``, older versions) → accounted;
- nothing at all → no collector was running: a finished ``missed`` claim is inserted
  (``ON CONFLICT DO NOTHING``) and, by the one process whose insert counted, failure rows
  "no collector was running".

Each source instance is accounted for on its own (its rows, claims and failure rows), from
its own first record on. All of it in one store transaction; running it twice, or in two
processes, writes each record once. Nothing is ever collected late here: a gauge read
after the grace window is not the value at the slot, so such a slot stays a gap with its
reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from collectors.runner import FAILURES_KEPT, hourly_slot
from db.claims import (
    add_failures,
    claim_missed,
    finish_claim,
    first_recorded_slot,
    settle_stopped,
    slot_records,
)
from db.engine import session_scope
from db.metrics import DEFAULT_SOURCE, METRIC_IDS

log = logging.getLogger(__name__)

MAX_ACCOUNTED_SLOTS = FAILURES_KEPT // len(METRIC_IDS)
MISSED_MESSAGE = "실행 중인 수집기가 없어 이 시각의 메트릭이 수집되지 않음"
STOPPED_MESSAGE = "수집 도중 수집기가 중단되어 이 시각의 메트릭이 저장되지 않음"


@dataclass(frozen=True, slots=True)
class Accounting:
    """The slots this call recorded, oldest first (per source, in the sources' order)."""

    missed: list[datetime] = field(default_factory=list)
    stopped: list[datetime] = field(default_factory=list)
    # The sources of those slots, by source name.
    by_source: dict[str, Accounting] = field(default_factory=dict)


def last_slot_past_grace(now: datetime, slot_seconds: int, grace_seconds: float) -> datetime:
    """The newest slot whose grace window (``slot … slot + grace``) has ended at ``now``."""
    current = hourly_slot(now, slot_seconds)
    if (now - current).total_seconds() > grace_seconds:
        return current
    return current - timedelta(seconds=slot_seconds)


def _slots(start: datetime, end: datetime, slot_seconds: int) -> Iterator[datetime]:
    step = timedelta(seconds=slot_seconds)
    slot = start
    while slot <= end:
        yield slot
        slot += step


def _first_boundary_at_or_after(at: datetime, slot_seconds: int) -> datetime:
    start = hourly_slot(at, slot_seconds)
    return start if start == at else start + timedelta(seconds=slot_seconds)


def _messages(message: str) -> dict[str, str]:
    return dict.fromkeys(METRIC_IDS, message)


def account_in_session(
    session: Session,
    now: datetime,
    *,
    owner: str,
    slot_seconds: int,
    grace_seconds: float,
    lookback: timedelta,
    sources: Sequence[str] = (DEFAULT_SOURCE,),
) -> Accounting:
    """``account_for_slots`` inside the caller's transaction, for each of ``sources``."""
    done = Accounting()
    for source in sources:
        mine = _account_source(
            session,
            now,
            owner=owner,
            slot_seconds=slot_seconds,
            grace_seconds=grace_seconds,
            lookback=lookback,
            source=source,
        )
        done.missed.extend(mine.missed)
        done.stopped.extend(mine.stopped)
        done.by_source[source] = mine
    return done


def _account_source(
    session: Session,
    now: datetime,
    *,
    owner: str,
    slot_seconds: int,
    grace_seconds: float,
    lookback: timedelta,
    source: str,
) -> Accounting:
    first = first_recorded_slot(session, "hourly", source)
    if first is None:
        return Accounting()  # a fresh store: nothing was ever expected yet
    end = last_slot_past_grace(now, slot_seconds, grace_seconds)
    oldest = max(
        first,
        now - lookback,
        end - timedelta(seconds=slot_seconds * (MAX_ACCOUNTED_SLOTS - 1)),
    )
    start = _first_boundary_at_or_after(oldest, slot_seconds)
    if start > end:
        return Accounting()
    records = slot_records(session, "hourly", start, end, source)
    wall = datetime.now(UTC)
    done = Accounting()
    for slot in _slots(start, end, slot_seconds):
        claim = records.claims.get(slot)
        if slot in records.stored:
            if claim is not None and claim.outcome is None:
                finish_claim(session, claim.id, claim.owner, "stored", wall)
            continue
        if claim is not None:
            if claim.outcome is None and settle_stopped(session, claim, wall):
                add_failures(session, _messages(STOPPED_MESSAGE), "hourly", slot, 0, wall, source)
                done.stopped.append(slot)
            continue
        if slot in records.failed:
            continue
        if claim_missed(session, "hourly", slot, owner, wall, source):
            add_failures(session, _messages(MISSED_MESSAGE), "hourly", slot, 0, wall, source)
            done.missed.append(slot)
    return done


def account_for_slots(
    sessions: sessionmaker[Session],
    now: datetime,
    *,
    owner: str,
    slot_seconds: int = 3600,
    grace_seconds: float = 300,
    lookback: timedelta = timedelta(days=30),
    sources: Sequence[str] = (DEFAULT_SOURCE,),
) -> Accounting:
    """Record a reason for every past slot of each of ``sources`` that has none (see the
    module docstring)."""
    with session_scope(sessions) as session:
        done = account_in_session(
            session,
            now,
            owner=owner,
            slot_seconds=slot_seconds,
            grace_seconds=grace_seconds,
            lookback=lookback,
            sources=sources,
        )
    for source, mine in done.by_source.items():
        for kind, slots in (("no collector ran", mine.missed), ("collector stopped", mine.stopped)):
            if slots:
                log.warning(
                    "%d slot(s) of source %s recorded as not collected (%s): %s … %s",
                    len(slots),
                    source,
                    kind,
                    slots[0].isoformat(),
                    slots[-1].isoformat(),
                )
    return done

"""Events on the graphs: what admins record (maintenance, releases, incidents, other) and
what the store already knows — collection outages and alert firings — derived when read.

Plain functions over a ``Session`` (no web framework); the REST API, the command line and the
reports call the same ones. Only admins' events are stored (``metric_events``). Automatic
events are never stored, so they cannot disagree with the records they come from:

- an *outage* is a run of consecutive hourly slots that have failure rows and were never
  stored (a slot stored after all — re-collected, or by a racing collector — is not part of
  it), titled with the run's most frequent error message;
- an *alert* is a firing of an alert rule, from when it fired until it was resolved.

Automatic events have ``id`` None: they are read-only.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.alerts import events_between, list_rules
from db.models import EVENT_KINDS, MetricEvent
from db.queries import failures_since

AUTOMATIC_KINDS: Final[tuple[str, ...]] = ("outage", "alert")
MAX_TITLE: Final = 200
MAX_DESCRIPTION: Final = 4000
MAX_CREATED_BY: Final = 150
# An event's time must lie in this window: wide enough for any real annotation, narrow
# enough that window arithmetic never leaves Python's datetime range.
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)
SLOT: Final = timedelta(hours=1)
# The store keeps the newest 1000 failure rows (six per slot: about 7 days of slots), so an
# outage overlapping a window cannot have begun more than that long before it, and reading
# this many rows covers them even before the daily retention trims the table.
OUTAGE_LOOKBACK: Final = timedelta(days=8)
FAILURE_ROWS_READ: Final = 5000
EVENT_FIELDS: Final = frozenset({"start", "end", "title", "kind", "description"})


class EventError(ValueError):
    """An event as given is wrong; ``str()`` is the message for the user (CLI: one line;
    API: the 400 answer)."""


class EventNotFound(EventError):
    """No stored event has that id (automatic events have none)."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as readers (API, CLI, page, reports) get it; ``id`` None = automatic.

    ``slots``: the failed slots of an outage; ``level``: the alert rule's level.
    """

    id: int | None
    start: datetime
    end: datetime | None
    kind: str
    title: str
    description: str | None
    created_by: str | None
    slots: int | None = None
    level: str | None = None

    @property
    def automatic(self) -> bool:
        return self.id is None

    def to_json(self) -> dict[str, Any]:
        """The API's and ``events list --json``'s shape: UTC, ISO 8601, whole seconds."""

        def iso(value: datetime | None) -> str | None:
            return value.astimezone(UTC).replace(microsecond=0).isoformat() if value else None

        return {
            "id": self.id,
            "start": iso(self.start),
            "end": iso(self.end),
            "title": self.title,
            "kind": self.kind,
            "description": self.description,
            "created_by": self.created_by,
            "automatic": self.automatic,
            "slots": self.slots,
            "level": self.level,
        }


def audit_details(event: EventRecord, **extra: Any) -> dict[str, Any]:
    """What the audit log keeps of an event change (never its description)."""
    return {"event": event.id, "title": event.title, "kind": event.kind, **extra}


# --- validation --------------------------------------------------------------------------
def _one_line(value: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" for c in value)


def _instant(name: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise EventError(f"{name}: a time with an offset (Z or +09:00) is required")
    value = value.astimezone(UTC).replace(microsecond=0)  # events are whole seconds
    if not EARLIEST <= value < LATEST:
        raise EventError(f"{name}: must be between {EARLIEST.year} and {LATEST.year}")
    return value


def _title(value: str) -> str:
    text = value.strip()
    if not text:
        raise EventError("title: must not be empty")
    if len(text) > MAX_TITLE:
        raise EventError(f"title: at most {MAX_TITLE} characters")
    if not _one_line(text):
        raise EventError("title: must be one line of text (no control characters)")
    return text


def _description(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_DESCRIPTION:
        raise EventError(f"description: at most {MAX_DESCRIPTION} characters")
    # Several lines are fine in a description; other control characters are not.
    if not _one_line(text.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise EventError("description: must not contain control characters")
    return text


def _kind(value: str) -> str:
    if value not in EVENT_KINDS:
        raise EventError(f"kind: must be one of {', '.join(EVENT_KINDS)}")
    return value


def _range(start: datetime, end: datetime | None) -> tuple[datetime, datetime | None]:
    start = _instant("start", start)
    end = _instant("end", end) if end is not None else None
    if end is not None and end < start:
        raise EventError("end: must not be before start")
    return start, end


def _record(row: MetricEvent) -> EventRecord:
    return EventRecord(
        id=row.id,
        start=row.starts_at,
        end=row.ends_at,
        kind=row.kind,
        title=row.title,
        description=row.description,
        created_by=row.created_by,
    )


# --- stored events -----------------------------------------------------------------------
def add_event(
    session: Session,
    *,
    start: datetime,
    end: datetime | None,
    title: str,
    kind: str,
    description: str | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> EventRecord:
    """Store an admin's event (checked: see ``EventError``) in the caller's transaction."""
    starts_at, ends_at = _range(start, end)
    now = now or datetime.now(UTC)
    row = MetricEvent(
        starts_at=starts_at,
        ends_at=ends_at,
        title=_title(title),
        kind=_kind(kind),
        description=_description(description),
        created_by=(created_by or "").strip()[:MAX_CREATED_BY] or None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _record(row)


def _row(session: Session, event_id: int) -> MetricEvent:
    row = session.get(MetricEvent, event_id) if 1 <= event_id < 2**31 else None
    if row is None:
        raise EventNotFound(f"no event with id {event_id}")
    return row


def get_event(session: Session, event_id: int) -> EventRecord | None:
    """The stored event ``event_id``, None when there is none."""
    try:
        return _record(_row(session, event_id))
    except EventNotFound:
        return None


def update_event(
    session: Session, event_id: int, *, now: datetime | None = None, **changes: Any
) -> EventRecord:
    """Change fields of a stored event (``EVENT_FIELDS``: ``end`` and ``description`` may
    be None); the others stay. Raises ``EventNotFound`` or ``EventError``."""
    unknown = set(changes) - EVENT_FIELDS
    if unknown:
        raise EventError(f"unknown event field(s): {', '.join(sorted(unknown))}")
    row = _row(session, event_id)
    start = changes.get("start", row.starts_at)
    if start is None:
        raise EventError("start: must not be null")
    row.starts_at, row.ends_at = _range(start, changes.get("end", row.ends_at))
    if "title" in changes:
        row.title = _title(changes["title"] or "")
    if "kind" in changes:
        row.kind = _kind(changes["kind"] or "")
    if "description" in changes:
        row.description = _description(changes["description"])
    row.updated_at = now or datetime.now(UTC)
    session.flush()
    return _record(row)


def delete_event(session: Session, event_id: int) -> EventRecord:
    """Delete a stored event; returns what it was (for the audit log)."""
    row = _row(session, event_id)
    record = _record(row)
    session.delete(row)
    session.flush()
    return record


# --- reading, with the automatic events --------------------------------------------------
def _overlaps(event: EventRecord, start: datetime, end: datetime) -> bool:
    """A range event ``[start, end)`` overlaps the window when it begins before the window
    ends and ends after it begins; a point event when it lies in ``[start, end)``."""
    if event.start >= end:
        return False
    if event.end is not None and event.end > event.start:
        return event.end > start
    return event.start >= start


def _stored(session: Session, start: datetime, end: datetime) -> list[EventRecord]:
    """``_overlaps`` in SQL (``starts_at`` is indexed)."""
    stmt = (
        select(MetricEvent)
        .where(
            MetricEvent.starts_at < end,
            or_(MetricEvent.starts_at >= start, MetricEvent.ends_at > start),
        )
        .order_by(MetricEvent.starts_at, MetricEvent.id)
    )
    return [_record(row) for row in session.scalars(stmt)]


def _runs(slots: Iterable[datetime]) -> list[list[datetime]]:
    """Consecutive hourly slots grouped, oldest first."""
    runs: list[list[datetime]] = []
    for slot in sorted(slots):
        if runs and slot - runs[-1][-1] == SLOT:
            runs[-1].append(slot)
        else:
            runs.append([slot])
    return runs


def _outages(session: Session, start: datetime, end: datetime) -> list[EventRecord]:
    # ``failures_since`` already leaves out the failures of slots stored after all. Runs are
    # built from every failure after the lookback, so one crossing the window's edges is
    # whole (the table is small: retention keeps the newest 1000 rows).
    failures = failures_since(
        session,
        max(start, EARLIEST) - OUTAGE_LOOKBACK,
        limit=FAILURE_ROWS_READ,
        unresolved_only=True,
    )
    messages: dict[datetime, list[str]] = {}
    for row in failures.iloc[::-1].itertuples(index=False):  # oldest first
        slot = row.attempted_at.to_pydatetime()
        if row.granularity == "hourly":
            messages.setdefault(slot, []).append(str(row.error_message))
    outages = []
    for run in _runs(messages):
        # The most frequent reason; on a tie the one seen first.
        reasons = Counter(m for slot in run for m in messages[slot])
        outage = EventRecord(
            id=None,
            start=run[0],
            end=run[-1] + SLOT,
            kind="outage",
            title=reasons.most_common(1)[0][0],
            description=None,
            created_by=None,
            slots=len(run),
        )
        if _overlaps(outage, start, end):
            outages.append(outage)
    return outages


def _alerts(session: Session, start: datetime, end: datetime) -> list[EventRecord]:
    rules = {rule.id: rule for rule in list_rules(session)}
    alerts = []
    for firing in events_between(session, start, end):
        rule = rules.get(firing.rule_id)
        if rule is None or firing.started_at >= end:  # the window is half-open
            continue
        alerts.append(
            EventRecord(
                id=None,
                start=firing.started_at,
                end=firing.resolved_at,
                kind="alert",
                title=rule.name,
                description=None,
                created_by=None,
                level=rule.level,
            )
        )
    return alerts


def _order(event: EventRecord) -> tuple[datetime, int, int]:
    return event.start, 0 if event.automatic else 1, event.id or 0


def list_events(
    session: Session, start: datetime, end: datetime, *, automatic: bool = True
) -> list[EventRecord]:
    """Events overlapping ``[start, end)``, by start: the stored ones and, with
    ``automatic``, the collection outages and alert firings (``id`` None)."""
    events = _stored(session, start, end)
    if automatic:
        events += _outages(session, start, end) + _alerts(session, start, end)
    return sorted(events, key=_order)

"""The collection jobs as plain functions the scheduler, the CLI, the demo and tests call.

- ``collect_slot``: read the six values (one source snapshot), write them in one store
  transaction with an idempotent insert; 3 attempts with back-off inside one wall-clock
  budget (``CollectionBudget``), then failure rows. A slot already stored is left alone.
  The catalogue's extra metrics are read once the six succeeded (their own snapshot, the
  budget's remaining time) and written in the six's transaction; each extra that fails gets
  its failure row and never costs the six their slot.
- ``rollup_day`` / ``catch_up_daily``: daily rows of a business day (00:00–24:00 in
  ``BUSINESS_TIMEZONE``), stored at that local midnight: the six's rounded average of the
  hours, an extra metric's per its rollup (last, max, average, sum), per label.
- ``collect_sources``: ``collect_slot`` for every source instance of the catalogue in one
  slot: the default source first, then the others side by side, each with its own claim,
  attempts, budget and transaction, so one failing or hanging source never costs another its
  slot.
- ``apply_retention``: drop hourly/daily snapshots past their retention, keep 1000 failures.

Everything a slot stores or records carries its source (``db.metrics.DEFAULT_SOURCE`` unless
named), and daily rollups are per (metric, source, label).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from collectors.errors import CollectionError
from collectors.source import ExtraReading, metric_name, read_extras, read_source
from db.catalogue import NO_LABEL, Catalogue, CatalogueMetric
from db.claims import add_failures, claim_slot, finish_claim, is_stored, stored_values
from db.engine import session_scope
from db.metrics import DEFAULT_SOURCE, METRIC_IDS, METRICS_BY_ID
from db.models import CollectionClaim, MetricCollectionFailure, MetricSnapshot
from db.periods import day_window, local_date, local_midnight, retention_limit
from db.upsert import insert_new

log = logging.getLogger(__name__)

SUCCESS_LOG = "Hourly metrics collected successfully"
GIVE_UP_LOG = "메트릭 수집 최대 재시도 횟수 초과"
ATTEMPTS = 3
BACKOFF_SECONDS = (1.0, 2.0, 4.0)  # wait before the 2nd, 3rd (and a 4th, if ever) attempt
FAILURES_KEPT = 1000
DEFAULT_DEADLINE_SECONDS = 30.0

Sleep = Callable[[float], None]
# A series of one source: (metric id, label), the label '' when unlabelled.
SeriesKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class CollectionBudget:
    """The wall-clock budget of one slot's collection, shared by its attempts.

    Each attempt may use an equal share of what is left once the back-off waits still to
    come are set aside: ``(left − later waits) / attempts left``. So the attempts and waits
    together never exceed ``seconds`` (with the default 30 s and waits of 1 s + 2 s, an
    attempt that hangs is stopped after 9 s and the third one ends by 30 s), and an attempt
    that fails fast leaves more time to the next ones.
    """

    seconds: float = DEFAULT_DEADLINE_SECONDS
    attempts: int = ATTEMPTS

    def wait_before(self, attempt: int) -> float:
        """Back-off before ``attempt`` (0-based): none, then 1 s, 2 s, …"""
        if attempt == 0:
            return 0.0
        return BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]

    def attempt_deadline(self, end: float, attempt: int, now: float) -> float:
        """The ``time.monotonic()`` instant by which ``attempt`` must end."""
        later = sum(self.wait_before(k) for k in range(attempt + 1, self.attempts))
        return now + (end - now - later) / (self.attempts - attempt)

    @property
    def nominal_attempt_seconds(self) -> float:
        """An attempt's share when every attempt hangs (the connect timeout is set to it)."""
        waits = sum(self.wait_before(k) for k in range(self.attempts))
        return (self.seconds - waits) / self.attempts


def hourly_slot(now: datetime, slot_seconds: int = 3600) -> datetime:
    """The slot ``now`` belongs to: the top of the hour (or an N-second boundary in tests)."""
    epoch = int(now.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % slot_seconds, UTC)


def day_start(day: date, zone: str = "UTC") -> datetime:
    """Where the daily value of ``day`` is stored: its local midnight in ``zone`` (UTC)."""
    return local_midnight(day, zone)


@dataclass(frozen=True, slots=True)
class SlotResult:
    """How a slot's collection ended. ``attempts`` is 0 when nothing was read: the slot was
    already stored (``ok``) or another collector had just claimed it (``error`` says so)."""

    slot: datetime
    granularity: str
    ok: bool
    attempts: int
    values: dict[str, int]
    inserted: int = 0
    error: str | None = None
    # The catalogue's extra metrics: values by metric id and label ('' when unlabelled),
    # and the reason each failed one was not stored.
    extra_values: dict[str, dict[str, int]] = field(default_factory=dict)
    extra_errors: dict[str, str] = field(default_factory=dict)
    source: str = DEFAULT_SOURCE
    # ``collect_sources``: how the slot of each other source ended, by source name.
    others: dict[str, SlotResult] = field(default_factory=dict)

    @property
    def already_stored(self) -> bool:
        return self.ok and self.attempts == 0


UNIQUE_SNAPSHOT_KEY = ("metric_type", "source", "label", "granularity", "collected_at")


def insert_snapshots(
    session: Session,
    rows: Mapping[str, int],
    granularity: str,
    slot: datetime,
    retry_count: int = 0,
    source: str = DEFAULT_SOURCE,
) -> int:
    """Insert one slot's unlabelled rows by metric id; rows already present are left alone.
    Returns rows inserted."""
    series = {(metric_id, NO_LABEL): value for metric_id, value in rows.items()}
    return insert_series(session, series, granularity, slot, retry_count, source)


def insert_series(
    session: Session,
    rows: Mapping[SeriesKey, int],
    granularity: str,
    slot: datetime,
    retry_count: int = 0,
    source: str = DEFAULT_SOURCE,
) -> int:
    """Insert one slot's rows of ``source`` by (metric id, label); rows already present are
    left alone. Returns rows inserted."""
    values = [
        {
            "metric_type": metric_id,
            "source": source,
            "label": label,
            "value": value,
            "granularity": granularity,
            "collected_at": slot,
            "retry_count": retry_count,
        }
        for (metric_id, label), value in rows.items()
    ]
    return len(insert_new(session, MetricSnapshot, values, UNIQUE_SNAPSHOT_KEY))


def _by_series(values: Mapping[str, Mapping[str, int]]) -> dict[SeriesKey, int]:
    return {(m, label): v for m, by_label in values.items() for label, v in by_label.items()}


def extra_failure_messages(
    extras: Sequence[CatalogueMetric], errors: Mapping[str, CollectionError]
) -> dict[str, str]:
    """One Korean message per extra metric that failed (its own error, or the source's)."""
    names = {m.id: m.name_ko for m in extras}
    messages = {}
    for metric_id, error in errors.items():
        if error.metric_id == metric_id:
            messages[metric_id] = str(error)
        else:
            name = metric_name(metric_id, names.get(metric_id))
            messages[metric_id] = f"{name}({metric_id}) 수집 실패: {error}"
    return messages


def failure_messages(error: CollectionError, attempts: int) -> dict[str, str]:
    """One Korean message per metric saying what failed."""
    if error.metric_id is None:
        return {m: f"{error} ({attempts}회 시도)" for m in METRIC_IDS}
    culprit = METRICS_BY_ID[error.metric_id].name_ko
    return {
        m: (
            f"{error} ({attempts}회 시도)"
            if m == error.metric_id
            else f"'{culprit}' 수집 실패로 이 시각의 전체 메트릭이 저장되지 않음 "
            f"({attempts}회 시도)"
        )
        for m in METRIC_IDS
    }


def record_failures(
    session: Session,
    error: CollectionError,
    granularity: str,
    attempted_at: datetime,
    attempts: int,
    source: str = DEFAULT_SOURCE,
) -> None:
    add_failures(
        session,
        failure_messages(error, attempts),
        granularity,
        attempted_at,
        attempts,
        datetime.now(UTC),
        source,
    )


def collect_slot(
    sessions: sessionmaker[Session],
    source: Engine,
    queries: Mapping[str, str],
    slot: datetime,
    *,
    timeout_ms: int = 5000,
    budget: CollectionBudget | None = None,
    owner: str | None = None,
    sleep: Sleep = time.sleep,
    extras: Sequence[CatalogueMetric] = (),
    max_labels: int = 50,
    slot_seconds: int = 3600,
    source_name: str = DEFAULT_SOURCE,
) -> SlotResult:
    """Collect the hourly slot ``slot`` of the source ``source_name`` (read through
    ``source``) as of ``slot``: all six rows or none. Every row, claim and failure row below
    is that source's.

    1. A slot already stored is left alone: nothing is read, no failure row is written.
    2. With an ``owner`` (the leader), the slot is claimed first (``db.claims.claim_slot``);
       when another process won the claim, that one collects it.
    3. Up to ``budget.attempts`` reads, back-off 1 s, 2 s, all inside ``budget.seconds``
       (each attempt stopped at its share of the budget, see ``CollectionBudget``).
    4. Once the six are read, the catalogue's ``extras`` are read once (their own read-only
       snapshot, within what is left of the budget; a per-slot count gets the hour the slot
       closes). A labelled metric over ``max_labels`` labels, a query the source rejects, a
       bad value: that metric gets a failure row and none of its rows; the others are kept.
    5. Success: the six rows, the extras' rows and failure rows and the finished claim in one
       transaction. After the last failed attempt of the six: one failure row per built-in
       metric (unless the slot got stored meanwhile) and the finished claim in one
       transaction, and the log line ``메트릭 수집 최대 재시도 횟수 초과`` (the extras are not
       read: a slot has the six or nothing).
    """
    budget = budget or CollectionBudget()
    with session_scope(sessions) as session:
        stored = stored_values(session, "hourly", slot, source_name)
        if is_stored(stored):
            log.info("Slot %s of %s already stored; nothing collected", slot, source_name)
            return SlotResult(slot, "hourly", True, 0, stored, 0, source=source_name)
        claim_id = (
            claim_slot(session, "hourly", slot, owner, datetime.now(UTC), source_name)
            if owner
            else None
        )
    if owner and claim_id is None:
        log.info("Slot %s of %s claimed by another collector; left to it", slot, source_name)
        return SlotResult(
            slot, "hourly", False, 0, {}, 0, "claimed by another collector", source=source_name
        )

    end = time.monotonic() + budget.seconds
    last_error: CollectionError | None = None
    used = 0
    for attempt in range(budget.attempts):
        wait = budget.wait_before(attempt)
        if wait:
            sleep(wait)
        used = attempt + 1
        try:
            values = read_source(
                source,
                queries,
                slot,
                timeout_ms,
                deadline=budget.attempt_deadline(end, attempt, time.monotonic()),
            )
        except CollectionError as exc:
            last_error = exc
            log.warning(
                "Metric collection attempt %d/%d of source %s failed: %s",
                used,
                budget.attempts,
                source_name,
                exc.reason,
            )
            if not exc.retryable:
                break
            continue
        extra = ExtraReading()
        if extras:
            extra = read_extras(
                source,
                extras,
                slot,
                timeout_ms,
                max_labels=max_labels,
                slot_seconds=slot_seconds,
                deadline=end,
            )
        with session_scope(sessions) as session:
            inserted = insert_snapshots(session, values, "hourly", slot, attempt, source_name)
            inserted += insert_series(
                session, _by_series(extra.values), "hourly", slot, attempt, source_name
            )
            failed = extra_failure_messages(extras, extra.errors)
            if failed:
                add_failures(session, failed, "hourly", slot, 1, datetime.now(UTC), source_name)
            if claim_id is not None and owner:
                finish_claim(session, claim_id, owner, "stored", datetime.now(UTC))
        for metric_id, error in extra.errors.items():
            log.warning(
                "Catalogue metric %s of source %s not stored for slot %s: %s",
                metric_id,
                source_name,
                slot.isoformat(),
                error.reason,
            )
        log.info(
            "%s (slot %s, source %s, attempt %d)", SUCCESS_LOG, slot.isoformat(), source_name, used
        )
        return SlotResult(
            slot,
            "hourly",
            True,
            used,
            values,
            inserted,
            extra_values=extra.values,
            extra_errors={m: e.reason for m, e in extra.errors.items()},
            source=source_name,
        )
    assert last_error is not None
    with session_scope(sessions) as session:
        stored = stored_values(session, "hourly", slot, source_name)
        if not is_stored(stored):
            record_failures(session, last_error, "hourly", slot, used, source_name)
        if claim_id is not None and owner:
            outcome = "stored" if is_stored(stored) else "failed"
            finish_claim(session, claim_id, owner, outcome, datetime.now(UTC))
    if is_stored(stored):
        log.info("Slot %s of %s was stored by another collector meanwhile", slot, source_name)
        return SlotResult(slot, "hourly", True, used, stored, 0, source=source_name)
    log.error(
        "%s: slot %s, source %s: %s",
        GIVE_UP_LOG,
        slot.isoformat(),
        source_name,
        last_error.reason,
    )
    return SlotResult(slot, "hourly", False, used, {}, 0, str(last_error), source=source_name)


@dataclass(frozen=True, slots=True)
class SourceReader:
    """One source instance as ``collect_sources`` reads it: its name, its read-only engine,
    the six's queries and the extra metrics with the queries it runs."""

    name: str
    engine: Engine
    queries: Mapping[str, str]
    extras: Sequence[CatalogueMetric] = ()

    @classmethod
    def of(cls, catalogue: Catalogue, name: str, engine: Engine) -> SourceReader:
        return cls(name, engine, catalogue.builtin_queries_for(name), catalogue.extras_for(name))


def collect_sources(
    sessions: sessionmaker[Session],
    readers: Sequence[SourceReader],
    slot: datetime,
    *,
    timeout_ms: int = 5000,
    budget: CollectionBudget | None = None,
    owner: str | None = None,
    sleep: Sleep = time.sleep,
    max_labels: int = 50,
    slot_seconds: int = 3600,
) -> SlotResult:
    """``collect_slot`` of ``slot`` for each source (the keyword arguments are
    ``collect_slot``'s): the first reader (the default source) as before, then the others,
    each on its own thread with its own claim, attempts, budget and store transaction, so
    one that fails or hangs costs the others nothing.

    The first source's result, the others' in its ``others``. A source whose collection
    raised (the store failing under it) is logged and left out; the error is raised once
    every source is done.
    """
    first, *rest = readers

    def one(reader: SourceReader) -> SlotResult:
        return collect_slot(
            sessions,
            reader.engine,
            reader.queries,
            slot,
            timeout_ms=timeout_ms,
            budget=budget,
            owner=owner,
            sleep=sleep,
            extras=reader.extras,
            max_labels=max_labels,
            slot_seconds=slot_seconds,
            source_name=reader.name,
        )

    result = one(first)
    if not rest:
        return result
    others: dict[str, SlotResult] = {}
    failure: Exception | None = None
    with ThreadPoolExecutor(len(rest), thread_name_prefix="metrics-source") as pool:
        futures = {reader.name: pool.submit(one, reader) for reader in rest}
        for name, future in futures.items():
            try:
                others[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - the other sources' results still count
                log.exception("Collection of source %s for slot %s failed", name, slot)
                failure = failure or exc
    if failure is not None:
        raise failure
    return replace(result, others=others)


def _rounded_mean(total: int, count: int) -> int:
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def combine(values: Sequence[int], rollup: str) -> int:
    """A day's hourly values (oldest first) combined: ``last``, ``max``, ``sum`` or the
    rounded (half up) ``average``."""
    if rollup == "sum":
        return sum(values)
    if rollup == "max":
        return max(values)
    if rollup == "last":
        return values[-1]
    return _rounded_mean(sum(values), len(values))


def daily_values(
    session: Session,
    day: date,
    zone: str = "UTC",
    catalogue: Catalogue | None = None,
    source: str = DEFAULT_SOURCE,
) -> dict[SeriesKey, int]:
    """Per series of ``source``, the daily value of business ``day`` (``[00:00, 24:00)`` in
    ``zone``; 23 or 25 hourly slots across a DST change).

    A metric's hours combine per its catalogue rollup (the six, and a metric no longer in
    the catalogue: the rounded average). A per-slot count's slot holds the hour it closes, so
    its day is the slots in ``(00:00, 24:00]``.
    """
    window = day_window(day, zone)
    known = {m.id: m for m in catalogue.metrics} if catalogue else {}
    rows = session.execute(
        select(
            MetricSnapshot.metric_type,
            MetricSnapshot.label,
            MetricSnapshot.collected_at,
            MetricSnapshot.value,
        )
        .where(
            MetricSnapshot.granularity == "hourly",
            MetricSnapshot.source == source,
            MetricSnapshot.collected_at >= window.start,
            MetricSnapshot.collected_at <= window.end,
        )
        .order_by(MetricSnapshot.collected_at)
    )
    hours: dict[SeriesKey, list[int]] = defaultdict(list)
    for metric_id, label, at, value in rows:
        metric = known.get(metric_id)
        if metric is not None and metric.kind == "per_slot":
            inside = window.start < at <= window.end
        else:
            inside = window.start <= at < window.end
        if inside:
            hours[(str(metric_id), str(label))].append(int(value))
    rollups = {m.id: m.rollup for m in known.values()}
    return {key: combine(v, rollups.get(key[0], "average")) for key, v in hours.items()}


def rollup_day(
    sessions: sessionmaker[Session],
    day: date,
    zone: str = "UTC",
    catalogue: Catalogue | None = None,
) -> SlotResult:
    """Write the daily rows of business ``day`` in ``zone`` (idempotent), every series of
    every source with hourly data per its metric's rollup. Not ok when the day has no hourly
    data (of any source); the result holds the default source's values."""
    at = day_start(day, zone)
    window = day_window(day, zone)
    inserted = 0
    with session_scope(sessions) as session:
        sources = session.scalars(
            select(MetricSnapshot.source)
            .where(
                MetricSnapshot.granularity == "hourly",
                MetricSnapshot.collected_at >= window.start,
                MetricSnapshot.collected_at <= window.end,
            )
            .distinct()
        ).all()
        series: dict[SeriesKey, int] = {}
        found = False
        for source in sources:
            values = daily_values(session, day, zone, catalogue, source)
            inserted += insert_series(session, values, "daily", at, source=source)
            found = found or bool(values)
            if source == DEFAULT_SOURCE:
                series = values
    if not found:
        return SlotResult(at, "daily", False, 1, {}, inserted, "no hourly data")
    log.info("Daily rollup of %s (%s): %d row(s) written", day.isoformat(), zone, inserted)
    six = {m: v for (m, label), v in series.items() if m in METRIC_IDS and label == NO_LABEL}
    extras: dict[str, dict[str, int]] = defaultdict(dict)
    for (metric_id, label), value in series.items():
        if metric_id not in six:
            extras[metric_id][label] = value
    return SlotResult(at, "daily", True, 1, six, inserted, extra_values=dict(extras))


def days_needing_rollup(session: Session, today: date, zone: str = "UTC") -> list[date]:
    """Past business days with hourly data but no daily row for some metric of a source
    present that day."""
    hourly = session.execute(
        select(
            MetricSnapshot.metric_type, MetricSnapshot.source, MetricSnapshot.collected_at
        ).where(
            MetricSnapshot.granularity == "hourly",
            MetricSnapshot.collected_at < day_start(today, zone),
        )
    )
    wanted = {(m, source, local_date(at, zone)) for m, source, at in hourly}
    daily = session.execute(
        select(
            MetricSnapshot.metric_type, MetricSnapshot.source, MetricSnapshot.collected_at
        ).where(MetricSnapshot.granularity == "daily")
    )
    have = {(m, source, local_date(at, zone)) for m, source, at in daily}
    return sorted({day for _m, _source, day in wanted - have})


def catch_up_daily(
    sessions: sessionmaker[Session],
    now: datetime,
    zone: str = "UTC",
    catalogue: Catalogue | None = None,
) -> list[date]:
    """Roll up every completed business day that is missing its daily rows (e.g. down at
    midnight)."""
    with session_scope(sessions) as session:
        days = days_needing_rollup(session, local_date(now, zone), zone)
    for day in days:
        rollup_day(sessions, day, zone, catalogue)
    return days


@dataclass(frozen=True, slots=True)
class RetentionResult:
    hourly: int
    daily: int
    failures: int
    claims: int = 0


def apply_retention(
    session: Session, now: datetime, hourly_days: int, daily_days: int, zone: str = "UTC"
) -> RetentionResult:
    """Delete snapshots older than their retention and all but the newest 1000 failures;
    claims go with the hourly rows they accounted for.

    A slot is kept while it contains ``now − days`` or is newer (``db.periods``), so the
    page's "last 30 days" hourly and "last 90 days" daily are always wholly stored.
    """
    counts: list[int] = []
    for granularity, days in (("hourly", hourly_days), ("daily", daily_days)):
        result = session.execute(
            delete(MetricSnapshot).where(
                MetricSnapshot.granularity == granularity,
                MetricSnapshot.collected_at < retention_limit(now, days, granularity, zone),
            )
        )
        counts.append(int(result.rowcount or 0))  # type: ignore[attr-defined]
    newest = (
        select(MetricCollectionFailure.id)
        .order_by(MetricCollectionFailure.created_at.desc(), MetricCollectionFailure.id.desc())
        .limit(FAILURES_KEPT)
        .scalar_subquery()
    )
    result = session.execute(
        delete(MetricCollectionFailure).where(MetricCollectionFailure.id.not_in(newest))
    )
    counts.append(int(result.rowcount or 0))  # type: ignore[attr-defined]
    result = session.execute(
        delete(CollectionClaim).where(
            CollectionClaim.slot < retention_limit(now, hourly_days, "hourly", zone)
        )
    )
    counts.append(int(result.rowcount or 0))  # type: ignore[attr-defined]
    log.info(
        "Retention: %d hourly, %d daily snapshot(s), %d failure row(s), %d claim(s) deleted",
        *counts,
    )
    return RetentionResult(*counts)

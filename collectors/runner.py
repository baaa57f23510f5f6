"""The collection jobs as plain functions the scheduler, the CLI, the demo and tests call.

- ``collect_slot``: read the six values (one source snapshot), write them in one store
  transaction with an idempotent insert; 3 attempts with back-off, then failure rows.
- ``rollup_day`` / ``catch_up_daily``: daily rows = rounded average of the hourly values of
  a business day (00:00–24:00 in ``BUSINESS_TIMEZONE``), stored at that local midnight.
- ``apply_retention``: drop hourly/daily snapshots past their retention, keep 1000 failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from collectors.errors import CollectionError
from collectors.source import read_source
from db.engine import session_scope
from db.metrics import METRIC_IDS, METRICS_BY_ID
from db.models import MetricCollectionFailure, MetricSnapshot
from db.periods import day_window, local_date, local_midnight, retention_limit

log = logging.getLogger(__name__)

SUCCESS_LOG = "Hourly metrics collected successfully"
GIVE_UP_LOG = "메트릭 수집 최대 재시도 횟수 초과"
ATTEMPTS = 3
BACKOFF_SECONDS = (1.0, 2.0, 4.0)  # wait before the 2nd, 3rd (and a 4th, if ever) attempt
FAILURES_KEPT = 1000

Sleep = Callable[[float], None]


def hourly_slot(now: datetime, slot_seconds: int = 3600) -> datetime:
    """The slot ``now`` belongs to: the top of the hour (or an N-second boundary in tests)."""
    epoch = int(now.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % slot_seconds, UTC)


def day_start(day: date, zone: str = "UTC") -> datetime:
    """Where the daily value of ``day`` is stored: its local midnight in ``zone`` (UTC)."""
    return local_midnight(day, zone)


@dataclass(frozen=True, slots=True)
class SlotResult:
    slot: datetime
    granularity: str
    ok: bool
    attempts: int
    values: dict[str, int]
    inserted: int = 0
    error: str | None = None


def insert_snapshots(
    session: Session,
    rows: Mapping[str, int],
    granularity: str,
    slot: datetime,
    retry_count: int = 0,
) -> int:
    """Insert one slot's rows; rows already present are left alone. Returns rows inserted."""
    values = [
        {
            "metric_type": metric_id,
            "value": value,
            "granularity": granularity,
            "collected_at": slot,
            "retry_count": retry_count,
        }
        for metric_id, value in rows.items()
    ]
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(MetricSnapshot).on_conflict_do_nothing(
            constraint="unique_metric_snapshot"
        )
    else:
        stmt = sqlite.insert(MetricSnapshot).on_conflict_do_nothing(
            index_elements=["metric_type", "granularity", "collected_at"]
        )
    # Batched into one multi-row INSERT by SQLAlchemy ("insertmanyvalues"), compiled once and
    # cached; RETURNING counts the rows really inserted on both backends.
    result = session.connection().execute(stmt.returning(MetricSnapshot.id), values)
    return len(result.all())


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
) -> None:
    for metric_id, message in failure_messages(error, attempts).items():
        session.add(
            MetricCollectionFailure(
                metric_type=metric_id,
                granularity=granularity,
                attempted_at=attempted_at,
                error_message=message,
                retry_count=attempts,
                created_at=datetime.now(UTC),
            )
        )


def collect_slot(
    sessions: sessionmaker[Session],
    source: Engine,
    queries: Mapping[str, str],
    slot: datetime,
    *,
    timeout_ms: int = 5000,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
) -> SlotResult:
    """Collect the hourly slot ``slot`` as of ``slot``: all six rows or none.

    Retries (``attempts`` in all, back-off 1 s, 2 s, …); after the last failed attempt writes
    one failure row per metric and logs ``메트릭 수집 최대 재시도 횟수 초과``.
    """
    last_error: CollectionError | None = None
    used = 0
    for attempt in range(attempts):
        used = attempt + 1
        if attempt:
            sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
        try:
            values = read_source(source, queries, slot, timeout_ms)
            with session_scope(sessions) as session:
                inserted = insert_snapshots(session, values, "hourly", slot, retry_count=attempt)
        except CollectionError as exc:
            last_error = exc
            log.warning("Metric collection attempt %d/%d failed: %s", used, attempts, exc.reason)
            if not exc.retryable:
                break
            continue
        log.info("%s (slot %s, attempt %d)", SUCCESS_LOG, slot.isoformat(), used)
        return SlotResult(slot, "hourly", True, used, values, inserted)
    assert last_error is not None
    with session_scope(sessions) as session:
        record_failures(session, last_error, "hourly", slot, used)
    log.error("%s: slot %s: %s", GIVE_UP_LOG, slot.isoformat(), last_error.reason)
    return SlotResult(slot, "hourly", False, used, {}, 0, str(last_error))


def _rounded_mean(total: int, count: int) -> int:
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def daily_averages(session: Session, day: date, zone: str = "UTC") -> dict[str, int]:
    """Per metric, the rounded (half up) average of the hourly values of business ``day``
    (``[00:00, 24:00)`` in ``zone``; 23 or 25 hourly slots across a DST change)."""
    window = day_window(day, zone)
    stmt = (
        select(MetricSnapshot.metric_type, func.sum(MetricSnapshot.value), func.count())
        .where(
            MetricSnapshot.granularity == "hourly",
            MetricSnapshot.collected_at >= window.start,
            MetricSnapshot.collected_at < window.end,
        )
        .group_by(MetricSnapshot.metric_type)
    )
    return {str(m): _rounded_mean(int(total), int(n)) for m, total, n in session.execute(stmt)}


def rollup_day(sessions: sessionmaker[Session], day: date, zone: str = "UTC") -> SlotResult:
    """Write the daily rows of business ``day`` in ``zone`` (idempotent). Not ok when the day
    has no hourly data."""
    at = day_start(day, zone)
    with session_scope(sessions) as session:
        values = daily_averages(session, day, zone)
        inserted = insert_snapshots(session, values, "daily", at)
    if not values:
        return SlotResult(at, "daily", False, 1, {}, 0, "no hourly data")
    log.info("Daily rollup of %s (%s): %d row(s) written", day.isoformat(), zone, inserted)
    return SlotResult(at, "daily", True, 1, values, inserted)


def days_needing_rollup(session: Session, today: date, zone: str = "UTC") -> list[date]:
    """Past business days with hourly data but no daily row for some metric present that day."""
    hourly = session.execute(
        select(MetricSnapshot.metric_type, MetricSnapshot.collected_at).where(
            MetricSnapshot.granularity == "hourly",
            MetricSnapshot.collected_at < day_start(today, zone),
        )
    )
    wanted = {(m, local_date(at, zone)) for m, at in hourly}
    daily = session.execute(
        select(MetricSnapshot.metric_type, MetricSnapshot.collected_at).where(
            MetricSnapshot.granularity == "daily"
        )
    )
    have = {(m, local_date(at, zone)) for m, at in daily}
    return sorted({day for _m, day in wanted - have})


def catch_up_daily(sessions: sessionmaker[Session], now: datetime, zone: str = "UTC") -> list[date]:
    """Roll up every completed business day that is missing its daily rows (e.g. down at
    midnight)."""
    with session_scope(sessions) as session:
        days = days_needing_rollup(session, local_date(now, zone), zone)
    for day in days:
        rollup_day(sessions, day, zone)
    return days


@dataclass(frozen=True, slots=True)
class RetentionResult:
    hourly: int
    daily: int
    failures: int


def apply_retention(
    session: Session, now: datetime, hourly_days: int, daily_days: int, zone: str = "UTC"
) -> RetentionResult:
    """Delete snapshots older than their retention and all but the newest 1000 failures.

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
    log.info("Retention: %d hourly, %d daily snapshot(s), %d failure row(s) deleted", *counts)
    return RetentionResult(*counts)

"""Reading the source database: one read-only, consistent transaction for all six values.

PostgreSQL: ``REPEATABLE READ, READ ONLY`` with a ``statement_timeout``, a ``lock_timeout``
and UTC session time zone, over a fresh connection per attempt (connect timeout and TCP
keepalives set, so a connection left broken by a hang is never reused). SQLite (the demo
source): ``PRAGMA query_only`` plus one explicit read transaction (a single snapshot), with a
progress handler enforcing the same timeout.

**Deadline.** Given a deadline (``read_source(..., deadline=…)``), the attempt runs on its own
thread and the caller waits for it at most until then, whatever blocks: DNS, a connect whose
peer never answers, a query on a network that stopped forwarding bytes. When the deadline
passes, a watchdog stops the database work — PostgreSQL: ``cancel_safe`` (the server stops the
query), then ``shutdown()`` of the connection's socket (the blocked read returns at once even
when the cancel request cannot get through either); SQLite: ``interrupt()`` — and the caller
gets a retryable ``CollectionError`` naming the metric whose query was running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, TextClause, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from collectors.errors import CollectionError, CollectionTimeout
from db.catalogue import NO_LABEL, CatalogueMetric
from db.engine import make_engine, normalise_url
from db.metrics import METRICS_BY_ID

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLite timestamps in the demo source are stored as this text form (UTC, sortable).
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
# After the cancel request, how long the watchdog lets the query end by itself before it
# shuts the socket down (a hung network never delivers the cancel).
CANCEL_GRACE_SECONDS = 1.0


def make_source_engine(
    url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
) -> Engine:
    """An engine for the source that can only read.

    ``connect_timeout`` bounds a connect whose peer never answers (libpq's floor is 2 s) and,
    with TCP keepalives and ``tcp_user_timeout``, how long a connection abandoned by a
    deadline can linger; the deadline itself is enforced by ``read_source``.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and "mode" not in parsed.query:
            # Opened read-only: a missing source file is an error, never created empty.
            path = Path(parsed.database).resolve()
            parsed = parsed.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 30})

        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")

        event.listen(engine, "connect", _read_only)
        return engine
    seconds = max(2, int(connect_timeout))
    return make_engine(
        url,
        poolclass=NullPool,
        pool_pre_ping=False,
        connect_args={
            "connect_timeout": seconds,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": seconds * 1000,
        },
    )


class AttemptGuard:
    """What a watchdog needs to stop one attempt's database work: its DBAPI connection and
    the metric whose query is running. ``attach``/``detach`` and ``expire`` share a lock, so
    the socket is shut down only while the attempt still owns it (never a reused descriptor).
    """

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect
        self._lock = threading.Lock()
        self._raw: Any = None
        self.metric_id: str | None = None
        self.metric_name: str | None = None
        self.expired = False

    def attach(self, raw: Any) -> None:
        with self._lock:
            self._raw = raw
            expired = self.expired
        if expired:  # the deadline passed while connecting: stop right away
            self._stop(raw)

    def detach(self) -> None:
        with self._lock:
            self._raw = None

    def running(self, metric_id: str, name: str | None = None) -> None:
        self.metric_id = metric_id
        self.metric_name = name

    def expire(self) -> None:
        """The deadline passed: stop the work in the background, never blocking the caller."""
        with self._lock:
            self.expired = True
            raw = self._raw
        if raw is not None:
            self._stop(raw)

    def _stop(self, raw: Any) -> None:
        if self._dialect == "sqlite":
            with contextlib.suppress(Exception):
                raw.interrupt()
            return
        threading.Thread(
            target=self._cancel_then_shutdown,
            args=(raw,),
            name="metrics-source-cancel",
            daemon=True,
        ).start()

    def _cancel_then_shutdown(self, raw: Any) -> None:
        try:
            raw.cancel_safe(timeout=CANCEL_GRACE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a hung network does not deliver it
            log.info("Source query cancel not delivered (%s); closing its socket", exc)
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while time.monotonic() < deadline:
            with self._lock:
                if self._raw is not raw:
                    return  # the query ended after the cancel
            time.sleep(0.05)
        with self._lock:
            if self._raw is raw:
                with contextlib.suppress(OSError, ValueError):
                    fd = os.dup(raw.pgconn.socket)
                    with socket.socket(fileno=fd) as sock:
                        sock.shutdown(socket.SHUT_RDWR)


# What runs on one read-only snapshot: the connection and the attempt's guard in, a result out.
Work = Callable[[Connection, AttemptGuard | None], T]


def bind_now(engine: Engine, now: datetime) -> object:
    """The collection instant in the form the source compares its timestamps with."""
    now = now.astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return now.strftime(SQLITE_TIMESTAMP_FORMAT)
    return now


@contextmanager
def read_only_snapshot(
    engine: Engine, timeout_ms: int, guard: AttemptGuard | None = None
) -> Iterator[Connection]:
    """A connection inside one read-only transaction with statement and lock timeouts.

    With a ``guard``, the connection is attached to it while the transaction runs.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn:
            if guard is not None:
                guard.attach(conn.connection.driver_connection)
            try:
                with conn.begin():
                    conn.execute(
                        text(
                            "SELECT set_config('statement_timeout', :ms, true), "
                            "set_config('lock_timeout', :ms, true), "
                            "set_config('TimeZone', 'UTC', true)"
                        ),
                        {"ms": str(timeout_ms)},
                    )
                    yield conn
            finally:
                if guard is not None:
                    guard.detach()
        return
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if guard is not None:
            guard.attach(raw)
        try:
            with conn.begin():
                deadline = time.monotonic() + timeout_ms / 1000
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
                raw.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
                try:
                    conn.exec_driver_sql("BEGIN")  # one snapshot for every statement below
                    yield conn
                finally:
                    raw.set_progress_handler(None, 0)
        finally:
            if guard is not None:
                guard.detach()


def metric_name(metric_id: str, name: str | None = None) -> str:
    """The Korean name messages give a metric: ``name``, else a built-in's, else its id."""
    if name:
        return name
    info = METRICS_BY_ID.get(metric_id)
    return info.name_ko if info else metric_id


def as_count(metric_id: str, rows: list[Any], name: str | None = None) -> int:
    """The single non-negative integer a metric query must return, else a permanent error."""
    name = metric_name(metric_id, name)
    if len(rows) != 1 or len(rows[0]) != 1:
        shape = f"{len(rows)}행" if len(rows) != 1 else f"{len(rows[0])}열"
        raise CollectionError(
            f"{name}({metric_id}) 쿼리가 값 하나가 아닌 결과를 반환함 ({shape})",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned {len(rows)} row(s) of {len(rows[0]) if rows else 0} column(s), "
            "not one value",
        )
    return as_value(metric_id, rows[0][0], name)


def as_value(metric_id: str, value: Any, name: str, where: str = "") -> int:
    """A query's value as a non-negative integer, else a permanent error (``where``: which
    label it belongs to, for the message)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CollectionError(
            f"{name}({metric_id}) 쿼리 결과가 정수가 아님{where}: {value!r}",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned {value!r}{where}, not an integer",
        )
    if value < 0:
        raise CollectionError(
            f"{name}({metric_id}) 쿼리 결과가 음수임{where}: {value}",
            metric_id=metric_id,
            retryable=False,
            reason=f"returned a negative number ({value}){where}",
        )
    return value


def _db_error_text(exc: SQLAlchemyError) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return " ".join(str(orig).split())[:300]


# PostgreSQL's query_canceled (the statement timeout) and lock_not_available (the lock
# timeout): the source did not answer in time, which says nothing against the query.
TIMED_OUT_STATES = frozenset({"57014", "55P03"})


def _query_error(exc: SQLAlchemyError, metric_id: str, name: str) -> CollectionError:
    """The failure of one metric's query: a timeout (retryable; at start-up only logged,
    like a source that does not answer) or a rejection naming the source's error."""
    detail = _db_error_text(exc)
    if getattr(getattr(exc, "orig", None), "sqlstate", None) in TIMED_OUT_STATES:
        return CollectionTimeout(
            f"{name}({metric_id}) 쿼리가 제한 시간 안에 끝나지 않음: {detail}",
            metric_id=metric_id,
            reason=f"the query did not finish in time: {detail}",
        )
    return CollectionError(
        f"{name}({metric_id}) 소스 쿼리 오류: {detail}",
        metric_id=metric_id,
        reason=f"the source rejected the query: {detail}",
    )


@lru_cache(maxsize=256)
def _statement(sql: str) -> tuple[TextClause, frozenset[str]]:
    """The compiled-once statement and the names of its bound parameters."""
    stmt = text(sql)
    return stmt, frozenset(stmt.compile().params)


def bind_names(sql: str) -> frozenset[str]:
    """The bound parameters (``:name``) a query takes."""
    return _statement(sql)[1]


def run_queries(
    conn: Connection,
    queries: Mapping[str, str],
    now: object,
    guard: AttemptGuard | None = None,
) -> dict[str, int]:
    """Run each metric query on an open snapshot; the first failure names its metric."""
    values: dict[str, int] = {}
    for metric_id, sql in queries.items():
        if guard is not None:
            guard.running(metric_id)
        stmt, names = _statement(sql)
        params = {"now": now} if "now" in names else {}
        try:
            rows = list(conn.execute(stmt, params))
        except SQLAlchemyError as exc:
            raise _query_error(exc, metric_id, metric_name(metric_id)) from exc
        values[metric_id] = as_count(metric_id, rows)
    return values


def _read(engine: Engine, work: Work[T], timeout_ms: int, guard: AttemptGuard | None) -> T:
    try:
        with read_only_snapshot(engine, timeout_ms, guard) as conn:
            return work(conn, guard)
    except CollectionError:
        raise
    except SQLAlchemyError as exc:
        raise CollectionError(f"소스 데이터베이스 연결 실패: {_db_error_text(exc)}") from exc


def deadline_error(
    metric_id: str | None, seconds: float, name: str | None = None
) -> CollectionTimeout:
    """The retryable failure of an attempt whose deadline passed."""
    if metric_id is None:
        return CollectionTimeout(
            f"소스 데이터베이스가 제한 시간({seconds:.1f}초) 안에 응답하지 않음",
            reason=f"the source did not answer within the attempt's deadline ({seconds:.1f} s)",
        )
    name = metric_name(metric_id, name)
    return CollectionTimeout(
        f"{name}({metric_id}) 쿼리가 제한 시간({seconds:.1f}초) 안에 끝나지 않음",
        metric_id=metric_id,
        reason=f"the query did not finish within the attempt's deadline ({seconds:.1f} s)",
    )


def read_source(
    engine: Engine,
    queries: Mapping[str, str],
    now: datetime,
    timeout_ms: int,
    *,
    deadline: float | None = None,
) -> dict[str, int]:
    """All metric values as of ``now`` from one read-only snapshot of the source
    (``read_snapshot`` running ``run_queries``)."""
    bound = bind_now(engine, now)

    def work(conn: Connection, guard: AttemptGuard | None) -> dict[str, int]:
        return run_queries(conn, queries, bound, guard)

    return read_snapshot(engine, work, timeout_ms, deadline=deadline)


def read_snapshot(
    engine: Engine, work: Work[T], timeout_ms: int, *, deadline: float | None = None
) -> T:
    """``work`` on one read-only snapshot of the source; its result.

    ``deadline`` (a ``time.monotonic()`` instant): the read runs on its own thread and this
    call returns by then — the result, or the attempt's error, or a timeout
    ``CollectionError`` after the watchdog stopped the work (see the module docstring). The
    statement and lock timeouts are capped at the time left (plus the cancel's grace).
    """
    if deadline is None:
        return _read(engine, work, timeout_ms, None)
    budget = deadline - time.monotonic()
    if budget <= 0:
        raise deadline_error(None, 0.0)
    guard = AttemptGuard(engine.dialect.name)
    outcome: dict[str, Any] = {}
    done = threading.Event()
    # The watchdog acts at the deadline; the server-side timeouts, a little later, are the
    # backstop that ends the query on the server should the cancel not get through.
    capped_ms = max(1, min(timeout_ms, int((budget + CANCEL_GRACE_SECONDS) * 1000)))

    def attempt() -> None:
        try:
            outcome["result"] = _read(engine, work, capped_ms, guard)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=attempt, name="metrics-source-read", daemon=True).start()
    if not done.wait(budget):
        guard.expire()
        # The query may have ended in the very last instant: then its result stands.
        if not done.is_set():
            # No metric yet: it hung while connecting or opening the snapshot.
            raise deadline_error(guard.metric_id, budget, guard.metric_name)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


# --- the catalogue's extra metrics --------------------------------------------------------
MAX_LABEL_CHARS = 200  # metric_snapshots.label


def slot_binds(engine: Engine, slot: datetime, slot_seconds: int = 3600) -> dict[str, object]:
    """The parameters a catalogue query may take for ``slot``: ``:now`` (the slot, for a
    gauge) and the hour the slot closes, ``[:slot_start, :slot_end)`` = ``[slot − 1 h,
    slot)`` (for a per-slot count: the only complete hour when the slot is collected)."""
    return {
        "now": bind_now(engine, slot),
        "slot_start": bind_now(engine, slot - timedelta(seconds=slot_seconds)),
        "slot_end": bind_now(engine, slot),
    }


def _too_many_labels(metric: CatalogueMetric, count: int, max_labels: int) -> CollectionError:
    return CollectionError(
        f"{metric.name_ko}({metric.id}) 쿼리가 레이블 {count}개를 반환함 "
        f"(METRICS_MAX_LABELS {max_labels}개 초과): 이 시각의 값은 저장되지 않음",
        metric_id=metric.id,
        retryable=False,
        reason=f"returned {count} labels, more than METRICS_MAX_LABELS ({max_labels})",
    )


def _labelled_values(metric: CatalogueMetric, rows: list[Any], max_labels: int) -> dict[str, int]:
    """``(label, value)`` rows as values by label; a permanent error for a bad row."""

    def bad(message_ko: str, reason: str) -> CollectionError:
        return CollectionError(
            f"{metric.name_ko}({metric.id}) {message_ko}",
            metric_id=metric.id,
            retryable=False,
            reason=reason,
        )

    if len(rows) > max_labels:
        raise _too_many_labels(metric, len(rows), max_labels)
    values: dict[str, int] = {}
    for row in rows:
        if len(row) != 2:
            raise bad(
                f"쿼리가 (레이블, 값) 두 열이 아닌 {len(row)}열을 반환함",
                f"returned {len(row)} column(s), not (label, value)",
            )
        raw, value = row
        if raw is None:
            raise bad("쿼리가 빈(NULL) 레이블을 반환함", "returned a NULL label")
        label = str(raw)
        if not label or len(label) > MAX_LABEL_CHARS:
            raise bad(
                f"레이블 길이가 1–{MAX_LABEL_CHARS}자가 아님: {label[:40]!r}",
                f"returned a label of {len(label)} characters (1–{MAX_LABEL_CHARS} allowed)",
            )
        if label in values:
            raise bad(f"레이블이 중복됨: {label!r}", f"returned the label {label!r} twice")
        values[label] = as_value(metric.id, value, metric.name_ko, f" (label {label!r})")
    return values


def run_extra(
    conn: Connection,
    metric: CatalogueMetric,
    binds: Mapping[str, object],
    max_labels: int,
    guard: AttemptGuard | None = None,
) -> dict[str, int]:
    """One catalogue metric's values by label (``NO_LABEL`` for an unlabelled one).

    On PostgreSQL the query runs inside a savepoint, so a query the source rejects leaves
    the snapshot usable for the next metric.
    """
    if guard is not None:
        guard.running(metric.id, metric.name_ko)
    stmt, names = _statement(metric.query)
    params = {name: binds[name] for name in names if name in binds}
    savepoint = conn.dialect.name == "postgresql"
    try:
        if savepoint:
            conn.exec_driver_sql("SAVEPOINT catalogue_metric")
        rows = list(conn.execute(stmt, params))
        if savepoint:
            conn.exec_driver_sql("RELEASE SAVEPOINT catalogue_metric")
    except SQLAlchemyError as exc:
        if savepoint:
            with contextlib.suppress(SQLAlchemyError):
                conn.exec_driver_sql("ROLLBACK TO SAVEPOINT catalogue_metric")
        raise _query_error(exc, metric.id, metric.name_ko) from exc
    if metric.labelled:
        return _labelled_values(metric, rows, max_labels)
    return {NO_LABEL: as_count(metric.id, rows, metric.name_ko)}


@dataclass(slots=True)
class ExtraReading:
    """What one read of the extra metrics gave: values by metric and label, and the error
    of each metric that failed (the others are unaffected)."""

    values: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, CollectionError] = field(default_factory=dict)


def read_extras(
    engine: Engine,
    metrics: Sequence[CatalogueMetric],
    slot: datetime,
    timeout_ms: int,
    *,
    max_labels: int,
    slot_seconds: int = 3600,
    deadline: float | None = None,
) -> ExtraReading:
    """The extra metrics of ``slot`` from one read-only snapshot, each on its own: a metric
    whose query fails gets its error; when the source itself fails (unreachable, deadline
    passed), every metric not read yet gets that error."""
    reading = ExtraReading()
    if not metrics:
        return reading
    binds = slot_binds(engine, slot, slot_seconds)

    def work(conn: Connection, guard: AttemptGuard | None) -> None:
        for metric in metrics:
            try:
                reading.values[metric.id] = run_extra(conn, metric, binds, max_labels, guard)
            except CollectionError as exc:
                reading.errors[metric.id] = exc

    try:
        read_snapshot(engine, work, timeout_ms, deadline=deadline)
    except CollectionError as exc:
        done = ExtraReading(dict(reading.values), dict(reading.errors))
        for metric in metrics:
            if metric.id not in done.values and metric.id not in done.errors:
                done.errors[metric.id] = exc
        return done
    return reading


def check_catalogue_queries(
    engine: Engine,
    builtin: Mapping[str, str],
    extras: Sequence[CatalogueMetric],
    now: datetime,
    timeout_ms: int,
    *,
    max_labels: int,
    deadline: float | None = None,
) -> None:
    """Run the six's ``builtin`` queries and the ``extras`` once on one read-only snapshot;
    the first failure raised (naming its metric), as start-up checks want it."""
    binds = slot_binds(engine, now)

    def work(conn: Connection, guard: AttemptGuard | None) -> None:
        run_queries(conn, builtin, binds["now"], guard)
        for metric in extras:
            run_extra(conn, metric, binds, max_labels, guard)

    read_snapshot(engine, work, timeout_ms, deadline=deadline)

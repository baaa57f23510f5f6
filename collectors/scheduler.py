"""The embedded scheduler and its leader election.

Every web worker (after fork) starts a ``MetricsService``. Its election thread tries the
deployment-wide leader lock every few seconds; the one worker holding it runs an APScheduler
``BackgroundScheduler`` with the hourly, daily, retention and export-cleanup jobs. If the
leader dies, its lock is released and a follower takes over at its next try. The jobs run on
the scheduler's own threads, never on a request thread.

On election the new leader runs the hourly job at once (``takeover``): it records a reason
for every past slot left without one (``collectors.accounting``) and collects the current
slot if it is still inside its grace window and not stored — so a failover or a restart at
HH:00:05 loses nothing, and a slot a killed leader was collecting is either taken over or
recorded as stopped. The hourly job does the same at every boundary, serialised by a lock.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from admin_metrics.settings import Settings
from collectors.accounting import account_for_slots
from collectors.catalogue import check_catalogue
from collectors.leader import LeaderLock, leader_lock_for
from collectors.queries import collection_budget, source_readers
from collectors.runner import (
    Sleep,
    SlotResult,
    apply_retention,
    catch_up_daily,
    collect_sources,
    hourly_slot,
)
from db.catalogue import Catalogue
from db.engine import make_engine, session_factory, session_scope
from db.exports import delete_expired_exports
from db.security_retention import SecurityRetention, prune_security_records

log = logging.getLogger(__name__)

STARTED_LOG = "Metrics scheduler started"
ELECTION_INTERVAL_SECONDS = 3.0
HOURLY_MISFIRE_GRACE_SECONDS = 300  # a slot started later than this is a gap, not back-dated
EXPORT_CLEANUP_MINUTES = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # test slots fall on N-second boundaries from here


def collector_id() -> str:
    """Who holds a claim: host, process and a per-service nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SchedulerExtension(Protocol):
    """Work that runs only on the leader, beside collection (e.g. alerts and reports).

    ``after_collection`` is called on the collection job's thread when a slot is done
    (stored or failed) and must return at once: it only hands work to the extension's own
    threads, so the extension can never delay the next collection.
    """

    def after_collection(self) -> None: ...

    def interval_jobs(self) -> Sequence[tuple[str, Callable[[], object], float]]:
        """``(job id, function, every N seconds)`` to schedule while leader."""
        ...

    def stop(self) -> None: ...


class MetricsService:
    """Leader election plus, while leader, the scheduler. Thread-safe start/stop."""

    def __init__(
        self,
        settings: Settings,
        queries: dict[str, str],
        *,
        lock: LeaderLock | None = None,
        election_interval: float = ELECTION_INTERVAL_SECONDS,
        sleep: Sleep | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        extensions: Sequence[SchedulerExtension] = (),
        catalogue: Catalogue | None = None,
    ) -> None:
        self.settings = settings
        # The six's queries are ``queries``; the catalogue adds the extra metrics and how
        # every metric's day is rolled up.
        self.catalogue = catalogue or Catalogue.builtin(queries)
        self.extensions = tuple(extensions)
        self.queries = queries
        self._lock = lock or leader_lock_for(settings.store_url, settings.data_dir)
        self._interval = election_interval
        self._sleep = sleep
        self._clock = clock
        self._stop = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._collecting = threading.Event()
        self._job_lock = threading.Lock()  # the hourly job and the takeover never overlap
        self.owner = collector_id()
        self._store: Engine = make_engine(settings.store_url)
        self._sessions = session_factory(self._store)
        # One read-only engine per source instance, the default (SOURCE_DATABASE_URL) first.
        self._readers = tuple(source_readers(settings, self.catalogue))

    # --- state -----------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._scheduler is not None

    @property
    def is_collecting(self) -> bool:
        """True while this process is reading the source for a slot."""
        return self._collecting.is_set()

    @property
    def slot_seconds(self) -> int:
        return self.settings.metrics_test_slot_seconds or 3600

    @property
    def grace_seconds(self) -> float:
        """How late a slot may still be collected (as of the slot): 5 min, half a test slot."""
        test_seconds = self.settings.metrics_test_slot_seconds
        return max(1, test_seconds // 2) if test_seconds else HOURLY_MISFIRE_GRACE_SECONDS

    # --- jobs ------------------------------------------------------------------------
    def collect_current_slot(self) -> SlotResult | None:
        """The hourly job (and the takeover at election): account for past slots, then
        collect the current slot unless its grace window has passed or it is stored."""
        with self._job_lock:
            now = self._clock()
            try:
                account_for_slots(
                    self._sessions,
                    now,
                    owner=self.owner,
                    slot_seconds=self.slot_seconds,
                    grace_seconds=self.grace_seconds,
                    lookback=timedelta(days=self.settings.metrics_hourly_retention_days),
                    sources=self.catalogue.source_names,
                )
            except Exception:  # noqa: BLE001 - the current slot still gets its collection
                log.exception("Accounting for past slots failed; retried at the next run")
            slot = hourly_slot(now, self.slot_seconds)
            if (now - slot).total_seconds() > self.grace_seconds:
                return None  # too late for the current slot: accounted for next time
            self._collecting.set()
            try:
                kwargs = {"sleep": self._sleep} if self._sleep else {}
                return collect_sources(
                    self._sessions,
                    self._readers,
                    slot,
                    timeout_ms=self.settings.source_statement_timeout_ms,
                    budget=collection_budget(self.settings),
                    owner=self.owner,
                    max_labels=self.settings.metrics_max_labels,
                    slot_seconds=self.slot_seconds,
                    **kwargs,  # type: ignore[arg-type]
                )
            finally:
                self._collecting.clear()
                self._after_collection()

    def _after_collection(self) -> None:
        for extension in self.extensions:
            try:
                extension.after_collection()
            except Exception:  # noqa: BLE001 - an extension never breaks collection
                log.exception("After-collection hook %r failed", extension)

    def daily_rollup(self) -> None:
        catch_up_daily(self._sessions, self._clock(), self.settings.business_zone, self.catalogue)

    def retention(self) -> None:
        with session_scope(self._sessions) as session:
            apply_retention(
                session,
                self._clock(),
                self.settings.metrics_hourly_retention_days,
                self.settings.metrics_daily_retention_days,
                self.settings.business_zone,
            )
            prune_security_records(session, SecurityRetention.of(self.settings), self._clock())

    def cleanup_exports(self) -> None:
        with session_scope(self._sessions) as session:
            deleted = delete_expired_exports(session, self._clock())
        if deleted:
            log.info("Expired exports deleted: %d", deleted)

    def _build_scheduler(self) -> BackgroundScheduler:
        test_seconds = self.settings.metrics_test_slot_seconds
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
        )
        if test_seconds:
            hourly = IntervalTrigger(seconds=test_seconds, start_date=EPOCH, timezone=UTC)
        else:
            hourly = CronTrigger(minute=0, second=0, timezone=UTC)
        grace = int(self.grace_seconds)
        scheduler.add_job(self.collect_current_slot, hourly, id="hourly", misfire_grace_time=grace)
        # A new leader takes over the current slot (and accounts for the past) right away.
        scheduler.add_job(
            self.collect_current_slot, "date", run_date=datetime.now(UTC), id="takeover"
        )
        scheduler.add_job(
            self.daily_rollup,
            # Just after the business day ends (its zone's midnight), not UTC's.
            CronTrigger(hour=0, minute=5, timezone=ZoneInfo(self.settings.business_zone)),
            id="daily",
        )
        scheduler.add_job(
            self.retention, CronTrigger(hour=1, minute=0, timezone=UTC), id="retention"
        )
        scheduler.add_job(
            self.cleanup_exports,
            IntervalTrigger(minutes=EXPORT_CLEANUP_MINUTES, timezone=UTC),
            id="exports",
        )
        for extension in self.extensions:
            for job_id, func, seconds in extension.interval_jobs():
                scheduler.add_job(func, IntervalTrigger(seconds=seconds, timezone=UTC), id=job_id)
        # Days missed while no leader ran (down at midnight) are rolled up right away.
        scheduler.add_job(
            self.daily_rollup,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=1),
            id="daily-catch-up",
        )
        return scheduler

    # --- election --------------------------------------------------------------------
    def _become_leader(self) -> None:
        scheduler = self._build_scheduler()
        scheduler.start()
        self._scheduler = scheduler
        log.info("%s (leader of this deployment)", STARTED_LOG)

    def _step_down(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        self._lock.release()

    def _run(self) -> None:
        waiting_logged = False
        while not self._stop.is_set():
            try:
                if self._scheduler is None:
                    if self._lock.try_acquire():
                        if self._stop.is_set():  # elected while the worker is exiting
                            self._lock.release()
                            break
                        self._become_leader()
                    elif not waiting_logged:
                        log.info("Metrics collection led by another worker; standing by")
                        waiting_logged = True
                elif not self._lock.still_held():
                    log.warning("Leader lock lost; scheduler stopped until re-elected")
                    self._step_down()
            except Exception:  # noqa: BLE001 - the election must survive any error
                log.exception("Leader election failed; retrying")
            self._stop.wait(self._interval)

    def start(self) -> MetricsService:
        self._thread = threading.Thread(target=self._run, name="metrics-election", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the jobs and give up leadership (at exit or SIGTERM of the worker). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        for extension in self.extensions:
            try:
                extension.stop()
            except Exception:  # noqa: BLE001 - stop the others and release the lock anyway
                log.exception("Stopping %r failed", extension)
        self._lock.release()
        for reader in self._readers:
            reader.engine.dispose()
        self._store.dispose()


def start_metrics_service(
    settings: Settings,
    *,
    extensions: Sequence[SchedulerExtension] = (),
    catalogue: Catalogue | None = None,
) -> MetricsService | None:
    """Start collection unless disabled; the source queries and the catalogue are checked
    here unless the caller did (``catalogue``)."""
    catalogue = catalogue or check_catalogue(settings)
    if not settings.metrics_collection_enabled:
        log.info("Metrics collection disabled (METRICS_COLLECTION_ENABLED=false)")
        return None
    service = MetricsService(
        settings, catalogue.builtin_queries, extensions=extensions, catalogue=catalogue
    ).start()
    atexit.register(service.stop)
    return service

"""The alert service on the leader: evaluate after each collection, send, retry, report.

It plugs into the collection scheduler as an *extension* (``collectors.scheduler`` knows
only the three methods, not this package): ``after_collection`` is called by the hourly job
and returns at once — evaluation runs on this service's own single worker thread, and
deliveries on a small pool of sender threads, each bounded by its timeout. So a relay or a
webhook that hangs occupies a sender thread for at most its timeout and never delays the
next collection. ``interval_jobs`` are the leader's periodic jobs: due deliveries (retries),
a safety-net evaluation (e.g. "no successful slot for N hours" while collection hangs), and
due reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import BACKOFF_BASE_SECONDS, attempt_delivery
from alerts.evaluate import evaluate_rules
from alerts.reports import run_due_reports
from alerts.types import AlertConfig, Presenter
from db.alerts import due_delivery_ids, prune_history
from db.engine import session_scope

log = logging.getLogger(__name__)

DELIVERY_POLL_SECONDS = 15.0
EVALUATE_SECONDS = 300.0
REPORT_CHECK_SECONDS = 60.0
PRUNE_SECONDS = 6 * 3600.0
HISTORY_KEPT = timedelta(days=365)  # firings and deliveries older than this are deleted
SENDER_THREADS = 4


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlertService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: AlertConfig,
        presenter: Presenter,
        *,
        clock: Callable[[], datetime] = _utcnow,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        poll_seconds: float = DELIVERY_POLL_SECONDS,
        evaluate_seconds: float = EVALUATE_SECONDS,
        report_check_seconds: float = REPORT_CHECK_SECONDS,
        senders: int = SENDER_THREADS,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.presenter = presenter
        self.clock = clock
        self.backoff_base = backoff_base
        self._periods = (poll_seconds, evaluate_seconds, report_check_seconds)
        self._evaluator = ThreadPoolExecutor(1, thread_name_prefix="alerts-evaluate")
        self._senders = ThreadPoolExecutor(senders, thread_name_prefix="alerts-send")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight: set[int] = set()
        self._evaluation_queued = False
        self._stopped = False

    # --- the scheduler extension -----------------------------------------------------
    def after_collection(self) -> None:
        """Called by the collection job when a slot is done (stored or failed)."""
        self.evaluate_soon()

    def interval_jobs(self) -> list[tuple[str, Callable[[], object], float]]:
        poll, evaluate, reports = self._periods
        return [
            ("alerts-deliveries", self.pump, poll),
            ("alerts-evaluate", self.evaluate_soon, evaluate),
            ("reports", self.check_reports, reports),
            ("alerts-prune", self.prune, PRUNE_SECONDS),
        ]

    def stop(self) -> None:
        """Stop taking work; queued work is dropped (still pending in the store, so the next
        leader sends it), an attempt in flight ends within its timeout."""
        with self._lock:
            self._stopped = True
        self._evaluator.shutdown(wait=False, cancel_futures=True)
        self._senders.shutdown(wait=False, cancel_futures=True)

    # --- work ------------------------------------------------------------------------
    def evaluate_soon(self) -> Future[None] | None:
        """Queue one evaluation (coalesced: at most one waits behind the running one)."""
        with self._lock:
            if self._stopped or self._evaluation_queued:
                return None
            self._evaluation_queued = True
            return self._evaluator.submit(self._evaluate)

    def _evaluate(self) -> None:
        with self._lock:
            self._evaluation_queued = False
        try:
            evaluate_rules(self.sessions, self.config, self.presenter, now=self.clock())
        except Exception:  # noqa: BLE001 - the next collection evaluates again
            log.exception("Alert evaluation failed")
        self.pump()

    def pump(self) -> list[Future[None]]:
        """Hand every due delivery not already in flight here to a sender thread."""
        try:
            with session_scope(self.sessions) as session:
                due = due_delivery_ids(session, self.clock())
        except Exception:  # noqa: BLE001 - the next poll tries again
            log.exception("Could not read due alert deliveries")
            return []
        futures: list[Future[None]] = []
        for delivery_id in due:
            with self._lock:
                if self._stopped or delivery_id in self._inflight:
                    continue
                self._inflight.add(delivery_id)
                futures.append(self._senders.submit(self._send, delivery_id))
        return futures

    def _send(self, delivery_id: int) -> None:
        try:
            attempt_delivery(
                self.sessions,
                delivery_id,
                smtp=self.config.smtp,
                clock=self.clock,
                backoff_base=self.backoff_base,
            )
        except Exception:  # noqa: BLE001 - left pending; its lease expires and it is retried
            log.exception("Alert delivery %d could not be attempted", delivery_id)
        finally:
            with self._lock:
                self._inflight.discard(delivery_id)
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until the queued evaluation and every delivery attempt in flight are done
        (CLI, shutdown, tests). False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            self._evaluator.submit(lambda: None).result(timeout)
        except FutureTimeout:
            return False
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._inflight, timeout=max(0.0, deadline - time.monotonic())
            )

    def prune(self) -> int:
        """Keep a year of alert history (firings, deliveries with their attempts)."""
        with session_scope(self.sessions) as session:
            deleted = prune_history(session, self.clock() - HISTORY_KEPT)
        if deleted:
            log.info(
                "Alert history pruned: %d row(s) older than %d days", deleted, HISTORY_KEPT.days
            )
        return deleted

    def check_reports(self) -> list[int]:
        """Queue the reports that are due and send them."""
        try:
            queued = run_due_reports(self.sessions, self.config, self.presenter, now=self.clock())
        except Exception:  # noqa: BLE001 - the next check tries again
            log.exception("Scheduled reports could not be checked")
            return []
        if queued:
            self.pump()
        return queued

"""One attempt at a stored delivery: claim it, send it outside any transaction, record it.

Steps (each delivery, in whichever process runs it):
1. claim: a conditional UPDATE takes the due, unleased delivery for ``LEASE`` — a second
   sender finds nothing to claim, so a message is never sent twice at once;
2. send: mail or webhook, bounded by the delivery's timeout;
3. record: the attempt row, and the delivery becomes sent, pending again after a back-off
   (30 s, 2 min, 8 min, 32 min, then hourly), or failed (permanent error or no attempts left).
A sender that dies between 1 and 3 leaves a lease that expires, and the delivery is tried
again: at least once, never silently dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.channels import post_webhook, receiver_host, send_mail
from alerts.types import DeliveryError, SmtpConfig
from db.alerts import claim_delivery, finish_attempt
from db.engine import session_scope
from db.models import AlertDelivery

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=300)  # longer than any attempt (timeouts are at most 120 s)
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_FACTOR = 4.0
BACKOFF_CAP_SECONDS = 3600.0

Clock = Callable[[], datetime]


def retry_delay(attempts_done: int, base: float = BACKOFF_BASE_SECONDS) -> timedelta:
    """Wait before the next attempt after ``attempts_done`` failed ones."""
    seconds = min(BACKOFF_CAP_SECONDS, base * BACKOFF_FACTOR ** max(0, attempts_done - 1))
    return timedelta(seconds=seconds)


def recipients_of(target: str) -> list[str]:
    return [part.strip() for part in target.split(",") if part.strip()]


def event_name(purpose: str) -> str:
    return "report" if purpose == "report" else f"alert.{purpose}"


def send_delivery(delivery: AlertDelivery, smtp: SmtpConfig | None) -> str | None:
    """Send a delivery's stored bytes; a returned note is kept with the attempt."""
    if delivery.kind == "email":
        return send_mail(
            smtp, delivery.payload, recipients_of(delivery.target), timeout=delivery.timeout_seconds
        )
    return post_webhook(
        delivery.target,
        delivery.payload,
        signature=delivery.signature,
        timeout=delivery.timeout_seconds,
        event=event_name(delivery.purpose),
        delivery_id=delivery.id,
    )


def describe_target(delivery: AlertDelivery) -> str:
    """For logs: recipients, or only the host of a webhook (its path may hold a token)."""
    return delivery.target if delivery.kind == "email" else receiver_host(delivery.target)


def attempt_delivery(
    sessions: sessionmaker[Session],
    delivery_id: int,
    *,
    smtp: SmtpConfig | None,
    clock: Clock,
    backoff_base: float = BACKOFF_BASE_SECONDS,
) -> AlertDelivery | None:
    """Run one attempt of ``delivery_id`` if it is due and free; None when it was not ours."""
    now = clock()
    with session_scope(sessions) as session:
        delivery = claim_delivery(session, delivery_id, now, now + LEASE)
    if delivery is None:
        return None
    started = time.monotonic()
    permanent = False
    try:
        note = send_delivery(delivery, smtp)
        ok, error = True, note
    except DeliveryError as exc:
        ok, error, permanent = False, str(exc), exc.permanent
    except Exception as exc:  # noqa: BLE001 - a transport bug must still be recorded
        log.exception("Alert delivery %d raised", delivery_id)
        ok, error = False, f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    finished = clock()
    attempts = delivery.attempts + 1
    retry_at = None
    if not ok and not permanent and attempts < delivery.max_attempts:
        retry_at = finished + retry_delay(attempts, backoff_base)
    with session_scope(sessions) as session:
        result = finish_attempt(
            session,
            delivery_id,
            attempted_at=finished,
            ok=ok,
            error=error,
            duration_ms=duration_ms,
            retry_at=retry_at,
        )
    where = describe_target(delivery)
    if ok:
        log.info("Alert delivery %d (%s) sent to %s", delivery_id, delivery.purpose, where)
    elif retry_at is not None:
        log.warning(
            "Alert delivery %d to %s failed (attempt %d/%d): %s; next try at %s",
            delivery_id,
            where,
            attempts,
            delivery.max_attempts,
            error,
            retry_at.isoformat(),
        )
    else:
        log.error(
            "Alert delivery %d to %s failed for good after %d attempt(s): %s",
            delivery_id,
            where,
            attempts,
            error,
        )
    return result

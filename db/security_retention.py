"""Retention of the security tables: expired sessions, old sign-in failures, old audit rows.

Run by the scheduler's daily retention job and on every successful sign-in (so the tables
stay small where collection, and with it the scheduler, is switched off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from db.audit import prune_events
from db.sessions import SessionPolicy, prune_sessions
from db.sign_in_limits import prune_failures

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SecurityRetention:
    """What to keep: audit days, the session policy, the longest sign-in window."""

    audit_days: int
    sessions: SessionPolicy
    failure_window: timedelta


@dataclass(frozen=True, slots=True)
class SecurityPruned:
    sessions: int
    failures: int
    audit_events: int


def prune_security_records(
    session: Session, keep: SecurityRetention, now: datetime
) -> SecurityPruned:
    result = SecurityPruned(
        sessions=prune_sessions(session, keep.sessions, now),
        failures=prune_failures(session, keep.failure_window, now),
        audit_events=prune_events(session, keep.audit_days, now),
    )
    if result.audit_events:
        log.info(
            "Retention: %d audit event(s) older than %d days deleted",
            result.audit_events,
            keep.audit_days,
        )
    return result

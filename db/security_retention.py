"""Retention of the security tables: expired sessions, old sign-in failures, old audit rows.

Run by the scheduler's daily retention job and on every successful sign-in (so the tables
stay small where collection, and with it the scheduler, is switched off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from db.audit import prune_events
from db.sessions import SessionPolicy, prune_sessions
from db.sign_in_limits import prune_failures

log = logging.getLogger(__name__)


class RetentionSettings(Protocol):
    """The settings this reads (``admin_metrics.settings.Settings`` has them; db imports
    nothing of the application)."""

    audit_retention_days: int
    session_idle_minutes: int
    session_max_hours: int

    @property
    def login_limit(self) -> tuple[int, int]: ...

    @property
    def login_address_limit(self) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class SecurityRetention:
    """What to keep: audit days, the session policy, the longest sign-in window."""

    audit_days: int
    sessions: SessionPolicy
    failure_window: timedelta

    @classmethod
    def of(cls, settings: RetentionSettings) -> SecurityRetention:
        return cls(
            audit_days=settings.audit_retention_days,
            sessions=SessionPolicy.of(
                idle_minutes=settings.session_idle_minutes, max_hours=settings.session_max_hours
            ),
            failure_window=timedelta(
                seconds=max(settings.login_limit[1], settings.login_address_limit[1])
            ),
        )


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

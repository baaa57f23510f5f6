"""The audit log: an append-only record of who signed in, revoked, created or exported what
(and who recorded, changed or deleted which event on the graphs).

Rows are only ever inserted (the migration adds a trigger refusing UPDATE) and deleted by
retention (``AUDIT_RETENTION_DAYS``). ``details`` is a small JSON object; keys that could
carry a secret are refused outright, so a caller cannot put a password or token in by
mistake (a test also greps the whole table for them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from db.models import AuditEvent

# The events this product records (the API and CLI filter on these names).
SIGN_IN: Final = "sign_in"
SIGN_IN_FAILED: Final = "sign_in_failed"
SIGN_OUT: Final = "sign_out"
PROXY_SIGN_ON: Final = "proxy_sign_on"
SESSION_REVOKED: Final = "session_revoked"
PASSWORD_CHANGED: Final = "password_changed"
ADMIN_CREATED: Final = "admin_created"
ADMIN_ENABLED: Final = "admin_enabled"
ADMIN_DISABLED: Final = "admin_disabled"
TOKEN_CREATED: Final = "token_created"
TOKEN_REVOKED: Final = "token_revoked"
EXPORT_CREATED: Final = "export_created"
EXPORT_DOWNLOADED: Final = "export_downloaded"
SETTINGS_REFUSED: Final = "settings_refused"
EVENT_CREATED: Final = "event_created"
EVENT_UPDATED: Final = "event_updated"
EVENT_DELETED: Final = "event_deleted"
ACTIONS: Final[tuple[str, ...]] = (
    SIGN_IN,
    SIGN_IN_FAILED,
    SIGN_OUT,
    PROXY_SIGN_ON,
    SESSION_REVOKED,
    PASSWORD_CHANGED,
    ADMIN_CREATED,
    ADMIN_ENABLED,
    ADMIN_DISABLED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    EXPORT_CREATED,
    EXPORT_DOWNLOADED,
    SETTINGS_REFUSED,
    EVENT_CREATED,
    EVENT_UPDATED,
    EVENT_DELETED,
)
# Who acted when no person did (the command line on the server, start-up checks).
CLI_ACTOR: Final = "(cli)"
SYSTEM_ACTOR: Final = "(system)"

_SECRET_WORDS: Final = ("password", "token", "secret", "cookie", "hash", "authorization")
MAX_ACTOR: Final = 150
MAX_ADDRESS: Final = 64
MAX_DETAIL_CHARS: Final = 4000
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000


class SecretInAuditDetails(ValueError):
    """A caller tried to store a field whose name says it is a secret."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One event as readers (API, CLI, CSV) get it."""

    id: int
    occurred_at: datetime
    actor: str | None
    action: str
    address: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "address": self.address,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to read: a time window (``since`` inclusive, ``until`` exclusive), one actor,
    one action."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None


def _check_details(details: dict[str, Any]) -> str | None:
    if not details:
        return None
    for key in details:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise SecretInAuditDetails(f"audit details must not carry {key!r}")
    text = json.dumps(details, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) > MAX_DETAIL_CHARS:
        text = json.dumps({"truncated": text[: MAX_DETAIL_CHARS - 40]}, ensure_ascii=False)
    return text


def record_event(
    session: Session,
    action: str,
    *,
    actor: str | None,
    address: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (so it commits with the action)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = AuditEvent(
        occurred_at=now or datetime.now(UTC),
        actor=actor[:MAX_ACTOR] if actor else None,
        action=action,
        address=address[:MAX_ADDRESS] if address else None,
        details=_check_details(details or {}),
    )
    session.add(row)
    session.flush()
    return row


def _filtered(query: Select[Any], where: AuditFilter) -> Select[Any]:
    if where.since is not None:
        query = query.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.occurred_at < where.until)
    if where.actor is not None:
        query = query.where(AuditEvent.actor == where.actor)
    if where.action is not None:
        query = query.where(AuditEvent.action == where.action)
    return query


def _record(row: AuditEvent) -> AuditRecord:
    try:
        details = json.loads(row.details) if row.details else {}
    except ValueError:
        details = {"raw": row.details}
    return AuditRecord(row.id, row.occurred_at, row.actor, row.action, row.address, details)


def list_events(
    session: Session,
    where: AuditFilter | None = None,
    *,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> list[AuditRecord]:
    """Events newest first (ties by id), one page of at most ``limit`` (≤ ``MAX_PAGE``)."""
    query = _filtered(select(AuditEvent), where or AuditFilter())
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    query = query.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
    return [_record(row) for row in session.scalars(query)]


def count_events(session: Session, where: AuditFilter | None = None) -> int:
    query = _filtered(select(func.count()).select_from(AuditEvent), where or AuditFilter())
    return int(session.scalar(query) or 0)


def prune_events(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than ``retention_days``; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    result = session.execute(delete(AuditEvent).where(AuditEvent.occurred_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Server-side sign-in sessions: a random token in the cookie, its SHA-256 in the store.

Because the session lives in the store, ending it (sign-out, a password change, disabling
the account, ``admin-metrics sessions revoke``) takes effect on every worker and replica on
their next request; a copied cookie is worth nothing once its row is gone.

A request costs one primary-key select (joined to the account); ``last_seen_at`` is
written at most once per ``TOUCH_PRECISION``, so an open page does not write on every
Dash callback.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from db.accounts import hash_token
from db.models import AdminSession, AdminUser

TOUCH_PRECISION: Final = timedelta(minutes=1)
SESSION_METHODS: Final = ("password", "proxy")
MAX_USER_AGENT: Final = 255
MAX_ADDRESS: Final = 64


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session may be idle, and how long it may live at most."""

    idle: timedelta
    lifetime: timedelta

    @classmethod
    def of(cls, *, idle_minutes: int, max_hours: int) -> SessionPolicy:
        return cls(idle=timedelta(minutes=idle_minutes), lifetime=timedelta(hours=max_hours))

    def expired(self, row: AdminSession, now: datetime) -> bool:
        return now - row.last_seen_at > self.idle or now - row.created_at > self.lifetime


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as operators see it; ``ref`` is a short, harmless prefix of the row id."""

    ref: str
    username: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None
    user_agent: str | None


def _ref(row_id: str) -> str:
    return row_id[:8]


def open_session(
    session: Session,
    user_id: int,
    *,
    method: str,
    address: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> str:
    """Store a new session for ``user_id``; returns the token for the cookie (only now)."""
    if method not in SESSION_METHODS:
        raise ValueError(f"unknown session method {method!r}")
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            id=hash_token(token),
            user_id=user_id,
            method=method,
            created_at=now,
            last_seen_at=now,
            address=(address or None) and address[:MAX_ADDRESS],
            user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT],
        )
    )
    session.flush()
    return token


def resolve_session(
    session: Session, token: str, policy: SessionPolicy, now: datetime | None = None
) -> tuple[AdminSession, AdminUser] | None:
    """The live session of ``token`` and its active account, else None.

    An expired session is deleted on the way; ``last_seen_at`` moves at most once a minute.
    """
    if not token or len(token) > 128:
        return None
    now = now or datetime.now(UTC)
    found = session.execute(
        select(AdminSession, AdminUser)
        .join(AdminUser, AdminSession.user_id == AdminUser.id)
        .where(AdminSession.id == hash_token(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if policy.expired(row, now):
        session.delete(row)
        return None
    if not user.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_PRECISION:
        row.last_seen_at = now
    return row, user


def end_session(session: Session, token: str) -> bool:
    """Delete the session of ``token``; False when there was none."""
    result = session.execute(delete(AdminSession).where(AdminSession.id == hash_token(token)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_user_sessions(session: Session, user_id: int) -> int:
    """Delete every session of the account; returns how many were open."""
    result = session.execute(delete(AdminSession).where(AdminSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_sessions(
    session: Session,
    policy: SessionPolicy,
    *,
    username: str | None = None,
    now: datetime | None = None,
) -> list[SessionInfo]:
    """Live sessions, newest activity first (expired rows are not shown)."""
    now = now or datetime.now(UTC)
    query = (
        select(AdminSession, AdminUser.username)
        .join(AdminUser, AdminSession.user_id == AdminUser.id)
        .order_by(AdminSession.last_seen_at.desc())
    )
    if username is not None:
        query = query.where(AdminUser.username == username)
    return [
        SessionInfo(
            ref=_ref(row.id),
            username=name,
            method=row.method,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            address=row.address,
            user_agent=row.user_agent,
        )
        for row, name in session.execute(query)
        if not policy.expired(row, now)
    ]


def prune_sessions(session: Session, policy: SessionPolicy, now: datetime | None = None) -> int:
    """Delete sessions past their idle timeout or lifetime; returns how many."""
    now = now or datetime.now(UTC)
    result = session.execute(
        delete(AdminSession).where(
            or_(
                AdminSession.last_seen_at < now - policy.idle,
                AdminSession.created_at < now - policy.lifetime,
            )
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

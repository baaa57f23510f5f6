"""Sign-in limiting that holds across workers and replicas and cannot lock the admin out.

Every attempt is written to ``sign_in_failures`` *before* the password is checked (so
parallel guesses count too) and removed again when it succeeds. Attempts are counted in
sliding windows, in one of two ways:

- **From a known device** (the browser presents the signed device cookie it got at its last
  successful sign-in as that user): only that device's own failures count, against the
  per-user limit. Nobody else's failures, from the same address or anywhere, lock it out.
- **From an unknown client**: failures per address *and* user name (the per-user limit),
  plus all unknown-client failures of the address (the wider per-address limit, which
  stops trying many user names). Failures for other user names only ever reach the wider
  limit.

There is no global per-user lockout, so an attacker elsewhere cannot lock an account. A
lockout lasts until enough failures leave the window, never longer than the window, and
the caller is told exactly when it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from db.models import SignInFailure

MAX_USERNAME: Final = 150
MAX_ADDRESS: Final = 64

Scope = Literal["user", "address", "device"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``attempts`` failures within ``window``."""

    attempts: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Lockout:
    until: datetime
    scope: Scope

    @property
    def announced(self) -> datetime:
        """``until`` rounded up to the second: the time to tell people (never too early)."""
        whole = self.until.replace(microsecond=0)
        return whole if whole == self.until else whole + timedelta(seconds=1)

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until ``announced`` (for Retry-After), at least 1."""
        return max(1, math.ceil((self.announced - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is trying: the client address, the user name typed, the device if known."""

    address: str
    username: str
    device: str | None = None

    @classmethod
    def of(cls, address: str | None, username: str, device: str | None = None) -> Attempt:
        return cls(
            (address or "unknown")[:MAX_ADDRESS], normalise_username(username), device or None
        )


def normalise_username(username: str) -> str:
    """Case and surrounding spaces do not make a new user name (``" ADMIN"`` is ``admin``)."""
    return username.strip().lower()[:MAX_USERNAME]


def _lockout(
    session: Session, query: Select[datetime], limit: Limit, scope: Scope
) -> Lockout | None:
    """Locked while ``limit.attempts`` failures are in the window: until the newest
    ``attempts``-th one leaves it."""
    nth = session.scalar(
        query.order_by(SignInFailure.occurred_at.desc()).limit(1).offset(limit.attempts - 1)
    )
    return Lockout(nth + limit.window, scope) if nth is not None else None


def check_lockout(
    session: Session,
    attempt: Attempt,
    *,
    user_limit: Limit,
    address_limit: Limit,
    now: datetime | None = None,
) -> Lockout | None:
    """The lockout this attempt is under (the one ending last), or None."""
    now = now or datetime.now(UTC)
    times = select(SignInFailure.occurred_at)
    if attempt.device is not None:
        device = times.where(
            SignInFailure.device == attempt.device,
            SignInFailure.occurred_at > now - user_limit.window,
        )
        return _lockout(session, device, user_limit, "device")
    unknown = times.where(SignInFailure.device.is_(None), SignInFailure.address == attempt.address)
    found = [
        _lockout(
            session,
            unknown.where(
                SignInFailure.username == attempt.username,
                SignInFailure.occurred_at > now - user_limit.window,
            ),
            user_limit,
            "user",
        ),
        _lockout(
            session,
            unknown.where(SignInFailure.occurred_at > now - address_limit.window),
            address_limit,
            "address",
        ),
    ]
    locks = [lock for lock in found if lock is not None and lock.until > now]
    return max(locks, key=lambda lock: lock.until) if locks else None


def record_attempt(session: Session, attempt: Attempt, now: datetime | None = None) -> int:
    """Count the attempt as a failure until it succeeds; returns the row id."""
    row = SignInFailure(
        occurred_at=now or datetime.now(UTC),
        address=attempt.address,
        username=attempt.username,
        device=attempt.device,
    )
    session.add(row)
    session.flush()
    return row.id


def clear_failures(session: Session, attempt: Attempt) -> int:
    """A successful sign-in resets the counter of this user (from this address or device)."""
    if attempt.device is not None:
        where = SignInFailure.device == attempt.device
    else:
        where = (SignInFailure.address == attempt.address) & (
            SignInFailure.username == attempt.username
        )
    result = session.execute(delete(SignInFailure).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_failures(session: Session, keep: timedelta, now: datetime | None = None) -> int:
    """Delete failures older than ``keep`` (the longest window); returns how many."""
    cutoff = (now or datetime.now(UTC)) - keep
    result = session.execute(delete(SignInFailure).where(SignInFailure.occurred_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Admin accounts and API tokens: argon2 password hashes, SHA-256 token hashes.

Changing a password or disabling an account ends every session of that account (its rows
in ``admin_sessions`` are deleted), and each change is written to the audit log in the
same transaction.

A token is shown once, when it is created; the store keeps only its SHA-256 hash. It
belongs to an admin account and is deleted with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.orm import Session

from db import audit
from db.engine import driver_rows
from db.models import AdminSession, AdminUser, ApiToken

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps the timing of "unknown user" equal to "wrong password".
    Made on first use: an argon2 hash costs ≈ 0.1 s, which every CLI command paid at import."""
    return _hasher.hash(secrets.token_urlsafe(16))


MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user-facing problem with an account operation (message is shown as is)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_admin_password(
    session: Session,
    username: str,
    password: str,
    *,
    actor: str | None = None,
    address: str | None = None,
) -> tuple[AdminUser, bool]:
    """Create the admin, or change the password of an existing one. Returns (user, created).

    A real change (a different password) ends all of the account's sessions; setting the
    same password again (the demo does on every start) changes nothing. Re-running on a
    disabled account enables it again. ``actor`` is who did it (default: the command line).
    """
    username = username.strip()
    if not username:
        raise AccountError("user name must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    actor = actor or audit.CLI_ACTOR
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    created = user is None
    if user is None:
        user = AdminUser(username=username, password_hash=hash_password(password))
        session.add(user)
        session.flush()
        audit.record_event(
            session, audit.ADMIN_CREATED, actor=actor, address=address, details={"user": username}
        )
        return user, True
    if not _verifies(user.password_hash, password):
        user.password_hash = hash_password(password)
        ended = _end_sessions(session, user.id)
        audit.record_event(
            session,
            audit.PASSWORD_CHANGED,
            actor=actor,
            address=address,
            details={"user": username, "sessions_ended": ended},
        )
    if not user.is_active:
        user.is_active = True
        audit.record_event(
            session, audit.ADMIN_ENABLED, actor=actor, address=address, details={"user": username}
        )
    session.flush()
    return user, created


def disable_admin(
    session: Session, username: str, *, actor: str | None = None, address: str | None = None
) -> int:
    """Disable the account and end all of its sessions; returns how many were open.

    Its API tokens stay stored but are refused (403) while the account is disabled.
    """
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        raise AccountError(f"no account named '{username}'")
    user.is_active = False
    ended = _end_sessions(session, user.id)
    audit.record_event(
        session,
        audit.ADMIN_DISABLED,
        actor=actor or audit.CLI_ACTOR,
        address=address,
        details={"user": username, "sessions_ended": ended},
    )
    session.flush()
    return ended


def _end_sessions(session: Session, user_id: int) -> int:
    # Here rather than through db.sessions, which builds on this module (token hashing).
    result = session.execute(delete(AdminSession).where(AdminSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


FailureReason = Literal["unknown_user", "wrong_password", "disabled", "not_admin"]


def check_credentials(
    session: Session, username: str, password: str
) -> tuple[AdminUser | None, FailureReason | None]:
    """``(user, None)`` for an active admin with this password, else ``(None, reason)``.

    The reason is for the audit log only: the person signing in always hears the same
    "wrong user name or password", and an unknown name costs the same argon2 time.
    """
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if not _verifies(user.password_hash if user else _dummy_hash(), password):
        return None, "unknown_user" if user is None else "wrong_password"
    if user is None:
        return None, "unknown_user"
    if not user.is_active:
        return None, "disabled"
    if not user.is_admin:
        return None, "not_admin"
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user, None


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    """The active admin with this user name and password, else None."""
    return check_credentials(session, username, password)[0]


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a fast SHA-256 is enough (no dictionary risk)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenIdentity(NamedTuple):
    """The account behind a bearer token: only the columns a request needs."""

    id: int
    username: str
    is_admin: bool
    is_active: bool


# When a token was last used is kept to the minute: a write per request would dominate a
# script's calls.
TOKEN_USE_PRECISION = timedelta(minutes=1)
_TOKEN_LOOKUP = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.last_used_at,
        AdminUser.id,
        AdminUser.username,
        AdminUser.is_admin,
        AdminUser.is_active,
    )
    .join(AdminUser, ApiToken.user_id == AdminUser.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_identity(conn: Connection, token: str) -> TokenIdentity | None:
    """The account of ``token`` (None: unknown), with one Core query and no ORM objects:
    this runs on every API call, where the ORM's unit of work was most of the fixed cost.
    Notes the use (``last_used_at``) at most once a minute."""
    rows = driver_rows(conn, _TOKEN_LOOKUP, {"token_hash": hash_token(token)})
    if not rows:
        return None
    token_id, last_used_at, user_id, username, is_admin, is_active = rows[0]
    now = datetime.now(UTC)
    if last_used_at is None or now - last_used_at > TOKEN_USE_PRECISION:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return TokenIdentity(user_id, username, bool(is_admin), bool(is_active))


def new_token() -> str:
    return "amh_" + secrets.token_urlsafe(32)


MAX_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    username: str
    created_at: datetime | None
    last_used_at: datetime | None


def create_api_token(
    session: Session, name: str, username: str, *, actor: str = audit.CLI_ACTOR
) -> str:
    """Store a new token for admin ``username``; returns the token (the only time it exists)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"token name must be 1 to {MAX_NAME_LENGTH} characters")
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        raise AccountError(f"no account named '{username}' (create it with create-admin)")
    if not (user.is_admin and user.is_active):
        raise AccountError(f"'{username}' is not an active administrator")
    if session.scalars(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise AccountError(f"a token named '{name}' already exists (revoke it first)")
    token = new_token()
    session.add(ApiToken(name=name, token_hash=hash_token(token), user_id=user.id))
    session.flush()
    audit.record_event(
        session, audit.TOKEN_CREATED, actor=actor, details={"name": name, "user": username}
    )
    return token


def list_api_tokens(session: Session) -> list[TokenInfo]:
    rows = session.execute(
        select(ApiToken.name, AdminUser.username, ApiToken.created_at, ApiToken.last_used_at)
        .join(AdminUser, ApiToken.user_id == AdminUser.id)
        .order_by(ApiToken.name)
    )
    return [TokenInfo(*row) for row in rows]


def revoke_api_token(session: Session, name: str, *, actor: str = audit.CLI_ACTOR) -> bool:
    """Delete the token called ``name``; False when there is none."""
    token = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        return False
    owner = session.get(AdminUser, token.user_id)
    session.delete(token)
    audit.record_event(
        session,
        audit.TOKEN_REVOKED,
        actor=actor,
        details={"name": name, "user": owner.username if owner else None},
    )
    return True

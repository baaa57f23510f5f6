"""API tokens: ``create-token NAME --user USERNAME``, ``list-tokens``, ``revoke-token NAME``.

A token is shown once, when it is created; the store keeps only its SHA-256 hash. It
belongs to an admin account and is deleted with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_metrics.cli import Obj, cli, pass_obj
from db import audit
from db.accounts import AccountError, hash_token, new_token
from db.engine import make_engine, session_factory, session_scope
from db.models import AdminUser, ApiToken

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


@contextmanager
def _store_session(obj: Obj) -> Iterator[Session]:
    """A committed session on the store; the engine is disposed afterwards."""
    engine = make_engine(obj.settings.store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@cli.command("create-token")
@click.argument("name")
@click.option("--user", "username", required=True, help="The admin account the token acts as.")
@pass_obj
def create_token(obj: Obj, name: str, username: str) -> None:
    """Create API token NAME for admin USERNAME and print it (only this once).

    The token alone goes to standard output, so ``TOKEN=$(admin-metrics create-token ...)``
    works; use it as ``Authorization: Bearer $TOKEN``.
    """
    try:
        with _store_session(obj) as session:
            token = create_api_token(session, name, username)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Token '{name.strip()}' for '{username}' created. It is shown only now; store it safely.",
        err=True,
    )
    click.echo(token)


@cli.command("list-tokens")
@pass_obj
def list_tokens(obj: Obj) -> None:
    """List API tokens (names, owners, dates; never the tokens themselves)."""

    def when(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else "-"

    with _store_session(obj) as session:
        tokens = list_api_tokens(session)
    if not tokens:
        click.echo("No API tokens.")
        return
    click.echo(f"{'NAME':<24} {'USER':<16} {'CREATED':<26} LAST USED")
    for info in tokens:
        click.echo(
            f"{info.name:<24} {info.username:<16} {when(info.created_at):<26} "
            f"{when(info.last_used_at)}"
        )


@cli.command("revoke-token")
@click.argument("name")
@pass_obj
def revoke_token(obj: Obj, name: str) -> None:
    """Delete API token NAME; requests using it are refused from now on."""
    with _store_session(obj) as session:
        found = revoke_api_token(session, name)
    if not found:
        raise click.ClickException(f"no token named '{name}'")
    click.echo(f"Token '{name}' revoked.")

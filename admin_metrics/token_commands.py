"""API tokens: ``create-token NAME --user USERNAME``, ``list-tokens``, ``revoke-token NAME``.

Thin wrappers over ``db.accounts`` (a token is shown once; the store keeps its hash).
"""

from __future__ import annotations

from datetime import datetime

import click

from admin_metrics.cli_obj import Obj, pass_obj
from db.accounts import AccountError, create_api_token, list_api_tokens, revoke_api_token
from db.engine import store_session


@click.command("create-token")
@click.argument("name")
@click.option("--user", "username", required=True, help="The admin account the token acts as.")
@pass_obj
def create_token(obj: Obj, name: str, username: str) -> None:
    """Create API token NAME for admin USERNAME and print it (only this once).

    The token alone goes to standard output, so ``TOKEN=$(admin-metrics create-token ...)``
    works; use it as ``Authorization: Bearer $TOKEN``.
    """
    try:
        with store_session(obj.store_url) as session:
            token = create_api_token(session, name, username)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Token '{name.strip()}' for '{username}' created. It is shown only now; store it safely.",
        err=True,
    )
    click.echo(token)


@click.command("list-tokens")
@pass_obj
def list_tokens(obj: Obj) -> None:
    """List API tokens (names, owners, dates; never the tokens themselves)."""

    def when(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else "-"

    with store_session(obj.store_url) as session:
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


@click.command("revoke-token")
@click.argument("name")
@pass_obj
def revoke_token(obj: Obj, name: str) -> None:
    """Delete API token NAME; requests using it are refused from now on."""
    with store_session(obj.store_url) as session:
        found = revoke_api_token(session, name)
    if not found:
        raise click.ClickException(f"no token named '{name}'")
    click.echo(f"Token '{name}' revoked.")

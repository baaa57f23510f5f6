"""Sessions, accounts and the audit log from the command line (operators on the server).

``sessions list [--user NAME]``, ``sessions revoke USER``, ``disable-admin USER`` and
``audit [--since] [--until] [--user] [--action] [--limit] [--json]``: thin wrappers over
``db.sessions``, ``db.accounts`` and ``db.audit``. Each change is audited with the actor
``(cli)``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from admin_metrics.cli_obj import Obj, pass_obj
from db import audit
from db.accounts import AccountError, disable_admin
from db.engine import store_session
from db.models import AdminUser
from db.sessions import SessionPolicy, end_user_sessions, list_sessions

_RELATIVE = re.compile(r"^(\d{1,6})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """``2026-12-01``, ``2026-12-01T09:00+09:00`` (no offset: UTC) or ``30m``/``24h``/``7d``
    ago."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = relative.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither an ISO 8601 date/time nor an age such as 24h or 7d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _policy(obj: Obj) -> SessionPolicy:
    return SessionPolicy.of(
        idle_minutes=obj.settings.session_idle_minutes, max_hours=obj.settings.session_max_hours
    )


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


@click.group("sessions")
def sessions_group() -> None:
    """Signed-in browser sessions (kept in the store)."""


@sessions_group.command("list")
@click.option("--user", "username", default=None, help="Only this account's sessions.")
@pass_obj
def sessions_list(obj: Obj, username: str | None) -> None:
    """List live sessions: account, how, since, last request, address, browser."""
    with store_session(obj.store_url) as session:
        rows = list_sessions(session, _policy(obj), username=username)
    if not rows:
        click.echo("No open sessions.")
        return
    click.echo(f"{'REF':<9} {'USER':<16} {'VIA':<9} {'SINCE':<26} {'LAST SEEN':<26} ADDRESS")
    for row in rows:
        click.echo(
            f"{row.ref:<9} {row.username:<16} {row.method:<9} {_when(row.created_at):<26} "
            f"{_when(row.last_seen_at):<26} {row.address or '-'}  {row.user_agent or ''}"
        )


@sessions_group.command("revoke")
@click.argument("username")
@pass_obj
def sessions_revoke(obj: Obj, username: str) -> None:
    """End every session of USERNAME now (on every worker and replica)."""
    from sqlalchemy import select

    with store_session(obj.store_url) as session:
        user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
        if user is None:
            raise click.ClickException(f"no account named '{username}'")
        ended = end_user_sessions(session, user.id)
        audit.record_event(
            session,
            audit.SESSION_REVOKED,
            actor=audit.CLI_ACTOR,
            details={"user": username, "sessions_ended": ended},
        )
    click.echo(f"Ended {ended} session(s) of '{username}'.")


@click.command("disable-admin")
@click.argument("username")
@pass_obj
def disable_admin_command(obj: Obj, username: str) -> None:
    """Disable admin USERNAME and end its sessions (re-enable: create-admin USERNAME)."""
    try:
        with store_session(obj.store_url) as session:
            ended = disable_admin(session, username)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Admin '{username}' disabled; {ended} session(s) ended.")


@click.command("audit")
@click.option("--since", default=None, help="From (ISO 8601, or an age: 30m, 24h, 7d).")
@click.option("--until", default=None, help="Before (ISO 8601, or an age).")
@click.option("--user", "actor", default=None, help="Only events by this actor.")
@click.option("--action", type=click.Choice(audit.ACTIONS), default=None)
@click.option("--limit", type=click.IntRange(1, audit.MAX_PAGE), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_obj
def audit_command(
    obj: Obj,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Print the audit log, newest first."""
    where = audit.AuditFilter(
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        actor=actor,
        action=action,
    )
    with store_session(obj.store_url) as session:
        events = audit.list_events(session, where, limit=limit)
    if as_json:
        for event in events:
            click.echo(json.dumps(event.to_json(), ensure_ascii=False))
        return
    if not events:
        click.echo("No audit events.")
        return
    for event in events:
        details = json.dumps(event.details, ensure_ascii=False) if event.details else ""
        click.echo(
            f"{_when(event.occurred_at)}  {event.action:<18} {event.actor or '-':<16} "
            f"{event.address or '-':<16} {details}"
        )

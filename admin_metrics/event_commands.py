"""``admin-metrics events add | list | delete``: thin wrappers over ``db.events`` (the same
functions the REST API calls). Each change is audited with the actor ``(cli)``.

Times are ISO 8601 (without an offset: UTC) or, for ``list``, an age such as ``7d``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from admin_metrics.cli_obj import Obj, pass_obj
from admin_metrics.session_commands import parse_when
from db import audit
from db.engine import store_session
from db.models import EVENT_KINDS

if TYPE_CHECKING:
    from db.events import EventRecord

# ``db.events`` reads failures with pandas: it is imported by the verbs that use it, so the
# command line starts without pandas (tests/test_shape.py).

MAX_LIST_TITLE = 60


@contextmanager
def _user_errors() -> Iterator[None]:
    from db.events import EventError

    try:
        yield
    except EventError as exc:
        raise click.ClickException(str(exc)) from None


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _line(event: EventRecord) -> str:
    ref = "auto" if event.automatic else str(event.id)
    extra = f" ({event.slots} slots)" if event.slots else ""
    extra += f" [{event.level}]" if event.level else ""
    author = f"  by {event.created_by}" if event.created_by else ""
    return (
        f"{ref:<6} {_when(event.start):<26} {_when(event.end):<26} {event.kind:<12} "
        f"{event.title[:MAX_LIST_TITLE]}{extra}{author}"
    )


@click.group("events")
def events_group() -> None:
    """Events on the graphs: maintenance, releases, incidents; outages and alerts."""


@events_group.command("add")
@click.argument("title")
@click.option("--start", required=True, help="When (ISO 8601; without an offset: UTC).")
@click.option("--end", default=None, help="End of a range (ISO 8601); omit for a point.")
@click.option("--kind", type=click.Choice(EVENT_KINDS), default="other", show_default=True)
@click.option("--description", default=None, help="Free text.")
@click.option("--user", "username", default=None, help="The admin recorded as its author.")
@pass_obj
def events_add(
    obj: Obj,
    title: str,
    start: str,
    end: str | None,
    kind: str,
    description: str | None,
    username: str | None,
) -> None:
    """Record event TITLE (``--user``: the admin recorded as its author)."""
    from db.events import add_event

    url = obj.store_url  # an old or unreachable store says so before anything else
    starts_at, ends_at = parse_when(start), parse_when(end) if end else None
    with _user_errors(), store_session(url) as session:
        event = add_event(
            session,
            start=starts_at,
            end=ends_at,
            title=title,
            kind=kind,
            description=description,
            created_by=username,
        )
        audit.record_event(
            session,
            audit.EVENT_CREATED,
            actor=audit.CLI_ACTOR,
            details={"event": event.id, "title": event.title, "kind": event.kind, "user": username},
        )
    click.echo(f"Event {event.id} '{event.title}' ({event.kind}) added.")


@events_group.command("list")
@click.option("--since", default="7d", show_default=True, help="From (ISO 8601, or an age).")
@click.option("--until", default=None, help="Before (ISO 8601, or an age; default: no end).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_obj
def events_list(obj: Obj, since: str, until: str | None, as_json: bool) -> None:
    """Events overlapping the window, by start; automatic ones (outages, alerts) as 'auto'."""
    from db.events import LATEST, list_events

    url = obj.store_url
    start, end = parse_when(since), parse_when(until) if until else LATEST
    if end <= start:
        raise click.ClickException("--until must be after --since")
    with store_session(url) as session:
        events = list_events(session, start, end)
    if as_json:
        for event in events:
            click.echo(json.dumps(event.to_json(), ensure_ascii=False))
        return
    if not events:
        click.echo("No events.")
        return
    click.echo(f"{'ID':<6} {'START':<26} {'END':<26} {'KIND':<12} TITLE")
    for event in events:
        click.echo(_line(event))


@events_group.command("delete")
@click.argument("event_id", type=click.IntRange(1))
@pass_obj
def events_delete(obj: Obj, event_id: int) -> None:
    """Delete recorded event EVENT_ID (automatic events cannot be deleted)."""
    from db.events import delete_event

    with _user_errors(), store_session(obj.store_url) as session:
        event = delete_event(session, event_id)
        audit.record_event(
            session,
            audit.EVENT_DELETED,
            actor=audit.CLI_ACTOR,
            details={"event": event.id, "title": event.title, "kind": event.kind},
        )
    click.echo(f"Event {event.id} '{event.title}' deleted.")

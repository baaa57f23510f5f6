"""Events for the page, the PDF and the CSV: ``db.events`` read once, titled in the
viewer's language (automatic events get a title saying what happened; admins' events keep
theirs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dashboard.charts.events import ChartEvent
from dashboard.i18n import t
from db.events import EventRecord, list_events


def event_title(event: EventRecord, lang: str) -> str:
    """``수집 실패: 3개 슬롯 (reason)`` / ``Alert: rule``; an admin's title as written."""
    if event.kind == "outage":
        return t("events.outage_title", lang).format(n=event.slots or 0, reason=event.title)
    if event.kind == "alert":
        return t("events.alert_title", lang).format(rule=event.title)
    return event.title


def chart_event(event: EventRecord, lang: str) -> ChartEvent:
    return ChartEvent(
        start=event.start,
        end=event.end,
        kind=event.kind,
        title=event_title(event, lang),
        description=event.description,
        id=event.id,
    )


def load_chart_events(
    session: Session, start: datetime, end: datetime, lang: str
) -> list[ChartEvent]:
    """Every event overlapping ``[start, end)`` (automatic ones included), by start."""
    return [chart_event(event, lang) for event in list_events(session, start, end)]

"""Events as the charts draw them: admins' annotations and the automatic ones (collection
outages, alert firings), already titled in the viewer's language (pure: no store, no Dash).

``dashboard.reports.event_marks`` loads them; the page, the PDF and the CSV draw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.i18n import t


@dataclass(frozen=True, slots=True)
class ChartEvent:
    """A point in time (``end`` None) or a range ``[start, end)``; ``id`` None = automatic
    (``kind`` "outage" or "alert"), read-only."""

    start: datetime
    end: datetime | None
    kind: str
    title: str
    description: str | None = None
    id: int | None = None

    @property
    def automatic(self) -> bool:
        return self.id is None


def kind_label(kind: str, lang: str) -> str:
    """The kind's name for a legend or a table: 점검 / Maintenance, 수집 실패 / Collection
    outage, …"""
    return t(f"events.kind.{kind}", lang)

"""Time-zone names from the outside world (settings, the browser, API and CLI input).

``ZoneInfo`` accepts more than zone names and raises more than one kind of error: a folder
such as ``America`` raises ``IsADirectoryError``, a long name ``OSError``, a number
``TypeError``. Every caller asks here instead, so each of them answers a bad name the same
way (a clear message or the fallback zone), never with a traceback.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

MAX_ZONE_NAME = 64


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone_name(value: object) -> str | None:
    """``value`` if it names an IANA time zone, else None (never raises)."""
    if not isinstance(value, str) or not value or len(value) > MAX_ZONE_NAME:
        return None
    return value if value in _known() else None


def zone(value: object) -> ZoneInfo | None:
    """The zone ``value`` names, else None (never raises)."""
    name = zone_name(value)
    return ZoneInfo(name) if name is not None else None

"""One-off collection from settings (``admin-metrics collect`` and scripts)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from admin_metrics.settings import Settings
from collectors.catalogue import check_catalogue
from collectors.queries import collection_budget, source_readers
from collectors.runner import (
    Sleep,
    SlotResult,
    collect_sources,
    hourly_slot,
    rollup_day,
)
from db.engine import make_engine, session_factory
from db.periods import local_date


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant; a naive one is taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def collect_once(
    settings: Settings,
    granularity: str = "hourly",
    at: datetime | None = None,
    *,
    sleep: Sleep = time.sleep,
) -> SlotResult:
    """Hourly: collect the slot containing ``at`` (default now) as of that slot, from every
    source (the others' results in the result's ``others``); a source's slot already stored
    is left alone (no source read, no failure rows).
    Daily: roll up the business day (``BUSINESS_TIMEZONE``) containing ``at`` (default
    yesterday)."""
    now = datetime.now(UTC)
    catalogue = check_catalogue(settings)
    store = make_engine(settings.store_url)
    sessions = session_factory(store)
    try:
        if granularity == "daily":
            zone = settings.business_zone
            day = local_date(at or now - timedelta(days=1), zone)
            return rollup_day(sessions, day, zone, catalogue)
        readers = source_readers(settings, catalogue)
        try:
            return collect_sources(
                sessions,
                readers,
                hourly_slot(at or now),
                timeout_ms=settings.source_statement_timeout_ms,
                budget=collection_budget(settings),
                sleep=sleep,
                max_labels=settings.metrics_max_labels,
            )
        finally:
            for reader in readers:
                reader.engine.dispose()
    finally:
        store.dispose()

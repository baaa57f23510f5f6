"""The effective source queries: defaults, replaced by SOURCE_QUERIES_FILE entries.

Every replacement is checked at start-up: a single SELECT statement (``WITH … SELECT``
allowed) that, run read-only on the configured source, returns one non-negative integer.
A bad entry raises ``SourceQueryConfigError`` (a ``SettingsError``): one line naming the
metric and the reason, which the CLI and the WSGI entry print before exiting.
"""

from __future__ import annotations

import logging
import re
import time
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from admin_metrics.settings import Settings, SettingsError
from collectors.errors import CollectionError, CollectionTimeout, SourceQueryConfigError
from collectors.registry import DEFAULT_QUERIES
from collectors.runner import DEFAULT_DEADLINE_SECONDS, CollectionBudget, SourceReader
from collectors.source import (
    make_source_engine,
    read_source,
)
from db.catalogue import Catalogue
from db.metrics import METRICS_BY_ID

log = logging.getLogger(__name__)

_STRING_OR_COMMENT = re.compile(
    r"'(?:[^']|'')*'"  # string literal
    r'|"(?:[^"]|"")*"'  # quoted identifier
    r"|--[^\n]*"  # line comment
    r"|/\*.*?\*/",  # block comment
    re.DOTALL,
)


def query_problem(sql: str) -> str | None:
    """Why ``sql`` is not a single SELECT, or None when it is one."""
    code = _STRING_OR_COMMENT.sub(" ", sql).strip().rstrip(";").strip()
    if not code:
        return "empty query"
    if ";" in code:
        return "more than one statement"
    first = code.split(None, 1)[0].lower()
    if first not in ("select", "with"):
        return f"not a SELECT (starts with {first.upper()})"
    return None


def _error(metric_id: str, path: Path, reason: str) -> SourceQueryConfigError:
    return SourceQueryConfigError(
        f"Invalid setting SOURCE_QUERIES_FILE ({path}): {metric_id}: {reason}"
    )


def read_toml(path: Path, setting: str, error: type[SettingsError]) -> dict[str, Any]:
    """A TOML file a setting names; unreadable or invalid: one line naming the setting."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"Invalid setting {setting}: cannot read {path} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"Invalid setting {setting} ({path}): not valid TOML ({exc})") from None


def load_query_file(path: Path) -> dict[str, str]:
    """Parse and statically check the replacement queries (no database access)."""
    data = read_toml(path, "SOURCE_QUERIES_FILE", SourceQueryConfigError)
    replacements: dict[str, str] = {}
    for metric_id, sql in data.items():
        if metric_id not in DEFAULT_QUERIES:
            known = ", ".join(DEFAULT_QUERIES)
            raise _error(metric_id, path, f"unknown metric id (known: {known})")
        if not isinstance(sql, str):
            raise _error(metric_id, path, "the value must be a string holding one SELECT")
        reason = query_problem(sql)
        if reason:
            raise _error(metric_id, path, reason)
        replacements[metric_id] = sql.strip().rstrip(";").strip()
    return replacements


def collection_budget(settings: Settings) -> CollectionBudget:
    """One slot's wall-clock budget (METRICS_COLLECTION_DEADLINE_SECONDS)."""
    return CollectionBudget(settings.metrics_collection_deadline_seconds)


def source_engine(settings: Settings, url: str | None = None) -> Engine:
    """The read-only engine of the source at ``url`` (default: SOURCE_DATABASE_URL's), its
    connect timeout an attempt's share of the budget."""
    return make_source_engine(
        url or settings.source_url,
        connect_timeout=collection_budget(settings).nominal_attempt_seconds,
    )


def source_readers(settings: Settings, catalogue: Catalogue) -> list[SourceReader]:
    """What ``collect_sources`` reads: every source of the catalogue, the default first, on
    its own read-only engine (the caller disposes of them)."""
    return [
        SourceReader.of(catalogue, info.name, source_engine(settings, info.url))
        for info in catalogue.sources
    ]


def effective_queries(settings: Settings) -> dict[str, str]:
    """Default queries with the file's replacements applied (statically checked)."""
    queries = dict(DEFAULT_QUERIES)
    if settings.source_queries_file is not None:
        queries.update(load_query_file(settings.source_queries_file))
    return queries


def verify_on_source(
    engine: Engine,
    replacements: dict[str, str],
    path: Path,
    timeout_ms: int,
    now: datetime | None = None,
    *,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
) -> None:
    """Run the replacements read-only on the source (one snapshot, within the deadline);
    each must return one integer ≥ 0.

    An unreachable or silent source is only logged (the dashboard still starts and collection
    records failures); a query the source rejects or a bad result stops start-up.
    """
    now = now or datetime.now(UTC)
    try:
        read_source(
            engine, replacements, now, timeout_ms, deadline=time.monotonic() + deadline_seconds
        )
    except CollectionTimeout as exc:
        log.warning("Source database did not answer, replacement queries not verified: %s", exc)
    except CollectionError as exc:
        if exc.metric_id is None:
            log.warning("Source database unreachable, replacement queries not verified: %s", exc)
            return
        raise _error(exc.metric_id, path, exc.reason) from None


def check_source_queries(settings: Settings) -> dict[str, str]:
    """Start-up check of SOURCE_QUERIES_FILE; returns the effective queries."""
    queries = effective_queries(settings)
    path = settings.source_queries_file
    if path is None:
        return queries
    replacements = load_query_file(path)
    engine = source_engine(settings)
    try:
        verify_on_source(
            engine,
            replacements,
            path,
            settings.source_statement_timeout_ms,
            deadline_seconds=settings.metrics_collection_deadline_seconds,
        )
    finally:
        engine.dispose()
    return queries


def probe_source(
    settings: Settings, queries: Mapping[str, str], now: datetime | None = None
) -> dict[str, str]:
    """Run each source query once, read-only, all within the collection deadline; the
    failing metrics with their cause (English), each also logged as one warning line.

    Meant for start-up, so an operator learns of a wrong SOURCE_DATABASE_URL or a missing
    table at once, not an hour later. Each query gets its own snapshot, so one failure does
    not hide the others; when the source itself cannot be reached, every metric gets that
    cause without six more tries.
    """
    now = now or datetime.now(UTC)
    end = time.monotonic() + settings.metrics_collection_deadline_seconds
    engine = source_engine(settings)
    problems: dict[str, str] = {}
    try:
        pending = list(queries.items())
        for index, (metric_id, sql) in enumerate(pending):
            try:
                read_source(
                    engine,
                    {metric_id: sql},
                    now,
                    settings.source_statement_timeout_ms,
                    deadline=end,
                )
            except CollectionError as exc:
                if exc.metric_id is not None:
                    problems[metric_id] = exc.reason
                    continue
                for rest, _sql in pending[index:]:  # the source itself failed
                    problems[rest] = exc.reason
                break
    finally:
        engine.dispose()
    for metric_id, reason in problems.items():
        log.warning(
            "Source check: metric %s (%s) fails: %s",
            metric_id,
            METRICS_BY_ID[metric_id].name_en,
            reason,
        )
    if not problems:
        log.info("Source check: all %d metric queries answered", len(queries))
    return problems

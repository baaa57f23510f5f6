"""METRICS_CATALOGUE_FILE: the extra metrics and the overrides of the six, read and checked
once at start-up into a ``db.catalogue.Catalogue`` that is passed to whoever needs it.

The file (TOML) has one table per metric under ``metrics``::

    [metrics.messages]
    name_ko = "메시지 수"
    name_en = "Messages"
    unit = "count"            # count, bytes, seconds, percent, or a word of your own
    kind = "per_slot"         # or "gauge"
    rollup = "sum"            # last, max, average (avg), sum
    query = '''SELECT count(*) FROM messages
               WHERE created_at >= :slot_start AND created_at < :slot_end'''

A built-in id (``tag_count`` …) may change only ``name_ko``, ``name_en``, ``unit``,
``unit_ko``, ``unit_en`` and ``query``. Every query gets the static single-SELECT check of
SOURCE_QUERIES_FILE and, like it, one read-only run on the source; a bad entry raises
``CatalogueConfigError``: one line, ``Invalid setting METRICS_CATALOGUE_FILE (path): <id>:
<reason>``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

from admin_metrics.settings import Settings
from collectors.errors import CatalogueConfigError, CollectionError, CollectionTimeout
from collectors.queries import (
    check_source_queries,
    load_query_file,
    query_problem,
    read_toml,
    source_engine,
)
from collectors.source import bind_names, check_catalogue_queries
from db.catalogue import (
    KINDS,
    ROLLUPS,
    UNIT_WORDS,
    Catalogue,
    CatalogueMetric,
    Kind,
    Rollup,
    builtin_metric,
)
from db.metrics import METRICS, METRICS_BY_ID

log = logging.getLogger(__name__)

SETTING: Final = "METRICS_CATALOGUE_FILE"
METRIC_ID: Final = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
UNIT_WORD: Final = re.compile(r"^\S{1,20}$")
NAME_MAX: Final = 100
BUILTIN_KEYS: Final = frozenset({"name_ko", "name_en", "unit", "unit_ko", "unit_en", "query"})
EXTRA_KEYS: Final = BUILTIN_KEYS | {"kind", "rollup", "labelled"}
REQUIRED_KEYS: Final = ("name_ko", "name_en", "unit", "kind", "rollup", "query")
ROLLUP_ALIASES: Final = {"avg": "average"}
# The parameters each kind's query may take (see ``collectors.source.slot_binds``).
KIND_BINDS: Final = {
    "gauge": frozenset({"now"}),
    "per_slot": frozenset({"slot_start", "slot_end"}),
}


def _error(path: Path, metric_id: str, reason: str) -> CatalogueConfigError:
    return CatalogueConfigError(f"Invalid setting {SETTING} ({path}): {metric_id}: {reason}")


def _text(entry: dict[str, Any], key: str, fail: Any, limit: int = NAME_MAX) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{key} must be a non-empty string")
    if len(value.strip()) > limit:
        raise fail(f"{key} is longer than {limit} characters")
    return value.strip()


def _entry(path: Path, metric_id: str, entry: object) -> CatalogueMetric:
    """One table of the file as a catalogue metric (statically checked)."""

    def fail(reason: str) -> CatalogueConfigError:
        return _error(path, metric_id, reason)

    if not METRIC_ID.match(metric_id):
        raise fail("an id is 1–50 lower-case letters, digits and '_', starting with a letter")
    if not isinstance(entry, dict):
        raise fail("must be a table ([metrics.<id>]) of name_ko, name_en, unit, kind, …")
    builtin = METRICS_BY_ID.get(metric_id)
    allowed = BUILTIN_KEYS if builtin else EXTRA_KEYS
    unknown = sorted(set(entry) - allowed)
    if unknown:
        if builtin and set(unknown) <= EXTRA_KEYS:
            raise fail(f"{unknown[0]} of a built-in metric cannot be changed")
        raise fail(f"unknown key {unknown[0]} (known: {', '.join(sorted(allowed))})")
    if not builtin:
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        if missing:
            raise fail(f"{missing[0]} is required")
    unit = _text(entry, "unit", fail)
    if unit is not None and not UNIT_WORD.match(unit):
        raise fail(f"unit must be count, bytes, seconds, percent or one word, not {unit!r}")
    query = entry.get("query")
    if query is not None:
        if not isinstance(query, str):
            raise fail("query must be a string holding one SELECT")
        problem = query_problem(query)
        if problem:
            raise fail(problem)
        query = query.strip().rstrip(";").strip()
    kind: Kind = "gauge"
    rollup: Rollup = "average"  # the six's: the rounded mean of the day's hours
    labelled = False
    if not builtin:
        if entry["kind"] not in KINDS:
            raise fail(f"kind must be gauge or per_slot, not {entry['kind']!r}")
        kind = cast("Kind", entry["kind"])
        raw = entry["rollup"]
        raw = ROLLUP_ALIASES.get(raw, raw) if isinstance(raw, str) else raw
        if raw not in ROLLUPS:
            raise fail(f"rollup must be last, max, average (avg) or sum, not {entry['rollup']!r}")
        rollup = cast("Rollup", raw)
        labelled = entry.get("labelled", False)
        if not isinstance(labelled, bool):
            raise fail("labelled must be true or false")
    if query is not None:
        _check_binds(query, kind, fail)
    unit_ko, unit_en = UNIT_WORDS.get(unit or "", (unit, unit))
    if builtin and unit is None:
        unit_ko, unit_en = builtin.unit_ko, builtin.unit_en
    return CatalogueMetric(
        id=metric_id,
        name_ko=_text(entry, "name_ko", fail) or (builtin.name_ko if builtin else ""),
        name_en=_text(entry, "name_en", fail) or (builtin.name_en if builtin else ""),
        unit=unit or ("bytes" if builtin and builtin.is_bytes else "count"),
        unit_ko=_text(entry, "unit_ko", fail, 20) or unit_ko or "",
        unit_en=_text(entry, "unit_en", fail, 20) or unit_en or "",
        kind=kind,
        rollup=rollup,
        query=query or "",  # a built-in without a query keeps its effective one
        labelled=labelled,
        builtin=builtin is not None,
    )


def _check_binds(query: str, kind: str, fail: Any) -> None:
    try:
        names = bind_names(query)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise fail(f"the query cannot be parsed ({exc})") from None
    allowed = KIND_BINDS[kind]
    unknown = sorted(names - allowed)
    if unknown:
        takes = " and ".join(f":{n}" for n in sorted(allowed))
        raise fail(f"a {kind} query takes only {takes}, not :{unknown[0]}")
    if kind == "per_slot" and names != allowed:
        raise fail("a per_slot query must use both :slot_start and :slot_end")


def load_catalogue_file(path: Path) -> list[CatalogueMetric]:
    """Parse and statically check the file (no database access); its entries in order."""
    data = read_toml(path, SETTING, CatalogueConfigError)
    extra = sorted(set(data) - {"metrics"})
    if extra:
        raise CatalogueConfigError(
            f"Invalid setting {SETTING} ({path}): unknown top-level key {extra[0]} "
            "(metrics are tables [metrics.<id>])"
        )
    metrics = data.get("metrics", {})
    if not isinstance(metrics, dict):
        raise CatalogueConfigError(
            f"Invalid setting {SETTING} ({path}): metrics must be tables [metrics.<id>]"
        )
    return [_entry(path, metric_id, entry) for metric_id, entry in metrics.items()]


def build_catalogue(queries: dict[str, str], entries: list[CatalogueMetric]) -> Catalogue:
    """The six (with ``queries``, overridden by their entries) followed by the extras."""
    overrides = {e.id: e for e in entries if e.builtin}
    six = []
    for info in METRICS:
        base = overrides.get(info.id) or builtin_metric(info, "")
        six.append(replace(base, query=base.query or queries[info.id]))
    return Catalogue((*six, *(e for e in entries if not e.builtin)))


def check_catalogue(settings: Settings) -> Catalogue:
    """Start-up check of SOURCE_QUERIES_FILE and METRICS_CATALOGUE_FILE; the catalogue.

    The file's queries run once, read-only, on the source within the collection deadline
    (as SOURCE_QUERIES_FILE's replacements do): a source that cannot be reached is only
    logged; a query it rejects, or a result of the wrong shape, stops start-up.
    """
    queries = check_source_queries(settings)
    path = settings.metrics_catalogue_file
    if path is None:
        return Catalogue.builtin(queries)
    entries = load_catalogue_file(path)
    replacements = settings.source_queries_file
    replaced = set(load_query_file(replacements)) if replacements is not None else set()
    for entry in entries:
        if entry.builtin and entry.query and entry.id in replaced:
            raise _error(path, entry.id, "its query is also replaced in SOURCE_QUERIES_FILE")
    catalogue = build_catalogue(queries, entries)
    overridden = {e.id: e.query for e in entries if e.builtin and e.query}
    engine = source_engine(settings)
    try:
        check_catalogue_queries(
            engine,
            overridden,
            catalogue.extras,
            datetime.now(UTC),
            settings.source_statement_timeout_ms,
            max_labels=settings.metrics_max_labels,
            deadline=time.monotonic() + settings.metrics_collection_deadline_seconds,
        )
    except CollectionTimeout as exc:
        log.warning("Source database did not answer, catalogue queries not verified: %s", exc)
    except CollectionError as exc:
        if exc.metric_id is None:
            log.warning("Source database unreachable, catalogue queries not verified: %s", exc)
        else:
            raise _error(path, exc.metric_id, exc.reason) from None
    finally:
        engine.dispose()
    return catalogue

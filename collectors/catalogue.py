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

Further source instances, collected in the same slot as the default one
(SOURCE_DATABASE_URL), are tables under ``sources``::

    [sources.branch_office]
    url_env = "BRANCH_SOURCE_URL"   # or url = "postgresql+psycopg://…" (exactly one)
    name_ko = "지사"                 # optional display names (default: the name)
    name_en = "Branch office"

    [sources.branch_office.queries]  # optional: this source's own query for a metric
    tag_count = "SELECT count(*) FROM labels"

A name is 1–50 lower-case letters, digits and '_' (``default`` and ``all`` are taken); a bad
entry is one line naming ``sources.<name>``. Each source's queries run once, read-only, at
start-up: a query it rejects stops start-up, an unreachable source is only logged (its URL
shown without the password).
"""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from admin_metrics.settings import Settings, environment_value
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
    SourceInfo,
    builtin_metric,
)
from db.metrics import DEFAULT_SOURCE, METRICS, METRICS_BY_ID

log = logging.getLogger(__name__)

SETTING: Final = "METRICS_CATALOGUE_FILE"
METRIC_ID: Final = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
UNIT_WORD: Final = re.compile(r"^\S{1,20}$")
NAME_MAX: Final = 100
BUILTIN_KEYS: Final = frozenset({"name_ko", "name_en", "unit", "unit_ko", "unit_en", "query"})
EXTRA_KEYS: Final = BUILTIN_KEYS | {"kind", "rollup", "labelled"}
REQUIRED_KEYS: Final = ("name_ko", "name_en", "unit", "kind", "rollup", "query")
ROLLUP_ALIASES: Final = {"avg": "average"}
SOURCE_NAME: Final = re.compile(r"^[a-z0-9_]{1,50}$")
# ``default`` is SOURCE_DATABASE_URL's source; ``all`` is the page's every-source view.
RESERVED_SOURCES: Final = frozenset({DEFAULT_SOURCE, "all"})
SOURCE_KEYS: Final = frozenset({"url", "url_env", "name_ko", "name_en", "queries"})
ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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


def masked_url(url: str) -> str:
    """A source URL as logs and messages show it: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _source_url(entry: dict[str, Any], fail: Any) -> str:
    """The URL of ``url`` or of the variable ``url_env`` names (exactly one of them)."""
    if ("url" in entry) == ("url_env" in entry):
        raise fail("give exactly one of url and url_env (the variable holding the URL)")
    if "url_env" in entry:
        variable = entry["url_env"]
        if not isinstance(variable, str) or not ENV_NAME.match(variable):
            raise fail("url_env must be the name of an environment variable")
        url = environment_value(variable)
        if url is None:
            raise fail(f"url_env names {variable}, which is not set")
    else:
        url = entry["url"]
        if not isinstance(url, str) or not url.strip():
            raise fail("url must be a database URL such as postgresql+psycopg://…")
    try:
        make_url(url.strip())
    except ArgumentError:
        # The value may hold a password: never repeated.
        raise fail("url is not a database URL (such as postgresql+psycopg://…)") from None
    return url.strip()


def _source(
    path: Path, name: str, entry: object, metrics: dict[str, CatalogueMetric]
) -> SourceInfo:
    """One ``[sources.<name>]`` table as a source (statically checked; its URL resolved)."""

    def fail(reason: str) -> CatalogueConfigError:
        return _error(path, f"sources.{name}", reason)

    if not SOURCE_NAME.match(name):
        raise fail("a source name is 1–50 lower-case letters, digits and '_'")
    if name in RESERVED_SOURCES:
        raise fail(f"the name {name!r} is reserved (default is SOURCE_DATABASE_URL)")
    if not isinstance(entry, dict):
        raise fail("must be a table ([sources.<name>]) of url or url_env, name_ko, name_en")
    unknown = sorted(set(entry) - SOURCE_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]} (known: {', '.join(sorted(SOURCE_KEYS))})")
    url = _source_url(entry, fail)
    overrides = entry.get("queries", {})
    if not isinstance(overrides, dict):
        raise fail("queries must be a table ([sources.<name>.queries]) of metric id = query")
    queries: dict[str, str] = {}
    for metric_id, query in overrides.items():
        metric = metrics.get(metric_id)
        if metric is None:
            raise fail(f"queries: unknown metric {metric_id} (known: {', '.join(metrics)})")
        if not isinstance(query, str):
            raise fail(f"queries: {metric_id} must be a string holding one SELECT")
        problem = query_problem(query)
        if problem:
            raise fail(f"queries: {metric_id}: {problem}")
        query = query.strip().rstrip(";").strip()
        _check_binds(query, metric.kind, lambda why, m=metric_id: fail(f"queries: {m}: {why}"))
        queries[metric_id] = query
    return SourceInfo(
        name=name,
        name_ko=_text(entry, "name_ko", fail) or name,
        name_en=_text(entry, "name_en", fail) or name,
        url=url,
        queries=queries,
    )


def _tables(path: Path, data: dict[str, Any], key: str, form: str) -> dict[str, Any]:
    tables = data.get(key, {})
    if not isinstance(tables, dict):
        raise CatalogueConfigError(
            f"Invalid setting {SETTING} ({path}): {key} must be tables [{key}.<{form}>]"
        )
    return tables


def load_catalogue_file(path: Path) -> list[CatalogueMetric]:
    """Parse and statically check the file's metrics (no database access), in order."""
    return _load(path)[0]


def _load(path: Path) -> tuple[list[CatalogueMetric], dict[str, Any]]:
    """The file's metrics (statically checked) and its raw ``sources`` tables."""
    data = read_toml(path, SETTING, CatalogueConfigError)
    extra = sorted(set(data) - {"metrics", "sources"})
    if extra:
        raise CatalogueConfigError(
            f"Invalid setting {SETTING} ({path}): unknown top-level key {extra[0]} "
            "(metrics are tables [metrics.<id>], sources [sources.<name>])"
        )
    metrics = _tables(path, data, "metrics", "id")
    entries = [_entry(path, metric_id, entry) for metric_id, entry in metrics.items()]
    return entries, _tables(path, data, "sources", "name")


def configured_sources(settings: Settings) -> tuple[str, ...]:
    """The source names METRICS_CATALOGUE_FILE declares, the default first, read without
    touching any database or resolving URLs (for ``admin-metrics status``)."""
    path = settings.metrics_catalogue_file
    return (DEFAULT_SOURCE, *(_load(path)[1] if path is not None else ()))


def build_catalogue(queries: dict[str, str], entries: list[CatalogueMetric]) -> Catalogue:
    """The six (with ``queries``, overridden by their entries) followed by the extras; the
    default source only."""
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
    entries, source_tables = _load(path)
    replacements = settings.source_queries_file
    replaced = set(load_query_file(replacements)) if replacements is not None else set()
    for entry in entries:
        if entry.builtin and entry.query and entry.id in replaced:
            raise _error(path, entry.id, "its query is also replaced in SOURCE_QUERIES_FILE")
    catalogue = build_catalogue(queries, entries)
    metrics = {m.id: m for m in catalogue.metrics}
    sources = tuple(_source(path, name, entry, metrics) for name, entry in source_tables.items())
    catalogue = replace(catalogue, sources=(*catalogue.sources, *sources))
    overridden = {e.id: e.query for e in entries if e.builtin and e.query}
    # Every source is checked at the same time, so sources that do not answer cost start-up
    # one deadline, not one each; the first failure in the file's order is the one raised.
    with ThreadPoolExecutor(1 + len(sources), thread_name_prefix="catalogue-check") as pool:
        checks = [
            pool.submit(
                _check_on_source,
                settings,
                path,
                source_engine(settings),
                overridden,
                catalogue.extras,
                "",
            )
        ]
        for source in sources:
            assert source.url is not None
            checks.append(
                pool.submit(
                    _check_on_source,
                    settings,
                    path,
                    source_engine(settings, source.url),
                    catalogue.builtin_queries_for(source.name),
                    catalogue.extras_for(source.name),
                    f"sources.{source.name}",
                    masked_url(source.url),
                )
            )
    for check in checks:
        check.result()
    return catalogue


def _check_on_source(
    settings: Settings,
    path: Path,
    engine: Engine,
    builtin: dict[str, str],
    extras: tuple[CatalogueMetric, ...],
    where: str,
    shown_url: str = "",
) -> None:
    """Run the queries once, read-only, on one source (``where``: the ``sources.<name>`` a
    failure names, '' for the default source); the engine is disposed of."""
    which = f"Source {where.removeprefix('sources.')} ({shown_url})" if where else "Source"
    try:
        check_catalogue_queries(
            engine,
            builtin,
            extras,
            datetime.now(UTC),
            settings.source_statement_timeout_ms,
            max_labels=settings.metrics_max_labels,
            deadline=time.monotonic() + settings.metrics_collection_deadline_seconds,
        )
    except CollectionTimeout as exc:
        log.warning("%s database did not answer, catalogue queries not verified: %s", which, exc)
    except CollectionError as exc:
        if exc.metric_id is None:
            log.warning("%s database unreachable, catalogue queries not verified: %s", which, exc)
        else:
            prefix = f"{where}: " if where else ""
            raise _error(path, f"{prefix}{exc.metric_id}", exc.reason) from None
    finally:
        engine.dispose()

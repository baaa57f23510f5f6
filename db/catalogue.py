"""The metric catalogue as a value: the six built-in metrics plus the extra ones of
METRICS_CATALOGUE_FILE (read and checked by ``collectors.catalogue``).

It also names the source instances the metrics are read from: the default one
(SOURCE_DATABASE_URL) and the file's ``[sources.<name>]``, each of which may run its own query
for any metric.

A ``Catalogue`` is built once at start-up and passed to whoever needs it (the collector,
the API, Prometheus); nothing imports a shared, changing instance. The built-in entries are
the six of ``db.metrics``; the file may rename them, change their unit or their query, never
their kind or rollup (a gauge averaged per day, rounded half up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from db.metrics import DEFAULT_SOURCE, METRICS, MetricInfo

Kind = Literal["gauge", "per_slot"]
KINDS: Final[tuple[str, ...]] = ("gauge", "per_slot")
Rollup = Literal["last", "max", "average", "sum"]
ROLLUPS: Final[tuple[str, ...]] = ("last", "max", "average", "sum")
UnitKind = Literal["count", "bytes", "seconds", "percent", "custom"]
Combine = Literal["sum", "average"]
# The standard units and the words the page shows for them (Korean, English).
UNIT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "count": ("개", "count"),
    "bytes": ("bytes", "bytes"),
    "seconds": ("초", "seconds"),
    "percent": ("%", "%"),
}
# The unlabelled series of a metric is stored with this label.
NO_LABEL: Final = ""
# The ``source`` that asks for every source's values combined (``CatalogueMetric.across_sources``).
ALL_SOURCES: Final = "all"


@dataclass(frozen=True, slots=True)
class CatalogueMetric:
    """One metric: what it is called, how it is measured and combined per day.

    ``unit`` is ``count``, ``bytes``, ``seconds``, ``percent`` or a custom word; ``unit_ko`` /
    ``unit_en`` are the words shown beside a value. ``query`` is the source query (``:now``
    bound for a gauge, ``:slot_start``/``:slot_end`` for a per-slot count); a ``labelled``
    query returns ``(label, value)`` rows, one series per label.
    """

    id: str
    name_ko: str
    name_en: str
    unit: str
    unit_ko: str
    unit_en: str
    kind: Kind
    rollup: Rollup
    query: str
    labelled: bool = False
    builtin: bool = False

    @property
    def unit_kind(self) -> UnitKind:
        return self.unit if self.unit in UNIT_WORDS else "custom"  # type: ignore[return-value]

    @property
    def across_sources(self) -> Combine:
        """How one slot's values of several sources combine into the "all" view.

        Counts, bytes and custom units measure separate instances' own things (their users,
        their documents, their disk): the whole is their ``sum``. Seconds and percents are
        per-instance rates or durations, which never add up (two 60 % instances are not at
        120 %): the ``average`` (unweighted, rounded half up: the store holds integers)
        reads as a typical instance."""
        return "average" if self.unit_kind in ("seconds", "percent") else "sum"

    def name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en

    @property
    def info(self) -> MetricInfo:
        """Its names and unit words as the page's figures and values read them."""
        return MetricInfo(
            self.id,
            self.name_ko,
            self.name_en,
            self.unit_ko,
            self.unit_en,
            is_bytes=self.unit_kind == "bytes",
        )


def builtin_metric(info: MetricInfo, query: str) -> CatalogueMetric:
    """The catalogue entry of one of the six, with its effective query."""
    return CatalogueMetric(
        id=info.id,
        name_ko=info.name_ko,
        name_en=info.name_en,
        unit="bytes" if info.is_bytes else "count",
        unit_ko=info.unit_ko,
        unit_en=info.unit_en,
        kind="gauge",
        rollup="average",
        query=query,
        builtin=True,
    )


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source instance every metric is read from, collected in the same slot.

    ``url`` is None for the default source (SOURCE_DATABASE_URL); it is never shown (it may
    hold a password). ``queries``: metric id → the query this source runs instead of the
    catalogue's (a schema of its own).
    """

    name: str
    name_ko: str
    name_en: str
    url: str | None = field(default=None, repr=False)
    queries: Mapping[str, str] = field(default_factory=dict)

    def display_name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


DEFAULT_SOURCE_INFO: Final = SourceInfo(DEFAULT_SOURCE, "기본 소스", "Default source")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The metrics, the six built-in ones first (in ``db.metrics`` order), then the extras
    in the file's order; the sources, the default one first."""

    metrics: tuple[CatalogueMetric, ...]
    sources: tuple[SourceInfo, ...] = (DEFAULT_SOURCE_INFO,)

    @classmethod
    def builtin(cls, queries: Mapping[str, str]) -> Catalogue:
        """Only the six, with ``queries`` (metric id → effective query)."""
        return cls(tuple(builtin_metric(m, queries[m.id]) for m in METRICS))

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    def source(self, name: str) -> SourceInfo | None:
        return next((s for s in self.sources if s.name == name), None)

    def query_for(self, metric: CatalogueMetric, source: str) -> str:
        """The query ``metric`` runs on ``source``: the source's override, else its own."""
        info = self.source(source)
        return info.queries.get(metric.id, metric.query) if info else metric.query

    def metrics_for(self, source: str) -> tuple[CatalogueMetric, ...]:
        """The metrics as ``source`` reads them (its query overrides applied)."""
        return tuple(replace(m, query=self.query_for(m, source)) for m in self.metrics)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.metrics)

    def get(self, metric_id: str) -> CatalogueMetric | None:
        return next((m for m in self.metrics if m.id == metric_id), None)

    @property
    def extras(self) -> tuple[CatalogueMetric, ...]:
        """The metrics beyond the six, collected beside them."""
        return self.extras_for(DEFAULT_SOURCE)

    @property
    def builtin_queries(self) -> dict[str, str]:
        """The six's effective queries by metric id (what ``collect_slot`` reads at once)."""
        return self.builtin_queries_for(DEFAULT_SOURCE)

    def extras_for(self, source: str) -> tuple[CatalogueMetric, ...]:
        """The extra metrics with the queries ``source`` runs."""
        return tuple(m for m in self.metrics_for(source) if not m.builtin)

    def builtin_queries_for(self, source: str) -> dict[str, str]:
        """The six's queries on ``source`` by metric id."""
        return {m.id: m.query for m in self.metrics_for(source) if m.builtin}

    @property
    def rollups(self) -> dict[str, Rollup]:
        """How each metric's daily value combines its hours, by metric id."""
        return {m.id: m.rollup for m in self.metrics}

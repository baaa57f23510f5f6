"""Read-side query functions: ``(session, params) -> DataFrame`` with explicit dtypes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from db.catalogue import ALL_SOURCES, NO_LABEL, CatalogueMetric, Combine, builtin_metric
from db.engine import driver_rows
from db.metrics import DEFAULT_SOURCE, METRIC_IDS, METRICS_BY_ID
from db.models import CollectionClaim, MetricCollectionFailure, MetricSnapshot
from db.types import UTCDateTime

SERIES_COLUMNS = {"timestamp": "datetime64[ns, UTC]", "value": "int64"}


def _time_column(dialect: str) -> ColumnElement[Any]:
    """``collected_at`` in a form pandas converts in one vectorised step.

    Creating a Python datetime per row (and pandas reading them back) was most of the cost
    of a year of hourly rows: PostgreSQL sends epoch microseconds, SQLite its stored text.
    """
    column = MetricSnapshot.collected_at
    if dialect == "postgresql":
        # ``date_part`` is double precision: exact to the microsecond until 2106 (and for
        # whole seconds far beyond); ``extract`` (numeric since PostgreSQL 14) cost the
        # server half again per row.
        return cast(func.round(func.date_part("epoch", column) * 1_000_000), BigInteger)
    return cast(type_coerce(column, String()), String())


@functools.cache
def _series_statement(dialect: str) -> Select[Any]:
    """One series' rows in ``[:start, :end)``: built once per dialect (building it was a
    fifth of a small API call), the values bound per call."""
    column = MetricSnapshot.collected_at
    return (
        select(_time_column(dialect), MetricSnapshot.value)
        .where(
            MetricSnapshot.metric_type == bindparam("metric_type"),
            MetricSnapshot.source == bindparam("source"),
            MetricSnapshot.label == bindparam("label"),
            MetricSnapshot.granularity == bindparam("granularity"),
            column >= bindparam("start", type_=column.type),
            column < bindparam("end", type_=column.type),
        )
        .order_by(column)
    )


class SeriesArrays(NamedTuple):
    """One series as two arrays, oldest first: ``stamps`` (datetime64[ns], UTC) and
    ``values`` (int64). What the API sends is made from these without a DataFrame."""

    stamps: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, df: pd.DataFrame) -> SeriesArrays:
        return cls(df["timestamp"].to_numpy(dtype="datetime64[ns]"), df["value"].to_numpy(np.int64))

    def frame(self) -> pd.DataFrame:
        """The ``SERIES_COLUMNS`` frame of these rows."""
        stamps = pd.DatetimeIndex(self.stamps).tz_localize("UTC")
        return pd.DataFrame({"timestamp": stamps, "value": self.values})


def _series_arrays(dialect: str, rows: Sequence[Any]) -> SeriesArrays:
    if not rows:
        return SeriesArrays(np.empty(0, "datetime64[ns]"), np.empty(0, np.int64))
    stamps, values = zip(*rows, strict=True)
    if dialect == "postgresql":  # epoch microseconds: one array, no datetime per row
        epoch_ns = np.fromiter(stamps, np.int64, len(stamps)) * 1000
        times = epoch_ns.view("datetime64[ns]")
    else:
        parsed = pd.to_datetime(list(stamps), format="ISO8601", utc=True)
        times = parsed.to_numpy(dtype="datetime64[ns]")
    return SeriesArrays(times, np.fromiter(values, np.int64, len(values)))


def timeseries_arrays(
    db: Session | Connection,
    metric_type: str,
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
    label: str = NO_LABEL,
) -> SeriesArrays:
    """One series' snapshots with ``start <= collected_at < end``, oldest first: a metric of
    a source, its unlabelled series unless ``label`` is given.

    Half-open like every period (``db.periods``): adjacent periods never share a slot.
    Served by the index of ``unique_metric_snapshot`` (metric_type, source, label,
    granularity, collected_at).
    """
    params = _range_params(metric_type, label, granularity, start, end)
    dialect, rows = _read(db, _series_statement, {**params, "source": source})
    return _series_arrays(dialect, rows)


def _range_params(
    metric_type: str, label: str, granularity: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """The bound values of one series' rows in ``[start, end)``."""
    return {
        "metric_type": metric_type,
        "label": label,
        "granularity": granularity,
        "start": start,
        "end": end,
    }


def _read(
    db: Session | Connection,
    statement_of: Callable[[str], Select[Any]],
    params: dict[str, Any],
) -> tuple[str, Sequence[tuple[Any, ...]]]:
    """The store's dialect and the rows of its form of a statement (``driver_rows``)."""
    connection = db if isinstance(db, Connection) else db.connection()
    dialect = connection.dialect.name
    return dialect, driver_rows(connection, statement_of(dialect), params)


def combine_series(parts: Sequence[SeriesArrays], how: Combine) -> SeriesArrays:
    """Several series (each with one value a slot) as one: per slot the ``sum`` or the
    ``average`` (rounded half up) of their values.

    A slot that one of the non-empty parts lacks is left out (a gap on the graph), never
    combined from the parts that have it: a source that missed an hour would otherwise show
    as a dip of the whole (or, averaged, a jump). A part with no rows at all (a source that
    was not there in the range) does not count.
    """
    present = [part for part in parts if len(part.values)]
    if not present:
        return SeriesArrays(np.empty(0, "datetime64[ns]"), np.empty(0, np.int64))
    stamps = np.concatenate([part.stamps for part in present])
    values = np.concatenate([part.values for part in present])
    order = np.argsort(stamps, kind="stable")
    stamps, values = stamps[order], values[order]
    slots, first, counts = np.unique(stamps, return_index=True, return_counts=True)
    totals = np.add.reduceat(values, first)
    if how == "average":
        totals = (2 * totals + counts) // (2 * counts)  # half up (values are never negative)
    whole = counts == len(present)
    return SeriesArrays(slots[whole], totals[whole])


@functools.cache
def _sources_statement(dialect: str) -> Select[Any]:
    """One series' rows in ``[:start, :end)`` of every source, grouped by source."""
    column = MetricSnapshot.collected_at
    return (
        select(MetricSnapshot.source, _time_column(dialect), MetricSnapshot.value)
        .where(
            MetricSnapshot.metric_type == bindparam("metric_type"),
            MetricSnapshot.label == bindparam("label"),
            MetricSnapshot.granularity == bindparam("granularity"),
            column >= bindparam("start", type_=column.type),
            column < bindparam("end", type_=column.type),
        )
        .order_by(MetricSnapshot.source, column)
    )


def series_arrays(
    db: Session | Connection,
    metric: CatalogueMetric,
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
    label: str = NO_LABEL,
) -> SeriesArrays:
    """``timeseries_arrays`` of one source, or with ``source="all"`` every source's series
    combined per slot by the metric's rule (``CatalogueMetric.across_sources``,
    ``combine_series``): the one reader of the page and the API."""
    if source != ALL_SOURCES:
        return timeseries_arrays(db, metric.id, granularity, start, end, source=source, label=label)
    params = _range_params(metric.id, label, granularity, start, end)
    dialect, rows = _read(db, _sources_statement, params)
    by_source: dict[str, list[Any]] = {}
    for row_source, stamp, value in rows:
        by_source.setdefault(str(row_source), []).append((stamp, value))
    parts = [_series_arrays(dialect, part) for part in by_source.values()]
    return combine_series(parts, metric.across_sources)


def timeseries(
    db: Session | Connection,
    metric_type: str,
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
    label: str = NO_LABEL,
) -> pd.DataFrame:
    """``timeseries_arrays`` as a frame: ``timestamp`` (datetime64[ns, UTC]), ``value`` (int64)."""
    return timeseries_arrays(
        db, metric_type, granularity, start, end, source=source, label=label
    ).frame()


def timeseries_many(
    session: Session,
    metric_types: list[str] | tuple[str, ...],
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
) -> dict[str, pd.DataFrame]:
    """The six's series of a source (or ``all``, ``series_arrays``) as frames, keyed by
    metric id (in the order given)."""
    return {
        m: series_arrays(
            session, builtin_metric(METRICS_BY_ID[m], ""), granularity, start, end, source=source
        ).frame()
        for m in metric_types
    }


LABELLED_COLUMNS = {
    "timestamp": "datetime64[ns, UTC]",
    "metric_type": "string",
    "source": "string",
    "label": "string",
    "value": "int64",
}


def series_rows(
    session: Session,
    metric_types: Sequence[str],
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
) -> pd.DataFrame:
    """Every series (each label) of ``metric_types`` of one source (``all``: of every
    source, each row with its own) in ``[start, end)``, one row per stored value, in the
    order metric (as given), source, label, time: the long form an export of catalogue
    metrics writes. Columns: ``LABELLED_COLUMNS``."""
    if not metric_types:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in LABELLED_COLUMNS.items()})
    dialect = session.get_bind().dialect.name
    column = MetricSnapshot.collected_at
    rows = session.execute(
        select(
            _time_column(dialect),
            MetricSnapshot.metric_type,
            MetricSnapshot.label,
            MetricSnapshot.value,
            MetricSnapshot.source,
        ).where(
            MetricSnapshot.metric_type.in_(list(metric_types)),
            *([] if source == ALL_SOURCES else [MetricSnapshot.source == source]),
            MetricSnapshot.granularity == granularity,
            column >= start,
            column < end,
        )
    ).all()
    arrays = _series_arrays(dialect, [(r[0], r[3]) for r in rows])
    frame = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(arrays.stamps).tz_localize("UTC"),
            "metric_type": pd.array([r[1] for r in rows], dtype="string"),
            "source": pd.array([r[4] for r in rows], dtype="string"),
            "label": pd.array([r[2] for r in rows], dtype="string"),
            "value": arrays.values,
        }
    )
    order = {m: i for i, m in enumerate(metric_types)}
    return frame.sort_values(
        ["metric_type", "source", "label", "timestamp"],
        key=lambda c: c.map(order) if c.name == "metric_type" else c,
        kind="stable",
    ).reset_index(drop=True)


def series_many(
    session: Session,
    metrics: Sequence[CatalogueMetric],
    granularity: str,
    start: datetime,
    end: datetime,
    *,
    source: str = DEFAULT_SOURCE,
) -> dict[str, pd.DataFrame]:
    """``series_arrays`` frames of several unlabelled metrics of one source (or ``all``),
    keyed by metric id (in the order given)."""
    return {
        m.id: series_arrays(session, m, granularity, start, end, source=source).frame()
        for m in metrics
    }


def sources_and_labels(session: Session) -> tuple[list[str], dict[str, list[str]]]:
    """The sources the store holds (the default one first, the others by name) and the
    labels of each labelled metric (over every source, by name)."""
    seen = series_seen(session)
    sources = {source for by_source in seen.values() for source in by_source}
    labels = {
        metric: sorted({label for held in by_source.values() for label in held if label})
        for metric, by_source in seen.items()
    }
    return [DEFAULT_SOURCE, *sorted(sources - {DEFAULT_SOURCE})], labels


def latest_slot(session: Session, granularity: str = "hourly") -> datetime | None:
    """The newest ``collected_at`` of the given granularity, or None for an empty store."""
    stmt = select(func.max(MetricSnapshot.collected_at)).where(
        MetricSnapshot.granularity == granularity
    )
    value = session.execute(stmt).scalar_one_or_none()
    if value is None:
        return None
    # func.max() loses the column type on SQLite; normalise through the same type.
    return MetricSnapshot.__table__.c.collected_at.type.process_result_value(  # type: ignore[attr-defined, no-any-return]
        value, session.get_bind().dialect
    )


def latest_values(session: Session, granularity: str = "hourly") -> pd.DataFrame:
    """The values of the newest slot, one row per metric present.

    Columns: ``metric_type`` (string), ``timestamp`` (datetime64[ns, UTC]), ``value`` (int64).
    """
    slot = latest_slot(session, granularity)
    columns = {"metric_type": "string", "timestamp": "datetime64[ns, UTC]", "value": "int64"}
    if slot is None:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    stmt = select(MetricSnapshot.metric_type, MetricSnapshot.value).where(
        MetricSnapshot.granularity == granularity,
        MetricSnapshot.collected_at == slot,
        MetricSnapshot.source == DEFAULT_SOURCE,
        MetricSnapshot.label == NO_LABEL,
    )
    rows = {m: v for m, v in session.execute(stmt)}
    ordered = [m for m in METRIC_IDS if m in rows]
    return pd.DataFrame(
        {
            "metric_type": pd.array(ordered, dtype="string"),
            "timestamp": pd.DatetimeIndex([slot] * len(ordered)).astype("datetime64[ns, UTC]"),
            "value": pd.array([rows[m] for m in ordered], dtype="int64"),
        }
    )


def series_seen(session: Session) -> dict[str, dict[str, list[str]]]:
    """The series the store holds: metric id → source → labels ('' for unlabelled)."""
    rows = session.execute(
        select(MetricSnapshot.metric_type, MetricSnapshot.source, MetricSnapshot.label).distinct()
    )
    seen: dict[str, dict[str, list[str]]] = {}
    for metric, source, label in rows:
        seen.setdefault(str(metric), {}).setdefault(str(source), []).append(str(label))
    return seen


def latest_series(session: Session, granularity: str = "hourly") -> pd.DataFrame:
    """Every series' value at the newest slot (the six, the catalogue's extras, per label).

    Columns: ``metric_type``, ``source``, ``label`` (string), ``value`` (int64).
    """
    slot = latest_slot(session, granularity)
    rows = (
        session.execute(
            select(
                MetricSnapshot.metric_type,
                MetricSnapshot.source,
                MetricSnapshot.label,
                MetricSnapshot.value,
            )
            .where(MetricSnapshot.granularity == granularity, MetricSnapshot.collected_at == slot)
            .order_by(MetricSnapshot.metric_type, MetricSnapshot.source, MetricSnapshot.label)
        ).all()
        if slot is not None
        else []
    )
    return pd.DataFrame(
        {
            "metric_type": pd.array([r[0] for r in rows], dtype="string"),
            "source": pd.array([r[1] for r in rows], dtype="string"),
            "label": pd.array([r[2] for r in rows], dtype="string"),
            "value": pd.array([r[3] for r in rows], dtype="int64"),
        }
    )


def _slot_stored(granularity: Any, slot: Any, source: Any) -> ColumnElement[bool]:
    """Whether the source's slot has its rows (a failure of a slot later stored is
    resolved; another source's rows resolve nothing)."""
    return exists().where(
        MetricSnapshot.granularity == granularity,
        MetricSnapshot.collected_at == slot,
        MetricSnapshot.source == source,
    )


# A failure row is resolved once its metric has rows of its source at that slot (the six
# are stored together; a catalogue metric that failed in a stored slot stays a failure).
_FAILURE_RESOLVED = exists().where(
    MetricSnapshot.metric_type == MetricCollectionFailure.metric_type,
    MetricSnapshot.source == MetricCollectionFailure.source,
    MetricSnapshot.granularity == MetricCollectionFailure.granularity,
    MetricSnapshot.collected_at == MetricCollectionFailure.attempted_at,
)
_SLOT_RESOLVED = _slot_stored(
    MetricCollectionFailure.granularity,
    MetricCollectionFailure.attempted_at,
    MetricCollectionFailure.source,
)


def _of_source(column: Any, source: str | None) -> tuple[ColumnElement[bool], ...]:
    """The condition keeping one source's records (none: every source's)."""
    return () if source is None else (column == source,)


def failures_since(
    session: Session,
    since: datetime,
    limit: int = 100,
    *,
    unresolved_only: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """Collection failures attempted at or after ``since`` (of ``source``, else of every
    source), newest first; with ``unresolved_only`` without those of slots that were stored
    after all.

    Columns: ``metric_type`` (string), ``granularity`` (string),
    ``attempted_at`` (datetime64[ns, UTC]), ``error_message`` (string), ``retry_count``
    (int64), ``source`` (string).
    """
    stmt = (
        select(
            MetricCollectionFailure.metric_type,
            MetricCollectionFailure.granularity,
            MetricCollectionFailure.attempted_at,
            MetricCollectionFailure.error_message,
            MetricCollectionFailure.retry_count,
            MetricCollectionFailure.source,
        )
        .where(
            MetricCollectionFailure.attempted_at >= since,
            *_of_source(MetricCollectionFailure.source, source),
        )
        .order_by(MetricCollectionFailure.attempted_at.desc(), MetricCollectionFailure.id.desc())
        .limit(limit)
    )
    if unresolved_only:
        stmt = stmt.where(~_FAILURE_RESOLVED)
    rows = session.execute(stmt).all()
    return pd.DataFrame(
        {
            "metric_type": pd.array([r[0] for r in rows], dtype="string"),
            "granularity": pd.array([r[1] for r in rows], dtype="string"),
            "attempted_at": pd.DatetimeIndex([r[2] for r in rows], tz="UTC").astype(
                "datetime64[ns, UTC]"
            ),
            "error_message": pd.array([r[3] for r in rows], dtype="string"),
            "retry_count": pd.array([r[4] or 0 for r in rows], dtype="int64"),
            "source": pd.array([r[5] for r in rows], dtype="string"),
        }
    )


def count_failures_since(
    session: Session, since: datetime, *, unresolved_only: bool = False, source: str | None = None
) -> int:
    stmt = select(func.count()).where(
        MetricCollectionFailure.attempted_at >= since,
        *_of_source(MetricCollectionFailure.source, source),
    )
    if unresolved_only:
        stmt = stmt.where(~_FAILURE_RESOLVED)
    return int(session.execute(stmt).scalar_one())


def failed_slots_since(
    session: Session, since: datetime, source: str | None = None
) -> list[datetime]:
    """Hourly slots at or after ``since`` with failure rows and no stored rows of their
    source (``source``'s, else any source's), newest first."""
    stmt = (
        select(MetricCollectionFailure.attempted_at)
        .where(
            MetricCollectionFailure.granularity == "hourly",
            MetricCollectionFailure.attempted_at >= since,
            ~_SLOT_RESOLVED,
            *_of_source(MetricCollectionFailure.source, source),
        )
        .distinct()
        .order_by(MetricCollectionFailure.attempted_at.desc())
    )
    return list(session.scalars(stmt))


def newest_failed_slot(session: Session, source: str | None = None) -> datetime | None:
    """The newest hourly slot with failure rows and no stored rows of their source
    (``source``'s, else any source's)."""
    value = session.scalar(
        select(func.max(MetricCollectionFailure.attempted_at)).where(
            MetricCollectionFailure.granularity == "hourly",
            ~_SLOT_RESOLVED,
            *_of_source(MetricCollectionFailure.source, source),
        )
    )
    # max() loses the column type on SQLite; normalise through the same type.
    return UTCDateTime().process_result_value(value, session.get_bind().dialect)


def missed_slots_since(
    session: Session, since: datetime, source: str | None = None
) -> list[datetime]:
    """Hourly slots at or after ``since`` that no collector finished — nobody was running
    (``missed``) or the collector stopped mid-way (``stopped``) — and not stored since
    (``source``'s, else any source's; a slot two sources missed counts once)."""
    stmt = (
        select(CollectionClaim.slot)
        .where(
            CollectionClaim.granularity == "hourly",
            CollectionClaim.slot >= since,
            CollectionClaim.outcome.in_(("missed", "stopped")),
            ~_slot_stored(
                CollectionClaim.granularity, CollectionClaim.slot, CollectionClaim.source
            ),
            *_of_source(CollectionClaim.source, source),
        )
        .distinct()
        .order_by(CollectionClaim.slot.desc())
    )
    return list(session.scalars(stmt))


def last_collection_seconds(
    session: Session, granularity: str = "hourly", source: str = DEFAULT_SOURCE
) -> float | None:
    """How long the newest stored slot's collection of ``source`` took (claim to finish),
    or None."""
    row = session.execute(
        select(CollectionClaim.claimed_at, CollectionClaim.finished_at)
        .where(
            CollectionClaim.granularity == granularity,
            CollectionClaim.source == source,
            CollectionClaim.outcome == "stored",
            CollectionClaim.finished_at.is_not(None),
        )
        .order_by(CollectionClaim.slot.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return max((row.finished_at - row.claimed_at).total_seconds(), 0.0)


def last_stored_slot(session: Session, source: str) -> datetime | None:
    """The newest hourly slot of ``source`` with stored rows, or None (its status' last
    collection)."""
    value = session.scalar(
        select(func.max(MetricSnapshot.collected_at)).where(
            MetricSnapshot.granularity == "hourly", MetricSnapshot.source == source
        )
    )
    # max() loses the column type on SQLite; normalise through the same type.
    return UTCDateTime().process_result_value(value, session.get_bind().dialect)

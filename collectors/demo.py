"""The demo: a simulated LLM web app source (SQLite) and its back-filled history.

The source has the LLM web app's tables (users, sessions, conversations, documents, tags)
with ``created_at``/``deleted_at`` timestamps generated from a daily and weekly rhythm
(office hours in Korea, quiet weekends), steady growth and some deletions. Activity is
generated a week ahead of the clock: rows whose ``created_at`` is in the future are invisible
to the queries (which compare with ``:now``), so the live scheduler keeps seeing new activity.

A second, smaller simulated source (``branch_office``, its own SQLite file) is declared in
the demo's catalogue beside one labelled metric (documents by department), so a newcomer
sees several sources and labels.

History is back-filled through the real collection code (``collect_sources`` as of each past
slot, ``catch_up_daily``, ``apply_retention``), skipping a few fixed outage windows so the
dashboard shows gaps. Re-running reuses the sources and only fills the slots since each one's
last.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from admin_metrics.settings import (
    DEMO_CATALOGUE_FILE,
    DEMO_QUERIES_FILE,
    DEMO_SOURCE_FILE,
    Settings,
)
from collectors.catalogue import check_catalogue
from collectors.queries import collection_budget, source_readers
from collectors.runner import (
    SourceReader,
    apply_retention,
    catch_up_daily,
    collect_sources,
    hourly_slot,
)
from db.engine import make_engine, session_factory, session_scope
from db.queries import last_stored_slot

SOURCE_FILE: Final = DEMO_SOURCE_FILE
QUERIES_FILE: Final = DEMO_QUERIES_FILE
CATALOGUE_FILE: Final = DEMO_CATALOGUE_FILE
# The second simulated source: a branch office's app, a third of the head office's size.
BRANCH_FILE: Final = "demo_branch.db"
BRANCH_SCALE: Final = 0.3
# The demo's catalogue: conversations started per hour (a per-slot count), documents by
# department (a labelled gauge; a user's department is their id modulo 4 in the simulation)
# and the branch office's source ({branch_url}).
DEMO_CATALOGUE: Final = """# The demo's METRICS_CATALOGUE_FILE: extra metrics and a second source.
[metrics.conversations_started]
name_ko = "새 대화 수"
name_en = "Conversations started"
unit = "count"
unit_ko = "개"
unit_en = "conversations"
kind = "per_slot"
rollup = "sum"
query = '''SELECT count(*) FROM conversations
  WHERE created_at >= :slot_start AND created_at < :slot_end'''

[metrics.documents_by_department]
name_ko = "부서별 문서 수"
name_en = "Documents by department"
unit = "count"
unit_ko = "개"
unit_en = "documents"
kind = "gauge"
rollup = "last"
labelled = true
query = '''SELECT CASE user_id % 4 WHEN 0 THEN '개발' WHEN 1 THEN '영업' WHEN 2 THEN '인사'
  ELSE '재무' END AS department, count(*) FROM documents
  WHERE created_at <= :now AND (deleted_at IS NULL OR deleted_at > :now) GROUP BY 1'''

[sources.branch_office]
name_ko = "지사"
name_en = "Branch office"
url = '{branch_url}'
"""
HISTORY_DAYS: Final = 90  # scale of the simulated growth; the back-fill covers daily retention
AHEAD_DAYS: Final = 7
HOUR: Final = 3600
OLD_DAY_SAMPLE_HOURS: Final = 3

# Collection outages (days before the first run's day, start hour UTC, hours) → dotted gaps.
OUTAGES: Final[tuple[tuple[int, int, int], ...]] = (
    (69, 3, 5),
    (48, 0, 24),  # a whole UTC day: no daily row either
    (23, 14, 3),
    (15, 8, 10),
    (6, 5, 2),
    (2, 20, 4),
)

_LIVE = "created_at <= :now AND (deleted_at IS NULL OR deleted_at > :now)"
DEMO_QUERIES: Final[dict[str, str]] = {
    "active_users": "SELECT count(DISTINCT user_id) FROM sessions "
    "WHERE expires_at > :now AND created_at <= :now",
    "storage_bytes": f"SELECT coalesce(sum(file_size), 0) FROM documents WHERE {_LIVE}",
    "active_sessions": "SELECT count(*) FROM sessions "
    "WHERE expires_at > :now AND created_at <= :now",
    "conversation_count": f"SELECT count(*) FROM conversations WHERE {_LIVE}",
    "document_count": f"SELECT count(*) FROM documents WHERE {_LIVE}",
    "tag_count": f"SELECT count(*) FROM tags WHERE {_LIVE}",
}

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS demo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL,
    created_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, filename TEXT NOT NULL,
    file_size INTEGER NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT);
CREATE INDEX IF NOT EXISTS sessions_live ON sessions (expires_at, created_at, user_id);
CREATE INDEX IF NOT EXISTS conversations_live ON conversations (created_at, deleted_at);
CREATE INDEX IF NOT EXISTS documents_live ON documents (created_at, deleted_at, file_size);
CREATE INDEX IF NOT EXISTS documents_owner ON documents (created_at, deleted_at, user_id);
CREATE INDEX IF NOT EXISTS tags_live ON tags (created_at, deleted_at);
"""

# Share of the day's logins per hour of the day in Korea (KST = UTC+9): office hours.
_KST_RHYTHM = np.array(
    [0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.10, 0.30, 0.75, 1.00, 1.00, 0.90,
     0.55, 0.85, 1.00, 0.95, 0.90, 0.70, 0.40, 0.25, 0.20, 0.15, 0.10, 0.07]
)  # fmt: skip
_WEEKDAY = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.30, 0.22])  # Monday … Sunday (KST)

Progress = Callable[[int, int], None]


def _stamps(epochs: np.ndarray) -> list[str]:
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
    return [s.replace("T", " ") for s in text.tolist()]


def _maybe_deleted(
    rng: np.random.Generator, created: np.ndarray, share: float, mean_days: float
) -> list[str | None]:
    deleted = rng.random(created.size) < share
    when = created + rng.exponential(mean_days * 86400, created.size).astype(np.int64) + 60
    stamps = _stamps(when)
    return [s if d else None for s, d in zip(stamps, deleted, strict=True)]


class _Simulator:
    """Generates the source's rows for a time range from the origin-relative rhythm, at
    ``scale`` times the head office's activity."""

    def __init__(self, db: sqlite3.Connection, origin: int, scale: float = 1.0) -> None:
        self.db = db
        self.origin = origin
        self.scale = scale

    def _count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def backlog(self, rng: np.random.Generator) -> None:
        """What the app held before the origin: a year of earlier activity."""
        year = 365 * 86400
        sizes = {"users": 1500, "conversations": 10000, "documents": 3500, "tags": 300}
        for table, n in sizes.items():
            created = np.sort(self.origin - rng.integers(0, year, int(n * self.scale)))
            self._insert(table, rng, created, users_known=1500)

    def activity(self, rng: np.random.Generator, start: int, end: int) -> None:
        hours = np.arange(start, end, HOUR, dtype=np.int64)
        kst = (hours // HOUR + 9) % 24
        weekday = ((hours + 9 * HOUR) // 86400 + 3) % 7  # 1970-01-01 was a Thursday
        days_in = (hours - self.origin) / 86400
        growth = 1.0 + 0.6 * np.clip(days_in / HISTORY_DAYS, -1, 2)
        noise = rng.lognormal(0.0, 0.15, int(hours.size // 24) + 2)[
            ((hours - start) // 86400).astype(int)
        ]
        intensity = _KST_RHYTHM[kst] * _WEEKDAY[weekday] * growth * noise
        per_hour = {
            "sessions": 80.0,
            "conversations": 25.0,
            "documents": 10.0,
            "users": 0.4,
            "tags": 0.8,
        }
        users_known = self._count("users")
        for table, rate in per_hour.items():
            counts = rng.poisson(rate * self.scale * intensity)
            created = np.repeat(hours, counts) + rng.integers(0, HOUR, int(counts.sum()))
            self._insert(table, rng, np.sort(created), users_known=users_known)
            if table == "users":
                users_known = self._count("users")

    def _insert(
        self, table: str, rng: np.random.Generator, created: np.ndarray, *, users_known: int
    ) -> None:
        n = created.size
        if n == 0:
            return
        stamps = _stamps(created)
        owners = rng.integers(1, max(users_known, 1) + 1, n).tolist()
        if table == "sessions":
            minutes = np.clip(rng.lognormal(np.log(90), 0.6, n), 10, 720)
            remember_me = rng.random(n) < 0.03
            lasting = np.where(remember_me, 24 * 60, minutes).astype(np.int64) * 60
            rows = zip(owners, stamps, _stamps(created + lasting), strict=True)
            self.db.executemany(
                "INSERT INTO sessions (user_id, created_at, expires_at) VALUES (?, ?, ?)", rows
            )
        elif table == "users":
            first = self._count("users") + 1
            names = [f"user{first + i:05d}" for i in range(n)]
            deleted = _maybe_deleted(rng, created, 0.01, 60)
            self.db.executemany(
                "INSERT INTO users (name, created_at, deleted_at) VALUES (?, ?, ?)",
                zip(names, stamps, deleted, strict=True),
            )
        elif table == "conversations":
            deleted = _maybe_deleted(rng, created, 0.08, 10)
            titles = [f"대화 {i}" for i in rng.integers(1, 10**6, n).tolist()]
            self.db.executemany(
                "INSERT INTO conversations (user_id, title, created_at, deleted_at) "
                "VALUES (?, ?, ?, ?)",
                zip(owners, titles, stamps, deleted, strict=True),
            )
        elif table == "documents":
            sizes = np.clip(rng.lognormal(np.log(600_000), 1.3, n), 2_000, 500_000_000)
            deleted = _maybe_deleted(rng, created, 0.05, 20)
            names = [f"doc-{i}.pdf" for i in rng.integers(1, 10**7, n).tolist()]
            self.db.executemany(
                "INSERT INTO documents (user_id, filename, file_size, created_at, deleted_at) "
                "VALUES (?, ?, ?, ?, ?)",
                zip(owners, names, sizes.astype(np.int64).tolist(), stamps, deleted, strict=True),
            )
        else:
            deleted = _maybe_deleted(rng, created, 0.03, 30)
            names = [f"태그{i}" for i in rng.integers(1, 10**5, n).tolist()]
            self.db.executemany(
                "INSERT INTO tags (name, created_at, deleted_at) VALUES (?, ?, ?)",
                zip(names, stamps, deleted, strict=True),
            )


class DemoSource:
    """The simulated source file: created once, then extended in time as needed. ``scale``
    sizes its activity; ``seed`` makes another source's random activity its own."""

    def __init__(
        self,
        path: Path,
        now: datetime,
        history_days: int = HISTORY_DAYS,
        *,
        scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.scale = scale
        self.seed = seed
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)
        meta = dict(self._db.execute("SELECT key, value FROM demo_meta").fetchall())
        if "origin" in meta:
            self.origin, self.generated_until = int(meta["origin"]), int(meta["generated_until"])
            self.first_day = int(meta.get("first_day", self.origin + (history_days - 1) * 86400))
        else:
            # UTC midnights, so outage days line up with days and the oldest daily row is
            # still inside the daily retention.
            self.first_day = int(now.timestamp()) // 86400 * 86400
            self.origin = self.first_day - (history_days - 1) * 86400
            self.generated_until = self.origin
            _Simulator(self._db, self.origin, scale).backlog(
                np.random.default_rng(self.origin + seed)
            )
            self._save()

    def extend_to(self, until: int) -> None:
        """Generate activity up to the epoch ``until`` (no-op if already there)."""
        if until <= self.generated_until:
            return
        rng = np.random.default_rng(self.generated_until + self.seed)
        _Simulator(self._db, self.origin, self.scale).activity(rng, self.generated_until, until)
        self.generated_until = until
        self._save()

    def _save(self) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO demo_meta (key, value) VALUES (?, ?)",
            [
                ("origin", str(self.origin)),
                ("first_day", str(self.first_day)),
                ("generated_until", str(self.generated_until)),
            ],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def in_outage(slot: datetime, first_day: int) -> bool:
    epoch = int(slot.timestamp())
    for days_before, hour, length in OUTAGES:
        start = first_day - days_before * 86400 + hour * HOUR
        if start <= epoch < start + length * HOUR:
            return True
    return False


def write_queries_file(path: Path) -> None:
    lines = ["# Demo source queries: counts as of the collection instant :now."]
    lines += [f'{metric} = "{sql}"' for metric, sql in DEMO_QUERIES.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def demo_settings(settings: Settings) -> Settings:
    data_dir = Path(settings.data_dir)
    return settings.model_copy(
        update={
            "source_database_url": f"sqlite:///{(data_dir / SOURCE_FILE).resolve()}",
            "source_queries_file": data_dir / QUERIES_FILE,
            "metrics_catalogue_file": data_dir / CATALOGUE_FILE,
            "metrics_collection_enabled": True,
        }
    )


def _no_fsync_per_commit(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")


def _collect_all(
    settings: Settings,
    sessions: sessionmaker[Session],
    readers: Sequence[SourceReader],
    slots: list[datetime],
    progress: Progress | None,
    simulated: Sequence[DemoSource],
) -> None:
    for done, slot in enumerate(slots, start=1):
        # The app's activity is generated a day at a time just ahead of the slot collected,
        # as it would have happened (and keeps the "as of" queries on a small index range).
        for source in simulated:
            source.extend_to(int(slot.timestamp()) // 86400 * 86400 + 86400)
        collect_sources(
            sessions,
            readers,
            slot,
            timeout_ms=settings.source_statement_timeout_ms,
            budget=collection_budget(settings),
            sleep=lambda _s: None,
            max_labels=settings.metrics_max_labels,
        )
        if progress and (done % 24 == 0 or done == len(slots)):
            progress(done, len(slots))


def backfill(
    settings: Settings,
    simulated: Sequence[DemoSource],
    now: datetime,
    progress: Progress | None = None,
) -> int:
    """Collect every past slot since each source's last one (from the origin of the first,
    the default source, on a fresh store) as of that slot, except outages; then the daily
    rollups and retention. Returns slots collected."""
    catalogue = check_catalogue(settings)
    store = make_engine(settings.store_url)
    if store.dialect.name == "sqlite":
        # WAL + synchronous=NORMAL: no fsync per slot during the back-fill (still crash-safe).
        event.listen(store, "connect", _no_fsync_per_commit)
    sessions = session_factory(store)
    readers = source_readers(settings, catalogue)
    try:
        origin = datetime.fromtimestamp(simulated[0].origin, UTC)
        with session_scope(sessions) as session:
            lasts = [last_stored_slot(session, name) for name in catalogue.source_names]
        # A source added to an existing demo gets its whole history; the others' slots
        # already stored are left alone by the collection.
        first = min(
            last + timedelta(hours=1) if last is not None and last >= origin else origin
            for last in lasts
        )
        end = hourly_slot(now)
        slots: list[datetime] = []
        slot = first
        hourly_kept_from = now - timedelta(days=settings.metrics_hourly_retention_days)
        while slot <= end:
            # Days past the hourly retention keep only their daily row (the average of the
            # day's hourly values): sampling every third hour there keeps the back-fill quick.
            sampled = slot >= hourly_kept_from or slot.hour % OLD_DAY_SAMPLE_HOURS == 0
            if sampled and not in_outage(slot, simulated[0].first_day):
                slots.append(slot)
            slot += timedelta(hours=1)
        quiet = logging.getLogger("collectors.runner")
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # not 2000 "collected" lines during the back-fill
        try:
            _collect_all(settings, sessions, readers, slots, progress, simulated)
            catch_up_daily(sessions, now, settings.business_zone, catalogue)
            with session_scope(sessions) as session:
                apply_retention(
                    session,
                    now,
                    settings.metrics_hourly_retention_days,
                    settings.metrics_daily_retention_days,
                    settings.business_zone,
                )
        finally:
            quiet.setLevel(level)
        return len(slots)
    finally:
        for reader in readers:
            reader.engine.dispose()
        store.dispose()


def prepare_demo(
    settings: Settings, *, now: datetime | None = None, progress: Progress | None = None
) -> Settings:
    """Build/extend the demo source, back-fill history; settings pointing at the source."""
    now = now or datetime.now(UTC)
    data_dir = Path(settings.data_dir)
    days = settings.metrics_daily_retention_days
    simulated = [
        DemoSource(data_dir / SOURCE_FILE, now, days),
        DemoSource(data_dir / BRANCH_FILE, now, days, scale=BRANCH_SCALE, seed=1),
    ]
    try:
        write_queries_file(data_dir / QUERIES_FILE)
        branch_url = f"sqlite:///{(data_dir / BRANCH_FILE).resolve()}"
        (data_dir / CATALOGUE_FILE).write_text(
            DEMO_CATALOGUE.format(branch_url=branch_url), encoding="utf-8"
        )
        demo = demo_settings(settings)
        backfill(demo, simulated, now, progress)
        # A week of activity ahead, revealed slot by slot while the demo server runs.
        for source in simulated:
            if source.generated_until < int(now.timestamp()) + 2 * 86400:
                source.extend_to(int(now.timestamp()) // HOUR * HOUR + AHEAD_DAYS * 86400)
    finally:
        for source in simulated:
            source.close()
    return demo

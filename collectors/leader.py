"""One leader per deployment: only the holder of this lock runs the scheduler.

PostgreSQL store: a session-level advisory lock held on a dedicated connection; when the
leader dies its connection closes and the server releases the lock, so a follower's next
try succeeds. SQLite store: an OS file lock next to the store file (released by the kernel
when the process dies).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from db.engine import make_engine

log = logging.getLogger(__name__)

LOCK_NAME = "admin_metrics.scheduler"
# pg advisory locks take a signed 64-bit key; derive a stable one from the name.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if free; True when this process now holds it."""

    def still_held(self) -> bool:
        """False when a held lock was lost (e.g. the lock connection broke)."""

    def release(self) -> None: ...


class AdvisoryLock:
    def __init__(self, store_url: str, key: int = ADVISORY_KEY) -> None:
        self._engine: Engine = make_engine(
            store_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self._key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}
            ).scalar_one()
        except SQLAlchemyError as exc:
            log.warning("Leader election: store unreachable: %s", exc.__class__.__name__)
            self._drop()
            return False
        if not got:
            self._drop()  # followers do not keep a connection open between tries
        return bool(got)

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # If the connection is already gone, so is the lock.
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: the election thread takes it, ``stop()`` may release it.
        self._lock = FileLock(str(path), thread_local=False)

    def try_acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        return bool(self._lock.is_locked)

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


def leader_lock_for(store_url: str, data_dir: Path) -> LeaderLock:
    url = make_url(store_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(store_url)
    database = url.database
    if database and database != ":memory:":
        store = Path(database).resolve()
        return FileLeaderLock(store.with_name(store.name + ".scheduler.lock"))
    return FileLeaderLock(data_dir.resolve() / "scheduler.lock")

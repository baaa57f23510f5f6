"""A start refused for a bad setting is recorded in the audit log, when a store is reachable.

Used by ``admin-metrics`` (every verb) and the gunicorn entry point; imports no web framework.
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from admin_metrics.settings import store_url_despite_error
from db import audit
from db.engine import make_engine, session_factory, session_scope

log = logging.getLogger(__name__)


def record_refused_start(message: str, store_url: str | None = None) -> bool:
    """Write a ``settings_refused`` audit row when a store can be reached; True if written.

    Best effort by design: the one-line message on stderr is the primary report, and the
    store may be exactly what is misconfigured (then this says so in an INFO log line).
    """
    url = store_url or store_url_despite_error()
    if url is None:
        return False
    connect_args = {} if url.startswith("sqlite") else {"connect_timeout": 3}
    engine = make_engine(url, connect_args=connect_args) if connect_args else make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("audit_log"):
                return False
        with session_scope(session_factory(engine)) as session:
            audit.record_event(
                session,
                audit.SETTINGS_REFUSED,
                actor=audit.SYSTEM_ACTOR,
                details={"error": message},
            )
        return True
    except SQLAlchemyError as exc:
        log.info("Refused start not recorded in the audit log: %s", exc.__class__.__name__)
        return False
    finally:
        engine.dispose()

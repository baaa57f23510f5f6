"""Run Alembic migrations programmatically (CLI, tests, demo, container entrypoint)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from db.engine import normalise_url

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str, business_timezone: str | None = None) -> Config:
    """``business_timezone``: the zone whose days daily rows are (``BUSINESS_TIMEZONE``);
    the ``20261203_business_day_daily`` revision re-rolls daily rows in it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ``%`` must be escaped for ConfigParser interpolation (passwords may contain it).
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    if business_timezone:
        cfg.attributes["business_timezone"] = business_timezone
    return cfg


def upgrade(url: str, revision: str = "head", business_timezone: str | None = None) -> None:
    command.upgrade(alembic_config(url, business_timezone), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "migrations have a single head"
    return head


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL that does not exist (connecting would create it), else None."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(str(parsed.database))
    return None if path.exists() else path


def current_revision(url: str) -> str | None:
    """The applied revision, None for an empty database (read quietly: ``serve`` checks it
    before start-up, where Alembic's own INFO lines would only be noise). A SQLite file that
    does not exist is not created."""
    from sqlalchemy import create_engine, inspect, text

    if _missing_sqlite_file(url) is not None:
        return None
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return str(revision) if revision is not None else None
    finally:
        engine.dispose()


class SchemaError(Exception):
    """The store cannot be used as it is; ``str()`` is one line saying what to do."""


def require_schema(url: str) -> None:
    """Raise ``SchemaError`` unless the store at ``url`` is reachable and at this version's
    revision — without creating anything (no stray SQLite file in the wrong folder)."""
    from sqlalchemy.exc import SQLAlchemyError

    missing = _missing_sqlite_file(url)
    if missing is not None:
        raise SchemaError(
            f"no metrics store at {missing}: run `admin-metrics db upgrade` (or "
            "`admin-metrics demo`) first, or set DATABASE_URL / DATA_DIR"
        )
    try:
        current = current_revision(url)
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        raise SchemaError(f"the metrics store is unreachable: {reason}") from None
    head = head_revision()
    if current != head:
        raise SchemaError(
            f"the database schema is at revision {current or '(none)'}, this version needs "
            f"{head}: run `admin-metrics db upgrade` first"
        )

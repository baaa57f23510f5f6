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


def current_revision(url: str) -> str | None:
    """The applied revision, None for an empty database (read quietly: ``serve`` checks it
    before start-up, where Alembic's own INFO lines would only be noise)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return str(revision) if revision is not None else None
    finally:
        engine.dispose()

"""Alembic environment: URL from the alembic config, else from the application settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from db.engine import normalise_url
from db.models import Base

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

if not config.get_main_option("sqlalchemy.url"):
    # Run as `python -m alembic ...` from the repository root: use the app's settings.
    from admin_metrics.settings import load_settings

    url = normalise_url(load_settings().store_url)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

if "business_timezone" not in config.attributes:
    # The zone of the organisation's days, for revisions that re-roll daily rows.
    from admin_metrics.settings import SettingsError, load_settings

    try:
        config.attributes["business_timezone"] = load_settings().business_zone
    except SettingsError:
        config.attributes["business_timezone"] = "Asia/Seoul"

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    if url.startswith("sqlite"):
        from pathlib import Path

        from sqlalchemy.engine import make_url

        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The ``admin-metrics`` command line: thin wrappers over library functions."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from admin_metrics import (
    alert_commands,
    collect_commands,
    event_commands,
    export_commands,
    session_commands,
    token_commands,
)
from admin_metrics.cli_obj import Obj, pass_obj
from admin_metrics.settings import Settings, SettingsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Admin Metrics History: keep and show the history of the LLM web app's metrics."""


# --- database ---------------------------------------------------------------------------
@cli.group("db")
def db_group() -> None:
    """Schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_obj
def db_upgrade(obj: Obj, revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from db.migrate import current_revision, upgrade

    upgrade(obj.settings.store_url, revision, obj.settings.business_zone)
    click.echo(f"Database at revision {current_revision(obj.settings.store_url)}")


@db_group.command("downgrade")
@click.argument("revision")
@pass_obj
def db_downgrade(obj: Obj, revision: str) -> None:
    """Revert migrations down to REVISION (``base`` removes every table)."""
    from db.migrate import current_revision, downgrade

    downgrade(obj.settings.store_url, revision)
    click.echo(f"Database at revision {current_revision(obj.settings.store_url)}")


@db_group.command("current")
@pass_obj
def db_current(obj: Obj) -> None:
    """Print the applied revision."""
    from db.migrate import current_revision

    click.echo(current_revision(obj.settings.store_url) or "(none)")


# --- accounts ---------------------------------------------------------------------------
@cli.command("create-admin")
@click.argument("username")
@pass_obj
def create_admin(obj: Obj, username: str) -> None:
    """Create admin USERNAME, or set a new password for it.

    The password comes from ADMIN_PASSWORD, else an interactive prompt.
    """
    from db.accounts import AccountError, set_admin_password
    from db.engine import store_session

    password = os.environ.get("ADMIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("set ADMIN_PASSWORD or run interactively")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise click.ClickException("passwords do not match")
    try:
        with store_session(obj.store_url) as session:
            _user, created = set_admin_password(session, username, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Admin '{username}' {'created' if created else 'password changed'}")


# --- serving ----------------------------------------------------------------------------
def run_server(
    settings: Settings,
    host: str | None,
    port: int | None,
    workers: int | None,
    secret_key: str | None,
) -> None:
    """Serve with gunicorn, with the options gunicorn.conf.py uses (WEB_* settings).

    ``host``/``port``/``workers`` override WEB_BIND/WEB_WORKERS when given. The app factory
    runs in each worker after fork (no preload); the control socket is off.
    """
    from gunicorn.app.base import BaseApplication

    from admin_metrics.wsgi import disable_control_socket, gunicorn_options, serving_app

    options = gunicorn_options(settings)
    options.pop("wsgi_app")
    bind_host, _, bind_port = settings.web_bind.rpartition(":")
    if host is not None or port is not None:
        options["bind"] = [f"{host or bind_host}:{port or bind_port}"]
    if workers is not None:
        options["workers"] = workers

    from collectors.catalogue import check_catalogue
    from collectors.queries import probe_source

    # A bad SOURCE_QUERIES_FILE or METRICS_CATALOGUE_FILE: one line, then exit.
    catalogue = check_catalogue(settings)
    if settings.metrics_collection_enabled:
        # Each query once, read-only, within the deadline: a warning line per failing metric,
        # so a wrong SOURCE_DATABASE_URL shows at start, not an hour later.
        probe_source(settings, catalogue.builtin_queries)

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options.update(disable_control_socket(self.cfg.settings))
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return serving_app(settings, secret_key=secret_key)

    _App().run()


@cli.command("serve")
@click.option("--host", default=None, help="Listen address (default: from WEB_BIND).")
@click.option("--port", default=None, type=int, help="Port (default: from WEB_BIND).")
@click.option("--workers", default=None, type=int, help="Workers (default: WEB_WORKERS).")
@pass_obj
def serve(obj: Obj, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web app (dashboard, API, scheduler) with gunicorn."""
    settings = obj.settings
    if settings.secret_key is None:
        raise SettingsError("Invalid setting SECRET_KEY: required (at least 16 characters)")
    obj.check_store()  # no, an old or an unreachable store: one line, then exit
    run_server(settings, host, port, workers, None)


def demo_secret_key(settings: Settings) -> str:
    """The demo's generated secret, kept under DATA_DIR so sessions survive restarts."""
    path = Path(settings.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEMO_ADMIN = "admin"


def demo_admin_password(settings: Settings) -> str:
    path = Path(settings.data_dir) / "demo_admin_password"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo data, then exit.")
@pass_obj
def demo(obj: Obj, host: str, port: int, no_serve: bool) -> None:
    """The embedded default: SQLite store, simulated source with history, demo admin, server."""
    from db.accounts import set_admin_password
    from db.engine import store_session
    from db.migrate import upgrade

    settings = obj.settings
    upgrade(settings.store_url, business_timezone=settings.business_zone)
    password = demo_admin_password(settings)
    with store_session(settings.store_url) as session:
        set_admin_password(session, DEMO_ADMIN, password)
    settings = prepare_demo_source(settings)
    url = f"http://{host}:{port}{settings.url_prefix}admin/metrics/"
    click.echo("")
    click.echo(f"  Admin Metrics History demo: {url}")
    click.echo(f"  Sign in as '{DEMO_ADMIN}' with password '{password}'")
    click.echo("")
    if not no_serve:
        run_server(settings, host, port, 1, demo_secret_key(settings))


def prepare_demo_source(settings: Settings) -> Settings:
    """Point the collector at a simulated source and back-fill history (collection feature)."""
    from collectors.demo import prepare_demo

    with click.progressbar(length=1, label="Back-filling demo history") as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        return prepare_demo(settings, progress=progress)


# The feature verbs, registered explicitly (their modules know nothing of ``cli``).
for _command in (
    alert_commands.alerts_group,
    alert_commands.reports_group,
    collect_commands.collect,
    collect_commands.status,
    export_commands.export,
    token_commands.create_token,
    token_commands.list_tokens,
    token_commands.revoke_token,
    session_commands.sessions_group,
    session_commands.disable_admin_command,
    session_commands.audit_command,
    event_commands.events_group,
):
    cli.add_command(_command)


def main() -> None:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        cli(standalone_mode=True)
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        from admin_metrics.refused_start import record_refused_start

        record_refused_start(str(exc))
        sys.exit(2)
    except SQLAlchemyError as exc:  # the store went away mid-command: one line, no traceback
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        click.echo(f"Error: database error: {reason}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

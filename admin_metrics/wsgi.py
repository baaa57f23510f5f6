"""WSGI entry point and gunicorn set-up.

``gunicorn -c gunicorn.conf.py`` (the container) and ``admin-metrics serve`` both take their
options from :func:`gunicorn_options`, so the two ways of serving behave the same.

The factory runs in each worker after fork (never ``--preload``), so every worker has its
own engine pool and the scheduler leader election happens per worker, after fork.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

from flask import Flask

from admin_metrics.logs import configure_logging
from admin_metrics.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)

WSGI_APP = "admin_metrics.wsgi:create()"
# Long-lived helpers stopped first, in this order; any other service with a
# stop/shutdown/close method is stopped after them.
SERVICE_STOP_ORDER = ("scheduler", "chart_renderer")
_STOP_METHODS = ("stop", "shutdown", "close")


def serving_app(settings: Settings, *, secret_key: str | None = None) -> Flask:
    """The app for a long-running worker process.

    Everything built so far (Flask, Dash, plotly, pandas) lives as long as the process:
    ``gc.freeze()`` moves it out of the collector's sight, so full collections stay short
    (they were the 95th-percentile latency of large API responses: 115 ms vs 36 ms p50).
    """
    from dashboard.app import create_app

    app = create_app(settings, secret_key=secret_key)
    gc.freeze()
    return app


def create() -> Flask:
    store_url: str | None = None
    try:
        settings = load_settings()
        store_url = settings.store_url
        configure_logging(settings.log_level, settings.log_format)
        return serving_app(settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        record_refused_start(str(exc), store_url)
        raise SystemExit(2) from None


def record_refused_start(message: str, store_url: str | None = None) -> bool:
    """Write a ``settings_refused`` audit row when a store can be reached; True if written.

    Best effort by design: the one-line message on stderr is the primary report, and the
    store may be exactly what is misconfigured (then this says so in an INFO log line).
    """
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from admin_metrics.settings import store_url_despite_error
    from db import audit
    from db.engine import make_engine, session_factory, session_scope

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


def stop_services(app: Flask) -> list[str]:
    """Stop the app's background services (scheduler, chart renderer) and close the pool.

    Returns the names of the services stopped. A failing service is logged and the others
    are still stopped: a worker that is going away must not leave a lock or a browser behind.
    """
    from dashboard.context import EXTENSION_KEY

    ctx = app.extensions.get(EXTENSION_KEY)
    if ctx is None:
        return []
    names = [n for n in SERVICE_STOP_ORDER if n in ctx.services]
    names += [n for n in ctx.services if n not in names]
    stopped: list[str] = []
    for name in names:
        service = ctx.services.get(name)
        method = next(
            (getattr(service, m) for m in _STOP_METHODS if callable(getattr(service, m, None))),
            None,
        )
        if method is None:
            continue
        try:
            method()
        except Exception:
            log.exception("Stopping service %r failed", name)
            continue
        stopped.append(name)
    ctx.engine.dispose()
    if stopped:
        log.info("Background services stopped: %s", ", ".join(stopped))
    return stopped


def _worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the worker after its last in-flight request finished."""
    del server
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        stop_services(app)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings from ``Settings`` (WEB_*), shared by gunicorn.conf.py and serve."""
    options: dict[str, Any] = {
        "wsgi_app": WSGI_APP,
        "bind": [settings.web_bind],
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "timeout": settings.web_timeout,
        "graceful_timeout": settings.web_graceful_timeout,
        "keepalive": 5,
        # The app factory must run in each worker: the scheduler elects its leader after fork.
        "preload_app": False,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "worker_exit": _worker_exit,
        # Uploads are tiny JSON bodies; bound request lines/headers like a proxy would.
        "limit_request_line": 8190,
    }
    if settings.log_format == "json":
        options["logger_class"] = "admin_metrics.logs.JsonGunicornLogger"
    return options


def disable_control_socket(cfg_settings: dict[str, Any]) -> dict[str, Any]:
    """gunicorn ≥ 27 opens a control socket under $HOME by default: not in production."""
    return {"control_socket_disable": True} if "control_socket_disable" in cfg_settings else {}

"""The app factory: ``create_app(settings)`` builds Flask, Dash, API, store engine, scheduler."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from dash.exceptions import DependencyException
from flask import Flask, Response, jsonify, redirect, request
from sqlalchemy import text

from admin_metrics.settings import Settings, SettingsError
from alerts.config import alert_config
from alerts.service import AlertService
from collectors.catalogue import check_catalogue
from collectors.scheduler import SchedulerExtension, start_metrics_service
from dashboard.api.prometheus import register_prometheus
from dashboard.api.views import register_api
from dashboard.auth import init_auth, public_endpoints, store_unavailable_response
from dashboard.context import (
    EXTENSION_KEY,
    AppContext,
    get_context,
    init_read_connection,
    request_language,
)
from dashboard.i18n import t
from dashboard.page.layout import build_dash
from dashboard.paths import ASSETS_DIR
from dashboard.wire import OrjsonProvider, init_wire
from db.engine import STORE_ERRORS, make_engine, session_factory

log = logging.getLogger(__name__)


DASH_PATH = "admin/metrics/"


def _script_sources() -> str:
    """``script-src``: our own files plus the hashes of Dash's few inline scripts (the
    renderer bootstrap, clientside callbacks), so no other inline script or eval can run."""
    dash_app = get_context().dash_app
    hashes = " ".join(dash_app.csp_hashes()) if dash_app is not None else ""  # quoted
    return f"'self' {hashes}".strip()


def _security_headers(response: Response) -> Response:
    settings = get_context().settings
    headers = response.headers
    ancestors = settings.frame_ancestors.strip()
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src {_script_sources()}; "
        # Plotly.js and Dash components set inline styles at run time.
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {ancestors}",
    )
    # X-Frame-Options for browsers without CSP 3; it cannot express an origin list, and
    # CSP frame-ancestors wins wherever both are understood.
    if ancestors == "'none'":
        headers.setdefault("X-Frame-Options", "DENY")
    elif ancestors == "'self'":
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _create_server(settings: Settings, secret_key: str) -> Flask:
    prefix = settings.url_prefix
    server = Flask(
        __name__,
        static_folder=str(ASSETS_DIR),
        static_url_path=prefix + "static",
    )
    server.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="admin_metrics_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE=settings.session_cookie_samesite,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_PATH=prefix,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        # The server-side session (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS) decides; the
        # cookie itself is a browser-session cookie. Remember-me cookies are never issued.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    server.json = OrjsonProvider(server)
    return server


def _register_health(server: Flask, ctx: AppContext) -> None:
    def healthz() -> Any:
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any store error means unhealthy
            log.warning("Health check: store unreachable: %s", exc.__class__.__name__)
            return jsonify({"status": "unavailable"}), 503
        return jsonify({"status": "ok"})

    server.add_url_rule(ctx.url("healthz"), "healthz", healthz)


def _register_error_handlers(server: Flask) -> None:
    """Answers for what escapes a view: one log line each, never a traceback page.

    The API blueprint has its own handlers (JSON ``{error, code}``); these cover the page,
    Dash's endpoints and sign-in.
    """

    def store_down(exc: Exception) -> Response:
        log.error(
            "%s %s: store unavailable: %s", request.method, request.path, exc.__class__.__name__
        )
        return store_unavailable_response()

    def unknown_dash_file(exc: DependencyException) -> Response:
        # Dash raises this for any component-suite path it does not serve.
        log.info("Not found: %s %s (no such Dash file)", request.method, request.path)
        return Response(t("error.not_found", request_language()), 404, mimetype="text/plain")

    for error in STORE_ERRORS:
        server.register_error_handler(error, store_down)
    server.register_error_handler(DependencyException, unknown_dash_file)


def _scheduler_extensions(settings: Settings, ctx: AppContext) -> list[SchedulerExtension]:
    """Alerts and scheduled reports run on the collection leader, with the page's own
    report service (PDF charts through the app's shared chart renderer)."""
    if not settings.metrics_collection_enabled:
        return []
    return [AlertService(ctx.sessions, alert_config(settings), ctx.report_presenter())]


def create_app(settings: Settings, *, secret_key: str | None = None) -> Flask:
    """Build the whole application. ``secret_key`` overrides ``settings.secret_key`` (demo)."""
    key = secret_key or (settings.secret_key.get_secret_value() if settings.secret_key else None)
    if not key:
        raise SettingsError("Invalid setting SECRET_KEY: required (at least 16 characters)")

    # SOURCE_QUERIES_FILE and METRICS_CATALOGUE_FILE: a bad entry raises SettingsError (one
    # line); the catalogue, built once, goes to the API, Prometheus and the collector.
    catalogue = check_catalogue(settings)
    server = _create_server(settings, key)
    engine = make_engine(settings.store_url)
    ctx = AppContext(
        settings=settings, engine=engine, sessions=session_factory(engine), catalogue=catalogue
    )
    server.extensions[EXTENSION_KEY] = ctx

    init_read_connection(server)
    init_auth(server)
    _register_error_handlers(server)
    _register_health(server, ctx)
    server.after_request(_security_headers)

    @server.route(settings.url_prefix, endpoint="index")
    @server.route(ctx.url("admin/metrics"), endpoint="dashboard_redirect")
    def _to_dashboard() -> Any:
        return redirect(ctx.url(DASH_PATH))

    register_api(server, ctx)
    register_prometheus(server, ctx)

    dash_base = ctx.url(DASH_PATH)
    build_dash(server, ctx, assets_folder=str(ASSETS_DIR), base_path=dash_base)
    # Static files are the same for everyone: compressed once per worker, cached for long.
    init_wire(
        server,
        (
            dash_base + "assets/",
            dash_base + "_dash-component-suites/",
            settings.url_prefix + "static/",
        ),
    )
    ctx.public_endpoints = public_endpoints(server, dash_base)
    # Unless METRICS_COLLECTION_ENABLED=false, joins the scheduler's leader election (after
    # fork: the factory runs in each worker); stopped at exit.
    ctx.scheduler = start_metrics_service(
        settings, catalogue=catalogue, extensions=_scheduler_extensions(settings, ctx)
    )
    # After fork too: each worker warms its own renderer, in the background.
    ctx.warm_chart_renderer()
    # The forecast's statistics (≈ 0.5 s to import, left lazy for the CLI) load now, not in
    # the first visitor's request.
    import scipy.stats  # noqa: F401

    return server

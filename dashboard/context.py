"""Per-app state shared by the Flask views, Dash callbacks and the API (no globals).

The long-lived helpers are named, typed attributes; ``close()`` stops them in order when a
worker goes away (gunicorn's ``worker_exit``, tests).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from admin_metrics.settings import Settings
from dashboard.charts.overlays import Insights
from dashboard.charts.series import Series, SeriesCache
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.insights import InsightOptions
from dashboard.reports.mailing import ReportPresenter
from db import audit
from db.catalogue import Catalogue
from db.engine import session_scope

if TYPE_CHECKING:
    from dash import Dash

    from collectors.scheduler import MetricsService

log = logging.getLogger(__name__)

EXTENSION_KEY = "admin_metrics"
_READ_CONNECTION = "amh_read_connection"


def init_read_connection(app: Flask) -> None:
    """Return the request's read connection (``AppContext.read_connection``) to the pool."""

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        conn: Connection | None = g.pop(_READ_CONNECTION, None)
        if conn is not None:
            conn.close()


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # The metrics (the six and METRICS_CATALOGUE_FILE's), checked once at start-up.
    catalogue: Catalogue
    public_endpoints: frozenset[str] = frozenset()
    # The collection scheduler (None when METRICS_COLLECTION_ENABLED=false).
    scheduler: MetricsService | None = None
    # The page's query results, shared by every admin viewing the same range.
    series_cache: SeriesCache[Series] = field(default_factory=SeriesCache)
    # The page's figures and cards built from them: under many concurrent admins on the
    # same ranges, building and validating figures was most of a callback's CPU.
    figure_cache: SeriesCache[tuple[list[Any], list[Any]]] = field(default_factory=SeriesCache)
    # The sources and labels the store holds (``sources_and_labels``) per latest slots.
    seen_cache: SeriesCache[tuple[list[str], dict[str, list[str]]]] = field(
        default_factory=SeriesCache
    )
    # Forecasts and unusual values per window and latest slots (they change with the data).
    insights_cache: SeriesCache[Insights] = field(default_factory=SeriesCache)
    # The Dash app (its CSP hashes go into every response).
    dash_app: Dash | None = None
    # Kaleido for PDF charts: created on first use (get_chart_renderer), never for CSVs.
    chart_renderer: ChartRenderer | None = None
    _renderer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.sessions) as session:
            yield session

    def read_connection(self) -> Connection:
        """This request's connection for reads, in autocommit: the API token check and the
        query share one pool checkout and send no BEGIN/COMMIT (closed when the request
        ends, ``init_read_connection``). Each statement sees the data as it is when it runs.
        """
        conn: Connection | None = g.get(_READ_CONNECTION)
        if conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            setattr(g, _READ_CONNECTION, conn)
        return conn

    @property
    def insight_options(self) -> InsightOptions:
        """The forecast and unusual-value settings as the reports take them."""
        return InsightOptions.from_settings(self.settings)

    def report_presenter(self) -> ReportPresenter:
        """The export service as the alerts package sends reports with it."""
        return ReportPresenter(
            self.sessions,
            max_bytes=self.settings.export_max_bytes,
            renderer=self.get_chart_renderer,
            insights=self.insight_options,
        )

    def url(self, path: str = "") -> str:
        """An absolute path under the configured URL prefix."""
        return self.settings.url_prefix + path.lstrip("/")

    def get_chart_renderer(self) -> ChartRenderer:
        """The app's renderer, created on first use (thread-safe) and closed at exit."""
        with self._renderer_lock:
            if self.chart_renderer is None:
                self.chart_renderer = ChartRenderer(self.settings.chromium_path)
                atexit.register(self.chart_renderer.close)
            return self.chart_renderer

    def warm_chart_renderer(self) -> bool:
        """Start the renderer's browser in the background (CHART_RENDERER_WARM); returns
        at once, so a worker's start-up never waits for Chromium."""
        if not self.settings.chart_renderer_warm:
            return False
        return self.get_chart_renderer().warm_up()

    def close(self) -> list[str]:
        """Stop the scheduler, then the chart renderer, then close the store's pool.

        Returns the names of the helpers stopped. A failing one is logged and the others are
        still stopped: a worker that is going away must not leave a lock or a browser behind.
        """
        with self._renderer_lock:
            renderer, self.chart_renderer = self.chart_renderer, None
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.scheduler is not None:
            steps.append(("scheduler", self.scheduler.stop))
            self.scheduler = None
        if renderer is not None:
            steps.append(("chart_renderer", renderer.close))
        stopped: list[str] = []
        for name, stop in steps:
            try:
                stop()
            except Exception:
                log.exception("Stopping service %r failed", name)
                continue
            stopped.append(name)
        self.engine.dispose()
        if stopped:
            log.info("Background services stopped: %s", ", ".join(stopped))
        return stopped


def get_context(app: Flask | None = None) -> AppContext:
    app = app or current_app
    ctx: AppContext = app.extensions[EXTENSION_KEY]
    return ctx


def request_theme() -> str | None:
    """The ``theme`` cookie (``light``/``dark``); None: follow the browser's colour scheme."""
    theme = request.cookies.get("theme")
    return theme if theme in ("light", "dark") else None


def request_language() -> str:
    """``?lang=`` wins, then the ``lang`` cookie, then the configured default."""
    settings = get_context().settings
    lang = request.args.get("lang") or request.cookies.get("lang") or settings.default_language
    return lang if lang in ("ko", "en") else settings.default_language


def record_audit(
    db: Session,
    action: str,
    *,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit event for this request inside ``db``'s transaction (it commits or
    fails with the action). The actor defaults to the signed-in user, the address is the
    client's (through a trusted proxy: the forwarded one)."""
    if actor is None and current_user.is_authenticated:
        actor = current_user.username
    audit.record_event(db, action, actor=actor, address=request.remote_addr, details=details)

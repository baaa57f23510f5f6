"""Per-app state shared by the Flask views, Dash callbacks and the API (no globals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from admin_metrics.settings import Settings
from db.engine import session_scope

EXTENSION_KEY = "admin_metrics"


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    public_endpoints: frozenset[str] = frozenset()
    # Filled by features that need long-lived helpers (scheduler, chart renderer, ...).
    services: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.sessions) as session:
            yield session

    def url(self, path: str = "") -> str:
        """An absolute path under the configured URL prefix."""
        return self.settings.url_prefix + path.lstrip("/")


def get_context(app: Flask | None = None) -> AppContext:
    app = app or current_app
    ctx: AppContext = app.extensions[EXTENSION_KEY]
    return ctx


def request_language() -> str:
    """``?lang=`` wins, then the ``lang`` cookie, then the configured default."""
    settings = get_context().settings
    lang = request.args.get("lang") or request.cookies.get("lang") or settings.default_language
    return lang if lang in ("ko", "en") else settings.default_language

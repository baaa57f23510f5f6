"""WSGI entry point for gunicorn: ``gunicorn 'admin_metrics.wsgi:create()'``.

The factory runs in each worker after fork, so every worker has its own engine pool
and the scheduler leader election happens per worker.
"""

from __future__ import annotations

import sys

from flask import Flask

from admin_metrics.logs import configure_logging
from admin_metrics.settings import SettingsError, load_settings


def create() -> Flask:
    from dashboard.app import create_app

    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        return create_app(settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None

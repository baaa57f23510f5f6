"""gunicorn configuration: ``gunicorn -c gunicorn.conf.py`` (the container's entrypoint).

Every value comes from the product's settings (WEB_BIND, WEB_WORKERS, WEB_THREADS,
WEB_TIMEOUT, WEB_GRACEFUL_TIMEOUT, LOG_LEVEL, LOG_FORMAT; see the README table), through the
same function ``admin-metrics serve`` uses. On SIGTERM each worker finishes its in-flight
requests (up to WEB_GRACEFUL_TIMEOUT), then stops the scheduler and the chart renderer.
"""

from __future__ import annotations

import sys

from gunicorn.config import Config

from admin_metrics.logs import configure_logging
from admin_metrics.settings import SettingsError, load_settings
from admin_metrics.wsgi import disable_control_socket, gunicorn_options

try:
    _settings = load_settings()
except SettingsError as _exc:
    print(_exc, file=sys.stderr)
    raise SystemExit(2) from None

configure_logging(_settings.log_level, _settings.log_format)
globals().update(gunicorn_options(_settings))
globals().update(disable_control_socket(Config().settings))

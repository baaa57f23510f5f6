"""Logging set-up: plain text or one JSON object per line (``LOG_FORMAT=json``).

The product's log messages (``Metrics scheduler started``, ``Hourly metrics collected
successfully``, ``메트릭 수집 최대 재시도 횟수 초과`` …) are the same in both formats: JSON only
wraps them, so the seed guide's ``grep`` recipes keep working.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter that would otherwise drown the product's own log lines.
    # APScheduler narrates every job it adds; the product logs its own scheduler lines.
    # Alembic lists its plugins on import (before a command's one-line error, e.g.).
    for noisy in ("werkzeug", "kaleido", "choreographer", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class JsonGunicornLogger(_GunicornLogger):  # type: ignore[misc]
    """gunicorn's error and access logs as JSON lines too (selected when LOG_FORMAT=json)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonFormatter())

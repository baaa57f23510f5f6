"""What goes over the wire: compression (brotli, gzip) and caching headers.

Why this shape:
- Flask-Compress picks ``br`` or ``gzip`` from ``Accept-Encoding`` and adds
  ``Vary: Accept-Encoding`` to every answer, so no cache serves a compressed body to a client
  that cannot read it. Answers under ``MIN_SIZE`` bytes are sent as they are: compressing a
  200-byte JSON costs more than it saves.
- Static files (Dash bundles, ``assets/``) are the same bytes for every visitor: each is
  compressed once per algorithm and kept in a small in-memory cache (bounded), so the CPU
  cost is paid once per worker, not per visit. Data answers (callbacks, API) are compressed
  per request and never cached.
- Dash fingerprints its component bundles itself (and sends them with a one-year max-age);
  files under ``assets/`` carry ``?m=<mtime>``, so a changed file gets a new URL and the
  old one may be cached for a year as well (``immutable``).
- JSON answers (the API, Dash's callback answers via plotly) are written by orjson: an
  order of magnitude faster than the standard library on the series the API sends, with the
  same bytes (sorted keys, compact, UTF-8) and Flask's rules for other types (dates as HTTP
  dates, Decimal and UUID as text).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson
from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider
from flask_compress import Compress

MIN_SIZE = 1024
COMPRESSED_TYPES = (
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
)
# Levels measured on this app's answers: brotli 4 and gzip 6 compress a 100 KB callback
# answer in a few milliseconds; higher levels cost several times more for a few % less.
BROTLI_LEVEL = 4
GZIP_LEVEL = 6
ONE_YEAR = 365 * 86400
STATIC_CACHE_ENTRIES = 64


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider on orjson. A call with options orjson has no equivalent for
    (``default=``, ``cls=`` …) is served by the standard library, as before."""

    _OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_NON_STR_KEYS
        # datetime, date and time go to ``default`` (Flask's: HTTP dates), not orjson's ISO.
        | orjson.OPT_PASSTHROUGH_DATETIME
    )
    _COMPATIBLE = frozenset({"separators", "indent"})

    def _encode(self, obj: Any, indent: Any = None) -> bytes:
        option = self._OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
        return orjson.dumps(obj, default=self.default, option=option)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs.keys() <= self._COMPATIBLE:
            return super().dumps(obj, **kwargs)
        return self._encode(obj, kwargs.get("indent")).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return super().loads(s, **kwargs) if kwargs else orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        indent = (self.compact is None and self._app.debug) or self.compact is False
        body = self._encode(obj, indent) + b"\n"
        return Response(body, mimetype=self.mimetype)


class StaticCompressionCache:
    """Compressed static files, least recently used first out (``STATIC_CACHE_ENTRIES``)."""

    def __init__(self, entries: int = STATIC_CACHE_ENTRIES) -> None:
        self.entries = entries
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def cacheable(key: str) -> bool:
        # Flask-Compress asks with "<algorithm>;<our key>"; an empty key means "not static".
        return not key.endswith(";")

    def get(self, key: str) -> bytes | None:
        if not self.cacheable(key):
            return None
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if not self.cacheable(key):
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)


def _is_static(req: Request, static_paths: tuple[str, ...]) -> bool:
    return req.method in ("GET", "HEAD") and req.path.startswith(static_paths)


def init_wire(server: Flask, static_paths: tuple[str, ...]) -> Compress:
    """Compression and caching headers; ``static_paths`` are the URL prefixes of files that
    are the same for everyone (Dash bundles, assets, Flask's static folder)."""
    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIMETYPES=list(COMPRESSED_TYPES),
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_BR_LEVEL=BROTLI_LEVEL,
        COMPRESS_LEVEL=GZIP_LEVEL,
        # Streamed answers (CSV exports, send_file) stay as they are; static files are read
        # into memory below, so they are compressed (once) like any other answer.
        COMPRESS_STREAMS=False,
        COMPRESS_CACHE_BACKEND=StaticCompressionCache,
        COMPRESS_CACHE_KEY=lambda req: req.full_path if _is_static(req, static_paths) else "",
    )
    compress = Compress(server)

    # Registered after Flask-Compress, so it runs before it (Flask runs them in reverse).
    @server.after_request
    def _prepare_static(response: Response) -> Response:
        if not _is_static(request, static_paths) or response.status_code != 200:
            return response
        if response.is_streamed and response.direct_passthrough:
            # A file from send_from_directory: small, so read it to let it be compressed.
            response.direct_passthrough = False
            response.get_data()
        if "m" in request.args and not response.cache_control.max_age:
            response.cache_control.no_cache = None  # Flask's default for static files
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
        return response

    return compress

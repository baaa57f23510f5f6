"""What goes over the wire: compression (brotli, gzip) and caching headers.

Why this shape:
- Flask-Compress picks ``br`` or ``gzip`` from ``Accept-Encoding`` and adds
  ``Vary: Accept-Encoding`` to every answer, so no cache serves a compressed body to a client
  that cannot read it. Answers under ``MIN_SIZE`` bytes are sent as they are: compressing a
  200-byte JSON costs more than it saves.
- Static files (Dash bundles, ``assets/``) are the same bytes for every visitor: each is
  compressed once per algorithm, at a slower and tighter level, and kept in a small
  in-memory cache (bounded), so the CPU cost is paid once per worker, not per visit. Data
  answers (callbacks, API) are compressed per request at a fast level and never cached.
- Dash fingerprints its component bundles itself (and sends them with a one-year max-age);
  files under ``assets/`` carry ``?m=<mtime>``, so a changed file gets a new URL and the
  old one may be cached for a year as well (``immutable``).
- JSON answers (the API, Dash's callback answers via plotly) are written by orjson: an
  order of magnitude faster than the standard library on the series the API sends, with the
  same bytes (sorted keys, compact, UTF-8) and Flask's rules for other types (dates as HTTP
  dates, Decimal and UUID as text).
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from typing import Any

import brotli
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
# Levels measured on this app's answers (2026-12-06). Data: brotli 2 makes a 160 KB callback
# answer 13.1 KB in 0.45 ms, brotli 4 12.3 KB in 0.83 ms; gzip 6 (for clients without br)
# 19.2 KB. Static, once per worker: brotli 5 makes plotly.js 363 KB (brotli 4: 401 KB) in
# 35 ms, bootstrap.css 28 KB (33 KB).
ALGORITHMS = ("br", "gzip")  # in order of preference
BROTLI_LEVEL = 2
GZIP_LEVEL = 6
STATIC_LEVELS = {"br": 5, "gzip": 9}
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
    """Compressed static files by (algorithm, path), least recently used first out
    (``STATIC_CACHE_ENTRIES``)."""

    def __init__(self, entries: int = STATIC_CACHE_ENTRIES) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def compressed(self, algorithm: str, path: str, data: bytes) -> bytes:
        key = (algorithm, path)
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = _compress(data, algorithm, STATIC_LEVELS[algorithm])
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return value


def _compress(data: bytes, algorithm: str, level: int) -> bytes:
    if algorithm == "br":
        return bytes(brotli.compress(data, quality=level))
    return gzip.compress(data, level, mtime=0)


def _is_static(req: Request, static_paths: tuple[str, ...]) -> bool:
    return req.method in ("GET", "HEAD") and req.path.startswith(static_paths)


def init_wire(server: Flask, static_paths: tuple[str, ...]) -> Compress:
    """Compression and caching headers; ``static_paths`` are the URL prefixes of files that
    are the same for everyone (Dash bundles, assets, Flask's static folder)."""
    server.config.update(
        COMPRESS_ALGORITHM=list(ALGORITHMS),
        COMPRESS_MIMETYPES=list(COMPRESSED_TYPES),
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_BR_LEVEL=BROTLI_LEVEL,
        COMPRESS_LEVEL=GZIP_LEVEL,
        # Streamed answers (CSV exports, send_file) stay as they are; static files are read
        # into memory and compressed below, once.
        COMPRESS_STREAMS=False,
        # Only static files have validators (ETag, Last-Modified), and they are answered
        # below; for data answers the evaluation found nothing to do, on every request.
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,
    )
    compress = Compress(server)
    cache = StaticCompressionCache()

    # Registered after Flask-Compress, so it runs before it (Flask runs them in reverse);
    # Flask-Compress adds ``Vary`` and leaves an answer with a Content-Encoding as it is.
    @server.after_request
    def _prepare_static(response: Response) -> Response:
        if not _is_static(request, static_paths) or response.status_code != 200:
            return response
        if response.is_streamed and response.direct_passthrough:
            # A file from send_from_directory: small, so read it to compress it.
            response.direct_passthrough = False
            response.get_data()
        if "m" in request.args and not response.cache_control.max_age:
            response.cache_control.no_cache = None  # Flask's default for static files
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
        algorithm = request.accept_encodings.best_match(ALGORITHMS)
        data = response.get_data()
        if algorithm and response.mimetype in COMPRESSED_TYPES and len(data) >= MIN_SIZE:
            response.set_data(cache.compressed(algorithm, request.full_path, data))
            response.headers["Content-Encoding"] = algorithm
            etag, weak = response.get_etag()
            if etag:  # another encoding is another entity
                response.set_etag(f"{etag}:{algorithm}", weak=bool(weak))
            response.make_conditional(request)
        return response

    return compress

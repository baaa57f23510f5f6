"""One long-lived Kaleido (headless Chromium) per process, rendering chart images for PDFs.

Why this shape (measured on this kind of machine):
- a new browser per chart costs 2–4 s; one open browser renders six charts in ≈ 1 s;
- Kaleido's global sync server is not thread-safe (concurrent callers got each other's
  images), so one ``Kaleido`` lives on its own event-loop thread and callers are serialised;
- ``mathjax=False``: otherwise Kaleido fetches MathJax from a CDN and hangs on a closed network;
- Kaleido loads the page's partial plotly.js (``paths.PLOTLY_JS``): each tab parses 1.2 MB
  instead of plotly.py's 4.8 MB, which cut Chromium's start with three tabs from 3.4 s to 1.1 s;
- an open browser costs ≈ 580 MiB, so it closes after idle minutes; ``warm_up`` starts it
  in the background when a worker starts (CHART_RENDERER_WARM), so the first PDF after a
  start does not wait 5–9 s for Chromium: one browser per worker at most, none when idle;
- after a render error or timeout the browser is thrown away and the next call starts anew.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from dashboard.paths import PLOTLY_JS
from dashboard.reports.errors import ExportError

if TYPE_CHECKING:
    import plotly.graph_objects as go

log = logging.getLogger(__name__)

_END: Final = object()  # end of a batch of figures
# Nobody waits for a warm-up: on a loaded machine Chromium's start can take well over the
# 30 s a waiting render allows, so the background start gets longer.
WARM_START_TIMEOUT_S: Final = 180.0
# At shutdown, how long a start or a close in flight may take to end before it is cancelled
# (a cancelled start closes the browser it was opening).
SHUTDOWN_WAIT_S: Final = 20.0


class ChartRenderer:
    """Render Plotly figures to PNG/SVG bytes with one Kaleido kept open between calls.

    Thread-safe: any number of request threads may call ``render``; they are served one
    batch at a time (a batch of six charts is rendered in parallel on ``tabs`` tabs).
    """

    def __init__(
        self,
        chromium_path: Path | str,
        *,
        tabs: int = 3,
        render_timeout_s: float = 30.0,
        start_timeout_s: float = 90.0,  # Chromium with three tabs takes 20–80 s on a loaded host
        idle_close_s: float = 300.0,
        plotly_js: Path = PLOTLY_JS,
    ) -> None:
        self.chromium_path = Path(chromium_path)
        self.plotly_js = plotly_js
        self.tabs = tabs
        self.render_timeout_s = render_timeout_s
        self.start_timeout_s = start_timeout_s
        self.idle_close_s = idle_close_s
        self._lock = threading.Lock()  # one batch at a time: Kaleido is not thread-safe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None  # kaleido.Kaleido while the browser is open (loop thread)
        self._idle_handle: asyncio.TimerHandle | None = None
        self._opening: asyncio.Task[Any] | None = None  # a browser being started (loop thread)
        self._closing: asyncio.Task[Any] | None = None  # an idle close under way (loop thread)
        self._rendering = 0  # batches in progress (loop thread): no idle close meanwhile
        self._closed = False

    # --- public API ------------------------------------------------------------------
    @property
    def browser_open(self) -> bool:
        return self._kaleido is not None

    def check_browser(self) -> None:
        """Fail fast (no process started) when Chromium is not installed."""
        path = self.chromium_path
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ExportError(
                f"Chromium not found at {path} (setting CHROMIUM_PATH); PDF charts need it: "
                "install the Debian packages 'chromium' and 'fonts-nanum'"
            )

    def warm_up(self) -> bool:
        """Start the browser in the background and return at once (False: not started).

        A render that comes while the browser is starting waits for that same browser; an
        unused warm browser closes after ``idle_close_s`` like any other.
        """
        try:
            self.check_browser()
        except ExportError as exc:
            log.warning("Chart renderer not warmed up: %s", exc)
            return False
        with self._lock:
            if self._closed:
                return False
            loop = self._ensure_loop()
        asyncio.run_coroutine_threadsafe(self._warm(), loop)
        return True

    def render(
        self,
        figures: Iterable[go.Figure],
        *,
        width: int,
        height: int,
        scale: float = 2,
        fmt: str = "png",
    ) -> list[bytes]:
        """Images of ``figures`` in order; raises ``ExportError`` (never hangs).

        ``figures`` may be a generator: each figure goes to the browser as soon as it is
        built, so building the next one overlaps with rendering (and with a cold start).
        """
        self.check_browser()
        if isinstance(figures, Sequence) and not figures:
            return []
        opts = {"format": fmt, "width": width, "height": height, "scale": scale}
        with self._lock:
            if self._closed:
                raise ExportError("chart renderer is shut down")
            loop = self._ensure_loop()
            queue: asyncio.Queue[Any] = asyncio.Queue()
            future = asyncio.run_coroutine_threadsafe(self._render_stream(queue, opts), loop)
            started = time.perf_counter()
            try:
                for figure in figures:
                    if future.done():  # the browser failed to start: stop feeding it
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, figure)
            except BaseException:
                future.cancel()
                raise
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            deadline = self.start_timeout_s + self.render_timeout_s + 5
            try:
                images = future.result(timeout=deadline)
            except FutureTimeout:
                future.cancel()
                self._restart(loop, "timeout")
                raise ExportError(f"chart rendering timed out after {deadline:.0f} s") from None
            except ExportError:
                self._restart(loop, "start failure")
                raise
            except Exception as exc:
                self._restart(loop, f"{type(exc).__name__}: {exc}")
                raise ExportError(f"chart rendering failed: {type(exc).__name__}: {exc}") from exc
            log.debug("Rendered %d charts in %.2f s", len(images), time.perf_counter() - started)
            return images

    def close(self) -> None:
        """Close the browser and stop the loop thread (shutdown; idempotent)."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(SHUTDOWN_WAIT_S + 30)
        except Exception as exc:  # noqa: BLE001 - shutting down anyway; say why
            log.warning("Chart renderer did not close cleanly: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)

    # --- the loop thread -------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._run_loop, args=(loop,), name="chart-renderer", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()
        loop.close()

    def _restart(self, loop: asyncio.AbstractEventLoop, why: str) -> None:
        """Throw the browser away so the next call starts a fresh one."""
        log.warning("Chart renderer restarting (%s)", why)
        try:
            asyncio.run_coroutine_threadsafe(self._close_browser(why), loop).result(15)
        except Exception as exc:  # noqa: BLE001 - the next call starts a new browser anyway
            log.warning("Chart renderer: closing the failed browser: %s", exc)
            self._kaleido = None

    async def _open_browser(self, start_timeout_s: float) -> Any:
        import kaleido

        started = time.perf_counter()
        k = kaleido.Kaleido(
            path=str(self.chromium_path),
            n=self.tabs,
            timeout=self.render_timeout_s,
            mathjax=False,  # never reach for the CDN
            # plotly.py's own bundle when a wheel was built without the assets
            plotlyjs=str(self.plotly_js) if self.plotly_js.is_file() else None,
        )
        try:
            await asyncio.wait_for(k.open(), start_timeout_s)
        except asyncio.CancelledError:  # shut down in the middle of the start
            await self._quiet_close(k)
            raise
        except Exception as exc:
            await self._quiet_close(k)
            # choreographer reports the timeout's cancellation as "closed after starting".
            if isinstance(exc, TimeoutError) or time.perf_counter() - started >= start_timeout_s:
                raise ExportError(
                    f"Chromium at {self.chromium_path} did not start within {start_timeout_s} s"
                ) from None
            raise ExportError(
                f"Chromium at {self.chromium_path} failed to start: {type(exc).__name__}: {exc}"
            ) from exc
        log.info(
            "Chart renderer started (%d tabs) in %.1f s", self.tabs, time.perf_counter() - started
        )
        return k

    async def _browser(self, start_timeout_s: float | None = None) -> Any:
        """The open browser, started once even when a warm-up and a render both ask."""
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        if self._kaleido is None:
            if self._opening is None:
                self._opening = asyncio.create_task(
                    self._open_browser(start_timeout_s or self.start_timeout_s)
                )
            opening = self._opening
            try:
                # shield: a render that times out must not kill a start others wait for.
                self._kaleido = await asyncio.shield(opening)
            finally:
                if self._opening is opening and opening.done():
                    self._opening = None
        return self._kaleido

    def _schedule_idle_close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        if self._rendering:  # the batch schedules it when it ends
            return
        self._idle_handle = loop.call_later(self.idle_close_s, self._start_idle_close)

    def _start_idle_close(self) -> None:
        self._closing = asyncio.get_running_loop().create_task(self._close_browser("idle"))

    async def _warm(self) -> None:
        started = time.perf_counter()
        try:
            await self._browser(max(self.start_timeout_s, WARM_START_TIMEOUT_S))
        except Exception as exc:  # noqa: BLE001 - the first PDF will try (and report) again
            log.warning("Chart renderer warm-up failed: %s", exc)
            return
        self._schedule_idle_close()
        log.info("Chart renderer warmed up in %.1f s", time.perf_counter() - started)

    async def _render_stream(self, queue: asyncio.Queue[Any], opts: dict[str, Any]) -> list[bytes]:
        self._rendering += 1
        try:
            return await self._render_batch(queue, opts)
        finally:
            self._rendering -= 1
            if self._kaleido is not None:
                self._schedule_idle_close()

    async def _render_batch(self, queue: asyncio.Queue[Any], opts: dict[str, Any]) -> list[bytes]:
        k = await self._browser()
        # Every chart is submitted as it arrives; the tabs render them in parallel.
        tasks: list[asyncio.Future[Any]] = []
        try:
            while (figure := await queue.get()) is not _END:
                tasks.append(asyncio.ensure_future(k.calc_fig(figure, opts=opts)))
            images = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        return [bytes(image) for image in images]

    async def _shutdown(self) -> None:
        """Close the browser once what is in flight on the loop has ended: a start (a CLI
        that stops at a usage error right after its warm-up) or an idle close would
        otherwise be cut off when the loop stops, and leave a Chromium behind."""
        # Only this renderer's own start and idle close: Kaleido's tasks run until it closes.
        others = [t for t in (self._opening, self._closing) if t is not None and not t.done()]
        if others:
            _, late = await asyncio.wait(others, timeout=SHUTDOWN_WAIT_S)
            for task in late:  # a start still going: cancelled, it closes what it opened
                task.cancel()
            if late:  # their errors are the shutdown's own doing: collected, not reported
                gathered = asyncio.gather(*late, return_exceptions=True)
                await asyncio.wait([gathered], timeout=15)
        await self._close_browser("shutdown")

    async def _close_browser(self, why: str) -> None:
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        k, self._kaleido = self._kaleido, None
        if k is not None:
            await self._quiet_close(k)
            log.info("Chart renderer closed (%s)", why)

    @staticmethod
    async def _quiet_close(k: Any) -> None:
        try:
            await asyncio.wait_for(k.close(), 10)
        except Exception as exc:  # noqa: BLE001 - the browser is being discarded
            log.warning("Chart renderer: browser close failed: %s", exc)

"""SIGTERM under gunicorn.conf.py: in-flight requests finish, then each worker stops the
scheduler and the chart renderer (``worker_exit``), and gunicorn exits cleanly.

The app under test is the real factory plus one public route that holds a request open
until the test releases it (files, no timing guesses), and stand-in services recording
that they were stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from tests.pgserver import free_port
from tests.support import REPO, wait_for

log = logging.getLogger("tests.held_app")


class _RecordingService:
    def __init__(self, name: str, marker_dir: Path) -> None:
        self.name, self.marker_dir = name, marker_dir

    def _record(self) -> None:
        (self.marker_dir / f"stopped-{self.name}-{os.getpid()}").touch()

    def stop(self) -> None:  # the scheduler's method
        self._record()

    def close(self) -> None:  # the chart renderer's method
        self._record()


def held_app() -> Flask:
    """gunicorn app factory (``tests.test_deploy_gunicorn:held_app()``)."""
    from admin_metrics.wsgi import create
    from dashboard.context import get_context

    app = create()
    ctx = get_context(app)
    markers = Path(ctx.settings.data_dir)
    ctx.scheduler = _RecordingService("scheduler", markers)  # type: ignore[assignment]
    ctx.chart_renderer = _RecordingService("chart_renderer", markers)  # type: ignore[assignment]

    def held() -> str:
        (markers / "request-started").write_text(str(os.getpid()))
        deadline = time.monotonic() + 20
        while not (markers / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return "finished"

    app.add_url_rule(ctx.url("held"), "held", held)
    ctx.public_endpoints = ctx.public_endpoints | {"held"}
    return app


def test_sigterm_finishes_in_flight_request_then_stops_services(tmp_path: Path) -> None:
    port = free_port()
    markers = tmp_path / "var"
    markers.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "WEB_"))}
    env.update(
        SECRET_KEY="graceful-secret-0123456789abcdef",
        DATA_DIR=str(markers),
        METRICS_COLLECTION_ENABLED="false",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        WEB_GRACEFUL_TIMEOUT="15",
        HOME=str(tmp_path),
        PYTHONPATH=str(REPO),
    )
    log_path = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "gunicorn.conf.py"),
            "tests.test_deploy_gunicorn:held_app()",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/"
    result: dict[str, Any] = {}
    try:

        def healthy() -> bool:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            try:
                return requests.get(base + "healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(healthy, timeout=60, what="gunicorn to serve")

        def call() -> None:
            result["response"] = requests.get(base + "held", timeout=30)

        client = threading.Thread(target=call)
        client.start()
        started = markers / "request-started"
        busy_pid = wait_for(
            lambda: started.exists() and started.read_text(), what="request in flight"
        )
        proc.send_signal(signal.SIGTERM)
        # The idle worker stops at once; the busy one is still serving: its services run.
        wait_for(
            lambda: "Handling signal: term" in log_path.read_text(errors="replace"),
            what="gunicorn to handle SIGTERM",
        )
        assert not list(markers.glob(f"stopped-*-{busy_pid}"))
        (markers / "release").touch()
        client.join(timeout=30)
        assert proc.wait(timeout=30) == 0, log_path.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    response = result["response"]
    assert (markers / f"stopped-scheduler-{busy_pid}").exists()
    assert response.status_code == 200 and response.text == "finished"
    stopped = sorted(p.name.rsplit("-", 1)[0] for p in markers.glob("stopped-*"))
    # Both workers stopped both services (scheduler first: see AppContext.close).
    assert stopped == ["stopped-chart_renderer"] * 2 + ["stopped-scheduler"] * 2
    text = log_path.read_text(errors="replace")
    assert text.count("Background services stopped: scheduler, chart_renderer") == 2
    assert not (tmp_path / ".gunicorn").exists()

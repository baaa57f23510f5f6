"""What the benchmark scripts share: synthetic history rows and latency statistics."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from db.metrics import METRIC_IDS
from tests.pgserver import free_port


def _value(metric_index: int, step: int, per_day: int, growth: int) -> int:
    daily = 1 + 0.5 * math.sin(2 * math.pi * (step % per_day) / per_day)
    return int((1000 + growth * step) * (metric_index + 1) * daily)


def history_rows(
    end: datetime, *, hourly_days: int, daily_days: int, growth: int = 1
) -> list[dict[str, Any]]:
    """``metric_snapshots`` rows for all six metrics ending at ``end``: a daily rhythm
    (weekly for daily rows) on a linear growth of ``growth`` per slot."""
    rows = []
    for granularity, count, step, per_day in (
        ("hourly", hourly_days * 24, timedelta(hours=1), 24),
        ("daily", daily_days, timedelta(days=1), 7),
    ):
        for i in range(count):
            slot = end - step * (count - 1 - i)
            if granularity == "daily":
                slot = slot.replace(hour=0)
            for m, metric in enumerate(METRIC_IDS):
                rows.append(
                    {
                        "metric_type": metric,
                        "value": _value(m, i, per_day, growth),
                        "granularity": granularity,
                        "collected_at": slot,
                    }
                )
    return rows


def timed(fn: Callable[[], object], repeat: int, warmup: int = 0) -> list[float]:
    """Milliseconds of ``repeat`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def start_server(
    workdir: Path, env_overrides: dict[str, str], *, workers: int = 1, timeout: float = 120
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``admin-metrics serve`` (gunicorn) on a free port, healthy; (process, base URL, log).

    The environment is this one without database settings, plus a secret, ``DATA_DIR`` under
    ``workdir``, collection off and ``env_overrides``.
    """
    port = free_port()
    log = workdir / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SOURCE_"))}
    env.update(
        {
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "DATA_DIR": str(workdir / "var"),
            "METRICS_COLLECTION_ENABLED": "false",
            **env_overrides,
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "admin_metrics.cli", "serve", "--port", str(port)]
        + ["--workers", str(workers)],
        cwd=workdir,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace"))
        try:
            if requests.get(base + "healthz", timeout=5).status_code == 200:
                return proc, base, log
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log.read_text(errors="replace"))


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()

#!/usr/bin/env python
"""Benchmark the exports: CSV of six metrics (90 days daily, 30 days hourly) and a PDF
with six charts (cold: browser start included; warm: the renderer already open), and
``admin-metrics export --format pdf`` as a script runs it (a new process and Chromium each
time; wall clock from start to exit).

Usage: .venv/bin/python scripts/bench_export.py [--database-url URL] [--repeat N]
Without --database-url a temporary SQLite store is created, migrated and filled.
Prints markdown rows for the README's ``## Benchmarks`` table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import history_rows, p95, timed  # noqa: E402 (scripts/, beside this file)
from sqlalchemy import delete, insert  # noqa: E402

from admin_metrics.settings import Settings  # noqa: E402
from dashboard.reports.chart_renderer import ChartRenderer  # noqa: E402
from dashboard.reports.export_service import render_export  # noqa: E402
from dashboard.reports.types import ExportSpec  # noqa: E402
from db.engine import make_engine, session_factory, session_scope, store_session  # noqa: E402
from db.metrics import METRIC_IDS  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import MetricSnapshot  # noqa: E402

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def seed(url: str) -> None:
    """30 days hourly and 90 days daily for all six metrics, ending now."""
    rows = history_rows(END, hourly_days=30, daily_days=90, growth=10)
    with store_session(url) as session:
        session.execute(delete(MetricSnapshot))
        session.execute(insert(MetricSnapshot), rows)


def cli_pdf(url: str, folder: Path, runs: int) -> list[float]:
    """Seconds from start to exit of ``admin-metrics export --format pdf`` (7 d hourly)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    env.update({"DATABASE_URL": url, "DATA_DIR": str(folder / "var")})
    command = [str(Path(sys.executable).parent / "admin-metrics"), "export", "--format", "pdf"]
    command += ["--from", (END - timedelta(days=7)).isoformat(), "--to", END.isoformat()]
    command += ["--granularity", "hourly", "-o", str(folder / "cli.pdf")]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="existing store (its metric rows are replaced!)")
    parser.add_argument("--repeat", type=int, default=20, help="CSV repetitions")
    parser.add_argument("--pdf-repeat", type=int, default=5, help="warm PDF repetitions")
    parser.add_argument("--cli-repeat", type=int, default=5, help="CLI PDF repetitions")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    upgrade(url)
    seed(url)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    engine = make_engine(url)
    sessions = session_factory(engine)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"

    def export(spec: ExportSpec, renderer: ChartRenderer | None = None) -> int:
        with session_scope(sessions) as session:
            return len(
                render_export(
                    session, spec, renderer=renderer, max_bytes=settings.export_max_bytes
                ).content
            )

    rows: list[tuple[str, str, str]] = []
    for label, granularity, days in (
        ("90 days daily", "daily", 90),
        ("30 days hourly", "hourly", 30),
    ):
        spec = ExportSpec(
            METRIC_IDS, END - timedelta(days=days), END, granularity, "csv", tz="Asia/Seoul"
        )
        size = export(spec)  # warm-up (imports, connection)
        times = timed(lambda spec=spec: export(spec), args.repeat)
        rows.append(
            (
                f"CSV export, six metrics × {label} ({backend}, {size / 1024:.0f} KB)",
                "< 300 ms",
                f"median {statistics.median(times):.0f} ms, p95 {p95(times):.0f} ms",
            )
        )

    spec = ExportSpec(METRIC_IDS, END - timedelta(days=7), END, "hourly", "pdf", tz="Asia/Seoul")
    renderer = ChartRenderer(settings.chromium_path)
    try:
        cold = timed(lambda: export(spec, renderer), 1)[0]
        warm = timed(lambda: export(spec, renderer), args.pdf_repeat)
        size = export(spec, renderer)
    finally:
        renderer.close()
    rows.append(
        (
            f"PDF report, six charts, 7 days hourly, cold (browser start; {size / 1024:.0f} KB)",
            "—",
            f"{cold / 1000:.1f} s",
        )
    )
    rows.append(
        (
            "PDF report, six charts, warm (renderer open)",
            "< 2 s",
            f"median {statistics.median(warm) / 1000:.2f} s, max {max(warm) / 1000:.2f} s",
        )
    )
    # A worker with CHART_RENDERER_WARM: Chromium started in the background at start; the
    # first PDF right when that start is done, and 5 s later (Chromium settles for a few
    # seconds after its start), against the next two.
    for settle in (0, 5):
        renderer = ChartRenderer(settings.chromium_path)
        try:
            renderer.warm_up()
            while not renderer.browser_open:
                time.sleep(0.05)
            time.sleep(settle)
            first, *later = timed(lambda r=renderer: export(spec, r), 3)
        finally:
            renderer.close()
        rows.append(
            (
                f"PDF, first after a warm-up start (CHART_RENDERER_WARM), {settle} s after the "
                "start is done, against the next two",
                "≤ 1.5 × a warm PDF",
                f"first {first / 1000:.2f} s, then {later[0] / 1000:.2f} / {later[1] / 1000:.2f} "
                f"s: {first / statistics.median(later):.2f} ×",
            )
        )
    cli = cli_pdf(url, Path(tmp.name), args.cli_repeat)
    rows.append(
        (
            "`admin-metrics export --format pdf`, 7 days hourly (new process and Chromium)",
            "≤ 4 s",
            f"median {statistics.median(cli):.2f} s, max {max(cli):.2f} s (n={len(cli)})",
        )
    )
    engine.dispose()
    tmp.cleanup()
    for what, target, measured in rows:
        print(f"| {what} | {target} | {measured} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark of the dashboard page (README "Benchmarks").

1. Server time of the range-change callback (one POST to ``_dash-update-component`` that
   redraws all six graphs and cards) on PostgreSQL, in-process through Flask's test client
   with a signed-in admin: 7 days hourly, 30 days hourly, 90 days daily — uncached (the
   series, insights and figure caches emptied before every request) and cached, and the
   answer's size. Target < 300 ms.
2. Time from navigation to all six graphs drawn in headless Chromium against
   ``admin-metrics demo`` (its back-filled demo data), cold (browser cache emptied through
   CDP before each load) and warm (bundles cached), and the bytes the page transferred
   (Performance API ``transferSize`` of the document and every resource, callbacks
   included). Targets: cold ≤ 1.5 MB transferred; six graphs ≤ 1.2 s cold, ≤ 800 ms warm.

Usage: ``.venv/bin/python scripts/bench_page.py [--runs N] [--skip-browser]``.
PostgreSQL: ``BENCH_DATABASE_URL`` (an empty database) or a throw-away server is started.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from admin_metrics.settings import Settings  # noqa: E402
from dashboard.charts.series import SeriesCache  # noqa: E402
from dashboard.context import get_context  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests.pgserver import PgServer, free_port  # noqa: E402
from tests.support import (  # noqa: E402
    CHROMIUM_FLAGS,
    chromium_binary,
    create_user,
    login,
    render_request,
    seed_history,
)

CASES = (
    ("7 d hourly", "?range=7&granularity=hourly"),
    ("30 d hourly", "?range=30&granularity=hourly"),
    ("90 d daily", "?range=90&granularity=daily"),
    ("30 d hourly + compare", "?range=30&granularity=hourly&compare=previous"),
)

# Records, from navigation start, when all six graphs first have drawn SVG traces.
DRAWN_PROBE = """
(function () {
  const ids = ["active_users", "storage_bytes", "active_sessions",
               "conversation_count", "document_count", "tag_count"];
  function check() {
    const done = ids.every(id => {
      const el = document.getElementById("graph-" + id);
      return el && el.querySelector(".scatterlayer .trace path.js-line");
    });
    if (done) { window.__sixGraphsDrawn = performance.now(); return; }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


# Bytes over the wire for this page load: the document and every resource (scripts, CSS,
# layout, callbacks), compressed sizes as received (0 for what came from the cache).
TRANSFERRED = """
const nav = performance.getEntriesByType("navigation")[0];
return performance.getEntriesByType("resource")
  .reduce((sum, e) => sum + e.transferSize, nav ? nav.transferSize : 0);
"""


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms (n={len(ordered)})"


def bench_callback(pg_url: str, runs: int) -> list[tuple[str, str]]:
    from dashboard.app import create_app

    upgrade(pg_url)
    seed_history(pg_url, hourly_days=30, daily_days=90)
    create_user(pg_url, "admin")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=pg_url,
        secret_key="bench-secret-key-0123456789abcdef",
        metrics_collection_enabled=False,
        data_dir=Path(tempfile.mkdtemp(prefix="amh-bench-")),
    )
    app = create_app(settings)
    ctx = get_context(app)
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    deps = client.get("/admin/metrics/_dash-dependencies").get_json()
    rows = []
    for name, search in CASES:
        body = render_request(deps, search=search)
        timings: dict[str, list[float]] = {"uncached": [], "cached": []}
        for mode in ("uncached", "cached"):
            client.post("/admin/metrics/_dash-update-component", json=body)  # warm-up
            for _ in range(runs):
                if mode == "uncached":  # every cache the callback reads through
                    ctx.series_cache = SeriesCache()
                    ctx.figure_cache = SeriesCache()
                    ctx.insights_cache = SeriesCache()
                start = time.perf_counter()
                response = client.post("/admin/metrics/_dash-update-component", json=body)
                timings[mode].append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.status_code
        size = len(response.get_data())
        rows.append(
            (
                f"range-change callback, six graphs, {name} (PostgreSQL)",
                f"uncached {stats(timings['uncached'])}; cached {stats(timings['cached'])}; "
                f"answer {size / 1024:.0f} KB raw",
            )
        )
        print(rows[-1], flush=True)
    ctx.engine.dispose()
    return rows


def bench_browser(runs: int) -> list[tuple[str, str]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    work = Path(tempfile.mkdtemp(prefix="amh-bench-demo-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SOURCE_"))}
    log = (work / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "admin_metrics.cli", "demo", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/"
    driver = None
    rows = []
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "demo.log").read_text(errors="replace")[-3000:])
            try:
                if requests.get(base + "healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        password = (work / "var" / "demo_admin_password").read_text().strip()
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_binary() or "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.get(base + "login")
        driver.find_element(By.ID, "username").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "login-submit").click()
        WebDriverWait(driver, 30).until(lambda d: "/admin/metrics/" in d.current_url)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_PROBE})
        driver.execute_cdp_cmd("Network.enable", {})
        for name, search in (CASES[0], CASES[3]):
            for mode in ("cold", "warm"):
                samples, sizes = [], []
                for i in range(runs + 1):
                    if mode == "cold":
                        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
                    driver.get(base + "admin/metrics/" + search)
                    drawn = WebDriverWait(driver, 60).until(
                        lambda d: d.execute_script("return window.__sixGraphsDrawn")
                    )
                    if i:  # the first load warms the server (and, warm, the cache)
                        samples.append(float(drawn))
                        sizes.append(float(driver.execute_script(TRANSFERRED)))
                rows.append(
                    (
                        f"navigation → six graphs drawn, {name}, {mode} cache "
                        "(headless Chromium, demo data)",
                        f"{stats(samples)}; transferred median "
                        f"{statistics.median(sizes) / 1e6:.2f} MB",
                    )
                )
                print(rows[-1], flush=True)
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, str]] = []
    external = os.environ.get("BENCH_DATABASE_URL")
    server: Any = None
    try:
        if external:
            pg_url = external
        else:
            server = PgServer().start()
            import sqlalchemy as sa

            engine = sa.create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(sa.text('CREATE DATABASE "amh_bench"'))
            engine.dispose()
            pg_url = server.url("amh_bench")
        rows += bench_callback(pg_url, args.runs)
    finally:
        if server is not None:
            server.stop()
    if not args.skip_browser:
        rows += bench_browser(max(3, args.runs // 3))
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nload average (1/5/15 min) at the end: {load}; {os.cpu_count()} CPUs")
    print("\n| what | target | measured |\n|---|---|---|")
    for what, measured in rows:
        if "cold" in what:
            target = "≤ 1.2 s, ≤ 1.5 MB"
        elif "warm" in what:
            target = "≤ 800 ms"
        else:
            target = "< 300 ms"
        print(f"| {what} | {target} | {measured} |")


if __name__ == "__main__":
    main()

"""Property-based run of schemathesis against the running app's own OpenAPI document.

Every generated request (valid and invalid, with and without the token) must get a
documented status, a body matching the documented schema, and never a 5xx. The suite runs
a modest number of examples per operation; ``SCHEMATHESIS_MAX_EXAMPLES`` raises it for a
full run by hand (e.g. ``SCHEMATHESIS_MAX_EXAMPLES=300``).

The response-time check gets the request timeout as its limit (timing belongs to the
benchmarks).
``positive_data_acceptance`` is left out on purpose: cross-field rules (end after start,
inside retention) cannot be written in JSON Schema, so schema-valid requests may rightly
get 400.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db.accounts import create_api_token
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.models import MetricCollectionFailure, MetricSnapshot
from tests.support import create_user

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _seed(url: str) -> str:
    """Two days of hourly rows, a week of daily rows, one failure; returns an admin token."""
    create_user(url, "admin")
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            for i, metric in enumerate(METRIC_IDS):
                session.add_all(
                    MetricSnapshot(
                        metric_type=metric,
                        granularity="hourly",
                        collected_at=top - timedelta(hours=h),
                        value=100 * i + h,
                    )
                    for h in range(48)
                )
                session.add_all(
                    MetricSnapshot(
                        metric_type=metric,
                        granularity="daily",
                        collected_at=top.replace(hour=0) - timedelta(days=d),
                        value=10 * d,
                    )
                    for d in range(1, 8)
                )
            session.add(
                MetricCollectionFailure(
                    metric_type="tag_count",
                    granularity="hourly",
                    attempted_at=top - timedelta(hours=3),
                    error_message="원본 데이터베이스 연결 실패",
                )
            )
            return create_api_token(session, "fuzz", "admin")
    finally:
        engine.dispose()


def _count_requests(ndjson: Path) -> int:
    """Requests schemathesis made, from its NDJSON event log."""
    count = 0
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        for value in event.values():
            if isinstance(value, dict):
                for step in value.get("recorder", {}).get("interactions", {}).values():
                    count += 1 if step.get("response") or step.get("request") else 0
    return count


@pytest.mark.timeout(900)  # 19 operations on a busy 2-core machine: 5 minutes and more
def test_generated_requests_get_documented_non_5xx_answers(
    pg_url: str, live_server_factory: Callable[..., Any], tmp_path: Path
) -> None:
    token = _seed(pg_url)
    server = live_server_factory({"DATABASE_URL": pg_url})
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12")
    report = tmp_path / "events.ndjson"
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            server.url + "api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            # ``--checks all`` limits answers to 10 s; timing is for the benchmarks, and a
            # cold PDF on a busy 2-core machine can take longer.
            "--max-response-time",
            "120",
            "--max-examples",
            examples,
            "--seed",
            "20251102",
            "--workers",
            "1",
            "--request-timeout",
            "120",  # a cold PDF render (Chromium start) on a busy 2-core machine
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"},
    )
    output = result.stdout + result.stderr
    print(output[-6000:])
    if report.exists():
        print(f"schemathesis requests: {_count_requests(report)}")
    assert result.returncode == 0, output[-6000:]
    log = server.log_text()
    statuses = Counter(re.findall(r'" (\d{3}) \d+ "', log))
    print(f"status codes in the access log: {dict(sorted(statuses.items()))}")
    assert not [code for code in statuses if code.startswith("5") and code != "503"]
    for path in ("/api/v1/audit", "/api/v1/audit.csv"):
        calls = re.findall(rf'"GET {re.escape(path)}[? ]', log)
        assert len(calls) > 5, f"schemathesis exercised {path}"
    assert token not in log, "the bearer token must never be logged"

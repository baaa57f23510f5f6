#!/usr/bin/env python
"""Benchmark alerting: what a collection pays for it (the after-collection hook), one
evaluation of 24 rules (each kind on every metric it fits) over 30 days hourly + 90 days
daily, and the time from the end of a collection to the mail in a loopback SMTP inbox.

Usage: .venv/bin/python scripts/bench_alerts.py [--database-url URL] [--repeat N]
Without --database-url a temporary SQLite store is created, migrated and filled.
Prints markdown rows for the README's ``## Benchmarks`` table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import history_rows, p95, timed  # noqa: E402 (scripts/, beside this file)
from sqlalchemy import delete, insert  # noqa: E402

from admin_metrics.settings import Settings  # noqa: E402
from alerts import manage  # noqa: E402
from alerts.config import alert_config  # noqa: E402
from alerts.evaluate import evaluate_rules  # noqa: E402
from alerts.service import AlertService  # noqa: E402
from dashboard.reports.mailing import ReportPresenter  # noqa: E402
from db import alerts as store  # noqa: E402
from db.engine import make_engine, session_factory, session_scope  # noqa: E402
from db.metrics import METRIC_IDS  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import AlertDelivery, AlertEvent, MetricSnapshot  # noqa: E402
from tests.alert_receivers import SmtpServer, no_renderer  # noqa: E402

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="existing store (its rows are replaced!)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/metrics.db"
    upgrade(url)
    smtp = SmtpServer().start()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from="metrics@intranet.example",
        storage_capacity_bytes=10**15,
    )
    config = alert_config(settings)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with session_scope(sessions) as session:
        for table in (AlertDelivery, AlertEvent, MetricSnapshot):
            session.execute(delete(table))
        for rule in store.list_rules(session):
            store.delete_rule(session, rule.id)
        for channel in store.list_channels(session):
            store.delete_channel(session, channel.id)
        session.execute(
            insert(MetricSnapshot), history_rows(END, hourly_days=30, daily_days=90, growth=10)
        )
        mail = manage.add_channel(
            session, {"name": "ops", "kind": "email", "recipients": ["ops@x.example"]}, now=END
        )
        rules = []
        for metric in METRIC_IDS:
            rules.append({"metric_type": metric, "condition": {"type": "threshold", "value": 1e12}})
            rules.append({"metric_type": metric, "condition": {"type": "change", "percent": 500}})
        rules += [{"condition": {"type": "collection_failing", "failed_slots": 3}}] * 5
        rules += [{"condition": {"type": "collection_failing", "no_success_hours": 2}}] * 6
        rules.append({"condition": {"type": "storage_forecast", "days": 30}})
        for i, rule in enumerate(rules):
            manage.add_rule(
                session, {"name": f"r{i}", "channel_ids": [mail.id], **rule}, config, now=END
            )
    now = END.replace(minute=1)
    presenter = ReportPresenter(sessions, max_bytes=settings.export_max_bytes, renderer=no_renderer)
    evaluation = timed(lambda: evaluate_rules(sessions, config, presenter, now=now), args.repeat, 2)

    service = AlertService(sessions, config, presenter, clock=lambda: now)
    hook = timed(service.after_collection, args.repeat)
    service.drain(30)
    # One rule that fires: from the end of a collection (the hook) to the mail in the inbox.
    with session_scope(sessions) as session:
        manage.add_rule(
            session,
            {
                "name": "fires",
                "metric_type": "tag_count",
                "channel_ids": [mail.id],
                "condition": {"type": "threshold", "value": 0},
            },
            config,
            now=END,
        )
    started = time.perf_counter()
    service.after_collection()
    while not smtp.mails:
        time.sleep(0.002)
    to_inbox = (time.perf_counter() - started) * 1000
    service.stop()
    smtp.stop()
    engine.dispose()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"| alerting ({backend}): after-collection hook / evaluation of {len(rules)} rules "
        f"(30 d hourly + 90 d daily) / collection end → mail in a loopback inbox | — | "
        f"hook p95 {p95(hook):.2f} ms; evaluation median {statistics.median(evaluation):.0f} ms, "
        f"p95 {p95(evaluation):.0f} ms; to inbox {to_inbox:.0f} ms |"
    )


if __name__ == "__main__":
    main()

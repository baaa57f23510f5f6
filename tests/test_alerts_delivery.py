"""Alerts end to end with real receivers on loopback: a real SMTP server (aiosmtpd) and a
real HTTP webhook receiver, the real collection job, PostgreSQL and SQLite stores."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from admin_metrics.settings import Settings
from alerts import manage
from alerts.channels import SIGNATURE_HEADER, verify
from alerts.config import alert_config
from alerts.service import AlertService
from collectors.queries import check_source_queries
from collectors.scheduler import MetricsService
from dashboard.reports.mailing import ReportPresenter
from db import alerts as store
from db.engine import make_engine, session_factory, session_scope
from db.models import AlertDelivery, MetricSnapshot
from tests.alert_receivers import HangingReceiver, SmtpServer, WebhookReceiver, no_renderer
from tests.support import fill_source, run_sql, source_url_for, wait_for

SECRET = "webhook-secret-0123"
SLOT0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = source_url_for(store_url, request, tmp_path)
    fill_source(
        url,
        SLOT0,
        users=2,
        live_sessions=[1],
        expired_sessions=[],
        conversations=1,
        file_sizes=[10],
        tags=1,
    )
    return url


def set_tags(url: str, count: int) -> None:
    run_sql(url, ["DELETE FROM tags"])
    for i in range(count):
        run_sql(url, ["INSERT INTO tags (name) VALUES (:n)"], [{"n": f"t{i}"}])


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def alert_settings(
    make_settings: Callable[..., Settings], store_url: str, source_url: str, smtp: SmtpServer
) -> Settings:
    return make_settings(
        database_url=store_url,
        source_database_url=source_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from="Admin Metrics <metrics@intranet.example>",
        public_url="https://intranet.example/metrics/",
    )


@pytest.fixture
def sessions(store_url: str) -> Iterator[Any]:
    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


def add_rule_with_channels(
    sessions: Any, settings: Settings, webhook_url: str, **condition: Any
) -> int:
    config = alert_config(settings)
    with session_scope(sessions) as session:
        mail = manage.add_channel(
            session,
            {"name": "ops", "kind": "email", "recipients": ["ops@intranet.example"]},
            now=SLOT0,
        )
        hook = manage.add_channel(
            session,
            {
                "name": "chat",
                "kind": "webhook",
                "url": webhook_url,
                "secret": SECRET,
                "timeout_seconds": condition.pop("timeout", 5),
            },
            now=SLOT0,
        )
        rule = manage.add_rule(
            session,
            {
                "name": "tag surge",
                "metric_type": "tag_count",
                "condition": {"type": "threshold", "op": "above", "value": 3, **condition},
                "level": "critical",
                "channel_ids": [mail.id, hook.id],
            },
            config,
            now=SLOT0,
        )
        return rule.id


def events(webhooks: WebhookReceiver) -> list[str]:
    return [json.loads(h.body)["event"] for h in webhooks.hooks]


def test_threshold_rule_fires_on_the_crossing_collection_and_resolves_once_each(
    alert_settings: Settings,
    sessions: Any,
    source_url: str,
    smtp: SmtpServer,
    hooks: WebhookReceiver,
) -> None:
    rule_id = add_rule_with_channels(sessions, alert_settings, hooks.url)
    clock = Clock(SLOT0)
    presenter = ReportPresenter(
        sessions, max_bytes=alert_settings.export_max_bytes, renderer=no_renderer
    )
    alerts = AlertService(sessions, alert_config(alert_settings), presenter, clock=clock)
    service = MetricsService(
        alert_settings, check_source_queries(alert_settings), clock=clock, extensions=[alerts]
    )

    def collect(hour: int, tags: int) -> datetime:
        set_tags(source_url, tags)
        clock.now = SLOT0 + timedelta(hours=hour, seconds=20)
        service.collect_current_slot()  # the scheduler's own hourly job
        assert alerts.drain(30), "evaluation and deliveries finish"
        return SLOT0 + timedelta(hours=hour)

    try:
        collect(0, 1)
        assert (smtp.mails, hooks.hooks) == ([], [])  # under the threshold: nothing
        crossed = collect(1, 5)
        assert len(smtp.mails) == 1 and events(hooks) == ["alert.firing"]
        collect(2, 6)
        collect(3, 5)  # still above: not sent again
        assert len(smtp.mails) == 1 and len(hooks.hooks) == 1
        back = collect(4, 2)
        assert len(smtp.mails) == 2 and events(hooks) == ["alert.firing", "alert.resolved"]
        collect(5, 1)
        assert len(smtp.mails) == 2 and len(hooks.hooks) == 2
    finally:
        service.stop()

    firing, resolved = smtp.mails
    assert firing.rcpt_tos == ["ops@intranet.example"]
    assert firing.mail_from == "metrics@intranet.example"
    assert firing.message["Subject"] == "[위험·발생] tag surge: 태그 수 3개 초과"
    text = firing.message.get_body(("plain",)).get_content()
    assert "현재 값: 5개 (2026-12-03 11:00)" in text  # the crossing slot, in Asia/Seoul
    assert "https://intranet.example/metrics/admin/metrics/" in text
    assert resolved.message["Subject"] == "[위험·해결] tag surge: 태그 수 3개 초과"
    assert "현재 값: 2개" in resolved.message.get_body(("plain",)).get_content()

    for hook in hooks.hooks:  # every webhook signed with the channel's secret
        assert verify(hook.body, SECRET, hook.headers[SIGNATURE_HEADER])
        assert hook.headers["Content-Type"].startswith("application/json")
        assert hook.path == "/hooks/metrics?token=abc"
    first = json.loads(hooks.hooks[0].body)
    assert first["rule"]["id"] == rule_id and first["values"]["value"] == 5.0
    assert first["values"]["slot"] == crossed.isoformat()
    assert json.loads(hooks.hooks[1].body)["values"]["slot"] == back.isoformat()

    with session_scope(sessions) as session:
        (event,) = store.recent_events(session)
        assert event.trigger_values["slot"] == crossed.isoformat()
        assert event.resolved_at == back + timedelta(seconds=20)
        records = manage.history(session)
    (record,) = records
    assert sorted(
        (d.delivery.purpose, d.delivery.kind, d.delivery.status) for d in record.deliveries
    ) == [
        ("firing", "email", "sent"),
        ("firing", "webhook", "sent"),
        ("resolved", "email", "sent"),
        ("resolved", "webhook", "sent"),
    ]
    assert all(len(d.attempts) == 1 and d.attempts[0].ok for d in record.deliveries)


def _seed_value(store_url: str, slot: datetime, value: int) -> None:
    from collectors.runner import insert_snapshots

    engine = make_engine(store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            insert_snapshots(session, {"tag_count": value}, "hourly", slot)
    finally:
        engine.dispose()


def test_a_failed_delivery_is_retried_by_the_leader_and_every_attempt_recorded(
    alert_settings: Settings,
    sessions: Any,
    store_url: str,
    hooks: WebhookReceiver,
) -> None:
    hooks.statuses = [500]  # then 200
    add_rule_with_channels(sessions, alert_settings, hooks.url)
    now = datetime.now(UTC)
    _seed_value(store_url, now.replace(minute=0, second=0, microsecond=0), 9)
    presenter = ReportPresenter(
        sessions, max_bytes=alert_settings.export_max_bytes, renderer=no_renderer
    )
    alerts = AlertService(
        sessions, alert_config(alert_settings), presenter, backoff_base=0.3, poll_seconds=0.2
    )
    settings = alert_settings.model_copy(update={"metrics_collection_enabled": True})
    service = MetricsService(
        settings, check_source_queries(settings), election_interval=0.2, extensions=[alerts]
    ).start()
    try:
        wait_for(lambda: service.is_leader, 10, "the service to lead")
        alerts.evaluate_soon()  # as after a collection
        wait_for(lambda: len(hooks.hooks) >= 2, 20, "the webhook to be retried")

        def webhook_delivery() -> AlertDelivery | None:
            with session_scope(sessions) as session:
                row = session.scalars(
                    select(AlertDelivery).where(AlertDelivery.kind == "webhook")
                ).one()
                return row if row.status == "sent" else None

        delivery = wait_for(webhook_delivery, 10, "the retry to be recorded")
    finally:
        service.stop()
    assert (delivery.attempts, delivery.last_error, delivery.purpose) == (2, None, "firing")
    with session_scope(sessions) as session:
        attempts = store.attempts_for(session, [delivery.id])[delivery.id]
    host = hooks.url.split("/")[2]
    assert [(a.attempt, a.ok, a.error) for a in attempts] == [
        (1, False, f"HTTP 500 from {host}"),
        (2, True, None),
    ]
    assert attempts[1].attempted_at - attempts[0].attempted_at >= timedelta(seconds=0.3)
    first, second = hooks.hooks
    assert first.body == second.body  # a retry sends exactly the same signed message
    assert first.headers[SIGNATURE_HEADER] == second.headers[SIGNATURE_HEADER]
    assert first.headers["X-Admin-Metrics-Delivery"] == str(delivery.id)


def test_a_hanging_channel_does_not_delay_the_next_collection(
    alert_settings: Settings,
    sessions: Any,
    store_url: str,
) -> None:
    hanging = HangingReceiver().start()
    try:
        add_rule_with_channels(sessions, alert_settings, hanging.url, value=0, timeout=3)
        settings = alert_settings.model_copy(
            update={"metrics_collection_enabled": True, "metrics_test_slot_seconds": 2}
        )
        presenter = ReportPresenter(
            sessions, max_bytes=settings.export_max_bytes, renderer=no_renderer
        )
        alerts = AlertService(
            sessions, alert_config(settings), presenter, backoff_base=0.2, poll_seconds=0.2
        )
        service = MetricsService(
            settings, check_source_queries(settings), election_interval=0.2, extensions=[alerts]
        ).start()
        try:
            wait_for(lambda: hanging.accepted >= 1, 20, "the webhook to hang")
            hang_started = datetime.now(UTC)

            def timed_out_attempts() -> int:
                with session_scope(sessions) as session:
                    delivery = session.scalars(
                        select(AlertDelivery).where(AlertDelivery.kind == "webhook")
                    ).one()
                    return delivery.attempts

            wait_for(lambda: timed_out_attempts() >= 2, 30, "two timed-out attempts")
            hang_ended = datetime.now(UTC)
        finally:
            service.stop()
        with session_scope(sessions) as session:
            rows = session.execute(
                select(MetricSnapshot.collected_at, MetricSnapshot.created_at).where(
                    MetricSnapshot.granularity == "hourly",
                    MetricSnapshot.metric_type == "tag_count",
                    MetricSnapshot.collected_at >= hang_started - timedelta(seconds=2),
                    MetricSnapshot.collected_at <= hang_ended - timedelta(seconds=2),
                )
            ).all()
            (delivery,) = session.scalars(
                select(AlertDelivery).where(AlertDelivery.kind == "webhook")
            ).all()
            attempts = store.attempts_for(session, [delivery.id])[delivery.id]
    finally:
        hanging.stop()
    slots = sorted(at for at, _ in rows)
    # Every 2-second slot during ≥ 6 s of hanging deliveries was collected, on time.
    assert len(slots) >= 3
    assert all((b - a) == timedelta(seconds=2) for a, b in zip(slots, slots[1:], strict=False))
    assert all((created - at) < timedelta(seconds=1.5) for at, created in rows)
    assert attempts[0].error is not None and "did not answer within 3 s" in attempts[0].error
    assert 2900 <= attempts[0].duration_ms < 6000

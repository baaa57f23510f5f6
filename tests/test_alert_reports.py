"""Scheduled reports: at a frozen time the weekly job mails the PDF (real Kaleido charts)
of the week before, with the comparison and a six-line summary; sent once; "send now"."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from admin_metrics.settings import Settings
from alerts import manage
from alerts.config import alert_config
from alerts.service import AlertService
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.mailing import ReportPresenter
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS, METRICS
from db.models import MetricSnapshot
from tests.alert_receivers import SmtpServer

CHROMIUM = Path("/usr/lib/chromium/chromium")
# Monday 2026-11-30 09:00:30 in Seoul: the weekly job's frozen "now".
MONDAY_0900 = datetime(2026, 11, 30, 0, 0, 30, tzinfo=UTC)
WEEK_START = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 2026-11-23 00:00 KST


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    chart_renderer = ChartRenderer(CHROMIUM)
    yield chart_renderer
    chart_renderer.close()


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[Any]:
    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    with session_scope(factory) as session:
        # Two weeks of hourly values: the report's week and the one before (10 % lower).
        for hour in range(14 * 24):
            at = WEEK_START - timedelta(days=7) + timedelta(hours=hour)
            factor = 1.0 if at >= WEEK_START else 0.9
            for index, metric in enumerate(METRIC_IDS):
                value = 5_000_000_000 if metric == "storage_bytes" else 100 * (index + 1)
                session.add(
                    MetricSnapshot(
                        metric_type=metric,
                        value=round(value * factor),
                        granularity="hourly",
                        collected_at=at,
                    )
                )
    yield factory
    engine.dispose()


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_weekly_report_job_mails_the_pdf_of_last_week_once(
    sqlite_url: str,
    sessions: Any,
    make_settings: Callable[..., Settings],
    smtp: SmtpServer,
    renderer: ChartRenderer,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from="metrics@intranet.example",
        public_url="https://intranet.example/metrics/",
    )
    config = alert_config(settings)
    with session_scope(sessions) as session:
        manage.add_schedule(
            session,
            {
                "name": "주간 보고",
                "frequency": "weekly",
                "weekday": 0,
                "time": "09:00",
                "recipients": ["boss@intranet.example", "ops@intranet.example"],
                "include_csv": True,
                "language": "ko",
            },
            config,
            now=MONDAY_0900 - timedelta(days=3),
        )
    presenter = ReportPresenter(
        sessions, max_bytes=settings.export_max_bytes, renderer=lambda: renderer
    )
    service = AlertService(sessions, config, presenter, clock=lambda: MONDAY_0900)
    try:
        assert len(service.check_reports()) == 1
        assert service.drain(60)
        assert service.check_reports() == []  # this occurrence is claimed: sent once
        assert service.drain(10)
    finally:
        service.stop()

    (mail,) = smtp.mails
    assert sorted(mail.rcpt_tos) == ["boss@intranet.example", "ops@intranet.example"]
    assert mail.message["Subject"] == "[주간 보고] 관리자 메트릭 히스토리 2026-11-23 – 2026-11-29"
    body = mail.message.get_body(("plain",)).get_content()
    for metric in METRICS:  # the six latest values and their change, for a phone
        assert metric.name_ko in body
    assert "▲ 11.1%" in body  # averages 10 % lower the week before: +11.1 %
    assert "4.66 GiB" in body  # storage latest as on the page (IEC: 5·10⁹ bytes = 4.66 GiB)
    attachments = {part.get_filename(): part for part in mail.message.iter_attachments()}
    assert set(attachments) == {
        "metrics_hourly_2026-11-23_2026-11-29.pdf",
        "metrics_hourly_2026-11-23_2026-11-29.csv",
    }
    pdf = attachments["metrics_hourly_2026-11-23_2026-11-29.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    text = pdf_text(pdf.get_content(), tmp_path)
    assert "2026-11-23 00:00 – 2026-11-30 00:00" in text  # the period, in Asia/Seoul
    assert "Asia/Seoul" in text
    for metric in METRICS:
        assert metric.name_ko in text
    csv = attachments["metrics_hourly_2026-11-23_2026-11-29.csv"]
    assert csv.get_content_type() == "text/csv" and csv.get_content_charset() == "utf-8"
    assert csv.get_payload(decode=True).startswith(b"\xef\xbb\xbf")  # BOM: Excel keeps Korean
    assert "활성 사용자 (명)" in csv.get_content()

    with session_scope(sessions) as session:
        schedule = manage.find_schedule(session, "주간 보고")
        assert schedule.last_due_at == MONDAY_0900 - timedelta(seconds=30)
        assert schedule.last_sent_at == MONDAY_0900
        (record,) = manage.other_deliveries(session)
    assert (record.delivery.status, record.delivery.attempts) == ("sent", 1)


def test_send_now_mails_the_last_complete_month_in_english(
    sqlite_url: str,
    sessions: Any,
    make_settings: Callable[..., Settings],
    smtp: SmtpServer,
    renderer: ChartRenderer,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from="metrics@intranet.example",
    )
    config = alert_config(settings)
    with session_scope(sessions) as session:
        manage.add_schedule(
            session,
            {
                "name": "monthly",
                "frequency": "monthly",
                "day_of_month": 1,
                "recipients": ["boss@intranet.example"],
                "language": "en",
            },
            config,
            now=MONDAY_0900,
        )
    presenter = ReportPresenter(
        sessions, max_bytes=settings.export_max_bytes, renderer=lambda: renderer
    )
    delivery = manage.send_report_now(
        sessions, "monthly", config, presenter, now=datetime(2026, 12, 3, 3, tzinfo=UTC)
    )
    assert delivery.status == "sent"
    (mail,) = smtp.mails
    assert mail.message["Subject"] == (
        "[Monthly report] Admin Metrics History 2026-11-01 – 2026-11-30 (sent by hand)"
    )
    body = mail.message.get_body(("plain",)).get_content()
    assert "Active users" in body and "Conversations" in body
    assert "admin/metrics" not in body  # no PUBLIC_URL: no link at all
    (pdf,) = list(mail.message.iter_attachments())
    assert pdf.get_filename() == "metrics_daily_2026-11-01_2026-11-30.pdf"
    text = pdf_text(pdf.get_content(), tmp_path)
    assert "2026-11-01 00:00 – 2026-12-01 00:00" in text
    assert "Active users" in text and "Storage" in text

"""``admin-metrics alerts …`` / ``reports …`` as an admin runs them (real subprocesses,
a real SMTP server and webhook receiver on loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.channels import SIGNATURE_HEADER, verify
from tests.alert_receivers import SmtpServer, WebhookReceiver

SECRET = "cli-webhook-secret"


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
def run(sqlite_url: str, smtp: SmtpServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": sqlite_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "metrics@intranet.example",
            "SMTP_USERNAME": "",
            "DEFAULT_LANGUAGE": "en",
            **env,
        }
        result = subprocess.run(
            [sys.executable, "-m", "admin_metrics.cli", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def test_alert_rule_lifecycle_from_the_command_line(  # type: ignore[no-untyped-def]
    run, smtp: SmtpServer, hooks: WebhookReceiver
) -> None:
    assert (
        "Channel 1 'ops' (email) added"
        in run(
            "alerts", "add-channel", "ops", "--email", "ops@intranet.example, lead@intranet.example"
        ).stdout
    )
    added = run(
        "alerts",
        "add-channel",
        "chat",
        "--webhook",
        hooks.url,
        "--secret",
        "--timeout",
        "4",
        WEBHOOK_SECRET=SECRET,
    )
    assert "Channel 2 'chat' (webhook) added" in added.stdout
    channels = run("alerts", "channels").stdout
    assert "ops@intranet.example, lead@intranet.example" in channels
    assert "127.0.0.1" in channels and "signed" in channels
    assert SECRET not in channels and "token=abc" not in channels  # never shown

    assert (
        "Rule 1 'many users' added"
        in run(
            "alerts",
            "add",
            "many users",
            "--metric",
            "active_users",
            "--above",
            "150",
            "--slots",
            "2",
            "--level",
            "critical",
            "--channel",
            "ops",
            "--channel",
            "chat",
        ).stdout
    )
    listed = run("alerts", "list").stdout
    assert "many users  [critical, ok]  Active users above 150 users for 2 consecutive slots" in (
        listed
    )
    assert "→ ops, chat" in listed

    tested = run("alerts", "test", "many users")
    assert tested.stdout.count(": sent after 1 attempt(s)") == 2
    (mail,) = smtp.mails
    assert sorted(mail.rcpt_tos) == ["lead@intranet.example", "ops@intranet.example"]
    assert mail.message["Subject"].startswith("[Critical · Test] many users")
    (hook,) = hooks.hooks
    assert json.loads(hook.body)["event"] == "alert.test"
    assert verify(hook.body, SECRET, hook.headers[SIGNATURE_HEADER])

    assert "disabled" in run("alerts", "disable", "1").stdout
    assert "[critical, off]" in run("alerts", "list").stdout
    assert "enabled" in run("alerts", "enable", "many users").stdout
    history = run("alerts", "history").stdout
    assert "test email to ops@intranet.example, lead@intranet.example: sent" in history
    assert "test webhook to 127.0.0.1" in history

    bad = run("alerts", "add", "x", "--metric", "tag_count", ok=False)
    assert bad.returncode == 2 and "exactly one condition" in bad.stderr
    dup = run("alerts", "add", "many users", "--failed-slots", "3", ok=False)
    assert dup.returncode == 1 and "rule 'many users' already exists" in dup.stderr
    wrong = run(
        "alerts", "add", "storage", "--storage-within-days", "30", ok=False
    )  # no STORAGE_CAPACITY_BYTES
    assert "STORAGE_CAPACITY_BYTES" in wrong.stderr and "Traceback" not in wrong.stderr
    assert (
        "Rule 2 'storage' added"
        in run(
            "alerts",
            "add",
            "storage",
            "--storage-within-days",
            "30",
            STORAGE_CAPACITY_BYTES="1000000000000",
        ).stdout
    )
    missing = run("alerts", "delete", "nope", ok=False)
    assert missing.returncode == 1 and "no such rule: nope" in missing.stderr
    assert "Rule 'many users' deleted" in run("alerts", "delete", "many users").stdout
    assert "many users" not in run("alerts", "list").stdout


def test_a_relay_that_refuses_starttls_is_reported(run, smtp: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    run("alerts", "add-channel", "ops", "--email", "ops@intranet.example")
    run("alerts", "add", "f", "--failed-slots", "2", "--channel", "ops")
    result = run("alerts", "test", "f", ok=False, SMTP_SECURITY="starttls")
    assert result.returncode == 1
    assert "does not offer STARTTLS" in result.stdout
    assert smtp.mails == []


@pytest.mark.slow
def test_reports_from_the_command_line(run, smtp: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    assert (
        "Report schedule 1 'weekly' added"
        in run(
            "reports",
            "add",
            "weekly",
            "--weekly",
            "mon",
            "--at",
            "08:30",
            "--to",
            "boss@intranet.example",
            "--csv",
        ).stdout
    )
    listed = run("reports", "list").stdout
    assert "weekly  weekly mon 08:30 Asia/Seoul  [en, csv]  → boss@intranet.example" in listed
    bad = run("reports", "add", "x", "--monthly", "30", "--to", "a@b.example", ok=False)
    assert bad.returncode == 2
    sent = run("reports", "send-now", "weekly")
    assert "(sent by hand): report email to boss@intranet.example: sent" in sent.stdout
    (mail,) = smtp.mails
    names = sorted(p.get_filename() for p in mail.message.iter_attachments())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "pdf"]

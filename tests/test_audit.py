"""The audit log: a row for every security-relevant event, never a password or token,
append-only, pruned by retention, readable from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy.exc import DBAPIError

import admin_metrics.export_commands  # noqa: F401
import admin_metrics.session_commands  # noqa: F401 - registers the commands on ``cli``
import admin_metrics.token_commands  # noqa: F401
from admin_metrics.cli import cli
from collectors.registry import DEFAULT_QUERIES
from dashboard.context import get_context
from db import audit
from db.accounts import disable_admin, set_admin_password
from db.engine import make_engine
from db.models import AdminUser
from tests.support import (
    ADMIN_PASSWORD,
    attempt,
    audit_actions,
    create_export,
    page_export_request,
    seed_history,
    session_cookie,
    sign_out,
    signed_in,
    table_rows,
)

WRONG = "wrong password!"
NEW_PASSWORD = "another secret passphrase"
SECURITY_TABLES = ("audit_log", "admin_sessions", "sign_in_failures")


@pytest.fixture
def run(app: Flask, tmp_path: Path) -> Callable[..., Result]:
    url = get_context(app).settings.store_url

    def invoke(*args: str) -> Result:
        env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _events(app: Flask, action: str) -> list[dict[str, Any]]:
    rows = sorted(
        (r for r in table_rows(app, "audit_log") if r["action"] == action), key=lambda r: r["id"]
    )
    for row in rows:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    return rows


def test_every_security_event_is_recorded_without_secrets(
    app: Flask,
    run: Callable[..., Result],
    make_settings: Callable[..., Any],
    tmp_path: Path,
) -> None:
    from dashboard.app import create_app

    url = get_context(app).settings.store_url
    seed_history(url, hourly_days=2, daily_days=3)
    secrets: list[str] = [ADMIN_PASSWORD, WRONG, NEW_PASSWORD]

    # Sign-in failures (with the reason), a sign-in, exports, a sign-out.
    assert attempt(app.test_client(), "admin", WRONG).status_code == 401
    assert attempt(app.test_client(), "nobody", WRONG).status_code == 401
    client = signed_in(app)
    with client.session_transaction() as flask_session:
        secrets += [session_cookie(client), flask_session["_user_id"]]
    download = create_export(client)
    assert client.get(download).status_code == 200
    page_export = page_export_request(client, "export-csv-button")
    assert page_export.status_code == 200
    # An event on the graphs recorded, changed and deleted.
    event = {"start": "2026-12-01T09:00:00+09:00", "title": "점검", "kind": "maintenance"}
    event_path = f"/api/v1/events/{client.post('/api/v1/events', json=event).get_json()['id']}"
    assert client.patch(event_path, json={"kind": "release"}).status_code == 200
    assert client.delete(event_path).status_code == 204
    assert sign_out(client).status_code == 302

    # Tokens, a password change, disabling and enabling, a revoked session, from the CLI.
    created = run("create-token", "ci", "--user", "admin")
    assert created.exit_code == 0, created.output
    secrets.append(created.stdout.strip())
    assert run("revoke-token", "ci").exit_code == 0
    signed_in(app)
    assert run("sessions", "revoke", "admin").exit_code == 0
    signed_in(app)
    with get_context(app).session() as session:
        set_admin_password(session, "admin", NEW_PASSWORD)
        disable_admin(session, "admin")
        set_admin_password(session, "admin", NEW_PASSWORD)
    export_file = tmp_path / "cli.csv"
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    exported = run(
        "export",
        "--format",
        "csv",
        "--metrics",
        "tag_count",
        "--from",
        (now - timedelta(days=1)).isoformat(),
        "--to",
        now.isoformat(),
        "-o",
        str(export_file),
    )
    assert exported.exit_code == 0, exported.output

    # A proxy sign-on (creating the account), on another instance on the same store.
    proxied = create_app(
        make_settings(
            database_url=url,
            auth_proxy_header="X-Forwarded-User",
            auth_proxy_trusted="10.20.0.0/16",
            auth_proxy_auto_create=True,
        )
    )
    try:
        response = proxied.test_client().get(
            "/admin/metrics/",
            headers={"X-Forwarded-User": "carol", "X-Forwarded-For": "198.51.100.4"},
            environ_base={"REMOTE_ADDR": "10.20.0.5"},
        )
        assert response.status_code == 200
    finally:
        get_context(proxied).engine.dispose()

    # A start refused for a bad setting, while the store is reachable.
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": url,
        "METRICS_HOURLY_RETENTION_DAYS": "abc",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "admin_metrics.cli", "db", "current"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1

    # Every kind of event is there ...
    assert set(audit_actions(app)) == set(audit.ACTIONS)
    failed = _events(app, audit.SIGN_IN_FAILED)
    assert [e["details"]["reason"] for e in failed] == ["wrong_password", "unknown_user"]
    assert all(e["address"] == "127.0.0.1" for e in failed)
    exports = _events(app, audit.EXPORT_CREATED)
    api = next(e for e in exports if e["actor"] == "admin")
    assert api["details"]["metrics"] == ["active_users"] and api["details"]["format"] == "csv"
    assert {"start", "end", "granularity"} <= set(api["details"])
    assert any(e["details"].get("via") == "cli" for e in exports)
    downloads = _events(app, audit.EXPORT_DOWNLOADED)
    assert {e["details"].get("via") for e in downloads} == {None, "page"}
    proxy = _events(app, audit.PROXY_SIGN_ON)[0]
    assert proxy["actor"] == "carol" and proxy["address"] == "198.51.100.4"
    assert proxy["details"] == {"proxy": "10.20.0.5"}
    assert _events(app, audit.PASSWORD_CHANGED)[0]["details"]["sessions_ended"] == 1
    refusal = _events(app, audit.SETTINGS_REFUSED)[0]
    assert "METRICS_HOURLY_RETENTION_DAYS" in refusal["details"]["error"]

    # ... and no password, cookie, session token or API token anywhere in the security tables.
    dump = json.dumps({table: table_rows(app, table) for table in SECURITY_TABLES}, default=str)
    for secret in secrets:
        assert secret not in dump


def test_secret_field_names_are_refused(store_sessions: Callable[[], Any]) -> None:
    with store_sessions() as session, pytest.raises(audit.SecretInAuditDetails):
        audit.record_event(session, audit.SIGN_IN, actor="x", details={"password": "p"})


def test_the_audit_log_is_append_only(store_url: str, store_sessions: Callable[[], Any]) -> None:
    with store_sessions() as session:
        audit.record_event(session, audit.SIGN_IN, actor="admin")
    engine = make_engine(store_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET actor = 'someone else'"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT actor FROM audit_log")).scalar() == "admin"
    finally:
        engine.dispose()


def test_the_retention_job_prunes_old_audit_rows_sessions_and_failures(
    store_url: str, store_sessions: Callable[[], Any], make_settings: Callable[..., Any]
) -> None:
    from collectors.scheduler import MetricsService
    from db.sessions import open_session
    from db.sign_in_limits import Attempt, record_attempt
    from tests.support import create_user

    create_user(store_url, "admin")
    now = datetime.now(UTC)
    with store_sessions() as session:
        audit.record_event(session, audit.SIGN_IN, actor="old", now=now - timedelta(days=31))
        audit.record_event(session, audit.SIGN_IN, actor="new", now=now - timedelta(days=29))
        admin_id = session.scalars(sa.select(AdminUser.id)).one()
        open_session(
            session,
            admin_id,
            method="password",
            address=None,
            user_agent=None,
            now=now - timedelta(hours=13),
        )
        record_attempt(session, Attempt.of("10.0.0.1", "admin"), now - timedelta(hours=1))
    settings = make_settings(database_url=store_url, audit_retention_days=30)
    service = MetricsService(settings, dict(DEFAULT_QUERIES))
    try:
        service.retention()
    finally:
        service.stop()
    actors = sorted(r["actor"] for r in table_rows(store_url, "audit_log"))
    assert actors == ["(cli)", "new"], "the admin's creation (now) and the 29-day-old row stay"
    assert table_rows(store_url, "admin_sessions") == []
    assert table_rows(store_url, "sign_in_failures") == []


def test_cli_audit_filters_and_prints_json(app: Flask, run: Callable[..., Result]) -> None:
    attempt(app.test_client(), "admin", WRONG)
    signed_in(app)
    everything = run("audit", "--json")
    assert everything.exit_code == 0, everything.output
    events = [json.loads(line) for line in everything.output.splitlines()]
    assert [e["action"] for e in events][:2] == [audit.SIGN_IN, audit.SIGN_IN_FAILED]
    only = run("audit", "--json", "--action", "sign_in_failed", "--since", "1h")
    assert [json.loads(line)["action"] for line in only.output.splitlines()] == [
        audit.SIGN_IN_FAILED
    ]
    assert run("audit", "--since", "2999-01-01").output.strip() == "No audit events."
    bad = CliRunner().invoke(cli, ["audit", "--since", "yesterday-ish"])
    assert bad.exit_code == 2 and "24h or 7d" in bad.output
    text = run("audit", "--user", "admin")
    assert "sign_in" in text.output and ADMIN_PASSWORD not in text.output

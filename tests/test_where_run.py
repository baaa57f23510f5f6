"""Commands work where a user runs them: in the demo's folder they read the demo's source; a
missing, old or unreachable store is one line saying so, and no stray database is created."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from admin_metrics.settings import DEMO_QUERIES_FILE, DEMO_SOURCE_FILE, Settings
from db.metrics import METRIC_IDS
from db.migrate import SchemaError, head_revision, require_schema, upgrade
from tests.pgserver import free_port
from tests.support import cli_env, run_cli, run_sql


def test_the_demo_folder_reads_the_demo_source_with_its_queries(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / DEMO_SOURCE_FILE).write_bytes(b"")
    (var / DEMO_QUERIES_FILE).write_text('tag_count = "SELECT 1"\n', encoding="utf-8")
    settings = make_settings()
    assert settings.source_url == f"sqlite:///{(var / DEMO_SOURCE_FILE).resolve()}"
    assert settings.source_queries_file == var / DEMO_QUERIES_FILE
    assert settings.store_url == f"sqlite:///{(var / 'metrics.db').resolve()}"


def test_a_configured_source_or_store_is_never_replaced_by_the_demo(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / DEMO_SOURCE_FILE).write_bytes(b"")
    configured = "postgresql://app@db.internal/app"
    assert make_settings(source_database_url=configured).source_url == configured
    store = "postgresql://metrics@db.internal/metrics"
    assert make_settings(database_url=store).source_url == store
    assert make_settings(data_dir=tmp_path / "elsewhere").source_queries_file is None


def test_the_demo_backfill_and_a_later_command_read_the_same_source(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from collectors.demo import prepare_demo
    from collectors.manual import collect_once

    settings = make_settings(metrics_hourly_retention_days=1, metrics_daily_retention_days=2)
    upgrade(settings.store_url)
    now = datetime.now(UTC)
    demo = prepare_demo(settings, now=now)
    # A fresh settings object, as `admin-metrics collect` builds in that folder.
    later = make_settings(metrics_hourly_retention_days=1, metrics_daily_retention_days=2)
    assert later.source_url == demo.source_url
    assert later.source_queries_file == demo.source_queries_file
    result = collect_once(later, "hourly", now, sleep=lambda _s: None)
    assert result.ok and result.already_stored


def test_a_missing_sqlite_store_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    store = tmp_path / "nowhere" / "metrics.db"
    with pytest.raises(SchemaError) as info:
        require_schema(f"sqlite:///{store}")
    assert "\n" not in str(info.value) and "db upgrade" in str(info.value)
    assert not store.exists() and not store.parent.exists()


def test_an_old_schema_is_one_line_naming_both_revisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    upgrade(url, "20251102_add_metrics_tables")
    with pytest.raises(SchemaError) as info:
        require_schema(url)
    line = str(info.value)
    assert "20251102_add_metrics_tables" in line and head_revision() in line
    upgrade(url)
    require_schema(url)  # at head: no error


def test_an_unreachable_store_is_one_line() -> None:
    with pytest.raises(SchemaError) as info:
        require_schema(f"postgresql://nobody@127.0.0.1:{free_port()}/metrics")
    assert "unreachable" in str(info.value) and "\n" not in str(info.value)


# --- the command line, run as a user would ----------------------------------------------------
def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.slow
def test_the_cli_in_the_demo_folder_uses_the_demo_source_and_store(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        DATA_DIR="var",  # relative, as a user running `admin-metrics demo` in a folder has it
        METRICS_HOURLY_RETENTION_DAYS="1",
        METRICS_DAILY_RETENTION_DAYS="2",
        ADMIN_PASSWORD="demo-password-1234",
    )
    demo = run_cli(tmp_path, env, "demo", "--no-serve")
    assert demo.returncode == 0, demo.stderr

    current = run_cli(tmp_path, env, "collect")
    assert current.returncode == 0, current.stderr
    assert "already stored" in current.stdout
    # A slot the back-fill did not reach: read from the demo's simulated source.
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    fresh = run_cli(tmp_path, env, "collect", "--slot", ahead)
    assert fresh.returncode == 0, fresh.stderr
    # The six, the demo catalogue's conversations started that hour and documents per
    # department, from the default source and the branch office alike.
    lines = {line.split("]")[0]: line for line in fresh.stdout.splitlines() if "[" in line}
    assert {key.split("[")[-1] for key in lines} == {"default", "branch_office"}, fresh.stdout
    for line in lines.values():
        departments = line.count("documents_by_department[")
        assert departments >= 2 and f"({7 + departments} new row(s), attempt 1)" in line, line
        assert "conversations_started=" in line and "tag_count=0" not in line

    status = run_cli(tmp_path, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert body["failure_count_24h"] == 0 and body["failed_slots_24h"] == 0
    assert run_cli(tmp_path, env, "create-token", "demo-token", "--user", "admin").returncode == 0
    listed = run_cli(tmp_path, env, "list-tokens")
    assert listed.returncode == 0 and "demo-token" in listed.stdout
    csv = tmp_path / "out.csv"
    start = (datetime.now(UTC) - timedelta(hours=12)).isoformat()
    exported = run_cli(
        tmp_path, env, "export", "--format", "csv", "--from", start, "--to", ahead, "-o", str(csv)
    )
    assert exported.returncode == 0, exported.stderr
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")


def test_commands_in_another_folder_say_there_is_no_store_and_create_none(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path, DATA_DIR="var")
    for args in (
        ("status",),
        ("collect",),
        ("list-tokens",),
        ("create-token", "t", "--user", "admin"),
        ("export", "--format", "csv", "--from", "2026-01-01", "--to", "2026-01-02", "-o", "x"),
        ("alerts", "list"),
        ("sessions", "list"),
        ("audit",),
    ):
        line = one_line_error(run_cli(tmp_path, env, *args))
        assert "no metrics store" in line and "db upgrade" in line, (args, line)
    assert not (tmp_path / "var").exists()

    as_json = run_cli(tmp_path, env, "status", "--json")
    assert as_json.returncode != 0
    assert "no metrics store" in json.loads(as_json.stdout)["error"]


def test_commands_on_an_old_schema_name_the_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "20251103_add_admin_auth")
    env = cli_env(tmp_path, DATABASE_URL=url)
    for args in (("status",), ("collect",), ("list-tokens",)):
        line = one_line_error(run_cli(tmp_path, env, *args))
        assert "20251103_add_admin_auth" in line and "db upgrade" in line, line


def test_status_json_with_the_store_down_is_a_json_error(tmp_path: Path) -> None:
    env = cli_env(tmp_path, DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/metrics")
    done = run_cli(tmp_path, env, "status", "--json")
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert body["code"] == "STORE_UNAVAILABLE" and "unreachable" in body["error"]
    assert "Traceback" not in done.stderr
    assert "unreachable" in one_line_error(run_cli(tmp_path, env, "status"))


@pytest.mark.slow
def test_serve_warns_at_start_for_each_metric_the_source_cannot_answer(
    pg_url: str, tmp_path: Path, live_server_factory: Callable[..., Any]
) -> None:
    source = f"sqlite:///{tmp_path / 'partial-source.db'}"
    run_sql(source, ["CREATE TABLE conversations (id INTEGER)", "CREATE TABLE tags (id INTEGER)"])
    server = live_server_factory(
        {
            "DATABASE_URL": pg_url,
            "SOURCE_DATABASE_URL": source,
            "METRICS_COLLECTION_ENABLED": "true",
        }
    )
    checks = [line for line in server.log_text().splitlines() if "Source check" in line]
    failing = {m for m in METRIC_IDS if any(f"metric {m} " in line for line in checks)}
    assert failing == {"active_users", "storage_bytes", "active_sessions", "document_count"}
    assert all("WARNING" in line and "no such table" in line for line in checks), checks

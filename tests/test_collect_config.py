"""SOURCE_QUERIES_FILE: replacements are validated at start-up, a bad one stops it with one
clear line naming the metric; the CLI verbs ``collect`` and ``status``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin_metrics.settings import Settings, SettingsError
from collectors.queries import check_source_queries
from tests.support import cli_env, fill_source, run_cli, run_sql, source_url_for

BAD_FILES = {
    "update": ("tag_count = \"UPDATE tags SET name = 'x'\"", "tag_count", "not a SELECT"),
    "two statements": (
        'document_count = "SELECT count(*) FROM documents; DELETE FROM documents"',
        "document_count",
        "more than one statement",
    ),
    "negative": ('storage_bytes = "SELECT -1"', "storage_bytes", "negative"),
    "unknown metric": ('labels_count = "SELECT 1"', "labels_count", "unknown metric id"),
    "not an integer": ("tag_count = \"SELECT 'many'\"", "tag_count", "not an integer"),
    "missing table": ('tag_count = "SELECT count(*) FROM labels"', "tag_count", "labels"),
}


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return source_url_for(store_url, request, tmp_path)


def write_queries(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "queries.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_replacement_stops_the_app_factory_naming_the_metric(
    case: str,
    store_url: str,
    source_url: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
) -> None:
    from dashboard.app import create_app

    text, metric, reason = BAD_FILES[case]
    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        source_queries_file=write_queries(tmp_path, text),
    )
    with pytest.raises(SettingsError) as info:
        create_app(settings)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith("Invalid setting SOURCE_QUERIES_FILE")
    assert metric in line and reason in line


def test_a_good_replacement_is_used_for_collection(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from collectors.manual import collect_once

    run_sql(source_url, ["CREATE TABLE labels (id INTEGER)", "INSERT INTO labels VALUES (1)"])
    run_sql(source_url, ["INSERT INTO labels VALUES (2)"])
    fill_source(
        source_url,
        datetime.now(UTC),
        users=1,
        live_sessions=[1],
        expired_sessions=[],
        conversations=0,
        file_sizes=[5],
        tags=9,
    )
    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        source_queries_file=write_queries(
            tmp_path, '# labels replace tags\ntag_count = "SELECT count(*) FROM labels;"'
        ),
    )
    assert check_source_queries(settings)["tag_count"] == "SELECT count(*) FROM labels"
    result = collect_once(settings, "hourly", sleep=lambda _s: None)
    assert result.ok and result.values["tag_count"] == 2
    assert result.values["storage_bytes"] == 5


def test_an_unreadable_or_invalid_toml_file_is_one_line(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    for path, expected in (
        (tmp_path / "missing.toml", "cannot read"),
        (write_queries(tmp_path, "tag_count = "), "not valid TOML"),
    ):
        with pytest.raises(SettingsError, match=expected) as info:
            check_source_queries(make_settings(source_queries_file=path))
        assert "\n" not in str(info.value)


def test_serve_with_a_bad_queries_file_exits_with_one_line(pg_url: str, tmp_path: Path) -> None:
    path = write_queries(tmp_path, BAD_FILES["update"][0])
    env = cli_env(tmp_path, DATABASE_URL=pg_url, SOURCE_QUERIES_FILE=str(path))
    done = run_cli(tmp_path, env, "serve", "--port", "1")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "SOURCE_QUERIES_FILE" in lines[0] and "tag_count" in lines[0]


def test_cli_collect_status_and_failure_exit_code(
    store_url: str, source_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, DATABASE_URL=store_url, SOURCE_DATABASE_URL=source_url)
    pending = run_cli(tmp_path, env, "status", "--json")
    assert pending.returncode == 0, pending.stderr
    assert json.loads(pending.stdout)["status"] == "pending"

    ok = run_cli(tmp_path, env, "collect", "--slot", "2026-03-02T10:17:00Z")
    assert ok.returncode == 0, ok.stderr
    assert "hourly 2026-03-02T10:00:00+00:00" in ok.stdout and "tag_count=0" in ok.stdout

    daily = run_cli(tmp_path, env, "collect", "--granularity", "daily", "--slot", "2026-03-02")
    assert daily.returncode == 0, daily.stderr
    # The business day 2026-03-02 in Asia/Seoul (the default business zone) starts 15:00 UTC.
    assert "daily 2026-03-01T15:00:00+00:00" in daily.stdout

    empty_day = run_cli(tmp_path, env, "collect", "--granularity", "daily", "--slot", "2026-01-01")
    assert empty_day.returncode != 0 and "no hourly data" in empty_day.stderr

    status = run_cli(tmp_path, env, "status")
    assert status.returncode == 0
    assert "last successful slot: 2026-03-02T10:00:00+00:00" in status.stdout
    assert "status: error" in status.stdout  # that slot is long past


def test_cli_collect_reports_a_source_failure(store_url: str, tmp_path: Path) -> None:
    # A source without the app's tables: every attempt fails (3 attempts, 1 s + 2 s back-off).
    source = f"sqlite:///{tmp_path / 'empty-source.db'}"
    run_sql(source, ["CREATE TABLE unrelated (id INTEGER)"])
    env = cli_env(tmp_path, DATABASE_URL=store_url, SOURCE_DATABASE_URL=source)
    failed = run_cli(tmp_path, env, "collect")
    assert failed.returncode != 0
    assert "collection failed" in failed.stderr and "no such table" in failed.stderr
    status = json.loads(run_cli(tmp_path, env, "status", "--json").stdout)
    assert status["status"] == "pending" and status["failure_count_24h"] == 6

"""Commands work where a user runs them: in the demo's folder they read the demo's source; a
missing, old or unreachable store is one line saying so, and no stray database is created."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin_metrics.settings import DEMO_QUERIES_FILE, DEMO_SOURCE_FILE, Settings
from db.migrate import SchemaError, head_revision, require_schema, upgrade
from tests.pgserver import free_port


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

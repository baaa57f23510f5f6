"""METRICS_CATALOGUE_FILE: extra metrics and overrides of the six, checked at start-up (one
line naming the metric), built once into a ``Catalogue``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from admin_metrics.settings import Settings, SettingsError
from collectors.catalogue import check_catalogue, load_catalogue_file
from collectors.queries import check_source_queries
from db.metrics import METRIC_IDS
from tests.support import cli_env, run_cli, run_sql, source_url_for

MESSAGES = """
[metrics.messages]
name_ko = "메시지 수"
name_en = "Messages"
unit = "count"
kind = "per_slot"
rollup = "sum"
query = "SELECT count(*) FROM messages WHERE created_at >= :slot_start AND created_at < :slot_end"
"""
DEPARTMENTS = """
[metrics.documents_by_department]
name_ko = "부서별 문서 수"
name_en = "Documents by department"
unit = "documents"
kind = "gauge"
rollup = "avg"
labelled = true
query = "SELECT department, count(*) FROM documents GROUP BY department"
"""
RENAMED_TAGS = """
[metrics.tag_count]
name_en = "Labels"
query = "SELECT count(*) FROM labels"
"""


def write_catalogue(tmp_path: Path, text: str, name: str = "catalogue.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def extra(metric_id: str = "extra", **fields: object) -> str:
    values: dict[str, object] = {
        "name_ko": "추가",
        "name_en": "Extra",
        "unit": "count",
        "kind": "gauge",
        "rollup": "last",
        "query": "SELECT 1",
    }
    values.update(fields)
    lines = [f"[metrics.{metric_id}]"]
    for key, value in values.items():
        if value is None:
            continue
        shown = str(value).lower() if isinstance(value, bool) else f'"{value}"'
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"


def test_the_file_gives_extra_metrics_in_order_and_overrides_of_the_six(tmp_path: Path) -> None:
    entries = load_catalogue_file(write_catalogue(tmp_path, MESSAGES + DEPARTMENTS + RENAMED_TAGS))
    by_id = {e.id: e for e in entries}
    assert [e.id for e in entries] == ["messages", "documents_by_department", "tag_count"]
    messages = by_id["messages"]
    assert (messages.kind, messages.rollup, messages.labelled) == ("per_slot", "sum", False)
    assert (messages.unit_kind, messages.unit_ko) == ("count", "개")
    departments = by_id["documents_by_department"]
    assert departments.rollup == "average" and departments.labelled
    assert (departments.unit_kind, departments.unit_en) == ("custom", "documents")
    tags = by_id["tag_count"]
    assert tags.builtin and tags.name_en == "Labels" and tags.name_ko == "태그 수"
    assert (tags.kind, tags.rollup, tags.unit_ko) == ("gauge", "average", "개")


def test_without_a_file_the_catalogue_is_the_six_with_their_queries(
    make_settings: Callable[..., Settings], store_url: str
) -> None:
    settings = make_settings(database_url=store_url)
    catalogue = check_catalogue(settings)
    assert catalogue.ids == METRIC_IDS and catalogue.extras == ()
    assert catalogue.builtin_queries == check_source_queries(settings)
    assert set(catalogue.rollups.values()) == {"average"}


BAD_ENTRIES = {
    "bad id": (extra("Bad-Id"), "Bad-Id", "lower-case letters"),
    "unknown key": (extra(colour="red"), "extra", "unknown key colour"),
    "missing query": (extra(query=None), "extra", "query is required"),
    "bad kind": (extra(kind="counter"), "extra", "kind must be gauge or per_slot"),
    "bad rollup": (extra(rollup="median"), "extra", "rollup must be last, max"),
    "not a select": (extra(query="DELETE FROM tags"), "extra", "not a SELECT (starts with DELETE)"),
    "two statements": (extra(query="SELECT 1; SELECT 2"), "extra", "more than one statement"),
    "per_slot without binds": (
        extra(kind="per_slot", query="SELECT count(*) FROM tags"),
        "extra",
        "must use both :slot_start and :slot_end",
    ),
    "gauge with slot binds": (
        extra(query="SELECT count(*) FROM sessions WHERE expires_at > :slot_start"),
        "extra",
        "a gauge query takes only :now, not :slot_start",
    ),
    "kind of a built-in": ('[metrics.tag_count]\nkind = "per_slot"\n', "tag_count", "cannot be"),
    "unit of two words": (extra(unit="big things"), "extra", "unit must be count"),
    "labelled not a boolean": (extra(labelled="yes"), "extra", "labelled must be true or false"),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_a_bad_entry_is_one_line_naming_the_setting_the_file_and_the_metric(
    case: str, tmp_path: Path
) -> None:
    text, metric_id, reason = BAD_ENTRIES[case]
    path = write_catalogue(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_catalogue_file(path)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(f"Invalid setting METRICS_CATALOGUE_FILE ({path}): {metric_id}: ")
    assert reason in line


def test_an_unreadable_or_invalid_file_is_one_line(tmp_path: Path) -> None:
    for path, expected in (
        (tmp_path / "missing.toml", "cannot read"),
        (write_catalogue(tmp_path, "[metrics.x\n", "broken.toml"), "not valid TOML"),
        (write_catalogue(tmp_path, 'title = "x"\n', "title.toml"), "unknown top-level key title"),
    ):
        with pytest.raises(SettingsError, match=expected) as info:
            load_catalogue_file(path)
        assert "\n" not in str(info.value)


@pytest.fixture
def source_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return source_url_for(store_url, request, tmp_path)


def test_queries_run_once_on_the_source_at_start_and_a_failing_one_stops_the_app(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from dashboard.app import create_app

    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        metrics_catalogue_file=write_catalogue(tmp_path, MESSAGES),
    )
    with pytest.raises(SettingsError) as info:
        create_app(settings)
    line = str(info.value)
    assert "\n" not in line and "METRICS_CATALOGUE_FILE" in line
    assert ": messages: the source rejected the query" in line and "messages" in line

    run_sql(source_url, ["CREATE TABLE messages (id INTEGER, created_at TIMESTAMP)"])
    catalogue = check_catalogue(settings)
    assert catalogue.ids == (*METRIC_IDS, "messages")


def test_a_labelled_query_over_the_label_cap_or_of_the_wrong_shape_stops_start_up(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    run_sql(source_url, ["INSERT INTO tags (name) VALUES ('a'), ('b'), ('c')"])
    labelled = extra("tags_by_name", labelled=True, query="SELECT name, 1 FROM tags")
    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        metrics_catalogue_file=write_catalogue(tmp_path, labelled),
        metrics_max_labels=2,
    )
    with pytest.raises(SettingsError, match="tags_by_name: returned 3 labels, more than"):
        check_catalogue(settings)
    assert check_catalogue(settings.model_copy(update={"metrics_max_labels": 3})).extras

    one_column = extra("tags_by_name", labelled=True, query="SELECT name FROM tags")
    settings = settings.model_copy(
        update={
            "metrics_catalogue_file": write_catalogue(tmp_path, one_column),
            "metrics_max_labels": 3,
        }
    )
    with pytest.raises(SettingsError, match=r"tags_by_name: returned 1 column\(s\), not"):
        check_catalogue(settings)


def test_a_query_replaced_in_both_files_is_refused(
    store_url: str, source_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    queries = tmp_path / "queries.toml"
    queries.write_text('tag_count = "SELECT count(*) FROM tags"\n', encoding="utf-8")
    settings = make_settings(
        database_url=store_url,
        source_database_url=source_url,
        source_queries_file=queries,
        metrics_catalogue_file=write_catalogue(
            tmp_path, '[metrics.tag_count]\nquery = "SELECT count(*) FROM tags"\n'
        ),
    )
    with pytest.raises(SettingsError, match="tag_count: its query is also replaced in SOURCE_"):
        check_catalogue(settings)


def test_serve_with_a_bad_catalogue_exits_with_one_line(pg_url: str, tmp_path: Path) -> None:
    path = write_catalogue(tmp_path, extra(rollup="median"))
    env = cli_env(tmp_path, DATABASE_URL=pg_url, METRICS_CATALOGUE_FILE=str(path))
    done = run_cli(tmp_path, env, "serve", "--port", "1")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "METRICS_CATALOGUE_FILE" in lines[0] and "extra: rollup must be" in lines[0]

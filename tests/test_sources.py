"""Several sources (issue 18): ``[sources.<name>]`` of METRICS_CATALOGUE_FILE collected in the
default source's slot, each once, its values stored with its name; a source that is down
costs only itself; bad entries stop start-up with one line naming the source; the status
has a light per source. Two real PostgreSQL source databases, no mocks."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from admin_metrics.settings import Settings, SettingsError
from collectors.accounting import account_for_slots
from collectors.catalogue import check_catalogue, configured_sources
from collectors.manual import collect_once
from collectors.queries import source_readers
from collectors.runner import (
    CollectionBudget,
    SourceReader,
    collect_sources,
    hourly_slot,
    rollup_day,
)
from dashboard.context import get_context
from dashboard.page.cards import status_failures
from db.engine import make_engine, session_factory
from db.metrics import METRIC_IDS
from db.models import CollectionClaim, MetricCollectionFailure, MetricSnapshot
from db.periods import local_date
from db.status import CollectionStatus, RecentFailure, SourceStatus, collection_status
from tests.pgserver import free_port
from tests.support import (
    admin_exec,
    cli_env,
    create_source_tables,
    create_user,
    fill_source,
    pg_url_for,
    run_cli,
    run_sql,
    stamp,
    stored_token,
)

# A recent slot, so the API's retention check takes it.
SLOT = hourly_slot(datetime.now(UTC)) - timedelta(hours=3)
BRANCH_ENV = "AMH_TEST_BRANCH_SOURCE_URL"
SCRAPE = "scrape-token-0123456789"
METRICS = """
[metrics.messages]
name_ko = "메시지 수"
name_en = "Messages"
unit = "count"
kind = "per_slot"
rollup = "sum"
query = "SELECT count(*) FROM messages WHERE created_at >= :slot_start AND created_at < :slot_end"

[metrics.documents_by_department]
name_ko = "부서별 문서 수"
name_en = "Documents by department"
unit = "documents"
kind = "gauge"
rollup = "max"
labelled = true
query = "SELECT department, count(*) FROM department_documents GROUP BY department"
"""
BRANCH = f"""
[sources.branch_office]
url_env = "{BRANCH_ENV}"
name_ko = "지사"
name_en = "Branch office"

[sources.branch_office.queries]
tag_count = "SELECT count(*) FROM labels"
"""
# The test's own SQL for each series: (metric, label) → query, run on each source.
EXPECTED_SQL = {
    ("active_users", ""): "SELECT count(DISTINCT user_id) FROM sessions WHERE expires_at > :now",
    ("storage_bytes", ""): "SELECT coalesce(sum(file_size), 0) FROM documents",
    ("active_sessions", ""): "SELECT count(*) FROM sessions WHERE expires_at > :now",
    ("conversation_count", ""): "SELECT count(*) FROM conversations",
    ("document_count", ""): "SELECT count(*) FROM documents",
    ("messages", ""): "SELECT count(*) FROM messages "
    "WHERE created_at >= :now - interval '1 hour' AND created_at < :now",
}
DEPARTMENTS_SQL = "SELECT department, count(*) FROM department_documents GROUP BY department"


def make_source(url: str, *, tags_table: str, users: int, departments: dict[str, int]) -> None:
    """The LLM web app's tables plus messages and department documents, with activity."""
    create_source_tables(url)
    run_sql(
        url,
        [
            "CREATE TABLE messages (id INTEGER, created_at TIMESTAMPTZ)",
            "CREATE TABLE department_documents (department VARCHAR(50))",
        ],
    )
    fill_source(
        url,
        SLOT,
        users=users,
        live_sessions=list(range(1, users + 1)),
        expired_sessions=[1],
        conversations=users * 3,
        file_sizes=[100 * users, 7],
        tags=users + 1,
    )
    if tags_table != "tags":
        run_sql(url, [f"ALTER TABLE tags RENAME TO {tags_table}"])
    instants = [SLOT - timedelta(minutes=m) for m in range(1, users * 2 + 1)]
    instants += [SLOT - timedelta(hours=2), SLOT + timedelta(minutes=1)]  # outside the hour
    run_sql(
        url,
        [
            f"INSERT INTO messages (id, created_at) VALUES ({i}, :at{i})"
            for i in range(len(instants))
        ],
        [{f"at{i}": stamp(url, at) for i, at in enumerate(instants)}],  # type: ignore[list-item]
    )
    rows = [d for d, n in departments.items() for _ in range(n)]
    run_sql(
        url,
        [f"INSERT INTO department_documents (department) VALUES (:d{i})" for i in range(len(rows))],
        [{f"d{i}": d for i, d in enumerate(rows)}],  # type: ignore[list-item]
    )


def expected(url: str, tags_table: str) -> dict[tuple[str, str], int]:
    """What the store must hold for a source: the test's own SQL on it, as of ``SLOT``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            values = {
                key: int(conn.execute(sa.text(sql), {"now": SLOT}).scalar_one())
                for key, sql in EXPECTED_SQL.items()
            }
            values[("tag_count", "")] = int(
                conn.execute(sa.text(f"SELECT count(*) FROM {tags_table}")).scalar_one()
            )
            for department, count in conn.execute(sa.text(DEPARTMENTS_SQL)):
                values[("documents_by_department", department)] = int(count)
    finally:
        engine.dispose()
    return values


@pytest.fixture
def branch_url(pg_admin_url: str) -> Iterator[str]:
    """A second PostgreSQL source database on the same server."""
    name = f"amh_branch_{uuid.uuid4().hex[:10]}"
    admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
    yield pg_url_for(pg_admin_url, name)
    admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sources(empty_pg_url: str, branch_url: str) -> tuple[str, str]:
    make_source(empty_pg_url, tags_table="tags", users=3, departments={"HR": 2, "IT": 5})
    make_source(branch_url, tags_table="labels", users=5, departments={"IT": 1, "Sales": 4})
    return empty_pg_url, branch_url


@pytest.fixture
def settings(
    pg_url: str,
    sources: tuple[str, str],
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    default_url, branch = sources
    monkeypatch.setenv(BRANCH_ENV, branch)
    path = tmp_path / "catalogue.toml"
    path.write_text(METRICS + BRANCH, encoding="utf-8")
    return make_settings(
        database_url=pg_url,
        source_database_url=default_url,
        metrics_catalogue_file=path,
        metrics_collection_deadline_seconds=10,
    )


def stored(settings: Settings, granularity: str = "hourly") -> dict[tuple[str, str, str], int]:
    """Every stored row as (metric, source, label) → value; a duplicate would fail here."""
    engine = make_engine(settings.store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    MetricSnapshot.metric_type,
                    MetricSnapshot.source,
                    MetricSnapshot.label,
                    MetricSnapshot.value,
                ).where(MetricSnapshot.granularity == granularity)
            ).all()
    finally:
        engine.dispose()
    values = {(m, s, label): v for m, s, label, v in rows}
    assert len(values) == len(rows)
    return values


def table(settings: Settings, model: Any) -> list[Any]:
    engine = make_engine(settings.store_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(model.__table__)).all())
    finally:
        engine.dispose()


def as_stored(values: dict[tuple[str, str], int], source: str) -> dict[tuple[str, str, str], int]:
    return {(m, source, label): v for (m, label), v in values.items()}


def test_two_sources_are_collected_in_one_slot_each_with_what_its_own_sql_gives(
    settings: Settings, sources: tuple[str, str]
) -> None:
    default_url, branch = sources
    catalogue = check_catalogue(settings)
    assert catalogue.source_names == ("default", "branch_office")
    assert catalogue.source("branch_office").name_en == "Branch office"  # type: ignore[union-attr]
    assert "labels" in catalogue.builtin_queries_for("branch_office")["tag_count"]
    assert "labels" not in catalogue.builtin_queries["tag_count"]

    result = collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)
    want = {
        **as_stored(expected(default_url, "tags"), "default"),
        **as_stored(expected(branch, "labels"), "branch_office"),
    }
    assert stored(settings) == want
    assert result.ok and result.source == "default"
    branch_result = result.others["branch_office"]
    assert branch_result.ok and branch_result.source == "branch_office"
    assert branch_result.extra_values["documents_by_department"] == {"IT": 1, "Sales": 4}
    assert want[("messages", "branch_office", "")] == 10  # the hour the slot closes

    again = collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)  # idempotent
    assert again.already_stored and again.others["branch_office"].already_stored
    assert stored(settings) == want
    assert table(settings, MetricCollectionFailure) == []

    day = local_date(SLOT, settings.business_zone)
    rollup_day(session_factory(make_engine(settings.store_url)), day, settings.business_zone)
    daily = stored(settings, "daily")
    assert daily[("tag_count", "branch_office", "")] == want[("tag_count", "branch_office", "")]
    assert daily[("documents_by_department", "default", "HR")] == 2
    assert {s for _m, s, _l in daily} == {"default", "branch_office"}


def test_two_racing_collectors_store_each_source_slot_exactly_once(settings: Settings) -> None:
    catalogue = check_catalogue(settings)
    store = make_engine(settings.store_url)
    sessions = session_factory(store)
    readers = source_readers(settings, catalogue)
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def collector(owner: str) -> None:
        start.wait()
        results[owner] = collect_sources(
            sessions, readers, SLOT, owner=owner, sleep=lambda _s: None
        )

    try:
        threads = [threading.Thread(target=collector, args=(o,)) for o in ("a:1", "b:2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for reader in readers:
            reader.engine.dispose()
        store.dispose()
    values = stored(settings)  # asserts no duplicate
    for source in ("default", "branch_office"):
        assert {m for m, s, label in values if s == source and not label} >= set(METRIC_IDS)
    claims = table(settings, CollectionClaim)
    assert sorted((c.source, c.outcome) for c in claims) == [
        ("branch_office", "stored"),
        ("default", "stored"),
    ]
    assert table(settings, MetricCollectionFailure) == []
    assert set(results) == {"a:1", "b:2"}


def test_a_source_that_is_down_costs_only_itself_its_slot(
    settings: Settings, sources: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    down = f"postgresql+psycopg://reader:s3cret-pw@127.0.0.1:{free_port()}/branch"
    monkeypatch.setenv(BRANCH_ENV, down)
    result = collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)
    assert result.ok
    branch = result.others["branch_office"]
    assert not branch.ok and branch.attempts == 3
    values = stored(settings)
    assert values == as_stored(expected(sources[0], "tags"), "default")
    failures = table(settings, MetricCollectionFailure)
    assert {f.source for f in failures} == {"branch_office"}
    assert sorted(f.metric_type for f in failures) == sorted(METRIC_IDS)
    assert all("s3cret-pw" not in f.error_message for f in failures)

    engine = make_engine(settings.store_url)
    try:
        with session_factory(engine)() as session:
            status = collection_status(
                session, SLOT + timedelta(minutes=2), sources=configured_sources(settings)
            )
            later = collection_status(
                session, SLOT + timedelta(hours=2, minutes=2), sources=("default", "branch_office")
            )
    finally:
        engine.dispose()
    lights = {s.source: s for s in status.sources}
    assert lights["default"].status == "healthy"
    assert lights["default"].last_collection_at == SLOT
    assert lights["branch_office"].last_collection_at is None
    assert lights["branch_office"].failed_slots_24h == 1
    assert lights["branch_office"].latest_slot_succeeded is False
    # Never stored while the default source collects: late since its first failed slot.
    assert {s.source: s.status for s in later.sources}["branch_office"] == "error"
    assert later.status == "error"
    assert {f.source for f in status.recent_failures} == {"branch_office"}
    body = status.to_json()
    assert [s["source"] for s in body["sources"]] == ["default", "branch_office"]


def test_each_source_gets_its_own_reason_for_a_slot_nobody_collected(settings: Settings) -> None:
    collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)
    engine = make_engine(settings.store_url)
    try:
        done = account_for_slots(
            session_factory(engine),
            SLOT + timedelta(hours=2, minutes=10),
            owner="leader:1",
            lookback=timedelta(days=400),
            sources=("default", "branch_office"),
        )
    finally:
        engine.dispose()
    missed = [SLOT + timedelta(hours=1), SLOT + timedelta(hours=2)]
    assert done.by_source["default"].missed == missed
    assert done.by_source["branch_office"].missed == missed
    failures = table(settings, MetricCollectionFailure)
    assert sorted({(f.source, f.attempted_at) for f in failures}) == sorted(
        (s, at) for s in ("branch_office", "default") for at in missed
    )
    assert len(failures) == 2 * 2 * len(METRIC_IDS)


def test_an_unreachable_source_at_start_is_logged_without_its_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql+psycopg://reader:s3cret-pw@127.0.0.1:{free_port()}/branch"
    monkeypatch.setenv(BRANCH_ENV, url)
    with caplog.at_level(logging.WARNING):
        catalogue = check_catalogue(settings)
    assert catalogue.source_names == ("default", "branch_office")
    assert "Source branch_office (postgresql+psycopg://reader:***@127.0.0.1" in caplog.text
    assert "unreachable" in caplog.text and "s3cret-pw" not in caplog.text


BAD_SOURCES = [
    ("[sources.Branch]\nurl = 'sqlite://'", "sources.Branch: a source name is 1–50"),
    ("[sources.all]\nurl = 'sqlite://'", "sources.all: the name 'all' is reserved"),
    ("[sources.default]\nurl = 'sqlite://'", "sources.default: the name 'default' is reserved"),
    ("[sources.branch]\nname_en = 'B'", "sources.branch: give exactly one of url and url_env"),
    (
        f"[sources.branch]\nurl = 'sqlite://'\nurl_env = '{BRANCH_ENV}'",
        "sources.branch: give exactly one of url and url_env",
    ),
    (
        "[sources.branch]\nurl_env = 'AMH_TEST_UNSET_VARIABLE'",
        "sources.branch: url_env names AMH_TEST_UNSET_VARIABLE, which is not set",
    ),
    (
        "[sources.branch]\nurl = 'not a url :s3cret-pw'",
        "sources.branch: url is not a database URL",
    ),
    (
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'\nport = 5432",
        "sources.branch: unknown key port",
    ),
    (
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'\n[sources.branch.queries]\nnope = 'SELECT 1'",
        "sources.branch: queries: unknown metric nope",
    ),
    (
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'\n[sources.branch.queries]\n"
        "tag_count = 'DELETE FROM tags'",
        "sources.branch: queries: tag_count: not a SELECT (starts with DELETE)",
    ),
    (
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'\n[sources.branch.queries]\n"
        "messages = 'SELECT count(*) FROM messages WHERE created_at < :now'",
        "sources.branch: queries: messages: a per_slot query takes only :slot_end and "
        ":slot_start, not :now",
    ),
    (  # statically fine, rejected by the source at the start-up run
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'\n[sources.branch.queries]\n"
        "tag_count = 'SELECT count(*) FROM nowhere'",
        "sources.branch: tag_count: the source rejected the query",
    ),
    (  # the branch's tags table is called labels: the catalogue's query fails there
        f"[sources.branch]\nurl_env = '{BRANCH_ENV}'",
        "sources.branch: tag_count: the source rejected the query",
    ),
]


@pytest.mark.parametrize(("entry", "message"), BAD_SOURCES)
def test_a_bad_source_entry_stops_start_up_with_one_line_naming_it(
    settings: Settings, entry: str, message: str
) -> None:
    assert settings.metrics_catalogue_file is not None
    settings.metrics_catalogue_file.write_text(METRICS + entry + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        check_catalogue(settings)
    text = str(caught.value)
    assert "\n" not in text and "s3cret-pw" not in text
    assert text.startswith("Invalid setting METRICS_CATALOGUE_FILE (")
    assert message in text


def texts(component: Any) -> list[str]:
    """Every string inside a Dash component tree, in order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [text for child in component for text in texts(child)]
    children = getattr(component, "children", None)
    return texts(children) if children is not None else []


def test_the_status_popover_lists_each_source_light_and_names_a_failure_source() -> None:
    lights = [
        SourceStatus("default", "healthy", SLOT, 0, 0, True),
        SourceStatus("branch_office", "error", None, 3, 0, False),
    ]
    failure = RecentFailure("tag_count", SLOT, "소스 데이터베이스 연결 실패", "branch_office")
    several = CollectionStatus(
        "error", SLOT, None, 6, [failure], failed_slots_24h=3, sources=lights
    )
    names = {"default": "기본 소스", "branch_office": "지사"}
    shown = " ".join(texts(status_failures(several, "UTC", "ko", names)))
    assert "정상  기본 소스" in shown and "오류  지사" in shown
    assert "지사 · 태그 수" in shown
    one = CollectionStatus("healthy", SLOT, None, 0, sources=lights[:1])
    assert "기본 소스" not in " ".join(texts(status_failures(one, "UTC", "ko", names)))


def test_the_api_and_prometheus_give_each_source_its_series_and_its_light(
    settings: Settings, sources: tuple[str, str], pg_url: str
) -> None:
    from dashboard.app import create_app

    collect_once(settings, "hourly", at=SLOT, sleep=lambda _s: None)
    create_user(pg_url, "admin")
    app = create_app(
        settings.model_copy(
            update={"prometheus_enabled": True, "prometheus_token": SecretStr(SCRAPE)}
        )
    )
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {stored_token(app, 'admin')}"}
        catalogue = client.get("/api/v1/metrics/catalogue", headers=auth).get_json()
        assert catalogue["sources"] == [
            {"id": "default", "name": {"ko": "기본 소스", "en": "Default source"}},
            {"id": "branch_office", "name": {"ko": "지사", "en": "Branch office"}},
        ]
        query = {
            "metric_type": "documents_by_department",
            "source": "branch_office",
            "label": "Sales",
            "granularity": "hourly",
            "start_date": (SLOT - timedelta(hours=1)).isoformat(),
            "end_date": (SLOT + timedelta(hours=1)).isoformat(),
        }
        series = client.get("/api/v1/metrics/timeseries", query_string=query, headers=auth)
        assert series.status_code == 200, series.get_json()
        assert [p["value"] for p in series.get_json()["data"]] == [4]
        unknown = client.get(
            "/api/v1/metrics/timeseries", query_string={**query, "source": "nope"}, headers=auth
        )
        assert unknown.status_code == 400
        status = client.get("/api/v1/metrics/status", headers=auth).get_json()
        assert [s["source"] for s in status["sources"]] == ["default", "branch_office"]
        assert {s["last_collection_at"] for s in status["sources"]} == {SLOT.isoformat()}
        text = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}"}).text
        families = {f.name: f.samples for f in text_string_to_metric_families(text)}
        lit = {
            s.labels["source"] for s in families["admin_metrics_collection_status"] if s.value == 1
        }
        assert lit == {"default", "branch_office"}
        failed = families["admin_metrics_collection_failed_slots_24h"]
        assert {s.labels["source"] for s in failed} == {"default", "branch_office"}
        sales = [
            s.value
            for s in families["admin_metrics_value"]
            if s.labels["source"] == "branch_office" and s.labels["label"] == "Sales"
        ]
        assert sales == [4]
    finally:
        get_context(app).engine.dispose()


def test_the_cli_collects_and_reports_each_source_and_fails_when_one_did(
    settings: Settings, tmp_path: Path
) -> None:
    down = f"postgresql+psycopg://reader:s3cret-pw@127.0.0.1:{free_port()}/branch"
    env = cli_env(
        tmp_path,
        DATABASE_URL=settings.store_url,
        SOURCE_DATABASE_URL=str(settings.source_database_url),
        METRICS_CATALOGUE_FILE=str(settings.metrics_catalogue_file),
        METRICS_COLLECTION_DEADLINE_SECONDS="6",
        **{BRANCH_ENV: down},
    )
    failed = run_cli(tmp_path, env, "collect", "--slot", SLOT.isoformat())
    assert failed.returncode == 1
    assert f"hourly {SLOT.isoformat()} [default]: active_users=3 " in failed.stdout
    assert "collection failed: source branch_office: 소스 데이터베이스 연결 실패" in failed.stderr
    assert "s3cret-pw" not in failed.stdout + failed.stderr
    status = run_cli(tmp_path, env, "status")
    assert "source default: " in status.stdout and "source branch_office: " in status.stdout
    assert "[branch_office] active_users" in status.stdout


def test_a_hanging_source_costs_the_others_nothing_and_its_budget_only(
    settings: Settings, sources: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The branch's tags are locked: its queries hang until its own deadline, while a third
    source (a replica of the default's database) is collected beside it."""
    default_url, branch = sources
    assert settings.metrics_catalogue_file is not None
    replica = f"\n[sources.replica]\nurl = '{default_url}'\n"
    settings.metrics_catalogue_file.write_text(METRICS + BRANCH + replica, encoding="utf-8")
    deadline = 6.0
    settings = settings.model_copy(update={"source_statement_timeout_ms": 1000})
    store = make_engine(settings.store_url)
    locker = make_engine(branch)
    readers: list[SourceReader] = []
    try:
        with locker.connect() as conn, conn.begin():
            conn.execute(sa.text("LOCK TABLE labels IN ACCESS EXCLUSIVE MODE"))
            # Start-up: a query the lock timeout ends is a source not answering, only logged.
            with caplog.at_level(logging.WARNING):
                catalogue = check_catalogue(settings)
            assert "Source branch_office (postgresql+psycopg://postgres@" in caplog.text
            assert "did not answer" in caplog.text and "tag_count" in caplog.text
            readers = source_readers(settings, catalogue)
            started = time.monotonic()
            result = collect_sources(
                session_factory(store),
                readers,
                SLOT,
                budget=CollectionBudget(deadline),
                owner="leader:1",
                sleep=lambda _s: None,
            )
            took = time.monotonic() - started
    finally:
        for reader in readers:
            reader.engine.dispose()
        locker.dispose()
        store.dispose()
    assert result.ok and result.others["replica"].ok
    hung = result.others["branch_office"]
    assert not hung.ok and "tag_count" in str(hung.error)
    # The hang ends with the branch's own budget (the watchdog stops its query).
    assert took < deadline + 5
    values = stored(settings)
    assert {s for _m, s, _l in values} == {"default", "replica"}
    failures = table(settings, MetricCollectionFailure)
    assert {f.source for f in failures} == {"branch_office"}


def test_the_scheduler_collects_every_source_and_accounts_for_each(
    settings: Settings, sources: tuple[str, str]
) -> None:
    from collectors.scheduler import MetricsService

    catalogue = check_catalogue(settings)
    clock = [SLOT + timedelta(seconds=10)]
    service = MetricsService(
        settings, catalogue.builtin_queries, clock=lambda: clock[0], catalogue=catalogue
    )
    try:
        result = service.collect_current_slot()
        assert result is not None and result.ok and result.others["branch_office"].ok
        clock[0] = SLOT + timedelta(hours=2, minutes=30)  # the next slot was missed
        service.collect_current_slot()
    finally:
        service.stop()
    assert stored(settings) == {
        **as_stored(expected(sources[0], "tags"), "default"),
        **as_stored(expected(sources[1], "labels"), "branch_office"),
    }
    missed = {(f.source, f.attempted_at) for f in table(settings, MetricCollectionFailure)}
    late = (SLOT + timedelta(hours=1), SLOT + timedelta(hours=2))  # past their grace window
    assert missed == {(s, at) for s in ("default", "branch_office") for at in late}

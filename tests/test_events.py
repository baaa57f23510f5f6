"""Events (annotations) on the graphs: the store on both backends (through migrations), the
automatic events (collection outages, alert firings), the REST API with its audit rows, and
the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from admin_metrics.cli import cli
from dashboard.context import get_context
from dashboard.reports.event_marks import load_chart_events
from db import alerts, audit
from db.engine import make_engine, store_session
from db.events import (
    EventError,
    EventNotFound,
    add_event,
    delete_event,
    get_event,
    list_events,
    update_event,
)
from db.metrics import METRIC_IDS
from db.migrate import current_revision, head_revision
from db.models import Base, MetricCollectionFailure, MetricSnapshot
from tests.support import stored_token

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REFUSED = "원본 데이터베이스 연결 실패"
TIMEOUT = "원본 데이터베이스 응답 시간 초과"


def _fail(session: Any, slot: datetime, messages: dict[str, str] | None = None) -> None:
    """Failure rows of one hourly slot, one per metric (as the collector writes them)."""
    session.add_all(
        MetricCollectionFailure(
            metric_type=metric,
            granularity="hourly",
            attempted_at=slot,
            error_message=(messages or {}).get(metric, REFUSED),
        )
        for metric in METRIC_IDS
    )


def _store(session: Any, slot: datetime) -> None:
    session.add_all(
        MetricSnapshot(metric_type=m, granularity="hourly", collected_at=slot, value=1)
        for m in METRIC_IDS
    )


# --- schema ------------------------------------------------------------------------------
def test_migration_creates_exactly_the_modelled_events_table(store_url: str) -> None:
    assert current_revision(store_url) == head_revision()
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert [d for d in diff if "metric_events" in repr(d)] == []
        insert = sa.text(
            "INSERT INTO metric_events (starts_at, ends_at, title, kind) VALUES (:s, :e, :t, :k)"
        )
        day = "2026-12-01 00:00:00"
        for row in (
            {"s": day, "e": "2026-11-30 00:00:00", "t": "backwards", "k": "other"},
            {"s": day, "e": None, "t": "unknown kind", "k": "party"},
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(insert, row)
    finally:
        engine.dispose()


# --- the store ---------------------------------------------------------------------------
def test_events_are_added_changed_listed_and_deleted(store_sessions: Callable[..., Any]) -> None:
    with store_sessions() as session:
        window = add_event(
            session,
            start=T0 + 9 * HOUR + timedelta(microseconds=500),
            end=T0 + 11 * HOUR,
            title="  DB 점검  ",
            kind="maintenance",
            description="야간 점검",
            created_by="admin",
        )
        point = add_event(session, start=T0 + DAY, end=None, title="v1.2 배포", kind="release")
    assert (window.start, window.title, window.automatic) == (T0 + 9 * HOUR, "DB 점검", False)
    assert (point.end, point.created_by, point.description) == (None, None, None)

    with store_sessions() as session:
        assert [e.id for e in list_events(session, T0, T0 + 2 * DAY)] == [window.id, point.id]
        # [start, end): a point at the end is out, a range reaching into the window is in.
        assert [e.id for e in list_events(session, T0 + 10 * HOUR, T0 + DAY)] == [window.id]
        assert list_events(session, T0 + 11 * HOUR, T0 + DAY) == []
        changed = update_event(session, point.id, end=T0 + DAY + HOUR, kind="incident")
        assert (changed.title, changed.kind, changed.end) == (
            "v1.2 배포",
            "incident",
            T0 + DAY + HOUR,
        )
        assert update_event(session, window.id, description=None).description is None
    with store_sessions() as session:
        assert get_event(session, point.id) == changed
        assert delete_event(session, window.id).title == "DB 점검"
        assert get_event(session, window.id) is None
        with pytest.raises(EventNotFound):
            delete_event(session, window.id)
        with pytest.raises(EventNotFound):
            update_event(session, 2**40, title="x")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "party"}, "kind"),
        ({"end": T0 - HOUR}, "end: must not be before start"),
        ({"start": datetime(2026, 12, 1)}, "offset"),
        ({"start": datetime(1999, 1, 1, tzinfo=UTC)}, "between 2000 and 2100"),
        ({"title": "   "}, "title: must not be empty"),
        ({"title": "x" * 201}, "at most 200"),
        ({"title": "a\nb"}, "one line"),
        ({"description": "a\x00b"}, "control characters"),
    ],
)
def test_a_wrong_event_is_refused_with_a_message(
    sqlite_url: str, fields: dict[str, Any], message: str
) -> None:
    draft: dict[str, Any] = {"start": T0, "end": None, "title": "점검", "kind": "other"}
    with store_session(sqlite_url) as session, pytest.raises(EventError, match=message):
        add_event(session, **{**draft, **fields})


def test_an_outage_becomes_one_automatic_event(store_sessions: Callable[..., Any]) -> None:
    """Three consecutive failed slots never stored are one outage; a failed slot stored
    after all is not part of it; its title is the run's most frequent error."""
    with store_sessions() as session:
        _store(session, T0 + 9 * HOUR)
        _fail(session, T0 + 10 * HOUR, {"tag_count": TIMEOUT, "document_count": TIMEOUT})
        _fail(session, T0 + 11 * HOUR)
        _fail(session, T0 + 12 * HOUR, {m: TIMEOUT for m in METRIC_IDS[:3]})
        _fail(session, T0 + 13 * HOUR)  # failed, then re-collected: not an outage
        _store(session, T0 + 13 * HOUR)
        _fail(session, T0 + 20 * HOUR, {m: TIMEOUT for m in METRIC_IDS})
    with store_sessions() as session:
        events = list_events(session, T0, T0 + DAY)
        first, second = events
        assert (first.kind, first.start, first.end, first.slots) == (
            "outage",
            T0 + 10 * HOUR,
            T0 + 13 * HOUR,
            3,
        )
        assert (first.id, first.automatic, first.created_by, first.title) == (
            None,
            True,
            None,
            REFUSED,  # 13 of the run's 18 rows
        )
        assert (second.start, second.slots, second.title) == (T0 + 20 * HOUR, 1, TIMEOUT)
        # A window inside the outage still shows it whole; without automatic events, nothing.
        (inside,) = list_events(session, T0 + 11 * HOUR, T0 + 12 * HOUR)
        assert (inside.start, inside.end) == (T0 + 10 * HOUR, T0 + 13 * HOUR)
        assert list_events(session, T0, T0 + DAY, automatic=False) == []
        assert list_events(session, T0 + 13 * HOUR, T0 + 20 * HOUR) == []

        marks = load_chart_events(session, T0, T0 + DAY, "ko")
        assert marks[0].title == f"수집 실패: 3개 슬롯 ({REFUSED})" and marks[0].automatic
        english = load_chart_events(session, T0, T0 + DAY, "en")
        assert english[1].title == f"Collection failed: 1 slots ({TIMEOUT})"


def test_an_alert_firing_becomes_an_automatic_event(store_sessions: Callable[..., Any]) -> None:
    with store_sessions() as session:
        rule = alerts.create_rule(
            session,
            name="사용자 급증",
            metric_type="active_users",
            condition_type="threshold",
            params={"type": "threshold", "op": "above", "value": 500, "slots": 1},
            level="critical",
            language="ko",
            channel_ids=[],
            now=T0,
        )
        firing = alerts.claim_firing(session, rule.id, T0 + 3 * HOUR, {"value": 612})
        assert firing is not None
        assert alerts.claim_resolution(session, firing.id, T0 + 5 * HOUR, {"value": 300})
        add_event(session, start=T0 + 4 * HOUR, end=None, title="원인 조사", kind="incident")
    with store_sessions() as session:
        fired, noted = list_events(session, T0, T0 + DAY)
        assert (fired.kind, fired.title, fired.level, fired.id) == (
            "alert",
            "사용자 급증",
            "critical",
            None,
        )
        assert (fired.start, fired.end) == (T0 + 3 * HOUR, T0 + 5 * HOUR)
        assert noted.title == "원인 조사"
        assert list_events(session, T0 + 5 * HOUR + timedelta(seconds=1), T0 + DAY) == []
        (mark, _) = load_chart_events(session, T0, T0 + DAY, "en")
        assert (mark.title, mark.kind, mark.automatic) == ("Alert: 사용자 급증", "alert", True)


# --- REST API ----------------------------------------------------------------------------
EVENT = {
    "start": "2026-12-01T09:00:00+09:00",
    "end": "2026-12-01T10:30:00+09:00",
    "title": "DB 점검",
    "kind": "maintenance",
    "description": "야간 정기 점검",
}


def test_events_api_round_trip(app: Flask, admin_client: FlaskClient) -> None:
    created = admin_client.post("/api/v1/events", json=EVENT)
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    path = f"/api/v1/events/{event['id']}"
    assert created.headers["Location"].endswith(path)
    assert event == {
        "id": event["id"],
        "start": "2026-12-01T00:00:00+00:00",
        "end": "2026-12-01T01:30:00+00:00",
        "title": "DB 점검",
        "kind": "maintenance",
        "description": "야간 정기 점검",
        "created_by": "admin",
        "automatic": False,
        "slots": None,
        "level": None,
    }
    release = admin_client.post(
        "/api/v1/events",
        json={"start": "2026-12-03T05:00:00.250Z", "title": "v1.2 배포", "kind": "release"},
    ).get_json()
    assert (release["start"], release["end"]) == ("2026-12-03T05:00:00+00:00", None)
    with get_context(app).session() as session:
        _fail(session, datetime(2026, 12, 2, 3, tzinfo=UTC))

    def listed(**query: str) -> list[Any]:
        response = admin_client.get("/api/v1/events", query_string=query)
        assert response.status_code == 200, response.get_json()
        return [(e["id"], e["kind"], e["automatic"]) for e in response.get_json()["events"]]

    assert listed(start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z") == [
        (event["id"], "maintenance", False)
    ]
    assert listed(start="2026-12-01T09:00:00+09:00", end="2026-12-04T00:00:00+09:00") == [
        (event["id"], "maintenance", False),
        (None, "outage", True),
        (release["id"], "release", False),
    ]
    only_recorded = listed(start="2026-11-30T00:00:00Z", end="2027-01-01T00:00:00Z", automatic="0")
    assert [kind for _id, kind, _auto in only_recorded] == ["maintenance", "release"]
    default = admin_client.get("/api/v1/events").get_json()
    start, end = (datetime.fromisoformat(default[k]) for k in ("start", "end"))
    assert end - start == 7 * DAY  # the page's "7 days"

    changed = admin_client.patch(path, json={"title": "DB 점검 (연장)", "end": None})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["title"], changed.get_json()["end"]) == ("DB 점검 (연장)", None)
    assert changed.get_json()["description"] == "야간 정기 점검"  # untouched fields stay
    assert admin_client.get(path).get_json() == changed.get_json()

    assert admin_client.delete(path).status_code == 204
    for call in (admin_client.get, admin_client.delete, admin_client.patch):
        gone = call(path, json={"title": "x"}, query_string={"lang": "en"})
        assert gone.status_code == 404 and gone.get_json()["code"] == "EVENT_NOT_FOUND"
    assert admin_client.get(f"/api/v1/events/{2**40}").status_code == 404

    # Who did what is in the audit log.
    with get_context(app).session() as session:
        rows = audit.list_events(session, audit.AuditFilter(actor="admin"))
    done = {r.action: r.details for r in rows if r.action.startswith("event_")}
    assert set(done) == {audit.EVENT_CREATED, audit.EVENT_UPDATED, audit.EVENT_DELETED}
    assert done[audit.EVENT_UPDATED] == {
        "event": event["id"],
        "title": "DB 점검 (연장)",
        "kind": "maintenance",
        "changed": ["end", "title"],
    }


def test_bad_event_input_is_a_4xx_with_a_message(admin_client: FlaskClient) -> None:
    def post(body: Any) -> Any:
        return admin_client.post("/api/v1/events", json=body, query_string={"lang": "en"})

    cases = [
        ({**EVENT, "kind": "party"}, "kind"),
        ({**EVENT, "kind": "outage"}, "kind"),  # automatic kinds are not recorded by hand
        ({**EVENT, "end": "2026-12-01T08:00:00+09:00"}, "end: must not be before start"),
        ({**EVENT, "start": "2026-12-01T09:00:00"}, "start: timestamp without offset"),
        ({**EVENT, "start": "2026-12-01"}, "start"),
        ({**EVENT, "start": "0001-01-01T00:00:00+09:00"}, "start"),
        ({**EVENT, "start": "9999-12-31T23:59:59Z", "end": None}, "between 2000 and 2100"),
        ({**EVENT, "start": 1764547200}, "start"),
        ({**EVENT, "title": ""}, "title"),
        ({**EVENT, "title": "x" * 100_000}, "title"),
        ({**EVENT, "title": ["DB 점검"]}, "title"),
        ({**EVENT, "title": "a\u0000b"}, "title"),
        ({**EVENT, "surprise": 1}, "surprise"),
        ({k: v for k, v in EVENT.items() if k != "kind"}, "kind"),
        ([EVENT], "object"),
        ("DB 점검", "object"),
        (None, "object"),
    ]
    for body, text in cases:
        response = post(body)
        payload = response.get_json()
        assert response.status_code == 400, (body, payload)
        assert payload["code"] == "EVENT_INVALID", (body, payload)
        assert text in payload["error"], (body, payload)
    not_json = admin_client.post("/api/v1/events", data="title=x")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["error"]
    broken = admin_client.post("/api/v1/events", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["code"] == "EVENT_INVALID"

    path = f"/api/v1/events/{post(EVENT).get_json()['id']}"
    for patch in ({"title": None}, {"start": None}, {"kind": "alert"}, {"id": 5}, []):
        response = admin_client.patch(path, json=patch)
        assert response.status_code == 400, patch
        assert response.get_json()["code"] == "EVENT_INVALID"

    for query, code in (
        ({"start": "yesterday"}, "METRICS_INVALID_DATE"),
        ({"start": "2026-12-01T00:00:00"}, "METRICS_TIMEZONE_REQUIRED"),
        (
            {"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
            "METRICS_INVALID_TIME_RANGE",
        ),
        ({"end": "0001-01-01T00:00:00Z"}, "METRICS_INVALID_DATE"),
        ({"automatic": "perhaps"}, "METRICS_INVALID_PARAMETER"),
    ):
        response = admin_client.get("/api/v1/events", query_string=query)
        assert response.status_code == 400, query
        assert response.get_json()["code"].endswith(code), (query, response.get_json())
    everything = admin_client.get(
        "/api/v1/events",
        query_string={"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
    )
    assert everything.status_code == 200 and len(everything.get_json()["events"]) == 1


def test_only_admins_see_or_change_events(app: Flask, anon_client: FlaskClient) -> None:
    token = stored_token(app, "viewer")
    as_viewer = {"Authorization": f"Bearer {token}"}
    for method, path in (
        ("get", "/api/v1/events"),
        ("post", "/api/v1/events"),
        ("get", "/api/v1/events/1"),
        ("patch", "/api/v1/events/1"),
        ("delete", "/api/v1/events/1"),
    ):
        call = getattr(anon_client, method)
        assert call(path, json=EVENT).status_code == 401
        forbidden = call(path, json=EVENT, headers=as_viewer)
        assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "AUTH_FORBIDDEN"
    with get_context(app).session() as session:
        assert list_events(session, T0 - DAY, T0 + DAY) == []


def test_openapi_documents_the_events_resource(admin_client: FlaskClient) -> None:
    paths = admin_client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/events"]) == {"get", "post"}
    assert set(paths["/events/{event_id}"]) == {"get", "patch", "delete"}
    assert {"201", "400", "401", "403"} <= set(paths["/events"]["post"]["responses"])
    assert "requestBody" in paths["/events"]["post"]
    assert {p["name"] for p in paths["/events"]["get"]["parameters"]} >= {
        "start",
        "end",
        "automatic",
    }
    assert "204" in paths["/events/{event_id}"]["delete"]["responses"]


# --- the command line --------------------------------------------------------------------
def test_events_from_the_command_line(sqlite_url: str, tmp_path: Any) -> None:
    def run(*args: str) -> Result:
        env = {
            "DATABASE_URL": sqlite_url,
            "DATA_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "WARNING",
        }
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    added = run(
        "events",
        "add",
        "DB 점검",
        "--start",
        (now - 2 * HOUR).isoformat(),
        "--end",
        (now - HOUR).isoformat(),
        "--kind",
        "maintenance",
        "--user",
        "admin",
    )
    assert added.exit_code == 0, added.output
    assert "Event 1 'DB 점검' (maintenance) added." in added.output
    with store_session(sqlite_url) as session:
        _fail(session, now - 5 * HOUR)

    listed = run("events", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].startswith("auto") and "outage" in lines[1] and REFUSED in lines[1]
    assert lines[2].startswith("1 ") and "maintenance" in lines[2] and "by admin" in lines[2]
    as_json = [json.loads(line) for line in run("events", "list", "--json").output.splitlines()]
    assert [(e["kind"], e["automatic"], e["slots"]) for e in as_json] == [
        ("outage", True, 1),
        ("maintenance", False, None),
    ]

    refused = run("events", "add", "x", "--start", now.isoformat(), "--end", "2000-01-01")
    assert refused.exit_code == 1 and "end: must not be before start" in refused.output
    wrong_kind = run("events", "add", "x", "--start", now.isoformat(), "--kind", "party")
    assert wrong_kind.exit_code == 2

    assert "Event 1 'DB 점검' deleted." in run("events", "delete", "1").output
    again = run("events", "delete", "1")
    assert again.exit_code == 1 and "no event with id 1" in again.output
    assert "maintenance" not in run("events", "list").output
    with store_session(sqlite_url) as session:
        rows = audit.list_events(session, audit.AuditFilter(actor=audit.CLI_ACTOR))
    assert [r.action for r in rows] == [audit.EVENT_DELETED, audit.EVENT_CREATED]
    assert rows[1].details["user"] == "admin"


def test_the_command_line_checks_the_store_first(tmp_path: Any) -> None:
    missing = tmp_path / "nowhere" / "metrics.db"
    result = CliRunner().invoke(
        cli,
        ["events", "add", "x", "--start", "not a time"],
        env={"DATABASE_URL": f"sqlite:///{missing}", "DATA_DIR": str(tmp_path / "var")},
    )
    assert result.exit_code == 1 and "not a time" not in result.output
    assert not missing.exists()

"""``GET /api/v1/audit`` (filters, pages) and ``/audit.csv``, for admins only; exports belong
to their creator."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from db import audit
from db.accounts import create_api_token
from tests.support import attempt, create_export, create_user, signed_in

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def bearer(app: Flask) -> Callable[[str], dict[str, str]]:
    def headers(username: str) -> dict[str, str]:
        with get_context(app).session() as session:
            token = create_api_token(session, f"t-{username}", username)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def events(app: Flask) -> Flask:
    """Five known events an hour apart (besides what the fixtures themselves recorded)."""
    with get_context(app).session() as session:
        for i, (action, actor) in enumerate(
            [
                (audit.SIGN_IN, "admin"),
                (audit.SIGN_IN_FAILED, '=HYPERLINK("http://x")'),
                (audit.EXPORT_CREATED, "admin"),
                (audit.SIGN_OUT, "admin"),
                (audit.SIGN_IN, "alice"),
            ]
        ):
            audit.record_event(
                session,
                action,
                actor=actor,
                address="10.0.0.1",
                details={"n": i, "user": "한글"},
                now=T0 + timedelta(hours=i),
            )
    return app


def _window(**extra: str) -> dict[str, str]:
    return {"since": T0.isoformat(), "until": (T0 + timedelta(days=1)).isoformat(), **extra}


def test_pages_of_the_audit_log_newest_first(events: Flask, admin_client: FlaskClient) -> None:
    first = admin_client.get("/api/v1/audit", query_string=_window(limit="2"))
    assert first.status_code == 200
    body = first.get_json()
    assert body["total"] == 5 and body["limit"] == 2 and body["next_offset"] == 2
    assert [e["details"]["n"] for e in body["events"]] == [4, 3]
    assert body["events"][0]["occurred_at"] == (T0 + timedelta(hours=4)).isoformat()
    last = admin_client.get("/api/v1/audit", query_string=_window(limit="2", offset="4"))
    assert [e["details"]["n"] for e in last.get_json()["events"]] == [0]
    assert last.get_json()["next_offset"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "sign_in"}, [4, 0]),
        ({"user": "admin"}, [3, 2, 0]),
        ({"user": "alice", "action": "sign_in"}, [4]),
        ({"since": (T0 + timedelta(hours=3)).isoformat()}, [4, 3]),
        ({"until": (T0 + timedelta(hours=1)).isoformat()}, [0]),
    ],
)
def test_filters(
    events: Flask, admin_client: FlaskClient, query: dict[str, str], expected: list[int]
) -> None:
    response = admin_client.get("/api/v1/audit", query_string={**_window(), **query})
    assert [e["details"]["n"] for e in response.get_json()["events"]] == expected


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"action": "dance"}, "METRICS_INVALID_PARAMETER"),
        ({"limit": "0"}, "METRICS_INVALID_PARAMETER"),
        ({"limit": "lots"}, "METRICS_INVALID_PARAMETER"),
        ({"offset": "-1"}, "METRICS_INVALID_PARAMETER"),
        ({"since": "2026-11-01"}, "METRICS_TIMEZONE_REQUIRED"),
        ({"since": "0001-01-01T00:00:00+09:00"}, "METRICS_INVALID_DATE"),
        (
            {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            "METRICS_INVALID_TIME_RANGE",
        ),
        ({"user": "x" * 151}, "METRICS_INVALID_PARAMETER"),
    ],
)
def test_bad_filters_are_400_with_a_message(
    admin_client: FlaskClient, query: dict[str, str], code: str
) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit.csv"):
        response = admin_client.get(path, query_string=query)
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        assert response.get_json()["code"] == code


def test_far_future_and_ancient_windows_are_simply_empty(
    events: Flask, admin_client: FlaskClient
) -> None:
    future = admin_client.get("/api/v1/audit", query_string={"since": "9999-12-31T00:00:00Z"})
    assert future.status_code == 200 and future.get_json()["events"] == []
    ancient = admin_client.get("/api/v1/audit", query_string={"until": "1000-01-01T00:00:00Z"})
    assert ancient.status_code == 200 and ancient.get_json()["total"] == 0


def test_csv_download_of_the_audit_log(events: Flask, admin_client: FlaskClient) -> None:
    response = admin_client.get("/api/v1/audit.csv", query_string=_window())
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id", "occurred_at", "actor", "action", "address", "details"]
    assert [r[3] for r in rows[1:]] == [
        "sign_in",
        "sign_out",
        "export_created",
        "sign_in_failed",
        "sign_in",
    ]
    assert rows[4][2] == '\'=HYPERLINK("http://x")', "no formula runs in a spreadsheet"
    assert "한글" in rows[1][5]


def test_only_admins_read_the_audit_log(
    app: Flask, anon_client: FlaskClient, viewer_client: FlaskClient
) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit.csv"):
        assert anon_client.get(path).status_code == 401
        assert viewer_client.get(path).status_code in (401, 403)


def test_the_audit_log_through_a_token(
    events: Flask, anon_client: FlaskClient, bearer: Callable[[str], dict[str, str]]
) -> None:
    response = anon_client.get("/api/v1/audit", headers=bearer("admin"))
    assert response.status_code == 200
    assert "token_created" in {e["action"] for e in response.get_json()["events"]}


def test_an_export_belongs_to_its_creator(
    app: Flask, anon_client: FlaskClient, bearer: Callable[[str], dict[str, str]]
) -> None:
    create_user(get_context(app).settings.store_url, "alice")
    owner = signed_in(app)
    url = create_export(owner)
    assert owner.get(url).status_code == 200
    other = signed_in(app, "alice")
    refused = other.get(url)
    assert refused.status_code == 404 and refused.get_json()["code"] == "EXPORT_NOT_FOUND"
    assert anon_client.get(url, headers=bearer("alice")).status_code == 404
    assert anon_client.get(url, headers=bearer("admin")).status_code == 200, "its owner's token"
    downloads = [row for row in _audit(app) if row.action == audit.EXPORT_DOWNLOADED]
    assert [row.actor for row in downloads] == ["admin", "admin"], "refusals download nothing"


def _audit(app: Flask) -> list[Any]:
    with get_context(app).session() as session:
        return audit.list_events(session, limit=1000)[::-1]


def test_failed_sign_in_rows_name_the_typed_user_and_reason(
    app: Flask, admin_client: FlaskClient
) -> None:
    attempt(app.test_client(), "admin", "wrong password!")
    body = admin_client.get("/api/v1/audit", query_string={"action": "sign_in_failed"}).get_json()
    assert body["events"][0]["actor"] == "admin"
    assert body["events"][0]["details"]["reason"] == "wrong_password"
    assert body["events"][0]["address"] == "127.0.0.1"

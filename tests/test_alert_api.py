"""REST API of alerting: rules, channels, history, report schedules (admin only, 4xx with a
message for bad input, everything in the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from dashboard.context import get_context
from db import alerts as store
from tests.support import stored_token

RULE = {
    "name": "사용자 급증",
    "metric_type": "active_users",
    "condition": {"type": "threshold", "op": "above", "value": 500, "slots": 3},
    "level": "critical",
}


def _channel(client: FlaskClient) -> int:
    response = client.post(
        "/api/v1/alerts/channels",
        json={"name": "ops", "kind": "email", "recipients": ["ops@intranet.example"]},
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_rule_lifecycle(admin_client: FlaskClient) -> None:
    channel_id = _channel(admin_client)
    created = admin_client.post("/api/v1/alerts/rules", json={**RULE, "channel_ids": [channel_id]})
    assert created.status_code == 201, created.get_json()
    rule = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/alerts/rules/{rule['id']}")
    assert rule["condition"] == {"type": "threshold", "op": "above", "value": 500.0, "slots": 3}
    assert (rule["state"], rule["language"], rule["channel_ids"]) == ("ok", "ko", [channel_id])

    listed = admin_client.get("/api/v1/alerts/rules").get_json()["rules"]
    assert [r["name"] for r in listed] == ["사용자 급증"]

    path = f"/api/v1/alerts/rules/{rule['id']}"
    changed = admin_client.patch(path, json={"condition": {"type": "threshold", "value": 800}})
    assert changed.status_code == 200
    assert changed.get_json()["condition"]["value"] == 800.0
    assert changed.get_json()["channel_ids"] == [channel_id]  # untouched fields stay
    off = admin_client.patch(path, json={"enabled": False}).get_json()
    assert (off["enabled"], off["state"]) == (False, "off")
    assert admin_client.get(path).get_json()["state"] == "off"

    assert admin_client.delete(path).status_code == 204
    gone = admin_client.get(path)
    assert gone.status_code == 404 and gone.get_json()["code"] == "ALERT_NOT_FOUND"


def test_bad_input_is_a_4xx_with_a_message(admin_client: FlaskClient) -> None:
    def post(body: Any, **kwargs: Any) -> Any:
        return admin_client.post("/api/v1/alerts/rules", json=body, **kwargs)

    cases = [
        ({**RULE, "metric_type": "tags"}, "metric_type"),
        ({**RULE, "condition": {"type": "threshold", "value": -5}}, "greater than or equal"),
        ({**RULE, "condition": {"type": "weather"}}, "condition"),
        ({**RULE, "level": "panic"}, "level"),
        ({**RULE, "channel_ids": [999]}, "no such channel: 999"),
        ({**RULE, "name": "a\u0000b"}, "control characters"),
        ({**RULE, "surprise": 1}, "surprise"),
        ({**RULE, "reminder_minutes": "60"}, "valid integer"),  # strict: no "60" for 60
        ([RULE], "object"),
        ({"name": "f", "condition": {"type": "storage_forecast"}}, "STORAGE_CAPACITY_BYTES"),
    ]
    for body, text in cases:
        response = post(body, query_string={"lang": "en"})
        payload = response.get_json()
        assert response.status_code == 400, (body, payload)
        assert payload["code"] == "ALERT_INVALID"
        assert text in payload["error"], (body, payload)
    not_json = admin_client.post("/api/v1/alerts/rules", data="name=x")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["error"]
    assert post(RULE).status_code == 201
    taken = post(RULE, query_string={"lang": "en"})
    assert taken.status_code == 409 and taken.get_json()["code"] == "ALERT_CONFLICT"
    korean = post(RULE)
    assert korean.get_json()["error"].startswith("이미 있는 이름입니다")
    for path in ("/api/v1/alerts/rules/99999", f"/api/v1/alerts/rules/{2**40}"):
        assert admin_client.patch(path, json={"enabled": False}).status_code == 404
        assert admin_client.delete(path).status_code == 404
    wrong_method = admin_client.put("/api/v1/alerts/rules/1", json={})
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


def test_history_shows_firings_with_every_delivery_attempt(
    app: Flask, admin_client: FlaskClient
) -> None:
    channel_id = _channel(admin_client)
    rule_id = admin_client.post(
        "/api/v1/alerts/rules", json={**RULE, "channel_ids": [channel_id]}
    ).get_json()["id"]
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with get_context(app).session() as session:
        event = store.claim_firing(session, rule_id, now, {"value": 612.0, "slot": now.isoformat()})
        assert event is not None
        delivery = store.add_delivery(
            session,
            purpose="firing",
            kind="email",
            target="ops@intranet.example",
            subject="[위험·발생] 사용자 급증",
            payload=b"x",
            timeout_seconds=5,
            max_attempts=3,
            now=now,
            event_id=event.id,
            rule_id=rule_id,
            channel_id=channel_id,
        )
        store.finish_attempt(
            session,
            delivery.id,
            attempted_at=now,
            ok=False,
            error="relay answered 451",
            duration_ms=12,
            retry_at=now + timedelta(seconds=30),
        )
    body = admin_client.get("/api/v1/alerts/history").get_json()
    (firing,) = body["firings"]
    assert (firing["rule_name"], firing["resolved_at"]) == ("사용자 급증", None)
    assert firing["trigger_values"]["value"] == 612.0
    (sent,) = firing["deliveries"]
    assert (sent["status"], sent["attempts"], sent["last_error"]) == (
        "pending",
        1,
        "relay answered 451",
    )
    assert sent["next_attempt_at"] == (now + timedelta(seconds=30)).isoformat()
    assert sent["attempt_log"][0]["error"] == "relay answered 451"
    assert admin_client.get("/api/v1/alerts/rules").get_json()["rules"][0]["state"] == "firing"
    limited = admin_client.get("/api/v1/alerts/history", query_string={"limit": "0"})
    assert limited.status_code == 400


def test_webhook_channels_never_show_their_url_or_secret(admin_client: FlaskClient) -> None:
    response = admin_client.post(
        "/api/v1/alerts/channels",
        json={
            "name": "chat",
            "kind": "webhook",
            "url": "https://chat.intranet.example/hooks/x?token=t0ps3cret",
            "secret": "webhook-secret-0123",
            "timeout_seconds": 4,
        },
    )
    assert response.status_code == 201
    listed = admin_client.get("/api/v1/alerts/channels").get_data(as_text=True)
    assert "chat.intranet.example" in listed and '"signed":true' in listed.replace(" ", "")
    assert "t0ps3cret" not in listed and "webhook-secret-0123" not in listed
    channel_id = response.get_json()["id"]
    assert admin_client.delete(f"/api/v1/alerts/channels/{channel_id}").status_code == 204


def test_report_schedules_and_send_without_a_relay(admin_client: FlaskClient) -> None:
    created = admin_client.post(
        "/api/v1/reports/schedules",
        json={
            "name": "주간 보고",
            "frequency": "weekly",
            "weekday": 0,
            "time": "09:00",
            "recipients": ["boss@intranet.example"],
            "include_csv": True,
        },
    )
    assert created.status_code == 201, created.get_json()
    schedule = created.get_json()
    assert (schedule["timezone"], schedule["time"], schedule["language"]) == (
        "Asia/Seoul",
        "09:00",
        "ko",
    )
    upcoming = datetime.fromisoformat(schedule["next_run_at"])
    assert upcoming.astimezone(UTC) > datetime.now(UTC)
    assert upcoming.astimezone(ZoneInfo("Asia/Seoul")).weekday() == 0
    listed = admin_client.get("/api/v1/reports/schedules").get_json()["schedules"]
    assert [s["name"] for s in listed] == ["주간 보고"]
    bad = admin_client.post(
        "/api/v1/reports/schedules",
        json={"name": "x", "frequency": "monthly", "day_of_month": 31, "recipients": ["a@b.kr"]},
    )
    assert bad.status_code == 400
    sent = admin_client.post(
        f"/api/v1/reports/schedules/{schedule['id']}/send", query_string={"lang": "en"}
    )
    assert sent.status_code == 503
    assert sent.get_json()["code"] == "REPORT_SEND_FAILED"
    assert "SMTP_HOST" in sent.get_json()["error"]
    assert admin_client.post("/api/v1/reports/schedules/424242/send").status_code == 404


def test_only_admins(app: Flask, anon_client: FlaskClient) -> None:
    token = stored_token(app, "viewer")
    as_viewer = {"Authorization": f"Bearer {token}"}
    for method, path in (
        ("get", "/api/v1/alerts/rules"),
        ("post", "/api/v1/alerts/rules"),
        ("get", "/api/v1/alerts/history"),
        ("get", "/api/v1/reports/schedules"),
        ("post", "/api/v1/reports/schedules/1/send"),
    ):
        call = getattr(anon_client, method)
        assert call(path, json={}).status_code == 401
        forbidden = call(path, json={}, headers=as_viewer)
        assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "AUTH_FORBIDDEN"


def test_openapi_documents_every_alert_operation(admin_client: FlaskClient) -> None:
    paths = admin_client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        "/alerts/rules": {"get", "post"},
        "/alerts/rules/{rule_id}": {"get", "patch", "delete"},
        "/alerts/history": {"get"},
        "/alerts/channels": {"get", "post"},
        "/alerts/channels/{channel_id}": {"delete"},
        "/reports/schedules": {"get", "post"},
        "/reports/schedules/{schedule_id}": {"delete"},
        "/reports/schedules/{schedule_id}/send": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    post_rule = paths["/alerts/rules"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(post_rule["responses"])
    assert "requestBody" in post_rule
    assert "204" in paths["/alerts/rules/{rule_id}"]["delete"]["responses"]

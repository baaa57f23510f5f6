"""Pure parts of alerting: the four conditions, the state machine, schedule arithmetic,
rule validation and message content (no store, no network)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alerts.channels import sign, verify
from alerts.conditions import (
    change_observation,
    failing_observation,
    forecast_observation,
    threshold_observation,
)
from alerts.evaluate import decide
from alerts.messages import Notice, alert_email, alert_webhook, period_label
from alerts.reports import ScheduleTimes, latest_occurrence, report_period
from alerts.rules import (
    ChannelDraft,
    RuleDraft,
    ScheduleDraft,
    ThresholdCondition,
    parse_model,
)
from alerts.types import AlertConfig, AlertInputError
from analytics.daily import daily_means
from dashboard.reports.mailing import ReportPresenter
from tests.alert_receivers import no_renderer

HOUR = 3600
T0 = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


def frame(values: list[float], *, start: datetime = T0, step: int = HOUR) -> pd.DataFrame:
    stamps = pd.DatetimeIndex([start + timedelta(seconds=step * i) for i in range(len(values))])
    return pd.DataFrame({"timestamp": stamps, "value": np.array(values, dtype="int64")})


def threshold(df: pd.DataFrame, slots: int = 1, op: str = "above", value: float = 100) -> Any:
    now = df["timestamp"].iloc[-1].to_pydatetime() + timedelta(minutes=1)
    return threshold_observation(
        df,
        op=op,
        value=value,
        slots=slots,
        slot_seconds=HOUR,
        now=now,  # type: ignore[arg-type]
    )


# --- threshold -----------------------------------------------------------------------------
def test_threshold_fires_on_the_slot_that_crosses_it() -> None:
    seen = threshold(frame([90, 95, 130]))
    assert seen.active is True
    assert seen.values["value"] == 130.0
    assert seen.values["slot"] == (T0 + timedelta(hours=2)).isoformat()


def test_threshold_needs_n_consecutive_slots_and_ends_when_the_value_is_back() -> None:
    assert threshold(frame([130, 140, 150]), slots=3).active is True
    assert threshold(frame([90, 140, 150]), slots=3).active is None  # run too short: no change
    assert threshold(frame([130, 140, 90]), slots=3).active is False  # back under: resolves
    assert threshold(frame([130, 140]), slots=3).active is None


def test_a_gap_breaks_the_run_and_stale_data_decides_nothing() -> None:
    gapped = pd.concat([frame([130]), frame([140, 150], start=T0 + timedelta(hours=2))])
    assert threshold(gapped.reset_index(drop=True), slots=3).active is None
    old = frame([130])
    late = threshold_observation(
        old, op="above", value=100, slots=1, slot_seconds=HOUR, now=T0 + timedelta(hours=3)
    )
    assert late.active is None and late.values["reason"] == "stale"
    assert (
        threshold_observation(
            frame([]), op="above", value=1, slots=1, slot_seconds=HOUR, now=T0
        ).active
        is None
    )


def test_below_threshold() -> None:
    assert threshold(frame([20, 3]), op="below", value=5).active is True
    assert threshold(frame([3, 20]), op="below", value=5).active is False


# --- change --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "before", "direction", "active", "change"),
    [
        ([130] * 5, [100] * 5, "both", True, 30.0),
        ([70] * 5, [100] * 5, "both", True, -30.0),
        ([70] * 5, [100] * 5, "up", False, -30.0),
        ([70] * 5, [100] * 5, "down", True, -30.0),
        ([110] * 5, [100] * 5, "both", False, 10.0),
    ],
)
def test_change_of_the_period_average_in_both_directions(
    now: list[int], before: list[int], direction: str, active: bool, change: float
) -> None:
    seen = change_observation(
        frame(now),
        frame(before),
        percent=20,
        direction=direction,
        days=7,  # type: ignore[arg-type]
    )
    assert seen.active is active
    assert seen.values["change_percent"] == pytest.approx(change)


def test_change_is_undefined_without_a_previous_average() -> None:
    zero = change_observation(frame([5]), frame([0, 0]), percent=20, direction="both", days=7)
    empty = change_observation(frame([5]), frame([]), percent=20, direction="both", days=7)
    assert zero.active is None and empty.active is None


# --- collection failing --------------------------------------------------------------------
def slots(*hours: int) -> list[datetime]:
    return [T0 + timedelta(hours=h) for h in hours]


def test_consecutive_failed_slots() -> None:
    def run(collected: list[datetime], failed: list[datetime]) -> Any:
        return failing_observation(
            collected,
            failed,
            failed_slots=3,
            no_success_hours=None,
            last_success=None,
            first_failure=None,
            now=T0 + timedelta(hours=10),
        )

    assert run(slots(0, 1), slots(2, 3, 4)).active is True
    assert run(slots(0, 1, 4), slots(2, 3)).active is False  # recovered at 04:00
    assert run(slots(0, 1), slots(2, 3)).values["failed_slots"] == 2
    # A slot re-collected after a failure counts as collected.
    assert run(slots(0, 4), slots(2, 3, 4)).active is False
    assert run([], []).active is None


def test_no_successful_slot_for_n_hours() -> None:
    def run(last: datetime | None, first_failure: datetime | None) -> Any:
        return failing_observation(
            [],
            [],
            failed_slots=None,
            no_success_hours=2,
            last_success=last,
            first_failure=first_failure,
            now=T0 + timedelta(hours=5),
        )

    assert run(T0 + timedelta(hours=4), None).active is False
    assert run(T0 + timedelta(hours=2), None).active is True
    assert run(None, T0).active is True  # never a success, failing since 00:00
    assert run(None, None).active is None


# --- storage forecast ----------------------------------------------------------------------
def test_storage_forecast_by_the_robust_trend() -> None:
    # 14 daily values growing 10 GB a day from 100 GB, with noise; capacity 300 GB, which the
    # true line reaches on day 20, i.e. 6.96 days after `now` (day 13, 01:00).
    rng = np.random.default_rng(7)
    gb = 1_000_000_000
    values = [100 * gb + 10 * gb * d + int(rng.integers(-gb, gb)) for d in range(14)]
    daily = frame(values, step=86400)
    now = T0 + timedelta(days=13, hours=1)
    soon = forecast_observation(daily, capacity=300 * gb, days=30, now=now)
    assert soon.active is True
    assert soon.values["days_left"] == pytest.approx(20 - (13 + 1 / 24), abs=0.5)
    assert soon.values["slope_per_day"] == pytest.approx(10 * gb, rel=0.05)
    assert soon.values["points"] == 14
    assert forecast_observation(daily, capacity=300 * gb, days=5, now=now).active is False


def test_forecast_edge_cases() -> None:
    flat = frame([50, 50, 49, 48, 48, 47, 47], step=86400)
    assert forecast_observation(flat, capacity=100, days=30, now=T0).active is False
    full = frame([80, 83, 86, 89, 92, 95, 101], step=86400)
    assert forecast_observation(full, capacity=100, days=1, now=T0).values["days_left"] == 0.0
    # The forecast needs a week of daily values (analytics.forecast.MIN_DAYS).
    six_days = forecast_observation(
        frame([1, 2, 3, 4, 5, 6], step=86400), capacity=9, days=1, now=T0
    )
    assert six_days.active is None
    assert six_days.values["reason"] == "fewer than 7 days of data"


def test_daily_means_use_the_organisations_days() -> None:
    # 15:00 UTC is midnight in Seoul: two Seoul days out of one UTC day of values.
    hourly = frame([10] * 15 + [20] * 9, start=T0)
    means = daily_means(hourly, "Asia/Seoul")
    assert list(means["value"]) == [10.0, 20.0]


# --- the state machine ---------------------------------------------------------------------
def test_decide_fires_once_resolves_once_and_reminds_on_time() -> None:
    now = T0 + timedelta(hours=3)
    open_event = SimpleNamespace(last_notified_at=T0)
    assert decide(True, None, now, None) == "fire"
    assert decide(True, open_event, now, None) is None  # lasts: not re-sent
    assert decide(False, open_event, now, None) == "resolve"
    assert decide(False, None, now, None) is None
    assert decide(None, open_event, now, None) is None  # unknown: no change
    assert decide(True, open_event, now, 180) == "remind"
    assert decide(True, open_event, now, 181) is None


# --- schedules -----------------------------------------------------------------------------
def test_weekly_occurrence_and_period_in_the_organisations_zone() -> None:
    monday_9 = ScheduleTimes("weekly", 0, None, 9, 0)
    # Monday 2026-11-30 09:00:30 KST is 00:00:30 UTC.
    now = datetime(2026, 11, 30, 0, 0, 30, tzinfo=UTC)
    occurrence = latest_occurrence(monday_9, now, "Asia/Seoul")
    assert occurrence == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert latest_occurrence(monday_9, now - timedelta(minutes=1), "Asia/Seoul") == (
        occurrence - timedelta(days=7)
    )
    start, end = report_period("weekly", occurrence, "Asia/Seoul")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-11-23T00:00:00+09:00",
        "2026-11-30T00:00:00+09:00",
    )
    assert period_label(start, end, "Asia/Seoul") == "2026-11-23 – 2026-11-29"


def test_monthly_occurrence_and_the_previous_calendar_month() -> None:
    first_8 = ScheduleTimes("monthly", None, 1, 8, 30)
    now = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # 09:00 KST on 1 January
    occurrence = latest_occurrence(first_8, now, "Asia/Seoul")
    assert occurrence.isoformat() == "2027-01-01T08:30:00+09:00"
    start, end = report_period("monthly", occurrence, "Asia/Seoul")
    assert (start.date().isoformat(), end.date().isoformat()) == ("2026-12-01", "2027-01-01")
    early = latest_occurrence(first_8, now - timedelta(hours=1), "Asia/Seoul")
    assert early.isoformat() == "2026-12-01T08:30:00+09:00"


def test_weekly_period_across_a_dst_change_keeps_local_midnights() -> None:
    # New York leaves DST on 2026-11-01: the week before Monday 2026-11-02 has 169 hours.
    start, end = report_period("weekly", datetime(2026, 11, 2, 15, tzinfo=UTC), "America/New_York")
    assert (start.hour, end.hour) == (0, 0)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)


# --- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "condition": {"type": "threshold", "value": 5}}, "metric_type"),
        (
            {"name": "x", "metric_type": "tags", "condition": {"type": "threshold", "value": 5}},
            "metric_type",
        ),
        (
            {
                "name": "x",
                "metric_type": "tag_count",
                "condition": {"type": "collection_failing", "failed_slots": 3},
            },
            "no metric_type",
        ),
        ({"name": "x", "condition": {"type": "collection_failing"}}, "exactly one"),
        ({"name": "x", "condition": {"type": "weather"}}, "condition"),
        (
            {
                "name": "x",
                "metric_type": "tag_count",
                "condition": {"type": "threshold", "value": -1},
            },
            "greater than or equal to 0",
        ),
        (
            {
                "name": "x",
                "metric_type": "tag_count",
                "condition": {"type": "threshold", "value": 1},
                "level": "panic",
            },
            "level",
        ),
    ],
)
def test_bad_rules_are_refused_with_a_message(data: dict[str, Any], message: str) -> None:
    with pytest.raises(AlertInputError) as info:
        parse_model(RuleDraft, data)
    assert message in str(info.value)
    assert info.value.status == 400


def test_channels_and_schedules_are_validated() -> None:
    with pytest.raises(AlertInputError, match="recipient"):
        parse_model(ChannelDraft, {"name": "m", "kind": "email"})
    with pytest.raises(AlertInputError, match="mail address"):
        parse_model(ChannelDraft, {"name": "m", "kind": "email", "recipients": ["nobody"]})
    with pytest.raises(AlertInputError, match="http"):
        parse_model(ChannelDraft, {"name": "w", "kind": "webhook", "url": "ftp://x/y"})
    with pytest.raises(AlertInputError, match="weekday"):
        parse_model(
            ScheduleDraft, {"name": "r", "frequency": "weekly", "recipients": ["a@b.example"]}
        )
    with pytest.raises(AlertInputError, match="time"):
        parse_model(
            ScheduleDraft,
            {
                "name": "r",
                "frequency": "monthly",
                "day_of_month": 1,
                "time": "25:00",
                "recipients": ["a@b.example"],
            },
        )
    forecast = parse_model(RuleDraft, {"name": "f", "condition": {"type": "storage_forecast"}})
    assert forecast.metric_type == "storage_bytes"


# --- messages ------------------------------------------------------------------------------
CONFIG = AlertConfig(
    smtp=None,
    public_url="https://intranet.example/metrics/",
    delivery_timeout=5,
    delivery_attempts=3,
    storage_capacity_bytes=None,
    zone="Asia/Seoul",
    default_language="ko",
)
PRESENTER = ReportPresenter(None, max_bytes=0, renderer=no_renderer)  # type: ignore[arg-type]


def notice(lang: str, purpose: str = "firing") -> Notice:
    return Notice(
        purpose=purpose,  # type: ignore[arg-type]
        rule_id=1,
        rule_name="사용자 급증" if lang == "ko" else "user surge",
        metric_type="active_users",
        condition=ThresholdCondition(value=100, slots=3),
        level="warning",
        lang=lang,
        now=T0 + timedelta(hours=9),
        started_at=T0 + timedelta(hours=9),
        values={"value": 153.0, "slot": (T0 + timedelta(hours=9)).isoformat()},
    )


def test_alert_mail_in_the_rules_language_links_only_to_public_url() -> None:
    korean = alert_email(
        notice("ko"),
        sender="metrics@intranet.example",
        recipients=["a@intranet.example"],
        config=CONFIG,
        presenter=PRESENTER,
    )
    assert korean["Subject"] == "[주의·발생] 사용자 급증: 활성 사용자 100명 초과 (3회 연속 수집)"
    text = korean.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "현재 값: 153명 (2026-12-03 18:00)" in text
    html = korean.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert re.findall(r"(?:src|href)=\"([^\"]+)\"", html) == [
        "https://intranet.example/metrics/admin/metrics/"
    ]
    assert "<img" not in html and "@import" not in html
    english = alert_email(
        notice("en", "resolved"),
        sender="metrics@intranet.example",
        recipients=["a@intranet.example"],
        config=CONFIG,
        presenter=PRESENTER,
    )
    assert english["Subject"].startswith("[Warning · Resolved] user surge: Active users above 100")
    assert english["Auto-Submitted"] == "auto-generated"


def test_webhook_body_is_json_and_its_signature_verifies() -> None:
    body = alert_webhook(notice("en"), config=CONFIG, presenter=PRESENTER)
    payload = json.loads(body)
    assert payload["event"] == "alert.firing"
    assert payload["rule"]["condition"] == {
        "type": "threshold",
        "op": "above",
        "value": 100.0,
        "slots": 3,
    }
    assert payload["values"]["value"] == 153.0
    assert payload["dashboard_url"] == "https://intranet.example/metrics/admin/metrics/"
    signature = sign(body, "s3cret-s3cret")
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(body, "s3cret-s3cret", signature)
    assert not verify(body + b" ", "s3cret-s3cret", signature)

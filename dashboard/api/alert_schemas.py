"""Schemas of the alert and report resources of API v1.

Request bodies are the feature's own models (``alerts.rules``: the CLI validates with the
same ones); the responses are described here, for the OpenAPI document and the tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.rules import Condition, RowId


class HistoryQuery(BaseModel):
    """``GET /alerts/history`` parameters."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=1, le=500, description="Newest firings returned.")
    rule_id: RowId | None = Field(None, description="Only this rule's firings.")


class ChannelOut(BaseModel):
    id: int
    name: str
    kind: Literal["email", "webhook"]
    recipients: list[str] = Field(description="Mail recipients (email channels).")
    host: str | None = Field(
        description="The webhook's host:port (the URL itself may hold a token: never shown)."
    )
    signed: bool = Field(description="Webhook bodies carry X-Signature-SHA256.")
    timeout_seconds: float | None
    created_at: datetime


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class RuleOut(BaseModel):
    id: int
    name: str
    metric_type: str | None
    condition: Condition
    level: Literal["info", "warning", "critical"]
    enabled: bool
    reminder_minutes: int | None
    language: Literal["ko", "en"]
    channel_ids: list[int]
    state: Literal["ok", "firing", "off"] = Field(description="off: the rule is disabled.")
    firing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    rules: list[RuleOut]


class AttemptOut(BaseModel):
    attempt: int
    attempted_at: datetime
    ok: bool
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    purpose: Literal["firing", "resolved", "reminder", "report", "test"]
    kind: Literal["email", "webhook"]
    target: str = Field(description="Recipients, or the webhook's host:port.")
    subject: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    max_attempts: int
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When a pending delivery is retried.")
    created_at: datetime
    sent_at: datetime | None
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")


class FiringOut(BaseModel):
    id: int
    rule_id: int
    rule_name: str
    metric_type: str | None
    level: Literal["info", "warning", "critical"]
    started_at: datetime
    resolved_at: datetime | None
    closed_reason: str | None = Field(
        description="condition_ended (resolved message sent) or rule_disabled."
    )
    trigger_values: dict[str, Any] = Field(description="What the condition saw when it fired.")
    resolve_values: dict[str, Any] | None
    deliveries: list[DeliveryOut]


class HistoryResponse(BaseModel):
    firings: list[FiringOut] = Field(description="Newest first.")
    deliveries: list[DeliveryOut] = Field(description="Reports and test messages, newest first.")


class ScheduleOut(BaseModel):
    id: int
    name: str
    frequency: Literal["weekly", "monthly"]
    weekday: int | None = Field(description="0 = Monday (weekly).")
    day_of_month: int | None = Field(description="1–28 (monthly).")
    time: str = Field(description="HH:MM in the organisation's zone.")
    timezone: str = Field(description="DEFAULT_TIMEZONE.")
    recipients: list[str]
    include_csv: bool
    language: Literal["ko", "en"]
    enabled: bool
    next_run_at: datetime | None = Field(description="Null when the schedule is off.")
    last_sent_at: datetime | None
    created_at: datetime


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class SendResponse(BaseModel):
    delivery: DeliveryOut

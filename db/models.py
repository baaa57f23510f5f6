"""SQLAlchemy 2 typed models. The schema itself is created only by Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshots"
    __table_args__ = (
        # One value per series and slot; its index serves a range query of one series
        # (migration 20261205_catalogue_series).
        UniqueConstraint(
            "metric_type",
            "source",
            "label",
            "granularity",
            "collected_at",
            name="unique_metric_snapshot",
        ),
        CheckConstraint("granularity IN ('hourly', 'daily')", name="granularity"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        Index("idx_metric_type_time", "metric_type", "granularity", text("collected_at DESC")),
        Index(
            "idx_cleanup_hourly",
            "collected_at",
            postgresql_where=text("granularity = 'hourly'"),
            sqlite_where=text("granularity = 'hourly'"),
        ),
        Index(
            "idx_cleanup_daily",
            "collected_at",
            postgresql_where=text("granularity = 'daily'"),
            sqlite_where=text("granularity = 'daily'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_type: Mapped[str] = mapped_column(String(50), nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retry_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    # The source instance (``db.metrics.DEFAULT_SOURCE``) and the label of a labelled
    # catalogue metric ('' for an unlabelled series, as the six are).
    source: Mapped[str] = mapped_column(
        String(50), nullable=False, server_default=text("'default'")
    )
    label: Mapped[str] = mapped_column(String(200), nullable=False, server_default=text("''"))


class MetricCollectionFailure(Base):
    __tablename__ = "metric_collection_failures"
    __table_args__ = (
        Index("idx_failures_created_at", text("created_at DESC")),
        Index("idx_failures_slot", "granularity", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_type: Mapped[str] = mapped_column(String(50), nullable=False)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    retry_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    source: Mapped[str] = mapped_column(
        String(50), nullable=False, server_default=text("'default'")
    )


CLAIM_OUTCOMES = ("stored", "failed", "missed", "stopped")


class CollectionClaim(Base):
    """A slot of a source a leader took on (``outcome`` None while it collects) or
    accounted for.

    ``stored``: the six rows were written; ``failed``: failure rows after the last attempt;
    ``missed``: nobody collected the slot inside its grace window; ``stopped``: a collector
    claimed it and never finished (killed, lost its store). See ``db.claims``.
    """

    __tablename__ = "metric_collection_claims"
    __table_args__ = (
        UniqueConstraint("granularity", "source", "slot", name="unique_collection_claim"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('stored', 'failed', 'missed', 'stopped')",
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    slot: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # The source instance the claim is for (each source's slot is claimed on its own).
    source: Mapped[str] = mapped_column(
        String(50), nullable=False, server_default=text("'default'")
    )


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExportFile(Base):
    """A generated CSV/PDF kept in the store so any replica can serve it until it expires."""

    __tablename__ = "metric_exports"
    __table_args__ = (Index("idx_exports_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL"), nullable=True
    )
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    downsampled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AdminSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the random token in the cookie."""

    __tablename__ = "admin_sessions"
    __table_args__ = (
        Index("idx_admin_sessions_user", "user_id"),
        Index("idx_admin_sessions_last_seen", "last_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # "password" or "proxy"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)


class AuditEvent(Base):
    """One security-relevant event (append-only: a trigger refuses UPDATE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("idx_audit_log_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(150), nullable=True)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)  # a JSON object


class SignInFailure(Base):
    """A failed (or still running) sign-in attempt, counted in sliding windows."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("idx_sign_in_failures_user", "address", "username", "occurred_at"),
        Index("idx_sign_in_failures_address", "address", "occurred_at"),
        Index("idx_sign_in_failures_device", "device", "occurred_at"),
        Index("idx_sign_in_failures_time", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(150), nullable=False)  # normalised
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)


# --- alerts and scheduled reports (revision 20261203_alerts_reports) ----------------------
ALERT_CONDITIONS = ("threshold", "change", "collection_failing", "storage_forecast")
ALERT_LEVELS = ("info", "warning", "critical")
DELIVERY_PURPOSES = ("firing", "resolved", "reminder", "report", "test")
DELIVERY_STATUSES = ("pending", "sent", "failed")
CHANNEL_KINDS = ("email", "webhook")
REPORT_FREQUENCIES = ("weekly", "monthly")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AlertChannel(Base):
    """Where notifications go: a list of mail recipients (sent over the SMTP_* relay) or a
    JSON webhook (URL, optional HMAC secret, own timeout)."""

    __tablename__ = "alert_channels"
    __table_args__ = (CheckConstraint(_in("kind", CHANNEL_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    recipients: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma-separated
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    timeout_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


alert_rule_channels = Table(
    "alert_rule_channels",
    Base.metadata,
    Column("rule_id", ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("alert_channels.id", ondelete="CASCADE"), primary_key=True),
)


class AlertRule(Base):
    """A condition on the stored series (``params`` as validated by ``alerts.rules``)."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint(_in("condition_type", ALERT_CONDITIONS), name="condition_type"),
        CheckConstraint(_in("level", ALERT_LEVELS), name="level"),
        CheckConstraint("language IN ('ko', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    metric_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    condition_type: Mapped[str] = mapped_column(String(30), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    reminder_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    channels: Mapped[list[AlertChannel]] = relationship(
        secondary=alert_rule_channels, lazy="selectin", order_by=AlertChannel.id
    )


class AlertEvent(Base):
    """One firing of a rule: open while ``resolved_at`` is NULL. At most one open firing per
    rule (a partial unique index), so two evaluators can never both fire it."""

    __tablename__ = "alert_events"
    __table_args__ = (
        Index(
            "uq_alert_events_open_rule",
            "rule_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        Index("idx_alert_events_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What the condition saw when it started / ended (values, slot, threshold, ...).
    trigger_values: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    resolve_values: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # condition_ended (notified) or rule_disabled / rule_changed (closed without a message).
    closed_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_notified_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reminders_sent: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class AlertDelivery(Base):
    """One message to one channel (or a report's recipients), kept whole so a retry sends
    exactly the same bytes; retried with back-off until ``max_attempts``."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint(_in("purpose", DELIVERY_PURPOSES), name="purpose"),
        CheckConstraint(_in("kind", CHANNEL_KINDS), name="kind"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("idx_alert_deliveries_due", "status", "next_attempt_at"),
        Index("idx_alert_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=True
    )
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=True
    )
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="CASCADE"), nullable=True
    )
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="SET NULL"), nullable=True
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    target: Mapped[str] = mapped_column(Text, nullable=False)  # recipients or URL
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature: Mapped[str | None] = mapped_column(String(80), nullable=True)
    timeout_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AlertDeliveryAttempt(Base):
    """Every try of a delivery: when, whether it worked, the error, how long it took."""

    __tablename__ = "alert_delivery_attempts"
    __table_args__ = (Index("idx_alert_delivery_attempts_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)


class ReportSchedule(Base):
    """A weekly (weekday + time) or monthly (day + time) report in the organisation's zone
    (DEFAULT_TIMEZONE). ``last_due_at`` is the occurrence last claimed, so each is sent once."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        CheckConstraint(_in("frequency", REPORT_FREQUENCIES), name="frequency"),
        CheckConstraint(
            "(frequency = 'weekly' AND weekday IS NOT NULL AND weekday BETWEEN 0 AND 6 "
            "AND day_of_month IS NULL) OR "
            "(frequency = 'monthly' AND day_of_month IS NOT NULL AND day_of_month BETWEEN 1 AND 28 "
            "AND weekday IS NULL)",
            name="day",
        ),
        CheckConstraint("hour BETWEEN 0 AND 23 AND minute BETWEEN 0 AND 59", name="time"),
        CheckConstraint("language IN ('ko', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    frequency: Mapped[str] = mapped_column(String(10), nullable=False)
    weekday: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # 0 = Monday
    day_of_month: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    hour: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    minute: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    recipients: Mapped[str] = mapped_column(Text, nullable=False)  # comma-separated
    include_csv: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    last_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


# --- events on the graphs (revision 20261205_events) --------------------------------------
EVENT_KINDS = ("maintenance", "release", "incident", "other")


class MetricEvent(Base):
    """An event an admin recorded (a point in time, or a range when ``ends_at`` is set).
    Collection outages and alert firings are not stored: ``db.events`` derives them."""

    __tablename__ = "metric_events"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("idx_metric_events_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(150), nullable=True)  # admin's name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

"""Alerts and scheduled reports: channels, rules, firings, deliveries (with every attempt)
and report schedules.

Revision ID: 20261203_alerts_reports
Revises: 20251104_add_exports
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_alerts_reports"
down_revision: str | None = "20261203_sessions_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if now else None,
    )


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=True),
        _ts("created_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_channels"),
        sa.UniqueConstraint("name", name="uq_alert_channels_name"),
        sa.CheckConstraint("kind IN ('email', 'webhook')", name="ck_alert_channels_kind"),
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("metric_type", sa.String(50), nullable=True),
        sa.Column("condition_type", sa.String(30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("reminder_minutes", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        _ts("created_at", nullable=False, now=True),
        _ts("updated_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
        sa.UniqueConstraint("name", name="uq_alert_rules_name"),
        sa.CheckConstraint(
            "condition_type IN ('threshold', 'change', 'collection_failing', 'storage_forecast')",
            name="ck_alert_rules_condition_type",
        ),
        sa.CheckConstraint("level IN ('info', 'warning', 'critical')", name="ck_alert_rules_level"),
        sa.CheckConstraint("language IN ('ko', 'en')", name="ck_alert_rules_language"),
    )
    op.create_table(
        "alert_rule_channels",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "channel_id", name="pk_alert_rule_channels"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_rule_channels_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alert_channels.id"],
            name="fk_alert_rule_channels_channel_id_alert_channels",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        _ts("started_at", nullable=False),
        _ts("resolved_at"),
        sa.Column("trigger_values", sa.JSON(), nullable=False),
        sa.Column("resolve_values", sa.JSON(), nullable=True),
        sa.Column("closed_reason", sa.String(20), nullable=True),
        _ts("last_notified_at", nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_events_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
    )
    # At most one open firing per rule: the claim that makes "fires once" hold for any
    # number of evaluators.
    op.create_index(
        "uq_alert_events_open_rule",
        "alert_events",
        ["rule_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("idx_alert_events_started_at", "alert_events", ["started_at"])

    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("day_of_month", sa.SmallInteger(), nullable=True),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("minute", sa.SmallInteger(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("include_csv", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        _ts("last_due_at"),
        _ts("last_sent_at"),
        _ts("created_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_report_schedules"),
        sa.UniqueConstraint("name", name="uq_report_schedules_name"),
        sa.CheckConstraint(
            "frequency IN ('weekly', 'monthly')", name="ck_report_schedules_frequency"
        ),
        sa.CheckConstraint(
            "(frequency = 'weekly' AND weekday IS NOT NULL AND weekday BETWEEN 0 AND 6 "
            "AND day_of_month IS NULL) OR "
            "(frequency = 'monthly' AND day_of_month IS NOT NULL AND day_of_month BETWEEN 1 AND 28 "
            "AND weekday IS NULL)",
            name="ck_report_schedules_day",
        ),
        sa.CheckConstraint(
            "hour BETWEEN 0 AND 23 AND minute BETWEEN 0 AND 59", name="ck_report_schedules_time"
        ),
        sa.CheckConstraint("language IN ('ko', 'en')", name="ck_report_schedules_language"),
    )

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.String(80), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("next_attempt_at", nullable=False),
        _ts("claimed_until"),
        _ts("created_at", nullable=False, now=True),
        _ts("sent_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name="fk_alert_deliveries_event_id_alert_events",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_deliveries_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["report_schedules.id"],
            name="fk_alert_deliveries_schedule_id_report_schedules",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alert_channels.id"],
            name="fk_alert_deliveries_channel_id_alert_channels",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "purpose IN ('firing', 'resolved', 'reminder', 'report', 'test')",
            name="ck_alert_deliveries_purpose",
        ),
        sa.CheckConstraint("kind IN ('email', 'webhook')", name="ck_alert_deliveries_kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_alert_deliveries_status"
        ),
    )
    op.create_index("idx_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("idx_alert_deliveries_created_at", "alert_deliveries", ["created_at"])

    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _ts("attempted_at", nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_delivery_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["alert_deliveries.id"],
            name="fk_alert_delivery_attempts_delivery_id_alert_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "idx_alert_delivery_attempts_delivery", "alert_delivery_attempts", ["delivery_id"]
    )


def downgrade() -> None:
    op.drop_index("idx_alert_delivery_attempts_delivery", table_name="alert_delivery_attempts")
    op.drop_table("alert_delivery_attempts")
    op.drop_index("idx_alert_deliveries_created_at", table_name="alert_deliveries")
    op.drop_index("idx_alert_deliveries_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("report_schedules")
    op.drop_index("idx_alert_events_started_at", table_name="alert_events")
    op.drop_index("uq_alert_events_open_rule", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_table("alert_rule_channels")
    op.drop_table("alert_rules")
    op.drop_table("alert_channels")

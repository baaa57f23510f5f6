"""Add the metric history tables.

Revision ID: 20251102_add_metrics_tables
Revises:
Create Date: 2025-11-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20251102_add_metrics_tables"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("metric_type", sa.String(50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("granularity", sa.String(10), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_count", sa.SmallInteger(), server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_metric_snapshots"),
        sa.UniqueConstraint(
            "metric_type", "granularity", "collected_at", name="unique_metric_snapshot"
        ),
        sa.CheckConstraint(
            "granularity IN ('hourly', 'daily')", name="ck_metric_snapshots_granularity"
        ),
        sa.CheckConstraint("value >= 0", name="ck_metric_snapshots_value_non_negative"),
    )
    op.create_index(
        "idx_metric_type_time",
        "metric_snapshots",
        ["metric_type", "granularity", sa.text("collected_at DESC")],
    )
    for granularity in ("hourly", "daily"):
        op.create_index(
            f"idx_cleanup_{granularity}",
            "metric_snapshots",
            ["collected_at"],
            postgresql_where=sa.text(f"granularity = '{granularity}'"),
            sqlite_where=sa.text(f"granularity = '{granularity}'"),
        )

    op.create_table(
        "metric_collection_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("metric_type", sa.String(50), nullable=False),
        sa.Column("granularity", sa.String(10), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("retry_count", sa.SmallInteger(), server_default=sa.text("3")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_metric_collection_failures"),
    )
    op.create_index(
        "idx_failures_created_at", "metric_collection_failures", [sa.text("created_at DESC")]
    )


def downgrade() -> None:
    op.drop_index("idx_failures_created_at", table_name="metric_collection_failures")
    op.drop_table("metric_collection_failures")
    op.drop_index("idx_cleanup_daily", table_name="metric_snapshots")
    op.drop_index("idx_cleanup_hourly", table_name="metric_snapshots")
    op.drop_index("idx_metric_type_time", table_name="metric_snapshots")
    op.drop_table("metric_snapshots")

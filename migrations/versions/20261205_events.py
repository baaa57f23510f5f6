"""Events (annotations) on the graphs: maintenance, releases, incidents and others that an
admin records, with who recorded them.

Only the admins' own events are stored here: collection outages and alert firings are
derived from their own tables when events are read (``db.events``), so they can never
disagree with them.

Revision ID: 20261205_events
Revises: 20261203_business_day_daily
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_events"
down_revision: str | None = "20261203_business_day_daily"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(150), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metric_events"),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at >= starts_at", name="ck_metric_events_ends_after_start"
        ),
        sa.CheckConstraint(
            "kind IN ('maintenance', 'release', 'incident', 'other')",
            name="ck_metric_events_kind",
        ),
    )
    op.create_index("idx_metric_events_starts_at", "metric_events", ["starts_at"])


def downgrade() -> None:
    op.drop_index("idx_metric_events_starts_at", table_name="metric_events")
    op.drop_table("metric_events")

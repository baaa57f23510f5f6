"""Add the collection claims: one row per slot a leader took on, and how it ended.

A leader inserts the claim before reading the source and finishes it (``outcome``) in the
transaction that stores the slot or its failure rows; a claim left without an outcome tells
the next leader that the collector stopped during the collection. Slots nobody collected get
a finished claim with the outcome ``missed``. Also an index on the failures' slot, which the
slot-based status and the accounting read.

Revision ID: 20261203_collection_claims
Revises: 20251104_add_exports
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_collection_claims"
down_revision: str | None = "20251104_add_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_collection_claims",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("granularity", sa.String(10), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_metric_collection_claims"),
        sa.UniqueConstraint("granularity", "slot", name="unique_collection_claim"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('stored', 'failed', 'missed', 'stopped')",
            name="ck_metric_collection_claims_outcome",
        ),
    )
    op.create_index(
        "idx_failures_slot", "metric_collection_failures", ["granularity", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_index("idx_failures_slot", table_name="metric_collection_failures")
    op.drop_table("metric_collection_claims")

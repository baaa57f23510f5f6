"""Add the export file store (any replica can serve a download until it expires).

Revision ID: 20251104_add_exports
Revises: 20251103_add_admin_auth
Create Date: 2025-11-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20251104_add_exports"
down_revision: str | None = "20251103_add_admin_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_exports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("downsampled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_exports"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_users.id"],
            name="fk_metric_exports_user_id_admin_users",
            ondelete="SET NULL",
        ),
    )
    op.create_index("idx_exports_expires_at", "metric_exports", ["expires_at"])


def downgrade() -> None:
    op.drop_index("idx_exports_expires_at", table_name="metric_exports")
    op.drop_table("metric_exports")

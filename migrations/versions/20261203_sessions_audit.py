"""Server-side sign-in sessions, the append-only audit log and sign-in failure events.

- ``admin_sessions``: one row per signed-in browser; the cookie carries only a random token,
  the row is keyed by its SHA-256, so a copy of the table opens no session. Deleting the row
  (sign-out, password change, disabling the account, ``sessions revoke``) ends the session
  on every worker and replica at once.
- ``audit_log``: security-relevant events. Append-only: a trigger refuses UPDATE on both
  backends (retention deletes old rows).
- ``sign_in_failures``: one row per failed (or in-flight) sign-in, counted in sliding
  windows per address and user name, per address, and per known device.

Revision ID: 20261203_sessions_audit
Revises: 20251104_add_exports
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_sessions_audit"
down_revision: str | None = "20261203_collection_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_admin_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_users.id"],
            name="fk_admin_sessions_user_id_admin_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("idx_admin_sessions_user", "admin_sessions", ["user_id"])
    op.create_index("idx_admin_sessions_last_seen", "admin_sessions", ["last_seen_at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(150), nullable=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("idx_audit_log_occurred_at", "audit_log", ["occurred_at"])

    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("device", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_failures"),
    )
    op.create_index(
        "idx_sign_in_failures_user", "sign_in_failures", ["address", "username", "occurred_at"]
    )
    op.create_index("idx_sign_in_failures_address", "sign_in_failures", ["address", "occurred_at"])
    op.create_index("idx_sign_in_failures_device", "sign_in_failures", ["device", "occurred_at"])
    op.create_index("idx_sign_in_failures_time", "sign_in_failures", ["occurred_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.drop_table("sign_in_failures")
    op.drop_table("audit_log")
    op.drop_index("idx_admin_sessions_last_seen", table_name="admin_sessions")
    op.drop_index("idx_admin_sessions_user", table_name="admin_sessions")
    op.drop_table("admin_sessions")

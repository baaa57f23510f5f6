"""Collection claims per source: a slot is claimed, finished and accounted for per source
instance, so several sources collected in one slot are each collected exactly once and each
slot a source missed gets its own reason.

``metric_collection_claims`` gains ``source`` (default ``'default'``,
``db.metrics.DEFAULT_SOURCE``); its unique key becomes ``(granularity, source, slot)`` under
its old name. Existing claims are the default source's. The downgrade deletes the other
sources' claims before it restores the old key.

Revision ID: 20261206_source_claims
Revises: 20261205_catalogue_series
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_source_claims"
down_revision: str | None = "20261205_catalogue_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "metric_collection_claims"
NEW_KEY = ["granularity", "source", "slot"]
OLD_KEY = ["granularity", "slot"]


def upgrade() -> None:
    column = sa.Column("source", sa.String(50), nullable=False, server_default=sa.text("'default'"))
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(TABLE, recreate="always") as batch:
            batch.add_column(column)
            batch.drop_constraint("unique_collection_claim", type_="unique")
            batch.create_unique_constraint("unique_collection_claim", NEW_KEY)
    else:
        op.add_column(TABLE, column)
        op.drop_constraint("unique_collection_claim", TABLE, type_="unique")
        op.create_unique_constraint("unique_collection_claim", TABLE, NEW_KEY)


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE source <> 'default'")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(TABLE, recreate="always") as batch:
            batch.drop_constraint("unique_collection_claim", type_="unique")
            batch.create_unique_constraint("unique_collection_claim", OLD_KEY)
            batch.drop_column("source")
    else:
        op.drop_constraint("unique_collection_claim", TABLE, type_="unique")
        op.create_unique_constraint("unique_collection_claim", TABLE, OLD_KEY)
        op.drop_column(TABLE, "source")

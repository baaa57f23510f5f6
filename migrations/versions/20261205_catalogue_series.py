"""Series of the metric catalogue: every snapshot carries its source instance and label.

``metric_snapshots`` gains ``source`` (default ``'default'``, ``db.metrics.DEFAULT_SOURCE``)
and ``label`` (default ``''``: the unlabelled series); the unique key becomes
``(metric_type, source, label, granularity, collected_at)`` under its old name, so its index
serves a range query of one series. ``idx_metric_type_time`` stays as it was. Failure rows
gain ``source`` (a failure belongs to a metric of a source, not to a label).

Existing rows are the six metrics of the one source: they get the defaults and answer as
before. The downgrade deletes the rows the old key cannot hold (other sources, labelled
series) before it restores the old key.

Revision ID: 20261205_catalogue_series
Revises: 20261205_events
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_catalogue_series"
down_revision: str | None = "20261205_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KEY = ["metric_type", "source", "label", "granularity", "collected_at"]
OLD_KEY = ["metric_type", "granularity", "collected_at"]


def _recreate_indexes() -> None:
    """SQLite's table copy (batch mode) cannot carry the DESC and partial indexes over:
    they are created again exactly as the first revision made them."""
    for name in ("idx_metric_type_time", "idx_cleanup_hourly", "idx_cleanup_daily"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
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
            sqlite_where=sa.text(f"granularity = '{granularity}'"),
        )


def upgrade() -> None:
    columns = (
        sa.Column("source", sa.String(50), nullable=False, server_default=sa.text("'default'")),
        sa.Column("label", sa.String(200), nullable=False, server_default=sa.text("''")),
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("metric_snapshots", recreate="always") as batch:
            for column in columns:
                batch.add_column(column)
            batch.drop_constraint("unique_metric_snapshot", type_="unique")
            batch.create_unique_constraint("unique_metric_snapshot", NEW_KEY)
        _recreate_indexes()
    else:
        for column in columns:
            op.add_column("metric_snapshots", column)
        op.drop_constraint("unique_metric_snapshot", "metric_snapshots", type_="unique")
        op.create_unique_constraint("unique_metric_snapshot", "metric_snapshots", NEW_KEY)
    op.add_column(
        "metric_collection_failures",
        sa.Column("source", sa.String(50), nullable=False, server_default=sa.text("'default'")),
    )


def downgrade() -> None:
    op.drop_column("metric_collection_failures", "source")
    op.execute("DELETE FROM metric_snapshots WHERE source <> 'default' OR label <> ''")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("metric_snapshots", recreate="always") as batch:
            batch.drop_constraint("unique_metric_snapshot", type_="unique")
            batch.create_unique_constraint("unique_metric_snapshot", OLD_KEY)
            batch.drop_column("label")
            batch.drop_column("source")
        _recreate_indexes()
    else:
        op.drop_constraint("unique_metric_snapshot", "metric_snapshots", type_="unique")
        op.create_unique_constraint("unique_metric_snapshot", "metric_snapshots", OLD_KEY)
        op.drop_column("metric_snapshots", "label")
        op.drop_column("metric_snapshots", "source")

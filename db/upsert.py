"""The idempotent insert both backends share: rows whose unique key exists are left alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Base


def insert_new(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    unique_columns: Sequence[str],
) -> list[int]:
    """``INSERT … ON CONFLICT (unique_columns) DO NOTHING``; the ids of the rows inserted.

    The row count (via RETURNING) is how a caller learns whether it won a race: two
    processes inserting the same key both succeed, and exactly one gets the id back.
    """
    if not rows:
        return []
    stmt: postgresql.Insert | sqlite.Insert
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(model).on_conflict_do_nothing(index_elements=unique_columns)
    else:
        stmt = sqlite.insert(model).on_conflict_do_nothing(index_elements=unique_columns)
    # Batched into one multi-row INSERT by SQLAlchemy ("insertmanyvalues"), compiled once
    # and cached; RETURNING counts the rows really inserted on both backends.
    table: Any = model.__table__
    result = session.connection().execute(stmt.returning(table.c.id), list(rows))
    return [int(row[0]) for row in result]

"""The export file store: generated CSV/PDF files kept until they expire (any replica serves)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from db.models import ExportFile


def save_export(
    session: Session,
    *,
    content: bytes,
    fmt: str,
    filename: str,
    downsampled: bool,
    ttl_seconds: int,
    user_id: int | None = None,
    now: datetime | None = None,
) -> ExportFile:
    now = now or datetime.now(UTC)
    row = ExportFile(
        id=str(uuid.uuid4()),
        user_id=user_id,
        format=fmt,
        filename=filename,
        content=content,
        size_bytes=len(content),
        downsampled=downsampled,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.flush()
    return row


def get_export(
    session: Session,
    export_id: str,
    now: datetime | None = None,
    *,
    owner_id: int | None = None,
) -> ExportFile | None:
    """The export if it exists, has not expired and (with ``owner_id``) belongs to that
    account: another admin's file is "not found", never shown."""
    try:
        uuid.UUID(export_id)
    except ValueError:
        return None
    row = session.get(ExportFile, export_id)
    if row is None or row.expires_at <= (now or datetime.now(UTC)):
        return None
    if owner_id is not None and row.user_id != owner_id:
        return None
    return row


def delete_expired_exports(session: Session, now: datetime | None = None) -> int:
    """Remove expired files; returns how many were deleted."""
    result = session.execute(
        delete(ExportFile).where(ExportFile.expires_at <= (now or datetime.now(UTC)))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

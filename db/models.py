"""SQLAlchemy 2 typed models. The schema itself is created only by Alembic migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshots"
    __table_args__ = (
        UniqueConstraint(
            "metric_type", "granularity", "collected_at", name="unique_metric_snapshot"
        ),
        CheckConstraint("granularity IN ('hourly', 'daily')", name="granularity"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        Index("idx_metric_type_time", "metric_type", "granularity", text("collected_at DESC")),
        Index(
            "idx_cleanup_hourly",
            "collected_at",
            postgresql_where=text("granularity = 'hourly'"),
            sqlite_where=text("granularity = 'hourly'"),
        ),
        Index(
            "idx_cleanup_daily",
            "collected_at",
            postgresql_where=text("granularity = 'daily'"),
            sqlite_where=text("granularity = 'daily'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_type: Mapped[str] = mapped_column(String(50), nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retry_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class MetricCollectionFailure(Base):
    __tablename__ = "metric_collection_failures"
    __table_args__ = (
        Index("idx_failures_created_at", text("created_at DESC")),
        Index("idx_failures_slot", "granularity", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_type: Mapped[str] = mapped_column(String(50), nullable=False)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    retry_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


CLAIM_OUTCOMES = ("stored", "failed", "missed", "stopped")


class CollectionClaim(Base):
    """A slot a leader took on (``outcome`` None while it collects) or accounted for.

    ``stored``: the six rows were written; ``failed``: failure rows after the last attempt;
    ``missed``: nobody collected the slot inside its grace window; ``stopped``: a collector
    claimed it and never finished (killed, lost its store). See ``db.claims``.
    """

    __tablename__ = "metric_collection_claims"
    __table_args__ = (
        UniqueConstraint("granularity", "slot", name="unique_collection_claim"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('stored', 'failed', 'missed', 'stopped')",
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    granularity: Mapped[str] = mapped_column(String(10), nullable=False)
    slot: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExportFile(Base):
    """A generated CSV/PDF kept in the store so any replica can serve it until it expires."""

    __tablename__ = "metric_exports"
    __table_args__ = (Index("idx_exports_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL"), nullable=True
    )
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    downsampled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AdminSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the random token in the cookie."""

    __tablename__ = "admin_sessions"
    __table_args__ = (
        Index("idx_admin_sessions_user", "user_id"),
        Index("idx_admin_sessions_last_seen", "last_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # "password" or "proxy"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)


class AuditEvent(Base):
    """One security-relevant event (append-only: a trigger refuses UPDATE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("idx_audit_log_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(150), nullable=True)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)  # a JSON object


class SignInFailure(Base):
    """A failed (or still running) sign-in attempt, counted in sliding windows."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("idx_sign_in_failures_user", "address", "username", "occurred_at"),
        Index("idx_sign_in_failures_address", "address", "occurred_at"),
        Index("idx_sign_in_failures_device", "device", "occurred_at"),
        Index("idx_sign_in_failures_time", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(150), nullable=False)  # normalised
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)

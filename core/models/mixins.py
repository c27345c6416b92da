"""Columns every CRM record shares: who and when, soft delete, custom fields, version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from core.db import UTCDateTime, utcnow

# JSONB on PostgreSQL (indexable, comparable), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def owner_column() -> Mapped[int | None]:
    """The staff member responsible for a record."""
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)


class Tracked:
    """Created/updated by whom and when; soft delete; a version for optimistic locking."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}

    # Values of administrator-defined fields, keyed by the field's key.
    custom: Mapped[dict] = mapped_column(JSONType, default=dict)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

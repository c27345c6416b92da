"""Administrator-defined fields: definitions are rows, values live in ``record.custom``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType


class FieldDefinition(Base):
    """One custom field of one record type; ``archived_at`` set means deleted."""

    __tablename__ = "field_definitions"
    __table_args__ = (UniqueConstraint("record_type", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    label_pl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    help_pl: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    required: Mapped[bool] = mapped_column(default=False)
    default: Mapped[object | None] = mapped_column(JSONType, nullable=True)
    read_only: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    # Type settings: choices, relation target, currency, decimal places, min/max...
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Role keys that may see / edit; empty means everyone who may see the record.
    view_roles: Mapped[list] = mapped_column(JSONType, default=list)
    edit_roles: Mapped[list] = mapped_column(JSONType, default=list)
    indexed: Mapped[bool] = mapped_column(default=False)
    # The plugin that shipped the definition, '' for an administrator's own field.
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArchivedFieldValue(Base):
    """A value taken off a record when its field was deleted, so a restore can put it back."""

    __tablename__ = "archived_field_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(
        ForeignKey("field_definitions.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(Integer)
    value: Mapped[object] = mapped_column(JSONType)

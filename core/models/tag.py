"""Tags on any record."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Tagging(Base):
    __tablename__ = "taggings"
    __table_args__ = (Index("ix_taggings_record", "record_type", "record_id"),)

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"),
                                        primary_key=True)
    record_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)

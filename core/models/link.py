"""Generic links between any two records, with a type ("contractor of", "related")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class RecordLink(Base):
    __tablename__ = "record_links"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", "target_type", "target_id", "link_type",
                         name="uq_record_links_pair"),
        Index("ix_record_links_target", "target_type", "target_id"),
        Index("ix_record_links_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_type: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[int]
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[int]
    link_type: Mapped[str] = mapped_column(String(50), default="related")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

"""What an import needs to remember: the last column mapping used for each source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType


class ImportMapping(Base):
    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("source", "record_type",
                                       name="uq_import_mappings_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))  # e.g. the file's header signature
    record_type: Mapped[str] = mapped_column(String(50))
    mapping: Mapped[dict] = mapped_column(JSONType)  # column header -> field key
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

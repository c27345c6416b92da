"""Data-quality rules per record type: required fields and when a record goes stale."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.mixins import JSONType


class QualityRule(Base):
    __tablename__ = "quality_rules"

    record_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    required: Mapped[list] = mapped_column(JSONType, default=list)  # field keys
    stale_days: Mapped[int | None]  # no activity for this many days: stale

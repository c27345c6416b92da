"""An installation's own wording for a term, replacing the core's or a plugin's default."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType


class TermOverride(Base):
    __tablename__ = "term_overrides"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    locale: Mapped[str] = mapped_column(String(5), primary_key=True)
    singular: Mapped[dict] = mapped_column(JSONType, default=dict)  # case -> text
    plural: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Polish grammatical gender for adjectives: m (masculine), f, n; '' when unknown.
    gender: Mapped[str] = mapped_column(String(2), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

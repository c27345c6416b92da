"""The append-only audit trail: who changed what, when and through which door."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_record", "record_type", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # ui, api, import, job, plugin, cli, system
    door: Mapped[str] = mapped_column(String(20), default="system")
    # create, update, delete, restore, merge, login, login_failed, export, config...
    action: Mapped[str] = mapped_column(String(40), index=True)
    record_type: Mapped[str] = mapped_column(String(64), default="")
    record_id: Mapped[int | None] = mapped_column(Integer)
    # field -> [old, new] for changes; free details for other actions
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)
    summary: Mapped[str] = mapped_column(String(300), default="")

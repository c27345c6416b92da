"""The contact history: notes, calls, meetings, e-mails and system events.

One activity can be linked to several records at once (an e-mail to a person, their
organisation and a case); each link repeats the time of the activity so that a
record's timeline is one index range scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

KINDS = ("note", "call", "meeting", "email_in", "email_out", "system")


class Activity(Base):
    __tablename__ = "activities"
    record_type: ClassVar[str] = "activity"
    scoped: ClassVar[bool] = False  # seen on the timelines of the records it is linked to

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    # For system events: what happened ("phase_changed", "merged", ...).
    event: Mapped[str] = mapped_column(String(50), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)

    links: Mapped[list[ActivityLink]] = relationship(
        back_populates="activity", cascade="all, delete-orphan")


class ActivityLink(Base):
    __tablename__ = "activity_links"
    __table_args__ = (
        Index("ix_activity_links_timeline", "record_type", "record_id", "occurred_at",
              "activity_id"),
    )

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship(back_populates="links")

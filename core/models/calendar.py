"""Calendar events with attendees (staff and people) and linked records."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, exists, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.models.mixins import Tracked


class CalendarEvent(Tracked, Base):
    __tablename__ = "calendar_events"
    __table_args__ = (Index("ix_calendar_events_span", "starts_at", "ends_at"),)
    record_type: ClassVar[str] = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(100), unique=True)  # stable iCalendar UID
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(default=False)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"),
                                                index=True)

    attendees: Mapped[list[EventAttendee]] = relationship(cascade="all, delete-orphan")
    links: Mapped[list[EventLink]] = relationship(cascade="all, delete-orphan")

    @classmethod
    def owned_by(cls, users: list[int], teams: list[int]) -> ColumnElement:
        """An event is its author's, its team's and every invited staff member's."""
        invited = exists().where(EventAttendee.event_id == cls.id,
                                 EventAttendee.user_id.in_(users))
        return or_(cls.created_by_id.in_(users), cls.team_id.in_(teams), invited)


class EventAttendee(Base):
    __tablename__ = "event_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("calendar_events.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                                  index=True)
    status: Mapped[str] = mapped_column(String(20), default="invited")


class EventLink(Base):
    __tablename__ = "event_links"
    __table_args__ = (Index("ix_event_links_record", "record_type", "record_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("calendar_events.id", ondelete="CASCADE"),
                                          primary_key=True)
    record_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)

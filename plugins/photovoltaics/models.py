"""The photovoltaics plugin's tables: the installation crews, own and subcontracted,
with their members and skills; the crews' assignments to the parts of installations
(a part is a core case of ``photovoltaics.roof`` or ``photovoltaics.electrical``) and
what the installers reported when they finished; and the sales queues (PV-6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.models.mixins import JSONType, Tracked


class Crew(Tracked, Base):
    """An installation crew: the firm's own (``subcontractor_id`` None) or a
    subcontractor's. Its calendar is a feed at a secret URL (``feed_token``), which is
    also how installers without an account report a part of an installation done."""

    __tablename__ = "photovoltaics_crews"
    record_type: ClassVar[str] = "photovoltaics_crew"
    scoped: ClassVar[bool] = False  # the firm's resources, kept with photovoltaics.plan_crews

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subcontractor_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    # The town the crew sets out from, for the distance to the installations.
    base_town: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)

    members: Mapped[list[CrewMember]] = relationship(
        cascade="all, delete-orphan", order_by="CrewMember.id", back_populates="crew")


class CrewMember(Base):
    """An installer in a crew: a staff member with an account, or a subcontractor's
    installer known by name and phone only. ``skills`` are keys of ``crews.SKILLS``."""

    __tablename__ = "photovoltaics_crew_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    crew_id: Mapped[int] = mapped_column(
        ForeignKey("photovoltaics_crews.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), default="")
    skills: Mapped[list] = mapped_column(JSONType, default=list)
    leader: Mapped[bool] = mapped_column(Boolean, default=False)

    crew: Mapped[Crew] = relationship(back_populates="members")


class Assignment(Tracked, Base):
    """A crew's job: one part of an installation, on the days from ``starts_on`` to
    ``ends_on``, and, once done, who reported it and what they wrote. The photos they
    sent are the part's attachments. The days are also an all-day event in the
    calendars of the crew's members who have accounts (``event_id``)."""

    __tablename__ = "photovoltaics_assignments"
    __table_args__ = (Index("ix_photovoltaics_assignments_crew", "crew_id", "starts_on"),)
    record_type: ClassVar[str] = "photovoltaics_assignment"
    scoped: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         unique=True)
    crew_id: Mapped[int] = mapped_column(
        ForeignKey("photovoltaics_crews.id", ondelete="RESTRICT"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by: Mapped[str] = mapped_column(String(200), default="")
    report: Mapped[str] = mapped_column(Text, default="")

    crew: Mapped[Crew] = relationship()


# --- Sales queues (PV-6) -------------------------------------------------------------------

# What the sales queues hold: calls for phone reps and meetings for field reps.
QUEUE_KINDS = ("call", "meeting")
# An entry waits in the queue, is planned into a rep's day, and is done once its outcome
# is recorded; "cancelled": withdrawn by a manager, or its lead left the lead phase.
ENTRY_STATUSES = ("queued", "planned", "done", "cancelled")
OPEN_STATUSES = ("queued", "planned")


class Rep(Tracked, Base):
    """A sales rep of the queues (PV-6): a staff account that makes calls, goes to
    meetings, or both, on ``weekdays`` (0 is Monday) from ``day_starts`` to ``day_ends``
    (minutes after midnight in the installation's time zone). Meetings are only in
    towns within ``travel_km`` of ``base_town``, where the rep's day starts and ends."""

    __tablename__ = "photovoltaics_reps"
    record_type: ClassVar[str] = "photovoltaics_rep"
    scoped: ClassVar[bool] = False  # the sales team's set-up, kept with manage_queues

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    calls: Mapped[bool] = mapped_column(Boolean, default=True)
    meetings: Mapped[bool] = mapped_column(Boolean, default=False)
    weekdays: Mapped[list] = mapped_column(JSONType, default=list)
    day_starts: Mapped[int] = mapped_column(default=8 * 60)
    day_ends: Mapped[int] = mapped_column(default=16 * 60)
    base_town: Mapped[str] = mapped_column(String(100), default="")
    travel_km: Mapped[int] = mapped_column(default=50)
    call_minutes: Mapped[int] = mapped_column(default=15)
    meeting_minutes: Mapped[int] = mapped_column(default=90)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class QueueRule(Tracked, Base):
    """Where a new lead goes: the first active rule, by ``position``, whose conditions
    all hold (an empty condition holds for any lead) routes it to the call or meeting
    queue, to any rep or to ``rep_id`` alone, ``weight`` added to its priority."""

    __tablename__ = "photovoltaics_queue_rules"
    record_type: ClassVar[str] = "photovoltaics_queue_rule"
    scoped: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    queue: Mapped[str] = mapped_column(String(10), default="call")
    rep_id: Mapped[int | None] = mapped_column(
        ForeignKey("photovoltaics_reps.id", ondelete="SET NULL"), index=True)
    weight: Mapped[int] = mapped_column(default=0)
    # The conditions: values of the case's fields photovoltaics_source and _priority.
    sources: Mapped[list] = mapped_column(JSONType, default=list)
    priorities: Mapped[list] = mapped_column(JSONType, default=list)
    # The client's region as its address says, and its town within km of a town.
    region: Mapped[str] = mapped_column(String(100), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    within_km: Mapped[int | None] = mapped_column()
    # The lead's age in whole days since it was entered.
    min_age_days: Mapped[int | None] = mapped_column()
    max_age_days: Mapped[int | None] = mapped_column()


class QueueEntry(Tracked, Base):
    """A call to make or a meeting to hold about a lead (an installation's case in the
    lead phase). Planned, it has a rep and a time (UTC); a planned meeting also has its
    calendar event. Each outcome closes the entry; what comes next (trying again, the
    meeting agreed) is a new entry, so the queue keeps every attempt."""

    __tablename__ = "photovoltaics_queue_entries"
    __table_args__ = (Index("ix_photovoltaics_queue_entries_status", "status", "starts_at"),
                      Index("ix_photovoltaics_queue_entries_rep", "rep_id", "starts_at"))
    record_type: ClassVar[str] = "photovoltaics_queue_entry"
    scoped: ClassVar[bool] = False  # reps work their own, managers all: permissions decide

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    priority: Mapped[int] = mapped_column(default=0)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("photovoltaics_queue_rules.id", ondelete="SET NULL"))
    # Only this rep may take it (the rule's, or the rep a customer asked to call back).
    for_rep_id: Mapped[int | None] = mapped_column(
        ForeignKey("photovoltaics_reps.id", ondelete="SET NULL"))
    rep_id: Mapped[int | None] = mapped_column(
        ForeignKey("photovoltaics_reps.id", ondelete="SET NULL"))
    attempt: Mapped[int] = mapped_column(default=1)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    travel_minutes: Mapped[int | None] = mapped_column()  # to a meeting, from the last place
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

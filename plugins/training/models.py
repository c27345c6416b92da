"""The training plugin's tables: the venue registry, the enrolments of people in
trainings (a training is a core case of the process ``training.training``), the
member units a closed training is open to, and the publications of the portal."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType, Tracked

# What became of an enrolment. "waiting": enrolled when the training was full, moved up
# to "enrolled" in the order they came when a place frees up.
STATUSES = ("invited", "enrolled", "waiting", "cancelled", "attended", "absent")
TAKING_A_PLACE = ("enrolled", "attended", "absent")
# Who put the person down: the staff, the unit's portal administrator, the participant
# on the portal, an import, a program through the API.
CHANNELS = ("staff", "portal", "self", "import", "api")


class Venue(Tracked, Base):
    """A fixed place trainings are held at, chosen from the registry when planning."""

    __tablename__ = "training_venues"
    record_type: ClassVar[str] = "training_venue"
    scoped: ClassVar[bool] = False  # reference data, kept by those with training.manage

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)  # seats; None: not known
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Enrolment(Tracked, Base):
    """A person on a training's list: invited, enrolled, waiting, cancelled, and after
    the day attended or absent. One row per person and training, its status moving."""

    __tablename__ = "training_enrolments"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),
                      Index("ix_training_enrolments_waiting", "case_id", "status",
                            "requested_at"))
    record_type: ClassVar[str] = "training_enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           index=True)
    # The member unit that sent them (their employer at the time); None: on their own.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="enrolled")
    channel: Mapped[str] = mapped_column(String(20), default="staff")
    # When they asked for a place: the waiting list's order.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    # The certificate of attendance made for them (TR-6), kept on the person's card.
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))

    @classmethod
    def portal_scope(cls, organisation_id: int):
        """A portal account sees the enrolments its unit made or whose person is its."""
        from core.models import Membership

        return (cls.organisation_id == organisation_id) | exists().where(
            Membership.person_id == cls.person_id,
            Membership.organisation_id == organisation_id)

    @classmethod
    def portal_may(cls, session, grants, record, action: str, changes: dict) -> bool:
        """A unit's portal administrator enrols and cancels its own people; a participant
        enrols and cancels only themselves. The checks of ``enrolments`` decide the rest."""
        from plugins.training import enrolments

        return enrolments.portal_may(session, grants, record, action, changes)


class Publication(Tracked, Base):
    """An announcement or a publication for the member units' portal (TR-3): an expert
    opinion, grant news, legal advice. Seen by every unit, or only by those of
    ``unit_ids``; on the portal from ``published_at`` (None: a draft)."""

    __tablename__ = "training_publications"
    record_type: ClassVar[str] = "training_publication"
    scoped: ClassVar[bool] = False  # the association's own, kept with training.manage

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="announcement")
    body: Mapped[str] = mapped_column(Text, default="")
    unit_ids: Mapped[list] = mapped_column(JSONType, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def published(self) -> bool:
        return self.published_at is not None


class OpenTo(Base):
    """A member unit a closed training is open to (TR-4)."""

    __tablename__ = "training_open_to"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True)


def open_to(case_id: int):
    """The units a closed training is open to, as a subquery of ids."""
    return select(OpenTo.organisation_id).where(OpenTo.case_id == case_id)

"""Cases (orders, projects, matters) moving through the phases of a process.

A case belongs to a process that a plugin defines (``core.workflow``); its phase
history, the approvals asked for it and the administrator's settings of each process
are kept here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType, Tracked, owner_column

# Amounts up to a hundred billion, to the grosz; never a float.
Amount = Numeric(14, 2, asdecimal=True)


class Case(Tracked, Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_process_phase", "process_key", "phase_key"),)
    record_type: ClassVar[str] = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    process_key: Mapped[str] = mapped_column(String(64))
    phase_key: Mapped[str] = mapped_column(String(64))
    phase_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner was reminded of the phase's deadline, and when, past it, their
    # supervisor was told: each once per phase.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = owner_column()
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                                  index=True)
    # The value of the case and what it costs; the margin is derived from both.
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    cost: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    description: Mapped[str] = mapped_column(Text, default="")

    people: Mapped[list[CasePerson]] = relationship(cascade="all, delete-orphan",
                                                    order_by="CasePerson.person_id")

    @property
    def margin(self) -> Decimal | None:
        """The share of the amount left after the cost, as a fraction (0.25 is 25%)."""
        if not self.amount or self.cost is None:
            return None
        return (self.amount - self.cost) / self.amount


class CasePerson(Base):
    """A person involved in a case, in a role (client, participant, expert...)."""

    __tablename__ = "case_people"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(100), default="")


class PhaseChange(Base):
    """One step of a case: from which phase to which, who took it, when and why."""

    __tablename__ = "phase_changes"
    __table_args__ = (Index("ix_phase_changes_case", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_phase: Mapped[str | None] = mapped_column(String(64))
    to_phase: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")


APPROVAL_STATES = ("pending", "approved", "returned", "superseded")


class ApprovalRequest(Base):
    """One level of an approval asked for a case's step, bound to the values it covers.

    ``fingerprint`` is a digest of those values when the request was made (or corrected
    and approved); a later change of them makes the approval worthless.
    """

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_case", "case_id", "transition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    transition: Mapped[str] = mapped_column(String(140))  # "<from>-><to>"
    level: Mapped[int] = mapped_column(default=0)  # position in the rule's chain
    step_key: Mapped[str] = mapped_column(String(64))
    # Who may decide: one person, or every holder of a role.
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                    index=True)
    approver_role: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")  # why this level is needed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")  # the approver's, or the return's

    case: Mapped[Case] = relationship()


class ProcessSetting(Base):
    """An administrator's value for a process setting (a limit, a deadline, a check
    switched off); a setting without a row has the process's default."""

    __tablename__ = "process_settings"

    process_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

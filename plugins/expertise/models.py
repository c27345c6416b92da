"""The expertise plugin's tables.

Specialisations name what opinions are about (construction, vehicles, valuation of real
estate...). A department covers some of them and has a manager, who approves its
offers (EX-2, EX-4). An expert is a person of the card index, the firm's own or from
outside, with specialisations, an hourly rate, absences and the parties they must not
work for (EX-3). An inquiry (a core case of ``expertise.inquiry``) has its
specialisation, department, court reference and deadline, the other parties of the
matter, and the experts estimated for it with their hours.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import Boolean, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.mixins import Tracked

Amount = Numeric(14, 2, asdecimal=True)
Hours = Numeric(8, 2, asdecimal=True)


class Specialisation(Base):
    """What an opinion is about; departments and experts cover some."""

    __tablename__ = "expertise_specialisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class Department(Tracked, Base):
    """A department (wydział): its specialisations and the manager approving its offers."""

    __tablename__ = "expertise_departments"
    record_type: ClassVar[str] = "expertise_department"
    scoped: ClassVar[bool] = False  # every staff member routes to and reads departments

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")


class DepartmentSpecialisation(Base):
    __tablename__ = "expertise_department_specialisations"

    department_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_departments.id", ondelete="CASCADE"), primary_key=True)
    specialisation_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_specialisations.id", ondelete="CASCADE"), primary_key=True,
        index=True)


class Expert(Tracked, Base):
    """A person who prepares opinions: the firm's own (in a department) or external."""

    __tablename__ = "expertise_experts"
    record_type: ClassVar[str] = "expertise_expert"
    scoped: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"),
                                           unique=True)
    internal: Mapped[bool] = mapped_column(Boolean, default=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("expertise_departments.id", ondelete="SET NULL"), index=True)
    hourly_rate: Mapped[Decimal] = mapped_column(Amount)  # net PLN, what an hour costs us
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")


class ExpertSpecialisation(Base):
    __tablename__ = "expertise_expert_specialisations"

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_experts.id", ondelete="CASCADE"), primary_key=True)
    specialisation_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_specialisations.id", ondelete="CASCADE"), primary_key=True,
        index=True)


class Absence(Base):
    """Days an expert cannot work (leave, another court's hearing), both ends included."""

    __tablename__ = "expertise_absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_experts.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300), default="")


class Conflict(Base):
    """A party an expert must not work for or against: an organisation or a person."""

    __tablename__ = "expertise_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_experts.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")


class Inquiry(Base):
    """What the firm knows of an inquiry beyond the case: where it is routed, for which
    court, by when, and what besides the experts' hours it costs."""

    __tablename__ = "expertise_inquiries"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    specialisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("expertise_specialisations.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("expertise_departments.id", ondelete="SET NULL"), index=True)
    court_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    court_reference: Mapped[str] = mapped_column(String(100), default="")  # I C 123/26
    due_on: Mapped[date | None] = mapped_column(index=True)  # the opinion's deadline
    travel_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    materials_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))


class Party(Base):
    """Another party of the matter (the opponent, an insurer): experts in conflict with
    any party, or with the client, are not offered."""

    __tablename__ = "expertise_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(100), default="")  # pozwany, ubezpieczyciel


class Assignment(Base):
    """An expert estimated for an inquiry: their hours, at the rate of the estimate."""

    __tablename__ = "expertise_assignments"
    __table_args__ = (UniqueConstraint("case_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expertise_experts.id", ondelete="RESTRICT"), index=True)
    hours: Mapped[Decimal] = mapped_column(Hours)
    rate: Mapped[Decimal] = mapped_column(Amount)

"""The grants plugin's tables.

An opportunity (a core case of ``grants.opportunity``) carries the payment schedule
offered to the client; winning it makes a core contract of that schedule (GR-1, GR-2).
A grant application (a core case of ``grants.application``) answers a call for
proposals, has the call's checklist of attachments, and, once its grant agreement is
signed, the payment requests and, after the project, the durability reports with their
indicators (GR-3, GR-4).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime
from core.models.mixins import JSONType, Tracked

Amount = Numeric(14, 2, asdecimal=True)
Quantity = Numeric(14, 4, asdecimal=True)  # an indicator's value: people, kWh, jobs...

PAYMENT_KINDS = ("advance", "interim", "final")
# A payment request is planned, submitted to the grantor, approved (perhaps for less)
# and paid; a rejected one is corrected and submitted again; one no longer to be made
# is cancelled.
PAYMENT_STATUSES = ("planned", "submitted", "approved", "paid", "rejected", "cancelled")
REPORT_STATUSES = ("due", "delivered")


class GrantCall(Tracked, Base):
    """A call for proposals (nabór): who grants, until when, what an application needs."""

    __tablename__ = "grants_calls"
    record_type: ClassVar[str] = "grants_call"
    scoped: ClassVar[bool] = False  # calls are public knowledge

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(100), default="")  # FENG.01.01-IP.02-001/26
    programme: Mapped[str] = mapped_column(String(300), default="")
    grantor_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    opens_on: Mapped[date | None] = mapped_column()
    deadline: Mapped[date] = mapped_column(index=True)
    budget: Mapped[Decimal | None] = mapped_column(Amount)
    max_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))  # %
    # The attachments every application to this call must have: a list of names.
    required_attachments: Mapped[list] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class Application(Base):
    """Which call a grant application answers."""

    __tablename__ = "grants_applications"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("grants_calls.id", ondelete="RESTRICT"),
                                         index=True)


class ChecklistItem(Base):
    """One attachment an application needs, ticked when it is ready (with the file)."""

    __tablename__ = "grants_checklist_items"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(300))
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"))
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class OfferInstalment(Base):
    """One payment of the schedule offered on an opportunity: due on a day, or when a
    milestone of the client's grant is reached. Winning copies them to the contract."""

    __tablename__ = "grants_offer_instalments"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Amount)
    due_on: Mapped[date | None] = mapped_column()
    milestone: Mapped[str] = mapped_column(String(200), default="")


class PaymentRequest(Tracked, Base):
    """A payment request (wniosek o płatność) to the grantor, generated from the grant
    agreement: an advance, interim ones, and the final one, each with its deadline."""

    __tablename__ = "grants_payment_requests"
    __table_args__ = (UniqueConstraint("case_id", "position"),)
    record_type: ClassVar[str] = "grants_payment_request"
    scoped: ClassVar[bool] = False  # who sees and changes it follows its application

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Amount)
    period_start: Mapped[date | None] = mapped_column()  # the expenses it settles
    period_end: Mapped[date | None] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)  # to be submitted by
    status: Mapped[str] = mapped_column(String(10), default="planned")
    submitted_on: Mapped[date | None] = mapped_column()
    approved_amount: Mapped[Decimal | None] = mapped_column(Amount)
    paid_on: Mapped[date | None] = mapped_column()
    notes: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    reminded_on: Mapped[date | None] = mapped_column()
    escalated_on: Mapped[date | None] = mapped_column()


class Indicator(Base):
    """A result the project promised to keep through its durability period."""

    __tablename__ = "grants_indicators"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(50), default="")
    baseline: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    target: Mapped[Decimal] = mapped_column(Quantity)


class DurabilityReport(Tracked, Base):
    """One periodic report of the durability period: the indicators' values for its
    period, due to the grantor by ``due_on``."""

    __tablename__ = "grants_durability_reports"
    __table_args__ = (UniqueConstraint("case_id", "position"),)
    record_type: ClassVar[str] = "grants_durability_report"
    scoped: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column()
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default="due")
    delivered_on: Mapped[date | None] = mapped_column()
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    reminded_on: Mapped[date | None] = mapped_column()
    escalated_on: Mapped[date | None] = mapped_column()


class IndicatorValue(Base):
    """An indicator's value as a durability report gives it."""

    __tablename__ = "grants_indicator_values"
    __table_args__ = (UniqueConstraint("report_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("grants_durability_reports.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("grants_indicators.id", ondelete="CASCADE"), index=True)
    value: Mapped[Decimal] = mapped_column(Quantity)

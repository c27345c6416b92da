"""Contracts that bill by themselves: a fee each period, or instalments on a schedule.

A recurring contract (``period_months`` set) bills its price for each billing period it
covers, prorated by days at its start, at its end and at each price change. A contract
may instead (or as well) carry instalments, due on a date or when a milestone is
reached (GR-2). A contract that ``collects`` "expected" is paid by direct debit or
standing order (FR-3): its periods become expected payments, not invoices.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.billing import ONE_PARTY, UnitPrice
from core.models.case import Amount

BILLED = ("advance", "arrears")  # a period is billed on its first day, or after its last
COLLECTS = ("invoice", "expected")
INVOICE_KINDS = ("invoice", "settlement")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (CheckConstraint(ONE_PARTY, name="one_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                index=True)
    title: Mapped[str] = mapped_column(String(300))  # "Umowa członkowska 12/2026"
    description: Mapped[str] = mapped_column(String(300))  # what the invoice line says
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()  # the last day covered
    termination_reason: Mapped[str] = mapped_column(Text, default="")
    # Recurring: the length of a billing period in months (1, 3, 12, any), periods
    # counted from January (or, for lengths that do not divide a year, from the start).
    period_months: Mapped[int | None] = mapped_column()
    billed: Mapped[str] = mapped_column(String(10), default="advance")
    unit: Mapped[str] = mapped_column(String(20), default="szt.")
    vat_rate: Mapped[str] = mapped_column(String(2), default="23")
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    price_basis: Mapped[str] = mapped_column(String(5), default="net")
    invoice_kind: Mapped[str] = mapped_column(String(20), default="invoice")
    payment_days: Mapped[int] = mapped_column(default=14)
    collects: Mapped[str] = mapped_column(String(10), default="invoice")
    collection_day: Mapped[int | None] = mapped_column()  # of the month, for "expected"
    # The end of the last period billed: the next run starts after it.
    billed_through: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    prices: Mapped[list[ContractPrice]] = relationship(
        cascade="all, delete-orphan", order_by="ContractPrice.valid_from")
    instalments: Mapped[list[Instalment]] = relationship(
        cascade="all, delete-orphan", order_by="Instalment.position")


class ContractPrice(Base):
    """The price of one period from a day on; a change mid-period is prorated."""

    __tablename__ = "contract_prices"
    __table_args__ = (UniqueConstraint("contract_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"),
                                             index=True)
    valid_from: Mapped[date] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)


class Instalment(Base):
    """One payment of a schedule: due on a date, or when its milestone is reached."""

    __tablename__ = "contract_instalments"
    __table_args__ = (UniqueConstraint("contract_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"),
                                             index=True)
    position: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(300))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    due_on: Mapped[date | None] = mapped_column()
    milestone: Mapped[str] = mapped_column(String(200), default="")
    reached_on: Mapped[date | None] = mapped_column()  # the milestone's day
    billed_on: Mapped[date | None] = mapped_column()

    @property
    def due(self) -> date | None:
        return self.due_on if not self.milestone else self.reached_on


class ExpectedPayment(Base):
    """A payment a direct debit or standing order should bring; matched when it comes,
    missed when it does not."""

    __tablename__ = "expected_payments"
    __table_args__ = (UniqueConstraint("contract_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"),
                                             index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    period_start: Mapped[date] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id",
                                                              ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id",
                                                          ondelete="SET NULL"))

"""The billing ledger: what is owed, the invoices that bill it, and the payments.

Amounts are Decimal to the grosz. An invoice's totals and its summary per VAT rate are
written whenever its lines change and frozen at issue, so an issued invoice reads the
same for good. What it comes to after corrections and deducted advances (``to_pay``)
and what has been paid of it (``paid``) move only with the corrections and payment
allocations that move them, in their transactions. Whether it is overdue is never
stored: it depends on the day (``core.invoices.is_overdue``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.case import Amount
from core.models.mixins import JSONType

# Quantities and unit prices may go below the grosz (0,5 h; 0,4567 zł per kWh); line
# values and everything after them are rounded to it (core.vat).
Quantity = Numeric(14, 4, asdecimal=True)
UnitPrice = Numeric(16, 4, asdecimal=True)
# NBP publishes average rates to four places; room for more.
ExchangeRate = Numeric(12, 6, asdecimal=True)
# Exactly one of organisation_id and person_id: who owes, who is billed, who paid.
ONE_PARTY = "(organisation_id IS NULL) <> (person_id IS NULL)"

KINDS = ("invoice", "advance", "final", "correction", "proforma", "settlement")
STATUSES = ("draft", "issued", "sent", "partly_paid", "paid", "cancelled")
SOURCES = ("manual", "bank", "import")


class BillableItem(Base):
    """Something owed, not yet or already invoiced: a plugin's strategy adds it, an
    invoice takes it (``invoice_line_id``)."""

    __tablename__ = "billable_items"
    __table_args__ = (CheckConstraint(ONE_PARTY, name="one_party"),
                      UniqueConstraint("source", "reference"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                index=True)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(20), default="szt.")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    price_basis: Mapped[str] = mapped_column(String(5), default="net")  # net | gross
    vat_rate: Mapped[str] = mapped_column(String(2))  # core.vat.RATES
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    earned_on: Mapped[date] = mapped_column()
    # Who added it ("training.settlement", "manual") and its own key for the thing
    # billed: adding the same pair again finds the item instead (a retried run).
    source: Mapped[str] = mapped_column(String(64), default="manual")
    reference: Mapped[str | None] = mapped_column(String(200))
    invoice_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    people: Mapped[list[BillableItemPerson]] = relationship(
        cascade="all, delete-orphan", order_by="BillableItemPerson.person_id")

    @property
    def invoiced(self) -> bool:
        return self.invoice_line_id is not None


class BillableItemPerson(Base):
    """A person behind an item: who attended, whose contract it is."""

    __tablename__ = "billable_item_people"

    item_id: Mapped[int] = mapped_column(ForeignKey("billable_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


class Invoice(Base):
    """An invoice or another settlement document (``KINDS``), a draft until issued."""

    __tablename__ = "invoices"
    __table_args__ = (CheckConstraint(ONE_PARTY, name="one_party"),
                      UniqueConstraint("series_key", "number"),
                      Index("ix_invoices_open", "status", "due_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    series_key: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(100))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                index=True)
    # The parties as they were when it was issued: name, nip, street, postal_code,
    # city, country; the seller's name and details lines from the settings.
    buyer: Mapped[dict] = mapped_column(JSONType, default=dict)
    seller: Mapped[dict] = mapped_column(JSONType, default=dict)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    exchange_rate: Mapped[Decimal | None] = mapped_column(ExchangeRate)  # PLN for 1 unit
    exchange_rate_date: Mapped[date | None] = mapped_column()
    price_basis: Mapped[str] = mapped_column(String(5), default="net")  # net | gross
    issue_date: Mapped[date | None] = mapped_column()
    sale_date: Mapped[date | None] = mapped_column()
    payment_days: Mapped[int] = mapped_column(default=14)
    due_date: Mapped[date | None] = mapped_column()
    # Totals and the summary per rate ([{rate, net, vat, gross, vat_pln?}]); on a
    # correcting invoice, the differences it makes.
    net: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    vat: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    gross: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    vat_summary: Mapped[list] = mapped_column(JSONType, default=list)
    to_pay: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    paid: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # A correcting invoice: the invoice it corrects, and why.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Made by a billing run (core.billing_runs), which may issue its drafts together.
    billing_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_runs.id", ondelete="SET NULL"), index=True)
    # An advance invoice: the final invoice that deducts it.
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position")

    @property
    def balance(self) -> Decimal:
        """What is still owed (negative: paid more than it comes to)."""
        return self.to_pay - self.paid


class InvoiceLine(Base):
    """One line of an invoice; on a correcting invoice, one line of the corrected
    invoice after the correction, with what it was before (``before``)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()  # 1, 2, 3... as printed
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(20), default="szt.")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)  # net or gross: the invoice says
    vat_rate: Mapped[str] = mapped_column(String(2))
    # The line on its own, for information (core.vat): the totals come from the rates.
    net: Mapped[Decimal] = mapped_column(Amount)
    vat: Mapped[Decimal] = mapped_column(Amount)
    gross: Mapped[Decimal] = mapped_column(Amount)
    # On a correcting invoice: description, quantity, unit, unit_price and vat_rate
    # before it; None for a line the correction adds.
    before: Mapped[dict | None] = mapped_column(JSONType)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    items: Mapped[list[BillableItem]] = relationship(order_by="BillableItem.id")


class Payment(Base):
    """Money received: by hand, from a bank statement or an import (``external_id``
    makes importing the same payment again find it instead)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    allocated: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    payer: Mapped[str] = mapped_column(String(300), default="")  # as the bank wrote it
    title: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(10), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", order_by="PaymentAllocation.id")

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated


class PaymentAllocation(Base):
    """Part of a payment counted towards one invoice."""

    __tablename__ = "payment_allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"),
                                            index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship()

"""A calculation of a case: what it will be made of, at what cost and for what price
(``core.calculations``). Each change is a new version; the old ones are kept, so that
what the customer was offered before stays on record."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models.billing import Quantity, UnitPrice
from core.models.case import Amount
from core.models.mixins import Tracked

STATUSES = ("draft", "sent", "accepted", "rejected", "superseded")
Percent = Numeric(7, 2, asdecimal=True)


class Calculation(Tracked, Base):
    __tablename__ = "calculations"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    number: Mapped[int] = mapped_column()  # the version: 1, 2, 3... within its case
    status: Mapped[str] = mapped_column(String(20), default="draft")
    markup: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))  # % on the cost
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was rejected
    cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # net, at list prices
    net: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    vat: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    gross: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))

    lines: Mapped[list[CalculationLine]] = relationship(
        back_populates="calculation", order_by="CalculationLine.position",
        cascade="all, delete-orphan")


class CalculationLine(Base):
    __tablename__ = "calculation_lines"
    __table_args__ = (UniqueConstraint("calculation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calculation_id: Mapped[int] = mapped_column(
        ForeignKey("calculations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    price_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("price_items.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(20), default="szt.")
    unit_cost: Mapped[Decimal] = mapped_column(UnitPrice)  # the list's net price then
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)  # net, to the customer
    vat_rate: Mapped[str] = mapped_column(String(2))
    net: Mapped[Decimal] = mapped_column(Amount)
    vat: Mapped[Decimal] = mapped_column(Amount)
    gross: Mapped[Decimal] = mapped_column(Amount)

    calculation: Mapped[Calculation] = relationship(back_populates="lines")

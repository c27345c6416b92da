"""An item of a price list: a product, a component or a service with its unit, net price
and VAT rate, which calculations take their prices from (``core.price_lists``). Each
list is registered by a plugin (a installer's components, a printing house's products)
and its items are kept by the staff."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.billing import UnitPrice
from core.models.mixins import JSONType, Tracked


class PriceItem(Tracked, Base):
    __tablename__ = "price_items"
    record_type: ClassVar[str] = "price_item"
    scoped: ClassVar[bool] = False  # reference data, kept by whoever keeps the list

    id: Mapped[int] = mapped_column(primary_key=True)
    list_key: Mapped[str] = mapped_column(String(64), index=True)  # its price list
    code: Mapped[str] = mapped_column(String(50), default="")  # the supplier's or own code
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="")  # one of the list's
    unit: Mapped[str] = mapped_column(String(20), default="szt.")
    net_price: Mapped[Decimal] = mapped_column(UnitPrice)
    vat_rate: Mapped[str] = mapped_column(String(2), default="23")
    # What a list says of its items beyond the price (a panel's power in W).
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # off: no longer offered

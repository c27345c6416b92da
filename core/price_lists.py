"""Price lists: the products, components and services a firm sells or builds from, with
their units, net prices and VAT rates, which calculations (``core.calculations``) take
their prices from.

A plugin registers each list (``kartoteka_register_price_lists``): a ``PriceList`` with
its key, its name, its categories (an installer's panels, inverters, mounting, cabling,
labour) and the permission of those who keep it. Its items are kept by the staff on
the list's page and through the API. An item in use is retired (``active`` off) rather
than deleted: calculations made with it keep their lines, and a retired item is no
longer offered for new ones. A change of price leaves the calculations made before as
they were: each line keeps the price of its day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as Invalid
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import invoices, permissions, records
from core.errors import Forbidden, ValidationError
from core.fieldtypes import Number
from core.models import PriceItem
from core.validation import load_collecting, max_length

MAX_PRICE = invoices.MAX_PRICE


@dataclass(frozen=True)
class PriceList:
    """A list a plugin registers: ``key`` ("photovoltaics.components"), ``title`` and
    ``categories`` ({"panel": {"pl": "Panele", "en": "Panels"}, ...}) in each language,
    and the ``permission`` of those who keep its items (who may read it: anyone who
    may read the cases priced from it)."""

    key: str
    title: dict[str, str]
    categories: dict[str, dict[str, str]] = field(default_factory=dict)
    permission: str = "core.manage_price_lists"

    def label(self, locale: str) -> str:
        return self.title.get(locale) or self.title.get("en") or self.key

    def category_labels(self, locale: str) -> dict[str, str]:
        return {k: v.get(locale) or v.get("en") or k for k, v in self.categories.items()}


def _filled(value: str) -> None:
    if not value.strip():
        raise Invalid(_("Enter a name."))


class PriceItemSchema(Schema):
    """An item as the forms and the API take it."""

    class Meta:
        unknown = RAISE

    code = fields.String(load_default="", validate=max_length(50),
                         metadata={"description": "The supplier's or the firm's own code."})
    name = fields.String(required=True, validate=[max_length(200), _filled])
    category = fields.String(load_default="", validate=max_length(64),
                             metadata={"description": "One of the list's categories."})
    unit = fields.String(load_default="szt.", validate=[max_length(20), validate.Length(
        min=1, error=_l("Enter the unit, such as szt., m or h."))])
    net_price = Number(4, required=True, validate=validate.Range(
        min=0, max=MAX_PRICE, error=_l("Enter a price of 0 or more.")),
        error_messages={"required": _l("Enter the price."), "null": _l("Enter the price.")},
        metadata={"description": "Net, in PLN, per unit."})
    vat_rate = fields.String(load_default="23", validate=validate.OneOf(
        ("23", "8", "5", "0", "zw", "np"), error=_l("Choose a VAT rate.")))
    details = fields.Dict(keys=fields.String(validate=max_length(64)), load_default=dict,
                          metadata={"description": "What the list says of its items beyond "
                                                   "the price (a panel's power_w)."})
    notes = fields.String(load_default="", validate=max_length(5000))
    active = fields.Boolean(load_default=True, metadata={
        "description": "False: retired, no longer offered for new calculations."})


def get_list(host, key: str) -> PriceList | None:
    return host.price_lists.get(key)


def may_keep(actor, price_list: PriceList) -> bool:
    return permissions.can(actor, price_list.permission)


def require(actor, price_list: PriceList) -> None:
    if not may_keep(actor, price_list):
        raise Forbidden(_("You may not keep this price list."))


def items(session: Session, price_list: PriceList, with_retired: bool = False,
          category: str | None = None) -> list[PriceItem]:
    """The list's items by category and name; the retired ones too if asked."""
    query = select(PriceItem).where(PriceItem.list_key == price_list.key,
                                    PriceItem.deleted_at.is_(None))
    if not with_retired:
        query = query.where(PriceItem.active.is_(True))
    if category:
        query = query.where(PriceItem.category == category)
    return list(session.scalars(query.order_by(PriceItem.category, PriceItem.name,
                                               PriceItem.id)))


def get(session: Session, price_list: PriceList, item_id: int) -> PriceItem | None:
    found = session.get(PriceItem, item_id)
    if found is None or found.list_key != price_list.key or found.deleted_at is not None:
        return None
    return found


def create(session: Session, price_list: PriceList, data: dict, actor=None) -> PriceItem:
    require(actor, price_list)
    return records.create(session, PriceItem(list_key=price_list.key,
                                             **clean(price_list, data)), actor)


def update(session: Session, price_list: PriceList, item: PriceItem, data: dict, actor=None,
           expected_version: int | None = None) -> PriceItem:
    require(actor, price_list)
    return records.update(session, item, clean(price_list, data, partial=True), actor,
                          expected_version=expected_version)


def retire(session: Session, price_list: PriceList, item: PriceItem, actor=None,
           expected_version: int | None = None) -> PriceItem:
    """No longer offered for new calculations; those made with it keep it."""
    return update(session, price_list, item, {"active": False}, actor, expected_version)


def clean(price_list: PriceList, data: dict, partial: bool = False) -> dict:
    """Trimmed values, or every field's problem at once."""
    values, errors = load_collecting(PriceItemSchema(), data, partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if values.get("category") and values["category"] not in price_list.categories:
        errors["category"] = _("Choose one of the list's categories.")
    if "net_price" in values and values["net_price"] is None:  # typed blank
        errors["net_price"] = _("Enter the price.")
    if errors:
        raise ValidationError(errors)
    if "net_price" in values:
        values["net_price"] = Decimal(values["net_price"])
    return values

"""The billing ledger (CORE-12): what is owed, and who is late paying it.

The ledger has four parts, one module each: ``core.vat`` (rates and the rounding rule),
``core.invoices`` (drafts, issue, corrections, statuses), ``core.payments`` (money
received and allocated) and this one: the billable items a plugin's billing strategy
adds (what is owed, by whom, for what, because of which case and people) and an
invoice takes; and overdue detection, for people and for processes (a ``Check``).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import RAISE, fields, validate
from sqlalchemy import select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from core import audit, invoices, payments, records, vat  # noqa: F401 (payments: its events)
from core.errors import ValidationError
from core.filters import today as local_today
from core.invoices import LineSchema, Number
from core.models import BillableItem, BillableItemPerson, Case, Invoice, Organisation, Person
from core.terms import term
from core.validation import an_id, load_collecting, max_length
from core.workflow import Check

NO_OVERDUE_TITLE = {"pl": "Brak zaległych płatności", "en": "No overdue payments"}


class ItemSchema(LineSchema):
    class Meta:
        unknown = RAISE
        exclude = ("id",)

    organisation_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    case_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    people = fields.List(fields.Integer(validate=an_id()), load_default=list)
    price_basis = fields.String(load_default="net", validate=validate.OneOf(
        vat.BASES, error=_l("Choose net or gross prices.")))
    unit_price = Number(4, required=True, validate=validate.Range(
        min=0, max=invoices.MAX_PRICE, error=_l("Enter a price from 0 to 999 999 999 999.")),
        error_messages={"required": _l("Enter a price.")})
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    earned_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the day it was earned.")})
    source = fields.String(load_default="manual", validate=[
        validate.Regexp(r"^[a-z][a-z0-9_.]*$", error=_l(
            "Use lower-case letters, digits, dots and underscores.")), max_length(64)])
    reference = fields.String(load_default=None, allow_none=True, validate=max_length(200))


# --- Billable items ----------------------------------------------------------------------

def add_item(session: Session, data: dict, actor=None) -> BillableItem:
    """Add what is owed; with a ``reference``, adding the same ``source`` and
    ``reference`` again returns the item added before (a retried billing run bills
    nothing twice)."""
    invoices.require(session, actor)
    values, errors = load_collecting(ItemSchema(), data)
    invoices.party_of(session, values, actor, errors)
    if values.get("case_id") is not None and \
            records.get(session, Case, values["case_id"], actor) is None:
        errors["case_id"] = _("There is no such %(what)s, or you may not see it.",
                              what=term("core.case"))
    for i, person_id in enumerate(values.get("people", [])):
        if records.get(session, Person, person_id, actor) is None:
            errors[f"people.{i}"] = _("There is no such %(what)s, or you may not see it.",
                                      what=term("core.person"))
    if errors:
        raise ValidationError(errors)
    values["reference"] = (values["reference"] or "").strip() or None
    if values["reference"]:
        known = session.scalar(select(BillableItem).where(
            BillableItem.source == values["source"],
            BillableItem.reference == values["reference"]))
        if known is not None:
            return known
    people = sorted(set(values.pop("people")))
    item = BillableItem(**values, created_by_id=getattr(actor, "id", None),
                        people=[BillableItemPerson(person_id=p) for p in people])
    session.add(item)
    session.flush()
    audit.write(session, item, "create", {**{k: (None, v) for k, v in values.items()},
                                          "people": (None, people)},
                actor, summary=item.description)
    return item


def remove_item(session: Session, item: BillableItem, actor=None) -> None:
    """Take back an item that no invoice bills."""
    invoices.require(session, actor, item)
    if item.invoiced:
        raise ValidationError({"item": _("It is on an invoice; cancel or correct that.")})
    audit.write(session, item, "purge", {"description": (item.description, None),
                                         "unit_price": (item.unit_price, None)},
                actor, summary=item.description)
    session.delete(item)
    session.flush()


def unbilled(session: Session, party=None, actor=None) -> list[BillableItem]:
    """Items no invoice takes yet, of ``party`` (an organisation or a person) or of
    everyone the actor may see, oldest first."""
    query = select(BillableItem).where(BillableItem.invoice_line_id.is_(None))
    condition = invoices.party_scope(BillableItem, actor)
    if condition is not None:
        query = query.where(condition)
    if party is not None:
        query = query.where(_party_column(BillableItem, party) == party.id)
    return list(session.scalars(query.order_by(BillableItem.earned_on, BillableItem.id)))


def invoice_items(session: Session, items: list[BillableItem], data: dict | None = None,
                  actor=None) -> Invoice:
    """A draft invoice with a line for each item, which it takes: the items must be
    one buyer's, in one currency and one kind of price, and not taken already. ``data``
    gives the rest (kind, dates, terms; see ``core.invoices.create``)."""
    _invoiceable(items)
    first = items[0]
    cases = {item.case_id for item in items}
    lines = [{"description": i.description, "quantity": i.quantity, "unit": i.unit,
              "unit_price": i.unit_price, "vat_rate": i.vat_rate} for i in items]
    invoice = invoices.create(session, {
        "case_id": cases.pop() if len(cases) == 1 else None, **(data or {}),
        "organisation_id": first.organisation_id, "person_id": first.person_id,
        "currency": first.currency, "price_basis": first.price_basis, "lines": lines}, actor)
    for line, item in zip(invoice.lines, items, strict=True):
        taken = session.execute(update_rows(BillableItem).where(
            BillableItem.id == item.id, BillableItem.invoice_line_id.is_(None))
            .values(invoice_line_id=line.id).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise ValidationError({"items": _("“%(item)s” has been invoiced meanwhile.",
                                              item=item.description)})
        session.refresh(item)
        session.expire(line, ["items"])
    return invoice


def _invoiceable(items: list[BillableItem]) -> None:
    if not items:
        raise ValidationError({"items": _("Choose the items to invoice.")})
    taken = [item for item in items if item.invoiced]
    if taken:
        raise ValidationError({"items": _("“%(item)s” is on an invoice already.",
                                          item=taken[0].description)})
    for key, message in (
            (lambda i: (i.organisation_id, i.person_id), _("The items are owed by different "
                                                            "buyers.")),
            (lambda i: i.currency, _("The items are in different currencies.")),
            (lambda i: i.price_basis, _("Some items have net prices and some gross ones."))):
        if len({key(item) for item in items}) > 1:
            raise ValidationError({"items": message})


# --- Overdue -----------------------------------------------------------------------------

def overdue(session: Session, party, today: date | None = None) -> list[Invoice]:
    """The invoices of ``party`` (an organisation or a person, and those merged into it)
    past their due date on ``today`` with something still owed, longest overdue first.
    Nothing is stored: paying, correcting or the day passing changes the answer."""
    column = _party_column(Invoice, party)
    return list(session.scalars(invoices.overdue_query(today)
                                .where(column.in_(_merged_ids(session, party)))))


def _party_column(model: type, party):
    if isinstance(party, Organisation):
        return model.organisation_id
    if isinstance(party, Person):
        return model.person_id
    raise TypeError(f"an organisation or a person, not {type(party).__name__}")


def _merged_ids(session: Session, party) -> list[int]:
    """The party's id and those of the records merged into it, at any depth."""
    model = type(party)
    found, frontier = [party.id], [party.id]
    while frontier:
        frontier = list(session.scalars(select(model.id).where(
            model.merged_into_id.in_(frontier))))
        found += frontier
    return found


def no_overdue_check(key: str, title: dict | None = None, optional: bool = False,
                     grace_days: int = 0) -> Check:
    """A ``core.workflow.Check`` that holds while the case's client owes nothing more
    than ``grace_days`` past its due date: the case's organisation, or without one each
    person on the case. Its reason names the invoices."""
    def test(session: Session, case: Case) -> str | None:
        today = local_today() - timedelta(days=grace_days)
        late = [invoice for party in _clients(session, case)
                for invoice in overdue(session, party, today)]
        if not late:
            return None
        numbers = ", ".join(invoice.number for invoice in late[:5])
        return ngettext("%(num)d invoice of the client is overdue: %(numbers)s.",
                        "%(num)d invoices of the client are overdue: %(numbers)s.",
                        len(late), numbers=numbers + ("…" if len(late) > 5 else ""))

    return Check(key, title or NO_OVERDUE_TITLE, test, optional)


def _clients(session: Session, case: Case) -> list:
    if case.organisation_id is not None:
        return [session.get(Organisation, case.organisation_id)]
    return [session.get(Person, p.person_id) for p in case.people]

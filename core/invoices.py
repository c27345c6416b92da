"""Invoices: drafts, issuing with a gapless number, sending, cancelling, correcting.

A draft is the only state whose lines change. ``issue`` takes the number from the
kind's series (``core.numbering``) in the issuing transaction, so a rolled-back issue
gives its number back and the numbers follow the order of issue without gaps. It
copies the buyer and the seller onto the invoice, so later edits of the organisation or
of the settings never change an issued invoice, and sets the due date from the payment
terms. From then on the content is fixed: a mistake is put right by a correcting
invoice (``correct``), which names the invoice it corrects, carries each line as it was
and as it is, and per VAT rate the differences (``core.vat``). It is numbered from a
series of its own and settled through the invoice it corrects, whose amount to pay
(``to_pay``) moves by the correction's gross.

Statuses go draft -> issued -> sent -> partly paid -> paid; after issue the status is
worked out again from the facts (sent or not, paid against owed) whenever one of them
changes, so it is never stale. Overdue is not stored: an open invoice past its due
date with something still owed, on the day asked (``is_overdue``). A draft can be
cancelled at any time; an issued invoice only with a reason, before it is sent and
while nothing is paid or corrected (its number stays used: the series keeps no gaps).

Kinds: ``invoice``; ``advance`` (PV-3); ``final``, which deducts the advance invoices it
names (it comes to its gross less theirs); ``correction``; ``proforma``, a request for
payment that is no tax document (its own series, never owed, never overdue);
``settlement``, a settlement note that is no VAT invoice (membership fees): owed like
an invoice, numbered on its own.

Making drafts, issuing, sending, cancelling and correcting need ``core.billing`` and a
buyer the actor can see; reading follows the buyer's visibility (``visible``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, post_load, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from core import audit, events, numbering, permissions, records, timeline, vat, webhooks
from core.config import Settings
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import BillableItem, Case, Invoice, InvoiceLine, Organisation, Person
from core.models.billing import KINDS
from core.templating import money
from core.terms import term
from core.validation import an_id, load_collecting, max_length

PERMISSION = "core.billing"
# The number series each kind takes its numbers from; the migration adds them and an
# administrator may change their patterns.
SERIES = {"invoice": "billing.invoice", "advance": "billing.invoice",
          "final": "billing.invoice", "correction": "billing.correction",
          "proforma": "billing.proforma", "settlement": "billing.settlement"}
PAYABLE = ("invoice", "advance", "final", "settlement")  # what a buyer owes
OPEN = ("issued", "sent", "partly_paid")  # issued and something still owed
SETTLED = ("issued", "sent", "partly_paid", "paid")  # issued and not cancelled
# Fixed once the draft is made: the lines and billable items were chosen for them.
FIXED = ("kind", "organisation_id", "person_id", "currency", "price_basis")
MAX_LINES = 500
MAX_PRICE = Decimal("999999999999")
MAX_QUANTITY = Decimal("9999999999")

webhooks.register("invoice.issued", _l("An invoice was issued"))
timeline.EVENT_LABELS.update({"invoice_issued": _l("Invoice issued"),
                              "invoice_cancelled": _l("Invoice cancelled")})


# --- What is typed -----------------------------------------------------------------------

class Number(fields.Decimal):
    """A decimal, typed the Polish way too ("12 500,50"), with at most ``most`` places."""

    def __init__(self, most: int, **kwargs):
        self.most = most
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", _l("Enter a number, such as 12,50."))
        kwargs["error_messages"].setdefault("special", _l("Enter a number, such as 12,50."))
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
        found = super()._deserialize(value, attr, data, **kwargs)
        if found.normalize().as_tuple().exponent < -self.most:
            raise SchemaError(_("At most %(n)d decimal places.", n=self.most))
        return found


def _rate(value) -> None:
    if vat.rate_key(value) is None:
        raise SchemaError(_("Choose a VAT rate: 23, 8, 5, 0, zw or np."))


def _described(value: str) -> None:
    if not value.strip():
        raise SchemaError(_("Describe what is sold."))


class LineSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    description = fields.String(required=True, validate=[_described, max_length(500)],
                                error_messages={"required": _l("Describe what is sold.")})
    quantity = Number(4, required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=MAX_QUANTITY, error=_l("Enter a quantity above zero.")),
        error_messages={"required": _l("Enter a quantity.")})
    unit = fields.String(load_default="szt.", validate=max_length(20))
    unit_price = Number(4, required=True, validate=validate.Range(
        min=0, max=MAX_PRICE, error=_l("Enter a price from 0 to 999 999 999 999.")),
        error_messages={"required": _l("Enter a price.")})
    vat_rate = fields.Raw(required=True, validate=_rate, error_messages={
        "required": _l("Choose a VAT rate.")})

    @post_load
    def _normalise(self, values: dict, **_kwargs) -> dict:
        if "vat_rate" in values:
            values["vat_rate"] = vat.rate_key(values["vat_rate"])
        if "description" in values:
            values["description"] = values["description"].strip()
        return values


class CorrectionLineSchema(LineSchema):
    """A line a correction changes (``position``: all but what is given stays) or adds
    (everything given); a quantity of 0 takes a line off."""

    position = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    quantity = Number(4, validate=validate.Range(
        min=0, max=MAX_QUANTITY, error=_l("Enter a quantity of 0 or more.")))


class InvoiceSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(load_default="invoice", validate=validate.OneOf(
        [k for k in KINDS if k != "correction"], error=_l("Choose a kind of invoice.")))
    organisation_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    case_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    exchange_rate = Number(6, load_default=None, allow_none=True, validate=validate.Range(
        min=0, min_inclusive=False, max=Decimal("999999"),
        error=_l("Enter the rate in złoty for one unit, such as 4,2563.")))
    exchange_rate_date = fields.Date(load_default=None, allow_none=True)
    price_basis = fields.String(load_default="net", validate=validate.OneOf(
        vat.BASES, error=_l("Choose net or gross prices.")))
    issue_date = fields.Date(load_default=None, allow_none=True)
    sale_date = fields.Date(load_default=None, allow_none=True)
    payment_days = fields.Integer(load_default=14, validate=validate.Range(
        min=0, max=365, error=_l("Enter a number of days from 0 to 365.")))
    notes = fields.String(load_default="", validate=max_length(5000))
    lines = fields.List(fields.Nested(LineSchema), load_default=list,
                        validate=validate.Length(max=MAX_LINES, error=_l(
                            "At most {max} lines.")))
    advance_ids = fields.List(fields.Integer(validate=an_id()), load_default=list)


# --- Who may -----------------------------------------------------------------------------

def party_scope(model: type, actor) -> ColumnElement | None:
    """The rows of ``model`` (invoices, items, payments) whose organisation or person
    ``actor`` may see; None when nothing is hidden."""
    if permissions.grants(actor).admin:
        return None
    orgs = records.visible(Organisation, actor, include_deleted=True)
    people = records.visible(Person, actor, include_deleted=True)
    return or_(model.organisation_id.in_(orgs.with_only_columns(Organisation.id)),
               model.person_id.in_(people.with_only_columns(Person.id)))


def visible(actor=None) -> Select:
    """Invoices whose buyer ``actor`` may see: every list of invoices starts here."""
    condition = party_scope(Invoice, actor)
    return select(Invoice) if condition is None else select(Invoice).where(condition)


def get(session: Session, invoice_id: int, actor=None) -> Invoice | None:
    return session.scalar(visible(actor).where(Invoice.id == invoice_id))


def require(session: Session, actor, record=None) -> None:
    """Refuse an actor without ``core.billing``, or one who may not see ``record``'s
    party (an invoice's buyer, a payment's payer)."""
    if not permissions.can(actor, PERMISSION):
        raise Forbidden(_("You may not issue invoices or record payments."))
    condition = None if record is None else party_scope(type(record), actor)
    if condition is not None and (record.organisation_id or record.person_id) and \
            session.scalar(select(type(record).id).where(type(record).id == record.id,
                                                         condition)) is None:
        raise Forbidden(_("You may not do this with this record."))


def party_of(session: Session, values: dict, actor, errors: dict, required: bool = True):
    """The organisation or person ``values`` names (``organisation_id``/``person_id``,
    one of them), if the actor may see it; problems go into ``errors``."""
    org_id, person_id = values.get("organisation_id"), values.get("person_id")
    names = {"org": term("core.organisation"), "person": term("core.person")}
    if org_id is not None and person_id is not None:
        errors["organisation_id"] = _("Give one %(org)s or one %(person)s, not both.",
                                      **names)
        return None
    if org_id is None and person_id is None:
        if required:
            errors["organisation_id"] = _("Choose who is billed: one %(org)s or one "
                                          "%(person)s.", **names)
        return None
    model, key, name = (Organisation, "organisation_id", "core.organisation") if org_id \
        else (Person, "person_id", "core.person")
    found = records.get(session, model, values[key], actor)
    if found is None:
        errors[key] = _("There is no such %(what)s, or you may not see it.", what=term(name))
    return found


def party_record(session: Session, row):
    """The organisation or person a row (invoice, item, payment) belongs to."""
    if row.organisation_id is not None:
        return session.get(Organisation, row.organisation_id)
    return session.get(Person, row.person_id) if row.person_id is not None else None


def lock(session: Session, row) -> None:
    """Take ``row`` for this transaction and read it afresh, so that nothing is decided
    on what it held before: whoever changes it at the same time waits for the commit (a
    row lock on PostgreSQL; on SQLite, the one writer's lock)."""
    model = type(row)
    session.flush()
    session.execute(update_rows(model).where(model.id == row.id).values(id=model.id)
                    .execution_options(synchronize_session=False))
    session.refresh(row)


# --- Drafts ------------------------------------------------------------------------------

def create(session: Session, data: dict, actor=None) -> Invoice:
    """A draft invoice with its lines; every problem is named at once, and then nothing
    is written."""
    require(session, actor)
    values, errors = load_collecting(InvoiceSchema(), data)
    buyer = party_of(session, values, actor, errors)
    _check_case(session, values, actor, errors)
    taken = _advances_given(session, values, values.get("advance_ids", []), None, errors)
    if errors:
        raise ValidationError(errors)
    lines = values.pop("lines")
    values.pop("advance_ids")
    invoice = Invoice(**values, status="draft", created_by_id=getattr(actor, "id", None),
                      buyer=_buyer(buyer))
    session.add(invoice)
    session.flush()
    _write_lines(session, invoice, lines)
    _take_advances(session, invoice, taken)
    audit.write(session, invoice, "create", {**{k: (None, v) for k, v in values.items()},
                                             "lines": (None, _lines_text(invoice)),
                                             "gross": (None, invoice.gross)},
                actor, summary=label(invoice))
    return invoice


def update(session: Session, invoice: Invoice, data: dict, actor=None) -> Invoice:
    """Change a draft: its dates, terms, rate, notes and lines (``lines`` replaces them
    all; a line given with the ``id`` of one of the draft's lines is that line, keeping
    the billable items it bills; the items of lines left out are free again)."""
    require(session, actor, invoice)
    lock(session, invoice)
    if invoice.status != "draft":
        raise ValidationError({"status": _("An issued invoice cannot be changed; correct it "
                                           "with a correcting invoice.")})
    # Partial at the top only: a line given must be whole.
    values, errors = load_collecting(InvoiceSchema(), data,
                                     partial=tuple(InvoiceSchema().fields))
    for key in FIXED:
        if key in values and values[key] != getattr(invoice, key):
            errors[key] = _("This cannot be changed on a draft; cancel it and make another.")
    if invoice.kind == "correction" and "lines" in values:
        errors["lines"] = _("Make another correction to change what it corrects.")
    own = {line.id for line in invoice.lines}
    errors.update({f"lines.{i}.id": _("There is no such line here.")
                   for i, line in enumerate(values.get("lines", []))
                   if line.get("id") not in (None, *own)})
    _check_case(session, values, actor, errors)
    taken = _advances_given(session, _values_of(invoice), values.get("advance_ids", []),
                            invoice, errors) if "advance_ids" in values else None
    if errors:
        raise ValidationError(errors)
    lines = values.pop("lines", None)
    values.pop("advance_ids", None)
    before = {"lines": _lines_text(invoice), "gross": invoice.gross,
              **{k: getattr(invoice, k) for k in values}}
    for key, value in values.items():
        setattr(invoice, key, value)
    if lines is not None:
        _write_lines(session, invoice, lines)
    else:
        _store_totals(invoice, _rows(invoice))
    if taken is not None:
        _take_advances(session, invoice, taken)
    after = {"lines": _lines_text(invoice), "gross": invoice.gross,
             **{k: getattr(invoice, k) for k in values}}
    changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if changes:
        session.flush()
        audit.write(session, invoice, "update", changes, actor, summary=label(invoice))
    return invoice


def draft_rows(buyer: dict, values: dict, lines: list[dict]) -> tuple[dict, list[dict]]:
    """A draft's row and its lines' rows, amounts worked out, for code that checked its
    input itself and writes thousands at once (a billing run): ``buyer`` as ``buyer_of``
    gives it, ``values`` the invoice's columns, each line a dict of a line's columns."""
    found = []
    for position, data in enumerate(lines, start=1):
        amounts = vat.line_amounts(_vat_line(data), values.get("price_basis", "net"))
        found.append({**data, "position": position, "net": amounts.net, "vat": amounts.vat,
                      "gross": amounts.gross})
    rows = vat.summary((_vat_line(line) for line in found), values.get("price_basis", "net"))
    return {**values, "status": "draft", "buyer": buyer,
            **_totals_of(rows, values.get("currency", "PLN"), values.get("exchange_rate"))
            }, found


def _values_of(invoice: Invoice) -> dict:
    return {k: getattr(invoice, k) for k in FIXED}


def _check_case(session: Session, values: dict, actor, errors: dict) -> None:
    if values.get("case_id") is not None and \
            records.get(session, Case, values["case_id"], actor) is None:
        errors["case_id"] = _("There is no such %(what)s, or you may not see it.",
                              what=term("core.case"))


def _write_lines(session: Session, invoice: Invoice, given: list[dict]) -> None:
    """Replace the draft's lines with ``given``; what a kept line bills stays with it."""
    carried = {line.id: list(line.items) for line in invoice.lines}
    for line in list(invoice.lines):
        invoice.lines.remove(line)
    session.flush()  # the old positions are free before the new lines take them
    for position, data in enumerate(given, start=1):
        line = InvoiceLine(position=position, description=data["description"],
                           quantity=data["quantity"], unit=data.get("unit") or "szt.",
                           unit_price=data["unit_price"], vat_rate=data["vat_rate"])
        _line_amounts(line, invoice.price_basis)
        line.items = carried.get(data.get("id"), [])
        invoice.lines.append(line)
    session.flush()
    _store_totals(invoice, _rows(invoice))


def _line_amounts(line: InvoiceLine, basis: str) -> None:
    found = vat.line_amounts(_vat_line(line), basis)
    line.net, line.vat, line.gross = found.net, found.vat, found.gross


def _vat_line(line) -> vat.Line:
    if isinstance(line, dict):
        return vat.Line(Decimal(line["quantity"]), Decimal(line["unit_price"]),
                        line["vat_rate"])
    return vat.Line(line.quantity, line.unit_price, line.vat_rate)


def _rows(invoice: Invoice) -> list[vat.Row]:
    """The summary per rate of the lines; of a correction, what it changes."""
    after = vat.summary((_vat_line(line) for line in invoice.lines), invoice.price_basis)
    if invoice.kind != "correction":
        return after
    before = vat.summary((_vat_line(line.before) for line in invoice.lines if line.before),
                         invoice.price_basis)
    return vat.difference(after, before)


def _store_totals(invoice: Invoice, rows: list[vat.Row]) -> None:
    for key, value in _totals_of(rows, invoice.currency, invoice.exchange_rate).items():
        setattr(invoice, key, value)


def _totals_of(rows: list[vat.Row], currency: str, exchange_rate) -> dict:
    total = vat.totals(rows)
    in_pln = vat.tax_in_pln(rows, exchange_rate) if currency != "PLN" and exchange_rate else {}
    return {"net": total.net, "vat": total.vat, "gross": total.gross, "vat_summary": [
        {**row.as_dict(), **({"vat_pln": str(in_pln[row.rate])} if row.rate in in_pln else {})}
        for row in rows]}


def _lines_text(invoice: Invoice) -> list[str]:
    """The lines as the audit trail keeps them."""
    return [f"{line.position}. {line.description}: {line.quantity} {line.unit} x "
            f"{line.unit_price} ({line.vat_rate})" for line in invoice.lines]


def _advances_given(session: Session, values: dict, ids: list[int], final: Invoice | None,
                    errors: dict) -> list[Invoice]:
    """The advance invoices a final invoice (to be) with ``values`` may deduct; what
    is wrong with the others goes into ``errors``."""
    if values.get("kind", "invoice") != "final":
        if ids:
            errors["advance_ids"] = _("Only a final invoice deducts advance invoices.")
        return []
    found = []
    party = (values.get("organisation_id"), values.get("person_id"))
    for i, advance_id in enumerate(dict.fromkeys(ids)):
        advance = session.get(Invoice, advance_id)
        if advance is None or advance.kind != "advance" or advance.status not in SETTLED \
                or (advance.organisation_id, advance.person_id) != party:
            errors[f"advance_ids.{i}"] = _("Choose an issued advance invoice of the same "
                                           "buyer.")
        elif advance.currency != values.get("currency", "PLN"):
            errors[f"advance_ids.{i}"] = _("The advance invoice is in another currency.")
        elif advance.settled_by_id not in (None, getattr(final, "id", None)):
            errors[f"advance_ids.{i}"] = _("Another final invoice deducts it already.")
        else:
            found.append(advance)
    return found


def _take_advances(session: Session, final: Invoice, found: list[Invoice]) -> None:
    """The final invoice deducts these advance invoices (and no others): each is then
    taken, for no other final invoice to deduct again."""
    if final.kind != "final":
        return
    _release_advances(session, final)
    for advance in found:
        advance.settled_by_id = final.id
    session.flush()


def _release_advances(session: Session, final: Invoice) -> None:
    session.execute(update_rows(Invoice).where(Invoice.settled_by_id == final.id)
                    .values(settled_by_id=None).execution_options(synchronize_session="fetch"))


def of_case(session: Session, case_id: int, kinds: tuple[str, ...] = KINDS, actor=None,
            issued: bool = False) -> list[Invoice]:
    """A case's invoices of ``kinds`` that ``actor`` may see, oldest first; with
    ``issued``, only those issued and not cancelled (what the buyer owes or paid)."""
    query = visible(actor).where(Invoice.case_id == case_id, Invoice.kind.in_(kinds))
    if issued:
        query = query.where(Invoice.status.not_in(("draft", "cancelled")))
    return list(session.scalars(query.order_by(Invoice.id)))


def advances(session: Session, final: Invoice) -> list[Invoice]:
    """The advance invoices a final invoice deducts."""
    return list(session.scalars(select(Invoice).where(Invoice.settled_by_id == final.id)
                                .order_by(Invoice.issue_date, Invoice.id)))


# --- Issuing -----------------------------------------------------------------------------

def issue(session: Session, settings: Settings, invoice: Invoice, actor=None,
          issue_date: date | None = None) -> Invoice:
    """Number the draft, copy the parties onto it and fix its content; the buyer's
    timeline, the audit trail, subscribed webhooks and plugins hear of it."""
    require(session, actor, invoice)
    lock(session, invoice)
    if invoice.status != "draft":
        raise ValidationError({"status": _("Only a draft is issued; this one has been "
                                           "issued or cancelled.")})
    when = issue_date or invoice.issue_date or local_today()
    if invoice.kind == "correction":  # two corrections issued at once: one after the other
        lock(session, session.get(Invoice, invoice.corrects_id))
    errors = _issue_problems(session, settings, invoice)
    if errors:
        raise ValidationError(errors)
    number = numbering.issue(session, SERIES[invoice.kind], datetime.combine(when, time(),
                                                                             UTC))
    invoice.series_key, invoice.number, invoice.status = SERIES[invoice.kind], number, "issued"
    invoice.issue_date, invoice.sale_date = when, invoice.sale_date or when
    invoice.due_date = when + timedelta(days=invoice.payment_days)
    invoice.buyer, invoice.seller = _buyer(party_record(session, invoice)), _seller(settings)
    invoice.issued_at = utcnow()
    _store_totals(invoice, _rows(invoice))
    invoice.to_pay = _amount_to_pay(session, invoice)
    settle(invoice)
    if invoice.kind == "correction":
        _move_corrected(session, invoice, invoice.gross, actor)
    session.flush()
    _tell_issued(session, invoice, actor)
    return invoice


def _issue_problems(session: Session, settings: Settings, invoice: Invoice) -> dict:
    errors = {}
    if not invoice.lines:
        errors["lines"] = _("Add at least one line.")
    elif invoice.kind != "correction" and invoice.gross <= 0:
        errors["lines"] = _("The invoice must come to more than zero.")
    if invoice.currency != "PLN" and not invoice.exchange_rate and invoice.kind != "proforma":
        errors["exchange_rate"] = _("Give the exchange rate to złoty: the NBP average rate "
                                    "of the last working day before the sale.")
    if not settings.company_name.strip():
        errors["seller"] = _("The seller's name is not set (KARTOTEKA_COMPANY_NAME); an "
                             "administrator sets it with the company's details.")
    if invoice.kind == "correction":
        original = session.get(Invoice, invoice.corrects_id)
        if original.status not in SETTLED:
            errors["corrects_id"] = _("The corrected invoice has been cancelled.")
        elif _stale(session, invoice, original):
            errors["corrects_id"] = _("The invoice was corrected meanwhile; cancel this "
                                      "correction and make it again.")
    if invoice.kind == "final":
        taken = advances(session, invoice)
        if not taken:
            errors["advance_ids"] = _("Choose the advance invoices it deducts.")
        elif any(a.status not in SETTLED for a in taken):
            errors["advance_ids"] = _("An advance invoice it deducts has been cancelled.")
        elif _amount_to_pay(session, invoice) < 0:
            errors["advance_ids"] = _("The advance invoices come to more than the final "
                                      "invoice.")
    return errors


def _stale(session: Session, correction: Invoice, original: Invoice) -> bool:
    """Whether the lines the correction starts from are no longer the invoice's."""
    was = [(line.position, *_position(line.before)) for line in correction.lines
           if line.before is not None]
    now = [(line["position"], *_position(line)) for line in current_lines(session, original)]
    return was != now


def _position(line) -> tuple:
    data = line if isinstance(line, dict) else _values(line)
    return (data["description"], Decimal(data["quantity"]), data["unit"],
            Decimal(data["unit_price"]), data["vat_rate"])


def _amount_to_pay(session: Session, invoice: Invoice) -> Decimal:
    """What the buyer owes for it: a final invoice less its advances; a correction and
    a pro forma nothing of their own."""
    if invoice.kind not in PAYABLE:
        return Decimal(0)
    if invoice.kind == "final":
        return invoice.gross - sum((a.to_pay for a in advances(session, invoice)), Decimal(0))
    return invoice.gross


def settle(invoice: Invoice) -> None:
    """The status after issue, from the facts: sent or not, paid against owed."""
    if invoice.status in ("draft", "cancelled"):
        return
    if invoice.kind in PAYABLE and invoice.balance <= 0:
        invoice.status = "paid"
    elif invoice.kind in PAYABLE and invoice.paid > 0:
        invoice.status = "partly_paid"
    else:
        invoice.status = "sent" if invoice.sent_at else "issued"


def buyer_of(party) -> dict:
    """The buyer (an organisation or a person) as the invoice keeps it."""
    return _buyer(party)


def _buyer(party) -> dict:
    """The buyer as the invoice keeps it."""
    if party is None:
        return {}
    if isinstance(party, Organisation):
        return organisation_buyer(party)
    address = party.addresses[0] if party.addresses else None
    return {"name": party.full_name, "nip": "",
            **{key: getattr(address, key) if address else "" for key in
               ("street", "postal_code", "city")},
            "country": address.country if address else "PL"}


def organisation_buyer(row) -> dict:
    """An organisation as an invoice keeps it, from its record or a row of its columns
    (``BUYER_COLUMNS``)."""
    return {"name": row.name, "nip": row.nip, "street": row.street,
            "postal_code": row.postal_code, "city": row.city, "country": row.country}


BUYER_COLUMNS = (Organisation.name, Organisation.nip, Organisation.street,
                 Organisation.postal_code, Organisation.city, Organisation.country)


def _seller(settings: Settings) -> dict:
    return {"name": settings.company_name.strip(),
            "details": [line.strip() for line in settings.company_details.splitlines()
                        if line.strip()]}


def _tell_issued(session: Session, invoice: Invoice, actor) -> None:
    audit.write(session, invoice, "update", {
        "status": ("draft", invoice.status), "number": (None, invoice.number),
        "issue_date": (None, invoice.issue_date), "due_date": (None, invoice.due_date),
        "buyer": (None, invoice.buyer), "gross": (None, invoice.gross)},
        actor, summary=invoice.number)
    timeline.record_event(session, "invoice_issued", _about(session, invoice),
                          subject=f"{invoice.number}: {money(invoice.gross, invoice.currency)}",
                          actor=actor, data={"invoice_id": invoice.id, "number": invoice.number,
                                             "kind": invoice.kind})
    webhooks.emit(session, "invoice.issued", data(invoice, actor))
    events.after_commit(session, "kartoteka_invoice_issued", invoice=invoice, actor=actor)


def _about(session: Session, invoice: Invoice) -> list:
    found = [party_record(session, invoice)]
    if invoice.case_id is not None:
        found.append(session.get(Case, invoice.case_id))
    return [record for record in found if record is not None]


def data(invoice: Invoice, actor=None) -> dict:
    """The invoice as webhooks tell it."""
    return {"id": invoice.id, "kind": invoice.kind, "number": invoice.number,
            "status": invoice.status, "organisation_id": invoice.organisation_id,
            "person_id": invoice.person_id, "case_id": invoice.case_id,
            "buyer": invoice.buyer, "currency": invoice.currency,
            "issue_date": audit.json_safe(invoice.issue_date),
            "due_date": audit.json_safe(invoice.due_date),
            "net": str(invoice.net), "vat": str(invoice.vat), "gross": str(invoice.gross),
            "to_pay": str(invoice.to_pay), "corrects_id": invoice.corrects_id,
            "actor": actor_data(actor)}


def actor_data(actor) -> dict | None:
    """Who did it, as webhooks tell it."""
    return None if actor is None else {"id": actor.id, "name": actor.full_name or actor.email}


def digest(invoice: Invoice) -> str:
    """A digest of what the invoice holds: its row (but when it was last touched) and its
    lines; it changes whenever they do (the API's ETag, the draft form's check). Numbers
    count by value, so 4.3 and 4.300000 are the same rate."""
    def plain(value):
        if isinstance(value, Decimal):
            return str(value.normalize())
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value

    row = {a.key: plain(getattr(invoice, a.key))
           for a in Invoice.__mapper__.column_attrs if a.key != "updated_at"}
    lines = [{a.key: plain(getattr(line, a.key)) for a in InvoiceLine.__mapper__.column_attrs}
             for line in invoice.lines]
    raw = json.dumps([row, lines], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def label(invoice: Invoice) -> str:
    """What a person calls it: its number, or what draft it is."""
    return invoice.number or _("Draft invoice #%(id)d", id=invoice.id)


# --- After issue -------------------------------------------------------------------------

def mark_sent(session: Session, invoice: Invoice, actor=None, at: datetime | None = None
              ) -> Invoice:
    """Record that the invoice went to the buyer (once; sending again changes nothing)."""
    require(session, actor, invoice)
    lock(session, invoice)
    if invoice.status not in SETTLED:
        raise ValidationError({"status": _("Only an issued invoice is sent.")})
    if invoice.sent_at is None:
        before = invoice.status
        invoice.sent_at = at or utcnow()
        settle(invoice)
        session.flush()
        audit.write(session, invoice, "update", {"sent_at": (None, invoice.sent_at),
                                                 "status": (before, invoice.status)},
                    actor, summary=label(invoice))
    return invoice


def cancel(session: Session, invoice: Invoice, reason: str = "", actor=None) -> Invoice:
    """Cancel a draft, or an issued invoice not yet sent, paid or corrected, giving the
    reason; its billable items may be invoiced again and its number stays used."""
    require(session, actor, invoice)
    lock(session, invoice)
    reason = (reason or "").strip()
    errors = _cancel_problems(session, invoice, reason)
    if errors:
        raise ValidationError(errors)
    before = invoice.status
    if invoice.kind == "correction" and before != "draft":
        _move_corrected(session, invoice, -invoice.gross, actor)
    _release_items(session, invoice)
    if invoice.kind == "final":
        _release_advances(session, invoice)
    invoice.status, invoice.cancelled_at, invoice.cancel_reason = "cancelled", utcnow(), reason
    session.flush()
    audit.write(session, invoice, "update", {"status": (before, "cancelled"),
                                             "cancel_reason": (None, reason)},
                actor, summary=label(invoice))
    if before != "draft":
        timeline.record_event(session, "invoice_cancelled", _about(session, invoice),
                              subject=f"{invoice.number}: {reason}"[:300], actor=actor,
                              data={"invoice_id": invoice.id, "number": invoice.number})
    return invoice


def _cancel_problems(session: Session, invoice: Invoice, reason: str) -> dict:
    if invoice.status == "cancelled":
        return {"status": _("It is cancelled already.")}
    if invoice.status == "draft":
        return {}
    errors = {}
    if not reason:
        errors["reason"] = _("Give the reason for cancelling an issued invoice.")
    if invoice.sent_at is not None and invoice.kind != "proforma":
        errors["status"] = _("It has been sent to the buyer; correct it instead.")
    elif invoice.paid:
        errors["status"] = _("Payments are counted towards it; correct it instead.")
    elif corrections(session, invoice):
        errors["status"] = _("It has been corrected; correct it again instead.")
    elif invoice.kind == "advance" and invoice.settled_by_id is not None:
        errors["status"] = _("A final invoice deducts it; cancel or correct that first.")
    elif invoice.kind == "correction" and \
            corrections(session, session.get(Invoice, invoice.corrects_id))[-1].id != invoice.id:
        errors["status"] = _("A later correction builds on it; cancel that first.")
    return errors


def _release_items(session: Session, invoice: Invoice) -> None:
    lines = select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id)
    session.execute(update_rows(BillableItem).where(BillableItem.invoice_line_id.in_(lines))
                    .values(invoice_line_id=None).execution_options(synchronize_session="fetch"))


# --- Corrections -------------------------------------------------------------------------

def is_corrected(session: Session, invoice: Invoice) -> bool:
    return bool(corrections(session, invoice))


def corrections(session: Session, invoice: Invoice) -> list[Invoice]:
    """The invoice's issued corrections, in the order they were issued."""
    return list(session.scalars(select(Invoice).where(
        Invoice.corrects_id == invoice.id, Invoice.status.in_(SETTLED))
        .order_by(Invoice.issued_at, Invoice.id)))


def current_lines(session: Session, invoice: Invoice) -> list[dict]:
    """The invoice's lines as its issued corrections left them."""
    found = corrections(session, invoice)
    return [_values(line) for line in (found[-1] if found else invoice).lines]


def _values(line: InvoiceLine) -> dict:
    return {"position": line.position, "description": line.description,
            "quantity": line.quantity, "unit": line.unit, "unit_price": line.unit_price,
            "vat_rate": line.vat_rate}


def summary_now(session: Session, invoice: Invoice) -> list[vat.Row]:
    """The invoice's summary per rate with its corrections' differences."""
    return vat.add(_stored_rows(invoice),
                   *(_stored_rows(c) for c in corrections(session, invoice)))


def remainder(session: Session, final: Invoice) -> list[vat.Row]:
    """Per rate, what a final invoice leaves after the advances it deducts."""
    return vat.difference(summary_now(session, final),
                          vat.add(*(summary_now(session, a) for a in advances(session, final))))


def _stored_rows(invoice: Invoice) -> list[vat.Row]:
    return [vat.Row.from_dict(row) for row in invoice.vat_summary or []]


def correct(session: Session, invoice: Invoice, changes: list[dict], reason: str,
            actor=None) -> Invoice:
    """A draft correcting invoice: ``changes`` names lines by ``position`` with what
    changes (a quantity of 0 takes one off) and adds lines without one. It carries every
    line as it was and as it will be, so each rate's tax is worked out again from the
    rate's whole net, and the differences per rate are its amounts."""
    require(session, actor, invoice)
    errors = _correctable(invoice)
    if not (reason or "").strip():
        errors["reason"] = _("Give the reason for the correction.")
    if errors:
        raise ValidationError(errors)
    before = current_lines(session, invoice)
    after = _corrected(before, changes)
    if [_position(line) for line in after] == [_position(line) for line in before]:
        raise ValidationError({"lines": _("The correction changes nothing.")})
    draft = Invoice(kind="correction", status="draft", corrects_id=invoice.id,
                    reason=reason.strip(), created_by_id=getattr(actor, "id", None),
                    **{k: getattr(invoice, k) for k in (
                        "organisation_id", "person_id", "case_id", "currency", "exchange_rate",
                        "exchange_rate_date", "price_basis", "sale_date", "payment_days",
                        "buyer")})
    session.add(draft)
    was = {line["position"]: line for line in before}
    for line in after:
        old = was.get(line["position"])
        draft.lines.append(InvoiceLine(
            **{k: v for k, v in line.items() if k != "position"}, position=line["position"],
            before=None if old is None else _kept(old)))
        _line_amounts(draft.lines[-1], draft.price_basis)
    session.flush()
    _store_totals(draft, _rows(draft))
    session.flush()
    audit.write(session, draft, "create", {"corrects": (None, invoice.number),
                                           "reason": (None, draft.reason),
                                           "lines": (None, _lines_text(draft)),
                                           "gross": (None, draft.gross)},
                actor, summary=label(draft))
    return draft


def _kept(line: dict) -> dict:
    """A line as a correction keeps what it was: numbers as text, four places."""
    places = Decimal("0.0001")
    return {"description": line["description"], "unit": line["unit"],
            "quantity": str(Decimal(line["quantity"]).quantize(places)),
            "unit_price": str(Decimal(line["unit_price"]).quantize(places)),
            "vat_rate": line["vat_rate"]}


def _correctable(invoice: Invoice) -> dict:
    if invoice.kind == "correction":
        return {"invoice": _("Correct the invoice itself, not its correction.")}
    if invoice.kind == "proforma":
        return {"invoice": _("A pro forma is not corrected: cancel it and make another.")}
    if invoice.status not in SETTLED:
        return {"invoice": _("Only an issued invoice is corrected; a draft is changed.")}
    return {}


def _corrected(before: list[dict], changes: list[dict]) -> list[dict]:
    """The lines after ``changes``; ValidationError naming each bad change."""
    if not isinstance(changes, list) or not changes:
        raise ValidationError({"lines": _("Say which lines change and how.")})
    after = {line["position"]: dict(line) for line in before}
    added, errors = [], {}
    for i, change in enumerate(changes):
        values, problems = load_collecting(CorrectionLineSchema(), change, partial=True)
        errors.update({f"lines.{i}.{k}": v for k, v in problems.items()})
        position = values.pop("position", None)
        values.pop("id", None)
        if position is not None and position not in after:
            errors[f"lines.{i}.position"] = _("There is no line %(n)d.", n=position)
        elif position is not None:
            after[position].update(values)
        elif not problems:
            missing = [k for k in ("description", "quantity", "unit_price", "vat_rate")
                       if k not in values]
            errors.update({f"lines.{i}.{k}": _("Fill this in for a new line.") for k in missing})
            added.append({"unit": "szt.", **values})
    if errors:
        raise ValidationError(errors)
    last = max(after, default=0)
    for n, line in enumerate(added, start=1):
        after[last + n] = {**line, "position": last + n}
    return [after[p] for p in sorted(after)]


def _move_corrected(session: Session, correction: Invoice, amount: Decimal, actor) -> None:
    """The corrected invoice comes to ``amount`` more (less, when negative); so does a
    corrected advance invoice, and the final invoice deducting it that much less."""
    original = session.get(Invoice, correction.corrects_id)
    _owe(session, original, amount, actor)
    if original.kind == "advance" and original.settled_by_id is not None:
        final = session.get(Invoice, original.settled_by_id)
        if final.status in SETTLED:
            _owe(session, final, -amount, actor)


def _owe(session: Session, invoice: Invoice, amount: Decimal, actor) -> None:
    lock(session, invoice)
    before = (invoice.to_pay, invoice.status)
    invoice.to_pay += amount
    settle(invoice)
    session.flush()
    audit.write(session, invoice, "update", {"to_pay": (before[0], invoice.to_pay),
                                             "status": (before[1], invoice.status)},
                actor, summary=label(invoice))


# --- Being owed --------------------------------------------------------------------------

def is_overdue(invoice: Invoice, today: date | None = None) -> bool:
    """Past its due date with something still owed, on ``today`` (the installation's
    day unless given)."""
    return invoice.kind in PAYABLE and invoice.status in OPEN and invoice.balance > 0 \
        and invoice.due_date is not None and invoice.due_date < (today or local_today())


def overdue_query(today: date | None = None) -> Select:
    """Every overdue invoice, the longest overdue first."""
    return (select(Invoice).where(Invoice.kind.in_(PAYABLE), Invoice.status.in_(OPEN),
                                  Invoice.to_pay > Invoice.paid,
                                  Invoice.due_date < (today or local_today()))
            .order_by(Invoice.due_date, Invoice.id))

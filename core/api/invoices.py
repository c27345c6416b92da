"""Invoices and billable items through the API: drafts, issuing, sending, cancelling and
correcting, and what is owed before an invoice bills it.

Every call goes through the ledger's services (``core.invoices``, ``core.billing``), so
numbers, VAT, statuses and refusals are theirs. Reading follows the client: an invoice
or item whose organisation or person the caller may not see is 404, and so is a list
asked for such a client. Every change needs ``core.billing`` (403 otherwise); a refused
one answers 422 with a message per field and writes nothing. Amounts are decimal
strings, VAT rates the ledger's keys ("23", "8", "5", "0", "zw", "np").

An invoice has no version number: its ETag is a digest of what it holds (its row and
its lines), read again under the row's lock before a change. ``PATCH`` needs it in
``If-Match`` (428 without it, 412 when the invoice changed meanwhile); the actions
check it when it is sent, and without it apply to the invoice as it is then: each
takes the row's lock, so two at once run one after the other.
"""

from __future__ import annotations

import copy

from flask import current_app, g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, missing, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import billing, invoices, records, vat
from core.api import exports, schemas
from core.api import records as api_records
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.models import (
    BillableItem,
    Invoice,
    InvoiceLine,
    Organisation,
    PaymentAllocation,
    Person,
)
from core.models.billing import KINDS, STATUSES
from core.validation import an_id, max_length
from core.web.db import db

RATES = list(vat.RATES)


# ------------------------------------------------------------------ fields


def decimal_out(places: int, description: str = "", example: str = "1230.00",
                **kwargs) -> fields.Decimal:
    """An amount as it leaves: a decimal string with ``places`` places, never a float."""
    return fields.Decimal(places=places, as_string=True, metadata={
        "type": "string", "format": "decimal", "example": example,
        **({"description": description} if description else {})}, **kwargs)


def decimal_in(field: fields.Field, example: str, description: str = "") -> fields.Field:
    """A service's own number field (its limits and messages), described as the decimal
    string it is in JSON; numbers are taken too, as the service takes them."""
    bounds = {}
    for rule in field.validators:
        if isinstance(rule, validate.Range):  # as numbers: a Decimal would be written as text
            bounds.update({k: float(v) for k, v in (("minimum", rule.min),
                                                     ("maximum", rule.max)) if v is not None})
    return described(field, type="string", format="decimal", example=example, **bounds,
                     **({"description": description} if description else {}))


def described(field: fields.Field, **metadata) -> fields.Field:
    """A service's own field (its limits and messages), as the document describes it."""
    found = copy.deepcopy(field)
    found.metadata = {**found.metadata, **metadata}
    return found


def rate_in(field: fields.Field) -> fields.Field:
    return described(field, type="string", enum=RATES, description=(
        "The VAT rate: 23, 8, 5, 0, zw (exempt) or np (not subject to VAT)."))


def optional(field: fields.Field) -> fields.Field:
    """A service's field that may be left out, and then stays out (no default)."""
    found = copy.deepcopy(field)
    found.required, found.load_default = False, missing
    return found


def rate_out() -> fields.String:
    return fields.String(metadata={"enum": RATES})


# ------------------------------------------------------------------ schemas

_LINE = invoices.LineSchema._declared_fields
_DRAFT = invoices.InvoiceSchema._declared_fields
_CORRECTION = invoices.CorrectionLineSchema._declared_fields
_ITEM = billing.ItemSchema._declared_fields


class InvoiceLineInSchema(invoices.LineSchema):
    """A line as it is written; ``unit_price`` is net or gross as the invoice's
    ``price_basis`` says."""

    id = fields.Integer(load_default=None, allow_none=True, validate=an_id(), metadata={
        "description": "Changing a draft: the id of one of its lines, which keeps the "
                       "billable items it bills."})
    quantity = decimal_in(_LINE["quantity"], "2.5")
    unit_price = decimal_in(_LINE["unit_price"], "1000.00")
    vat_rate = rate_in(_LINE["vat_rate"])


LINES = [validate.Length(min=1, error=_l("Add at least one line.")),
         validate.Length(max=invoices.MAX_LINES, error=_l("At most {max} lines."))]


class InvoiceDraftSchema(invoices.InvoiceSchema):
    """A draft as it is written. The kind, the client, the currency and the price basis
    are fixed once it is made; ``lines`` replaces all of them."""

    kind = described(_DRAFT["kind"], enum=[k for k in KINDS if k != "correction"],
                     description="invoice, advance, final (deducts advance_ids), proforma "
                                 "or settlement; a correction is made by POST "
                                 "/invoices/{id}/correct.")
    exchange_rate = decimal_in(_DRAFT["exchange_rate"], "4.2563",
                               "Złoty for one unit of the currency (the NBP average rate "
                               "of the last working day before the sale); needed to issue "
                               "an invoice in another currency.")
    lines = fields.List(fields.Nested(InvoiceLineInSchema), required=True, validate=LINES,
                        error_messages={"required": _l("Add at least one line.")})
    advance_ids = described(_DRAFT["advance_ids"], description=(
        "A final invoice: the issued advance invoices of the same client it deducts."))


CHANGEABLE = tuple(InvoiceDraftSchema._declared_fields)


class FromItemsSchema(InvoiceDraftSchema):
    """A draft with a line for each billable item; the client, currency and price basis
    are the items'."""

    class Meta:
        exclude = ("organisation_id", "person_id", "currency", "price_basis", "lines")

    item_ids = fields.List(fields.Integer(validate=an_id()), required=True, validate=[
        validate.Length(min=1, error=_l("Choose the items to invoice.")),
        validate.Length(max=invoices.MAX_LINES, error=_l("At most {max} lines."))],
        error_messages={"required": _l("Choose the items to invoice.")})


class IssueSchema(schemas.Strict):
    issue_date = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day of issue: the draft's own, or today, if left out."})


class SentSchema(schemas.Strict):
    at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When it went to the client, with its time zone; now if left out."})


class CancelSchema(schemas.Strict):
    reason = fields.String(load_default="", validate=max_length(5000), metadata={
        "description": "Required for an issued invoice; a draft needs none."})


class CorrectionLineInSchema(schemas.Strict):
    """A line the correction changes (``position``: what is left out stays; a quantity
    of 0 takes it off) or adds (no ``position``, everything given)."""

    position = described(_CORRECTION["position"], description=(
        "The number of the line as printed (1, 2...); left out for a line it adds."))
    description = optional(_CORRECTION["description"])
    quantity = decimal_in(optional(_CORRECTION["quantity"]), "2")
    unit = optional(_CORRECTION["unit"])
    unit_price = decimal_in(optional(_CORRECTION["unit_price"]), "1000.00")
    vat_rate = rate_in(optional(_CORRECTION["vat_rate"]))


class CorrectionInSchema(schemas.Strict):
    reason = fields.String(load_default="", validate=max_length(5000), metadata={
        "description": "Why it is corrected; required."})
    lines = fields.List(fields.Nested(CorrectionLineInSchema), load_default=list,
                        validate=LINES[1:])


class BuyerSchema(Schema):
    name = fields.String(allow_none=True)
    nip = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    country = fields.String(allow_none=True)


class SellerSchema(Schema):
    name = fields.String()
    details = fields.List(fields.String(), metadata={"description": "Address, NIP, bank "
                                                                    "account: a line each."})


class RateRowSchema(Schema):
    rate = rate_out()
    net = fields.String(metadata={"format": "decimal"})
    vat = fields.String(metadata={"format": "decimal"})
    gross = fields.String(metadata={"format": "decimal"})
    vat_pln = fields.String(metadata={"format": "decimal", "description": (
        "In another currency: the tax in złoty at the invoice's exchange rate.")})


class LineBeforeSchema(Schema):
    description = fields.String()
    quantity = fields.String(metadata={"format": "decimal"})
    unit = fields.String()
    unit_price = fields.String(metadata={"format": "decimal"})
    vat_rate = rate_out()


class InvoiceLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    quantity = decimal_out(4, example="2.5000")
    unit = fields.String()
    unit_price = decimal_out(4, "Net or gross, as the invoice's price_basis says.",
                             "1000.0000")
    vat_rate = rate_out()
    net = decimal_out(2, "The line on its own, for information: the totals come from the "
                         "rows per rate.")
    vat = decimal_out(2)
    gross = decimal_out(2)
    before = fields.Nested(LineBeforeSchema, allow_none=True, metadata={
        "description": "A correcting invoice's line: what it was; null for a line it adds."})
    item_ids = fields.List(fields.Integer(), metadata={
        "description": "The billable items it bills."})

    def get_attribute(self, obj, attr, default):
        if attr == "item_ids":
            return [item.id for item in obj.items]
        return super().get_attribute(obj, attr, default)


class InvoiceRefSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(KINDS)})
    number = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    issue_date = fields.Date(allow_none=True)
    gross = decimal_out(2)
    to_pay = decimal_out(2)


class AllocationSchema(Schema):
    """Part of a payment counted towards an invoice."""

    id = fields.Integer()
    payment_id = fields.Integer()
    invoice_id = fields.Integer()
    invoice_number = fields.String(attribute="invoice.number", allow_none=True)
    amount = decimal_out(2, example="500.00")
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)


class InvoiceSchema(Schema):
    """An invoice as lists show it; read alone it has its lines and what it is tied to
    too (``InvoiceDetail``)."""

    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(KINDS), "description": (
        "invoice, advance, final, correction, proforma (no tax document, never owed) or "
        "settlement (a settlement note, owed like an invoice).")})
    status = fields.String(metadata={"enum": list(STATUSES), "description": (
        "draft, issued, sent, partly_paid, paid or cancelled.")})
    overdue = fields.Function(lambda i: invoices.is_overdue(i), metadata={
        "type": "boolean", "description": "Past its due date with something still owed, "
                                          "today."})
    number = fields.String(allow_none=True, metadata={"description": (
        "Given when it is issued, from its kind's series, without gaps.")})
    series_key = fields.String(allow_none=True)
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    buyer = fields.Nested(BuyerSchema, metadata={"description": (
        "The client as copied at issue; a draft's as it was made.")})
    seller = fields.Nested(SellerSchema, metadata={"description": (
        "The seller as copied at issue; empty on a draft.")})
    currency = fields.String()
    exchange_rate = decimal_out(6, example="4.256300", allow_none=True)
    exchange_rate_date = fields.Date(allow_none=True)
    price_basis = fields.String(metadata={"enum": list(vat.BASES)})
    issue_date = fields.Date(allow_none=True)
    sale_date = fields.Date(allow_none=True)
    payment_days = fields.Integer()
    due_date = fields.Date(allow_none=True)
    net = decimal_out(2, "On a correcting invoice, the differences it makes.",
                      "1000.00")
    vat = decimal_out(2, example="230.00")
    gross = decimal_out(2)
    vat_summary = fields.List(fields.Nested(RateRowSchema), metadata={
        "description": "Per VAT rate, in the order of the rates: each rate's tax from the "
                       "sum of its lines."})
    to_pay = decimal_out(2, "What the client owes for it: its gross, moved by its "
                            "corrections, less the advances a final invoice deducts; 0 for "
                            "a correction or a pro forma.")
    paid = decimal_out(2, "What payments have been allocated to it.", "500.00")
    balance = decimal_out(2, "Still to pay: to_pay less paid (negative: paid too much).",
                          "730.00")
    corrects_id = fields.Integer(allow_none=True, metadata={
        "description": "A correcting invoice: the invoice it corrects."})
    reason = fields.String(metadata={"description": "A correcting invoice: why."})
    settled_by_id = fields.Integer(allow_none=True, metadata={
        "description": "An advance invoice: the final invoice that deducts it."})
    notes = fields.String()
    issued_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String()
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class InvoiceDetailSchema(InvoiceSchema):
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    corrections = fields.List(fields.Nested(InvoiceRefSchema), metadata={
        "description": "The correcting invoices made of it, drafts and cancelled ones too, "
                       "oldest first."})
    vat_summary_corrected = fields.List(fields.Nested(RateRowSchema), metadata={
        "description": "Per VAT rate, with the differences of its issued corrections."})
    advances = fields.List(fields.Nested(InvoiceRefSchema), metadata={
        "description": "A final invoice: the advance invoices it deducts."})
    remainder = fields.List(fields.Nested(RateRowSchema), allow_none=True, metadata={
        "description": "A final invoice: per VAT rate, what it leaves after its advances; "
                       "null for other kinds."})
    allocations = fields.List(fields.Nested(AllocationSchema), metadata={
        "description": "The payments counted towards it."})

    def get_attribute(self, obj, attr, default):
        session = db()
        if attr == "corrections":
            return session.scalars(select(Invoice).where(Invoice.corrects_id == obj.id)
                                   .order_by(Invoice.id)).all()
        if attr == "vat_summary_corrected":
            return [row.as_dict() for row in invoices.summary_now(session, obj)]
        if attr == "advances":
            return invoices.advances(session, obj)
        if attr == "remainder":
            return None if obj.kind != "final" else [
                row.as_dict() for row in invoices.remainder(session, obj)]
        if attr == "allocations":
            return session.scalars(select(PaymentAllocation).where(
                PaymentAllocation.invoice_id == obj.id).order_by(PaymentAllocation.id)).all()
        return super().get_attribute(obj, attr, default)


STATUS_FILTER = (*STATUSES, "overdue")


class InvoiceListArgs(schemas.Sparse, schemas.Strict):
    organisation_id = fields.Integer(validate=an_id(), metadata={
        "description": "Only this organisation's invoices."})
    person_id = fields.Integer(validate=an_id(), metadata={
        "description": "Only this person's invoices."})
    case_id = fields.Integer(validate=an_id())
    status = fields.String(validate=validate.OneOf(STATUS_FILTER), metadata={
        "description": "Only invoices in this status; overdue: issued, past the due date "
                       "and still owed, today."})
    kind = fields.String(validate=validate.OneOf(KINDS))
    issued_from = fields.Date(metadata={"description": "Issued on this day or later."})
    issued_to = fields.Date(metadata={"description": "Issued on this day or earlier."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


class BillableItemInSchema(billing.ItemSchema):
    """Something owed: by whom, for what, because of which case and people."""

    quantity = decimal_in(_ITEM["quantity"], "1")
    unit_price = decimal_in(_ITEM["unit_price"], "450.00")
    vat_rate = rate_in(_ITEM["vat_rate"])
    people = described(_ITEM["people"], description=(
        "The people behind it: who attended, whose contract it is."))
    source = described(_ITEM["source"], description=(
        "Who adds it: manual, or a plugin's key such as training.settlement."))
    reference = described(_ITEM["reference"], description=(
        "The source's own key for what is billed: the same source and reference again "
        "finds the item added before."))


class BillableItemSchema(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    people = fields.List(fields.Integer())
    description = fields.String()
    quantity = decimal_out(4, example="1.0000")
    unit = fields.String()
    unit_price = decimal_out(4, example="450.0000")
    price_basis = fields.String(metadata={"enum": list(vat.BASES)})
    vat_rate = rate_out()
    currency = fields.String()
    earned_on = fields.Date()
    source = fields.String()
    reference = fields.String(allow_none=True)
    invoiced = fields.Boolean()
    invoice_line_id = fields.Integer(allow_none=True)
    invoice_id = fields.Integer(allow_none=True, metadata={
        "description": "The invoice that bills it; null while it is not invoiced."})
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)

    def get_attribute(self, obj, attr, default):
        if attr == "people":
            return [p.person_id for p in obj.people]
        if attr == "invoice_id":
            if obj.invoice_line_id is None:
                return None
            known = g.get("api_line_invoices", {})  # a page's, read in one go
            return known.get(obj.invoice_line_id) or db().scalar(
                select(InvoiceLine.invoice_id).where(InvoiceLine.id == obj.invoice_line_id))
        return super().get_attribute(obj, attr, default)


class BillableItemListArgs(schemas.Sparse, schemas.Strict):
    organisation_id = fields.Integer(validate=an_id())
    person_id = fields.Integer(validate=an_id())
    case_id = fields.Integer(validate=an_id())
    invoiced = fields.Boolean(metadata={"description": "true: only invoiced items; false: "
                                                      "only those no invoice takes yet."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


# ------------------------------------------------------------------ invoices


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_invoices_blueprint(), _items_blueprint()]


def _invoices_blueprint() -> Blueprint:
    bp = Blueprint("api_invoices", __name__, url_prefix="/invoices",
                   description="Invoices, corrections, advance and final invoices, pro "
                               "formas and settlement notes")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(InvoiceListArgs, location="query")
        @bp.response(200, schemas.page_schema(InvoiceSchema))
        @bp.alt_response(404, description="The client does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List the invoices of the clients the caller may see, oldest first, a page
            at a time."""
            return api_records.page(Invoice, _query(args), args)

        @bp.arguments(InvoiceDraftSchema)
        @bp.response(201, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors; a client, case or advance "
                                          "invoice the caller may not see is refused like "
                                          "one that does not exist.")
        def post(self, data):
            """Make a draft invoice from its lines."""
            return _made(lambda s: invoices.create(s, data, actor()))

    @bp.route("/from-items")
    class FromItems(MethodView):
        @bp.arguments(FromItemsSchema)
        @bp.response(201, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors: items taken already, or "
                                          "of different clients, currencies or price "
                                          "bases (item_ids).")
        def post(self, data):
            """Make a draft invoice with a line for each billable item, which it takes."""
            session, sent = db(), request.get_json()
            found, errors = [], {}
            for n, item_id in enumerate(data.pop("item_ids")):
                item = _visible_item(item_id)
                if item is None:
                    errors[f"item_ids.{n}"] = _("There is no such item, or you may not "
                                                "see it.")
                found.append(item)
            if errors:
                return refused(errors)
            rest = {key: value for key, value in data.items() if key in sent}
            return _made(lambda s: billing.invoice_items(session, found, rest, actor()),
                         {"items": "item_ids"})

    @bp.route("/<int:invoice_id>")
    class Item(MethodView):
        @bp.response(200, InvoiceDetailSchema)
        def get(self, invoice_id):
            """Read one invoice: its lines, VAT per rate, totals, what is paid and still
            to pay, its corrections, and the advance invoices a final one deducts."""
            invoice = _invoice(invoice_id)
            return _loaded(invoice), 200, {"ETag": etag(invoice)}

        @bp.arguments(InvoiceDraftSchema(partial=CHANGEABLE))
        @bp.response(200, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(412, description="The invoice changed since the ETag was read.")
        @bp.alt_response(422, description="Field-level errors; an issued invoice (status) "
                                          "is corrected, not changed.")
        @bp.alt_response(428, description="If-Match is missing.")
        def patch(self, data, invoice_id):
            """Change a draft; send the ETag you read in If-Match. ``lines`` replaces its
            lines: give a line's ``id`` to keep the billable items it bills."""
            return _changed(invoice_id, lambda s, i: invoices.update(s, i, data, actor()),
                            required=True)

    _action(bp, "issue", IssueSchema, "Issue the draft; the answer has its number.\n\n"
            "It takes the next number of its kind's series, without gaps; the client and "
            "the seller are copied onto it, the due date set, and its content is fixed "
            "from then on.",
            lambda s, i, d: invoices.issue(s, current_app.extensions["kartoteka"].settings,
                                           i, actor(), d["issue_date"]))
    _action(bp, "mark-sent", SentSchema, "Record that the invoice went to the client.\n\n"
            "Once: sending it again changes nothing.",
            lambda s, i, d: invoices.mark_sent(s, i, actor(), d["at"]))
    _action(bp, "cancel", CancelSchema, "Cancel the invoice.\n\nA draft at any time; an "
            "issued invoice with the reason, before it is sent, paid or corrected. Its "
            "number stays used and its billable items are free again.",
            lambda s, i, d: invoices.cancel(s, i, d["reason"], actor()))

    @bp.route("/<int:invoice_id>/correct")
    class Correct(MethodView):
        @bp.arguments(CorrectionInSchema)
        @bp.response(201, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(412, description="If-Match was sent and the invoice changed since.")
        @bp.alt_response(422, description="Field-level errors: lines.<n>.<field>, reason, "
                                          "or invoice when it cannot be corrected.")
        def post(self, data, invoice_id):
            """Make a correcting invoice of an issued one, as a draft: each line as it was
            and as it will be, its amounts the differences per VAT rate. Issue it with
            POST /invoices/{id}/issue."""
            invoice = _invoice(invoice_id)
            return _made(lambda s: invoices.correct(s, invoice, data["lines"],
                                                    data["reason"], actor()), of=invoice)

    exports.ksef_route(bp)
    return bp


def _action(bp: Blueprint, name: str, schema: type[Schema], summary: str, change) -> None:
    class Action(MethodView):
        @bp.arguments(schema, required=False)
        @bp.response(200, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(412, description="If-Match was sent and the invoice changed since.")
        @bp.alt_response(422, description="Not allowed in its status (status), or "
                                          "field-level errors.")
        def post(self, data, invoice_id):
            return _changed(invoice_id, lambda s, i: change(s, i, data), required=False)

    Action.post.__doc__ = summary
    Action.__name__ = "".join(part.capitalize() for part in name.split("-"))
    bp.route(f"/<int:invoice_id>/{name}")(Action)


def _query(args: dict):
    """The visible invoices the parameters ask for."""
    query = client_filter(invoices.visible(actor()), Invoice, args)
    for arg, column in (("case_id", Invoice.case_id), ("kind", Invoice.kind)):
        if args.get(arg) is not None:
            query = query.where(column == args[arg])
    if args.get("status") == "overdue":
        query = query.where(invoices.overdue_query().whereclause)
    elif args.get("status"):
        query = query.where(Invoice.status == args["status"])
    if args.get("issued_from") is not None:
        query = query.where(Invoice.issue_date >= args["issued_from"])
    if args.get("issued_to") is not None:
        query = query.where(Invoice.issue_date <= args["issued_to"])
    return query


def _invoice(invoice_id: int) -> Invoice:
    """The invoice if the caller may see its client; 404 otherwise."""
    invoice = invoices.get(db(), invoice_id, actor())
    if invoice is None:
        abort(404)
    return invoice


def _loaded(invoice: Invoice) -> Invoice:
    """The invoice with its lines and the items they bill read in one go."""
    db().scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                 .options(selectinload(InvoiceLine.items))).all()
    return invoice


def etag(invoice: Invoice) -> str:
    """The invoice's ETag: a digest of what it holds (``core.invoices.digest``)."""
    return f'"{invoices.digest(invoice)}"'


def _stale(session, invoice: Invoice, required: bool):
    """A 428 or 412 answer when If-Match is missing (and required) or is not the
    invoice's ETag as it is now, under its lock; None to go on."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return problem(428, _("Send the record's ETag in the If-Match header, so that a "
                              "change made meanwhile is not overwritten.")) if required \
            else None
    invoices.require(session, actor(), invoice)  # only who may change it takes the lock
    invoices.lock(session, invoice)
    session.expire(invoice, ["lines"])
    if header != "*" and header.removeprefix("W/") != etag(invoice):
        session.rollback()
        return problem(412, _("The record was changed by someone else meanwhile; read it "
                              "again and apply your change to that."))
    return None


def _changed(invoice_id: int, change, required: bool):
    """Apply ``change(session, invoice)`` to a visible invoice, If-Match permitting."""
    session, invoice = db(), _invoice(invoice_id)
    try:
        stale = _stale(session, invoice, required)
        if stale is not None:
            return stale
        change(session, invoice)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return refusal(exc)
    return _loaded(invoice), 200, {"ETag": etag(invoice)}


def _made(make, rename: dict | None = None, of: Invoice | None = None):
    """Make an invoice with ``make(session)`` (from ``of``, If-Match permitting): 201
    with it, or the refusal."""
    session = db()
    try:
        stale = None if of is None else _stale(session, of, required=False)
        if stale is not None:
            return stale
        invoice = make(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        if isinstance(exc, ValidationError) and rename:
            exc = ValidationError({rename.get(k, k): v for k, v in exc.errors.items()})
        return refusal(exc)
    return _loaded(invoice), 201, {"ETag": etag(invoice),
                                   "Location": _location("invoices", invoice.id)}


def _location(collection: str, row_id: int) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/{collection}/{row_id}"


def refusal(exc):
    """A service's refusal: 403, or 422 with field errors."""
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    return refused(exc.errors)


def committed(change, status: int = 200, refuse=None):
    """``change(session)`` committed, and the row it returns as the answer (read again
    after the commit); a refusal rolled back and answered (by ``refuse``, when the
    resource answers a stale version with 412)."""
    session = db()
    try:
        row = change(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return (refuse or refusal)(exc)
    session.refresh(row)
    return row, status


def client_filter(query, model, args: dict):
    """``query`` narrowed to the client the parameters name; 404 for one the caller may
    not see."""
    for arg, party in (("organisation_id", Organisation), ("person_id", Person)):
        if args.get(arg) is not None:
            if records.get(db(), party, args[arg], actor(), include_deleted=True) is None:
                abort(404)
            query = query.where(getattr(model, arg) == args[arg])
    return query


# ------------------------------------------------------------------ billable items


def _items_blueprint() -> Blueprint:
    bp = Blueprint("api_billable-items", __name__, url_prefix="/billable-items",
                   description="What is owed before an invoice bills it")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(BillableItemListArgs, location="query")
        @bp.response(200, schemas.page_schema(BillableItemSchema))
        @bp.alt_response(404, description="The client does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List the billable items of the clients the caller may see, oldest first,
            a page at a time."""
            query = client_filter(_items(), BillableItem, args)
            if args.get("case_id") is not None:
                query = query.where(BillableItem.case_id == args["case_id"])
            if args.get("invoiced") is not None:
                query = query.where(BillableItem.invoice_line_id.is_not(None)
                                    if args["invoiced"] else
                                    BillableItem.invoice_line_id.is_(None))
            found = api_records.page(BillableItem, query, args)
            lines = [i.invoice_line_id for i in found["items"] if i.invoice_line_id]
            g.api_line_invoices = dict(db().execute(select(
                InvoiceLine.id, InvoiceLine.invoice_id).where(InvoiceLine.id.in_(lines))).all())
            return found

        @bp.arguments(BillableItemInSchema)
        @bp.response(201, BillableItemSchema)
        @bp.alt_response(200, schema=BillableItemSchema, success=True, description=(
            "Added before with this source and reference: that item, unchanged."))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors; a client, case or person "
                                          "the caller may not see is refused like one "
                                          "that does not exist.")
        def post(self, data):
            """Add something owed; the same source and reference again finds the item
            added before (200), so a retried billing run bills nothing twice."""
            session = db()
            reference = (data.get("reference") or "").strip()
            known = reference and session.scalar(select(BillableItem.id).where(
                BillableItem.source == data["source"], BillableItem.reference == reference))
            try:
                item = billing.add_item(session, data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return item, 200 if item.id == known else 201, {
                "Location": _location("billable-items", item.id)}

    @bp.route("/<int:item_id>")
    class Item(MethodView):
        @bp.response(200, BillableItemSchema)
        def get(self, item_id):
            """Read one billable item."""
            return _item(item_id)

        @bp.response(204)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="An invoice bills it (item).")
        def delete(self, item_id):
            """Take back an item that no invoice bills."""
            session, item = db(), _item(item_id)
            try:
                billing.remove_item(session, item, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return None

    return bp


def _items():
    condition = invoices.party_scope(BillableItem, actor())
    query = select(BillableItem).options(selectinload(BillableItem.people))
    return query if condition is None else query.where(condition)


def _visible_item(item_id: int) -> BillableItem | None:
    return db().scalar(_items().where(BillableItem.id == item_id))


def _item(item_id: int) -> BillableItem:
    item = _visible_item(item_id)
    if item is None:
        abort(404)
    return item

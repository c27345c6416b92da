"""Payments through the API: money received, and its allocation to the invoices it pays.

Every call goes through ``core.payments``. A payment is seen by whoever may see its
payer, one without a payer by the holders of ``core.billing``; another is 404.
Recording and allocating need ``core.billing`` (403 otherwise); a refusal answers 422
with a message per field and writes nothing, an allocation's keyed by its place
(``allocations.0.amount``). A payment sent again with the same ``source`` and
``external_id`` is found rather than recorded twice: the answer is 200 with the payment
as it was recorded, and nothing changes. Payments have no version: they are never
changed, only allocated further, and each allocation takes the payment's and the
invoice's locks, so two at once never allocate more than either has.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import invoices, payments
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import refused
from core.api.invoices import (
    AllocationSchema,
    client_filter,
    decimal_in,
    decimal_out,
    described,
    refusal,
)
from core.errors import Forbidden, ValidationError
from core.models import Payment, PaymentAllocation
from core.models.billing import SOURCES
from core.validation import an_id, max_length
from core.web.db import db

MAX_ALLOCATIONS = 100
_PAYMENT = payments.PaymentSchema._declared_fields


def _allocated_amount() -> fields.Field:
    found = decimal_in(payments.AmountSchema._declared_fields["amount"], "500.00",
                       "How much of the payment; as much as both allow if left out or null.")
    found.required, found.load_default, found.allow_none = False, None, True
    return found


class AllocationInSchema(schemas.Strict):
    invoice_id = fields.Integer(required=True, validate=an_id())
    amount = _allocated_amount()


class PaymentInSchema(payments.PaymentSchema):
    """A payment as it is recorded; ``allocations`` counts it towards invoices at once."""

    amount = decimal_in(_PAYMENT["amount"], "1230.00")
    source = described(_PAYMENT["source"], enum=list(SOURCES))
    external_id = described(_PAYMENT["external_id"], description=(
        "The source's own id of the payment: sent again with the same source, it finds "
        "this payment."))
    payer = described(_PAYMENT["payer"], description="The payer's name as the bank wrote it.")
    allocations = fields.List(fields.Nested(AllocationInSchema), load_default=list,
                              validate=validate.Length(max=MAX_ALLOCATIONS))


class PaymentSchema(Schema):
    id = fields.Integer()
    received_on = fields.Date()
    amount = decimal_out(2)
    currency = fields.String()
    allocated = decimal_out(2, "How much of it is counted towards invoices.")
    unallocated = decimal_out(2, "What is left: paid too much, or not matched yet.",
                              "0.00")
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    payer = fields.String()
    title = fields.String()
    source = fields.String(metadata={"enum": list(SOURCES)})
    external_id = fields.String(allow_none=True)
    allocations = fields.List(fields.Nested(AllocationSchema))
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)


class PaymentListArgs(schemas.Sparse, schemas.Strict):
    organisation_id = fields.Integer(validate=an_id())
    person_id = fields.Integer(validate=an_id())
    source = fields.String(validate=validate.OneOf(SOURCES))
    external_id = fields.String(validate=max_length(200))
    unallocated = fields.Boolean(metadata={
        "description": "true: only payments with money not yet allocated; false: only "
                       "those used up."})
    received_from = fields.Date(metadata={"description": "Received on this day or later."})
    received_to = fields.Date(metadata={"description": "Received on this day or earlier."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_payments", __name__, url_prefix="/payments",
                   description="Payments received, and the invoices they pay")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(PaymentListArgs, location="query")
        @bp.response(200, schemas.page_schema(PaymentSchema))
        @bp.alt_response(404, description="The client does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List the payments the caller may see, oldest first, a page at a time."""
            return api_records.page(Payment, _query(args), args)

        @bp.arguments(PaymentInSchema)
        @bp.response(201, PaymentSchema)
        @bp.alt_response(200, schema=PaymentSchema, success=True, description=(
            "Recorded before with this source and external_id: that payment, unchanged."))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors; allocations.<n>.<field> for "
                                          "an allocation.")
        def post(self, data):
            """Record a payment, and allocate it to invoices at once if ``allocations``
            says so; without a payer, it is the client of the invoices it pays."""
            session = db()
            pairs, errors = [], {}
            for n, allocation in enumerate(data.pop("allocations")):
                invoice = invoices.get(session, allocation["invoice_id"], actor())
                if invoice is None:
                    errors[f"allocations.{n}.invoice_id"] = _no_invoice()
                pairs.append((invoice, allocation["amount"]))
            if errors:
                return refused(errors)
            known = _known(data)
            try:
                payment = payments.record(session, data, actor(), allocate_to=pairs)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                if isinstance(exc, ValidationError):
                    exc = ValidationError({key.replace("allocate_to.", "allocations.", 1): v
                                           for key, v in exc.errors.items()})
                return refusal(exc)
            return payment, 200 if payment.id == known else 201, {
                "Location": f"{request.base_url.rstrip('/')}/{payment.id}"}

    @bp.route("/<int:payment_id>")
    class Item(MethodView):
        @bp.response(200, PaymentSchema)
        def get(self, payment_id):
            """Read one payment, with the invoices it is allocated to."""
            return _payment(payment_id)

    @bp.route("/<int:payment_id>/allocations")
    class Allocations(MethodView):
        @bp.arguments(AllocationInSchema)
        @bp.response(201, AllocationSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors: an invoice that cannot be "
                                          "paid (invoice_id), or more than the payment has "
                                          "left or the invoice owes (amount).")
        def post(self, data, payment_id):
            """Count part of the payment, or as much as both allow, towards an invoice;
            its status follows (partly paid, paid)."""
            session, payment = db(), _payment(payment_id)
            invoice = invoices.get(session, data["invoice_id"], actor())
            if invoice is None:
                return refused({"invoice_id": _no_invoice()})
            try:
                allocation = payments.allocate(session, payment, invoice, data["amount"],
                                               actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return allocation, 201

    return [bp]


def _query(args: dict):
    query = client_filter(payments.visible(actor()), Payment, args).options(
        selectinload(Payment.allocations).selectinload(PaymentAllocation.invoice))
    for arg, column in (("source", Payment.source), ("external_id", Payment.external_id)):
        if args.get(arg) is not None:
            query = query.where(column == args[arg])
    if args.get("unallocated") is not None:
        query = query.where(Payment.amount > Payment.allocated if args["unallocated"]
                            else Payment.amount <= Payment.allocated)
    if args.get("received_from") is not None:
        query = query.where(Payment.received_on >= args["received_from"])
    if args.get("received_to") is not None:
        query = query.where(Payment.received_on <= args["received_to"])
    return query


def _payment(payment_id: int) -> Payment:
    """The payment if the caller may see it; 404 otherwise."""
    payment = payments.get(db(), payment_id, actor())
    if payment is None:
        abort(404)
    return payment


def _known(data: dict) -> int | None:
    """The id of the payment recorded before with this source and external id."""
    external_id = (data.get("external_id") or "").strip()
    if not external_id:
        return None
    return db().scalar(select(Payment.id).where(Payment.source == data["source"],
                                                Payment.external_id == external_id))


def _no_invoice() -> str:
    return _("There is no such invoice, or you may not see it.")

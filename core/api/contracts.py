"""Contracts through the API: recurring fees, payment schedules and direct debits that
billing runs bill, and the payments direct debits are expected to bring.

Every call goes through ``core.contracts``. Reading follows the client (a contract of a
client the caller may not see is 404); changes need ``core.billing`` (403 otherwise);
a refusal answers 422 with a message per field (an instalment's keyed by its place,
``instalments.0.due_on``) and writes nothing. A contract's terms are not edited: its
price changes from a day, it is terminated on a day, a milestone is reached on a day,
and what was billed already is squared with what is due.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import contracts, invoices, permissions
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.invoices import (
    client_filter,
    committed,
    decimal_in,
    decimal_out,
    rate_in,
    rate_out,
)
from core.filters import today as local_today
from core.models import Contract, ExpectedPayment
from core.models.contract import BILLED, COLLECTS, INVOICE_KINDS
from core.validation import an_id, max_length
from core.web.db import db

_CONTRACT = contracts.ContractSchema._declared_fields
_INSTALMENT = contracts.InstalmentSchema._declared_fields


class InstalmentInSchema(contracts.InstalmentSchema):
    """One payment of a schedule: ``due_on`` or ``milestone``, not both."""

    unit_price = decimal_in(_INSTALMENT["unit_price"], "5000.00")


class ContractInSchema(contracts.ContractSchema):
    """A contract: a recurring fee (``period_months`` and ``unit_price``), instalments,
    or both; exactly one of organisation_id and person_id."""

    unit_price = decimal_in(_CONTRACT["unit_price"], "900.00",
                            "The price of one whole period; parts are prorated by days.")
    vat_rate = rate_in(_CONTRACT["vat_rate"])
    instalments = fields.List(fields.Nested(InstalmentInSchema), load_default=list)


class PriceInSchema(contracts.PriceChangeSchema):
    unit_price = decimal_in(contracts.PriceChangeSchema._declared_fields["unit_price"],
                            "1200.00")


class MilestoneInSchema(schemas.Strict):
    milestone = fields.String(required=True, validate=max_length(200), metadata={
        "description": "The milestone as the instalments name it, such as Grant awarded."})
    reached_on = fields.Date(required=True)


class PriceSchema(Schema):
    valid_from = fields.Date()
    unit_price = decimal_out(4, example="900.0000")


class InstalmentSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    unit_price = decimal_out(4, example="5000.0000")
    due_on = fields.Date(allow_none=True)
    milestone = fields.String()
    reached_on = fields.Date(allow_none=True)
    billed_on = fields.Date(allow_none=True)


class ContractSchema(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    title = fields.String()
    description = fields.String(metadata={"description": "What its invoice lines say."})
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True, metadata={"description": "The last day covered."})
    termination_reason = fields.String()
    period_months = fields.Integer(allow_none=True)
    billed = fields.String(metadata={"enum": list(BILLED)})
    unit = fields.String()
    vat_rate = rate_out()
    currency = fields.String()
    price_basis = fields.String()
    invoice_kind = fields.String(metadata={"enum": list(INVOICE_KINDS)})
    payment_days = fields.Integer()
    collects = fields.String(metadata={"enum": list(COLLECTS)})
    collection_day = fields.Integer(allow_none=True)
    billed_through = fields.Date(allow_none=True, metadata={
        "description": "The end of the last period billed."})
    prices = fields.List(fields.Nested(PriceSchema))
    instalments = fields.List(fields.Nested(InstalmentSchema))
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)


class ContractListArgs(schemas.Strict):
    organisation_id = fields.Integer(validate=an_id())
    person_id = fields.Integer(validate=an_id())
    active = fields.Boolean(metadata={"description": "true: not ended by today; false: "
                                                    "ended."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


class ExpectedPaymentSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    period_start = fields.Date()
    due_on = fields.Date()
    amount = decimal_out(2, example="50.00")
    currency = fields.String()
    payment_id = fields.Integer(allow_none=True, metadata={
        "description": "The payment that came; null while it has not."})


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_contracts", __name__, url_prefix="/contracts",
                   description="Recurring contracts, payment schedules and direct debits")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(ContractListArgs, location="query")
        @bp.response(200, schemas.page_schema(ContractSchema))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(404, description="The client does not exist or the caller may "
                                          "not see it.")
        def get(self, args):
            """List the contracts of the clients the caller may see, a page at a time."""
            _require()
            query = client_filter(contracts.visible(actor()).order_by(None), Contract, args)
            if args.get("active") is not None:
                ended = Contract.ends_on < local_today()
                query = query.where(~ended | Contract.ends_on.is_(None) if args["active"]
                                    else ended)
            return api_records.page(Contract, query, args)

        @bp.arguments(ContractInSchema)
        @bp.response(201, ContractSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Make a contract; billing runs bill it from then on."""
            return committed(lambda s: contracts.create(s, request.get_json(), actor()), 201)

    @bp.route("/<int:contract_id>")
    class Item(MethodView):
        @bp.response(200, ContractSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        def get(self, contract_id):
            """Read one contract with its prices and instalments."""
            return _contract(contract_id)

    @bp.route("/<int:contract_id>/prices")
    class Prices(MethodView):
        @bp.arguments(PriceInSchema)
        @bp.response(200, ContractSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, contract_id):
            """Change the price from a day on; periods billed from that day are squared
            (a charge for the next run, or a draft correcting invoice)."""
            contract = _contract(contract_id)
            return committed(lambda s: contracts.change_price(s, contract, request.get_json(),
                                                         actor()))

    @bp.route("/<int:contract_id>/terminate")
    class Terminate(MethodView):
        @bp.arguments(contracts.TerminationSchema)
        @bp.response(200, ContractSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, contract_id):
            """End the contract on a day; what was billed beyond it is corrected."""
            contract = _contract(contract_id)
            return committed(lambda s: contracts.terminate(s, contract, request.get_json(),
                                                           actor()))

    @bp.route("/<int:contract_id>/milestones")
    class Milestones(MethodView):
        @bp.arguments(MilestoneInSchema)
        @bp.response(200, ContractSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="No instalment waits for this milestone.")
        def post(self, data, contract_id):
            """Record that a milestone was reached: its instalments fall due for the
            next run."""
            contract = _contract(contract_id)
            return committed(lambda s: contracts.reach(s, contract, data["milestone"],
                                                   data["reached_on"], actor()) and contract)

    @bp.route("/<int:contract_id>/expected-payments")
    class Expected(MethodView):
        @bp.response(200, ExpectedPaymentSchema(many=True))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        def get(self, contract_id):
            """The payments a direct debit contract expects, and which have come."""
            contract = _contract(contract_id)
            return db().scalars(select(ExpectedPayment).where(
                ExpectedPayment.contract_id == contract.id)
                .order_by(ExpectedPayment.due_on)).all()

    return [bp]


def _contract(contract_id: int) -> Contract:
    _require()
    found = contracts.get(db(), contract_id, actor())
    if found is None:
        abort(404)
    return found


def _require() -> None:
    """Contracts are billing's: the staff pages show them to the same people."""
    if not permissions.can(actor(), invoices.PERMISSION):
        abort(403)


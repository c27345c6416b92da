"""Calculations through the API: a case's versions, a new version, the customer's
decision.

Every call goes through ``core.calculations``. Reading follows the case (a calculation
of a case the caller may not see is 404); writing needs ``core.calculate`` and the right
to change the case (403 otherwise); a refusal answers 422 with a message per field (a
line's keyed by its place, ``lines.0.quantity``) and writes nothing.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import calculations, records
from core.api.auth import actor, staff_only
from core.api.invoices import (
    InvoiceDetailSchema,
    committed,
    decimal_in,
    decimal_out,
    optional,
    rate_in,
    rate_out,
)
from core.models import Case
from core.models.calculation import STATUSES
from core.web.db import db

_LINE = calculations.LineSchema._declared_fields
_CALCULATION = calculations.CalculationSchema._declared_fields


class CalculationLineInSchema(calculations.LineSchema):
    """A line: ``price_item_id`` (an item of a price list, whose name, unit, price and
    VAT rate it takes unless given), or a ``description`` and a ``unit_cost`` of its
    own."""

    quantity = decimal_in(_LINE["quantity"], "22")
    unit_cost = optional(decimal_in(_LINE["unit_cost"], "400.00",
                                    "Net cost per unit; the item's price unless given."))
    unit_price = optional(decimal_in(_LINE["unit_price"], "500.00",
                                     "Net price per unit to the customer; the cost plus "
                                     "the mark-up unless given."))
    vat_rate = optional(rate_in(_LINE["vat_rate"]))


class CalculationInSchema(calculations.CalculationSchema):
    markup = decimal_in(_CALCULATION["markup"], "25",
                        "Percent added to the cost of each line whose price is not given.")
    lines = fields.List(fields.Nested(CalculationLineInSchema), required=True)


class CalculationDecisionSchema(calculations.DecisionSchema):
    """Sent to the customer, accepted, or rejected with a reason."""


class CalculationLineSchema(Schema):
    position = fields.Integer()
    price_item_id = fields.Integer(allow_none=True)
    description = fields.String()
    category = fields.String()
    quantity = decimal_out(4, example="22.0000")
    unit = fields.String()
    unit_cost = decimal_out(4, example="400.0000")
    unit_price = decimal_out(4, example="500.0000")
    vat_rate = rate_out()
    net = decimal_out(2, example="11000.00")
    vat = decimal_out(2, example="880.00")
    gross = decimal_out(2, example="11880.00")


class CalculationSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    number = fields.Integer(metadata={"description": "The version, 1, 2, 3... in its case."})
    status = fields.String(metadata={"enum": list(STATUSES)})
    markup = decimal_out(2, example="25.00")
    currency = fields.String()
    note = fields.String()
    reason = fields.String(metadata={"description": "Why the customer rejected it."})
    cost = decimal_out(2, example="11020.00")
    net = decimal_out(2, example="13750.00")
    vat = decimal_out(2, example="1152.50")
    gross = decimal_out(2, example="14902.50")
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    lines = fields.List(fields.Nested(CalculationLineSchema))


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_calculations", __name__, url_prefix="/",
                   description="Calculations of cases: versions and the customer's decision")

    @bp.route("/cases/<int:case_id>/calculations")
    class OfCase(MethodView):
        decorators = [staff_only]

        @bp.response(200, CalculationSchema(many=True))
        @bp.alt_response(404, description="No such case, or the caller may not see it.")
        def get(self, case_id):
            """The case's calculations, the latest version first."""
            return calculations.of_case(db(), _case(case_id))

        @bp.arguments(CalculationInSchema)
        @bp.response(201, CalculationSchema)
        @bp.alt_response(403, description="Needs core.calculate and the right to change "
                                          "the case.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, case_id):
            """A new version; the open versions before it are superseded."""
            case = _case(case_id)
            return committed(lambda s: calculations.create(s, case, request.get_json(), actor()),
                         201)

    @bp.route("/calculations/<int:calculation_id>")
    class Item(MethodView):
        decorators = [staff_only]

        @bp.response(200, CalculationSchema)
        @bp.alt_response(404, description="No such calculation, or the caller may not see "
                                          "its case.")
        def get(self, calculation_id):
            """One version with its lines."""
            return _calculation(calculation_id)

    @bp.route("/calculations/<int:calculation_id>/decision")
    class Decision(MethodView):
        decorators = [staff_only]

        @bp.arguments(CalculationDecisionSchema)
        @bp.response(200, CalculationSchema)
        @bp.alt_response(403, description="Needs core.calculate and the right to change "
                                          "the case.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, calculation_id):
            """Sent to the customer, accepted, or rejected with a ``reason``."""
            found = _calculation(calculation_id)
            return committed(lambda s: calculations.decide(s, found, request.get_json(), actor()))

    @bp.route("/calculations/<int:calculation_id>/invoice")
    class Invoicing(MethodView):
        decorators = [staff_only]

        @bp.response(201, InvoiceDetailSchema)
        @bp.alt_response(403, description="Needs core.billing.")
        @bp.alt_response(422, description="A superseded or rejected version, or a case "
                                          "with no client.")
        def post(self, calculation_id):
            """A draft invoice of the case's client with the version's lines at the
            customer's prices; issue it with POST /invoices/{id}/issue."""
            found = _calculation(calculation_id)
            return committed(lambda s: calculations.invoice(s, found, actor()), 201)

    return [bp]


def _case(case_id: int) -> Case:
    found = records.get(db(), Case, case_id, actor())
    if found is None:
        abort(404)
    return found


def _calculation(calculation_id: int):
    found = calculations.get(db(), calculation_id, actor())
    if found is None:
        abort(404)
    return found


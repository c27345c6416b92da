"""The expertise reports in the REST API, under /api/v1/expertise/reports.

``margins`` (margin per department of the offers made in a period), ``waiting`` (the
offers waiting for approval, who is asked and for how long), ``utilisation`` (experts'
hours in open inquiries and in the opinions delivered in a period) and ``deadlines``
(the opinions being prepared whose deadline has passed or comes within ``days`` days),
from ``reports.py``. They need ``expertise.reports`` (403) and count only the inquiries
the caller may see. A period is ``from`` and ``to`` (YYYY-MM-DD; by default from 1
January to today); a bad date, a period ending before it starts or a bad number of days
answers 422 under the parameter's name. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.api import crud
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import Forbidden, ValidationError
from core.web.db import db
from plugins.expertise import reports

reports_bp = Blueprint("expertise_reports", __name__, url_prefix="/reports",
                       description="Margin per department, offers waiting for approval, "
                                   "expert utilisation, deadlines at risk")
BLUEPRINTS = [reports_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
READER = "Needs expertise.reports."


def _date(name: str, description: str) -> fields.Date:
    return fields.Date(data_key=name, load_default=None, error_messages={
        "invalid": _l("Give a date as YYYY-MM-DD.")}, metadata={"description": description})


class PeriodArgs(Schema):
    first = _date("from", "The first day of the period; default: 1 January of the last "
                          "day's year.")
    last = _date("to", "The last day of the period, included; default: today.")


class DeadlineArgs(Schema):
    days = fields.Integer(load_default=reports.DAYS, validate=validate.Range(
        0, reports.MAX_DAYS, error=_l("Give a whole number of days from 0 to 366.")),
        error_messages={"invalid": _l("Give a whole number of days from 0 to 366.")},
        metadata={"description": "How many days ahead a deadline is at risk; default: "
                                 f"{reports.DAYS}."})


class _Period(Schema):
    first = fields.Date(attribute="period.first", data_key="from")
    last = fields.Date(attribute="period.last", data_key="to")


def _percent(description: str) -> fields.Decimal:
    return decimal_out(2, description, example="25.00", allow_none=True)


class DepartmentMarginSchema(Schema):
    department_id = fields.Integer(allow_none=True, metadata={
        "description": "Null in the total."})
    department = fields.String()
    offers = fields.Integer(metadata={"description": "Inquiries that reached the offer in "
                                                     "the period."})
    price = decimal_out(2, "Their amounts summed, net.")
    cost = decimal_out(2, "Their costs summed.")
    margin = _percent("The margin of the sums, in percent; null without a price.")
    average_margin = _percent("The mean of the offers' margins, in percent.")
    minimum = decimal_out(2, "The process's minimum margin, in percent.", example="25.00")
    under_minimum = fields.Boolean(metadata={"description": "The average margin is below "
                                                            "the minimum."})
    below_minimum = fields.Integer(metadata={"description": "Offers priced below the "
                                                            "minimum."})
    accepted = fields.Integer(metadata={"description": "Of those offers, how many the "
                                                       "client accepted."})
    accepted_value = decimal_out(2, "Their amounts summed.")


class MarginsSchema(_Period):
    minimum = decimal_out(2, "The process's minimum margin, in percent.", example="25.00")
    lines = fields.List(fields.Nested(DepartmentMarginSchema), metadata={
        "description": "One per department with offers, by name."})
    total = fields.Nested(DepartmentMarginSchema)


class WaitingOfferSchema(Schema):
    request_id = fields.Integer(metadata={"description": "The approval request."})
    case_id = fields.Integer(metadata={"description": "The inquiry."})
    title = fields.String()
    department_id = fields.Integer(allow_none=True)
    department = fields.String()
    amount = decimal_out(2, allow_none=True)
    margin = _percent("The offer's margin, in percent.")
    level = fields.String(metadata={"enum": ["manager", "board"]})
    approver_id = fields.Integer(allow_none=True, metadata={
        "description": "The person asked; null when any holder of the role may decide."})
    approver = fields.String(metadata={"description": "Their name, or the role's."})
    requested_at = fields.DateTime()
    requested_by = fields.String()
    days_waiting = fields.Integer()


class ExpertLoadSchema(Schema):
    expert_id = fields.Integer()
    name = fields.String()
    internal = fields.Boolean()
    department = fields.String()
    rate = decimal_out(2, "What an hour costs, net.")
    open_hours = decimal_out(2, "Estimated for the inquiries not finished.", example="12.50")
    open_inquiries = fields.Integer()
    delivered_hours = decimal_out(2, "Of the opinions delivered in the period.",
                                  example="8.00")
    delivered = fields.Integer(metadata={"description": "Opinions delivered in the period."})
    absence_days = fields.Integer(metadata={"description": "Days of the period absent."})


class UtilisationSchema(_Period):
    experts = fields.List(fields.Nested(ExpertLoadSchema), metadata={
        "description": "The busiest first."})
    open_hours = decimal_out(2, example="12.50")
    delivered_hours = decimal_out(2, example="8.00")


class DeadlineAtRiskSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    days_left = fields.Integer(metadata={"description": "Below zero once overdue."})
    overdue = fields.Boolean()
    court_id = fields.Integer(allow_none=True)
    court = fields.String(metadata={"description": "Empty unless the caller may see it."})
    court_reference = fields.String()
    department_id = fields.Integer(allow_none=True)
    department = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner = fields.String()
    experts = fields.List(fields.String())


@reports_bp.route("/margins")
class Margins(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, MarginsSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period.")
    def get(self, args):
        """Per department, the offers made in the period: price, cost, margin, accepted."""
        return _answer(lambda: reports.margin_per_department(
            db(), crud.caller(), args["first"], args["last"]))


@reports_bp.route("/waiting")
class Waiting(MethodView):
    @reports_bp.response(200, WaitingOfferSchema(many=True))
    @reports_bp.alt_response(403, description=READER)
    def get(self):
        """The offers waiting for approval, the longest waiting first."""
        return _answer(lambda: reports.offers_waiting(db(), crud.caller()))


@reports_bp.route("/utilisation")
class Utilisation(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, UtilisationSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period.")
    def get(self, args):
        """Per expert, the hours in open inquiries and in the opinions delivered in the
        period, with the days absent."""
        return _answer(lambda: reports.expert_utilisation(
            db(), crud.caller(), args["first"], args["last"]))


@reports_bp.route("/deadlines")
class Deadlines(MethodView):
    @reports_bp.arguments(DeadlineArgs, location="query")
    @reports_bp.response(200, DeadlineAtRiskSchema(many=True))
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad number of days.")
    def get(self, args):
        """The opinions being prepared whose deadline has passed or comes within the
        days given, the most overdue first."""
        return _answer(lambda: reports.deadlines_at_risk(db(), crud.caller(),
                                                         days=args["days"]))


def _answer(compute):
    try:
        return compute()
    except (ValidationError, Forbidden) as exc:
        return crud.refusal(exc)

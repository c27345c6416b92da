"""The grants' deadlines and reports in the REST API, under /api/v1/grants.

``deadlines``: the open obligations of the clients' grants (``deadlines.py``: none of an
application in a final phase, of a cancelled payment request, or of an instalment after
its contract's end) the caller may see, dated in a span of days (``from``, ``to``; today
and the next 90 days by default), narrowed to a client (``client``) or to what is due
(``kind``, repeatable); ``overdue=true`` gives every one past its date instead. A
cooperation contract's instalment comes with its contract and the amounts its invoice
will say. Any staff account may ask.

``reports/won`` (grants won in a period, by month, quarter or year), ``reports/durability``
(the clients in the durability period with their indicators and next report),
``reports/overdue`` (payment requests and durability reports past their date) and
``reports/at-risk`` (``reports.py``) need ``grants.reports`` (403) and count only the
applications the caller may see. A bad date or period, an unknown grouping or kind
answer 422 under the parameter's name. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.api import crud
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.report_periods import period
from core.validation import an_id
from core.web.db import db
from plugins.grants import deadlines, reports

deadlines_bp = Blueprint("grants_deadlines", __name__, url_prefix="/deadlines",
                         description="Settlement dates of the clients' grants")
reports_bp = Blueprint("grants_reports", __name__, url_prefix="/reports",
                       description="Grants won, clients in durability, overdue obligations, "
                                   "clients at risk")
BLUEPRINTS = [deadlines_bp, reports_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
READER = "Needs grants.reports."
AHEAD = timedelta(days=90)  # the span of days listed by default
KINDS = ", ".join(deadlines.KINDS)


def _date(name: str, description: str) -> fields.Date:
    return fields.Date(data_key=name, load_default=None, error_messages={
        "invalid": _l("Give a date as YYYY-MM-DD.")}, metadata={"description": description})


class DeadlineArgs(Schema):
    first = _date("from", "The first day; default: today.")
    last = _date("to", "The last day, included; default: 90 days after the first.")
    client = fields.Integer(load_default=None, validate=an_id(), metadata={
        "description": "Only this client firm's applications (an organisation's id)."})
    kind = fields.List(fields.String(validate=validate.OneOf(
        deadlines.KINDS, error=_l("Choose what is due from the list."))), load_default=None,
        metadata={"description": f"Only these kinds of obligation: {KINDS}."})
    overdue = fields.Boolean(load_default=False, metadata={
        "description": "Every obligation past its date instead, from/to ignored."})


class PeriodArgs(Schema):
    first = _date("from", "The first day of the period; default: 1 January of the last "
                          "day's year.")
    last = _date("to", "The last day of the period, included; default: today.")
    by = fields.String(load_default="month", validate=validate.OneOf(
        reports.GROUPINGS, error=_l("Sum by month, quarter or year.")), metadata={
        "description": "Sum by month, quarter or year."})


class GrantsObligationSchema(Schema):
    key = fields.String(metadata={"description": "Unique and stable: <kind>-<id>, or "
                                                 "call-<application id>."})
    kind = fields.String(metadata={"enum": list(deadlines.KINDS)})
    kind_name = fields.String(metadata={"description": "In the caller's language."})
    record_id = fields.Integer(metadata={
        "description": "The payment request, the durability report, the call or the "
                       "contract's instalment."})
    case_id = fields.Integer(metadata={"description": "The grant application; for an "
                                                     "instalment, the opportunity won."})
    application = fields.String(metadata={"description": "That case's title."})
    organisation_id = fields.Integer(allow_none=True, metadata={
        "description": "The client firm (an instalment's: the contract's)."})
    client = fields.String(metadata={"description": "Empty unless the caller may see it."})
    owner_id = fields.Integer(allow_none=True, metadata={
        "description": "Who is responsible for the case."})
    what = fields.String(metadata={"description": "What is due, in the caller's language."})
    due_on = fields.Date()
    days_left = fields.Integer(metadata={"description": "Below zero once overdue."})
    overdue = fields.Boolean()
    reminded_on = fields.Date(allow_none=True, metadata={
        "description": "When the owner and the client were reminded."})
    escalated_on = fields.Date(allow_none=True, metadata={
        "description": "When the owner's supervisor was told; never for an instalment."})
    contract_id = fields.Integer(allow_none=True, metadata={
        "description": "An instalment's cooperation contract; null for the other kinds."})
    net = decimal_out(2, "What an instalment's invoice will say, net; null for the other "
                         "kinds.", allow_none=True)
    gross = decimal_out(2, "The same, gross (the contract's VAT rate).", allow_none=True)
    currency = fields.String(metadata={"description": "An instalment's; empty for the "
                                                     "other kinds."})


class _Period(Schema):
    first = fields.Date(attribute="period.first", data_key="from")
    last = fields.Date(attribute="period.last", data_key="to")


class GrantsWonLineSchema(Schema):
    first = fields.Date(metadata={"description": "The first day of the month, quarter or "
                                                 "year."})
    label = fields.String(metadata={"example": "2026-03"})
    currency = fields.String()
    count = fields.Integer()
    amount = decimal_out(2, "The awarded amounts summed.")
    case_ids = fields.List(fields.Integer())


class GrantsAwardSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    client = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner = fields.String()
    awarded_on = fields.Date()
    amount = decimal_out(2, allow_none=True)
    currency = fields.String()


class GrantsTotalSchema(Schema):
    currency = fields.String()
    amount = decimal_out(2)


class GrantsWonSchema(_Period):
    grouping = fields.String(data_key="by")
    lines = fields.List(fields.Nested(GrantsWonLineSchema), metadata={
        "description": "Every month (quarter, year) of the period, oldest first."})
    count = fields.Integer(metadata={"description": "Applications awarded in the period."})
    totals = fields.Function(lambda won: [{"currency": c, "amount": a}
                                          for c, a in won.totals.items()],
                             metadata={"type": "array", "items": {"type": "object"}})
    awards = fields.List(fields.Nested(GrantsAwardSchema), metadata={
        "description": f"The applications, by day awarded: at most {reports.ENTRIES_MAX}."})
    more = fields.Integer(metadata={"description": "Those beyond the listed ones."})


class GrantsIndicatorSchema(Schema):
    indicator_id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    baseline = decimal_out(4)
    target = decimal_out(4)
    latest = decimal_out(4, "From the latest delivered report giving it; null before.",
                         allow_none=True)
    latest_period_end = fields.Date(allow_none=True)
    reached = fields.Boolean(allow_none=True)


class GrantsNextReportSchema(Schema):
    report_id = fields.Integer()
    position = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    due_on = fields.Date()
    days_left = fields.Integer()
    overdue = fields.Boolean()


class GrantsInDurabilitySchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    client = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner = fields.String()
    project_end = fields.Date(allow_none=True)
    years = fields.Integer(allow_none=True, metadata={"description": "Of durability."})
    indicators = fields.List(fields.Nested(GrantsIndicatorSchema))
    next_report = fields.Nested(GrantsNextReportSchema, allow_none=True, metadata={
        "description": "The earliest report not delivered; null when all are."})
    delivered = fields.Integer()
    due = fields.Integer(metadata={"description": "Reports still to deliver."})


class GrantsOverdueSchema(Schema):
    obligations = fields.List(fields.Nested(GrantsObligationSchema), metadata={
        "description": "The longest overdue first."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class GrantsAtRiskSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    client = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner = fields.String()
    reasons = fields.List(fields.String())


@deadlines_bp.route("")
class Deadlines(MethodView):
    @deadlines_bp.arguments(DeadlineArgs, location="query")
    @deadlines_bp.response(200, GrantsObligationSchema(many=True))
    @deadlines_bp.alt_response(422, description="A bad date or span, an unknown kind.")
    def get(self, args):
        """The open obligations dated in the span (or every overdue one), by date."""
        session, caller = db(), crud.caller()
        try:
            if args["overdue"]:
                return deadlines.overdue(session, caller, args["client"], args["kind"])
            first = args["first"] or today()
            last = args["last"] or first + AHEAD
            return deadlines.upcoming(session, caller, first, last, args["client"],
                                      args["kind"])
        except ValidationError as exc:
            renamed = {"start": "from", "end": "to"}
            return crud.refusal(ValidationError(
                {renamed.get(k, k): v for k, v in exc.errors.items()}))


@reports_bp.route("/won")
class Won(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, GrantsWonSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period.")
    def get(self, args):
        """The applications awarded in the period, counted and summed per month, quarter
        or year."""
        return _answer(lambda: reports.grants_won(
            db(), crud.caller(), period(args["first"], args["last"]), args["by"]))


@reports_bp.route("/durability")
class InDurability(MethodView):
    @reports_bp.response(200, GrantsInDurabilitySchema(many=True))
    @reports_bp.alt_response(403, description=READER)
    def get(self):
        """The applications in the durability period, with their indicators' latest
        values and next report."""
        return _answer(lambda: reports.in_durability(db(), crud.caller()))


@reports_bp.route("/overdue")
class Overdue(MethodView):
    @reports_bp.response(200, GrantsOverdueSchema)
    @reports_bp.alt_response(403, description=READER)
    def get(self):
        """Payment requests not submitted and durability reports not delivered by their
        date."""
        return _answer(lambda: reports.overdue(db(), crud.caller()))


@reports_bp.route("/at-risk")
class AtRisk(MethodView):
    @reports_bp.response(200, GrantsAtRiskSchema(many=True))
    @reports_bp.alt_response(403, description=READER)
    def get(self):
        """The applications at risk of missing an indicator's target or a report."""
        return _answer(lambda: reports.at_risk(db(), crud.caller()))


def _answer(compute):
    try:
        return compute()
    except (ValidationError, Forbidden) as exc:
        return crud.refusal(exc)

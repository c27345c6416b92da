"""The printing house's reports in the REST API, under /api/v1/printing/reports
(``reports.py``): ``approvals`` (calculations waiting for approval, oldest first),
``win-rate`` and ``complaints`` over a period, and the reps' sales picture, ``sales``,
with the entries behind it, ``sales/entries``. Long lists (the entries, the open
projects of ``win-rate``) give the newest ``reports.ENTRIES_MAX``; ``more`` and
``open_more`` count the rest. Everything needs ``printing.reports`` (403) and counts
only the projects the caller may see; a period ending before it starts, an unknown or
out-of-range rep or team, or an unknown voivodeship answer 422 under the parameter's
name. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from core import permissions
from core.api import crud
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import ValidationError
from core.report_periods import every, period
from core.validation import an_id
from core.web.db import db
from plugins.printing import regions, reports

reports_bp = Blueprint("printing_reports", __name__, url_prefix="/reports",
                       description="Approvals waiting, win rate, complaint rate, the reps' "
                                   "sales picture")
reports_bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
BLUEPRINTS = [reports_bp]
READER = "Needs printing.reports."


def _date(name: str, description: str) -> fields.Date:
    return fields.Date(data_key=name, load_default=None, error_messages={
        "invalid": _l("Give a date as YYYY-MM-DD.")}, metadata={"description": description})


class PeriodArgs(Schema):
    first = _date("from", "The first day of the period; default: 1 January of the last "
                          "day's year.")
    last = _date("to", "The last day of the period, included; default: today.")


class WinRateArgs(PeriodArgs):
    rep = fields.Integer(load_default=None, validate=an_id(), metadata={
        "description": "Only this account manager's projects (a staff account's id)."})


class SalesArgs(PeriodArgs):
    first = _date("from", "The first day of the period; default: the first of the last "
                          "day's month.")
    rep = fields.Integer(load_default=None, validate=an_id(),
                         metadata={"description": "Only this rep."})
    region = fields.String(load_default=None, validate=validate.OneOf(
        regions.KEYS, error=_l("Choose a voivodeship from the list.")), metadata={
        "description": "Only customers in this voivodeship: "
                       f"{', '.join(regions.KEYS)}."})
    team = fields.Integer(load_default=None, validate=an_id(), metadata={
        "description": "The team's members as the reps (every one listed, with zeros)."})


class PrintingWaitingSchema(Schema):
    request_id = fields.Integer()
    case_id = fields.Integer(metadata={"description": "The project."})
    title = fields.String()
    amount = decimal_out(2, "The project's amount: its latest calculation's net.",
                         allow_none=True)
    currency = fields.String()
    calculation_id = fields.Integer(allow_none=True, metadata={
        "description": "The project's latest calculation."})
    calculation_number = fields.Integer(allow_none=True)
    approver_id = fields.Integer(allow_none=True, metadata={
        "description": "The one person asked; null: any holder of approver_role."})
    approver = fields.String(metadata={"description": "That person's name."})
    approver_role = fields.String(allow_none=True, metadata={
        "description": "The role asked; null: the direct supervisor."})
    approver_role_name = fields.String()
    requested_by_id = fields.Integer(allow_none=True)
    requested_by = fields.String()
    requested_at = fields.DateTime()
    age_hours = fields.Integer(metadata={"description": "Whole hours waiting."})
    age_days = fields.Integer(metadata={"description": "Whole days waiting."})
    reason = fields.String(metadata={"description": "Why this approval is needed."})


class _Period(Schema):
    first = fields.Date(attribute="period.first", data_key="from")
    last = fields.Date(attribute="period.last", data_key="to")


class PrintingRepLineSchema(Schema):
    rep_id = fields.Integer(allow_none=True, metadata={
        "description": "The account manager; null: projects nobody owns, or in the total, "
                       "everyone's."})
    name = fields.String()
    won = fields.Integer(metadata={"description": "Reached the order or a later phase."})
    won_value = decimal_out(2, "The won projects' amounts.")
    lost = fields.Integer()
    open = fields.Integer(metadata={"description": "Neither won nor lost yet."})
    rate = decimal_out(4, "won / (won + lost); null when none is decided.",
                       example="0.6667", allow_none=True)


class PrintingOpenProjectSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    rep_id = fields.Integer(allow_none=True)
    rep = fields.String()
    phase_key = fields.String()
    phase = fields.String(metadata={"description": "In the caller's language."})
    amount = decimal_out(2, allow_none=True)
    opened_at = fields.DateTime()


class PrintingWinRateSchema(_Period):
    lines = fields.List(fields.Nested(PrintingRepLineSchema))
    total = fields.Nested(PrintingRepLineSchema)
    open = fields.List(fields.Nested(PrintingOpenProjectSchema), metadata={
        "description": f"The projects still open, newest first: at most "
                       f"{reports.ENTRIES_MAX}."})
    open_more = fields.Integer(metadata={
        "description": "The open projects beyond those listed; 0 when all are."})


class PrintingProductLineSchema(Schema):
    item_id = fields.Integer(metadata={"description": "The item of printing.products."})
    code = fields.String()
    name = fields.String()
    category = fields.String()
    delivered = fields.Function(lambda line: len(line.delivered), metadata={
        "type": "integer", "description": "Delivered projects using it."})
    complained = fields.Function(lambda line: len(line.complained), metadata={
        "type": "integer", "description": "Of them, those with at least one complaint."})
    complained_case_ids = fields.List(fields.Integer(), attribute="complained")
    rate = decimal_out(4, "complained / delivered.", example="0.2500", allow_none=True)


class PrintingComplaintRateSchema(_Period):
    lines = fields.List(fields.Nested(PrintingProductLineSchema), metadata={
        "description": "The highest rate first."})
    delivered = fields.Integer(metadata={"description": "Projects delivered in the period."})
    complained = fields.Integer()
    rate = decimal_out(4, allow_none=True, example="0.1000")


class PrintingSalesLineSchema(Schema):
    key = fields.String(metadata={"description": "The rep's id, or the voivodeship's key; "
                                                 "\"\" for nobody's projects or the total."})
    name = fields.String()
    visits = fields.Integer(metadata={"description": "Meetings the rep recorded."})
    calls = fields.Integer()
    offers = fields.Integer(metadata={"description": "Calculations sent to the customer."})
    offer_documents = fields.Integer(metadata={
        "description": "Offers made from the printing.offer template."})
    won = fields.Integer(metadata={"description": "Projects that reached the order."})
    won_value = decimal_out(2)


class PrintingSalesPictureSchema(_Period):
    by_rep = fields.List(fields.Nested(PrintingSalesLineSchema))
    by_region = fields.List(fields.Nested(PrintingSalesLineSchema))
    total = fields.Nested(PrintingSalesLineSchema)


class PrintingSalesEntrySchema(Schema):
    kind = fields.String(metadata={"description": ", ".join(reports.ENTRY_KINDS)})
    at = fields.DateTime()
    rep_id = fields.Integer(allow_none=True)
    region = fields.String()
    subject = fields.String()
    amount = decimal_out(2, allow_none=True)
    case_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(allow_none=True)
    document_id = fields.Integer(allow_none=True)
    calculation_id = fields.Integer(allow_none=True)
    case_title = fields.String(metadata={"description": "Empty unless the caller may see it."})
    organisation_name = fields.String()
    person_name = fields.String()


class PrintingSalesEntriesSchema(Schema):
    entries = fields.List(fields.Nested(PrintingSalesEntrySchema), metadata={
        "description": f"The newest {reports.ENTRIES_MAX} entries, newest first."})
    more = fields.Integer(metadata={
        "description": "The entries beyond those listed; 0 when all are. Narrow the "
                       "period, the rep or the region to see them."})


@reports_bp.route("/approvals")
class Approvals(MethodView):
    @reports_bp.response(200, PrintingWaitingSchema(many=True))
    @reports_bp.alt_response(403, description=READER)
    def get(self):
        """The projects' calculations waiting for approval, the longest waiting first."""
        _reader()
        return reports.waiting(db(), crud.caller())


@reports_bp.route("/win-rate")
class WinRate(MethodView):
    @reports_bp.arguments(WinRateArgs, location="query")
    @reports_bp.response(200, PrintingWinRateSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period or an unknown rep.")
    def get(self, args):
        """The projects opened in the period per account manager: won, lost, the rate;
        the open ones apart."""
        _reader()
        return _answer(lambda: reports.win_rate(
            db(), crud.caller(), period(args["first"], args["last"]), args["rep"]),
            lambda: period(args["first"], args["last"]),
            lambda: args["rep"] is None or reports.rep(db(), args["rep"]))


@reports_bp.route("/complaints")
class Complaints(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, PrintingComplaintRateSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period.")
    def get(self, args):
        """The products on the projects delivered in the period and how many of those
        have a complaint."""
        _reader()
        return _answer(lambda: reports.complaint_rate(
            db(), crud.caller(), period(args["first"], args["last"])))


@reports_bp.route("/sales")
class Sales(MethodView):
    @reports_bp.arguments(SalesArgs, location="query")
    @reports_bp.response(200, PrintingSalesPictureSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period, an unknown rep or team.")
    def get(self, args):
        """Visits, calls, calculations sent, offers made and projects won in the period,
        per rep and per voivodeship."""
        _reader()
        return _answer(lambda: _picture(args), *_sales_checks(args))


@reports_bp.route("/sales/entries")
class SalesEntries(MethodView):
    @reports_bp.arguments(SalesArgs, location="query")
    @reports_bp.response(200, PrintingSalesEntriesSchema)
    @reports_bp.alt_response(403, description=READER)
    @reports_bp.alt_response(422, description="A bad period, an unknown rep or team.")
    def get(self, args):
        """The entries behind the sales picture's figures, newest first; ``more`` counts
        those beyond the listed ones."""
        _reader()
        return _answer(lambda: _entries(_picture(args)), *_sales_checks(args))


def _picture(args) -> reports.SalesPicture:
    return reports.sales_picture(
        db(), crud.caller(), period(args["first"], args["last"], default="month"),
        args["rep"], args["region"], args["team"])


def _entries(picture: reports.SalesPicture) -> dict:
    entries, more = reports.capped(picture.entries)
    return {"entries": entries, "more": more}


def _sales_checks(args) -> tuple:
    return (lambda: period(args["first"], args["last"], default="month"),
            lambda: reports.narrowing(db(), args["rep"], args["team"], args["region"]))


def _answer(compute, *checks):
    """What ``compute`` gives; a refusal naming what every one of ``checks`` refused."""
    try:
        every(*checks)
        return compute()
    except ValidationError as exc:
        return crud.refusal(exc)


def _reader() -> None:
    if not permissions.can(crud.caller(), reports.REPORTS):
        abort(403, message=_("You may not read the printing reports."))

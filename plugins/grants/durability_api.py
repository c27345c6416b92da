"""The durability period in the REST API, under /api/v1/grants (GR-4).

``applications/<case_id>/indicators``: a grant application's indicators (GET) and the
whole list set at once (PUT: the n-th item is the n-th indicator; in durability those
reported on come first, unchanged). ``applications/<case_id>/durability-reports``: the
reports of its durability period. ``applications/<case_id>/risk``: whether it is at
risk and why; ``applications/at-risk``: every application at risk the caller may see.
``durability-reports/<id>``: one report with its values; ``/values`` records them (PUT),
``/deliver`` marks it delivered (with the values, and its document, when sent),
``/document`` makes its document. Reading needs the application to be visible, changing
the right to change it. ``If-Match`` with the report's version is optional on the
changes; a stale one answers 412. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core.api import crud, schemas
from core.api.auth import staff_only
from core.errors import Forbidden, ValidationError
from core.models import Case
from core.web.db import db
from plugins.grants import durability
from plugins.grants.models import REPORT_STATUSES, DurabilityReport

NUMBER = {"type": "string", "format": "decimal", "example": "5"}


def _number(description: str, **kwargs) -> fields.Raw:
    """A quantity: a JSON number or a decimal string ("12.5"), checked by the service so
    that every problem is named at once."""
    return fields.Raw(metadata={**NUMBER, "description": description}, **kwargs)


class IndicatorInSchema(schemas.Strict):
    name = fields.String(metadata={"description": "Required; unique in the application."})
    unit = fields.String(metadata={"description": "Such as jobs, people, kWh; optional."})
    baseline = _number("The value before the project, 0 or more; 0 when left out.")
    target = _number("The value promised, more than 0.")


class IndicatorsInSchema(schemas.Strict):
    indicators = fields.List(fields.Nested(IndicatorInSchema), required=True, metadata={
        "description": "Every indicator, in order; those left out are removed (not in "
                       "durability, where those reported on keep their name, baseline "
                       "and target and new ones come after them)."})


class IndicatorSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String()
    unit = fields.String()
    baseline = fields.String(metadata=NUMBER)
    target = fields.String(metadata=NUMBER)
    last_value = fields.String(allow_none=True, metadata={
        **NUMBER, "description": "From the latest delivered report giving it (a report "
                                 "not delivered yet does not count); null before."})


class ValueSchema(Schema):
    indicator_id = fields.Integer()
    name = fields.String()
    value = fields.String(metadata=NUMBER)


class ReportSchema(Schema):
    """A durability report; ``version`` is its ETag."""

    id = fields.Integer()
    version = fields.Integer(metadata={
        "description": "Changes with every change; send it in If-Match to change only "
                       "the version you saw."})
    case_id = fields.Integer(metadata={"description": "The grant application."})
    position = fields.Integer(metadata={"description": "1 for the first year."})
    title = fields.String(metadata={"description": "In the caller's language."})
    period_start = fields.Date()
    period_end = fields.Date()
    due_on = fields.Date(metadata={"description": "To be delivered to the grantor by."})
    status = fields.String(metadata={"enum": list(REPORT_STATUSES)})
    overdue = fields.Boolean(metadata={"description": "Due and not delivered after the day."})
    delivered_on = fields.Date(allow_none=True)
    document_id = fields.Integer(allow_none=True, metadata={
        "description": "Its latest document (see /api/v1/documents)."})
    values = fields.List(fields.Nested(ValueSchema), metadata={
        "description": "The values recorded for its period."})


class ValuesInSchema(schemas.Strict):
    values = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, metadata={
        "description": "Indicator id -> its value for the period (a number, 0 or more); "
                       "every indicator of the application.",
        "example": {"12": 3, "13": "40.5"}})


class DeliverInSchema(schemas.Strict):
    delivered_on = fields.Raw(load_default=None, metadata={
        "type": "string", "format": "date", "description": "Required: after the period's "
                                                          "end, not in the future."})
    values = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "As for /values, recorded with the delivery; without it the "
                       "values recorded before are delivered."})
    document = fields.Boolean(load_default=False, metadata={
        "description": "Make the report's document as well."})


class RiskSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    organisation_id = fields.Integer(allow_none=True, metadata={
        "description": "The client firm; null when there is none or the caller may not "
                       "see it."})
    organisation_name = fields.String(allow_none=True)
    at_risk = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={
        "description": "In words, in the caller's language: a report overdue, an "
                       "indicator's last value under the threshold."})


class NoBodySchema(schemas.Strict):
    pass


applications_bp = Blueprint("grants_durability_applications", __name__,
                            url_prefix="/applications",
                            description="A grant application's indicators, durability "
                                        "reports and risk")
reports_bp = Blueprint("grants_durability_reports", __name__,
                       url_prefix="/durability-reports",
                       description="Durability reports: values, delivery, document")
BLUEPRINTS = [applications_bp, reports_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything

NOT_FOUND = "No grant application of this id that the caller may see."


@applications_bp.route("/<int:case_id>/indicators")
class Indicators(MethodView):
    @applications_bp.response(200, IndicatorSchema(many=True))
    @applications_bp.alt_response(404, description=NOT_FOUND)
    def get(self, case_id):
        """The application's indicators in their order."""
        session, case = db(), _application(case_id)
        return _indicators_out(session, case, durability.indicators(session, case,
                                                                    crud.caller()))

    @applications_bp.arguments(IndicatorsInSchema)
    @applications_bp.response(200, IndicatorSchema(many=True))
    @applications_bp.alt_response(403, description="The caller may not change the "
                                                   "application.")
    @applications_bp.alt_response(422, description="Field-level errors as "
                                                   "indicators.<index>.<field> (name, "
                                                   "unit, baseline, target); indicators "
                                                   "for the list; _ outside the phases "
                                                   "from awarded to durability.")
    def put(self, data, case_id):
        """Set the application's indicators: the whole list, in order."""
        case = _application(case_id)
        return _committed(lambda session: _indicators_out(session, case, (
            durability.set_indicators(session, case, data["indicators"], crud.caller()))))


@applications_bp.route("/<int:case_id>/durability-reports")
class Reports(MethodView):
    @applications_bp.response(200, ReportSchema(many=True))
    @applications_bp.alt_response(404, description=NOT_FOUND)
    def get(self, case_id):
        """The reports of the application's durability period, the first year first."""
        session, case = db(), _application(case_id)
        return [_report_out(session, r) for r in durability.reports(session, case,
                                                                   crud.caller())]


@applications_bp.route("/<int:case_id>/risk")
class OneRisk(MethodView):
    @applications_bp.response(200, RiskSchema)
    @applications_bp.alt_response(404, description=NOT_FOUND)
    def get(self, case_id):
        """Whether the application is at risk in its durability period, and why."""
        session, case = db(), _application(case_id)
        risk = durability.risk_of(session, case, actor=crud.caller())
        return _risk_out(case, risk, durability.client_of(session, case, crud.caller())
                         if risk is None else risk.organisation)


@applications_bp.route("/at-risk")
class AtRisk(MethodView):
    @applications_bp.response(200, RiskSchema(many=True))
    def get(self):
        """The applications in durability the caller may see that are at risk, by
        client."""
        return [_risk_out(r.case, r, r.organisation)
                for r in durability.at_risk(db(), actor=crud.caller())]


@reports_bp.route("/<int:report_id>")
class OneReport(MethodView):
    @reports_bp.response(200, ReportSchema)
    @reports_bp.alt_response(404, description="No such report, or the caller may not see "
                                              "its application.")
    def get(self, report_id):
        """One report with its values; the ETag is its version."""
        found = _report(report_id)
        return _report_out(db(), found), 200, {"ETag": f'"{found.version}"'}


@reports_bp.route("/<int:report_id>/values")
class Values(MethodView):
    @reports_bp.arguments(ValuesInSchema)
    @reports_bp.response(200, ReportSchema)
    @reports_bp.alt_response(403, description="The caller may not change the application.")
    @reports_bp.alt_response(412, description="If-Match was sent and the report changed "
                                              "since.")
    @reports_bp.alt_response(422, description="values.<indicator id>: missing, not a "
                                              "number 0 or more, or no such indicator; "
                                              "status: delivered already; _ outside "
                                              "durability.")
    def put(self, data, report_id):
        """Record each indicator's value for the report's period."""
        found = _report(report_id)
        version = crud.if_match()
        return _committed(lambda session: _report_out(session, durability.report_values(
            session, found, data["values"], crud.caller(), version)))


@reports_bp.route("/<int:report_id>/deliver")
class Deliver(MethodView):
    @reports_bp.arguments(DeliverInSchema)
    @reports_bp.response(200, ReportSchema)
    @reports_bp.alt_response(403, description="The caller may not change the application.")
    @reports_bp.alt_response(412, description="If-Match was sent and the report changed "
                                              "since.")
    @reports_bp.alt_response(422, description="delivered_on: missing, in the future or "
                                              "not after the period; values.<indicator "
                                              "id> as for /values; status: delivered "
                                              "already; template: the document's "
                                              "template is switched off.")
    def post(self, data, report_id):
        """The report was delivered to the grantor: with every value, on a day after
        its period; with its document when ``document`` is true."""
        found = _report(report_id)
        version = crud.if_match()

        def change(session):
            durability.deliver(session, found, data["delivered_on"], crud.caller(), version,
                               data.get("values"))
            if data["document"]:
                rt = current_app.extensions["kartoteka"]
                durability.document(session, rt.host, rt.settings, found, crud.caller())
            return _report_out(session, found)
        return _committed(change)


@reports_bp.route("/<int:report_id>/document")
class MakeDocument(MethodView):
    @reports_bp.arguments(NoBodySchema, required=False)
    @reports_bp.response(201, ReportSchema)
    @reports_bp.alt_response(403, description="The caller may not change the application.")
    @reports_bp.alt_response(422, description="template: the template is switched off.")
    def post(self, _data, report_id):
        """Make the report's document from its template (the values not recorded yet
        left blank); ``document_id`` names it."""
        found = _report(report_id)
        rt = current_app.extensions["kartoteka"]
        return _committed(lambda session: _report_out(session, _with_document(
            session, rt, found)), 201)


def _with_document(session, rt, found: DurabilityReport) -> DurabilityReport:
    durability.document(session, rt.host, rt.settings, found, crud.caller())
    return found


# --- Helpers -------------------------------------------------------------------------------

def _indicators_out(session, case: Case, found: list) -> list[dict]:
    last = durability.latest_values(session, case)
    return [{"id": i.id, "position": i.position, "name": i.name, "unit": i.unit,
             "baseline": durability.plain(i.baseline), "target": durability.plain(i.target),
             "last_value": durability.plain(last[i.id]) if i.id in last else None}
            for i in found]


def _report_out(session, found: DurabilityReport) -> dict:
    have = durability.values_of(session, found)
    names = {i.id: i.name for i in durability.indicators(session, session.get(
        Case, found.case_id))}
    return {"id": found.id, "version": found.version, "case_id": found.case_id,
            "position": found.position, "title": durability.title(found),
            "period_start": found.period_start, "period_end": found.period_end,
            "due_on": found.due_on, "status": found.status,
            "overdue": durability.is_overdue(found), "delivered_on": found.delivered_on,
            "document_id": found.document_id,
            "values": [{"indicator_id": k, "name": names.get(k, ""),
                        "value": durability.plain(v)} for k, v in sorted(have.items())]}


def _risk_out(case: Case, risk, org) -> dict:
    """The application's risk (None: not at risk) with its client, told either way."""
    return {"case_id": case.id, "title": case.title,
            "organisation_id": org.id if org else None,
            "organisation_name": org.name if org else None,
            "at_risk": risk is not None, "reasons": risk.reasons if risk else []}


def _committed(change, status: int = 200):
    """Committed and answered; a refusal rolled back and answered (412 for a stale
    If-Match)."""
    session = db()
    try:
        answer = change(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return crud.refusal(exc)
    return answer, status


def _application(case_id: int) -> Case:
    found = durability.application(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _report(report_id: int) -> DurabilityReport:
    found = durability.report(db(), report_id, crud.caller())
    if found is None:
        abort(404)
    return found

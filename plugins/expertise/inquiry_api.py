"""An inquiry in the REST API, under /api/v1/expertise/inquiries/{case_id} (EX-2, EX-3,
EX-4).

``inquiries/<case_id>``: the inquiry's details, parties, department, the experts of its
estimate with their hours, its cost, price and margin and who must approve its offer
(GET); the details changed (PATCH: the fields given, the parties' list replaced).
``/route``: sent to a department covering its specialisation, with
``expertise.route_inquiries``. ``/candidates``: the experts of its specialisation,
those able first, the excluded with why. ``/estimate``: the experts' hours, travel,
materials and the margin or mark-up, a new version of the case's calculation (PUT,
with ``core.calculate``).

A refused change answers 422 with a message per field (``experts.0.expert_id`` names
the expert and why), 403 for one who may not make it; ``If-Match`` with the case's
version (the ETag) is optional on the changes, a stale one answers 412. An unknown
case, one the caller may not see or a case of another process is 404; so is everything
here for a portal account.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import current_app
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import records
from core.api import crud, schemas
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import Forbidden, ValidationError
from core.models import Case, Organisation
from core.validation import an_id
from core.web.db import db
from plugins.expertise import departments, estimates, inquiries, inquiry_views, specialisations
from plugins.expertise.models import Inquiry


class InquiryNamedSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class InquiryPartyOutSchema(Schema):
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    name = fields.String()
    role = fields.String(metadata={"description": "Such as: defendant, insurer."})


class InquiryAssignmentOutSchema(Schema):
    expert_id = fields.Integer()
    name = fields.String()
    hours = decimal_out(2, example="12.50")
    rate = decimal_out(2, "Net per hour, at the time of the estimate.", example="200.00")
    cost = decimal_out(2, "Hours × rate, net.")


class InquiryApproverSchema(Schema):
    id = fields.Integer()
    name = fields.Function(lambda u: u.full_name or u.email)


class InquiryApprovalLevelSchema(Schema):
    level = fields.Integer(metadata={"description": "0 for the first to decide."})
    step = fields.String(attribute="step_key", metadata={
        "enum": ["manager", "board"], "description": "manager: always; board: only when "
                                                    "the margin is below the minimum."})
    approver = fields.Function(lambda r: r.approver.name(), metadata={
        "description": "Who approves, in the caller's language."})
    reason = fields.String(metadata={"description": "Why this level is needed."})
    users = fields.List(fields.Nested(InquiryApproverSchema), metadata={
        "description": "Who may decide; empty when nobody holds it."})


class InquiryOutSchema(Schema):
    case_id = fields.Integer(metadata={"description": "The case of expertise.inquiry."})
    version = fields.Integer(metadata={"description": "The case's version: the ETag."})
    title = fields.String()
    phase = fields.String(metadata={"description": "The case's phase key."})
    specialisation = fields.Nested(InquiryNamedSchema, allow_none=True)
    department = fields.Nested(InquiryNamedSchema, allow_none=True, metadata={
        "description": "Where it is routed; null before."})
    court = fields.Nested(InquiryNamedSchema, allow_none=True, metadata={
        "description": "The commissioning court, an organisation; null: not for a court."})
    court_reference = fields.String()
    due_on = fields.Date(allow_none=True, metadata={"description": "The opinion's deadline."})
    parties = fields.List(fields.Nested(InquiryPartyOutSchema))
    assignments = fields.List(fields.Nested(InquiryAssignmentOutSchema), metadata={
        "description": "The experts of the estimate."})
    travel_cost = decimal_out(2)
    materials_cost = decimal_out(2)
    cost = decimal_out(2, "The estimate's total cost, net; null before it.", allow_none=True)
    amount = decimal_out(2, "The price, net; null before the estimate.", allow_none=True)
    currency = fields.String()
    margin = decimal_out(2, "The share of the price left after the cost, in percent.",
                         example="30.00", allow_none=True)
    markup = decimal_out(2, "The mark-up of the latest calculation, in percent.",
                         example="42.86", allow_none=True)
    approval_levels = fields.List(fields.Nested(InquiryApprovalLevelSchema), metadata={
        "description": "Who must approve the offer at these figures, in order."})
    board_approval = fields.Boolean(metadata={
        "description": "Whether the board must approve too (margin below the minimum)."})


class InquiryCandidateOutSchema(Schema):
    expert_id = fields.Function(lambda c: c.expert.id)
    name = fields.String()
    department = fields.String(metadata={"description": "Or “external”."})
    rate = decimal_out(2, "Net per hour.")
    open_inquiries = fields.Integer(metadata={"description": "Open inquiries naming them."})
    able = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={
        "description": "Why not: a conflict of interest, an absence, another "
                       "specialisation; empty when able."})


class InquiryDetailsInSchema(inquiries.DetailsSchema, schemas.Strict):
    """Any of the details; ``parties`` given replaces the list."""


class InquiryRouteInSchema(schemas.Strict):
    department_id = fields.Integer(required=True, validate=an_id(), metadata={
        "description": "A department covering the inquiry's specialisation."})


class InquiryEstimateInSchema(estimates.EstimateSchema, schemas.Strict):
    """The whole estimate: the experts replace those before."""


bp = Blueprint("expertise_inquiry_details", __name__, url_prefix="/inquiries",
               description="An inquiry's details, routing, experts and estimate")
bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
BLUEPRINTS = [bp]

NOT_FOUND = "No inquiry of this id that the caller may see."
STALE = "If-Match was sent and the case changed since."


@bp.route("/<int:case_id>")
class Details(MethodView):
    @bp.response(200, InquiryOutSchema)
    @bp.alt_response(404, description=NOT_FOUND)
    def get(self, case_id):
        """The inquiry's details, estimate and the approvals its offer needs."""
        case = _inquiry(case_id)
        return _answer(db(), case), 200, {"ETag": f'"{case.version}"'}

    @bp.arguments(InquiryDetailsInSchema(partial=True))
    @bp.response(200, InquiryOutSchema)
    @bp.alt_response(403, description="The caller may not change the case.")
    @bp.alt_response(404, description=NOT_FOUND)
    @bp.alt_response(412, description=STALE)
    @bp.alt_response(422, description="Field-level errors: specialisation_id, court_id (no "
                                      "such), due_on, parties.N (an organisation or a "
                                      "person), parties.N.organisation_id, .person_id.")
    def patch(self, data, case_id):
        """Change the details given; the others are kept."""
        case = _inquiry(case_id)
        return _changed(case, lambda session: inquiries.update(
            session, case, _details(data), crud.caller()))


@bp.route("/<int:case_id>/route")
class Route(MethodView):
    @bp.arguments(InquiryRouteInSchema)
    @bp.response(200, InquiryOutSchema)
    @bp.alt_response(403, description="The caller may not route inquiries.")
    @bp.alt_response(404, description=NOT_FOUND)
    @bp.alt_response(412, description=STALE)
    @bp.alt_response(422, description="department_id: no such, or not covering the "
                                      "specialisation; specialisation_id: none chosen yet.")
    def post(self, data, case_id):
        """Route to a department covering the specialisation; an inquiry in its
        "inquiry" phase moves on to "routed"."""
        case = _inquiry(case_id)
        host = current_app.extensions["kartoteka"].host
        return _changed(case, lambda session: inquiries.route(
            session, host, case, data["department_id"], crud.caller()))


@bp.route("/<int:case_id>/candidates")
class Candidates(MethodView):
    @bp.response(200, InquiryCandidateOutSchema(many=True))
    @bp.alt_response(404, description=NOT_FOUND)
    def get(self, case_id):
        """The experts of the specialisation: the able ones first, the least busy first,
        then the excluded with why; empty before the specialisation is chosen."""
        session = db()
        case = _inquiry(case_id)
        inquiry = session.get(Inquiry, case.id) or Inquiry(case_id=case.id)
        return inquiry_views.candidates(session, case, inquiry)


@bp.route("/<int:case_id>/estimate")
class Estimate(MethodView):
    @bp.arguments(InquiryEstimateInSchema)
    @bp.response(200, InquiryOutSchema)
    @bp.alt_response(403, description="The caller may not make calculations of the case.")
    @bp.alt_response(404, description=NOT_FOUND)
    @bp.alt_response(412, description=STALE)
    @bp.alt_response(422, description="Field-level errors: experts (1 to 20), "
                                      "experts.N.expert_id (no such, named twice, or "
                                      "cannot take it: the name and why), experts.N.hours "
                                      "(above 0), travel_cost, materials_cost, margin (the "
                                      "margin or the mark-up, not both); _ outside the "
                                      "routed, estimate and offer phases.")
    def put(self, data, case_id):
        """Estimate: the experts' hours at their rates, travel and materials, priced at
        the margin or mark-up given; the case's amount and cost follow."""
        case = _inquiry(case_id)
        return _changed(case, lambda session: estimates.estimate(
            session, case, _estimate(data), crud.caller()))


def _details(data: dict) -> dict:
    """The loaded details as the service takes them (it validates them again)."""
    if data.get("due_on") is not None:
        data = {**data, "due_on": data["due_on"].isoformat()}
    return data


def _estimate(data: dict) -> dict:
    """The loaded estimate as the service takes it: amounts as text."""
    def text(value):
        return None if value is None else str(value)

    found = {k: text(v) for k, v in data.items() if k not in ("experts", "note")}
    return {**found, "note": data["note"],
            "experts": [{"expert_id": e["expert_id"], "hours": str(e["hours"])}
                        for e in data["experts"]]}


def _changed(case: Case, change):
    """``change(session)`` committed and the inquiry as it is now, or the refusal."""
    session = db()
    version = crud.if_match()
    try:
        if version is not None and version != case.version:
            raise ValidationError({"version": _(
                "The record was changed by someone else meanwhile; reload it and apply "
                "your change again.")})
        change(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return crud.refusal(exc)
    session.refresh(case)
    return _answer(session, case), 200, {"ETag": f'"{case.version}"'}


def _answer(session, case: Case) -> SimpleNamespace:
    host = current_app.extensions["kartoteka"].host
    inquiry = session.get(Inquiry, case.id) or Inquiry(case_id=case.id)
    specialisation = specialisations.get(session, inquiry.specialisation_id)
    department = departments.get(session, inquiry.department_id, include_deleted=True)
    court = session.get(Organisation, inquiry.court_id) if inquiry.court_id else None
    estimate = inquiry_views.estimate_summary(session, host, case)
    return SimpleNamespace(
        case_id=case.id, version=case.version, title=case.title, phase=case.phase_key,
        specialisation=specialisation, department=department, court=court,
        court_reference=inquiry.court_reference or "", due_on=inquiry.due_on,
        parties=[{"organisation_id": p.organisation_id, "person_id": p.person_id,
                  "name": inquiries.party_name(session, p), "role": p.role}
                 for p in inquiries.parties_of(session, case)],
        assignments=estimate.lines, travel_cost=estimate.travel,
        materials_cost=estimate.materials, cost=estimate.cost, amount=estimate.amount,
        currency=case.currency, margin=estimate.margin, markup=estimate.markup,
        approval_levels=estimate.levels, board_approval=estimate.board)


def _inquiry(case_id: int) -> Case:
    found = records.get(db(), Case, case_id, crud.caller())
    if found is None or not inquiries.is_inquiry(found):
        abort(404)
    return found

"""An opportunity's payment schedule in the REST API, under /api/v1/grants (GR-1, GR-2).

``opportunities/<case_id>/schedule``: the instalments offered with their total and, once
the opportunity is won, the cooperation contract it made with where each instalment
stands, and the grant applications tied to it (GET); the whole schedule set at once
(PUT), while the opportunity is open, by whoever may change it: 422 with a message per
field (``instalments.2.amount``), 403 for one who may not. An unknown case, one the
caller may not see or a case of another process is 404; so is everything here for a
portal account.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core.api import crud
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import Forbidden, ValidationError
from core.models import Case, Contract
from core.web.db import db
from plugins.grants import schedules


class OfferScheduleInSchema(schedules.OfferScheduleSchema):
    """The whole schedule offered on the opportunity, replacing the one it had."""


class OfferInstalmentOutSchema(Schema):
    position = fields.Integer(metadata={"description": "1 for the first paid."})
    description = fields.String()
    amount = decimal_out(2, "Net, in the schedule's currency.")
    due_on = fields.Date(allow_none=True)
    milestone = fields.Function(lambda i: i.milestone or None, allow_none=True, metadata={
        "enum": list(schedules.MILESTONES), "description": "What it waits for; null when "
                                                          "it is due on a day."})
    milestone_name = fields.Function(
        lambda i: schedules.milestone_name(i.milestone) if i.milestone else None,
        allow_none=True, metadata={"description": "In the caller's language."})


class ContractInstalmentOutSchema(Schema):
    position = fields.Integer()
    description = fields.String()
    amount = decimal_out(2, attribute="unit_price")
    due_on = fields.Date(allow_none=True)
    milestone = fields.Function(lambda i: schedules.key_of(i.milestone) or i.milestone or None,
                                allow_none=True)
    reached_on = fields.Date(allow_none=True, metadata={
        "description": "The day its milestone was reached; null while it waits."})
    billed_on = fields.Date(allow_none=True, metadata={
        "description": "When a billing run invoiced it; null until then."})
    state = fields.Function(lambda i: schedules.state(i), metadata={
        "enum": list(schedules.STATE_LABELS), "description":
            "billed; due: the next billing run invoices it; date: waiting for its day; "
            "milestone: waiting for its milestone."})
    state_name = fields.Function(lambda i: schedules.state_name(schedules.state(i)))


class CooperationContractOutSchema(Schema):
    id = fields.Integer(metadata={"description": "The core contract: /api/v1/contracts/{id} "
                                                "for those with core.billing."})
    title = fields.String()
    starts_on = fields.Date()
    currency = fields.String()
    instalments = fields.List(fields.Nested(ContractInstalmentOutSchema))


class OfferScheduleOutSchema(Schema):
    case_id = fields.Integer(metadata={"description": "The opportunity: a case of "
                                                     "grants.opportunity."})
    currency = fields.String()
    total = decimal_out(2, "The instalments' sum, which is also the opportunity's amount.")
    editable = fields.Boolean(metadata={
        "description": "Whether the caller may set the schedule now: the opportunity is "
                       "open and theirs to change."})
    instalments = fields.List(fields.Nested(OfferInstalmentOutSchema))
    contract = fields.Nested(CooperationContractOutSchema, allow_none=True, metadata={
        "description": "The cooperation contract winning the opportunity made; null before."})
    application_ids = fields.List(fields.Integer(), metadata={
        "description": "The grant applications tied to the opportunity (sold by it) that the "
                       "caller may see: the milestones they reach fall due on its contract."})


bp = Blueprint("grants_opportunity_schedules", __name__, url_prefix="/opportunities",
               description="The payment schedule offered on an opportunity, and the "
                           "cooperation contract winning it made")
bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
BLUEPRINTS = [bp]


@bp.route("/<int:case_id>/schedule")
class Schedule(MethodView):
    @bp.response(200, OfferScheduleOutSchema)
    @bp.alt_response(404, description="No opportunity of this id that the caller may see.")
    def get(self, case_id):
        """The schedule offered, its total and, once won, the cooperation contract."""
        return _answer(db(), _opportunity(case_id))

    @bp.arguments(OfferScheduleInSchema)
    @bp.response(200, OfferScheduleOutSchema)
    @bp.alt_response(403, description="The caller may not change the opportunity.")
    @bp.alt_response(404, description="No opportunity of this id that the caller may see.")
    @bp.alt_response(412, description="The opportunity changed since the version sent in "
                                      "If-Match.")
    @bp.alt_response(422, description="Field-level errors: instalments.N.description, "
                                      ".amount (above zero, two places), .due_on, "
                                      ".milestone (one of them, not both); instalments "
                                      "(too many, total too large); _ once the "
                                      "opportunity is won or lost.")
    def put(self, data, case_id):
        """Set the whole schedule: the opportunity's amount becomes its total."""
        case = _opportunity(case_id)
        session = db()
        try:
            schedules.replace(session, case, _raw(data), crud.caller(), crud.if_match())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return _answer(session, case)


def _raw(data: dict) -> list[dict]:
    """The loaded instalments as the service takes them (it validates them again)."""
    return [{**item, "amount": str(item["amount"]),
             "due_on": item["due_on"].isoformat() if item["due_on"] else None}
            for item in data["instalments"]]


def _answer(session, case: Case) -> SimpleNamespace:
    items = schedules.of(session, case, crud.caller())
    contract: Contract | None = schedules.contract_of(session, case)
    return SimpleNamespace(
        case_id=case.id, currency=case.currency, total=schedules.total(items),
        editable=schedules.may_change(session, crud.caller(), case), instalments=items,
        contract=contract,
        application_ids=[a.id for a in schedules.applications_of(session, case, crud.caller())])


def _opportunity(case_id: int) -> Case:
    found = schedules.opportunity(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found

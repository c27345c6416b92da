"""Payment requests in the REST API, under /api/v1/grants (GR-3).

``applications/<case_id>/payment-requests``: a grant application's payment requests,
generated when its grant agreement was signed, the cancelled ones too.
``payment-requests/<id>``: one request (GET), and a planned or rejected one's amount and
due date corrected (PATCH; the notes at any time). ``/submit``, ``/approve``,
``/reject`` and ``/pay`` take it through its statuses, ``/cancel`` calls off a planned or
rejected one; ``/document`` makes its cover letter (the request then names it in
``document_id``).
Reading needs the application to be visible, the changes the right to change it.
``If-Match`` with the request's version is optional on the changes; a stale one
answers 412. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import fields

from core.api import crud, schemas
from core.api.auth import staff_only
from core.api.invoices import committed
from core.models import Case
from core.web.db import db
from plugins.grants import payment_requests
from plugins.grants.models import PAYMENT_KINDS, PaymentRequest


class GrantPaymentRequestSchema(schemas.Strict):
    """A payment request to the grantor; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it in If-Match to change only the "
                       "version you saw."})
    case_id = fields.Integer(dump_only=True, metadata={
        "description": "The grant application: a case of grants.application."})
    position = fields.Integer(dump_only=True, metadata={
        "description": "1, 2, ...: the order the requests are made in."})
    kind = fields.String(dump_only=True, metadata={
        "enum": list(PAYMENT_KINDS), "description": "advance: paid ahead, settles no period; "
        "interim: settles one part of the project's period; final: settles the last part."})
    kind_name = fields.Function(lambda r: payment_requests.kind_name(r.kind), dump_only=True,
                                metadata={"description": "In the caller's language."})
    label = fields.Function(payment_requests.label, dump_only=True, metadata={
        "description": "How people name it: “Payment request no. 2 (interim)”."})
    amount = fields.Decimal(dump_only=True, as_string=True, metadata={
        "description": "What it claims, in the grant's currency."})
    period_start = fields.Date(dump_only=True, allow_none=True, metadata={
        "description": "The first day of the expenses it settles; null for the advance."})
    period_end = fields.Date(dump_only=True, allow_none=True)
    due_on = fields.Date(dump_only=True, metadata={"description": "To be submitted by."})
    days_left = fields.Function(lambda r: payment_requests.days_left(r), dump_only=True,
                                allow_none=True, metadata={
                                    "description": "Days to due_on while planned or "
                                                   "rejected, below zero when overdue; "
                                                   "null once with the grantor or "
                                                   "cancelled."})
    status = fields.String(dump_only=True, metadata={
        "enum": list(payment_requests.STATUSES), "description": "planned → submitted → "
        "approved → paid; rejected: to be corrected and submitted again (see notes); "
        "cancelled: will not be made, claims nothing, not reminded."})
    status_name = fields.Function(lambda r: payment_requests.status_name(r.status),
                                  dump_only=True, metadata={
                                      "description": "In the caller's language."})
    submitted_on = fields.Date(dump_only=True, allow_none=True)
    approved_amount = fields.Decimal(dump_only=True, as_string=True, allow_none=True,
                                     metadata={"description": "What the grantor approved."})
    paid_on = fields.Date(dump_only=True, allow_none=True)
    notes = fields.String(dump_only=True, metadata={
        "description": "The team's notes, followed by a dated line for each rejection "
                       "(the grantor's reason), the approval's note and the cancellation's "
                       "reason."})
    document_id = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "The latest cover letter made (see /api/v1/documents)."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class GrantPaymentRequestChangeSchema(payment_requests.ChangeSchema, schemas.Strict):
    """Any of the fields; amount and due_on only while the request is planned or
    rejected."""


class GrantPaymentRequestSubmissionSchema(payment_requests.SubmissionSchema, schemas.Strict):
    pass


class GrantPaymentRequestApprovalSchema(payment_requests.ApprovalSchema, schemas.Strict):
    pass


class GrantPaymentRequestRejectionSchema(payment_requests.RejectionSchema, schemas.Strict):
    pass


class GrantPaymentRequestPaymentSchema(payment_requests.PaymentSchema, schemas.Strict):
    pass


class GrantPaymentRequestCancellationSchema(payment_requests.CancellationSchema,
                                            schemas.Strict):
    pass


class GrantPaymentRequestNoBodySchema(schemas.Strict):
    pass


applications_bp = Blueprint("grants_application_payment_requests", __name__,
                            url_prefix="/applications",
                            description="A grant application's payment requests")
requests_bp = Blueprint("grants_payment_requests", __name__, url_prefix="/payment-requests",
                        description="Payment requests submitted, approved, rejected, paid "
                                    "and cancelled")
BLUEPRINTS = [applications_bp, requests_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything

STALE = "If-Match was sent and the request changed since."
REFUSED = "The caller may not change the application."


@applications_bp.route("/<int:case_id>/payment-requests")
class ApplicationRequests(MethodView):
    @applications_bp.response(200, GrantPaymentRequestSchema(many=True))
    @applications_bp.alt_response(404, description="No grant application of this id that "
                                                   "the caller may see.")
    def get(self, case_id):
        """The application's payment requests, in the order they are made; none before
        its grant agreement is signed."""
        return payment_requests.listed(db(), _case(case_id), crud.caller())


@requests_bp.route("/<int:request_id>")
class OneRequest(MethodView):
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(404, description="No such request, or the caller may not see "
                                               "its application.")
    def get(self, request_id):
        """One payment request; the ETag is its version."""
        found = _request(request_id)
        return found, 200, {"ETag": f'"{found.version}"'}

    @requests_bp.arguments(GrantPaymentRequestChangeSchema(partial=True))
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="Field-level errors: amount (missing, not "
                                               "an amount, or zero), due_on, notes; status "
                                               "when amount or due_on are changed on a "
                                               "request neither planned nor rejected.")
    def patch(self, data, request_id):
        """Correct a planned or rejected request's amount or due date, or the notes of
        any; a new due date is reminded of afresh. The requests may then add up to more
        or less than the grant awarded."""
        return _changed(request_id, payment_requests.change, data)


@requests_bp.route("/<int:request_id>/submit")
class Submit(MethodView):
    @requests_bp.arguments(GrantPaymentRequestSubmissionSchema)
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="submitted_on: missing, not a date, in the "
                                               "future or, submitted again, before the "
                                               "rejection; status: not planned or "
                                               "rejected.")
    def post(self, data, request_id):
        """Submitted to the grantor: a planned request, or a rejected one again."""
        return _changed(request_id, payment_requests.submit, data)


@requests_bp.route("/<int:request_id>/approve")
class Approve(MethodView):
    @requests_bp.arguments(GrantPaymentRequestApprovalSchema)
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="approved_amount: not an amount or more than "
                                               "requested; notes: missing when less is "
                                               "approved; status: not submitted.")
    def post(self, data, request_id):
        """The grantor approved it: for the amount requested (approved_amount left out),
        or for less, with notes saying why."""
        return _changed(request_id, payment_requests.approve, data)


@requests_bp.route("/<int:request_id>/reject")
class Reject(MethodView):
    @requests_bp.arguments(GrantPaymentRequestRejectionSchema)
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="reason: missing or empty; status: not "
                                               "submitted.")
    def post(self, data, request_id):
        """The grantor rejected it, for the reason given; it is corrected and submitted
        again."""
        return _changed(request_id, payment_requests.reject, data)


@requests_bp.route("/<int:request_id>/pay")
class Pay(MethodView):
    @requests_bp.arguments(GrantPaymentRequestPaymentSchema)
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="paid_on: missing, not a date, in the future "
                                               "or before the request was submitted; "
                                               "status: not approved.")
    def post(self, data, request_id):
        """The grant's money for an approved request came."""
        return _changed(request_id, payment_requests.pay, data)


@requests_bp.route("/<int:request_id>/cancel")
class Cancel(MethodView):
    @requests_bp.arguments(GrantPaymentRequestCancellationSchema)
    @requests_bp.response(200, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(412, description=STALE)
    @requests_bp.alt_response(422, description="reason: missing or empty; status: not "
                                               "planned or rejected.")
    def post(self, data, request_id):
        """A planned or rejected request that will not be made: it stays listed, claims
        nothing, is not reminded and leaves the calendar."""
        return _changed(request_id, payment_requests.cancel, data)


@requests_bp.route("/<int:request_id>/document")
class Letter(MethodView):
    @requests_bp.arguments(GrantPaymentRequestNoBodySchema, required=False)
    @requests_bp.response(201, GrantPaymentRequestSchema)
    @requests_bp.alt_response(403, description=REFUSED)
    @requests_bp.alt_response(422, description="template: the cover letter's template is "
                                               "switched off or cannot be filled; status: "
                                               "the request is cancelled.")
    def post(self, _data, request_id):
        """Make the request's cover letter to the grantor, kept on the application; the
        answer names it in document_id."""
        found = _request(request_id)
        return committed(lambda session: _with_letter(session, found), 201,
                         refuse=crud.refusal)


def _with_letter(session, found: PaymentRequest) -> PaymentRequest:
    rt = current_app.extensions["kartoteka"]
    payment_requests.document(session, rt.host, rt.settings, found, crud.caller())
    return found


def _changed(request_id: int, change, data: dict):
    found = _request(request_id)
    version = crud.if_match()
    return committed(lambda session: change(session, found, data, crud.caller(), version),
                     refuse=crud.refusal)


def _request(request_id: int) -> PaymentRequest:
    found = payment_requests.get(db(), request_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _case(case_id: int) -> Case:
    found = payment_requests.application(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found

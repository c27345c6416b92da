"""Billing runs through the API: preview a period, run it as a job, issue its drafts.

Every call goes through ``core.billing_runs`` and needs ``core.billing`` (403
otherwise). ``POST /billing-runs`` answers 202 with the period's run and its job to
poll (``GET /jobs/{id}``); asking for a period that is queued or running answers with
that run, and running a period again makes nothing new. Bad periods and unknown
strategies answer 422 with a message per field.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import billing_runs, invoices, permissions
from core.api import schemas
from core.api.auth import actor
from core.api.invoices import decimal_out, refusal
from core.api.jobs import JobSchema, describe
from core.billing_strategies import registered
from core.errors import Forbidden, ValidationError
from core.models import BillingRun, Job
from core.models.billing_run import STATES
from core.web.db import db


class BillingRunInSchema(billing_runs.RunSchema, schemas.Strict):
    """A period to bill, and how."""

    strategies = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "The strategies' keys (GET /billing-runs/strategies); all of them, "
                       "in their order, if left out."})
    issue = fields.Boolean(load_default=False, metadata={
        "description": "Issue the invoices at once; false leaves drafts to check and issue "
                       "with POST /billing-runs/{id}/issue."})


class BillingRunIssueSchema(schemas.Strict):
    issue_date = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day of issue; today if left out."})


class BillingPreviewLineSchema(Schema):
    description = fields.String()
    amount = decimal_out(2, "Net or gross, as the bill's price basis says.", "450.00")


class BillingPreviewBillSchema(Schema):
    client = fields.String()
    label = fields.String()
    kind = fields.String(metadata={"description": "invoice, settlement, or expected (a "
                                                  "direct debit's expected payments)."})
    currency = fields.String()
    amount = decimal_out(2)
    lines = fields.List(fields.Nested(BillingPreviewLineSchema))


class BillingPreviewSchema(Schema):
    period_start = fields.Date(attribute="period.start")
    period_end = fields.Date(attribute="period.end")
    invoices = fields.Integer(metadata={"description": "Invoices the run would make."})
    expected = fields.Integer(metadata={"description": "Direct debits whose payments it "
                                                      "would expect."})
    charges = fields.Integer(metadata={"description": "Lines in all."})
    totals = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The amount per currency."})
    bills = fields.List(fields.Nested(BillingPreviewBillSchema), metadata={
        "description": f"The first {billing_runs.PREVIEW_BILLS} bills."})
    more = fields.Integer(metadata={"description": "Bills beyond those listed."})


class BillingRunSchema(Schema):
    id = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    strategies = fields.List(fields.String())
    issue = fields.Boolean()
    issue_date = fields.Date(allow_none=True)
    state = fields.String(metadata={"enum": list(STATES)})
    made = fields.Dict(metadata={"description": "What it has made in all: invoices, items, "
                                                "expected, issued; failed: the bills its "
                                                "last execution could not write, and why."})
    error = fields.String()
    job = fields.Nested(JobSchema, allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    started_by_id = fields.Integer(allow_none=True)

    def get_attribute(self, obj, attr, default):
        if attr == "job":
            job = db().get(Job, obj.job_id) if obj.job_id else None
            return describe(job) if job is not None else None
        return super().get_attribute(obj, attr, default)


class BillingStrategySchema(Schema):
    key = fields.String()
    title = fields.String()
    description = fields.String()


class BillingRunIssuedSchema(Schema):
    issued = fields.Integer(metadata={"description": "Drafts issued now."})


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_billing-runs", __name__, url_prefix="/billing-runs",
                   description="Billing runs: a period billed by the strategies, once")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, BillingRunSchema(many=True))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        def get(self):
            """The runs, latest period first."""
            _require()
            return billing_runs.recent(db())

        @bp.arguments(BillingRunInSchema)
        @bp.response(202, BillingRunSchema, description="Queued, or found queued or running: "
                                                 "poll its job.")
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors: period_start, period_end, "
                                          "strategies.")
        def post(self, data):
            """Run billing for a period as a job: what each strategy says is due becomes
            billable items, invoices (drafts, or issued) and expected payments."""
            session = db()
            try:
                run = billing_runs.start(session, _host(), data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            session.refresh(run)  # a job run at once (tests, scripts) is done already
            return run, 202, {"Location": url_for("api_billing-runs.Item", run_id=run.id,
                                                  _external=True)}

    @bp.route("/preview")
    class Preview(MethodView):
        @bp.arguments(BillingRunInSchema)
        @bp.response(200, BillingPreviewSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors: period_start, period_end, "
                                          "strategies.")
        def post(self, data):
            """What a run of the period would make, bill by bill; nothing is written."""
            try:
                return billing_runs.preview(db(), _host(), data, actor())
            except (ValidationError, Forbidden) as exc:
                return refusal(exc)

    @bp.route("/strategies")
    class Strategies(MethodView):
        @bp.response(200, BillingStrategySchema(many=True))
        @bp.alt_response(403, description="Needs the core.billing permission.")
        def get(self):
            """The billing strategies of the core and the enabled plugins, in the order
            a run uses them."""
            _require()
            return [{"key": s.key, "title": str(s.title), "description": str(s.description)}
                    for s in registered(_host()).values()]

    @bp.route("/<int:run_id>")
    class Item(MethodView):
        @bp.response(200, BillingRunSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        def get(self, run_id):
            """A run: its period, state, job and what it made."""
            return _run(run_id)

    @bp.route("/<int:run_id>/issue")
    class Issue(MethodView):
        @bp.arguments(BillingRunIssueSchema, required=False)
        @bp.response(200, BillingRunIssuedSchema)
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="A draft could not be issued; nothing was.")
        def post(self, data, run_id):
            """Issue the drafts the run made, in the order it made them."""
            session, run = db(), _run(run_id)
            try:
                count = billing_runs.issue_drafts(session, _settings(), run, actor(),
                                                  (data or {}).get("issue_date"))
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return {"issued": count}

    return [bp]


def _host():
    return current_app.extensions["kartoteka"].host


def _settings():
    return current_app.extensions["kartoteka"].settings


def _require() -> None:
    if not _can():
        abort(403)


def _can() -> bool:
    return permissions.can(actor(), invoices.PERMISSION)


def _run(run_id: int) -> BillingRun:
    if not _can():
        abort(403)
    run = db().get(BillingRun, run_id)
    if run is None:
        abort(404)
    return run

"""The installer's realisation in the REST API, under /api/v1/photovoltaics (PV-4, PV-5).

``crews``: the crews with their installers and calendar address, through
``core.api.crud``; DELETE retires a crew (its past jobs stay). ``parts/<case_id>/crew``:
the crew and days a part of an installation is given to (PUT gives or moves it,
DELETE takes it off). ``jobs``: every crew's jobs, by days and crew; ``jobs/<id>/report``:
a job reported done, with photos, as a multipart form. All of it needs
``photovoltaics.plan_crews``, except a report, which the crew's own members with an
account and holders of ``photovoltaics.report_work`` may send. ``reports/pipeline``,
``reports/crews`` and ``reports/conversion`` need ``photovoltaics.reports``. Portal
accounts find nothing here (404).
"""

from __future__ import annotations

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import permissions, records
from core.api import crud, schemas
from core.api import records as api_records
from core.api.auth import staff_only
from core.api.invoices import committed, decimal_out
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import Case
from core.web.db import db
from plugins.photovoltaics import assignments, crews, reports
from plugins.photovoltaics.models import Assignment, Crew


class CrewRecordSchema(crews.CrewSchema, schemas.Strict):
    """A crew with its installers; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    calendar_url = fields.Method("_calendar", dump_only=True, metadata={
        "description": "The crew's iCalendar feed, for Google Calendar or Outlook; its jobs' "
                       "report forms are linked from it. Secret: anyone with it sees the jobs."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _calendar(self, crew: Crew) -> str:
        return url_for("photovoltaics_crew.feed", token=crew.feed_token, _external=True)


class CrewJobSchema(assignments.AssignmentSchema, schemas.Strict):
    """A part of an installation given to a crew for some days, and its report."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    case_id = fields.Integer(dump_only=True, metadata={
        "description": "The part: a case of photovoltaics.roof or photovoltaics.electrical."})
    reported_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "When the installers reported it done; null: not yet."})
    reported_by = fields.String(dump_only=True)
    report = fields.String(dump_only=True)


class CrewJobArgs(crud.PageArgs):
    crew_id = fields.Integer(load_default=None, metadata={"description": "One crew's jobs."})
    first = fields.Date(load_default=None, metadata={
        "description": "Jobs on this day or later (by their last day)."})
    last = fields.Date(load_default=None, metadata={
        "description": "Jobs on this day or earlier (by their first day)."})


def retire(session, crew: Crew, actor) -> Crew:
    """Retire the crew: no longer offered when jobs are planned; its past jobs stay."""
    return crews.update(session, crew, {"active": False}, actor)


crews_bp = crud.blueprint(
    "crews", Crew, CrewRecordSchema, permission=crews.PLAN,
    description="Installation crews, own and subcontracted, with their installers",
    create=lambda session, _model, data, actor: crews.create(session, data, actor),
    update=lambda session, crew, data, actor, version: crews.update(
        session, crew, data, actor, version),
    delete=retire)
parts_bp = Blueprint("photovoltaics_parts", __name__, url_prefix="/parts",
                     description="The crew a part of an installation is given to")
jobs_bp = Blueprint("photovoltaics_jobs", __name__, url_prefix="/jobs",
                    description="The crews' jobs and their reports")
reports_bp = Blueprint("photovoltaics_reports", __name__, url_prefix="/reports",
                       description="The pipeline, the crews' work, conversion")
BLUEPRINTS = [crews_bp, parts_bp, jobs_bp, reports_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything


@parts_bp.route("/<int:case_id>/crew")
class PartCrew(MethodView):
    @parts_bp.response(200, CrewJobSchema)
    @parts_bp.alt_response(404, description="Not a part, or not given to a crew yet.")
    def get(self, case_id):
        """The crew and days the part is given to."""
        _planner()
        job = assignments.of_part(db(), _part(case_id))
        if job is None:
            abort(404)
        return job

    @parts_bp.arguments(assignments.AssignmentSchema)
    @parts_bp.response(200, CrewJobSchema)
    @parts_bp.alt_response(403, description="The caller may not plan the crews.")
    @parts_bp.alt_response(422, description="Field-level errors: a crew without the skill "
                                            "the part needs, or on another job those days.")
    def put(self, data, case_id):
        """Give the part to a crew for some days, or move it to another crew or days: it
        goes into the crew's calendar feed and its members' calendars."""
        _planner()
        part = _part(case_id)
        return committed(lambda session: assignments.assign(
            session, _host(), part, data, crud.caller()))

    @parts_bp.response(204)
    @parts_bp.alt_response(403, description="The caller may not plan the crews.")
    @parts_bp.alt_response(422, description="The job was reported done; it stays.")
    def delete(self, case_id):
        """Take the part off its crew."""
        _planner()
        session, part = db(), _part(case_id)
        job = assignments.of_part(session, part)
        if job is None:
            abort(404)
        try:
            assignments.unassign(session, job, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return "", 204


@jobs_bp.route("/")
class Jobs(MethodView):
    @jobs_bp.arguments(CrewJobArgs, location="query")
    @jobs_bp.response(200, schemas.page_schema(CrewJobSchema))
    @jobs_bp.alt_response(403, description="The caller may not plan the crews.")
    def get(self, args):
        """Every crew's jobs, a page at a time; narrowed to a crew and to days."""
        _planner()
        query = records.visible(Assignment, crud.caller())
        if (crew_id := args.pop("crew_id", None)) is not None:
            query = query.where(Assignment.crew_id == crew_id)
        if (first := args.pop("first", None)) is not None:
            query = query.where(Assignment.ends_on >= first)
        if (last := args.pop("last", None)) is not None:
            query = query.where(Assignment.starts_on <= last)
        return api_records.page(Assignment, query, args)


@jobs_bp.route("/<int:job_id>/report")
class JobReport(MethodView):
    @jobs_bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["photos"], "properties": {
            "report": {"type": "string", "description": "What was done, anything to note."},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"},
                       "description": "JPEG, PNG or WebP photos of the finished work."}}}}}})
    @jobs_bp.response(200, CrewJobSchema)
    @jobs_bp.alt_response(403, description="Neither a member of the crew nor allowed to report.")
    @jobs_bp.alt_response(422, description="Field-level errors: no photos, not a photo, "
                                           "reported already.")
    def post(self, job_id):
        """Report the job done: the photos go on the part, which moves to done; when both
        parts are done the installation goes on to the final payment."""
        session = db()
        job = session.get(Assignment, job_id)
        if job is None:
            abort(404)
        if not assignments.may_report(session, crud.caller(), job):
            return crud.refusal(Forbidden(_("You may not report this crew's jobs.")))
        photos = [(f.filename, f.stream, f.mimetype) for f in request.files.getlist("photos")
                  if f.filename]
        data = {"report": request.form.get("report", "")}
        settings = current_app.extensions["kartoteka"].settings
        return committed(lambda s: assignments.report(s, _host(), settings, job, data, photos,
                                                      crud.caller()))


class PhaseLineSchema(Schema):
    key = fields.String()
    name = fields.String(metadata={"description": "In the caller's language."})
    count = fields.Integer()
    value = decimal_out(2, "The cases' amounts.")


class CrewLineSchema(Schema):
    crew_id = fields.Integer()
    name = fields.String()
    planned = fields.Integer(metadata={"description": "Jobs not reported done yet."})
    days_ahead = fields.Integer(metadata={"description": "Days booked in the coming 30."})
    done = fields.Integer(metadata={"description": "Jobs reported in the last 30 days."})


class SourceLineSchema(Schema):
    source = fields.String(metadata={"description": "The lead's source (a choice of the "
                                                    "photovoltaics_source field); \"\": not "
                                                    "given; \"*\": all of them."})
    leads = fields.Integer()
    contracts = fields.Integer(metadata={"description": "Leads that got past the contract."})
    completed = fields.Integer()
    lost = fields.Integer()
    rate = decimal_out(4, "contracts / leads; null without leads.", example="0.2500",
                       allow_none=True)


class PeriodArgs(Schema):
    first = fields.Date(data_key="from", load_default=None, metadata={
        "description": "Leads opened on this day or later; default: 1 January."})
    last = fields.Date(data_key="to", load_default=None, metadata={
        "description": "Leads opened on this day or earlier; default: today."})


@reports_bp.route("/pipeline")
class Pipeline(MethodView):
    @reports_bp.response(200, PhaseLineSchema(many=True))
    @reports_bp.alt_response(403, description="Needs photovoltaics.reports.")
    def get(self):
        """Every phase of the installations with how many are in it and their value."""
        _reader()
        return reports.pipeline(db(), crud.caller())


@reports_bp.route("/crews")
class CrewWork(MethodView):
    @reports_bp.response(200, CrewLineSchema(many=True))
    @reports_bp.alt_response(403, description="Needs photovoltaics.reports.")
    def get(self):
        """Each crew in use: its open jobs, its days booked ahead, its recent work."""
        _reader()
        return reports.by_crew(db(), today())


@reports_bp.route("/conversion")
class Conversion(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, SourceLineSchema(many=True))
    @reports_bp.alt_response(403, description="Needs photovoltaics.reports.")
    def get(self, args):
        """The leads opened in a period by source, and how many became contracts and
        completed installations; the last line (source "*") adds them up."""
        _reader()
        day = today()
        return reports.conversion(db(), crud.caller(), args["first"] or day.replace(
            month=1, day=1), args["last"] or day)


def _reader() -> None:
    if not permissions.can(crud.caller(), reports.REPORTS):
        abort(403, message=_("You may not read the photovoltaics reports."))


def _planner() -> None:
    if not permissions.can(crud.caller(), crews.PLAN):
        abort(403, message=_("You may not plan the crews."))


def _part(case_id: int) -> Case:
    part = records.get(db(), Case, case_id, crud.caller())
    if part is None or part.process_key not in crews.NEEDED:
        abort(404)
    return part


def _host():
    return current_app.extensions["kartoteka"].host

"""The training plugin's resources in the REST API, under /api/v1/training (TR-1, TR-3).

``venues``: the registry, through ``core.api.crud``; any staff account reads it,
changing it needs ``training.manage``, and DELETE retires a venue (past trainings keep
it). ``trainings/<case_id>/enrolments``: a training's list, and enrolling a person
(enrolled while places are left, else waiting). ``enrolments/<id>``: one enrolment, and
cancelling it (the first on the waiting list gets the place).
``trainings/<case_id>/invitations``: inviting the people of member units chosen by a
segment or a filter; ``trainings/<case_id>/certificates``: making the missing
certificates. ``reports/units``: how often each unit sends people; ``reports/units/<id>``:
who of a unit attended what and when. ``publications``: the portal's announcements and
publications, through ``core.api.crud``, written with ``training.manage``. The enrolments need
``training.enrol`` or ``training.manage`` (403). Portal accounts find nothing here
(404): they enrol on the portal.
"""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from core import permissions, records
from core.api import crud, schemas
from core.api import records as api_records
from core.api.jobs import JobSchema, describe
from core.errors import Forbidden, ValidationError
from core.models import Organisation
from core.validation import an_id, max_length
from core.web.db import db
from plugins.training import certificates, enrolments, invitations, publications, venues
from plugins.training import reports as report
from plugins.training.models import CHANNELS, STATUSES, Enrolment, Publication, Venue


class VenueRecordSchema(venues.VenueSchema, schemas.Strict):
    """A venue of the registry; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(
        dump_only=True,
        metadata={
            "description": "Changes with every change; send it back in If-Match as the ETag."
        },
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PublicationRecordSchema(publications.PublicationSchema, schemas.Strict):
    """An announcement or publication of the member units' portal; ``version`` is its
    ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "When it went on the portal; null: a draft."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class EnrolmentSchema(schemas.Strict):
    """A person on a training's list."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(
        dump_only=True,
        metadata={
            "description": "Changes with every change; send it back in If-Match as the ETag."
        },
    )
    case_id = fields.Integer(
        dump_only=True, metadata={"description": "The training: a case of training.training."}
    )
    person_id = fields.Integer(
        required=True,
        validate=an_id(),
        metadata={"description": "The person enrolled: one the caller may see."},
    )
    organisation_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=an_id(),
        metadata={
            "description": "The member unit sending them (their employer); null: on their own."
        },
    )
    status = fields.String(
        dump_only=True,
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "invited, enrolled, waiting (for a free place, in the order they "
            "came), cancelled, and after the day attended or absent."
        },
    )
    channel = fields.String(
        dump_only=True,
        validate=validate.OneOf(CHANNELS),
        metadata={
            "description": "Who put them down: staff, portal (the unit), self, import or api."
        },
    )
    requested_at = fields.DateTime(
        dump_only=True, metadata={"description": "When they asked for a place: the waiting order."}
    )
    note = fields.String(load_default="", validate=max_length(500))
    certificate_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The certificate of attendance: a document on the person."},
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class InvitationInSchema(invitations.InvitationSchema, schemas.Strict):
    """Whom to invite: the member units of a saved segment of organisations
    (``segment_id``) and/or matching ``filter`` (the one filter language) and/or whose
    town lies ``within_km`` of the venue's, narrowed by ``participation`` and the
    people's ``role``."""

    preview = fields.Boolean(
        load_default=False,
        metadata={"description": "true: only count whom it would reach, writing nothing."},
    )


class InvitationOutSchema(schemas.Strict):
    units = fields.Integer(metadata={"description": "Member units chosen."})
    invited = fields.Integer(metadata={"description": "People put on the list as invited."})
    on_the_list = fields.Integer(
        metadata={"description": "People of those units on the list already: left out."}
    )
    mailing_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The mailing sending the invitations (null: a preview)."},
    )


class EnrolmentChangeSchema(schemas.Strict):
    status = fields.String(
        required=True,
        validate=validate.OneOf(("cancelled",)),
        metadata={
            "description": "cancelled: take the person off the list; the first on the "
            "waiting list gets the place."
        },
    )


def retire(session, venue: Venue, actor) -> Venue:
    """Retire the venue: no longer offered when planning; past trainings keep it."""
    return venues.retire(session, venue, actor)


def staff_only():
    """Portal accounts enrol on the portal; here they find nothing (404)."""
    if permissions.grants(crud.caller(), db()).portal_organisation is not None:
        abort(404)


venues_bp = crud.blueprint(
    "venues",
    Venue,
    VenueRecordSchema,
    description="The registry of training venues",
    create=lambda session, _model, data, actor: venues.create(session, data, actor),
    update=lambda session, venue, data, actor, version: venues.update(
        session, venue, data, actor, version
    ),
    delete=retire,
)
trainings_bp = Blueprint(
    "trainings", __name__, url_prefix="/trainings", description="A training's list"
)
enrolments_bp = Blueprint(
    "enrolments", __name__, url_prefix="/enrolments", description="Enrolments in trainings"
)
publications_bp = crud.blueprint(
    "publications",
    Publication,
    PublicationRecordSchema,
    description="Announcements and publications of the member units' portal",
    create=lambda session, _model, data, actor: publications.create(session, data, actor),
    update=lambda session, item, data, actor, version: publications.update(
        session, item, data, actor, version
    ),
    delete=publications.delete,
)
reports_bp = Blueprint(
    "training_reports", __name__, url_prefix="/reports", description="Attendance reports"
)
BLUEPRINTS = [venues_bp, trainings_bp, enrolments_bp, reports_bp, publications_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only)


@trainings_bp.route("/<int:case_id>/enrolments")
class TrainingEnrolments(MethodView):
    @trainings_bp.arguments(crud.PageArgs, location="query")
    @trainings_bp.response(200, schemas.page_schema(EnrolmentSchema))
    @trainings_bp.alt_response(403, description="The caller may not enrol people.")
    def get(self, args, case_id):
        """The training's list, a page at a time, in the order people were put down."""
        case = _training(case_id)
        query = records.visible(Enrolment, crud.caller()).where(Enrolment.case_id == case.id)
        return api_records.page(Enrolment, query, args)

    @trainings_bp.arguments(EnrolmentSchema)
    @trainings_bp.response(201, EnrolmentSchema)
    @trainings_bp.alt_response(403, description="The caller may not enrol people.")
    @trainings_bp.alt_response(
        422,
        description="Field-level errors: a person or unit the caller may not see, someone "
        "already on the list, a training that has taken place.",
    )
    def post(self, data, case_id):
        """Enrol a person: enrolled while places are left, else on the waiting list."""
        session, case = db(), _training(case_id)
        try:
            person = enrolments.chosen(
                session, data["person_id"], data["organisation_id"], crud.caller()
            )
            row = enrolments.enrol(
                session,
                case,
                person,
                crud.caller(),
                channel="api",
                organisation_id=data["organisation_id"],
                note=data["note"],
            )
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return (
            row,
            201,
            {
                "ETag": api_records._etag(row),
                "Location": f"{request.url_root}api/v1/training/enrolments/{row.id}",
            },
        )


@trainings_bp.route("/<int:case_id>/invitations")
class TrainingInvitations(MethodView):
    @trainings_bp.arguments(InvitationInSchema)
    @trainings_bp.response(201, InvitationOutSchema)
    @trainings_bp.alt_response(200, schema=InvitationOutSchema, description="A preview.")
    @trainings_bp.alt_response(
        403, description="The caller may not manage trainings or send mailings."
    )
    @trainings_bp.alt_response(
        422,
        description="Field-level errors: no segment or filter, a bad filter, nobody new "
        "to invite, a training not in the invitations or enrolment phase.",
    )
    def post(self, data, case_id):
        """Invite the current people of the chosen member units: each is put on the list
        as invited and sent the personalised invitation in one mailing about the
        training. A closed training opens to the units invited."""
        session, case = db(), _training(case_id)
        preview = data.pop("preview")
        if not permissions.can(crud.caller(), "training.manage"):
            return crud.refusal(Forbidden(_("You may not send invitations to trainings.")))
        try:
            if preview:
                found = invitations.invitees(session, case, data, crud.caller())
                return _invited(found, None), 200
            mailing, found = invitations.invite(session, case, data, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return _invited(found, mailing.id), 201


@trainings_bp.route("/<int:case_id>/certificates")
class TrainingCertificates(MethodView):
    @trainings_bp.response(
        202,
        JobSchema,
        description="Started: the job makes the missing certificates; ``GET /jobs/{id}`` "
        "shows how far it has got.",
    )
    @trainings_bp.alt_response(403, description="The caller may not manage trainings.")
    @trainings_bp.alt_response(422, description="The training is not at its certificates yet.")
    def post(self, case_id):
        """Make the certificates the attendees lack (a late correction of attendance);
        the step to "certificates issued" starts this by itself."""
        session, case = db(), _training(case_id)
        try:
            if not permissions.can(crud.caller(), "training.manage"):
                raise Forbidden(_("You may not manage trainings."))
            job = certificates.start(session, case, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        session.refresh(job)  # jobs run at once (tests, scripts) are done already
        return describe(job), 202, {
            "Location": url_for("api_jobs.Item", job_id=job.id, _external=True)}


class PeriodArgs(schemas.Strict):
    start = fields.Date(load_default=None, metadata={"description": "The first day counted."})
    end = fields.Date(load_default=None, metadata={"description": "The last day counted."})


class UnitLineSchema(schemas.Strict):
    organisation_id = fields.Integer()
    name = fields.String()
    people = fields.Integer(metadata={"description": "Different people who attended."})
    attendances = fields.Integer(metadata={"description": "Person × training."})
    trainings = fields.Integer()
    last = fields.Date(allow_none=True, metadata={"description": "The last training's day."})


class AttendanceSchema(schemas.Strict):
    person_id = fields.Integer()
    name = fields.String()
    case_id = fields.Integer()
    training = fields.String()
    day = fields.Date()


@reports_bp.route("/units")
class UnitsReport(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, UnitLineSchema(many=True))
    @reports_bp.alt_response(403, description="The caller may not enrol people.")
    @reports_bp.alt_response(422, description="The period ends before it starts.")
    def get(self, args):
        """How often each member unit sends people: those who attended in the period (a
        training counts on its day), the most active unit first."""
        _may_enrol()
        return _period_problem(args) or report.units(db(), crud.caller(), args["start"],
                                                     args["end"])


@reports_bp.route("/units/<int:organisation_id>")
class UnitReport(MethodView):
    @reports_bp.arguments(PeriodArgs, location="query")
    @reports_bp.response(200, AttendanceSchema(many=True))
    @reports_bp.alt_response(403, description="The caller may not enrol people.")
    @reports_bp.alt_response(404, description="No such unit, or the caller may not see it.")
    @reports_bp.alt_response(422, description="The period ends before it starts.")
    def get(self, args, organisation_id):
        """Who of the unit attended what and when, the latest first."""
        _may_enrol()
        if records.get(db(), Organisation, organisation_id, crud.caller()) is None:
            abort(404)
        return _period_problem(args) or report.of_unit(db(), crud.caller(), organisation_id,
                                                       args["start"], args["end"])


def _period_problem(args):
    """A period ending before it starts, refused as a field error (else None)."""
    if args["start"] and args["end"] and args["end"] < args["start"]:
        return crud.refusal(ValidationError({"end": _(
            "The period cannot end before it starts.")}))
    return None


def _invited(found, mailing_id) -> dict:
    return {"units": len(found.units), "invited": len(found.people),
            "on_the_list": found.on_the_list, "mailing_id": mailing_id}


@enrolments_bp.route("/<int:enrolment_id>")
class OneEnrolment(MethodView):
    @enrolments_bp.response(200, EnrolmentSchema)
    @enrolments_bp.alt_response(403, description="The caller may not enrol people.")
    def get(self, enrolment_id):
        """Read one enrolment."""
        row = _enrolment(enrolment_id)
        return row, 200, {"ETag": api_records._etag(row)}

    @enrolments_bp.arguments(EnrolmentChangeSchema)
    @enrolments_bp.response(200, EnrolmentSchema)
    @enrolments_bp.alt_response(403, description="The caller may not enrol people.")
    @enrolments_bp.alt_response(412, description="The enrolment changed since the ETag was read.")
    @enrolments_bp.alt_response(
        422, description="Field-level errors: an enrolment already settled, a training past."
    )
    @enrolments_bp.alt_response(428, description="If-Match is missing.")
    def patch(self, data, enrolment_id):
        """Cancel the enrolment; send the ETag you read in If-Match."""
        session, row = db(), _enrolment(enrolment_id)
        version = api_records._if_match(row)
        if isinstance(version, tuple):
            return version[0]
        try:
            enrolments.cancel(session, row, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return row, 200, {"ETag": api_records._etag(row)}


def _may_enrol() -> None:
    if not any(permissions.can(crud.caller(), key) for key in enrolments.STAFF_KEYS):
        raise Forbidden(_("You may not enrol people in trainings."))


def _training(case_id: int):
    _may_enrol()
    found = enrolments.training(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _enrolment(enrolment_id: int) -> Enrolment:
    _may_enrol()
    found = records.get(db(), Enrolment, enrolment_id, crud.caller())
    if found is None:
        abort(404)
    return found

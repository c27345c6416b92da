"""The expertise registry in the REST API, under /api/v1/expertise (EX-2, EX-3).

``specialisations/``: all of them, archived ones with ``?include_archived=true`` (GET),
and a new one (POST); ``specialisations/<id>``: one (GET), renamed or archived (PATCH
some fields, PUT all of them). A specialisation has no version: the last change wins.
``departments/``: the departments with what they cover, their managers and how many
inquiries each has open (GET) and a new one (POST); ``departments/<id>``: one (GET),
replaced with its ETag in ``If-Match`` (PUT), moved to the bin (DELETE), refused (422)
while it has open inquiries.
``experts/``: the experts, a page at a time, narrowed by ``specialisation_id`` and
``active`` (GET), and a new one (POST); ``experts/<id>``: one with its absences and
conflicts of interest (GET), replaced with its ETag in ``If-Match`` (PUT; absences or
conflicts left out are kept), moved to the bin (DELETE), refused (422) while an open
inquiry's estimate names the expert.

Any staff account reads; changing needs ``expertise.manage`` (403). Refusals are
problem+json with a message per field. Portal accounts find nothing here (404).
"""

from __future__ import annotations

import copy

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import records
from core.api import crud, schemas
from core.api import records as api_records
from core.api.auth import staff_only
from core.errors import Forbidden, ValidationError
from core.models import Organisation, Person
from core.validation import an_id, max_length
from core.web.db import db
from plugins.expertise import departments, experts, specialisations
from plugins.expertise.models import Department, Expert, ExpertSpecialisation, Specialisation


def _ids_of(found) -> list[int]:
    return [s.id for s in found]


# --- Schemas -------------------------------------------------------------------------------

class SpecialisationOutSchema(specialisations.SpecialisationSchema, schemas.Strict):
    """What opinions are about; inquiries are routed by it."""

    id = fields.Integer(dump_only=True)


class SpecialisationListArgs(schemas.Strict):
    include_archived = fields.Boolean(load_default=False, metadata={
        "description": "true: the archived ones too."})


class DepartmentOutSchema(departments.DepartmentSchema, schemas.Strict):
    """A department; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    specialisation_ids = fields.Function(
        lambda d: _ids_of(departments.specialisations_of(db(), d)),
        dump_only=True, metadata={
            "type": "array", "items": {"type": "integer"},
            "description": "The specialisations it covers: inquiries of them are routed "
                           "to it."})
    open_inquiries = fields.Function(lambda d: departments.open_inquiries(db(), d),
                                     dump_only=True, metadata={
                                         "type": "integer",
                                         "description": "Its inquiries not invoiced or "
                                                        "rejected yet."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class DepartmentInSchema(departments.DepartmentSchema, schemas.Strict):
    """A department as it is written: every field; those left out are emptied."""


class ExpertAbsenceSchema(experts.AbsenceSchema, schemas.Strict):
    """Days the expert cannot work, both ends included."""


class ExpertConflictSchema(experts.ConflictSchema, schemas.Strict):
    """A party the expert must not work for or against: exactly one of
    ``organisation_id`` and ``person_id``."""


class ExpertConflictOutSchema(Schema):
    organisation_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    name = fields.String(metadata={"description": "The party's name; empty when the caller "
                                                  "may not see the party."})
    reason = fields.String()


def _rate() -> fields.Decimal:
    """The service's rate field (its limits and messages), answered as the decimal
    string it is in JSON, never a float."""
    found = copy.deepcopy(experts.ExpertSchema._declared_fields["hourly_rate"])
    found.as_string = True
    return found


class ExpertInSchema(experts.ExpertSchema, schemas.Strict):
    """An expert as it is written; absences or conflicts left out are kept."""

    hourly_rate = _rate()
    absences = fields.List(fields.Nested(ExpertAbsenceSchema), load_default=None,
                           allow_none=True, metadata={
                               "description": "Days they cannot work; given, it replaces "
                                              "the list kept."})
    conflicts = fields.List(fields.Nested(ExpertConflictSchema), load_default=None,
                            allow_none=True, metadata={
                                "description": "Parties they must not work for or against; "
                                               "given, it replaces the list kept."})


class ExpertSchema(Schema):
    """An expert as the list answers; ``version`` is its ETag."""

    id = fields.Integer()
    version = fields.Integer(metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    person_id = fields.Integer(metadata={"description": "The expert: a person of the card "
                                                        "index."})
    name = fields.Function(lambda e: experts.name(db(), e), metadata={"type": "string"})
    internal = fields.Boolean(metadata={"description": "The firm's own (true) or external."})
    department_id = fields.Integer(allow_none=True)
    hourly_rate = _rate()
    active = fields.Boolean(metadata={"description": "False: not offered for new inquiries."})
    note = fields.String()
    specialisation_ids = fields.Function(
        lambda e: _ids_of(experts.specialisations_of(db(), e)),
        metadata={"type": "array", "items": {"type": "integer"}})
    open_inquiries = fields.Function(lambda e: experts.busy(db(), e), metadata={
        "type": "integer", "description": "Open inquiries whose estimate names the expert."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ExpertDetailSchema(ExpertSchema):
    """An expert with absences and conflicts of interest."""

    absences = fields.Function(lambda e: [
        {"starts_on": a.starts_on.isoformat(), "ends_on": a.ends_on.isoformat(),
         "reason": a.reason} for a in experts.absences_of(db(), e)],
        metadata={"type": "array", "items": {"type": "object", "properties": {
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "reason": {"type": "string"}}}})
    conflicts = fields.Function(
        lambda e: ExpertConflictOutSchema(many=True).dump(_conflicts(e)),
        metadata={"type": "array", "items": {"type": "object"}, "description": (
            "Parties they must not work for or against: organisation_id or person_id, "
            "name (empty when the caller may not see the party), reason.")})


class ExpertListArgs(schemas.Strict):
    specialisation_id = fields.Integer(validate=an_id(), metadata={
        "description": "Only the experts of this specialisation."})
    active = fields.Boolean(metadata={"description": "true: only active experts; false: "
                                                     "only inactive ones."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


# --- Blueprints ----------------------------------------------------------------------------

specialisations_bp = Blueprint("expertise_specialisations", __name__,
                               url_prefix="/specialisations",
                               description="What expert opinions are about")
departments_bp = Blueprint("expertise_departments", __name__, url_prefix="/departments",
                           description="Departments, what they cover and their managers")
experts_bp = Blueprint("expertise_experts", __name__, url_prefix="/experts",
                       description="Experts with rates, absences and conflicts of interest")
BLUEPRINTS = [specialisations_bp, departments_bp, experts_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything


@specialisations_bp.route("/")
class Specialisations(MethodView):
    @specialisations_bp.arguments(SpecialisationListArgs, location="query")
    @specialisations_bp.response(200, SpecialisationOutSchema(many=True))
    def get(self, args):
        """The specialisations by name; archived ones only when asked for."""
        return specialisations.listed(db(), include_archived=args["include_archived"])

    @specialisations_bp.arguments(SpecialisationOutSchema)
    @specialisations_bp.response(201, SpecialisationOutSchema)
    @specialisations_bp.alt_response(403, description="Needs expertise.manage.")
    @specialisations_bp.alt_response(422, description="name: empty, too long or taken "
                                                      "(whatever the letter case).")
    def post(self, _data):
        """Add a specialisation."""
        made, refused = _written(lambda session: specialisations.create(
            session, request.get_json(), crud.caller()))
        if refused is not None:
            return refused
        return made, 201, {"Location": f"{request.base_url.rstrip('/')}/{made.id}"}


@specialisations_bp.route("/<int:specialisation_id>")
class OneSpecialisation(MethodView):
    @specialisations_bp.response(200, SpecialisationOutSchema)
    @specialisations_bp.alt_response(404, description="No such specialisation.")
    def get(self, specialisation_id):
        """One specialisation."""
        return _specialisation(specialisation_id)

    @specialisations_bp.arguments(SpecialisationOutSchema(partial=True))
    @specialisations_bp.response(200, SpecialisationOutSchema)
    @specialisations_bp.alt_response(403, description="Needs expertise.manage.")
    @specialisations_bp.alt_response(422, description="name: empty, too long or taken.")
    def patch(self, _data, specialisation_id):
        """Rename it or archive it (``archived``: true), or offer it again; fields left
        out are kept."""
        return _change_specialisation(specialisation_id)

    @specialisations_bp.arguments(SpecialisationOutSchema)
    @specialisations_bp.response(200, SpecialisationOutSchema)
    @specialisations_bp.alt_response(403, description="Needs expertise.manage.")
    @specialisations_bp.alt_response(422, description="name: empty, too long or taken.")
    def put(self, _data, specialisation_id):
        """Replace its name and whether it is archived (``archived`` left out: false)."""
        return _change_specialisation(specialisation_id, {"archived": False})


def _change_specialisation(specialisation_id: int, defaults: dict | None = None):
    found = _specialisation(specialisation_id)
    _done, refused = _written(lambda session: specialisations.update(
        session, found, {**(defaults or {}), **request.get_json()}, crud.caller()))
    return found if refused is None else refused


@departments_bp.route("/")
class Departments(MethodView):
    @departments_bp.response(200, DepartmentOutSchema(many=True))
    def get(self):
        """The departments by name, each with its specialisations and open inquiries."""
        return departments.listed(db())

    @departments_bp.arguments(DepartmentInSchema)
    @departments_bp.response(201, DepartmentOutSchema)
    @departments_bp.alt_response(403, description="Needs expertise.manage.")
    @departments_bp.alt_response(422, description="Field-level errors: name (empty or "
                                                  "taken), manager_id (not an active staff "
                                                  "member), specialisation_ids.<n> (unknown "
                                                  "or archived).")
    def post(self, _data):
        """Add a department."""
        made, refused = _written(lambda session: departments.create(
            session, request.get_json(), crud.caller()))
        if refused is not None:
            return refused
        return made, 201, {"ETag": _etag(made),
                           "Location": f"{request.base_url.rstrip('/')}/{made.id}"}


@departments_bp.route("/<int:department_id>")
class OneDepartment(MethodView):
    @departments_bp.response(200, DepartmentOutSchema)
    @departments_bp.alt_response(404, description="No such department, or it is in the bin.")
    def get(self, department_id):
        """One department; the ETag is its version."""
        found = _department(department_id)
        return found, 200, {"ETag": _etag(found)}

    @departments_bp.arguments(DepartmentInSchema)
    @departments_bp.response(200, DepartmentOutSchema)
    @departments_bp.alt_response(403, description="Needs expertise.manage.")
    @departments_bp.alt_response(412, description="The department changed since the ETag "
                                                  "was read.")
    @departments_bp.alt_response(422, description="Field-level errors.")
    @departments_bp.alt_response(428, description="If-Match is missing.")
    def put(self, _data, department_id):
        """Replace the department; send the ETag you read in If-Match."""
        found = _department(department_id)
        version = api_records._if_match(found)
        if isinstance(version, tuple):
            return version[0]
        _done, refused = _written(lambda session: departments.update(
            session, found, request.get_json(), crud.caller(), version))
        if refused is not None:
            return refused
        return found, 200, {"ETag": _etag(found)}

    @departments_bp.response(204)
    @departments_bp.alt_response(403, description="Needs expertise.manage.")
    @departments_bp.alt_response(422, description="It has open inquiries.")
    def delete(self, department_id):
        """Move the department to the bin; refused while it has open inquiries."""
        found = _department(department_id)
        _done, refused = _written(lambda session: departments.delete(
            session, found, crud.caller()))
        return refused


@experts_bp.route("/")
class Experts(MethodView):
    @experts_bp.arguments(ExpertListArgs, location="query")
    @experts_bp.response(200, schemas.page_schema(ExpertSchema))
    @experts_bp.alt_response(422, description="specialisation_id: no such specialisation.")
    def get(self, args):
        """The experts, a page at a time in the order they were added, narrowed by
        specialisation and by whether they are active."""
        query = records.visible(Expert, crud.caller())
        chosen = args.get("specialisation_id")
        if chosen is not None:
            if specialisations.get(db(), chosen) is None:
                abort(422, messages={"query": {"specialisation_id": [
                    _("There is no such specialisation.")]}})
            query = query.where(Expert.id.in_(select(ExpertSpecialisation.expert_id).where(
                ExpertSpecialisation.specialisation_id == chosen)))
        if "active" in args:
            query = query.where(Expert.active.is_(args["active"]))
        return api_records.page(Expert, query, {"limit": args["limit"],
                                                "after": args.get("after")})

    @experts_bp.arguments(ExpertInSchema)
    @experts_bp.response(201, ExpertDetailSchema)
    @experts_bp.alt_response(403, description="Needs expertise.manage.")
    @experts_bp.alt_response(422, description="Field-level errors: person_id (unknown, or "
                                              "an expert already), hourly_rate (above 0 "
                                              "and below 100 000), department_id, "
                                              "specialisation_ids.<n>, absences.<n>.ends_on "
                                              "(before the first day), conflicts.<n> "
                                              "(neither or both parties named).")
    def post(self, _data):
        """Add an expert."""
        made, refused = _written(lambda session: experts.create(
            session, request.get_json(), crud.caller()))
        if refused is not None:
            return refused
        return made, 201, {"ETag": _etag(made),
                           "Location": f"{request.base_url.rstrip('/')}/{made.id}"}


@experts_bp.route("/<int:expert_id>")
class OneExpert(MethodView):
    @experts_bp.response(200, ExpertDetailSchema)
    @experts_bp.alt_response(404, description="No such expert, or they are in the bin.")
    def get(self, expert_id):
        """One expert with absences and conflicts of interest; the ETag is its version."""
        found = _expert(expert_id)
        return found, 200, {"ETag": _etag(found)}

    @experts_bp.arguments(ExpertInSchema)
    @experts_bp.response(200, ExpertDetailSchema)
    @experts_bp.alt_response(403, description="Needs expertise.manage.")
    @experts_bp.alt_response(412, description="The expert changed since the ETag was read.")
    @experts_bp.alt_response(422, description="Field-level errors.")
    @experts_bp.alt_response(428, description="If-Match is missing.")
    def put(self, _data, expert_id):
        """Replace the expert; send the ETag you read in If-Match. Absences or conflicts
        left out are kept; an empty list removes them."""
        found = _expert(expert_id)
        version = api_records._if_match(found)
        if isinstance(version, tuple):
            return version[0]
        _done, refused = _written(lambda session: experts.update(
            session, found, request.get_json(), crud.caller(), version))
        if refused is not None:
            return refused
        return found, 200, {"ETag": _etag(found)}

    @experts_bp.response(204)
    @experts_bp.alt_response(403, description="Needs expertise.manage.")
    @experts_bp.alt_response(422, description="An open inquiry's estimate names the expert.")
    def delete(self, expert_id):
        """Move the expert to the bin; refused while an open inquiry's estimate names
        them (mark them inactive instead)."""
        found = _expert(expert_id)
        _done, refused = _written(lambda session: experts.delete(
            session, found, crud.caller()))
        return refused


# --- Helpers -------------------------------------------------------------------------------

def _written(change):
    """``change(session)`` committed: (its answer, None); a refusal rolled back:
    (None, the problem+json to answer: 403, 412 or 422)."""
    session = db()
    try:
        done = change(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return None, crud.refusal(exc)
    return done, None


def _conflicts(expert: Expert) -> list[dict]:
    """The expert's conflicts, each party named only to whom may see it."""
    session, caller = db(), crud.caller()
    found = []
    for conflict in experts.conflicts_of(session, expert):
        model, record_id = (Organisation, conflict.organisation_id) \
            if conflict.organisation_id else (Person, conflict.person_id)
        party = records.get(session, model, record_id, caller)
        name = "" if party is None else party.name if model is Organisation \
            else party.full_name
        found.append({"organisation_id": conflict.organisation_id,
                      "person_id": conflict.person_id, "name": name,
                      "reason": conflict.reason})
    return found


def _etag(record) -> str:
    return f'"{record.version}"'


def _specialisation(specialisation_id: int) -> Specialisation:
    found = specialisations.get(db(), specialisation_id)
    if found is None:
        abort(404)
    return found


def _department(department_id: int) -> Department:
    found = records.get(db(), Department, department_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _expert(expert_id: int) -> Expert:
    found = records.get(db(), Expert, expert_id, crud.caller())
    if found is None:
        abort(404)
    return found

"""Calls for proposals, applying and the applications' checklists in the REST API, under
/api/v1/grants (GR-3).

``calls/``: the calls a page at a time, narrowed by ``status`` (open, upcoming,
closed), a range of deadlines, programme, grantor and words (``q``); a new call (POST).
``calls/<id>``: one call; PATCH corrects it with its ETag in ``If-Match``; DELETE moves
it to the bin, refused (422) while an application to it is open. Any staff account
reads the calls; changing them needs ``grants.manage`` (403).
``calls/<id>/applications``: the call's applications a page at a time, as the core's
lists are (GET), and applying for a client firm (POST), which starts the application
with the checklist of the call's attachments and ties it to the opportunity it was sold
by; refused (422) after the call's deadline.
``applications/<case_id>/checklist``: the checklist with its progress (GET) and an
extra item (POST); ``.../checklist/<item_id>`` removes an extra item (DELETE);
``.../checklist/<item_id>/ready`` ticks an item, with one of the application's own
attachments or none (POST), and unticks it (DELETE). Reading follows who may see the
application, ticking who may change it. Portal accounts find nothing here (404).
"""

from __future__ import annotations

import copy
from decimal import Decimal

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import records
from core.api import crud, schemas
from core.api import records as api_records
from core.api.auth import staff_only
from core.api.invoices import committed, decimal_out
from core.errors import Forbidden, ValidationError
from core.models import Attachment, Case
from core.validation import an_id, max_length
from core.web.db import db
from plugins.grants import calls, checklists, schedules
from plugins.grants import fields as grant_fields
from plugins.grants.call_views import requested
from plugins.grants.models import ChecklistItem, GrantCall


def _as_text(name: str) -> fields.Decimal:
    """The service's own amount field (its limits and messages), answered as the
    decimal string it is in JSON, never a float."""
    found = copy.deepcopy(calls.CallSchema._declared_fields[name])
    found.as_string = True
    return found


class GrantCallSchema(calls.CallSchema, schemas.Strict):
    """A call for proposals; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    budget = _as_text("budget")
    max_rate = _as_text("max_rate")
    status = fields.Function(lambda c: calls.status(c), dump_only=True, metadata={
        "enum": list(calls.STATUSES), "description": "open: taking applications today; "
        "upcoming: opening later; closed: the deadline has passed."})
    days_left = fields.Function(lambda c: calls.days_left(c), dump_only=True, metadata={
        "type": "integer", "description": "Days until the deadline: 0 on its day, "
                                          "negative once it has passed."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class GrantCallListArgs(calls.FilterSchema, schemas.Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


class GrantApplyInSchema(calls.ApplySchema, schemas.Strict):
    """Applying to the call for a client firm."""


class GrantChecklistItemSchema(Schema):
    id = fields.Integer()
    position = fields.Integer(metadata={"description": "Its place on the checklist."})
    name = fields.String()
    required = fields.Boolean(metadata={
        "description": "Named by the call; false: added for this application, removable."})
    ready = fields.Boolean(metadata={
        "description": "Ticked, with its file (if any) still among the application's "
                       "attachments."})
    attachment_id = fields.Integer(allow_none=True, metadata={
        "description": "The application's attachment that is ready; null: none named."})
    filename = fields.String(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    ready_by_id = fields.Integer(allow_none=True)


class GrantChecklistSchema(Schema):
    case_id = fields.Integer(metadata={"description": "The grant application."})
    call_id = fields.Integer(allow_none=True, metadata={
        "description": "The call it answers; null: started without one."})
    deadline = fields.Date(allow_none=True, metadata={"description": "The call's deadline."})
    ready = fields.Integer(metadata={"description": "Items ready."})
    total = fields.Integer(metadata={"description": "Items on the checklist."})
    items = fields.List(fields.Nested(GrantChecklistItemSchema))


class GrantApplicationSchema(Schema):
    """A grant application to a call, with its checklist."""

    case_id = fields.Integer(metadata={"description": "The case of grants.application; read "
                                                      "and move it under /api/v1/cases."})
    call_id = fields.Integer()
    title = fields.String()
    organisation_id = fields.Integer(allow_none=True, metadata={
        "description": "The client firm."})
    owner_id = fields.Integer(allow_none=True)
    phase_key = fields.String()
    requested_amount = decimal_out(2, "The grant requested, PLN.", example="350000.00",
                                   allow_none=True)
    project_value = decimal_out(2, "The project's value, PLN.", example="500000.00",
                                allow_none=True)
    opportunity_id = fields.Integer(allow_none=True, metadata={
        "description": "The opportunity it was sold by, whose cooperation contract's "
                       "milestones it reaches; null: tied to none the caller may see."})
    checklist = fields.Nested(GrantChecklistSchema, allow_none=True)


class ChecklistItemInSchema(schemas.Strict):
    name = fields.String(required=True, validate=max_length(300), metadata={
        "description": "An attachment the call does not name."})


class ChecklistReadyInSchema(schemas.Strict):
    attachment_id = fields.Integer(load_default=None, allow_none=True, validate=an_id(),
                                   metadata={"description": "One of the application's own "
                                                            "attachments; null: none."})


calls_bp = Blueprint("grants_call_list", __name__, url_prefix="/calls",
                     description="Calls for proposals and applying to them")
checklists_bp = Blueprint("grants_application_checklists", __name__,
                          url_prefix="/applications",
                          description="The checklists of attachments of grant applications")
BLUEPRINTS = [calls_bp, checklists_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything


@calls_bp.route("/")
class Calls(MethodView):
    @calls_bp.arguments(GrantCallListArgs, location="query")
    @calls_bp.response(200, schemas.page_schema(GrantCallSchema))
    @calls_bp.alt_response(422, description="A filter that cannot be used, by its name.")
    def get(self, args):
        """The calls the filters find, a page at a time."""
        filters = {k: v for k, v in request.args.items() if k not in ("limit", "after")}
        try:
            query = calls.search(filters, crud.caller())
        except ValidationError as exc:
            abort(422, messages={"query": exc.errors})
        return api_records.page(GrantCall, query, args)

    @calls_bp.arguments(GrantCallSchema)
    @calls_bp.response(201, GrantCallSchema)
    @calls_bp.alt_response(403, description="Needs grants.manage.")
    @calls_bp.alt_response(422, description="Field-level errors: title, deadline (missing, "
                                            "before the call opens), budget, max_rate, "
                                            "grantor_id, required_attachments (an empty "
                                            "name, a name twice).")
    def post(self, _data):
        """Add a call for proposals."""
        session = db()
        try:
            call = calls.create(session, request.get_json(), crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return call, 201, {"ETag": _etag(call),
                           "Location": f"{request.base_url.rstrip('/')}/{call.id}"}


@calls_bp.route("/<int:call_id>")
class OneCall(MethodView):
    @calls_bp.response(200, GrantCallSchema)
    @calls_bp.alt_response(404, description="No such call, or it is in the bin.")
    def get(self, call_id):
        """One call; the ETag is its version."""
        call = _call(call_id)
        return call, 200, {"ETag": _etag(call)}

    @calls_bp.arguments(GrantCallSchema(partial=True))
    @calls_bp.response(200, GrantCallSchema)
    @calls_bp.alt_response(403, description="Needs grants.manage.")
    @calls_bp.alt_response(412, description="The call changed since the ETag was read.")
    @calls_bp.alt_response(422, description="Field-level errors.")
    @calls_bp.alt_response(428, description="If-Match is missing.")
    def patch(self, _data, call_id):
        """Correct some fields; send the ETag you read in If-Match. Attachments added to
        the list join the checklists of the applications still being prepared."""
        session, call = db(), _call(call_id)
        # If-Match required (428 without it), as the core's own records are: the core
        # has no public helper for that yet (``crud.if_match`` takes it as optional).
        version = api_records._if_match(call)
        if isinstance(version, tuple):
            return version[0]
        try:
            calls.update(session, call, request.get_json(), crud.caller(), version)
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return call, 200, {"ETag": _etag(call)}

    @calls_bp.response(204)
    @calls_bp.alt_response(403, description="Needs grants.manage.")
    @calls_bp.alt_response(422, description="An application to the call is still open.")
    def delete(self, call_id):
        """Move the call to the bin; refused while an application to it is open."""
        session, call = db(), _call(call_id)
        try:
            calls.delete(session, call, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return None


@calls_bp.route("/<int:call_id>/applications")
class CallApplications(MethodView):
    @calls_bp.arguments(schemas.ListArgs, location="query")
    @calls_bp.response(200, schemas.page_schema(GrantApplicationSchema))
    @calls_bp.alt_response(422, description="A filter or sort that cannot be used.")
    def get(self, args, call_id):
        """The call's applications the caller may see, a page at a time, narrowed by
        ``filter`` and ordered by ``sort`` on the fields of cases."""
        session, call = db(), _call(call_id)
        found = api_records.page(Case, calls.applications_query(call, crud.caller()), args)
        return {**found, "items": _applications(session, call, found["items"])}

    @calls_bp.arguments(GrantApplyInSchema)
    @calls_bp.response(201, GrantApplicationSchema)
    @calls_bp.alt_response(403, description="The caller may not create grant applications.")
    @calls_bp.alt_response(422, description="Field-level errors: organisation_id (unknown, "
                                            "or applying to this call already), owner_id, "
                                            "requested_amount (more than the project's "
                                            "value or the call's rate), project_value; "
                                            "deadline when the call has closed.")
    def post(self, _data, call_id):
        """Start a grant application to the call for a client firm, in preparation, with
        the checklist of the call's attachments."""
        call = _call(call_id)
        answer = committed(lambda session: calls.apply(
            session, _host(), call, request.get_json(), crud.caller()), 201,
            refuse=crud.refusal)
        if not isinstance(answer, tuple):
            return answer
        case, status = answer
        return _applications(db(), call, [case])[0], status, {
            "Location": f"{request.url_root}api/v1/cases/{case.id}"}


@checklists_bp.route("/<int:case_id>/checklist")
class Checklist(MethodView):
    @checklists_bp.response(200, GrantChecklistSchema)
    @checklists_bp.alt_response(404, description="No grant application of this id that the "
                                                 "caller may see.")
    def get(self, case_id):
        """The application's checklist of attachments, with its progress."""
        return _checklist(db(), _case(case_id))

    @checklists_bp.arguments(ChecklistItemInSchema)
    @checklists_bp.response(201, GrantChecklistItemSchema)
    @checklists_bp.alt_response(403, description="The caller may not change the application.")
    @checklists_bp.alt_response(422, description="name: empty, too long or on the checklist "
                                                 "already; _ once the application is "
                                                 "decided.")
    def post(self, data, case_id):
        """Add an attachment the call does not name to the checklist."""
        case = _case(case_id)
        return _changed(case, lambda session: checklists.add(
            session, case, data["name"], crud.caller()), 201)


@checklists_bp.route("/<int:case_id>/checklist/<int:item_id>")
class ChecklistEntry(MethodView):
    @checklists_bp.response(204)
    @checklists_bp.alt_response(403, description="The caller may not change the application.")
    @checklists_bp.alt_response(422, description="item_id: the call requires the item.")
    def delete(self, case_id, item_id):
        """Take an item the call does not name off the checklist."""
        session, case = db(), _case(case_id)
        _item(session, case, item_id)
        try:
            checklists.remove(session, case, item_id, crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return None


@checklists_bp.route("/<int:case_id>/checklist/<int:item_id>/ready")
class Ready(MethodView):
    @checklists_bp.arguments(ChecklistReadyInSchema, required=False)
    @checklists_bp.response(200, GrantChecklistItemSchema)
    @checklists_bp.alt_response(403, description="The caller may not change the application.")
    @checklists_bp.alt_response(422, description="attachment_id: not one of the "
                                                 "application's own attachments; _ once "
                                                 "the application is decided.")
    def post(self, data, case_id, item_id):
        """Tick the item as ready, with one of the application's attachments or none;
        ticking it again with another file replaces the file."""
        session, case = db(), _case(case_id)
        _item(session, case, item_id)
        return _changed(case, lambda s: checklists.mark_ready(
            s, case, item_id, (data or {}).get("attachment_id"), crud.caller()))

    @checklists_bp.response(200, GrantChecklistItemSchema)
    @checklists_bp.alt_response(403, description="The caller may not change the application.")
    @checklists_bp.alt_response(422, description="_ once the application is decided.")
    def delete(self, case_id, item_id):
        """The item is not ready after all; its file stays among the attachments."""
        session, case = db(), _case(case_id)
        _item(session, case, item_id)
        return _changed(case, lambda s: checklists.unmark(s, case, item_id, crud.caller()))


# --- Helpers -------------------------------------------------------------------------------

def _changed(case: Case, change, status: int = 200):
    """The change committed and the item answered as the checklist shows it."""
    answer = committed(change, status, refuse=crud.refusal)
    if not isinstance(answer, tuple):
        return answer
    item, status = answer
    session = db()
    line = next(line for line in checklists.lines(session, case) if line.item.id == item.id)
    return _line(line), status


def _checklist(session, case: Case) -> dict:
    found = checklists.lines(session, case, crud.caller())
    call = calls.of_case(session, case)
    ready, total = checklists.progress(found)
    return {"case_id": case.id, "call_id": call.id if call else None,
            "deadline": call.deadline if call else None, "ready": ready, "total": total,
            "items": [_line(line) for line in found]}


def _line(line: checklists.Line) -> dict:
    item = line.item
    return {"id": item.id, "position": item.position, "name": item.name,
            "required": line.required, "ready": line.ready,
            "attachment_id": item.attachment_id,
            "filename": line.attachment.filename if line.attachment else None,
            "ready_at": item.ready_at, "ready_by_id": item.ready_by_id}


def _applications(session, call: GrantCall, found: list[Case]) -> list[dict]:
    """The call's applications as the API answers them, their checklists and the
    opportunities they were sold by read at once for all of them."""
    ids = [case.id for case in found]
    checklists_of = _checklists(session, call, ids)
    sold = _sold_by(session, ids)
    answered = []
    for case in found:
        value = (case.custom or {}).get(grant_fields.PROJECT_VALUE)
        answered.append({
            "case_id": case.id, "call_id": call.id, "title": case.title,
            "organisation_id": case.organisation_id, "owner_id": case.owner_id,
            "phase_key": case.phase_key, "requested_amount": requested(case),
            "project_value": Decimal(str(value["amount"])) if value else None,
            "opportunity_id": sold.get(case.id), "checklist": checklists_of[case.id]})
    return answered


def _checklists(session, call: GrantCall, ids: list[int]) -> dict[int, dict]:
    """The checklists of the call's applications ``ids`` (all visible to the caller),
    as ``checklists.lines`` makes each, in two queries."""
    items = session.scalars(select(ChecklistItem).where(ChecklistItem.case_id.in_(ids))
                            .order_by(ChecklistItem.case_id, ChecklistItem.position)).all() \
        if ids else []
    files = {i.attachment_id for i in items if i.attachment_id is not None}
    attached = {a.id: a for a in session.scalars(select(Attachment).where(
        Attachment.id.in_(files)))} if files else {}
    named = {calls.name_key(n) for n in call.required_attachments or []}
    lines = {case_id: [] for case_id in ids}
    for item in items:
        lines[item.case_id].append(checklists.Line(
            item, attached.get(item.attachment_id), calls.name_key(item.name) in named))
    answered = {}
    for case_id, found in lines.items():
        ready, total = checklists.progress(found)
        answered[case_id] = {"case_id": case_id, "call_id": call.id, "deadline": call.deadline,
                             "ready": ready, "total": total,
                             "items": [_line(line) for line in found]}
    return answered


def _sold_by(session, ids: list[int]) -> dict[int, int]:
    """The opportunity each application was sold by, of those the caller may see."""
    tied = schedules.tied(session, ids)
    wanted = {o for found in tied.values() for o in found}
    seen = set(session.scalars(records.visible(Case, crud.caller()).where(
        Case.id.in_(wanted)).with_only_columns(Case.id))) if wanted else set()
    return {a: next(o for o in found if o in seen) for a, found in tied.items()
            if any(o in seen for o in found)}


def _etag(call: GrantCall) -> str:
    return f'"{call.version}"'


def _call(call_id: int) -> GrantCall:
    found = calls.get(db(), call_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _case(case_id: int) -> Case:
    found = checklists.application(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _item(session, case: Case, item_id: int) -> None:
    if checklists.get(session, case, item_id, crud.caller()) is None:
        abort(404)


def _host():
    return current_app.extensions["kartoteka"].host

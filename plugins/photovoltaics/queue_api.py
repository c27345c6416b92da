"""The sales queues in the REST API, under /api/v1/photovoltaics (PV-6).

``sales-reps`` and ``queue-rules``: the reps and the rules that route new leads, through
``core.api.crud``, with ``photovoltaics.manage_queues`` (403 otherwise); DELETE retires a
rep (no longer planned; their past work stays) and deletes a rule (to the bin).
``queue-entries``: the queues' calls and meetings a page at a time, narrowed by rep,
status, kind, case and planned time; a sales manager reads every entry, a rep
(``photovoltaics.work_queue``) their own. ``queue-entries/<id>/outcome`` records what
came of one, ``queue-entries/<id>/withdraw`` takes one off the queue, and
``queue-plans`` plans the reps' days. Every call goes through the services of the staff
pages; a refusal answers 422 with a message per field and writes nothing. Portal
accounts find nothing here (404).
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from core.api import crud, schemas
from core.api import records as api_records
from core.api.auth import staff_only
from core.api.invoices import committed
from core.errors import Forbidden, ValidationError
from core.validation import an_id
from core.web.db import db
from plugins.photovoltaics import queue_outcomes, queue_planning, queues
from plugins.photovoltaics.models import (
    ENTRY_STATUSES,
    QUEUE_KINDS,
    QueueEntry,
    QueueRule,
    Rep,
)


class RepRecordSchema(queues.RepSchema, schemas.Strict):
    """A sales rep; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    name = fields.Function(lambda rep: queues.rep_name(db(), rep), dump_only=True,
                           metadata={"description": "The staff member's name."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RuleRecordSchema(queues.RuleSchema, schemas.Strict):
    """A rule routing new leads; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class EntrySchema(schemas.Strict):
    """A call or a meeting of the queues."""

    id = fields.Integer()
    version = fields.Integer()
    case_id = fields.Integer(metadata={"description": "The lead: an installation's case."})
    kind = fields.String(validate=validate.OneOf(QUEUE_KINDS))
    status = fields.String(validate=validate.OneOf(ENTRY_STATUSES), metadata={
        "description": "queued (waiting to be planned), planned, done (its outcome "
                       "recorded) or cancelled (withdrawn)."})
    priority = fields.Integer(metadata={"description": "Higher ones are planned first."})
    rule_id = fields.Integer(allow_none=True)
    for_rep_id = fields.Integer(allow_none=True, metadata={
        "description": "Only this rep may take it; null: any rep."})
    rep_id = fields.Integer(allow_none=True, metadata={
        "description": "The rep it is planned for, or who worked it."})
    attempt = fields.Integer(metadata={"description": "The how-manieth try of a call."})
    queued_at = fields.DateTime()
    not_before = fields.DateTime(allow_none=True)
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime(allow_none=True)
    travel_minutes = fields.Integer(allow_none=True, metadata={
        "description": "A meeting: the drive to it, before starts_at."})
    event_id = fields.Integer(allow_none=True, metadata={
        "description": "A planned meeting: its event in the rep's calendar."})
    outcome = fields.String(metadata={"description": "What came of it; empty until done."})
    note = fields.String()
    done_at = fields.DateTime(allow_none=True)
    done_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


AWARE = {"invalid_awareness": _l("Give the time with its time zone.")}


class EntryArgs(crud.PageArgs):
    rep_id = fields.Integer(validate=an_id())
    status = fields.String(validate=validate.OneOf(
        ENTRY_STATUSES, error=_l("Choose a status from the list.")))
    kind = fields.String(validate=validate.OneOf(
        QUEUE_KINDS, error=_l("Choose calls or meetings.")))
    case_id = fields.Integer(validate=an_id())
    starts_from = fields.AwareDateTime(error_messages=AWARE, metadata={
        "description": "Planned from this time on."})
    starts_before = fields.AwareDateTime(error_messages=AWARE, metadata={
        "description": "Planned before this time."})


class OutcomeInSchema(queue_outcomes.OutcomeSchema, schemas.Strict):
    """What came of a call or a meeting."""


class PlanInSchema(schemas.Strict):
    start = fields.Date(required=True, metadata={"description": "The first day planned."})
    days = fields.Integer(load_default=5, metadata={"description": "How many days, from 1 "
                                                                  "to 31."})


class PlanOutSchema(schemas.Strict):
    enqueued = fields.Integer(metadata={"description": "Leads newly queued by the rules."})
    unmatched = fields.Integer(metadata={"description": "Leads no rule takes: not queued."})
    planned = fields.List(fields.Integer(), metadata={"description": "The entries planned."})
    unplanned = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Entries left in the queue by reason: no_time, outside (no rep "
                       "travels so far), no_town (the client's town is not known), no_rep."})


def _retire(session, rep: Rep, actor) -> Rep:
    """Retire the rep: no longer planned; what they worked stays."""
    return queues.retire_rep(session, rep, actor)


def _delete_rule(session, rule: QueueRule, actor) -> None:
    """Delete the rule (to the bin); the leads it queued stay queued."""
    queues.delete_rule(session, rule, actor)


reps_bp = crud.blueprint(
    "sales-reps", Rep, RepRecordSchema, description="The reps of the sales queues",
    permission=queues.MANAGE,
    create=lambda session, _model, _data, actor: queues.create_rep(
        session, request.get_json(), actor),
    update=lambda session, rep, _data, actor, version: queues.update_rep(
        session, rep, request.get_json(), actor, version),
    delete=_retire)
rules_bp = crud.blueprint(
    "queue-rules", QueueRule, RuleRecordSchema,
    description="The rules that route new leads to the sales queues",
    permission=queues.MANAGE,
    create=lambda session, _model, _data, actor: queues.create_rule(
        session, request.get_json(), actor),
    update=lambda session, rule, _data, actor, version: queues.update_rule(
        session, rule, request.get_json(), actor, version),
    delete=_delete_rule)
entries_bp = Blueprint("queue-entries", __name__, url_prefix="/queue-entries",
                       description="The calls and meetings of the sales queues")
plans_bp = Blueprint("queue-plans", __name__, url_prefix="/queue-plans",
                     description="Planning the reps' calls and meetings")
BLUEPRINTS = [reps_bp, rules_bp, entries_bp, plans_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # portal accounts: 404


@entries_bp.route("/")
class Entries(MethodView):
    @entries_bp.arguments(EntryArgs, location="query")
    @entries_bp.response(200, schemas.page_schema(EntrySchema))
    @entries_bp.alt_response(403, description="The caller neither works nor manages the "
                                              "sales queues.")
    def get(self, args):
        """The entries, a page at a time by id: every one for a sales manager, a rep's
        own (planned for them, worked by them, or only for them) for a rep."""
        query = _narrowed(queues.entry_query(
            rep_id=args.get("rep_id"), status=args.get("status"), kind=args.get("kind"),
            case_id=args.get("case_id"), starts=args.get("starts_from"),
            ends=args.get("starts_before")))
        return api_records.page(QueueEntry, query, args)


@entries_bp.route("/<int:entry_id>")
class OneEntry(MethodView):
    @entries_bp.response(200, EntrySchema)
    @entries_bp.alt_response(403, description="The caller neither works nor manages the "
                                              "sales queues.")
    @entries_bp.alt_response(404, description="No such entry, or another rep's.")
    def get(self, entry_id):
        """Read one entry."""
        return _entry(entry_id)


@entries_bp.route("/<int:entry_id>/outcome")
class EntryOutcome(MethodView):
    @entries_bp.arguments(OutcomeInSchema)
    @entries_bp.response(200, EntrySchema)
    @entries_bp.alt_response(403, description="Another rep's entry, or no right to it.")
    @entries_bp.alt_response(404, description="No such entry, or another rep's.")
    @entries_bp.alt_response(422, description="Field-level errors: an outcome of another "
                                              "kind, a time missing or past, an entry "
                                              "worked already.")
    def post(self, data, entry_id):
        """Record what came of the call or the meeting; what follows (another try, the
        meeting agreed, the case lost or on to the audit) follows by itself."""
        entry = _entry(entry_id)
        return committed(lambda session: queue_outcomes.record(
            session, entry, data, crud.caller()))


@entries_bp.route("/<int:entry_id>/withdraw")
class EntryWithdrawal(MethodView):
    @entries_bp.response(200, EntrySchema)
    @entries_bp.alt_response(403, description="The caller may not manage the sales queues.")
    @entries_bp.alt_response(404, description="No such entry.")
    @entries_bp.alt_response(422, description="The entry is done or withdrawn already.")
    def post(self, entry_id):
        """Take a waiting or planned entry off the queue (its meeting event cancelled)."""
        entry = _entry(entry_id)
        return committed(lambda session: queues.withdraw(session, entry, crud.caller()))


@plans_bp.route("/")
class Plans(MethodView):
    @plans_bp.arguments(PlanInSchema)
    @plans_bp.response(200, PlanOutSchema)
    @plans_bp.alt_response(403, description="The caller may not manage the sales queues.")
    @plans_bp.alt_response(422, description="A period not from today on.")
    def post(self, data):
        """Queue the new leads by the rules and plan every rep's calls and meetings for
        the period; what was planned and not worked yet is planned anew."""
        session = db()
        try:
            made = queue_planning.plan(session, data["start"], data["days"], crud.caller())
            session.commit()
        except (ValidationError, Forbidden) as exc:
            session.rollback()
            return crud.refusal(exc)
        return {"enqueued": made.enqueued, "unmatched": made.unmatched,
                "planned": [e.id for e in made.planned], "unplanned": made.unplanned}


def _narrowed(query):
    """A rep sees their own entries; a sales manager every one."""
    caller = crud.caller()
    if queues.may_manage(caller):
        return query
    rep = queues.rep_of(db(), caller) if queues.may_work(caller) else None
    if not queues.may_work(caller):
        abort(403)
    if rep is None:
        return query.where(QueueEntry.id.is_(None))
    return query.where((QueueEntry.rep_id == rep.id) | (QueueEntry.for_rep_id == rep.id))


def _entry(entry_id: int) -> QueueEntry:
    query = _narrowed(queues.entry_query().where(QueueEntry.id == entry_id))
    found = db().scalar(query)
    if found is None:
        abort(404)
    return found


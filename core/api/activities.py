"""The contact history through the API: notes, calls, meetings, e-mails and events.

An activity is seen where the records it is about are: the caller sees it when they
may see at least one of them, and only those of its links (an entry about a person they
may not see does not name that person). A record's timeline is read newest first with
``core.timeline``, the query of the record's card, and continued ``after`` a cursor.
Recording one goes through ``timeline.add`` for records the caller may see, as the
cards' form does. Only an entry recorded by hand changes or goes, by whoever recorded
it or an administrator (``timeline.editable``); an event or a sent e-mail is the
system's, and answers 403. An entry has no version: a change replaces what it said.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from core import records, timeline
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.models import Activity
from core.models.activity import KINDS
from core.validation import max_length
from core.web.db import db
from core.web.search import CARDS

LINKS_MAX = 20  # records one entry is about


class RecordRefSchema(schemas.Strict):
    record_type = fields.String(required=True, validate=validate.OneOf(tuple(CARDS)),
                                metadata={"description": "organisation, person or case"})
    record_id = fields.Integer(required=True)


class ActivitySchema(schemas.Strict):
    """An entry of the contact history; ``links`` names the records it is about."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        timeline.HAND_KINDS, error=_l("Choose a kind of activity from the list.")), metadata={
            "description": "note, call, meeting, email_in or email_out; the system's own "
                           "entries are system."})
    kind_label = fields.Function(lambda a: timeline.label(a), dump_only=True, metadata={
        "type": "string", "description": "The kind (or event) in the request's language."})
    event = fields.String(dump_only=True, metadata={
        "description": "What the system recorded (phase_changed, mail, ...); empty for "
                       "what a person recorded."})
    subject = fields.String(load_default="", validate=max_length(300))
    body = fields.String(load_default="", validate=max_length(100_000))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When it happened, with its time zone; now if left out."})
    links = fields.List(fields.Nested(RecordRefSchema), required=True,
                        validate=validate.Length(1, LINKS_MAX), metadata={
                            "description": "The records it is about; set when it is "
                                           "recorded."})
    created_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    editable = fields.Function(lambda a: timeline.editable(a, actor()), dump_only=True,
                               metadata={"type": "boolean",
                                         "description": "The caller may change or "
                                                        "remove it."})


class ActivityOutSchema(ActivitySchema):
    """An entry as the API answers it: the system's own entries too, and only the links
    to records the caller may see (none, for an entry of a record seen through another)."""

    kind = fields.String(metadata={"enum": list(KINDS), "description": "note, call, "
                                   "meeting, email_in, email_out, or system: the system's "
                                   "own entries."})
    links = fields.List(fields.Nested(RecordRefSchema), metadata={
        "description": "The records it is about that the caller may see."})


class ActivityListArgs(schemas.Sparse, schemas.Strict):
    record_type = fields.String(validate=validate.OneOf(tuple(CARDS)), metadata={
        "description": "With record_id: only the timeline of this record."})
    record_id = fields.Integer()
    include_people = fields.Boolean(load_default=False, metadata={
        "description": "An organisation's timeline with those of the people who ever "
                       "belonged to it, as its card shows it."})
    kind = fields.List(fields.String(validate=validate.OneOf(KINDS)), metadata={
        "description": "Only these kinds; repeat the parameter for several."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_activities", __name__, url_prefix="/activities",
                   description="The contact history of records")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(ActivityListArgs, location="query")
        @bp.response(200, schemas.page_schema(ActivityOutSchema))
        @bp.alt_response(404, description="The record does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """The newest entries first: a record's timeline, or everything the caller
            may see; a page at a time."""
            return _list(args)

        @bp.arguments(ActivitySchema)
        @bp.response(201, ActivityOutSchema)
        @bp.alt_response(422, description="Field-level errors; a record the caller may "
                                          "not see is links.<n>.")
        def post(self, data):
            """Record a note, call, meeting or e-mail about one or more records."""
            session = db()
            about = records_of(data["links"])
            try:
                found = timeline.add(session, data["kind"], data["subject"], about,
                                     body=data["body"], occurred_at=_utc(data["occurred_at"]),
                                     actor=actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused({"links" if k == "about" else k: v
                                for k, v in exc.errors.items()})
            return shown(session, [found])[0], 201, {
                "Location": f"{request.base_url.rstrip('/')}/{found.id}"}

    @bp.route("/<int:activity_id>")
    class Item(MethodView):
        @bp.response(200, ActivityOutSchema)
        def get(self, activity_id):
            """Read one entry."""
            return shown(db(), [_activity(activity_id)])[0]

        @bp.arguments(ActivitySchema(partial=True, exclude=("links",)))
        @bp.response(200, ActivityOutSchema)
        @bp.alt_response(403, description="The system wrote it, or the caller neither "
                                          "recorded it nor is an administrator.")
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, activity_id):
            """Change what an entry recorded by hand says, or when it happened."""
            session, found = db(), _activity(activity_id)
            try:
                timeline.change(session, found, {
                    **data, "occurred_at": _utc(data.get("occurred_at"))}, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return shown(session, [found])[0]

        @bp.response(204)
        @bp.alt_response(403, description="The system wrote it, or the caller neither "
                                          "recorded it nor is an administrator.")
        def delete(self, activity_id):
            """Remove an entry recorded by hand from every timeline (the audit trail
            keeps what it said)."""
            session, found = db(), _activity(activity_id)
            try:
                timeline.remove(session, found, actor())
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return _refusal(exc)
            return None

    return [bp]


# ------------------------------------------------------------------ reading


def _list(args: dict) -> dict:
    session, limit = db(), args["limit"]
    before = _before(args.get("after"))
    if (args.get("record_type") is None) != (args.get("record_id") is None):
        api_records._bad({"record_id": _("Give record_type and record_id together.")})
    if args.get("record_type"):
        record = record_of(args["record_type"], args["record_id"])
        if record is None:
            abort(404)
        rows = timeline.timeline(session, record, include_people=args["include_people"],
                                 kinds=args.get("kind"), before=before, limit=limit + 1,
                                 actor=actor())
    else:
        query = _seen(select(Activity))
        if args.get("kind"):
            query = query.where(Activity.kind.in_(args["kind"]))
        if before is not None:
            query = query.where(or_(Activity.occurred_at < before.occurred_at,
                                    and_(Activity.occurred_at == before.occurred_at,
                                         Activity.id < before.id)))
        rows = session.scalars(query.order_by(Activity.occurred_at.desc(), Activity.id.desc())
                               .limit(limit + 1).options(selectinload(Activity.links))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": shown(session, rows), "next": _cursor(rows[-1]) if more else None}


def _seen(query):
    """``query`` limited to the entries about a record the caller may see."""
    return timeline.seen(query, actor())


def _activity(activity_id: int) -> Activity:
    """The entry if the caller may see it; 404 otherwise (its existence is not told)."""
    found = db().scalar(_seen(select(Activity).where(Activity.id == activity_id))
                        .options(selectinload(Activity.links)))
    if found is None:
        abort(404)
    return found


def record_of(record_type: str, record_id: int):
    """The record if the caller may see it, else None."""
    model = records.record_types().get(record_type)
    return records.get(db(), model, record_id, actor()) if model is not None else None


def records_of(refs: list[dict]) -> list:
    """The records of ``refs``; 422 naming each one the caller may not see."""
    found, errors = [], {}
    for index, ref in enumerate(refs):
        record = record_of(ref["record_type"], ref["record_id"])
        if record is None:
            errors[f"links.{index}"] = _("There is no such record, or you may not see it.")
        found.append(record)
    if errors:
        abort(422, messages={"json": errors})
    return found


def _cursor(last: Activity) -> str:
    raw = json.dumps([last.occurred_at.isoformat(), last.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _before(cursor: str | None):
    """The position a cursor names: the last entry of the previous page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
        return SimpleNamespace(occurred_at=datetime.fromisoformat(moment), id=last_id)
    except (ValueError, TypeError):
        api_records._bad({"after": _("This is not a cursor from a previous page.")})


def _utc(moment: datetime | None) -> datetime | None:
    """A moment as it is stored and read back: in UTC."""
    return moment.astimezone(UTC) if moment is not None else None


def _refusal(exc):
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    return refused(exc.errors)


# ------------------------------------------------------------------ links the caller sees


class Shown:
    """A row (an activity, a task) with only the links to records the caller may see."""

    def __init__(self, row, links: list):
        self._row, self.links = row, links

    def __getattr__(self, name):
        return getattr(self._row, name)


def shown(session, rows: list) -> list[Shown]:
    """``rows`` with their links cut to the records the caller may see: one query per
    type of record, however many rows."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        for link in row.links:
            wanted.setdefault(link.record_type, set()).add(link.record_id)
    seen: set[tuple[str, int]] = set()
    for record_type, ids in wanted.items():
        model = records.record_types().get(record_type)
        if model is not None:
            query = records.visible(model, actor()).with_only_columns(model.id)
            seen.update((record_type, i) for i in session.scalars(query.where(
                model.id.in_(sorted(ids)))))
    return [Shown(row, sorted(({"record_type": link.record_type,
                                "record_id": link.record_id} for link in row.links
                               if (link.record_type, link.record_id) in seen),
                              key=lambda r: (r["record_type"], r["record_id"])))
            for row in rows]

"""Saved segments through the API: named filters, private to their owner or shared.

Every call goes through ``core.segments``, the service of the staff pages: the caller
sees their own segments and those shared with everyone (another's private segment is
404), and only the owner or an administrator changes or deletes one (403). A segment
stores its filter, not its members: ``GET .../members`` compiles it now, with the query
the lists use, and pages through the records the caller may see. Segments have no
version: a change replaces the one before it.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import records, segments
from core.api import records as api_records
from core.api import schemas
from core.api.activities import shown
from core.api.auth import actor
from core.api.errors import problem, refused
from core.api.tasks import TaskSchema
from core.errors import ValidationError
from core.models import Segment
from core.validation import max_length
from core.web.db import db


class SegmentSchema(schemas.Strict):
    """A saved filter on one record type."""

    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=max_length(segments.NAME_LENGTH))
    record_type = fields.String(required=True, validate=max_length(50), metadata={
        "description": "organisation, person, case, task, or a plugin's record type; it "
                       "cannot be changed later."})
    filter = fields.Dict(required=True, metadata={
        "description": "A filter in the filter language: "
                       '{"and": [{"field": "city", "op": "eq", "value": "Poznań"}]}.'})
    shared = fields.Boolean(load_default=False, metadata={
        "description": "Everyone sees it; only its owner changes it."})
    owner_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SegmentListArgs(schemas.Strict):
    record_type = fields.String(validate=max_length(50), metadata={
        "description": "Only segments of this record type."})


class MembersPageSchema(Schema):
    items = fields.List(fields.Dict(), metadata={
        "description": "The records, as GET on their own path answers them "
                       "(/organizations/{id}, /people/{id}, ...); of a record type "
                       "without one, their ids."})
    next = fields.String(allow_none=True, metadata={
        "description": "Pass as ``after`` for the next page; null on the last page."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_segments", __name__, url_prefix="/segments",
                   description="Saved segments: named filters on one record type")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(SegmentListArgs, location="query")
        @bp.response(200, SegmentSchema(many=True))
        def get(self, args):
            """The caller's segments and those shared with everyone, by name."""
            return segments.visible_segments(db(), actor(), args.get("record_type"))

        @bp.arguments(SegmentSchema)
        @bp.response(201, SegmentSchema)
        @bp.alt_response(422, description="Field-level errors; those of the filter are "
                                          "keyed by its path (filter.and.0.field).")
        def post(self, data):
            """Save a filter as the caller's segment."""
            session = db()
            try:
                found = segments.save(session, data["name"], data["record_type"],
                                      data["filter"], actor(), shared=data["shared"])
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return found, 201, {"Location": f"{request.base_url.rstrip('/')}/{found.id}"}

    @bp.route("/<int:segment_id>")
    class Item(MethodView):
        @bp.response(200, SegmentSchema)
        def get(self, segment_id):
            """Read one segment."""
            return _segment(segment_id)

        @bp.arguments(SegmentSchema(partial=True, exclude=("record_type",)))
        @bp.response(200, SegmentSchema)
        @bp.alt_response(403, description="Only the owner or an administrator changes it.")
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, segment_id):
            """Change the name, the filter or whether it is shared."""
            session, found = db(), _segment(segment_id)
            try:
                segments.update(session, found, actor(), **data)
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return _refusal(exc)
            return found

        @bp.response(204)
        @bp.alt_response(403, description="Only the owner or an administrator deletes it.")
        def delete(self, segment_id):
            """Delete the segment (its records stay as they are)."""
            session, found = db(), _segment(segment_id)
            try:
                segments.delete(session, found, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return _refusal(exc)
            return None

    @bp.route("/<int:segment_id>/members")
    class Members(MethodView):
        @bp.arguments(schemas.ListArgs, location="query")
        @bp.response(200, MembersPageSchema)
        @bp.alt_response(422, description="The filter no longer compiles (a field was "
                                          "removed), or field-level errors of the "
                                          "parameters.")
        def get(self, args, segment_id):
            """The records that match the segment now and the caller may see, a page
            at a time; ``filter`` and ``sort`` narrow and order them further."""
            session, found = db(), _segment(segment_id)
            try:
                query = segments.members(session, found, actor())
            except ValidationError as exc:
                api_records._bad(exc.errors)
            page = api_records.page(records.record_types()[found.record_type], query, args)
            return {**page, "items": _dump(found.record_type, page["items"])}

    return [bp]


def _segment(segment_id: int) -> Segment:
    """A segment the caller may see; 404 otherwise (its existence is not told)."""
    found = segments.get(db(), segment_id, actor())
    if found is None:
        abort(404)
    return found


def _refusal(exc: ValidationError):
    """Not the owner's: 403; else the field errors."""
    if set(exc.errors) == {"segment"}:
        return problem(403, exc.errors["segment"])
    return refused(exc.errors)


def _dump(record_type: str, rows: list) -> list[dict]:
    """Each member as its own resource shows it."""
    if record_type == "task":
        return TaskSchema(many=True).dump(shown(db(), rows))
    schema = {"organisation": schemas.OrganisationSchema, "person": schemas.PersonSchema,
              "case": schemas.CaseSchema}.get(record_type)
    if schema is None:
        return [{"id": row.id} for row in rows]
    return schema(many=True).dump(rows)

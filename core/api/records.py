"""Organisations and people through the API: list, read, create, update, delete.

Every call goes through the same services as the staff pages (validation, duplicates,
custom fields, the audit trail, plugin events) and starts its queries from
``records.visible``. Updates need ``If-Match`` with the record's ETag (its version), so
a program never overwrites a change it has not seen.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, or_

from core import bulk_actions, filters, organisations, people, records, tags
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.duplicates import DuplicateFound
from core.errors import ValidationError
from core.models import Organisation, Person
from core.validation import an_id, max_length
from core.web.db import db


@dataclass(frozen=True)
class Resource:
    """One record type as the API offers it."""

    name: str  # the URL segment: "organizations"
    model: type
    schema: type
    term: str
    create: object  # (session, data, actor, allow_duplicates) -> record
    update: object  # (session, record, data, actor, allow_duplicates, version) -> record


def _host():
    return current_app.extensions["kartoteka"].host


RESOURCES = [
    Resource("organizations", Organisation, schemas.OrganisationSchema, "core.organisation",
             lambda s, d, a, dup: organisations.create(s, _host(), d, a, dup),
             lambda s, r, d, a, dup, v: organisations.update(s, _host(), r, d, a, dup, v)),
    Resource("people", Person, schemas.PersonSchema, "core.person",
             lambda s, d, a, dup: people.create(s, d, a, dup),
             lambda s, r, d, a, dup, v: people.update(s, r, d, a, dup, v)),
]


def blueprint(resource: Resource) -> Blueprint:
    bp = Blueprint(f"api_{resource.name}", __name__, url_prefix=f"/{resource.name}",
                   description=resource.term)
    page = schemas.page_schema(resource.schema)

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(schemas.ListArgs, location="query")
        @bp.response(200, page)
        def get(self, args):
            """List the records, filtered and sorted, a page at a time."""
            return _list(resource, args)

        @bp.arguments(resource.schema)
        @bp.response(201, resource.schema)
        @bp.alt_response(409, description="Likely duplicates exist; repeat with "
                                          "?allow_duplicates=true to save anyway.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Create a record."""
            session = db()
            try:
                record = resource.create(session, data, actor(), _allow_duplicates())
                session.commit()
            except (ValidationError, DuplicateFound) as exc:
                session.rollback()
                return _refusal(exc)
            return record, 201, {"ETag": _etag(record),
                                 "Location": f"{request.base_url.rstrip('/')}/{record.id}"}

    @bp.route("/<int:record_id>")
    class Item(MethodView):
        @bp.response(200, resource.schema)
        def get(self, record_id):
            """Read one record."""
            record = _get(resource, record_id)
            return record, 200, {"ETag": _etag(record)}

        @bp.arguments(resource.schema(partial=True))
        @bp.response(200, resource.schema)
        @bp.alt_response(412, description="The record changed since the ETag was read.")
        @bp.alt_response(428, description="If-Match is missing.")
        def patch(self, data, record_id):
            """Change some fields; send the ETag you read in If-Match."""
            session = db()
            record = _get(resource, record_id)
            version = _if_match(record)
            if isinstance(version, tuple):
                return version[0]
            try:
                resource.update(session, record, data, actor(), _allow_duplicates(), version)
                session.commit()
            except (ValidationError, DuplicateFound) as exc:
                session.rollback()
                if isinstance(exc, ValidationError) and "version" in exc.errors:
                    return problem(412, exc.errors["version"])
                return _refusal(exc)
            return record, 200, {"ETag": _etag(record)}

        @bp.response(204)
        def delete(self, record_id):
            """Move the record to the bin (it can be restored in the staff pages)."""
            session = db()
            record = _get(resource, record_id)
            records.soft_delete(session, record, actor())
            session.commit()
            return None

    @bp.route("/bulk")
    class Bulk(MethodView):
        @bp.arguments(BulkInSchema)
        @bp.response(200, BulkOutSchema)
        @bp.alt_response(422, description="Field-level errors (no ids or too many, a bad "
                                          "tag, an owner out of reach): nothing changed.")
        def post(self, data):
            """Tag, untag or give an owner to many records at once, each through the same
            service as a change of one record (its version, history and events). Records
            the caller may not see or change are left out and listed in ``skipped``;
            the rest are changed in one transaction."""
            session = db()
            try:
                outcome = _bulk(resource, session, data)
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return {"changed": outcome.changed, "unchanged": outcome.unchanged,
                    "skipped": [{"id": s.id, "reason": s.reason} for s in outcome.skipped]}

    return bp


class BulkInSchema(schemas.Strict):
    action = fields.String(required=True, validate=validate.OneOf(
        ("tag", "untag", "assign_owner")))
    ids = fields.List(fields.Integer(strict=True, validate=an_id()), required=True,
                      validate=validate.Length(1, bulk_actions.MAX_IDS),
                      metadata={"description": "The records' ids."})
    tag = fields.String(validate=max_length(tags.MAX_LENGTH), metadata={
        "description": "The tag to give or take away (tag, untag)."})
    owner_id = fields.Integer(strict=True, validate=an_id(), metadata={
        "description": "An active staff account the caller may give these records to "
                       "(assign_owner)."})


class BulkSkippedSchema(Schema):
    id = fields.Integer()
    reason = fields.String()


class BulkOutSchema(Schema):
    changed = fields.List(fields.Integer())
    unchanged = fields.List(fields.Integer(), metadata={"description": "Already so."})
    skipped = fields.List(fields.Nested(BulkSkippedSchema), metadata={
        "description": "Left out: records the caller may not see or change, or that a "
                       "check refused."})


def _bulk(resource: Resource, session, data: dict) -> bulk_actions.Outcome:
    if data["action"] == "assign_owner":
        return bulk_actions.assign_owner(session, _host(), resource.model, data["ids"],
                                         data.get("owner_id"), actor())
    change = bulk_actions.tag if data["action"] == "tag" else bulk_actions.untag
    return change(session, resource.model, data["ids"], data.get("tag", ""), actor())


# ------------------------------------------------------------------ helpers


def _get(resource: Resource, record_id: int):
    from flask_smorest import abort

    record = records.get(db(), resource.model, record_id, actor())
    if record is None:
        abort(404)
    return record


def _allow_duplicates() -> bool:
    return request.args.get("allow_duplicates", "").lower() in ("1", "true", "yes")


def _refusal(exc):
    if isinstance(exc, DuplicateFound):
        body = problem(409, str(exc))
        payload = body.get_json()
        payload["duplicates"] = [{"id": c.record.id, "reasons": c.reasons, "strong": c.strong}
                                 for c in exc.candidates]
        body.set_data(json.dumps(payload))
        return body
    return refused(exc.errors)


def _etag(record) -> str:
    return f'"{record.version}"'


def _if_match(record):
    """The version the client read, or a (response,) to send instead."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return (problem(428, _("Send the record's ETag in the If-Match header, so that a "
                               "change made meanwhile is not overwritten.")),)
    if header == "*":
        return record.version
    tag = header.removeprefix("W/").strip('"')
    if not tag.isdigit():
        return (problem(412, _("The If-Match header holds no ETag of this record.")),)
    if int(tag) != record.version:
        return (problem(412, _("The record was changed by someone else meanwhile; "
                               "read it again and apply your change to that.")),)
    return int(tag)


def _list(resource: Resource, args: dict) -> dict:
    return page(resource.model, records.visible(resource.model, actor()), args)


def page(model, query, args: dict) -> dict:
    """One page of ``query``'s records, narrowed by the ``filter``, ordered by ``sort``
    and continued ``after`` a cursor, as the list routes answer it."""
    session = db()
    try:
        spec = json.loads(args["filter"]) if args.get("filter") else None
    except ValueError:
        _bad({"filter": _("The filter is not valid JSON.")})
    try:
        query = filters.apply(query, model, spec, actor())
        sort = args.get("sort") or "id"
        query = filters.sort(query, model, sort, actor=actor()) if sort != "id" \
            else query.order_by(model.id)
        query = _after(query, model, sort, args.get("after"))
    except ValidationError as exc:
        _bad(exc.errors)
    limit = args["limit"]
    rows = session.scalars(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": _cursor(model, sort, rows[-1]) if more else None}


def _bad(errors: dict):
    """Refuse the query's parameters with each one's message (422)."""
    from flask_smorest import abort

    abort(422, messages={"query": errors})


def _sort_field(model, sort: str):
    name = sort.removeprefix("-")
    if name == "id":
        return filters.Field("integer", column=lambda m: m.id)
    if name.startswith("custom."):
        return filters._custom_sort(model, name.removeprefix("custom."))
    return filters.fields_of(model)[name]


def _cursor(model, sort: str, last) -> str:
    """The keyset position after ``last``: its sort value and id."""
    field = _sort_field(model, sort)
    expression = (field.sort_by or field.column)(model)
    value = db().execute(
        _select_value(expression, model, last.id)).scalar() if sort != "id" else last.id
    raw = json.dumps([_plain(value), last.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _select_value(expression, model, record_id):
    from sqlalchemy import select

    return select(expression).where(model.id == record_id)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _after(query, model, sort: str, cursor: str | None):
    if not cursor:
        return query
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
    except (ValueError, TypeError):
        raise ValidationError({"after": _("This is not a cursor from a previous page.")}) \
            from None
    if sort == "id":
        return query.where(model.id > last_id)
    field = _sort_field(model, sort)
    expression = (field.sort_by or field.column)(model)
    if field.kind == "datetime" and isinstance(value, str):
        value = datetime.fromisoformat(value)
    descending = sort.startswith("-")
    later = expression < value if descending else expression > value
    if value is None:  # nulls come last: only later nulls remain
        return query.where(and_(expression.is_(None), model.id > last_id))
    return query.where(or_(later, and_(expression == value, model.id > last_id),
                           expression.is_(None)))

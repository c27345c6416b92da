"""Links between records through the API: a record's links, linking two records and
removing a link, by the rules of the cards' "Linked records" (``core.links``).

A record's links are read by whoever may see the record; a link to a record the caller
may not see is counted in ``hidden``, never shown, and such a link answers 404 by its id
as well. Linking and removing need the right to edit the record linked (for removing:
one of the two), as on its card.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import links, records
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor, staff_only
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.models import RecordLink
from core.validation import an_id, max_length
from core.web.db import db

KINDS = "organisation, person or case (or a plugin's kind of record with a card)"


class LinkSchema(schemas.Strict):
    """A link from one record to another, with what it means."""

    id = fields.Integer(dump_only=True)
    source_type = fields.String(
        required=True,
        validate=max_length(50),
        metadata={
            "description": f"The kind of the record the link starts from: {KINDS}. The "
            "caller must be allowed to edit that record."
        },
    )
    source_id = fields.Integer(required=True, validate=an_id())
    source_name = fields.String(
        dump_only=True, metadata={"description": "What the record is called (its name or title)."}
    )
    target_type = fields.String(
        required=True,
        validate=max_length(50),
        metadata={"description": f"The kind of the record linked to: {KINDS}."},
    )
    target_id = fields.Integer(
        required=True,
        validate=an_id(),
        metadata={"description": "A record the caller may see; not the source itself."},
    )
    target_name = fields.String(
        dump_only=True, metadata={"description": "What the record is called (its name or title)."}
    )
    link_type = fields.String(
        load_default="",
        validate=max_length(links.MAX_TYPE),
        metadata={
            "description": 'What the link means, in free text ("contractor"); '
            f'"{links.DEFAULT_TYPE}" when empty or left out. Linking a pair '
            "with the type it has already (either way round) answers that link."
        },
    )
    created_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)


class LinkListArgs(schemas.Strict):
    record_type = fields.String(
        required=True,
        validate=max_length(50),
        metadata={"description": f"The kind of the record whose links to list: {KINDS}."},
    )
    record_id = fields.Integer(
        required=True, validate=an_id(), metadata={"description": "A record the caller may see."}
    )


class LinkListSchema(Schema):
    items = fields.List(
        fields.Nested(LinkSchema),
        metadata={
            "description": "The record's links to records the caller may see, in either direction."
        },
    )
    hidden = fields.Integer(
        metadata={"description": "How many more links lead to records the caller may not see."}
    )


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_links", __name__, url_prefix="/links", description="Links between records")

    @bp.route("/")
    class Collection(MethodView):
        decorators = [staff_only]

        @bp.arguments(LinkListArgs, location="query")
        @bp.response(200, LinkListSchema)
        @bp.alt_response(404, description="The record does not exist or the caller may not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """A record's links to the records the caller may see, and how many others
            there are."""
            session = db()
            if args["record_type"] not in links.types():
                api_records._bad(
                    {
                        "record_type": _(
                            "Unknown kind of record '%(type)s'.", type=args["record_type"][:40]
                        )
                    }
                )
            record = _record(args["record_type"], args["record_id"])
            if record is None:
                abort(404)
            found, hidden = links.shown(session, record, actor())
            return {
                "items": [_shown(session, s.link, record, s.record) for s in found],
                "hidden": hidden,
            }

        @bp.arguments(LinkSchema)
        @bp.response(201, LinkSchema)
        @bp.alt_response(403, description="The caller may not edit the source record.")
        @bp.alt_response(
            422,
            description="Field-level errors: a record that does not exist "
            "or that the caller may not see, a record linked "
            "to itself.",
        )
        def post(self, data):
            """Link a record the caller may edit to a record they may see."""
            session = db()
            source = _record(data["source_type"], data["source_id"])
            if source is None:
                key = "source_type" if data["source_type"] not in links.types() else "source_id"
                return refused({key: _("There is no such record.")})
            try:
                row = links.add(
                    session,
                    source,
                    data["target_type"],
                    data["target_id"],
                    data["link_type"],
                    actor(),
                )
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return (
                _shown(session, row),
                201,
                {"Location": f"{request.base_url.rstrip('/')}/{row.id}"},
            )

    @bp.route("/<int:link_id>")
    class Item(MethodView):
        decorators = [staff_only]

        @bp.response(200, LinkSchema)
        def get(self, link_id):
            """Read one link whose both records the caller may see."""
            session = db()
            return _shown(session, _link(link_id))

        @bp.response(204)
        @bp.alt_response(403, description="The caller may edit neither of the two records.")
        def delete(self, link_id):
            """Remove a link; the audit trail keeps what it was."""
            session, row = db(), _link(link_id)
            ends = [links.end(session, row, side, actor()) for side in ("source", "target")]
            record = next((r for r in ends if links.may_change(session, r, actor())), ends[0])
            try:
                links.remove(session, record, row, actor())
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return _refusal(exc)
            return None

    return [bp]


def _record(record_type: str, record_id: int):
    """A record links join, if the caller may see it."""
    model = links.types().get(record_type)
    return records.get(db(), model, record_id, actor()) if model is not None else None


def _link(link_id: int) -> RecordLink:
    """The link if the caller may see both its records; 404 otherwise."""
    found = links.visible_link(db(), link_id, actor())
    if found is None:
        abort(404)
    return found


def _shown(session, row: RecordLink, *known) -> dict:
    """A link as the API answers it, with the names of its two records (``known``: the
    records already read)."""
    by_ref = {records.ref(r): r for r in known}
    ends = {
        side: by_ref.get((getattr(row, f"{side}_type"), getattr(row, f"{side}_id")))
        or links.end(session, row, side, actor())
        for side in ("source", "target")
    }
    return {
        "id": row.id,
        "source_type": row.source_type,
        "source_id": row.source_id,
        "source_name": links.name_of(ends["source"]) if ends["source"] else "",
        "target_type": row.target_type,
        "target_id": row.target_id,
        "target_name": links.name_of(ends["target"]) if ends["target"] else "",
        "link_type": row.link_type,
        "created_at": row.created_at,
        "created_by_id": row.created_by_id,
    }


def _refusal(exc):
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    return refused(exc.errors)

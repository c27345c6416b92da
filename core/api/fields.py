"""Custom field definitions through the API: what ``custom`` may hold, per record type.

Reading is open to every caller; adding, changing, converting, archiving and restoring
need the ``core.manage_fields`` permission and go through ``core.field_definitions``,
as the staff pages do. A change needs ``If-Match`` with the definition's ETag (from its
last change). Archiving moves the values aside; restoring brings them back. A case
field may be limited to some processes (``processes``, kept in ``options``).
"""

from __future__ import annotations

from flask import abort, current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from core import field_definitions, permissions
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import ValidationError
from core.models import FieldDefinition
from core.web.db import db

MANAGE = "core.manage_fields"
PROCESSES = ("For a field of cases: the keys of the processes (see /api/v1/processes) "
             "whose cases have it; empty: every process. A case of another process "
             "refuses a value for it.")


class FieldInSchema(schemas.FieldSchema, schemas.Strict):
    view_roles = fields.List(fields.String())
    edit_roles = fields.List(fields.String())
    processes = fields.List(fields.String(validate=schemas.max_length(64)),
                            metadata={"description": PROCESSES})


class FieldChangeSchema(FieldInSchema):
    replacements = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "For a choice field whose choices are removed: removed value -> "
                       "the kept value its records get instead."})

    class Meta:
        exclude = ("record_type", "key", "type")


class FieldOutSchema(schemas.FieldSchema):
    view_roles = fields.List(fields.String())
    edit_roles = fields.List(fields.String())
    processes = fields.Function(lambda row: list((row.options or {}).get("processes") or ()),
                                metadata={"type": "array", "items": {"type": "string"},
                                          "description": PROCESSES})
    source = fields.String(metadata={"description": "The plugin that ships it; empty for "
                                                    "an administrator's own."})
    archived_at = fields.DateTime(allow_none=True)


class FieldListArgs(schemas.Strict):
    record_type = fields.String(validate=schemas.max_length(64))
    archived = fields.Boolean(load_default=False, metadata={
        "description": "The archived (deleted) fields instead of the active ones."})


class TypeChangeSchema(schemas.Strict):
    type = fields.String(required=True, validate=schemas.max_length(64))
    options = fields.Dict(load_default=None, allow_none=True)
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "Only count the values that would be converted."})


class CountSchema(Schema):
    count = fields.Integer(metadata={"description": "How many values were moved or "
                                                    "converted (or would be)."})


def blueprint() -> Blueprint:
    """A new blueprint per application (several apps may live in one process)."""
    bp = Blueprint("api_fields", __name__, url_prefix="/fields",
                   description="Custom field definitions")

    @bp.route("/")
    class Fields(MethodView):
        @bp.arguments(FieldListArgs, location="query")
        @bp.response(200, FieldOutSchema(many=True))
        def get(self, args):
            """The custom fields of every record type (or one), active or archived."""
            query = select(FieldDefinition).where(
                FieldDefinition.archived_at.isnot(None) if args["archived"]
                else FieldDefinition.archived_at.is_(None))
            if args.get("record_type"):
                query = query.where(FieldDefinition.record_type == args["record_type"])
            rows = db().scalars(query.order_by(
                FieldDefinition.record_type, FieldDefinition.group, FieldDefinition.position,
                FieldDefinition.id)).all()
            return [row for row in rows if _offered(row)]

        @bp.arguments(FieldInSchema)
        @bp.response(201, FieldOutSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Add a custom field (needs the core.manage_fields permission)."""
            _require()
            data = _processes_in_options(data, {})
            row = _write(lambda session: field_definitions.create(session, data, actor()))
            return row, 201, {"ETag": _etag(row)}

    @bp.route("/<record_type>/<key>")
    class Item(MethodView):
        @bp.response(200, FieldOutSchema)
        @bp.alt_response(404, description="No such field.")
        def get(self, record_type, key):
            """One field, active or archived."""
            row = _row(record_type, key)
            return row, 200, {"ETag": _etag(row)}

        @bp.arguments(FieldChangeSchema(partial=True))
        @bp.response(200, FieldOutSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(404, description="No such field.")
        @bp.alt_response(412, description="The field changed since the ETag was read.")
        @bp.alt_response(428, description="If-Match is missing.")
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, record_type, key):
            """Change labels, help, group, position, requirement, default, options or
            roles; the key, record type and type stay (see ``/type`` for the type)."""
            _require()
            row = _row(record_type, key)
            _check_etag(row)
            replacements = data.pop("replacements", None)
            data = _processes_in_options(data, row.options or {})
            _write(lambda session: field_definitions.change(session, row, data, actor(),
                                                            replacements))
            return row, 200, {"ETag": _etag(row)}

        @bp.response(200, CountSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(404, description="No such field.")
        def delete(self, record_type, key):
            """Archive the field: its values move aside until it is restored."""
            _require()
            row = _row(record_type, key)
            return {"count": _write(lambda session: field_definitions.archive(
                session, row, actor()))}

    @bp.route("/<record_type>/<key>/restore")
    class Restore(MethodView):
        @bp.response(200, CountSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(404, description="No such field.")
        def post(self, record_type, key):
            """Bring an archived field back with its values."""
            _require()
            row = _row(record_type, key)
            return {"count": _write(lambda session: field_definitions.restore(
                session, row, actor()))}

    @bp.route("/<record_type>/<key>/type")
    class Type(MethodView):
        @bp.arguments(TypeChangeSchema)
        @bp.response(200, CountSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(404, description="No such field.")
        @bp.alt_response(422, description="Values that would not convert: `errors.type` "
                                          "says how many, `records` names some.")
        def post(self, data, record_type, key):
            """Convert the field and every value to another type, or refuse if any
            value would not convert; ``dry_run`` only counts."""
            _require()
            row = _row(record_type, key)
            session = db()
            try:
                converted = field_definitions.change_type(
                    session, row, data["type"], actor(), data["options"], data["dry_run"])
                session.commit()
            except field_definitions.ChangeRefused as exc:
                session.rollback()
                body = refused(exc.errors)
                payload = body.get_json()
                payload["records"] = [{"id": p.record_id, "name": p.name}
                                      for p in exc.problems]
                body.set_data(current_app.json.dumps(payload))
                abort(body)
            except ValidationError as exc:
                session.rollback()
                abort(refused(exc.errors))
            return {"count": converted}

    return bp


def _require() -> None:
    if not permissions.can(actor(), MANAGE):
        abort(problem(403, _("Your role does not allow defining fields.")))


def _processes_in_options(data: dict, current: dict) -> dict:
    """``processes`` as the service takes it, among the options (the others as sent, or
    as they are when only the processes change)."""
    if "processes" not in data:
        return data
    data = dict(data)
    options = data.get("options", current)
    data["options"] = {**options, "processes": data.pop("processes")}
    return data


def _offered(row: FieldDefinition) -> bool:
    """An administrator's field, or one of an enabled plugin (a disabled one's stay)."""
    return not row.source or row.source in current_app.extensions["kartoteka"].host.plugins


def _row(record_type: str, key: str) -> FieldDefinition:
    row = db().scalar(select(FieldDefinition).where(
        FieldDefinition.record_type == record_type, FieldDefinition.key == key))
    if row is None or not _offered(row):
        abort(404)
    return row


def _write(change):
    session = db()
    try:
        result = change(session)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        abort(refused(exc.errors))
    return result


def _etag(row: FieldDefinition) -> str:
    return f'"{int(row.updated_at.timestamp() * 1_000_000)}"'


def _check_etag(row: FieldDefinition) -> None:
    sent = request.headers.get("If-Match", "").strip()
    if not sent:
        abort(problem(428, _("Send the ETag you read in the If-Match header.")))
    if sent != "*" and sent.removeprefix("W/") != _etag(row):
        abort(problem(412, _("Someone else changed this field meanwhile; read it again "
                             "and make your change to that.")))

"""Custom field definitions through the API: what ``custom`` may hold, per record type."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from core import field_definitions, permissions
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import ValidationError
from core.models import FieldDefinition
from core.web.db import db


class FieldInSchema(schemas.FieldSchema, schemas.Strict):
    view_roles = schemas.fields.List(schemas.fields.String())
    edit_roles = schemas.fields.List(schemas.fields.String())


def blueprint() -> Blueprint:
    """A new blueprint per application (several apps may live in one process)."""
    bp = Blueprint("api_fields", __name__, url_prefix="/fields",
                   description="Custom field definitions")

    @bp.route("/")
    class Fields(MethodView):
        @bp.response(200, schemas.FieldSchema(many=True))
        def get(self):
            """The active custom fields of every record type."""
            return db().scalars(select(FieldDefinition).where(FieldDefinition.archived_at.is_(None))
                                .order_by(FieldDefinition.record_type, FieldDefinition.group,
                                          FieldDefinition.position, FieldDefinition.id)).all()

        @bp.arguments(FieldInSchema)
        @bp.response(201, schemas.FieldSchema)
        @bp.alt_response(403, description="Needs the core.manage_fields permission.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Add a custom field (needs the core.manage_fields permission)."""
            if not permissions.can(actor(), "core.manage_fields"):
                return problem(403, _("Your role does not allow defining fields."))
            session = db()
            try:
                row = field_definitions.create(session, data, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return row, 201

    return bp

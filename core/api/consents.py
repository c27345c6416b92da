"""A person's consents through the API: where they stand, their history, and new rows.

``POST /people/<id>/consents`` gives or withdraws a consent through the same service as
the staff pages (``core.consents``), so the same field errors come back (422); the
person is read through ``records.get`` with the caller, so an invisible person is 404.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from core import consents, records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import refused
from core.errors import ValidationError
from core.models import Person
from core.models.consent import SOURCES, STATES
from core.validation import max_length
from core.web.db import db


class ConsentSchema(Schema):
    id = fields.Integer(dump_only=True)
    purpose = fields.Function(lambda c: c.purpose.key, dump_only=True)
    state = fields.String(dump_only=True)
    at = fields.DateTime(dump_only=True)
    source = fields.String(dump_only=True)
    evidence = fields.String(dump_only=True)
    note = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)


class ConsentStateSchema(Schema):
    purpose = fields.Function(lambda s: s.purpose.key)
    purpose_name = fields.Function(lambda s: s.purpose.name)
    state = fields.Function(lambda s: s.consent.state)
    valid = fields.Boolean(metadata={
        "description": "Given, for an active purpose, and within its retention period."})
    at = fields.Function(lambda s: s.consent.at.isoformat())


class ConsentsSchema(Schema):
    current = fields.List(fields.Nested(ConsentStateSchema))
    history = fields.List(fields.Nested(ConsentSchema), metadata={
        "description": "Every row, newest first: withdrawals and renewals are new rows."})


class ConsentInSchema(schemas.Strict):
    purpose = fields.String(required=True, validate=max_length(64), metadata={
        "description": "The key of a purpose in the register of processing."})
    state = fields.String(load_default="given", validate=validate.OneOf(STATES))
    source = fields.String(load_default="api", validate=validate.OneOf(SOURCES))
    evidence = fields.String(load_default="", validate=max_length(consents.MAX_EVIDENCE),
                             metadata={"description": "The exact wording agreed to; "
                                                      "required to give a consent."})
    note = fields.String(load_default="", validate=max_length(consents.MAX_NOTE))
    at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When it happened, if earlier than now (an import, say)."})


def blueprint() -> Blueprint:
    """A new blueprint per application (several apps may live in one process)."""
    bp = Blueprint("api_consents", __name__, url_prefix="/people",
                   description="Consents to processing purposes")

    @bp.route("/<int:record_id>/consents")
    class Consents(MethodView):
        @bp.response(200, ConsentsSchema)
        def get(self, record_id):
            """Where the person stands on each purpose, and every row."""
            session, person = db(), _person(record_id)
            return {"current": list(consents.current(session, person).values()),
                    "history": consents.history(session, person)}

        @bp.arguments(ConsentInSchema)
        @bp.response(201, ConsentSchema)
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, record_id):
            """Give or withdraw a consent (a new row; earlier ones are kept)."""
            session, person = db(), _person(record_id)
            try:
                row = consents.change(session, person, data["state"], data["purpose"],
                                      data["source"], data["evidence"], actor(),
                                      at=data["at"], note=data["note"])
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return row, 201

    return bp


def _person(record_id: int) -> Person:
    person = records.get(db(), Person, record_id, actor())
    if person is None:
        abort(404)
    return person

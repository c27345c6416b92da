"""Public forms through the API: the forms anyone fills in at ``/forms/<key>``, the fields
they may ask for, and what was sent through them.

Everything here needs the ``core.manage_forms`` permission (403 otherwise) and goes
through ``core.public_forms``, the service of the staff pages: a refused form answers
422 with a message for each field (``key``, ``consent_text``, ``fields.0.field``...) and
writes nothing. ``PATCH`` takes only the settings to change; the rest stay as they are.
Sending a form is for people, on its public page; the API reads what they sent.
"""

from __future__ import annotations

import functools

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from core import public_forms
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.api.invoices import described
from core.errors import Forbidden, ValidationError
from core.models import PublicForm
from core.models.public_form import OUTCOMES
from core.web.db import db

_FORM = public_forms.FormSchema._declared_fields
_FIELD = public_forms.FieldSchema._declared_fields
NEEDS = "Needs the core.manage_forms permission."
# The settings a form is made of; a change may leave out any of them (but not the
# ``field`` of an item of ``fields``).
SETTINGS = ("key", "title", "intro", "fields", "consent_text", "purpose_id", "process_key",
            "tags", "thank_you", "notify_user_ids", "active")


class PublicFormFieldSchema(public_forms.FieldSchema):
    """One input of a form."""

    field = described(_FIELD["field"], description=(
        "A name from /public-forms/fields: first_name, email, custom.<key>, and on a form "
        "with a process case.<key>..."))
    required = described(_FIELD["required"], description=(
        "Whether the sender must fill it in."))


class PublicFormSchema(public_forms.FormSchema):
    """A public form: its page at ``/forms/<key>`` asks for the sender's names, the
    ``fields`` picked and agreement to ``consent_text``; each submission adds a person
    (or finds them by their e-mail address), tags them and records their consent."""

    id = fields.Integer(dump_only=True)
    key = described(_FORM["key"], example="darczyncy-2027", description=(
        "The public page's address, /forms/<key>: 2 to 64 small letters, digits and "
        "hyphens, unique among the forms."))
    url = fields.Function(lambda form: public_url(form), dump_only=True, metadata={
        "type": "string", "format": "uri",
        "description": "The public page, for links from the organisation's site."})
    title = described(_FORM["title"], description="The page's heading; also names the "
                                                   "form in the staff's notices.")
    intro = described(_FORM["intro"], description="Text shown above the inputs.")
    consent_text = described(_FORM["consent_text"], description=(
        "What the sender agrees to by ticking the box; kept with their consent as "
        "evidence."))
    purpose_id = described(_FORM["purpose_id"], description=(
        "The id of an active processing purpose the consent is recorded under; null "
        "records no consent."))
    process_key = described(_FORM["process_key"], description=(
        "A process key (GET /processes): each submission opens a case of it about the "
        "sender, with the answers to its case.<key> fields; null: the form only adds the "
        "person."))
    tags = described(_FORM["tags"], description="Tags given to each person who sends "
                                                "the form.")
    thank_you = described(_FORM["thank_you"], description="Shown after sending.")
    notify_user_ids = described(_FORM["notify_user_ids"], description=(
        "Active staff members told of each submission by e-mail."))
    active = described(_FORM["active"], description=(
        "A closed form's page answers 404 and takes nothing."))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    # Last: the name hides marshmallow's ``fields`` for the rest of the class.
    fields = fields.List(fields.Nested(PublicFormFieldSchema), load_default=list,
                         validate=_FORM["fields"].validators, metadata={
                             "description": (
                                 "What the form asks for, in order, each name once. "
                                 "first_name and last_name always come first and are "
                                 "required, and so is a custom field every person must "
                                 "have.")})


class FieldArgs(Schema):
    process_key = fields.String(load_default=None, metadata={
        "description": "Also the case fields of this process's cases."})


class AvailableFieldSchema(Schema):
    name = fields.String(metadata={"description": "As a form's fields name it: "
                                                  "first_name, email, custom.<key>..."})
    label = fields.String(metadata={"description": "In the caller's language."})


class FormSubmissionSchema(Schema):
    id = fields.Integer()
    outcome = fields.String(metadata={
        "enum": list(OUTCOMES),
        "description": "created: a new person; matched: the person with the e-mail "
                       "address given, whose details stayed as they were; spam: the "
                       "input people never see was filled in, and nobody was added."})
    person_id = fields.Integer(allow_none=True, metadata={
        "description": "The person added or found; null for spam, or once removed."})
    case_id = fields.Integer(allow_none=True, metadata={
        "description": "The case the submission opened, on a form with a process."})
    data = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The answers, by the form's field names."})
    address = fields.String(metadata={"description": "The sender's network address."})
    created_at = fields.DateTime()


class SubmissionArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_public-forms", __name__, url_prefix="/public-forms",
                   description="Public forms: sign-ups and registrations anyone fills in "
                               "at /forms/<key>")

    @bp.route("/")
    class Collection(MethodView):
        decorators = [_managers_only]

        @bp.response(200, PublicFormSchema(many=True))
        @bp.alt_response(403, description=NEEDS)
        def get(self):
            """Every form, by title."""
            return public_forms.all_forms(db())

        @bp.arguments(PublicFormSchema)
        @bp.response(201, PublicFormSchema)
        @bp.alt_response(403, description=NEEDS)
        @bp.alt_response(422, description="Field-level errors: an address another form "
                                          "has, no such field, no consent text...")
        def post(self, data):
            """Make a form; its page is open at once unless ``active`` is false."""
            session = db()
            try:
                form = public_forms.create(session, data, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return form, 201, {"Location": f"{request.base_url.rstrip('/')}/{form.id}"}

    @bp.route("/fields")
    class Fields(MethodView):
        decorators = [_managers_only]

        @bp.arguments(FieldArgs, location="query")
        @bp.response(200, AvailableFieldSchema(many=True))
        @bp.alt_response(403, description=NEEDS)
        def get(self, args):
            """What a form may ask for: the built-in fields, then the people's custom
            fields that are not read-only, and with ``process_key`` its cases' fields."""
            return [{"name": name, "label": label} for name, label in
                    public_forms.available_fields(db(), args["process_key"]).items()]

    @bp.route("/<int:form_id>")
    class Item(MethodView):
        decorators = [_managers_only]

        @bp.response(200, PublicFormSchema)
        @bp.alt_response(403, description=NEEDS)
        def get(self, form_id):
            """One form."""
            return _form(form_id)

        @bp.arguments(PublicFormSchema(partial=SETTINGS))
        @bp.response(200, PublicFormSchema)
        @bp.alt_response(403, description=NEEDS)
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, form_id):
            """Change some of a form's settings; ``fields``, ``tags`` and
            ``notify_user_ids`` are replaced as a whole."""
            session, form = db(), _form(form_id)
            try:
                public_forms.update(session, form, {**_settings(form), **data}, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return form

    @bp.route("/<int:form_id>/submissions")
    class Submissions(MethodView):
        decorators = [_managers_only]

        @bp.arguments(SubmissionArgs, location="query")
        @bp.response(200, FormSubmissionSchema(many=True))
        @bp.alt_response(403, description=NEEDS)
        def get(self, args, form_id):
            """What was sent through the form, newest first."""
            return public_forms.submissions(db(), _form(form_id), args["limit"])

    return [bp]


def _managers_only(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        try:
            public_forms.require(actor())
        except Forbidden as exc:
            return problem(403, str(exc))
        return view(*args, **kwargs)

    return checked


def _form(form_id: int) -> PublicForm:
    form = db().get(PublicForm, form_id)
    if form is None:
        abort(404)
    return form


def _settings(form: PublicForm) -> dict:
    """The form's settings as they are, for a partial change to start from."""
    return {name: getattr(form, name) for name in SETTINGS}


def public_url(form: PublicForm) -> str:
    settings = current_app.extensions["kartoteka"].settings
    return f"{settings.public_url.rstrip('/')}/forms/{form.key}"


"""The 360° view of a client (EX-5) in the REST API, under /api/v1/expertise/clients.

``clients/<organisation_id>`` and ``clients/person/<person_id>`` (a private client):
the sections of ``client_view.py`` as the page shows them, each with ``count`` (all it
holds), ``more`` and its newest ``items`` (at most ``limit``). The query narrows them
as the page's form does: ``kind`` (repeated; the sections to answer), ``from`` and
``to`` (days), ``q`` (words), ``open`` (true: open only) and ``limit``. A parameter
that cannot be used answers 422 under its name. Only what the caller may see is
counted; contracts and invoices need ``core.billing`` (``hidden`` names them
otherwise). A client the caller may not see answers 404, as do portal accounts.
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from core import records
from core.api import crud, schemas
from core.api.auth import staff_only
from core.api.invoices import decimal_out
from core.errors import ValidationError
from core.models import Organisation, Person
from core.validation import max_length
from core.web.db import db
from plugins.expertise import client_view

bp = Blueprint("expertise_clients", __name__, url_prefix="/clients",
               description="Everything about a client on one page (the 360° view)")
bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything
BLUEPRINTS = [bp]
SECTIONS = ", ".join(client_view.SECTIONS)


class ClientViewArgs(schemas.Strict):
    kind = fields.List(fields.String(validate=validate.OneOf(
        client_view.SECTIONS, error=_l("Choose what to show from the list."))),
        load_default=None, metadata={"description": f"Only these sections: {SECTIONS}; "
                                                    "default: all."})
    first = fields.Date(data_key="from", load_default=None, error_messages={
        "invalid": _l("Give a date as YYYY-MM-DD.")}, metadata={
        "description": "The first day (each section's own date), included."})
    last = fields.Date(data_key="to", load_default=None, error_messages={
        "invalid": _l("Give a date as YYYY-MM-DD.")}, metadata={
        "description": "The last day, included."})
    q = fields.String(load_default="", validate=max_length(client_view.TEXT_MAX), metadata={
        "description": "Words in titles, subjects, names and numbers."})
    open = fields.Boolean(load_default=False, error_messages={
        "invalid": _l("Choose yes or no.")}, metadata={
        "description": "Only what is open: upcoming meetings, unfinished cases, offers "
                       "not decided, running contracts, unpaid invoices."})
    limit = fields.Integer(load_default=client_view.LIMIT, validate=validate.Range(
        1, client_view.LIMIT_MAX, error=_l("Enter a number from {min} to {max}.")),
        metadata={"description": "Items a section answers at most, the newest."})


def _section(item: type[Schema]) -> type[Schema]:
    return type(f"{item.__name__.removesuffix('Schema')}SectionSchema", (Schema,), {
        "count": fields.Integer(metadata={"description": "All the section holds."}),
        "more": fields.Boolean(metadata={"description": "More than the items answered."}),
        "items": fields.List(fields.Nested(item), metadata={"description": "Newest first."}),
    })


class ClientContactSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    unit = fields.String()
    organisation_id = fields.Integer()
    organisation = fields.String()
    since = fields.Date(allow_none=True)
    emails = fields.List(fields.String())
    phones = fields.List(fields.String())


class ClientActivitySchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": ["note", "call", "meeting", "email_in",
                                            "email_out", "system"]})
    label = fields.String(metadata={"description": "The kind, in the caller's language."})
    subject = fields.String()
    body = fields.String()
    occurred_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)


class ClientMailSchema(ClientActivitySchema):
    direction = fields.String(metadata={"enum": ["in", "out"]})


class ClientMeetingSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    all_day = fields.Boolean()
    location = fields.String()


class ClientCaseSchema(Schema):
    case_id = fields.Integer()
    title = fields.String()
    process_key = fields.String()
    phase_key = fields.String()
    phase = fields.String(metadata={"description": "In the caller's language."})
    owner_id = fields.Integer(allow_none=True)
    amount = decimal_out(2, allow_none=True)
    currency = fields.String()
    opened_at = fields.DateTime()
    finished = fields.Boolean(metadata={"description": "In a final phase."})


class ClientOtherCaseSchema(ClientCaseSchema):
    process = fields.String(metadata={"description": "In the caller's language."})


class ClientInquirySchema(ClientCaseSchema):
    department = fields.String()
    due_on = fields.Date(allow_none=True, metadata={"description": "The opinion's deadline."})
    court_reference = fields.String()
    cost = decimal_out(2, allow_none=True)
    margin = decimal_out(4, "A fraction of the amount: 0.2500 is 25%.", "0.2500",
                         allow_none=True)


class ClientOpinionSchema(ClientCaseSchema):
    department = fields.String()
    due_on = fields.Date(allow_none=True)
    court_reference = fields.String()
    delivered_at = fields.DateTime(allow_none=True)
    late = fields.Boolean(metadata={"description": "Delivered (or still not) after the "
                                                   "deadline."})


class ClientOfferSchema(Schema):
    id = fields.Integer(metadata={"description": "The calculation version."})
    case_id = fields.Integer()
    case = fields.String(metadata={"description": "The case's title."})
    number = fields.Integer(metadata={"description": "The version: 1, 2, 3..."})
    status = fields.String(metadata={"enum": ["draft", "sent", "accepted", "rejected",
                                              "superseded"]})
    net = decimal_out(2)
    gross = decimal_out(2)
    cost = decimal_out(2)
    margin = decimal_out(4, "A fraction of the net price.", "0.4000", allow_none=True)
    currency = fields.String()
    created_at = fields.DateTime()


class ClientDocumentSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    number = fields.String(allow_none=True)
    template_id = fields.Integer(allow_none=True)
    template = fields.String()
    kind = fields.String()
    record_type = fields.String(metadata={"description": "What it was made for: the "
                                                        "client or a case."})
    record_id = fields.Integer()
    attachment_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ClientDocumentGroupSchema(Schema):
    template_id = fields.Integer(allow_none=True)
    template = fields.String()
    kind = fields.String()
    count = fields.Integer()


class ClientContractSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    currency = fields.String()
    active = fields.Boolean()


class ClientInvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "Its number, or what draft it is."})
    kind = fields.String()
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    gross = decimal_out(2)
    paid = decimal_out(2)
    currency = fields.String()
    status = fields.String()
    overdue = fields.Boolean()
    case_id = fields.Integer(allow_none=True)


class ClientDocumentsSectionSchema(_section(ClientDocumentSchema)):
    groups = fields.List(fields.Nested(ClientDocumentGroupSchema), metadata={
        "description": "How many documents each template made (all, not only the items)."})


class ClientSectionsSchema(Schema):
    contacts = fields.Nested(_section(ClientContactSchema))
    activities = fields.Nested(_section(ClientActivitySchema))
    meetings = fields.Nested(_section(ClientMeetingSchema))
    inquiries = fields.Nested(_section(ClientInquirySchema))
    offers = fields.Nested(_section(ClientOfferSchema))
    opinions = fields.Nested(_section(ClientOpinionSchema))
    documents = fields.Nested(ClientDocumentsSectionSchema)
    cases = fields.Nested(_section(ClientOtherCaseSchema), metadata={
        "description": "Cases of other processes: service orders and the like."})
    correspondence = fields.Nested(_section(ClientMailSchema))
    contracts = fields.Nested(_section(ClientContractSchema))
    invoices = fields.Nested(_section(ClientInvoiceSchema))


class ClientViewSchema(Schema):
    record_type = fields.String(metadata={"enum": ["organisation", "person"]})
    id = fields.Integer()
    name = fields.String()
    sections = fields.Nested(ClientSectionsSchema, metadata={
        "description": "The sections asked for (all by default) the caller may see."})
    hidden = fields.List(fields.String(), metadata={
        "description": "Sections asked for that need core.billing, which the caller "
                       "lacks."})


@bp.route("/<int:organisation_id>")
class OrganisationView(MethodView):
    @bp.arguments(ClientViewArgs, location="query")
    @bp.response(200, ClientViewSchema)
    @bp.alt_response(404, description="No such organisation the caller may see.")
    @bp.alt_response(422, description="A parameter that cannot be used, by its name.")
    def get(self, args, organisation_id):
        """Everything about a client organisation the caller may see."""
        return _answer(Organisation, organisation_id, args)


@bp.route("/person/<int:person_id>")
class PersonView(MethodView):
    @bp.arguments(ClientViewArgs, location="query")
    @bp.response(200, ClientViewSchema)
    @bp.alt_response(404, description="No such person the caller may see.")
    @bp.alt_response(422, description="A parameter that cannot be used, by its name.")
    def get(self, args, person_id):
        """Everything about a private client (a person) the caller may see."""
        return _answer(Person, person_id, args)


def _answer(model: type, record_id: int, args: dict):
    session, caller = db(), crud.caller()
    client = records.get(session, model, record_id, caller)
    if client is None:
        abort(404)
    try:
        filters = client_view.make_filters(args["kind"], args["first"], args["last"],
                                           args["q"], args["open"], args["limit"])
    except ValidationError as exc:
        return crud.refusal(exc)
    found = client_view.overview(session, current_app.extensions["kartoteka"].host, client,
                                 caller, filters)
    return {"record_type": found.record_type, "id": client.id,
            "name": client.name if isinstance(client, Organisation) else client.full_name,
            "sections": {key: {"count": s.count, "more": s.more, "items": s.items,
                               **({"groups": s.groups} if key == "documents" else {})}
                         for key, s in found.sections.items()},
            "hidden": list(found.hidden)}

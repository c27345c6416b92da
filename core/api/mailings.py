"""Mailings and imported unsubscribe lists, through the API.

Every call goes through the services the staff pages use (``core.mailing``,
``core.jobs``, ``core.unsubscribe``) and needs the ``core.send_mailings`` permission
(403 otherwise). A refused change answers 422 with field errors, the same keys the
service names (``purpose``, ``template``, ``person_ids``...), and writes nothing.
Sending now answers 202 with the id of the job that writes the messages to the outbox;
``GET /jobs/{job_id}`` shows how far it has got. A job started by someone else is 404
(administrators see every job).
"""

from __future__ import annotations

import csv
import io

from flask import abort as http_abort
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import mailing, permissions, records, unsubscribe
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.models import DocumentTemplate, Mailing, OutboxMessage, Person
from core.models.mailing import STATES
from core.models.outbox import STATES as MESSAGE_STATES
from core.validation import an_id
from core.web.db import db

MAX_ADDRESSES = 10_000  # in one JSON request; a file may hold more


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_mailings_blueprint(), _unsubscribes_blueprint()]


def _runtime():
    return current_app.extensions["kartoteka"]


def _require() -> None:
    """Every route here needs the permission to send mailings."""
    if not permissions.can(actor(), mailing.PERMISSION):
        http_abort(403, _("Sending mailings needs the permission to send mailings."))


# ------------------------------------------------------------------ schemas


class MailingInSchema(mailing.MailingSchema):
    """A mailing as it is written: ``template`` and ``own_document`` are templates'
    keys; ``purpose`` (a consent purpose's key) is needed for marketing mail."""


class MailingListArgs(schemas.Sparse, schemas.Strict):
    state = fields.String(validate=validate.OneOf(STATES), metadata={
        "description": "Only mailings in this state."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=schemas.max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


class MessageListArgs(MailingListArgs):
    state = fields.String(validate=validate.OneOf(MESSAGE_STATES), metadata={
        "description": "Only messages in this state."})


class MailingReachSchema(Schema):
    total = fields.Integer(metadata={"description": "People in the audience."})
    receive = fields.Integer(metadata={"description": "Those who would get the message."})
    left_out = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Those left out, by reason: no_address, no_consent, suppressed."})


class MailingSchema(Schema):
    """A mailing, its state and (when read alone) its counts."""

    id = fields.Integer()
    name = fields.String()
    template = fields.String(allow_none=True, metadata={
        "description": "The e-mail template's key."})
    kind = fields.String(metadata={"description": "marketing or service"})
    purpose = fields.String(allow_none=True, metadata={
        "description": "The consent purpose marketing mail is sent under."})
    audience = fields.String(metadata={"description": "segment, case or people"})
    segment_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    person_ids = fields.List(fields.Integer())
    attachment_ids = fields.List(fields.Integer())
    own_document = fields.String(allow_none=True, metadata={
        "description": "The key of the document template made for each recipient."})
    note = fields.String()
    recurring = fields.Boolean(metadata={
        "description": "Every hour also reaches people who joined the audience since."})
    state = fields.String(metadata={
        "description": "draft, scheduled, queuing, sending, active (a recurring mailing "
                       "between rounds), done or cancelled"})
    state_name = fields.String(metadata={"description": "The state in the caller's "
                                                        "language."})
    scheduled_at = fields.DateTime(allow_none=True)
    queued_at = fields.DateTime(allow_none=True)
    job_id = fields.Integer(allow_none=True, metadata={
        "description": "The job that writes its messages to the outbox."})
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    stats = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Read alone: messages by state, recipients, unsubscribed, and "
                       "left_out_<reason>."})
    reach = fields.Nested(MailingReachSchema, allow_none=True, metadata={
        "description": "Read alone, a draft or scheduled mailing: whom it would reach "
                       "now."})
    held_back = fields.Integer(metadata={
        "description": "After cancelling: the messages not sent."})


class MailingSendInSchema(schemas.Strict):
    at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When to send, with its time zone; now if left out."})


class MailingPreviewArgs(schemas.Strict):
    person_id = fields.Integer(required=True, validate=an_id())


class MailingPreviewSchema(Schema):
    subject = fields.String()
    text = fields.String()
    html = fields.String()


class MailingMessageSchema(Schema):
    """One recipient's message in the outbox."""

    id = fields.Integer()
    message_id = fields.String(metadata={"description": "The Message-ID header."})
    to = fields.String(attribute="to_address")
    to_name = fields.String()
    state = fields.String(metadata={
        "description": "queued, claimed, sending, sent, failed, uncertain or skipped"})
    error = fields.String(metadata={
        "description": "Why it failed, was skipped or is uncertain."})
    attempts = fields.Integer()
    sent_at = fields.DateTime(allow_none=True)
    unsubscribed_at = fields.DateTime(allow_none=True)
    person_id = fields.Integer(allow_none=True)


class UnsubscribeInSchema(schemas.Strict):
    """JSON form; a CSV file is sent as multipart/form-data (``file``, ``purpose``)."""

    addresses = fields.List(fields.String(validate=schemas.max_length(320)), required=True)
    purpose = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The consent purpose these people withdraw from (its key); if "
                       "left out, the addresses are only kept from marketing mail."})


class UnsubscribeResultSchema(Schema):
    added = fields.Integer(metadata={"description": "Addresses new on the list."})
    known = fields.Integer(metadata={"description": "Addresses already on it."})
    withdrawn = fields.Integer(metadata={"description": "People whose consent was "
                                                        "withdrawn."})
    invalid = fields.List(fields.Integer(), metadata={
        "description": "Not addresses: line numbers of the file, or positions (from 0) "
                       "in ``addresses``."})


# ------------------------------------------------------------------ mailings


def _mailings_blueprint() -> Blueprint:
    bp = Blueprint("api_mailings", __name__, url_prefix="/mailings",
                   description="Mailings: an e-mail template sent to an audience")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(MailingListArgs, location="query")
        @bp.response(200, schemas.page_schema(MailingSchema))
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        def get(self, args):
            """List the mailings, oldest first, a page at a time."""
            _require()
            session = db()
            query = select(Mailing)
            if args.get("state"):
                query = query.where(Mailing.state == args["state"])
            found = api_records.page(Mailing, query, args)
            found["items"] = [_out(session, m) for m in found["items"]]
            return found

        @bp.arguments(MailingInSchema)
        @bp.response(201, MailingSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(422, description="Field-level errors: no such e-mail template, "
                                          "marketing mail without a consent purpose, an "
                                          "audience the caller may not see...")
        def post(self, data):
            """Write a draft mailing; nothing is sent until ``send``."""
            _require()
            session = db()
            try:
                found = mailing.create(session, data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return _out(session, found), 201, {
                "Location": f"{request.base_url.rstrip('/')}/{found.id}"}

    @bp.route("/<int:mailing_id>")
    class Item(MethodView):
        @bp.response(200, MailingSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        def get(self, mailing_id):
            """Read one mailing with its counts, and, while it is a draft or scheduled,
            whom it would reach now."""
            session = db()
            return _out(session, _mailing(mailing_id), detail=True)

        @bp.arguments(MailingInSchema(partial=True))
        @bp.response(200, MailingSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(422, description="Field-level errors, or the mailing is being "
                                          "sent or was sent (mailing).")
        def patch(self, data, mailing_id):
            """Change some fields of a draft or scheduled mailing."""
            session = db()
            found = _mailing(mailing_id)
            try:
                mailing.update(session, found, {**_values(session, found), **data}, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return _out(session, found, detail=True)

    @bp.route("/<int:mailing_id>/send")
    class Send(MethodView):
        @bp.arguments(MailingSendInSchema)
        @bp.response(202, MailingSchema, description="Sending started: ``job_id`` names "
                                                     "the job that queues the messages.")
        @bp.alt_response(200, schema=MailingSchema,
                         description="Scheduled for ``at``.")
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(422, description="Already sent, its template is gone, or ``at`` "
                                          "is not in the future.")
        def post(self, data, mailing_id):
            """Send the mailing now, or at ``at`` (a moment with its time zone)."""
            session = db()
            found = _mailing(mailing_id)
            try:
                mailing.send(session, found, actor(), at=data["at"])
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc, {"scheduled_at": "at"})
            found = _mailing(mailing_id)
            if data["at"] is not None:
                return _out(session, found), 200
            headers = {"Location": url_for("api_jobs.Item", job_id=found.job_id,
                                           _external=True)} if found.job_id else {}
            return _out(session, found), 202, headers

    @bp.route("/<int:mailing_id>/cancel")
    class Cancel(MethodView):
        @bp.response(200, MailingSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(422, description="Neither scheduled nor being sent.")
        def post(self, mailing_id):
            """Stop the mailing: a scheduled one goes back to draft; of one being sent,
            the messages not yet handed over are not sent (``held_back``)."""
            session = db()
            found = _mailing(mailing_id)
            try:
                held = mailing.cancel(session, found, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return {**_out(session, _mailing(mailing_id)), "held_back": held}

    @bp.route("/<int:mailing_id>/preview")
    class Preview(MethodView):
        @bp.arguments(MailingPreviewArgs, location="query")
        @bp.response(200, MailingPreviewSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(404, description="No such mailing, or the person does not exist "
                                          "or the caller may not see them.")
        @bp.alt_response(422, description="A problem in the template (names its line).")
        def get(self, args, mailing_id):
            """The message as the person would get it: subject, plain text and HTML.
            Nothing is sent."""
            session = db()
            found = _mailing(mailing_id)
            person = records.get(session, Person, args["person_id"], actor())
            if person is None:
                abort(404)
            try:
                return mailing.preview(session, _runtime(), found, person, actor())
            except (ValidationError, Forbidden) as exc:
                return _refusal(exc)

    @bp.route("/<int:mailing_id>/messages")
    class Messages(MethodView):
        @bp.arguments(MessageListArgs, location="query")
        @bp.response(200, schemas.page_schema(MailingMessageSchema))
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        def get(self, args, mailing_id):
            """The mailing's messages in the outbox, one per recipient, a page at a
            time."""
            found = _mailing(mailing_id)
            query = select(OutboxMessage).where(OutboxMessage.mailing_id == found.id)
            if args.get("state"):
                query = query.where(OutboxMessage.state == args["state"])
            return api_records.page(OutboxMessage, query, args)

    return bp


def _mailing(mailing_id: int) -> Mailing:
    _require()
    found = db().get(Mailing, mailing_id)
    if found is None:
        abort(404)
    return found


def _refusal(exc, rename: dict[str, str] | None = None):
    """A service's refusal: 403, or 422 with field errors (keys renamed to the API's)."""
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    rename = rename or {}
    return refused({rename.get(k, k): v for k, v in exc.errors.items()})


def _key(session, template_id: int | None) -> str | None:
    template = session.get(DocumentTemplate, template_id) if template_id else None
    return template.key if template is not None else None


def _values(session, found: Mailing) -> dict:
    """The mailing as it was written, for a partial change to start from."""
    return {"name": found.name, "template": _key(session, found.template_id),
            "kind": found.kind, "purpose": found.purpose_key, "audience": found.audience,
            "segment_id": found.segment_id, "case_id": found.case_id,
            "person_ids": list(found.person_ids or []),
            "attachment_ids": list(found.attachment_ids or []),
            "own_document": _key(session, found.own_document_template_id),
            "note": found.note or "", "recurring": found.recurring}


def _out(session, found: Mailing, detail: bool = False) -> dict:
    out = {**_values(session, found), "id": found.id, "state": found.state,
           "state_name": str(mailing.STATE_LABELS.get(found.state, found.state)),
           "scheduled_at": found.scheduled_at, "queued_at": found.queued_at,
           "job_id": found.job_id, "created_at": found.created_at,
           "created_by_id": found.created_by_id}
    if detail:
        out["stats"] = mailing.stats(session, found)
        out["reach"] = None
        if found.state in ("draft", "scheduled"):
            reach = mailing.reach(session, found, actor())
            out["reach"] = {"total": reach.total, "receive": reach.receive,
                            "left_out": reach.left_out}
    return out


# ------------------------------------------------------------------ unsubscribes


def _unsubscribes_blueprint() -> Blueprint:
    bp = Blueprint("api_unsubscribes", __name__, url_prefix="/unsubscribes",
                   description="Addresses unsubscribed in other mailing systems")

    @bp.route("/")
    class Collection(MethodView):
        @bp.doc(requestBody={"required": True, "content": {
            "application/json": {"schema": UnsubscribeInSchema},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "A CSV file: the first column, or "
                                                      "the one named email, holds the "
                                                      "addresses."},
                               "purpose": {"type": "string"}}}}}})
        @bp.response(200, UnsubscribeResultSchema)
        @bp.alt_response(403, description="Needs the core.send_mailings permission.")
        @bp.alt_response(422, description="No addresses, or no such purpose.")
        def post(self):
            """Keep the addresses from all marketing mail, and withdraw the consent of
            the people who have them to ``purpose`` if given."""
            _require()
            if request.mimetype == "multipart/form-data":
                upload = request.files.get("file")
                if upload is None or not upload.filename:
                    return refused({"file": _("Choose a CSV file.")})
                data, purpose, field = upload.read(), request.form.get("purpose") or None, \
                    "file"
            else:
                loaded = _load_addresses()
                if isinstance(loaded, tuple):
                    return loaded[0]
                data, purpose, field = _csv(loaded["addresses"]), loaded["purpose"], \
                    "addresses"
            session = db()
            try:
                result = unsubscribe.import_addresses(session, data, purpose, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused({field if k == "file" else k: v
                                for k, v in exc.errors.items()})
            if field == "addresses":  # positions in the list, not lines of the CSV
                result["invalid"] = [line - 2 for line in result["invalid"]]
            return result

    return bp


def _load_addresses():
    """The JSON body, or a (response,) refusing it."""
    from marshmallow import ValidationError as SchemaError

    from core.validation import flatten

    try:
        loaded = UnsubscribeInSchema().load(request.get_json(silent=True) or {})
    except SchemaError as exc:
        return (refused(flatten(exc.messages)),)
    if len(loaded["addresses"]) > MAX_ADDRESSES:
        return (refused({"addresses": _("At most %(n)d addresses at once; send a CSV file "
                                        "for more.", n=MAX_ADDRESSES)}),)
    return loaded


def _csv(addresses: list[str]) -> str:
    """The addresses as the CSV the import reads, under a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email"])
    for address in addresses:
        writer.writerow([address.strip()])
    return buffer.getvalue()


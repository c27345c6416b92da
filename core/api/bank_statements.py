"""Bank statements through the API: importing a statement, reading what became of its
lines, and deciding on those that wait for review.

``POST /bank-statements/`` takes the file as multipart/form-data with the id of the
bank's profile (``GET /bank-statements/banks``; a CSV bank's profile must know its
columns, ``POST /bank-statements/banks`` makes one). The statement is imported while the
request waits (a few thousand lines take seconds) and answered with its lines: 201. A
file that cannot be imported is refused with 422 naming ``file``, ``profile_id``, a
column of the mapping (``columns.<field>``) or a row's value (``rows.<row>.<field>``),
and nothing is kept. Importing the same statement again records no payment twice: its
lines are duplicates. Every route needs ``core.billing`` (403 otherwise); a decision
refused by the ledger is 422 with the field's message.
"""

from __future__ import annotations

from flask import abort as http_abort
from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from core import bank_statements, invoices, payment_matching, permissions
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import refused
from core.api.invoices import decimal_out, described, refusal
from core.errors import Forbidden, ValidationError
from core.models import BankProfile, BankStatement, BankStatementLine
from core.models.bank import ENCODINGS, FORMATS, LINE_STATUSES, OPEN_LINES
from core.validation import an_id, max_length
from core.web.db import db


def _require() -> None:
    if not permissions.can(actor(), invoices.PERMISSION):
        http_abort(403, _("You may not issue invoices or record payments."))


# ------------------------------------------------------------------ schemas


class BankProfileSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    format = fields.String(metadata={"enum": list(FORMATS)})
    encoding = fields.String(metadata={"enum": list(ENCODINGS)})
    delimiter = fields.String(metadata={"enum": list(bank_statements.DELIMITERS)})
    decimal_separator = fields.String(metadata={
        "enum": list(bank_statements.DECIMAL_SEPARATORS)})
    date_format = fields.String(metadata={"enum": list(bank_statements.DATE_FORMATS)})
    skip_rows = fields.Integer()
    currency = fields.String()
    columns = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "field -> the column headers it is read from."})
    created_at = fields.DateTime()


_PROFILE = bank_statements.ProfileSchema._declared_fields


class BankProfileInSchema(bank_statements.ProfileSchema):
    """A bank's profile: how its statements are read."""

    format = described(_PROFILE["format"], enum=list(FORMATS))
    encoding = described(_PROFILE["encoding"], enum=list(ENCODINGS), description=(
        "auto: UTF-8 (with or without a BOM) or Windows-1250, recognised from the bytes."))
    delimiter = described(_PROFILE["delimiter"], enum=list(bank_statements.DELIMITERS))
    decimal_separator = described(_PROFILE["decimal_separator"],
                                   enum=list(bank_statements.DECIMAL_SEPARATORS))
    date_format = described(_PROFILE["date_format"], enum=list(bank_statements.DATE_FORMATS),
                             description="A strftime pattern, or auto.")
    skip_rows = described(_PROFILE["skip_rows"], description=(
        "CSV: the rows above the column headers."))
    columns = described(_PROFILE["columns"], description=(
        "CSV: field -> the column's header (payer and title may take a list, joined in "
        "order). Fields: " + ", ".join(bank_statements.FIELDS) + "; date, title and "
        "amount (or credit and debit) are needed."), type="object",
        additionalProperties={"oneOf": [{"type": "string"},
                                        {"type": "array", "items": {"type": "string"}}]})


class BankLineSchema(Schema):
    id = fields.Integer()
    statement_id = fields.Integer()
    position = fields.Integer(metadata={"description": "1, 2, 3... in the file's order."})
    booked_on = fields.Date()
    amount = decimal_out(2, "Below zero: a debit.")
    currency = fields.String()
    payer = fields.String()
    account = fields.String(metadata={"description": "The account the money came from."})
    title = fields.String()
    external_id = fields.String(metadata={
        "description": "The bank's transaction id (or a digest of the line): the "
                       "payment's external_id."})
    status = fields.String(metadata={"enum": list(LINE_STATUSES)})
    reason = fields.String(metadata={"description": "Why it is what it is, as a key."})
    explanation = fields.Function(lambda line: payment_matching.describe(line), metadata={
        "type": "string", "description": "Why, in the caller's language."})
    organisation_id = fields.Integer(allow_none=True, metadata={
        "description": "The payer, as far as it is known."})
    person_id = fields.Integer(allow_none=True)
    invoice_id = fields.Integer(allow_none=True, metadata={
        "description": "The invoice it pays or would pay (the first of invoice_ids)."})
    invoice_ids = fields.Function(
        lambda line: (line.details or {}).get("invoice_ids") or
        ([line.invoice_id] if line.invoice_id else []),
        metadata={"type": "array", "items": {"type": "integer"}})
    payment_id = fields.Integer(allow_none=True, metadata={
        "description": "The payment it became."})
    note = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)


class BankStatementSummarySchema(Schema):
    id = fields.Integer()
    profile_id = fields.Integer(allow_none=True)
    filename = fields.String()
    format = fields.String(metadata={"enum": list(FORMATS)})
    encoding = fields.String()
    account = fields.String(metadata={"description": "The statement's own account, if "
                                                     "the file names it."})
    checksum = fields.String(metadata={"description": "SHA-256 of the file."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Lines by status, and all of them (lines)."})
    imported_at = fields.DateTime()
    imported_by_id = fields.Integer(allow_none=True)


class BankStatementSchema(BankStatementSummarySchema):
    lines = fields.List(fields.Nested(BankLineSchema))


class BankStatementInSchema(schemas.Strict):
    """The multipart/form-data request that imports a statement."""

    file = Upload(required=True, metadata={"description": "The statement: CSV (UTF-8 or "
                                                          "Windows-1250) or MT940."})
    profile_id = fields.Integer(required=True, validate=an_id(), metadata={
        "description": "The bank's profile (GET /bank-statements/banks)."})


class StatementListArgs(schemas.Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


class LineListArgs(StatementListArgs):
    status = fields.String(validate=validate.OneOf(LINE_STATUSES), metadata={
        "description": "Only lines of this status; without it, those waiting for review "
                       "(suggested and unmatched)."})
    statement_id = fields.Integer(validate=an_id())


class MatchInSchema(schemas.Strict):
    invoice_id = fields.Integer(load_default=None, allow_none=True, validate=an_id(),
                                metadata={"description": "The invoice it pays; left out or "
                                                         "null: the invoices suggested."})


class RecordInSchema(schemas.Strict):
    organisation_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())


class IgnoreInSchema(schemas.Strict):
    note = fields.String(load_default="", validate=max_length(2000), metadata={
        "description": "Why it is no client's payment."})


# ------------------------------------------------------------------ routes


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_bank-statements", __name__, url_prefix="/bank-statements",
                   description="Bank statements imported, and their lines matched to "
                               "invoices")
    forbidden = "Needs the core.billing permission."

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(StatementListArgs, location="query")
        @bp.response(200, schemas.page_schema(BankStatementSummarySchema))
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List the statements imported, oldest first, a page at a time."""
            _require()
            return api_records.page(BankStatement, select(BankStatement), args)

        @bp.doc(requestBody={"required": True, "content": {
            "multipart/form-data": {"schema": BankStatementInSchema}}})
        @bp.response(201, BankStatementSchema)
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(413, description="The request is larger than the upload limit.")
        @bp.alt_response(415, description="Not multipart/form-data.")
        @bp.alt_response(422, description="Field-level errors: file (empty, not a statement, "
                                          "an encoding that does not fit), profile_id, "
                                          "columns.<field> (a column the file lacks), "
                                          "rows.<row>.<field> (a value that is no date or "
                                          "amount).")
        def post(self):
            """Import a statement: its credits are matched to open invoices, and the sure
            matches recorded as payments allocated to them."""
            _require()
            data = _form()
            session = db()
            profile = session.get(BankProfile, data["profile_id"])
            if profile is None:
                return refused({"profile_id": _("There is no such bank.")})
            sent = data["file"]
            content = sent.read() if isinstance(sent, FileStorage) else b""
            limit = int(current_app.extensions["kartoteka"].settings.max_upload_mb)
            if len(content) > limit * 1024 * 1024:
                return refused({"file": _("The file is larger than the limit of %(limit)s MB.",
                                          limit=limit)})
            try:
                statement = bank_statements.import_statement(
                    session, profile, getattr(sent, "filename", "") or "statement", content,
                    actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return statement, 201, {"Location": f"{request.base_url.rstrip('/')}/{statement.id}"}

    @bp.route("/<int:statement_id>")
    class Item(MethodView):
        @bp.response(200, BankStatementSchema)
        @bp.alt_response(403, description=forbidden)
        def get(self, statement_id):
            """Read a statement with every line and what became of it."""
            return _statement(statement_id)

    @bp.route("/lines")
    class Lines(MethodView):
        @bp.arguments(LineListArgs, location="query")
        @bp.response(200, schemas.page_schema(BankLineSchema))
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List statement lines, by default those waiting for review."""
            _require()
            query = select(BankStatementLine).where(BankStatementLine.status.in_(
                [args["status"]] if args.get("status") else OPEN_LINES))
            if args.get("statement_id") is not None:
                query = query.where(BankStatementLine.statement_id == args["statement_id"])
            return api_records.page(BankStatementLine, query, args)

    refusals = ("Field-level errors: status (the line is decided already, a debit or "
                "a duplicate), invoice_id, organisation_id, person_id.")

    @bp.route("/<int:statement_id>/lines/<int:line_id>/match")
    class Match(MethodView):
        @bp.arguments(MatchInSchema)
        @bp.response(200, BankLineSchema)
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description=refusals)
        def post(self, data, statement_id, line_id):
            """Pay an invoice with the line (or, without invoice_id, the invoices
            suggested): its payment is recorded and allocated, moving the invoice to paid
            or partly paid; what is over stays on the payment."""
            if data["invoice_id"] is None:
                return _decide(statement_id, line_id, payment_matching.confirm)
            return _decide(statement_id, line_id, payment_matching.pay, [data["invoice_id"]])

    @bp.route("/<int:statement_id>/lines/<int:line_id>/record")
    class Record(MethodView):
        @bp.arguments(RecordInSchema)
        @bp.response(200, BankLineSchema)
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description=refusals)
        def post(self, data, statement_id, line_id):
            """Record the line as a payment of the payer given (or of nobody yet),
            allocated to no invoice."""
            return _decide(statement_id, line_id, payment_matching.record,
                           organisation_id=data["organisation_id"],
                           person_id=data["person_id"])

    @bp.route("/<int:statement_id>/lines/<int:line_id>/ignore")
    class Ignore(MethodView):
        @bp.arguments(IgnoreInSchema)
        @bp.response(200, BankLineSchema)
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description=refusals)
        def post(self, data, statement_id, line_id):
            """Ignore the line: it is no client's payment."""
            return _decide(statement_id, line_id, payment_matching.ignore, note=data["note"])

    @bp.route("/banks")
    class Banks(MethodView):
        @bp.response(200, BankProfileSchema(many=True))
        @bp.alt_response(403, description=forbidden)
        def get(self):
            """The banks' profiles: how each bank's statements are read."""
            _require()
            return bank_statements.profiles(db(), actor())

        @bp.arguments(BankProfileInSchema)
        @bp.response(201, BankProfileSchema)
        @bp.alt_response(403, description=forbidden)
        @bp.alt_response(422, description="Field-level errors: name (empty or taken), "
                                          "columns.<field>, a setting off its list.")
        def post(self, data):
            """Add a bank: how its statements are read, and for CSV which column holds
            what."""
            session = db()
            try:
                profile = bank_statements.create_profile(session, data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return profile, 201

    return [bp]


def _form() -> dict:
    if request.mimetype != "multipart/form-data":
        http_abort(415, _("Send the file and the options as multipart/form-data."))
    try:
        return BankStatementInSchema().load({**request.form.to_dict(),
                                             **request.files.to_dict()})
    except SchemaError as exc:
        abort(422, messages={"form": exc.messages})


def _statement(statement_id: int) -> BankStatement:
    _require()
    found = bank_statements.get(db(), statement_id, actor())
    if found is None:
        abort(404)
    return found


def _decide(statement_id: int, line_id: int, decide, *args, **kwargs):
    """Apply a review decision to the line: the line as it is after, or the refusal."""
    _require()
    session = db()
    line = payment_matching.get_line(session, statement_id, line_id, actor())
    if line is None:
        abort(404)
    try:
        if args:
            decide(session, line, *args, actor())
        else:
            decide(session, line, actor(), **kwargs)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return refusal(exc)
    return line

"""Accounting exports and KSeF documents through the API.

``GET /exports/`` lists the exporters this installation has (the core's and the enabled
plugins'); ``GET /exports/{key}?from=&to=`` answers one's file for the documents issued
in the period (or the organisations they bill), as the caller may see them: it needs
``core.billing`` (403), and a bad period is refused field by field (422). ``GET
/invoices/{id}/ksef`` answers one invoice as the KSeF FA(3) XML, validated against the
official schema; reading it follows the invoice's client like reading the invoice, and
an invoice that has no such document (a pro forma, a settlement note, a draft) is 422.
Both go through ``core.accounting_exports`` and ``core.ksef``, as the staff pages and the
command line do.
"""

from __future__ import annotations

import tempfile

from flask import current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from core import accounting_exports, identifiers, invoices, ksef
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.validation import max_length
from core.web.attachments import content_disposition
from core.web.db import db

SPOOL = 8 * 1024 * 1024  # kept in memory up to this, then in a temporary file
BINARY = {"schema": {"type": "string", "format": "binary"}}


class ExporterSchema(Schema):
    key = fields.String(metadata={"example": "core.invoices_csv"})
    title = fields.String()
    media_type = fields.String(metadata={"example": accounting_exports.CSV_TYPE})
    extension = fields.String(metadata={"example": "csv"})
    subject = fields.String(metadata={"enum": list(accounting_exports.SUBJECTS), "description": (
        "What it exports: the documents issued in the period, or the organisations they "
        "bill.")})


class ExportArgs(accounting_exports.PeriodSchema):
    """The period, both days included."""


def _nip(value: str) -> None:
    try:
        identifiers.normalise("nip", value)
    except ValidationError as exc:
        raise SchemaError(next(iter(exc.errors.values()))) from exc


class KsefArgs(schemas.Strict):
    jst = fields.Boolean(metadata={"description": (
        "Whether the invoice concerns a subordinate unit of a local government (Podmiot2 "
        "JST, and a Podmiot3 of role 8). Left out: when the client is a municipality, "
        "county or voivodeship, or a unit is named.")})
    unit_nip = fields.String(validate=_nip, metadata={"description": (
        "The NIP of the subordinate unit the invoice is for; the client's own when left "
        "out.")})
    unit_name = fields.String(validate=[validate.Length(min=1), max_length(512)], metadata={
        "description": "The name of that unit."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_exports_blueprint()]


def _exports_blueprint() -> Blueprint:
    bp = Blueprint("api_exports", __name__, url_prefix="/exports",
                   description="Accounting exports: the documents issued in a period and "
                               "the organisations they bill, for accounting programs, and "
                               "the invoices as KSeF FA(3) XML")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, ExporterSchema(many=True))
        def get(self):
            """List the exports: the core's and those of the enabled plugins."""
            return [{"key": e.key, "title": e.label(_language()), "media_type": e.media_type,
                     "extension": e.extension, "subject": e.subject}
                    for e in _host().exporters.values()]

    @bp.route("/<key>")
    class Item(MethodView):
        @bp.arguments(ExportArgs, location="query")
        @bp.doc(responses={"200": {"description": "The file, as a download.", "content": {
            "text/csv": BINARY, "application/json": {"schema": {"type": "object"}},
            "application/zip": BINARY, "application/octet-stream": BINARY}}})
        @bp.alt_response(403, description="Needs the core.billing permission.")
        @bp.alt_response(422, description="Field-level errors of the period (from, to), or "
                                          "of a document the export cannot write (a KSeF "
                                          "invoice whose seller details lack its NIP).")
        def get(self, args, key):
            """Download an export for the documents issued from ``from`` to ``to``.

            The core's: core.invoices_csv and core.invoices_json (every issued document
            with its totals and rows per VAT rate; CSV with semicolons and decimal
            commas, as Polish accounting programs import it), core.organisations_csv and
            core.organisations_json (the organisations billed in the period) and
            core.ksef_fa3 (a ZIP of the VAT invoices' FA(3) XML)."""
            exporter = _host().exporters.get(key)
            if exporter is None:
                abort(404)
            session = db()
            selection = accounting_exports.Selection(
                args["start"], args["end"], actor(), current_app.extensions["kartoteka"].settings)
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
            try:
                accounting_exports.run(session, _host(), key, selection, spool)
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return problem(403, str(exc))
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            spool.seek(0)
            return send_file(spool, mimetype=exporter.media_type, as_attachment=True,
                             download_name=exporter.file_name(selection), max_age=0)

    return bp


def ksef_route(bp: Blueprint) -> None:
    """``/<invoice_id>/ksef`` on the invoices' blueprint."""

    @bp.route("/<int:invoice_id>/ksef")
    class Ksef(MethodView):
        @bp.arguments(KsefArgs, location="query")
        @bp.doc(responses={"200": {"description": "The FA(3) document.", "content": {
            "application/xml": BINARY}}})
        @bp.alt_response(422, description="No KSeF document: a pro forma or settlement "
                                          "note (kind), a draft or cancelled invoice "
                                          "(status), a currency KSeF does not take, or "
                                          "seller details lacking the NIP or address "
                                          "(seller); or field-level errors of the "
                                          "parameters.")
        def get(self, args, invoice_id):
            """Download the invoice as KSeF's structured e-invoice FA(3), validated
            against the Ministry of Finance's schema.

            Invoices are VAT, advance invoices ZAL, final invoices ROZ, corrections KOR,
            KOR_ZAL or KOR_ROZ; the seller and the client are those copied at issue."""
            session = db()
            invoice = invoices.get(session, invoice_id, actor())
            if invoice is None:
                abort(404)
            unit = None
            if args.get("unit_nip") or args.get("unit_name"):
                unit = ksef.JstUnit(name=args.get("unit_name", ""),
                                    nip=identifiers.normalise("nip", args["unit_nip"])
                                    if args.get("unit_nip") else "")
            try:
                xml = ksef.invoice_xml(session, current_app.extensions["kartoteka"].settings,
                                       invoice, jst=args.get("jst"), unit=unit)
            except ValidationError as exc:
                return refused(exc.errors)
            response = current_app.response_class(xml, mimetype="application/xml")
            response.headers["Content-Disposition"] = content_disposition(ksef.file_name(invoice))
            return response


def _host():
    return current_app.extensions["kartoteka"].host


def _language() -> str:
    from core.web.i18n import current_locale

    return current_locale()

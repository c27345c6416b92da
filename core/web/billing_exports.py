"""Accounting exports for staff: choose an export and a period, download the file; and
one invoice's KSeF FA(3) XML. Both need ``core.billing``; what is exported is what the
user may see (``core.accounting_exports``)."""

from __future__ import annotations

import tempfile

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from core import accounting_exports, invoices, ksef
from core.errors import Forbidden, ValidationError
from core.web.admin import permission_required
from core.web.attachments import content_disposition
from core.web.auth import safe_next
from core.web.db import db
from core.web.i18n import current_locale

bp = Blueprint("billing_exports", __name__, url_prefix="/billing/exports")
may_bill = permission_required(invoices.PERMISSION)
SPOOL = 8 * 1024 * 1024  # kept in memory up to this, then in a temporary file


def _runtime():
    return current_app.extensions["kartoteka"]


@bp.get("/")
@may_bill
def index():
    """The form; with an exporter chosen (``?exporter=...&from=...&to=...``), the file."""
    exporters = _runtime().host.exporters
    start, end = accounting_exports.last_month()
    values = {"exporter": next(iter(exporters), ""), "from": start.isoformat(),
              "to": end.isoformat(), **request.args.to_dict()}
    if "exporter" not in request.args:
        return _form(exporters, values, {})
    errors = {}
    if values["exporter"] not in exporters:
        errors["exporter"] = _("Choose one of the exports.")
    try:
        start, end = accounting_exports.period(values)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        return _form(exporters, values, errors), 400
    exporter = exporters[values["exporter"]]
    selection = accounting_exports.Selection(start, end, current_user._get_current_object(),
                                             _runtime().settings)
    session, spool = db(), tempfile.SpooledTemporaryFile(max_size=SPOOL)
    try:
        accounting_exports.run(session, _runtime().host, exporter.key, selection, spool)
        session.commit()
    except ValidationError as exc:  # a document the export cannot write, named
        session.rollback()
        return _form(exporters, values, exc.errors), 422
    spool.seek(0)
    return send_file(spool, mimetype=exporter.media_type, as_attachment=True,
                     download_name=exporter.file_name(selection), max_age=0)


def _form(exporters: dict, values: dict, errors: dict):
    choices = [(key, exporter.label(current_locale())) for key, exporter in exporters.items()]
    return render_template("core/billing/exports.html", exporters=choices, values=values,
                           errors=errors)


@bp.get("/invoices/<int:invoice_id>/ksef.xml")
@may_bill
def invoice_xml(invoice_id: int):
    """One invoice's KSeF FA(3) document; why there is none, on the page it came from."""
    session = db()
    invoice = invoices.get(session, invoice_id, current_user)
    if invoice is None:
        abort(404)
    try:
        xml = ksef.invoice_xml(session, _runtime().settings, invoice)
    except (ValidationError, Forbidden) as exc:
        for message in getattr(exc, "errors", {"_": str(exc)}).values():
            flash(message, "error")
        back = safe_next(request.referrer) if request.referrer \
            else url_for("billing_exports.index")
        return redirect(back, code=303)
    response = current_app.response_class(xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = content_disposition(ksef.file_name(invoice))
    return response

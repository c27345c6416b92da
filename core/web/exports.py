"""Downloading a list as CSV or XLSX: the same records the list shows, nothing more."""

from __future__ import annotations

import tempfile

from flask import abort, current_app, request, send_file
from flask_login import current_user

from core import audit, exporting, permissions, usage
from core.db import utcnow
from core.terms import term
from core.web.db import db

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def send_export(query, model, record_type: str, fmt: str | None = None,
                excel: str | None = None, details: dict | None = None,
                names: list[str] | None = None):
    """Write the query's rows to a temporary file and send it as a download: in the
    format the query string asks for (or ``fmt``, ``excel``); ``details`` describe
    the rows in the audit trail instead of the query string. The columns are ``names``
    (``exporting.named_columns``), or every field without them."""
    fmt = fmt or request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(404)
    if permissions.level(current_user, record_type, "export") == "none":
        abort(403)
    reach = permissions.scope(model, current_user, "export")
    if reach is not None:
        query = query.where(reach)
    session = db()
    host = current_app.extensions["kartoteka"].host
    columns = exporting.default_columns(session, host, model, current_user) if names is None \
        else exporting.named_columns(session, host, model, names, current_user)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    delimiter = ";" if (excel or request.args.get("excel")) == "pl" else ","
    written = exporting.export(session, query, columns, spool, fmt=fmt, delimiter=delimiter)
    usage.record(session, "export", current_user, record_type)
    audit.event(session, "export", record_type, {"format": fmt, "rows": written,
                                                 "filter": request.args.to_dict()
                                                 if details is None else details},
                current_user)
    session.commit()
    spool.seek(0)
    basename = term(f"core.{record_type}", plural=True).replace(" ", "-")
    name = f"{basename}-{utcnow():%Y-%m-%d}.{fmt}"
    return send_file(spool, mimetype=FORMATS[fmt], as_attachment=True, download_name=name)

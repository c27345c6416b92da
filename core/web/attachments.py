"""Attaching a file to a record from its card, and downloading it again."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from core import attachments, records
from core.errors import ValidationError
from core.models import Attachment
from core.web.auth import safe_next
from core.web.db import db
from core.web.search import CARDS

bp = Blueprint("attachments", __name__, url_prefix="/attachments")
MULTIPART_OVERHEAD = 64 * 1024  # the form around the file may add this much to the body
ASCII_FALLBACK = str.maketrans({"ł": "l", "Ł": "L", '"': "'", "\\": "_"})


def _settings():
    return current_app.extensions["kartoteka"].settings


def _record_or_404(record_type: str, record_id: int, include_deleted: bool = False):
    # Files belong on records that have a card to show them.
    model = records.record_types().get(record_type) if record_type in CARDS else None
    if model is None:
        abort(404)
    record = records.get(db(), model, record_id, current_user, include_deleted)
    if record is None:
        abort(404)
    return record


@bp.post("/<record_type>/<int:record_id>")
@login_required
def upload(record_type: str, record_id: int):
    record, back = _record_or_404(record_type, record_id), safe_next(request.referrer)
    limit_mb = _settings().max_upload_mb
    # Stop reading a body that cannot fit, rather than spooling all of it first.
    request.max_content_length = limit_mb * 1024 * 1024 + MULTIPART_OVERHEAD
    try:
        sent = request.files.get("file")
    except RequestEntityTooLarge:
        flash(_("The file is larger than the limit of %(limit)s MB.", limit=limit_mb), "error")
        return redirect(back)
    if sent is None or not sent.filename:
        flash(_("Choose a file to attach."), "error")
        return redirect(back)
    session = db()
    try:
        attachment = attachments.store(session, _settings(), record, sent.filename,
                                       sent.stream, current_user, sent.mimetype)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("Attached %(name)s.", name=attachment.filename))
    return redirect(back)


@bp.get("/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    attachment = db().get(Attachment, attachment_id)
    if attachment is None or attachment.deleted_at is not None:
        abort(404)
    _record_or_404(attachment.record_type, attachment.record_id, include_deleted=True)
    return send_attachment(attachment)


def send_attachment(attachment: Attachment):
    """The file as a download, never shown in the browser; a file gone missing is 404."""
    if attachment is None or attachment.deleted_at is not None:
        abort(404)
    path = attachments.path_of(_settings(), attachment)
    if not path.is_file():
        current_app.logger.error("attachment %s: file %s is missing", attachment.id, path)
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, max_age=0,
                         conditional=True, etag=attachment.sha256)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def content_disposition(filename: str) -> str:
    """Always a download; an ASCII name for old clients and the real one per RFC 5987."""
    # Normalise first: a full-width quote or backslash must not turn back into one.
    fallback = unicodedata.normalize("NFKD", filename).translate(ASCII_FALLBACK)
    fallback = fallback.encode("ascii", "ignore").decode() or "file"
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header

"""The staff pages of print files (PR-9): their section on a project's card, with the
upload form and prepress's check and reject buttons; the form on a page of its own when
an upload is refused (with the messages under their fields) and for replacing a
rejected file; the page that asks why a file is rejected when the card's form was sent
without a reason.

Every change goes through ``print_files``, which checks who may make it; a refusal is
rolled back. The file itself is downloaded through the core's attachments.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from core.models import Case, User
from core.terms import term, upper_first
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int
from plugins.printing import print_files
from plugins.printing.models import PrintFile

bp = Blueprint("printing_files", __name__, url_prefix="/printing", template_folder="templates")
FIELDS = ("width_mm", "height_mm", "dpi", "colour_profile", "bleed_mm", "notes")
MULTIPART_OVERHEAD = 64 * 1024  # the parameters around the file


@bp.route("/projects/<int:case_id>/print-files/new", methods=["GET", "POST"])
@login_required
def new(case_id: int):
    session, case = db(), _project(case_id)
    if not print_files.may_add(session, current_user, case):
        abort(403)
    values, errors = {**dict.fromkeys(FIELDS, ""), "bleed_mm": "0"}, {}
    if request.method == "POST":
        values, upload, errors = _posted()
        if not errors:
            saved, errors = commit_or_errors(session, lambda: print_files.add(
                session, _settings(), case, values, upload, current_user))
            if not errors:
                flash(_("Received %(name)s.", name=saved.filename))
                return redirect(_card(case))
    return _form(case, None, values, errors), 422 if errors else 200


@bp.route("/print-files/<int:file_id>/replace", methods=["GET", "POST"])
@login_required
def replace(file_id: int):
    session, found = db(), _file(file_id)
    case = session.get(Case, found.case_id)
    if not print_files.may_add(session, current_user, case):
        abort(403)
    values = {k: "" if getattr(found, k) is None else str(getattr(found, k)) for k in FIELDS}
    errors = {}
    if request.method == "POST":
        values, upload, errors = _posted()
        if not errors:
            version = optional_int(request.form.get("version"))
            saved, errors = commit_or_errors(session, lambda: print_files.replace(
                session, _settings(), found, values, upload, current_user,
                version if isinstance(version, int) else None))
            if not errors:
                flash(_("Received %(name)s.", name=saved.filename))
                return redirect(_card(case))
    return _form(case, found, values, errors), 422 if errors else 200


@bp.post("/print-files/<int:file_id>/check")
@login_required
def check(file_id: int):
    session, found = db(), _file(file_id)
    version = optional_int(request.form.get("version"))
    if commit_or_flash(session, lambda: print_files.check(
            session, found, current_user, version if isinstance(version, int) else None)):
        flash(upper_first(_("%(what)s checked: %(name)s", what=term(
            "printing.print_file", case="acc"), name=found.filename)))
    return redirect(_card(session.get(Case, found.case_id)))


@bp.route("/print-files/<int:file_id>/reject", methods=["GET", "POST"])
@login_required
def reject(file_id: int):
    session, found = db(), _file(file_id)
    if not print_files.may_check(current_user):
        abort(403)
    case = session.get(Case, found.case_id)
    values, errors = {"reason": ""}, {}
    if request.method == "POST":
        values = {"reason": request.form.get("reason", "")}
        version = optional_int(request.form.get("version"))
        _saved, errors = commit_or_errors(session, lambda: print_files.reject(
            session, found, values, current_user, version if isinstance(version, int) else None))
        if not errors:
            flash(upper_first(_("%(what)s rejected: %(name)s", what=term(
                "printing.print_file", case="acc"), name=found.filename)))
            return redirect(_card(case))
    return render_template("printing/print_file_reject.html", case=case, file=found,
                           values=values, errors=errors, describe=print_files.describe,
                           status_name=print_files.status_name), 422 if errors else 200


def _posted() -> tuple[dict, tuple | None, dict]:
    """The parameters and the file as sent; a body over the upload limit is not read."""
    limit_mb = _settings().max_upload_mb
    request.max_content_length = limit_mb * 1024 * 1024 + MULTIPART_OVERHEAD
    try:
        sent = request.files.get("file")
        values = {k: request.form.get(k, "") for k in FIELDS}
    except RequestEntityTooLarge:
        return dict.fromkeys(FIELDS, ""), None, {
            "file": _("The file is larger than the limit of %(limit)s MB.", limit=limit_mb)}
    upload = (sent.filename, sent.stream, sent.mimetype) if sent and sent.filename else None
    return values, upload, {}


def _form(case: Case, found: PrintFile | None, values: dict, errors: dict):
    return render_template("printing/print_file_form.html", case=case, file=found,
                           values=values, errors=errors, profiles=print_files.PROFILES,
                           limit=_settings().max_upload_mb, status_name=print_files.status_name)


def _project(case_id: int) -> Case:
    found = print_files.project(db(), case_id, current_user)
    if found is None:
        abort(404)
    return found


def _file(file_id: int) -> PrintFile:
    found = print_files.get(db(), file_id, current_user)
    if found is None:
        abort(404)
    return found


def _card(case: Case) -> str:
    return url_for("cases.card", record_id=case.id, _anchor="print-files")


def _settings():
    return current_app.extensions["kartoteka"].settings


# --- The project's card --------------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On a print project's card: its print files, the upload form for whoever may
    change the project, check and reject for prepress."""
    if case.process_key != print_files.PROCESS:
        return None
    found = print_files.listed(session, case, viewer)
    ids = {i for f in found for i in (f.received_by_id, f.reviewed_by_id) if i is not None}
    names = {u.id: u.full_name or u.email for u in session.scalars(
        select(User).where(User.id.in_(ids)))} if ids else {}
    is_open = print_files.is_open(case)
    return render_template(
        "printing/_print_files_panel.html", case=case, files=found, names=names,
        may_add=is_open and print_files.may_add(session, viewer, case),
        may_check=is_open and print_files.may_check(viewer), profiles=print_files.PROFILES,
        describe=print_files.describe, status_name=print_files.status_name)

"""Privacy in the staff pages: a person's consents, access export and anonymisation,
and the administrators' register of processing purposes with the retention report."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import consents, privacy, records
from core.db import utcnow
from core.errors import ValidationError
from core.models import Person, ProcessingPurpose
from core.models.consent import LEGAL_BASES, SOURCES
from core.terms import term
from core.web.admin import admin_required
from core.web.db import db
from core.web.forms import lines, optional_int

bp = Blueprint("privacy", __name__)
PURPOSE_FIELDS = ("key", "name", "legal_basis", "description")


def init_app(app: Flask) -> None:
    """The pages, and ``consent_panel(person)`` for the person's card."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        consent_panel=consent_panel, consent_states=consents.STATE_LABELS,
        consent_sources=consents.SOURCE_LABELS, legal_bases=consents.LEGAL_BASIS_LABELS)


# --- The panel on the card ---------------------------------------------------------------

@dataclass
class Panel:
    states: list[consents.State]
    purposes: list[ProcessingPurpose]  # those a consent can be given to now


def consent_panel(person: Person) -> Panel:
    session = db()
    return Panel(list(consents.current(session, person).values()),
                 consents.purposes(session, active_only=True))


def _person(record_id: int, include_deleted: bool = False) -> Person:
    found = records.get(db(), Person, record_id, current_user, include_deleted)
    if found is None:
        abort(404)
    return found


def _card(person: Person) -> str:
    return url_for("people.card", record_id=person.id, _anchor="consents")


# --- Consents ------------------------------------------------------------------------------

@bp.route("/people/<int:record_id>/consents", methods=["GET", "POST"])
@login_required
def person_consents(record_id: int):
    """The person's consents and their history, and the form to give or withdraw one."""
    session, person = db(), _person(record_id)
    errors, values = {}, {"state": "given", "source": "staff"}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("state", "purpose", "source",
                                                       "evidence", "note")}
        try:
            consents.change(session, person, values["state"], values["purpose"],
                            values["source"], values["evidence"], current_user,
                            note=values["note"])
            session.commit()
            flash(_("Saved."))
            return redirect(_card(person))
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
    return render_template("core/privacy/consents.html", person=person, errors=errors,
                           values=values, panel=consent_panel(person),
                           history=consents.history(session, person),
                           sources=_sources())


# --- Access and erasure ---------------------------------------------------------------------

@bp.get("/people/<int:record_id>/data.zip")
@admin_required
def export(record_id: int):
    """Everything held about the person, as a ZIP (their right of access)."""
    session, person = db(), _person(record_id, include_deleted=True)
    data = privacy.access_export(session, person, current_user)
    session.commit()
    name = f"{term('core.person')}-{person.id}-{utcnow():%Y-%m-%d}.zip"
    return send_file(BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=name)


@bp.route("/people/<int:record_id>/anonymise", methods=["GET", "POST"])
@admin_required
def anonymise(record_id: int):
    """A page naming what will be erased; erasing needs the box ticked."""
    session, person, errors = db(), _person(record_id, include_deleted=True), {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = _("Tick the box to confirm that the data is to be erased.")
        else:
            try:
                privacy.anonymise(session, person, current_user)
                session.commit()
                flash(_("The personal data was erased."))
                return redirect(url_for("people.card", record_id=person.id))
            except ValidationError as exc:
                session.rollback()
                errors = exc.errors
    return render_template("core/privacy/anonymise.html", person=person, errors=errors,
                           plan=privacy.plan(session, person),
                           done=privacy.is_anonymised(session, person.id))


# --- The register and the retention report -----------------------------------------------------

@bp.get("/admin/privacy")
@admin_required
def admin_page():
    session = db()
    return render_template("core/privacy/admin.html", purposes=consents.purposes(session),
                           report=privacy.retention_report(session, current_user))


@bp.route("/admin/privacy/purposes/new", methods=["GET", "POST"])
@admin_required
def new_purpose():
    return _purpose_form(None)


@bp.route("/admin/privacy/purposes/<int:purpose_id>", methods=["GET", "POST"])
@admin_required
def edit_purpose(purpose_id: int):
    purpose = db().get(ProcessingPurpose, purpose_id)
    if purpose is None:
        abort(404)
    return _purpose_form(purpose)


def _purpose_form(purpose: ProcessingPurpose | None):
    session, errors = db(), {}
    values = _purpose_values(purpose)
    if request.method == "POST":
        values = {**{k: request.form.get(k, "") for k in PURPOSE_FIELDS},
                  "retention_days": request.form.get("retention_days", ""),
                  "data_categories": request.form.get("data_categories", ""),
                  "active": request.form.get("active") == "1"}
        data = {**values, "retention_days": optional_int(values["retention_days"]),
                "data_categories": lines("data_categories")}
        try:
            if purpose is None:
                consents.create_purpose(session, data, current_user)
            else:
                consents.update_purpose(session, purpose, data, current_user)
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("privacy.admin_page"))
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
    return render_template("core/privacy/purpose_form.html", purpose=purpose, values=values,
                           errors=errors, bases=[(b, consents.LEGAL_BASIS_LABELS[b])
                                                 for b in LEGAL_BASES])


def _purpose_values(purpose: ProcessingPurpose | None) -> dict:
    if purpose is None:
        return {"active": True}
    return {**{k: getattr(purpose, k) for k in PURPOSE_FIELDS},
            "retention_days": purpose.retention_days or "",
            "data_categories": "\n".join(purpose.data_categories or []),
            "active": purpose.active}


@bp.post("/admin/privacy/purposes/<int:purpose_id>/deactivate")
@admin_required
def deactivate_purpose(purpose_id: int):
    session = db()
    purpose = session.get(ProcessingPurpose, purpose_id)
    if purpose is None:
        abort(404)
    consents.deactivate_purpose(session, purpose, current_user)
    session.commit()
    flash(_("The purpose is no longer in use; the consents given to it are kept."))
    return redirect(url_for("privacy.admin_page"))


def _sources() -> list[tuple[str, str]]:
    return [(s, str(consents.SOURCE_LABELS[s])) for s in SOURCES]

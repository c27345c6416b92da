"""Public forms: the page anyone fills in (``/forms/<key>``, no login), its thank-you
page, and the administrators' pages that build the forms and list what was sent."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core import consents, fields, public_forms, users
from core.fieldtypes import choice_labels
from core.models import FormSubmission, Person, PublicForm, User
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, form_id, optional_int
from core.web.i18n import current_locale
from core.web.record_fields import input_of
from core.workflow import localised

bp = Blueprint("public_forms", __name__, url_prefix="/forms")
admin_bp = Blueprint("public_forms_admin", __name__, url_prefix="/admin/forms")
manage = permission_required(public_forms.MANAGE)


# --- The public side ----------------------------------------------------------------------

@bp.route("/<key>", methods=["GET", "POST"])
def fill(key: str):
    session = db()
    form = public_forms.by_key(session, key)
    if form is None:
        abort(404)
    values, errors = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            _submission, errors = commit_or_errors(session, lambda: public_forms.submit(
                session, form, values, request.remote_addr or ""))
        except public_forms.TooMany:
            session.rollback()
            return render_template("core/public_forms/fill.html", form=form, values=values,
                                   errors={}, inputs=_inputs(form), too_many=True), 429
        if not errors:
            return redirect(url_for("public_forms.thanks", key=key))
    return render_template("core/public_forms/fill.html", form=form, values=values,
                           errors=errors, inputs=_inputs(form), too_many=False)


@bp.get("/<key>/thanks")
def thanks(key: str):
    form = public_forms.by_key(db(), key)
    if form is None:
        abort(404)
    return render_template("core/public_forms/thanks.html", form=form)


def _inputs(form: PublicForm) -> list[dict]:
    """Each input of the form: its name, label, whether required, and how it is typed."""
    session = db()
    labels = public_forms.available_fields(session, form.process_key)
    found = []
    for item in form.fields:
        name = item["field"]
        definition = None
        for prefix, record_type in ((public_forms.CUSTOM, "person"), (public_forms.CASE, "case")):
            if name.startswith(prefix):
                definition = fields.definition(session, record_type, name.removeprefix(prefix))
        found.append({"name": name, "label": labels.get(name, name),
                      "required": item["required"], "type": _input_type(name, definition),
                      "choices": _choices(definition)})
    return found


def _input_type(name: str, definition) -> str:
    if definition is not None:
        return input_of(definition)
    return {"email": "email", "phone": "tel"}.get(name, "text")


def _choices(definition) -> list:
    if definition is None:
        return []
    return list(choice_labels(definition, current_locale()).items())


# --- Administration -----------------------------------------------------------------------

@admin_bp.get("/")
@manage
def index():
    session = db()
    counts = dict(session.execute(select(FormSubmission.form_id, func.count())
                                  .where(FormSubmission.outcome != "spam")
                                  .group_by(FormSubmission.form_id)).all())
    forms = public_forms.all_forms(session)
    closed = {f.id for f in forms if f.active and not public_forms.is_open(session, f)}
    return render_template("core/public_forms/admin.html", forms=forms, counts=counts,
                           closed=closed)


@admin_bp.route("/new", methods=["GET", "POST"])
@manage
def new():
    return _edit(None)


@admin_bp.route("/<int:form_id>", methods=["GET", "POST"])
@manage
def edit(form_id: int):
    return _edit(_form(form_id))


def _edit(form: PublicForm | None):
    session = db()
    values, errors = _stored(form), {}
    if request.method == "POST":
        values = _posted()
        saved, errors = commit_or_errors(session, lambda: (
            public_forms.create(session, values, current_user) if form is None
            else public_forms.update(session, form, values, current_user)))
        if not errors:
            flash(_("The form %(title)s was saved.", title=saved.title))
            return redirect(url_for("public_forms_admin.edit", form_id=saved.id))
    return render_template("core/public_forms/admin_form.html", form=form, values=values,
                           errors=errors, available=public_forms.available_fields(
                               session, values.get("process_key")),
                           purposes=consents.purposes(session, active_only=True),
                           staff=_staff(), processes=_processes())


@admin_bp.get("/<int:form_id>/submissions")
@manage
def submissions(form_id: int):
    session, form = db(), _form(form_id)
    found = public_forms.submissions(session, form)
    ids = {s.person_id for s in found if s.person_id}
    names = {p.id: p.full_name for p in session.scalars(select(Person).where(
        Person.id.in_(ids)))} if ids else {}
    return render_template("core/public_forms/submissions.html", form=form,
                           submissions=found, names=names,
                           labels=public_forms.available_fields(session, form.process_key))


def _form(form_id: int) -> PublicForm:
    found = db().get(PublicForm, form_id)
    if found is None:
        abort(404)
    return found


def _stored(form: PublicForm | None) -> dict:
    if form is None:
        return {"key": "", "title": "", "intro": "", "fields": [], "consent_text": "",
                "purpose_id": None, "process_key": None, "tags": [], "thank_you": "",
                "notify_user_ids": [], "active": True}
    return {name: getattr(form, name) for name in (
        "key", "title", "intro", "fields", "consent_text", "purpose_id", "process_key", "tags",
        "thank_you", "notify_user_ids", "active")}


def _posted() -> dict:
    """The settings as the administrator gave them: a field is on the form when its
    box is ticked, in the order of the list."""
    chosen = request.form.getlist("field")
    required = set(request.form.getlist("required"))
    return {"key": request.form.get("key", "").strip(),
            "title": request.form.get("title", ""), "intro": request.form.get("intro", ""),
            "fields": [{"field": name, "required": name in required} for name in chosen],
            "consent_text": request.form.get("consent_text", ""),
            "purpose_id": optional_int(request.form.get("purpose_id")),
            "process_key": request.form.get("process_key") or None,
            "tags": [t for t in request.form.get("tags", "").split(",") if t.strip()],
            "thank_you": request.form.get("thank_you", ""),
            "notify_user_ids": [i for i in map(form_id, request.form.getlist(
                "notify_user_ids")) if i is not None],
            "active": request.form.get("active") == "1"}


def _processes() -> list[tuple[str, str]]:
    """The processes whose case a form may open, by their names: not those a phase of
    another starts as its part (an installation's roof part is not asked for alone)."""
    host = current_app.extensions["kartoteka"].host
    parts = {key for p in host.processes.values() for phase in p.phases for key in phase.starts}
    return sorted(((key, localised(p.title)) for key, p in host.processes.items()
                   if key not in parts), key=lambda item: item[1])


def _staff() -> list[User]:
    return users.active_staff(db())


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)

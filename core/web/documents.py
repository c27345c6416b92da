"""Staff and administrators' pages of documents.

Administrators (``core.manage_templates``) keep the templates: the list, their own new
ones, and the editor, which saves each change as a new version, shows the text being
typed filled for a chosen record (before it is saved) in a sandboxed frame, lists the
history and takes an old version back. They also keep the number series. Staff make
documents on a record's card: a template chosen there is numbered, filled, drawn as
PDF and kept among the record's files (``documents.generate``); or, for many records at
once (a saved segment or pasted numbers), by a background job whose page shows its
progress (``documents.generate_many``).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import documents, numbering, records, segments, templating
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import DocumentTemplate, NumberSeries, TemplateVersion
from core.models.document import RESETS
from core.terms import term
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, form_id
from core.web.i18n import current_locale
from core.web.listing import users_by_id

bp = Blueprint("documents", __name__)
manage = permission_required("core.manage_templates")
RECENT = 20  # records offered to preview a template with
CARDS = {"organisation": "organisations.card", "person": "people.card", "case": "cases.card"}
TEXT_FIELDS = ("name_pl", "name_en", "series_key", "subject", "text_body", "body", "note")
# The preview is a document of its own in a sandboxed frame: no script, nothing fetched.
PREVIEW_HEAD = (
    '<!doctype html><meta charset="utf-8">'
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    "<style>body { font-family: 'DejaVu Sans', sans-serif; font-size: 10.5pt; "
    "line-height: 1.4; margin: 1rem; } table { border-collapse: collapse; width: 100%; } "
    "td, th { border: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; }</style>")


def _rt():
    return current_app.extensions["kartoteka"]


@bp.context_processor
def _helpers():
    return {"template_name": template_name, "kind_name": kind_name,
            "subject_name": subject_name, "reset_names": _reset_names()}


def template_name(template: DocumentTemplate) -> str:
    return template.name_en if current_locale() == "en" and template.name_en \
        else template.name_pl


def kind_name(template: DocumentTemplate) -> str:
    return _kind_label(template.kind, template.key)


def _kind_label(kind: str, key: str = "") -> str:
    locale = current_locale()
    if kind in documents.KINDS:
        return documents.KINDS[kind].get(locale) or documents.KINDS[kind]["en"]
    shipped = _rt().host.templates.get(key) if key else None
    titles = shipped.kind_title if shipped is not None else {}
    if not titles:  # an administrator's template of a kind a plugin brought
        titles = next((t.kind_title for t in _rt().host.templates.values()
                       if t.kind == kind and t.kind_title), {})
    return titles.get(locale) or titles.get("en") or kind


def subject_name(subject_type: str) -> str:
    return term(f"core.{subject_type}").capitalize() if subject_type in documents.SUBJECTS \
        else subject_type


def _reset_names() -> dict[str, str]:
    return {"yearly": _("every year"), "monthly": _("every month"), "never": _("never")}


def _template(template_id: int) -> DocumentTemplate:
    found = db().get(DocumentTemplate, template_id)
    if found is None:
        abort(404)
    return found


def _kind_options() -> list[tuple[str, str]]:
    kinds = dict.fromkeys(documents.KINDS)
    kinds.update(dict.fromkeys(t.kind for t in _rt().host.templates.values()))
    return [(k, _kind_label(k)) for k in kinds]


def _series_options(session) -> list[tuple[str, str]]:
    return [(s.key, f"{s.name} ({s.pattern})") for s in
            session.scalars(select(NumberSeries).order_by(NumberSeries.name))]


# --- The templates -------------------------------------------------------------------------

@bp.get("/admin/templates")
@manage
def templates():
    session = db()
    found = list(session.scalars(select(DocumentTemplate)))
    found.sort(key=lambda t: (t.subject_type, template_name(t).casefold()))
    versions = {v.id: v.number for v in session.scalars(
        select(TemplateVersion).where(TemplateVersion.id.in_(
            [t.current_version_id for t in found if t.current_version_id])))} if found else {}
    series = {s.key: s for s in session.scalars(select(NumberSeries))}
    return render_template("core/admin/templates.html", templates=found, versions=versions,
                           series=series)


@bp.route("/admin/templates/new", methods=["GET", "POST"])
@manage
def new_template():
    session, errors = db(), {}
    values = {"key": "local.", "kind": "letter", "subject_type": "case"}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in
                  ("key", "kind", "subject_type") + TEXT_FIELDS}
        created, errors = commit_or_errors(
            session, lambda: documents.create(session, values, current_user))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("documents.edit_template", template_id=created.id))
    return render_template("core/admin/templates_new.html", values=values, errors=errors,
                           kinds=_kind_options(), series_options=_series_options(session),
                           subjects=[(k, subject_name(k)) for k in documents.SUBJECTS])


@bp.route("/admin/templates/<int:template_id>", methods=["GET", "POST"])
@manage
def edit_template(template_id: int):
    session, template = db(), _template(template_id)
    current = documents.current_version(session, template)
    values = _stored_values(template, current)
    errors: dict = {}
    preview = None
    if request.method == "POST":
        values = {**values, **{name: request.form.get(name, "") for name in TEXT_FIELDS
                               if name in request.form}}
        if request.form.get("action") == "preview":
            preview, errors = _preview(session, template, values)
        elif _unchanged(template, current, values):
            flash(_("Nothing changed."))
            return redirect(url_for("documents.edit_template", template_id=template.id))
        else:
            version, errors = commit_or_errors(session, lambda: documents.save(
                session, template, _to_save(template, values), current_user))
            if not errors:
                flash(_("Saved as version %(n)d.", n=version.number))
                return redirect(url_for("documents.edit_template", template_id=template.id,
                                        record_id=request.form.get("record_id") or None))
    elif request.args.get("record_id"):
        preview, errors = _preview(session, template, values, request.args)
    return _editor(session, template, values, errors, preview)


@bp.post("/admin/templates/<int:template_id>/preview")
@manage
def preview_template(template_id: int):
    """The preview of the text being typed, for the editor's script."""
    session, template = db(), _template(template_id)
    values = {name: request.form.get(name, "") for name in ("body", "subject", "text_body")}
    shown, errors = _preview(session, template, values)
    return jsonify({"html": shown["html"] if shown else "",
                    "subject": shown["subject"] if shown else "",
                    "text": shown["text"] if shown else "",
                    "errors": errors})


@bp.post("/admin/templates/<int:template_id>/revert")
@manage
def revert_template(template_id: int):
    session, template = db(), _template(template_id)
    number = form_id(request.form.get("number"))
    try:
        version = documents.revert(session, template, number or 0, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    except Forbidden as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Version %(old)d is in use again, as version %(n)d.", old=number,
                n=version.number))
    return redirect(url_for("documents.edit_template", template_id=template.id))


@bp.get("/admin/templates/<int:template_id>/versions/<int:number>")
@manage
def template_version(template_id: int, number: int):
    session, template = db(), _template(template_id)
    version = session.scalar(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id, TemplateVersion.number == number))
    if version is None:
        abort(404)
    return render_template("core/admin/templates_version.html", template=template,
                           version=version, current=version.id == template.current_version_id,
                           users=users_by_id(session))


def _stored_values(template: DocumentTemplate, current: TemplateVersion | None) -> dict:
    return {"name_pl": template.name_pl, "name_en": template.name_en,
            "series_key": template.series_key or "",
            "subject": current.subject if current else "",
            "text_body": current.text_body if current else "",
            "body": current.body if current else "", "note": ""}


def _unchanged(template, current, values: dict) -> bool:
    stored = _stored_values(template, current)
    names = ["name_pl", "name_en", "series_key", "body"]
    if template.kind == "email":
        names += ["subject", "text_body"]
    return all(_same(values.get(n, ""), stored[n]) for n in names)


def _same(typed: str, stored: str) -> bool:
    """Browsers send a textarea's line ends as CRLF."""
    return typed.replace("\r\n", "\n").strip() == (stored or "").replace("\r\n", "\n").strip()


def _to_save(template: DocumentTemplate, values: dict) -> dict:
    data = {name: values.get(name, "") for name in ("name_pl", "name_en", "series_key", "body",
                                                    "note")}
    if template.kind == "email":
        data.update(subject=values.get("subject", ""), text_body=values.get("text_body", ""))
    return data


def _candidates(session, template: DocumentTemplate, chosen=None) -> list[tuple[int, str]]:
    """The records of the template's type the user may preview it with: the newest."""
    model = documents.SUBJECTS.get(template.subject_type)
    if model is None:
        return []
    found = list(session.scalars(records.visible(model, current_user)
                                 .order_by(model.id.desc()).limit(RECENT)))
    if chosen is not None and all(r.id != chosen.id for r in found):
        found.insert(0, chosen)
    return [(r.id, _record_label(r)) for r in found]


def _record_label(record) -> str:
    return getattr(record, "title", None) or getattr(record, "name", None) \
        or getattr(record, "full_name", "") or f"#{record.id}"


def _chosen_record(session, template: DocumentTemplate, source):
    """The record named by the form (the select, or a number typed), or an error."""
    model = documents.SUBJECTS.get(template.subject_type)
    record_id = form_id(source.get("other_id")) or form_id(source.get("record_id"))
    if source.get("other_id", "").strip() and form_id(source.get("other_id")) is None:
        return None, {"record_id": _("Enter the number of a record.")}
    if model is None or record_id is None:
        return None, {"record_id": _("Choose a record to fill the template with.")}
    record = records.get(session, model, record_id, current_user)
    if record is None:
        return None, {"record_id": _("There is no such record, or you may not see it.")}
    return record, {}


def _preview(session, template: DocumentTemplate, values: dict, source=None):
    """The typed text filled for the chosen record: ``({"html", "subject", "text"},
    errors)``, the errors keyed by field (with the template's line)."""
    record, errors = _chosen_record(session, template, source or request.form)
    if record is None:
        return None, errors
    rt = _rt()
    try:
        body = documents.preview(session, rt.host, template, record, current_user,
                                 rt.settings, body=values.get("body", ""))
        subject = text = ""
        if template.kind == "email":
            data = documents.context(session, rt.host, record, current_user, rt.settings,
                                     _("(number given on issue)") if template.series_key
                                     else "")
            problems = {}
            for name in ("subject", "text_body"):
                try:
                    shown = templating.render(values.get(name, ""), data, name, html=False)
                except templating.TemplateProblem as exc:
                    problems.update(exc.errors)
                else:
                    subject, text = (shown, text) if name == "subject" else (subject, shown)
            if problems:
                raise ValidationError(problems)
    except ValidationError as exc:
        return None, exc.errors
    except Forbidden as exc:
        return None, {"record_id": str(exc)}
    # A whole page for the frame's srcdoc: the page escapes it into the attribute.
    return {"html": PREVIEW_HEAD + body, "subject": subject, "text": text,
            "record_id": record.id}, {}


def _editor(session, template: DocumentTemplate, values: dict, errors: dict, preview):
    chosen = None
    wanted = form_id(request.values.get("other_id")) or form_id(request.values.get("record_id"))
    if preview is not None:
        wanted = preview["record_id"]
    model = documents.SUBJECTS.get(template.subject_type)
    if wanted is not None and model is not None:
        chosen = records.get(session, model, wanted, current_user)
    candidates = _candidates(session, template, chosen)
    return render_template(
        "core/admin/templates_edit.html", template=template, values=values, errors=errors,
        preview=preview, candidates=candidates,
        chosen_id=chosen.id if chosen is not None else (candidates[0][0] if candidates
                                                        else None),
        other_id=request.values.get("other_id", "") if chosen is None else "",
        series_options=_series_options(session), history=documents.history(session, template),
        users=users_by_id(session), hints=sorted(templating.variables(values.get("body", ""))))


# --- Number series --------------------------------------------------------------------------

@bp.route("/admin/number-series", methods=["GET", "POST"])
@manage
def series():
    return _series_page(None)


@bp.route("/admin/number-series/<key>", methods=["GET", "POST"])
@manage
def edit_series(key: str):
    found = db().get(NumberSeries, key)
    if found is None:
        abort(404)
    return _series_page(found)


def _series_page(editing: NumberSeries | None):
    session, errors = db(), {}
    values = {"key": editing.key, "name": editing.name, "pattern": editing.pattern,
              "reset": editing.reset} if editing else {"key": "", "name": "", "pattern": "",
                                                      "reset": "yearly"}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in
                  ("key", "name", "pattern", "reset")}
        if editing is not None:
            values["key"] = editing.key  # the key others refer to stays
        try:
            if editing is None and values["key"] and session.get(NumberSeries, values["key"]):
                raise ValidationError({"key": _("This key is taken."),
                                       **(numbering.check_pattern(values["pattern"],
                                                                  values["reset"])
                                          if values["reset"] in RESETS else {})})
            numbering.save_series(session, values["key"], values["name"], values["pattern"],
                                  values["reset"], current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Saved."))
            return redirect(url_for("documents.series"))
    now = utcnow()
    rows = []
    for s in session.scalars(select(NumberSeries).order_by(NumberSeries.key)):
        last = numbering.last_issued(session, s.key, numbering.period_of(s.reset, now))
        try:
            following = numbering.format_number(s.pattern, now, last + 1)
        except (ValueError, TypeError, KeyError, IndexError):
            following = ""
        rows.append((s, last, following))
    used = {}
    for t in session.scalars(select(DocumentTemplate).where(
            DocumentTemplate.series_key.is_not(None))):
        used.setdefault(t.series_key, []).append(t)
    return render_template("core/admin/number_series.html", rows=rows, values=values,
                           errors=errors, editing=editing, used=used, resets=RESETS)


# --- Documents on a record's card ---------------------------------------------------------

def card_section(session, record) -> dict:
    """What a record's card shows of documents: those made for it, and the templates
    a new one can be made with (``record_documents``, ``document_templates``)."""
    record_type = records.ref(record)[0]
    return {"record_documents": documents.for_record(session, record, current_user),
            "document_templates": [(t.id, template_name(t)) for t in documents.templates_for(
                session, record_type, current_app.extensions["kartoteka"].host, record)]}


@bp.post("/documents/generate")
@login_required
def generate():
    session = db()
    record_type = request.form.get("record_type", "")
    model = documents.SUBJECTS.get(record_type)
    record_id = form_id(request.form.get("record_id"))
    if model is None or record_id is None:
        abort(404)
    record = records.get(session, model, record_id, current_user)
    if record is None:
        abort(404)
    back = url_for(CARDS[record_type], record_id=record.id)
    template_id = form_id(request.form.get("template_id"))
    template = session.get(DocumentTemplate, template_id) if template_id else None
    if template is None or not template.active:
        flash(_("Choose a template from the list."), "error")
        return redirect(back)
    rt = _rt()
    try:
        document = documents.generate(session, rt.host, rt.settings, template, record,
                                      current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    except Forbidden as exc:
        session.rollback()
        flash(str(exc), "error")
    except IntegrityError:
        # The number is taken already (a series whose pattern was changed so that it
        # repeats one): say so rather than fail.
        session.rollback()
        flash(_("The number this document would get is taken already: check the patterns "
                "of the number series."), "error")
    else:
        flash(_("Document %(number)s generated.", number=document.number or document.title))
    return redirect(back)


@bp.route("/documents/generate-many/<record_type>", methods=["GET", "POST"])
@login_required
def generate_many(record_type: str):
    """Make a document from one template for many records (a saved segment, or the
    numbers pasted), as a background job whose page shows how far it has got."""
    session = db()
    if record_type not in documents.SUBJECTS:
        abort(404)
    offered = documents.templates_for(session, record_type, _rt().host)
    saved = segments.visible_segments(session, current_user, record_type)
    values = {"template_id": request.values.get("template_id", ""),
              "segment_id": request.values.get("segment_id", ""), "record_ids": ""}
    errors: dict = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in values}
        template_id = form_id(values["template_id"])
        template = next((t for t in offered if t.id == template_id), None)
        job, errors = commit_or_errors(session, lambda: documents.generate_many(
            session, template, record_type, record_ids=values["record_ids"].strip() or None,
            segment_id=(form_id(values["segment_id"]) or 0) if values["segment_id"] else None,
            actor=current_user))
        if not errors:
            return redirect(url_for("jobs.show", job_id=job.id))
        if "template" in errors or "record_type" in errors:
            errors["template_id"] = errors.pop("template", None) or errors.pop("record_type")
    return render_template(
        "core/documents/generate_many.html", record_type=record_type, values=values,
        errors=errors, templates=[(str(t.id), template_name(t)) for t in offered],
        segments=[(str(s.id), s.name) for s in saved], most=documents.MAX_RECORDS)

"""The complaints' staff pages (PR-8): on a project's card, its complaints with their
phase, outcome and cost, and the form that registers one once the project is delivered
or closed; on a complaint's card, who took part and whether the account manager,
customer service and production have commented.

A complaint is a case: its card, form, moves, documents and history are the core's,
and its participants comment with the history's notes. Registering goes through
``complaints.open_complaint``; a refusal is shown next to its field.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import cases, records, workflow
from core import fields as custom_fields
from core.models import Case
from core.terms import term, upper_first
from core.web import record_fields
from core.web.db import db
from core.web.forms import commit_or_errors
from core.web.i18n import current_locale
from plugins.printing import complaints
from plugins.printing.process import PROJECT

bp = Blueprint("printing_complaints", __name__, url_prefix="/printing/complaints",
               template_folder="templates")
# What is known when a complaint comes in; the outcome, remedy and cost come later, on
# the complaint's own form.
FORM_FIELDS = (complaints.PRODUCT, complaints.DEFECT)


def _host():
    return current_app.extensions["kartoteka"].host


def _project(project_id: int) -> Case:
    found = records.get(db(), Case, project_id, current_user)
    if found is None or found.process_key != PROJECT.key:
        abort(404)
    return found


def _inputs(session, typed: dict | None) -> list:
    """The inputs of the fields asked for when a complaint is registered, as the
    administrators label them."""
    groups = record_fields.form_groups(session, "case", None, typed,
                                       process_key=complaints.COMPLAINT)
    return [item for group in groups for item in group.items
            if item.definition.key in FORM_FIELDS]


def _form(session, project: Case, actor, values: dict, typed: dict | None, errors: dict
          ) -> dict:
    return {"project": project, "values": values, "errors": errors,
            "inputs": _inputs(session, typed), "default_title": complaints.default_title(project),
            "may_open": complaints.may_open_on(project) and cases.may_edit(
                session, project, actor), "rule": complaints.rule()}


@bp.route("/new/<int:project_id>", methods=["GET", "POST"])
@login_required
def register(project_id: int):
    """Register a complaint on a project: the project's card posts here, and a refused
    form is shown again on a page of its own."""
    session, project = db(), _project(project_id)
    values, typed, errors = {"title": ""}, None, {}
    if request.method == "POST":
        values = {"title": request.form.get("title", "")}
        typed = {k: v for k, v in record_fields.posted(session, "case", complaints.COMPLAINT)
                 .items() if k in FORM_FIELDS}
        complaint, errors = commit_or_errors(session, lambda: complaints.open_complaint(
            session, _host(), project, {**values, "custom": typed}, current_user))
        if not errors:
            flash(_("Registered: %(title)s.", title=complaint.title))
            return redirect(url_for("cases.card", record_id=complaint.id))
    heading = _("Register a %(what)s", what=term("printing.complaint", case="acc"))
    return render_template("printing/complaint_form.html", heading=heading,
                           **_form(session, project, current_user, values, typed, errors)), \
        422 if errors else 200


# --- The panels on the cards -----------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """A project's complaints, or a complaint's participants."""
    if case.process_key == PROJECT.key:
        return _project_panel(session, case, viewer)
    if case.process_key == complaints.COMPLAINT:
        return render_template("printing/_complaint_participants.html",
                               participation=complaints.participation(session, case))
    return None


def _project_panel(session, project: Case, viewer):
    found = complaints.of_project(session, project, viewer)
    if not found and not complaints.may_open_on(project):
        return None  # nothing to list, and nothing to register before the delivery
    locale = current_locale()
    shown = {d.key: d for d in custom_fields.shown(session, "case", viewer,
                                                   process_key=complaints.COMPLAINT)}

    def value(case: Case, key: str) -> str:
        return custom_fields.display(case, shown[key], locale) if key in shown else ""

    rows = [{"case": c, "phase": workflow.phase_name(complaints.COMPLAINT_PROCESS, c.phase_key),
             "outcome": value(c, complaints.OUTCOME), "cost": value(c, complaints.COST)}
            for c in found]
    labels = {name: shown[key].label(locale) if key in shown else ""
              for name, key in (("outcome", complaints.OUTCOME), ("cost", complaints.COST))}
    return render_template("printing/_complaints_panel.html", rows=rows, labels=labels,
                           title=upper_first(term("printing.complaint", plural=True)),
                           **_form(session, project, viewer, {"title": ""}, None, {}))

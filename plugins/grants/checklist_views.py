"""The checklist on a grant application's card (GR-3): the call it answers (a link to
the call's page) and its deadline, the progress ("3 of 5 ready"), and each required
attachment with the file that is ready. Whoever may change the application ticks an
item with one of the files attached to the application (uploaded through the card's
files), unticks it, adds an item the call does not name and removes such an item.

The forms post to /grants/applications/<case_id>/checklist/...; every change goes
through ``checklists``, which checks who may make it; a refusal is rolled back and its
messages flashed on the card.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core.models import Case, User
from core.terms import upper_first
from core.web.db import db
from core.web.forms import commit_or_flash, form_id
from plugins.grants import calls, checklists
from plugins.grants.call_views import deadline_note

bp = Blueprint("grants_checklists", __name__, url_prefix="/grants/applications",
               template_folder="templates")


@bp.post("/<int:case_id>/checklist/<int:item_id>/ready")
@login_required
def ready(case_id: int, item_id: int):
    session, case = db(), _application(case_id)
    attachment_id = form_id(request.form.get("attachment_id"))
    done = commit_or_flash(session, lambda: checklists.mark_ready(
        session, case, item_id, attachment_id, current_user))
    if done:
        flash(upper_first(_("Ready: %(name)s", name=done.name)))
    return _back(case)


@bp.post("/<int:case_id>/checklist/<int:item_id>/unready")
@login_required
def unready(case_id: int, item_id: int):
    session, case = db(), _application(case_id)
    done = commit_or_flash(session, lambda: checklists.unmark(
        session, case, item_id, current_user))
    if done:
        flash(upper_first(_("Not ready: %(name)s", name=done.name)))
    return _back(case)


@bp.post("/<int:case_id>/checklist")
@login_required
def add(case_id: int):
    session, case = db(), _application(case_id)
    done = commit_or_flash(session, lambda: checklists.add(
        session, case, request.form.get("name", ""), current_user))
    if done:
        flash(upper_first(_("Added to the checklist: %(name)s", name=done.name)))
    return _back(case)


@bp.post("/<int:case_id>/checklist/<int:item_id>/remove")
@login_required
def remove(case_id: int, item_id: int):
    session, case = db(), _application(case_id)

    def write() -> str:
        item = checklists.get(session, case, item_id, current_user)
        name = item.name if item is not None else ""
        checklists.remove(session, case, item_id, current_user)
        return name

    name = commit_or_flash(session, write)
    if name:
        flash(upper_first(_("Removed from the checklist: %(name)s", name=name)))
    return _back(case)


def _application(case_id: int) -> Case:
    found = checklists.application(db(), case_id, current_user)
    if found is None:
        abort(404)
    return found


def _back(case: Case):
    return redirect(url_for("cases.card", record_id=case.id, _anchor="checklist"))


# --- The application's card ----------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On a grant application's card: its call and the checklist of attachments."""
    if case.process_key != checklists.PROCESS:
        return None
    found = checklists.lines(session, case, viewer)
    call = calls.of_case(session, case)
    if call is None and not found:
        return None  # started without a call: nothing to show
    ids = {line.item.ready_by_id for line in found if line.item.ready_by_id}
    names = {u.id: u.full_name or u.email for u in session.scalars(
        select(User).where(User.id.in_(ids)))} if ids else {}
    ready, total = checklists.progress(found)
    return render_template(
        "grants/_checklist_panel.html", case=case, call=call, lines=found, names=names,
        ready=ready, total=total, files=checklists.files(session, case),
        may_change=checklists.may_change(session, case, viewer),
        note=deadline_note, call_status=calls.status)

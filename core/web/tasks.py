"""Staff pages for tasks: my list, adding one (also from a record's card), completing."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import records, tasks
from core.db import utcnow
from core.errors import ValidationError
from core.models import Task
from core.terms import term
from core.web.auth import safe_next
from core.web.db import db
from core.web.forms import form_id, local_datetime, optional_int
from core.web.search import CARDS

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/")
@login_required
def index():
    session, now = db(), utcnow()
    return render_template("core/tasks/list.html", now=now,
                           mine=tasks.my_tasks(session, current_user, now),
                           overdue=tasks.overdue(session, now, actor=current_user))


@bp.post("/new")
@login_required
def new():
    session, back = db(), safe_next(request.form.get("back") or request.referrer)
    about = _about(request.form.get("record_type", ""), request.form.get("record_id"))
    if about is None:
        flash(_("The record this %(what)s was for no longer exists.", what=term("core.task")),
              "error")
        return redirect(back)
    data = {"title": request.form.get("title", ""),
            "description": request.form.get("description", ""),
            "assignee_id": optional_int(request.form.get("assignee_id")) or current_user.id,
            "priority": optional_int(request.form.get("priority")) or 2,
            "due_at": local_datetime(request.form.get("due_at"))}
    try:
        tasks.create(session, data, about=about, actor=current_user)
        session.commit()
        flash(_("Added: %(what)s.", what=term("core.task")))
    except ValidationError as exc:
        session.rollback()
        for field, message in exc.errors.items():
            flash(f"{_field_label(field)}: {message}", "error")
    return redirect(back)


@bp.post("/<int:task_id>/<action>")
@login_required
def change(task_id: int, action: str):
    if action not in ("complete", "reopen", "cancel"):
        abort(404)
    session = db()
    task = records.get(session, Task, task_id, current_user)
    if task is None:
        abort(404)
    try:
        getattr(tasks, action)(session, task, actor=current_user,
                               expected_version=optional_int(request.form.get("version")))
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(safe_next(request.referrer or url_for("tasks.index")))


def _about(record_type: str, record_id) -> list | None:
    """The record a task is added from; None when it is not one the user can see."""
    if not record_type:
        return []
    model = records.record_types().get(record_type) if record_type in CARDS else None
    record = records.get(db(), model, form_id(str(record_id or "")) or 0, current_user) \
        if model is not None else None
    return [record] if record is not None else None


def _field_label(field: str) -> str:
    labels = {"title": _("Title"), "due_at": _("Due"), "assignee_id": _("Assignee"),
              "priority": _("Priority")}
    return labels.get(field, field)

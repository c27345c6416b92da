"""Staff pages for tasks: the list with its filters, adding one (also from a record's
card, for oneself or a colleague), completing.

A refused task goes back to the page it was added on: the messages are flashed, and the
form shows each next to its field with what was typed (kept in the session until the
form is shown again, see ``task_form``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import audit, records, tasks
from core.db import utcnow
from core.errors import ValidationError
from core.models import Task
from core.terms import term, term_adj, upper_first
from core.web.auth import safe_next
from core.web.db import db
from core.web.forms import form_id, local_datetime, optional_int
from core.web.listing import users_by_id
from core.web.search import CARDS

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


LIST_LIMIT = 200  # tasks the list shows at once
FORM_KEY = "kartoteka_task_form"  # the session's refused add-a-task form


@bp.get("/")
@login_required
def index():
    """The tasks the chosen filters give (mine and open by default), each with the
    records it is about, beside the overdue ones."""
    dbs, now = db(), utcnow()
    scope = _choice("scope", tasks.SCOPES, "mine")
    status = _choice("status", tasks.STATES, "open")
    due = _choice("due", tasks.DUE, "")
    found = tasks.listed(dbs, current_user, scope, status, due, now, limit=LIST_LIMIT + 1)
    overdue = tasks.overdue(dbs, now, actor=current_user)
    shown = found[:LIST_LIMIT]
    return render_template(
        "core/tasks/list.html", now=now, tasks=shown, more=len(found) > LIST_LIMIT,
        overdue=overdue, scope=scope, status=status, due=due, scopes=_scope_labels(),
        about=_about_links(dbs, shown + overdue),
        assignees=users_by_id(dbs) if scope != "mine" else {})


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    """A filter's value from the query string; anything else is its default."""
    value = request.args.get(name, default)
    return value if value in allowed else default


def _scope_labels() -> dict[str, str]:
    """What each choice of whose tasks is called (the list's heading too)."""
    plural = term("core.task", plural=True)
    return {
        "mine": upper_first(f"{term_adj('core.task', _('my'), plural=True)} {plural}"),
        "delegated": upper_first(f"{plural} "
                                 f"{term_adj('core.task', _('assigned by me to others'), True)}"),
        "teams": upper_first(_("%(what)s of my teams", what=plural)),
        "all": upper_first(f"{plural} {term_adj('core.task', _('visible to me'), True)}"),
    }


def _about_links(dbs, found: list[Task]) -> dict[int, list[tuple[str, str]]]:
    """Each task's records the user may see, as (name, link to its card)."""
    return {task_id: [(audit.label_of(r) or f"#{r.id}",
                       url_for(CARDS[r.record_type], record_id=r.id))
                      for r in about if r.record_type in CARDS]
            for task_id, about in tasks.records_of(dbs, found, current_user).items()}


@bp.post("/new")
@login_required
def new():
    dbs, back = db(), safe_next(request.form.get("back") or request.referrer)
    record_type, record_id = request.form.get("record_type", ""), request.form.get("record_id")
    about = _about(record_type, record_id)
    if about is None:
        flash(_("The record this %(what)s was for no longer exists.", what=term("core.task")),
              "error")
        return redirect(back)
    assignee = optional_int(request.form.get("assignee_id"))
    data = {"title": request.form.get("title", ""),
            "description": request.form.get("description", ""),
            "assignee_id": current_user.id if assignee is None else assignee,
            "priority": optional_int(request.form.get("priority")) or 2,
            "due_at": local_datetime(request.form.get("due_at"))}
    try:
        tasks.create(dbs, data, about=about, actor=current_user)
        dbs.commit()
        flash(_("Added: %(what)s.", what=term("core.task")))
    except ValidationError as exc:
        dbs.rollback()
        for field, message in exc.errors.items():
            flash(f"{_field_label(field)}: {message}", "error")
        session[FORM_KEY] = {
            "for": _form_for(record_type, record_id),
            "errors": {k: str(v) for k, v in exc.errors.items()},
            "typed": {k: request.form.get(k, "")[:1000]
                      for k in ("title", "assignee_id", "priority", "due_at")}}
    return redirect(back)


def _form_for(record_type: str, record_id) -> str:
    return f"{record_type}:{record_id or ''}"


@bp.app_template_global()
def task_form(record_type: str = "", record_id="") -> dict:
    """The add-a-task form's state for the record it is shown on: the colleagues it can
    be given to, and a refused attempt's errors and values (shown once)."""
    state = {"errors": {}, "typed": {}}
    kept = session.pop(FORM_KEY, None) if FORM_KEY in session else None
    if kept and kept.get("for") == _form_for(record_type, record_id):
        state = kept  # else it was another form's, left behind: dropped, never shown late
    assignees = [(str(u.id), u.full_name or u.email)
                 for u in tasks.assignable(db(), current_user)]
    chosen = state["typed"].get("assignee_id", "")
    if chosen not in {key for key, _name in assignees}:
        chosen = str(current_user.id)
    return {**state, "chosen": chosen, "assignees": assignees}


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

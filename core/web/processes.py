"""Administrators' pages of processes: the list, and each process's settings (limits,
deadlines, optional checks) with a diagram drawn from its definition."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from core import diagram, workflow
from core.errors import ValidationError
from core.web.admin import permission_required
from core.web.db import db
from core.web.i18n import current_locale

bp = Blueprint("processes", __name__, url_prefix="/admin/processes")
manage = permission_required("core.manage_processes")
UNITS = {"money": "PLN", "percent": "%", "days": None, "flag": None}


def _host():
    return current_app.extensions["kartoteka"].host


def _process(key: str) -> workflow.Process:
    found = _host().processes.get(key)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@manage
def index():
    session, locale = db(), current_locale()
    rows = [(p, workflow.localised(p.title, locale) if p.title else p.key,
             workflow.counts_by_phase(session, p))
            for p in _host().processes.values()]
    return render_template("core/admin/processes.html", rows=rows)


@bp.route("/<key>", methods=["GET", "POST"])
@manage
def edit(key: str):
    session, process, locale = db(), _process(key), current_locale()
    values = workflow.settings(session, process)
    shown = {k: _shown(v) for k, v in values.items()}
    errors: dict = {}
    if request.method == "POST":
        posted = {s.key: request.form.getlist(s.key)[-1] for s in process.all_settings()
                  if s.key in request.form}
        try:
            changes = workflow.change_settings(session, process, posted, current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
            shown.update(posted)  # what the administrator typed stays in the form
        else:
            flash(_("Saved: %(n)d changed.", n=len(changes)) if changes
                  else _("Nothing changed."))
            return redirect(url_for("processes.edit", key=key))
    settings = [(s, _label(process, s, locale), UNITS.get(s.kind)) for s in
                process.all_settings()]
    picture = diagram.svg(process, locale, values=values, processes=_host().processes,
                          permissions=_host().permissions)
    return render_template("core/admin/processes_edit.html", process=process,
                           title=workflow.localised(process.title, locale) if process.title
                           else process.key,
                           settings=settings, shown=shown, errors=errors,
                           diagram=Markup(picture))  # noqa: S704 - every text is escaped


def _label(process: workflow.Process, setting: workflow.Setting, locale: str) -> str:
    """A setting's title; a deadline names its phase, a switch its check."""
    title = workflow.localised(setting.title, locale)
    if setting.key.startswith("deadline."):
        phase = workflow.phase_name(process, setting.key.removeprefix("deadline."))
        return f"{title}: {phase}"
    if setting.key.startswith("check."):
        return _("Check “%(check)s” is required", check=title)
    return title


def _shown(value) -> str:
    """A setting's value as the form shows it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)

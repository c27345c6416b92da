"""The installer's staff pages for realisation (PV-4, PV-5): the crews with their
installers and calendar links, the installation schedule (a week of every crew's jobs,
and the parts still waiting for a crew), giving a part to a crew, and the report form
an installer with an account uses on their phone.

Crews and the schedule need ``photovoltaics.plan_crews`` (403 otherwise). Every change
goes through ``crews`` and ``assignments``; a refusal is rolled back and shown next to
its field.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core import approvals, cases, permissions, records, users
from core import fields as custom_fields
from core.fieldtypes import choice_labels
from core.filters import today
from core.menu import MenuItem
from core.models import Case, Organisation
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int
from core.web.i18n import current_locale
from plugins.photovoltaics import assignments, crews, reports
from plugins.photovoltaics.models import Assignment, Crew, CrewMember
from plugins.photovoltaics.organisation_types import SUBCONTRACTOR
from plugins.photovoltaics.site import site_of

bp = Blueprint("photovoltaics", __name__, url_prefix="/photovoltaics",
               template_folder="templates")
MENU = [
    MenuItem("photovoltaics.schedule", permission=crews.PLAN,
             label={"pl": "Harmonogram montaży", "en": "Installation schedule"},
             section=("photovoltaics.schedule", "photovoltaics.assign")),
    MenuItem("photovoltaics.crews", term="photovoltaics.crew", permission=crews.PLAN,
             section=("photovoltaics.crews", "photovoltaics.crew", "photovoltaics.new_crew",
                      "photovoltaics.edit_crew")),
    MenuItem("photovoltaics.reports", permission=reports.REPORTS,
             label={"pl": "Fotowoltaika: raporty", "en": "Photovoltaics: reports"}),
    MenuItem("photovoltaics.my_jobs", permission=assignments.REPORT,
             label={"pl": "Moje montaże", "en": "My jobs"},
             section=("photovoltaics.my_jobs", "photovoltaics.report")),
]
CREW_FIELDS = ("name", "subcontractor_id", "phone", "base_town", "notes")
BLANK_MEMBERS = 3  # empty rows under a crew's installers, for adding new ones
CHOICES_LIMIT = 500
plan = permission_required(crews.PLAN)


# --- Crews ---------------------------------------------------------------------------------

@bp.get("/crews/", endpoint="crews")
@plan
def crews_page():
    retired = request.args.get("retired") == "1"
    return render_template("photovoltaics/crews.html", retired=retired,
                           crews=crews.listed(db(), with_retired=retired),
                           firms=_firm_names(db()), skill=crews.skill_name)


@bp.get("/crews/<int:crew_id>", endpoint="crew")
@plan
def crew_page(crew_id: int):
    session, crew = db(), _crew(crew_id)
    jobs = assignments.of_crew(session, crew, since=today() - timedelta(days=30))
    return render_template("photovoltaics/crew.html", crew=crew, firms=_firm_names(session),
                           jobs=job_rows(session, jobs), skill=crews.skill_name,
                           feed=url_for("photovoltaics_crew.feed", token=crew.feed_token,
                                        _external=True),
                           page=url_for("photovoltaics_crew.jobs", token=crew.feed_token,
                                        _external=True))


@bp.route("/crews/new", methods=["GET", "POST"])
@plan
def new_crew():
    return _crew_form(None)


@bp.route("/crews/<int:crew_id>/edit", methods=["GET", "POST"])
@plan
def edit_crew(crew_id: int):
    return _crew_form(_crew(crew_id))


@bp.post("/crews/<int:crew_id>/token")
@plan
def rotate_token(crew_id: int):
    session, crew = db(), _crew(crew_id)
    if commit_or_flash(session, lambda: crews.rotate_token(session, crew, current_user)):
        flash(_("The crew's links are new; the old ones no longer work. Send the crew "
                "the new calendar link."))
    return redirect(url_for("photovoltaics.crew", crew_id=crew.id))


@bp.post("/crews/<int:crew_id>/active")
@plan
def set_active(crew_id: int):
    session, crew = db(), _crew(crew_id)
    active = request.form.get("active") == "1"
    version = optional_int(request.form.get("version"))
    if commit_or_flash(session, lambda: crews.update(session, crew, {"active": active},
                                                     current_user, version)):
        flash(_("The crew is planned again.") if active else
              _("The crew is retired: it is no longer offered when jobs are planned."))
    return redirect(url_for("photovoltaics.crew", crew_id=crew.id))


def _crew_form(crew: Crew | None):
    session, errors = db(), {}
    values, members = _crew_values(crew)
    if request.method == "POST":
        values, members = _posted_crew(), _posted_members()
        data = {**values, "subcontractor_id": optional_int(values["subcontractor_id"]),
                "members": [_member_data(m) for m in members if _filled(m)]}
        version = optional_int(request.form.get("version"))
        saved, errors = commit_or_errors(session, lambda: crews.create(
            session, data, current_user) if crew is None else crews.update(
            session, crew, data, current_user, version))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("photovoltaics.crew", crew_id=saved.id))
        errors = _member_errors(errors, members)
    members = members + [{"name": "", "user_id": "", "phone": "", "skills": [], "leader": False}
                         for _n in range(BLANK_MEMBERS)]
    return render_template("photovoltaics/crew_form.html", crew=crew, values=values,
                           members=members, errors=errors, skills=crews.SKILLS,
                           skill=crews.skill_name, firms=_firm_options(db()),
                           staff=_staff_options(db()))


def _crew_values(crew: Crew | None) -> tuple[dict, list[dict]]:
    if crew is None:
        return dict.fromkeys(CREW_FIELDS, ""), []
    values = {k: "" if getattr(crew, k) is None else str(getattr(crew, k)) for k in CREW_FIELDS}
    members = [{"name": m.name, "user_id": str(m.user_id or ""), "phone": m.phone,
                "skills": list(m.skills or ()), "leader": m.leader} for m in crew.members]
    return values, members


def _posted_crew() -> dict:
    return {k: request.form.get(k, "") for k in CREW_FIELDS}


def _posted_members() -> list[dict]:
    """The rows of the installers' table as typed, blank rows included (they are dropped
    before saving, and numbered again so that errors point at the right row)."""
    given = optional_int(request.form.get("member_rows"))
    count = min(given, crews.MAX_MEMBERS + BLANK_MEMBERS) if isinstance(given, int) else 0
    leader = request.form.get("leader", "")
    return [{"name": request.form.get(f"members-{n}-name", ""),
             "user_id": request.form.get(f"members-{n}-user_id", ""),
             "phone": request.form.get(f"members-{n}-phone", ""),
             "skills": request.form.getlist(f"members-{n}-skills"),
             "leader": leader == str(n)} for n in range(count)]


def _filled(row: dict) -> bool:
    return bool(row["name"].strip() or row["user_id"].strip())


def _member_data(row: dict) -> dict:
    return {**row, "user_id": optional_int(row["user_id"])}


def _member_errors(errors: dict, rows: list[dict]) -> dict:
    """Errors of the n-th saved installer belong to the n-th filled row of the table."""
    filled = [n for n, row in enumerate(rows) if _filled(row)]
    moved = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "members" and len(parts) == 3 and parts[1].isdigit() \
                and int(parts[1]) < len(filled):
            key = f"members.{filled[int(parts[1])]}.{parts[2]}"
        moved[key] = message
    return moved


def _crew(crew_id: int) -> Crew:
    found = crews.get(db(), crew_id)
    if found is None:
        abort(404)
    return found


def _firm_options(session) -> list[tuple[str, str]]:
    query = records.visible(Organisation, current_user).where(
        Organisation.type_key.in_((SUBCONTRACTOR, "core.company"))).order_by(
        Organisation.name_key)
    return [(str(o.id), o.name) for o in session.scalars(query.limit(CHOICES_LIMIT))]


def _firm_names(session) -> dict[int, str]:
    ids = select(Crew.subcontractor_id).where(Crew.subcontractor_id.is_not(None))
    return {row.id: row.name for row in session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))}


def _staff_options(session) -> list[tuple[str, str]]:
    return [(str(u.id), u.full_name or u.email) for u in users.active_staff(session)]


# --- The schedule --------------------------------------------------------------------------

@bp.get("/schedule")
@plan
def schedule():
    """A week of every crew's jobs, Monday to Sunday, and the parts waiting for a crew."""
    session = db()
    monday = _monday(request.args.get("week"))
    days = [monday + timedelta(days=n) for n in range(7)]
    jobs = assignments.between(session, days[0], days[-1])
    grid = {(job.crew_id, day): [] for job in jobs for day in days}
    for row in job_rows(session, jobs):
        for day in assignments.days_of(row["job"]):
            if (row["job"].crew_id, day) in grid:
                grid[(row["job"].crew_id, day)].append(row)
    return render_template("photovoltaics/schedule.html", days=days, grid=grid,
                           crews=crews.listed(session), today=today(),
                           previous=days[0] - timedelta(days=7), next=days[0] + timedelta(days=7),
                           waiting=_waiting(session))


def _monday(given: str | None) -> date:
    try:
        day = date.fromisoformat(given or "")
    except ValueError:
        day = today()
    return day - timedelta(days=day.weekday())


def _waiting(session) -> list[dict]:
    host = _host()
    return [{"part": part, "name": assignments.part_name(host, part),
             "site": site_of(session, part),
             "parent": session.get(Case, part.parent_id) if part.parent_id else None}
            for part in assignments.waiting(session, current_user)]


def job_rows(session, jobs: list[Assignment]) -> list[dict]:
    host = _host()
    rows = []
    for job in jobs:
        part = session.get(Case, job.case_id)
        rows.append({"job": job, "part": part, "name": assignments.part_name(host, part),
                     "site": site_of(session, part), "crew": job.crew})
    return rows


@bp.route("/parts/<int:case_id>/crew", methods=["GET", "POST"], endpoint="assign")
@plan
def assign(case_id: int):
    session, part = db(), _part(case_id)
    job = assignments.of_part(session, part)
    values = _job_values(job)
    errors = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("crew_id", "starts_on", "ends_on", "notes")}
        data = {**values, "crew_id": optional_int(values["crew_id"]),
                "ends_on": values["ends_on"] or None}
        _saved, errors = commit_or_errors(session, lambda: assignments.assign(
            session, _host(), part, data, current_user))
        if not errors:
            flash(_("Given to the crew; it is in the crew's calendar."))
            return redirect(url_for("photovoltaics.schedule", week=values["starts_on"]))
    return render_template("photovoltaics/assign.html", part=part, job=job, values=values,
                           errors=errors, name=assignments.part_name(_host(), part),
                           site=site_of(session, part), options=_crew_options(session, part))


@bp.post("/parts/<int:case_id>/crew/remove")
@plan
def unassign(case_id: int):
    session, part = db(), _part(case_id)
    job = assignments.of_part(session, part)
    if job is not None and commit_or_flash(
            session, lambda: assignments.unassign(session, job, current_user)):
        flash(_("Taken off the crew."))
    return redirect(url_for("photovoltaics.assign", case_id=part.id))


def _job_values(job: Assignment | None) -> dict:
    if job is None:
        return {"crew_id": "", "starts_on": "", "ends_on": "", "notes": ""}
    return {"crew_id": str(job.crew_id), "starts_on": job.starts_on.isoformat(),
            "ends_on": job.ends_on.isoformat(), "notes": job.notes}


def _crew_options(session, part: Case) -> list[tuple[str, str]]:
    """Active crews able to do the part; the others are named as not qualified."""
    return [(str(c.id), c.name if crews.qualified(c, part.process_key) else
             _("%(crew)s (not qualified)", crew=c.name)) for c in crews.listed(session)]


def _part(case_id: int) -> Case:
    part = records.get(db(), Case, case_id, current_user)
    if part is None or part.process_key not in crews.NEEDED:
        abort(404)
    return part


# --- Reports -------------------------------------------------------------------------------

@bp.get("/reports", endpoint="reports")
@permission_required(reports.REPORTS)
def reports_page():
    session, day = db(), today()
    first = _day(request.args.get("from")) or day.replace(month=1, day=1)
    last = _day(request.args.get("to")) or day
    return render_template("photovoltaics/reports.html", first=first, last=last,
                           pipeline=reports.pipeline(session, current_user),
                           crews=reports.by_crew(session, day),
                           conversion=reports.conversion(session, current_user, first, last),
                           sources=_source_names(session), money=approvals.money,
                           percent=approvals.percent)


def _day(given: str | None) -> date | None:
    try:
        return date.fromisoformat(given or "")
    except ValueError:
        return None


def _source_names(session) -> dict[str, str]:
    definition = custom_fields.definition(session, "case", "photovoltaics_source")
    return dict(choice_labels(definition, current_locale())) if definition else {}


# --- Installers with accounts --------------------------------------------------------------

@bp.get("/jobs/mine")
@login_required
def my_jobs():
    session = db()
    mine = select(CrewMember.crew_id).where(CrewMember.user_id == current_user.id)
    jobs = session.scalars(select(Assignment).where(
        Assignment.crew_id.in_(mine), Assignment.ends_on >= today() - timedelta(days=7))
        .order_by(Assignment.starts_on, Assignment.id))
    return render_template("photovoltaics/jobs.html", rows=job_rows(session, list(jobs)),
                           report=lambda job: url_for("photovoltaics.report", job_id=job.id),
                           crew=None)


@bp.route("/jobs/<int:job_id>/report", methods=["GET", "POST"])
@login_required
def report(job_id: int):
    session = db()
    job = session.get(Assignment, job_id)
    if job is None:
        abort(404)
    if not assignments.may_report(session, current_user, job):
        abort(403)
    return report_form(session, job, current_user, url_for("photovoltaics.my_jobs"))


def report_form(session, job: Assignment, actor, back: str, refused: dict | None = None):
    """The phone-sized form: what was done, the photos; shared with the crew's link.
    ``refused``: the errors of a sending that could not even be read (too large)."""
    part = session.get(Case, job.case_id)
    values, errors = {"reported_by": "", "report": ""}, refused or {}
    if request.method == "POST" and refused is None:
        values = {k: request.form.get(k, "") for k in values}
        photos = [(f.filename, f.stream, f.mimetype) for f in request.files.getlist("photos")
                  if f.filename]
        _saved, errors = commit_or_errors(session, lambda: assignments.report(
            session, _host(), current_app.extensions["kartoteka"].settings, job, values,
            photos, actor))
        if not errors:
            flash(_("Thank you: the job is reported done."))
            return redirect(back)
    limit = current_app.extensions["kartoteka"].settings.max_upload_mb
    return render_template("photovoltaics/report.html", job=job, part=part, values=values,
                           errors=errors, name=assignments.part_name(_host(), part),
                           site=site_of(session, part), anonymous=actor is None, back=back,
                           done=cases.is_finished(_host(), part), limit=limit)


def _host():
    return current_app.extensions["kartoteka"].host


# --- The case card -------------------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On a part's card: its crew and days; on an installation's: both parts' crews."""
    if not permissions.can(viewer, crews.PLAN) or case.process_key not in (
            *crews.NEEDED, "photovoltaics.installation"):
        return None
    parts = [case] if case.process_key in crews.NEEDED else [
        c for c in cases.children(session, case, viewer) if c.process_key in crews.NEEDED]
    if not parts:
        return None
    host = _host()
    rows = [{"part": p, "name": assignments.part_name(host, p),
             "job": assignments.of_part(session, p)} for p in parts]
    return render_template("photovoltaics/_case_panel.html", rows=rows)

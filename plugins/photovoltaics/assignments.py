"""The crews' jobs (PV-4): a part of an installation, the roof or the electrical one,
given to a crew for some days, and reported done by its installers.

Assigning a part puts it in the crew's calendar feed and, as an all-day event, in the
calendars of the crew's members who have accounts (``job_events``). A crew is not given
two jobs on the same days, except the two parts of one installation. The report moves
the part to "done" with the installers' photos attached; when both parts are done the
installation goes on to the final payment by itself (``process.INSTALLATION``).
"""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import attachments, audit, calendar, cases, permissions, records, timeline, workflow
from core.db import utcnow
from core.errors import ValidationError
from core.filters import today
from core.models import Case
from core.validation import load_collecting, max_length
from core.workflow import localised
from plugins.photovoltaics import crews, job_events
from plugins.photovoltaics.models import Assignment, Crew

REPORT = "photovoltaics.report_work"
MAX_DAYS = 31  # a job longer than a month is a planning mistake
MAX_PHOTOS = 10  # a phone's photos of one roof; more would not fit one request
PHOTO_TYPES = ("jpg", "jpeg", "png", "webp")  # what a phone's camera and gallery give


class AssignmentSchema(Schema):
    crew_id = fields.Integer(required=True, strict=False,
                             error_messages={"required": _l("Choose a crew."),
                                             "invalid": _l("Choose a crew.")})
    starts_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the first day."), "invalid": _l("Enter a date, such as 2026-05-14.")})
    ends_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The last day; null: the first day only."},
        error_messages={"invalid": _l("Enter a date, such as 2026-05-14.")})
    notes = fields.String(load_default="", validate=max_length(5000))


class ReportSchema(Schema):
    reported_by = fields.String(load_default="", validate=max_length(200))
    report = fields.String(load_default="", validate=max_length(5000))


def of_part(session: Session, part: Case) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.case_id == part.id))


def of_crew(session: Session, crew: Crew, since: date | None = None) -> list[Assignment]:
    query = select(Assignment).where(Assignment.crew_id == crew.id)
    if since is not None:
        query = query.where(Assignment.ends_on >= since)
    return list(session.scalars(query.order_by(Assignment.starts_on, Assignment.id)))


def between(session: Session, first: date, last: date) -> list[Assignment]:
    """Every crew's jobs on some day from ``first`` to ``last``, by day."""
    return list(session.scalars(select(Assignment).where(
        Assignment.starts_on <= last, Assignment.ends_on >= first).order_by(
        Assignment.starts_on, Assignment.crew_id, Assignment.id)))


def waiting(session: Session, actor=None) -> list[Case]:
    """Parts of installations ``actor`` may see not given to any crew yet, oldest first."""
    given = select(Assignment.case_id)
    return list(session.scalars(records.visible(Case, actor).where(
        Case.process_key.in_(crews.NEEDED), Case.phase_key != "done",
        Case.id.not_in(given)).order_by(Case.created_at, Case.id)))


# --- Assigning -----------------------------------------------------------------------------

def assign(session: Session, host, part: Case, data: dict, actor=None) -> Assignment:
    """Give ``part`` to a crew for some days, or move it to another crew or days."""
    crews.require(actor)
    values, crew = _clean(session, host, part, data)
    found = of_part(session, part)
    if found is None:
        found = records.create(session, Assignment(case_id=part.id, **values), actor)
    else:
        records.update(session, found, values, actor)
    found.crew = crew
    job_events.put(session, part, found, crew, actor)
    timeline.record_event(session, "photovoltaics.assigned", job_events.about(session, part),
                          _said(part, found, crew), actor)
    return found


def unassign(session: Session, assignment: Assignment, actor=None) -> None:
    """Take the job off the crew: out of its feed and its members' calendars."""
    crews.require(actor)
    if assignment.reported_at is not None:
        raise ValidationError({"crew_id": _("The job was reported done; it stays.")})
    part = session.get(Case, assignment.case_id)
    job_events.cancel(session, assignment)
    records.delete(session, assignment, actor)
    timeline.record_event(session, "photovoltaics.unassigned", job_events.about(session, part),
                          _("Taken off the crew: %(part)s", part=part.title), actor)


def _clean(session: Session, host, part: Case, data: dict) -> tuple[dict, Crew]:
    values, errors = load_collecting(AssignmentSchema(), data)
    if part.process_key not in crews.NEEDED or part.deleted_at is not None:
        raise ValidationError({"case_id": _("Only a part of an installation is given to a crew.")})
    if cases.is_finished(host, part):
        errors["case_id"] = _("This part is done already.")
    crew = crews.get(session, values.get("crew_id"))
    if "crew_id" in values and (crew is None or not crew.active):
        errors["crew_id"] = _("Choose a crew from the list.")
    elif crew is not None and not crews.qualified(crew, part.process_key):
        errors["crew_id"] = _("No installer of this crew has the skill this part needs: "
                              "%(skill)s.", skill=crews.skill_name(crews.NEEDED[part.process_key]))
    _check_days(values, errors)
    if crew is not None and not errors:
        _check_free(session, part, crew, values, errors)
    if errors:
        raise ValidationError(errors)
    values["notes"] = values.get("notes", "").strip()
    return values, crew


def _check_days(values: dict, errors: dict) -> None:
    first = values.get("starts_on")
    if first is None:
        return
    last = values.get("ends_on") or first
    values["ends_on"] = last
    if not calendar.YEARS[0] <= first.year <= calendar.YEARS[1]:
        errors["starts_on"] = _("Give a year from %(first)d to %(last)d.",
                                first=calendar.YEARS[0], last=calendar.YEARS[1])
    elif last < first:
        errors["ends_on"] = _("The last day cannot come before the first.")
    elif (last - first).days >= MAX_DAYS:
        errors["ends_on"] = _("A job takes at most %(n)d days; split a longer one.", n=MAX_DAYS)


def _check_free(session: Session, part: Case, crew: Crew, values: dict, errors: dict) -> None:
    """The crew is not on another installation's job on these days."""
    query = select(Case).join(Assignment, Assignment.case_id == Case.id).where(
        Assignment.crew_id == crew.id, Assignment.case_id != part.id,
        Assignment.reported_at.is_(None), Case.deleted_at.is_(None),
        Assignment.starts_on <= values["ends_on"], Assignment.ends_on >= values["starts_on"])
    if part.parent_id is not None:
        query = query.where(or_(Case.parent_id.is_(None), Case.parent_id != part.parent_id))
    other = session.scalar(query.limit(1))
    if other is not None:
        errors["starts_on"] = _("%(crew)s is on another job on these days: %(job)s.",
                                crew=crew.name, job=other.title)


def _said(part: Case, job: Assignment, crew: Crew) -> str:
    days = job.starts_on.isoformat() if job.ends_on == job.starts_on \
        else f"{job.starts_on.isoformat()} – {job.ends_on.isoformat()}"
    return _("%(part)s: %(crew)s, %(days)s", part=part.title, crew=crew.name, days=days)


# --- Reporting a job done ------------------------------------------------------------------

def may_report(session: Session, actor, job: Assignment) -> bool:
    """The crew's own members with accounts; others with the permission, for the jobs
    of installations they may see."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if any(m.user_id == actor.id for m in job.crew.members):
        return True
    return permissions.can(actor, REPORT) and \
        records.get(session, Case, job.case_id, actor) is not None


def report(session: Session, host, settings, job: Assignment, data: dict, photos: list,
           actor=None) -> Assignment:
    """The installers say their part is done: the photos (``(filename, stream,
    content type)``) go on the part, which moves to "done" (through "in progress")
    with their words as the comment. ``actor`` None: reported through the crew's link,
    and then ``reported_by`` names who they are.

    Who may report is the caller's to check (``may_report``, or the crew's link): an
    installer holds no right over the client's case, so the plugin writes the report
    in their name."""
    part = session.get(Case, job.case_id)
    values = _clean_report(job, part, data, photos, actor)
    comment = _("Reported done by %(who)s.", who=values["reported_by"])
    if values["report"]:
        comment = f"{comment} {values['report']}"
    with audit.door("plugin"):
        for filename, stream, content_type in photos:
            try:
                attachments.store(session, settings, part, filename, stream, None, content_type)
            except ValidationError as exc:
                raise ValidationError({"photos": f"{filename}: {exc.errors.get('file', '')}"}
                                      ) from exc
        for target in ("in_progress", "done"):
            if part.phase_key not in (target, "done"):
                workflow.move(session, host, part, target, None, comment=comment)
        records.update(session, job, {**values, "reported_at": utcnow()}, None)
    return job


def _clean_report(job: Assignment, part: Case | None, data: dict, photos: list, actor) -> dict:
    values, errors = load_collecting(ReportSchema(), data)
    values = {k: v.strip() for k, v in values.items()}
    if actor is not None and not values.get("reported_by"):
        values["reported_by"] = actor.full_name or actor.email
    if part is None or part.deleted_at is not None:
        raise ValidationError({"_": _("This job is no longer planned.")})
    if job.reported_at is not None or part.phase_key == "done":
        errors["_"] = _("This job was reported done already.")
    elif job.starts_on > today():
        errors["_"] = _("This job starts on %(day)s; report it once it is done.",
                        day=format_date(job.starts_on, "long", locale=_locale()))
    if not values.get("reported_by"):
        errors["reported_by"] = _("Enter your name.")
    errors.update(_photo_problems(photos))
    if errors:
        raise ValidationError(errors)
    return values


def _photo_problems(photos: list) -> dict:
    if not photos:
        return {"photos": _("Add at least one photo of the finished work.")}
    if len(photos) > MAX_PHOTOS:
        return {"photos": _("Send at most %(n)d photos at once.", n=MAX_PHOTOS)}
    if any(_extension(name) not in PHOTO_TYPES for name, _s, _t in photos):
        return {"photos": _("Send photos as JPEG, PNG or WebP files.")}
    return {}


def _locale() -> str:
    return str(get_locale() or "pl")


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def part_name(host, part: Case) -> str:
    process = host.processes.get(part.process_key)
    return localised(process.title) if process is not None else part.process_key


def days_of(job: Assignment) -> list[date]:
    length = (job.ends_on - job.starts_on).days + 1
    return [job.starts_on + timedelta(days=n) for n in range(length)]

"""The opinions' deadlines, watched every day (EX-4: court deadlines are tracked).

An opinion is prepared once the client accepted the offer (the inquiry's "accepted"
phase) and must be delivered by the inquiry's ``due_on``, often a court's date. When
that day comes within the process's ``deadline_warning_days`` (7 unless an
administrator changes it), or has passed without a warning, the inquiry's
owner and the manager of its department each get a task (one task when they are the
same person) and the inquiry's timeline an event saying so.

Each deadline is warned of once: the event carries the date it was for, and a pass finds
the events of its inquiries before warning (the inquiry's row is locked first, so two
workers never both warn). A deadline moved to another day is warned of anew; running
the job twice on a day gives nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, bulk, tasks, timeline, workflow
from core.filters import today as local_today
from core.filters import zone
from core.jobs import Periodic
from core.models import ActivityLink, Case, Organisation, User
from core.models.activity import Activity
from core.terms import term, upper_first
from plugins.expertise import process
from plugins.expertise.models import Department, Inquiry

PREPARED = "accepted"  # the phase an opinion is prepared in
WARNED = "expertise.deadline_warned"
timeline.EVENT_LABELS.update({WARNED: _l("Opinion deadline close")})


@dataclass
class Warning:
    """One deadline warned of: the inquiry, the date and who got a task."""

    case_id: int
    title: str
    due_on: date
    today: date
    assignee_ids: list[int] = field(default_factory=list)

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days


def run(rt) -> list[Warning]:
    """The periodic job: one pass, in a transaction of its own."""
    with audit.door("job"), rt.session() as session, session.begin():
        return watch(session)


JOBS = [Periodic("expertise.deadlines", run, minutes=24 * 60)]


def watch(session: Session, today: date | None = None, days: int | None = None
          ) -> list[Warning]:
    """Warn of every opinion's deadline within ``days`` days (by default the process's
    setting), or passed, not warned of yet; the most urgent first."""
    today = today or local_today()
    if days is None:
        days = workflow.settings(session, process.INQUIRY)["deadline_warning_days"]
    rows = session.execute(
        select(Case, Inquiry.due_on, Department.manager_id)
        .join(Inquiry, Inquiry.case_id == Case.id)
        .outerjoin(Department, Department.id == Inquiry.department_id)
        .where(Case.process_key == process.INQUIRY.key, Case.phase_key == PREPARED,
               Case.deleted_at.is_(None), Inquiry.due_on.is_not(None),
               Inquiry.due_on <= today + timedelta(days=days))
        .order_by(Inquiry.due_on, Case.id)).all()
    marked = warned(session, [found.id for found, _due, _manager in rows])
    done = []
    for found, due_on, manager_id in rows:
        if (found.id, due_on) in marked or not _claim(session, found, due_on):
            continue
        done.append(_warn(session, found, due_on, manager_id, today))
    return done


def warned(session: Session, case_ids: list[int]) -> set[tuple[int, date]]:
    """(inquiry, deadline) of the warnings already given."""
    if not case_ids:
        return set()
    found = set()
    for case_id, data in session.execute(
            select(ActivityLink.record_id, Activity.data)
            .join(Activity, Activity.id == ActivityLink.activity_id)
            .where(ActivityLink.record_type == "case", Activity.event == WARNED,
                   bulk.among(session, ActivityLink.record_id, set(case_ids)))):
        try:
            found.add((case_id, date.fromisoformat((data or {})["due_on"])))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _claim(session: Session, found: Case, due_on: date) -> bool:
    """Whether this pass is the one to warn: the inquiry's row is locked and its
    warnings read again, so a second worker waits and then finds the first one's."""
    session.execute(select(Case.id).where(Case.id == found.id).with_for_update())
    return (found.id, due_on) not in warned(session, [found.id])


def _warn(session: Session, found: Case, due_on: date, manager_id: int | None,
          today: date) -> Warning:
    warning = Warning(found.id, found.title, due_on, today)
    note = _note(session, found, due_on, today)
    for user_id in dict.fromkeys((found.owner_id, manager_id)):
        user = _active(session, user_id)
        if user is None:
            continue
        tasks.create(session, {
            "title": _title(found, due_on, today)[:300], "description": note,
            "assignee_id": user.id, "due_at": _end_of(max(due_on, today)),
            "priority": 4 if due_on <= today else 3}, about=[found])
        warning.assignee_ids.append(user.id)
    timeline.record_event(session, WARNED, workflow.about_case(session, found),
                          subject=_title(found, due_on, today),
                          data={"due_on": due_on.isoformat(), "on": today.isoformat(),
                                "assignee_ids": warning.assignee_ids})
    return warning


def _title(found: Case, due_on: date, today: date) -> str:
    what = upper_first(term("expertise.opinion"))
    if due_on < today:
        return _("%(what)s overdue since %(date)s: %(case)s", what=what,
                 date=format_date(due_on), case=found.title)
    return _("%(what)s due on %(date)s: %(case)s", what=what, date=format_date(due_on),
             case=found.title)


def _note(session: Session, found: Case, due_on: date, today: date) -> str:
    days = (due_on - today).days
    if days < 0:
        lines = [ngettext("The deadline passed %(num)d day ago.",
                          "The deadline passed %(num)d days ago.", -days)]
    elif days == 0:
        lines = [_("The deadline is today.")]
    else:
        lines = [ngettext("%(num)d day is left.", "%(num)d days are left.", days)]
    inquiry = session.get(Inquiry, found.id)
    court = session.get(Organisation, inquiry.court_id) if inquiry.court_id else None
    if court is not None:
        lines.append(_("Court: %(court)s", court=court.name))
    if inquiry.court_reference:
        lines.append(_("%(what)s: %(reference)s",
                       what=upper_first(term("expertise.court_reference")),
                       reference=inquiry.court_reference))
    return "\n".join(lines)


def _active(session: Session, user_id: int | None) -> User | None:
    """A staff member a task can be given to."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active and user.kind == "staff" else None


def _end_of(day: date) -> datetime:
    """A task is due by the end of the day in the installation's time zone."""
    return datetime.combine(day, time(23, 59), zone())

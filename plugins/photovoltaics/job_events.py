"""The crews' jobs in the calendars of their installers who have accounts: each job an
all-day event over its days, kept in step when the job moves, when it is taken off, and
when the crew's installers change.

The event is the system's copy of the job (the job's own trail names who planned it):
written by nobody, so that it does not fill the planner's own calendar.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar, records
from core.models import CalendarEvent, Case, User
from plugins.photovoltaics.models import Assignment, Crew
from plugins.photovoltaics.site import site_of


def put(session: Session, part: Case, job: Assignment, crew: Crew, actor=None) -> None:
    """The job's event made, or moved to its days and the crew's installers now."""
    data = {"title": part.title, "all_day": True, "starts_at": job.starts_on,
            "ends_at": job.ends_on, "location": site_of(session, part).address[:300],
            "description": f"{crew.name}\n{job.notes}".strip()}
    event = session.get(CalendarEvent, job.event_id) if job.event_id else None
    if event is None or event.deleted_at is not None:
        event = calendar.create_event(session, data, attendees_users=_members(session, crew),
                                      about=about(session, part))
        records.update(session, job, {"event_id": event.id}, actor)
    else:
        calendar.update_event(session, event, data, attendees_users=_members(session, crew))


def cancel(session: Session, job: Assignment) -> None:
    calendar.cancel_if_planned(session, job.event_id)


def follow_members(session: Session, crew: Crew, actor=None) -> None:
    """The crew's installers changed: its jobs still to do invite those it has now."""
    for job in session.scalars(select(Assignment).where(
            Assignment.crew_id == crew.id, Assignment.reported_at.is_(None))):
        part = session.get(Case, job.case_id)
        if part is not None and part.deleted_at is None:
            put(session, part, job, crew, actor)


def about(session: Session, part: Case | None) -> list:
    """The records a job's entries are about: the part and its installation."""
    if part is None:
        return []
    parent = session.get(Case, part.parent_id) if part.parent_id else None
    return [part, parent] if parent is not None else [part]


def _members(session: Session, crew: Crew) -> list[User]:
    found = [session.get(User, m.user_id) for m in crew.members if m.user_id is not None]
    return [u for u in found if u is not None and u.active]

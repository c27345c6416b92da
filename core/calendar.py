"""The calendar: events with attendees, personal and team calendars, iCalendar feeds.

Times are stored in UTC. An all-day event is a span of whole dates, stored as midnight
UTC of its first day up to midnight UTC after its last day; it is compared by date, so
it falls on the same days wherever the person looking at it is.

Feeds are read by Google Calendar, Outlook and others from a secret URL. Open tasks with
a due time are published as events (VEVENT) rather than to-dos (VTODO), which Google
Calendar ignores; they have a start and no end.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event, vCalAddress, vText
from marshmallow import RAISE, Schema, fields
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from core import permissions, records, tasks
from core.errors import Forbidden, ValidationError
from core.models import CalendarEvent, EventAttendee, EventLink, Person, Task, Team, User
from core.teams import member_ids_of, team_ids_of, teams_of
from core.validation import load_collecting, max_length

FEED_PAST = timedelta(days=90)        # how far back a feed reaches
CANCELLED_KEPT = timedelta(days=30)   # how long a feed tells subscribers to remove an entry
FEED_REFRESH = timedelta(minutes=15)  # how often subscribers are asked to fetch again
PARTSTAT = {"invited": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
            "tentative": "TENTATIVE"}
YEARS = (1900, 9000)
ONE_DAY = timedelta(days=1)


class EventSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=max_length(300),
                          error_messages={"required": _l("Enter a title.")})
    description = fields.String(load_default="")
    location = fields.String(load_default="", validate=max_length(300))
    all_day = fields.Boolean(load_default=False)
    # Dates for an all-day event, aware date-times otherwise: checked in ``_span``.
    starts_at = fields.Raw(required=True,
                           error_messages={"required": _l("Enter when the event starts.")})
    ends_at = fields.Raw(load_default=None, allow_none=True)
    team_id = fields.Integer(load_default=None, allow_none=True)


def clean(session: Session, data: dict) -> dict:
    """Validated values with the span in UTC, or a ValidationError naming every field."""
    values, errors = load_collecting(EventSchema(), data)
    if "title" in values:
        values["title"] = values["title"].strip()
        if not values["title"]:
            errors["title"] = _("Enter a title.")
    if values.get("team_id") is not None and session.get(Team, values["team_id"]) is None:
        errors["team_id"] = _("Choose a team from the list.")
    if "starts_at" in values:
        _span(values, errors)
    if errors:
        raise ValidationError(errors)
    return values


def _span(values: dict, errors: dict) -> None:
    """Turn the given start and end into UTC date-times, or say what is wrong with them."""
    parse = _date if values.get("all_day") else _aware
    starts, ends = (_in_range(parse(values.get(key), key, errors), key, errors)
                    for key in ("starts_at", "ends_at"))
    if values.get("all_day"):
        ends = ends or starts
        if starts and ends and ends < starts:
            errors["ends_at"] = _("The event must end after it starts.")
        elif starts and ends:
            values["starts_at"] = datetime.combine(starts, time(), UTC)
            values["ends_at"] = datetime.combine(ends + ONE_DAY, time(), UTC)
        return
    if values.get("ends_at") is None and "ends_at" not in errors:
        errors["ends_at"] = _("Enter when the event ends.")
    elif starts and ends and ends <= starts:
        errors["ends_at"] = _("The event must end after it starts.")
    elif starts and ends:
        values["starts_at"], values["ends_at"] = starts.astimezone(UTC), ends.astimezone(UTC)


def _in_range(value, field: str, errors: dict):
    """Years a calendar shows (and converts between zones without overflowing)."""
    if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
        errors[field] = _("Give a year from %(first)d to %(last)d.", first=YEARS[0],
                          last=YEARS[1])
        return None
    return value


def _date(value, field: str, errors: dict) -> date | None:
    """A date (an ISO string or a date, never a date-time) for an all-day event."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    errors[field] = _("Give a date without a time for an all-day event.")
    return None


def _aware(value, field: str, errors: dict) -> datetime | None:
    """An aware date-time (an ISO string with an offset, or a datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors[field] = _("Enter a date and time.")
            return None
    if not isinstance(value, datetime):
        errors[field] = _("Enter a date and time.")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors[field] = _("Give the time with its time zone.")
        return None
    return value


def create_event(session: Session, data: dict, attendees_users: list = (),
                 attendees_people: list = (), about: list = (), actor=None) -> CalendarEvent:
    """A new event with staff and people invited, linked to the records in ``about``."""
    event = CalendarEvent(uid=f"{uuid.uuid4()}@kartoteka", **clean(session, data))
    _set_attendees(event, attendees_users, attendees_people)
    event.links = [EventLink(record_type=t, record_id=i)
                   for t, i in dict.fromkeys(records.ref(r) for r in about)]
    invited = _attendee_names(session, _attendee_keys(event, None, None))
    return records.create(session, event, actor, related={"attendees": (None, invited)})


def update_event(session: Session, event: CalendarEvent, data: dict,
                 attendees_users: list | None = None, attendees_people: list | None = None,
                 actor=None, expected_version: int | None = None) -> CalendarEvent:
    """Change an event; the fields not in ``data`` (and attendees given as None) stay."""
    values = clean(session, {**_as_input(event), **data})
    old, new = _attendee_keys(event, None, None), \
        _attendee_keys(event, attendees_users, attendees_people)
    related = {} if new == old else {"attendees": (_attendee_names(session, old),
                                                   _attendee_names(session, new))}
    with tasks.stale_guard():
        records.update(session, event, values, actor, expected_version, related=related)
        if related:
            _set_attendees(event, attendees_users, attendees_people)
            session.flush()
    return event


def cancel_event(session: Session, event: CalendarEvent, actor=None) -> CalendarEvent:
    """Cancel an event: gone from calendars; feeds tell subscribers to remove it."""
    return records.soft_delete(session, event, actor)


def cancel_if_planned(session: Session, event_id: int | None, actor=None) -> None:
    """Cancel the event ``event_id`` unless there is none or it is cancelled already:
    the calendar's copy of something called off elsewhere (a crew's job, a meeting)."""
    event = session.get(CalendarEvent, event_id) if event_id else None
    if event is not None and event.deleted_at is None:
        cancel_event(session, event, actor)


def may_edit(session: Session, event: CalendarEvent, actor) -> bool:
    """Whether ``update_event`` would let ``actor`` change the event (the role's edit
    level for events), asked before a form is offered."""
    return _may(session, event, actor, "edit")


def may_cancel(session: Session, event: CalendarEvent, actor) -> bool:
    """Whether ``cancel_event`` would let ``actor`` cancel the event (the delete level)."""
    return _may(session, event, actor, "delete")


def _may(session: Session, event: CalendarEvent, actor, action: str) -> bool:
    try:
        permissions.require(session, actor, event, action, {})
    except Forbidden:
        return False
    return True


def days_of(event: CalendarEvent, zone) -> tuple[date, date]:
    """The first and the last day an event falls on in ``zone``; an all-day event's
    dates are the same everywhere."""
    if event.all_day:  # stored as UTC midnights
        return (event.starts_at.astimezone(UTC).date(),
                (event.ends_at.astimezone(UTC) - ONE_DAY).date())
    return (event.starts_at.astimezone(zone).date(),
            (event.ends_at - timedelta(microseconds=1)).astimezone(zone).date())


@dataclass(frozen=True)
class Attendee:
    name: str
    status: str  # invited, accepted, declined or tentative
    person_id: int | None = None  # an invited person's card


def attendees_of(session: Session, event: CalendarEvent, actor=None
                 ) -> tuple[list[Attendee], int]:
    """The event's staff, then the invited people ``actor`` may see, each with their
    answer; and how many more people are invited out of ``actor``'s sight."""
    user_ids = [a.user_id for a in event.attendees if a.user_id is not None]
    person_ids = [a.person_id for a in event.attendees if a.person_id is not None]
    staff = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} \
        if user_ids else {}
    people = {p.id: p for p in session.scalars(
        records.visible(Person, actor).where(Person.id.in_(person_ids)))} if person_ids else {}
    shown = [Attendee(staff[a.user_id].full_name or staff[a.user_id].email, a.status)
             for a in event.attendees if a.user_id in staff]
    shown += [Attendee(people[a.person_id].full_name, a.status, a.person_id)
              for a in event.attendees if a.person_id in people]
    return shown, len(person_ids) - len(people)


def records_of(session: Session, event: CalendarEvent, actor=None) -> list:
    """The records the event is about that ``actor`` may see (its ``EventLink`` rows)."""
    return tasks.records_of(session, [event], actor)[event.id]


def _as_input(event: CalendarEvent) -> dict:
    """An event's values in the form ``clean`` accepts, so a change can name one field."""
    starts, ends = event.starts_at, event.ends_at
    if event.all_day:
        starts, ends = starts.date(), (ends - ONE_DAY).date()
    return {"title": event.title, "description": event.description, "location": event.location,
            "all_day": event.all_day, "starts_at": starts, "ends_at": ends,
            "team_id": event.team_id}


def _set_attendees(event: CalendarEvent, users: list | None, people: list | None) -> None:
    """Invite exactly these users and people; those invited before keep their answer."""
    kept = {(a.user_id, a.person_id): a for a in event.attendees}
    event.attendees = [kept.get(k) or EventAttendee(user_id=k[0], person_id=k[1])
                       for k in _attendee_keys(event, users, people)]


def _attendee_keys(event: CalendarEvent, users: list | None, people: list | None
                   ) -> list[tuple[int | None, int | None]]:
    """(user id, person id) of each attendee once ``users`` and ``people`` are invited;
    None keeps those invited now."""
    kept = [(a.user_id, a.person_id) for a in event.attendees]
    staff = [k for k in kept if k[0] is not None] if users is None \
        else [(u.id, None) for u in users]
    others = [k for k in kept if k[1] is not None] if people is None \
        else [(None, p.id) for p in people]
    return list(dict.fromkeys(staff + others))


def _attendee_names(session: Session, keys: list[tuple[int | None, int | None]]) -> list[str]:
    """The attendees as the event's history names them: staff, then people."""
    user_ids = [u for u, _p in keys if u is not None]
    person_ids = [p for _u, p in keys if p is not None]
    staff = {u.id: u.full_name or u.email
             for u in session.scalars(select(User).where(User.id.in_(user_ids)))} \
        if user_ids else {}
    people = {p.id: p.full_name
              for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))} \
        if person_ids else {}
    return [staff.get(u, f"#{u}") if u is not None else people.get(p, f"#{p}")
            for u, p in keys]


# --- Calendars ---------------------------------------------------------------------------

def calendar_of_user(user: User):
    """A person's calendar: events they attend, they created, or of their teams."""
    attending = select(EventAttendee.event_id).where(EventAttendee.user_id == user.id)
    return or_(CalendarEvent.id.in_(attending), CalendarEvent.created_by_id == user.id,
               CalendarEvent.team_id.in_(team_ids_of(user)))


def reaches(session: Session, event: CalendarEvent, user: User) -> bool:
    """Whether the event is on ``user``'s calendar or on the calendar of one of their
    teams: a colleague's private appointment is not, whatever the role's level for
    events (administrators see every one)."""
    if getattr(user, "is_admin", False):
        return True
    mine = [calendar_of_user(user), *(calendar_of_team(t) for t in teams_of(session, user))]
    return session.scalar(select(CalendarEvent.id).where(
        CalendarEvent.id == event.id, or_(*mine))) is not None


def calendar_of_team(team: Team):
    """A group calendar: the team's events and the events its members attend."""
    attending = select(EventAttendee.event_id).where(
        EventAttendee.user_id.in_(member_ids_of(team)))
    return or_(CalendarEvent.team_id == team.id, CalendarEvent.id.in_(attending))


def _overlapping(start: datetime, end: datetime):
    """Events sharing some time with [start, end); an event ending at ``start`` does not.

    All-day events are compared by the dates of ``start`` and ``end`` in their own time
    zone, so a week view from Monday 00:00 in Warsaw does not show Sunday's all-day event.
    """
    first_day = datetime.combine(start.date(), time(), UTC)
    last_day = end.date() if end.time() == time.min else end.date() + ONE_DAY
    after_last = datetime.combine(last_day, time(), UTC)
    return or_(
        and_(CalendarEvent.all_day.is_(False), CalendarEvent.starts_at < end,
             CalendarEvent.ends_at > start),
        and_(CalendarEvent.all_day.is_(True), CalendarEvent.starts_at < after_last,
             CalendarEvent.ends_at > first_day))


def between(session: Session, start: datetime, end: datetime, user: User | None = None,
            team: Team | None = None, actor=None) -> list[CalendarEvent]:
    """Events overlapping [start, end) for a week or month view, by start; ``user`` or
    ``team`` narrows them to that calendar."""
    query = records.visible(CalendarEvent, actor).where(_overlapping(start, end))
    query = _of(query, user, team)
    query = query.order_by(CalendarEvent.starts_at, CalendarEvent.id)
    options = selectinload(CalendarEvent.attendees), selectinload(CalendarEvent.links)
    return list(session.scalars(query.options(*options)))


def _of(query: Select, user: User | None, team: Team | None) -> Select:
    if user is not None:
        query = query.where(calendar_of_user(user))
    if team is not None:
        query = query.where(calendar_of_team(team))
    return query


# --- Feed tokens -------------------------------------------------------------------------

def ensure_feed_token(session: Session, owner: User | Team, actor=None) -> str:
    """The secret of the feed URL of a user or a team, made on first use."""
    if owner.feed_token is None:
        return rotate_feed_token(session, owner, actor)
    return owner.feed_token


def rotate_feed_token(session: Session, owner: User | Team, actor=None) -> str:
    """A new secret: the old URL stops working (for a link that leaked)."""
    records.update(session, owner, {"feed_token": secrets.token_urlsafe(32)}, actor)
    return owner.feed_token


def feed_owner(session: Session, token: str) -> User | Team | None:
    """Whose feed a token opens: an active user or a team; None for anything else."""
    if not token or len(token) > 64:
        return None
    user = session.scalar(select(User).where(User.feed_token == token, User.active))
    if user is not None:
        return user
    return session.scalar(select(Team).where(Team.feed_token == token))


# --- iCalendar feed ----------------------------------------------------------------------

def ical_feed(session: Session, user: User | None = None, team: Team | None = None,
              now: datetime | None = None) -> bytes:
    """The calendar of a user or a team as iCalendar: events from 90 days ago on, and
    open tasks with a due time; entries cancelled in the last 30 days are marked so."""
    if (user is None) == (team is None):
        raise ValueError("ical_feed needs either a user or a team")
    now = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", "-//Kartoteka//Kartoteka CRM//PL")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", (user.full_name or user.email) if user else team.name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")  # Outlook's name for REFRESH-INTERVAL
    events = _feed_events(session, user, team, now)
    staff = _staff_of(session, events)
    for event in events:
        calendar.add_component(_vevent(event, staff))
    for task in _feed_tasks(session, user, team, now):
        calendar.add_component(_task_vevent(task))
    return calendar.to_ical()


def _feed_events(session: Session, user, team, now: datetime) -> list[CalendarEvent]:
    query = records.visible(CalendarEvent, user, include_deleted=True).where(
        CalendarEvent.ends_at >= now - FEED_PAST,
        or_(CalendarEvent.deleted_at.is_(None), CalendarEvent.deleted_at >= now - CANCELLED_KEPT))
    query = _of(query, user, team).order_by(CalendarEvent.starts_at, CalendarEvent.id)
    return list(session.scalars(query.options(selectinload(CalendarEvent.attendees))))


def _feed_tasks(session: Session, user, team, now: datetime) -> list[Task]:
    """Open tasks with a due time, and those closed lately (so subscribers drop them)."""
    query = records.visible(Task, user, include_deleted=True).where(
        Task.due_at.is_not(None), Task.due_at >= now - FEED_PAST,
        or_(and_(Task.status == "open", Task.deleted_at.is_(None)),
            Task.updated_at >= now - CANCELLED_KEPT))
    query = query.where(tasks.assigned_to(user) if user else Task.team_id == team.id)
    return list(session.scalars(query.order_by(Task.due_at, Task.id)))


def _staff_of(session: Session, events: list[CalendarEvent]) -> dict[int, User]:
    """The staff attending any of ``events``, in one query."""
    ids = {a.user_id for e in events for a in e.attendees if a.user_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _vevent(event: CalendarEvent, staff: dict[int, User]) -> Event:
    entry = Event()
    entry.add("uid", event.uid)
    entry.add("dtstamp", event.updated_at.astimezone(UTC))
    entry.add("last-modified", event.updated_at.astimezone(UTC))
    entry.add("sequence", event.version - 1)
    if event.all_day:
        entry.add("dtstart", event.starts_at.date())
        entry.add("dtend", event.ends_at.date())
    else:
        entry.add("dtstart", event.starts_at.astimezone(UTC))
        entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", event.title)
    if event.location:
        entry.add("location", event.location)
    if event.description:
        entry.add("description", event.description)
    for attendee in event.attendees:
        person = staff.get(attendee.user_id)
        if person is not None:
            entry.add("attendee", _address(person, attendee.status), encode=0)
    entry.add("status", "CANCELLED" if event.deleted_at is not None else "CONFIRMED")
    return entry


def _address(user: User, status: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email}")
    address.params["cn"] = vText(user.full_name or user.email)
    address.params["partstat"] = PARTSTAT.get(status, "NEEDS-ACTION")
    return address


def _task_vevent(task: Task) -> Event:
    entry = Event()
    created = task.created_at.astimezone(UTC).isoformat()
    entry.add("uid", f"{uuid.uuid5(uuid.NAMESPACE_URL, f'kartoteka:task:{task.id}:{created}')}"
                     "@kartoteka")
    entry.add("dtstamp", task.updated_at.astimezone(UTC))
    entry.add("last-modified", task.updated_at.astimezone(UTC))
    entry.add("sequence", task.version - 1)
    entry.add("dtstart", task.due_at.astimezone(UTC))
    entry.add("summary", _("Task: %(title)s", title=task.title))
    if task.description:
        entry.add("description", task.description)
    closed = task.status != "open" or task.deleted_at is not None
    entry.add("status", "CANCELLED" if closed else "CONFIRMED")
    return entry

"""Planning the sales queues (PV-6): each rep's calls and meetings for the coming days.

``plan`` first withdraws the entries of cases that are no longer leads and queues the
new leads (``queues.enqueue``); then it takes the waiting entries, the highest priority
and the oldest lead first, and gives each to the rep who can take it soonest:

- only in the rep's working hours on their working days (in the installation's time
  zone), never across another entry of theirs or an event of their calendar (an all-day
  event takes the whole day);
- a call takes the rep's call length; a meeting its length plus the drive there, from
  the base town or the day's previous meeting, and back to the base town by the end of
  the day. A drive is the straight line between the two towns of the gazetteer at
  ``AVERAGE_KMH``; a rep goes only to towns within their travel distance of their base,
  so a meeting whose town the gazetteer does not know is not planned;
- a rep is only given leads they may see (their roles' access to cases);
- an entry the customer asked to be called back at, or met after, not before that time.

A day's meetings are planned one after another, each new one after the last. Planning
again replaces what was planned and not worked yet, from now on in the period or left
behind before now: those entries are planned anew with the rest, so nothing is booked
twice; what could not be planned goes back to the queue. A planned meeting is an event
in the rep's calendar (and so in their calendar feed), moved or cancelled with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar, places, records
from core.db import utcnow
from core.errors import ValidationError
from core.models import CalendarEvent, Case, Place, User
from core.tasks import local_zone
from plugins.photovoltaics import queues
from plugins.photovoltaics.models import OPEN_STATUSES, QueueEntry, Rep
from plugins.photovoltaics.queues import Lead

AVERAGE_KMH = 50  # along the straight line: roads wind and towns slow a car down
GRID = 5  # minutes: planned times fall on them
MAX_DAYS = 31
# Why an entry stayed in the queue, the most telling reason first.
REASONS = {
    "no_time": _l("no free time in the period"),
    "outside": _l("no field rep travels that far"),
    "no_town": _l("the client's town is not known"),
    "no_rep": _l("no active rep takes it"),
}

Busy = tuple[datetime, datetime]


@dataclass
class Day:
    """A working day of a rep: its hours (UTC), what is taken, and the meetings' route."""

    day: date
    opens: datetime
    closes: datetime
    busy: list[Busy] = field(default_factory=list)
    at: Place | None = None  # where the day's last meeting is
    free_from: datetime | None = None  # when it ends
    home: Busy | None = None  # the drive back to the base town after it


@dataclass
class Desk:
    """A rep's days while the plan is made."""

    rep: Rep
    user: User
    base: Place | None
    visible: set[int]
    days: list[Day]
    taken: int = 0


@dataclass(frozen=True)
class Slot:
    desk: Desk
    day: Day
    starts: datetime
    ends: datetime
    meeting: bool = False
    there: timedelta = timedelta()  # the drive to a meeting


@dataclass
class Plan:
    """What planning did: leads queued (and those no rule took), entries planned, and
    how many stayed in the queue for each reason."""

    enqueued: int = 0
    unmatched: int = 0
    planned: list[QueueEntry] = field(default_factory=list)
    unplanned: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    first: date
    after: date  # the day after the last
    starts: datetime  # UTC: the period's start, or now
    ends: datetime


def plan(session: Session, start: date, days: int, actor=None, now: datetime | None = None
         ) -> Plan:
    """Plan the reps' calls and meetings for ``days`` days from ``start``."""
    queues.require_manage(actor)
    now = now or utcnow()
    window = _window(start, days, now)
    # Two plannings at once take turns (PostgreSQL): the second plans on the first's.
    session.execute(select(Rep.id).with_for_update())
    _tidy(session, actor)
    enqueued = queues.enqueue(session, actor, now)
    result = Plan(len(enqueued.entries), enqueued.unmatched)
    released = _released(session, window, now)
    entries = _candidates(session, window, released)
    leads = {e.case_id: queues.lead_of(session, session.get(Case, e.case_id), now)
             for e in entries}
    entries.sort(key=lambda e: (-e.priority, leads[e.case_id].case.created_at, e.id))
    desks = _desks(session, window, released, {e.case_id for e in entries}, now)
    chosen = _assign(entries, leads, desks, window, result)
    _write(session, entries, chosen, leads, actor)
    result.planned = [e for e in entries if e.id in chosen]
    return result


def _window(start, days, now: datetime) -> Window:
    errors = {}
    if not isinstance(start, date) or isinstance(start, datetime):
        errors["start"] = _("Enter the date as YYYY-MM-DD.")
    elif start < now.astimezone(local_zone()).date():
        errors["start"] = _("Plan from today on.")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("Plan from 1 to %(n)d days.", n=MAX_DAYS)
    if errors:
        raise ValidationError(errors)
    zone, after = local_zone(), start + timedelta(days=days)
    starts = max(datetime.combine(start, time(), zone).astimezone(UTC), _on_grid(now))
    return Window(start, after, starts, datetime.combine(after, time(), zone).astimezone(UTC))


def _tidy(session: Session, actor) -> None:
    """Withdraw the open entries of cases deleted or gone on from the lead phase."""
    gone = session.scalars(
        select(QueueEntry).join(Case, Case.id == QueueEntry.case_id)
        .where(QueueEntry.status.in_(OPEN_STATUSES),
               (Case.phase_key != queues.LEAD) | Case.deleted_at.is_not(None))).all()
    for entry in gone:
        queues.close(session, entry, "cancelled", actor)


def _released(session: Session, window: Window, now: datetime) -> list[QueueEntry]:
    """Entries planned and not worked yet, from now on in the period or left behind
    before now: planned anew."""
    query = queues.entry_query(status="planned").where(
        QueueEntry.starts_at < window.ends,
        (QueueEntry.starts_at >= window.starts) | (QueueEntry.ends_at <= now))
    return list(session.scalars(query))


def _candidates(session: Session, window: Window, released: list[QueueEntry]
                ) -> list[QueueEntry]:
    waiting = [e for e in queues.waiting(session)
               if e.not_before is None or e.not_before < window.ends]
    return waiting + released


# --- The reps' days ------------------------------------------------------------------------

def _desks(session: Session, window: Window, released: list[QueueEntry], case_ids: set[int],
           now: datetime) -> list[Desk]:
    skipped = {e.event_id for e in released if e.event_id}
    desks = []
    for rep in queues.reps(session):
        user = session.get(User, rep.user_id)
        if user is None or not user.active:
            continue
        desk = Desk(rep, user, _place(session, rep.base_town), _visible(session, user, case_ids),
                    _days(rep, window))
        _block_events(session, desk, window, skipped)
        _block_kept(session, desk, window, {e.id for e in released}, now)
        desks.append(desk)
    return desks


def _place(session: Session, town: str) -> Place | None:
    return places.find(session, town) if town else None


def _visible(session: Session, user: User, case_ids: set[int]) -> set[int]:
    if not case_ids:
        return set()
    query = records.visible(Case, user).where(Case.id.in_(case_ids)).with_only_columns(Case.id)
    return set(session.scalars(query))


def _days(rep: Rep, window: Window) -> list[Day]:
    zone, found, day = local_zone(), [], window.first
    while day < window.after:
        if day.weekday() in (rep.weekdays or ()):
            opens = _at(day, rep.day_starts, zone)
            closes = _at(day, rep.day_ends, zone)
            opens = max(opens, window.starts)
            if opens < closes:
                found.append(Day(day, opens, closes))
        day += timedelta(days=1)
    return found


def _at(day: date, minutes: int, zone) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone).astimezone(UTC)


def _block_events(session: Session, desk: Desk, window: Window, skipped: set[int]) -> None:
    """The rep's calendar: a timed event takes its time, an all-day one its days; one
    the rep declined takes nothing."""
    zone = local_zone()
    for event in calendar.between(session, window.starts, window.ends, user=desk.user):
        if event.id in skipped or _declined(event, desk.user):
            continue  # the meeting of an entry planned anew, or one the rep will not go to
        if event.all_day:
            first, last = calendar.days_of(event, zone)
            for day in desk.days:
                if first <= day.day <= last:
                    day.busy.append((day.opens, day.closes))
            continue
        for day in desk.days:
            if event.starts_at < day.closes and event.ends_at > day.opens:
                day.busy.append((event.starts_at, event.ends_at))


def _declined(event: CalendarEvent, user: User) -> bool:
    return any(a.user_id == user.id and a.status == "declined" for a in event.attendees)


def _block_kept(session: Session, desk: Desk, window: Window, released: set[int],
                now: datetime) -> None:
    """The rep's entries planned before and kept: those that began already."""
    kept = session.scalars(queues.entry_query(rep_id=desk.rep.id, status="planned")
                           .where(QueueEntry.starts_at < window.ends,
                                  QueueEntry.ends_at > window.starts)
                           .order_by(QueueEntry.starts_at)).all()
    for entry in kept:
        if entry.id in released:
            continue
        there = timedelta(minutes=entry.travel_minutes or 0)
        for day in desk.days:
            if entry.starts_at < day.closes and entry.ends_at > day.opens:
                day.busy.append((entry.starts_at - there, entry.ends_at))
                if entry.kind == "meeting":
                    lead = queues.lead_of(session, session.get(Case, entry.case_id), now)
                    _arrive(desk, day, lead.place, entry.ends_at)


def _arrive(desk: Desk, day: Day, place: Place | None, ends: datetime) -> None:
    """The day's route now ends with a meeting at ``place`` ending at ``ends``."""
    day.at, day.free_from = place, ends
    day.home = (ends, ends + _drive(place, desk.base))


# --- Fitting the entries in ----------------------------------------------------------------

def _assign(entries: list[QueueEntry], leads: dict[int, Lead], desks: list[Desk],
            window: Window, result: Plan) -> dict[int, Slot]:
    chosen = {}
    for entry in entries:
        lead = leads[entry.case_id]
        slot, reason = _best(desks, entry, lead, window)
        if slot is None:
            result.unplanned[reason] = result.unplanned.get(reason, 0) + 1
            continue
        _take(slot, lead)
        chosen[entry.id] = slot
    return chosen


def _best(desks: list[Desk], entry: QueueEntry, lead: Lead, window: Window
          ) -> tuple[Slot | None, str]:
    """The soonest slot any rep has for the entry (the less busy rep on a tie), or why
    there is none."""
    found, reasons = [], set()
    lower = max(window.starts, entry.not_before or window.starts)
    # A rep no longer planned leaves what was only for them to the others.
    pinned = entry.for_rep_id if any(d.rep.id == entry.for_rep_id for d in desks) else None
    for desk in desks:
        reason = _unfit(desk, entry, lead, pinned)
        slot = None if reason else _first_slot(desk, entry, lead, lower)
        if slot is not None:
            found.append(slot)
        else:
            reasons.add(reason or "no_time")
    if found:
        return min(found, key=lambda s: (s.starts, s.desk.taken, s.desk.rep.id)), ""
    return None, next((r for r in REASONS if r in reasons), "no_rep")


def _unfit(desk: Desk, entry: QueueEntry, lead: Lead, pinned: int | None) -> str:
    """Why the rep cannot take the entry at all ("" when they can)."""
    rep = desk.rep
    does = rep.calls if entry.kind == "call" else rep.meetings
    if not does or pinned not in (None, rep.id) or entry.case_id not in desk.visible:
        return "no_rep"
    if entry.kind == "call":
        return ""
    if lead.place is None or desk.base is None:
        return "no_town"
    return "" if places.distance_km(desk.base, lead.place) <= rep.travel_km else "outside"


def _first_slot(desk: Desk, entry: QueueEntry, lead: Lead, lower: datetime) -> Slot | None:
    for day in desk.days:
        if day.closes <= lower:
            continue
        slot = _call_slot(desk, day, lower) if entry.kind == "call" \
            else _meeting_slot(desk, day, lead, lower)
        if slot is not None:
            return slot
    return None


def _call_slot(desk: Desk, day: Day, lower: datetime) -> Slot | None:
    length = timedelta(minutes=desk.rep.call_minutes)
    busy = day.busy + ([day.home] if day.home else [])
    starts = _earliest(busy, max(day.opens, lower), day.closes, length)
    return Slot(desk, day, starts, starts + length) if starts else None


def _meeting_slot(desk: Desk, day: Day, lead: Lead, lower: datetime) -> Slot | None:
    """After the day's last meeting, with the drive there, and back home by closing."""
    there = _drive(day.at or desk.base, lead.place)
    back = _drive(lead.place, desk.base)
    length = timedelta(minutes=desk.rep.meeting_minutes)
    earliest = max(day.opens, day.free_from or day.opens, lower - there)
    leaves = _earliest(day.busy, earliest, day.closes, there + length + back)
    if leaves is None:
        return None
    return Slot(desk, day, leaves + there, leaves + there + length, True, there)


def _earliest(busy: list[Busy], lower: datetime, upper: datetime, length: timedelta
              ) -> datetime | None:
    """The first time on the grid from ``lower`` that starts ``length`` free of ``busy``
    and ending by ``upper``."""
    begin = _on_grid(lower)
    for start, end in sorted(busy):
        if end <= begin:
            continue
        if start >= begin + length:
            break
        begin = _on_grid(end)
    return begin if begin + length <= upper else None


def _take(slot: Slot, lead: Lead) -> None:
    slot.day.busy.append((slot.starts - slot.there, slot.ends))
    if slot.meeting:
        _arrive(slot.desk, slot.day, lead.place, slot.ends)
    slot.desk.taken += 1


def _drive(origin: Place | None, target: Place | None) -> timedelta:
    """The drive between two towns, rounded up to the grid; none within a town."""
    if origin is None or target is None or origin.place_id == target.place_id:
        return timedelta()
    minutes = places.distance_km(origin, target) / AVERAGE_KMH * 60
    return timedelta(minutes=math.ceil(minutes / GRID) * GRID)


def _on_grid(moment: datetime) -> datetime:
    """``moment`` rounded up to the grid's minutes."""
    moment = moment.astimezone(UTC)
    floor = moment.replace(minute=moment.minute - moment.minute % GRID, second=0,
                           microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=GRID)


# --- Writing the plan ----------------------------------------------------------------------

def _write(session: Session, entries: list[QueueEntry], chosen: dict[int, Slot],
           leads: dict[int, Lead], actor) -> None:
    for entry in entries:
        slot = chosen.get(entry.id)
        if slot is not None:
            _planned(session, entry, slot, leads[entry.case_id], actor)
        elif entry.status == "planned":
            _back_to_queue(session, entry, actor)


def _planned(session: Session, entry: QueueEntry, slot: Slot, lead: Lead, actor) -> None:
    values = {"status": "planned", "rep_id": slot.desk.rep.id, "starts_at": slot.starts,
              "ends_at": slot.ends,
              "travel_minutes": int(slot.there.total_seconds() // 60)
              if entry.kind == "meeting" else None}
    if entry.kind == "meeting":
        values["event_id"] = _meeting_event(session, entry, slot, lead).id
    records.update(session, entry, values, actor)


def _back_to_queue(session: Session, entry: QueueEntry, actor) -> None:
    calendar.cancel_if_planned(session, entry.event_id)
    records.update(session, entry, {"status": "queued", "rep_id": None, "starts_at": None,
                                    "ends_at": None, "travel_minutes": None,
                                    "event_id": None}, actor)


def _meeting_event(session: Session, entry: QueueEntry, slot: Slot, lead: Lead
                   ) -> CalendarEvent:
    """The meeting in the rep's calendar: the entry's event moved, or a new one. The
    event is the system's copy of the plan (the entry's trail names who planned):
    made by nobody, so that it does not fill the planner's own calendar."""
    data = {"title": _("Meeting: %(client)s", client=lead.client)[:300],
            "location": (lead.address or lead.town)[:300],
            "description": _("Phone: %(phone)s", phone=lead.phone or "—")
            + f"\n{lead.case.title}",
            "starts_at": slot.starts, "ends_at": slot.ends}
    event = session.get(CalendarEvent, entry.event_id) if entry.event_id else None
    if event is not None and event.deleted_at is None:
        return calendar.update_event(session, event, data, attendees_users=[slot.desk.user])
    return calendar.create_event(session, data, attendees_users=[slot.desk.user],
                                 about=[lead.case])

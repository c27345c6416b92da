"""What came of a call or a meeting of the sales queues (PV-6), and what follows.

A rep records the outcome of an entry of theirs, a sales manager of any. The entry is
done, the outcome goes on the timelines of the case, its client and people, and what
follows is a new entry or a step of the case:

- call: no answer (called again after ``RETRY_AFTER``, ``MAX_ATTEMPTS`` tries in all),
  call back (at the time the customer asked, by the same rep), meeting agreed (a meeting
  queued, not before the time given), not interested (the case is lost);
- meeting: held (the case goes on to the audit), moved to another time (queued again,
  not before the time given), called off, nobody there (a call queued to agree again).

A meeting that will not be held has its calendar event cancelled; once the case is lost
or goes on, its other open entries are withdrawn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar, events, permissions, records, timeline, workflow
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Case, Person
from core.validation import load_collecting, max_length
from plugins.photovoltaics import queues
from plugins.photovoltaics.models import OPEN_STATUSES, QueueEntry, Rep

CALL_OUTCOMES = {
    "no_answer": _l("No answer"),
    "call_back": _l("Call back later"),
    "meeting_agreed": _l("Meeting agreed"),
    "not_interested": _l("Not interested"),
}
MEETING_OUTCOMES = {
    "held": _l("Meeting held"),
    "rescheduled": _l("Moved to another time"),
    "cancelled": _l("Called off"),
    "no_show": _l("Nobody there"),
}
OUTCOMES = {"call": CALL_OUTCOMES, "meeting": MEETING_OUTCOMES}
TIMED = ("call_back", "meeting_agreed", "rescheduled")  # take a time: when, or not before
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(hours=3)
EVENT = "photovoltaics_queue"  # the timeline entries' event: written by the queue


class OutcomeSchema(Schema):
    """What came of an entry, as the forms and the API take it."""

    outcome = fields.String(required=True, validate=max_length(20), error_messages={
        "required": _l("Choose what came of it.")}, metadata={
        "description": "A call: no_answer, call_back, meeting_agreed, not_interested; a "
                       "meeting: held, rescheduled, cancelled, no_show."})
    at = fields.String(load_default=None, allow_none=True, validate=max_length(50), metadata={
        "format": "date-time",
        "description": "call_back: when to call (required); meeting_agreed and "
                       "rescheduled: not before when. With its time zone."})
    note = fields.String(load_default="", validate=max_length(2000))


def labels(kind: str) -> dict:
    return OUTCOMES.get(kind, {})


def outcome_label(entry: QueueEntry) -> str:
    return str(labels(entry.kind).get(entry.outcome, entry.outcome))


def record(session: Session, entry: QueueEntry, data: dict, actor=None,
           expected_version: int | None = None, now: datetime | None = None) -> QueueEntry:
    """Record what came of ``entry`` and start what follows; refuses with every field's
    problem, writing nothing."""
    now = now or utcnow()
    rep = worker(session, entry, actor)
    values = clean(entry, data, now)
    case = session.get(Case, entry.case_id)
    queues.close(session, entry, "done", actor, {
        "outcome": values["outcome"], "note": values["note"], "done_at": now,
        "done_by_id": getattr(actor, "id", None),
        "rep_id": entry.rep_id or (rep.id if rep else None)},
        expected_version=expected_version)
    follow = FOLLOW_UPS[values["outcome"]](session, entry, case, values, actor, now)
    _on_timeline(session, entry, case, values, follow, actor)
    return entry


def worker(session: Session, entry: QueueEntry, actor) -> Rep | None:
    """The rep recording an outcome: a manager may for any entry, a rep for an open
    entry of their own kind of work that is theirs or nobody's yet."""
    rep = queues.rep_of(session, actor)
    if permissions.can(actor, queues.MANAGE):
        return rep
    if not permissions.can(actor, queues.WORK):
        raise Forbidden(_("You may not work the sales queue."))
    if rep is None or not rep.active:
        raise Forbidden(_("You are not set up as a sales rep."))
    does = rep.calls if entry.kind == "call" else rep.meetings
    if not does or entry.rep_id not in (None, rep.id) or entry.for_rep_id not in (None, rep.id):
        raise Forbidden(_("This is another rep's work."))
    return rep


def clean(entry: QueueEntry, data: dict, now: datetime) -> dict:
    values, errors = load_collecting(OutcomeSchema(), data)
    if entry.status not in OPEN_STATUSES:
        errors["outcome"] = _("What came of it is recorded already.")
    elif "outcome" in values and values["outcome"] not in labels(entry.kind):
        errors["outcome"] = _("Choose what came of the call from the list.") \
            if entry.kind == "call" else _("Choose what came of the meeting from the list.")
    values["at"] = _moment(values.get("at"), errors) if "at" not in errors else None
    _check_time(values, errors, now)
    if errors:
        raise ValidationError(errors)
    values["note"] = values["note"].strip()
    return values


def _moment(value, errors: dict) -> datetime | None:
    """An aware date and time (an ISO string with its offset, or a datetime)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        errors["at"] = _("Enter a date and time.")
    elif value.utcoffset() is None:
        errors["at"] = _("Give the time with its time zone.")
    elif not 2000 <= value.year <= 9000:
        errors["at"] = _("Enter a date and time.")
    else:
        return value.astimezone(UTC)
    return None


def _check_time(values: dict, errors: dict, now: datetime) -> None:
    """A time for the outcomes that take one; the others pass over it."""
    if values.get("outcome") not in TIMED:
        values["at"] = None
        errors.pop("at", None)
    elif "at" in errors:
        return
    elif values["outcome"] == "call_back" and values["at"] is None:
        errors["at"] = _("Give the time to call back.")
    elif values["at"] is not None and values["at"] <= now:
        errors["at"] = _("Give a time still to come.")


# --- What follows --------------------------------------------------------------------------

def _again(session: Session, entry: QueueEntry, kind: str, actor, now: datetime, **values
           ) -> QueueEntry:
    """A new entry about the same case, waiting to be planned."""
    return records.create(session, QueueEntry(
        case_id=entry.case_id, kind=kind, status="queued", priority=entry.priority,
        rule_id=entry.rule_id, queued_at=now, **values), actor)


def _no_answer(session, entry, case, values, actor, now) -> QueueEntry | None:
    if entry.attempt >= MAX_ATTEMPTS:
        return None
    return _again(session, entry, "call", actor, now, attempt=entry.attempt + 1,
                  for_rep_id=entry.for_rep_id, not_before=now + RETRY_AFTER)


def _call_back(session, entry, case, values, actor, now) -> QueueEntry:
    return _again(session, entry, "call", actor, now, for_rep_id=entry.rep_id,
                  not_before=values["at"])


def _meeting(session, entry, case, values, actor, now) -> QueueEntry:
    return _again(session, entry, "meeting", actor, now, not_before=values["at"])


def _lost(session, entry, case, values, actor, now) -> None:
    _move(session, case, "lost", actor, values["note"] or str(CALL_OUTCOMES["not_interested"]))


def _held(session, entry, case, values, actor, now) -> None:
    if case.phase_key == queues.LEAD:
        _move(session, case, "audit", actor, values["note"])


def _rescheduled(session, entry, case, values, actor, now) -> QueueEntry:
    calendar.cancel_if_planned(session, entry.event_id)
    return _again(session, entry, "meeting", actor, now, not_before=values["at"])


def _called_off(session, entry, case, values, actor, now) -> None:
    calendar.cancel_if_planned(session, entry.event_id)


def _no_show(session, entry, case, values, actor, now) -> QueueEntry:
    return _again(session, entry, "call", actor, now, not_before=now + RETRY_AFTER)


FOLLOW_UPS = {"no_answer": _no_answer, "call_back": _call_back, "meeting_agreed": _meeting,
              "not_interested": _lost, "held": _held, "rescheduled": _rescheduled,
              "cancelled": _called_off, "no_show": _no_show}


def _move(session: Session, case: Case, target: str, actor, comment: str) -> None:
    """Take the case on (its other open entries withdrawn), if its process lets it."""
    process = workflow.process_of(events.host_of(session), case)
    if process.transition(case.phase_key, target) is None:
        return
    workflow.move(session, events.host_of(session), case, target, actor, comment=comment)
    others = session.scalars(select(QueueEntry).where(
        QueueEntry.case_id == case.id, QueueEntry.status.in_(OPEN_STATUSES))).all()
    for other in others:
        queues.close(session, other, "cancelled", actor)


# --- The timeline --------------------------------------------------------------------------

def _on_timeline(session: Session, entry: QueueEntry, case: Case, values: dict,
                 follow: QueueEntry | None, actor) -> None:
    """A call or a meeting on the timelines of the case, its client and its people."""
    about = workflow.about_case(session, case)
    about += [p for link in case.people
              if (p := session.get(Person, link.person_id)) is not None]
    timeline.add(session, entry.kind, _subject(entry, values, follow), about,
                 body=values["note"], actor=actor, event=EVENT,
                 data={"entry_id": entry.id, "outcome": values["outcome"],
                       "next_entry_id": follow.id if follow is not None else None})


def _subject(entry: QueueEntry, values: dict, follow: QueueEntry | None) -> str:
    said = str(labels(entry.kind)[values["outcome"]])
    if values["outcome"] == "no_answer":
        said = _("%(what)s (try %(n)d of %(max)d)", what=said, n=entry.attempt,
                 max=MAX_ATTEMPTS)
        if follow is None:
            said = _("%(what)s: no more tries", what=said)
    if values.get("at") is not None:
        said = _("%(what)s: %(when)s", what=said,
                 when=format_datetime(values["at"], "short"))
    return said

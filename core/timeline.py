"""The contact history of every record: adding activities and reading timelines.

A timeline is read newest first by key (``before`` is the last row of the previous
page), so a page costs the same however long the history is.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import and_, exists, or_, select, union
from sqlalchemy.orm import Session, selectinload

from core import audit, permissions, records
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Activity, ActivityLink, Membership, Person
from core.models.activity import KINDS
from core.terms import term, upper_first

# What a person records by hand (the staff pages' choices); the rest the system writes.
HAND_KINDS = ("note", "call", "meeting", "email_in", "email_out")

KIND_LABELS = {
    "note": _l("Note"), "call": _l("Call"), "meeting": _l("Meeting"),
    "email_in": _l("E-mail received"), "email_out": _l("E-mail sent"), "system": _l("Event"),
}


def _task_done() -> str:
    return upper_first(_("%(what)s done", what=term("core.task")))


EVENT_LABELS = {
    "membership_started": _l("Joined"), "membership_ended": _l("Left"),
    "merged": _l("Merged"), "task_completed": LazyString(_task_done),
    "attachment_added": _l("File attached"), "attachment_removed": _l("File removed"),
    "case_opened": _l("Opened"), "phase_changed": _l("Moved to another phase"),
    "phase_overdue": _l("Deadline passed"), "approval_requested": _l("Approval asked"),
    "approval_decided": _l("Approval decided"), "document_generated": _l("Document made"),
}


# Entries whose state moves on after they are written (a message: queued, then sent or
# failed): event -> {state: label}. The state is kept in the entry's data.
STATE_LABELS: dict[str, dict] = {}


def label(activity: Activity) -> str:
    """How the kind of an activity (or a system event's name) is shown, with its state
    for an entry that has one ("E-mail: failed")."""
    if activity.event in STATE_LABELS:
        state = (activity.data or {}).get("state", "")
        return _("%(what)s: %(state)s", what=EVENT_LABELS[activity.event],
                 state=STATE_LABELS[activity.event].get(state, state))
    if activity.kind == "system" and activity.event in EVENT_LABELS:
        return str(EVENT_LABELS[activity.event])
    return str(KIND_LABELS.get(activity.kind, activity.kind))


def add(session: Session, kind: str, subject: str, about: list, body: str = "",
        occurred_at: datetime | None = None, actor=None, event: str = "",
        data: dict | None = None) -> Activity:
    """Record an activity and link it to every record in ``about``."""
    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose a kind of activity from the list.")})
    if not about:
        raise ValidationError({"about": _("Link the activity to at least one record.")})
    if kind != "system":
        _check_text(subject, body)
    elif len(subject.strip()) > 300:
        subject = subject.strip()[:299] + "…"
    when = occurred_at or utcnow()
    activity = Activity(kind=kind, subject=subject.strip(), body=body, occurred_at=when,
                        event=event, data=data or {},
                        created_by_id=actor.id if actor is not None else None)
    refs = dict.fromkeys(records.ref(r) for r in about)
    activity.links = [ActivityLink(record_type=t, record_id=i, occurred_at=when)
                      for t, i in refs]
    return records.create(session, activity, actor)


def _check_text(subject: str, body: str) -> None:
    if not (subject.strip() or body.strip()):
        raise ValidationError({"subject": _("Write what happened.")})
    if len(subject.strip()) > 300:
        raise ValidationError({"subject": _("At most %(n)d characters.", n=300)})


def editable(activity: Activity, actor=None) -> bool:
    """Whether ``actor`` may change or remove the entry: one recorded by hand (not an
    event or a message the system wrote), by whoever recorded it or an administrator."""
    if activity.kind not in HAND_KINDS or activity.event:
        return False
    return permissions.grants(actor).admin or activity.created_by_id == actor.id


def change(session: Session, activity: Activity, values: dict, actor=None) -> Activity:
    """Change what a hand-recorded entry says: ``kind``, ``subject``, ``body`` and
    ``occurred_at`` (its place on every timeline it is on moves with it)."""
    _require_editable(activity, actor)
    values = dict(values)
    if values.get("occurred_at") is None:
        values.pop("occurred_at", None)  # left as it was
    kind = values.get("kind", activity.kind)
    if kind not in HAND_KINDS:
        raise ValidationError({"kind": _("Choose a kind of activity from the list.")})
    subject = values.get("subject", activity.subject)
    _check_text(subject, values.get("body", activity.body))
    if "subject" in values:
        values["subject"] = subject.strip()
    records.update(session, activity, values, actor)
    for row in activity.links:
        row.occurred_at = activity.occurred_at
    session.flush()
    return activity


def remove(session: Session, activity: Activity, actor=None) -> None:
    """Remove a hand-recorded entry from every timeline; the audit trail keeps it."""
    _require_editable(activity, actor)
    records.delete(session, activity, actor)


def _require_editable(activity: Activity, actor) -> None:
    if activity.kind not in HAND_KINDS or activity.event:
        raise Forbidden(_("The system wrote this entry; it cannot be changed or removed."))
    if not editable(activity, actor):
        raise Forbidden(_("Only whoever recorded the entry, or an administrator, can "
                          "change or remove it."))


def record_event(session: Session, event: str, about: list, subject: str = "", actor=None,
                 data: dict | None = None) -> Activity:
    """A system event (phase changed, document generated, ...) on the records' timelines."""
    return add(session, "system", subject, about, actor=actor, event=event, data=data)


def link(session: Session, activity: Activity, record, actor=None) -> None:
    """Link an existing activity to one more record (an e-mail to a case, say)."""
    record_type, record_id = records.ref(record)
    if session.get(ActivityLink, (activity.id, record_type, record_id)) is None:
        session.add(ActivityLink(activity_id=activity.id, record_type=record_type,
                                 record_id=record_id, occurred_at=activity.occurred_at))
        session.flush()
        audit.write(session, activity, "update",
                    {"links": (None, [record_type, record_id])}, actor)


def seen(query, actor=None):
    """``query`` of activities limited to those about a record ``actor`` may see."""
    if permissions.grants(actor).admin:
        return query
    reach = [and_(ActivityLink.record_type == record_type,
                  ActivityLink.record_id.in_(records.visible(model, actor)
                                             .with_only_columns(model.id)))
             for record_type, model in records.record_types().items()
             if permissions.is_scoped(model)]
    return query.where(exists().where(ActivityLink.activity_id == Activity.id, or_(*reach)))


def timeline(session: Session, record, include_people: bool = False,
             kinds: list[str] | None = None, before: Activity | None = None,
             limit: int = 50, actor=None) -> list[Activity]:
    """The newest activities about ``record``; for an organisation, optionally also
    those about the people who ever belonged to it and ``actor`` may see.

    Each source is read newest first along the timeline index and cut at ``limit``
    before the sources are merged, so a page costs the same however long the history.
    """
    record_type, record_id = records.ref(record)
    sources = [(ActivityLink.record_type == record_type) & (ActivityLink.record_id == record_id)]
    if include_people and record_type == "organisation":
        members = select(Membership.person_id).where(Membership.organisation_id == record_id)
        people = records.visible(Person, actor).with_only_columns(Person.id) \
            .where(Person.id.in_(members))
        sources.append((ActivityLink.record_type == "person")
                       & ActivityLink.record_id.in_(people))
    newest = union(*(select(_newest_links(where, kinds, before, limit).subquery())
                     for where in sources)).subquery()
    page = (select(newest.c.activity_id)
            .order_by(newest.c.occurred_at.desc(), newest.c.activity_id.desc()).limit(limit))
    query = (select(Activity).where(Activity.id.in_(page))
             .order_by(Activity.occurred_at.desc(), Activity.id.desc())
             .options(selectinload(Activity.links)))
    return session.scalars(query).all()


def _newest_links(where, kinds, before: Activity | None, limit: int):
    query = select(ActivityLink.activity_id, ActivityLink.occurred_at).where(where)
    if kinds:
        query = query.join(Activity, Activity.id == ActivityLink.activity_id) \
            .where(Activity.kind.in_(kinds))
    if before is not None:
        query = query.where(or_(ActivityLink.occurred_at < before.occurred_at,
                                and_(ActivityLink.occurred_at == before.occurred_at,
                                     ActivityLink.activity_id < before.id)))
    return query.order_by(ActivityLink.occurred_at.desc(),
                          ActivityLink.activity_id.desc()).limit(limit)

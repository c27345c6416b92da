"""The sales queues (PV-6): the reps, the rules that route new leads, and the queues.

A lead (an installation's case in the lead phase) is queued once, by the first active
rule whose conditions hold (``enqueue``): for a phone call or for a meeting at the
client's, with a priority from the case's ``photovoltaics_priority`` and the rule's
weight. ``queue_planning`` then fits the queued entries into the reps' days and
``queue_outcomes`` records what came of each. The sales manager
(``photovoltaics.manage_queues``) keeps the reps and the rules and plans; a rep
(``photovoltaics.work_queue``) works their own entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core import calendar, permissions, places, records
from core import fields as custom_fields
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Case, Place, User
from core.validation import an_id, load_collecting, max_length
from core.workflow import localised
from plugins.photovoltaics import fields as pv_fields
from plugins.photovoltaics.models import OPEN_STATUSES, QUEUE_KINDS, QueueEntry, QueueRule, Rep
from plugins.photovoltaics.process import INSTALLATION
from plugins.photovoltaics.site import site_of

MANAGE = "photovoltaics.manage_queues"
WORK = "photovoltaics.work_queue"
LEAD = "lead"
# What a lead's priority field is worth in the queue; a rule's weight is added to it.
PRIORITY_POINTS = {"high": 30, "normal": 20, "low": 10}
KIND_LABELS = {"call": _l("Call"), "meeting": _l("Meeting")}
STATUS_LABELS = {"queued": _l("waiting"), "planned": _l("planned"), "done": _l("done"),
                 "cancelled": _l("withdrawn")}
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
RULE_GAP = 10  # positions of new rules, so one can be put between two later


# --- Permissions ---------------------------------------------------------------------------

def require_manage(actor) -> None:
    if not permissions.can(actor, MANAGE):
        raise Forbidden(_("You may not manage the sales queues."))


def may_manage(actor) -> bool:
    return permissions.can(actor, MANAGE)


def may_work(actor) -> bool:
    return permissions.can(actor, WORK) or permissions.can(actor, MANAGE)


# --- Reps ----------------------------------------------------------------------------------

_CLOCK = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*")


class Clock(fields.String):
    """A time of day written "HH:MM", kept as minutes after midnight."""

    default_error_messages = {"invalid": _l("Give the time as HH:MM, such as 08:00.")}

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        found = _CLOCK.fullmatch(value) if isinstance(value, str) else None
        if found is None or int(found[1]) > 23 or int(found[2]) > 59:
            raise self.make_error("invalid")
        return int(found[1]) * 60 + int(found[2])

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else clock(value)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _range(low: int, high: int, message) -> validate.Range:
    return validate.Range(low, high, error=message)


class RepSchema(Schema):
    """A sales rep as the forms and the API take one."""

    user_id = fields.Integer(required=True, strict=False, validate=an_id(), error_messages={
        "required": _l("Choose a staff member from the list.")},
        metadata={"description": "The rep's staff account; one rep each."})
    calls = fields.Boolean(load_default=True, metadata={"description": "Makes phone calls."})
    meetings = fields.Boolean(load_default=False, metadata={
        "description": "Goes to meetings at the clients'."})
    weekdays = fields.List(
        fields.Integer(strict=False, validate=_range(0, 6, _l("Choose days of the week."))),
        load_default=lambda: [0, 1, 2, 3, 4],
        metadata={"description": "Working days, 0 (Monday) to 6 (Sunday)."})
    day_starts = Clock(load_default=8 * 60, metadata={
        "description": "When the working day starts, HH:MM in the installation's time zone.",
        "example": "08:00"})
    day_ends = Clock(load_default=16 * 60, metadata={
        "description": "When it ends, HH:MM.", "example": "16:00"})
    base_town = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "The town the rep sets out from to meetings and comes back to."})
    travel_km = fields.Integer(
        load_default=50, strict=False,
        validate=_range(1, 500, _l("Give a distance from 1 to 500 km.")),
        metadata={"description": "Meetings only in towns this far from the base town."})
    call_minutes = fields.Integer(
        load_default=15, strict=False,
        validate=_range(5, 120, _l("Give from 5 to 120 minutes.")))
    meeting_minutes = fields.Integer(
        load_default=90, strict=False,
        validate=_range(15, 480, _l("Give from 15 to 480 minutes.")))
    active = fields.Boolean(load_default=True, metadata={
        "description": "False: retired, no longer planned; their past work stays."})


def reps(session: Session, with_retired: bool = False) -> list[Rep]:
    query = select(Rep).where(Rep.deleted_at.is_(None))
    if not with_retired:
        query = query.where(Rep.active.is_(True))
    return list(session.scalars(query.order_by(Rep.id)))


def rep_of(session: Session, user) -> Rep | None:
    """The rep profile of an account, if it has one."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return session.scalar(select(Rep).where(Rep.user_id == user.id, Rep.deleted_at.is_(None)))


def rep_name(session: Session, rep: Rep | None) -> str:
    user = session.get(User, rep.user_id) if rep is not None else None
    return (user.full_name or user.email) if user is not None else "—"


def create_rep(session: Session, data: dict, actor=None) -> Rep:
    require_manage(actor)
    return records.create(session, Rep(**clean_rep(session, data)), actor)


def update_rep(session: Session, rep: Rep, data: dict, actor=None,
               expected_version: int | None = None) -> Rep:
    require_manage(actor)
    values = clean_rep(session, data, rep)
    return records.update(session, rep, values, actor, expected_version=expected_version)


def retire_rep(session: Session, rep: Rep, actor=None, expected_version: int | None = None
               ) -> Rep:
    """No longer planned; what the rep worked stays, and what was planned for them goes
    back to the queue at the next planning."""
    return update_rep(session, rep, {"active": False}, actor, expected_version)


def clean_rep(session: Session, data: dict, rep: Rep | None = None) -> dict:
    """The rep's values (of those ``data`` gives, when changing ``rep``), or every
    problem at once by field."""
    values, errors = load_collecting(RepSchema(), data, partial=rep is not None)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if "weekdays" in values:
        values["weekdays"] = sorted(set(values["weekdays"]))
    whole = {**(_rep_values(rep) if rep is not None else {}), **values}
    _check_user(session, whole, rep, errors)
    _check_work(whole, errors)
    _check_base(session, whole, errors)
    if errors:
        raise ValidationError(errors)
    return values


def _rep_values(rep: Rep) -> dict:
    return {name: getattr(rep, name) for name in RepSchema._declared_fields}


def _check_user(session: Session, values: dict, rep: Rep | None, errors: dict) -> None:
    if "user_id" not in values or "user_id" in errors:
        return
    user = session.get(User, values["user_id"])
    if user is None or not user.active or user.is_portal:
        errors["user_id"] = _("Choose a staff member from the list.")
        return
    other = rep_of(session, user)
    if other is not None and (rep is None or other.id != rep.id):
        errors["user_id"] = _("This staff member is a rep already.")


def _check_work(values: dict, errors: dict) -> None:
    if not values.get("calls") and not values.get("meetings"):
        errors["calls"] = _("A rep makes calls, goes to meetings, or both.")
    if "weekdays" not in errors and not values.get("weekdays"):
        errors["weekdays"] = _("Choose at least one working day.")
    starts, ends = values.get("day_starts"), values.get("day_ends")
    if "day_starts" not in errors and "day_ends" not in errors and isinstance(starts, int) \
            and isinstance(ends, int) and ends <= starts:
        errors["day_ends"] = _("The working day must end after it starts.")


def _check_base(session: Session, values: dict, errors: dict) -> None:
    if "base_town" in errors:
        return
    town = values.get("base_town", "")
    if values.get("meetings") and not town:
        errors["base_town"] = _("Enter the town the rep sets out from to meetings.")
    elif town and not places.known(session, town):
        errors["base_town"] = _("We do not know a town called %(town)s.", town=town)


# --- Rules ---------------------------------------------------------------------------------

class RuleSchema(Schema):
    """A rule routing new leads, as the forms and the API take it."""

    name = fields.String(required=True, validate=max_length(200),
                         error_messages={"required": _l("Enter a name.")})
    position = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=_range(0, 100_000, _l("Give a number from 0 to 100000.")),
                              metadata={"description": "The rules are tried in this order; "
                                                       "null: after the others."})
    active = fields.Boolean(load_default=True)
    queue = fields.String(required=True, validate=validate.OneOf(
        QUEUE_KINDS, error=_l("Choose calls or meetings.")), error_messages={
        "required": _l("Choose calls or meetings.")},
        metadata={"description": "call or meeting: the queue the lead goes to."})
    rep_id = fields.Integer(load_default=None, allow_none=True, strict=False, validate=an_id(),
                            metadata={"description": "Only this rep; null: any rep."})
    weight = fields.Integer(load_default=0, strict=False,
                            validate=_range(-100, 100, _l("Give a number from -100 to 100.")),
                            metadata={"description": "Added to the lead's priority (high "
                                                     "30, normal 20, low 10)."})
    sources = fields.List(fields.String(validate=max_length(50)), load_default=list,
                          metadata={"description": "Values of photovoltaics_source; "
                                                   "empty: any."})
    priorities = fields.List(fields.String(validate=max_length(50)), load_default=list,
                             metadata={"description": "Values of photovoltaics_priority; "
                                                      "empty: any."})
    region = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "The region of the client's address; empty: any."})
    town = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "With within_km: the client's town lies this near it."})
    within_km = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=_range(1, 500, _l("Give a distance from 1 to 500 km.")))
    min_age_days = fields.Integer(load_default=None, allow_none=True, strict=False,
                                  validate=_range(0, 3650, _l("Give from 0 to 3650 days.")),
                                  metadata={"description": "The lead entered at least this "
                                                           "many days ago."})
    max_age_days = fields.Integer(load_default=None, allow_none=True, strict=False,
                                  validate=_range(0, 3650, _l("Give from 0 to 3650 days.")),
                                  metadata={"description": "At most this many days ago."})


def rules(session: Session, with_inactive: bool = True) -> list[QueueRule]:
    query = select(QueueRule).where(QueueRule.deleted_at.is_(None))
    if not with_inactive:
        query = query.where(QueueRule.active.is_(True))
    return list(session.scalars(query.order_by(QueueRule.position, QueueRule.id)))


def create_rule(session: Session, data: dict, actor=None) -> QueueRule:
    require_manage(actor)
    values = clean_rule(session, data)
    if values.get("position") is None:
        last = session.scalar(select(func.max(QueueRule.position))
                              .where(QueueRule.deleted_at.is_(None)))
        values["position"] = (last or 0) + RULE_GAP
    return records.create(session, QueueRule(**values), actor)


def update_rule(session: Session, rule: QueueRule, data: dict, actor=None,
                expected_version: int | None = None) -> QueueRule:
    require_manage(actor)
    values = clean_rule(session, data, rule)
    if "position" in values and values["position"] is None:
        del values["position"]
    return records.update(session, rule, values, actor, expected_version=expected_version)


def delete_rule(session: Session, rule: QueueRule, actor=None) -> None:
    """Delete the rule (to the bin): leads it queued stay queued."""
    require_manage(actor)
    records.soft_delete(session, rule, actor)


def clean_rule(session: Session, data: dict, rule: QueueRule | None = None) -> dict:
    values, errors = load_collecting(RuleSchema(), data, partial=rule is not None)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    whole = {**(_rule_values(rule) if rule is not None else {}), **values}
    if "name" in values and not values["name"]:
        errors["name"] = _("Enter a name.")
    _check_choices(session, values, errors)
    _check_town(session, whole, errors)
    _check_ages(whole, errors)
    _check_rule_rep(session, whole, errors)
    if errors:
        raise ValidationError(errors)
    return values


def _rule_values(rule: QueueRule) -> dict:
    return {name: getattr(rule, name) for name in RuleSchema._declared_fields}


def _check_choices(session: Session, values: dict, errors: dict) -> None:
    for name, key, message in (
            ("sources", "photovoltaics_source", _("Choose sources from the list.")),
            ("priorities", "photovoltaics_priority", _("Choose priorities from the list."))):
        if name in values and name not in errors:
            known = {value for value, _label in choices(session, key)}
            if not set(values[name]) <= known:
                errors[name] = message
            values[name] = list(dict.fromkeys(values[name]))


def _check_town(session: Session, values: dict, errors: dict) -> None:
    if "town" in errors or "within_km" in errors:
        return
    town, km = values.get("town", ""), values.get("within_km")
    if town and km is None:
        errors["within_km"] = _("Give how far from the town, in km.")
    elif km is not None and not town:
        errors["town"] = _("Enter the town the distance is measured from.")
    elif town and not places.known(session, town):
        errors["town"] = _("We do not know a town called %(town)s.", town=town)


def _check_ages(values: dict, errors: dict) -> None:
    young, old = values.get("min_age_days"), values.get("max_age_days")
    if young is not None and old is not None and old < young \
            and "min_age_days" not in errors and "max_age_days" not in errors:
        errors["max_age_days"] = _("The greatest age cannot be below the least.")


def _check_rule_rep(session: Session, values: dict, errors: dict) -> None:
    if values.get("rep_id") is None or "rep_id" in errors:
        return
    rep = session.get(Rep, values["rep_id"])
    if rep is None or rep.deleted_at is not None or not rep.active:
        errors["rep_id"] = _("Choose an active rep from the list.")
    elif values.get("queue") == "call" and not rep.calls:
        errors["rep_id"] = _("This rep does not make calls.")
    elif values.get("queue") == "meeting" and not rep.meetings:
        errors["rep_id"] = _("This rep does not go to meetings.")


def choices(session: Session, key: str) -> list[tuple[str, str]]:
    """The values of a choice field of the case with their labels, as the administrators
    keep them (the plugin's own while the definition is not stored yet)."""
    found = custom_fields.definition(session, "case", key)
    options = found.options if found is not None else {
        "photovoltaics_source": pv_fields.SOURCES,
        "photovoltaics_priority": pv_fields.PRIORITIES}.get(key, {})
    return [(c["value"], localised({"pl": c.get("label_pl") or c["value"],
                                    "en": c.get("label_en") or c.get("label_pl") or c["value"]}))
            for c in options.get("choices", ())]


# --- Leads ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lead:
    """What the queues know of a lead: whom to call, where, and its fields."""

    case: Case
    client: str
    phone: str
    address: str
    town: str
    region: str
    place: Place | None
    source: str
    priority: str
    age_days: int


def lead_of(session: Session, case: Case, now: datetime | None = None) -> Lead:
    site = site_of(session, case)
    custom = case.custom or {}
    place = places.find(session, site.city, site.country or places.COUNTRY) \
        if site.city else None
    age = ((now or utcnow()) - case.created_at).days
    return Lead(case, site.client or case.title, site.phone, site.address, site.city,
                site.region, place, custom.get("photovoltaics_source") or "",
                custom.get("photovoltaics_priority") or "normal", max(age, 0))


def open_leads(session: Session) -> list[Case]:
    """Leads never queued: installations in the lead phase with no entry, oldest first."""
    return list(session.scalars(select(Case).where(
        Case.process_key == INSTALLATION.key, Case.phase_key == LEAD,
        Case.deleted_at.is_(None), ~exists().where(QueueEntry.case_id == Case.id))
        .order_by(Case.created_at, Case.id)))


# --- Routing -------------------------------------------------------------------------------

def matches(session: Session, rule: QueueRule, lead: Lead) -> bool:
    """Whether every condition of the rule holds for the lead."""
    return all((
        not rule.sources or lead.source in rule.sources,
        not rule.priorities or lead.priority in rule.priorities,
        not rule.region or lead.region.strip().lower() == rule.region.strip().lower(),
        rule.min_age_days is None or lead.age_days >= rule.min_age_days,
        rule.max_age_days is None or lead.age_days <= rule.max_age_days,
        not rule.town or _near(session, rule, lead),
    ))


def _near(session: Session, rule: QueueRule, lead: Lead) -> bool:
    origin = places.find(session, rule.town)
    if origin is None or lead.place is None or rule.within_km is None:
        return False
    return places.distance_km(origin, lead.place) <= rule.within_km


@dataclass
class Enqueued:
    entries: list[QueueEntry]
    unmatched: int  # leads no rule took


def enqueue(session: Session, actor=None, now: datetime | None = None) -> Enqueued:
    """Queue every lead never queued by the first active rule that takes it."""
    require_manage(actor)
    now = now or utcnow()
    # Two runs at once take turns here (PostgreSQL), so no lead is queued twice.
    session.execute(select(QueueRule.id).where(QueueRule.deleted_at.is_(None))
                    .with_for_update())
    active = rules(session, with_inactive=False)
    done = Enqueued([], 0)
    for case in open_leads(session):
        lead = lead_of(session, case, now)
        rule = next((r for r in active if matches(session, r, lead)), None)
        if rule is None:
            done.unmatched += 1
            continue
        done.entries.append(records.create(session, QueueEntry(
            case_id=case.id, kind=rule.queue, status="queued", rule_id=rule.id,
            for_rep_id=rule.rep_id, queued_at=now,
            priority=PRIORITY_POINTS.get(lead.priority, PRIORITY_POINTS["normal"]) + rule.weight),
            actor))
    return done


# --- Entries -------------------------------------------------------------------------------

def entry_query(rep_id: int | None = None, status: str | None = None, kind: str | None = None,
                case_id: int | None = None, starts: datetime | None = None,
                ends: datetime | None = None):
    """Entries narrowed by whichever of these are given; planned ones by their time."""
    query = select(QueueEntry).where(QueueEntry.deleted_at.is_(None))
    for column, value in ((QueueEntry.rep_id, rep_id), (QueueEntry.status, status),
                          (QueueEntry.kind, kind), (QueueEntry.case_id, case_id)):
        if value is not None:
            query = query.where(column == value)
    if starts is not None:
        query = query.where(QueueEntry.starts_at >= starts)
    if ends is not None:
        query = query.where(QueueEntry.starts_at < ends)
    return query


def waiting(session: Session) -> list[QueueEntry]:
    """The entries waiting to be planned, in the order planning takes them."""
    return list(session.scalars(
        entry_query(status="queued").join(Case, Case.id == QueueEntry.case_id)
        .order_by(QueueEntry.priority.desc(), Case.created_at, QueueEntry.id)))


def withdraw(session: Session, entry: QueueEntry, actor=None,
             expected_version: int | None = None) -> QueueEntry:
    """Take an open entry off the queue; a planned meeting's event is cancelled."""
    require_manage(actor)
    if entry.status not in OPEN_STATUSES:
        raise ValidationError({"status": _("Only a waiting or planned entry can be withdrawn.")})
    close(session, entry, "cancelled", actor, expected_version=expected_version)
    return entry


def close(session: Session, entry: QueueEntry, status: str, actor=None, values: dict | None = None,
          expected_version: int | None = None) -> None:
    """End an entry (done or cancelled); the event of a meeting that will not be held
    is cancelled."""
    changes = {"status": status, **(values or {})}
    records.update(session, entry, changes, actor, expected_version=expected_version)
    if status == "cancelled":
        calendar.cancel_if_planned(session, entry.event_id)

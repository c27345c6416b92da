"""Who is on a training's list (TR-3): enrolling with the capacity kept and a waiting
list moving up, cancelling, and marking who came.

Staff with ``training.enrol`` or ``training.manage`` enrol anyone until the training is
delivered; on the portal a unit's administrator enrols its own people and a participant
themselves, while enrolment is open and the training is open to their unit (TR-4).
Every change goes through ``core.records``: vetoable, audited, announced; and tells the
person by e-mail (``notices``).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from core import permissions, records
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Case, Membership, Organisation, Person, User
from plugins.training import notices
from plugins.training.models import TAKING_A_PLACE, Enrolment, OpenTo
from plugins.training.process import KEY

STAFF_KEYS = ("training.enrol", "training.manage")
STAFF_PHASES = ("planning", "invitations", "enrolment_open", "enrolment_closed")
PORTAL_PHASES = ("enrolment_open",)
ACTIVE = ("invited", "enrolled", "waiting")
STATUS_LABELS = {
    "invited": _l("invited"),
    "enrolled": _l("enrolled"),
    "waiting": _l("on the waiting list"),
    "cancelled": _l("cancelled"),
    "attended": _l("attended"),
    "absent": _l("absent"),
}
# What a portal account's enrolling and cancelling changes; attendance is the staff's.
PORTAL_CHANGES = {"status", "channel", "note", "organisation_id", "requested_at"}


def training(session: Session, case_id: int, actor=None) -> Case | None:
    """The training (a case of the training process) ``actor`` may see, or None."""
    found = records.get(session, Case, case_id, actor)
    return found if found is not None and found.process_key == KEY else None


def capacity(case: Case) -> int | None:
    value = (case.custom or {}).get("training_capacity")
    return value if isinstance(value, int) else None


def taken(session: Session, case: Case) -> int:
    return session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.case_id == case.id, Enrolment.status.in_(TAKING_A_PLACE))) or 0


def listed(session: Session, case: Case) -> list[Enrolment]:
    """The training's list: enrolled and attended first, then the waiting list in its
    order, then the invited, the absent and the cancelled."""
    order = {"attended": 0, "enrolled": 0, "absent": 1, "waiting": 2, "invited": 3,
             "cancelled": 4}
    rows = session.scalars(select(Enrolment).where(Enrolment.case_id == case.id)
                           .order_by(Enrolment.requested_at, Enrolment.id)).all()
    return sorted(rows, key=lambda row: order.get(row.status, 5))


def chosen(session: Session, person_id: int | str | None,
           organisation_id: int | str | None, actor=None) -> Person:
    """The person a staff form or an API call names (an id, or the text typed), checked
    with the unit sending them: both must be records ``actor`` may see; each one that
    is not is its field's problem."""
    errors = {}
    person = _seen(session, Person, person_id, actor)
    if person is None:
        errors["person_id"] = _("Choose a person.") if person_id is None \
            else _("There is no such record.")
    if organisation_id is not None \
            and _seen(session, Organisation, organisation_id, actor) is None:
        errors["organisation_id"] = _("There is no such record.")
    if errors:
        raise ValidationError(errors)
    return person


def _seen(session: Session, model: type, record_id, actor):
    return records.get(session, model, record_id, actor) if isinstance(record_id, int) \
        else None


def enrol(session: Session, case: Case, person: Person, actor=None, channel: str = "staff",
          organisation_id: int | None = None, note: str = "") -> Enrolment:
    """Put ``person`` on the list: enrolled while places are left, else waiting. Someone
    invited or cancelled before is enrolled again on the same row."""
    _may_enrol(session, case, actor, channel)
    _lock(session, case)
    found = _row(session, case, person)
    if found is not None and found.status not in ("invited", "cancelled"):
        raise ValidationError({"person_id": _("%(name)s is already on the list.",
                                              name=person.full_name)})
    status = "waiting" if _full(session, case) else "enrolled"
    values = {"status": status, "channel": channel, "note": note[:500],
              "organisation_id": organisation_id, "requested_at": utcnow()}
    if found is None:
        row = records.create(session, Enrolment(case_id=case.id, person_id=person.id,
                                                **values), actor)
    else:
        row = records.update(session, found, values, actor)
    notices.tell(session, row, actor)
    return row


def invite(session: Session, case: Case, person: Person, actor=None,
           organisation_id: int | None = None) -> Enrolment | None:
    """Note that ``person`` was invited, unless they are on the list already."""
    if _row(session, case, person) is not None:
        return None
    return records.create(session, Enrolment(
        case_id=case.id, person_id=person.id, status="invited", channel="staff",
        organisation_id=organisation_id), actor)


def cancel(session: Session, enrolment: Enrolment, actor=None) -> Enrolment:
    """Take the person off the list; the first on the waiting list gets the place."""
    case = session.get(Case, enrolment.case_id)
    if enrolment.status not in ACTIVE:
        raise ValidationError({"status": _("Only an enrolment not yet settled by the "
                                           "training's day can be cancelled.")})
    if case.phase_key not in STAFF_PHASES:
        raise ValidationError({"status": _("The training has taken place: mark the person "
                                           "absent instead.")})
    was = enrolment.status
    records.update(session, enrolment, {"status": "cancelled"}, actor)
    if was != "invited":  # someone only invited had nothing to lose
        notices.tell(session, enrolment, actor)
    # A participant cancelling on the portal frees a place the next in line takes,
    # whoever's they are: the move is the system's, not the participant's.
    move_up(session, case, None if getattr(actor, "is_portal", False) else actor)
    return enrolment


def move_up(session: Session, case: Case, actor=None) -> list[Enrolment]:
    """Give free places to the waiting list, first come first served."""
    _lock(session, case)
    moved = []
    free = None if capacity(case) is None else capacity(case) - taken(session, case)
    waiting = session.scalars(select(Enrolment).where(
        Enrolment.case_id == case.id, Enrolment.status == "waiting")
        .order_by(Enrolment.requested_at, Enrolment.id)).all()
    for row in waiting if free is None else waiting[:max(free, 0)]:
        moved.append(records.update(session, row, {"status": "enrolled"}, actor))
        notices.tell(session, row, actor)
    return moved


def record_attendance(session: Session, case: Case, present: set[int], actor=None) -> None:
    """Mark each enrolled person attended (their id in ``present``) or absent."""
    if case.phase_key not in ("enrolment_closed", "delivered"):
        raise ValidationError({"present": _("Attendance is recorded once enrolment is "
                                            "closed.")})
    _require_staff(actor)
    for row in listed(session, case):
        if row.status in TAKING_A_PLACE:
            status = "attended" if row.person_id in present else "absent"
            if status != row.status:
                records.update(session, row, {"status": status}, actor)


# --------------------------------------------------------------------- who may


def open_to(session: Session, case: Case, organisation_id: int | None) -> bool:
    """Whether the training shows on the portal of ``organisation_id`` (TR-4)."""
    visibility = (case.custom or {}).get("training_visibility") or "public"
    if visibility == "public":
        return True
    if visibility == "closed" and organisation_id is not None:
        return session.get(OpenTo, (case.id, organisation_id)) is not None
    return False


def portal_may(session: Session, grants, record: Enrolment, action: str,
               changes: dict) -> bool:
    """A unit's portal administrator enrols and cancels its current people; a
    participant only themselves. Called by ``core.permissions`` for every write."""
    status = changes.get("status", (None, record.status))[1]
    if action not in ("create", "edit") or not set(changes) <= PORTAL_CHANGES \
            or status not in ("enrolled", "waiting", "cancelled"):
        return False
    if record.organisation_id not in (None, grants.portal_organisation):
        return False
    if grants.portal_admin and member_now(session, record.person_id,
                                           grants.portal_organisation):
        return True
    me = session.get(User, grants.user_id)
    return me is not None and me.person_id == record.person_id


def _may_enrol(session: Session, case: Case, actor, channel: str) -> None:
    if getattr(actor, "is_portal", False):
        if case.phase_key not in PORTAL_PHASES \
                or not open_to(session, case, actor.organisation_id):
            raise ValidationError({"case_id": _("Enrolment for this training is not open.")})
        return
    _require_staff(actor)
    if case.phase_key not in STAFF_PHASES:
        raise ValidationError({"case_id": _("The training has taken place; nobody more can "
                                            "be enrolled.")})


def _require_staff(actor) -> None:
    if actor is not None and not any(permissions.can(actor, k) for k in STAFF_KEYS):
        raise Forbidden(_("You may not enrol people in trainings."))


def member_now(session: Session, person_id: int, organisation_id: int | None) -> bool:
    """Whether the person works for the unit today."""
    today = date.today()
    return bool(session.scalar(select(exists().where(
        Membership.person_id == person_id, Membership.organisation_id == organisation_id,
        or_(Membership.end_date.is_(None), Membership.end_date >= today)))))


def _full(session: Session, case: Case) -> bool:
    limit = capacity(case)
    return limit is not None and taken(session, case) >= limit


def _row(session: Session, case: Case, person: Person) -> Enrolment | None:
    return session.scalar(select(Enrolment).where(Enrolment.case_id == case.id,
                                                  Enrolment.person_id == person.id))


def _lock(session: Session, case: Case) -> None:
    """Hold the training's row, so two enrolments at once cannot both take the last
    place (PostgreSQL; SQLite writes one at a time anyway)."""
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())

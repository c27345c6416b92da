"""Who works where: joining, leaving, rotations and promotions, with history kept.

Every change ends or starts a membership rather than editing one, and leaves a system
event on the timelines of the person and the organisation.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import records, timeline
from core.errors import ValidationError
from core.models import Membership, Organisation, OrgUnit, Person


def join(session: Session, person: Person, organisation: Organisation, role: str = "",
         start: date | None = None, unit: OrgUnit | None = None, actor=None) -> Membership:
    _check_unit(organisation, unit)
    if len(role.strip()) > 150:
        raise ValidationError({"role": _("At most %(n)d characters.", n=150)})
    membership = records.create(session, Membership(
        person_id=person.id, organisation_id=organisation.id, role=role.strip(),
        unit_id=unit.id if unit else None, start_date=start), actor)
    _touch_owners(session, person, organisation, membership, None, actor)
    _event(session, "membership_started", person, organisation, membership, actor)
    return membership


def leave(session: Session, membership: Membership, on: date, actor=None) -> Membership:
    """End a membership on the day ``on`` (its last day)."""
    if membership.end_date is not None:
        raise ValidationError({"end_date": _("This membership has already ended.")})
    if membership.start_date and on < membership.start_date:
        raise ValidationError({"end_date": _("The end cannot be before the start.")})
    person, organisation = membership.person, membership.organisation
    before = _described(person, organisation, membership)
    records.update(session, membership, {"end_date": on}, actor)
    _touch_owners(session, person, organisation, membership, before, actor)
    _event(session, "membership_ended", membership.person, membership.organisation,
           membership, actor)
    return membership


def move(session: Session, membership: Membership, on: date, role: str | None = None,
         organisation: Organisation | None = None, unit: OrgUnit | None = None,
         actor=None) -> Membership:
    """A rotation or promotion from ``on``: the old membership ends the day before."""
    organisation = organisation or membership.organisation
    if unit is None and organisation.id == membership.organisation_id:
        unit = membership.unit
    _check_unit(organisation, unit)  # refuse before anything is ended
    leave(session, membership, on - timedelta(days=1), actor)
    return join(session, membership.person, organisation,
                membership.role if role is None else role, on, unit, actor)


def history(session: Session, person: Person | None = None,
            organisation: Organisation | None = None) -> list[Membership]:
    """Memberships newest first: current ones, then ended ones by their end. Those of
    people or organisations in the bin (or merged away) are left out."""
    query = (select(Membership)
             .join(Person, Person.id == Membership.person_id)
             .join(Organisation, Organisation.id == Membership.organisation_id)
             .where(Person.deleted_at.is_(None), Organisation.deleted_at.is_(None)))
    if person is not None:
        query = query.where(Membership.person_id == person.id)
    if organisation is not None:
        query = query.where(Membership.organisation_id == organisation.id)
    rows = session.scalars(query).all()
    return sorted(rows, key=lambda m: (m.end_date or date.max, m.start_date or date.min,
                                       m.id), reverse=True)


def _check_unit(organisation: Organisation, unit: OrgUnit | None) -> None:
    if unit is not None and unit.organisation_id != organisation.id:
        raise ValidationError({"unit": _("The unit belongs to another organisation.")})


def _touch_owners(session, person, organisation, membership, before, actor) -> None:
    """A membership is part of both records: their versions move and their histories
    show it as it was and as it is (None before it started)."""
    after = _described(person, organisation, membership)
    records.touch(session, person, {"memberships": (before and before[0], after[0])}, actor)
    records.touch(session, organisation, {"memberships": (before and before[1], after[1])},
                  actor)


def _described(person, organisation, membership) -> tuple[str, str]:
    """The membership as the person's card and as the organisation's card name it."""
    role = f" — {membership.role}" if membership.role else ""
    period = f", {membership.start_date or '…'} – {membership.end_date or ''}".rstrip()
    return f"{organisation.name}{role}{period}", f"{person.full_name}{role}{period}"


def _event(session, event, person, organisation, membership, actor) -> None:
    timeline.record_event(
        session, event, about=[person, organisation], actor=actor,
        subject=(f"{person.full_name} — {organisation.name}"
                 + (f" ({membership.role})" if membership.role else ""))[:300],
        data={"membership_id": membership.id, "role": membership.role,
              "start": str(membership.start_date or ""), "end": str(membership.end_date or "")})

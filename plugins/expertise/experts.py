"""Experts (biegli): who can prepare an opinion, and for whom they must not (EX-3).

An expert is a person of the card index, the firm's own (in a department) or external,
with the specialisations they may give opinions in, an hourly rate (what an hour of
their work costs the firm, net), absences, and conflicts of interest: organisations or
people they must not work for or against. Keeping experts needs ``expertise.manage``;
an absence, a conflict or a specialisation list given replaces the one kept.

``candidates`` answers the department's question for an inquiry: every active expert of
its specialisation, each either able to do it or excluded with the reasons (a conflict
with the client or a party, absent until after the deadline). Conflicts and absences
are checked again when the estimate names the experts (``estimates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import records
from core.errors import ValidationError
from core.fieldtypes import Number
from core.filters import today as local_today
from core.models import Case, Organisation, Person
from core.validation import an_id, load_collecting, max_length
from plugins.expertise import departments, specialisations
from plugins.expertise.models import (
    Absence,
    Assignment,
    Conflict,
    Expert,
    ExpertSpecialisation,
    Inquiry,
    Party,
    Specialisation,
)
from plugins.expertise.permissions import require_manage

MAX_RATE = Decimal("100000")
MAX_ROWS = 200  # absences or conflicts of one expert


class AbsenceSchema(Schema):
    starts_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the first day."), "invalid": _l("Enter a date, such as 2026-03-01.")})
    ends_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the last day."), "invalid": _l("Enter a date, such as 2026-03-14.")})
    reason = fields.String(load_default="", validate=max_length(300))


class ConflictSchema(Schema):
    organisation_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                     validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=an_id())
    reason = fields.String(load_default="", validate=max_length(300), metadata={
        "description": "Why, such as: expert's former employer."})


class ExpertSchema(Schema):
    person_id = fields.Integer(required=True, strict=False, validate=an_id(), error_messages={
        "required": _l("Choose the person."), "invalid": _l("Choose the person.")},
        metadata={"description": "The expert: a person of the card index."})
    internal = fields.Boolean(load_default=True, metadata={
        "description": "The firm's own expert (true) or an external one."})
    department_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                   validate=an_id(), metadata={
                                       "description": "The department of an own expert."})
    hourly_rate = Number(
        2, required=True, validate=validate.Range(
            0, MAX_RATE, min_inclusive=False, max_inclusive=False,
            error=_l("Enter a rate above 0 and below 100 000.")),
        error_messages={"required": _l("Enter the hourly rate."),
                        "null": _l("Enter the hourly rate."),
                        "invalid": _l("Enter an amount, such as 180,00."),
                        "special": _l("Enter an amount, such as 180,00.")},
        metadata={"type": "string", "format": "decimal", "example": "180.00",
                  "description": "What an hour of the expert's work costs the firm, net PLN."})
    active = fields.Boolean(load_default=True, metadata={
        "description": "False: no longer offered for new inquiries."})
    note = fields.String(load_default="", validate=max_length(5000))
    specialisation_ids = fields.List(fields.Integer(strict=False), load_default=list,
                                     metadata={"description": "What they give opinions in."})
    absences = fields.List(fields.Nested(AbsenceSchema), load_default=None, allow_none=True,
                           metadata={"description": "Days they cannot work; given, it "
                                                    "replaces the list kept."})
    conflicts = fields.List(fields.Nested(ConflictSchema), load_default=None, allow_none=True,
                            metadata={"description": "Parties they must not work for or "
                                                     "against; given, it replaces the list."})


# --- Reading -------------------------------------------------------------------------------

def listed(session: Session, specialisation_id: int | None = None,
           include_inactive: bool = True) -> list[Expert]:
    query = records.visible(Expert).join(Person, Person.id == Expert.person_id)
    if specialisation_id is not None:
        query = query.join(ExpertSpecialisation).where(
            ExpertSpecialisation.specialisation_id == specialisation_id)
    if not include_inactive:
        query = query.where(Expert.active.is_(True))
    return list(session.scalars(query.order_by(func.lower(Person.last_name),
                                               func.lower(Person.first_name), Expert.id)))


def get(session: Session, expert_id, include_deleted: bool = False) -> Expert | None:
    if not isinstance(expert_id, int) or not 0 < expert_id < 2**31:
        return None
    return records.get(session, Expert, expert_id, None, include_deleted)


def person(session: Session, expert: Expert) -> Person:
    return session.get(Person, expert.person_id)


def name(session: Session, expert: Expert) -> str:
    return person(session, expert).full_name


def specialisations_of(session: Session, expert: Expert) -> list[Specialisation]:
    return list(session.scalars(
        select(Specialisation).join(ExpertSpecialisation)
        .where(ExpertSpecialisation.expert_id == expert.id)
        .order_by(func.lower(Specialisation.name))))


def absences_of(session: Session, expert: Expert) -> list[Absence]:
    return list(session.scalars(select(Absence).where(Absence.expert_id == expert.id)
                                .order_by(Absence.starts_on, Absence.id)))


def conflicts_of(session: Session, expert: Expert) -> list[Conflict]:
    return list(session.scalars(select(Conflict).where(Conflict.expert_id == expert.id)
                                .order_by(Conflict.id)))


def conflict_name(session: Session, conflict: Conflict) -> str:
    if conflict.organisation_id is not None:
        return session.get(Organisation, conflict.organisation_id).name
    return session.get(Person, conflict.person_id).full_name


# --- Writing -------------------------------------------------------------------------------

def create(session: Session, data: dict, actor=None) -> Expert:
    require_manage(actor)
    values, related = _checked(session, data)
    expert = Expert(**values)
    records.create(session, expert, actor)
    _set_related(session, expert, related, actor)
    return expert


def update(session: Session, expert: Expert, data: dict, actor=None,
           expected_version: int | None = None) -> Expert:
    require_manage(actor)
    values, related = _checked(session, data, expert)
    records.update(session, expert, values, actor, expected_version)
    _set_related(session, expert, related, actor)
    return expert


def delete(session: Session, expert: Expert, actor=None) -> None:
    """To the bin; an expert named in an open inquiry's estimate is kept."""
    require_manage(actor)
    if busy(session, expert):
        raise ValidationError({"_": _("The expert is in the estimate of an open inquiry: "
                                      "mark them inactive instead.")})
    records.soft_delete(session, expert, actor)


def _checked(session: Session, data: dict, expert: Expert | None = None
             ) -> tuple[dict, dict]:
    values, errors = load_collecting(ExpertSchema(), data)
    if "hourly_rate" in values and values["hourly_rate"] is None:  # typed as blank
        errors["hourly_rate"] = _("Enter the hourly rate.")
    given = values.get("person_id")
    if given is not None:
        found = session.get(Person, given)
        if found is None or found.deleted_at is not None:
            errors["person_id"] = _("Choose the person.")
        else:
            twin = session.scalar(select(Expert).where(Expert.person_id == given))
            if twin is not None and twin is not expert:
                errors["person_id"] = _("This person is already an expert.")
    if values.get("department_id") is not None and \
            departments.get(session, values["department_id"]) is None:
        errors["department_id"] = _("There is no such department.")
    keep = {s.id for s in specialisations_of(session, expert)} if expert else set()
    related = {"specialisations": specialisations.chosen(
        session, values.pop("specialisation_ids", []), "specialisation_ids", errors, keep)}
    absences, conflicts = values.pop("absences", None), values.pop("conflicts", None)
    if absences is not None:
        related["absences"] = _absences(absences, errors)
    if conflicts is not None:
        related["conflicts"] = _conflicts(session, conflicts, errors)
    if errors:
        raise ValidationError(errors)
    return values, related


def _absences(given: list[dict], errors: dict) -> list[dict]:
    if len(given) > MAX_ROWS:
        errors["absences"] = _("At most %(count)s.", count=MAX_ROWS)
    for n, item in enumerate(given):
        if "starts_on" in item and "ends_on" in item and item["ends_on"] < item["starts_on"]:
            errors[f"absences.{n}.ends_on"] = _("The last day cannot be before the first.")
    return given


def _conflicts(session: Session, given: list[dict], errors: dict) -> list[dict]:
    if len(given) > MAX_ROWS:
        errors["conflicts"] = _("At most %(count)s.", count=MAX_ROWS)
    for n, item in enumerate(given):
        if "organisation_id" not in item or "person_id" not in item:
            continue  # refused by the schema already, under its field
        org, who = item["organisation_id"], item["person_id"]
        if (org is None) == (who is None):
            errors[f"conflicts.{n}"] = _("Choose an organisation or a person.")
        elif org is not None and records.get(session, Organisation, org) is None:
            errors[f"conflicts.{n}.organisation_id"] = _("There is no such organisation.")
        elif who is not None and records.get(session, Person, who) is None:
            errors[f"conflicts.{n}.person_id"] = _("There is no such person.")
    return given


def _set_related(session: Session, expert: Expert, related: dict, actor) -> None:
    changes = {}
    before = [s.name for s in specialisations_of(session, expert)]
    after = [s.name for s in related["specialisations"]]
    if sorted(before) != sorted(after):
        session.query(ExpertSpecialisation).filter_by(expert_id=expert.id).delete()
        session.add_all(ExpertSpecialisation(expert_id=expert.id, specialisation_id=s.id)
                        for s in related["specialisations"])
        changes["specialisations"] = (before, after)
    if "absences" in related:
        old = [_absence_text(a) for a in absences_of(session, expert)]
        session.query(Absence).filter_by(expert_id=expert.id).delete()
        session.add_all(Absence(expert_id=expert.id, **item) for item in related["absences"])
        session.flush()
        new = [_absence_text(a) for a in absences_of(session, expert)]
        if old != new:
            changes["absences"] = (old, new)
    if "conflicts" in related:
        old = [conflict_name(session, c) for c in conflicts_of(session, expert)]
        session.query(Conflict).filter_by(expert_id=expert.id).delete()
        session.add_all(Conflict(expert_id=expert.id, **item) for item in related["conflicts"])
        session.flush()
        new = [conflict_name(session, c) for c in conflicts_of(session, expert)]
        if old != new:
            changes["conflicts"] = (old, new)
    session.flush()
    if changes:
        records.touch(session, expert, changes, actor)


def _absence_text(absence: Absence) -> str:
    return f"{absence.starts_on.isoformat()}–{absence.ends_on.isoformat()} {absence.reason}"


# --- Who can do an inquiry -----------------------------------------------------------------

@dataclass
class Candidate:
    expert: Expert
    name: str
    rate: Decimal
    department: str
    open_inquiries: int
    reasons: list[str] = field(default_factory=list)  # why not; empty: able

    @property
    def able(self) -> bool:
        return not self.reasons


def candidates(session: Session, case: Case, today: date | None = None) -> list[Candidate]:
    """The active experts of the inquiry's specialisation, the able ones first (the
    least busy first), then those excluded with why."""
    inquiry = session.get(Inquiry, case.id)
    if inquiry is None or inquiry.specialisation_id is None:
        return []
    today = today or local_today()
    found = []
    for expert in listed(session, inquiry.specialisation_id, include_inactive=False):
        department = departments.get(session, expert.department_id) \
            if expert.department_id else None
        found.append(Candidate(
            expert, name(session, expert), expert.hourly_rate,
            department.name if department else _("external"),
            busy(session, expert), obstacles(session, expert, case, inquiry, today)))
    return sorted(found, key=lambda c: (not c.able, c.open_inquiries, c.name.lower()))


def obstacles(session: Session, expert: Expert, case: Case, inquiry: Inquiry | None,
              today: date | None = None) -> list[str]:
    """Why the expert may not take the inquiry: conflicts, absence, specialisation."""
    today = today or local_today()
    reasons = [_("conflict of interest with %(party)s", party=party)
               for party in conflicting(session, expert, case)]
    for absence in absences_of(session, expert):
        if _blocks(absence, today, inquiry.due_on if inquiry else None):
            reasons.append(_("absent from %(start)s to %(end)s",
                             start=format_date(absence.starts_on),
                             end=format_date(absence.ends_on)))
    if inquiry is not None and inquiry.specialisation_id is not None and \
            inquiry.specialisation_id not in {s.id for s in specialisations_of(session, expert)}:
        reasons.append(_("not of the inquiry's specialisation"))
    if not expert.active:
        reasons.append(_("inactive"))
    return reasons


def conflicting(session: Session, expert: Expert, case: Case) -> list[str]:
    """The names of the inquiry's client and parties the expert is in conflict with,
    or who the expert is."""
    organisations, people = _sides(session, case)
    names = []
    if expert.person_id in people:
        names.append(name(session, expert))
    rows = session.scalars(select(Conflict).where(Conflict.expert_id == expert.id, or_(
        Conflict.organisation_id.in_(organisations or [0]),
        Conflict.person_id.in_(people or [0]))))
    names.extend(conflict_name(session, c) for c in rows)
    return list(dict.fromkeys(names))


def _sides(session: Session, case: Case) -> tuple[set[int], set[int]]:
    """The organisations and people on the inquiry: the client, the people of the case
    who are not experts of it, the other parties."""
    estimated = set(session.scalars(select(Expert.person_id).join(
        Assignment, Assignment.expert_id == Expert.id).where(Assignment.case_id == case.id)))
    organisations = {case.organisation_id} if case.organisation_id else set()
    people = {p.person_id for p in case.people} - estimated
    for party in session.scalars(select(Party).where(Party.case_id == case.id)):
        if party.organisation_id:
            organisations.add(party.organisation_id)
        if party.person_id:
            people.add(party.person_id)
    return organisations, people


def _blocks(absence: Absence, today: date, due_on: date | None) -> bool:
    """An absence rules an expert out when it covers the deadline (or today, when the
    deadline is not set or has passed): the opinion could not be delivered."""
    day = max(due_on, today) if due_on else today
    return absence.starts_on <= day <= absence.ends_on


def busy(session: Session, expert: Expert) -> int:
    """Inquiries whose estimate names the expert and whose opinion is not delivered."""
    from plugins.expertise.process import WORK_DONE

    return session.scalar(select(func.count()).select_from(Assignment)
                          .join(Case, Case.id == Assignment.case_id)
                          .where(Assignment.expert_id == expert.id, Case.deleted_at.is_(None),
                                 Case.phase_key.not_in(WORK_DONE))) or 0

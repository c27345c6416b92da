"""What an inquiry holds beyond its case (EX-1, EX-2, EX-4): the specialisation, the
department it is routed to, the court with its case reference, the opinion's deadline
and the other parties of the matter.

The details are changed by whoever may change the case. Routing, the secretariat's
step, needs ``expertise.route_inquiries``: the department must cover the inquiry's
specialisation (the departments covering it are suggested, the least busy first), and
an inquiry waiting in its "inquiry" phase moves on to "routed". Every change reaches
the case's audit trail and timeline.
"""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import permissions, records, workflow
from core.errors import Forbidden, ValidationError
from core.models import Case, Organisation, Person
from core.terms import term
from core.validation import an_id, load_collecting, max_length
from plugins.expertise import departments, experts, specialisations
from plugins.expertise.models import Assignment, Inquiry, Party
from plugins.expertise.permissions import ROUTE
from plugins.expertise.process import CLOSED

PROCESS = "expertise.inquiry"
MAX_PARTIES = 50
COURT = "expertise.court"  # the organisation type of courts


class PartySchema(Schema):
    organisation_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                     validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=an_id())
    role = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "Who they are in the matter, such as: defendant, insurer."})


class DetailsSchema(Schema):
    specialisation_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                       validate=an_id(), metadata={
                                           "description": "What the opinion is about."})
    court_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=an_id(), metadata={
                                  "description": "The court that commissions it: an "
                                                 "organisation; null: not for a court."})
    court_reference = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "The court's case reference, such as I C 123/26."})
    due_on = fields.Date(load_default=None, allow_none=True, error_messages={
        "invalid": _l("Enter a date, such as 2026-03-31.")}, metadata={
        "description": "The day the opinion must be delivered by."})
    parties = fields.List(fields.Nested(PartySchema), load_default=None, allow_none=True,
                          metadata={"description": "The other parties of the matter; given, "
                                                   "the list replaces the one kept."})


def is_inquiry(record) -> bool:
    return isinstance(record, Case) and record.process_key == PROCESS


def of_case(session: Session, case: Case) -> Inquiry:
    """The inquiry's details, made empty the first time they are asked for."""
    found = session.get(Inquiry, case.id)
    if found is None:
        found = Inquiry(case_id=case.id)
        session.add(found)
        session.flush()
    return found


def parties_of(session: Session, case: Case) -> list[Party]:
    return list(session.scalars(select(Party).where(Party.case_id == case.id)
                                .order_by(Party.id)))


def party_name(session: Session, party: Party) -> str:
    if party.organisation_id is not None:
        return session.get(Organisation, party.organisation_id).name
    return session.get(Person, party.person_id).full_name


def update(session: Session, case: Case, data: dict, actor=None) -> Inquiry:
    """Change the details given; the others are kept."""
    _require_inquiry(case)
    permissions.require(session, actor, case, "edit")
    inquiry = of_case(session, case)
    values, errors = load_collecting(DetailsSchema(), data, partial=True)
    values = {k: v for k, v in values.items() if k in data}
    _check(session, inquiry, values, errors)
    if errors:
        raise ValidationError(errors)
    changes = {}
    if "parties" in values:
        changes.update(_set_parties(session, case, values.pop("parties") or []))
    for key, value in values.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(inquiry, key) != value:
            changes[key] = (getattr(inquiry, key), value)
            setattr(inquiry, key, value)
    session.flush()
    if changes:
        records.touch(session, case, {f"expertise.{k}": v for k, v in changes.items()}, actor)
    return inquiry


def route(session: Session, host, case: Case, department_id, actor=None) -> Inquiry:
    """Send the inquiry to a department covering its specialisation; one waiting in
    the "inquiry" phase moves on to "routed"."""
    _require_inquiry(case)
    if not permissions.can(actor, ROUTE):
        raise Forbidden(_("You may not route %(what)s to departments.",
                          what=term("expertise.inquiry", "acc", plural=True)))
    permissions.require(session, actor, case, "edit")
    if case.phase_key in CLOSED:
        raise ValidationError({"_": _("A finished %(what)s is not routed.",
                                      what=term("expertise.inquiry"))})
    inquiry = of_case(session, case)
    department = departments.get(session, department_id) \
        if isinstance(department_id, int) and not isinstance(department_id, bool) else None
    if department is None:
        raise ValidationError({"department_id": _("There is no such department.")})
    if inquiry.specialisation_id is None:
        raise ValidationError({"specialisation_id": _(
            "Choose the inquiry's specialisation first.")})
    if department not in departments.suggested(session, inquiry.specialisation_id):
        raise ValidationError({"department_id": _(
            "The department does not cover the inquiry's specialisation.")})
    if inquiry.department_id != department.id:
        before = inquiry.department_id
        inquiry.department_id = department.id
        session.flush()
        records.touch(session, case, {"expertise.department_id": (before, department.id)},
                      actor)
    if case.phase_key == "inquiry":
        workflow.move(session, host, case, "routed", actor)
    return inquiry


def document_context(session: Session, case: Case) -> dict:
    """The inquiry as the offer and other documents read it."""
    inquiry = session.get(Inquiry, case.id) or Inquiry(case_id=case.id)
    department = departments.get(session, inquiry.department_id) \
        if inquiry.department_id else None
    specialisation = specialisations.get(session, inquiry.specialisation_id) \
        if inquiry.specialisation_id else None
    court = session.get(Organisation, inquiry.court_id) if inquiry.court_id else None
    assigned = session.scalars(select(Assignment).where(Assignment.case_id == case.id)
                               .order_by(Assignment.id))
    return {
        "department": department.name if department else "",
        "specialisation": specialisation.name if specialisation else "",
        "court": court.name if court else "",
        "court_reference": inquiry.court_reference or "",
        "due_on": format_date(inquiry.due_on) if inquiry.due_on else "",
        "experts": [{"name": experts.name(session, experts.get(session, a.expert_id, True)),
                     "hours": a.hours} for a in assigned],
        "parties": [{"name": party_name(session, p), "role": p.role}
                    for p in parties_of(session, case)],
    }


def _require_inquiry(case: Case) -> None:
    if not is_inquiry(case):
        raise ValidationError({"_": _("This is not an %(what)s.",
                                      what=term("expertise.inquiry"))})


def _check(session: Session, inquiry: Inquiry, values: dict, errors: dict) -> None:
    chosen = values.get("specialisation_id")
    if chosen is not None:
        found = specialisations.get(session, chosen)
        if found is None or (found.archived and found.id != inquiry.specialisation_id):
            errors["specialisation_id"] = _("There is no such specialisation.")
    court = values.get("court_id")
    if court is not None:
        found = session.get(Organisation, court)
        if found is None or found.deleted_at is not None:
            errors["court_id"] = _("There is no such organisation.")
    for n, party in enumerate(values.get("parties") or []):
        # Loaded partially, a party lacks the fields not given and those refused.
        if any(key.startswith(f"parties.{n}.") for key in errors):
            continue
        org, who = party.get("organisation_id"), party.get("person_id")
        if (org is None) == (who is None):
            errors[f"parties.{n}"] = _("Choose an organisation or a person.")
        elif org is not None and records.get(session, Organisation, org) is None:
            errors[f"parties.{n}.organisation_id"] = _("There is no such organisation.")
        elif who is not None and records.get(session, Person, who) is None:
            errors[f"parties.{n}.person_id"] = _("There is no such person.")
    if len(values.get("parties") or []) > MAX_PARTIES:
        errors["parties"] = _("At most %(count)s.", count=MAX_PARTIES)


def _set_parties(session: Session, case: Case, given: list[dict]) -> dict:
    before = [f"{party_name(session, p)} ({p.role})" for p in parties_of(session, case)]
    session.query(Party).filter_by(case_id=case.id).delete()
    session.add_all(Party(case_id=case.id, organisation_id=p.get("organisation_id"),
                          person_id=p.get("person_id"), role=(p.get("role") or "").strip())
                    for p in given)
    session.flush()
    after = [f"{party_name(session, p)} ({p.role})" for p in parties_of(session, case)]
    return {"parties": (before, after)} if before != after else {}

"""Cases: validation, creation, changes, the people involved, copies.

A case's phase changes only through ``core.workflow.move``; the fields here are what
a form or the API may set. A change of the values an approval covers makes the
approvals given for the old values worthless (``core.approvals.supersede``).
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import approvals, permissions, records, timeline, workflow
from core import fields as custom_fields
from core.db import utcnow
from core.errors import ValidationError
from core.models import Case, CasePerson, Organisation, Person, PhaseChange, User
from core.terms import term
from core.validation import load_collecting, max_length

MAX_AMOUNT = Decimal("999999999999.99")


def amount_field() -> fields.Decimal:
    return fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                          validate=validate.Range(min=0, max=MAX_AMOUNT, error=_l(
                              "Enter an amount from 0 to 999 999 999 999,99.")),
                          error_messages={"invalid": _l("Enter an amount, such as 12500,50."),
                                          "special": _l("Enter an amount, such as 12500,50.")})


class CaseSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=max_length(300),
                          error_messages={"required": _l("Enter a title.")})
    process_key = fields.String(required=True,
                                error_messages={"required": _l("Choose a process.")})
    owner_id = fields.Integer(load_default=None, allow_none=True)
    organisation_id = fields.Integer(load_default=None, allow_none=True)
    parent_id = fields.Integer(load_default=None, allow_none=True)
    amount = amount_field()
    cost = amount_field()
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    description = fields.String(load_default="")


def _decimal_text(data: dict) -> dict:
    """Amounts typed the Polish way ("12 500,50") read as numbers."""
    data = dict(data)
    for key in ("amount", "cost"):
        value = data.get(key)
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
            data[key] = value or None
    return data


def clean(session: Session, host, data: dict, case: Case | None = None, actor=None) -> dict:
    """Validated values, every problem at once; with ``case``, a partial change of it."""
    values, errors = load_collecting(CaseSchema(), _decimal_text(data), partial=case is not None)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    for key in ("amount", "cost"):
        if values.get(key) is not None:
            values[key] = Decimal(values[key])
    if "title" in values and not values["title"]:
        errors["title"] = _("Enter a title.")
    if "process_key" in values:
        if case is not None and values["process_key"] != case.process_key:
            errors["process_key"] = _("The process of a %(what)s cannot be changed.",
                                      what=term("core.case", case="gen"))
        elif values["process_key"] not in host.processes:
            errors["process_key"] = _("Choose a process from the list.")
    if values.get("owner_id") is not None and session.scalar(
            select(User.id).where(User.id == values["owner_id"], User.active,
                                  User.kind == "staff")) is None:
        errors["owner_id"] = _("Choose an active staff member.")
    if values.get("organisation_id") is not None and records.get(
            session, Organisation, values["organisation_id"], actor) is None:
        errors["organisation_id"] = _("Choose a %(what)s from the list.",
                                      what=term("core.organisation", case="acc"))
    if values.get("parent_id") is not None and (
            case is None or values["parent_id"] != case.parent_id):
        problem = _parent_problem(session, values["parent_id"], case, actor)
        if problem:
            errors["parent_id"] = problem
    if errors:
        raise ValidationError(errors)
    return values


def _parent_problem(session: Session, parent_id: int, case: Case | None, actor) -> str | None:
    """Why the case cannot be a subprocess of ``parent_id``: a parent the actor may not
    see or change, or the case itself or one of its own subprocesses."""
    parent = records.get(session, Case, parent_id, actor)
    if parent is None:
        return _("Choose a %(what)s from the list.", what=term("core.case", case="acc"))
    if not may_edit(session, parent, actor):
        return _("You may not change this %(what)s.", what=term("core.case", case="acc"))
    if case is not None and case.id in ancestors(session, parent):
        return _("A %(what)s cannot be a subprocess of itself.", what=term("core.case"))
    return None


def ancestors(session: Session, case: Case, limit: int = 100) -> list[int]:
    """The ids of the case and of the cases it is a subprocess of, upwards."""
    found, current = [case.id], case.parent_id
    while current is not None and current not in found and len(found) < limit:
        found.append(current)
        current = session.scalar(select(Case.parent_id).where(Case.id == current))
    return found


def create(session: Session, host, data: dict, actor=None, people: list | None = None) -> Case:
    """A new case in the first phase of its process; ``people``: [(person, role)]."""
    values = custom_fields.validated(session, Case, data, None,
                                     lambda d: clean(session, host, d, None, actor), actor)
    process = host.processes[values["process_key"]]
    now = utcnow()
    case = Case(**values, phase_key=process.phases[0].key, phase_entered_at=now)
    case.people = [CasePerson(person_id=p.id, role=role) for p, role in people or ()]
    records.create(session, case, actor)
    session.add(PhaseChange(case_id=case.id, from_phase=None, to_phase=case.phase_key,
                            actor_id=getattr(actor, "id", None), at=now))
    timeline.record_event(session, "case_opened", workflow.about_case(session, case),
                          subject=case.title, actor=actor, data={"case_id": case.id})
    workflow.entered(session, host, process, case, actor)
    return case


def update(session: Session, host, case: Case, data: dict, actor=None,
           expected_version: int | None = None, keep=None) -> Case:
    """Change a case's fields; approvals of values that changed stop counting."""
    values = custom_fields.validated(session, Case, data, case,
                                     lambda d: clean(session, host, d, case, actor), actor)
    records.update(session, case, values, actor, expected_version)
    approvals.supersede(session, case, keep=keep, actor=actor)
    return case


def set_people(session: Session, case: Case, people: list[tuple[Person, str]], actor=None,
               expected_version: int | None = None) -> Case:
    """Replace the people involved: ``[(person, role), ...]``."""
    for person, _role in people:
        if records.get(session, Person, person.id, actor) is None:
            raise ValidationError({"people": _("Choose a %(what)s from the list.",
                                               what=term("core.person", case="acc"))})
    old = [(p.person_id, p.role) for p in case.people]
    new = [(p.id, role.strip()[:100]) for p, role in dict((p, r) for p, r in people).items()]
    records.touch(session, case, {"people": (old, new)}, actor, expected_version)
    case.people = [CasePerson(person_id=pid, role=role) for pid, role in new]
    session.flush()
    return case


def copy(session: Session, host, case: Case, actor=None) -> Case:
    """A new case with the same fields and people, starting again in the first phase.
    Approvals belong to the original: the copy must be approved on its own."""
    data = {k: getattr(case, k) for k in ("process_key", "owner_id", "organisation_id",
                                          "currency", "description")}
    data.update(title=_("Copy of %(title)s", title=case.title)[:300],
                amount=None if case.amount is None else str(case.amount),
                cost=None if case.cost is None else str(case.cost))
    if case.custom:
        # Values left from before a field was limited to other processes stay behind.
        elsewhere = {d.key for d in custom_fields.definitions(session, "case")
                     if not custom_fields.applies_to(d, case.process_key)}
        data["custom"] = {k: v for k, v in case.custom.items() if k not in elsewhere}
    people = [(session.get(Person, p.person_id), p.role) for p in case.people]
    return create(session, host, data, actor, people=[(p, r) for p, r in people if p])


def children(session: Session, case: Case, actor=None) -> list[Case]:
    return list(session.scalars(records.visible(Case, actor).where(Case.parent_id == case.id)
                                .order_by(Case.id)))


def of_record(session: Session, host, record, actor=None, limit: int = 200) -> list[Case]:
    """The cases of an organisation, or those a person is involved in, that ``actor``
    may see: open ones first, then the finished ones (in a final phase), each group
    latest phase change first."""
    if isinstance(record, Organisation):
        where = Case.organisation_id == record.id
    elif isinstance(record, Person):
        where = Case.id.in_(select(CasePerson.case_id).where(CasePerson.person_id == record.id))
    else:
        raise TypeError(f"cases are listed for organisations and people, not {record!r}")
    query = records.visible(Case, actor).where(where) \
        .order_by(Case.phase_entered_at.desc(), Case.id.desc()).limit(limit)
    return sorted(session.scalars(query), key=lambda case: is_finished(host, case))


def is_finished(host, case: Case) -> bool:
    """Whether the case is in a final phase of its process (a case of a process that is
    not available counts as open: nothing says it is over)."""
    process = host.processes.get(case.process_key)
    phase = process.phase(case.phase_key) if process is not None else None
    return bool(phase and phase.final)


def finished_filter(host) -> dict:
    """The cases in a final phase of their process, in the filter language (a case of a
    process that is not available counts as open, as in ``is_finished``)."""
    finals = [{"and": [{"field": "process_key", "op": "eq", "value": process.key},
                       {"field": "phase_key", "op": "in",
                        "value": [p.key for p in process.phases if p.final]}]}
              for process in host.processes.values() if any(p.final for p in process.phases)]
    return {"or": finals} if finals else {"not": {"and": []}}


def may_edit(session: Session, case: Case, actor) -> bool:
    try:
        permissions.require(session, actor, case, "edit", {})
    except Exception:
        return False
    return True

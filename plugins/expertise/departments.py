"""Departments (wydziały): what each covers and who manages it (EX-2, EX-4).

A department has a name, the specialisations it covers and a manager, a staff member
who approves its offers. Inquiries are routed to departments by specialisation:
``suggested`` names those covering the inquiry's, the least busy first. Keeping
departments needs ``expertise.manage``; a department with open inquiries is not
deleted. Every change is in the audit trail (through ``core.records``).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import records
from core.errors import ValidationError
from core.filters import folded
from core.models import Case, User
from core.validation import an_id, load_collecting, max_length
from plugins.expertise import specialisations
from plugins.expertise.models import (
    Department,
    DepartmentSpecialisation,
    Inquiry,
    Specialisation,
)
from plugins.expertise.permissions import require_manage


class DepartmentSchema(Schema):
    name = fields.String(required=True, validate=[max_length(200), validate.Length(
        min=1, error=_l("Enter the name of the department."))], error_messages={
        "required": _l("Enter the name of the department.")},
        metadata={"description": "The department's name, such as Construction department."})
    manager_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                validate=an_id(), metadata={
                                    "description": "The staff member who approves the "
                                                   "department's offers."})
    specialisation_ids = fields.List(fields.Integer(strict=False), load_default=list, metadata={
        "description": "The specialisations it covers: inquiries of them are routed to it."})
    description = fields.String(load_default="", validate=max_length(5000))


def listed(session: Session) -> list[Department]:
    return list(session.scalars(records.visible(Department).order_by(
        func.lower(Department.name), Department.id)))


def get(session: Session, department_id, include_deleted: bool = False) -> Department | None:
    if not isinstance(department_id, int) or not 0 < department_id < 2**31:
        return None
    return records.get(session, Department, department_id, None, include_deleted)


def specialisations_of(session: Session, department: Department) -> list[Specialisation]:
    return list(session.scalars(
        select(Specialisation).join(DepartmentSpecialisation)
        .where(DepartmentSpecialisation.department_id == department.id)
        .order_by(func.lower(Specialisation.name))))


def create(session: Session, data: dict, actor=None) -> Department:
    require_manage(actor)
    values, chosen = _checked(session, data)
    department = Department(**values)
    records.create(session, department, actor)
    _set_specialisations(session, department, chosen, actor)
    return department


def update(session: Session, department: Department, data: dict, actor=None,
           expected_version: int | None = None) -> Department:
    require_manage(actor)
    values, chosen = _checked(session, data, department)
    records.update(session, department, values, actor, expected_version)
    _set_specialisations(session, department, chosen, actor)
    return department


def delete(session: Session, department: Department, actor=None) -> None:
    require_manage(actor)
    if open_inquiries(session, department):
        raise ValidationError({"_": _("The department has open inquiries: route them to "
                                      "another one first.")})
    records.soft_delete(session, department, actor)


def open_inquiries(session: Session, department: Department) -> int:
    from plugins.expertise.process import CLOSED

    return session.scalar(
        select(func.count()).select_from(Inquiry).join(Case, Case.id == Inquiry.case_id)
        .where(Inquiry.department_id == department.id, Case.deleted_at.is_(None),
               Case.phase_key.not_in(CLOSED))) or 0


def suggested(session: Session, specialisation_id: int | None) -> list[Department]:
    """The departments covering the specialisation, those with fewer open inquiries
    first; none when the inquiry has no specialisation yet."""
    if specialisation_id is None:
        return []
    covering = list(session.scalars(
        records.visible(Department).join(DepartmentSpecialisation)
        .where(DepartmentSpecialisation.specialisation_id == specialisation_id)))
    return sorted(covering, key=lambda d: (open_inquiries(session, d), d.name.lower(), d.id))


def manager_of_case(session: Session, case: Case) -> list[User]:
    """The manager of the department the inquiry is routed to: who approves its offer."""
    inquiry = session.get(Inquiry, case.id)
    department = get(session, inquiry.department_id) if inquiry is not None and \
        inquiry.department_id else None
    manager = session.get(User, department.manager_id) if department is not None and \
        department.manager_id else None
    return [manager] if manager is not None else []


def _checked(session: Session, data: dict, department: Department | None = None
             ) -> tuple[dict, list]:
    values, errors = load_collecting(DepartmentSchema(), data)
    name = " ".join(values.get("name", "").split())
    if "name" in values and not name:
        errors["name"] = _("Enter the name of the department.")
    twin = session.scalar(records.visible(Department).where(  # Ł and ł alike, SQLite too
        folded(Department.name) == name.lower())) if name else None
    if twin is not None and twin is not department:
        errors["name"] = _("A department of this name already exists.")
    manager = values.get("manager_id")
    if manager is not None:
        user = session.get(User, manager)
        if user is None or not user.active or user.kind != "staff":
            errors["manager_id"] = _("Choose an active staff member.")
    keep = {s.id for s in specialisations_of(session, department)} if department else set()
    chosen = specialisations.chosen(session, values.pop("specialisation_ids", []),
                                    "specialisation_ids", errors, keep)
    if errors:
        raise ValidationError(errors)
    values["name"] = name
    return values, chosen


def _set_specialisations(session: Session, department: Department, chosen: list, actor
                         ) -> None:
    before = [s.name for s in specialisations_of(session, department)]
    after = [s.name for s in chosen]
    if sorted(before) == sorted(after):
        return
    session.query(DepartmentSpecialisation).filter_by(department_id=department.id).delete()
    session.add_all(DepartmentSpecialisation(department_id=department.id,
                                             specialisation_id=s.id) for s in chosen)
    session.flush()
    records.touch(session, department, {"specialisations": (before, after)}, actor)

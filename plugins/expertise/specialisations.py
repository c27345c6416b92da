"""Specialisations: what opinions are about, the key routing matches by (EX-2, EX-3).

An administrator with ``expertise.manage`` names them (construction, vehicles, real
estate valuation...), none twice whatever the letter case, and archives one no longer
offered: it stays on the departments, experts and inquiries that have it, but new ones
cannot choose it.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import ValidationError
from core.filters import folded
from core.validation import load, max_length
from plugins.expertise.models import Specialisation
from plugins.expertise.permissions import require_manage


class SpecialisationSchema(Schema):
    name = fields.String(required=True, validate=[max_length(200), validate.Length(
        min=1, error=_l("Enter the name of the specialisation."))], error_messages={
        "required": _l("Enter the name of the specialisation.")},
        metadata={"description": "What opinions of it are about, such as Construction."})
    archived = fields.Boolean(load_default=False, metadata={
        "description": "No longer offered: kept where it is set, not chosen anew."})


def listed(session: Session, include_archived: bool = False) -> list[Specialisation]:
    query = select(Specialisation).order_by(func.lower(Specialisation.name))
    if not include_archived:
        query = query.where(Specialisation.archived.is_(False))
    return list(session.scalars(query))


def get(session: Session, specialisation_id) -> Specialisation | None:
    if not isinstance(specialisation_id, int) or not 0 < specialisation_id < 2**31:
        return None
    return session.get(Specialisation, specialisation_id)


def create(session: Session, data: dict, actor=None) -> Specialisation:
    require_manage(actor)
    values = _checked(session, data)
    found = Specialisation(**values)
    session.add(found)
    session.flush()
    audit.write(session, found, "create", {k: (None, v) for k, v in values.items()}, actor,
                summary=found.name)
    return found


def update(session: Session, found: Specialisation, data: dict, actor=None) -> Specialisation:
    require_manage(actor)
    values = _checked(session, data, found)
    changes = {k: (getattr(found, k), v) for k, v in values.items() if getattr(found, k) != v}
    for key, value in values.items():
        setattr(found, key, value)
    session.flush()
    if changes:
        audit.write(session, found, "update", changes, actor, summary=found.name)
    return found


def chosen(session: Session, ids, field: str, errors: dict, keep=()) -> list[Specialisation]:
    """The specialisations of ``ids``, each existing and not archived (unless already
    set, ``keep``); a bad one is reported under ``field``."""
    found = []
    for position, given in enumerate(ids or []):
        item = get(session, given) if isinstance(given, int) else None
        if item is None or (item.archived and item.id not in keep):
            errors[f"{field}.{position}"] = _("There is no such specialisation.")
        elif item not in found:
            found.append(item)
    return found


def _checked(session: Session, data: dict, found: Specialisation | None = None) -> dict:
    if found is not None and isinstance(data, dict):
        # What is not given is kept: renaming an archived one does not bring it back.
        data = {"name": found.name, "archived": found.archived, **data}
    values = load(SpecialisationSchema(), data)
    values["name"] = " ".join(values["name"].split())
    if not values["name"]:
        raise ValidationError({"name": _("Enter the name of the specialisation.")})
    twin = session.scalar(select(Specialisation).where(  # Ł and ł alike, SQLite too
        folded(Specialisation.name) == values["name"].lower()))
    if twin is not None and twin is not found:
        raise ValidationError({"name": _("This specialisation already exists.")})
    return values

"""Saved segments: a named filter on one record type, private to its owner or shared.

A segment stores the filter, not its members: ``members`` compiles the filter each
time, so the members follow the records as they change.
"""

from __future__ import annotations

import copy

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core import filters, records
from core.errors import ValidationError
from core.models import Segment

NAME_LENGTH = 200


def save(session: Session, name: str, record_type: str, filter: dict, owner,
         shared: bool = False) -> Segment:
    """Save a new segment of ``owner``; the filter is checked by compiling it."""
    values = _clean({"name": name, "record_type": record_type, "filter": filter,
                     "shared": shared})
    return records.create(session, Segment(owner_id=owner.id, **values), owner)


def update(session: Session, segment: Segment, user, **changes) -> Segment:
    """Change the name, filter or sharing (keyword arguments) of one's own segment."""
    _check_owner(segment, user)
    unknown = sorted(set(changes) - {"name", "filter", "shared"})
    if unknown:
        raise ValidationError({key: _("Unknown field.") for key in unknown})
    values = _clean({"record_type": segment.record_type, **changes})
    del values["record_type"]
    return records.update(session, segment, values, user)


def delete(session: Session, segment: Segment, user) -> None:
    _check_owner(segment, user)
    records.delete(session, segment, user)


def visible_segments(session: Session, user, record_type: str | None = None
                     ) -> list[Segment]:
    """The user's own segments and those shared by others, by name."""
    query = select(Segment).where(_visible_to(user)).order_by(Segment.name, Segment.id)
    if record_type is not None:
        query = query.where(Segment.record_type == record_type)
    return list(session.scalars(query))


def get(session: Session, segment_id: int, user) -> Segment | None:
    """A segment the user may see, or None (callers answer 404)."""
    return session.scalar(select(Segment).where(Segment.id == segment_id, _visible_to(user)))


def members(session: Session, segment: Segment, actor=None) -> Select:
    """A query for the visible records that match the segment's filter now."""
    model = records.record_types()[segment.record_type]
    return filters.apply(records.visible(model, actor), model, segment.filter, actor)


def count(session: Session, segment: Segment, actor=None) -> int:
    query = members(session, segment, actor)
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _visible_to(user):
    return or_(Segment.owner_id == user.id, Segment.shared.is_(True))


def _check_owner(segment: Segment, user) -> None:
    if segment.owner_id != user.id and not getattr(user, "is_admin", False):
        raise ValidationError({"segment": _("Only the owner of a segment can change or "
                                            "delete it.")})


def _clean(values: dict) -> dict:
    """Checked values; every problem at once, keyed by field (the filter's by its path)."""
    errors: dict[str, str] = {}
    if "name" in values:
        name = values["name"].strip() if isinstance(values["name"], str) else ""
        if not name:
            errors["name"] = _("Enter a name.")
        elif len(name) > NAME_LENGTH:
            errors["name"] = _("At most {max} characters.").format(max=NAME_LENGTH)
        values["name"] = name
    if "shared" in values and not isinstance(values["shared"], bool):
        errors["shared"] = _("Give true or false.")
    record_type = values["record_type"]
    model = records.record_types().get(record_type) if isinstance(record_type, str) else None
    if model is None or record_type not in filters.FIELDS:
        errors["record_type"] = _("Segments are not available for this kind of record.")
    elif "filter" in values:
        if not isinstance(values["filter"], dict):
            errors["filter"] = _("Give a filter.")
        else:
            try:
                filters.compile_filter(model, values["filter"])
            except ValidationError as exc:
                errors.update(exc.errors)
            values["filter"] = copy.deepcopy(values["filter"])
    if errors:
        raise ValidationError(errors)
    return values

"""Tags on any record."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import records
from core.errors import ValidationError
from core.models import Tag, Tagging

MAX_LENGTH = 60


def clean_name(name: str) -> str:
    """A tag's name as stored: spaces squashed; refused when empty or too long."""
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_LENGTH:
        raise ValidationError({"tag": _("A tag has 1 to 60 characters.")})
    return name


def tag(session: Session, record, name: str, actor=None) -> Tag:
    """Tag a record; a new tag changes the record (its version, history and event)."""
    name = clean_name(name)
    found = session.scalar(select(Tag).where(Tag.name == name))
    if found is None:  # the name alone: the record's entry says it was tagged with it
        found = Tag(name=name)
        session.add(found)
        session.flush()
    record_type, record_id = records.ref(record)
    if session.get(Tagging, (found.id, record_type, record_id)) is None:
        before = tags_of(session, record)
        records.touch(session, record, {"tags": (before, sorted([*before, name]))}, actor)
        session.add(Tagging(tag_id=found.id, record_type=record_type, record_id=record_id))
        session.flush()
    return found


def untag(session: Session, record, name: str, actor=None) -> None:
    record_type, record_id = records.ref(record)
    found = session.scalar(select(Tag).where(Tag.name == " ".join(name.split())))
    before = tags_of(session, record)
    if found is not None and found.name in before:
        records.touch(session, record, {"tags": (before, [t for t in before if t != found.name])},
                      actor)
        session.execute(delete(Tagging).where(Tagging.tag_id == found.id,
                                              Tagging.record_type == record_type,
                                              Tagging.record_id == record_id))


def tags_of(session: Session, record) -> list[str]:
    record_type, record_id = records.ref(record)
    return list(session.scalars(
        select(Tag.name).join(Tagging).where(Tagging.record_type == record_type,
                                             Tagging.record_id == record_id).order_by(Tag.name)))

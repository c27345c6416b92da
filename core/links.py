"""Generic links between any two records, each with a type."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import records
from core.errors import ValidationError
from core.models import RecordLink


def link(session: Session, source, target, link_type: str = "related",
         actor=None) -> RecordLink:
    """Link two records; linking the same pair with the same type again changes nothing."""
    (st, si), (tt, ti) = records.ref(source), records.ref(target)
    if (st, si) == (tt, ti):
        raise ValidationError({"target": _("A record cannot be linked to itself.")})
    existing = session.scalar(select(RecordLink).where(
        RecordLink.source_type == st, RecordLink.source_id == si, RecordLink.target_type == tt,
        RecordLink.target_id == ti, RecordLink.link_type == link_type))
    if existing is not None:
        return existing
    return records.create(session, RecordLink(
        source_type=st, source_id=si, target_type=tt, target_id=ti, link_type=link_type,
        created_by_id=actor.id if actor is not None else None), actor)


def unlink(session: Session, link_row: RecordLink, actor=None) -> None:
    records.delete(session, link_row, actor)


def links_of(session: Session, record) -> list[tuple[RecordLink, str, int]]:
    """Every link of a record in either direction, as (link, other type, other id)."""
    rt, ri = records.ref(record)
    rows = session.scalars(select(RecordLink).where(or_(
        and_(RecordLink.source_type == rt, RecordLink.source_id == ri),
        and_(RecordLink.target_type == rt, RecordLink.target_id == ri))
    ).order_by(RecordLink.id)).all()
    return [(row, row.target_type, row.target_id) if (row.source_type, row.source_id) == (rt, ri)
            else (row, row.source_type, row.source_id) for row in rows]

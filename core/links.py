"""Generic links between any two records, each with a type.

People link records from their cards and through the API (``add``, ``remove``): whoever
may edit a record may link it to any record they may see. The other end of a link is
resolved by its type key (``records.record_types``), so a plugin's record types take
part as the core's do; a link whose other end the viewer may not see is counted, never
named (``shown``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import filters, permissions, records
from core.errors import Forbidden, ValidationError
from core.models import RecordLink
from core.text import fold

DEFAULT_TYPE = "related"
MAX_TYPE = 50  # the column's length
# The cards of the core's record types; a plugin's model takes part in links by naming
# the endpoint of its card (taking ``record_id``) in ``card_endpoint``.
CARDS = {"organisation": "organisations.card", "person": "people.card", "case": "cases.card"}


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


# --- What people link --------------------------------------------------------------------

def types() -> dict[str, type]:
    """The record types links join: those with a card, the core's and plugins'."""
    return {key: model for key, model in records.record_types().items()
            if key in CARDS or isinstance(getattr(model, "card_endpoint", None), str)}


def card_endpoint(record_type: str) -> str | None:
    model = types().get(record_type)
    return CARDS.get(record_type) or getattr(model, "card_endpoint", None)


def may_change(session: Session, record, actor) -> bool:
    """Whether ``actor`` may add and remove the links of ``record``: who may edit it
    (not while it is in the bin)."""
    if getattr(record, "deleted_at", None) is not None:
        return False
    try:
        permissions.require(session, actor, record, "edit", {})
    except (Forbidden, ValidationError):
        return False
    return True


def find(session: Session, record_type: str, text: str, actor=None, limit: int = 10,
         exclude: tuple[str, int] | None = None) -> list[tuple[int, str, str]]:
    """Records of ``record_type`` that ``actor`` may see whose name holds ``text``, as
    (id, name, detail): organisations and people through the search index, other
    types by their name or title field in the filter language."""
    from core import search

    model = types().get(record_type)
    if model is None or not text.strip():
        return []
    if record_type in search.SEARCHABLE:
        hits = search.search(session, text, actor, types=(record_type,), limit=limit + 1)
        found = [(h.record_id, h.label, h.snippet) for h in hits]
    else:
        field = next((f for f in ("name", "title") if f in filters.FIELDS.get(record_type, {})),
                     None)
        if field is None:
            return []
        try:
            query = filters.apply(records.visible(model, actor), model,
                                  {"field": field, "op": "contains", "value": text[:200]},
                                  actor)
        except ValidationError:  # text no database stores (a NUL): nothing answers to it
            return []
        rows = session.scalars(query.order_by(filters.fields_of(model)[field].column(model),
                                              model.id).limit(limit + 1))
        found = [(r.id, name_of(r), "") for r in rows]
    return [hit for hit in found if (record_type, hit[0]) != exclude][:limit]


def name_of(record) -> str:
    from core import audit

    return audit.label_of(record) or f"#{record.id}"


def add(session: Session, record, target_type: str, target_id: int | None,
        link_type: str = "", actor=None) -> RecordLink:
    """Link ``record``, which ``actor`` may edit, to a record they may see. Refuses with
    field errors (target_type, target_id, link_type); the pair linked with that type
    already, either way round, is the link there is."""
    if not may_change(session, record, actor):
        raise Forbidden(_("You may not do this with this record."))
    link_type = " ".join((link_type or "").split()) or DEFAULT_TYPE
    errors = {}
    if len(link_type) > MAX_TYPE:
        errors["link_type"] = _("At most {max} characters.").format(max=MAX_TYPE)
    model = types().get(target_type)
    target = records.get(session, model, target_id, actor) \
        if model is not None and isinstance(target_id, int) else None
    if model is None:
        errors["target_type"] = _("Unknown kind of record '%(type)s'.",
                                  type=str(target_type)[:40])
    elif target is None:
        errors["target_id"] = _("There is no such record.")
    elif records.ref(target) == records.ref(record):
        errors["target_id"] = _("A record cannot be linked to itself.")
    if errors:
        raise ValidationError(errors)
    return _existing(session, record, target, link_type) or \
        link(session, record, target, link_type, actor)


def _existing(session: Session, record, target, link_type: str) -> RecordLink | None:
    (rt, ri), (tt, ti) = records.ref(record), records.ref(target)
    return session.scalar(select(RecordLink).where(RecordLink.link_type == link_type, or_(
        and_(RecordLink.source_type == rt, RecordLink.source_id == ri,
             RecordLink.target_type == tt, RecordLink.target_id == ti),
        and_(RecordLink.source_type == tt, RecordLink.source_id == ti,
             RecordLink.target_type == rt, RecordLink.target_id == ri))))


def remove(session: Session, record, link_row: RecordLink, actor=None) -> None:
    """Remove a link of ``record`` as its card shows it: ``actor`` may edit the record
    and see the other end."""
    if not may_change(session, record, actor):
        raise Forbidden(_("You may not do this with this record."))
    unlink(session, link_row, actor)


@dataclass
class Shown:
    """A link as a viewer of one of its records sees it: the record at its other end."""

    link: RecordLink
    record_type: str
    record: object
    outgoing: bool  # the viewed record is the link's source

    @property
    def name(self) -> str:
        return name_of(self.record)


def shown(session: Session, record, actor=None) -> tuple[list[Shown], int]:
    """The links of ``record`` to records ``actor`` may see, and how many lead to
    records they may not see (or of a type no longer available), which stay unnamed."""
    found = links_of(session, record)
    by_type: dict[str, set[int]] = {}
    for _row, other_type, other_id in found:
        by_type.setdefault(other_type, set()).add(other_id)
    seen = {}
    for other_type, ids in by_type.items():
        model = types().get(other_type)
        if model is not None:
            query = records.visible(model, actor).where(model.id.in_(sorted(ids)))
            seen.update({(other_type, r.id): r for r in session.scalars(query)})
    rows = [Shown(row, t, seen[(t, i)], (row.source_type, row.source_id) == records.ref(record))
            for row, t, i in found if (t, i) in seen]
    rows.sort(key=lambda s: (fold(s.link.link_type), s.record_type, fold(s.name)))
    return rows, len(found) - len(rows)


def visible_link(session: Session, link_id: int, actor=None) -> RecordLink | None:
    """A link whose both ends ``actor`` may see (the only ones anyone is shown)."""
    row = session.get(RecordLink, link_id)
    if row is None or end(session, row, "source", actor) is None \
            or end(session, row, "target", actor) is None:
        return None
    return row


def end(session: Session, row: RecordLink, side: str, actor=None):
    """The record at the link's ``side`` ("source" or "target") if ``actor`` may see it."""
    model = types().get(getattr(row, f"{side}_type"))
    return records.get(session, model, getattr(row, f"{side}_id"), actor) \
        if model is not None else None


def known_types(session: Session, actor=None, limit: int = 50) -> list[str]:
    """Link types to suggest: the default first, then those ``actor`` has used, in
    alphabetical order (others' types could name links between records ``actor`` may
    not see)."""
    query = select(RecordLink.link_type).distinct().order_by(RecordLink.link_type)
    if actor is not None:
        query = query.where(RecordLink.created_by_id == actor.id)
    used = session.scalars(query.limit(limit))
    return list(dict.fromkeys([DEFAULT_TYPE, *used]))

"""Lists of records: the list's own filter, saved segments, key-based pages, counts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash, request
from flask_login import current_user
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core import counting, filters, records, segments
from core.errors import ValidationError
from core.web.forms import form_id

PAGE = 50


@dataclass
class Page:
    rows: list
    next_after: str | None  # "<name_key>|<id>" of the last row, when there is more


def list_filter(extra: tuple[str, ...] = ()) -> dict | None:
    """The list's search box (and ``extra`` equality fields) in the one filter language,
    so that what a list shows and what a segment saved from it holds are the same."""
    conditions = []
    text = request.args.get("q", "").strip()
    if text:
        conditions.append({"field": "name", "op": "contains", "value": text})
    for field in extra:
        value = request.args.get(field, "").strip()
        if value:
            conditions.append({"field": field, "op": "eq", "value": value})
    return {"and": conditions} if conditions else None


def filtered(session: Session, model, record_type: str, extra: tuple[str, ...] = ()):
    """The visible records the request asks for: a segment's members and/or the list's
    own filter. Returns (query, segment)."""
    segment = None
    segment_id = form_id(request.args.get("segment"))
    if segment_id is not None:
        segment = segments.get(session, segment_id, current_user)
    query = segments.members(session, segment, current_user) if segment is not None \
        and segment.record_type == record_type else records.visible(model, current_user)
    try:
        query = filters.apply(query, model, list_filter(extra), current_user)
    except ValidationError as exc:
        for message in exc.errors.values():
            flash(message, "error")
    return query, segment


def page(session: Session, query: Select, model, after: str | None = None,
         size: int = PAGE, sort: str | None = None) -> Page:
    """Rows ordered by name (or by ``sort``, as ``filters.sort`` takes it); ``after``
    continues where the previous page ended."""
    if sort:
        return _sorted_page(session, query, model, sort, after, size)
    if after and "|" in after:
        last_key, _, last_id = after.rpartition("|")
        if form_id(last_id) is not None:
            query = query.where(or_(model.name_key > last_key,
                                    and_(model.name_key == last_key,
                                         model.id > form_id(last_id))))
    rows = session.scalars(query.order_by(model.name_key, model.id).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, f"{rows[-1].name_key}|{rows[-1].id}" if more else None)


def _sorted_page(session: Session, query: Select, model, sort: str, after: str | None,
                 size: int) -> Page:
    """A page in another order than by name; ``after`` is "@<rows before it>"."""
    skip = form_id(after[1:]) if after and after.startswith("@") else None
    skip = skip or 0
    query = filters.sort(query, model, [sort, "name"])
    rows = session.scalars(query.offset(skip).limit(size + 1)).all()
    return Page(rows[:size], f"@{skip + size}" if len(rows) > size else None)


def count(session: Session, query: Select, shown: Page | None = None) -> counting.Count:
    """How many records the list holds, exact up to the cap (setting COUNT_CAP). A first
    page ``shown`` that holds them all has counted them already: a rare search, which
    reads the whole table for its page, is not read a second time to be counted."""
    if shown is not None and shown.next_after is None and not request.args.get("after"):
        return counting.Count(len(shown.rows), counting.EXACT)
    return counting.count(session, query, current_app.config.get("COUNT_CAP", counting.CAP))


def users_by_id(session: Session) -> dict[int, str]:
    from core.models import User

    return {u.id: u.full_name or u.email for u in session.scalars(select(User))}

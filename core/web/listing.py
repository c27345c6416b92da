"""Lists of records: searching, filtering and key-based pages of a fixed size."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core.text import name_key

PAGE = 50


@dataclass
class Page:
    rows: list
    next_after: str | None  # "<name_key>|<id>" of the last row, when there is more


def search_page(session: Session, query: Select, model, text: str = "",
                after: str | None = None, size: int = PAGE) -> Page:
    """Rows ordered by name; ``after`` continues where the previous page ended."""
    key = name_key(text)
    if key:
        query = query.where(model.name_key.contains(key))
    if after and "|" in after:
        last_key, _, last_id = after.rpartition("|")
        if last_id.isdigit():
            query = query.where(or_(model.name_key > last_key,
                                    and_(model.name_key == last_key, model.id > int(last_id))))
    rows = session.scalars(query.order_by(model.name_key, model.id).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, f"{rows[-1].name_key}|{rows[-1].id}" if more else None)


def args() -> tuple[str, str | None]:
    return request.args.get("q", "").strip(), request.args.get("after")


def users_by_id(session: Session) -> dict[int, str]:
    from core.models import User

    return {u.id: u.full_name or u.email for u in session.scalars(select(User))}

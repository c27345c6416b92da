"""Lists of records: the list's own filter, saved segments, key-based pages, counts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from core import counting, fields, filters, records, segments
from core.errors import ValidationError
from core.models import Person, Tag, Tagging, User
from core.web import field_filter, list_columns
from core.web.forms import form_id

PAGE = 50
OWNER_ME, OWNER_NONE = "me", "none"  # the owner filter's choices besides a staff member
# The input told when the filter language refuses a condition the form's checks let by:
# a custom field's condition is refused for its value (the field and comparison fit).
REFUSED = {"cf": "cf_value"}


@dataclass
class Page:
    rows: list
    next_after: str | None  # "<name_key>|<id>" of the last row, when there is more


@dataclass
class ListFilter:
    """The list's filter form as the request fills it: what was typed, a message for each
    value that cannot be used (left out, so the list still shows), the filter of the rest
    in the one filter language, and the choices the form offers."""

    values: dict[str, str]
    errors: dict[str, str]
    filter: dict | None
    owners: list[tuple[str, str]]
    tags: list[str]
    fields: list  # the custom fields the person may see
    field: object | None  # the one picked in "more filters"

    def args(self, *leave_out: str) -> dict[str, str]:
        """The values that make the filter, as a link's (and a segment form's) arguments;
        a comparison without its field is left out."""
        found = {k: v for k, v in self.values.items() if v and k not in leave_out}
        if not found.get("cf"):
            found = {k: v for k, v in found.items() if k not in field_filter.PARAMS}
        return found

    @property
    def cf_ops(self) -> list[tuple[str, str]]:
        return field_filter.ops(self.field)

    @property
    def cf_input(self) -> str:
        return field_filter.value_input(self.field)

    @property
    def cf_choices(self) -> list[tuple[str, str]]:
        return field_filter.value_choices(self.field)


def list_filter(session: Session, model, args=None, extra: tuple[str, ...] = ()
                ) -> ListFilter:
    """The list's search box, ``extra`` equality fields, owner, tag, membership (people)
    and one custom field's condition, from ``args`` (the query string, or a form saving
    them as a segment), in the one filter language: what a list shows and what a segment
    saved from it holds are the same."""
    args = request.args if args is None else args
    record_type = model.record_type
    names = ("q", *extra, "owner", "tag", *(("organisation",) if model is Person else ()),
             *field_filter.PARAMS)
    values = {name: args.get(name, "").strip() for name in names}
    shown = ListFilter(values, {}, None, owner_choices(session), tag_choices(session, model),
                       fields.shown(session, record_type, current_user), None)
    shown.field = field_filter.chosen(shown.fields, values["cf"])
    conditions = []
    for name, make in (("q", _name), *((field, _equal(field)) for field in extra),
                       ("owner", _owner), ("tag", _tag), ("organisation", _membership),
                       ("cf", _custom)):
        if not values.get(name):
            continue
        try:
            condition = make(shown, values[name])
            filters.compile_filter(model, condition, current_user)
        except ValidationError as exc:
            for key, message in exc.errors.items():
                shown.errors.setdefault(key if key in values else REFUSED.get(name, name),
                                        message)
            continue
        conditions.append(condition)
    shown.filter = {"and": conditions} if conditions else None
    return shown


def _name(shown: ListFilter, text: str) -> dict:
    return {"field": "name", "op": "contains", "value": text}


def _equal(field: str):
    return lambda shown, value: {"field": field, "op": "eq", "value": value}


def _owner(shown: ListFilter, value: str) -> dict:
    if value not in dict(shown.owners):
        raise ValidationError({"owner": _("Choose an owner from the list.")})
    if value == OWNER_NONE:
        return {"field": "owner_id", "op": "empty"}
    # "me" stays "me" in a saved segment: a shared one shows each viewer their own.
    return {"field": "owner_id", "op": "eq",
            "value": filters.ME if value == OWNER_ME else int(value)}


def _tag(shown: ListFilter, name: str) -> dict:
    if name not in shown.tags:
        raise ValidationError({"tag": _("Choose a tag from the list.")})
    return {"tag": name}


def _membership(shown: ListFilter, text: str) -> dict:
    """A current member of an organisation whose name holds ``text``."""
    return {"membership": {"organisation": {"field": "name", "op": "contains", "value": text},
                           "current": True}}


def _custom(shown: ListFilter, key: str) -> dict:
    if shown.field is None:
        raise ValidationError({"cf": _("Choose a field from the list.")})
    return field_filter.condition(shown.field, shown.values["cf_op"],
                                  shown.values["cf_value"])


def owner_choices(session: Session) -> list[tuple[str, str]]:
    """Whose records the list may show: mine, nobody's, or a staff member's."""
    staff = session.scalars(select(User).where(User.kind == "staff")
                            .order_by(User.full_name, User.email))
    return [(OWNER_ME, _("Me")), (OWNER_NONE, _("Nobody")),
            *((str(u.id), u.full_name or u.email) for u in staff)]


def tag_choices(session: Session, model) -> list[str]:
    """The tags of the records of this type the person may see, by name."""
    seen = records.visible(model, current_user).with_only_columns(model.id)
    return list(session.scalars(
        select(Tag.name).join(Tagging, Tagging.tag_id == Tag.id)
        .where(Tagging.record_type == model.record_type, Tagging.record_id.in_(seen))
        .distinct().order_by(Tag.name)))


def filtered(session: Session, model, record_type: str, extra: tuple[str, ...] = ()):
    """The visible records the request asks for: a segment's members and/or the list's
    own filter. Returns (query, segment, the list's filter form)."""
    segment = None
    segment_id = form_id(request.args.get("segment"))
    if segment_id is not None:
        segment = segments.get(session, segment_id, current_user)
    query = records.visible(model, current_user)
    if segment is not None and segment.record_type == record_type:
        try:
            query = segments.members(session, segment, current_user)
        except ValidationError:  # its filter names a field this user may not see
            flash(_("This segment filters by a field you may not see, so it shows nothing "
                    "to you."), "error")
            query = query.where(false())
    shown = list_filter(session, model, extra=extra)
    try:
        query = filters.apply(query, model, shown.filter, current_user)
    except ValidationError as exc:
        for message in exc.errors.values():
            flash(message, "error")
    return query, segment, shown


def shown_list(session: Session, model, extra: tuple[str, ...] = ()) -> dict:
    """What a list page shows: the page of rows the filter and segment give, in the order
    and columns the person chose, with what its forms and links need."""
    record_type = model.record_type
    query, segment, shown = filtered(session, model, record_type, extra)
    columns = list_columns.chosen(session, record_type)
    sort = list_columns.sort(record_type, columns)
    by_column = sort.removeprefix("-") != list_columns.DEFAULT_SORT
    rows = page(session, query, model, request.args.get("after"), sort=sort,
                sort_fields=list_columns.sort_fields(session, model) if by_column else None)
    owners = any(c.key == "owner_id" for c in columns)
    return {"page": rows, "count": count(session, query, rows), "segment": segment,
            "shown": shown, "sort": sort, "columns": columns,
            "name_column": list_columns.NAMES[record_type],
            "choices": list_columns.available(session, record_type),
            "keep": {**shown.args(), "segment": segment.id if segment else None},
            "users": users_by_id(session) if owners else {},
            "saved": segments.visible_segments(session, current_user, record_type)}


def page(session: Session, query: Select, model, after: str | None = None,
         size: int = PAGE, sort: str | None = None, sort_fields: dict | None = None
         ) -> Page:
    """Rows ordered by name (or by ``sort``, as ``filters.sort`` takes it with the fields
    ``sort_fields``); ``after`` continues where the previous page ended."""
    if sort and sort != "name":
        return _sorted_page(session, query, model, sort, after, size, sort_fields)
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
                 size: int, sort_fields: dict | None = None) -> Page:
    """A page in another order than by name; ``after`` is "@<rows before it>"."""
    skip = form_id(after[1:]) if after and after.startswith("@") else None
    skip = skip or 0
    keys = [sort] if sort.removeprefix("-") == "name" else [sort, "name"]
    query = filters.sort(query, model, keys, sort_fields)
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

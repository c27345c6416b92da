"""The one filter language: lists, segments, mailing audiences, API queries and exports.

A filter is JSON, compiled to one SQL condition (nothing is filtered in Python):

* ``{"and": [f, ...]}``, ``{"or": [f, ...]}``, ``{"not": f}``; an empty "and" matches
  every record, an empty "or" is refused.
* ``{"field": "city", "op": "eq", "value": "Poznań"}``. Ops: eq, ne, contains,
  starts_with, in, between ([low, high], inclusive), gt, gte, lt, lte, empty, not_empty;
  which of them a field takes depends on its kind (text, integer, number, date,
  datetime, boolean). Text compares ignoring case (Polish letters too, on both databases);
  identifier fields (NIP, REGON, KRS, PESEL, phone) ignore the separators people type.
  Wherever a date is expected: "YYYY-MM-DD", "today", ``{"days_ago": N}`` or
  ``{"days_ahead": N}``; on a date-time field a date means that whole day in the
  installation's time zone. A field with many values per record (a person's e-mails)
  matches when any value does; ne and empty then mean that none does.
* ``"custom.<key>"`` compares the record's ``custom`` JSON value; the kind comes from
  the value given (text, number, true/false, or a date as above, compared on the ISO
  text), and values of another JSON type never match (nor break the query).
* On a field naming a staff member (owner_id, assignee_id, created_by_id,
  updated_by_id) the value ``"me"`` is whoever the filter is compiled for, so a shared
  segment "mine" is each viewer's own.
* ``{"tag": "VIP"}``: has the tag. ``{"membership": {"organisation": f, "role": "text
  contained", "current": true}}`` (people): has such a membership; ``"current": false``
  asks for one that is not current. ``{"members": f}`` (organisations): has a current
  member matching the people filter ``f``. ``{"related": {"type": "organisation",
  "link_type": "...", "filter": f}}``: linked in either direction to such a record.
  ``{"activity": {"kind": "call", "since": {"days_ago": 90}, "until": ...}}``: has such
  an activity. ``{"consent": "newsletter"}`` (people): has a valid consent to that
  processing purpose (see ``core.consents``). ``{"near": {"town": "Lublin", "km": 30}}``
  (organisations by their town, people by any address's): within 30 km of the town, or
  of ``"latitude"`` and ``"longitude"`` (see ``core.places``). Records reached through
  these always start from ``records.visible``.

Field names are looked up in a whitelist per record type (``FIELDS``, which other record
types extend with ``register``) and values are always bound parameters, so nothing a
user sends becomes SQL text. Every problem (unknown field, operator or key, wrong value,
malformed structure, nesting deeper than 10 levels, more than 200 conditions) raises
``ValidationError`` keyed by its path: ``{"filter.and.1.field": "Unknown field 'ciry'
for organisations."}``. ``sort`` orders by whitelisted fields ("name", "-created_at").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    inspect,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from core import config, identifiers, records
from core.defaults import CORE_TERMS
from core.errors import ValidationError
from core.field_sql import SCALAR, CustomValue
from core.models import (
    Activity,
    ActivityLink,
    Address,
    ContactPoint,
    Membership,
    Organisation,
    Person,
    RecordLink,
    Tag,
    Tagging,
)
from core.models.activity import KINDS as ACTIVITY_KINDS
from core.terms import TermRegistry, term
from core.text import name_key

USER_FIELDS = ("owner_id", "assignee_id", "created_by_id", "updated_by_id")
ME = "me"
MAX_DEPTH = 10
MAX_CONDITIONS = 200
MAX_VALUES = 1000  # in one "in" list
MAX_SORT_KEYS = 5
INTEGER_RANGE = range(-2**31, 2**31)  # ids and other INTEGER columns

ORDERED = {"eq", "ne", "in", "between", "gt", "gte", "lt", "lte", "empty", "not_empty"}
OPS = {
    "text": {"eq", "ne", "contains", "starts_with", "in", "empty", "not_empty"},
    "integer": ORDERED,
    "number": ORDERED,
    "date": ORDERED,
    "datetime": ORDERED,
    "boolean": {"eq", "ne", "empty", "not_empty"},
}
ALL_OPS = set().union(*OPS.values())
NO_VALUE = {"empty", "not_empty"}
# For a field with many values: these ops mean "no value is ..." (NOT EXISTS of the other).
NEGATED = {"ne": "eq", "empty": "not_empty"}
SPECIAL = ("and", "or", "not", "tag", "membership", "members", "related", "activity")
# Accepted as well, though the "Not a valid filter" message lists only SPECIAL.
CONDITIONS = (*SPECIAL, "consent", "near")

_CUSTOM_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
# Upper-case Polish letters, which SQLite's lower() leaves as they are.
_POLISH_UPPER = "ĄĆĘŁŃÓŚŹŻ"
# JSON types as SQLite's json_type() and PostgreSQL's jsonb_typeof() name them.
JSON_STRING = ("text", "string")
JSON_NUMBER = ("integer", "real", "number")
JSON_BOOLEAN = ("true", "false", "boolean")


# --------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Field:
    """A field filters may compare.

    ``column(model)`` is its SQL expression on the record; a field with many values per
    record has ``rows(model)`` instead, giving (value column, condition tying a value
    row to the record). ``identifier`` names the kind for ``identifiers.normalise``.
    """

    kind: str
    column: Callable[[Any], ColumnElement] | None = None
    rows: Callable[[Any], tuple[ColumnElement, ColumnElement]] | None = None
    sort_by: Callable[[Any], ColumnElement] | None = None
    identifier: str = ""

    @property
    def sortable(self) -> bool:
        return self.rows is None


def attribute(name: str, kind: str = "text", identifier: str = "",
              sort_by: Callable[[Any], ColumnElement] | None = None) -> Field:
    """A field that is a column of the record's own table."""
    return Field(kind, column=lambda model: getattr(model, name), sort_by=sort_by,
                 identifier=identifier)


def _contacts(kind: str) -> Callable:
    def rows(model):
        contact = aliased(ContactPoint)
        return contact.value, and_(contact.person_id == model.id, contact.kind == kind)
    return rows


def _addresses(name: str) -> Callable:
    def rows(model):
        address = aliased(Address)
        return getattr(address, name), address.person_id == model.id
    return rows


# Names are compared as people mean them: without case, diacritics, punctuation or a
# legal form ("korn" finds "Gmina Kórnik", "Firma X sp. z o.o." equals "firma x"), the
# same way as the list pages' search and duplicate detection.
NAME = Field("text", column=lambda m: m.name_key, sort_by=lambda m: m.name_key,
             identifier="name")


def _common() -> dict[str, Field]:
    return {"id": attribute("id", "integer"), "owner_id": attribute("owner_id", "integer"),
            "created_at": attribute("created_at", "datetime"),
            "updated_at": attribute("updated_at", "datetime")}


FIELDS: dict[str, dict[str, Field]] = {
    "organisation": {
        "name": NAME,
        **{name: attribute(name) for name in (
            "short_name", "type_key", "email", "website", "street", "postal_code", "city",
            "region", "country", "notes")},
        **{name: attribute(name, identifier=name) for name in ("nip", "regon", "krs", "phone")},
        **_common(),
    },
    "person": {
        "name": NAME,
        "first_name": attribute("first_name"),
        "last_name": attribute("last_name"),
        "pesel": attribute("pesel", identifier="pesel"),
        "notes": attribute("notes"),
        "email": Field("text", rows=_contacts("email")),
        "phone": Field("text", rows=_contacts("phone"), identifier="phone"),
        "city": Field("text", rows=_addresses("city")),
        "region": Field("text", rows=_addresses("region")),
        **_common(),
    },
    "case": {
        **{name: attribute(name) for name in ("title", "process_key", "phase_key",
                                               "currency", "description")},
        **{name: attribute(name, "integer") for name in ("organisation_id", "parent_id")},
        **{name: attribute(name, "number") for name in ("amount", "cost")},
        "phase_entered_at": attribute("phase_entered_at", "datetime"),
        **_common(),
    },
    "task": {  # no owner_id: whose task it is, is assignee_id
        **{name: attribute(name) for name in ("title", "description", "status")},
        **{name: attribute(name, "integer") for name in (
            "id", "assignee_id", "team_id", "priority", "created_by_id")},
        **{name: attribute(name, "datetime") for name in (
            "due_at", "remind_at", "completed_at", "created_at", "updated_at")},
    },
}
# The term naming each record type in messages ("Unknown field ... for organisations").
TERMS: dict[str, str] = {"organisation": "core.organisation", "person": "core.person",
                         "case": "core.case", "task": "core.task"}


def register(record_type: str, fields: dict[str, Field], term_key: str) -> None:
    """Make a record type filterable (or add fields to one)."""
    FIELDS.setdefault(record_type, {}).update(fields)
    TERMS[record_type] = term_key


def record_type_of(model) -> str:
    """The record type key of a model class or of an alias of one."""
    return inspect(model).mapper.class_.record_type


def fields_of(model) -> dict[str, Field]:
    record_type = record_type_of(model)
    if record_type not in FIELDS:
        raise ValueError(f"No filter fields are registered for '{record_type}'")
    return FIELDS[record_type]


# --------------------------------------------------------------------- the public API


def compile_filter(model, filter: dict | None, actor=None, path: str = "filter"
                   ) -> ColumnElement:
    """The SQL condition for ``filter`` on ``model`` (None: every record)."""
    if filter is None:
        return true()
    return _Compiler(actor, path).node(model, filter, path, 1)


def apply(query: Select, model, filter: dict | None, actor=None) -> Select:
    """``query`` narrowed to the records matching ``filter``."""
    return query.where(compile_filter(model, filter, actor))


def sort(query: Select, model, keys: str | list[str],
         more: dict[str, Field] | None = None, actor=None) -> Select:
    """Order by whitelisted fields: "name", "-created_at", or several ("city,-id").

    The record id comes last, so pages of equal keys are stable. ``more`` adds or
    replaces fields for this order only: a list's columns order as people read them
    (an organisation's type by its label, a person by the first e-mail address). A
    custom field ``actor`` may not see cannot order the records (their order would tell
    its values); None is the system.
    """
    fields = {**fields_of(model), **(more or {})}
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",")]
    if not isinstance(keys, list) or not keys or len(keys) > MAX_SORT_KEYS:
        raise ValidationError({"sort": _("Give one to %(count)d fields to sort by.",
                                         count=MAX_SORT_KEYS)})
    for key in keys:
        name = key[1:] if isinstance(key, str) and key.startswith("-") else key
        field = fields.get(name) if isinstance(name, str) else None
        if field is None and isinstance(name, str) and name.startswith("custom."):
            field = _custom_sort(model, name.removeprefix("custom."), actor)
        if field is None or not field.sortable:
            choices = ", ".join(sorted(n for n, f in fields.items() if f.sortable))
            raise ValidationError({"sort": _(
                "You cannot sort by '%(key)s'. Choose one of: %(choices)s.",
                key=_shown(key), choices=choices)})
        expression = (field.sort_by or field.column)(model)
        ordered = expression.desc() if key.startswith("-") else expression.asc()
        query = query.order_by(ordered.nulls_last())
    return query.order_by(model.id)


# --------------------------------------------------------------------- compiling


class _Compiler:
    """One compilation: the actor, and the count of conditions across the filter."""

    def __init__(self, actor, root: str):
        self.actor = actor
        self.root = root
        self.conditions = 0

    def node(self, model, node, path: str, depth: int) -> ColumnElement:
        if depth > MAX_DEPTH:
            raise _error(path, _("Filters can be nested at most %(depth)d levels deep.",
                                 depth=MAX_DEPTH))
        if isinstance(node, dict) and "field" in node:
            self._count()
            return self.condition(model, node, path)
        if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in CONDITIONS:
            raise _error(path, _("Not a valid filter: give a condition with \"field\", "
                                 "\"op\" and \"value\", or one of: %(keys)s.",
                                 keys=", ".join(SPECIAL)))
        key, spec = next(iter(node.items()))
        path = f"{path}.{key}"
        if key in ("and", "or"):
            return self.group(model, key, spec, path, depth)
        if key == "not":
            return not_(self.node(model, spec, path, depth + 1))
        self._count()
        return getattr(self, key)(model, spec, path, depth)

    def _count(self) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _error(self.root, _("A filter can have at most %(count)d conditions.",
                                      count=MAX_CONDITIONS))

    def group(self, model, key: str, spec, path: str, depth: int) -> ColumnElement:
        if not isinstance(spec, list):
            raise _error(path, _("Give a list of conditions."))
        if not spec:
            if key == "or":
                raise _error(path, _("Give at least one condition."))
            return true()
        parts = [self.node(model, child, f"{path}.{i}", depth + 1)
                 for i, child in enumerate(spec)]
        return and_(*parts) if key == "and" else or_(*parts)

    # ----------------------------------------------------------------- field conditions

    def condition(self, model, node: dict, path: str) -> ColumnElement:
        for key in node:
            if key not in ("field", "op", "value"):
                raise _error(f"{path}.{key}", _("Unknown key '%(key)s'.", key=_shown(key)))
        name, op = node["field"], node.get("op")
        if not isinstance(name, str) or not name:
            raise _error(f"{path}.field", _("Give the name of a field."))
        if not isinstance(op, str) or op not in ALL_OPS:
            raise _error(f"{path}.op", _("Unknown operator '%(op)s'. Use one of: %(ops)s.",
                                         op=_shown(op), ops=", ".join(sorted(ALL_OPS))))
        if name.startswith("custom."):
            return self.custom(model, name, op, node, path)
        field = fields_of(model).get(name)
        if field is None:
            raise _error(f"{path}.field", _("Unknown field '%(field)s' for %(records)s.",
                                            field=_shown(name),
                                            records=_records_noun(record_type_of(model))))
        _check_op(field.kind, op, name, path)
        if name in USER_FIELDS and node.get("value") == ME:  # whoever is looking
            node = {**node, "value": getattr(self.actor, "id", None) or 0}
        value = _values(field.kind, op, node, path, field.identifier)
        if field.rows is None:
            return _compare(field.kind, field.column(model), op, value)
        column, belongs = field.rows(model)
        if op in NEGATED:
            return ~exists().where(belongs, _compare(field.kind, column, NEGATED[op], value))
        return exists().where(belongs, _compare(field.kind, column, op, value))

    def custom(self, model, name: str, op: str, node: dict, path: str) -> ColumnElement:
        key = name.removeprefix("custom.")
        if not _CUSTOM_KEY.fullmatch(key):
            raise _error(f"{path}.field", _("A custom field's key has only letters, digits "
                                            "and underscores."))
        found = _definition(model, key)
        if found is not None and not may_see(found, self.actor):
            # Which records match would tell the values of a field hidden from them.
            raise _error(f"{path}.field", _("You may not filter by this field."))
        if found is not None:
            return self.typed_custom(model, found, op, node, path)
        element = model.custom[key]
        if op in NO_VALUE:
            _values("text", op, node, path)
            text = element.as_string()
            missing = or_(text.is_(None), text == "")
            return missing if op == "empty" else not_(missing)
        kind = _custom_kind(op, node.get("value"))
        _check_op(kind, op, name, path)
        value = _values(kind, op, node, path)
        json_type = JsonType(model.custom, literal(f'$."{key}"'), literal(key))
        if kind == "number":
            column = case((json_type.in_(JSON_NUMBER), element.as_float()))
        elif kind == "boolean":
            column = case((json_type.in_(JSON_BOOLEAN), element.as_boolean()))
        elif kind == "date":
            text = element.as_string()
            column = case((and_(json_type.in_(JSON_STRING), text.like("____-__-__%")),
                           func.substr(text, 1, 10)))
            value = _iso(value)
        else:
            column = case((json_type.in_(JSON_STRING), element.as_string()))
        return _compare(kind, column, op, value)

    def typed_custom(self, model, definition, op: str, node: dict, path: str):
        """A defined custom field: compared as its type, on the indexed expression."""
        name = f"custom.{definition.key}"
        kind = custom_kind(definition)
        if kind == "multi":
            return self.multi(model, definition, op, node, path)
        compare_as = {"key": "integer", "money": "number", "relation": "integer"}.get(kind, kind)
        _check_op("text" if kind == "key" else compare_as, op, name, path)
        if kind == "key" and op in ("contains", "starts_with"):
            raise _error(f"{path}.op", _("A choice is compared as a whole: use eq, ne or in."))
        value = _values("text" if kind == "key" else compare_as, op, node, path)
        column = CustomValue(model.custom, definition.key, kind)
        if kind == "date":
            value = _iso(value)
        if kind == "datetime":
            value = _iso_moments(value)
            return _moments(column, op, value) if op not in NO_VALUE else \
                _compare("text", column, op, value)
        if kind == "key" and op not in NO_VALUE:
            return _ordered(column, op, value)
        if kind == "boolean" and op not in NO_VALUE:
            return _ordered(column, op, value)
        return _compare(compare_as if kind != "key" else "text", column, op, value)

    def multi(self, model, definition, op: str, node: dict, path: str) -> ColumnElement:
        """Multiple choice: eq (has this one), in (has any of), ne (has not), empty."""
        if op not in ("eq", "ne", "in", "empty", "not_empty"):
            raise _error(f"{path}.op", _("A multiple choice takes eq, ne, in, empty or "
                                         "not_empty."))
        value = _values("text", op, node, path)
        items = _json_items(model.custom, definition.key)
        if op in NO_VALUE:
            has = exists(select(literal(1)).select_from(items))
            return has if op == "not_empty" else ~has
        wanted = value if op == "in" else [value]
        has = exists(select(literal(1)).select_from(items).where(items.c.value.in_(wanted)))
        return ~has if op == "ne" else has

    # ----------------------------------------------------------------- special conditions

    def tag(self, model, spec, path: str, depth: int) -> ColumnElement:
        if not isinstance(spec, str) or not spec.strip():
            raise _error(path, _("Give the name of a tag."))
        name = " ".join(_one("text", spec, path).split()).lower()
        tagging, tag = aliased(Tagging), aliased(Tag)
        return exists().where(tagging.record_type == record_type_of(model),
                              tagging.record_id == model.id, tagging.tag_id == tag.id,
                              folded(tag.name) == name)

    def membership(self, model, spec, path: str, depth: int) -> ColumnElement:
        self._only(model, "person", "membership", path)
        _check_keys(spec, ("organisation", "role", "current"), path)
        membership, organisation = aliased(Membership), aliased(Organisation)
        organisations = self._visible(organisation, spec.get("organisation"),
                                      f"{path}.organisation", depth)
        clauses = [membership.person_id == model.id,
                   membership.organisation_id.in_(organisations)]
        if "role" in spec:
            role = _one("text", spec["role"], f"{path}.role")
            clauses.append(folded(membership.role).contains(role.lower(), autoescape=True))
        if "current" in spec:
            current = _one("boolean", spec["current"], f"{path}.current")
            clauses.append(_current(membership) if current else not_(_current(membership)))
        return exists().where(*clauses)

    def members(self, model, spec, path: str, depth: int) -> ColumnElement:
        self._only(model, "organisation", "members", path)
        membership, person = aliased(Membership), aliased(Person)
        people = self._visible(person, spec, path, depth)
        return exists().where(membership.organisation_id == model.id,
                              membership.person_id.in_(people), _current(membership))

    def related(self, model, spec, path: str, depth: int) -> ColumnElement:
        _check_keys(spec, ("type", "link_type", "filter"), path)
        other_type = spec.get("type")
        if not isinstance(other_type, str) or other_type not in FIELDS \
                or other_type not in records.record_types():
            raise _error(f"{path}.type", _("Unknown kind of record '%(type)s'.",
                                           type=_shown(other_type)))
        other = aliased(records.record_types()[other_type])
        ids = self._visible(other, spec.get("filter"), f"{path}.filter", depth)
        link, mine = aliased(RecordLink), record_type_of(model)
        clauses = [or_(
            and_(link.source_type == mine, link.source_id == model.id,
                 link.target_type == other_type, link.target_id.in_(ids)),
            and_(link.target_type == mine, link.target_id == model.id,
                 link.source_type == other_type, link.source_id.in_(ids)))]
        if "link_type" in spec:
            clauses.append(link.link_type == _one("text", spec["link_type"],
                                                  f"{path}.link_type"))
        return exists().where(*clauses)

    def activity(self, model, spec, path: str, depth: int) -> ColumnElement:
        _check_keys(spec, ("kind", "since", "until"), path)
        link = aliased(ActivityLink)
        clauses = [link.record_type == record_type_of(model), link.record_id == model.id]
        if "kind" in spec:
            kinds = spec["kind"] if isinstance(spec["kind"], list) else [spec["kind"]]
            if not kinds or any(k not in ACTIVITY_KINDS for k in kinds):
                raise _error(f"{path}.kind", _("Choose a kind of activity from the list."))
            activity = aliased(Activity)
            clauses += [activity.id == link.activity_id, activity.kind.in_(kinds)]
        if "since" in spec:
            clauses.append(link.occurred_at >= _interval(spec["since"], f"{path}.since")[0])
        if "until" in spec:
            clauses.append(link.occurred_at < _interval(spec["until"], f"{path}.until")[1])
        return exists().where(*clauses)

    def consent(self, model, spec, path: str, depth: int) -> ColumnElement:
        from core import consents

        self._only(model, "person", "consent", path)
        return consents.filter_condition(model.id, spec, path)

    def near(self, model, spec, path: str, depth: int) -> ColumnElement:
        from core import places

        if record_type_of(model) == "person":
            address = aliased(Address)
            return exists().where(address.person_id == model.id,
                                  places.near(address.city, address.country, spec, path))
        self._only(model, "organisation", "near", path)
        return places.near(model.city, model.country, spec, path)

    def _visible(self, alias, spec, path: str, depth: int) -> Select:
        """Ids of the visible records of ``alias`` matching ``spec`` (if given)."""
        query = records.visible(alias, self.actor).with_only_columns(alias.id)
        if spec is None:
            return query
        return query.where(self.node(alias, spec, path, depth + 1))

    def _only(self, model, record_type: str, condition: str, path: str) -> None:
        if record_type_of(model) != record_type:
            raise _error(path, _("The condition '%(condition)s' cannot be used for "
                                 "%(records)s.", condition=condition,
                                 records=_records_noun(record_type_of(model))))


# --------------------------------------------------------------------- values


def _check_op(kind: str, op: str, name: str, path: str) -> None:
    if op not in OPS[kind]:
        raise _error(f"{path}.op", _("The operator '%(op)s' cannot be used with the field "
                                     "'%(field)s'.", op=op, field=_shown(name)))


def _check_keys(spec, allowed: tuple[str, ...], path: str) -> None:
    if not isinstance(spec, dict):
        raise _error(path, _("Give an object with any of: %(keys)s.", keys=", ".join(allowed)))
    for key in spec:
        if key not in allowed:
            raise _error(f"{path}.{key}", _("Unknown key '%(key)s'.", key=_shown(key)))


def _values(kind: str, op: str, node: dict, path: str, identifier: str = ""):
    """The condition's value(s), checked and converted for ``kind`` and ``op``."""
    raw, path = node.get("value"), f"{path}.value"
    if op in NO_VALUE:
        if raw is not None:
            raise _error(path, _("The operator '%(op)s' takes no value.", op=op))
        return None
    if raw is None:
        raise _error(path, _("Give a value."))
    exact = op in ("eq", "ne", "in")
    if op == "in":
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VALUES:
            raise _error(path, _("Give a list of 1 to %(count)d values.", count=MAX_VALUES))
        return [_one(kind, v, f"{path}.{i}", identifier, exact) for i, v in enumerate(raw)]
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise _error(path, _("Give a list of two values: the lowest and the highest."))
        low, high = (_one(kind, v, f"{path}.{i}") for i, v in enumerate(raw))
        if (low[0] if kind == "datetime" else low) > (high[0] if kind == "datetime" else high):
            raise _error(path, _("The first value must not be greater than the second."))
        return low, high
    return _one(kind, raw, path, identifier, exact)


def _one(kind: str, raw, path: str, identifier: str = "", exact: bool = False):
    """One value of ``kind``; a date-time becomes a [start, end) pair of UTC instants."""
    if kind == "text":
        if not isinstance(raw, str):
            raise _error(path, _("Give a text value."))
        if not _storable(raw):
            raise _error(path, _("The text contains characters that cannot be stored."))
        return _identifier(identifier, raw, exact) if identifier else raw
    if kind == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in INTEGER_RANGE:
            raise _error(path, _("Give a whole number."))
        return raw
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not _finite(raw):
            raise _error(path, _("Give a number."))
        return float(raw)
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise _error(path, _("Give true or false."))
        return raw
    if kind == "date":
        return _day(raw, path)
    return _interval(raw, path)


def _storable(text: str) -> bool:
    """No NUL character (PostgreSQL refuses it) and no lone surrogate (not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _finite(number: int | float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _identifier(kind: str, value: str, exact: bool) -> str:
    """A whole identifier in its stored spelling; a part of one without separators."""
    if kind == "name":  # punctuation alone folds to nothing: keep it, so it matches nothing
        return name_key(value) or value.lower()
    if exact:
        try:
            return identifiers.normalise(kind, value) or value.strip()
        except ValidationError:
            pass
    return _SEPARATORS.sub("", value)


def _custom_kind(op: str, raw) -> str:
    """The kind of a custom field's comparison, from the value given."""
    if op in ("contains", "starts_with"):
        return "text"
    sample = raw[0] if op in ("in", "between") and isinstance(raw, list) and raw else raw
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int | float):
        return "number"
    if sample == "today" or isinstance(sample, dict) or (
            isinstance(sample, str) and _ISO_DATE.fullmatch(sample)):
        return "date"
    return "text"


def _iso(value):
    """Dates as ISO text, for custom values stored as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_iso(v) for v in value)
    return value


def _iso_moments(value):
    """[start, end) datetimes as the UTC ISO text custom date-times are stored in."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, list):
        return [_iso_moments(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_iso_moments(v) for v in value)
    return value


def _custom_sort(model, key: str, actor=None) -> Field | None:
    """A defined custom field with one value per record sorts by its indexed expression."""
    found = _definition(model, key)
    if found is None or custom_kind(found) not in SCALAR or not may_see(found, actor):
        return None
    kind = custom_kind(found)
    return Field(kind, column=lambda m: CustomValue(m.custom, found.key, kind))


def may_see(definition, actor) -> bool:
    from core.fields import may_see as allowed

    return allowed(definition, actor)


def _definition(model, key: str):
    from core.fields import request_definitions

    return next((d for d in request_definitions(record_type_of(model)) if d.key == key), None)


def custom_kind(definition) -> str:
    from core.fields import field_types

    found = field_types().get(definition.type)
    return found.kind if found else "text"


def _json_items(column, key: str):
    """The elements of a JSON list value, as a table with a ``value`` column."""
    if _dialect() == "postgresql":
        return func.jsonb_array_elements_text(
            func.coalesce(column.op("->")(literal_column(f"'{key}'")),
                          literal_column("'[]'::jsonb"))).table_valued("value")
    return func.json_each(column, literal_column(f"'$.{key}'")).table_valued("value")


def _dialect() -> str:
    from core.web.db import db

    return db().get_bind().dialect.name if has_app_context() else "sqlite"


def zone() -> ZoneInfo:
    """The installation's time zone, in which "today" and whole days are meant."""
    if has_app_context() and "kartoteka" in current_app.extensions:
        return ZoneInfo(current_app.extensions["kartoteka"].settings.timezone)
    return ZoneInfo(config.Settings.timezone)


def today() -> date:
    return datetime.now(zone()).date()


def _day(raw, path: str) -> date:
    if raw == "today":
        return today()
    if isinstance(raw, dict) and len(raw) == 1:
        (key, days), = raw.items()
        if (key in ("days_ago", "days_ahead") and isinstance(days, int)
                and not isinstance(days, bool) and 0 <= days <= 36500):
            return today() + timedelta(days=days if key == "days_ahead" else -days)
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if date.min < day < date.max:
                return day
    raise _error(path, _("Give a date as YYYY-MM-DD, \"today\", {\"days_ago\": N} or "
                         "{\"days_ahead\": N}."))


def _interval(raw, path: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC: a whole day in the installation's zone, or one instant."""
    if isinstance(raw, str) and len(raw) > 10 and _ISO_DATE.match(raw):
        try:
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone())
            moment = moment.astimezone(UTC)
            return moment, moment + timedelta(microseconds=1)
        except (ValueError, OverflowError):
            raise _error(path, _("Give a date and time as YYYY-MM-DDTHH:MM, with or "
                                 "without a time zone.")) from None
    day = _day(raw, path)
    start = datetime.combine(day, time(), zone())
    end = datetime.combine(day + timedelta(days=1), time(), zone())
    return start.astimezone(UTC), end.astimezone(UTC)


# --------------------------------------------------------------------- SQL


def folded(expression) -> ColumnElement:
    """Lower case on both databases (SQLite's lower() knows only ASCII letters)."""
    for letter in _POLISH_UPPER:
        expression = func.replace(expression, literal_column(f"'{letter}'"),
                                  literal_column(f"'{letter.lower()}'"))
    return func.lower(expression)


def _compare(kind: str, column, op: str, value) -> ColumnElement:
    if op == "empty":
        return or_(column.is_(None), column == "") if kind == "text" else column.is_(None)
    if op == "not_empty":
        return and_(column.is_not(None), column != "") if kind == "text" else \
            column.is_not(None)
    if kind == "text":
        return _text(column, op, value)
    if kind == "datetime":
        return _moments(column, op, value)
    return _ordered(column, op, value)


def _text(column, op: str, value) -> ColumnElement:
    key = folded(column)
    if op == "contains":
        return key.contains(value.lower(), autoescape=True)
    if op == "starts_with":
        return key.startswith(value.lower(), autoescape=True)
    if op == "in":
        return key.in_([v.lower() for v in value])
    if op == "eq":
        return key == value.lower()
    return or_(column.is_(None), key != value.lower())


def _ordered(column, op: str, value) -> ColumnElement:
    if op == "in":
        return column.in_(value)
    if op == "between":
        return column.between(*value)
    if op == "ne":
        return or_(column.is_(None), column != value)
    return {"eq": column.__eq__, "gt": column.__gt__, "gte": column.__ge__,
            "lt": column.__lt__, "lte": column.__le__}[op](value)


def _moments(column, op: str, value) -> ColumnElement:
    """Comparisons with [start, end) intervals (a day, or one instant)."""
    if op == "in":
        return or_(*(_moments(column, "eq", v) for v in value))
    if op == "between":
        return and_(column >= value[0][0], column < value[1][1])
    start, end = value
    return {"eq": lambda: and_(column >= start, column < end),
            "ne": lambda: or_(column.is_(None), column < start, column >= end),
            "gt": lambda: column >= end, "gte": lambda: column >= start,
            "lt": lambda: column < start, "lte": lambda: column < end}[op]()


def _current(membership) -> ColumnElement:
    day = today()
    return and_(or_(membership.start_date.is_(None), membership.start_date <= day),
                or_(membership.end_date.is_(None), membership.end_date >= day))


class JsonType(FunctionElement):
    """The JSON type of ``custom[key]``: json_type() on SQLite, jsonb_typeof() on
    PostgreSQL; compare with the JSON_* tuples, which hold both spellings."""

    type = String()
    name = "json_type"
    inherit_cache = True


@compiles(JsonType, "sqlite")
def _json_type_sqlite(element, compiler, **kw):
    column, path, _key = element.clauses
    return f"json_type({compiler.process(column, **kw)}, {compiler.process(path, **kw)})"


@compiles(JsonType, "postgresql")
def _json_type_postgresql(element, compiler, **kw):
    column, _path, key = element.clauses
    return f"jsonb_typeof({compiler.process(column, **kw)} -> {compiler.process(key, **kw)})"


# --------------------------------------------------------------------- messages


def _error(path: str, message: str) -> ValidationError:
    return ValidationError({path: message})


def _shown(value) -> str:
    """User input quoted in a message, cut short."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _records_noun(record_type: str) -> str:
    """'organisations' for 'organisation', in the installation's terms."""
    key = TERMS.get(record_type, record_type)
    if has_app_context() and "kartoteka" in current_app.extensions:
        return term(key, case="gen", plural=True)
    registry = TermRegistry({t.key: t for t in CORE_TERMS}, "en")
    return registry.get(key, case="gen", plural=True)


"""The columns of the organisation and people lists: the built-in ones, the custom fields
the person may see, the ones each account chose to show (kept with ``core.preferences``;
until it chooses, the defaults), the order a column's header gives the list, and the
columns of the list's download."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case, func, select

from core import filters, organisations, preferences
from core.filters import Field
from core.importing import FIELDS
from core.models import Address, ContactPoint, Organisation, User
from core.web import record_fields
from core.web.auth import safe_next
from core.web.db import db
from core.web.i18n import current_locale

DEFAULT_SORT = "name"


@dataclass(frozen=True)
class Builtin:
    """A column of the record's own data; ``exported`` names its columns in a download
    (``core.exporting.named_columns``)."""

    key: str
    label: object  # a lazy translation
    sortable: bool = True
    default: bool = False
    identifier: str = ""  # the kind the cell is grouped as (NIP 525-000-12-33)
    exported: tuple[str, ...] = ()
    custom = False

    @property
    def sort_key(self) -> str:
        return self.key


def _own(key: str, default: bool = False, identifier: str = "") -> Builtin:
    """A column of an organisation's attribute, labelled as its form field."""
    return Builtin(
        key, FIELDS["organisation"][key], default=default, identifier=identifier, exported=(key,)
    )


OWNER = Builtin("owner_id", _l("Owner"), exported=("owner",))
UPDATED = Builtin("updated_at", _l("Last changed"), exported=("updated_at",))
# The name comes first in every list and cannot be hidden.
NAMES = {
    "organisation": Builtin("name", _l("Name"), exported=("name",)),
    "person": Builtin("name", _l("Name"), exported=("first_name", "last_name")),
}
BUILTIN = {
    "organisation": (
        _own("type_key", default=True),
        _own("city", default=True),
        _own("nip", default=True, identifier="nip"),
        _own("short_name"),
        _own("regon", identifier="regon"),
        _own("krs", identifier="krs"),
        _own("email"),
        _own("phone", identifier="phone"),
        _own("website"),
        _own("postal_code"),
        _own("region"),
        OWNER,
        UPDATED,
    ),
    "person": (
        Builtin("email", _l("E-mail"), default=True, exported=("emails",)),
        Builtin("phone", _l("Phone"), default=True, identifier="phone", exported=("phones",)),
        Builtin("city", _l("City"), exported=("city",)),
        OWNER,
        UPDATED,
    ),
}


def preference_key(record_type: str) -> str:
    return f"list_columns.{record_type}"


def available(session, record_type: str) -> list:
    """Every column the person may show after the name: built-in, then custom fields."""
    return [*BUILTIN[record_type], *record_fields.list_columns(session, record_type)]


def chosen(session, record_type: str) -> list:
    """The columns the person shows: as they chose, or the defaults. A column whose field
    was deleted or hidden from them since is left out."""
    keys = preferences.get(session, current_user, preference_key(record_type))
    every = available(session, record_type)
    if not isinstance(keys, list):
        return [c for c in every if c.default]
    return [c for c in every if c.key in keys]


def choose(session, record_type: str, keys: list[str] | None) -> None:
    """Keep the person's choice of columns (those there are); None: the defaults."""
    if keys is not None:
        known = {c.key for c in available(session, record_type)}
        keys = [k for k in dict.fromkeys(keys) if k in known]
    preferences.put(session, current_user, preference_key(record_type), keys)


def sort(record_type: str, columns: list) -> str:
    """The list's order from its address: by name or by a column shown that has one ("-"
    first for descending); anything else is by name."""
    wanted = request.args.get("sort", "")
    key = wanted.removeprefix("-")
    known = [NAMES[record_type], *columns]
    return wanted if any(c.sortable and c.sort_key == key for c in known) else DEFAULT_SORT


def sort_fields(session, model) -> dict[str, Field]:
    """How the built-in columns order, for ``filters.sort``: as the cells read (a type by
    its label, a person by the first e-mail address), empty ones last."""
    if model is Organisation:
        found = {
            key: _text(key)
            for key in (
                "city",
                "nip",
                "short_name",
                "regon",
                "krs",
                "email",
                "phone",
                "website",
                "postal_code",
                "region",
            )
        }
        found["type_key"] = _type_label(session)
    else:
        found = {
            "email": _first(
                ContactPoint.value,
                ContactPoint.person_id,
                ContactPoint.kind == "email",
                ContactPoint.id,
            ),
            "phone": _first(
                ContactPoint.value,
                ContactPoint.person_id,
                ContactPoint.kind == "phone",
                ContactPoint.id,
            ),
            "city": _first(Address.city, Address.person_id, None, Address.id),
        }
    found["owner_id"] = Field("text", column=lambda m: m.owner_id, sort_by=_owner_name)
    return found


def exported(session, record_type: str) -> list[str] | None:
    """The download's columns (``core.exporting.named_columns``): those the person shows,
    or None for every field when the address asks for ``columns=all``."""
    if request.args.get("columns") == "all":
        return None
    names = list(NAMES[record_type].exported)
    for column in chosen(session, record_type):
        names += [column.key] if column.custom else column.exported
    return names


def save_choice(record_type: str, list_endpoint: str):
    """The "Columns" form: the ticked columns, or with ``reset`` the defaults, kept for
    the account; then back to the list as it was."""
    session = db()
    keys = None if request.form.get("reset") else request.form.getlist("column")
    choose(session, record_type, keys)
    session.commit()
    back = request.form.get("back", "")
    back = safe_next(back) if back.startswith(url_for(list_endpoint)) else url_for(list_endpoint)
    return redirect(back, code=303)


def _blank_last(expression):
    """Text in order regardless of case; an empty text sorts with the missing, last."""
    return func.nullif(filters.folded(expression), "")


def _text(key: str) -> Field:
    return Field(
        "text", column=lambda m: getattr(m, key), sort_by=lambda m: _blank_last(getattr(m, key))
    )


def _type_label(session) -> Field:
    host = current_app.extensions["kartoteka"].host
    labels = {
        key: t.label(current_locale()).lower()
        for key, t in organisations.types(session, host).items()
    }
    return Field(
        "text",
        column=lambda m: m.type_key,
        sort_by=lambda m: (
            case(labels, value=m.type_key, else_=m.type_key) if labels else m.type_key
        ),
    )


def _first(value, person_id, where, order) -> Field:
    """The value of a person's first e-mail, phone or address, as the list shows it."""

    def first(model):
        query = select(value).where(person_id == model.id)
        if where is not None:
            query = query.where(where)
        return _blank_last(query.order_by(order).limit(1).scalar_subquery())

    return Field("text", sort_by=first)


def _owner_name(model):
    name = func.coalesce(func.nullif(User.full_name, ""), User.email)
    return _blank_last(select(name).where(User.id == model.owner_id).scalar_subquery())

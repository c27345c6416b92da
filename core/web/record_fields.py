"""Custom fields on the staff pages: form inputs, posted values, card groups, list columns.

Who sees and who changes a field is decided by ``core.fields`` (``shown``, ``may_edit``),
and so are the fields a case of a process takes (``applies_to``); this module turns the
definitions into inputs, card lines and list columns, and a posted form into the
``custom`` values the record services validate.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_login import current_user

from core import fields
from core.field_sql import SCALAR
from core.fields import Definition
from core.fieldtypes import choice_labels
from core.filters import custom_kind
from core.web.i18n import current_locale

PREFIX = "custom."


@dataclass(frozen=True)
class Group:
    """Fields under one heading; the unnamed group comes first, without a heading."""

    name: str
    items: list


@dataclass(frozen=True)
class Input:
    """One custom field on a form: what the input holds and whether it may be changed."""

    definition: Definition
    value: object
    editable: bool
    locale: str

    @property
    def name(self) -> str:
        return PREFIX + self.definition.key

    @property
    def label(self) -> str:
        return self.definition.label(self.locale)

    @property
    def help(self) -> str:
        return self.definition.help(self.locale)

    @property
    def input(self) -> str:
        return input_of(self.definition)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return list(choice_labels(self.definition, self.locale).items())

    @property
    def checked(self) -> bool:
        return self.value is True or self.value == "true"

    @property
    def picked(self) -> list:
        return self.value if isinstance(self.value, list) else []


@dataclass(frozen=True)
class Line:
    """A value as a card shows it."""

    label: str
    value: str


@dataclass(frozen=True)
class Column:
    """A list column of a custom field; those marked for lists (``options.in_list``) are
    shown until the person chooses the list's columns."""

    definition: Definition
    locale: str
    custom = True

    @property
    def label(self) -> str:
        return self.definition.label(self.locale)

    @property
    def key(self) -> str:
        return PREFIX + self.definition.key

    @property
    def default(self) -> bool:
        return self.definition.in_list

    @property
    def sort_key(self) -> str:
        return self.key

    @property
    def sortable(self) -> bool:
        """Fields with one value per record; a list of choices has no order."""
        return custom_kind(self.definition) in SCALAR

    def value(self, record) -> str:
        return fields.display(record, self.definition, self.locale)


def input_of(definition: Definition) -> str:
    found = fields.field_types().get(definition.type)
    return found.form_input if found else "text"


def _grouped(pairs) -> list[Group]:
    """(group, item) pairs, already in form order, as groups in that order."""
    found: dict[str, list] = {}
    for group, item in pairs:
        found.setdefault(group, []).append(item)
    return [Group(name, items) for name, items in found.items()]


def form_groups(session, record_type: str, record=None, typed: dict | None = None,
                process_key: str | None = None) -> list[Group]:
    """The inputs of the fields the person may see; ``typed`` (what was posted) wins
    over the stored value, so a refused form shows what the person typed. A new case
    shows the fields of ``process_key``, a stored one those of its own process."""
    locale, pairs = current_locale(), []
    if record is not None:
        process_key = fields.process_of(record)
    for d in fields.shown(session, record_type, current_user, on_form=True,
                          process_key=process_key):
        editable = fields.may_edit(d, current_user)
        value = typed[d.key] if editable and typed is not None and d.key in typed \
            else fields.form_value(record, d)
        pairs.append((d.group, Input(d, value, editable, locale)))
    return _grouped(pairs)


def posted(session, record_type: str, process_key: str | None = None) -> dict:
    """The custom values of the posted form, as typed: only the fields the person may
    change and that were on the form (read-only and hidden fields are never sent), of a
    case those of ``process_key``.

    Each checkbox and checkbox group is preceded by a hidden input, so "on the form"
    holds for them too and an unticked checkbox reads as "false".
    """
    found: dict = {}
    for d in fields.shown(session, record_type, current_user, on_form=True,
                          process_key=process_key):
        name = PREFIX + d.key
        if not fields.may_edit(d, current_user) or name not in request.form:
            continue
        given = request.form.getlist(name)
        if input_of(d) == "checkboxes":
            found[d.key] = [v for v in given if v]
        elif input_of(d) == "checkbox":
            found[d.key] = "true" if given[-1] == "true" else "false"
        else:
            found[d.key] = given[-1]
    return found


def card_groups(session, record_type: str, record) -> list[Group]:
    """The record's custom values under their group headings, empty ones left out."""
    locale, pairs = current_locale(), []
    for d in fields.shown(session, record_type, current_user,
                          process_key=fields.process_of(record)):
        value = fields.display(record, d, locale)
        if value:
            pairs.append((d.group, Line(d.label(locale), value)))
    return _grouped(pairs)


def list_columns(session, record_type: str) -> list[Column]:
    """A column for each field the person may see, in form order."""
    locale = current_locale()
    return [Column(d, locale) for d in fields.shown(session, record_type, current_user)]

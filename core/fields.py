"""Custom fields: definitions an administrator (or a plugin) adds to a record type.

Values live in the record's ``custom`` JSON column. Every write path validates them with
one marshmallow schema built at run time from the active definitions (``schema``), so
forms, the API, import and plugins accept and refuse exactly the same values. The
definitions are cached per database and reloaded when the "fields" stamp moves
(core/stamps.py), so a change takes effect in every process without a restart.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import gettext as _
from marshmallow import RAISE, Schema
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core import records, stamps, validation
from core.errors import ValidationError
from core.fieldtypes import CORE_TYPES, FieldType
from core.models import FieldDefinition

STAMP = "fields"


@dataclass(frozen=True)
class CustomField:
    """A field definition a plugin ships (``kartoteka_register_fields``).

    The key must start with the plugin's name and an underscore
    (``photovoltaics_power``); administrators may adjust labels, position and
    settings afterwards, and their changes are kept across upgrades. A case field may
    belong to some ``processes`` only (their keys; none: every process).
    """

    record_type: str
    key: str
    type: str
    label: dict[str, str]
    help: dict[str, str] = field(default_factory=dict)
    group: str = ""
    position: int = 0
    required: bool = False
    default: object = None
    options: dict = field(default_factory=dict)
    indexed: bool = False
    processes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Definition:
    """A snapshot of one active definition, safe to share between requests."""

    id: int
    record_type: str
    key: str
    type: str
    label_pl: str
    label_en: str
    help_pl: str
    help_en: str
    group: str
    position: int
    required: bool
    default: object
    read_only: bool
    hidden: bool
    options: dict
    view_roles: tuple[str, ...]
    edit_roles: tuple[str, ...]
    indexed: bool
    source: str

    def label(self, locale: str = "pl") -> str:
        return self.label_pl if locale == "pl" else self.label_en or self.label_pl

    def help(self, locale: str = "pl") -> str:
        return self.help_pl if locale == "pl" else self.help_en or self.help_pl

    @property
    def in_list(self) -> bool:
        return bool((self.options or {}).get("in_list"))

    @property
    def processes(self) -> tuple[str, ...]:
        """The processes whose cases take the field; empty: every process."""
        return tuple((self.options or {}).get("processes") or ())

    @classmethod
    def of(cls, row: FieldDefinition) -> Definition:
        return cls(row.id, row.record_type, row.key, row.type, row.label_pl, row.label_en,
                   row.help_pl, row.help_en, row.group, row.position, row.required,
                   row.default, row.read_only, row.hidden, dict(row.options or {}),
                   tuple(row.view_roles or ()), tuple(row.edit_roles or ()), row.indexed,
                   row.source)


# ------------------------------------------------------------------ types and definitions


def field_types(host=None) -> dict[str, FieldType]:
    """The core's field types and those the enabled plugins register."""
    if host is None and has_app_context() and "kartoteka" in current_app.extensions:
        host = current_app.extensions["kartoteka"].host
    return {**CORE_TYPES, **(getattr(host, "field_types", None) or {})}


def extensible(host=None) -> dict[str, type]:
    """Record types that take custom fields: those with a ``custom`` column."""
    return {key: model for key, model in records.record_types(host).items()
            if hasattr(model, "custom")}


_caches: weakref.WeakKeyDictionary[Engine, stamps.Cached] = weakref.WeakKeyDictionary()


@dataclass
class _Loaded:
    """The definitions of one stamp version, and the schemas built from them (building
    a schema costs more than validating a row, so an import builds it once)."""

    by_type: dict[str, tuple[Definition, ...]]
    schemas: dict = field(default_factory=dict)


def _load(session: Session) -> _Loaded:
    rows = session.scalars(select(FieldDefinition).where(FieldDefinition.archived_at.is_(None))
                           .order_by(FieldDefinition.group, FieldDefinition.position,
                                     FieldDefinition.id))
    found: dict[str, list[Definition]] = {}
    for row in rows:
        found.setdefault(row.record_type, []).append(Definition.of(row))
    return _Loaded({k: tuple(v) for k, v in found.items()})


def _loaded(session: Session) -> _Loaded:
    engine = session.get_bind()
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = stamps.Cached(STAMP, _load)
    return cache.get(session)


def definitions(session: Session, record_type: str) -> tuple[Definition, ...]:
    """The active definitions of ``record_type``, in form order."""
    return _loaded(session).by_type.get(record_type, ())


def _values_schema(session: Session, record_type: str, types: dict[str, FieldType]):
    """The definitions and their validating schema, built once per stamp version."""
    loaded = _loaded(session)
    defs = loaded.by_type.get(record_type, ())
    key = (record_type, tuple(sorted(types)))
    if key not in loaded.schemas:
        loaded.schemas[key] = schema(defs, types)
    return defs, loaded.schemas[key]


def definition(session: Session, record_type: str, key: str) -> Definition | None:
    return next((d for d in definitions(session, record_type) if d.key == key), None)


def request_definitions(record_type: str) -> tuple[Definition, ...]:
    """The definitions in a web request (filters and pages have no session of their own)."""
    if not has_app_context() or "kartoteka" not in current_app.extensions:
        return ()
    from core.web.db import db

    return definitions(db(), record_type)


# ------------------------------------------------------------------ who sees and edits


def roles_of(actor) -> set[str]:
    """The keys of ``actor``'s roles; administrators also have "admin"."""
    if actor is None:
        return set()
    from core import permissions

    found = set(permissions.grants(actor).role_keys)
    if getattr(actor, "is_admin", False):
        found.add("admin")
    return found


def may_see(definition: Definition, actor) -> bool:
    """None as the actor is the system (imports by an operator, plugins, jobs)."""
    return actor is None or not definition.view_roles or bool(
        roles_of(actor) & set(definition.view_roles)) or "admin" in roles_of(actor)


def may_edit(definition: Definition, actor) -> bool:
    if actor is None:
        return True
    if definition.read_only or not may_see(definition, actor):
        return False
    return not definition.edit_roles or bool(roles_of(actor) & set(definition.edit_roles)) \
        or "admin" in roles_of(actor)


def shown(session: Session, record_type: str, actor, on_form: bool = False,
          process_key: str | None = None):
    """The definitions a person sees on a card (or, on a form, may see); of a case, those
    of its process (``applies_to``)."""
    return [d for d in for_case(definitions(session, record_type), process_key)
            if not d.hidden and may_see(d, actor)]


# ------------------------------------------------------------------ fields of a process


def applies_to(definition: Definition, process_key: str | None) -> bool:
    """Whether a case of ``process_key`` takes the field: one limited to no process goes
    on every case. None is a record that is not a case, which takes every field of its
    type; "" a case whose process is not chosen yet, which takes the unlimited ones."""
    return process_key is None or not definition.processes \
        or process_key in definition.processes


def for_case(defs, process_key: str | None) -> tuple[Definition, ...]:
    """The definitions among ``defs`` that a case of ``process_key`` takes."""
    return tuple(d for d in defs if applies_to(d, process_key))


def process_of(record) -> str | None:
    """The process whose fields a record takes: a case's own, None for other records."""
    return getattr(record, "process_key", None)


def process_name(key: str, host=None) -> str:
    """A process as people read it: its title (or the term of its cases); its key when
    its plugin is not enabled."""
    from core import workflow
    from core.terms import term

    if host is None and has_app_context() and "kartoteka" in current_app.extensions:
        host = current_app.extensions["kartoteka"].host
    process = (getattr(host, "processes", None) or {}).get(key)
    if process is None:
        return key
    return workflow.localised(process.title, _locale()) if process.title \
        else term(process.term)


# ------------------------------------------------------------------ validating values


class Cleaned(dict):
    """Custom values already validated by ``load``; records.create/update trust them."""


def schema(defs, types: dict[str, FieldType], mark_required: bool = False) -> Schema:
    """The marshmallow schema of ``defs``: the one validation of custom values.

    Required fields are checked by ``load`` (with the field's label in the message);
    ``mark_required`` marks them for documents such as the OpenAPI schema.
    """
    found = {}
    for d in defs:
        made = types[d.type].make(d) if d.type in types else None
        if made is None:
            continue
        made.required = mark_required and d.required and d.default is None
        made.allow_none = True
        found[d.key] = made
    return Schema.from_dict(found, name="CustomValues")(unknown=RAISE)


def load(session: Session, model: type, incoming, current: dict | None, actor=None,
         creating: bool = False, process_key: str | None = None
         ) -> tuple[Cleaned | None, dict[str, str]]:
    """Validate ``incoming`` custom values against the definitions of ``model``.

    Returns the record's new ``custom`` dict (None when nothing was given on an update)
    and errors keyed "custom.<key>". On create, defaults fill what was not given. A case
    (``process_key``) takes only the fields of its process: another's value is refused,
    and only its own fields are required or get defaults.
    """
    if incoming is None and not creating:
        return None, {}
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, dict):
        return None, {"custom": _("Give the custom fields as an object of key and value.")}
    types = field_types()
    defs, values_schema = _values_schema(session, model.record_type, types)
    host = session.info.get("host")
    if host is not None:  # a disabled plugin's fields keep their values, unwritable
        defs = tuple(d for d in defs if not d.source or d.source in host.plugins)
    by_key = {d.key: d for d in defs}
    errors = _refused_keys(session, incoming, by_key, current or {}, actor, process_key)
    given = {k: v for k, v in incoming.items() if k in by_key and f"custom.{k}" not in errors}
    defs = for_case(defs, process_key)
    values, problems = validation.load_collecting(values_schema, given)
    errors.update({f"custom.{k}": v for k, v in problems.items()})
    result = Cleaned({k: v for k, v in (current or {}).items() if k not in given})
    for key, value in values.items():
        stored = types[by_key[key].type].store(value)
        if stored is not None:
            result[key] = stored
        else:
            result.pop(key, None)
    for d in defs:
        if creating and d.key not in incoming and d.default is not None:
            result[d.key] = d.default
        if d.required and result.get(d.key) in (None, "", []) \
                and f"custom.{d.key}" not in errors and (creating or d.key in given):
            errors[f"custom.{d.key}"] = _("Fill in %(field)s.", field=d.label(_locale()))
    errors.update(_missing_relations(session, defs, result, given, actor))
    return result, errors


def _refused_keys(session: Session, incoming: dict, by_key: dict, current: dict, actor,
                  process_key: str | None) -> dict[str, str]:
    errors = {}
    for key, value in incoming.items():
        d = by_key.get(key)
        if d is None:
            errors[f"custom.{key}"] = _("There is no field '%(key)s'.", key=str(key)[:64])
        elif not applies_to(d, process_key) and value not in (None, current.get(key)):
            # Clearing a value left from before the field was limited stays possible.
            errors[f"custom.{key}"] = _("%(field)s is not a field of the %(what)s "
                                        "“%(process)s”.", field=d.label(_locale()),
                                        what=_process_term(), process=process_name(
                                            process_key, session.info.get("host")))
        elif not may_edit(d, actor) and value != current.get(key):
            errors[f"custom.{key}"] = _("You cannot change %(field)s.", field=d.label(_locale()))
    return errors


def _process_term() -> str:
    from core.terms import term

    return term("core.process", case="gen")


def _missing_relations(session, defs, values: dict, given: dict, actor) -> dict[str, str]:
    """A relation must point at a record the actor may see."""
    errors = {}
    types = records.record_types()
    for d in defs:
        if d.type != "relation" or d.key not in given or values.get(d.key) is None:
            continue
        model = types.get((d.options or {}).get("target", ""))
        if model is None or records.get(session, model, values[d.key], actor) is None:
            errors[f"custom.{d.key}"] = _("There is no such record.")
    return errors


def validated(session: Session, model: type, data: dict, record, clean, actor=None) -> dict:
    """A service's ``clean`` of the built-in fields plus the custom values, every problem
    reported at once."""
    builtin = {k: v for k, v in data.items() if k != "custom"}
    try:
        values, errors = clean(builtin), {}
    except ValidationError as exc:
        values, errors = {}, dict(exc.errors)
    custom, problems = load(session, model, data.get("custom"),
                            record.custom if record is not None else None, actor,
                            creating=record is None,
                            process_key=_process_given(model, data, record))
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
    if custom is not None:
        values["custom"] = custom
    return values


def _process_given(model: type, data: dict, record) -> str | None:
    """The process whose fields a case takes: its own, or, for a new one, the process
    asked for (None when none is: that refusal is the case's own)."""
    if record is not None:
        return process_of(record)
    given = data.get("process_key") if hasattr(model, "process_key") else None
    return given if isinstance(given, str) and given else None


def enforce(session: Session, record, values: dict | None, actor=None) -> None:
    """records.create/update: validate custom values that did not come through ``load``
    (a plugin setting ``record.custom`` itself)."""
    if not hasattr(record, "custom"):
        return
    creating = values is None
    incoming = record.custom if creating else values.get("custom")
    if isinstance(incoming, Cleaned) or (incoming is None and not creating):
        return
    current = None if creating else record.custom
    custom, errors = load(session, type(record), incoming if creating else
                          _changed(incoming, current), current, actor, creating,
                          process_of(record))
    if errors:
        raise ValidationError(errors)
    if creating:
        record.custom = dict(custom or {})
    else:
        values["custom"] = custom


def _changed(incoming: dict, current: dict | None) -> dict:
    """A whole ``custom`` dict given to update: only what differs is validated, and keys
    left out are cleared."""
    current = current or {}
    changed = {k: v for k, v in incoming.items() if current.get(k) != v}
    changed.update({k: None for k in current if k not in incoming})
    return changed


# ------------------------------------------------------------------ showing values


def display(record, d: Definition, locale: str | None = None) -> str:
    value = (getattr(record, "custom", None) or {}).get(d.key)
    kind = field_types().get(d.type)
    if kind is None:
        return "" if value is None else str(value)
    return kind.display(value, d, locale or _locale())


def form_value(record, d: Definition) -> str | list:
    """The value as a form shows it for editing."""
    value = (getattr(record, "custom", None) or {}).get(d.key, None) if record is not None \
        else d.default
    if value is None:
        return [] if d.type == "multi_choice" else ""
    if d.type == "money" and isinstance(value, dict):
        return str(value.get("amount", ""))
    if d.type == "datetime":
        return _local_input(value)
    if isinstance(value, bool | list):
        return value
    return str(value)


def _local_input(value: str) -> str:
    from core.filters import zone

    try:
        return datetime.fromisoformat(value).astimezone(zone()).strftime("%Y-%m-%dT%H:%M")
    except (TypeError, ValueError):
        return ""


def _locale() -> str:
    if has_app_context():
        from core.web.i18n import current_locale

        return current_locale()
    return "pl"

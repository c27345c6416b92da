"""Adding, changing, deleting and restoring custom field definitions.

Every change keeps the records valid: a required field added where records exist needs a
default they all get; a choice still in use is removed only with a replacement; a type
change converts every value or refuses with a report of those that would not convert;
a deleted field's values are archived so that a restore puts them back. A case field
may be limited to some processes (``options["processes"]``, see ``core.fields.applies_to``).
Each change bumps the "fields" stamp, so every process sees it on its next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from core import audit, filters, stamps, validation
from core.db import utcnow
from core.errors import ValidationError
from core.field_sql import KEY, SCALAR, CustomValue, create_index_sql, drop_index_sql
from core.fields import STAMP, Definition, extensible, field_types
from core.fieldtypes import jsonable
from core.models import ArchivedFieldValue, FieldDefinition
from core.terms import term
from core.validation import max_length

# Names a custom key may not take, whatever the record type: they mean something in
# forms, the API and the filter language.
RESERVED = {"id", "custom", "version", "type", "tags", "owner", "name", "filter", "sort",
            "links", "attachments", "activities", "memberships", "deleted", "record_type"}
REPORT_LIMIT = 20


class ChoiceSchema(Schema):
    class Meta:
        unknown = RAISE

    value = fields.String(required=True, validate=validate.Regexp(
        r"^[^,]{1,100}$", error=_l("A choice value has 1 to 100 characters and no comma.")))
    label_pl = fields.String(load_default="", validate=max_length(200))
    label_en = fields.String(load_default="", validate=max_length(200))


class OptionsSchema(Schema):
    class Meta:
        unknown = RAISE

    choices = fields.List(fields.Nested(ChoiceSchema), validate=validate.Length(max=500))
    target = fields.String()
    currency = fields.String(validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("A currency is a three-letter code such as PLN or EUR.")))
    places = fields.Integer(validate=validate.Range(0, 6))
    min = fields.Decimal(allow_nan=False)
    max = fields.Decimal(allow_nan=False)
    in_list = fields.Boolean()
    processes = fields.List(fields.String(validate=max_length(64)),
                            validate=validate.Length(max=200))


class DefinitionSchema(Schema):
    class Meta:
        unknown = RAISE

    record_type = fields.String(required=True)
    key = fields.String(required=True)
    type = fields.String(required=True)
    label_pl = fields.String(required=True, validate=max_length(200))
    label_en = fields.String(load_default="", validate=max_length(200))
    help_pl = fields.String(load_default="", validate=max_length(2000))
    help_en = fields.String(load_default="", validate=max_length(2000))
    group = fields.String(load_default="", validate=max_length(100))
    position = fields.Integer(load_default=0, validate=validate.Range(-10000, 10000))
    required = fields.Boolean(load_default=False)
    default = fields.Raw(load_default=None, allow_none=True)
    read_only = fields.Boolean(load_default=False)
    hidden = fields.Boolean(load_default=False)
    options = fields.Nested(OptionsSchema, load_default=dict)
    view_roles = fields.List(fields.String(validate=max_length(64)), load_default=list)
    edit_roles = fields.List(fields.String(validate=max_length(64)), load_default=list)
    indexed = fields.Boolean(load_default=False)


# Changing these needs more than a new value: see ``change_type`` and ``archive``.
FIXED = ("record_type", "key", "type")


@dataclass
class Problem:
    """A record whose value stands in the way of a change."""

    record_id: int
    name: str
    value: object


class ChangeRefused(ValidationError):
    """A ValidationError that also lists the records in the way."""

    def __init__(self, errors: dict[str, str], problems: list[Problem], total: int):
        super().__init__(errors)
        self.problems, self.total = problems, total


# ------------------------------------------------------------------ adding


def create(session: Session, data: dict, actor=None, source: str = "",
           host=None) -> FieldDefinition:
    """Add a field; ``host`` (the plugin host) is needed outside a web request."""
    values = _load(data)
    model = _model(values["record_type"], host)
    key = values["key"] = str(values["key"]).strip()
    _check_key(session, model, key)
    kind = _type(values["type"], host)
    values["options"] = _options(session, kind.key, values.get("options") or {}, host)
    values["options"] = _processes(session, model, values["options"], host=host, kept=(
        values["options"].get("processes") or ()) if source else ())
    values["label_en"] = values["label_en"].strip() or values["label_pl"].strip()
    row = FieldDefinition(**values, source=source)
    row.default = _default(row, host)
    _fill_existing(session, model, row, required_now=row.required)
    session.add(row)
    session.flush()
    if row.indexed:
        _index(session, model, row, create=True, host=host)
    _audit(session, actor, "create", row, {"key": [None, row.key],
                                                  "type": [None, row.type]})
    stamps.bump(session, STAMP)
    return row


def ship(session: Session, shipped, plugin: str, host=None) -> FieldDefinition | None:
    """Add a plugin's definition unless it is there (an administrator's edits stay)."""
    exists_ = session.scalar(select(FieldDefinition).where(
        FieldDefinition.record_type == shipped.record_type, FieldDefinition.key == shipped.key))
    if exists_ is not None:
        _limit_shipped(session, exists_, shipped, plugin)
        return None
    options = {**shipped.options, **({"processes": list(shipped.processes)}
                                     if shipped.processes else {})}
    return create(session, {
        "record_type": shipped.record_type, "key": shipped.key, "type": shipped.type,
        "label_pl": shipped.label.get("pl", shipped.key),
        "label_en": shipped.label.get("en", ""), "help_pl": shipped.help.get("pl", ""),
        "help_en": shipped.help.get("en", ""), "group": shipped.group,
        "position": shipped.position, "required": shipped.required,
        "default": shipped.default, "options": options, "indexed": shipped.indexed,
    }, source=plugin, host=host)


def _limit_shipped(session: Session, row: FieldDefinition, shipped, plugin: str) -> None:
    """A definition shipped before its plugin limited it to processes gets them, once: a
    definition that has processes (every process being none) keeps the administrator's."""
    if row.source != plugin or not shipped.processes or "processes" in (row.options or {}):
        return
    row.options = {**(row.options or {}), "processes": list(shipped.processes)}
    session.flush()
    _audit(session, None, "update", row, {"processes": [[], list(shipped.processes)]})
    stamps.bump(session, STAMP)


# ------------------------------------------------------------------ changing


def change(session: Session, row: FieldDefinition, data: dict, actor=None,
           replacements: dict[str, str] | None = None) -> FieldDefinition:
    """Change labels and settings; ``replacements`` maps removed choices to kept ones."""
    fixed = [k for k in FIXED if k in data and data[k] != getattr(row, k)]
    if fixed:
        raise ValidationError({k: _("This cannot be changed here.") for k in fixed})
    values = _load({**_as_data(row), **data})
    model = _model(row.record_type)
    values["options"] = _options(session, row.type, values.get("options") or {})
    kept = list((row.options or {}).get("processes") or ())
    values["options"].setdefault("processes", kept)  # other settings changed: they stay
    values["options"] = _processes(session, model, values["options"], kept=kept)
    values["label_en"] = values["label_en"].strip() or values["label_pl"].strip()
    _replace_choices(session, model, row, values["options"], replacements or {})
    before = _as_data(row)
    for key, value in values.items():
        if key not in FIXED:
            setattr(row, key, value)
    row.default = _default(row)
    widened = _widened(kept, row.options.get("processes") or [])
    _fill_existing(session, model, row, required_now=row.required and (
        not before["required"] or widened))
    if row.indexed != before["indexed"]:
        _index(session, model, row, create=row.indexed)
    changes = {k: [before[k], v] for k, v in _as_data(row).items() if before[k] != v}
    session.flush()
    _audit(session, actor, "update", row, changes)
    stamps.bump(session, STAMP)
    return row


def change_type(session: Session, row: FieldDefinition, new_type: str, actor=None,
                options: dict | None = None, dry_run: bool = False) -> int:
    """Convert every value to ``new_type``; refuse (ChangeRefused) if any would not.

    Returns the number of values converted (or that would be, on a dry run).
    """
    kind = _type(new_type)
    model = _model(row.record_type)
    new_options = _options(session, kind.key, options if options is not None else row.options)
    if "processes" in (row.options or {}):  # the type changes, not where the field goes
        new_options["processes"] = row.options["processes"]
    target = Definition.of(row)
    target = Definition(**{**target.__dict__, "type": kind.key, "options": new_options})
    field = kind.make(target)
    converted, problems, total = {}, [], 0
    for record_id, name, value in _values(session, model, row.key):
        try:
            loaded = field.deserialize(_as_input(value))
        except SchemaError as exc:
            total += 1
            if len(problems) < REPORT_LIMIT:
                problems.append(Problem(record_id, name, value))
            del exc
            continue
        converted[record_id] = kind.store(loaded)
    if total:
        raise ChangeRefused({"type": _(
            "Records whose value is not a valid %(type)s: %(count)d; change those values "
            "first.", count=total, type=kind.label(_locale()).lower())}, problems, total)
    if dry_run:
        return len(converted)
    if row.indexed:
        _index(session, model, row, create=False)
    for record_id, value in converted.items():
        _set_value(session, model, row.key, value, record_id)
    before = row.type
    row.type, row.options = kind.key, new_options
    session.flush()
    if row.indexed:
        _index(session, model, row, create=True)
    _audit(session, actor, "update", row, {"type": [before, kind.key]})
    stamps.bump(session, STAMP)
    return len(converted)


# ------------------------------------------------------------------ deleting and restoring


def archive(session: Session, row: FieldDefinition, actor=None) -> int:
    """Delete a field: its values move to the archive, from where ``restore`` takes them."""
    if row.archived_at is not None:
        return 0
    model = _model(row.record_type)
    moved = 0
    for record_id, _name, value in _values(session, model, row.key):
        session.add(ArchivedFieldValue(field_id=row.id, record_id=record_id, value=value))
        moved += 1
    _remove_key(session, model, row.key)
    if row.indexed:
        _index(session, model, row, create=False)
    row.archived_at = utcnow()
    session.flush()
    _audit(session, actor, "delete", row, {"values_archived": moved})
    stamps.bump(session, STAMP)
    return moved


def restore(session: Session, row: FieldDefinition, actor=None) -> int:
    if row.archived_at is None:
        return 0
    model = _model(row.record_type)
    archived = session.scalars(select(ArchivedFieldValue)
                               .where(ArchivedFieldValue.field_id == row.id)).all()
    for item in archived:
        _set_value(session, model, row.key, item.value, item.record_id)
        session.delete(item)
    row.archived_at = None
    session.flush()
    if row.indexed:
        _index(session, model, row, create=True)
    _audit(session, actor, "restore", row, {"values_restored": len(archived)})
    stamps.bump(session, STAMP)
    return len(archived)


# ------------------------------------------------------------------ checks


def _load(data: dict) -> dict:
    values, errors = validation.load_collecting(DefinitionSchema(), data)
    for name in ("label_pl",):
        if name in values and not values[name].strip():
            errors[name] = _("Enter a label.")
    if errors:
        raise ValidationError(errors)
    return values


def _model(record_type: str, host=None) -> type:
    model = extensible(host).get(record_type)
    if model is None:
        raise ValidationError({"record_type": _("Records of this kind take no custom fields.")})
    return model


def _check_key(session: Session, model: type, key: str) -> None:
    if not KEY.fullmatch(key):
        raise ValidationError({"key": _("A key starts with a small letter and has only small "
                                        "letters, digits and underscores (at most 64).")})
    builtin = {a.key for a in inspect(model).attrs} | set(filters.FIELDS.get(
        model.record_type, {})) | RESERVED
    if key in builtin:
        raise ValidationError({"key": _("'%(key)s' is a built-in field of these records; "
                                        "choose another key.", key=key)})
    taken = session.scalar(select(FieldDefinition).where(
        FieldDefinition.record_type == model.record_type, FieldDefinition.key == key))
    if taken is not None:
        raise ValidationError({"key": _(
            "A deleted field has this key; restore it or choose another key.")
            if taken.archived_at else _("Another field already has this key.")})


def _type(key: str, host=None):
    kind = field_types(host).get(key)
    if kind is None:
        raise ValidationError({"type": _("Choose a type from the list.")})
    return kind


def _options(session: Session, type_key: str, options: dict, host=None) -> dict:
    kind = _type(type_key, host)
    errors: dict[str, str] = {}
    found = {k: v for k, v in options.items()
             if k in kind.options or k in ("in_list", "processes")}
    if "choices" in kind.options:
        choices = found.get("choices") or []
        values = [c["value"].strip() for c in choices]
        if not values:
            errors["options.choices"] = _("Give at least one choice.")
        elif len(set(values)) != len(values):
            errors["options.choices"] = _("Each choice needs its own value.")
        found["choices"] = [{**c, "value": c["value"].strip(),
                             "label_pl": c.get("label_pl") or c["value"].strip(),
                             "label_en": c.get("label_en") or c.get("label_pl")
                             or c["value"].strip()} for c in choices]
    if "target" in kind.options and found.get("target") not in extensible(host):
        errors["options.target"] = _("Choose the kind of record this field points at.")
    if "currency" in kind.options:
        found.setdefault("currency", "PLN")
    low, high = found.get("min"), found.get("max")
    if low is not None and high is not None and low > high:
        errors["options.max"] = _("The maximum must not be below the minimum.")
    if errors:
        raise ValidationError(errors)
    for bound in ("min", "max"):
        if found.get(bound) is not None:
            found[bound] = jsonable(found[bound])
    return json.loads(json.dumps(found, default=str))


def _processes(session: Session, model: type, options: dict, kept=(), host=None) -> dict:
    """The processes a case field is limited to: enabled ones, or ones it already is
    limited to (a disabled plugin's stay); records that are not cases have none."""
    wanted = list(dict.fromkeys(str(k).strip() for k in options.get("processes") or ()))
    rest = {k: v for k, v in options.items() if k != "processes"}
    if not hasattr(model, "process_key"):
        if wanted:
            raise ValidationError({"processes": _(
                "Only fields of %(what)s can be limited to processes.",
                what=term("core.case", case="gen", plural=True))})
        return rest
    known = _process_keys(session, host) | set(kept)
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise ValidationError({"processes": _(
            "There is no process '%(key)s'; choose from the enabled ones.",
            key=unknown[0][:64])})
    return {**rest, "processes": wanted}


def _process_keys(session: Session, host=None) -> set[str]:
    host = host or session.info.get("host")
    if host is None and has_app_context() and "kartoteka" in current_app.extensions:
        host = current_app.extensions["kartoteka"].host
    return set(getattr(host, "processes", None) or ())


def _default(row: FieldDefinition, host=None):
    """The default, validated and stored like a value."""
    if row.default in (None, "", []):
        return None
    kind = _type(row.type, host)
    try:
        loaded = kind.make(Definition.of(row)).deserialize(_as_input(row.default))
    except SchemaError as exc:
        raise ValidationError({"default": validation.flatten(exc.messages)["_"]}) from None
    return kind.store(loaded)


def _fill_existing(session: Session, model: type, row: FieldDefinition,
                   required_now: bool) -> None:
    """A field that became required (or a required one that now goes on the cases of
    more processes): records that take it without a value get the default, or the change
    is refused, so that no record is left invalid."""
    if not required_now:
        return
    taking = _taking(model, row)
    missing = session.scalar(select(func.count()).select_from(model).where(
        _empty(model, row.key), *taking)) or 0
    if not missing:
        return
    if row.default is None:
        raise ValidationError({"default": _(
            "Existing records without a value for this field: %(count)d. Give a default "
            "value, which they will get, or make the field optional.", count=missing)})
    for (record_id,) in session.execute(select(model.id).where(
            _empty(model, row.key), *taking)).all():
        _set_value(session, model, row.key, row.default, record_id)


def _taking(model: type, row: FieldDefinition) -> list:
    """The conditions on the records that take the field: a case field's processes."""
    processes = (row.options or {}).get("processes")
    return [model.process_key.in_(processes)] if processes and hasattr(
        model, "process_key") else []


def _widened(before: list, after: list) -> bool:
    """Whether a field limited to ``before`` now goes on the cases of more processes."""
    return bool(before) and (not after or not set(after) <= set(before))


def _replace_choices(session: Session, model: type, row: FieldDefinition, options: dict,
                     replacements: dict[str, str]) -> None:
    if "choices" not in options:
        return
    kept = {c["value"] for c in options["choices"]}
    removed = {c["value"] for c in (row.options or {}).get("choices", [])} - kept
    for value in sorted(removed):
        new = replacements.get(value)
        if new is not None and new not in kept:
            raise ValidationError({"replacements": _("Replace '%(old)s' with a choice that is "
                                                     "kept.", old=value)})
        in_use = [(rid, v) for rid, _n, v in _values(session, model, row.key)
                  if v == value or (isinstance(v, list) and value in v)]
        if in_use and new is None:
            raise ValidationError({"options.choices": _(
                "Records using the choice '%(value)s': %(count)d; say which choice they get "
                "instead.", count=len(in_use), value=value)})
        for record_id, current in in_use:
            updated = [new if v == value else v for v in current] if isinstance(
                current, list) else new
            if isinstance(updated, list):
                updated = list(dict.fromkeys(updated))
            _set_value(session, model, row.key, updated, record_id)


# ------------------------------------------------------------------ SQL on values


def _values(session: Session, model: type, key: str):
    """(id, name, value) of every record (deleted ones too) holding a value for ``key``."""
    name = getattr(model, "name", None)
    if name is None and hasattr(model, "last_name"):
        name = model.first_name + " " + model.last_name
    query = select(model.id, name if name is not None else model.id, model.custom) \
        .where(~_empty(model, key)).order_by(model.id)
    for record_id, label, custom in session.execute(query.execution_options(yield_per=1000)):
        yield record_id, str(label), (custom or {}).get(key)


def _empty(model: type, key: str):
    value = CustomValue(model.custom, key, "text")
    return value.is_(None)


def _set_value(session: Session, model: type, key: str, value, record_id: int) -> None:
    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"UPDATE {table} SET custom = custom || CAST(:patch AS jsonb) "
                             "WHERE id = :id"),
                        {"patch": json.dumps({key: value}), "id": record_id})
    else:
        session.execute(text(f"UPDATE {table} SET custom = json_set(custom, :path, "
                             "json(:value)) WHERE id = :id"),
                        {"path": f"$.{key}", "value": json.dumps(value), "id": record_id})
    _expire(session, model, record_id)


def _remove_key(session: Session, model: type, key: str) -> None:
    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"UPDATE {table} SET custom = custom - :key "
                             "WHERE jsonb_exists(custom, :key)"), {"key": key})
    else:
        session.execute(text(f"UPDATE {table} SET custom = json_remove(custom, :path) "
                             "WHERE json_type(custom, :path) IS NOT NULL"),
                        {"path": f"$.{key}"})
    session.expire_all()


def _expire(session: Session, model: type, record_id: int) -> None:
    found = session.identity_map.get(inspect(model).identity_key_from_primary_key(
        (record_id,)))
    if found is not None:
        session.expire(found, ["custom"])


def _index(session: Session, model: type, row: FieldDefinition, create: bool,
           host=None) -> None:
    kind = _type(row.type, host).kind
    if create and kind not in SCALAR:
        raise ValidationError({"indexed": _("Fields of this type cannot be indexed.")})
    dialect = session.get_bind().dialect.name
    sql = create_index_sql(dialect, model.__tablename__, row.key, kind) if create \
        else drop_index_sql(model.__tablename__, row.key)
    session.execute(text(sql))


def _as_input(value):
    """A stored value as input to another type's field (money becomes its amount)."""
    if isinstance(value, dict) and "amount" in value:
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _as_data(row: FieldDefinition) -> dict:
    return {k: getattr(row, k) for k in DefinitionSchema().fields}


def _audit(session: Session, actor, action: str, row: FieldDefinition, changes: dict) -> None:
    """Definition changes are audited like record changes, as ``field_definitions``."""
    audit.write(session, row, action, {k: tuple(v) if isinstance(v, list) else (None, v)
                                       for k, v in changes.items()}, actor,
                summary=f"{row.record_type}.{row.key}")


def _locale() -> str:
    from core.fields import _locale as locale

    return locale()

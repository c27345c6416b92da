"""The one write path for records: every create, update and delete goes through here.

UI, API, import, jobs and plugins call these functions, so that plugin vetoes, the
audit trail, event notifications and permission checks can never be skipped by a
second path. ``visible`` is the one place that decides which records a query may see
(``core.permissions`` says what each actor reaches).

Rows a record owns (a person's e-mails, a record's tags, an event's attendees,
memberships) are changed by their own modules, which report the change here with
``touch``: the record's version moves, so a form opened before is refused on save,
and the change is vetoable, audited and announced like a field of the record.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import audit, events, permissions
from core.db import Base, utcnow
from core.errors import ValidationError

# The permission an audited action needs; the rest are edits.
WRITE_ACTIONS = {"delete": "delete", "restore": "delete"}
SYSTEM_COLUMNS = {"id", "created_at", "updated_at", "created_by_id", "updated_by_id",
                  "deleted_at", "version", "merged_into_id"}


def record_types(host=None) -> dict[str, type]:
    """Record type key -> model, for every mapped class that declares ``record_type``
    and belongs to the core or to a plugin the running installation has enabled (a
    disabled plugin's module may still be imported in the process; its tables may not
    exist in this database). ``host`` names the installation's plugins when there is no
    application or runtime yet (while one starts)."""
    enabled = {None, *host.plugins} if host is not None else _enabled_plugins()
    return {m.class_.record_type: m.class_ for m in Base.registry.mappers
            if isinstance(m.class_.__dict__.get("record_type"), str)
            and (enabled is None or _plugin_of(m.class_) in enabled)}


def _enabled_plugins() -> set[str | None] | None:
    """The enabled plugins' names and None (the core's own): of the application, or
    outside one (the command line) of the runtime started last; None: all."""
    from flask import current_app, has_app_context

    from core import runtime

    if has_app_context() and "kartoteka" in current_app.extensions:
        host = current_app.extensions["kartoteka"].host
    elif runtime.latest is not None:
        host = runtime.latest.host
    else:
        return None
    return {None, *host.plugins}


def _plugin_of(model: type) -> str | None:
    """The plugin a model belongs to, by its table's prefix; None for the core's."""
    if model.__module__.startswith("core."):
        return None
    return model.__tablename__.split("_", 1)[0]


def ref(record) -> tuple[str, int]:
    """How links, activities and tags point at a record: (type key, id)."""
    return type(record).record_type, record.id


def visible(model: type, actor=None, include_deleted: bool = False) -> Select:
    """A query for the records of ``model`` that ``actor`` may see.

    Every list, search, count and export starts here, so that scopes (and soft
    deletion) are applied in one place. No actor means the system itself (jobs, the
    CLI): it sees everything.
    """
    query = select(model)
    condition = permissions.scope(model, actor)
    if condition is not None:
        query = query.where(condition)
    if not include_deleted and hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    return query


def get(session: Session, model: type, record_id: int, actor=None,
        include_deleted: bool = False):
    """One visible record, or None (callers answer 404: existence is not revealed)."""
    query = visible(model, actor, include_deleted).where(model.id == record_id)
    return session.scalar(query)


def create(session: Session, record, actor=None, related: dict | None = None):
    """Add a new record; ``related`` names the rows it is created with (``{"emails":
    (None, [...])}``), for the veto and the audit trail."""
    if hasattr(record, "created_by_id") and actor is not None:
        record.created_by_id = record.updated_by_id = actor.id
    _custom_values(session, record, None, actor)
    permissions.require(session, actor, record, "create")
    changes = {
        attr.key: (None, getattr(record, attr.key))
        for attr in inspect(type(record)).column_attrs
        if getattr(record, attr.key) is not None
    }
    changes.update(related or {})
    events.before_save(session, record, changes, actor)
    session.add(record)
    session.flush()
    audit.write(session, record, "create", changes, actor)
    events.after_commit(session, "kartoteka_record_created", record=record, actor=actor)
    return record


def update(session: Session, record, values: dict, actor=None, expected_version=None,
           related: dict | None = None, action: str = "update"):
    """Change attributes; ``expected_version`` refuses a change made on stale data.

    ``related`` holds changes to rows the record owns, ``{name: (old, new)}``, which
    the caller applies after this returns (see the module's docstring). ``action``
    names the change in the audit trail.
    """
    mapper = inspect(type(record))
    unknown = sorted(set(values) - {a.key for a in mapper.column_attrs})
    if unknown:
        raise AttributeError(f"{type(record).__name__} has no attribute {', '.join(unknown)}")
    if expected_version is not None and getattr(record, "version", None) != expected_version:
        raise ValidationError({"version": _stale()})
    values = dict(values)
    _custom_values(session, record, values, actor)
    own = {k: (getattr(record, k), v) for k, v in values.items() if getattr(record, k) != v}
    changes = {**own, **(related or {})}
    # Even a save that changes nothing is refused to whom may not edit: "Saved." would
    # tell them otherwise. With the owned rows: what a portal administrator may change
    # depends on them.
    permissions.require(session, actor, record, WRITE_ACTIONS.get(action, "edit"), changes)
    if not changes:
        return record
    events.before_save(session, record, changes, actor)
    for key, (_old, new) in own.items():
        setattr(record, key, new)
    if hasattr(record, "updated_by_id") and actor is not None:
        record.updated_by_id = actor.id
    if hasattr(record, "updated_at"):
        # Also when only owned rows changed: the row is written, so its version moves.
        record.updated_at = utcnow()
    _flush(session)
    audit.write(session, record, action, changes, actor)
    events.after_commit(session, "kartoteka_record_updated", record=record, changes=changes,
                        actor=actor)
    return record


def touch(session: Session, record, related: dict, actor=None, expected_version=None):
    """Report a change to rows ``record`` owns, ``{name: (old, new)}``, as its own."""
    return update(session, record, {}, actor, expected_version, related=related)


def soft_delete(session: Session, record, actor=None):
    """Hide a record from every list; ``restore`` brings it back with all its history."""
    return update(session, record, {"deleted_at": utcnow()}, actor, action="delete")


def restore(session: Session, record, actor=None):
    return update(session, record, {"deleted_at": None}, actor, action="restore")


def delete(session: Session, record, actor=None) -> None:
    """Remove a record for good; the trail keeps what it held."""
    permissions.require(session, actor, record, "delete", {})
    last = {attr.key: (getattr(record, attr.key), None)
            for attr in inspect(type(record)).column_attrs}
    audit.write(session, record, "purge", last, actor)
    session.delete(record)
    session.flush()
    events.after_commit(session, "kartoteka_record_deleted", record=record, actor=actor)


def _flush(session: Session) -> None:
    """Write the change; someone who saved the same record first wins, and we say so."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise ValidationError({"version": _stale()}) from exc


def _stale() -> str:
    return _("The record was changed by someone else meanwhile; "
             "reload it and apply your change again.")


def _custom_values(session: Session, record, values: dict | None, actor) -> None:
    """Custom field values set without the services (by a plugin) are validated too."""
    from core import fields

    fields.enforce(session, record, values, actor)

"""The append-only audit trail: who changed what, when and through which door.

``core.records`` writes an entry for every change in the same transaction as the
change itself, so a rolled-back change leaves no entry and a committed one always has
one. The door (web interface, API, import, job, plugin, command line, system) is set
once where work comes in, with ``door(...)``, and read here: nothing in between has to
pass it along.

Values are stored as JSON: dates and times as ISO text, decimals as text. Secrets
(password hashes, tokens) are never stored, only the fact that they changed.

Writes that change no business data or configuration leave no entry: login attempts,
sessions, password-reset requests, job states and heartbeats, outbox delivery states,
number counters (the document's entry has its number), configuration stamps, usage
counters, a token's last use, remembered import mappings, a case's reminder marks and
a new tag's name (the tagged record's entry names it).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import AuditEntry

DOORS = ("ui", "api", "import", "job", "plugin", "cli", "form", "system")
ACTIONS = ("create", "update", "delete", "restore", "purge", "merge", "move")
HIDDEN = "***"
# Columns whose values never reach the trail, in any table.
SECRET_COLUMNS = frozenset({"password", "password_hash", "feed_token", "token", "secret",
                            "api_key"})
SECRET_SUFFIXES = ("_token", "_secret", "_password")
# Bookkeeping that every change moves, or values derived from others: noise in a history.
UNTRACKED = frozenset({"id", "created_at", "updated_at", "created_by_id", "updated_by_id",
                       "version", "name_key", "merged_into_id"})
PAGE = 50

_door: ContextVar[str] = ContextVar("kartoteka_audit_door", default="system")


# --- Doors -------------------------------------------------------------------------------

def enter(name: str) -> Token:
    """Make ``name`` the door of what follows; give the token to ``leave``."""
    if name not in DOORS:
        raise ValueError(f"unknown door '{name}'; use one of {DOORS}")
    return _door.set(name)


def leave(token: Token) -> None:
    _door.reset(token)


@contextmanager
def door(name: str) -> Iterator[None]:
    """``with audit.door("import"):`` (or ``@audit.door("job")``): changes made inside
    are recorded as coming through that door."""
    token = enter(name)
    try:
        yield
    finally:
        leave(token)


def current_door() -> str:
    return _door.get()


# --- Writing -----------------------------------------------------------------------------

def record_type_of(record) -> str:
    """The record's type key; tables without one are named after their table. (A
    ``record_type`` column, as attachments and tags have, names what they belong to.)"""
    key = getattr(type(record), "record_type", None)
    return key if isinstance(key, str) else type(record).__tablename__


def label_of(record) -> str:
    """What a person calls the record: its name, title or address."""
    for attribute in ("full_name", "name", "title", "subject", "email", "filename"):
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def write(session: Session, record, action: str, changes: dict, actor=None,
          summary: str | None = None) -> AuditEntry:
    """Add an entry to the session: it is written with the change, or not at all."""
    record_id = getattr(record, "id", None)
    entry = AuditEntry(at=utcnow(), actor_id=getattr(actor, "id", None), door=current_door(),
                       action=action, record_type=record_type_of(record),
                       record_id=record_id if isinstance(record_id, int) else None,
                       changes=stored_changes(changes),
                       summary=(label_of(record) if summary is None else summary)[:300])
    session.add(entry)
    return entry


def event(session: Session, action: str, record_type: str, details: dict, actor=None,
          summary: str = "") -> AuditEntry:
    """An entry about a kind of record rather than one record (an export of a list)."""
    entry = AuditEntry(at=utcnow(), actor_id=getattr(actor, "id", None), door=current_door(),
                       action=action, record_type=record_type, record_id=None,
                       changes={k: json_safe(v) for k, v in details.items()},
                       summary=summary[:300])
    session.add(entry)
    return entry


def stored_changes(changes: dict) -> dict:
    """``{field: (old, new)}`` as stored: JSON values, secrets hidden, custom fields one
    by one, and nothing that did not really change."""
    stored = {}
    for field, (old, new) in changes.items():
        if field in UNTRACKED:
            continue
        if field == "custom" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            stored.update(_custom_changes(old or {}, new or {}))
        elif _is_secret(field):
            stored[field] = [None if old is None else HIDDEN, None if new is None else HIDDEN]
        elif not (_empty(old) and _empty(new)):
            stored[field] = [json_safe(old), json_safe(new)]
    return stored


def _custom_changes(old: dict, new: dict) -> dict:
    return {f"custom.{key}": [json_safe(old.get(key)), json_safe(new.get(key))]
            for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key) and not (_empty(old.get(key)) and
                                                     _empty(new.get(key)))}


def _is_secret(field: str) -> bool:
    return field in SECRET_COLUMNS or field.endswith(SECRET_SUFFIXES)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def json_safe(value):
    """A value JSON can hold: ISO text for dates and times, text for decimals."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return str(value)


# --- Reading -----------------------------------------------------------------------------

@dataclass
class Filters:
    """What the administrator's view of the trail is narrowed to; None: everything."""

    actor_id: int | None = None
    action: str | None = None
    record_type: str | None = None
    door: str | None = None
    since: datetime.datetime | None = None  # from this moment
    until: datetime.datetime | None = None  # up to, not including, this moment


def query(filters: Filters | None = None) -> Select:
    """Entries matching ``filters``, newest first."""
    filters = filters or Filters()
    found = select(AuditEntry)
    if filters.actor_id is not None:
        found = found.where(AuditEntry.actor_id == filters.actor_id)
    for column, value in ((AuditEntry.action, filters.action),
                          (AuditEntry.record_type, filters.record_type),
                          (AuditEntry.door, filters.door)):
        if value:
            found = found.where(column == value)
    if filters.since is not None:
        found = found.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        found = found.where(AuditEntry.at < filters.until)
    return found.order_by(AuditEntry.id.desc())


def of_record(record_type: str, record_id: int) -> Select:
    """One record's entries, newest first (read through the index on the record)."""
    return (select(AuditEntry)
            .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id.desc()))


@dataclass
class Page:
    entries: list[AuditEntry]
    next_before: int | None  # the id to continue below, when there is more


def page(session: Session, entries: Select, before: int | None = None,
         size: int | None = None) -> Page:
    """A page of newest-first entries; ``before`` continues where the last one ended."""
    size = size or PAGE
    if before is not None:
        entries = entries.where(AuditEntry.id < before)
    rows = session.scalars(entries.limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(list(rows), rows[-1].id if more else None)


def values_in_use(session: Session, column) -> list[str]:
    """The different values of one column of the trail, for the filter's choices."""
    return sorted(v for v in session.scalars(select(column).distinct()) if v)

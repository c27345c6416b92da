"""The one write path for records: every create, update and delete goes through here.

UI, API, import, jobs and plugins call these functions, so that plugin vetoes and
event notifications (and, as the core grows, validation, permissions and the audit
trail) can never be skipped by a second path.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core import events


def create(session: Session, record, actor=None):
    changes = {
        attr.key: (None, getattr(record, attr.key))
        for attr in inspect(type(record)).column_attrs
        if getattr(record, attr.key) is not None
    }
    events.before_save(session, record, changes, actor)
    session.add(record)
    session.flush()
    events.after_commit(session, "kartoteka_record_created", record=record, actor=actor)
    return record


def update(session: Session, record, values: dict, actor=None):
    mapper = inspect(type(record))
    unknown = sorted(set(values) - {a.key for a in mapper.column_attrs})
    if unknown:
        raise AttributeError(f"{type(record).__name__} has no attribute {', '.join(unknown)}")
    changes = {k: (getattr(record, k), v) for k, v in values.items() if getattr(record, k) != v}
    if not changes:
        return record
    events.before_save(session, record, changes, actor)
    for key, (_, new) in changes.items():
        setattr(record, key, new)
    session.flush()
    events.after_commit(session, "kartoteka_record_updated", record=record, changes=changes,
                        actor=actor)
    return record


def delete(session: Session, record, actor=None) -> None:
    session.delete(record)
    session.flush()
    events.after_commit(session, "kartoteka_record_deleted", record=record, actor=actor)

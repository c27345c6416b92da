"""Record events: vetoes inside the transaction, notifications after the commit.

Notifications are queued on the session and sent only when its transaction commits;
a rollback drops them, so no plugin ever hears of a change that did not happen. A
savepoint is not the transaction: releasing one sends nothing, and rolling one back
drops only what was queued inside it.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PENDING = "kartoteka_pending_events"
CALLS = "kartoteka_pending_calls"
MARKS = "kartoteka_savepoint_marks"  # savepoint -> how much was queued when it began


def host_of(session: Session):
    return session.info.get("host")


def before_save(session: Session, record, changes: dict, actor) -> None:
    """Ask plugins whether the change may happen; a ValidationError refuses it."""
    host = host_of(session)
    if host is not None:
        host.call_each("kartoteka_before_record_save", record=record, changes=changes,
                       actor=actor, session=session)


def after_commit(session: Session, hook_name: str, **kwargs) -> None:
    """Queue a notification hook to be called once the transaction commits."""
    session.info.setdefault(PENDING, []).append((hook_name, kwargs))


def call_after_commit(session: Session, call) -> None:
    """Call ``call()`` once the transaction commits (hand a job to the queue, say)."""
    session.info.setdefault(CALLS, []).append(call)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: SQLAlchemy says "commit", the real one is to come
    for call in session.info.pop(CALLS, []):
        try:
            call()
        except Exception:  # noqa: BLE001 (the change is committed; the sweeps catch up)
            log.exception("after-commit call %r failed", call)
    session.info.pop(MARKS, None)
    pending = session.info.pop(PENDING, [])
    host = host_of(session)
    if host is None:
        return
    for hook_name, kwargs in pending:
        host.notify(hook_name, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint rolled back: only what it queued goes (_drop_savepoint's)
    for key in (PENDING, CALLS, MARKS):
        session.info.pop(key, None)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction) -> None:
    """A savepoint begins: how much is queued, so that rolling it back drops only what
    was queued inside it."""
    if transaction.nested:
        session.info.setdefault(MARKS, {})[transaction] = {
            key: len(session.info.get(key, ())) for key in (PENDING, CALLS)}


@event.listens_for(Session, "after_soft_rollback")
def _drop_savepoint(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        return
    mark = session.info.get(MARKS, {}).pop(previous_transaction, None)
    for key, count in (mark or {}).items():
        del session.info.get(key, [])[count:]

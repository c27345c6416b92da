"""Record events: vetoes inside the transaction, notifications after the commit.

Notifications are queued on the session and sent only when its transaction commits;
a rollback drops them, so no plugin ever hears of a change that did not happen.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PENDING = "kartoteka_pending_events"
CALLS = "kartoteka_pending_calls"


def host_of(session: Session):
    return session.info.get("host")


def before_save(session: Session, record, changes: dict, actor) -> None:
    """Ask plugins whether the change may happen; a ValidationError refuses it."""
    host = host_of(session)
    if host is not None:
        host.call_each("kartoteka_before_record_save", record=record, changes=changes,
                       actor=actor)


def after_commit(session: Session, hook_name: str, **kwargs) -> None:
    """Queue a notification hook to be called once the transaction commits."""
    session.info.setdefault(PENDING, []).append((hook_name, kwargs))


def call_after_commit(session: Session, call) -> None:
    """Call ``call()`` once the transaction commits (hand a job to the queue, say)."""
    session.info.setdefault(CALLS, []).append(call)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    for call in session.info.pop(CALLS, []):
        try:
            call()
        except Exception:  # noqa: BLE001 (the change is committed; the sweeps catch up)
            log.exception("after-commit call %r failed", call)
    pending = session.info.pop(PENDING, [])
    host = host_of(session)
    if host is None:
        return
    for hook_name, kwargs in pending:
        host.notify(hook_name, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(CALLS, None)

"""What each account chose for itself (a list's columns...): read with a default, kept
per account and key, gone with the account."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import UserPreference


def get(session: Session, user, key: str, default=None):
    """The account's choice for ``key``, or ``default`` if it made none."""
    if user is None or getattr(user, "id", None) is None:
        return default
    found = session.get(UserPreference, (user.id, key))
    return default if found is None else found.value


def put(session: Session, user, key: str, value) -> None:
    """Keep ``value`` as the account's choice for ``key``; None forgets it."""
    found = session.get(UserPreference, (user.id, key))
    if value is None:
        if found is not None:
            session.delete(found)
        return
    if found is None:
        session.add(UserPreference(user_id=user.id, key=key, value=value))
    else:
        found.value = value

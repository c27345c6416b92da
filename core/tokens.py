"""API tokens: created for a user, shown once, stored hashed, expiring and revocable.

A token reads ``kt_<prefix>_<secret>``; only the SHA-256 of the whole token is kept, with
the prefix so that people can tell their tokens apart in a list. Looking a token up by
its hash is one indexed read and takes the same time whether or not it exists.
Creating and revoking a token are audited; its use (``last_used_at``) is not.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import ValidationError
from core.models import ApiToken, User

# last_used_at is written at most this often, so reads through the API stay reads.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, user: User, name: str, expires_at: datetime | None = None,
           scopes: list[str] | None = None, actor=None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the plain text is returned once and never stored.
    ``actor`` is who asks for it (the user on their account page, None on the CLI)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": _("Give the token a name of at most 100 characters.")})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    prefix = secrets.token_hex(4)
    token = f"kt_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(user_id=user.id, name=name, secret_hash=_digest(token), prefix=prefix,
                   scopes=list(scopes or []), expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.write(session, row, "create", {
        "user_id": (None, user.id), "name": (None, name), "prefix": (None, prefix),
        "scopes": (None, row.scopes), "expires_at": (None, expires_at)}, actor)
    return row, token


def authenticate(session: Session, token: str) -> tuple[User, ApiToken] | None:
    """The active user and token for ``token``, or None (unknown, expired, revoked)."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.secret_hash == _digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
        session.commit()
    return user, row


def revoke(session: Session, row: ApiToken, actor=None) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.write(session, row, "update", {"revoked_at": (None, row.revoked_at)}, actor)


def of_user(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)))

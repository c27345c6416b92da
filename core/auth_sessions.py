"""Server-side login sessions: the browser holds a random token, the database the session.

The token is kept in the signed Flask session cookie in place of the user id (Flask-Login's
alternative token: ``User.get_id`` returns it), and only its SHA-256 is stored here. So
logging out, changing the password or deactivating the account ends the session on the
server, and a copy of the cookie replayed later finds nothing.

A session ends when it is revoked, when it has not been used for ``Lifetime.idle``, and
``Lifetime.absolute`` after it was opened in any case.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.models import AuthSession, User

# last_seen_at is written at most this often, so that a page view is not also a write.
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN = 100  # longer "tokens" are refused before hashing


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta = timedelta(hours=12)
    absolute: timedelta = timedelta(days=7)

    @classmethod
    def of(cls, settings: Settings) -> Lifetime:
        return cls(timedelta(hours=settings.session_idle_hours),
                   timedelta(days=settings.session_max_days))


DEFAULT = Lifetime()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open(session: Session, user: User, ip: str = "", user_agent: str = "",
         lifetime: Lifetime = DEFAULT) -> str:
    """Start a session for ``user``; the raw token is returned, never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(AuthSession(user_id=user.id, token_hash=digest(token), created_at=now,
                            last_seen_at=now, expires_at=now + lifetime.absolute,
                            ip=(ip or "")[:45], user_agent=(user_agent or "")[:300]))
    session.flush()
    user.session_token = token
    return token


def find(session: Session, token: str, lifetime: Lifetime = DEFAULT) -> User | None:
    """The active user of a live session, carrying ``token``; None for anything else.

    Commits when it notes the session's use, so call it before the request writes
    anything (the web application loads the user first thing in every request).
    """
    row = _live(session, token, lifetime)
    user = session.get(User, row.user_id) if row is not None else None
    if user is None or not user.active:
        return None
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    user.session_token = token
    return user


def _live(session: Session, token: str, lifetime: Lifetime) -> AuthSession | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now \
            or row.last_seen_at + lifetime.idle <= now:
        return None
    return row


def revoke(session: Session, token: str) -> None:
    """End the session of ``token`` (logging out)."""
    if token and len(token) <= MAX_TOKEN:
        session.execute(update(AuthSession)
                        .where(AuthSession.token_hash == digest(token),
                               AuthSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))


def revoke_one(session: Session, user: User, session_id: int) -> bool:
    """End one of ``user``'s sessions by its id; False if it is not theirs or has ended."""
    done = session.execute(update(AuthSession)
                           .where(AuthSession.id == session_id,
                                  AuthSession.user_id == user.id,
                                  AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
    return done.rowcount == 1


def revoke_all(session: Session, user: User, except_token: str | None = None) -> int:
    """End every session of ``user``, but the one of ``except_token``; how many ended."""
    query = update(AuthSession).where(AuthSession.user_id == user.id,
                                      AuthSession.revoked_at.is_(None))
    if except_token:
        query = query.where(AuthSession.token_hash != digest(except_token))
    return session.execute(query.values(revoked_at=utcnow())).rowcount


def of_user(session: Session, user: User, lifetime: Lifetime = DEFAULT) -> list[AuthSession]:
    """``user``'s live sessions, the most recently used first."""
    now = utcnow()
    return list(session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None),
               AuthSession.expires_at > now, AuthSession.last_seen_at > now - lifetime.idle)
        .order_by(AuthSession.last_seen_at.desc(), AuthSession.id.desc())))


def is_current(row: AuthSession, token: str | None) -> bool:
    return bool(token) and row.token_hash == digest(token)

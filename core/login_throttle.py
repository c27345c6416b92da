"""Login throttling: repeated failures lock an e-mail address for a while, and many failures
from one network address hold that address back.

Every attempt is a row in ``login_attempts``, so all web processes share the counts. The
lock is worked out from the attempts for the address typed, whether or not an account has
it, so the answer never tells anyone which addresses have accounts. An attempt refused
during a lock is a failure too: the lock lasts as long as the guessing goes on. A success
is recorded but forgives nothing: earlier failures still count until they are old.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import records
from core.db import utcnow
from core.models import LoginAttempt, User

ACCOUNT_FAILURES = 5  # failures for one e-mail address within WINDOW lock it
ADDRESS_FAILURES = 20  # failures from one network address within WINDOW hold it back
WINDOW = timedelta(minutes=15)  # also how long a lock lasts after the last failure counted


@dataclass(frozen=True)
class Refusal:
    """Why logging in is refused for now: "account" (locked) or "address" (throttled)."""

    reason: str
    until: datetime

    def message(self) -> str:
        minutes = max(1, math.ceil((self.until - utcnow()).total_seconds() / 60))
        if self.reason == "account":
            return ngettext("Too many failed attempts to log in with this e-mail address. "
                            "Try again in %(num)d minute.",
                            "Too many failed attempts to log in with this e-mail address. "
                            "Try again in %(num)d minutes.", minutes)
        return ngettext("Too many failed attempts to log in from your network address. "
                        "Try again in %(num)d minute.",
                        "Too many failed attempts to log in from your network address. "
                        "Try again in %(num)d minutes.", minutes)


def refusal(session: Session, email: str, ip: str) -> Refusal | None:
    """The lock or throttle in force for this e-mail address and network address."""
    until = _held_until(session, LoginAttempt.email == _key(email), ACCOUNT_FAILURES)
    if until is not None:
        return Refusal("account", until)
    until = _held_until(session, LoginAttempt.ip == ip, ADDRESS_FAILURES) if ip else None
    return Refusal("address", until) if until is not None else None


def succeeded(session: Session, email: str, ip: str) -> None:
    session.add(LoginAttempt(at=utcnow(), email=_key(email), ip=ip[:45], success=True))


def failed(session: Session, email: str, ip: str, user: User | None = None,
           actor=None) -> Refusal | None:
    """Record a failure; the refusal it leaves in force. A locked account's
    ``locked_until`` shows until when, for administrators."""
    session.add(LoginAttempt(at=utcnow(), email=_key(email), ip=ip[:45], success=False))
    session.flush()
    found = refusal(session, email, ip)
    if user is not None and found is not None and found.reason == "account" \
            and user.locked_until != found.until:
        records.update(session, user, {"locked_until": found.until}, actor, action="locked")
    return found


def _held_until(session: Session, which, limit: int) -> datetime | None:
    """When the last ``limit`` failures matching ``which`` stop counting, if there are
    that many within the window."""
    times = session.scalars(select(LoginAttempt.at)
                            .where(which, LoginAttempt.success.is_(False),
                                   LoginAttempt.at > utcnow() - WINDOW)
                            .order_by(LoginAttempt.at.desc()).limit(limit)).all()
    return times[-1] + WINDOW if len(times) == limit else None


def _key(email: str) -> str:
    return (email or "").strip().lower()[:254]

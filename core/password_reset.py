"""Password reset by e-mail: a single-use link to choose a new password.

Anyone may ask for a link for an e-mail address. The answer is the same whether or not
an account has it; only an active account is mailed, in the installation's language
(accounts keep no language of their own). The link carries a random token of which
only the SHA-256 is stored. It works once, for ``password_reset_minutes``, and no
longer once the password has changed in any way. Setting a password through it ends
every session of the account; the second factor stays on, so logging in afterwards
still asks for the code.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, auth_sessions, outbox, users
from core.db import utcnow
from core.errors import ValidationError
from core.models import PasswordReset, User

PER_ADDRESS = 3  # requests for one e-mail address within WINDOW: nobody's mailbox is flooded
PER_IP = 20  # requests from one network address within WINDOW, whatever the addresses
WINDOW = timedelta(hours=1)
MAX_TOKEN = 100  # longer "tokens" are refused before hashing


class Invalid(Exception):
    """A link that cannot be used: ``reason`` is "unknown", "expired" or "used"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Refusal:
    """Too many requests for now, from this network address or for this e-mail address."""

    until: datetime

    def message(self) -> str:
        minutes = max(1, math.ceil((self.until - utcnow()).total_seconds() / 60))
        return ngettext("Too many requests for a new password. Try again in %(num)d minute.",
                        "Too many requests for a new password. Try again in %(num)d "
                        "minutes.", minutes)


def ask(session: Session, email: str, ip: str, settings) -> Refusal | None:
    """Record a request and mail a link if an active account has ``email``; or the
    refusal in force, the same whether or not an account has the address."""
    email = (email or "").strip().lower()[:254]
    refused = refusal(session, email, ip)
    if refused is not None:
        return refused
    user = users.find_by_email(session, email)
    if user is None or not user.active:
        session.add(PasswordReset(email=email, ip=ip[:45], created_at=utcnow()))
        return None
    url = new_link(session, user, settings, ip)
    with force_locale(settings.default_locale):
        draft = _message(user, url, settings)
    outbox.queue(session, [draft])
    return None


def refusal(session: Session, email: str, ip: str) -> Refusal | None:
    until = _held_until(session, PasswordReset.email == email, PER_ADDRESS)
    if until is None and ip:
        until = _held_until(session, PasswordReset.ip == ip[:45], PER_IP)
    return Refusal(until) if until is not None else None


def _held_until(session: Session, which, limit: int) -> datetime | None:
    """When the oldest of the last ``limit`` requests matching ``which`` stops counting,
    if there are that many within the window."""
    times = session.scalars(select(PasswordReset.created_at)
                            .where(which, PasswordReset.created_at > utcnow() - WINDOW)
                            .order_by(PasswordReset.created_at.desc()).limit(limit)).all()
    return times[-1] + WINDOW if len(times) == limit else None


def new_link(session: Session, user: User, settings, ip: str = "") -> str:
    """A new single-use link for ``user``; the token in it is not kept."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(PasswordReset(email=user.email, ip=ip[:45], user_id=user.id,
                              token_hash=auth_sessions.digest(token), created_at=now,
                              expires_at=now + timedelta(minutes=settings.password_reset_minutes)))
    audit.write(session, user, "password_reset_requested", {"ip": (None, ip)})
    return f"{settings.public_url.rstrip('/')}/reset-password/{token}"


def _message(user: User, url: str, settings) -> outbox.Draft:
    minutes = settings.password_reset_minutes
    body = "\n\n".join([
        _("Someone, probably you, asked for a new password for the account %(email)s "
          "at %(site)s.", email=user.email, site=settings.public_url),
        ngettext("To choose it, open this link within %(num)d minute:",
                 "To choose it, open this link within %(num)d minutes:", minutes) + "\n" + url,
        _("The link works once. If you did not ask for it, ignore this message: your "
          "password stays as it is.")])
    return outbox.Draft(user.email, _("A new password for Kartoteka"), body,
                        to_name=user.full_name or "")


def find(session: Session, token: str) -> PasswordReset:
    """The request behind a link that can still be used; ``Invalid`` otherwise."""
    row = None
    if token and len(token) <= MAX_TOKEN:
        row = session.scalar(select(PasswordReset).where(
            PasswordReset.token_hash == auth_sessions.digest(token)))
    user = session.get(User, row.user_id) if row is not None else None
    if user is None or not user.active:
        raise Invalid("unknown")
    if row.used_at is not None:
        raise Invalid("used")
    if row.expires_at <= utcnow():
        raise Invalid("expired")
    return row


def complete(session: Session, reset: PasswordReset, new: str, again: str,
             ip: str = "") -> User:
    """Set the password through the link of ``reset``, which is used up; every
    session of the account ends, and every other link it was sent stops working."""
    user = session.get(User, reset.user_id)
    errors = {}
    short = users.too_short(new)
    if short:
        errors["new_password"] = short
    elif users.check_password(user, new):
        errors["new_password"] = _("Choose a password different from the current one.")
    if new != again:
        errors["new_password_again"] = _("The two new passwords are not the same.")
    if errors:
        raise ValidationError(errors)
    if not _use(session, reset):  # another request was quicker, or time ran out
        raise Invalid("expired" if reset.expires_at <= utcnow() else "used")
    users.set_password(session, user, new, actor=user)
    audit.write(session, user, "password_reset", {"ip": (None, ip)}, actor=user)
    return user


def _use(session: Session, reset: PasswordReset) -> bool:
    """Mark the link used, if no other request did first (the one UPDATE decides)."""
    now = utcnow()
    done = session.execute(update(PasswordReset)
                           .where(PasswordReset.id == reset.id,
                                  PasswordReset.used_at.is_(None),
                                  PasswordReset.expires_at > now)
                           .values(used_at=now)
                           .execution_options(synchronize_session=False))
    return done.rowcount == 1


def cancel_all(session: Session, user: User) -> int:
    """Make every link ``user`` was sent and has not used void; how many there were."""
    return session.execute(update(PasswordReset)
                           .where(PasswordReset.user_id == user.id,
                                  PasswordReset.used_at.is_(None),
                                  PasswordReset.expires_at > utcnow())
                           .values(used_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount


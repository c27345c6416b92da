"""Accounts: creation, passwords (argon2), deactivation, and the trail of logins.

Whatever ends a user's right to their sessions (a new password, deactivation) ends the
sessions too (``core.auth_sessions``), so a copy of an old cookie opens nothing; a new
password also voids the password reset links not yet used (``core.password_reset``).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, auth_sessions, records
from core import roles as role_service
from core.db import utcnow
from core.errors import ValidationError
from core.models import User

hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def create_user(session: Session, email: str, password: str, full_name: str = "",
                is_admin: bool = False, actor=None, roles: list[str] | None = None,
                portal_of=None, person=None, portal_admin: bool = False) -> User:
    """A new staff account; without ``roles`` it gets the built-in "staff" role.

    With ``portal_of`` (an organisation) it is a portal account instead, which only ever
    reaches that organisation; ``person`` is whom it stands for, ``portal_admin`` lets
    it maintain the organisation's people.
    """
    email = email.strip().lower()
    errors = {}
    if not EMAIL_RE.match(email):
        errors["email"] = _("Enter a valid e-mail address.")
    elif find_by_email(session, email) is not None:
        errors["email"] = _("An account with this e-mail address already exists.")
    short = too_short(password)
    if short:
        errors["password"] = short
    if portal_of is not None and person is not None and not _member(session, person, portal_of):
        errors["person_id"] = _("Choose a person who belongs to this organisation.")
    if errors:
        raise ValidationError(errors)
    user = User(email=email, full_name=full_name.strip(), is_admin=is_admin and not portal_of,
                password_hash=hasher.hash(password))
    if portal_of is not None:
        user.kind, user.organisation_id, user.portal_admin = "portal", portal_of.id, portal_admin
        user.person_id = person.id if person is not None else None
        return records.create(session, user, actor)
    if is_admin:
        return records.create(session, user, actor)
    keys = sorted(set([role_service.STAFF] if roles is None else roles))
    records.create(session, user, actor, related={"roles": (None, keys)})
    role_service.assign(session, user, keys, actor, audited=False)
    return user


def _member(session: Session, person, organisation) -> bool:
    """Whether ``person`` is (or was) a member of ``organisation``: a portal account
    stands only for someone its organisation's portal can see."""
    from core.models import Membership

    return session.scalar(select(Membership.id).where(
        Membership.person_id == person.id, Membership.organisation_id == organisation.id)
        .limit(1)) is not None


def too_short(password: str) -> str | None:
    """The message for a password under the minimum length, or None."""
    if len(password or "") >= MIN_PASSWORD:
        return None
    return ngettext("The password must have at least %(num)d character.",
                    "The password must have at least %(num)d characters.", MIN_PASSWORD)


def active_staff(session: Session) -> list[User]:
    """The staff accounts in use, by name: whom a form offers to choose."""
    return list(session.scalars(select(User).where(User.active, User.kind == "staff")
                                .order_by(User.full_name, User.email)))


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def check_password(user: User, password: str) -> bool:
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_by_email(session, email)
    if user is None:
        hasher.hash(password)  # same work either way, so timing does not reveal accounts
        return None
    if not user.active or not check_password(user, password):
        return None
    return user


def change_password(session: Session, user: User, old: str, new: str, actor=None,
                    keep_session: str | None = None) -> None:
    """Set a new password after checking the current one; every other session ends
    (``keep_session``: the token of the session the change was made in)."""
    errors = {}
    if not check_password(user, old or ""):
        errors["old_password"] = _("The current password is not right.")
    short = too_short(new)
    if short:
        errors["new_password"] = short
    elif new == old:
        errors["new_password"] = _("Choose a password different from the current one.")
    if errors:
        raise ValidationError(errors)
    set_password(session, user, new, actor or user, keep_session)


def set_password(session: Session, user: User, new: str, actor,
                 keep_session: str | None = None) -> None:
    """Store ``new``, already checked. What the old password opened ends with it: every
    session but ``keep_session``'s, and every password reset link not yet used."""
    from core import password_reset  # it builds on this module

    records.update(session, user, {"password_hash": hasher.hash(new),
                                   "password_changed_at": utcnow()},
                   actor, action="password_changed")
    auth_sessions.revoke_all(session, user, except_token=keep_session)
    password_reset.cancel_all(session, user)


def deactivate(session: Session, user: User, actor=None) -> None:
    """The account can no longer log in or use its API tokens; its sessions end now."""
    records.update(session, user, {"active": False}, actor)
    auth_sessions.revoke_all(session, user)


def activate(session: Session, user: User, actor=None) -> None:
    records.update(session, user, {"active": True}, actor)


def update_account(session: Session, user: User, full_name: str, is_admin: bool,
                   actor=None) -> None:
    """An administrator's change of someone's name or administrator rights; nobody
    takes their own rights away, so an installation never locks itself out."""
    if actor is not None and actor.id == user.id and user.is_admin and not is_admin:
        raise ValidationError({"is_admin": _("You cannot take away your own administrator "
                                             "rights; ask another administrator.")})
    full_name = full_name.strip()
    if len(full_name) > 200:
        raise ValidationError({"full_name": _("At most 200 characters.")})
    records.update(session, user, {"full_name": full_name, "is_admin": is_admin}, actor)


def set_supervisor(session: Session, user: User, supervisor_id: int | None, actor=None
                   ) -> None:
    """Place ``user`` in the organisation chart under ``supervisor_id`` (None: nobody).

    Approvals by "the direct supervisor" and deadline escalations follow this line, so
    it must lead somewhere: not to the account itself, not round in a circle.
    """
    if supervisor_id is not None:
        chosen = session.get(User, supervisor_id) if isinstance(supervisor_id, int) else None
        if chosen is None or chosen.kind != "staff":
            raise ValidationError({"supervisor_id": _("Choose an account from the list.")})
        if chosen.id == user.id:
            raise ValidationError({"supervisor_id": _("An account cannot be its own "
                                                      "supervisor.")})
        seen, above = {chosen.id}, chosen.supervisor_id
        while above is not None and above not in seen:
            if above == user.id:
                raise ValidationError({"supervisor_id": _(
                    "%(name)s already answers to this account; choosing them would make a "
                    "circle.", name=chosen.full_name or chosen.email)})
            seen.add(above)
            above = session.scalar(select(User.supervisor_id).where(User.id == above))
    if user.supervisor_id != supervisor_id:
        records.update(session, user, {"supervisor_id": supervisor_id}, actor)


# --- The trail of logins -------------------------------------------------------------------

def logged_in(session: Session, user: User, ip: str) -> None:
    audit.write(session, user, "login", {"ip": (None, ip)}, actor=user)


def login_failed(session: Session, email: str, ip: str, reason: str,
                 user: User | None = None) -> None:
    """A refused login; ``reason``: "password", "code", "locked" or "throttled". The
    password typed is never written anywhere."""
    audit.write(session, user or User(email=email), "login_failed",
                {"email": (None, email.strip()[:254]), "ip": (None, ip),
                 "reason": (None, reason)})


def logged_out(session: Session, user: User, ip: str) -> None:
    audit.write(session, user, "logout", {"ip": (None, ip)}, actor=user)

"""Staff accounts: creation and password checks (argon2)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import records
from core.errors import ValidationError
from core.models import User

hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def create_user(session: Session, email: str, password: str, full_name: str = "",
                is_admin: bool = False, actor=None) -> User:
    email = email.strip().lower()
    errors = {}
    if not EMAIL_RE.match(email):
        errors["email"] = _("Enter a valid e-mail address.")
    elif find_by_email(session, email) is not None:
        errors["email"] = _("An account with this e-mail address already exists.")
    if len(password) < MIN_PASSWORD:
        errors["password"] = ngettext("The password must have at least %(num)d character.",
                                      "The password must have at least %(num)d characters.",
                                      MIN_PASSWORD)
    if errors:
        raise ValidationError(errors)
    user = User(email=email, full_name=full_name.strip(), is_admin=is_admin,
                password_hash=hasher.hash(password))
    return records.create(session, user, actor)


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

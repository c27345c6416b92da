"""The optional second factor: time-based one-time codes (TOTP, RFC 6238) from an
authenticator app.

Enrolment shows a new secret as a QR code; the secret is switched on only once the app
has produced a valid code from it. A code is accepted for the current 30-second step or
one step either side (clocks drift), and only once: the step it belongs to is stored,
and a code of that step or an earlier one is refused. Switching it off takes the
password, so a session left open cannot remove the factor.
"""

from __future__ import annotations

import pyotp
import segno
from flask_babel import gettext as _
from pyotp.utils import strings_equal
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import records, users
from core.db import utcnow
from core.errors import ValidationError
from core.models import User

ISSUER = "Kartoteka"
WINDOW = 1  # steps either side of now that are accepted


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User) -> str:
    """What the QR code holds: the ``otpauth://`` address authenticator apps read."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(secret: str, user: User) -> str:
    """The QR code of the secret as inline SVG, ready to put in a page."""
    return segno.make(provisioning_uri(secret, user), error="m").svg_inline(
        scale=5, title=_("QR code for the authenticator app"))


def matching_step(secret: str, code: str, after: int = 0) -> int | None:
    """The time step ``code`` belongs to, within the window and later than ``after``."""
    code = "".join((code or "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > after and strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def verify(session: Session, user: User, code: str) -> bool:
    """Accept ``code`` for ``user`` once: the step is claimed with a conditional update,
    so two processes given the same code cannot both accept it."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    claimed = session.execute(update(User)
                              .where(User.id == user.id, User.totp_last_step < step)
                              .values(totp_last_step=step)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)  # already written
    return True


def enable(session: Session, user: User, secret: str, code: str, actor=None) -> None:
    """Switch the second factor on with ``secret``, once ``code`` proves the app has it."""
    step = matching_step(secret, code)
    if step is None:
        raise ValidationError({"code": _("The code is not right. Enter the six digits the "
                                         "app shows now.")})
    records.update(session, user, {"totp_secret": secret, "totp_last_step": step},
                   actor or user, action="totp_on")


def disable(session: Session, user: User, password: str, actor=None) -> None:
    if not users.check_password(user, password or ""):
        raise ValidationError({"password": _("The password is not right.")})
    records.update(session, user, {"totp_secret": None, "totp_last_step": 0},
                   actor or user, action="totp_off")

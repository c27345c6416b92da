"""My account: password, the second factor, my sessions and my API tokens.

Every form here acts on the logged-in user only; a session or token id of someone
else's answers 404. A new API token is shown in the page that creates it and nowhere
else (never in a redirect or a flashed message, which would keep it in the cookie).
"""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from core import auth_sessions, tokens, totp, users
from core.db import utcnow
from core.errors import ValidationError
from core.models import ApiToken
from core.web.auth import lifetime
from core.web.db import db

bp = Blueprint("account", __name__, url_prefix="/account")
ENROLMENT = "totp_enrolment"  # Flask session key of the secret shown until confirmed
MAX_TOKEN_DAYS = 3650


@bp.before_request
@login_required
def _require_login():
    """Every page here is the logged-in user's own."""


def me():
    """The logged-in user itself (services inspect the record's class, not a proxy)."""
    return current_user._get_current_object()


@bp.get("/")
def index():
    return _page()


@bp.post("/password")
def change_password():
    form, store, user = request.form, db(), me()
    if form.get("new_password", "") != form.get("new_password_again", ""):
        return _page(errors={"new_password_again": _("The two new passwords are not the "
                                                     "same.")})
    try:
        users.change_password(store, user, form.get("old_password", ""),
                              form.get("new_password", ""), keep_session=user.session_token)
    except ValidationError as exc:
        store.rollback()
        return _page(errors=exc.errors)
    store.commit()
    flash(_("Your password has been changed; your other sessions have ended."))
    return redirect(url_for("account.index"))


# --- Second factor -------------------------------------------------------------------------

@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor():
    if me().totp_secret:
        return redirect(url_for("account.index"))
    secret = session.get(ENROLMENT) or totp.new_secret()
    session[ENROLMENT] = secret
    errors = {}
    if request.method == "POST":
        store = db()
        try:
            totp.enable(store, me(), secret, request.form.get("code", ""))
        except ValidationError as exc:
            store.rollback()
            errors = exc.errors
        else:
            store.commit()
            session.pop(ENROLMENT, None)
            flash(_("Two-step login is on: from now on you will be asked for a code."))
            return redirect(url_for("account.index"))
    return _no_store(render_template(
        "core/account/two_factor.html", errors=errors, secret=secret,
        grouped=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        qr=totp.qr_svg(secret, me())))


@bp.post("/two-factor/off")
def two_factor_off():
    store = db()
    try:
        totp.disable(store, me(), request.form.get("totp_password", ""))
    except ValidationError as exc:
        store.rollback()
        return _page(errors={f"totp_{k}": v for k, v in exc.errors.items()})
    store.commit()
    flash(_("Two-step login is off."))
    return redirect(url_for("account.index"))


# --- Sessions ------------------------------------------------------------------------------

@bp.post("/sessions/others")
def end_other_sessions():
    store, user = db(), me()
    ended = auth_sessions.revoke_all(store, user, except_token=user.session_token)
    store.commit()
    flash(ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.",
                   ended))
    return redirect(url_for("account.index"))


@bp.post("/sessions/<int:session_id>/end")
def end_session(session_id: int):
    store = db()
    if not auth_sessions.revoke_one(store, me(), session_id):
        abort(404)
    store.commit()
    flash(_("The session has ended."))
    return redirect(url_for("account.index"))


# --- API tokens ----------------------------------------------------------------------------

@bp.post("/tokens")
def create_token():
    store = db()
    days, errors = _expiry_days(request.form.get("expires_days", ""))
    if not errors:
        try:
            _row, token = tokens.create(store, me(), request.form.get("name", ""),
                                        utcnow() + timedelta(days=days) if days else None,
                                        actor=me())
        except ValidationError as exc:
            errors = {"expires_days" if k == "expires_at" else k: v
                      for k, v in exc.errors.items()}
    if errors:
        store.rollback()
        return _page(errors=errors)
    store.commit()
    return _no_store(_page(new_token=token))


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    store = db()
    row = store.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                              ApiToken.user_id == me().id))
    if row is None:
        abort(404)
    tokens.revoke(store, row, me())
    store.commit()
    flash(_("The token %(name)s has been revoked.", name=row.name))
    return redirect(url_for("account.index"))


def _expiry_days(text: str) -> tuple[int | None, dict]:
    text = text.strip()
    if not text:
        return None, {}
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_TOKEN_DAYS:
        return int(text), {}
    return None, {"expires_days": _("Enter a whole number of days from 1 to %(max)d.",
                                    max=MAX_TOKEN_DAYS)}


# --- The page ------------------------------------------------------------------------------

def _page(errors: dict | None = None, new_token: str | None = None):
    store, user, errors = db(), me(), errors or {}
    return render_template(
        "core/account/index.html", errors=errors, new_token=new_token,
        form=request.form if errors else {}, now=utcnow(),
        sessions=auth_sessions.of_user(store, user, lifetime()),
        current_token=user.session_token, is_current=auth_sessions.is_current,
        tokens=sorted(tokens.of_user(store, user), key=lambda t: -t.id))


def _no_store(response):
    """Pages showing a secret are not kept by the browser or a proxy."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response

"""Logging in and out: the password, then a one-time code when the second factor is on.

A login opens a server-side session (``core.auth_sessions``); the signed Flask session
cookie holds only its token, and the user loader finds the user by it on every request.
Until the code of the second step is checked, the Flask session holds just the id of the
user who gave the right password, for a few minutes; no server session exists yet.
Failures are counted by ``core.login_throttle`` and written to the audit trail.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import auth_sessions, login_throttle, totp, usage, users
from core.models import User
from core.web.db import db
from core.web.i18n import LANGUAGES

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in to see this page.")
login_manager.session_protection = "strong"

PENDING = "pending_login"  # Flask session key of a login waiting for its code
PENDING_FOR = 300  # seconds to enter the code before starting again


@login_manager.user_loader
def load_user(token: str):
    return auth_sessions.find(db(), token, lifetime())


@bp.before_app_request
def _load_user_first() -> None:
    """Find the session before the request writes anything: noting its use may commit."""
    if request.endpoint and not request.endpoint.endswith("static"):
        _ = current_user.is_authenticated


def lifetime() -> auth_sessions.Lifetime:
    return auth_sessions.Lifetime.of(current_app.extensions["kartoteka"].settings)


def client_ip() -> str:
    return (request.remote_addr or "")[:45]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the authenticator app"),
                       validators=[DataRequired(), Length(max=20)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data
        refused = login_throttle.refusal(db(), email, client_ip())
        user = None if refused else users.authenticate(db(), email, password)
        if user is None:
            wrong, refused = _failed(email, _reason(refused, "password"))
            form.password.errors.extend(m for m in (wrong, refused and refused.message()) if m)
        elif user.totp_secret:
            return _ask_for_code(user)
        else:
            return _complete(user, request.args.get("next"))
    return render_template("core/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Log in again: the code was not entered in time."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        refused = login_throttle.refusal(db(), user.email, client_ip())
        if refused is None and totp.verify(db(), user, form.code.data):
            return _complete(user, session[PENDING].get("next"))
        wrong, refused = _failed(user.email, _reason(refused, "code"), user)
        if refused is None:
            form.code.errors.append(wrong)
        else:  # locked: start again once the lock is over
            session.pop(PENDING, None)
            flash(refused.message(), "error")
            return redirect(url_for("auth.login"))
    return render_template("core/login_code.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    store, user = db(), current_user._get_current_object()
    auth_sessions.revoke(store, user.session_token)
    users.logged_out(store, user, client_ip())
    store.commit()
    logout_user()
    fresh_session()
    flash(_("You have been logged out."))
    return redirect(url_for("auth.login"))


def _ask_for_code(user: User):
    fresh_session()
    session[PENDING] = {"user": user.id, "at": int(time.time()),
                        "next": request.args.get("next")}
    return redirect(url_for("auth.login_code"))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int) \
            or time.time() - pending.get("at", 0) > PENDING_FOR:
        return None
    user = db().get(User, pending["user"])
    return user if user is not None and user.active and user.totp_secret else None


def _complete(user: User, next_page: str | None):
    """Open the server session and hand its token to a fresh Flask session."""
    store, ip = db(), client_ip()
    fresh_session()
    auth_sessions.open(store, user, ip, request.user_agent.string, lifetime())
    login_throttle.succeeded(store, user.email, ip)
    users.logged_in(store, user, ip)
    usage.record(store, "login", user)
    store.commit()
    login_user(user)
    return redirect(safe_next(next_page))


def fresh_session() -> None:
    """A new Flask session on each step of logging in, so that a session planted
    before (fixation) never becomes a logged-in one; the language choice stays."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def _reason(refused: login_throttle.Refusal | None, otherwise: str) -> str:
    if refused is None:
        return otherwise
    return "locked" if refused.reason == "account" else "throttled"


def _failed(email: str, reason: str, user: User | None = None):
    """Count and audit a failure. What to tell the user: what was wrong ("password" and
    "code") and the lock now in force, the same whether or not an account has the
    address."""
    store, ip = db(), client_ip()
    user = user or users.find_by_email(store, email)
    refused = login_throttle.failed(store, email, ip, user)
    users.login_failed(store, email, ip, reason, user)
    store.commit()
    wrong = {"password": _("Wrong e-mail or password."),
             "code": _("The code is not right.")}.get(reason)
    return wrong, refused


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.referrer))


def safe_next(target: str | None) -> str:
    """Only redirect within this site, never to another host."""
    if target and "\\" not in target and target.isprintable():
        parts = urlsplit(target)
        if (not parts.netloc or parts.netloc == request.host) and parts.path.startswith("/") \
                and not parts.path.startswith("//"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    portal = current_user.is_authenticated and current_user.is_portal
    return url_for("portal.index" if portal else "home.index")

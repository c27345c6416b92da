"""Forgotten passwords: asking for a link by e-mail, and choosing a new password with it.

The pages need no login. The page of the link carries its token in the address, so it
is neither cached nor named to other sites (``Referrer-Policy``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from core import password_reset, users
from core.errors import ValidationError
from core.web.auth import client_ip, fresh_session
from core.web.db import db

bp = Blueprint("password_reset", __name__)


def settings():
    return current_app.extensions["kartoteka"].settings


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/forgot-password", methods=["GET", "POST"])
def ask():
    email, errors = request.form.get("email", "").strip(), {}
    if request.method == "POST":
        if len(email) > 254 or not users.EMAIL_RE.match(email):
            errors["email"] = _("Enter a valid e-mail address.")
        else:
            store = db()
            refused = password_reset.ask(store, email, client_ip(), settings())
            if refused is None:
                store.commit()
                return redirect(url_for("password_reset.sent"))
            errors["email"] = refused.message()
    return render_template("core/password_reset/ask.html", email=email, errors=errors)


@bp.get("/forgot-password/sent")
def sent():
    """The same answer whether or not an account has the address."""
    return render_template("core/password_reset/sent.html",
                           minutes=settings().password_reset_minutes)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def choose(token: str):
    store, errors = db(), {}
    try:
        found = password_reset.find(store, token)
        if request.method == "POST":
            password_reset.complete(store, found, request.form.get("new_password", ""),
                                    request.form.get("new_password_again", ""), client_ip())
            store.commit()
            logout_user()  # whoever was logged in here, their session has just ended
            fresh_session()
            flash(_("Your new password is set and every session of your account has "
                    "ended. Log in with the new password."))
            return redirect(url_for("auth.login"))
    except ValidationError as exc:
        store.rollback()
        errors = exc.errors
    except password_reset.Invalid as exc:
        store.rollback()
        return render_template("core/password_reset/invalid.html", reason=exc.reason), \
            404 if exc.reason == "unknown" else 410
    return render_template("core/password_reset/choose.html", errors=errors)

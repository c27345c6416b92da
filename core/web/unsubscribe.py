"""The unsubscribe link of marketing mail: no login, no cookie, no redirect.

GET only shows what the link would do, because mail scanners open links; the POST of
the page's button, or the one-click POST of a mail program (RFC 8058), withdraws the
consent. The token is the authority, so the POST needs no CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from core import consents, unsubscribe
from core.web.db import db

bp = Blueprint("unsubscribe", __name__)


def _read(token: str):
    found = unsubscribe.read(current_app.extensions["kartoteka"].settings, token)
    if found is None:
        abort(404)
    return found


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    person_id, purpose_key, _message = _read(token)
    purpose = consents.purpose_by_key(db(), purpose_key)
    return render_template("core/mail/unsubscribe.html", purpose=purpose, done=False,
                           subscribed=consents.has_consent(db(), person_id, purpose_key))


@bp.post("/unsubscribe/<token>")
def unsubscribe_now(token: str):
    person_id, purpose_key, message_id = _read(token)
    session = db()
    unsubscribe.unsubscribe(session, person_id, purpose_key, message_id)
    session.commit()
    purpose = consents.purpose_by_key(session, purpose_key)
    return render_template("core/mail/unsubscribe.html", purpose=purpose, done=True,
                           subscribed=False)


def init_app(app, csrf) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)

"""``/calendar/<token>.ics``: the iCalendar feed that Google Calendar or Outlook subscribe to.

No login: calendar programs cannot log in, so the token in the URL is the secret. An
unknown token and a rotated one get the same 404, so the answer never tells which.
"""

from flask import Blueprint, Response, abort, url_for

from core import calendar
from core.models import User
from core.web.db import db

bp = Blueprint("calendar_feed", __name__)
CACHE_SECONDS = 300  # subscribers poll; a few minutes of staleness spares the database


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    session = db()
    owner = calendar.feed_owner(session, token)
    if owner is None:
        abort(404)
    kind = "user" if isinstance(owner, User) else "team"
    body = calendar.ical_feed(session, **{kind: owner})
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def feed_url(token: str) -> str:
    """The full URL to paste into a calendar program's "subscribe from URL"."""
    return url_for("calendar_feed.feed", token=token, _external=True)

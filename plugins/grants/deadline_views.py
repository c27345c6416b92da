"""The calendar of settlement dates (``/grants/deadlines/``): every obligation of the
clients' grants the viewer may see (``deadlines.py``), month by month and day by day,
narrowed to a client, to what is due, or to the overdue ones (all of them, whatever
the months shown); overdue dates in red, each linked to its application (a cooperation
contract's instalment, with its amount, to its opportunity). A filter that cannot be
used is named next to its field (400) and nothing is listed.

The same dates are an iCalendar feed at ``/grants/deadlines/<token>.ics`` for Google
Calendar or Outlook, under the viewer's own secret calendar address (the core's feed
token, made here on first use): no login, the token is the secret; an unknown or
replaced one gets 404. It shows what the token's owner may see, from 90 days back to
two years ahead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import calendar
from core.errors import ValidationError
from core.filters import today
from core.menu import MenuItem
from core.models import User
from core.periods import add_months
from core.web.db import db
from core.web.forms import optional_int
from plugins.grants import deadlines

bp = Blueprint("grants_deadlines", __name__, url_prefix="/grants/deadlines",
               template_folder="templates")
MENU = [MenuItem("grants_deadlines.index", label={"pl": "Terminy rozliczeń",
                                                  "en": "Settlement deadlines"})]
MONTHS = (1, 3, 6, 12)  # how many months a page may show
CACHE_SECONDS = 300  # calendar programs poll; a few minutes of staleness spares the database
KIND_LABELS = {deadlines.PAYMENT_REQUEST: _l("Payment requests"),
               deadlines.DURABILITY_REPORT: _l("Durability reports"),
               deadlines.CALL: _l("Call deadlines"),
               deadlines.INSTALMENT: _l("Contract instalments")}


@bp.get("/", endpoint="index")
@login_required
def index():
    session, errors = db(), {}
    values = {name: request.args.get(name, "").strip()[:20]
              for name in ("month", "months", "client", "kind", "overdue")}
    first = _month(values["month"], errors)
    count = _months(values["months"], errors)
    clients = deadlines.clients(session, current_user)
    client_id = optional_int(values["client"])
    if client_id is not None and client_id not in {c.id for c in clients}:
        errors["client"] = _("Choose a client from the list.")
    kinds = [values["kind"]] if values["kind"] else None
    if kinds and values["kind"] not in deadlines.KINDS:
        errors["kind"] = _("Choose what is due from the list.")
    late = values["overdue"] == "1"
    last = add_months(first, count) - timedelta(days=1)
    found = [] if errors else (
        deadlines.overdue(session, current_user, client_id, kinds) if late
        else deadlines.upcoming(session, current_user, first, last, client_id, kinds))
    owner = current_user._get_current_object()
    return render_template(
        "grants/deadlines.html", values=values, errors=errors, first=first, last=last,
        count=count, months=_by_month(found), late=late, total=len(found),
        clients=[(str(c.id), c.name) for c in clients],
        kinds=[(k, str(KIND_LABELS[k])) for k in deadlines.KINDS],
        spans=[(str(n), _("%(count)d months", count=n) if n > 1 else _("1 month"))
               for n in MONTHS],
        previous=add_months(first, -count).strftime("%Y-%m"),
        following=add_months(first, count).strftime("%Y-%m"), today=today(),
        feed=_feed_url(owner.feed_token) if owner.feed_token else None,
    ), 400 if errors else 200


@bp.post("/feed", endpoint="feed_address")
@login_required
def feed_address():
    """Make the viewer's secret calendar address, shared with the core's calendar."""
    session = db()
    try:
        calendar.ensure_feed_token(session, current_user._get_current_object(), current_user)
        session.commit()
    except ValidationError as exc:  # a plugin's veto
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for("grants_deadlines.index"))


@bp.get("/<token>.ics", endpoint="feed")
def feed(token: str):
    session = db()
    owner = calendar.feed_owner(session, token)
    if not isinstance(owner, User):
        abort(404)  # a team has no reach of its own over the applications
    start, end = deadlines.feed_window()
    found = deadlines.upcoming(session, owner, start, end)
    body = deadlines.ical(found, lambda o: url_for("cases.card", record_id=o.case_id,
                                                  _external=True), _("Settlement deadlines"))
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.headers["Content-Disposition"] = 'inline; filename="deadlines.ics"'
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _feed_url(token: str) -> str:
    return url_for("grants_deadlines.feed", token=token, _external=True)


def _month(value: str, errors: dict) -> date:
    """The first month shown: YYYY-MM, the current one by default."""
    current = today().replace(day=1)
    if not value:
        return current
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
        year, month = int(value[:4]), int(value[5:])
        if 1900 <= year <= 9000 and 1 <= month <= 12:
            return date(year, month, 1)
    errors["month"] = _("Give a month as YYYY-MM.")
    return current


def _months(value: str, errors: dict) -> int:
    if not value:
        return MONTHS[1]
    if value.isdigit() and int(value) in MONTHS:
        return int(value)
    errors["months"] = _("Choose how many months to show from the list.")
    return MONTHS[1]


def _by_month(found: list[deadlines.Obligation]) -> list[tuple[date, list]]:
    """[(first of the month, [(day, [obligations])])], in order."""
    months: dict[date, dict[date, list]] = {}
    for obligation in found:
        day = obligation.due_on
        months.setdefault(day.replace(day=1), {}).setdefault(day, []).append(obligation)
    return [(first, list(days.items())) for first, days in sorted(months.items())]

"""Staff pages for the calendar: a week of my or my team's events and tasks due, adding
events, and the secret address of the iCalendar feed for Google Calendar or Outlook."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import calendar, tasks, teams
from core.errors import ValidationError
from core.models import Team
from core.tasks import local_zone
from core.terms import term
from core.web.calendar_feed import feed_url
from core.web.db import db
from core.web.forms import local_datetime, optional_int

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else date.today()
    except ValueError:
        day = date.today()
    if not 1900 <= day.year <= 9000:  # far enough from the calendar's ends to page on
        day = date.today()
    return day - timedelta(days=day.weekday())


@bp.get("/")
@login_required
def week():
    session, zone = db(), local_zone()
    monday = _monday(request.args.get("week"))
    start = datetime.combine(monday, time(), zone)
    team = _my_team(session, request.args.get("team"))
    events = calendar.between(session, start, start + timedelta(days=7),
                              user=None if team else current_user, team=team,
                              actor=current_user)
    due = tasks.due_between(session, start, start + timedelta(days=7),
                            user=None if team else current_user, team=team, actor=current_user)
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day = {d: [e for e in events if _on(e, d, zone)] for d in days}
    tasks_by_day = {d: [t for t in due if t.due_at.astimezone(zone).date() == d] for d in days}
    owner = team or current_user._get_current_object()
    return render_template("core/calendar/week.html", days=days, by_day=by_day,
                           tasks_by_day=tasks_by_day,
                           monday=monday, team=team, teams=teams.teams_of(session, current_user),
                           today=datetime.now(zone).date(),
                           feed=feed_url(owner.feed_token) if owner.feed_token else None)


def _my_team(session, value: str | None) -> Team | None:
    """The team named in the request, if the user belongs to it; 404 otherwise."""
    team_id = optional_int(value)
    if team_id is None:
        return None
    team = session.get(Team, team_id) if isinstance(team_id, int) else None
    if team is None or team not in teams.teams_of(session, current_user):
        abort(404)
    return team


def _on(event, day: date, zone) -> bool:
    if event.all_day:  # whole dates, stored as UTC midnights: the same days everywhere
        start = event.starts_at.astimezone(UTC).date()
        end = (event.ends_at.astimezone(UTC) - timedelta(days=1)).date()
    else:
        start = event.starts_at.astimezone(zone).date()
        end = (event.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    return start <= day <= end


@bp.post("/new")
@login_required
def new():
    session = db()
    all_day = request.form.get("all_day") == "1"
    team = _my_team(session, request.form.get("team_id"))
    data = {"title": request.form.get("title", ""), "location": request.form.get("location", ""),
            "description": request.form.get("description", ""), "all_day": all_day,
            "team_id": team.id if team else None}
    for field in ("starts_at", "ends_at"):
        value = request.form.get(field, "")
        data[field] = (value[:10] or None) if all_day else local_datetime(value)
    try:
        event = calendar.create_event(session, data, attendees_users=[current_user],
                                      actor=current_user)
        session.commit()
        flash(_("Added: %(what)s.", what=term("core.event")))
        week_of = event.starts_at.astimezone(local_zone()).date().isoformat()
        return redirect(url_for("calendar.week", week=week_of))
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for("calendar.week"))


@bp.post("/feed")
@login_required
def feed():
    """Create, or with ``rotate`` replace, the secret feed address of me or my team."""
    session = db()
    team = _my_team(session, request.form.get("team"))
    owner = team or current_user._get_current_object()
    try:
        if request.form.get("rotate") == "1":
            calendar.rotate_feed_token(session, owner, current_user)
            flash(_("The old calendar address no longer works; subscribe again with the new "
                    "one."))
        else:
            calendar.ensure_feed_token(session, owner, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for("calendar.week", team=team.id if team else None))

"""Staff pages for the calendar: a week or a month of my or my team's events and tasks
due, an event's page with its edit form, adding and cancelling events, and the secret
address of the iCalendar feed for Google Calendar or Outlook.

Whoever may see an event (``records.get``) sees its page. The edit form and the cancel
button are offered to whom ``update_event`` and ``cancel_event`` would let through (the
role's edit and delete levels for events); anyone else posting them is refused (403).
A refused form is shown again with each message next to its field and what was typed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import calendar, permissions, records, tasks, teams
from core.audit import label_of
from core.errors import ValidationError
from core.models import CalendarEvent, Team
from core.tasks import local_zone
from core.terms import term
from core.web.audit import record_type_label
from core.web.calendar_feed import feed_url
from core.web.db import db
from core.web.forms import local_datetime, optional_int
from core.web.search import CARDS

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

ONE_DAY = timedelta(days=1)
FIELDS = ("title", "starts_at", "ends_at", "all_day", "location", "description", "team_id")
ANSWERS = {"invited": _l("invited"), "accepted": _l("accepted"), "declined": _l("declined"),
           "tentative": _l("maybe")}


def _monday(value: str | None) -> date:
    """The Monday of the week of ``value`` (YYYY-MM-DD), or of today in the
    installation's time zone (the server's clock may be a day behind at midnight)."""
    try:
        day = date.fromisoformat(value) if value else _today()
    except ValueError:
        day = _today()
    if not 1900 <= day.year <= 9000:  # far enough from the calendar's ends to page on
        day = _today()
    return day - timedelta(days=day.weekday())


def _first_of_month(value: str | None) -> date:
    """The month named YYYY-MM; the current one for anything else."""
    today = _today()
    if not value or not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
        return today.replace(day=1)
    year, month = int(value[:4]), int(value[5:])
    if not 1900 <= year <= 9000 or not 1 <= month <= 12:
        return today.replace(day=1)
    return date(year, month, 1)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _today() -> date:
    return datetime.now(local_zone()).date()


@bp.get("/")
@login_required
def week():
    session = db()
    return _week_page(session, _monday(request.args.get("week")),
                      _my_team(session, request.args.get("team")))


def _week_page(session, monday: date, team: Team | None, typed=None, errors=None,
               status: int = 200):
    days = [monday + timedelta(days=i) for i in range(7)]
    today = _today()
    owner = team or current_user._get_current_object()
    return render_template(
        "core/calendar/week.html", days=days, monday=monday,
        month=(today if today in days else monday).strftime("%Y-%m"),
        feed=feed_url(owner.feed_token) if owner.feed_token else None,
        **_entries(session, days, team), **_shared(session, team, typed, errors)), status


@bp.get("/month")
@login_required
def month():
    session = db()
    return _month_page(session, _first_of_month(request.args.get("month")),
                       _my_team(session, request.args.get("team")))


def _month_page(session, first: date, team: Team | None, typed=None, errors=None,
                status: int = 200):
    """The weeks, Monday to Sunday, that hold the days of the month."""
    after = _next_month(first)
    start = first - timedelta(days=first.weekday())
    end = after + timedelta(days=(7 - after.weekday()) % 7)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    today, entries = _today(), _entries(session, days, team)
    return render_template(
        "core/calendar/month.html", first=first,
        weeks=[days[i:i + 7] for i in range(0, len(days), 7)],
        previous=(first - ONE_DAY).strftime("%Y-%m"), following=after.strftime("%Y-%m"),
        week_of=(today if today.replace(day=1) == first else first).isoformat(),
        quiet=not any(entries["by_day"][d] or entries["tasks_by_day"][d]
                      for d in days if d.month == first.month),
        **entries, **_shared(session, team, typed, errors)), status


def _entries(session, days: list[date], team: Team | None) -> dict:
    """The events and open tasks due on each of ``days``: mine, or the team's."""
    zone = local_zone()
    start = datetime.combine(days[0], time(), zone)
    end = datetime.combine(days[-1] + ONE_DAY, time(), zone)
    user = None if team else current_user
    events = calendar.between(session, start, end, user=user, team=team, actor=current_user)
    due = tasks.due_between(session, start, end, user=user, team=team, actor=current_user)
    return {"by_day": {d: [e for e in events if _on(e, d, zone)] for d in days},
            "tasks_by_day": {d: [t for t in due if t.due_at.astimezone(zone).date() == d]
                             for d in days}}


def _shared(session, team: Team | None, typed, errors) -> dict:
    """What both views show: whose calendar, today, and the add-an-event form."""
    return {"team": team, "teams": teams.teams_of(session, current_user), "today": _today(),
            "typed": typed or {}, "errors": errors or {}}


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
    first, last = calendar.days_of(event, zone)
    return first <= day <= last


def _posted() -> tuple[dict, dict]:
    """The event form as typed (to show again) and as ``core.calendar`` takes it."""
    typed = {name: request.form.get(name, "") for name in FIELDS}
    all_day = typed["all_day"] == "1"
    data = {"title": typed["title"], "location": typed["location"],
            "description": typed["description"], "all_day": all_day}
    for name in ("starts_at", "ends_at"):
        data[name] = (typed[name][:10] or None) if all_day else local_datetime(typed[name])
    return typed, data


@bp.post("/new")
@login_required
def new():
    """Add an event to my calendar or my team's; a refusal shows the view it came from
    again, with the messages and what was typed."""
    session = db()
    team = _my_team(session, request.form.get("team_id"))
    typed, data = _posted()
    data["team_id"] = team.id if team else None
    in_month = request.form.get("view") == "month"
    try:
        event = calendar.create_event(session, data, attendees_users=[current_user],
                                      actor=current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        at = request.form.get("at")
        if in_month:
            return _month_page(session, _first_of_month(at), team, typed, exc.errors, 422)
        return _week_page(session, _monday(at), team, typed, exc.errors, 422)
    flash(_("Added: %(what)s.", what=term("core.event")))
    day = calendar.days_of(event, local_zone())[0]
    if in_month:
        return redirect(url_for("calendar.month", month=day.strftime("%Y-%m"),
                                team=team.id if team else None))
    return redirect(url_for("calendar.week", week=day.isoformat(),
                            team=team.id if team else None))


# --- An event's page ---------------------------------------------------------------------

def _event(session, event_id: int) -> CalendarEvent:
    """The event if the user may see it and it is on their or their team's calendar;
    404 otherwise (its existence is not told)."""
    found = records.get(session, CalendarEvent, event_id, current_user)
    if found is None or not calendar.reaches(session, found, current_user):
        abort(404)
    return found


@bp.get("/events/<int:event_id>")
@login_required
def event(event_id: int):
    session = db()
    found = _event(session, event_id)
    attendees, unseen = calendar.attendees_of(session, found, current_user)
    first, last = calendar.days_of(found, local_zone())
    return render_template(
        "core/calendar/event.html", event=found, first=first, last=last,
        attendees=attendees, unseen=unseen, answers=ANSWERS,
        team=session.get(Team, found.team_id) if found.team_id else None,
        linked=_linked(session, found),
        may_edit=calendar.may_edit(session, found, current_user),
        may_cancel=calendar.may_cancel(session, found, current_user))


def _linked(session, event: CalendarEvent) -> list[tuple[str, str, str | None]]:
    """The records the event is about that the user may see: (record type's term,
    name, link to its card if it has one)."""
    return [(record_type_label(r.record_type), label_of(r) or f"#{r.id}",
             url_for(CARDS[r.record_type], record_id=r.id) if r.record_type in CARDS else None)
            for r in calendar.records_of(session, event, current_user)]


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    session = db()
    found = _event(session, event_id)
    permissions.require(session, current_user, found, "edit", {})  # 403 for readers
    options = _team_options(session, found)
    if request.method == "GET":
        return _edit_page(found, _values(found), {}, options, found.version)
    typed, data = _posted()
    team_id, errors = optional_int(typed["team_id"]), {}
    if team_id is not None and str(team_id) not in dict(options):
        errors["team_id"], team_id = _("Choose a team from the list."), found.team_id
    data["team_id"] = team_id
    try:
        calendar.update_event(session, found, data, actor=current_user,
                              expected_version=optional_int(request.form.get("version")))
    except ValidationError as exc:
        errors = {**exc.errors, **errors}
    if errors:
        session.rollback()
        version = request.form.get("version", "")  # a later save still meets a change between
        if "version" in errors:  # someone saved first: show what is stored now
            typed, version = _values(found), found.version
        return _edit_page(found, typed, errors, options, version, 422)
    session.commit()
    flash(_("Saved."))
    return redirect(url_for("calendar.event", event_id=found.id))


def _edit_page(event: CalendarEvent, typed: dict, errors: dict, options, version,
               status: int = 200):
    return render_template("core/calendar/edit.html", event=event, typed=typed,
                           errors=errors, team_options=options, version=version), status


def _team_options(session, event: CalendarEvent) -> list[tuple[str, str]]:
    """The calendars an event can be moved to: my teams', and the one it is in."""
    found = teams.teams_of(session, current_user)
    if event.team_id and event.team_id not in {t.id for t in found}:
        found.append(session.get(Team, event.team_id))
    return [(str(t.id), t.name) for t in found]


def _values(event: CalendarEvent) -> dict:
    """The event as its form shows it: local times, an all-day event's dates at 00:00."""
    first, last = calendar.days_of(event, local_zone())
    if event.all_day:
        starts, ends = f"{first.isoformat()}T00:00", f"{last.isoformat()}T00:00"
    else:
        starts, ends = (moment.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")
                        for moment in (event.starts_at, event.ends_at))
    return {"title": event.title, "starts_at": starts, "ends_at": ends,
            "all_day": "1" if event.all_day else "", "location": event.location,
            "description": event.description,
            "team_id": str(event.team_id) if event.team_id else ""}


@bp.post("/events/<int:event_id>/cancel")
@login_required
def cancel(event_id: int):
    """Cancel the event (403 for whom may not): it leaves every calendar."""
    session = db()
    found = _event(session, event_id)
    title, day = found.title, calendar.days_of(found, local_zone())[0]
    try:
        calendar.cancel_event(session, found, current_user)
        session.commit()
    except ValidationError as exc:  # a plugin's veto
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("calendar.event", event_id=event_id))
    flash(_("Cancelled: %(title)s.", title=title))
    return redirect(url_for("calendar.week", week=day.isoformat()))


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

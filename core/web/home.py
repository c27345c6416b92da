"""The staff start page: what to do next, approvals waiting, today's calendar, the enabled
plugins."""

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template
from flask_babel import format_date
from flask_login import current_user, login_required

from core import approvals, calendar, dashboard, tasks, templating
from core.db import utcnow
from core.web.db import db

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    session, now, zone = db(), utcnow(), tasks.local_zone()
    start = datetime.combine(now.astimezone(zone).date(), time(), zone)
    host = current_app.extensions["kartoteka"].host
    return render_template(
        "core/home.html", now=now,
        next_steps=tasks.next_steps(session, current_user, now),
        waiting=approvals.for_approver(session, current_user),
        today=calendar.between(session, start, start + timedelta(days=1), user=current_user,
                               actor=current_user),
        cases_by_phase=dashboard.cases_by_phase(session, host, current_user),
        overdue=dashboard.overdue_invoices(session, current_user, start.date()),
        per_week=[dashboard.Bar(format_date(bar.day, "d MMM"), bar.value) for bar in
                  dashboard.activity_per_week(session, current_user, start.date(), zone)],
        money=templating.money,
        recent=dashboard.recent(session, current_user))

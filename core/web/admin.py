"""Administrators' pages: usage of the system and data quality."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import dashboard, permissions, quality, tasks, usage
from core.db import utcnow
from core.errors import ValidationError
from core.web.db import db
from core.web.forms import form_id, lines

bp = Blueprint("admin", __name__, url_prefix="/admin")
PERIODS = {"week": 7, "month": 30, "quarter": 91}


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def permission_required(key: str):
    """A page for those whose roles grant ``key`` (administrators have every key)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not permissions.can(current_user, key):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.get("/usage")
@permission_required("core.view_reports")
def usage_page():
    period = request.args.get("period", "month")
    period = period if period in PERIODS else "month"
    days = PERIODS[period]
    session, zone = db(), tasks.local_zone()
    today = utcnow().astimezone(zone).date()
    before, start, end = usage.last_days(today, days, zone)
    comparison = usage.compare(session, start, end, before)
    first = today - timedelta(days=days - 1)
    series = {measure: [dashboard.Bar(_point_label(point), point.value, point.first)
                        for point in usage.series(session, measure, first, days, zone)]
              for measure in usage.MEASURES}
    usage.record(session, "report", current_user, "usage")
    session.commit()
    return render_template("core/admin/usage.html", comparison=comparison, period=period,
                           periods=PERIODS, series=series, first=first, today=today,
                           weekly=days > usage.WEEKLY_OVER)


def _point_label(point: usage.Point) -> str:
    if point.first == point.last:
        return format_date(point.first, "EEE d MMM")
    return f"{format_date(point.first, 'd MMM')} – {format_date(point.last, 'd MMM')}"


@bp.route("/quality/<record_type>", methods=["GET", "POST"])
@permission_required("core.view_reports")
def quality_page(record_type: str):
    if record_type not in quality.CHECKABLE:
        abort(404)
    session, errors = db(), {}
    if request.method == "POST":
        days = request.form.get("stale_days", "").strip()
        try:
            number = form_id(days)
            quality.set_rule(session, record_type, lines("required"),
                             None if not days else number if number is not None else -1,
                             current_user)
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("admin.quality_page", record_type=record_type))
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
    rule = session.get(quality.QualityRule, record_type)
    findings = quality.report(session, record_type, current_user)
    usage.record(session, "report", current_user, f"quality:{record_type}")
    session.commit()
    return render_template("core/admin/quality.html", record_type=record_type, rule=rule,
                           findings=findings, errors=errors,
                           checkable=quality.CHECKABLE[record_type],
                           record_types=list(quality.CHECKABLE),
                           form=request.form if request.method == "POST" else None)

"""A crew's pages at its secret URL, for installers with no account (PV-5): the calendar
feed that Google Calendar subscribes to, the list of the crew's jobs, and each job's
report form, made for a phone on a roof.

No login: the token in the URL is the secret, as for the core's calendar feeds. An
unknown or replaced token, and a job of another crew, get the same 404.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from core.filters import today
from core.web.db import db
from plugins.photovoltaics import assignments, crews, feeds
from plugins.photovoltaics.models import Assignment, Crew
from plugins.photovoltaics.views import job_rows, report_form

bp = Blueprint("photovoltaics_crew", __name__, url_prefix="/photovoltaics/crew",
               template_folder="templates")
CACHE_SECONDS = 300  # calendar programs poll; a few minutes of staleness spares the database


@bp.get("/<token>.ics")
def feed(token: str):
    session = db()
    crew = _crew(token)
    body = feeds.ical(session, current_app.extensions["kartoteka"].host, crew,
                      lambda job: url_for("photovoltaics_crew.report", token=token,
                                          job_id=job.id, _external=True))
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.headers["Content-Disposition"] = 'inline; filename="crew.ics"'
    _private(response)
    return response


@bp.get("/<token>/")
def jobs(token: str):
    session = db()
    crew = _crew(token)
    rows = job_rows(session, assignments.of_crew(session, crew, since=today() - timedelta(days=7)))
    response = current_app.make_response(render_template(
        "photovoltaics/jobs.html", rows=rows, crew=crew,
        report=lambda job: url_for("photovoltaics_crew.report", token=token, job_id=job.id),
        feed=url_for("photovoltaics_crew.feed", token=token, _external=True)))
    return _private(response)


@bp.route("/<token>/jobs/<int:job_id>", methods=["GET", "POST"])
def report(token: str, job_id: int):
    session = db()
    crew = _crew(token)
    job = session.get(Assignment, job_id)
    if job is None or job.crew_id != crew.id:
        abort(404)
    response = current_app.make_response(
        report_form(session, job, None, url_for("photovoltaics_crew.jobs", token=token)))
    return _private(response)


@bp.errorhandler(413)
def too_large(_error):
    """Photos larger together than one request may be: the form again, saying so, rather
    than the core's answer, which leads back to a page the link does not name."""
    session = db()
    crew = _crew(request.view_args.get("token", ""))
    job = session.get(Assignment, request.view_args.get("job_id") or 0)
    if job is None or job.crew_id != crew.id:
        abort(404)
    limit = current_app.extensions["kartoteka"].settings.max_upload_mb
    refused = {"photos": _("The photos are larger than %(mb)d MB together: send fewer or "
                           "smaller ones.", mb=limit)}
    back = url_for("photovoltaics_crew.jobs", token=crew.feed_token)
    page = current_app.make_response(report_form(session, job, None, back, refused))
    page.status_code = 413
    return _private(page)


def _crew(token: str) -> Crew:
    crew = crews.by_token(db(), token)
    if crew is None:
        abort(404)
    return crew


def _private(response):
    """The token must not travel on to other sites nor into search engines."""
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

"""Background jobs as their starter sees them: the list, one job's page with a progress
bar, and its state as JSON for ``progress.js`` to poll. Someone else's job does not
exist here (404); an administrator sees everyone's."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import jobs
from core.web.db import db

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
STATE_LABELS = {"queued": _l("waiting"), "running": _l("running"), "done": _l("done"),
                "failed": _l("failed")}
# How the keys of the core's job results read; a plugin's own keys show as they are.
RESULT_LABELS = {"queued": _l("Messages queued"), "left_out": _l("Left out"),
                 "no_address": _l("no e-mail address"), "no_consent": _l("no valid consent"),
                 "suppressed": _l("address on the no-marketing list"),
                 "made": _l("Documents made"), "failed": _l("Not made"),
                 "document_ids": _l("Documents"), "rows": _l("Rows"),
                 "created": _l("Created"), "updated": _l("Updated"),
                 "skipped": _l("Skipped"), "report": _l("Report"), "id": _l("Record"),
                 "error": _l("Error")}


@bp.context_processor
def _helpers():
    return {"job_states": STATE_LABELS, "job_percent": jobs.percent,
            "result_labels": RESULT_LABELS}


def _job(job_id: int):
    found = jobs.get(db(), job_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@login_required
def index():
    return render_template("core/jobs/index.html", jobs=jobs.visible_jobs(db(), current_user))


@bp.get("/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("core/jobs/job.html", job=_job(job_id))


@bp.get("/<int:job_id>.json")
@login_required
def status(job_id: int):
    job = _job(job_id)
    response = jsonify({"state": job.state, "done": job.done, "total": job.total,
                        "percent": jobs.percent(job), "error": job.error,
                        "result": job.result or {}})
    response.headers["Cache-Control"] = "no-store"
    return response

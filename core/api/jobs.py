"""Background jobs through the API: the state, progress and result of a job the caller
started (a mailing being prepared, documents made in bulk, an import). Someone else's
job does not exist here (404); an administrator sees everyone's."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import jobs
from core.api.auth import actor
from core.web.db import db


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    percent = fields.Integer(allow_none=True)
    error = fields.String()
    result = fields.Dict()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_jobs", __name__, url_prefix="/jobs",
                   description="Background jobs and how far they have got")

    @bp.route("/<int:job_id>")
    class Item(MethodView):
        @bp.response(200, JobSchema)
        @bp.alt_response(404, description="No such job, or another account started it.")
        def get(self, job_id):
            """A job the caller started: its state, progress and result."""
            job = jobs.get(db(), job_id, actor())
            if job is None:
                abort(404)
            return describe(job)

    return [bp]


def describe(job) -> dict:
    """A job as ``JobSchema`` shows it, for the routes that start one (202)."""
    return {"id": job.id, "kind": job.kind, "title": job.title, "state": job.state,
            "done": job.done, "total": job.total, "percent": jobs.percent(job),
            "error": job.error, "result": job.result or {}, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at}

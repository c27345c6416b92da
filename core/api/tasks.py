"""Tasks through the API: who does what by when, about which records.

Every call goes through ``core.tasks``, the service of the staff pages, and reads tasks
from ``records.visible``: a task the caller may not see is 404, one they may see but not
change is 403. A task's ETag is its version; ``PATCH`` needs it in ``If-Match``
(428 without it, 412 when the task changed meanwhile). Completing, reopening and
cancelling take ``If-Match`` too when it is sent: they change only the status, so
without it they apply to the task as it is now.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import select

from core import records, tasks
from core.api import records as api_records
from core.api import schemas
from core.api.activities import LINKS_MAX, RecordRefSchema, record_of, records_of, shown
from core.api.auth import actor
from core.api.errors import problem, refused
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Task, TaskLink
from core.models.task import STATUSES
from core.web.db import db
from core.web.search import CARDS


class TaskSchema(tasks.TaskSchema):
    """A task: assigned to a staff member, a team or both; ``links`` names the records
    it is about. Times carry their time zone."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    reminded_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "When the reminder was sent; a new remind_at sends a new one."})
    overdue = fields.Function(lambda t: t.status == "open" and t.due_at is not None
                              and t.due_at < utcnow(), dump_only=True,
                              metadata={"type": "boolean"})
    links = fields.List(fields.Nested(RecordRefSchema), validate=validate.Length(
        max=LINKS_MAX), metadata={"description": "The records it is about; set when it "
                                                 "is created."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    updated_by_id = fields.Integer(dump_only=True, allow_none=True)


class TaskListArgs(schemas.ListArgs):
    mine = fields.Boolean(metadata={
        "description": "Only the caller's to do: theirs, and their teams' that nobody "
                       "has taken."})
    assignee_id = fields.Integer()
    team_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(STATUSES))
    overdue = fields.Boolean(metadata={"description": "Only open tasks past their due "
                                                      "time."})
    due_after = fields.AwareDateTime(metadata={"description": "Due at or after this "
                                                              "moment."})
    due_before = fields.AwareDateTime(metadata={"description": "Due before this moment."})
    record_type = fields.String(validate=validate.OneOf(tuple(CARDS)), metadata={
        "description": "With record_id: only the tasks about this record."})
    record_id = fields.Integer()


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_tasks", __name__, url_prefix="/tasks",
                   description="Tasks: who does what by when")
    page = schemas.page_schema(TaskSchema)

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(TaskListArgs, location="query")
        @bp.response(200, page)
        @bp.alt_response(404, description="The record does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors of the parameters.")
        def get(self, args):
            """List the tasks, filtered and sorted, a page at a time."""
            found = api_records.page(Task, _query(args), args)
            return {**found, "items": shown(db(), found["items"])}

        @bp.arguments(TaskSchema)
        @bp.response(201, TaskSchema)
        @bp.alt_response(403, description="The caller may not create tasks.")
        @bp.alt_response(422, description="Field-level errors; a record the caller may "
                                          "not see is links.<n>.")
        def post(self, data):
            """Create a task, about the records in ``links``."""
            session = db()
            about = records_of(data.pop("links", []))
            try:
                task = tasks.create(session, data, about=about, actor=actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return shown(session, [task])[0], 201, {
                "ETag": api_records._etag(task),
                "Location": f"{request.base_url.rstrip('/')}/{task.id}"}

    @bp.route("/<int:task_id>")
    class Item(MethodView):
        @bp.response(200, TaskSchema)
        def get(self, task_id):
            """Read one task."""
            task = _task(task_id)
            return shown(db(), [task])[0], 200, {"ETag": api_records._etag(task)}

        @bp.arguments(TaskSchema(partial=True, exclude=("links",)))
        @bp.response(200, TaskSchema)
        @bp.alt_response(403, description="The caller may not change this task.")
        @bp.alt_response(412, description="The task changed since the ETag was read.")
        @bp.alt_response(422, description="Field-level errors.")
        @bp.alt_response(428, description="If-Match is missing.")
        def patch(self, data, task_id):
            """Change some fields; send the ETag you read in If-Match."""
            task = _task(task_id)
            version = api_records._if_match(task)
            if isinstance(version, tuple):
                return version[0]
            return _save(task, lambda s: tasks.update(s, task, data, actor(),
                                                      expected_version=version))

        @bp.response(204)
        @bp.alt_response(403, description="The caller may not delete this task.")
        def delete(self, task_id):
            """Delete the task: it leaves every list (the audit trail keeps it)."""
            session, task = db(), _task(task_id)
            try:
                records.soft_delete(session, task, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return None

    for action, summary in (("complete", "Mark the task done; the records it is about "
                                         "show that on their timelines."),
                            ("reopen", "Open a done or cancelled task again."),
                            ("cancel", "Cancel the task: it is not to be done.")):
        _status_route(bp, action, summary)

    return [bp]


def _status_route(bp: Blueprint, action: str, summary: str) -> None:
    class Status(MethodView):
        @bp.response(200, TaskSchema)
        @bp.alt_response(403, description="The caller may not change this task.")
        @bp.alt_response(412, description="If-Match was sent and the task changed since.")
        def post(self, task_id):
            task = _task(task_id)
            version = None
            if request.headers.get("If-Match"):
                version = api_records._if_match(task)
                if isinstance(version, tuple):
                    return version[0]
            return _save(task, lambda s: getattr(tasks, action)(
                s, task, actor=actor(), expected_version=version))

    Status.post.__doc__ = summary
    Status.__name__ = action.capitalize()
    bp.route(f"/<int:task_id>/{action}")(Status)


# ------------------------------------------------------------------ helpers


def _query(args: dict):
    """The visible tasks the parameters ask for (the filter and sort come after)."""
    query = records.visible(Task, actor())
    if args.get("mine"):
        query = query.where(tasks.assigned_to(actor()))
    for arg, column in (("assignee_id", Task.assignee_id), ("team_id", Task.team_id),
                        ("status", Task.status)):
        if args.get(arg) is not None:
            query = query.where(column == args[arg])
    if args.get("overdue"):
        query = query.where(Task.status == "open", Task.due_at < utcnow())
    if args.get("due_after") is not None:
        query = query.where(Task.due_at >= args["due_after"])
    if args.get("due_before") is not None:
        query = query.where(Task.due_at < args["due_before"])
    if (args.get("record_type") is None) != (args.get("record_id") is None):
        api_records._bad({"record_id": _("Give record_type and record_id together.")})
    if args.get("record_type"):
        record = record_of(args["record_type"], args["record_id"])
        if record is None:
            abort(404)
        record_type, record_id = records.ref(record)
        query = query.where(Task.id.in_(select(TaskLink.task_id).where(
            TaskLink.record_type == record_type, TaskLink.record_id == record_id)))
    return query


def _task(task_id: int) -> Task:
    """The task if the caller may see it; 404 otherwise (its existence is not told)."""
    task = records.get(db(), Task, task_id, actor())
    if task is None:
        abort(404)
    return task


def _save(task: Task, change):
    session = db()
    try:
        change(session)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        return _refusal(exc)
    return shown(session, [task])[0], 200, {"ETag": api_records._etag(task)}


def _refusal(exc):
    """A service's refusal: 412 for a stale version, 403, or 422 with field errors."""
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    if "version" in exc.errors:
        return problem(412, exc.errors["version"])
    return refused(exc.errors)

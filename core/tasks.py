"""Tasks: who does what by when, about which records; "my tasks", overdue, next steps.

A task is assigned to a staff member, a team or both. When it has a person, it is that
person's to do and the team is only context; a task with a team alone is on the list of
every member until one of them does it. Reminders are chosen and marked here; sending
them is the mailing pipeline's work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from core import config, jobs, permissions, records, timeline
from core.db import utcnow
from core.errors import ValidationError
from core.models import Task, TaskLink, Team, TeamMember, User
from core.models.task import PRIORITIES, STATUSES
from core.teams import team_ids_of
from core.terms import term
from core.validation import load_collecting, max_length

URGENT = max(PRIORITIES)


def aware_datetime(**options) -> fields.AwareDateTime:
    """A date and time that must carry its time zone, with messages a person understands."""
    return fields.AwareDateTime(load_default=None, allow_none=True, error_messages={
        "invalid": _l("Enter a date and time."),
        "invalid_awareness": _l("Give the time with its time zone."),
    }, **options)


class TaskSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=max_length(300),
                          error_messages={"required": _l("Enter a title.")})
    description = fields.String(load_default="")
    assignee_id = fields.Integer(load_default=None, allow_none=True)
    team_id = fields.Integer(load_default=None, allow_none=True)
    due_at = aware_datetime()
    remind_at = aware_datetime()
    priority = fields.Integer(load_default=2, validate=validate.OneOf(
        list(PRIORITIES), error=_l("Choose a priority from 1 (low) to 4 (urgent).")))
    status = fields.String(load_default="open", validate=validate.OneOf(
        STATUSES, error=_l("Choose a status from the list.")))


def clean(session: Session, data: dict, task: Task | None = None) -> dict:
    """Validated values, every problem at once; with ``task``, a partial change of it."""
    values, errors = load_collecting(TaskSchema(), data, partial=task is not None)
    if "title" in values:
        values["title"] = values["title"].strip()
        if not values["title"]:
            errors["title"] = _("Enter a title.")
    if values.get("assignee_id") is not None and not _active_user(session, values["assignee_id"]):
        errors["assignee_id"] = _("Choose an active staff member.")
    if values.get("team_id") is not None and session.get(Team, values["team_id"]) is None:
        errors["team_id"] = _("Choose a team from the list.")
    if not {"assignee_id", "team_id"} & errors.keys():
        assignee = values.get("assignee_id", task.assignee_id if task else None)
        team = values.get("team_id", task.team_id if task else None)
        if assignee is None and team is None:
            errors["assignee_id"] = _("Assign the %(what)s to a person, a team or both.",
                                       what=term("core.task", case="acc"))
    if errors:
        raise ValidationError(errors)
    for key in ("due_at", "remind_at"):
        if values.get(key) is not None:
            values[key] = values[key].astimezone(UTC)
    if "remind_at" in values and (task is None or values["remind_at"] != task.remind_at):
        values["reminded_at"] = None  # a new reminder time is a new reminder
    return values


def _active_user(session: Session, user_id: int) -> bool:
    """A task is done by an active staff member (never a portal account)."""
    return session.scalar(select(User.id).where(User.id == user_id, User.active,
                                                User.kind == "staff")) is not None


def assignable(session: Session, actor) -> list[User]:
    """The staff members ``actor`` may give a new task to: active staff accounts within
    the reach their role gives for creating tasks (everyone, their teams' members or
    only themselves, as ``permissions.require`` will check), by name."""
    query = select(User).where(User.active, User.kind == "staff")
    reach = permissions.level(actor, Task.record_type, "create")
    if reach != "all":
        mates = permissions.grants(actor).teammates if reach == "team" else ()
        query = query.where(User.id.in_(set(mates) | {actor.id}))
    return list(session.scalars(query.order_by(User.full_name, User.email, User.id)))


def create(session: Session, data: dict, about: list = (), actor=None,
           now: datetime | None = None) -> Task:
    """A new task, linked to every record in ``about`` (an organisation, a person...)."""
    values = clean(session, data)
    if values.get("status") == "done":
        values["completed_at"] = now or utcnow()
    task = Task(**values)
    task.links = [TaskLink(record_type=t, record_id=i)
                  for t, i in dict.fromkeys(records.ref(r) for r in about)]
    return records.create(session, task, actor)


def update(session: Session, task: Task, data: dict, actor=None,
           expected_version: int | None = None, now: datetime | None = None) -> Task:
    """Change a task; ``expected_version`` refuses a change made on an outdated copy."""
    return _save(session, task, clean(session, data, task), actor, expected_version, now)


def complete(session: Session, task: Task, actor=None, expected_version: int | None = None,
             now: datetime | None = None) -> Task:
    """Mark a task done; the linked records' timelines show that it was done."""
    return _save(session, task, {"status": "done"}, actor, expected_version, now)


def reopen(session: Session, task: Task, actor=None, expected_version: int | None = None
           ) -> Task:
    return _save(session, task, {"status": "open"}, actor, expected_version, None)


def cancel(session: Session, task: Task, actor=None, expected_version: int | None = None
           ) -> Task:
    return _save(session, task, {"status": "cancelled"}, actor, expected_version, None)


def _save(session: Session, task: Task, values: dict, actor, expected_version, now) -> Task:
    finishing = values.get("status") == "done" and task.status != "done"
    if values.get("status", task.status) != task.status:
        values["completed_at"] = (now or utcnow()) if values["status"] == "done" else None
    with stale_guard():
        records.update(session, task, values, actor, expected_version)
    if finishing:
        about = linked_records(session, task)
        if about:
            timeline.record_event(session, "task_completed", about, subject=task.title,
                                  actor=actor, data={"task_id": task.id})
    return task


@contextmanager
def stale_guard() -> Iterator[None]:
    """Someone saved the same record after we read it: tell the person, not a stack trace."""
    try:
        yield
    except StaleDataError as exc:
        raise ValidationError({"version": _(
            "The record was changed by someone else meanwhile; "
            "reload it and apply your change again.")}) from exc


def linked_records(session: Session, task: Task) -> list:
    """The records a task is about, one query per type of record."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for link in task.links:
        wanted[link.record_type].append(link.record_id)
    found = []
    for record_type, ids in sorted(wanted.items()):
        model = records.record_types().get(record_type)
        if model is not None:
            query = records.visible(model, include_deleted=True).where(model.id.in_(ids))
            found.extend(session.scalars(query.order_by(model.id)))
    return found


# --- Lists -------------------------------------------------------------------------------

def assigned_to(user: User):
    """Tasks that are ``user``'s to do: their own, and their teams' that nobody has taken."""
    return or_(Task.assignee_id == user.id,
               and_(Task.assignee_id.is_(None), Task.team_id.in_(team_ids_of(user))))


def _open(actor) -> Select:
    return records.visible(Task, actor).where(Task.status == "open")


def _by_urgency(query: Select, now: datetime) -> Select:
    """Overdue first, then by due date (undated last), then the most urgent first."""
    return query.order_by(case((Task.due_at < now, 0), else_=1),
                          case((Task.due_at.is_(None), 1), else_=0),
                          Task.due_at, Task.priority.desc(), Task.id)


def my_tasks(session: Session, user: User, now: datetime | None = None) -> list[Task]:
    """What ``user`` has to do: open tasks of theirs and of their teams, overdue first."""
    query = _open(user).where(assigned_to(user))
    return list(session.scalars(_by_urgency(query, now or utcnow())))


def overdue(session: Session, now: datetime | None = None, user: User | None = None,
            actor=None) -> list[Task]:
    """Open tasks past their due time, longest overdue first; ``user``: only theirs."""
    query = _open(actor if actor is not None else user).where(Task.due_at < (now or utcnow()))
    if user is not None:
        query = query.where(assigned_to(user))
    return list(session.scalars(query.order_by(Task.due_at, Task.priority.desc(), Task.id)))


def due_between(session: Session, start: datetime, end: datetime, user: User | None = None,
                team: Team | None = None, actor=None) -> list[Task]:
    """Open tasks due in [start, end): ``user``'s to do, or ``team``'s; for a calendar."""
    query = _open(actor).where(Task.due_at >= start, Task.due_at < end)
    query = query.where(assigned_to(user) if user is not None else Task.team_id == team.id)
    return list(session.scalars(query.order_by(Task.due_at, Task.id)))


def for_record(session: Session, record, actor=None) -> list[Task]:
    """The tasks about ``record``: open ones first by due date, then the closed ones."""
    record_type, record_id = records.ref(record)
    linked = select(TaskLink.task_id).where(TaskLink.record_type == record_type,
                                            TaskLink.record_id == record_id)
    query = records.visible(Task, actor).where(Task.id.in_(linked)).order_by(
        case((Task.status == "open", 0), else_=1),
        case((Task.due_at.is_(None), 1), else_=0), Task.due_at, Task.id)
    return list(session.scalars(query.options(selectinload(Task.links))))


# The task list's choices: whose tasks, in which state, due when.
SCOPES = ("mine", "delegated", "teams", "all")
STATES = ("open", "done")
DUE = ("overdue", "today", "week")


def listed(session: Session, user: User, scope: str = "mine", status: str = "open",
           due: str = "", now: datetime | None = None, zone: tzinfo | None = None,
           limit: int | None = None) -> list[Task]:
    """The tasks ``user`` may see, chosen as the task list offers.

    ``scope``: "mine" (theirs to do, as ``my_tasks``), "delegated" (tasks they added for
    someone else: another person or a team they are not in), "teams" (tasks of their
    teams or of their teams' members) or "all". ``status``: "open" or "done". ``due``:
    "overdue" (before now), "today" or "week" (the calendar day or the week from Monday
    in ``zone``), or "" for any. Open tasks come by urgency, done ones latest first.
    """
    if scope not in SCOPES or status not in STATES or due not in ("", *DUE):
        raise ValueError(f"unknown task list choice: {scope!r}, {status!r}, {due!r}")
    now = now or utcnow()
    query = records.visible(Task, user).where(Task.status == status)
    if scope == "mine":
        query = query.where(assigned_to(user))
    elif scope == "delegated":
        mine = team_ids_of(user)
        query = query.where(Task.created_by_id == user.id, or_(
            and_(Task.assignee_id.is_not(None), Task.assignee_id != user.id),
            and_(Task.assignee_id.is_(None), Task.team_id.not_in(mine))))
    elif scope == "teams":
        mine = team_ids_of(user)
        members = select(TeamMember.user_id).where(TeamMember.team_id.in_(mine))
        query = query.where(or_(Task.team_id.in_(mine), Task.assignee_id.in_(members)))
    if due == "overdue":
        query = query.where(Task.due_at < now)
    elif due:
        start, end = _period(due, now, zone or local_zone())
        query = query.where(Task.due_at >= start, Task.due_at < end)
    if status == "open":
        query = _by_urgency(query, now)
    else:
        query = query.order_by(Task.completed_at.desc(), Task.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.options(selectinload(Task.links))))


def _period(due: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Today, or this week from Monday, as [start, end) in ``zone``."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=today.weekday()) if due == "week" else today
    days = 7 if due == "week" else 1
    return (datetime.combine(first, time(), zone),
            datetime.combine(first + timedelta(days=days), time(), zone))


def records_of(session: Session, found: list[Task], actor=None) -> dict[int, list]:
    """The records each task is about that ``actor`` may see, by task id: one query
    per type of record, however many tasks."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for task in found:
        for link in task.links:
            wanted[link.record_type].add(link.record_id)
    by_ref = {}
    for record_type, ids in sorted(wanted.items()):
        model = records.record_types().get(record_type)
        if model is not None:
            query = records.visible(model, actor).where(model.id.in_(ids))
            by_ref.update({(record_type, r.id): r for r in session.scalars(query)})
    return {task.id: [by_ref[key] for key in sorted((link.record_type, link.record_id)
                                                    for link in task.links) if key in by_ref]
            for task in found}


def next_steps(session: Session, user: User, now: datetime | None = None,
               zone: tzinfo | None = None) -> list[Task]:
    """What ``user`` should do next today: overdue, due by the end of the day, urgent.

    The day ends at midnight in ``zone`` (the installation's time zone by default), so
    a task due at 23:30 in Warsaw is today's there even though it is tomorrow in UTC.
    """
    now = now or utcnow()
    today = now.astimezone(zone or local_zone()).date()
    end_of_day = datetime.combine(today + timedelta(days=1), time(), zone or local_zone())
    query = _open(user).where(assigned_to(user),
                              or_(Task.due_at < end_of_day, Task.priority == URGENT))
    return list(session.scalars(_by_urgency(query, now)))


def local_zone() -> tzinfo:
    """The installation's time zone: the running app's setting, else the default."""
    if has_app_context() and "kartoteka" in current_app.extensions:
        return ZoneInfo(current_app.extensions["kartoteka"].settings.timezone)
    return ZoneInfo(config.Settings.timezone)


# --- Reminders ---------------------------------------------------------------------------

def due_reminders(session: Session, now: datetime | None = None) -> list[Task]:
    """Open tasks whose reminder time has come, each claimed once: ``reminded_at`` is set
    in this transaction, so a second worker (or a second run) never reminds again.

    The claim is one UPDATE that rechecks ``reminded_at``; on PostgreSQL rows another
    worker is claiming are skipped rather than waited for, and SQLite serialises writers.
    Marking is bookkeeping, not a change by a person, so it bypasses records.update: it
    must not bump the version under someone editing the task, nor notify plugins.
    """
    now = now or utcnow()
    due = records.visible(Task).with_only_columns(Task.id).correlate(None).where(
        Task.status == "open", Task.remind_at <= now, Task.reminded_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (sql_update(Task).where(Task.id.in_(due), Task.reminded_at.is_(None))
             .values(reminded_at=now).returning(Task.id)
             .execution_options(synchronize_session=False))
    claimed = list(session.scalars(claim))
    query = (select(Task).where(Task.id.in_(claimed)).order_by(Task.remind_at, Task.id)
             .execution_options(populate_existing=True))
    return list(session.scalars(query))


@jobs.every_minute("tasks.reminders")
def send_reminders(rt, now: datetime | None = None) -> int:
    """Mail each due reminder to the task's assignee, or to its team's members, in the
    transaction that claims it: a reminder is sent once, however many workers sweep."""
    from core import outbox
    from core.models import TeamMember

    with rt.session() as session, session.begin():
        due = due_reminders(session, now)
        for task in due:
            people = [session.get(User, task.assignee_id)] if task.assignee_id else \
                list(session.scalars(select(User).join(TeamMember,
                                                       TeamMember.user_id == User.id)
                                     .where(TeamMember.team_id == task.team_id)))
            outbox.notify(session, [u for u in people if u is not None],
                          _("Reminder: %(title)s", title=task.title)[:300],
                          _reminder_text(rt, task), [task])
    return len(due)


def _reminder_text(rt, task: Task) -> str:
    lines = [task.title]
    if task.due_at is not None:
        lines.append(_("Due: %(when)s", when=task.due_at.astimezone(
            ZoneInfo(rt.settings.timezone)).strftime("%Y-%m-%d %H:%M")))
    if task.description:
        lines += ["", task.description]
    lines += ["", f"{rt.settings.public_url.rstrip('/')}/tasks/"]
    return "\n".join(lines)

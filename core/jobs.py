"""Background jobs: a Huey queue that carries "run job 42", and the job rows people watch.

By default the queue is a SQLite file in the instance folder and ``kartoteka worker``
(which ``make run`` starts) works it off; with ``jobs_url = redis://...`` workers on
several machines share one Redis queue. ``jobs_url = immediate`` runs every job in the
process that asks for it, as soon as its transaction commits (tests, scripts).

A job is a row (``core.models.Job``) written in the transaction that asks for it and
handed to the queue after the commit, so a job is never run for a change that did not
happen. Handlers must be idempotent: a job whose worker died is run again, and a
failing one is retried with growing pauses before it is marked failed.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import bulk, events
from core.db import utcnow
from core.errors import StartupError
from core.models import Job

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
RETRY_SECONDS = 30  # after the first failure; doubled after each next one
STALE = timedelta(minutes=10)  # a running job that reported nothing for this long died
REPORT_EVERY = 0.5  # seconds between progress writes


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``run(rt, job, progress)`` does one, returning its result (a dict
    people see). Started with ``jobs.start(session, key, title, params, actor)``."""

    key: str
    run: Callable


@dataclass(frozen=True)
class Periodic:
    """Work the worker does every ``minutes`` minutes: ``run(rt)`` (reminders, sweeps)."""

    key: str
    run: Callable
    minutes: int = 1


# The core's own, registered on import; plugins' come through kartoteka_register_jobs.
HANDLERS: dict[str, JobKind] = {}
EVERY_MINUTE: dict[str, Callable] = {}


def handler(kind: str):
    """Register the function that runs jobs of ``kind``."""

    def register(fn):
        HANDLERS[kind] = JobKind(kind, fn)
        return fn

    return register


def every_minute(name: str):
    """Register work the worker does every minute (sweeps, schedules, reminders)."""

    def register(fn):
        EVERY_MINUTE[name] = fn
        return fn

    return register


# --------------------------------------------------------------------- asking for jobs


def start(session: Session, kind: str, title: str, params: dict | None = None,
          actor=None, total: int | None = None) -> Job:
    """Write a job row; it reaches the queue when the session commits."""
    host = session.info.get("host")
    if kind not in HANDLERS and (host is None or kind not in host.jobs):
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    job = Job(kind=kind, title=title[:300], params=params or {}, total=total,
              started_by_id=getattr(actor, "id", None), created_at=utcnow())
    session.add(job)
    session.flush()
    after_commit(session, lambda queue: queue.run_job(job.id))
    return job


def after_commit(session: Session, call: Callable) -> None:
    """Call ``call(queue)`` once the session's transaction commits (if it has a queue)."""
    queue = session.info.get("jobs")
    if queue is not None:
        events.call_after_commit(session, lambda: call(queue))


def visible_jobs(session: Session, user, limit: int = 50) -> list[Job]:
    """The user's own jobs, newest first (an administrator's: everyone's)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if not getattr(user, "is_admin", False):
        query = query.where(Job.started_by_id == user.id)
    return list(session.scalars(query))


def get(session: Session, job_id: int, user) -> Job | None:
    job = session.get(Job, job_id)
    if job is None or not (getattr(user, "is_admin", False) or job.started_by_id == user.id):
        return None
    return job


def percent(job: Job) -> int | None:
    if not job.total:
        return 100 if job.state == "done" else None
    return min(100, job.done * 100 // job.total)


# --------------------------------------------------------------------- running jobs


class Progress:
    """What a running handler reports: ``total`` once known, then ``advance`` as it goes.
    Written in a session of its own, at most twice a second, so people see it move."""

    def __init__(self, rt, job_id: int):
        self.rt, self.job_id = rt, job_id
        self.done, self.total = 0, None
        self._written = 0.0

    def set_total(self, total: int) -> None:
        self.total = total
        self._write(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._write()

    def reached(self, done: int) -> None:
        """How far the work has come in all (counted elsewhere, such as by parts)."""
        self.done = done
        self._write()

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < REPORT_EVERY:
            return
        self._written = now
        values = {"done": self.done, "heartbeat_at": utcnow()}
        if self.total is not None:
            values["total"] = self.total
        with self.rt.session() as session, session.begin():
            session.execute(update(Job).where(Job.id == self.job_id).values(**values))


def run(rt, job_id: int) -> None:
    """Run one job (the queue's task); a failure is retried later, then marked."""
    with rt.session() as session, session.begin():
        bulk.begin(session)  # on SQLite too, one worker at a time reads and takes it
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.state in ("done", "failed"):
            return
        if job.state == "running" and job.heartbeat_at and job.heartbeat_at > utcnow() - STALE:
            return  # another worker has it (the same job handed over twice)
        job.state, job.attempts = "running", job.attempts + 1
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        kind, attempt = job.kind, job.attempts
    progress = Progress(rt, job_id)
    try:
        with rt.session() as session:
            job = session.get(Job, job_id)
            found = HANDLERS.get(kind) or rt.host.jobs.get(kind)
            if found is None:
                raise LookupError(f"no handler for jobs of kind {kind!r} (plugin disabled?)")
            result = found.run(rt, job, progress) or {}
    except Exception as exc:  # noqa: BLE001 (any failure of a handler is the job's)
        log.exception("job %s (%s) failed, attempt %s", job_id, kind, attempt)
        _failed(rt, job_id, attempt, exc)
        return
    with rt.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(
            state="done", result=result, finished_at=utcnow(), error="",
            done=progress.total if progress.total is not None else progress.done))


def _failed(rt, job_id: int, attempt: int, exc: Exception) -> None:
    last = attempt >= MAX_ATTEMPTS
    with rt.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(
            state="failed" if last else "queued", error=str(exc)[:2000] or type(exc).__name__,
            finished_at=utcnow() if last else None))
    if not last:
        rt.jobs.run_job(job_id, delay=RETRY_SECONDS * 2 ** (attempt - 1))


@every_minute("jobs.revive")
def revive(rt) -> None:
    """Queue again the jobs whose worker died (quiet for too long) or that never
    reached the queue (the process stopped between commit and hand-over)."""
    quiet = utcnow() - STALE
    with rt.session() as session, session.begin():
        ids = list(session.scalars(select(Job.id).where(
            Job.state.in_(("queued", "running")),
            ((Job.heartbeat_at.is_(None)) & (Job.created_at < quiet))
            | (Job.heartbeat_at < quiet))))
        if ids:
            session.execute(update(Job).where(Job.id.in_(ids)).values(state="queued",
                                                                      heartbeat_at=utcnow()))
    for job_id in ids:
        rt.jobs.run_job(job_id)


# --------------------------------------------------------------------- the queue


class Queue:
    """One installation's Huey queue with Kartoteka's four tasks: run a job, deliver
    the outbox, deliver webhooks, and the minutely sweep."""

    def __init__(self, settings):
        self.huey = _huey(settings)
        self.rt = None
        self.context: Callable = nullcontext  # the app's context for work run here
        self._run = self.huey.task(name="kartoteka.run_job")(self._run_job)
        self._deliver = self.huey.task(name="kartoteka.deliver")(self._deliver_outbox)
        self._webhooks = self.huey.task(name="kartoteka.webhooks")(self._deliver_webhooks)
        self.huey.periodic_task(crontab(minute="*"), name="kartoteka.minutely")(self.minutely)

    @property
    def immediate(self) -> bool:
        return self.huey.immediate

    def bind(self, rt, context: Callable | None = None) -> None:
        self.rt = rt
        if context is not None:
            self.context = context

    def run_job(self, job_id: int, delay: float | None = None) -> None:
        if delay:
            self._run.schedule(args=(job_id,), delay=delay)
        else:
            self._run(job_id)

    def deliver(self, delay: float | None = None) -> None:
        if delay:
            self._deliver.schedule(delay=delay)
        else:
            self._deliver()

    def deliver_webhooks(self, delay: float | None = None) -> None:
        if delay:
            self._webhooks.schedule(delay=delay)
        else:
            self._webhooks()

    def _run_job(self, job_id: int) -> None:
        with self.context():
            run(self.rt, job_id)

    def _deliver_outbox(self) -> None:
        from core import outbox

        with self.context():
            outbox.deliver(self.rt, worker_name())

    def _deliver_webhooks(self) -> None:
        from core import webhook_delivery

        with self.context():
            webhook_delivery.deliver(self.rt, worker_name())

    def minutely(self) -> None:
        minute = utcnow().hour * 60 + utcnow().minute
        work = [(name, fn) for name, fn in EVERY_MINUTE.items()]
        work += [(p.key, p.run) for p in self.rt.host.periodic.values()
                 if minute % max(p.minutes, 1) == 0]
        with self.context():
            for name, fn in work:
                try:
                    fn(self.rt)
                except Exception:  # noqa: BLE001 (one failing sweep must not stop others)
                    log.exception("periodic work %s failed", name)

    def consumer(self, workers: int = 2):
        """The worker's consumer; each worker thread takes tasks from the queue."""
        return self.huey.create_consumer(workers=workers, periodic=True,
                                         check_worker_health=True, initial_delay=0.05,
                                         max_delay=1.0)


def _huey(settings):
    url = settings.jobs_url.strip()
    if url == "immediate":
        return MemoryHuey("kartoteka", immediate=True, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("kartoteka", url=url, results=False)
    if url:
        raise StartupError(f"Setting jobs_url (KARTOTEKA_JOBS_URL): '{url}' is not empty, "
                           "'immediate' or a redis:// address")
    return SqliteHuey("kartoteka", filename=str(settings.instance / "jobs.db"),
                      results=False)


def worker_name() -> str:
    """Who holds a message: host and process, so a lease names its worker."""
    return f"{socket.gethostname()}:{os.getpid()}"

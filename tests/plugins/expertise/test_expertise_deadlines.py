"""The daily watch of the opinions' deadlines: the inquiry's owner and its department's
manager get a task once a deadline comes within seven days (or has passed unwarned),
once per inquiry and deadline; a moved deadline is warned of anew. Every test runs on
SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import cases, timeline
from core.filters import today
from core.models import Task, TaskLink
from plugins.expertise import deadlines
from plugins.expertise.models import Inquiry
from tests.plugins.expertise.conftest import PROCESS


@pytest.fixture
def world(world):
    """The firm staffed (conftest's ``world``): its owner owns the inquiries, its
    manager manages the construction department; ``t`` is today."""
    world.t = today()
    return world


def due(w, title, days, phase="accepted", owner=None):
    """An inquiry of the construction department at ``phase``, its opinion due in
    ``days`` (None: no deadline)."""
    case = cases.create(w.session, w.host, {
        "title": title, "process_key": PROCESS, "owner_id": (owner or w.owner).id})
    case.phase_key = phase  # the steps before are the process's business
    w.session.add(Inquiry(case_id=case.id, department_id=w.building.id,
                          court_reference="I C 7/26",
                          due_on=w.t + timedelta(days=days) if days is not None else None))
    w.session.flush()
    return case


def tasks_of(w, case):
    return list(w.session.scalars(
        select(Task).join(TaskLink, TaskLink.task_id == Task.id)
        .where(TaskLink.record_type == "case", TaskLink.record_id == case.id)
        .order_by(Task.id)))


def test_the_owner_and_the_manager_are_told_once_of_a_close_deadline(world):
    w = world
    close = due(w, "Opinia o budynku", 5)
    edge = due(w, "Opinia o moście", 7)
    late = due(w, "Opinia o drodze", -1)
    far = due(w, "Opinia o hali", 8)
    delivered = due(w, "Opinia dostarczona", 2, phase="delivered")
    undated = due(w, "Opinia bez terminu", None)

    done = deadlines.watch(w.session, today=w.t)
    assert [(x.case_id, x.days_left) for x in done] == [(late.id, -1), (close.id, 5),
                                                        (edge.id, 7)]
    found = tasks_of(w, close)
    assert [(t.assignee_id, t.priority) for t in found] == [(w.owner.id, 3), (w.manager.id, 3)]
    assert found[0].title.startswith("Expert opinion due on ")
    assert found[0].title.endswith(": Opinia o budynku")
    assert "5 days are left." in found[0].description
    assert "I C 7/26" in found[0].description
    (overdue, _manager) = tasks_of(w, late)
    assert overdue.title.startswith("Expert opinion overdue since ")
    assert overdue.priority == 4 and "passed 1 day ago" in overdue.description
    for quiet in (far, delivered, undated):
        assert tasks_of(w, quiet) == []
    events = [a for a in timeline.timeline(w.session, close) if a.event == deadlines.WARNED]
    assert len(events) == 1

    assert deadlines.watch(w.session, today=w.t) == []  # run twice: nothing more
    assert len(tasks_of(w, close)) == 2
    later = deadlines.watch(w.session, today=w.t + timedelta(days=1))
    assert [x.case_id for x in later] == [far.id]  # now within seven days


def test_how_early_is_the_process_setting(world):
    from core import workflow
    from plugins.expertise import process

    w = world
    case = due(w, "Opinia o budynku", 10)
    assert deadlines.watch(w.session, today=w.t) == []
    workflow.change_settings(w.session, process.INQUIRY, {"deadline_warning_days": "14"})
    (done,) = deadlines.watch(w.session, today=w.t)
    assert (done.case_id, done.days_left) == (case.id, 10)


def test_a_moved_deadline_is_warned_of_again(world):
    w = world
    case = due(w, "Opinia o budynku", 3)
    deadlines.watch(w.session, today=w.t)
    inquiry = w.session.get(Inquiry, case.id)
    inquiry.due_on = w.t + timedelta(days=6)
    w.session.flush()
    (again,) = deadlines.watch(w.session, today=w.t)
    assert (again.case_id, again.due_on) == (case.id, w.t + timedelta(days=6))
    assert len(tasks_of(w, case)) == 4
    assert deadlines.watch(w.session, today=w.t) == []


def test_one_task_when_the_owner_manages_and_none_for_an_inactive_manager(world):
    w = world
    mine = due(w, "Opinia kierownika", 1, owner=w.manager)
    (done,) = deadlines.watch(w.session, today=w.t)
    assert done.assignee_ids == [w.manager.id]
    assert [t.assignee_id for t in tasks_of(w, mine)] == [w.manager.id]
    w.manager.active = False
    w.session.flush()
    other = due(w, "Opinia Ewy", 1)
    (done,) = deadlines.watch(w.session, today=w.t)
    assert done.assignee_ids == [w.owner.id]
    assert [t.assignee_id for t in tasks_of(w, other)] == [w.owner.id]


def test_the_daily_job_is_registered_and_commits_its_pass(app, world):
    w = world
    periodic = w.host.periodic["expertise.deadlines"]
    assert periodic.minutes == 24 * 60
    case = due(w, "Opinia o budynku", 2)
    w.session.commit()
    (done,) = periodic.run(w.rt)
    assert done.case_id == case.id
    assert periodic.run(w.rt) == []
    w.session.expire_all()
    assert len(tasks_of(w, case)) == 2

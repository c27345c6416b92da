"""Tasks and teams: validation, "my tasks", overdue, next steps, completion, reminders."""

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import organisations, people, records, roles, tasks, teams, timeline
from core.errors import ValidationError
from core.models import Task, User

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)  # a Monday, noon in Warsaw
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def staff(session, name, active=True) -> User:
    email = f"{name.lower()}@example.com"
    user = records.create(session, User(email=email, full_name=name, password_hash="x",
                                        active=active))
    roles.assign(session, user, ["staff"])
    return user


def new(session, title, user=None, team=None, about=(), **fields) -> Task:
    data = {"title": title, "assignee_id": user.id if user else None,
            "team_id": team.id if team else None, **fields}
    return tasks.create(session, data, about=about)


def titles(found) -> list[str]:
    return [t.title for t in found]


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Task))


def test_every_bad_field_is_named_and_nothing_is_written(rt):
    with rt.session() as session, session.begin():
        retired = staff(session, "Retired", active=False)
    with rt.session() as session, pytest.raises(ValidationError) as missing:
        tasks.create(session, {"description": "Bez tytułu"})
    assert missing.value.errors == {"title": "Enter a title.",
                                    "assignee_id": "Assign the task to a person, a team or both."}
    with rt.session() as session, pytest.raises(ValidationError) as refused:
        tasks.create(session, {"title": "x" * 301, "assignee_id": 999, "team_id": 999,
                               "priority": 5, "status": "later",
                               "due_at": datetime(2024, 5, 6, 12, 0),
                               "remind_at": "tomorrow morning"})
    assert refused.value.errors == {
        "title": "At most 300 characters.",
        "assignee_id": "Choose an active staff member.",
        "team_id": "Choose a team from the list.",
        "priority": "Choose a priority from 1 (low) to 4 (urgent).",
        "status": "Choose a status from the list.",
        "due_at": "Give the time with its time zone.",
        "remind_at": "Enter a date and time.",
    }
    with rt.session() as session, pytest.raises(ValidationError) as blank:
        tasks.create(session, {"title": "   ", "assignee_id": retired.id})
    assert blank.value.errors == {"title": "Enter a title.",
                                  "assignee_id": "Choose an active staff member."}
    assert count(rt) == 0


def test_due_times_typed_in_any_zone_are_kept_as_the_same_moment_in_utc(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        task = tasks.create(session, {"title": "Zadzwonić do wójta", "assignee_id": anna.id,
                                      "due_at": "2024-05-06T14:30:00+02:00", "priority": "3"})
    with rt.session() as session:
        task = session.get(Task, task.id)
        assert task.due_at == datetime(2024, 5, 6, 12, 30, tzinfo=UTC)
        assert task.due_at.utcoffset() == timedelta(0)
        assert (task.priority, task.status, task.version) == (3, "open", 1)


def test_a_task_can_lose_its_person_only_when_a_team_keeps_it(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        office = teams.create_team(session, "Biuro", anna)
        task = new(session, "Wysłać umowę", anna)
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        tasks.update(session, session.get(Task, task.id), {"assignee_id": None})
    assert refused.value.errors == {"assignee_id": "Assign the task to a person, a team or both."}
    with rt.session() as session, session.begin():
        tasks.update(session, session.get(Task, task.id), {"assignee_id": None,
                                                           "team_id": office.id})
    with rt.session() as session:
        task = session.get(Task, task.id)
        assert (task.assignee_id, task.team_id, task.version) == (None, office.id, 2)


def test_my_tasks_are_mine_and_my_teams_open_ones_overdue_first(rt):
    with rt.session() as session, session.begin():
        anna, jan, ewa = staff(session, "Anna"), staff(session, "Jan"), staff(session, "Ewa")
        office, field = teams.create_team(session, "Biuro"), teams.create_team(session, "Teren")
        teams.add_member(session, office, anna)
        teams.add_member(session, office, jan)
        teams.add_member(session, office, jan)  # again: no error, no second membership
        teams.add_member(session, field, ewa)
        new(session, "Mine, overdue a day", anna, due_at=NOW - timedelta(days=1), priority=1)
        new(session, "Mine, overdue a week", anna, due_at=NOW - timedelta(days=7))
        new(session, "Team's, due in an hour", team=office, due_at=NOW + timedelta(hours=1))
        new(session, "Mine, tomorrow, normal", anna, due_at=NOW + timedelta(days=1))
        new(session, "Mine, tomorrow, urgent", anna, due_at=NOW + timedelta(days=1), priority=4)
        new(session, "Mine, no date", anna, priority=4)
        new(session, "Jan's in our team", jan, office, due_at=NOW)
        new(session, "Jan's own", jan, due_at=NOW - timedelta(days=3))
        new(session, "Other team's", team=field, due_at=NOW)
        new(session, "Mine, done", anna, status="done", due_at=NOW - timedelta(days=9))
        tasks.cancel(session, new(session, "Mine, cancelled", anna, due_at=NOW))
        records.soft_delete(session, new(session, "Mine, deleted", anna, due_at=NOW))
    with rt.session() as session:
        assert titles(tasks.my_tasks(session, anna, NOW)) == [
            "Mine, overdue a week", "Mine, overdue a day", "Team's, due in an hour",
            "Mine, tomorrow, urgent", "Mine, tomorrow, normal", "Mine, no date"]
        assert titles(tasks.my_tasks(session, jan, NOW)) == [
            "Jan's own", "Jan's in our team", "Team's, due in an hour"]
        assert [t.name for t in teams.teams_of(session, jan)] == ["Biuro"]
        assert [u.full_name for u in teams.members_of(session, office)] == ["Anna", "Jan"]
        assert titles(tasks.overdue(session, NOW)) == [
            "Mine, overdue a week", "Jan's own", "Mine, overdue a day"]
        assert titles(tasks.overdue(session, NOW, user=anna)) == [
            "Mine, overdue a week", "Mine, overdue a day"]


def test_a_member_who_leaves_a_team_no_longer_sees_its_tasks(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        office = teams.create_team(session, "Biuro")
        teams.add_member(session, office, anna)
        new(session, "Team's", team=office)
        teams.remove_member(session, office, anna)
    with rt.session() as session:
        assert tasks.my_tasks(session, anna, NOW) == []
        assert teams.members_of(session, office) == []


def test_team_names_are_required_and_unique(rt):
    with rt.session() as session, session.begin():
        teams.create_team(session, "Biuro")
    for name, message in [("  ", "Enter a name."), ("x" * 101, "At most 100 characters."),
                          (" biuro ", "A team with this name already exists.")]:
        with rt.session() as session, pytest.raises(ValidationError) as refused:
            teams.create_team(session, name)
        assert refused.value.errors == {"name": message}


def test_next_steps_are_overdue_due_by_the_end_of_the_local_day_and_urgent(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        # 23:30 and 00:30 in Warsaw: both on 6 May in UTC, only the first is today there.
        new(session, "Tonight", anna, due_at=datetime(2024, 5, 6, 21, 30, tzinfo=UTC))
        new(session, "After midnight", anna, due_at=datetime(2024, 5, 6, 22, 30, tzinfo=UTC))
        new(session, "Late", anna, due_at=NOW - timedelta(days=2))
        new(session, "Urgent, no date", anna, priority=4)
        new(session, "Some day", anna)
        new(session, "Urgent next month", anna, due_at=NOW + timedelta(days=30), priority=4)
    with rt.session() as session:
        assert titles(tasks.next_steps(session, anna, NOW, zone=WARSAW)) == [
            "Late", "Tonight", "Urgent next month", "Urgent, no date"]
        assert titles(tasks.next_steps(session, anna, NOW, zone=UTC)) == [
            "Late", "Tonight", "After midnight", "Urgent next month", "Urgent, no date"]


def test_completing_a_task_puts_it_on_the_timelines_of_its_records_once(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        kornik = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                         "type_key": "core.municipality"})
        mosina = organisations.create(session, rt.host, {"name": "Gmina Mosina",
                                                         "type_key": "core.municipality"})
        nowak = people.create(session, {"first_name": "Jan", "last_name": "Nowak"})
        task = new(session, "Wysłać ofertę szkolenia", anna, about=[kornik, nowak, kornik])
        new(session, "Inna sprawa", anna, about=[mosina])
    with rt.session() as session, session.begin():
        task = session.get(Task, task.id)
        tasks.complete(session, task, actor=anna, now=NOW)
        tasks.complete(session, task, actor=anna, now=NOW)  # a second click changes nothing
    with rt.session() as session:
        task = session.get(Task, task.id)
        assert (task.status, task.completed_at) == ("done", NOW)
        for record in (kornik, nowak):
            events = timeline.timeline(session, record, kinds=["system"])
            assert [(e.event, e.subject, e.created_by_id, e.data) for e in events] == [
                ("task_completed", "Wysłać ofertę szkolenia", anna.id, {"task_id": task.id})]
        assert timeline.timeline(session, mosina, kinds=["system"]) == []
        assert tasks.my_tasks(session, anna, NOW)[0].title == "Inna sprawa"
        assert titles(tasks.for_record(session, kornik)) == ["Wysłać ofertę szkolenia"]
    with rt.session() as session, session.begin():
        tasks.reopen(session, session.get(Task, task.id))
    with rt.session() as session:
        task = session.get(Task, task.id)
        assert (task.status, task.completed_at) == ("open", None)


def test_for_record_lists_open_tasks_by_due_date_then_closed_ones(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        nowak = people.create(session, {"first_name": "Jan", "last_name": "Nowak"})
        tasks.complete(session, new(session, "Done", anna, about=[nowak]))
        new(session, "Later", anna, about=[nowak], due_at=NOW + timedelta(days=2))
        new(session, "Undated", anna, about=[nowak])
        new(session, "Sooner", anna, about=[nowak], due_at=NOW)
        new(session, "Not about him", anna)
    with rt.session() as session:
        assert titles(tasks.for_record(session, nowak)) == ["Sooner", "Later", "Undated", "Done"]


def test_a_change_made_on_an_outdated_copy_is_refused(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        task = new(session, "Przygotować umowę", anna)
    with rt.session() as session, session.begin():
        tasks.update(session, session.get(Task, task.id), {"priority": 3}, expected_version=1)
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as stale:
        tasks.update(session, session.get(Task, task.id), {"priority": 4}, expected_version=1)
    assert set(stale.value.errors) == {"version"}
    # Two people open the task; the second to save is told, not silently overwritten.
    with rt.session() as first, rt.session() as second, \
            pytest.raises(ValidationError) as conflict, first.begin():
        mine = first.get(Task, task.id)
        with second.begin():
            tasks.complete(second, second.get(Task, task.id))
        tasks.update(first, mine, {"title": "Przygotować aneks"}, expected_version=2)
    assert "someone else" in conflict.value.errors["version"]
    with rt.session() as session:
        task = session.get(Task, task.id)
        assert (task.title, task.status, task.version) == ("Przygotować umowę", "done", 3)


def test_each_reminder_is_given_once(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        due = new(session, "Due", anna, remind_at=NOW - timedelta(minutes=5))
        exactly = new(session, "Exactly now", anna, remind_at=NOW)
        new(session, "Later", anna, remind_at=NOW + timedelta(minutes=1))
        new(session, "Done already", anna, remind_at=NOW, status="done")
        new(session, "No reminder", anna)
    with rt.session() as session, session.begin():
        assert titles(tasks.due_reminders(session, NOW)) == ["Due", "Exactly now"]
        assert session.get(Task, due.id).reminded_at == NOW
    with rt.session() as session, session.begin():
        assert tasks.due_reminders(session, NOW) == []
    with rt.session() as session, session.begin():
        task = session.get(Task, exactly.id)
        assert task.version == 1  # marking is not an edit: nobody's change is refused
        tasks.update(session, task, {"remind_at": NOW + timedelta(hours=1)})
    with rt.session() as session, session.begin():
        later = NOW + timedelta(hours=2)
        assert titles(tasks.due_reminders(session, later)) == ["Later", "Exactly now"]


def test_two_workers_at_once_never_remind_twice(rt):
    with rt.session() as session, session.begin():
        anna = staff(session, "Anna")
        for i in range(3):
            new(session, f"Task {i}", anna, remind_at=NOW)
    found: dict[str, list] = {}

    def second_worker():
        with rt.session() as session, session.begin():
            found["second"] = titles(tasks.due_reminders(session, NOW))

    with rt.session() as session, session.begin():
        found["first"] = titles(tasks.due_reminders(session, NOW))
        worker = threading.Thread(target=second_worker)
        worker.start()
        time.sleep(0.5)  # the second worker meets the first one's claim still open
    worker.join(timeout=30)
    assert found == {"first": ["Task 0", "Task 1", "Task 2"], "second": []}


def test_due_reminders_are_mailed_once_to_the_assignee_or_the_team(kartoteka_app_factory,
                                                                   kartoteka_smtp):
    rt = kartoteka_app_factory(default_locale="en", **kartoteka_smtp.settings()) \
        .extensions["kartoteka"]
    with rt.session() as session, session.begin():
        anna, jan = staff(session, "Anna"), staff(session, "Jan")
        office = teams.create_team(session, "Biuro", anna)
        teams.add_member(session, office, anna)
        teams.add_member(session, office, jan)
        new(session, "Call the mayor", anna, remind_at=NOW, due_at=NOW + timedelta(hours=2))
        new(session, "Order paper", team=office, remind_at=NOW)
        new(session, "Not yet", anna, remind_at=NOW + timedelta(days=1))
    assert tasks.send_reminders(rt, NOW) == 2
    assert tasks.send_reminders(rt, NOW) == 0
    got = sorted((m["To"], m["Subject"]) for m in kartoteka_smtp.messages)
    assert got == [("Anna <anna@example.com>", "Reminder: Call the mayor"),
                   ("Anna <anna@example.com>", "Reminder: Order paper"),
                   ("Jan <jan@example.com>", "Reminder: Order paper")]

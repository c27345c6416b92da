"""The tasks API: tasks about records, the lists of whose and when, ETags, completing
and reopening, what a caller may not see or change, and pages that stay put."""

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from core import teams
from core.models import Task, User

DUE = "2030-05-04T09:00:00+02:00"


@pytest.fixture
def staff(app, rt):
    """An administrator, two colleagues, a seller who reaches only their own records, a
    reader who may only look, and someone who may do nothing with records."""
    return callers(app, rt, boss=dict(admin=True), ola=dict(), bartek=dict(),
                   seller=dict(access=dict.fromkeys(("read", "create", "edit", "delete"),
                                                    "own")),
                   reader=dict(access={"read": "all"}), nobody=dict(access={}))


def new_task(api, assignee_id, **extra):
    return created(api("post", "/tasks/", json={"title": "Call back", "assignee_id": assignee_id,
                                                **extra}))


def person(api, owner_id, first="Anna"):
    return created(api("post", "/people/", json={"first_name": first, "last_name": "Nowak",
                                                  "owner_id": owner_id}))


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Task))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [t["id"] for t in response.get_json()["items"]]


# ------------------------------------------------------------------ creating and reading


def test_a_task_about_a_person_is_created_read_and_listed_with_its_record(staff):
    anna = person(staff.ola, staff.ids["ola"])
    response = staff.ola("post", "/tasks/", json={
        "title": " Send the offer ", "description": "With the spring prices.",
        "assignee_id": staff.ids["bartek"], "due_at": DUE, "priority": 4,
        "remind_at": "2030-05-04T08:00:00+02:00",
        "links": [{"record_type": "person", "record_id": anna["id"]}]})
    task = created(response)
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/api/v1/tasks/{task['id']}")
    assert task["title"] == "Send the offer" and task["status"] == "open"
    assert task["due_at"] == "2030-05-04T07:00:00+00:00" and task["priority"] == 4
    assert task["links"] == [{"record_type": "person", "record_id": anna["id"]}]
    assert (task["version"], task["overdue"], task["completed_at"]) == (1, False, None)
    assert task["created_by_id"] == staff.ids["ola"]

    read = staff.bartek("get", f"/tasks/{task['id']}")
    assert read.headers["ETag"] == '"1"' and read.get_json()["title"] == "Send the offer"
    about_anna = staff.ola("get", f"/tasks/?record_type=person&record_id={anna['id']}")
    assert ids(about_anna) == [task["id"]]
    unrelated = person(staff.ola, staff.ids["ola"], first="Ewa")
    assert ids(staff.ola("get", f"/tasks/?record_type=person&record_id={unrelated['id']}")) \
        == []


def test_lists_by_whose_when_and_state_and_in_the_filter_language(staff, rt):
    with rt.session() as session, session.begin():
        team = teams.create_team(session, "Sales")
        teams.add_member(session, team, session.get(User, staff.ids["bartek"]))
        team_id = team.id
    now = datetime.now(UTC)
    late = new_task(staff.ola, staff.ids["bartek"], due_at=(now - timedelta(days=2))
                    .isoformat(), title="Late")
    soon = new_task(staff.ola, staff.ids["bartek"], due_at=(now + timedelta(days=1))
                    .isoformat(), priority=3)
    teams_ = new_task(staff.ola, None, team_id=team_id, title="Anyone in sales")
    olas = new_task(staff.ola, staff.ids["ola"], due_at=(now + timedelta(days=30))
                    .isoformat(), priority=1)
    done = new_task(staff.ola, staff.ids["bartek"], status="done")

    assert ids(staff.bartek("get", "/tasks/?mine=true&status=open")) == \
        [late["id"], soon["id"], teams_["id"]]
    assert ids(staff.ola("get", "/tasks/?mine=true")) == [olas["id"]]
    assert ids(staff.ola("get", f"/tasks/?assignee_id={staff.ids['bartek']}")) == \
        [late["id"], soon["id"], done["id"]]
    assert ids(staff.ola("get", f"/tasks/?team_id={team_id}")) == [teams_["id"]]
    assert ids(staff.ola("get", "/tasks/?status=done")) == [done["id"]]
    assert ids(staff.ola("get", "/tasks/?overdue=true")) == [late["id"]]
    listed = staff.ola("get", "/tasks/?overdue=true").get_json()["items"]
    assert listed[0]["overdue"] is True
    week = (now + timedelta(days=7)).isoformat()
    assert ids(staff.ola("get", "/tasks/", query_string={
        "due_after": now.isoformat(), "due_before": week})) == [soon["id"]]
    assert ids(staff.ola("get", "/tasks/", query_string={
        "filter": '{"field": "priority", "op": "gte", "value": 3}'})) == [soon["id"]]
    assert ids(staff.ola("get", "/tasks/", query_string={
        "filter": '{"field": "title", "op": "contains", "value": "sales"}'})) == [teams_["id"]]
    assert ids(staff.ola("get", "/tasks/?sort=due_at")) == \
        [late["id"], soon["id"], olas["id"], teams_["id"], done["id"]]
    bad = staff.ola("get", "/tasks/", query_string={
        "filter": '{"field": "owner_id", "op": "eq", "value": 1}', "status": "finished",
        "due_after": "tomorrow"})
    assert bad.status_code == 422
    assert bad.get_json()["errors"].keys() == {"status", "due_after"}
    unknown_field = staff.ola("get", "/tasks/", query_string={
        "filter": '{"field": "owner_id", "op": "eq", "value": 1}'})
    assert unknown_field.status_code == 422
    assert unknown_field.get_json()["errors"]["filter.field"] == \
        "Unknown field 'owner_id' for tasks."


def test_bad_input_answers_422_per_field_and_writes_nothing(staff, rt):
    before = count(rt)
    response = staff.ola("post", "/tasks/", json={
        "title": "", "priority": 9, "due_at": "2030-05-04T09:00:00", "status": "someday"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    # The values' types and ranges first; then the service's own checks, all at once.
    assert response.get_json()["errors"] == {
        "priority": "Choose a priority from 1 (low) to 4 (urgent).",
        "due_at": "Give the time with its time zone.",
        "status": "Choose a status from the list."}
    for data, errors in (
            ({"title": "X"}, {"assignee_id": "Assign the task to a person, a team or both."}),
            ({"title": " ", "assignee_id": 99999},
             {"title": "Enter a title.", "assignee_id": "Choose an active staff member."}),
            ({"title": "X", "team_id": 99999}, {"team_id": "Choose a team from the list."}),
            ({"title": "X", "assignee_id": staff.ids["ola"], "version": 3},
             {"version": "Unknown field."}),
            ({"title": "X", "assignee_id": staff.ids["ola"],
              "links": [{"record_type": "person", "record_id": 99999}]},
             {"links.0": "There is no such record, or you may not see it."})):
        refused = staff.ola("post", "/tasks/", json=data)
        assert refused.status_code == 422, data
        assert refused.get_json()["errors"] == errors
    assert count(rt) == before


# ------------------------------------------------------------------ changing it safely


def test_a_change_needs_the_etag_and_a_stale_one_is_refused(staff):
    task = new_task(staff.ola, staff.ids["ola"], due_at=DUE)
    path = f"/tasks/{task['id']}"
    missing = staff.ola("patch", path, json={"priority": 3})
    assert missing.status_code == 428 and missing.mimetype == "application/problem+json"
    changed = staff.ola("patch", path, json={"priority": 3, "description": "Bring samples"},
                        headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] == '"2"' and changed.get_json()["priority"] == 3
    stale = staff.bartek("patch", path, json={"title": "Mine now"},
                         headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert staff.ola("get", path).get_json()["title"] == "Call back"
    refused = staff.ola("patch", path, json={"priority": 0, "links": []},
                        headers={"If-Match": '"2"'})
    assert refused.status_code == 422
    assert refused.get_json()["errors"].keys() == {"priority", "links"}
    unassigned = staff.ola("patch", path, json={"assignee_id": None},
                           headers={"If-Match": '"2"'})
    assert unassigned.get_json()["errors"] == {
        "assignee_id": "Assign the task to a person, a team or both."}
    assert staff.ola("get", path).headers["ETag"] == '"2"'


def test_completing_shows_on_the_records_timeline_and_reopening_undoes_it(staff):
    anna = person(staff.ola, staff.ids["ola"])
    task = new_task(staff.ola, staff.ids["ola"],
                    links=[{"record_type": "person", "record_id": anna["id"]}])
    path = f"/tasks/{task['id']}"
    stale = staff.ola("post", f"{path}/complete", headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    done = staff.ola("post", f"{path}/complete")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "done" and done.get_json()["completed_at"]
    assert done.headers["ETag"] == '"2"'
    history = staff.ola("get", f"/activities/?record_type=person&record_id={anna['id']}")
    event = history.get_json()["items"][0]
    assert (event["event"], event["subject"]) == ("task_completed", "Call back")
    assert event["kind_label"] == "Task done"

    reopened = staff.ola("post", f"{path}/reopen", headers={"If-Match": '"2"'})
    assert reopened.get_json()["status"] == "open"
    assert reopened.get_json()["completed_at"] is None
    cancelled = staff.ola("post", f"{path}/cancel")
    assert cancelled.get_json()["status"] == "cancelled"


# ------------------------------------------------------------------ who may do what


def test_a_task_the_caller_may_not_see_is_404_and_one_they_may_not_change_403(staff, rt):
    theirs = new_task(staff.ola, staff.ids["ola"])
    mine = new_task(staff.seller, staff.ids["seller"])
    path = f"/tasks/{theirs['id']}"
    assert ids(staff.seller("get", "/tasks/")) == [mine["id"]]
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""),
                           ("post", "/complete"), ("post", "/reopen")):
        response = staff.seller(method, path + suffix, json={"title": "x"}
                                if method == "patch" else None, headers={"If-Match": '"1"'})
        assert response.status_code == 404, (method, suffix)
    assert staff.reader("get", path).status_code == 200
    for method, suffix in (("patch", ""), ("delete", ""), ("post", "/complete")):
        response = staff.reader(method, path + suffix, json={"title": "x"}
                                if method == "patch" else None,
                                headers={"If-Match": '"1"'})
        assert response.status_code == 403, (method, suffix, response.get_json())
        assert response.mimetype == "application/problem+json"
    before = count(rt)
    refused = staff.nobody("post", "/tasks/", json={"title": "X",
                                                   "assignee_id": staff.ids["nobody"]})
    assert refused.status_code == 403
    given_away = staff.seller("post", "/tasks/", json={"title": "X",
                                                      "assignee_id": staff.ids["ola"]})
    assert given_away.status_code == 422
    assert given_away.get_json()["errors"] == {
        "assignee_id": "You may not give this record to that person."}
    assert count(rt) == before
    assert staff.ola("get", path).get_json()["status"] == "open"


def test_a_deleted_task_leaves_every_list(staff):
    task = new_task(staff.ola, staff.ids["ola"])
    assert staff.ola("delete", f"/tasks/{task['id']}").status_code == 204
    assert staff.ola("get", f"/tasks/{task['id']}").status_code == 404
    assert ids(staff.ola("get", "/tasks/")) == []


# ------------------------------------------------------------------ pages


def test_pages_stay_put_while_tasks_are_added(staff):
    now = datetime.now(UTC)
    originals = [new_task(staff.ola, staff.ids["ola"], title=f"Task {i}",
                          due_at=(now + timedelta(days=i % 3)).isoformat())["id"]
                 for i in range(7)]
    for sort in ("id", "due_at", "-due_at"):
        seen, after = [], None
        while True:
            query = {"limit": 2, "sort": sort, **({"after": after} if after else {})}
            page = staff.ola("get", "/tasks/", query_string=query).get_json()
            seen += [t["id"] for t in page["items"]]
            after = page["next"]
            if after is None:
                break
            new_task(staff.bartek, staff.ids["bartek"], title="Meanwhile",
                     due_at=(now + timedelta(days=1)).isoformat())
        assert len(seen) == len(set(seen)) and set(originals) <= set(seen)
        kept = [i for i in seen if i in originals]
        if sort == "id":
            assert kept == originals
        else:
            days = {i: n % 3 for n, i in enumerate(originals)}
            expected = sorted(originals, key=lambda i: (days[i], i))
            if sort == "-due_at":
                expected = sorted(originals, key=lambda i: (-days[i], i))
            assert kept == expected


def test_the_openapi_document_lists_the_tasks_api(staff):
    spec = staff.ola("get", "/openapi.json").get_json()
    paths = {f"/api/v1/tasks/{p}" for p in ("", "{task_id}", "{task_id}/complete",
                                            "{task_id}/reopen", "{task_id}/cancel")}
    assert paths <= set(spec["paths"])
    patch = spec["paths"]["/api/v1/tasks/{task_id}"]["patch"]
    assert {"403", "412", "422", "428"} <= set(patch["responses"])
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert complete["summary"].startswith("Mark the task done")
    tag = next(t for t in spec["tags"] if t["name"] == "tasks")
    assert tag["description"] == "Tasks"

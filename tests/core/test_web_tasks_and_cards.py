"""Daily work on the staff pages: tasks given to colleagues and the task list's filters;
the case card's quick add; the cards' timeline filter and pages; cases on the cards."""

import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from core import cases, people, roles, tasks, teams, timeline, users, workflow
from core.models import Activity, Case, Organisation, Person, Task, User
from core.tasks import local_zone
from core.testing import ADMIN_PASSWORD
from core.web import activities as web_activities
from page_helpers import add_org, count, flashes, show, visible, writing

PASSWORD = ADMIN_PASSWORD
NOT_STAFF = "Choose an active staff member."


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


# --------------------------------------------------------------------- helpers


def staff(app, email, name, role_keys=("staff",), active=True) -> int:
    with writing(app) as (session, _admin):
        user = users.create_user(session, email, PASSWORD, name, roles=list(role_keys))
        user.active = active
        return user.id


def own_only_role(app, key="own_only"):
    """A role reaching only the records its holder owns, is assigned or created."""
    with writing(app) as (session, admin):
        role = roles.create(session, key, "Own records only", actor=admin)
        roles.set_access(session, role, {("*", a): "own" for a in
                                         ("read", "create", "edit", "delete", "export")})
    return key


def login(app, kartoteka_login, email):
    return kartoteka_login(app.test_client(), email, PASSWORD)


def admin_id(app) -> int:
    with writing(app) as (_session, admin):
        return admin.id


def sections(page: str) -> dict[str, str]:
    """The cards of a page by their heading."""
    return {visible(h2): body for h2, body in
            re.findall(r'<section class="card">\s*<h2>(.*?)</h2>(.*?)</section>', page, re.S)}


def task_list_of(page: str) -> tuple[str, str]:
    """The task list page's filtered list: its heading and what it holds."""
    heading, body = re.search(r'<section class="card">\s*<h2>(.*?)</h2>(.*?)</section>',
                              page, re.S).groups()
    return visible(heading), body


def task_titles(fragment: str) -> list[str]:
    return re.findall(r'<span class="title">(.*?)</span>', fragment)


def task_form_error(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-task-{name}">(.*?)</span>', page, re.S)
    return found.group(1).strip() if found else None


def assignee_options(page: str) -> dict[str, str]:
    """The add-a-task form's assignee choices: name -> value ({} when not offered)."""
    found = re.search(r'<select name="assignee_id"[^>]*>(.*?)</select>', page, re.S)
    if not found:
        return {}
    return {name: value for value, name in
            re.findall(r'<option value="(\d+)"[^>]*>(.*?)</option>', found.group(1))}


def chosen_assignee(page: str) -> str | None:
    found = re.search(r'<select name="assignee_id"[^>]*>.*?<option value="(\d+)" selected',
                      page, re.S)
    return found.group(1) if found else None


def entries(page: str) -> list[tuple[str, str]]:
    """A card's timeline: (kind label, subject) of each entry, newest first."""
    found = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    return re.findall(r'<span class="kind">(.*?)</span>\s*<strong>(.*?)</strong>',
                      found.group(1), re.S)


def link_of(page: str, css_class: str) -> str | None:
    found = re.search(rf'<a class="{css_class}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def add_case(app, title, owner_id=None, organisation_id=None, person_ids=(), phases=()) -> int:
    rt = app.extensions["kartoteka"]
    with writing(app) as (session, admin):
        data = {"title": title, "process_key": "printing.project", "owner_id": owner_id,
                "organisation_id": organisation_id}
        case = cases.create(session, rt.host, data, actor=admin,
                            people=[(session.get(Person, p), "client") for p in person_ids])
        for phase in phases:
            workflow.move(session, rt.host, case, phase, actor=admin)
        return case.id


def add_person(app, first, last, owner_id=None) -> int:
    with writing(app) as (session, admin):
        return people.create(session, {"first_name": first, "last_name": last,
                                       "owner_id": owner_id}, admin,
                             allow_duplicates=True).id


def linked_cases(page: str) -> list[list[str]]:
    """The cases section of a card: each row's cells as read."""
    found = re.search(r'<section class="card linked-cases"[^>]*>(.*?)</section>', page, re.S)
    assert found, "no cases section"
    return [[visible(td) for td in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr class=\"[a-z]+\">(.*?)</tr>", found.group(1), re.S)]


# --------------------------------------------------------------------- tasks for colleagues


def test_a_task_given_to_a_colleague_is_on_their_list_and_on_mine_as_assigned_by_me(
        app, client, kartoteka_login):
    colleague = staff(app, "ewa@example.com", "Ewa Nowak")
    org = add_org(app, "Gmina Kórnik")
    card = f"/organisations/{org}"
    page = show(client, card)
    assert assignee_options(page)["Ewa Nowak"] == str(colleague)
    assert chosen_assignee(page) == str(admin_id(app))  # me, unless I choose someone
    response = client.post("/tasks/new", data={
        "title": "Call back the mayor", "record_type": "organisation", "record_id": str(org),
        "assignee_id": str(colleague), "back": card})
    assert response.headers["Location"] == card
    assert "Added: task." in flashes(show(client, card))
    with app.extensions["kartoteka"].session() as session:
        task = session.scalar(select(Task))
        assert (task.assignee_id, task.created_by_id) == (colleague, admin_id(app))

    as_ewa = login(app, kartoteka_login, "ewa@example.com")
    heading, body = task_list_of(show(as_ewa, "/tasks/"))
    assert heading == "My tasks" and task_titles(body) == ["Call back the mayor"]
    assert f'<a class="about" href="/organisations/{org}">Gmina Kórnik</a>' in body

    heading, body = task_list_of(show(client, "/tasks/"))
    assert heading == "My tasks" and task_titles(body) == []
    heading, body = task_list_of(show(client, "/tasks/?scope=delegated"))
    assert heading == "Tasks assigned by me to others"
    assert task_titles(body) == ["Call back the mayor"]
    assert '<span class="muted assignee">Ewa Nowak</span>' in body
    assert f'<a class="about" href="/organisations/{org}">Gmina Kórnik</a>' in body


@pytest.mark.parametrize("who", ["inactive", "portal", "unknown", "not a number"])
def test_an_assignee_who_is_not_active_staff_is_refused_at_the_field_and_nothing_is_written(
        app, client, who):
    org = add_org(app, "Gmina Kórnik")
    if who == "inactive":
        assignee = str(staff(app, "gone@example.com", "Gone Person", active=False))
    elif who == "portal":
        with writing(app) as (session, _admin):
            assignee = str(users.create_user(session, "portal@example.com", PASSWORD, "Portal",
                                             portal_of=session.get(Organisation, org)).id)
    else:
        assignee = "999999" if who == "unknown" else "somebody"
    card = f"/organisations/{org}"
    response = client.post("/tasks/new", data={
        "title": "Call back the mayor", "record_type": "organisation", "record_id": str(org),
        "assignee_id": assignee, "back": card})
    assert response.headers["Location"] == card
    page = show(client, card)
    message = task_form_error(page, "assignee_id")
    if who == "not a number":
        assert message == "Not a valid integer."
    else:
        assert message == NOT_STAFF
        assert f"Assignee: {NOT_STAFF}" in flashes(page)
    assert 'aria-invalid="true" aria-describedby="e-task-assignee_id"' in page
    assert 'value="Call back the mayor"' in page  # what was typed is kept
    assert count(app, Task) == 0
    again = show(client, card)  # shown once: the next visit starts afresh
    assert task_form_error(again, "assignee_id") is None
    assert 'value="Call back the mayor"' not in again


def test_a_user_reaching_only_their_own_tasks_cannot_give_one_to_a_colleague(
        app, kartoteka_login):
    key = own_only_role(app)
    staff(app, "ola@example.com", "Ola Own", role_keys=(key,))
    colleague = staff(app, "ewa@example.com", "Ewa Nowak")
    as_ola = login(app, kartoteka_login, "ola@example.com")
    assert assignee_options(show(as_ola, "/tasks/")) == {}  # nobody else to choose
    as_ola.post("/tasks/new", data={"title": "Call the printer", "assignee_id": str(colleague),
                                    "back": "/tasks/"})
    page = show(as_ola, "/tasks/")
    assert task_form_error(page, "assignee_id") == "You may not give this record to that person."
    assert count(app, Task) == 0


def test_a_task_added_without_choosing_is_mine(app, client):
    staff(app, "ewa@example.com", "Ewa Nowak")
    client.post("/tasks/new", data={"title": "Send the offer", "back": "/tasks/"})
    with app.extensions["kartoteka"].session() as session:
        assert session.scalars(select(Task.assignee_id)).all() == [admin_id(app)]


# --------------------------------------------------------------------- the task list's filters


@pytest.fixture
def task_world(app, client):
    """My tasks, a colleague's in my team, an outsider's, my team's and another team's."""
    cola = staff(app, "cola@example.com", "Cola Colleague")
    olga = staff(app, "olga@example.com", "Olga Outsider")
    org = add_org(app, "Gmina Kórnik")
    now = datetime.now(local_zone())
    tonight = datetime.combine(now.date(), time(23, 59), local_zone())
    later = now + timedelta(days=40)
    with writing(app) as (session, admin):
        sales = teams.create_team(session, "Sales", admin)
        support = teams.create_team(session, "Support", admin)
        for member in (admin, session.get(User, cola)):
            teams.add_member(session, sales, member, admin)
        olga_user = session.get(User, olga)

        def add(title, actor, done=False, about=(), **values):
            task = tasks.create(session, {"title": title, **values}, about=list(about),
                                actor=actor)
            if done:
                tasks.complete(session, task, actor)

        about = [session.get(Organisation, org)]
        add("Call the mayor", admin, assignee_id=admin.id, due_at=now - timedelta(minutes=1),
            about=about)
        add("Send the offer", admin, assignee_id=admin.id, due_at=tonight)
        add("Plan the spring", admin, assignee_id=admin.id, due_at=later)
        add("Cola's visit", admin, assignee_id=cola, due_at=later)
        add("Sales team call", olga_user, team_id=sales.id)
        add("Olga's own", olga_user, assignee_id=olga)
        add("Support backlog", admin, team_id=support.id)
        add("Done report", admin, done=True, assignee_id=admin.id)
        add("Cola's done", admin, done=True, assignee_id=cola)
    return org


@pytest.mark.parametrize(("query", "heading", "expected"), [
    ("", "My tasks", ["Call the mayor", "Send the offer", "Plan the spring", "Sales team call"]),
    ("scope=delegated", "Tasks assigned by me to others", ["Cola's visit", "Support backlog"]),
    ("scope=teams", "Tasks of my teams",
     ["Call the mayor", "Send the offer", "Plan the spring", "Cola's visit", "Sales team call"]),
    ("scope=all", "Tasks visible to me",
     ["Call the mayor", "Send the offer", "Plan the spring", "Cola's visit", "Sales team call",
      "Olga's own", "Support backlog"]),
    ("due=overdue", "My tasks", ["Call the mayor"]),
    ("due=today", "My tasks", ["Call the mayor", "Send the offer"]),
    ("due=week", "My tasks", ["Call the mayor", "Send the offer"]),
    ("scope=all&due=today", "Tasks visible to me", ["Call the mayor", "Send the offer"]),
    ("status=done", "My tasks", ["Done report"]),
    ("scope=delegated&status=done", "Tasks assigned by me to others", ["Cola's done"]),
    ("scope=all&status=done", "Tasks visible to me", ["Cola's done", "Done report"]),
    ("scope=bogus&status=bogus&due=bogus", "My tasks",
     ["Call the mayor", "Send the offer", "Plan the spring", "Sales team call"]),
])
def test_the_filters_give_exactly_the_expected_tasks(app, client, task_world, query, heading,
                                                      expected):
    page = show(client, f"/tasks/?{query}")
    found_heading, body = task_list_of(page)
    assert (found_heading, task_titles(body)) == (heading, expected)


def test_each_task_on_the_list_links_to_its_record_and_the_filters_stay_chosen(
        app, client, task_world):
    page = show(client, "/tasks/?scope=all&due=today")
    _heading, body = task_list_of(page)
    item = re.search(r"<li[^>]*>((?:(?!</li>).)*Call the mayor.*?)</li>", body, re.S).group(1)
    assert f'<a class="about" href="/organisations/{task_world}">Gmina Kórnik</a>' in item
    assert '<option value="all" selected>' in page
    assert '<option value="today" selected>' in page
    assert '<option value="open" selected>' in page


def test_a_colleague_reaching_only_their_own_tasks_sees_only_those_in_every_list(
        app, task_world, kartoteka_login):
    key = own_only_role(app)
    ola = staff(app, "ola@example.com", "Ola Own", role_keys=(key,))
    with writing(app) as (session, admin):
        tasks.create(session, {"title": "Ola's call", "assignee_id": ola}, actor=admin)
    as_ola = login(app, kartoteka_login, "ola@example.com")
    for query in ("", "scope=teams", "scope=all"):
        _heading, body = task_list_of(show(as_ola, f"/tasks/?{query}"))
        assert task_titles(body) == (["Ola's call"] if query != "scope=teams" else [])


# --------------------------------------------------------------------- the case card's quick add


def test_quick_add_on_the_case_card_is_on_the_case_and_its_organisations_timelines(app, client):
    org = add_org(app, "Gmina Kórnik")
    case_id = add_case(app, "Banner", organisation_id=org)
    loose = add_case(app, "Leaflets")
    response = client.post(f"/cases/{case_id}/activities", data={
        "kind": "call", "subject": "Asked for the proof", "body": "Tomorrow at ten."})
    assert response.headers["Location"] == f"/cases/{case_id}"
    assert entries(show(client, f"/cases/{case_id}"))[0] == ("Call", "Asked for the proof")
    assert entries(show(client, f"/organisations/{org}"))[0] == ("Call", "Asked for the proof")
    client.post(f"/cases/{loose}/activities", data={"kind": "note", "subject": "No client yet"})
    assert entries(show(client, f"/cases/{loose}"))[0] == ("Note", "No client yet")
    assert ("Note", "No client yet") not in entries(show(client, f"/organisations/{org}"))


def test_quick_add_on_the_case_card_refuses_an_empty_entry_and_an_unseen_case(
        app, client, kartoteka_login):
    case_id = add_case(app, "Banner")
    before = count(app, Activity)
    client.post(f"/cases/{case_id}/activities", data={"kind": "note", "subject": " "})
    assert "Write what happened." in flashes(show(client, f"/cases/{case_id}"))
    assert count(app, Activity) == before
    staff(app, "ola@example.com", "Ola Own", role_keys=(own_only_role(app),))
    as_ola = login(app, kartoteka_login, "ola@example.com")
    assert as_ola.post(f"/cases/{case_id}/activities",
                       data={"kind": "note", "subject": "Sneaky"}).status_code == 404
    assert count(app, Activity) == before


def test_the_case_card_offers_quick_add_and_a_kind_filter(app, client):
    case_id = add_case(app, "Banner")
    page = show(client, f"/cases/{case_id}")
    assert f'action="/cases/{case_id}/activities"' in page
    assert 'class="filters timeline-filter"' in page


# --------------------------------------------------------------------- timeline filter and pages


def add_entries(app, record_model, record_id, kinds_and_subjects, start=None):
    """Entries on a record's timeline, a minute apart, the last the newest."""
    start = start or datetime(2030, 1, 7, 9, 0, tzinfo=local_zone())
    with writing(app) as (session, admin):
        record = session.get(record_model, record_id)
        for i, (kind, subject) in enumerate(kinds_and_subjects):
            timeline.add(session, kind, subject, [record], actor=admin,
                         occurred_at=start + timedelta(minutes=i),
                         event="merged" if kind == "system" else "")


def test_the_kind_filter_shows_only_that_kind_on_each_card(app, client):
    org = add_org(app, "Gmina Kórnik")
    person = add_person(app, "Anna", "Kowalska")
    case_id = add_case(app, "Banner")
    mixed = [("note", "First note"), ("call", "First call"), ("meeting", "Visit"),
             ("email_in", "Question"), ("call", "Second call"), ("system", "Merged in")]
    for model, record_id, card in ((Organisation, org, f"/organisations/{org}"),
                                   (Person, person, f"/people/{person}"),
                                   (Case, case_id, f"/cases/{case_id}")):
        add_entries(app, model, record_id, mixed)
        assert entries(show(client, f"{card}?kind=call")) == [("Call", "Second call"),
                                                              ("Call", "First call")]
        assert entries(show(client, f"{card}?kind=email_in")) == [("E-mail received",
                                                                   "Question")]
        system = entries(show(client, f"{card}?kind=system"))  # a case's "Opened" too
        assert system[0] == ("Merged", "Merged in")
        assert {kind for kind, _subject in system} <= {"Merged", "Opened"}
        everything = entries(show(client, f"{card}?kind="))
        assert {("Note", "First note"), ("Meeting", "Visit"), ("Call", "First call"),
                ("Merged", "Merged in")} <= set(everything)
        page = show(client, f"{card}?kind=meeting")
        assert '<option value="meeting" selected>' in page
        assert entries(page) == [("Meeting", "Visit")]
        assert entries(show(client, f"{card}?kind=bogus")) == everything


def test_older_entries_page_through_the_timeline_keeping_the_filter(app, client, monkeypatch):
    monkeypatch.setattr(web_activities, "TIMELINE_PAGE", 2)
    org = add_org(app, "Gmina Kórnik")
    add_entries(app, Organisation, org, [("call", f"Call {i}") for i in range(1, 6)]
                + [("note", "A note")])
    card = f"/organisations/{org}"
    first = show(client, f"{card}?kind=call")
    assert [s for _k, s in entries(first)] == ["Call 5", "Call 4"]
    assert link_of(first, "newest") is None
    older = link_of(first, "older")
    assert parse_qs(urlsplit(older).query)["kind"] == ["call"]
    second = show(client, older)
    assert [s for _k, s in entries(second)] == ["Call 3", "Call 2"]
    assert link_of(second, "newest") == f"{card}?kind=call#history"
    third = show(client, link_of(second, "older"))
    assert [s for _k, s in entries(third)] == ["Call 1"]
    assert link_of(third, "older") is None
    # Without a filter the note is first; a stale or unknown "before" shows the newest.
    assert [s for _k, s in entries(show(client, card))] == ["A note", "Call 5"]
    assert [s for _k, s in entries(show(client, f"{card}?before=999999"))] == ["A note",
                                                                               "Call 5"]


def test_the_organisation_card_keeps_peoples_history_while_filtering_and_paging(
        app, client, monkeypatch):
    monkeypatch.setattr(web_activities, "TIMELINE_PAGE", 2)
    from core import memberships

    org = add_org(app, "Gmina Kórnik")
    person = add_person(app, "Anna", "Kowalska")
    with writing(app) as (session, admin):
        memberships.join(session, session.get(Person, person), session.get(Organisation, org),
                         actor=admin)
    add_entries(app, Organisation, org, [("call", "Org call 1"), ("call", "Org call 2")])
    add_entries(app, Person, person, [("call", "Anna's call"), ("note", "Anna's note")],
                start=datetime(2030, 1, 7, 10, 0, tzinfo=local_zone()))
    card = f"/organisations/{org}"
    assert [s for _k, s in entries(show(client, f"{card}?kind=call"))] == ["Org call 2",
                                                                           "Org call 1"]
    page = show(client, f"{card}?people=1&kind=call")
    assert [s for _k, s in entries(page)] == ["Anna's call", "Org call 2"]
    assert '<input type="hidden" name="people" value="1">' in page
    older = parse_qs(urlsplit(link_of(page, "older")).query)
    assert older["people"] == ["1"] and older["kind"] == ["call"]
    assert [s for _k, s in entries(show(client, link_of(page, "older")))] == ["Org call 1"]
    hide = re.search(r'<a href="([^"]+)">\s*Hide people\'s history', page).group(1)
    assert parse_qs(urlsplit(hide.replace("&amp;", "&")).query) == {"people": ["0"],
                                                                     "kind": ["call"]}


# --------------------------------------------------------------------- cases on the cards


def test_the_cards_list_their_cases_open_first_with_process_phase_and_owner(app, client):
    ewa = staff(app, "ewa@example.com", "Ewa Nowak")
    org, other = add_org(app, "Gmina Kórnik"), add_org(app, "Gmina Mosina")
    anna = add_person(app, "Anna", "Kowalska")
    lost = add_case(app, "Old banner", ewa, org, [anna], phases=["lost"])
    banner = add_case(app, "Banner", ewa, org)
    add_case(app, "Leaflets", None, other)
    posters = add_case(app, "Posters", None, other, [anna])
    assert linked_cases(show(client, f"/organisations/{org}")) == [
        ["Banner", "Print project", "Inquiry", "Ewa Nowak"],
        ["Old banner", "Print project", "Lost", "Ewa Nowak"]]
    page = show(client, f"/people/{anna}")
    assert [row[0] for row in linked_cases(page)] == ["Posters", "Old banner"]
    assert f'<a href="/cases/{posters}">Posters</a>' in page
    assert f'<a href="/cases/{lost}">Old banner</a>' in page
    assert f'<a href="/cases/{banner}">' not in page
    empty = add_org(app, "Gmina Śrem")
    assert "No cases found." in show(client, f"/organisations/{empty}")


def test_a_case_the_user_may_not_see_is_not_listed_on_the_cards(app, kartoteka_login):
    key = own_only_role(app)
    ola = staff(app, "ola@example.com", "Ola Own", role_keys=(key,))
    org = add_org(app, "Gmina Kórnik", owner_id=ola)
    anna = add_person(app, "Anna", "Kowalska", owner_id=ola)
    add_case(app, "Ola's banner", ola, org, [anna])
    add_case(app, "Someone else's banner", None, org, [anna])
    as_ola = login(app, kartoteka_login, "ola@example.com")
    for card in (f"/organisations/{org}", f"/people/{anna}"):
        assert [row[0] for row in linked_cases(show(as_ola, card))] == ["Ola's banner"]

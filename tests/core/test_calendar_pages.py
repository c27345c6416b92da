"""The calendar's staff pages: the month view, an event's page, editing and cancelling an
event, and the add-an-event form keeping what was typed when it is refused."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core import calendar, organisations, people, roles, tasks, teams, users
from core.models import CalendarEvent, Organisation, Person, User
from page_helpers import count, error_under, fetch, flashes, show, text, value_of, visible

PASSWORD = "correct horse battery"
WARSAW = ZoneInfo("Europe/Warsaw")  # the installation's zone in the tests


# --------------------------------------------------------------------- helpers


@pytest.fixture
def world(app, client) -> dict:
    """The administrator (logged in as ``client``), a colleague in the Sales team, a
    reader who sees every event but changes none, a rep who sees only their own, a
    client organisation with a person, and a portal account of it."""
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        reader = roles.create(s, "reader", "Reader")
        roles.set_access(s, reader, {("*", "read"): "all"})
        own = roles.create(s, "own_only", "Own records only")
        roles.set_access(
            s, own, {("*", a): "own" for a in ("read", "create", "edit", "delete", "export")}
        )
        admin = users.find_by_email(s, "admin@example.com")
        ola = users.create_user(s, "ola@example.com", PASSWORD, "Ola Nowak")
        sales = teams.create_team(s, "Sales", admin)
        teams.add_member(s, sales, admin, admin)
        teams.add_member(s, sales, ola, admin)
        board = teams.create_team(s, "Board", admin)  # nobody's
        kornik = organisations.create(
            s, rt.host, {"name": "Gmina Kórnik", "type_key": "core.municipality"}, admin
        )
        anna = people.create(s, {"first_name": "Anna", "last_name": "Kowalska"}, admin)
        found = {
            "admin": admin.id,
            "ola": ola.id,
            "sales": sales.id,
            "board": board.id,
            "kornik": kornik.id,
            "anna": anna.id,
            "reader": users.create_user(
                s, "reader@example.com", PASSWORD, "Rita Reader", roles=["reader"]
            ).id,
            "rep": users.create_user(
                s, "rep@example.com", PASSWORD, "Robert Rep", roles=["own_only"]
            ).id,
            "portal": users.create_user(
                s, "portal@example.com", PASSWORD, "Portal", portal_of=kornik
            ).id,
        }
    return found


def login(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def add_event(app, title, starts, ends, *, about=(), people_ids=(), **fields) -> int:
    """An event the administrator adds and attends; ``about`` holds (model, id) pairs."""
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        admin = users.find_by_email(s, "admin@example.com")
        data = {"title": title, "starts_at": starts, "ends_at": ends, **fields}
        return calendar.create_event(
            s,
            data,
            attendees_users=[admin],
            attendees_people=[s.get(Person, i) for i in people_ids],
            about=[s.get(model, i) for model, i in about],
            actor=admin,
        ).id


def add_task(app, title, due, **fields) -> int:
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        admin = users.find_by_email(s, "admin@example.com")
        data = {"title": title, "assignee_id": admin.id, "due_at": due, **fields}
        return tasks.create(s, data, actor=admin).id


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WARSAW)


def month_days(page: str) -> list[tuple[str, str, str]]:
    """The month grid's days: (their classes, heading, what the day shows)."""
    return [
        (classes.strip(), visible(heading), visible(body))
        for classes, heading, body in re.findall(
            r'<section class="day([^"]*)"[^>]*>\s*<h3>(.*?)</h3>(.*?)</section>', page, re.S
        )
    ]


def month_name(page: str) -> str:
    return visible(re.search(r'<h2 class="month-name">(.*?)</h2>', page, re.S).group(1))


def details(page: str) -> dict[str, str]:
    """An event page's details: label -> what it says."""
    return {
        visible(dt): visible(dd)
        for dt, dd in re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    }


def edit_form(app, event_id: int, **changes) -> dict:
    """What the edit form posts: the event as stored, with ``changes``."""
    event = fetch(app, CalendarEvent, event_id)
    local = {
        k: getattr(event, k).astimezone(WARSAW).strftime("%Y-%m-%dT%H:%M")
        for k in ("starts_at", "ends_at")
    }
    return {
        "title": event.title,
        "location": event.location,
        "description": event.description,
        "version": str(event.version),
        "team_id": str(event.team_id or ""),
        **local,
        **changes,
    }


# --------------------------------------------------------------------- the month view


def test_the_month_shows_whole_weeks_with_events_and_tasks_due_on_their_days(app, client, world):
    board = add_event(
        app,
        "Board meeting",
        at(date(2025, 3, 12), 10),
        at(date(2025, 3, 12), 11, 30),
        location="Town hall",
    )
    add_event(app, "Regional fair", "2025-03-30", "2025-04-01", all_day=True)
    # 00:30 in Warsaw is the evening before in UTC: it is the 21st's.
    add_event(app, "Night shift", at(date(2025, 3, 21), 0, 30), at(date(2025, 3, 21), 2))
    add_task(app, "Send the offer", at(date(2025, 3, 14), 15, 30))
    add_event(app, "Next month's fair", "2025-05-05", "2025-05-05", all_day=True)

    page = show(client, "/calendar/month?month=2025-03")
    assert month_name(page) == "March 2025"
    days = month_days(page)
    assert len(days) == 42  # Monday 24 February to Sunday 6 April
    assert days[0][:2] == ("outside empty", "Mon 24.02")
    assert days[-1][:2] == ("outside empty", "Sun 6.04")
    shown = {heading: body for _classes, heading, body in days}
    assert shown["Wed 12"] == "10:00 AM Board meeting"
    assert shown["Fri 14"] == "3:30 PM Task: Send the offer"
    assert shown["Thu 20"] == "" and shown["Fri 21"] == "12:30 AM Night shift"
    # An all-day event on each of its days, into the next month's first days shown.
    assert [h for h, body in shown.items() if "Regional fair" in body] == [
        "Sun 30",
        "Mon 31",
        "Tue 1.04",
    ]
    assert ("outside", "Tue 1.04") in [(c, h) for c, h, _b in days]  # dimmed, not empty
    assert not any("Next month" in body for body in shown.values())
    assert f'href="/calendar/events/{board}"' in page
    # Each day leads to its week; the next month's page shows the fair's last day.
    assert 'href="/calendar/?week=2025-03-12"' in page
    april = {h: b for _c, h, b in month_days(show(client, "/calendar/month?month=2025-04"))}
    assert april["Mon 31.03"] == "Regional fair" and april["Tue 1"] == "Regional fair"
    assert "Nothing in the calendar this month." in show(client, "/calendar/month?month=2025-06")


def test_today_is_marked_and_bad_months_fall_back_to_this_one(app, client, world):
    today = datetime.now(WARSAW).date()
    page = show(client, "/calendar/month")
    assert month_name(page) == f"{today:%B %Y}"
    marked = re.findall(
        r'<section class="day([^"]*)" aria-current="date">\s*<h3>(.*?)</h3>', page, re.S
    )
    assert len(marked) == 1 and "today" in marked[0][0]
    assert visible(marked[0][1]) == f"{today:%a} {today.day} Today"
    for bad in (
        "2025-13",
        "2025-00",
        "March",
        "2025-3",
        "0999-01",
        "9999-12",
        "²０²５-03",
        "2025-03-01",
    ):
        assert month_name(show(client, f"/calendar/month?month={bad}")) == f"{today:%B %Y}", bad
    # The pages on either side: also at the ends of the years.
    page = show(client, "/calendar/month?month=2025-01")
    assert 'href="/calendar/month?month=2024-12"' in page
    assert 'href="/calendar/month?month=2025-02"' in page
    assert 'href="/calendar/month?month=2026-01"' in show(client, "/calendar/month?month=2025-12")


def test_a_team_month_is_for_its_members_and_the_views_keep_the_team(app, client, world):
    sales, board = world["sales"], world["board"]
    add_event(
        app, "Sales review", at(date(2025, 3, 12), 9), at(date(2025, 3, 12), 10), team_id=sales
    )
    add_task(app, "Team follow-up", at(date(2025, 3, 13), 9), assignee_id=None, team_id=sales)
    add_task(app, "Mine only", at(date(2025, 3, 13), 11))
    assert client.get(f"/calendar/month?month=2025-03&team={board}").status_code == 404
    assert client.get("/calendar/month?team=x").status_code == 404

    page = show(client, f"/calendar/month?month=2025-03&team={sales}")
    shown = {h: b for _c, h, b in month_days(page)}
    assert shown["Wed 12"] == "9:00 AM Sales review"
    assert shown["Thu 13"] == "9:00 AM Task: Team follow-up"
    assert f'href="/calendar/?week=2025-03-01&team={sales}"' in page  # to the week
    assert f'href="/calendar/month?month=2025-04&team={sales}"' in page  # next month
    assert f'<input type="hidden" name="team_id" value="{sales}">' in page  # adds there
    week = show(client, f"/calendar/?week=2025-03-12&team={sales}")
    assert f'href="/calendar/month?month=2025-03&team={sales}"' in week
    mine = {h: b for _c, h, b in month_days(show(client, "/calendar/month?month=2025-03"))}
    # Mine: my tasks and my teams' that nobody has taken.
    assert mine["Thu 13"] == "9:00 AM Task: Team follow-up 11:00 AM Task: Mine only"


# --------------------------------------------------------------------- adding


@pytest.mark.parametrize(("all_day", "starts", "ends"), [
    ("", "0001-01-01T00:00", "0001-01-01T01:00"), ("1", "9999-12-31", "9999-12-31")])
def test_a_year_out_of_the_calendars_range_is_refused_under_its_field(app, client, world,
                                                                      all_day, starts, ends):
    response = client.post("/calendar/new", data={
        "title": "Far off", "starts_at": starts, "ends_at": ends, "all_day": all_day})
    assert response.status_code == 422
    assert error_under(text(response), "starts_at") == "Give a year from 1900 to 9000."
    assert count(app, CalendarEvent) == 0


def test_a_refused_new_event_comes_back_with_its_errors_and_what_was_typed(app, client, world):
    typed = {
        "title": "Board meeting",
        "starts_at": "2025-03-12T10:00",
        "ends_at": "2025-03-12T09:00",
        "location": "Town hall",
        "description": "Budget\nand plans",
        "view": "month",
        "at": "2025-03",
    }
    response = client.post("/calendar/new", data=typed)
    assert response.status_code == 422
    page = text(response)
    assert month_name(page) == "March 2025"  # the view it was sent from
    assert error_under(page, "ends_at") == "The event must end after it starts."
    assert [value_of(page, f) for f in ("title", "starts_at", "ends_at", "location")] == [
        "Board meeting",
        "2025-03-12T10:00",
        "2025-03-12T09:00",
        "Town hall",
    ]
    assert ">Budget\nand plans</textarea>" in page
    assert count(app, CalendarEvent) == 0

    response = client.post(
        "/calendar/new",
        data={
            "title": " ",
            "starts_at": "tomorrow",
            "all_day": "1",
            "view": "week",
            "at": "2025-03-12",
        },
    )
    page = text(response)
    assert response.status_code == 422 and "Wed 12.03" in page
    assert error_under(page, "title") == "Enter a title."
    assert error_under(page, "starts_at") == "Give a date without a time for an all-day event."
    assert 'name="all_day" value="1" checked' in page

    typed["ends_at"] = "2025-03-12T11:00"
    response = client.post("/calendar/new", data=typed)
    assert response.headers["Location"] == "/calendar/month?month=2025-03"
    assert "Board meeting" in show(client, "/calendar/month?month=2025-03")
    assert count(app, CalendarEvent, CalendarEvent.description == "Budget\nand plans") == 1


# --------------------------------------------------------------------- an event's page


def test_an_event_page_tells_when_where_who_and_what_it_is_about(app, client, world):
    event_id = add_event(
        app,
        "Contract talks",
        at(date(2025, 3, 12), 10),
        at(date(2025, 3, 12), 11, 30),
        location="Kórnik town hall",
        description="Bring the draft.",
        team_id=world["sales"],
        people_ids=[world["anna"]],
        about=[(Organisation, world["kornik"])],
    )
    page = show(client, f"/calendar/events/{event_id}")
    assert details(page) == {
        "When": "Wednesday, March 12, 2025, 10:00 AM–11:30 AM",
        "Where": "Kórnik town hall",
        "Attendees": "admin@example.com (invited) Anna Kowalska (invited)",
        "Team": "Sales",
        "Linked records": "Organisation: Gmina Kórnik",
        "Description": "Bring the draft.",
    }
    assert f'href="/organisations/{world["kornik"]}"' in page
    assert f'href="/people/{world["anna"]}"' in page
    assert f'href="/calendar/events/{event_id}/edit"' in page
    assert f'action="/calendar/events/{event_id}/cancel"' in page

    fair = add_event(app, "Regional fair", "2025-03-14", "2025-03-16", all_day=True)
    assert (
        details(show(client, f"/calendar/events/{fair}"))["When"]
        == "Friday, March 14, 2025 – Sunday, March 16, 2025 (all day)"
    )
    assert client.get("/calendar/events/999999").status_code == 404
    assert f'href="/calendar/events/{event_id}"' in show(client, "/calendar/?week=2025-03-12")


# --------------------------------------------------------------------- editing


def test_a_refused_edit_keeps_what_was_typed_and_changes_nothing(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    form = show(client, f"/calendar/events/{event_id}/edit")
    assert [value_of(form, f) for f in ("title", "starts_at", "ends_at")] == [
        "Board meeting",
        "2025-03-12T10:00",
        "2025-03-12T11:00",
    ]

    posted = edit_form(
        app,
        event_id,
        title="Board meeting (moved)",
        starts_at="2025-03-13T10:00",
        ends_at="2025-03-13T09:00",
        location="x" * 301,
        team_id=str(world["board"]),
    )
    response = client.post(f"/calendar/events/{event_id}/edit", data=posted)
    assert response.status_code == 422
    page = text(response)
    assert error_under(page, "ends_at") == "The event must end after it starts."
    assert error_under(page, "location") == "At most 300 characters."
    assert error_under(page, "team_id") == "Choose a team from the list."  # not mine
    assert [value_of(page, f) for f in ("title", "starts_at", "ends_at")] == [
        "Board meeting (moved)",
        "2025-03-13T10:00",
        "2025-03-13T09:00",
    ]
    assert 'aria-invalid="true" aria-describedby="e-ends_at"' in page
    event = fetch(app, CalendarEvent, event_id)
    assert (event.title, event.version, event.location) == ("Board meeting", 1, "")


def test_an_event_is_edited_and_the_calendar_shows_the_change(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    response = client.post(
        f"/calendar/events/{event_id}/edit",
        data=edit_form(
            app,
            event_id,
            title="Budget meeting",
            starts_at="2025-03-13T14:00",
            ends_at="2025-03-13T15:30",
            location="Room 2",
            team_id=str(world["sales"]),
        ),
    )
    assert response.headers["Location"] == f"/calendar/events/{event_id}"
    page = show(client, f"/calendar/events/{event_id}")
    assert "Saved." in flashes(page)
    assert details(page)["When"] == "Thursday, March 13, 2025, 2:00 PM–3:30 PM"
    assert details(page)["Team"] == "Sales"
    event = fetch(app, CalendarEvent, event_id)
    assert event.starts_at == at(date(2025, 3, 13), 14) and event.version == 2
    shown = {h: b for _c, h, b in month_days(show(client, "/calendar/month?month=2025-03"))}
    assert shown["Wed 12"] == "" and shown["Thu 13"] == "2:00 PM Budget meeting"

    # Made all-day, it shows its dates; a form opened before the change is refused.
    stale = edit_form(app, event_id, title="Old tab")
    client.post(
        f"/calendar/events/{event_id}/edit",
        data=edit_form(
            app, event_id, all_day="1", starts_at="2025-03-14T00:00", ends_at="2025-03-15T00:00"
        ),
    )
    assert (
        details(show(client, f"/calendar/events/{event_id}"))["When"]
        == "Friday, March 14, 2025 – Saturday, March 15, 2025 (all day)"
    )
    response = client.post(f"/calendar/events/{event_id}/edit", data=stale)
    page = text(response)
    assert response.status_code == 422 and "changed by someone else" in page
    assert value_of(page, "title") == "Budget meeting"  # what is stored now
    assert fetch(app, CalendarEvent, event_id).title == "Budget meeting"


def test_cancelling_an_event_takes_it_off_the_calendar(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    response = client.post(f"/calendar/events/{event_id}/cancel")
    assert response.headers["Location"] == "/calendar/?week=2025-03-12"
    assert "Cancelled: Board meeting." in flashes(show(client, "/calendar/?week=2025-03-12"))
    assert "Board meeting" not in show(client, "/calendar/month?month=2025-03")
    assert client.get(f"/calendar/events/{event_id}").status_code == 404
    assert fetch(app, CalendarEvent, event_id).deleted_at is not None


# --------------------------------------------------------------------- who may


def test_a_colleagues_private_event_is_not_found_whatever_the_roles_level(app, client, world):
    event_id = add_event(app, "Doctor", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    with app.extensions["kartoteka"].session() as s, s.begin():
        users.create_user(s, "piotr@example.com", PASSWORD, "Piotr Nowy")  # in no team
    piotr = login(app, "piotr@example.com")  # the staff role: every record, not every diary
    for url in (f"/calendar/events/{event_id}", f"/calendar/events/{event_id}/edit"):
        assert piotr.get(url).status_code == 404, url
    assert piotr.post(f"/calendar/events/{event_id}/cancel").status_code == 404
    assert fetch(app, CalendarEvent, event_id).deleted_at is None
    # A teammate sees it on the team's calendar, where the members' events are.
    assert show(login(app, "ola@example.com"), f"/calendar/events/{event_id}")


def test_a_reader_sees_the_event_but_may_not_change_it(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    with app.extensions["kartoteka"].session() as s, s.begin():
        calendar.update_event(s, s.get(CalendarEvent, event_id), {},
                              attendees_users=[s.get(User, world["reader"])])
    reader = login(app, "reader@example.com")
    page = show(reader, f"/calendar/events/{event_id}")
    assert details(page)["When"].startswith("Wednesday, March 12, 2025")
    assert f"/calendar/events/{event_id}/edit" not in page
    assert f"/calendar/events/{event_id}/cancel" not in page
    assert reader.get(f"/calendar/events/{event_id}/edit").status_code == 403
    response = reader.post(
        f"/calendar/events/{event_id}/edit", data=edit_form(app, event_id, title="Hijacked")
    )
    assert response.status_code == 403
    assert "You may not do this with this record." in text(response)
    assert reader.post(f"/calendar/events/{event_id}/cancel").status_code == 403
    event = fetch(app, CalendarEvent, event_id)
    assert (event.title, event.deleted_at) == ("Board meeting", None)


def test_an_event_out_of_sight_is_not_found_and_its_attendees_edit_it(app, client, world):
    event_id = add_event(
        app,
        "Board meeting",
        at(date(2025, 3, 12), 10),
        at(date(2025, 3, 12), 11),
        people_ids=[world["anna"]],
    )
    rep = login(app, "rep@example.com")  # sees only events they made, attend or team's
    for url in (f"/calendar/events/{event_id}", f"/calendar/events/{event_id}/edit"):
        assert rep.get(url).status_code == 404, url
    assert (
        rep.post(
            f"/calendar/events/{event_id}/edit", data=edit_form(app, event_id, title="X")
        ).status_code
        == 404
    )
    assert rep.post(f"/calendar/events/{event_id}/cancel").status_code == 404
    assert "Board meeting" not in show(rep, "/calendar/month?month=2025-03")

    with app.extensions["kartoteka"].session() as s, s.begin():
        event = s.get(CalendarEvent, event_id)
        calendar.update_event(s, event, {}, attendees_users=[s.get(User, world["rep"])])
    page = show(rep, f"/calendar/events/{event_id}")
    # The rep does not see the invited person, only that someone more is invited.
    assert details(page)["Attendees"] == "Robert Rep (invited) and 1 more you may not see"
    response = rep.post(
        f"/calendar/events/{event_id}/edit",
        data=edit_form(app, event_id, title="Board meeting, room 2"),
    )
    assert response.status_code == 302
    assert fetch(app, CalendarEvent, event_id).title == "Board meeting, room 2"


def test_a_portal_account_finds_no_calendar_page(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    portal = login(app, "portal@example.com")
    for url in (
        "/calendar/month",
        "/calendar/month?month=2025-03",
        f"/calendar/events/{event_id}",
        f"/calendar/events/{event_id}/edit",
    ):
        assert portal.get(url).status_code == 404, url
    assert (
        portal.post(
            f"/calendar/events/{event_id}/edit", data=edit_form(app, event_id, title="X")
        ).status_code
        == 404
    )
    assert portal.post(f"/calendar/events/{event_id}/cancel").status_code == 404
    event = fetch(app, CalendarEvent, event_id)
    assert (event.title, event.deleted_at) == ("Board meeting", None)


def test_logged_out_visitors_are_sent_to_log_in(app, client, world):
    event_id = add_event(app, "Board meeting", at(date(2025, 3, 12), 10), at(date(2025, 3, 12), 11))
    visitor = app.test_client()
    for method, url in (
        ("get", "/calendar/month"),
        ("get", f"/calendar/events/{event_id}"),
        ("get", f"/calendar/events/{event_id}/edit"),
        ("post", f"/calendar/events/{event_id}/edit"),
        ("post", f"/calendar/events/{event_id}/cancel"),
    ):
        response = getattr(visitor, method)(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    assert client.get("/calendar/events/99999999999999999999").status_code == 404
    assert fetch(app, CalendarEvent, event_id).deleted_at is None

"""The staff pages of tasks and the calendar: the dashboard, task lists, the week view."""

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from core import calendar, tasks
from core.models import CalendarEvent, Organisation, Task
from core.tasks import local_zone
from page_helpers import (
    add_org,
    count,
    error_under,
    fetch,
    flashes,
    show,
    text,
    value_of,
    visible,
    writing,
)

STALE = ("The record was changed by someone else meanwhile; "
         "reload it and apply your change again.")


# --------------------------------------------------------------------- helpers


def add_task(app, title, due, org_id=None) -> int:
    with writing(app) as (session, admin):
        about = [session.get(Organisation, org_id)] if org_id else []
        return tasks.create(session, {"title": title, "assignee_id": admin.id, "due_at": due},
                            about=about, actor=admin).id


def add_event(app, title, starts, ends) -> int:
    with writing(app) as (session, admin):
        data = {"title": title, "starts_at": starts, "ends_at": ends}
        return calendar.create_event(session, data, attendees_users=[admin], actor=admin).id


def sections(page: str) -> dict[str, str]:
    """The cards of a page by their heading."""
    return {visible(h2): body for h2, body in
            re.findall(r'<section class="card">\s*<h2>(.*?)</h2>(.*?)</section>', page, re.S)}


def task_titles(fragment: str) -> list[str]:
    return re.findall(r'<span class="title">(.*?)</span>', fragment)


def local(days: int = 0, at: time = time(12, 0)) -> datetime:
    """A time ``days`` from today in the installation's time zone."""
    today = datetime.now(local_zone()).date() + timedelta(days=days)
    return datetime.combine(today, at, local_zone())


def typed(moment: datetime) -> str:
    """A time as a datetime-local field sends it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def week(page: str) -> list[tuple[str, str]]:
    """The days of the week view: (heading, what the day shows)."""
    return [(visible(h2), visible(body)) for h2, body in re.findall(
        r'<section class="day[^"]*">\s*<h2>(.*?)</h2>(.*?)</section>', page, re.S)]


def feed_address(page: str) -> str | None:
    found = re.search(r'<input class="wide" readonly value="([^"]+)"', page)
    return urlsplit(found.group(1)).path if found else None


# --------------------------------------------------------------------- tasks


def test_a_task_added_on_the_dashboard_shows_in_next_steps_and_on_my_list(app, client):
    for title, due in (("Send the offer", local(0, time(23, 59))),
                       ("Plan the spring training", local(7))):
        response = client.post("/tasks/new", data={"title": title, "due_at": typed(due),
                                                    "priority": "2", "back": "/"})
        assert response.headers["Location"] == "/"
    dashboard = show(client, "/")
    assert "Added: task." in flashes(dashboard)
    assert task_titles(sections(dashboard)["Next steps"]) == ["Send the offer"]
    mine = sections(show(client, "/tasks/"))
    assert task_titles(mine["My tasks"]) == ["Send the offer", "Plan the spring training"]
    assert task_titles(mine["Overdue"]) == []


def test_a_task_added_on_a_card_shows_there_on_the_dashboard_and_in_overdue(app, client):
    kornik, mosina = add_org(app, "Gmina Kórnik"), add_org(app, "Gmina Mosina")
    card = f"/organisations/{kornik}"
    response = client.post("/tasks/new", data={
        "title": "Call back the mayor", "due_at": typed(local(-1)), "record_type": "organisation",
        "record_id": str(kornik), "back": card})
    assert response.headers["Location"] == card
    assert task_titles(show(client, card)) == ["Call back the mayor"]
    assert task_titles(show(client, f"/organisations/{mosina}")) == []
    assert task_titles(sections(show(client, "/"))["Next steps"]) == ["Call back the mayor"]
    lists = sections(show(client, "/tasks/"))
    assert task_titles(lists["Overdue"]) == ["Call back the mayor"]
    assert 'class="priority-2 status-open overdue"' in lists["My tasks"]


def test_a_task_without_a_title_is_refused_in_polish_and_nothing_is_added(polish):
    polish.post("/tasks/new", data={"title": "   ", "back": "/"})
    dashboard = show(polish, "/")
    assert "Tytuł: Wpisz tytuł." in flashes(dashboard)
    assert "Nic do zrobienia." in sections(dashboard)["Następne kroki"]
    assert count(polish.application, Task) == 0


def test_a_task_about_a_record_that_is_not_there_is_refused_with_a_message(app, client):
    response = client.post("/tasks/new", data={"title": "Call", "record_type": "organisation",
                                                "record_id": "999999", "back": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert flashes(show(client, "/")) == ["The record this task was for no longer exists."]
    assert count(app, Task) == 0


def test_a_completed_task_leaves_the_lists_and_is_noted_on_the_records_timeline(app, client):
    org_id = add_org(app)
    task_id = add_task(app, "Send the invoice", local(-1), org_id)
    response = client.post(f"/tasks/{task_id}/complete", data={"version": "1"},
                           headers={"Referer": "http://localhost/"})
    assert response.headers["Location"] == "/"
    assert fetch(app, Task, task_id).status == "done"
    assert task_titles(sections(show(client, "/"))["Next steps"]) == []
    lists = sections(show(client, "/tasks/"))
    assert task_titles(lists["My tasks"]) == task_titles(lists["Overdue"]) == []
    card = show(client, f"/organisations/{org_id}")
    assert re.search(r'<span class="kind">Task done</span>\s*<strong>Send the invoice</strong>',
                     card)


def test_a_completed_task_is_no_longer_offered_for_completion_on_its_card(app, client):
    org_id = add_org(app)
    task_id = add_task(app, "Send the invoice", local(-1), org_id)
    client.post(f"/tasks/{task_id}/complete", data={"version": "1"})
    assert "Mark as done: Send the invoice" not in show(client, f"/organisations/{org_id}")


def test_completing_a_task_that_does_not_exist_is_not_found(app, client):
    assert client.post("/tasks/999999/complete").status_code == 404
    task_id = add_task(app, "Send the invoice", local(1))
    assert client.post(f"/tasks/{task_id}/explode").status_code == 404
    assert fetch(app, Task, task_id).status == "open"


def test_completing_a_task_a_colleague_changed_meanwhile_is_refused(app, client):
    task_id = add_task(app, "Send the invoice", local(-1))
    with writing(app) as (session, admin):
        tasks.update(session, session.get(Task, task_id), {"title": "Send the corrected invoice"},
                     actor=admin)
    client.post(f"/tasks/{task_id}/complete", data={"version": "1"},
                headers={"Referer": "http://localhost/tasks/"})
    page = show(client, "/tasks/")
    assert STALE in flashes(page)
    assert task_titles(sections(page)["My tasks"]) == ["Send the corrected invoice"]
    assert fetch(app, Task, task_id).status == "open"


# --------------------------------------------------------------------- calendar


def test_timed_and_all_day_events_show_on_their_days_of_the_week(app, client):
    response = client.post("/calendar/new", data={
        "title": "Board meeting", "starts_at": "2025-03-12T10:00", "ends_at": "2025-03-12T11:30",
        "location": "Town hall"})
    assert response.headers["Location"] == "/calendar/?week=2025-03-12"
    client.post("/calendar/new", data={"title": "Regional fair", "all_day": "1",
                                       "starts_at": "2025-03-14T00:00",
                                       "ends_at": "2025-03-15T00:00"})
    days = week(show(client, "/calendar/?week=2025-03-12"))
    assert days == [("Mon 10.03", ""), ("Tue 11.03", ""),
                    ("Wed 12.03", "10:00 AM–11:30 AM Board meeting Town hall"),
                    ("Thu 13.03", ""), ("Fri 14.03", "Regional fair"),
                    ("Sat 15.03", "Regional fair"), ("Sun 16.03", "")]
    assert week(show(client, "/calendar/?week=2025-03-16")) == days
    following = week(show(client, "/calendar/?week=2025-03-17"))
    assert following[0] == ("Mon 17.03", "") and all(not shown for _day, shown in following)


def test_tasks_due_in_the_week_show_on_their_days_and_done_ones_leave(app, client):
    due = local(0, time(15, 30))
    task_id = add_task(app, "Approve: Banner 6x3", due)
    add_task(app, "Next month", local(40))
    shown = dict(week(show(client, f"/calendar/?week={due.date().isoformat()}")))
    assert "Approve: Banner 6x3" in shown[due.strftime("%a ") + f"{due.day}.{due.month:02d}"]
    assert not any("Next month" in v for v in shown.values())
    client.post(f"/tasks/{task_id}/complete")
    shown = dict(week(show(client, f"/calendar/?week={due.date().isoformat()}")))
    assert not any("Banner" in v for v in shown.values())


def test_an_event_ending_before_it_starts_is_refused_in_polish(polish):
    response = polish.post("/calendar/new", data={
        "title": "Zebranie", "starts_at": "2025-03-12T10:00", "ends_at": "2025-03-12T09:00"})
    assert response.status_code == 422  # shown again, under the field, with what was typed
    page = text(response)
    assert error_under(page, "ends_at") == "Wydarzenie musi się skończyć po swoim początku."
    assert value_of(page, "title") == "Zebranie"
    assert count(polish.application, CalendarEvent) == 0


def test_the_dashboard_shows_todays_events_only(app, client):
    assert "Nothing in the calendar today." in sections(show(client, "/"))["Today"]
    add_event(app, "Morning briefing", local(0, time(8)), local(0, time(9)))
    add_event(app, "Tomorrow's review", local(1, time(8)), local(1, time(9)))
    today = visible(sections(show(client, "/"))["Today"])
    assert "8:00 AM Morning briefing" in today
    assert "Tomorrow's review" not in today


def test_the_calendar_address_serves_the_feed_until_a_new_one_is_made(app, client):
    add_event(app, "Board meeting", local(1, time(10)), local(1, time(11)))
    page = show(client, "/calendar/")
    assert "Show the calendar address" in page and feed_address(page) is None
    assert client.post("/calendar/feed").status_code == 302
    old = feed_address(show(client, "/calendar/"))
    assert old and old.endswith(".ics")

    subscriber = app.test_client()
    served = subscriber.get(old)
    assert served.status_code == 200 and served.mimetype == "text/calendar"
    assert "SUMMARY:Board meeting" in served.get_data(as_text=True)

    client.post("/calendar/feed", data={"rotate": "1"})
    page = show(client, "/calendar/")
    assert ("The old calendar address no longer works; subscribe again with the new one."
            in flashes(page))
    new = feed_address(page)
    assert new and new != old
    assert subscriber.get(old).status_code == 404
    assert subscriber.get(new).status_code == 200

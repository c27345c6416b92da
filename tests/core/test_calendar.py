"""The calendar: events, week views, personal and team calendars, iCalendar feeds."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from core import calendar, people, records, roles, tasks, teams
from core.db import utcnow
from core.errors import ValidationError
from core.models import CalendarEvent, User
from core.web import calendar_feed

NINE = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def staff(session, name, active=True) -> User:
    email = f"{name.split()[0].lower()}@example.com"
    user = records.create(session, User(email=email, full_name=name,
                                        password_hash="x", active=active))
    roles.assign(session, user, ["staff"])
    return user


def event(session, title, starts, ends=None, actor=None, users=(), **fields) -> CalendarEvent:
    data = {"title": title, "starts_at": starts, "ends_at": ends, **fields}
    return calendar.create_event(session, data, attendees_users=users, actor=actor)


def titles(found) -> list[str]:
    return [e.title for e in found]


def parse(feed: bytes) -> dict[str, dict]:
    """The feed's events by summary."""
    return {str(e["summary"]): e for e in Calendar.from_ical(feed).walk("VEVENT")}


def test_every_bad_field_is_named_and_nothing_is_written(rt):
    cases = [
        ({"starts_at": NINE, "ends_at": NINE + timedelta(hours=1)},
         {"title": "Enter a title."}),
        ({"title": "Rada", "starts_at": NINE, "ends_at": NINE - timedelta(minutes=1)},
         {"ends_at": "The event must end after it starts."}),
        ({"title": "Rada", "starts_at": NINE, "ends_at": NINE},
         {"ends_at": "The event must end after it starts."}),
        ({"title": "Rada", "starts_at": datetime(2024, 5, 6, 9), "ends_at": "2024-05-06T10:00",
          "team_id": 999},
         {"starts_at": "Give the time with its time zone.",
          "ends_at": "Give the time with its time zone.",
          "team_id": "Choose a team from the list."}),
        ({"title": "Rada", "starts_at": "Monday", "location": "x" * 301},
         {"starts_at": "Enter a date and time.", "ends_at": "Enter when the event ends.",
          "location": "At most 300 characters."}),
        ({"title": "  ", "ends_at": NINE}, {"title": "Enter a title.",
                                            "starts_at": "Enter when the event starts."}),
        ({"title": "Urlop", "all_day": True, "starts_at": NINE, "ends_at": "2024-05-03"},
         {"starts_at": "Give a date without a time for an all-day event."}),
        ({"title": "Urlop", "all_day": True, "starts_at": "2024-05-06", "ends_at": "2024-05-03"},
         {"ends_at": "The event must end after it starts."}),
    ]
    for data, errors in cases:
        with rt.session() as session, pytest.raises(ValidationError) as refused:
            calendar.create_event(session, data)
        assert refused.value.errors == errors, data
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(CalendarEvent)) == 0


def test_an_event_keeps_its_uid_and_its_invitations_through_changes(rt):
    with rt.session() as session, session.begin():
        anna, jan = staff(session, "Anna"), staff(session, "Jan")
        nowak = people.create(session, {"first_name": "Jan", "last_name": "Nowak"})
        meeting = calendar.create_event(
            session, {"title": "Spotkanie", "starts_at": "2024-05-06T11:00:00+02:00",
                      "ends_at": "2024-05-06T12:00:00+02:00", "location": "Urząd"},
            attendees_users=[anna, anna], attendees_people=[nowak], about=[nowak], actor=anna)
        meeting.attendees[0].status = "accepted"
        uid = meeting.uid
    with rt.session() as session, session.begin():
        meeting = session.get(CalendarEvent, meeting.id)
        calendar.update_event(session, meeting, {"location": "Sala 2"},
                              attendees_users=[anna, jan], expected_version=1)
    with rt.session() as session:
        meeting = session.get(CalendarEvent, meeting.id)
        assert (meeting.uid, meeting.location, meeting.version) == (uid, "Sala 2", 2)
        assert (meeting.starts_at, meeting.ends_at) == (NINE, NINE + timedelta(hours=1))
        assert sorted((a.user_id or 0, a.person_id or 0, a.status)
                      for a in meeting.attendees) == [
            (0, nowak.id, "invited"), (anna.id, 0, "accepted"), (jan.id, 0, "invited")]
        assert [(link.record_type, link.record_id) for link in meeting.links] == [
            ("person", nowak.id)]
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as stale:
        calendar.update_event(session, session.get(CalendarEvent, meeting.id),
                              {"title": "Stare dane"}, expected_version=1)
    assert set(stale.value.errors) == {"version"}


def test_all_day_events_are_whole_dates_and_stay_so_when_changed(rt):
    with rt.session() as session, session.begin():
        leave = event(session, "Urlop", date(2024, 5, 6), "2024-05-08", all_day=True)
        holiday = event(session, "Święto", "2024-05-03", all_day=True)
    with rt.session() as session, session.begin():
        leave = session.get(CalendarEvent, leave.id)
        assert (leave.starts_at, leave.ends_at) == (datetime(2024, 5, 6, tzinfo=UTC),
                                                    datetime(2024, 5, 9, tzinfo=UTC))
        holiday = session.get(CalendarEvent, holiday.id)
        assert holiday.ends_at - holiday.starts_at == timedelta(days=1)
        calendar.update_event(session, leave, {"title": "Urlop wypoczynkowy"})
    with rt.session() as session:
        leave = session.get(CalendarEvent, leave.id)
        assert leave.ends_at == datetime(2024, 5, 9, tzinfo=UTC)


def test_between_shows_events_overlapping_the_range_and_not_those_touching_it(rt):
    with rt.session() as session, session.begin():
        event(session, "Ends at the start", NINE - timedelta(hours=1), NINE)
        event(session, "Starts at the end", NINE + timedelta(hours=2),
              NINE + timedelta(hours=3))
        event(session, "Across the start", NINE - timedelta(minutes=30),
              NINE + timedelta(minutes=1))
        event(session, "Inside", NINE + timedelta(minutes=30), NINE + timedelta(hours=1))
        event(session, "Around", NINE - timedelta(days=1), NINE + timedelta(days=1))
        calendar.cancel_event(session, event(session, "Cancelled", NINE,
                                             NINE + timedelta(hours=1)))
    with rt.session() as session:
        found = calendar.between(session, NINE, NINE + timedelta(hours=2))
        assert titles(found) == ["Around", "Across the start", "Inside"]


def test_all_day_events_fall_on_their_dates_in_a_local_week(rt):
    monday = datetime(2024, 5, 6, tzinfo=WARSAW)  # 22:00 UTC on Sunday
    with rt.session() as session, session.begin():
        event(session, "Sunday", "2024-05-05", all_day=True)
        event(session, "Monday", "2024-05-06", all_day=True)
        event(session, "Sunday to Monday", "2024-05-05", "2024-05-06", all_day=True)
        event(session, "Next Monday", "2024-05-13", all_day=True)
        event(session, "Sunday night", datetime(2024, 5, 5, 22, 30, tzinfo=UTC),
              datetime(2024, 5, 5, 23, 0, tzinfo=UTC))
    with rt.session() as session:
        week = calendar.between(session, monday, monday + timedelta(days=7))
        assert titles(week) == ["Sunday to Monday", "Sunday night", "Monday"]
        half_day = calendar.between(session, monday, monday + timedelta(hours=12))
        assert titles(half_day) == ["Sunday to Monday", "Sunday night", "Monday"]


def test_a_persons_calendar_and_a_team_calendar(rt):
    day = (NINE, NINE + timedelta(hours=8))
    with rt.session() as session, session.begin():
        anna, jan, ewa = staff(session, "Anna"), staff(session, "Jan"), staff(session, "Ewa")
        office = teams.create_team(session, "Biuro")
        teams.add_member(session, office, anna)
        teams.add_member(session, office, jan)
        event(session, "Anna invited", NINE, NINE + timedelta(hours=1), users=[anna])
        event(session, "Anna's own", NINE + timedelta(hours=1), NINE + timedelta(hours=2),
              actor=anna)
        event(session, "Office's", NINE + timedelta(hours=2), NINE + timedelta(hours=3),
              team_id=office.id)
        event(session, "Jan invited", NINE + timedelta(hours=3), NINE + timedelta(hours=4),
              users=[jan])
        event(session, "Ewa invited", NINE + timedelta(hours=4), NINE + timedelta(hours=5),
              users=[ewa], actor=ewa)
    with rt.session() as session:
        assert titles(calendar.between(session, *day, user=anna)) == [
            "Anna invited", "Anna's own", "Office's"]
        assert titles(calendar.between(session, *day, user=ewa)) == ["Ewa invited"]
        assert titles(calendar.between(session, *day, team=office)) == [
            "Anna invited", "Office's", "Jan invited"]


def test_feed_tokens_are_secret_kept_and_replaced_on_rotation(rt):
    with rt.session() as session, session.begin():
        anna, office = staff(session, "Anna"), teams.create_team(session, "Biuro")
        first = calendar.ensure_feed_token(session, anna)
        assert calendar.ensure_feed_token(session, anna) == first
        assert len(first) >= 40
        team_token = calendar.ensure_feed_token(session, office)
    with rt.session() as session, session.begin():
        assert calendar.feed_owner(session, first).id == anna.id
        assert calendar.feed_owner(session, team_token).name == "Biuro"
        second = calendar.rotate_feed_token(session, session.get(User, anna.id))
        assert second != first
        assert calendar.feed_owner(session, first) is None
        assert calendar.feed_owner(session, "") is None


def test_the_feed_parses_back_with_stable_uids_utc_times_and_cancellations(rt):
    now = utcnow().replace(microsecond=0)
    soon = now + timedelta(days=2)
    today = now.date()
    with rt.session() as session, session.begin():
        anna, jan = staff(session, "Anna Nowak"), staff(session, "Jan")
        event(session, "Meeting", soon.astimezone(WARSAW), soon + timedelta(hours=1),
              users=[anna, jan], location="Urząd, sala 2", description="Budżet; drogi")
        event(session, "Leave", today.isoformat(), (today + timedelta(days=1)).isoformat(),
              all_day=True, users=[anna])
        calendar.cancel_event(session, event(session, "Called off", soon,
                                             soon + timedelta(hours=1), users=[anna]))
        gone = event(session, "Long cancelled", soon, soon + timedelta(hours=1), users=[anna])
        records.update(session, gone, {"deleted_at": now - timedelta(days=31)})
        event(session, "Last year", now - timedelta(days=91), now - timedelta(days=91, hours=-1),
              users=[anna])
        event(session, "Not Anna's", soon, soon + timedelta(hours=1), users=[jan])
        tasks.create(session, {"title": "Send the offer", "assignee_id": anna.id,
                               "due_at": soon})
        tasks.create(session, {"title": "Undated", "assignee_id": anna.id})
        done = tasks.create(session, {"title": "Done", "assignee_id": anna.id, "due_at": soon})
        tasks.complete(session, done)
    with rt.session() as session:
        feed = calendar.ical_feed(session, user=anna)
        again = calendar.ical_feed(session, user=anna)
    parsed = Calendar.from_ical(feed)
    assert str(parsed["x-wr-calname"]) == "Anna Nowak"
    entries = parse(feed)
    assert sorted(entries) == ["Called off", "Leave", "Meeting", "Task: Done",
                               "Task: Send the offer"]
    assert {k: str(e["uid"]) for k, e in entries.items()} == {
        k: str(e["uid"]) for k, e in parse(again).items()}
    meeting = entries["Meeting"]
    assert meeting.decoded("dtstart") == soon and meeting.decoded("dtstart").utcoffset() == \
        timedelta(0)
    assert f"DTSTART:{soon:%Y%m%dT%H%M%S}Z" in feed.decode()
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in feed.decode()
    assert "X-PUBLISHED-TTL:PT15M" in feed.decode()
    assert (str(meeting["location"]), str(meeting["description"])) == ("Urząd, sala 2",
                                                                        "Budżet; drogi")
    assert sorted(str(a) for a in meeting["attendee"]) == ["mailto:anna@example.com",
                                                           "mailto:jan@example.com"]
    leave = entries["Leave"]
    assert (leave.decoded("dtstart"), leave.decoded("dtend")) == (today,
                                                                  today + timedelta(days=2))
    assert type(leave.decoded("dtstart")) is date
    assert {k: str(e["status"]) for k, e in entries.items()} == {
        "Meeting": "CONFIRMED", "Leave": "CONFIRMED", "Called off": "CANCELLED",
        "Task: Send the offer": "CONFIRMED", "Task: Done": "CANCELLED"}
    assert entries["Task: Send the offer"].decoded("dtstart") == soon


def test_a_team_feed_has_the_team_calendar_and_the_teams_tasks(rt):
    soon = utcnow().replace(microsecond=0) + timedelta(days=1)
    with rt.session() as session, session.begin():
        anna, ewa = staff(session, "Anna"), staff(session, "Ewa")
        office = teams.create_team(session, "Biuro")
        teams.add_member(session, office, anna)
        event(session, "Office's", soon, soon + timedelta(hours=1), team_id=office.id)
        event(session, "Anna invited", soon, soon + timedelta(hours=1), users=[anna])
        event(session, "Ewa invited", soon, soon + timedelta(hours=1), users=[ewa])
        tasks.create(session, {"title": "Office task", "team_id": office.id, "due_at": soon})
        tasks.create(session, {"title": "Ewa's task", "assignee_id": ewa.id, "due_at": soon})
    with rt.session() as session:
        feed = calendar.ical_feed(session, team=office)
    assert str(Calendar.from_ical(feed)["x-wr-calname"]) == "Biuro"
    assert sorted(parse(feed)) == ["Anna invited", "Office's", "Task: Office task"]


def test_the_web_feed_answers_by_token_and_forgets_a_rotated_one(kartoteka_app_factory):
    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    soon = utcnow() + timedelta(days=1)
    with rt.session() as session, session.begin():
        anna, retired = staff(session, "Anna"), staff(session, "Retired", active=False)
        event(session, "Rada gminy", soon, soon + timedelta(hours=2), users=[anna])
        token = calendar.ensure_feed_token(session, anna)
        retired_token = calendar.ensure_feed_token(session, retired)
    client = app.test_client()
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert list(parse(response.data)) == ["Rada gminy"]
    with app.test_request_context():
        assert calendar_feed.feed_url(token) == f"http://localhost/calendar/{token}.ics"
    with rt.session() as session, session.begin():
        new_token = calendar.rotate_feed_token(session, session.get(User, anna.id))
    unknown = client.get("/calendar/not-a-token.ics")
    rotated = client.get(f"/calendar/{token}.ics")
    assert unknown.status_code == rotated.status_code == 404
    assert unknown.data == rotated.data
    assert client.get(f"/calendar/{retired_token}.ics").status_code == 404
    assert client.get(f"/calendar/{new_token}.ics").status_code == 200

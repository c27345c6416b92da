"""The sales queues (PV-6): leads routed by rules to the call or the meeting queue, each
rep's calls and meetings planned for the coming days in their working hours and travel
area around the events of their calendar, reps recording what came of them, on the
staff pages, through the API and from the command line. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import calendar, cases, people, places, roles, tokens, users
from core.errors import Forbidden, ValidationError
from core.models import Activity, ActivityLink, CalendarEvent, Case, Place
from page_helpers import error_under, flashes, show, text
from plugins.photovoltaics import queue_outcomes, queue_planning, queues
from plugins.photovoltaics.models import QueueEntry, Rep

PASSWORD = "correct horse battery"
PROCESS = "photovoltaics.installation"
WARSAW = ZoneInfo("Europe/Warsaw")
# Kórnik, Mosina and Swarzędz lie some 20 km from Poznań; Gniezno 47 km from Poznań;
# Września 24 km from Gniezno and 47 km from Poznań; Kraków far from both.
TOWNS = [("Poznań", 52.4064, 16.9252), ("Kórnik", 52.2471, 17.0897),
         ("Mosina", 52.2454, 16.8471), ("Swarzędz", 52.4129, 17.0782),
         ("Gniezno", 52.5348, 17.5826), ("Września", 52.3251, 17.5652),
         ("Kraków", 50.0647, 19.9450)]
_place_ids = itertools.count(9_000_000)


@pytest.fixture
def team(app):
    """A request, an open session and the sales team."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield Team(session, rt.host)


def next_monday(weeks: int = 1) -> date:
    today = datetime.now(WARSAW).date()
    return today + timedelta(days=7 - today.weekday() + 7 * (weeks - 1))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WARSAW)


class Team:
    """A sales manager, two reps and a clerk without the queues' permissions, the towns
    of the gazetteer around them, and leads made to order."""

    def __init__(self, session, host):
        self.session, self.host = session, host
        for name, latitude, longitude in TOWNS:
            session.add(Place(place_id=next(_place_ids), country="PL", name=name,
                              name_key=places.key(name), region_code="", latitude=latitude,
                              longitude=longitude, longitude_km=places.longitude_km(latitude),
                              population=10_000, principal=True))
        managing = roles.create(session, "sales_manager", "Sales manager")
        roles.set_permissions(session, managing, [queues.MANAGE])
        working = roles.create(session, "sales_rep", "Sales rep")
        roles.set_permissions(session, working, [queues.WORK])
        self.manager = self.user("manager@example.com", "Maria Kierownik", "sales_manager")
        self.anna = self.user("anna@example.com", "Anna Nowak", "sales_rep")
        self.piotr = self.user("piotr@example.com", "Piotr Wiśniewski", "sales_rep")
        self.clerk = self.user("clerk@example.com", "Jan Biurowy")

    def user(self, email, name, role=None):
        return users.create_user(self.session, email, PASSWORD, name,
                                 roles=["staff"] + ([role] if role else []))

    def two_reps(self):
        """Anna from Poznań, 30 km, Monday to Friday 8 to 16, calls of 15 minutes and
        meetings of an hour; Piotr from Gniezno, 40 km, Monday to Thursday 9 to 17,
        calls of 20 minutes and meetings of an hour and a half."""
        self.rep_anna = self.rep(self.anna, base_town="Poznań", travel_km=30,
                                 call_minutes=15, meeting_minutes=60)
        self.rep_piotr = self.rep(self.piotr, base_town="Gniezno", travel_km=40,
                                  weekdays=[0, 1, 2, 3], day_starts="09:00",
                                  day_ends="17:00", call_minutes=20, meeting_minutes=90)
        return self.rep_anna, self.rep_piotr

    def rep(self, user, **data):
        return queues.create_rep(self.session, {
            "user_id": user.id, "calls": True, "meetings": True, "weekdays": [0, 1, 2, 3, 4],
            "day_starts": "08:00", "day_ends": "16:00", **data}, self.manager)

    def rule(self, **data):
        return queues.create_rule(self.session, {"name": "Rule", "queue": "call", **data},
                                  self.manager)

    def lead(self, name, town="Kórnik", source="form", priority="normal", days_old=0):
        """A household's installation in the lead phase, entered ``days_old`` days ago."""
        first, last = name.split()
        person = people.create(self.session, {
            "first_name": first, "last_name": last, "phones": ["+48 601 234 567"],
            "addresses": [{"city": town, "region": "wielkopolskie"}] if town else []},
            allow_duplicates=True)
        case = cases.create(self.session, self.host, {
            "title": f"Instalacja PV: {name}", "process_key": PROCESS,
            "custom": {"photovoltaics_source": source, "photovoltaics_priority": priority}},
            people=[(person, "inwestor")], actor=self.manager)
        case.created_at = datetime.now(UTC) - timedelta(days=days_old)
        self.session.flush()
        return case

    def busy(self, user, starts, ends=None, all_day=False):
        """An event in ``user``'s calendar (an all-day one from ``starts`` to ``ends``)."""
        data = {"title": "Busy", "all_day": all_day,
                "starts_at": starts if not all_day else starts.isoformat(),
                "ends_at": ends if not all_day else (ends or starts).isoformat()}
        return calendar.create_event(self.session, data, attendees_users=[user], actor=user)

    def plan(self, start, days=5, actor=None):
        return queue_planning.plan(self.session, start, days, actor or self.manager)

    def entries(self, **where):
        query = select(QueueEntry).order_by(QueueEntry.id)
        for name, value in where.items():
            query = query.where(getattr(QueueEntry, name) == value)
        return list(self.session.scalars(query))

    def entry_of(self, case, status=None):
        found = [e for e in self.entries(case_id=case.id) if status in (None, e.status)]
        return found[-1]

    def outcome(self, entry, actor, **data):
        return queue_outcomes.record(self.session, entry, data, actor)


def spans(team, rep) -> list[tuple[datetime, datetime, QueueEntry]]:
    """What a rep's plan takes, each meeting with the drive to it."""
    return sorted((e.starts_at - timedelta(minutes=e.travel_minutes or 0), e.ends_at, e)
                  for e in team.entries(rep_id=rep.id, status="planned"))


def overlapping(items) -> list:
    ordered = sorted(items, key=lambda item: item[0])
    return [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b[0] < a[1]]


def town_of(team, entry) -> Place:
    return queues.lead_of(team.session, team.session.get(Case, entry.case_id)).place


def assert_fits(team, rep, user, monday):
    """Nothing of the rep's plan overlaps, nor crosses another event of their calendar;
    all of it is in their days and hours; each meeting is in their area; calls and
    meetings take their lengths."""
    taken = spans(team, rep)
    assert taken and not overlapping(taken)
    week = calendar.between(team.session, local(monday, 0), local(monday, 0) +
                            timedelta(days=5), user=user)
    others = [(ev.starts_at, ev.ends_at) for ev in week
              if ev.id not in {e.event_id for *_, e in taken}]
    base = places.find(team.session, rep.base_town)
    for start, end, entry in taken:
        day = start.astimezone(WARSAW).date()
        assert day.weekday() in rep.weekdays
        assert local(day, *divmod(rep.day_starts, 60)) <= start < end \
            <= local(day, *divmod(rep.day_ends, 60))
        assert not [(s, e) for s, e in others if s < end and start < e]
        length = rep.meeting_minutes if entry.kind == "meeting" else rep.call_minutes
        assert entry.ends_at - entry.starts_at == timedelta(minutes=length)
        if entry.kind == "meeting":
            assert places.distance_km(base, town_of(team, entry)) <= rep.travel_km


# --- Planning: the done criterion of PV-6 ---------------------------------------------------

def test_two_reps_get_calls_and_meetings_that_never_overlap_in_their_hours_and_areas(team):
    anna, piotr = team.two_reps()
    monday = next_monday()
    team.rule(name="Fairs: a meeting", queue="meeting", sources=["fair"])
    team.rule(name="The rest: a call", queue="call")
    leads = [team.lead(f"Klient Numer{i}", town, source="fair" if i % 3 == 0 else "form",
                       priority=("high", "normal", "low")[i % 3], days_old=i)
             for i, town in enumerate(["Kórnik", "Mosina", "Swarzędz", "Gniezno", "Września",
                                       "Poznań", "Kórnik", "Swarzędz", "Gniezno", "Mosina",
                                       "Września", "Poznań", "Kraków", "Kórnik", "Swarzędz",
                                       "Mosina", "Gniezno", "Września"])]
    meeting_at_11 = team.busy(team.anna, local(monday, 10), local(monday, 11, 30))
    team.busy(team.piotr, monday + timedelta(days=1), all_day=True)  # Tuesday off
    made = team.plan(monday, days=5)

    assert made.enqueued == len(leads) and made.unmatched == 0
    assert made.unplanned == {"outside": 1}  # the meeting in Kraków: nobody goes so far
    planned = team.entries(status="planned")
    assert len(planned) == len(leads) - 1
    assert {e.kind for e in planned} == {"call", "meeting"}
    for rep, user in ((anna, team.anna), (piotr, team.piotr)):
        assert_fits(team, rep, user, monday)
    tuesday = monday + timedelta(days=1)
    assert not [e for e in team.entries(rep_id=piotr.id)
                if e.starts_at.astimezone(WARSAW).date() == tuesday]
    assert not [e for e in team.entries(rep_id=anna.id) if e.starts_at < meeting_at_11.ends_at
                and e.ends_at > meeting_at_11.starts_at]


def test_a_meeting_is_in_the_reps_calendar_with_the_drive_before_it(team):
    anna, _piotr = team.two_reps()
    team.rule(queue="meeting")
    case = team.lead("Ewa Kowalska", "Kórnik")
    monday = next_monday()
    team.plan(monday, days=1)
    entry = team.entry_of(case)
    assert (entry.status, entry.rep_id) == ("planned", anna.id)
    # 21 km at 50 km/h is 25 minutes and a bit, 30 on the grid: the day starts with it.
    assert entry.travel_minutes == 30
    assert entry.starts_at == local(monday, 8, 30)
    event = team.session.get(CalendarEvent, entry.event_id)
    assert (event.starts_at, event.ends_at) == (entry.starts_at, entry.ends_at)
    assert event.title == "Meeting: Ewa Kowalska" and event.location == "Kórnik"
    assert [a.user_id for a in event.attendees] == [team.anna.id]
    assert calendar.records_of(team.session, event) == [case]


def test_meetings_of_a_day_leave_time_to_drive_between_them_and_home(team):
    team.rep(team.anna, calls=False, base_town="Poznań", travel_km=60, meeting_minutes=60,
             day_starts="08:00", day_ends="12:00")
    team.rule(queue="meeting")
    first = team.lead("Ewa Kowalska", "Kórnik", priority="high")
    second = team.lead("Jan Zieliński", "Mosina", priority="normal")
    third = team.lead("Olga Mazur", "Września", priority="low")
    monday = next_monday()
    team.plan(monday, days=1)
    one, two = team.entry_of(first), team.entry_of(second)
    # Kórnik to Mosina is 17 km: 20 minutes after the first meeting ends.
    assert (one.starts_at, one.ends_at) == (local(monday, 8, 30), local(monday, 9, 30))
    assert (two.travel_minutes, two.starts_at) == (20, local(monday, 9, 50))
    # Września is 50 km from Mosina: no time left to get there and back home by noon.
    assert team.entry_of(third).status == "queued"


def test_the_highest_priority_and_the_oldest_leads_come_first(team):
    team.rep(team.anna, meetings=False, day_starts="08:00", day_ends="09:00",
             call_minutes=15, weekdays=[0])
    team.rule(queue="call", priorities=["high"], weight=5)
    team.rule(queue="call")
    low = team.lead("Adam Niski", priority="low", days_old=30)
    new = team.lead("Beata Zwykła", priority="normal", days_old=1)
    old = team.lead("Celina Stara", priority="normal", days_old=10)
    high = team.lead("Dawid Pilny", priority="high", days_old=0)
    older = team.lead("Edyta Starsza", priority="normal", days_old=20)
    monday = next_monday()
    made = team.plan(monday, days=1)
    times = {c.id: team.entry_of(c).starts_at for c in (high, older, old, new)}
    assert [times[c.id] for c in (high, older, old, new)] == [
        local(monday, 8), local(monday, 8, 15), local(monday, 8, 30), local(monday, 8, 45)]
    assert team.entry_of(low).status == "queued" and made.unplanned == {"no_time": 1}
    assert team.entry_of(high).priority == 35 and team.entry_of(low).priority == 10


def test_planning_again_replaces_what_was_not_worked_without_booking_twice(team):
    anna, piotr = team.two_reps()
    team.rule(queue="meeting", sources=["fair"])
    team.rule(queue="call")
    for i, town in enumerate(["Kórnik", "Mosina", "Swarzędz", "Gniezno", "Września", "Poznań"]):
        team.lead(f"Klient Numer{i}", town, source="fair" if i % 2 else "form")
    monday = next_monday()
    first = team.plan(monday, days=3)
    before = {e.id: (e.rep_id, e.starts_at) for e in team.entries(status="planned")}
    worked = next(e for e in team.entries(status="planned") if e.kind == "call")
    team.outcome(worked, team.manager, outcome="not_interested")
    # Anna is ill on Monday: everything of hers that day has to move.
    team.busy(team.anna, monday, all_day=True)
    again = team.plan(monday, days=3)
    assert again.enqueued == 0 and len(first.planned) == len(again.planned) + 1
    planned = team.entries(status="planned")
    assert len({e.case_id for e in planned}) == len(planned) == len(before) - 1
    for rep in (anna, piotr):
        assert not overlapping(spans(team, rep))
    assert not [e for e in planned if e.rep_id == anna.id
                and e.starts_at.astimezone(WARSAW).date() == monday]
    live = team.session.scalars(select(CalendarEvent).where(
        CalendarEvent.deleted_at.is_(None), CalendarEvent.title.like("Meeting:%"))).all()
    meetings = [e for e in planned if e.kind == "meeting"]
    assert sorted(ev.id for ev in live) == sorted(e.event_id for e in meetings)
    assert all(team.session.get(CalendarEvent, e.event_id).starts_at == e.starts_at
               for e in meetings)


def test_an_invitation_the_rep_declined_takes_no_time(team):
    team.rep(team.anna, meetings=False, weekdays=[0])
    team.rule(queue="call")
    case = team.lead("Ewa Kowalska")
    monday = next_monday()
    invited = calendar.create_event(team.session, {
        "title": "Szkolenie", "starts_at": local(monday, 8), "ends_at": local(monday, 12)},
        attendees_users=[team.anna], actor=team.manager)
    team.plan(monday, days=1)
    assert team.entry_of(case).starts_at == local(monday, 12)
    invited.attendees[0].status = "declined"
    team.plan(monday, days=1)
    assert team.entry_of(case).starts_at == local(monday, 8)


def test_a_lead_outside_every_area_or_without_a_known_town_waits(team):
    team.two_reps()
    team.rule(queue="meeting")
    far = team.lead("Zofia Daleka", "Kraków")
    nowhere = team.lead("Adam Nieznany", "Xyzów")
    made = team.plan(next_monday(), days=2)
    assert made.unplanned == {"outside": 1, "no_town": 1}
    assert {team.entry_of(far).status, team.entry_of(nowhere).status} == {"queued"}


def test_a_rep_is_given_only_leads_they_may_see(team):
    anna, _piotr = team.two_reps()
    blind = roles.create(team.session, "blind", "Sees own cases only")
    roles.set_access(team.session, blind, {("case", "read"): "own", ("*", "read"): "all"})
    roles.assign(team.session, team.piotr, ["sales_rep", "blind"])
    team.rule(queue="call")
    case = team.lead("Ewa Kowalska", "Gniezno")
    team.plan(next_monday(), days=1)
    assert team.entry_of(case).rep_id == anna.id


def test_planning_needs_a_period_from_today_and_the_managers_permission(team):
    team.two_reps()
    with pytest.raises(ValidationError) as refused:
        team.plan(date(2020, 1, 6), days=0)
    assert refused.value.errors == {"start": "Plan from today on.",
                                    "days": "Plan from 1 to 31 days."}
    with pytest.raises(Forbidden):
        team.plan(next_monday(), actor=team.anna)


def test_leads_that_are_no_longer_leads_leave_the_queue(team):
    team.two_reps()
    team.rule(queue="meeting")
    case = team.lead("Ewa Kowalska", "Kórnik")
    monday = next_monday()
    team.plan(monday, days=1)
    entry = team.entry_of(case)
    team.session.get(Case, case.id).phase_key = "audit"  # moved on the board
    team.plan(monday, days=1)
    assert entry.status == "cancelled"
    assert team.session.get(CalendarEvent, entry.event_id).deleted_at is not None


# --- Rules ---------------------------------------------------------------------------------

def test_the_first_rule_that_holds_routes_a_lead(team):
    anna, piotr = team.two_reps()
    by_fair = team.rule(name="Fairs", queue="meeting", sources=["fair", "referral"],
                        rep_id=piotr.id, weight=10)
    near = team.rule(name="Near Poznań", queue="call", town="Poznań", within_km=25,
                     region="Wielkopolskie")
    old = team.rule(name="Old", queue="call", min_age_days=7, max_age_days=30,
                    priorities=["low"], rep_id=anna.id)
    fair = team.lead("Ewa Targowa", "Gniezno", source="fair", priority="high")
    close = team.lead("Jan Bliski", "Swarzędz")
    aged = team.lead("Olga Stara", "Kraków", priority="low", days_old=10)
    young = team.lead("Adam Młody", "Kraków", priority="low", days_old=1)
    done = queues.enqueue(team.session, team.manager)
    assert done.unmatched == 1  # the young lead from Kraków: no rule holds
    routed = {e.case_id: (e.rule_id, e.kind, e.for_rep_id, e.priority) for e in done.entries}
    assert routed == {fair.id: (by_fair.id, "meeting", piotr.id, 40),
                      close.id: (near.id, "call", None, 20),
                      aged.id: (old.id, "call", anna.id, 10)}
    assert queues.enqueue(team.session, team.manager).entries == []  # queued once
    assert young.id not in routed


def test_rules_and_reps_are_refused_field_by_field(team):
    with pytest.raises(ValidationError) as refused:
        queues.create_rule(team.session, {
            "name": " ", "queue": "fax", "sources": ["tv"], "priorities": ["urgent"],
            "town": "Xyzów", "within_km": 10, "min_age_days": 9, "max_age_days": 3,
            "weight": 500}, team.manager)
    assert refused.value.errors == {
        "name": "Enter a name.", "queue": "Choose calls or meetings.",
        "sources": "Choose sources from the list.",
        "priorities": "Choose priorities from the list.",
        "town": "We do not know a town called Xyzów.",
        "max_age_days": "The greatest age cannot be below the least.",
        "weight": "Give a number from -100 to 100."}
    with pytest.raises(ValidationError) as refused:
        queues.create_rule(team.session, {"name": "R", "queue": "call", "within_km": 5},
                           team.manager)
    assert refused.value.errors == {"town": "Enter the town the distance is measured from."}
    with pytest.raises(ValidationError) as refused:
        queues.create_rep(team.session, {
            "user_id": team.anna.id, "calls": False, "meetings": True, "weekdays": [],
            "day_starts": "16:00", "day_ends": "8.00", "travel_km": 0,
            "call_minutes": "x"}, team.manager)
    assert refused.value.errors == {
        "weekdays": "Choose at least one working day.",
        "day_ends": "The working day must end after it starts.",
        "base_town": "Enter the town the rep sets out from to meetings.",
        "travel_km": "Give a distance from 1 to 500 km.",
        "call_minutes": "Not a valid integer."}
    anna = team.rep(team.anna, meetings=False)
    with pytest.raises(ValidationError) as refused:
        team.rep(team.anna, day_starts="25:00", base_town="Poznań")
    assert refused.value.errors == {"user_id": "This staff member is a rep already.",
                                    "day_starts": "Give the time as HH:MM, such as 08:00."}
    with pytest.raises(ValidationError) as refused:
        team.rule(queue="meeting", rep_id=anna.id)
    assert refused.value.errors == {"rep_id": "This rep does not go to meetings."}
    with pytest.raises(Forbidden):
        queues.create_rule(team.session, {"name": "R", "queue": "call"}, team.anna)
    assert team.session.scalars(select(Rep)).all() == [anna]


# --- Outcomes ------------------------------------------------------------------------------

@pytest.fixture
def planned(team):
    """Anna's call about one lead, planned for next Monday."""
    team.two_reps()
    team.rule(queue="call", rep_id=team.rep_anna.id)
    case = team.lead("Ewa Kowalska", "Kórnik")
    team.plan(next_monday(), days=1)
    return team.entry_of(case)


def timeline_of(team, case) -> list[str]:
    return [a.subject for a in team.session.scalars(
        select(Activity).join(ActivityLink).where(ActivityLink.record_type == "case",
                                                  ActivityLink.record_id == case.id,
                                                  Activity.kind.in_(("call", "meeting")))
        .order_by(Activity.id))]


def test_no_answer_is_tried_again_later_three_times_in_all(team, planned):
    case = team.session.get(Case, planned.case_id)
    entry = planned
    for attempt in (1, 2, 3):
        team.outcome(entry, team.anna, outcome="no_answer")
        assert (entry.status, entry.outcome, entry.done_by_id) == ("done", "no_answer",
                                                                  team.anna.id)
        if attempt < 3:
            entry = team.entry_of(case, "queued")
            assert entry.attempt == attempt + 1 and entry.for_rep_id == team.rep_anna.id
            assert entry.not_before > datetime.now(UTC) + timedelta(hours=2)
    assert not team.entries(case_id=case.id, status="queued")
    assert timeline_of(team, case) == ["No answer (try 1 of 3)", "No answer (try 2 of 3)",
                                       "No answer (try 3 of 3): no more tries"]


def test_a_call_back_is_planned_for_the_same_rep_at_the_time_asked(team, planned):
    case = team.session.get(Case, planned.case_id)
    monday = next_monday()
    at = local(monday + timedelta(days=2), 13, 30)
    team.outcome(planned, team.anna, outcome="call_back", at=at.isoformat(), note="Po 13")
    follow = team.entry_of(case, "queued")
    assert (follow.kind, follow.for_rep_id, follow.not_before) == ("call", team.rep_anna.id, at)
    team.plan(monday, days=5)
    assert (follow.status, follow.rep_id, follow.starts_at) == ("planned", team.rep_anna.id, at)
    assert timeline_of(team, case)[0].startswith("Call back later: ")


def test_what_was_only_for_a_rep_no_longer_planned_goes_to_another(team, planned):
    monday = next_monday()
    team.outcome(planned, team.anna, outcome="call_back", at=local(monday, 10).isoformat())
    queues.retire_rep(team.session, team.rep_anna, team.manager)
    team.plan(monday, days=1)
    follow = team.entries(status="planned")[0]
    assert (follow.rep_id, follow.starts_at) == (team.rep_piotr.id, local(monday, 10))


def test_a_meeting_agreed_is_queued_and_held_takes_the_case_to_the_audit(team, planned):
    case = team.session.get(Case, planned.case_id)
    team.outcome(planned, team.anna, outcome="meeting_agreed")
    meeting = team.entry_of(case, "queued")
    assert meeting.kind == "meeting"
    team.plan(next_monday(), days=2)
    assert meeting.status == "planned" and meeting.event_id
    with pytest.raises(ValidationError) as refused:
        team.outcome(meeting, team.manager, outcome="no_answer")
    assert refused.value.errors == {"outcome": "Choose what came of the meeting from the list."}
    team.outcome(meeting, team.manager, outcome="held", note="Dach do audytu")
    assert case.phase_key == "audit"
    assert timeline_of(team, case) == ["Meeting agreed", "Meeting held"]
    held = team.session.scalar(select(Activity).where(Activity.subject == "Meeting held"))
    person = case.people[0].person_id
    assert (held.kind, held.body, held.created_by_id) == ("meeting", "Dach do audytu",
                                                          team.manager.id)
    assert {(link.record_type, link.record_id) for link in held.links} == {
        ("case", case.id), ("person", person)}


def test_not_interested_loses_the_case_and_withdraws_the_rest(team, planned):
    case = team.session.get(Case, planned.case_id)
    stray = queue_outcomes._again(team.session, planned, "meeting", team.manager,
                                  datetime.now(UTC))
    team.outcome(planned, team.anna, outcome="not_interested", note="Ma już instalację")
    assert case.phase_key == "lost" and stray.status == "cancelled"
    assert planned.note == "Ma już instalację"


def test_a_meeting_moved_or_called_off_cancels_its_event(team):
    team.two_reps()
    team.rule(queue="meeting")
    moved, off, absent = (team.lead(name, "Kórnik") for name in (
        "Ewa Kowalska", "Jan Zieliński", "Olga Mazur"))
    monday = next_monday()
    team.plan(monday, days=2)
    later = local(monday + timedelta(days=7), 10)
    for case, data in ((moved, {"outcome": "rescheduled", "at": later.isoformat()}),
                       (off, {"outcome": "cancelled"}), (absent, {"outcome": "no_show"})):
        entry = team.entry_of(case)
        team.outcome(entry, team.manager, **data)
        event = team.session.get(CalendarEvent, entry.event_id)
        assert (event.deleted_at is not None) == (case is not absent)
    assert team.entry_of(moved, "queued").not_before == later
    assert team.entry_of(moved, "queued").kind == "meeting"
    assert team.entries(case_id=off.id, status="queued") == []
    assert team.entry_of(absent, "queued").kind == "call"


def test_an_outcome_is_refused_field_by_field_and_to_others(team, planned):
    with pytest.raises(ValidationError) as refused:
        team.outcome(planned, team.anna, outcome="call_back", note="x" * 2001)
    assert refused.value.errors == {"at": "Give the time to call back.",
                                    "note": "At most 2000 characters."}
    for at, says in (("jutro", "Enter a date and time."),
                     ("2030-01-01T10:00", "Give the time with its time zone."),
                     ("2020-01-01T10:00+01:00", "Give a time still to come.")):
        with pytest.raises(ValidationError) as refused:
            team.outcome(planned, team.anna, outcome="call_back", at=at)
        assert refused.value.errors == {"at": says}
    with pytest.raises(ValidationError) as refused:
        team.outcome(planned, team.anna, outcome="held")
    assert refused.value.errors == {"outcome": "Choose what came of the call from the list."}
    with pytest.raises(Forbidden):
        team.outcome(planned, team.piotr, outcome="no_answer")  # Anna's call
    with pytest.raises(Forbidden):
        team.outcome(planned, team.clerk, outcome="no_answer")
    assert planned.status == "planned"
    team.outcome(planned, team.anna, outcome="no_answer")
    with pytest.raises(ValidationError) as refused:
        team.outcome(planned, team.anna, outcome="no_answer")
    assert refused.value.errors == {"outcome": "What came of it is recorded already."}


def test_a_manager_withdraws_an_entry(team, planned):
    queues.withdraw(team.session, planned, team.manager)
    assert planned.status == "cancelled"
    with pytest.raises(ValidationError):
        queues.withdraw(team.session, planned, team.manager)


# --- The staff pages -----------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_a_rep_works_their_day_on_a_page_that_fits_a_phone(app, team, planned):
    monday, entry_id, version = next_monday(), planned.id, planned.version
    team.session.commit()
    anna = login(app, "anna@example.com")
    page = show(anna, f"/photovoltaics/queues/?day={monday.isoformat()}")
    assert "My queue" in page and "Ewa Kowalska" in page and 'href="tel:' in page
    assert f'id="entry-{entry_id}"' in page and "<table" not in page
    url = f"/photovoltaics/queues/entries/{entry_id}/outcome"
    refused = anna.post(url, data={"outcome": "call_back", "at": "", "note": "Po 13",
                                   "version": version, "day": monday.isoformat()})
    assert refused.status_code == 200
    assert error_under(text(refused), f"at-{entry_id}") == "Give the time to call back."
    assert "Po 13" in text(refused)  # what was typed stays
    stale = anna.post(url, data={"outcome": "no_answer", "version": version + 1,
                                 "day": monday.isoformat()})
    assert "The record was changed by someone else meanwhile" in text(stale)
    at = (monday + timedelta(days=1)).isoformat() + "T13:30"
    done = anna.post(url, data={"outcome": "call_back", "at": at, "note": "Po 13",
                                "version": version, "day": monday.isoformat()},
                     follow_redirects=True)
    assert flashes(text(done)) == ["Recorded: Call back later."]
    team.session.expire_all()
    follow = team.entries(status="queued")[-1]
    assert follow.not_before == local(monday + timedelta(days=1), 13, 30)
    assert team.session.get(QueueEntry, entry_id).status == "done"


def test_a_person_who_is_not_a_rep_is_told_so(app, team):
    team.session.commit()
    page = show(login(app, "anna@example.com"), "/photovoltaics/queues/")
    assert "You are not set up as a sales rep yet" in page


def test_the_manager_plans_from_the_overview_and_withdraws_an_entry(app, team):
    team.two_reps()
    team.rule(queue="meeting")
    team.lead("Ewa Kowalska", "Kórnik")
    team.lead("Adam Daleki", "Kraków")
    team.session.commit()
    maria, monday = login(app, "manager@example.com"), next_monday()
    page = show(maria, "/photovoltaics/queues/overview")
    assert "Sales queues" in page and "Waiting: 0" in page
    refused = maria.post("/photovoltaics/queues/plan", data={"start": "2020-01-01",
                                                             "days": "40"})
    assert error_under(text(refused), "start") == "Plan from today on."
    assert error_under(text(refused), "days") == "Plan from 1 to 31 days."
    done = maria.post("/photovoltaics/queues/plan", data={"start": monday.isoformat(),
                                                          "days": "2"}, follow_redirects=True)
    assert flashes(text(done)) == [
        "Planned calls: 0, meetings: 1; leads newly queued: 2.",
        "Left in the queue: no field rep travels that far: 1."]
    assert "Meeting" in text(done) and "Ewa Kowalska" in text(done) and "Waiting: 1" in text(done)
    waiting = team.entries(status="queued")[0].id
    maria.post(f"/photovoltaics/queues/entries/{waiting}/withdraw", data={})
    team.session.expire_all()
    assert team.session.get(QueueEntry, waiting).status == "cancelled"


def test_the_manager_keeps_reps_and_rules_with_field_errors(app, team):
    team.session.commit()
    maria = login(app, "manager@example.com")
    assert "Add a rep" in show(maria, "/photovoltaics/queues/reps/new")
    refused = maria.post("/photovoltaics/queues/reps/new", data={
        "user_id": str(team.anna.id), "meetings": "1", "weekdays": [], "day_starts": "9",
        "day_ends": "17:00", "base_town": "", "travel_km": "50", "call_minutes": "15",
        "meeting_minutes": "90"})
    page = text(refused)
    assert error_under(page, "weekdays") == "Choose at least one working day."
    assert error_under(page, "day_starts") == "Give the time as HH:MM, such as 08:00."
    assert error_under(page, "base_town") == "Enter the town the rep sets out from to meetings."
    saved = maria.post("/photovoltaics/queues/reps/new", data={
        "user_id": str(team.anna.id), "calls": "1", "meetings": "1", "weekdays": ["0", "2"],
        "day_starts": "09:00", "day_ends": "17:00", "base_town": "Poznań", "travel_km": "40",
        "call_minutes": "10", "meeting_minutes": "60"}, follow_redirects=True)
    assert flashes(text(saved)) == ["Saved."] and "Anna Nowak" in text(saved)
    assert "Monday, Wednesday · 09:00–17:00" in text(saved)
    refused = maria.post("/photovoltaics/queues/rules/new", data={
        "name": "Okolice", "queue": "call", "town": "Poznań", "within_km": "",
        "sources": ["fair", "tv"], "active": "1"})
    assert error_under(text(refused), "within_km") == "Give how far from the town, in km."
    assert error_under(text(refused), "sources") == "Choose sources from the list."
    saved = maria.post("/photovoltaics/queues/rules/new", data={
        "name": "Okolice", "queue": "call", "town": "Poznań", "within_km": "25",
        "sources": ["fair"], "weight": "5", "active": "1"}, follow_redirects=True)
    assert "Okolice" in text(saved)
    assert "Source: Trade fair · Within 25 km of Poznań" in text(saved)


@pytest.mark.parametrize("path", ["/photovoltaics/queues/overview",
                                  "/photovoltaics/queues/reps/", "/photovoltaics/queues/rules/",
                                  "/photovoltaics/queues/reps/new"])
def test_the_managers_pages_need_the_permission(app, team, path):
    team.session.commit()
    assert login(app, "anna@example.com").get(path).status_code == 403
    assert login(app, "manager@example.com").get(path).status_code == 200


def test_my_queue_needs_a_queue_permission_and_portal_accounts_find_nothing(app, team):
    from core import organisations

    firm = organisations.create(team.session, team.host, {"name": "Firma",
                                                          "type_key": "core.company"})
    users.create_user(team.session, "portal@example.com", PASSWORD, portal_of=firm)
    team.session.commit()
    assert login(app, "clerk@example.com").get("/photovoltaics/queues/").status_code == 403
    clerk_menu = show(login(app, "clerk@example.com"), "/")
    assert "My queue" not in clerk_menu and "Sales queues" not in clerk_menu
    portal = login(app, "portal@example.com")
    for path in ("/photovoltaics/queues/", "/photovoltaics/queues/overview"):
        assert portal.get(path).status_code == 404
    assert login(app, "clerk@example.com").post(
        "/photovoltaics/queues/plan", data={"start": "2030-01-01", "days": "1"}
    ).status_code == 403


# --- The API -------------------------------------------------------------------------------

def caller(app, team, email):
    secret = tokens.create(team.session, users.find_by_email(team.session, email), "test")[1]
    team.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1/photovoltaics{path}", **kwargs)

    return call


def problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_the_api_keeps_reps_and_rules_refusing_bad_input_field_by_field(app, team):
    api = caller(app, team, "manager@example.com")
    refused = problem(api("post", "/sales-reps/", json={
        "user_id": team.anna.id, "calls": False, "meetings": False, "day_starts": "8",
        "travel_km": 900}), 422)
    assert refused["errors"] == {"day_starts": "Give the time as HH:MM, such as 08:00.",
                                 "travel_km": "Give a distance from 1 to 500 km."}
    refused = problem(api("post", "/sales-reps/", json={
        "user_id": team.anna.id, "calls": False, "meetings": False}), 422)
    assert refused["errors"] == {"calls": "A rep makes calls, goes to meetings, or both."}
    made = api("post", "/sales-reps/", json={"user_id": team.anna.id, "meetings": True,
                                             "base_town": "Poznań", "day_starts": "07:30"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["name"], body["day_starts"], body["day_ends"], body["weekdays"]) == (
        "Anna Nowak", "07:30", "16:00", [0, 1, 2, 3, 4])
    url = f"/sales-reps/{body['id']}"
    changed = api("patch", url, json={"day_ends": "15:00"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["day_ends"] == "15:00"
    assert problem(api("patch", url, json={"day_ends": "07:00"},
                       headers={"If-Match": '"2"'}), 422)["errors"] == {
        "day_ends": "The working day must end after it starts."}
    assert api("delete", url).status_code == 204
    assert api("get", url).get_json()["active"] is False
    refused = problem(api("post", "/queue-rules/", json={"name": "", "queue": "call",
                                                         "rep_id": body["id"]}), 422)
    assert refused["errors"] == {"name": "Enter a name.",
                                 "rep_id": "Choose an active rep from the list."}
    assert api("post", "/queue-rules/", json={"name": "All", "queue": "call"}).status_code == 201
    rules = api("get", "/queue-rules/").get_json()["items"]
    assert [(r["name"], r["position"]) for r in rules] == [("All", 10)]


def test_the_api_plans_lists_entries_and_records_outcomes(app, team):
    anna, piotr = team.two_reps()
    team.rule(queue="call", rep_id=piotr.id, sources=["fair"])
    team.rule(queue="call")
    team.lead("Ewa Kowalska", "Kórnik")
    team.lead("Jan Targowy", "Gniezno", source="fair")
    boss = caller(app, team, "manager@example.com")
    monday = next_monday()
    assert problem(boss("post", "/queue-plans/", json={"start": "2020-01-01"}), 422)[
        "errors"] == {"start": "Plan from today on."}
    made = boss("post", "/queue-plans/", json={"start": monday.isoformat(), "days": 2})
    assert made.status_code == 200, made.get_json()
    assert made.get_json()["enqueued"] == 2 and len(made.get_json()["planned"]) == 2
    every = boss("get", "/queue-entries/?status=planned").get_json()["items"]
    assert len(every) == 2
    api = caller(app, team, "piotr@example.com")
    mine = api("get", "/queue-entries/").get_json()["items"]
    assert [e["rep_id"] for e in mine] == [piotr.id]
    other = next(e for e in every if e["rep_id"] == anna.id)
    assert problem(api("get", f"/queue-entries/{other['id']}"), 404)
    url = f"/queue-entries/{mine[0]['id']}/outcome"
    refused = problem(api("post", url, json={"outcome": "held", "note": "x"}), 422)
    assert refused["errors"] == {"outcome": "Choose what came of the call from the list."}
    refused = problem(api("post", url, json={"outcome": "no_answer", "colour": "red"}), 422)
    assert "colour" in refused["errors"]
    done = api("post", url, json={"outcome": "meeting_agreed",
                                  "at": local(monday, 12).isoformat()})
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["status"], done.get_json()["outcome"]) == ("done", "meeting_agreed")
    queued = boss("get", "/queue-entries/?status=queued&kind=meeting").get_json()["items"]
    assert len(queued) == 1
    withdrawn = boss("post", f"/queue-entries/{queued[0]['id']}/withdraw")
    assert withdrawn.get_json()["status"] == "cancelled"
    assert problem(api("post", f"/queue-entries/{queued[0]['id']}/withdraw"), 404)


def test_the_api_refuses_the_clerk_and_hides_from_portal_accounts(app, team):
    from core import organisations

    firm = organisations.create(team.session, team.host, {"name": "Firma",
                                                          "type_key": "core.company"})
    users.create_user(team.session, "portal@example.com", PASSWORD, portal_of=firm)
    clerk = caller(app, team, "clerk@example.com")
    assert problem(clerk("get", "/queue-entries/"), 403)
    assert problem(clerk("get", "/sales-reps/"), 403)
    assert problem(clerk("post", "/queue-plans/", json={"start": "2030-01-07"}), 403)
    portal = caller(app, team, "portal@example.com")
    for path in ("/queue-entries/", "/sales-reps/", "/queue-rules/"):
        assert portal("get", path).status_code == 404


# --- The command line ----------------------------------------------------------------------

def test_the_operator_plans_the_queues_from_the_command_line(app, team, cli):
    team.two_reps()
    team.rule(queue="call")
    team.lead("Ewa Kowalska", "Kórnik")
    team.session.commit()
    monday = next_monday()
    done = cli("photovoltaics", "plan-queues", "--days", "3", "--start", monday.isoformat())
    assert done.returncode == 0, done.stderr
    assert "Leads queued: 1; not taken by any rule: 0." in done.stdout
    assert "Anna Nowak: calls 1, meetings 0." in done.stdout
    team.session.expire_all()
    assert team.entries(status="planned")[0].starts_at == local(monday, 8)
    bad = cli("photovoltaics", "plan-queues", "--days", "40")
    assert bad.returncode != 0

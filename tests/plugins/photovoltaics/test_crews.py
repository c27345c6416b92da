"""Crews, their jobs and their calendars (PV-4, PV-5): crews own and subcontracted with
installers and skills; a part of an installation given to a qualified, free crew for
some days, which puts it in the crew's feed and in its members' calendars; installers
reporting a job done with photos, with or without an account; and the installation
going on by itself when both parts are reported. Runs on SQLite and PostgreSQL."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from PIL import Image

from core import calendar, cases, organisations, roles
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import Attachment, CalendarEvent, Case
from plugins.photovoltaics import assignments, crews, feeds
from plugins.photovoltaics.models import Assignment
from plugins.photovoltaics.process import ELECTRICAL, ROOF

MONDAY = date(2030, 6, 3)
YESTERDAY = today() - timedelta(days=1)


@pytest.fixture
def planner(world):
    role = roles.create(world.session, "planner", "Planner")
    roles.set_permissions(world.session, role, [crews.PLAN])
    return world.user("planner@example.com", ["staff", "planner"])


def crew(world, planner, name="Ekipa Kórnik", skills=("roof", "electrical"), **data):
    return crews.create(world.session, {"name": name, "members": [
        {"user_id": world.roofer.id, "skills": list(skills), "leader": True},
        {"name": "Marek Dach", "phone": "601 234 567", "skills": ["roof", "heights"]}],
        **data}, planner)


def parts(world, title="Dom Kowalskich"):
    """An installation and its two parts, as entering installation starts them."""
    parent = cases.create(world.session, world.host, {
        "title": title, "process_key": "photovoltaics.installation",
        "custom": {"photovoltaics_power": "9.84", "photovoltaics_panel_count": 22,
                   "photovoltaics_panel_model": "JA Solar 455 W"}},
        people=[(world.customer, "inwestor")])
    made = {key: cases.create(world.session, world.host, {
        "title": f"{title}: {key}", "process_key": key, "parent_id": parent.id})
        for key in (ROOF, ELECTRICAL)}
    return parent, made[ROOF], made[ELECTRICAL]


def photo(name="dach.jpg"):
    kind = "PNG" if name.endswith(".png") else "JPEG"
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 0)).save(out, kind)
    out.seek(0)
    return (name, out, f"image/{kind.lower()}")


# --- Crews -------------------------------------------------------------------------------

def test_a_crew_keeps_its_installers_with_their_skills_and_one_leader(world, planner):
    made = crew(world, planner, phone="+48 61 222 33 44")
    assert [(m.name, m.leader, m.skills) for m in made.members] == [
        ("roofer@example.com", True, ["roof", "electrical"]),
        ("Marek Dach", False, ["roof", "heights"])]
    assert made.members[1].phone == "+48601234567"
    assert crews.skills_of(made) == {"roof", "electrical", "heights"}
    assert [m.user_id for m in made.members if m.leader] == [world.roofer.id]
    assert len(made.feed_token) >= 40


def test_a_crew_is_refused_field_by_field(world, planner):
    with pytest.raises(ValidationError) as refused:
        crews.create(world.session, {"name": " ", "subcontractor_id": 999999, "phone": "12",
                                     "members": [
                                         {"name": "", "skills": ["roof"]},
                                         {"name": "Jan", "skills": ["flying"]},
                                         {"user_id": 999999},
                                         {"name": "Ola", "leader": True, "phone": "abc"},
                                         {"name": "Ela", "leader": True}]}, planner)
    errors = refused.value.errors
    assert errors["name"] == "Enter a name."
    assert errors["subcontractor_id"] == "Choose an organisation from the list."
    assert "phone" in errors
    assert errors["members.0.name"] == "Enter the installer's name or choose a staff member."
    assert errors["members.1.skills.0"] == "Choose skills from the list."
    assert errors["members.2.user_id"] == "Choose a staff member from the list."
    assert "members.3.phone" in errors
    assert errors["members"] == "A crew has one leader; untick the others."


def test_a_subcontractors_crew_names_its_firm(world, planner):
    firm = organisations.create(world.session, world.host, {
        "name": "Montaże Dachowe Nowak", "type_key": "photovoltaics.subcontractor"}, planner,
        allow_duplicates=True)
    made = crews.create(world.session, {"name": "Nowak", "subcontractor_id": firm.id,
                                        "members": [{"name": "Piotr Nowak",
                                                     "skills": ["roof"]}]}, planner)
    assert made.subcontractor_id == firm.id
    assert made.members[0].user_id is None


def test_only_a_planner_keeps_the_crews(world):
    with pytest.raises(Forbidden):
        crews.create(world.session, {"name": "Ekipa"}, world.rep)


def test_editing_a_crew_replaces_its_installers_and_rotating_changes_its_link(world, planner):
    made = crew(world, planner)
    old = made.feed_token
    crews.update(world.session, made, {"members": [{"name": "Adam Prąd",
                                                    "skills": ["electrical"]}]}, planner)
    assert [m.name for m in made.members] == ["Adam Prąd"]
    crews.rotate_token(world.session, made, planner)
    assert made.feed_token != old
    assert crews.by_token(world.session, old) is None
    assert crews.by_token(world.session, made.feed_token) is made


# --- Jobs --------------------------------------------------------------------------------

def test_a_part_goes_to_a_crew_and_into_its_members_calendars(world, planner):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    job = assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-06-03", "ends_on": "2030-06-04",
        "notes": "Klucze u sąsiada."}, planner)
    assert (job.starts_on, job.ends_on) == (MONDAY, MONDAY + timedelta(days=1))
    seen = calendar.between(world.session, datetime(2030, 6, 3, tzinfo=UTC),
                            datetime(2030, 6, 10, tzinfo=UTC), user=world.roofer)
    assert [(e.title, e.all_day, e.starts_at.date(), e.ends_at.date()) for e in seen] == [
        (roof.title, True, MONDAY, MONDAY + timedelta(days=2))]
    assert assignments.waiting(world.session) == [_electrical]

    # Moved to other days: the same event moves, none is added.
    assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-06-05"}, planner)
    seen = calendar.between(world.session, datetime(2030, 6, 3, tzinfo=UTC),
                            datetime(2030, 6, 10, tzinfo=UTC), user=world.roofer)
    assert [e.starts_at.date() for e in seen] == [date(2030, 6, 5)]

    assignments.unassign(world.session, job, planner)
    assert calendar.between(world.session, datetime(2030, 6, 3, tzinfo=UTC),
                            datetime(2030, 6, 10, tzinfo=UTC), user=world.roofer) == []
    assert assignments.of_part(world.session, roof) is None


def test_a_part_needs_a_crew_with_its_skill(world, planner):
    roofers = crew(world, planner, name="Tylko dach", skills=("roof",))
    roofers.members[1].skills = ["roof"]
    _parent, _roof, electrical = parts(world)
    with pytest.raises(ValidationError) as refused:
        assignments.assign(world.session, world.host, electrical, {
            "crew_id": roofers.id, "starts_on": "2030-06-03"}, planner)
    assert refused.value.errors == {"crew_id": "No installer of this crew has the skill this "
                                               "part needs: Electrical licence (SEP)."}


def test_a_crew_is_not_given_two_installations_on_the_same_days(world, planner):
    made = crew(world, planner)
    _first, roof, electrical = parts(world, "Dom Kowalskich")
    _second, other_roof, _x = parts(world, "Dom Nowaków")
    assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-06-03", "ends_on": "2030-06-05"}, planner)
    # The other part of the same installation may share the days.
    assignments.assign(world.session, world.host, electrical, {
        "crew_id": made.id, "starts_on": "2030-06-05"}, planner)
    with pytest.raises(ValidationError) as refused:
        assignments.assign(world.session, world.host, other_roof, {
            "crew_id": made.id, "starts_on": "2030-06-04"}, planner)
    assert refused.value.errors == {"starts_on": "Ekipa Kórnik is on another job on these "
                                                 "days: Dom Kowalskich: photovoltaics.roof."}
    assignments.assign(world.session, world.host, other_roof, {
        "crew_id": made.id, "starts_on": "2030-06-06"}, planner)


@pytest.mark.parametrize(("data", "errors"), [
    ({"starts_on": "2030-06-03"}, {"crew_id": "Choose a crew."}),
    ({"crew_id": "x", "starts_on": "2030-06-03"}, {"crew_id": "Choose a crew."}),
    ({"crew_id": 999999, "starts_on": "2030-06-03"}, {"crew_id": "Choose a crew from the list."}),
    ({"crew_id": None}, {"starts_on": "Enter the first day."}),
    ({"crew_id": None, "starts_on": "3 czerwca"},
     {"starts_on": "Enter a date, such as 2026-05-14."}),
    ({"crew_id": None, "starts_on": "2030-06-03", "ends_on": "2030-06-01"},
     {"ends_on": "The last day cannot come before the first."}),
    ({"crew_id": None, "starts_on": "2030-06-03", "ends_on": "2030-08-01"},
     {"ends_on": "A job takes at most 31 days; split a longer one."}),
    ({"crew_id": None, "starts_on": "0999-06-03"},
     {"starts_on": "Give a year from 1900 to 9000."}),
])
def test_a_job_is_refused_field_by_field(world, planner, data, errors):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    if "crew_id" in data and data["crew_id"] is None:
        data = {**data, "crew_id": made.id}
    with pytest.raises(ValidationError) as refused:
        assignments.assign(world.session, world.host, roof, data, planner)
    assert refused.value.errors == errors
    assert assignments.of_part(world.session, roof) is None


def test_only_a_part_goes_to_a_crew(world, planner):
    made = crew(world, planner)
    parent, _roof, _electrical = parts(world)
    with pytest.raises(ValidationError) as refused:
        assignments.assign(world.session, world.host, parent, {
            "crew_id": made.id, "starts_on": "2030-06-03"}, planner)
    assert refused.value.errors == {"case_id": "Only a part of an installation is given to a "
                                               "crew."}


# --- The feed ----------------------------------------------------------------------------

def test_the_crews_feed_is_icalendar_with_its_jobs(world, planner):
    made = crew(world, planner)
    world.customer.addresses  # noqa: B018  (loaded before the site is read)
    _parent, roof, electrical = parts(world)
    for part, day in ((roof, "2030-06-03"), (electrical, "2030-06-04")):
        assignments.assign(world.session, world.host, part, {
            "crew_id": made.id, "starts_on": day, "notes": "Dzwonić przed 8."}, planner)
    body = feeds.ical(world.session, world.host, made, lambda job: f"https://x/report/{job.id}",
                      today=MONDAY)
    parsed = Calendar.from_ical(body)
    assert str(parsed["x-wr-calname"]) == "Ekipa Kórnik"
    events = sorted(parsed.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in events] == [
        (MONDAY, MONDAY + timedelta(days=1)),
        (MONDAY + timedelta(days=1), MONDAY + timedelta(days=2))]
    first = events[0]
    assert str(first["summary"]).startswith("Installation: roof part")
    assert "Jan Kowalski" in str(first["summary"])
    description = str(first["description"])
    assert "Power: 9,84 kWp" in description
    assert "22 × JA Solar 455 W" in description
    assert "Dzwonić przed 8." in description
    job = assignments.of_part(world.session, roof)
    assert str(first["url"]) == f"https://x/report/{job.id}"
    assert str(first["uid"]) == f"photovoltaics-job-{job.id}@kartoteka"


def test_a_job_long_past_leaves_the_feed(world, planner):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-01-07"}, planner)
    body = feeds.ical(world.session, world.host, made, str, today=MONDAY)
    assert Calendar.from_ical(body).walk("VEVENT") == []


# --- Reporting done ----------------------------------------------------------------------

def test_installers_report_both_parts_and_the_installation_moves_on(world, planner):
    made = crew(world, planner)
    parent = world.installing()
    children = world.children(parent)
    for key in (ROOF, ELECTRICAL):
        assignments.assign(world.session, world.host, children[key], {
            "crew_id": made.id, "starts_on": YESTERDAY}, planner)
    roof_job = assignments.of_part(world.session, children[ROOF])
    assignments.report(world.session, world.host, world.settings, roof_job,
                       {"reported_by": "Marek Dach", "report": "Panele na dachu."},
                       [photo(), photo("falownik.png")], actor=None)
    assert children[ROOF].phase_key == "done"
    assert (roof_job.reported_by, roof_job.report) == ("Marek Dach", "Panele na dachu.")
    stored = world.session.query(Attachment).filter_by(record_type="case",
                                                       record_id=children[ROOF].id).all()
    assert sorted(a.filename for a in stored) == ["dach.jpg", "falownik.png"]
    assert parent.phase_key == "installation"  # the electrical part is still open

    electrical_job = assignments.of_part(world.session, children[ELECTRICAL])
    assignments.report(world.session, world.host, world.settings, electrical_job, {},
                       [photo("rozdzielnica.jpg")], actor=world.roofer)
    assert electrical_job.reported_by == "roofer@example.com"
    assert parent.phase_key == "final_payment"


def test_a_report_needs_a_name_and_a_photo_and_comes_once(world, planner):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    job = assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": today() + timedelta(days=1)}, planner)
    with pytest.raises(ValidationError) as refused:  # not before its day
        assignments.report(world.session, world.host, world.settings, job,
                           {"reported_by": "Marek"}, [photo()], None)
    assert refused.value.errors["_"].startswith("This job starts on ")
    job = assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": today()}, planner)
    with pytest.raises(ValidationError) as refused:
        assignments.report(world.session, world.host, world.settings, job, {}, [], None)
    assert refused.value.errors == {"reported_by": "Enter your name.",
                                    "photos": "Add at least one photo of the finished work."}
    with pytest.raises(ValidationError) as refused:
        assignments.report(world.session, world.host, world.settings, job,
                           {"reported_by": "Marek"}, [("umowa.pdf", io.BytesIO(b"%PDF"),
                                                       "application/pdf")], None)
    assert refused.value.errors == {"photos": "Send photos as JPEG, PNG or WebP files."}
    with pytest.raises(ValidationError) as refused:
        assignments.report(world.session, world.host, world.settings, job,
                           {"reported_by": "Marek"},
                           [("dach.jpg", io.BytesIO(b"not a picture"), "image/jpeg")], None)
    assert refused.value.errors["photos"].startswith("dach.jpg: ")
    assert roof.phase_key == "scheduled"

    assignments.report(world.session, world.host, world.settings, job,
                       {"reported_by": "Marek"}, [photo()], None)
    with pytest.raises(ValidationError) as refused:
        assignments.report(world.session, world.host, world.settings, job,
                           {"reported_by": "Marek"}, [photo()], None)
    assert refused.value.errors == {"_": "This job was reported done already."}
    with pytest.raises(ValidationError):
        assignments.unassign(world.session, job, planner)
    assert world.session.get(Assignment, job.id) is not None
    assert world.session.get(Case, roof.id).phase_key == "done"


def test_changing_a_crews_installers_changes_who_is_invited_to_its_jobs(world, planner):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    job = assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-06-03"}, planner)
    crews.update(world.session, made, {"members": [
        {"user_id": world.electrician.id, "skills": ["roof", "electrical"]}]}, planner)
    event = world.session.get(CalendarEvent, job.event_id)
    assert [a.user_id for a in event.attendees] == [world.electrician.id]
    assert event.created_by_id is None  # the system's copy: not in the planner's calendar


def test_a_crew_with_jobs_still_to_do_is_not_retired(world, planner):
    made = crew(world, planner)
    _parent, roof, _electrical = parts(world)
    job = assignments.assign(world.session, world.host, roof, {
        "crew_id": made.id, "starts_on": "2030-06-03"}, planner)
    with pytest.raises(ValidationError) as refused:
        crews.update(world.session, made, {"active": False}, planner)
    assert refused.value.errors == {
        "active": "The crew has 1 job still to do: give it to another crew first."}
    assignments.unassign(world.session, job, planner)
    crews.update(world.session, made, {"active": False}, planner)
    assert crews.by_token(world.session, made.feed_token) is None

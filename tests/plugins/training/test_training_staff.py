"""The staff's training pages (TR-1, TR-3): the venue registry kept by those with
training.manage and read by anyone on the staff, the trainings upcoming first with
their places taken and waiting lists, and a training's participants page where people
are enrolled, cancelled and marked present. Every test runs on SQLite and PostgreSQL."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import cases, memberships, organisations, people, roles, users
from core.models import Case, ContactPoint, Organisation, Person
from page_helpers import error_under, flashes, show, text, value_of, visible
from plugins.training import enrolments, venues
from plugins.training.models import Enrolment, Venue

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en")


@dataclass
class World:
    venue: int
    kornik: int
    trainer: int


@pytest.fixture
def world(app):
    """An organiser (training.manage and training.enrol), an enroller (training.enrol
    only), a clerk (staff, neither), a unit's portal account and a venue."""
    with writing(app) as (session, host):
        organiser = roles.create(session, "organiser", "Training organiser")
        roles.set_permissions(session, organiser, ["training.manage", "training.enrol"])
        enroller = roles.create(session, "enroller", "Enroller")
        roles.set_permissions(session, enroller, ["training.enrol"])
        boss = users.create_user(
            session, "ewa@zwiazek.example.pl", PASSWORD, "Ewa", roles=["staff", "organiser"]
        )
        users.create_user(session, "ola@zwiazek.example.pl", PASSWORD, roles=["staff", "enroller"])
        users.create_user(session, "jan@zwiazek.example.pl", PASSWORD, roles=["staff"])
        kornik = organisations.create(
            session, host, {"name": "Gmina Kórnik", "type_key": "core.municipality"}
        )
        users.create_user(session, "portal@kornik.example.pl", PASSWORD, portal_of=kornik)
        trainer = people.create(session, {"first_name": "Adam", "last_name": "Trener"})
        venue = venues.create(
            session, {"name": "Sala Rady", "city": "Poznań", "capacity": 40}, boss
        )
        return World(venue.id, kornik.id, trainer.id)


class writing:
    """A committed transaction of the app's services, in a request of the app."""

    def __init__(self, app):
        self.app, self.rt = app, app.extensions["kartoteka"]

    def __enter__(self):
        self.context = self.app.test_request_context()
        self.context.__enter__()
        self.session = self.rt.session()
        self.session.begin()
        return self.session, self.rt.host

    def __exit__(self, *exc):
        if exc[0] is None:
            self.session.commit()
        self.session.close()
        self.context.__exit__(*exc)


def login(app, email="ewa@zwiazek.example.pl"):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def organiser(session):
    return users.find_by_email(session, "ewa@zwiazek.example.pl")


def training(
    app, world, title="Zamówienia publiczne", phase="enrolment_open", starts=30, capacity=None
):
    """A training starting in ``starts`` days (None: not dated yet)."""
    custom = {"training_trainer": world.trainer, "training_venue": world.venue}
    if starts is not None:
        at = datetime.now(UTC) + timedelta(days=starts)
        custom["training_starts_at"] = at.isoformat(timespec="seconds")
    if capacity:
        custom["training_capacity"] = capacity
    with writing(app) as (session, host):
        case = cases.create(
            session,
            host,
            {"title": title, "process_key": "training.training", "custom": custom},
            actor=organiser(session),
        )
        case.phase_key = phase
        return case.id


def person(app, first, last, unit=None):
    with writing(app) as (session, host):
        found = people.create(session, {"first_name": first, "last_name": last})
        if unit is not None:
            memberships.join(session, found, session.get(Organisation, unit), "", date(2020, 1, 1))
        return found.id


def statuses(app, case_id) -> dict[str, str]:
    with app.extensions["kartoteka"].session() as session:
        rows = session.scalars(select(Enrolment).where(Enrolment.case_id == case_id))
        return {session.get(Person, r.person_id).last_name: r.status for r in rows}


def stored_venue(app, venue_id) -> Venue:
    with app.extensions["kartoteka"].session() as session:
        return session.get(Venue, venue_id)


# --------------------------------------------------------------------- the venue registry


def test_a_new_venue_is_refused_field_by_field_keeping_what_was_typed(app, world):
    client = login(app)
    page = text(
        client.post(
            "/training/venues/new",
            data={"name": " ", "postal_code": "6100", "city": "Kórnik", "capacity": "many"},
        )
    )
    assert error_under(page, "name") == "Enter a name."
    assert error_under(page, "postal_code") and error_under(page, "capacity")
    assert (value_of(page, "postal_code"), value_of(page, "city")) == ("6100", "Kórnik")
    with app.extensions["kartoteka"].session() as session:
        assert len(venues.listed(session, with_retired=True)) == 1  # nothing written
    response = client.post(
        "/training/venues/new",
        data={"name": "Zamek Kórnicki", "postal_code": "62035", "city": "Kórnik", "capacity": "25"},
    )
    assert response.status_code == 302
    page = show(client, "/training/venues/")
    assert "Saved." in flashes(page)
    assert "Zamek Kórnicki" in page and "62-035 Kórnik" in visible(page)


def test_a_venue_saved_meanwhile_is_not_overwritten(app, world):
    client = login(app)
    form = show(client, f"/training/venues/{world.venue}")
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    with writing(app) as (session, _host):
        venues.update(
            session, session.get(Venue, world.venue), {"city": "Gniezno"}, organiser(session)
        )
    page = text(
        client.post(
            f"/training/venues/{world.venue}",
            data={"name": "Sala Rady", "city": "Poznań", "capacity": "40", "version": version},
        )
    )
    assert "changed by someone else" in page
    assert value_of(page, "city") == "Gniezno"  # what is stored now
    assert stored_venue(app, world.venue).city == "Gniezno"


def test_a_retired_venue_leaves_the_list_and_comes_back(app, world):
    client = login(app)
    version = stored_venue(app, world.venue).version
    response = client.post(f"/training/venues/{world.venue}/retire", data={"version": version})
    assert response.status_code == 302
    assert stored_venue(app, world.venue).active is False
    page = show(client, "/training/venues/")
    assert "is retired" in flashes(page)[0] and f'id="venue-{world.venue}"' not in page
    page = show(client, "/training/venues/?retired=1")
    assert "Sala Rady" in page and '<span class="badge">retired</span>' in page
    stale = client.post(f"/training/venues/{world.venue}/reactivate", data={"version": version})
    assert "changed by someone else" in " ".join(flashes(text(client.get(stale.location))))
    assert stored_venue(app, world.venue).active is False
    client.post(
        f"/training/venues/{world.venue}/reactivate",
        data={"version": stored_venue(app, world.venue).version},
    )
    assert f'id="venue-{world.venue}"' in show(client, "/training/venues/")


def test_staff_without_training_manage_read_the_registry_and_change_nothing(app, world):
    client = login(app, "jan@zwiazek.example.pl")
    page = show(client, "/training/venues/")
    assert "Sala Rady" in page and "/training/venues/new" not in page
    assert client.get("/training/venues/new").status_code == 403
    assert client.post("/training/venues/new", data={"name": "Sala"}).status_code == 403
    assert client.post(f"/training/venues/{world.venue}", data={"name": "X"}).status_code == 403
    assert client.post(f"/training/venues/{world.venue}/retire").status_code == 403
    assert (stored_venue(app, world.venue).name, stored_venue(app, world.venue).active) == (
        "Sala Rady",
        True,
    )


def test_the_menu_offers_each_page_to_whom_may_open_it(app, world):
    def menu(email):
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', show(login(app, email), "/"), re.S)
        return {label for label in ("Trainings", "Training venues") if f">{label}<" in nav.group(1)}

    assert menu("ewa@zwiazek.example.pl") == {"Trainings", "Training venues"}
    assert menu("ola@zwiazek.example.pl") == {"Trainings"}
    assert menu("jan@zwiazek.example.pl") == set()


def test_trainings_and_their_lists_need_a_training_permission(app, world):
    case_id = training(app, world)
    anna = person(app, "Anna", "Nowak")
    client = login(app, "jan@zwiazek.example.pl")
    assert client.get("/training/").status_code == 403
    assert client.get(f"/training/{case_id}/participants").status_code == 403
    refused = client.post(f"/training/{case_id}/participants", data={"person_id": anna})
    assert refused.status_code == 403
    assert statuses(app, case_id) == {}
    enroller = login(app, "ola@zwiazek.example.pl")
    assert enroller.get(f"/training/{case_id}/participants").status_code == 200
    assert enroller.get("/training/venues/new").status_code == 403


def test_portal_accounts_find_no_staff_training_page(app, world):
    case_id = training(app, world)
    client = login(app, "portal@kornik.example.pl")
    for url in (
        "/training/",
        "/training/venues/",
        f"/training/{case_id}/participants",
        f"/training/venues/{world.venue}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/training/{case_id}/participants", data={}).status_code == 404


# --------------------------------------------------------------------- the overview


def test_the_overview_lists_upcoming_trainings_soonest_first_then_past_ones(app, world):
    later = training(app, world, "Later one", starts=60)
    past = training(app, world, "Past one", phase="delivered", starts=-20)
    sooner = training(app, world, "Sooner one", starts=10, capacity=2)
    undated = training(app, world, "Undated one", phase="planning", starts=None)
    with writing(app) as (session, _host):
        case = session.get(Case, sooner)
        for first in ("Anna", "Bartek", "Celina"):
            found = people.create(session, {"first_name": first, "last_name": "Nowak"})
            enrolments.enrol(session, case, found, organiser(session))
    page = show(login(app, "ola@zwiazek.example.pl"), "/training/")
    order = [page.index(f"training-{i}") for i in (sooner, later, undated, past)]
    assert order == sorted(order)
    row = visible(re.search(rf'<tr id="training-{sooner}">(.*?)</tr>', page, re.S).group(1))
    assert "Sala Rady" in row and "Adam Trener" in row and "enrolment open" in row
    assert "2 / 2 1" in row  # places taken of the capacity, then the waiting list
    assert f'href="/cases/{sooner}"' in page
    assert f'href="/training/{sooner}/participants"' in page


# --------------------------------------------------------------------- participants


def test_people_found_by_name_are_enrolled_until_full_then_wait(app, world):
    case_id = training(app, world, capacity=1)
    anna = person(app, "Anna", "Kowalska", world.kornik)
    bartek = person(app, "Bartek", "Kowalski")
    client = login(app, "ola@zwiazek.example.pl")
    page = show(client, f"/training/{case_id}/participants?q=kowalsk")
    match = re.search(rf'<tr id="match-{anna}">(.*?)</tr>', page, re.S).group(1)
    assert "Gmina Kórnik" in match and f'value="{world.kornik}" selected' in match
    response = client.post(
        f"/training/{case_id}/participants",
        data={"person_id": anna, "organisation_id": world.kornik},
    )
    assert "Anna Kowalska is enrolled." in flashes(show(client, response.location))
    client.post(f"/training/{case_id}/participants", data={"person_id": bartek})
    page = show(client, f"/training/{case_id}/participants")
    assert "No places are left: Bartek Kowalski is on the waiting list." in flashes(page)
    assert statuses(app, case_id) == {"Kowalska": "enrolled", "Kowalski": "waiting"}
    with app.extensions["kartoteka"].session() as session:
        row = session.scalar(select(Enrolment).where(Enrolment.person_id == anna))
        assert (row.organisation_id, row.channel) == (world.kornik, "staff")


def test_a_refused_enrolment_is_shown_by_its_field_and_writes_nothing(app, world):
    case_id = training(app, world)
    anna = person(app, "Anna", "Kowalska")
    client = login(app)
    client.post(f"/training/{case_id}/participants", data={"person_id": anna})
    page = text(
        client.post(f"/training/{case_id}/participants", data={"person_id": anna, "q": "kowal"})
    )
    assert error_under(page, "person_id") == "Anna Kowalska is already on the list."
    assert 'name="q" value="kowal"' in page
    page = text(
        client.post(
            f"/training/{case_id}/participants",
            data={"person_id": person(app, "Cezary", "Nowy"), "organisation_id": "999999"},
        )
    )
    assert error_under(page, "organisation_id") == "There is no such record."
    page = text(client.post(f"/training/{case_id}/participants", data={"person_id": "abc"}))
    assert error_under(page, "person_id") == "There is no such record."
    assert statuses(app, case_id) == {"Kowalska": "enrolled"}


def test_cancelling_gives_the_place_to_the_first_who_waits(app, world):
    case_id = training(app, world, capacity=1)
    with writing(app) as (session, _host):
        case = session.get(Case, case_id)
        for last in ("Pierwsza", "Druga", "Trzecia"):
            found = people.create(session, {"first_name": "Ola", "last_name": last})
            enrolments.enrol(session, case, found, organiser(session))
        first = session.scalar(select(Enrolment.id).where(Enrolment.status == "enrolled"))
    client = login(app, "ola@zwiazek.example.pl")
    response = client.post(f"/training/{case_id}/participants/{first}/cancel")
    assert flashes(show(client, response.location)) == [
        "The enrolment of Ola Pierwsza is cancelled.",
        "Ola Druga moved up from the waiting list.",
    ]
    assert statuses(app, case_id) == {
        "Pierwsza": "cancelled",
        "Druga": "enrolled",
        "Trzecia": "waiting",
    }
    again = client.post(f"/training/{case_id}/participants/{first}/cancel")
    assert "Only an enrolment not yet settled" in " ".join(flashes(show(client, again.location)))
    other = training(app, world)
    assert client.post(f"/training/{other}/participants/{first}/cancel").status_code == 404


def test_attendance_is_recorded_once_enrolment_is_closed(app, world):
    case_id = training(app, world)
    anna, bartek = person(app, "Anna", "Obecna"), person(app, "Bartek", "Nieobecny")
    client = login(app)
    for someone in (anna, bartek):
        client.post(f"/training/{case_id}/participants", data={"person_id": someone})
    assert 'id="attendance"' not in show(client, f"/training/{case_id}/participants")
    refused = client.post(f"/training/{case_id}/attendance", data={"present": anna})
    assert "Attendance is recorded once enrolment is closed." in flashes(
        show(client, refused.location)
    )
    assert statuses(app, case_id) == {"Obecna": "enrolled", "Nieobecny": "enrolled"}
    with writing(app) as (session, _host):
        session.get(Case, case_id).phase_key = "enrolment_closed"
    assert 'id="attendance"' in show(client, f"/training/{case_id}/participants")
    response = client.post(f"/training/{case_id}/attendance", data={"present": [anna, "x"]})
    assert "Attendance is recorded." in flashes(show(client, response.location))
    assert statuses(app, case_id) == {"Obecna": "attended", "Nieobecny": "absent"}


def test_only_a_training_has_a_participants_page(kartoteka_app_factory):
    app = kartoteka_app_factory(["training", "printing"], default_locale="en")
    with writing(app) as (session, host):
        users.create_user(session, "ewa@zwiazek.example.pl", PASSWORD, is_admin=True)
        other = cases.create(
            session, host, {"title": "Banners", "process_key": "printing.project"}
        ).id
    client = login(app)
    assert client.get(f"/training/{other}/participants").status_code == 404
    assert client.get("/training/999999/participants").status_code == 404


def test_the_pages_name_things_by_the_plugins_terms_in_polish(kartoteka_app_factory):
    app = kartoteka_app_factory(["training"])
    with writing(app) as (session, _host):
        users.create_user(session, "ewa@zwiazek.example.pl", PASSWORD, is_admin=True)
    client = login(app)
    page = show(client, "/training/venues/")
    assert "<h1>Ośrodki szkoleniowe</h1>" in page and ">Szkolenia<" in page
    assert "<h1>Szkolenia</h1>" in show(client, "/training/")


# --------------------------------------------------------------------- invitations


def test_the_organiser_counts_and_sends_invitations_from_the_participants_page(app, world):
    from core import segments
    from core.models import Mailing

    case_id = training(app, world, phase="invitations")
    anna = person(app, "Anna", "Nowak", world.kornik)
    with writing(app) as (session, _host):
        session.add(ContactPoint(person_id=anna, kind="email", value="anna@kornik.pl"))
        role = session.scalar(select(roles.Role).where(roles.Role.key == "organiser"))
        roles.set_permissions(session, role, ["training.manage", "training.enrol",
                                              "core.send_mailings"])
        segment = segments.save(session, "Gminy", "organisation",
                                {"field": "type_key", "op": "eq", "value": "core.municipality"},
                                organiser(session))
        segment_id = segment.id
    client = login(app)
    page = show(client, f"/training/{case_id}/participants")
    assert f'<option value="{segment_id}">Gminy</option>' in page
    refused = text(client.post(f"/training/{case_id}/invitations", data={"segment_id": ""}))
    assert re.search(r'id="ie-segment_id" role="alert">Choose a saved segment', refused)
    assert 'aria-describedby="ie-segment_id"' in refused
    counted = text(client.post(f"/training/{case_id}/invitations",
                               data={"segment_id": segment_id, "preview": "1"}))
    assert "People to invite: 1; member units: 1; on the list already: 0." in visible(counted)
    assert statuses(app, case_id) == {}
    sent = client.post(f"/training/{case_id}/invitations", data={"segment_id": segment_id})
    assert sent.status_code == 302
    page = show(client, sent.headers["Location"])
    assert "Invited people: 1; member units: 1." in flashes(page)[0]
    assert statuses(app, case_id) == {"Nowak": "invited"}
    with app.extensions["kartoteka"].session() as session:
        mailing = session.scalars(select(Mailing)).one()
        assert mailing.person_ids == [anna]
    assert f'href="/mailings/{mailing.id}"' in page
    # Whether the invitation reached Nowak: no mail server here, so it waits or failed.
    state = re.search(r'<small class="muted invitation">Invitation: ([^<]+)</small>', page)
    assert state.group(1) in ("queued", "being sent", "failed", "sent", "uncertain")


def test_the_organiser_invites_the_units_within_a_distance_of_the_venue(app, world):
    from core import places
    from core.models import Place

    case_id = training(app, world, phase="invitations")
    person(app, "Anna", "Nowak", world.kornik)
    with writing(app) as (session, _host):
        role = session.scalar(select(roles.Role).where(roles.Role.key == "organiser"))
        roles.set_permissions(session, role, ["training.manage", "training.enrol",
                                              "core.send_mailings"])
        for number, (name, latitude, longitude) in enumerate(
                (("Poznań", 52.40692, 16.92993), ("Kórnik", 52.24744, 17.08921)), start=1):
            session.add(Place(place_id=number, country="PL", name=name, name_key=places.key(name),
                              latitude=latitude, longitude=longitude, principal=True,
                              longitude_km=places.longitude_km(latitude)))
        session.get(organisations.Organisation, world.kornik).city = "Kórnik"
    client = login(app)
    page = show(client, f"/training/{case_id}/participants")
    assert "At most this far from the town of the training venue (km): Poznań" in visible(page)

    def ask(km):
        return text(client.post(f"/training/{case_id}/invitations",
                                data={"within_km": km, "preview": "1"}))

    assert "People to invite: 0; member units: 0;" in visible(ask("10"))
    assert "People to invite: 1; member units: 1;" in visible(ask("21,5"))  # a decimal comma
    refused = ask("daleko")
    assert re.search(r'id="ie-within_km" role="alert">Not a valid number', refused)
    assert 'value="daleko"' in refused and 'aria-describedby="ie-within_km"' in refused
    assert statuses(app, case_id) == {}


def test_the_invitations_form_is_only_for_organisers_while_invitations_go_out(app, world):
    case_id = training(app, world, phase="invitations")
    enroller = login(app, "ola@zwiazek.example.pl")
    assert 'id="invite"' not in show(enroller, f"/training/{case_id}/participants")
    assert enroller.post(f"/training/{case_id}/invitations",
                         data={"segment_id": "1"}).status_code == 403
    without_mailings = text(login(app).post(f"/training/{case_id}/invitations",
                                            data={"segment_id": "1"}))
    assert "sending them needs the permission to send mailings" in without_mailings
    assert statuses(app, case_id) == {}
    closed = training(app, world, phase="enrolment_closed")
    assert 'id="invite"' not in show(login(app), f"/training/{closed}/participants")


def test_the_certificates_are_listed_and_the_missing_ones_made_again(app, world):
    case_id = training(app, world, phase="certified")
    anna = person(app, "Anna", "Nowak", world.kornik)
    with writing(app) as (session, _host):
        session.add(Enrolment(case_id=case_id, person_id=anna, status="attended"))
    client = login(app)
    page = show(client, f"/training/{case_id}/participants")
    assert "Attendees without one: 1." in visible(page)
    done = client.post(f"/training/{case_id}/certificates")
    page = show(client, done.headers["Location"])
    link = re.search(r'<a class="certificate" href="([^"]+)">([^<]+)</a>', page)
    assert f"Certificate ZS/{date.today().year}/0001" == link.group(2)
    assert client.get(link.group(1)).data.startswith(b"%PDF")
    assert "Every attendee has one." in visible(page)
    enroller = login(app, "ola@zwiazek.example.pl")
    refused = show(enroller, enroller.post(f"/training/{case_id}/certificates")
                   .headers["Location"])
    assert "You may not manage trainings." in flashes(refused)

"""Trainings on the member units' portal (TR-3, TR-4): the offer open to the unit, its
administrator enrolling and cancelling its people, a participant only themselves, the
history of enrolments, and nothing of a training not open to the unit. Every test runs
on SQLite and PostgreSQL."""

import re
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import func, select

from core import cases, memberships, organisations, people, roles, users
from core.models import AuditEntry, Case, Membership
from page_helpers import flashes, show, text, visible
from plugins.training import certificates, enrolments, venues
from plugins.training.models import Enrolment, OpenTo

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en")


@pytest.fixture
def world(app):
    return World(app)


class World:
    """Kórnik with Anna (who has a participant account), Bartek and Zofia (who left),
    and its administrator; Śrem with Beata and its administrator; a staff organiser."""

    def __init__(self, app):
        self.app = app
        with self.writing() as session:
            organiser = roles.create(session, "organiser", "Training organiser")
            roles.set_permissions(session, organiser, ["training.manage", "training.enrol"])
            users.create_user(
                session,
                "szkolenia@zwiazek.example.pl",
                PASSWORD,
                "Ewa",
                roles=["staff", "organiser"],
            )
            host = app.extensions["kartoteka"].host
            kornik, srem = (
                organisations.create(session, host, {"name": name, "type_key": "core.municipality"})
                for name in ("Gmina Kórnik", "Gmina Śrem")
            )
            self.kornik, self.srem = kornik.id, srem.id
            self.anna, self.bartek, self.zofia = (
                self._person(session, first, "Kórnicka", kornik)
                for first in ("Anna", "Bartek", "Zofia")
            )
            zofia = session.scalar(select(Membership).where(Membership.person_id == self.zofia))
            memberships.leave(session, zofia, date(2021, 1, 31))
            self.beata = self._person(session, "Beata", "Śremska", srem)
            users.create_user(
                session,
                "admin@kornik.pl",
                PASSWORD,
                "Kórnik admin",
                portal_of=kornik,
                portal_admin=True,
            )
            users.create_user(
                session, "admin@srem.pl", PASSWORD, "Śrem admin", portal_of=srem, portal_admin=True
            )
            users.create_user(
                session,
                "anna@kornik.pl",
                PASSWORD,
                "Anna Kórnicka",
                portal_of=kornik,
                person=session.get(people.Person, self.anna),
            )
            self.venue = venues.create(session, {"name": "Sala Rady", "city": "Poznań"}).id
            self.trainer = people.create(session, {"first_name": "Adam", "last_name": "Trener"}).id

    @contextmanager
    def writing(self):
        rt = self.app.extensions["kartoteka"]
        with self.app.test_request_context(), rt.session() as session, session.begin():
            yield session

    @staticmethod
    def _person(session, first, last, unit):
        found = people.create(session, {"first_name": first, "last_name": last})
        memberships.join(session, found, unit, "urzędnik", date(2020, 1, 1))
        return found.id

    def training(self, title, phase="enrolment_open", open_to=(), **custom):
        with self.writing() as session:
            case = cases.create(
                session,
                self.app.extensions["kartoteka"].host,
                {
                    "title": title,
                    "process_key": "training.training",
                    "custom": {
                        "training_starts_at": "2027-03-10T09:00:00+01:00",
                        "training_trainer": self.trainer,
                        "training_venue": self.venue,
                        **custom,
                    },
                },
            )
            case.phase_key = phase
            session.add_all(OpenTo(case_id=case.id, organisation_id=unit) for unit in open_to)
            return case.id

    def enrol(self, case_id, person_id, status=None):
        """Staff enrol someone (for a past training: as they were, and what became of
        them)."""
        with self.writing() as session:
            case = session.get(Case, case_id)
            phase, case.phase_key = case.phase_key, "enrolment_open"
            row = enrolments.enrol(session, case, session.get(people.Person, person_id))
            row.status, case.phase_key = status or row.status, phase

    def statuses(self, case_id) -> dict[int, tuple[str, str]]:
        with self.app.extensions["kartoteka"].session() as session:
            return {
                row.person_id: (row.status, row.channel)
                for row in session.scalars(select(Enrolment).where(Enrolment.case_id == case_id))
            }

    def written(self) -> tuple:
        """Everything an enrolment changes, and the size of the audit trail."""
        with self.app.extensions["kartoteka"].session() as session:
            return (
                sorted(
                    (r.case_id, r.person_id, r.status, r.version)
                    for r in session.scalars(select(Enrolment))
                ),
                session.scalar(select(func.count()).select_from(AuditEntry)),
            )

    def login(self, email):
        client = self.app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        return client


def post(client, url, **data):
    """A form posted and the page it leads to, with the messages it shows."""
    response = client.post(url, data=data, follow_redirects=True)
    assert response.status_code == 200, (url, response.status_code)
    return text(response)


def titles(page: str) -> list[str]:
    return [visible(cell) for cell in page.split("<tbody>")[1].split("<tr>")[1:]]


def test_the_offer_lists_the_trainings_open_to_the_unit(world):
    world.training(
        "Zamówienia publiczne",
        training_capacity=20,
        training_duration_hours=6.5,
        training_price={"amount": "120.00", "currency": "PLN"},
    )
    world.training("RODO w urzędzie", phase="invitations")
    world.training("Dla Śremu", training_visibility="closed", open_to=[world.srem])
    world.training("Dla Kórnika", training_visibility="closed", open_to=[world.kornik])
    world.training("Ukryte", training_visibility="hidden")
    world.training("W planach", phase="planning")
    world.training("Minione", phase="delivered")
    kornik = world.login("admin@kornik.pl")
    page = show(kornik, "/portal/training/")
    rows = titles(page)
    assert [row.split(" 3/10/27")[0] for row in rows] == [
        "Zamówienia publiczne",
        "RODO w urzędzie coming",
        "Dla Kórnika",
    ]
    assert (
        "Sala Rady, Poznań" in rows[0]
        and "6.5" in rows[0]
        and "PLN120.00" in rows[0].replace("\xa0", "")
        and rows[0].endswith(" 20")
    )
    assert "9:00" in rows[0]  # 8:00 UTC, shown in the installation's time zone
    assert "covered by membership" in rows[1] and "no limit" in rows[1]
    srem_page = show(world.login("admin@srem.pl"), "/portal/training/")
    assert "Dla Śremu" in srem_page and "Dla Kórnika" not in srem_page


def test_a_training_not_open_to_the_unit_answers_404(world):
    closed = world.training("Dla Śremu", training_visibility="closed", open_to=[world.srem])
    hidden = world.training("Ukryte", training_visibility="hidden")
    planned = world.training("W planach", phase="planning")
    public = world.training("Dla wszystkich")
    kornik, before = world.login("admin@kornik.pl"), world.written()
    for case_id in (closed, hidden, planned, 999999):
        assert kornik.get(f"/portal/training/{case_id}").status_code == 404
        assert (
            kornik.post(
                f"/portal/training/{case_id}/enrol", data={"person_id": world.anna}
            ).status_code
            == 404
        )
    assert world.written() == before
    assert "Dla Śremu" in show(world.login("admin@srem.pl"), f"/portal/training/{closed}")
    staff = world.login("szkolenia@zwiazek.example.pl")
    for url in ("/portal/training/", f"/portal/training/{public}", "/portal/training/ours"):
        assert staff.get(url).status_code == 404
    assert world.app.test_client().get("/portal/training/").status_code == 302  # log in


def test_the_administrator_enrols_its_people_and_the_waiting_list_moves_up(world):
    case = world.training("Zamówienia publiczne", training_capacity=1)
    kornik = world.login("admin@kornik.pl")
    page = show(kornik, f"/portal/training/{case}")
    assert "No one from the organisation is on the list." in page
    assert "Zofia" not in page and "Beata" not in page  # only the unit's current people
    page = post(kornik, f"/portal/training/{case}/enrol", person_id=world.anna)
    assert flashes(page) == ["Anna Kórnicka got a place."]
    page = post(kornik, f"/portal/training/{case}/enrol", person_id=world.bartek)
    assert flashes(page) == ["Bartek Kórnicka joined the waiting list."]
    assert "full — waiting list" in page
    listed = visible(page.split("Participants on the list")[1].split("Enrol people")[0])
    assert "Kórnicka Anna enrolled" in listed and "Kórnicka Bartek on the waiting list" in listed
    page = post(kornik, f"/portal/training/{case}/enrol", person_id=world.anna)
    assert flashes(page) == ["Anna Kórnicka is already on the list."]
    page = post(kornik, f"/portal/training/{case}/cancel", person_id=world.anna)
    assert flashes(page) == ["The enrolment of Anna Kórnicka is cancelled."]
    assert world.statuses(case) == {
        world.anna: ("cancelled", "portal"),
        world.bartek: ("enrolled", "portal"),
    }
    with world.writing() as session:
        session.get(Case, case).phase_key = "enrolment_closed"
    page = post(kornik, f"/portal/training/{case}/cancel", person_id=world.bartek)
    assert flashes(page) == ["Enrolment for this training is not open."]
    assert ">Cancel<" not in page and ">Enrol<" not in page
    assert world.statuses(case)[world.bartek] == ("enrolled", "portal")


def test_the_administrator_cannot_enrol_another_units_or_a_former_person(world):
    case = world.training("Zamówienia publiczne")
    world.enrol(case, world.beata)
    kornik, before = world.login("admin@kornik.pl"), world.written()
    for action in ("enrol", "cancel"):
        assert (
            kornik.post(
                f"/portal/training/{case}/{action}", data={"person_id": world.beata}
            ).status_code
            == 404
        )
    page = post(kornik, f"/portal/training/{case}/enrol", person_id=world.zofia)
    assert flashes(page) == [
        "Only the current people of your organisation can be enrolled or taken off the list here."
    ]
    assert kornik.post(f"/portal/training/{case}/enrol").status_code == 404  # nobody named
    assert world.written() == before


def test_a_participant_enrols_and_cancels_only_themselves(world):
    case = world.training("Zamówienia publiczne")
    anna = world.login("anna@kornik.pl")
    page = show(anna, f"/portal/training/{case}")
    assert "You are not on the list." in page and "Enrol me" in page
    assert "Participants on the list" not in page and "Bartek" not in page
    page = post(anna, f"/portal/training/{case}/enrol")
    assert flashes(page) == ["You got a place."] and "Cancel my enrolment" in page
    refused = ["You can enrol or take off the list only yourself."]
    before = world.written()
    page = post(anna, f"/portal/training/{case}/enrol", person_id=world.bartek)
    assert flashes(page) == refused
    assert world.written() == before
    world.enrol(case, world.bartek)  # by the staff
    before = world.written()
    page = post(anna, f"/portal/training/{case}/cancel", person_id=world.bartek)
    assert flashes(page) == refused
    assert world.written() == before
    page = post(anna, f"/portal/training/{case}/cancel")
    assert flashes(page) == ["Your enrolment is cancelled."] and "Enrol me" in page
    assert world.statuses(case) == {
        world.anna: ("cancelled", "self"),
        world.bartek: ("enrolled", "staff"),
    }
    assert anna.get("/portal/training/ours").status_code == 404


def test_my_trainings_and_our_enrolments_keep_the_history(world):
    past = world.training("Minione", phase="delivered")
    hidden = world.training("Ukryte", training_visibility="hidden")
    srem_only = world.training("Dla Śremu", training_visibility="closed", open_to=[world.srem])
    world.enrol(past, world.anna, status="attended")
    world.enrol(hidden, world.anna)
    world.enrol(past, world.bartek, status="absent")
    world.enrol(srem_only, world.beata)
    page = show(world.login("anna@kornik.pl"), "/portal/training/mine")
    rows = titles(page)
    assert len(rows) == 2 and rows[0].startswith("Ukryte") and "enrolled" in rows[0]
    assert rows[1].startswith("Minione") and "attended" in rows[1]
    assert f"/portal/training/{past}" in page and f"/portal/training/{hidden}" not in page
    admin = world.login("admin@kornik.pl")
    page = show(admin, "/portal/training/ours")
    rows = titles(page)
    assert [row.split(" 3/10/27")[0] for row in rows] == [
        "Kórnicka Bartek Minione",
        "Kórnicka Anna Ukryte",
        "Kórnicka Anna Minione",
    ]
    assert "absent" in rows[0] and "Beata" not in page and "Dla Śremu" not in page
    assert "does not stand for a person" in show(admin, "/portal/training/mine")


def test_the_portal_menu_leads_to_the_training_pages(world):
    menu = {
        "admin@kornik.pl": ["Trainings", "Our enrolments", "My trainings"],
        "anna@kornik.pl": ["Trainings", "My trainings"],
    }
    for email, entries in menu.items():
        nav = show(world.login(email), "/portal/").split("<nav")[1].split("</nav>")[0]
        assert [
            e for e in ("Trainings", "Our enrolments", "My trainings") if f">{e}</a>" in nav
        ] == entries
    staff = show(world.login("szkolenia@zwiazek.example.pl"), "/")
    assert "My trainings" not in staff and "/portal/training" not in staff


def test_a_form_without_its_csrf_token_changes_nothing(kartoteka_app_factory):
    world = World(kartoteka_app_factory(["training"], default_locale="en", WTF_CSRF_ENABLED=True))
    case = world.training("Zamówienia publiczne")
    client = world.app.test_client()
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', show(client, "/login")).group(1)
    assert (
        client.post(
            "/login", data={"email": "anna@kornik.pl", "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.post(f"/portal/training/{case}/enrol").status_code == 400
    assert world.statuses(case) == {}
    page = show(client, f"/portal/training/{case}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(f"/portal/training/{case}/enrol", data={"csrf_token": token})
    assert world.statuses(case) == {world.anna: ("enrolled", "self")}


def test_the_pages_speak_polish_by_default(kartoteka_app_factory):
    world = World(kartoteka_app_factory(["training"]))
    world.training("Zamówienia publiczne", training_price={"amount": "120.00", "currency": "PLN"})
    page = show(world.login("anna@kornik.pl"), "/portal/training/")
    nav = page.split("<nav")[1].split("</nav>")[0]
    assert ">Szkolenia</a>" in nav and ">Moje szkolenia</a>" in nav
    row = titles(page)[0].replace("\xa0", " ")
    assert "10.03.2027, 09:00" in row and "120,00 zł" in row


def test_certificates_are_downloaded_by_their_person_and_the_units_administrator(world):
    past = world.training("Minione", phase="certified")
    world.enrol(past, world.anna, status="attended")
    world.enrol(past, world.bartek, status="attended")
    rt = world.app.extensions["kartoteka"]
    with world.writing() as session:
        case = session.get(Case, past)
        for row in session.scalars(select(Enrolment).where(Enrolment.case_id == past)):
            certificates.issue(session, rt, case, row)
        ids = {row.person_id: row.id for row in session.scalars(select(Enrolment))}
    anna = world.login("anna@kornik.pl")
    page = show(anna, "/portal/training/mine")
    assert f'href="/portal/training/certificates/{ids[world.anna]}"' in page
    assert anna.get(f"/portal/training/certificates/{ids[world.anna]}").data.startswith(b"%PDF")
    # Bartek's is his and his unit's administrator's, not his colleague's nor Śrem's.
    assert anna.get(f"/portal/training/certificates/{ids[world.bartek]}").status_code == 404
    admin = world.login("admin@kornik.pl")
    bartek = f"/portal/training/certificates/{ids[world.bartek]}"
    assert bartek in show(admin, "/portal/training/ours")
    assert admin.get(bartek).status_code == 200
    srem = world.login("admin@srem.pl")
    assert srem.get(f"/portal/training/certificates/{ids[world.bartek]}").status_code == 404


def test_a_former_colleagues_certificate_is_not_the_units_any_more(world):
    past = world.training("Minione", phase="certified")
    world.enrol(past, world.zofia, status="attended")  # she left Kórnik in 2021
    rt = world.app.extensions["kartoteka"]
    with world.writing() as session:
        row = session.scalars(select(Enrolment)).one()
        certificates.issue(session, rt, session.get(Case, past), row)
        row_id = row.id
    admin = world.login("admin@kornik.pl")
    assert admin.get(f"/portal/training/certificates/{row_id}").status_code == 404


def test_a_participant_cancelling_gives_the_place_to_another_units_person(world):
    case_id = world.training("Jedno miejsce", training_capacity=1)
    anna = world.login("anna@kornik.pl")
    post(anna, f"/portal/training/{case_id}/enrol")
    post(world.login("admin@srem.pl"), f"/portal/training/{case_id}/enrol",
         person_id=world.beata)
    page = post(anna, f"/portal/training/{case_id}/cancel")
    assert "Your enrolment is cancelled." in flashes(page)
    assert {status for status, _channel in world.statuses(case_id).values()} == {
        "cancelled", "enrolled"}


def test_the_trainings_materials_are_for_those_on_its_list(world):
    import io

    from core import attachments

    case_id = world.training("Z materiałami")
    rt = world.app.extensions["kartoteka"]
    with world.writing() as session:
        case = session.get(Case, case_id)
        pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
        stored = attachments.store(session, rt.settings, case, "program.pdf",
                                   io.BytesIO(pdf), declared_type="application/pdf")
        file_id = stored.id
    url = f"/portal/training/{case_id}/files/{file_id}"
    anna = world.login("anna@kornik.pl")
    assert url not in show(anna, f"/portal/training/{case_id}")  # not on the list yet
    assert anna.get(url).status_code == 404
    post(anna, f"/portal/training/{case_id}/enrol")
    assert url in show(anna, f"/portal/training/{case_id}")
    assert anna.get(url).data.startswith(b"%PDF")
    assert world.login("admin@kornik.pl").get(url).status_code == 200  # Anna's unit
    assert world.login("admin@srem.pl").get(url).status_code == 404

"""The expert-opinion firm's default offer (CORE-10, EX-3, EX-4): the specialisation,
department, court and deadline, the experts of the estimate and the price, and never the
estimated cost or the margin the approvals look at. Every test runs on SQLite and
PostgreSQL (``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import attachments, cases, documents, organisations, people, users, workflow
from core.db import utcnow
from core.models import Attachment, DocumentTemplate
from plugins.expertise import departments, estimates, experts, inquiries, specialisations

PASSWORD = "correct horse battery"
PROCESS = "expertise.inquiry"
COMPANY = "Biuro Ekspertyz Test sp. z o.o."
CLIENT = "Sąd Rejonowy Poznań-Stare Miasto"
NBSP = "\u00a0"
PRICE = f"12{NBSP}000,00{NBSP}zł"
COST = f"6{NBSP}000,00{NBSP}zł"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["expertise"], default_locale="pl", company_name=COMPANY)


@pytest.fixture
def world(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt)


class World:
    def __init__(self, session, rt):
        self.session, self.host, self.settings = session, rt.host, rt.settings
        self.owner = users.create_user(session, "k.nowak@ekspertyzy.example.pl", PASSWORD,
                                       full_name="Katarzyna Nowak", is_admin=True)

    def client(self):
        return organisations.create(self.session, self.host, {
            "name": CLIENT, "type_key": "expertise.court", "street": "ul. Młyńska 1a",
            "postal_code": "61-729", "city": "Poznań", "nip": "5260250274"},
            actor=self.owner, allow_duplicates=True)

    def inquiry(self, **data):
        return cases.create(self.session, self.host, {
            "title": "Opinia o stanie technicznym budynku", "process_key": PROCESS,
            "owner_id": self.owner.id, "organisation_id": self.client().id, **data},
            actor=self.owner)

    def estimated(self):
        """An inquiry of the construction department for a court, estimated at 30 hours
        of two experts (6 000 zł) and priced at a 100% mark-up."""
        construction = specialisations.create(self.session, {"name": "Budownictwo"})
        department = departments.create(self.session, {
            "name": "Dział budownictwa", "specialisation_ids": [construction.id]})
        court = organisations.create(self.session, self.host, {
            "name": "Sąd Okręgowy w Poznaniu", "type_key": "expertise.court"},
            actor=self.owner)
        inquiry = self.inquiry()
        workflow.move(self.session, self.host, inquiry, "inquiry", actor=self.owner)
        inquiries.update(self.session, inquiry, {
            "specialisation_id": construction.id, "court_id": court.id,
            "court_reference": "XII C 1234/26", "due_on": "2027-03-31"}, actor=self.owner)
        inquiries.route(self.session, self.host, inquiry, department.id, actor=self.owner)
        team = [self.expert("Jan", "Kowalski", construction),
                self.expert("Maria", "Zając", construction)]
        estimates.estimate(self.session, inquiry, {
            "experts": [{"expert_id": team[0].id, "hours": "20"},
                        {"expert_id": team[1].id, "hours": "10"}], "markup": "100"},
            actor=self.owner)
        return inquiry

    def expert(self, first, last, specialisation):
        return experts.create(self.session, {
            "person_id": self.person(first, last).id, "hourly_rate": "200.00",
            "specialisation_ids": [specialisation.id]}, actor=self.owner)

    def person(self, first, last):
        return people.create(self.session, {"first_name": first, "last_name": last})

    def template(self):
        return self.session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == "expertise.offer"))

    def preview(self, record):
        """The HTML with runs of spaces and line breaks made one space (babel's
        non-breaking spaces in amounts stay)."""
        return re.sub(r"[ \t\n]+", " ", documents.preview(
            self.session, self.host, self.template(), record, self.owner, self.settings))


def test_the_offer_shows_the_department_the_court_the_experts_and_the_price(world):
    inquiry = world.estimated()
    cases.set_people(world.session, inquiry, [
        (world.person("Piotr", "Sekretarz"), "osoba kontaktowa")], actor=world.owner)

    html = world.preview(inquiry)

    for text in (COMPANY, CLIENT, "ul. Młyńska 1a", "61-729 Poznań", "NIP: 5260250274",
                 "Opinia o stanie technicznym budynku", PRICE,
                 "dwanaście tysięcy złotych, zero groszy", "Katarzyna Nowak",
                 "w odpowiedzi na Państwa zapytanie", "sporządzenia opinii",
                 "<td>Budownictwo</td>", "<td>Dział budownictwa</td>",
                 "Sąd Okręgowy w Poznaniu, sygnatura akt XII C 1234/26",
                 "31 mar 2027", '<h2 class="cap">biegli</h2>',
                 "<td>Jan Kowalski</td>", "<td>Maria Zając</td>"):
        assert text in html, text
    assert "Piotr Sekretarz" not in html  # not an expert
    assert "uzgodnimy po otrzymaniu" not in html  # the deadline is known


def test_the_offer_never_shows_the_cost_or_the_margin(world):
    inquiry = world.estimated()
    assert inquiry.margin == Decimal("0.5")

    html = world.preview(inquiry).lower()

    assert COST not in html and "6 000" not in html.replace(NBSP, " ")
    assert "sześć tysięcy" not in html and "200,00" not in html
    for word in ("koszt", "marż", "50%", "50 %", "50,00", "0,5", "0.5"):
        assert word not in html


def test_issuing_the_offer_numbers_it_and_keeps_a_pdf(world):
    inquiry = world.estimated()

    document = documents.generate(world.session, world.host, world.settings, world.template(),
                                  inquiry, world.owner)
    world.session.commit()

    assert document.number == f"OF/EKS/{utcnow().year}/0001"
    attachment = world.session.get(Attachment, document.attachment_id)
    assert attachment.content_type == "application/pdf"
    assert attachments.path_of(world.settings, attachment).read_bytes().startswith(b"%PDF-")
    assert (attachment.record_type, attachment.record_id) == ("case", inquiry.id)


@pytest.mark.parametrize("with_client", [True, False])
def test_the_offer_renders_for_an_inquiry_with_no_optional_data(world, with_client):
    """No amount, cost, department, description, people or owner; a client with a name
    only, or no client at all."""
    client = organisations.create(world.session, world.host, {
        "name": "Klient Minimalny", "type_key": "core.company"}, allow_duplicates=True) \
        if with_client else None
    inquiry = cases.create(world.session, world.host, {
        "title": "Spotkanie bez szczegółów", "process_key": PROCESS,
        "organisation_id": client.id if client else None}, actor=world.owner)

    html = world.preview(inquiry)

    assert "Spotkanie bez szczegółów" in html
    assert ("Klient Minimalny" in html) is with_client
    assert "Skład zespołu wskażemy po przyjęciu oferty." in html
    assert "Cenę podamy po zapoznaniu się z dokumentacją sprawy." in html
    assert "zł" not in html and "NIP" not in html and '<td class="key">dział' not in html
    document = documents.generate(world.session, world.host, world.settings, world.template(),
                                  inquiry, world.owner)
    assert document.number.startswith("OF/EKS/")

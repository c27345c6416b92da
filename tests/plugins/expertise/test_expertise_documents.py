"""The expert-opinion firm's default offer (CORE-10, EX-3, EX-4): the specialisation,
department, court and deadline, the experts of the estimate and the price, and never the
estimated cost or the margin the approvals look at. Every test runs on SQLite and
PostgreSQL (``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from decimal import Decimal

import pytest

from core import attachments, cases, documents
from core.db import utcnow
from core.models import Attachment
from plugins.expertise import specialisations
from tests.plugins.expertise.conftest import PROCESS, opened

COMPANY = "Biuro Ekspertyz Test sp. z o.o."
CLIENT = "Sąd Rejonowy Poznań-Stare Miasto"
NBSP = "\u00a0"
PRICE = f"12{NBSP}000,00{NBSP}zł"
COST = f"6{NBSP}000,00{NBSP}zł"


@pytest.fixture
def app_config():
    return {"default_locale": "pl", "company_name": COMPANY}


@pytest.fixture
def world(app):
    """A request context, an open session and the firm in Polish: Katarzyna Nowak, an
    administrator who owns, routes and estimates the inquiries; the specialisation
    Budownictwo and its department, Dział budownictwa; the client, a court with its
    address."""
    with opened(app) as firm:
        firm.owner = firm.secretary = firm.user("k.nowak@ekspertyzy.example.pl",
                                                full_name="Katarzyna Nowak", is_admin=True)
        firm.construction = specialisations.create(firm.session, {"name": "Budownictwo"})
        firm.building = firm.department("Dział budownictwa", [firm.construction])
        firm.client = firm.organisation(
            CLIENT, "expertise.court", firm.owner, street="ul. Młyńska 1a",
            postal_code="61-729", city="Poznań", nip="5260250274")
        yield firm


def estimated(world):
    """An inquiry of the construction department for a court, estimated at 30 hours of
    two experts (6 000 zł) and priced at a 100% mark-up."""
    court = world.organisation("Sąd Okręgowy w Poznaniu", "expertise.court", world.owner)
    inquiry = world.routed(world.inquiry(title="Opinia o stanie technicznym budynku"),
                           court_id=court.id, court_reference="XII C 1234/26",
                           due_on="2027-03-31")
    team = [world.new_expert("Jan", "Kowalski", actor=world.owner),
            world.new_expert("Maria", "Zając", actor=world.owner)]
    world.estimate(inquiry, {"experts": [{"expert_id": team[0].id, "hours": "20"},
                                         {"expert_id": team[1].id, "hours": "10"}],
                             "markup": "100"})
    return inquiry


def preview(world, record):
    """The HTML with runs of spaces and line breaks made one space (babel's
    non-breaking spaces in amounts stay)."""
    return re.sub(r"[ \t\n]+", " ", documents.preview(
        world.session, world.host, world.template(), record, world.owner, world.settings))


def test_the_offer_shows_the_department_the_court_the_experts_and_the_price(world):
    inquiry = estimated(world)
    cases.set_people(world.session, inquiry, [
        (world.person("Piotr", "Sekretarz"), "osoba kontaktowa")], actor=world.owner)

    html = preview(world, inquiry)

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
    inquiry = estimated(world)
    assert inquiry.margin == Decimal("0.5")

    html = preview(world, inquiry).lower()

    assert COST not in html and "6 000" not in html.replace(NBSP, " ")
    assert "sześć tysięcy" not in html and "200,00" not in html
    for word in ("koszt", "marż", "50%", "50 %", "50,00", "0,5", "0.5"):
        assert word not in html


def test_issuing_the_offer_numbers_it_and_keeps_a_pdf(world):
    inquiry = estimated(world)

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
    client = world.organisation("Klient Minimalny") if with_client else None
    inquiry = cases.create(world.session, world.host, {
        "title": "Spotkanie bez szczegółów", "process_key": PROCESS,
        "organisation_id": client.id if client else None}, actor=world.owner)

    html = preview(world, inquiry)

    assert "Spotkanie bez szczegółów" in html
    assert ("Klient Minimalny" in html) is with_client
    assert "Skład zespołu wskażemy po przyjęciu oferty." in html
    assert "Cenę podamy po zapoznaniu się z dokumentacją sprawy." in html
    assert "zł" not in html and "NIP" not in html and '<td class="key">dział' not in html
    document = documents.generate(world.session, world.host, world.settings, world.template(),
                                  inquiry, world.owner)
    assert document.number.startswith("OF/EKS/")

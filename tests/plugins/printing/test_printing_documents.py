"""The printing house's default documents (CORE-10, PR-4 to PR-6): the offer, the order the
client signs and the internal production order, filled from a project, numbered from
their series and kept as PDFs on it. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re

import pytest
from PIL import Image
from sqlalchemy import select

from core import (
    approvals,
    attachments,
    cases,
    documents,
    organisations,
    pdf,
    people,
    term_overrides,
    users,
    workflow,
)
from core.db import utcnow
from core.errors import ValidationError
from core.models import Attachment, Document, DocumentTemplate
from core.terminology import of as terminology_of

PASSWORD = "correct horse battery"
PROCESS = "printing.project"
COMPANY = "Drukarnia Test sp. z o.o."
CLIENT = "Agencja Reklamowa Kreska sp. z o.o."
NBSP = "\u00a0"
AMOUNT = f"12{NBSP}500,00{NBSP}zł"
AMOUNT_IN_WORDS = "dwanaście tysięcy pięćset złotych, zero groszy"
TEMPLATE_KEYS = ("printing.offer", "printing.order", "printing.production_order",
                 "printing.complaint_answer")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="pl", company_name=COMPANY,
                                 company_details="ul. Fabryczna 5, 60-001 Poznań\n"
                                                 "NIP 526-025-02-74")


@pytest.fixture
def world(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt)


class World:
    def __init__(self, session, rt):
        self.session, self.rt, self.host, self.settings = session, rt, rt.host, rt.settings
        self.rep = users.create_user(session, "e.kowalczyk@drukarnia.example.pl", PASSWORD,
                                     full_name="Ewa Kowalczyk")
        self.boss = users.create_user(session, "p.zielinski@drukarnia.example.pl", PASSWORD,
                                      full_name="Piotr Zieliński")
        self.rep.supervisor_id = self.boss.id

    def client(self, **data):
        return organisations.create(self.session, self.host, {
            "name": CLIENT, "type_key": "core.company", "street": "ul. Półwiejska 32",
            "postal_code": "61-888", "city": "Poznań", "nip": "5260250274", **data},
            actor=self.rep, allow_duplicates=True)

    def project(self, approved=True, **data):
        """A project of 12,500 zł at its calculation, approved by the rep's supervisor
        unless ``approved`` is false."""
        project = cases.create(self.session, self.host, {
            "title": "Baner reklamowy 6×3 m", "process_key": PROCESS, "owner_id": self.rep.id,
            "organisation_id": self.client().id, "amount": "12500.00", "cost": "8100.00",
            "description": "Baner frontlit 510 g/m², druk UV, oczka co 50 cm.", **data},
            actor=self.rep)
        if approved:
            workflow.move(self.session, self.host, project, "calculation", actor=self.rep)
            request = approvals.request(self.session, self.host, project, "offer", self.rep)
            approvals.decide(self.session, self.host, request, "approve", self.boss)
        return project

    def template(self, key):
        return self.session.scalar(select(DocumentTemplate).where(DocumentTemplate.key == key))

    def preview(self, key, record):
        """The document's HTML, its runs of spaces and line breaks made one space
        (non-breaking spaces, which babel puts in amounts, stay)."""
        return re.sub(r"[ \t\n]+", " ", documents.preview(
            self.session, self.host, self.template(key), record, self.rep, self.settings))

    def generate(self, key, record):
        return documents.generate(self.session, self.host, self.settings, self.template(key),
                                  record, self.rep)

    def pdf(self, document):
        attachment = self.session.get(Attachment, document.attachment_id)
        return attachment, attachments.path_of(self.settings, attachment).read_bytes()


def test_the_templates_and_their_series_are_shipped_at_start_up(world):
    shipped = {t.key: t for t in world.session.scalars(
        select(DocumentTemplate).where(DocumentTemplate.key.like("printing.%")))}
    assert set(shipped) == set(TEMPLATE_KEYS)
    assert {k: t.series_key for k, t in shipped.items()} == {
        "printing.offer": "printing.offer", "printing.order": "printing.order",
        "printing.production_order": "printing.production",
        "printing.complaint_answer": "printing.complaint"}
    assert all(t.subject_type == "case" for t in shipped.values())
    assert set(TEMPLATE_KEYS) <= {t.key for t in documents.templates_for(world.session, "case")}


def test_the_offer_names_the_client_the_project_and_the_price_in_figures_and_words(world):
    html = world.preview("printing.offer", world.project())

    for text in (COMPANY, "ul. Fabryczna 5, 60-001 Poznań", CLIENT, "ul. Półwiejska 32",
                 "61-888 Poznań", "NIP: 5260250274", "Baner reklamowy 6×3 m", AMOUNT,
                 AMOUNT_IN_WORDS, "14 dni", "Ewa Kowalczyk", "e.kowalczyk@drukarnia.example.pl",
                 "Baner frontlit 510 g/m², druk UV, oczka co 50 cm."):
        assert text in html
    assert "wykonanie projektu <strong>„Baner reklamowy 6×3 m”" in html
    assert "podpisanego zamówienia" in html
    assert 'class="company"' in html  # the running header of every page
    assert f"8{NBSP}100" not in html  # the cost is the house's own


def test_issuing_the_offer_numbers_it_and_keeps_a_pdf_on_the_project(app, world):
    project = world.project()
    year = utcnow().year

    first = world.generate("printing.offer", project)
    second = world.generate("printing.offer", project)
    world.session.commit()

    assert (first.number, second.number) == (f"OF/{year}/0001", f"OF/{year}/0002")
    attachment, content = world.pdf(first)
    assert content.startswith(b"%PDF-")
    assert attachment.content_type == "application/pdf"
    assert (attachment.record_type, attachment.record_id) == ("case", project.id)
    assert attachment.filename == f"Oferta OF-{year}-0001.pdf"
    assert [d.number for d in documents.for_record(world.session, project, world.rep)] == [
        f"OF/{year}/0002", f"OF/{year}/0001"]


def test_the_order_is_for_the_client_to_sign(world):
    project = world.project()
    html = world.preview("printing.order", project)

    for text in ("zamówienie", "Wykonawca", "Zamawiający", COMPANY, CLIENT, "NIP: 5260250274",
                 AMOUNT, AMOUNT_IN_WORDS, "podpis osoby upoważnionej"):
        assert text in html
    # Not sent before customer service has the registration documents (PR-5).
    with pytest.raises(ValidationError) as refused:
        world.generate("printing.order", project)
    assert list(refused.value.errors) == ["check.printing.documents"]
    cases.update(world.session, world.host, project, {"custom": {
        "printing_documents_received": True}}, actor=None)
    document = world.generate("printing.order", project)
    assert document.number == f"ZAM/{utcnow().year}/0001"
    assert world.pdf(document)[1].startswith(b"%PDF-")


def test_the_production_order_is_numbered_by_month_and_shows_the_confirmations(world):
    project = world.project(custom={"printing_signed_order": True})
    cases.update(world.session, world.host, project, {"custom": {
        "printing_documents_received": True}}, actor=None)  # customer service's word
    html = world.preview("printing.production_order", project)

    assert "Zlecenie produkcyjne" in html
    assert "Baner frontlit 510 g/m², druk UV, oczka co 50 cm." in html
    assert "Podpisane zamówienie wróciło</td><td>Tak" in html
    assert "Dokumenty rejestrowe otrzymane</td><td>Tak" in html
    assert "Towar i faktura" not in html  # not confirmed: not listed
    assert AMOUNT not in html  # production needs no prices
    now = utcnow()
    document = world.generate("printing.production_order", project)
    assert document.number == f"ZP/{now.year}/{now.month:02d}/001"
    assert world.pdf(document)[1].startswith(b"%PDF-")


def test_the_people_of_the_project_are_listed_on_the_production_order(world):
    project = world.project()
    contact = people.create(world.session, {"first_name": "Anna", "last_name": "Wrona"})
    cases.set_people(world.session, project, [(contact, "grafik klienta")], actor=world.rep)

    html = world.preview("printing.production_order", project)

    assert "Anna Wrona" in html and "grafik klienta" in html


def test_an_administrators_rewording_of_the_project_shows_in_the_documents(app, world):
    rt = world.rt
    world.session.commit()  # SQLite has one writer
    with rt.session() as session, session.begin():
        term_overrides.save(session, terminology_of(rt.host).defaults, "printing.project", "pl",
                            {"nom": "zlecenie", "gen": "zlecenia", "dat": "zleceniu",
                             "acc": "zlecenie", "ins": "zleceniem", "loc": "zleceniu"},
                            {"nom": "zlecenia"}, gender="n")
    project = world.project()

    with app.test_request_context():
        offer = world.preview("printing.offer", project)
        production = world.preview("printing.production_order", project)

    assert "wykonanie zlecenia <strong>„Baner reklamowy 6×3 m”" in offer
    assert "projektu" not in offer
    assert '<td class="key">zlecenie</td>' in production


def test_the_logo_is_drawn_when_the_installation_has_one(kartoteka_app_factory, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), "#c2185b").save(logo)
    app = kartoteka_app_factory(["printing"], default_locale="pl", company_name=COMPANY,
                                logo_file=str(logo))
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        world = World(session, rt)
        project = world.project()

        html = world.preview("printing.offer", project)
        document = world.generate("printing.offer", project)

        assert f'<img class="logo" src="{pdf.LOGO_URL}"' in html
        assert b"/Image" in world.pdf(document)[1]  # drawn into the PDF


def test_without_a_logo_the_letterhead_has_none(world):
    html = world.preview("printing.offer", world.project())

    assert "<img" not in html and 'class="company"' in html
    assert b"/Image" not in world.pdf(world.generate("printing.offer", world.project()))[1]


@pytest.mark.parametrize("with_client", [True, False])
def test_every_template_renders_for_a_project_with_no_optional_data(world, with_client):
    """No amount, no description, no custom fields, no people, no account manager; and
    a client with a name only, or no client at all."""
    client = organisations.create(world.session, world.host, {
        "name": "Klient Minimalny", "type_key": "core.company"}, allow_duplicates=True) \
        if with_client else None
    project = cases.create(world.session, world.host, {
        "title": "Zapytanie bez szczegółów", "process_key": PROCESS,
        "organisation_id": client.id if client else None}, actor=world.rep)

    for key in TEMPLATE_KEYS:
        html = world.preview(key, project)
        assert "Zapytanie bez szczegółów" in html
        assert ("Klient Minimalny" in html) is with_client
        assert "NIP" not in html.replace("NIP 526-025-02-74", "")
        assert "zł" not in html
    document = world.generate("printing.offer", project)
    assert world.session.get(Document, document.id).number.startswith("OF/")


def test_the_three_plugins_documents_render_bare_and_never_share_a_number(
        kartoteka_app_factory):
    """With printing, photovoltaics and expertise enabled together, every template they
    ship renders for a bare case of its process, and their series give different numbers
    (a document's number is unique in the whole installation)."""
    app = kartoteka_app_factory(["printing", "photovoltaics", "expertise"],
                                default_locale="pl", company_name=COMPANY)
    rt = app.extensions["kartoteka"]
    processes = {"printing": PROCESS, "photovoltaics": "photovoltaics.installation",
                 "expertise": "expertise.inquiry"}
    with app.test_request_context(), rt.session() as session:
        world = World(session, rt)
        shipped = list(session.scalars(select(DocumentTemplate).where(
            DocumentTemplate.key.like("printing.%") | DocumentTemplate.key.like("photovoltaics.%")
            | DocumentTemplate.key.like("expertise.%")).order_by(DocumentTemplate.key)))
        assert len(shipped) == 8  # printing's four, photovoltaics' three, expertise's offer
        numbers = []
        for template in shipped:
            case = cases.create(session, rt.host, {
                "title": "Bez szczegółów", "process_key": processes[template.key.split(".")[0]]},
                actor=world.rep)
            if template.key in ("printing.order", "printing.production_order"):
                cases.update(session, rt.host, case, {"custom": {  # what they need
                    "printing_documents_received": True, "printing_signed_order": True}})
            assert "Bez szczegółów" in world.preview(template.key, case)
            if template.key == "printing.complaint_answer":
                with pytest.raises(ValidationError):  # made once a complaint's outcome is in
                    world.generate(template.key, case)
                continue
            numbers.append(world.generate(template.key, case).number)
        session.commit()
    assert len(set(numbers)) == len(numbers) == 7

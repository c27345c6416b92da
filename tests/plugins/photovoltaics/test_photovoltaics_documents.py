"""The installer's default documents (CORE-10, PV-1 to PV-3): the offer with the power of
the installation, and the contract with its price in figures and words paid in two
parts, the advance before installation and the rest after completion. Every test runs
on SQLite and PostgreSQL (``kartoteka_app_factory`` depends on
``kartoteka_database_url``)."""

import re

import pytest
from sqlalchemy import select

from core import attachments, calculations, cases, documents, organisations, people, users
from core.db import utcnow
from core.models import Attachment, DocumentTemplate

PASSWORD = "correct horse battery"
PROCESS = "photovoltaics.installation"
COMPANY = "Słoneczny Dach sp. z o.o."
CLIENT = "Gospodarstwo Jana Nowaka"
NBSP = "\u00a0"
TEMPLATE_KEYS = ("photovoltaics.offer", "photovoltaics.contract",
                 "photovoltaics.grid_notification")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["photovoltaics"], default_locale="pl", company_name=COMPANY,
                                 company_details="ul. Słoneczna 1, 62-020 Swarzędz")


@pytest.fixture
def world(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt)


class World:
    def __init__(self, session, rt):
        self.session, self.host, self.settings = session, rt.host, rt.settings
        self.adviser = users.create_user(session, "t.mazur@sloneczny.example.pl", PASSWORD,
                                         full_name="Tomasz Mazur")

    def client(self, **data):
        return organisations.create(self.session, self.host, {
            "name": CLIENT, "type_key": "core.household", "street": "Lipowa 7",
            "postal_code": "62-035", "city": "Kórnik", "nip": "5260250274",
            "custom": {"photovoltaics_power": "9.84"}, **data},
            actor=self.adviser, allow_duplicates=True)

    def installation(self, **data):
        return cases.create(self.session, self.host, {
            "title": "Instalacja PV na dachu domu", "process_key": PROCESS,
            "owner_id": self.adviser.id, "organisation_id": self.client().id,
            "amount": "38900.00", "cost": "29000.00",
            "description": "24 moduły 410 Wp, falownik hybrydowy 10 kW.", **data},
            actor=self.adviser)

    def template(self, key):
        return self.session.scalar(select(DocumentTemplate).where(DocumentTemplate.key == key))

    def preview(self, key, record):
        """The HTML with runs of spaces and line breaks made one space (babel's
        non-breaking spaces in amounts stay)."""
        return re.sub(r"[ \t\n]+", " ", documents.preview(
            self.session, self.host, self.template(key), record, self.adviser, self.settings))

    def generate(self, key, record):
        return documents.generate(self.session, self.host, self.settings, self.template(key),
                                  record, self.adviser)

    def pdf(self, document):
        attachment = self.session.get(Attachment, document.attachment_id)
        return attachment, attachments.path_of(self.settings, attachment).read_bytes()


def money(text):
    return text.replace(" ", NBSP) + f"{NBSP}zł"


def test_the_templates_and_the_contract_series_are_shipped_at_start_up(world):
    contract = world.template("photovoltaics.contract")
    assert contract.kind == "contract" and contract.series_key == "photovoltaics.contract"
    assert world.template("photovoltaics.offer").kind == "offer"


def test_the_offer_shows_the_power_the_price_and_the_two_payments(world):
    html = world.preview("photovoltaics.offer", world.installation())

    for text in (COMPANY, CLIENT, "Lipowa 7", "62-035 Kórnik", "NIP: 5260250274",
                 "Instalacja PV na dachu domu", f"9,84{NBSP}kWp", money("38 900,00"),
                 "trzydzieści osiem tysięcy dziewięćset złotych, zero groszy",
                 "24 moduły 410 Wp, falownik hybrydowy 10 kW.", "Tomasz Mazur", "14 dni",
                 '<td class="key">instalacja</td>', "zaliczka przed rozpoczęciem montażu",
                 "płatność końcowa po jego zakończeniu"):
        assert text in html
    assert money("29 000,00") not in html  # the cost is the installer's own


def test_the_offer_leaves_out_the_power_when_the_client_has_none(world):
    installation = world.installation(organisation_id=world.client(custom={}).id)

    html = world.preview("photovoltaics.offer", installation)

    assert "kWp" not in html and "Moc instalacji" not in html


def test_the_contract_names_the_parties_and_splits_the_price_into_advance_and_rest(world):
    installation = world.installation()
    html = world.preview("photovoltaics.contract", installation)

    for text in ("umowa", "dostawy i montażu instalacji fotowoltaicznej", "Wykonawca",
                 "Zamawiający", COMPANY, "ul. Słoneczna 1, 62-020 Swarzędz", CLIENT,
                 "NIP: 5260250274", f"o mocy 9,84{NBSP}kWp pod adresem: Lipowa 7, 62-035 Kórnik",
                 money("38 900,00"), "trzydzieści osiem tysięcy dziewięćset złotych, zero groszy",
                 "zaliczka (30%)", money("11 670,00"), "płatność końcowa", money("27 230,00"),
                 "protokołu odbioru"):
        assert text in html


def test_issuing_the_contract_numbers_it_and_keeps_a_pdf(world):
    installation = world.installation()
    contact = people.create(world.session, {"first_name": "Jan", "last_name": "Nowak"})
    cases.set_people(world.session, installation, [(contact, "inwestor")], actor=world.adviser)

    document = world.generate("photovoltaics.contract", installation)
    offer = world.generate("photovoltaics.offer", installation)
    world.session.commit()

    year = utcnow().year
    assert document.number == f"UM/{year}/0001"
    assert offer.number == f"OF/PV/{year}/0001"
    attachment, content = world.pdf(document)
    assert content.startswith(b"%PDF-") and attachment.content_type == "application/pdf"
    assert (attachment.record_type, attachment.record_id) == ("case", installation.id)
    assert "Jan Nowak (inwestor)" in world.preview("photovoltaics.contract", installation)


def test_an_odd_price_splits_to_the_grosz(world):
    installation = world.installation(amount="12345.67")

    html = world.preview("photovoltaics.contract", installation)

    assert money("3 703,70") in html and money("8 641,97") in html


@pytest.mark.parametrize("with_client", [True, False])
def test_every_template_renders_for_an_installation_with_no_optional_data(world, with_client):
    """No amount, description, custom fields, people or adviser; a client with a name
    only, or no client at all."""
    client = organisations.create(world.session, world.host, {
        "name": "Klient Minimalny", "type_key": "core.household"}, allow_duplicates=True) \
        if with_client else None
    installation = cases.create(world.session, world.host, {
        "title": "Lead bez szczegółów", "process_key": PROCESS,
        "organisation_id": client.id if client else None}, actor=world.adviser)

    for key in TEMPLATE_KEYS:
        html = world.preview(key, installation)
        assert "Lead bez szczegółów" in html
        assert ("Klient Minimalny" in html) is with_client
        assert "zł" not in html and "kWp" not in html and "NIP" not in html
    assert world.pdf(world.generate("photovoltaics.contract", installation))[1].startswith(
        b"%PDF-")


def test_the_offer_lists_the_components_of_its_latest_version_at_the_customers_prices(world):
    installation = world.installation()
    for markup, panels in (("40", "24"), ("25", "20")):
        calculations.create(world.session, installation, {"markup": markup, "lines": [
            {"description": "Moduł JA Solar 455 W", "quantity": panels, "unit": "szt.",
             "unit_cost": "400", "vat_rate": "8"},
            {"description": "Montaż", "quantity": "1", "unit": "usł.", "unit_cost": "2000",
             "vat_rate": "8"}]})

    offer = world.preview("photovoltaics.offer", installation)
    for text in ("Zestawienie (wersja 2)", "Moduł JA Solar 455 W", "20 szt.",
                 money("500,00"), money("10 800,00"), money("12 500,00"), money("13 500,00")):
        assert text in offer
    assert "24 szt." not in offer  # the first version is not what is offered now
    assert money("400,00") not in offer  # nor are the installer's costs
    contract = world.preview("photovoltaics.contract", installation)
    assert "Zestawienie urządzeń i prac" in contract and "Moduł JA Solar 455 W: 20 szt." in contract


def test_a_households_installation_names_the_person_and_their_address(world):
    jan = people.create(world.session, {"first_name": "Jan", "last_name": "Kowalski",
                                        "addresses": [{"street": "Polna 3", "city": "Mosina",
                                                       "postal_code": "62-050"}]})
    installation = cases.create(world.session, world.host, {
        "title": "Dom Kowalskich", "process_key": PROCESS, "custom": {
            "photovoltaics_power": "6.5"}}, people=[(jan, "inwestor")], actor=world.adviser)

    contract = world.preview("photovoltaics.contract", installation)
    assert "Jan Kowalski" in contract
    assert f"o mocy 6,50{NBSP}kWp pod adresem: Polna 3, 62-050 Mosina" in contract


def test_the_grid_operators_notice_names_the_metering_point_and_the_devices(world):
    installation = world.installation(custom={
        "photovoltaics_ppe": "PL0037123456789", "photovoltaics_power": "9.84",
        "photovoltaics_grid_operator": "enea", "photovoltaics_panel_model": "JA Solar 455 W",
        "photovoltaics_panel_count": 22, "photovoltaics_inverter_model": "Huawei SUN2000-8KTL",
        "photovoltaics_inverter_count": 1})

    html = world.preview("photovoltaics.grid_notification", installation)
    for text in ("Zgłoszenie mikroinstalacji", "Enea Operator", "PL0037123456789",
                 f"9,84{NBSP}kWp", "22 × JA Solar 455 W", "1 × Huawei SUN2000-8KTL", CLIENT,
                 "Lipowa 7, 62-035 Kórnik", COMPANY):
        assert text in html
    document = world.generate("photovoltaics.grid_notification", installation)
    assert document.number == f"OSD/{utcnow().year}/0001"

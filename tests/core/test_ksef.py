"""KSeF FA(3): every issued VAT invoice as the structured e-invoice, each document checked
against the Ministry of Finance's schema (ksef-client's copy, checked again here with
its own validator): several rates with zw and np, a correction, advance and final
invoices, another currency, a local-government buyer with its subordinate unit; what
is no VAT invoice refused, and a document the schema refuses never handed over."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from ksef_client.documents.fa3 import validate_fa3_xml_xsd
from lxml import etree
from sqlalchemy import select

from billing_helpers import BANNER, COMPANY, MARCH, draft, issued, make_world, user
from core import invoices, ksef, organisations
from core.errors import ValidationError
from core.models import Invoice

D = Decimal
NS = {"fa": ksef.NAMESPACE}
BASIS = "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
SELLER = {**COMPANY, "company_details": "ul. Długa 1\n61-001 Poznań\nNIP 777-306-15-79\n"
                                        "tel. 61 000 00 00\n"
                                        "Konto: PL61 1090 1014 0000 0712 1981 2874",
          "vat_exemption_basis": BASIS}
EVERY_RATE = [
    {"description": "Ulotki A5", "quantity": "1", "unit_price": "10.50", "vat_rate": "23"},
    {"description": "Plakaty B2", "quantity": "1", "unit_price": "20.50", "vat_rate": "23"},
    {"description": "Książka", "quantity": "3", "unit_price": "0.99", "vat_rate": "8"},
    {"description": "Gazeta", "quantity": "2", "unit_price": "3.00", "vat_rate": "5"},
    {"description": "Eksport usługi", "quantity": "1", "unit_price": "100", "vat_rate": "0"},
    {"description": "Szkolenie", "quantity": "2.5", "unit": "h", "unit_price": "40",
     "vat_rate": "zw"},
    {"description": "Usługa za granicą", "quantity": "1", "unit_price": "50", "vat_rate": "np"}]


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **SELLER)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    found = make_world(rt)
    with rt.session() as s, s.begin():
        found["firm"] = organisations.create(s, rt.host, {
            "name": "Agencja Reklamowa Klient sp. z o.o.", "type_key": "core.company",
            "nip": "5260250274", "street": "ul. Polna 7", "postal_code": "60-100",
            "city": "Poznań"}).id
    return found


def xml_of(rt, invoice_id: int, **options) -> bytes:
    with rt.session() as s:
        return ksef.invoice_xml(s, rt.settings, s.get(Invoice, invoice_id), **options)


def parsed(xml: bytes):
    validate_fa3_xml_xsd(xml)  # the package's own check, besides ours
    return etree.fromstring(xml)


def text(root, path: str) -> str | None:
    found = root.find(path.replace("/", "/fa:").join(("fa:", "")), NS)
    return None if found is None else found.text


def texts(root, path: str) -> list[str]:
    return [node.text for node in root.findall(path.replace("/", "/fa:").join(("fa:", "")),
                                               NS)]


def refusal(rt, invoice_id: int) -> dict:
    with pytest.raises(ValidationError) as refused:
        xml_of(rt, invoice_id)
    return refused.value.errors


# --- An invoice --------------------------------------------------------------------------

def test_an_invoice_at_every_rate_declares_the_ledgers_rows_and_validates(rt, world):
    invoice_id = issued(rt, world, EVERY_RATE, client="firm", sale_date=date(2026, 2, 27))
    root = parsed(xml_of(rt, invoice_id))
    assert root.tag == f"{{{ksef.NAMESPACE}}}Faktura"
    form = root.find("fa:Naglowek/fa:KodFormularza", NS)
    assert (form.get("kodSystemowy"), form.get("wersjaSchemy"), form.text) == (
        "FA (3)", "1-0E", "FA")
    assert (text(root, "Podmiot1/DaneIdentyfikacyjne/NIP"),
            text(root, "Podmiot1/DaneIdentyfikacyjne/Nazwa"),
            text(root, "Podmiot1/Adres/AdresL1"), text(root, "Podmiot1/Adres/AdresL2")) == (
        "7773061579", "Drukarnia Test sp. z o.o.", "ul. Długa 1", "61-001 Poznań")
    assert (text(root, "Podmiot2/DaneIdentyfikacyjne/NIP"),
            text(root, "Podmiot2/DaneIdentyfikacyjne/Nazwa"),
            text(root, "Podmiot2/Adres/AdresL1"), text(root, "Podmiot2/Adres/AdresL2"),
            text(root, "Podmiot2/JST")) == (
        "5260250274", "Agencja Reklamowa Klient sp. z o.o.", "ul. Polna 7", "60-100 Poznań",
        "2")
    assert root.find("fa:Podmiot3", NS) is None
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        rows = {row["rate"]: row for row in invoice.vat_summary}
        expected = (invoice.number, invoice.issue_date.isoformat(),
                    invoice.due_date.isoformat(), str(invoice.gross))
    assert (text(root, "Fa/P_2"), text(root, "Fa/P_1"),
            text(root, "Fa/Platnosc/TerminPlatnosci/Termin"), text(root, "Fa/P_15")) == \
        expected
    assert text(root, "Fa/P_6") == "2026-02-27"
    assert (text(root, "Fa/KodWaluty"), text(root, "Fa/RodzajFaktury")) == ("PLN", "VAT")
    declared = {field: text(root, f"Fa/{field}") for field in (
        "P_13_1", "P_14_1", "P_13_2", "P_14_2", "P_13_3", "P_14_3", "P_13_6_1", "P_13_7",
        "P_13_8")}
    assert declared == {
        "P_13_1": rows["23"]["net"], "P_14_1": rows["23"]["vat"],
        "P_13_2": rows["8"]["net"], "P_14_2": rows["8"]["vat"],
        "P_13_3": rows["5"]["net"], "P_14_3": rows["5"]["vat"],
        "P_13_6_1": rows["0"]["net"], "P_13_7": rows["zw"]["net"], "P_13_8": rows["np"]["net"]}
    assert declared["P_13_1"] == "31.00" and declared["P_14_1"] == "7.13"
    assert (text(root, "Fa/Adnotacje/Zwolnienie/P_19"),
            text(root, "Fa/Adnotacje/Zwolnienie/P_19A")) == ("1", BASIS)
    assert texts(root, "Fa/FaWiersz/P_12") == ["23", "23", "8", "5", "0 KR", "zw", "np I"]
    assert texts(root, "Fa/FaWiersz/P_11") == ["10.50", "20.50", "2.97", "6.00", "100.00",
                                               "100.00", "50.00"]
    assert texts(root, "Fa/FaWiersz/P_8B")[5] == "2.5"
    assert text(root, "Fa/Platnosc/RachunekBankowy/NrRB") == "PL61109010140000071219812874"


def test_the_tax_is_the_rates_not_the_lines_summed(rt, world):
    # Three lines of 0,02 zł at 23% owe 0,01 zł: per line it would be nothing.
    line = {"description": "Naklejka", "quantity": "1", "unit_price": "0.02", "vat_rate": "23"}
    root = parsed(xml_of(rt, issued(rt, world, [line] * 3, client="firm")))
    assert (text(root, "Fa/P_13_1"), text(root, "Fa/P_14_1"), text(root, "Fa/P_15")) == (
        "0.06", "0.01", "0.07")
    assert root.find("fa:Fa/fa:FaWiersz/fa:P_11Vat", NS) is None


def test_gross_prices_are_written_as_gross_and_the_same_invoice_gives_the_same_document(
        rt, world):
    invoice_id = issued(rt, world, [{**BANNER, "unit_price": "1230.00"}], client="firm",
                        price_basis="gross")
    first = xml_of(rt, invoice_id)
    root = parsed(first)
    assert (text(root, "Fa/FaWiersz/P_9B"), text(root, "Fa/FaWiersz/P_11A")) == (
        "1230.00", "1230.00")
    assert root.find("fa:Fa/fa:FaWiersz/fa:P_9A", NS) is None
    assert (text(root, "Fa/P_13_1"), text(root, "Fa/P_14_1"), text(root, "Fa/P_15")) == (
        "1000.00", "230.00", "1230.00")
    assert xml_of(rt, invoice_id) == first


# --- Corrections, advances and final invoices -------------------------------------------

def test_a_correction_shows_the_lines_it_changes_before_and_after_and_the_differences(
        rt, world):
    original_id = issued(rt, world, EVERY_RATE[:3], client="firm")
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        correction = invoices.correct(s, s.get(Invoice, original_id), [
            {"position": 2, "quantity": "3"},
            {"description": "Projekt", "quantity": "1", "unit_price": "100", "vat_rate": "23"}],
            "Zła ilość plakatów", clerk)
        invoices.issue(s, rt.settings, correction, clerk, date(2026, 3, 9))
        correction_id = correction.id
        net, tax, gross = correction.net, correction.vat, correction.gross
    root = parsed(xml_of(rt, correction_id))
    assert text(root, "Fa/RodzajFaktury") == "KOR"
    assert text(root, "Fa/PrzyczynaKorekty") == "Zła ilość plakatów"
    assert (text(root, "Fa/DaneFaKorygowanej/DataWystFaKorygowanej"),
            text(root, "Fa/DaneFaKorygowanej/NrFaKorygowanej"),
            text(root, "Fa/DaneFaKorygowanej/NrKSeFN")) == ("2026-03-02", "FV/2026/0001", "1")
    # The unchanged lines are left out; the changed one is shown as it was and as it is.
    assert texts(root, "Fa/FaWiersz/P_7") == ["Plakaty B2", "Plakaty B2", "Projekt"]
    assert texts(root, "Fa/FaWiersz/P_8B") == ["1", "3", "1"]
    assert texts(root, "Fa/FaWiersz/StanPrzed") == ["1"]
    assert texts(root, "Fa/FaWiersz/NrWierszaFa") == ["1", "2", "3"]
    assert (text(root, "Fa/P_13_1"), text(root, "Fa/P_14_1"), text(root, "Fa/P_15")) == (
        str(net), str(tax), str(gross))
    assert (net, gross) == (D("141.00"), D("173.43"))
    assert root.find("fa:Fa/fa:Platnosc", NS) is None  # settled through the corrected one


def test_advance_and_final_invoices_are_zal_and_roz_and_the_final_declares_what_remains(
        rt, world):
    advance_id = issued(rt, world, [{**BANNER, "description": "Zaliczka na instalację"}],
                        client="firm", kind="advance")  # 1 230,00
    final_id = issued(rt, world, [{**BANNER, "description": "Instalacja", "unit_price": "4000"},
                                  {**BANNER, "description": "Szkolenie", "unit_price": "500",
                                   "vat_rate": "zw"}],
                      client="firm", kind="final", advance_ids=[advance_id],
                      issue_date=MARCH + timedelta(days=10))
    advance = parsed(xml_of(rt, advance_id))
    assert (text(advance, "Fa/RodzajFaktury"), text(advance, "Fa/P_13_1"),
            text(advance, "Fa/P_14_1"), text(advance, "Fa/P_15")) == (
        "ZAL", "1000.00", "230.00", "1230.00")
    final = parsed(xml_of(rt, final_id))
    assert text(final, "Fa/RodzajFaktury") == "ROZ"
    assert (text(final, "Fa/FakturaZaliczkowa/NrKSeFZN"),
            text(final, "Fa/FakturaZaliczkowa/NrFaZaliczkowej")) == ("1", "FV/2026/0001")
    # The lines are the whole order; the amounts what remains after the advance.
    assert texts(final, "Fa/FaWiersz/P_11") == ["4000.00", "500.00"]
    assert (text(final, "Fa/P_13_1"), text(final, "Fa/P_14_1"), text(final, "Fa/P_13_7"),
            text(final, "Fa/P_15")) == ("3000.00", "690.00", "500.00", "4190.00")
    with rt.session() as s:
        assert s.get(Invoice, final_id).to_pay == D("4190.00")
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        for original_id in (advance_id, final_id):
            correction = invoices.correct(s, s.get(Invoice, original_id),
                                          [{"position": 1, "unit_price": "900"}], "Rabat", clerk)
            invoices.issue(s, rt.settings, correction, clerk, date(2026, 3, 20))
        kinds = [c.id for c in s.scalars(select(Invoice).where(Invoice.kind == "correction")
                                         .order_by(Invoice.id))]
    assert [text(parsed(xml_of(rt, i)), "Fa/RodzajFaktury") for i in kinds] == [
        "KOR_ZAL", "KOR_ROZ"]


# --- Currency and parties ----------------------------------------------------------------

def test_an_invoice_in_euro_shows_the_tax_in_zloty_and_the_rate(rt, world):
    invoice_id = issued(rt, world, EVERY_RATE[:3], client="firm", currency="EUR",
                        exchange_rate="4.2563", exchange_rate_date=date(2026, 2, 27))
    root = parsed(xml_of(rt, invoice_id))
    with rt.session() as s:
        rows = {row["rate"]: row for row in s.get(Invoice, invoice_id).vat_summary}
    assert text(root, "Fa/KodWaluty") == "EUR"
    assert (text(root, "Fa/P_14_1"), text(root, "Fa/P_14_1W"), text(root, "Fa/P_14_2W")) == (
        "7.13", rows["23"]["vat_pln"], rows["8"]["vat_pln"])
    assert rows["23"]["vat_pln"] == "30.35"  # 7,13 € × 4,2563
    assert texts(root, "Fa/FaWiersz/KursWaluty") == ["4.2563"] * 3
    advance_id = issued(rt, world, [BANNER], client="firm", kind="advance", currency="EUR",
                        exchange_rate="4.3")
    advance = parsed(xml_of(rt, advance_id))
    assert (text(advance, "Fa/KursWalutyZ"), text(advance, "Fa/P_14_1W")) == ("4.3", "989.00")


def test_a_municipality_is_marked_jst_with_its_subordinate_unit_as_podmiot3(rt, world):
    invoice_id = issued(rt, world)  # Gmina Kórnik
    root = parsed(xml_of(rt, invoice_id))
    assert text(root, "Podmiot2/JST") == "1"
    assert (text(root, "Podmiot3/DaneIdentyfikacyjne/NIP"),
            text(root, "Podmiot3/DaneIdentyfikacyjne/Nazwa"), text(root, "Podmiot3/Rola")) == (
        "7773061579", "Gmina Kórnik", "8")
    school = ksef.JstUnit("Szkoła Podstawowa nr 1 w Kórniku", "9512345675", "ul. Szkolna 1",
                          "62-035", "Kórnik")
    named = parsed(xml_of(rt, invoice_id, unit=school))
    assert (text(named, "Podmiot2/DaneIdentyfikacyjne/NIP"),
            text(named, "Podmiot3/DaneIdentyfikacyjne/NIP"),
            text(named, "Podmiot3/DaneIdentyfikacyjne/Nazwa"),
            text(named, "Podmiot3/Adres/AdresL1"), text(named, "Podmiot3/Rola")) == (
        "7773061579", "9512345675", "Szkoła Podstawowa nr 1 w Kórniku", "ul. Szkolna 1", "8")
    plain = parsed(xml_of(rt, invoice_id, jst=False))
    assert text(plain, "Podmiot2/JST") == "2" and plain.find("fa:Podmiot3", NS) is None
    # A company's invoice flagged by hand: for the unit of a municipality it bills.
    flagged = parsed(xml_of(rt, issued(rt, world, client="firm"), jst=True))
    assert (text(flagged, "Podmiot2/JST"), text(flagged, "Podmiot3/Rola")) == ("1", "8")


def test_a_person_without_a_nip_and_a_municipality_without_an_address(rt, world):
    person = parsed(xml_of(rt, issued(rt, world, person_id=world["anna"])))
    assert (text(person, "Podmiot2/DaneIdentyfikacyjne/BrakID"),
            text(person, "Podmiot2/DaneIdentyfikacyjne/Nazwa"),
            text(person, "Podmiot2/Adres/AdresL1")) == ("1", "Anna Nowak", "ul. Polna 3")
    mosina = parsed(xml_of(rt, issued(rt, world, client="mosina")))
    assert text(mosina, "Podmiot2/DaneIdentyfikacyjne/BrakID") == "1"
    assert text(mosina, "Podmiot2/Adres/AdresL1") == "Mosina"


# --- What has no document ----------------------------------------------------------------

def test_a_draft_a_pro_forma_a_settlement_note_and_a_cancelled_invoice_are_refused(rt, world):
    with rt.session() as s, s.begin():
        draft_id = draft(s, world).id
    assert refusal(rt, draft_id) == {"status": "A draft has no KSeF document; issue it first."}
    for kind in ("proforma", "settlement"):
        assert set(refusal(rt, issued(rt, world, kind=kind))) == {"kind"}
    settlement_id, cancelled = issued(rt, world, kind="settlement"), issued(rt, world)
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        correction = invoices.correct(s, s.get(Invoice, settlement_id),
                                      [{"position": 1, "quantity": "2"}], "x", clerk)
        invoices.issue(s, rt.settings, correction, clerk, MARCH)
        correction_id = correction.id
        invoices.cancel(s, s.get(Invoice, cancelled), "Pomyłka", clerk)
    assert set(refusal(rt, correction_id)) == {"kind"}
    assert refusal(rt, cancelled) == {"status": "A cancelled invoice has no KSeF document."}


def test_what_the_seller_details_lack_is_named(rt, world, kartoteka_app_factory):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        invoice = s.get(Invoice, invoice_id)
        invoice.seller = {"name": "Drukarnia Test", "details": ["ul. Długa 1"]}
    assert "NIP" in refusal(rt, invoice_id)["seller"]
    with rt.session() as s, s.begin():
        s.get(Invoice, invoice_id).seller = {"name": "Drukarnia Test",
                                             "details": ["NIP 777-306-15-78", "ul. Długa 1"]}
    assert "wrong" in refusal(rt, invoice_id)["seller"]
    with rt.session() as s, s.begin():
        s.get(Invoice, invoice_id).seller = {"name": "Drukarnia Test",
                                             "details": ["NIP 7773061579"]}
    assert "address" in refusal(rt, invoice_id)["seller"]


def test_exempt_lines_need_the_legal_basis_of_the_exemption(rt, world):
    import dataclasses

    invoice_id = issued(rt, world, EVERY_RATE[5:6], client="firm")
    with rt.session() as s:
        without = dataclasses.replace(rt.settings, vat_exemption_basis="")
        with pytest.raises(ValidationError) as refused:
            ksef.invoice_xml(s, without, s.get(Invoice, invoice_id))
    assert set(refused.value.errors) == {"vat_exemption_basis"}


def test_a_document_the_schema_refuses_raises_and_is_not_returned(rt, world, monkeypatch):
    invoice_id = issued(rt, world, client="firm")
    monkeypatch.setitem(ksef.RATES, "23", ("24", "P_13_1", "P_14_1", "P_14_1W"))
    with pytest.raises(ksef.InvalidDocument) as refused:
        xml_of(rt, invoice_id)
    message = refused.value.errors["invoice"]
    assert message.startswith("FV/2026/0001: the KSeF document does not satisfy the FA(3) "
                              "schema") and "P_12" in message
    with pytest.raises(ksef.InvalidDocument):
        ksef.validate(b"<Faktura xmlns='http://crd.gov.pl/wzor/2025/06/25/13775/'/>")

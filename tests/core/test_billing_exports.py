"""Accounting exports: the month's issued documents and the organisations they bill as
CSV that Polish accounting programs import (BOM, semicolons, decimal commas) and as
JSON, the VAT invoices as a ZIP of KSeF FA(3) XML; from the staff page, the API and the
command line; only what the user may see, only for who may bill, bad input named per
field, and every export in the audit trail."""

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from api_helpers import callers
from ksef_client.documents.fa3 import validate_fa3_xml_xsd
from sqlalchemy import select

from billing_helpers import BANNER, COMPANY, PASSWORD, draft, issued, make_world, user
from core import accounting_exports, invoices, organisations
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, Invoice, UsageEvent

D = Decimal
SETTINGS = {**COMPANY, "vat_exemption_basis": "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"}
MIXED = [{"description": "Ulotki A5", "quantity": "2", "unit_price": "10.50", "vat_rate": "23"},
         {"description": "Książka", "quantity": "3", "unit_price": "0.99", "vat_rate": "8"},
         {"description": "Szkolenie", "quantity": "2.5", "unit": "h", "unit_price": "40",
          "vat_rate": "zw"}]
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
PERIOD = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **SETTINGS)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    """March's documents, in the order of issue: an invoice at three rates to Gmina
    Kórnik, a pro forma to Gmina Mosina, one cancelled, one in euro to a firm, one to a
    person, the first one's correction; a draft; an invoice of April to another firm."""
    found = make_world(rt)
    with rt.session() as s, s.begin():
        for key, name, nip in (("firm", "Agencja Klient sp. z o.o.", "5260250274"),
                               ("april", "Kwietniowa sp. z o.o.", "5250001233")):
            found[key] = organisations.create(s, rt.host, {
                "name": name, "type_key": "core.company", "nip": nip, "street": "ul. Polna 7",
                "postal_code": "60-100", "city": "Poznań", "regon": ""}).id
    ids = found["invoices"] = {}
    ids["mixed"] = issued(rt, found, MIXED, issue_date=date(2026, 3, 2))
    ids["proforma"] = issued(rt, found, client="mosina", kind="proforma",
                             issue_date=date(2026, 3, 3))
    ids["cancelled"] = issued(rt, found, client="firm", issue_date=date(2026, 3, 4))
    ids["euro"] = issued(rt, found, MIXED[:1], client="firm", currency="EUR",
                         exchange_rate="4.2563", issue_date=date(2026, 3, 5))
    ids["anna"] = issued(rt, found, person_id=found["anna"], issue_date=date(2026, 3, 6))
    with rt.session() as s, s.begin():
        clerk = user(s, found, "clerk")
        invoices.cancel(s, s.get(Invoice, ids["cancelled"]), "Pomyłka", clerk)
        correction = invoices.correct(s, s.get(Invoice, ids["mixed"]),
                                      [{"position": 1, "quantity": "3"}], "Więcej ulotek", clerk)
        invoices.issue(s, rt.settings, correction, clerk, date(2026, 3, 9))
        ids["correction"] = correction.id
        ids["draft"] = draft(s, found, issue_date=date(2026, 3, 10)).id
    ids["april"] = issued(rt, found, client="april", issue_date=date(2026, 4, 1))
    return found


def export(rt, world, key: str, by: str = "clerk", period=MARCH, ids=None) -> bytes:
    stream = io.BytesIO()
    with rt.session() as s, s.begin():
        selection = accounting_exports.Selection(*period, user(s, world, by), rt.settings,
                                                 ids=ids)
        accounting_exports.run(s, rt.host, key, selection, stream)
    return stream.getvalue()


def csv_rows(data: bytes) -> tuple[list[str], list[dict]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel and Optima read UTF-8 by
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
    return reader.fieldnames, list(reader)


def stored(rt, invoice_id: int) -> Invoice:
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        s.expunge(invoice)
        return invoice


# --- What the files hold -----------------------------------------------------------------

def test_the_csv_has_a_row_per_issued_document_with_decimal_commas(rt, world):
    headers, rows = csv_rows(export(rt, world, "core.invoices_csv"))
    assert headers == accounting_exports.INVOICE_COLUMNS
    assert [(r["number"], r["kind"], r["status"]) for r in rows] == [
        ("FV/2026/0001", "invoice", "issued"), ("PF/2026/0001", "proforma", "issued"),
        ("FV/2026/0002", "invoice", "cancelled"), ("FV/2026/0003", "invoice", "issued"),
        ("FV/2026/0004", "invoice", "issued"), ("KOR/2026/0001", "correction", "issued")]
    mixed = rows[0]
    assert {k: mixed[k] for k in ("issue_date", "buyer_code", "buyer_name", "buyer_nip",
                                  "buyer_postal_code", "buyer_city", "currency", "net", "vat",
                                  "gross", "net_23", "vat_23", "net_8", "vat_8", "net_zw",
                                  "vat_5", "net_np")} == {
        "issue_date": "2026-03-02", "buyer_code": f"ORG-{world['kornik']}",
        "buyer_name": "Gmina Kórnik", "buyer_nip": "7773061579", "buyer_postal_code": "62-035",
        "buyer_city": "Kórnik", "currency": "PLN", "net": "123,97", "vat": "5,07",
        "gross": "129,04", "net_23": "21,00", "vat_23": "4,83", "net_8": "2,97",
        "vat_8": "0,24", "net_zw": "100,00", "vat_5": "", "net_np": ""}
    assert "vat_zw" not in headers and "vat_np" not in headers
    correction = rows[-1]
    assert (correction["corrected_number"], correction["correction_reason"], correction["net"],
            correction["vat_23"], correction["to_pay"]) == (
        "FV/2026/0001", "Więcej ulotek", "10,50", "2,42", "0,00")
    euro = rows[3]
    assert (euro["currency"], euro["exchange_rate"], euro["vat"], euro["vat_pln"]) == (
        "EUR", "4,2563", "4,83", "20,56")
    assert rows[4]["buyer_code"] == f"PER-{world['anna']}" and rows[4]["buyer_nip"] == ""


def test_the_json_matches_the_ledgers_totals_rows_and_lines(rt, world):
    data = json.loads(export(rt, world, "core.invoices_json"))
    assert (data["exporter"], data["from"], data["to"]) == (
        "core.invoices_json", "2026-03-01", "2026-03-31")
    found = {item["number"]: item for item in data["invoices"]}
    assert len(found) == 6 and "FV/2026/0005" not in found  # April's
    for key in ("mixed", "proforma", "euro", "anna", "correction"):
        invoice = stored(rt, world["invoices"][key])
        item = found[invoice.number]
        assert (item["net"], item["vat"], item["gross"]) == (
            str(invoice.net), str(invoice.vat), str(invoice.gross))
        for part in ("net", "vat", "gross"):
            assert sum(D(row[part]) for row in item["vat_summary"]) == D(item[part])
    mixed = found["FV/2026/0001"]
    assert [(line["description"], line["quantity"], line["vat_rate"]) for line in
            mixed["lines"]] == [("Ulotki A5", "2.0000", "23"), ("Książka", "3.0000", "8"),
                                ("Szkolenie", "2.5000", "zw")]
    assert mixed["buyer"]["nip"] == "7773061579"
    assert found["KOR/2026/0001"]["corrects"] == "FV/2026/0001"
    assert found["FV/2026/0003"]["vat_summary"][0]["vat_pln"] == "20.56"


def test_a_final_invoice_names_the_advances_it_deducts(rt, world):
    advance_id = issued(rt, world, client="firm", kind="advance", issue_date=date(2026, 3, 20))
    issued(rt, world, [{**BANNER, "unit_price": "4000"}], client="firm", kind="final",
           advance_ids=[advance_id], issue_date=date(2026, 3, 25))
    headers, rows = csv_rows(export(rt, world, "core.invoices_csv"))
    final = rows[-1]
    assert (final["kind"], final["advance_numbers"], final["advances_gross"], final["gross"],
            final["to_pay"]) == ("final", "FV/2026/0006", "1230,00", "4920,00", "3690,00")


def test_the_organisations_are_those_billed_in_the_period(rt, world):
    headers, rows = csv_rows(export(rt, world, "core.organisations_csv"))
    assert headers == accounting_exports.ORGANISATION_COLUMNS
    assert [(r["code"], r["name"], r["nip"]) for r in rows] == [
        (f"ORG-{world['firm']}", "Agencja Klient sp. z o.o.", "5260250274"),
        (f"ORG-{world['kornik']}", "Gmina Kórnik", "7773061579"),
        (f"ORG-{world['mosina']}", "Gmina Mosina", "")]
    assert (rows[1]["street"], rows[1]["type"]) == ("Plac Niepodległości 1", "core.municipality")
    listed = json.loads(export(rt, world, "core.organisations_json", period=(
        date(2026, 4, 1), date(2026, 4, 30))))
    assert [org["name"] for org in listed["organisations"]] == ["Kwietniowa sp. z o.o."]


def test_the_ksef_zip_holds_the_months_vat_invoices_each_valid(rt, world):
    archive = zipfile.ZipFile(io.BytesIO(export(rt, world, "core.ksef_fa3")))
    assert archive.namelist() == ["FV_2026_0001.xml", "FV_2026_0003.xml", "FV_2026_0004.xml",
                                  "KOR_2026_0001.xml"]
    for name in archive.namelist():
        validate_fa3_xml_xsd(archive.read(name))
    assert b"<RodzajFaktury>KOR</RodzajFaktury>" in archive.read("KOR_2026_0001.xml")


def test_text_a_spreadsheet_would_run_is_made_inert(rt, world):
    with rt.session() as s, s.begin():
        s.get(Invoice, world["invoices"]["mixed"]).buyer = {
            **s.get(Invoice, world["invoices"]["mixed"]).buyer, "name": "=HYPERLINK(1)"}
    _headers, rows = csv_rows(export(rt, world, "core.invoices_csv"))
    assert rows[0]["buyer_name"] == "'=HYPERLINK(1)"


# --- Who may, and the trail --------------------------------------------------------------

def test_only_who_may_bill_exports_and_only_what_they_may_see(rt, world):
    with pytest.raises(Forbidden):
        export(rt, world, "core.invoices_csv", by="rep")
    _headers, rows = csv_rows(export(rt, world, "core.invoices_csv", by="loner"))
    assert rows == []
    with rt.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "export")
                         .order_by(AuditEntry.id.desc()))
        assert (entry.record_type, entry.changes["exporter"], entry.changes["rows"],
                entry.changes["from"]) == ("invoice", "core.invoices_csv", 0, "2026-03-01")
        assert s.scalar(select(UsageEvent.record_type).where(UsageEvent.kind == "export")) \
            == "invoice"


def test_chosen_documents_instead_of_a_period(rt, world):
    chosen = (world["invoices"]["euro"], world["invoices"]["april"])
    _headers, rows = csv_rows(export(rt, world, "core.invoices_csv", ids=chosen))
    assert [r["number"] for r in rows] == ["FV/2026/0003", "FV/2026/0005"]


def test_a_bad_period_is_named_per_field(app):
    for data, errors in (
            ({}, {"from": "Enter the first day of the period.",
                  "to": "Enter the last day of the period."}),
            ({"from": "2026-02-30", "to": "marzec"}, {"from": "Enter a date, such as 2026-03-01.",
                                                     "to": "Enter a date, such as 2026-03-31."}),
            ({"from": "2026-03-31", "to": "2026-03-01"}, {
                "to": "The period ends before it starts."})):
        with pytest.raises(ValidationError) as refused:
            accounting_exports.period(data)
        assert refused.value.errors == errors
    assert accounting_exports.last_month(date(2026, 1, 15)) == (date(2025, 12, 1),
                                                                date(2025, 12, 31))


# --- The API -----------------------------------------------------------------------------

@pytest.fixture
def staff(app, rt):
    return callers(app, rt, accountant=dict(permissions=["core.billing"]), reader=dict())


def test_the_api_lists_the_exports_and_answers_the_file(staff, world):
    listed = staff.accountant("get", "/exports/")
    assert listed.status_code == 200
    assert [e["key"] for e in listed.get_json()] == [
        "core.invoices_csv", "core.invoices_json", "core.organisations_csv",
        "core.organisations_json", "core.ksef_fa3"]
    response = staff.accountant("get", f"/exports/core.invoices_csv?{PERIOD}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=invoices_csv-2026-03-01-2026-03-31.csv"
    _headers, rows = csv_rows(response.data)
    assert len(rows) == 6
    as_json = staff.accountant("get", f"/exports/core.invoices_json?{PERIOD}")
    assert as_json.mimetype == "application/json" and len(as_json.get_json()["invoices"]) == 6
    archive = staff.accountant("get", f"/exports/core.ksef_fa3?{PERIOD}")
    assert archive.mimetype == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == 4


def test_the_api_names_bad_input_per_field_and_refuses_who_may_not_bill(staff, world):
    bad = staff.accountant("get", "/exports/core.invoices_csv?from=2026-03-31&to=2026-03-01")
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {"to": "The period ends before it starts."}
    missing = staff.accountant("get", "/exports/core.invoices_csv?from=wczoraj")
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"from": "Enter a date, such as 2026-03-01.",
                                            "to": "Enter the last day of the period."}
    assert staff.accountant("get", f"/exports/core.nothing?{PERIOD}").status_code == 404
    assert staff.reader("get", f"/exports/core.invoices_csv?{PERIOD}").status_code == 403


def test_the_api_answers_one_invoices_ksef_xml(staff, world):
    ids = world["invoices"]
    response = staff.reader("get", f"/invoices/{ids['mixed']}/ksef")  # reading: who sees it
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="FV_2026_0001.xml"'
    validate_fa3_xml_xsd(response.data)
    assert b"<JST>1</JST>" in response.data
    unit = staff.reader("get", f"/invoices/{ids['mixed']}/ksef?unit_nip=951-234-56-75"
                            "&unit_name=Szkoła Podstawowa nr 1")
    assert b"<NIP>9512345675</NIP>" in unit.data and b"<Rola>8</Rola>" in unit.data
    plain = staff.reader("get", f"/invoices/{ids['mixed']}/ksef?jst=false")
    assert b"<JST>2</JST>" in plain.data and b"Podmiot3" not in plain.data
    proforma = staff.reader("get", f"/invoices/{ids['proforma']}/ksef")
    assert proforma.status_code == 422 and set(proforma.get_json()["errors"]) == {"kind"}
    drafted = staff.reader("get", f"/invoices/{ids['draft']}/ksef")
    assert drafted.get_json()["errors"] == {
        "status": "A draft has no KSeF document; issue it first."}
    bad = staff.reader("get", f"/invoices/{ids['mixed']}/ksef?unit_nip=123&jst=maybe")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"unit_nip", "jst"}
    assert staff.reader("get", "/invoices/987654/ksef").status_code == 404


def test_the_exports_are_in_the_openapi_document(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    export = spec["paths"]["/api/v1/exports/{key}"]["get"]
    assert {p["name"] for p in export["parameters"] if p["in"] == "query"} == {"from", "to"}
    assert {"text/csv", "application/json", "application/zip"} <= set(
        export["responses"]["200"]["content"])
    assert {"403", "404", "422"} <= set(export["responses"])
    one = spec["paths"]["/api/v1/invoices/{invoice_id}/ksef"]["get"]
    assert list(one["responses"]["200"]["content"]) == ["application/xml"]
    assert one["tags"] == ["invoices"]


# --- The staff page ----------------------------------------------------------------------

@pytest.fixture
def clerk(app, world, kartoteka_login):
    return kartoteka_login(app.test_client(), "clerk@example.com", PASSWORD)


def test_the_page_offers_the_exports_for_last_month(clerk):
    page = clerk.get("/billing/exports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="exporter"' in html and "Issued documents: JSON" in html
    assert "Organisations billed: CSV for accounting programs" in html
    assert 'type="date"' in html


def test_the_page_downloads_the_export(clerk):
    response = clerk.get(f"/billing/exports/?exporter=core.invoices_csv&{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    _headers, rows = csv_rows(response.data)
    assert [r["number"] for r in rows][:2] == ["FV/2026/0001", "PF/2026/0001"]


def test_bad_input_on_the_page_is_named_at_each_field(clerk):
    page = clerk.get("/billing/exports/?exporter=core.nothing&from=2026-03-31&to=2026-03-01")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert '<span class="error" id="e-exporter">Choose one of the exports.</span>' in html
    assert '<span class="error" id="e-to">The period ends before it starts.</span>' in html
    assert 'value="2026-03-31"' in html  # what was typed stays
    missing = clerk.get("/billing/exports/?exporter=core.invoices_csv&from=&to=x")
    assert "Enter the first day of the period." in missing.get_data(as_text=True)


def test_the_page_needs_the_billing_permission(app, world, kartoteka_login):
    rep = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    assert rep.get("/billing/exports/").status_code == 403
    ids = world["invoices"]
    assert rep.get(f"/billing/exports/invoices/{ids['mixed']}/ksef.xml").status_code == 403


def test_one_invoices_ksef_xml_from_the_page_or_why_not(clerk, world):
    ids = world["invoices"]
    response = clerk.get(f"/billing/exports/invoices/{ids['euro']}/ksef.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    validate_fa3_xml_xsd(response.data)
    refused = clerk.get(f"/billing/exports/invoices/{ids['proforma']}/ksef.xml",
                        headers={"Referer": "/billing/invoices/"})
    assert (refused.status_code, refused.headers["Location"]) == (303, "/billing/invoices/")
    shown = clerk.get("/billing/exports/").get_data(as_text=True)
    assert "A pro forma or a settlement note is not a VAT invoice" in shown


# --- The command line --------------------------------------------------------------------

def test_the_command_line_writes_the_export(cli, world, tmp_path):
    listed = cli("billing", "exporters")
    assert listed.returncode == 0 and "core.ksef_fa3" in listed.stdout
    out = tmp_path / "marzec.csv"
    done = cli("billing", "export", "--format", "core.invoices_csv", "--from", "2026-03-01",
               "--to", "2026-03-31", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Wrote {out}: 6 from 2026-03-01 to 2026-03-31."
    _headers, rows = csv_rows(out.read_bytes())
    assert rows[0]["number"] == "FV/2026/0001"
    bad = cli("billing", "export", "--format", "core.invoices_csv", "--from", "2026-03-31",
              "--to", "luty")
    # In the installation's language, as the staff pages speak it.
    assert bad.returncode == 1 and "--to: Wpisz datę, np. 2026-03-31." in bad.stderr
    unknown = cli("billing", "export", "--format", "xls", "--from", "2026-03-01",
                  "--to", "2026-03-31")
    assert unknown.returncode == 1 and "Unknown export: xls" in unknown.stderr

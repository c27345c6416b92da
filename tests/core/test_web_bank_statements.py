"""Bank statements on the staff pages and through the API: the first CSV file of a bank
mapped on its first rows and the mapping remembered, the result with its counts, the
review of what was not matched for sure, and refusals named field by field in the
user's language."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from api_helpers import callers, created
from bank_helpers import (
    COLUMNS,
    KORNIK_IBAN,
    csv_bank,
    csv_file,
    details,
    mt940_file,
    row,
)
from sqlalchemy import func, select

from billing_helpers import COMPANY, PASSWORD, issued, make_world, user
from core import bank_statements
from core.models import BankProfile, BankStatement, BankStatementLine, Invoice, Payment
from page_helpers import flashes, show, text

D = Decimal
ABOVE = [["Bank Spółdzielczy w Kórniku"], ["Historia rachunku 01.03.2026 - 31.03.2026"], []]
STATEMENT = [
    row("10.03.2026", "GMINA KÓRNIK PLAC NIEPODLEGŁOŚCI 1", KORNIK_IBAN,
        "Zapłata za FV/2026/0001", "1 230,00", "BS-1"),
    row("11.03.2026", "Jan Kowalski", "", "przelew", "615,00", "BS-2"),
    row("12.03.2026", "Fundacja Święta", "", "darowizna", "40,00", "BS-3"),
    row("12.03.2026", "PGE Obrót", "", "Energia 03/2026", "-312,45", "BS-4"),
]
SMALL = {"description": "Baner 2x1 m", "quantity": "1", "unit": "szt.",
         "unit_price": "500.00", "vat_rate": "23"}  # 615,00 gross
URL = "/billing/bank-statements"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def world(rt):
    return make_world(rt)


@pytest.fixture
def clerk(app, world, kartoteka_login):
    return kartoteka_login(app.test_client(), "clerk@example.com", PASSWORD)


def upload(client, data: bytes, filename="wyciag.csv", **form):
    return client.post(f"{URL}/upload", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def status(rt, invoice_id) -> str:
    with rt.session() as s:
        return s.get(Invoice, invoice_id).status


def count(rt, model) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def mapping_form(page: str, **changed) -> dict:
    """The mapping screen's form as it was shown, with ``changed`` fields."""
    form = {"encoding": "auto", "delimiter": "auto", "decimal_separator": ",",
            "date_format": "auto", "currency": "PLN",
            "skip_rows": re.search(r'name="skip_rows"[^>]*value="(\d+)"', page).group(1)}
    for number, chosen in re.findall(
            r'<select id="map-(\d+)" name="map-\d+"[^>]*>.*?(?:<option value="(\w+)" selected>'
            r'|</select>)', page, re.S):
        form[f"map-{number}"] = chosen
    return {**form, **changed}


# ------------------------------------------------------------------ the first file


def test_a_new_banks_csv_is_mapped_once_and_its_mapping_remembered(app, rt, world, clerk):
    first = issued(rt, world)
    second = issued(rt, world, [SMALL], client="mosina")
    assert "A new bank" in show(clerk, f"{URL}/upload")
    data = csv_file(STATEMENT, above=ABOVE)
    answer = upload(clerk, data, profile_id="new", name="Bank Spółdzielczy w Kórniku",
                    format="csv")
    assert answer.status_code == 302 and "/map/" in answer.location
    page = show(clerk, answer.location)
    assert "GMINA KÓRNIK PLAC NIEPODLEGŁOŚCI 1" in page and "Zapłata za FV/2026/0001" in page
    assert count(rt, BankProfile) == 0  # kept with its first statement
    form = mapping_form(page, action="import")
    assert form["skip_rows"] == "3"  # the bank's title rows above the headers
    assert [form[f"map-{n}"] for n in range(7)] == ["date", "payer", "account", "title",
                                                    "amount", "currency", "transaction_id"]
    answer = clerk.post(answer.location, data=form)
    assert answer.status_code == 302, text(answer)
    page = show(clerk, answer.location)
    assert "The columns are remembered for Bank Spółdzielczy w Kórniku" in " ".join(
        flashes(page))
    assert re.search(r'data-count="matched">1<', page)
    assert re.search(r'data-count="suggested">1<', page)
    assert re.search(r'data-count="debit">1<', page)
    assert status(rt, first) == "paid" and status(rt, second) == "issued"
    with rt.session() as s:
        profile = s.scalar(select(BankProfile))
        assert (profile.name, profile.skip_rows, profile.columns) == (
            "Bank Spółdzielczy w Kórniku", 3, COLUMNS)
        profile_id = profile.id
    # The bank's next statement needs no mapping.
    later = csv_file([row("20.03.2026", "Ktoś", "", "FV/2026/0002", "615,00", "BS-9")],
                     above=ABOVE)
    answer = upload(clerk, later, "kwiecien.csv", profile_id=str(profile_id))
    assert answer.status_code == 302 and "/map/" not in answer.location
    assert "kwiecien.csv" in show(clerk, answer.location)
    assert status(rt, second) == "paid"
    # Asked to, it is mapped again.
    answer = upload(clerk, later, "kwiecien.csv", profile_id=str(profile_id), remap="1")
    assert "/map/" in answer.location


def test_a_mapping_that_leaves_out_what_is_needed_imports_nothing(app, rt, world, clerk):
    answer = upload(clerk, csv_file(STATEMENT), profile_id="new", name="Nowy bank",
                    format="csv")
    page = show(clerk, answer.location)
    form = mapping_form(page, action="import")
    form["map-4"] = ""  # the amount's column skipped
    refused = clerk.post(answer.location, data=form)
    assert refused.status_code == 422
    assert "Map a column to Amount, or to Credit (and Debit)." in text(refused)
    # A wrong encoding is said on the same screen, with the settings kept as chosen.
    refused = clerk.post(answer.location, data={**form, "encoding": "utf-8",
                                                "action": "reread"})
    assert refused.status_code == 422
    assert "The file is not UTF-8 text" in text(refused)
    refused = clerk.post(answer.location, data={**form, "skip_rows": "dużo",
                                                "action": "import"})
    assert "Enter a number of rows from 0 to 100." in text(refused)
    assert (count(rt, BankProfile), count(rt, BankStatement), count(rt, Payment)) == (0, 0, 0)


def test_an_upload_is_refused_field_by_field(app, rt, world, clerk):
    with rt.session() as s, s.begin():
        mt940 = bank_statements.create_profile(s, {"name": "PKO BP", "format": "mt940"},
                                               user(s, world, "clerk")).id
    refused = clerk.post(f"{URL}/upload", data={"profile_id": "new", "name": ""},
                         content_type="multipart/form-data")
    assert refused.status_code == 422
    page = text(refused)
    assert "Choose the statement's file." in page and "Name the bank." in page
    refused = upload(clerk, b"%PDF-1.4 binary", "wyciag.pdf", profile_id=str(mt940))
    assert refused.status_code == 422
    assert "This is a PDF, not a bank statement" in text(refused)
    refused = upload(clerk, csv_file(STATEMENT), profile_id=str(mt940))
    assert "This is not an MT940 statement" in text(refused)
    assert count(rt, BankStatement) == 0


def test_a_bank_whose_columns_changed_is_mapped_again(app, rt, world, clerk):
    with rt.session() as s, s.begin():
        profile_id = csv_bank(s, world, columns={**COLUMNS, "title": ["Tytułem"]}).id
    answer = upload(clerk, csv_file(STATEMENT), profile_id=str(profile_id))
    assert answer.status_code == 302 and "/map/" in answer.location
    page = show(clerk, answer.location)
    assert "do not fit what is remembered for this bank" in " ".join(flashes(page))
    assert count(rt, BankStatement) == 0


def test_messages_come_in_the_users_language(kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(**COMPANY)  # Polish
    rt = app.extensions["kartoteka"]
    world = make_world(rt)
    client = kartoteka_login(app.test_client(), "clerk@example.com", PASSWORD)
    with rt.session() as s, s.begin():
        profile_id = csv_bank(s, world).id
    broken = csv_file([row("10.03.2026", "A", "", "x", "1,00")]) + b'11.03.2026;"Nowak;\r\n'
    refused = upload(client, broken, profile_id=str(profile_id))
    assert refused.status_code == 422
    assert "Nie da się odczytać tego wiersza ani żadnego po nim" in text(refused)


# ------------------------------------------------------------------ review


@pytest.fixture
def imported(rt, world) -> dict:
    """A statement: a sure match, a suggestion (amount only), an unmatched line, a
    debit; and two open invoices besides."""
    found = {"paid": issued(rt, world), "suggested": issued(rt, world, [SMALL]),
             "other": issued(rt, world, [{**SMALL, "unit_price": "300.00"}],
                             client="mosina")}
    with rt.session() as s, s.begin():
        profile = csv_bank(s, world)
        statement = bank_statements.import_statement(s, profile, "marzec.csv",
                                                     csv_file(STATEMENT),
                                                     user(s, world, "clerk"))
        found["statement"] = statement.id
        found["lines"] = [line.id for line in statement.lines]
    return found


def test_the_result_shows_what_became_of_each_line(app, rt, world, clerk, imported):
    page = show(clerk, f"{URL}/{imported['statement']}")
    assert "marzec.csv" in page and "FV/2026/0001" in page
    assert "The title names FV/2026/0001, and the amount is what it owes." in page
    assert "Money going out: never a payment." in page
    assert re.search(r'data-count="lines">4<', page)
    index = show(clerk, f"{URL}/")
    assert "marzec.csv" in index and "2 lines wait for review" in index


def test_review_confirms_pays_records_and_ignores(app, rt, world, clerk, imported):
    review = f"{URL}/review?statement={imported['statement']}"
    page = show(clerk, review)
    _paid, suggested, unmatched, _debit = imported["lines"]
    assert f'data-line="{suggested}"' in page and f'data-line="{unmatched}"' in page
    assert "Nothing names the payer; FV/2026/0002 is the one open invoice" in page
    # Confirming the suggestion pays the invoice.
    answer = clerk.post(f"{URL}/lines/{suggested}/confirm", data={"back": review})
    assert answer.status_code == 302 and answer.location.endswith(review)
    assert status(rt, imported["suggested"]) == "paid"
    # The other line: an invoice found by number is offered, and paid partly.
    page = show(clerk, f"{review}&line={unmatched}&q=fv+2026+3")
    assert "FV/2026/0003" in page and "Gmina Mosina" in page
    answer = clerk.post(f"{URL}/lines/{unmatched}/pay", data={
        "invoice_id": str(imported["other"]), "back": review})
    assert "matched" in " ".join(flashes(show(clerk, answer.location)))
    assert status(rt, imported["other"]) == "partly_paid"
    # Decided lines leave the review, and cannot be decided again.
    assert "Nothing waits for review." in show(clerk, review)
    again = clerk.post(f"{URL}/lines/{unmatched}/ignore", data={"back": review})
    assert "This line is matched already" in " ".join(flashes(show(clerk, again.location)))
    with rt.session() as s:
        statement = s.get(BankStatement, imported["statement"])
        assert (statement.counts["matched"], statement.counts["suggested"],
                statement.counts["unmatched"]) == (3, 0, 0)


def test_a_line_is_recorded_for_a_payer_or_ignored(app, rt, world, clerk, imported):
    _paid, suggested, unmatched, debit = imported["lines"]
    page = show(clerk, f"{URL}/review?line={unmatched}&q=Mosina")
    assert "Record as their payment, without an invoice" in page
    clerk.post(f"{URL}/lines/{unmatched}/record", data={"organisation_id": str(world["mosina"])})
    clerk.post(f"{URL}/lines/{suggested}/ignore", data={"note": "Zwrot kaucji"})
    answer = clerk.post(f"{URL}/lines/{debit}/ignore")
    assert "money going out" in " ".join(flashes(show(clerk, answer.location)))
    with rt.session() as s:
        recorded = s.get(BankStatementLine, unmatched)
        payment = s.get(Payment, recorded.payment_id)
        assert (recorded.status, payment.organisation_id, payment.allocated) == (
            "recorded", world["mosina"], D("0"))
        ignored = s.get(BankStatementLine, suggested)
        assert (ignored.status, ignored.note, ignored.payment_id) == ("ignored",
                                                                      "Zwrot kaucji", None)
    assert status(rt, imported["suggested"]) == "issued"


def test_the_pages_need_the_billing_permission(app, rt, world, kartoteka_login, imported):
    rep = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    for path in ("/", "/upload", f"/{imported['statement']}", "/review"):
        assert rep.get(f"{URL}{path}").status_code == 403, path
    assert rep.post(f"{URL}/lines/{imported['lines'][1]}/confirm").status_code == 403
    assert status(rt, imported["suggested"]) == "issued"


def test_a_banks_settings_are_changed_and_its_mapping_forgotten(app, rt, world, clerk):
    with rt.session() as s, s.begin():
        profile_id = csv_bank(s, world).id
    page = show(clerk, f"{URL}/banks/{profile_id}")
    assert "Tytuł" in page
    refused = clerk.post(f"{URL}/banks/{profile_id}", data={
        "name": "Bank", "encoding": "latin-9", "delimiter": ";", "decimal_separator": ",",
        "date_format": "auto", "skip_rows": "0", "currency": "PLN"})
    assert refused.status_code == 422 and "Choose an encoding from the list." in text(refused)
    answer = clerk.post(f"{URL}/banks/{profile_id}", data={
        "name": "BS Kórnik", "encoding": "cp1250", "delimiter": ";", "decimal_separator": ",",
        "date_format": "%d.%m.%Y", "skip_rows": "2", "currency": "PLN",
        "forget_columns": "1"})
    assert answer.status_code == 302
    with rt.session() as s:
        profile = s.get(BankProfile, profile_id)
        assert (profile.name, profile.encoding, profile.skip_rows, profile.columns) == (
            "BS Kórnik", "cp1250", 2, {})


# ------------------------------------------------------------------ the API


@pytest.fixture
def staff(app, rt, world):
    return callers(app, rt, bookkeeper=dict(permissions=["core.billing"]), seller=dict())


def post_statement(api, data: bytes, profile_id, filename="wyciag.sta", **headers):
    return api("post", "/bank-statements/", data={"file": (io.BytesIO(data), filename),
                                                  "profile_id": str(profile_id)},
               content_type="multipart/form-data", headers=headers)


def test_a_statement_is_imported_and_reviewed_through_the_api(app, rt, world, staff):
    first = issued(rt, world)
    second = issued(rt, world, [SMALL])
    bank = created(staff.bookkeeper("post", "/bank-statements/banks", json={
        "name": "PKO BP", "format": "mt940"}))
    assert [b["name"] for b in staff.bookkeeper("get", "/bank-statements/banks").get_json()] \
        == ["PKO BP"]
    data = mt940_file([
        (date(2026, 3, 10), "1230.00", "R1",
         details("Zapłata za FV/2026/0001", "GMINA KÓRNIK", KORNIK_IBAN)),
        (date(2026, 3, 10), "615.00", "R2", details("przelew", "X")),
        (date(2026, 3, 11), "20.00", "R3", details("darowizna", "Y")),
    ])
    answer = post_statement(staff.bookkeeper, data, bank["id"])
    statement = created(answer)
    assert answer.headers["Location"].endswith(f"/bank-statements/{statement['id']}")
    assert [(x["status"], x["amount"], x["invoice_ids"]) for x in statement["lines"]] == [
        ("matched", "1230.00", [first]), ("suggested", "615.00", [second]),
        ("unmatched", "20.00", [])]
    assert statement["lines"][0]["explanation"].startswith("The title names FV/2026/0001")
    assert statement["counts"]["matched"] == 1
    listed = staff.bookkeeper("get", "/bank-statements/").get_json()
    assert [s["id"] for s in listed["items"]] == [statement["id"]]
    waiting = staff.bookkeeper("get", "/bank-statements/lines").get_json()["items"]
    assert [x["status"] for x in waiting] == ["suggested", "unmatched"]
    _paid, suggested, unmatched = (x["id"] for x in statement["lines"])
    path = f"/bank-statements/{statement['id']}/lines"
    confirmed = staff.bookkeeper("post", f"{path}/{suggested}/match", json={})
    assert (confirmed.status_code, confirmed.get_json()["status"]) == (200, "matched")
    assert status(rt, second) == "paid"
    again = staff.bookkeeper("post", f"{path}/{suggested}/ignore", json={})
    assert again.status_code == 422
    assert again.get_json()["errors"] == {
        "status": "This line is matched already: nothing is left to decide."}
    refused = staff.bookkeeper("post", f"{path}/{unmatched}/match", json={"invoice_id": first})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"invoice_id": "FV/2026/0001 owes nothing."}
    recorded = staff.bookkeeper("post", f"{path}/{unmatched}/record", json={
        "organisation_id": world["mosina"]})
    assert (recorded.get_json()["status"], recorded.get_json()["organisation_id"]) == (
        "recorded", world["mosina"])
    one = staff.bookkeeper("get", f"/bank-statements/{statement['id']}").get_json()
    assert [x["status"] for x in one["lines"]] == ["matched", "matched", "recorded"]
    assert staff.bookkeeper("post", f"/bank-statements/{statement['id'] + 1}/lines/"
                                    f"{unmatched}/ignore", json={}).status_code == 404
    # The same file again: nothing recorded twice.
    again = created(post_statement(staff.bookkeeper, data, bank["id"]))
    assert [x["status"] for x in again["lines"]] == ["duplicate"] * 3
    assert count(rt, Payment) == 3


def test_the_api_refuses_field_by_field_in_the_callers_language(app, rt, world, staff):
    with rt.session() as s, s.begin():
        csv_id = csv_bank(s, world).id
    api = staff.bookkeeper
    assert api("post", "/bank-statements/", json={"profile_id": csv_id}).status_code == 415
    missing = api("post", "/bank-statements/", data={"profile_id": str(csv_id)},
                  content_type="multipart/form-data")
    assert (missing.status_code, list(missing.get_json()["errors"])) == (422, ["file"])
    assert post_statement(api, b"x", 99999).get_json()["errors"] == {
        "profile_id": "There is no such bank."}
    assert post_statement(api, b"%PDF-1.5", csv_id).get_json()["errors"] == {
        "file": "This is a PDF, not a bank statement: export the statement from the bank "
                "as CSV or MT940."}
    rows = post_statement(api, csv_file([row("xx.03.2026", "A", "", "x", "1,00")]), csv_id)
    assert rows.get_json()["errors"] == {
        "rows.2.date": "Row 2: xx.03.2026 is not a date in the bank's date format."}
    refused = api("post", "/bank-statements/banks", json={
        "name": "Zły", "currency": "zł", "columns": {"date": "Data"}},
        headers={"Accept-Language": "pl"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["currency"] == "Wpisz trzyliterowy kod waluty, np. PLN."
    assert "columns.amount" in refused.get_json()["errors"]
    assert count(rt, BankStatement) == 0
    forbidden = post_statement(staff.seller, csv_file(STATEMENT), csv_id)
    assert forbidden.status_code == 403
    assert staff.seller("get", "/bank-statements/").status_code == 403

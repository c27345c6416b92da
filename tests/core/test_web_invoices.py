"""The staff pages of invoices and billable items: the list with its filters, sorting,
pages and totals; the card; the draft form with its lines (with and without script);
issuing, sending, cancelling and correcting; final invoices deducting advances; the
printed invoice and its PDF; the billing panel of a client's card; items invoiced from
their list. Bad input is named under its field with what was typed kept and nothing
written; whoever may not bill gets 403 and no menu entry."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_helpers import BANNER, COMPANY, PASSWORD, draft, issued, make_world, user
from core import billing, cases, invoices, payments
from core.filters import today
from core.models import AuditEntry, BillableItem, Invoice, InvoiceLine
from core.workflow import Phase, Process
from page_helpers import count, error_under, fetch, flashes, show, text, value_of, visible

LEAFLETS = {"description": "Ulotki A5", "quantity": "2.5", "unit": "op.",
            "unit_price": "40", "vat_rate": "8"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def world(rt):
    return make_world(rt)


def login(app, kartoteka_login, name):
    return kartoteka_login(app.test_client(), f"{name}@example.com", PASSWORD)


@pytest.fixture
def clerk(app, world, kartoteka_login):
    """A staff member who bills (core.billing), not an administrator."""
    return login(app, kartoteka_login, "clerk")


# --------------------------------------------------------------------- helpers




def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)


def lines_form(*lines, start: int = 0) -> dict:
    """Line rows as the draft form posts them."""
    return {f"lines-{n}-{key}": value for n, line in enumerate(lines, start=start)
            for key, value in line.items()}


def new_draft(client, world, *lines, client_key="kornik", **fields):
    return client.post("/billing/invoices/new", data={
        "kind": "invoice", "buyer": f"organisation-{world[client_key]}", "currency": "PLN",
        "price_basis": "net", "payment_days": "14", **fields, **lines_form(*lines)})


def made_id(response) -> int:
    assert response.status_code == 302, text(response)[:3000]
    return int(re.search(r"/billing/invoices/(\d+)$", response.location).group(1))


def rows_of(page: str) -> list[str]:
    """The invoice list's rows as a reader sees them."""
    body = re.search(r'<table class="list invoices">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [visible(row) for row in re.findall(r'<tr id="invoice-\d+"[^>]*>(.*?)</tr>', body,
                                               re.S)]


def listed(client, query: str = "") -> list[str]:
    """The labels (numbers) of the invoices the list shows."""
    page = show(client, f"/billing/invoices/{query}")
    body = re.search(r'<table class="list invoices">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return re.findall(r'<a href="/billing/invoices/\d+">(.*?)</a>', body)


def invoice_of(app, invoice_id) -> Invoice:
    return fetch(app, Invoice, invoice_id)


def descriptions(app, invoice_id) -> list[str]:
    with app.extensions["kartoteka"].session() as s:
        return [line.description for line in s.get(Invoice, invoice_id).lines]


def line_ids(app, invoice_id) -> list[int]:
    with app.extensions["kartoteka"].session() as s:
        return [line.id for line in s.get(Invoice, invoice_id).lines]


def add_item(rt, world, by="clerk", client="kornik", **data) -> int:
    with rt.session() as s, s.begin():
        party = {"person_id": world[client]} if client == "anna" else \
            {"organisation_id": world[client]}
        return billing.add_item(s, {**party, "description": "Szkolenie BHP", "quantity": "2",
                                    "unit": "os.", "unit_price": "300", "vat_rate": "zw",
                                    "earned_on": "2026-03-01", **data},
                                user(s, world, by)).id


# --------------------------------------------------------------------- drafts


def test_a_draft_with_lines_at_two_rates_is_saved_and_its_card_sums_vat_per_rate(
        app, clerk, world):
    response = new_draft(clerk, world, BANNER, LEAFLETS, notes="Zamówienie 17")
    invoice_id = made_id(response)
    assert "Draft saved: Draft invoice #" in flashes(text(clerk.get(response.location)))[0]
    saved = invoice_of(app, invoice_id)
    assert (saved.status, saved.net, saved.vat, saved.gross) == \
        ("draft", Decimal("1100.00"), Decimal("238.00"), Decimal("1338.00"))

    page = show(clerk, f"/billing/invoices/{invoice_id}")
    assert "Gmina Kórnik" in page and "Drukarnia Test sp. z o.o." in page
    summary = re.search(r'<table class="list vat-summary">(.*?)</table>', page, re.S).group(1)
    assert visible(re.search(r'<tr data-rate="23">(.*?)</tr>', summary, re.S).group(1)) == \
        "23% PLN1,000.00 PLN230.00 PLN1,230.00"
    assert visible(re.search(r'<tr data-rate="8">(.*?)</tr>', summary, re.S).group(1)) == \
        "8% PLN100.00 PLN8.00 PLN108.00"
    assert "PLN1,338.00" in visible(re.search(r"<tfoot>(.*?)</tfoot>", summary, re.S).group(1))
    assert "Zamówienie 17" in page
    assert f'href="/billing/invoices/{invoice_id}/edit"' in page
    assert "Created" in visible(re.search(r'class="card change-history">(.*?)</section>',
                                          page, re.S).group(1))


def test_a_bad_draft_names_each_problem_under_its_field_keeps_what_was_typed_and_writes_nothing(
        app, clerk, world):
    response = clerk.post("/billing/invoices/new", data={
        "kind": "invoice", "buyer": "", "currency": "PLN", "price_basis": "net",
        "payment_days": "400", "issue_date": "2026-13-45",
        **lines_form({"description": "Baner", "quantity": "dwa", "unit": "szt.",
                      "unit_price": "100", "vat_rate": "23"},
                     {"description": "", "quantity": "1", "unit": "szt.", "unit_price": "50",
                      "vat_rate": "23"},
                     {"description": "Plakat", "quantity": "1", "unit": "szt.",
                      "unit_price": "", "vat_rate": "17"})})
    assert response.status_code == 200
    page = text(response)
    assert "The draft was not saved" in page
    assert error_under(page, "buyer") == ("Choose who is billed: one organisation or one "
                                          "person.")
    assert error_under(page, "payment_days") == "Enter a number of days from 0 to 365."
    assert error_under(page, "issue_date") == "Not a valid date."
    assert error_under(page, "lines-0-quantity") == "Enter a number, such as 12,50."
    assert error_under(page, "lines-1-description") == "Describe what is sold."
    assert error_under(page, "lines-2-unit_price") == "Enter a price."
    assert error_under(page, "lines-2-vat_rate") == "Choose a VAT rate: 23, 8, 5, 0, zw or np."
    assert value_of(page, "lines-0-quantity") == "dwa"
    assert value_of(page, "lines-0-description") == "Baner"
    assert value_of(page, "payment_days") == "400"
    assert count(app, Invoice) == 0 and count(app, InvoiceLine) == 0


def test_a_draft_needs_a_line_and_a_client_the_user_may_see(app, world, kartoteka_login):
    clerk = login(app, kartoteka_login, "clerk")
    page = text(new_draft(clerk, world))
    assert error_under(page, "lines") == "Add at least one line."
    loner = login(app, kartoteka_login, "loner")  # bills, sees only their own records
    page = text(new_draft(loner, world, BANNER))
    assert error_under(page, "buyer") == \
        "There is no such organisation, or you may not see it."
    page = text(loner.post("/billing/invoices/new", data={
        "buyer": "someone-else", **lines_form(BANNER)}))
    assert error_under(page, "buyer") == "Choose from the list."
    assert count(app, Invoice) == 0


def test_line_rows_are_added_and_removed_through_the_server_without_script(app, clerk, world):
    page = text(new_draft(clerk, world, BANNER, action="more"))
    assert count(app, Invoice) == 0
    assert value_of(page, "lines-0-description") == "Baner 6x3 m"
    assert [n for n in range(5) if value_of(page, f"lines-{n}-description") is not None] == \
        [0, 1, 2, 3]
    assert '<template class="line-template">' in page  # the script's row to copy
    page = text(new_draft(clerk, world, BANNER, LEAFLETS, remove="0"))
    assert value_of(page, "lines-0-description") == "Ulotki A5"
    assert value_of(page, "lines-1-description") is None
    assert count(app, Invoice) == 0
    # Empty rows are left out of what is saved, whatever their place.
    invoice_id = made_id(clerk.post("/billing/invoices/new", data={
        "buyer": f"organisation-{world['kornik']}",
        **lines_form({"description": "", "quantity": "1", "unit": "szt.", "unit_price": "",
                      "vat_rate": "23"}),
        **lines_form(LEAFLETS, start=7)}))
    assert descriptions(app, invoice_id) == ["Ulotki A5"]


def test_the_form_offers_the_kinds_rates_and_price_bases_and_prefills_the_client(
        app, clerk, world):
    page = show(clerk, f"/billing/invoices/new?buyer=organisation-{world['mosina']}")
    assert re.search(rf'<option value="organisation-{world["mosina"]}" selected>Gmina Mosina',
                     page)
    kinds = re.search(r'<select id="f-kind" name="kind"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'value="(\w+)"', kinds) == ["invoice", "advance", "final", "proforma",
                                                   "settlement"]
    rates = re.search(r'<select id="f-lines-0-vat_rate"[^>]*>(.*?)</select>', page, re.S)
    assert re.findall(r'value="(\w+)"', rates.group(1)) == ["23", "8", "5", "0", "zw", "np"]
    assert 'value="gross"' in page and 'value="net" selected' in page
    assert f'<option value="person-{world["anna"]}"' in page


def test_gross_prices_and_a_foreign_currency_with_its_exchange_rate(app, clerk, world):
    invoice_id = made_id(new_draft(clerk, world, {**BANNER, "unit_price": "1230"},
                                   price_basis="gross", currency="eur"))
    saved = invoice_of(app, invoice_id)
    assert (saved.currency, saved.price_basis, saved.net, saved.vat) == \
        ("EUR", "gross", Decimal("1000.00"), Decimal("230.00"))
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/issue"))
    assert "Give the exchange rate to złoty" in page
    assert invoice_of(app, invoice_id).status == "draft"

    form = show(clerk, f"/billing/invoices/{invoice_id}/edit")
    stamp = re.search(r'name="etag" value="([^"]+)"', form).group(1)
    line_id = line_ids(app, invoice_id)[0]
    response = clerk.post(f"/billing/invoices/{invoice_id}/edit", data={
        "etag": stamp, "exchange_rate": "4,2563", "exchange_rate_date": "2026-02-27",
        "payment_days": "14", **lines_form({**BANNER, "unit_price": "1230", "id": line_id})})
    assert made_id(response) == invoice_id
    assert clerk.post(f"/billing/invoices/{invoice_id}/issue").status_code == 302
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    assert "1 EUR = 4.2563 zł" in page
    assert "PLN978.95" in page  # 230 EUR of tax in złoty


# --------------------------------------------------------------------- changing a draft


def test_a_draft_is_changed_keeping_the_items_its_lines_bill(app, rt, clerk, world):
    item_id = add_item(rt, world)
    invoice_id = made_id(clerk.post("/billing/items/invoice", data={"items": str(item_id)}))
    line_id = line_ids(app, invoice_id)[0]
    form = show(clerk, f"/billing/invoices/{invoice_id}/edit")
    assert value_of(form, "lines-0-quantity") == "2"
    assert value_of(form, "lines-0-unit_price") == "300.00"
    assert f'name="lines-0-id" value="{line_id}"' in form
    stamp = re.search(r'name="etag" value="([^"]+)"', form).group(1)
    response = clerk.post(f"/billing/invoices/{invoice_id}/edit", data={
        "etag": stamp, "payment_days": "30", "notes": "Po zmianie",
        **lines_form({"id": str(line_id), "description": "Szkolenie BHP (2 os.)",
                      "quantity": "2", "unit": "os.", "unit_price": "300", "vat_rate": "zw"},
                     LEAFLETS)})
    assert made_id(response) == invoice_id
    saved = invoice_of(app, invoice_id)
    assert saved.payment_days == 30 and saved.notes == "Po zmianie"
    assert descriptions(app, invoice_id) == ["Szkolenie BHP (2 os.)", "Ulotki A5"]
    with rt.session() as s:
        item = s.get(BillableItem, item_id)
        assert s.get(InvoiceLine, item.invoice_line_id).invoice_id == invoice_id
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    assert "Bills:" in page and "earned 3/1/26" in page


def test_a_draft_changed_meanwhile_is_not_overwritten_and_what_was_typed_stays(
        app, rt, clerk, world):
    with rt.session() as s, s.begin():
        invoice_id = draft(s, world).id
    form = show(clerk, f"/billing/invoices/{invoice_id}/edit")
    stamp = re.search(r'name="etag" value="([^"]+)"', form).group(1)
    with rt.session() as s, s.begin():  # a colleague changes it first
        invoices.update(s, s.get(Invoice, invoice_id), {"notes": "Kolega"},
                        user(s, world, "admin"))
    data = {"etag": stamp, "payment_days": "21", "notes": "Moje",
            **lines_form({**BANNER, "quantity": "3"})}
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/edit", data=data))
    assert "changed by someone else meanwhile" in page
    assert value_of(page, "lines-0-quantity") == "3" and "Moje" in page
    assert invoice_of(app, invoice_id).notes == "Kolega"
    fresh = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    assert made_id(clerk.post(f"/billing/invoices/{invoice_id}/edit",
                              data={**data, "etag": fresh})) == invoice_id
    assert invoice_of(app, invoice_id).notes == "Moje"


def test_an_issued_invoice_is_not_changed_through_the_form(app, rt, clerk, world):
    invoice_id = issued(rt, world)
    response = clerk.get(f"/billing/invoices/{invoice_id}/edit")
    assert response.status_code == 302
    assert "an issued one is corrected" in flashes(text(clerk.get(response.location)))[0]


# --------------------------------------------------------------------- issuing, sending, cancelling


def test_a_draft_is_issued_sent_and_then_cannot_be_cancelled(app, rt, clerk, world):
    invoice_id = made_id(new_draft(clerk, world, BANNER))
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/issue",
                           data={"issue_date": "2026-02-30"}))
    assert error_under(page, "issue_date") == "Enter the date as YYYY-MM-DD."
    assert invoice_of(app, invoice_id).status == "draft"

    response = clerk.post(f"/billing/invoices/{invoice_id}/issue",
                          data={"issue_date": today().isoformat()})
    assert response.status_code == 302
    saved = invoice_of(app, invoice_id)
    assert saved.status == "issued" and saved.number == f"FV/{today().year}/0001"
    assert saved.due_date == today() + timedelta(days=14)
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    assert f"Issued as FV/{today().year}/0001." in flashes(page)
    assert "/edit" not in page and "Mark as sent to the buyer" in page
    assert "Record a payment" in page and "overdue" not in visible(page).split("Lines")[0]

    assert clerk.post(f"/billing/invoices/{invoice_id}/sent").status_code == 302
    saved = invoice_of(app, invoice_id)
    assert saved.status == "sent" and saved.sent_at is not None
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/cancel",
                           data={"reason": ""}))
    assert error_under(page, "reason") == "Give the reason for cancelling an issued invoice."
    assert "It has been sent to the buyer; correct it instead." in page
    assert invoice_of(app, invoice_id).status == "sent"
    again = text(clerk.post(f"/billing/invoices/{invoice_id}/issue"))
    assert "Only a draft is issued" in again


def test_an_unsent_invoice_is_cancelled_with_its_reason_and_a_draft_without_one(
        app, rt, clerk, world):
    invoice_id = issued(rt, world)
    assert clerk.post(f"/billing/invoices/{invoice_id}/cancel",
                      data={"reason": "Wystawiona na złego nabywcę"}).status_code == 302
    saved = invoice_of(app, invoice_id)
    assert saved.status == "cancelled" and saved.cancel_reason == "Wystawiona na złego nabywcę"
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    assert "Wystawiona na złego nabywcę" in page and "Cancel the invoice" not in page
    draft_id = made_id(new_draft(clerk, world, BANNER))
    assert clerk.post(f"/billing/invoices/{draft_id}/cancel").status_code == 302
    assert invoice_of(app, draft_id).status == "cancelled"


def test_issuing_is_refused_without_the_seller_with_nothing_written(
        kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(default_locale="en")
    world = make_world(app.extensions["kartoteka"])
    clerk = login(app, kartoteka_login, "clerk")
    invoice_id = made_id(new_draft(clerk, world, BANNER))
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/issue"))
    assert "The seller's name is not set (KARTOTEKA_COMPANY_NAME)" in page
    assert invoice_of(app, invoice_id).status == "draft"


# --------------------------------------------------------------------- corrections


def test_an_issued_invoice_is_corrected_through_its_form(app, rt, clerk, world):
    invoice_id = issued(rt, world, [BANNER, LEAFLETS])
    form = show(clerk, f"/billing/invoices/{invoice_id}/correct")
    assert value_of(form, "lines-0-description") == "Baner 6x3 m"
    assert value_of(form, "lines-1-quantity") == "2.5"
    assert 'name="lines-1-position" value="2"' in form
    assert "Was: Ulotki A5" in visible(form)
    rows = {**lines_form({**BANNER, "position": "1"}, {**LEAFLETS, "position": "2"})}

    page = text(clerk.post(f"/billing/invoices/{invoice_id}/correct", data=rows))
    assert error_under(page, "reason") == "Give the reason for the correction."
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/correct",
                           data={**rows, "reason": "Rabat"}))
    assert error_under(page, "lines") == "The correction changes nothing."
    page = text(clerk.post(f"/billing/invoices/{invoice_id}/correct", data={
        **rows, "lines-1-quantity": "-1", "reason": "Rabat"}))
    assert error_under(page, "lines-1-quantity") == "Enter a quantity of 0 or more."
    assert value_of(page, "lines-1-quantity") == "-1"
    assert count(app, Invoice) == 1

    response = clerk.post(f"/billing/invoices/{invoice_id}/correct", data={
        **rows, "lines-0-unit_price": "900", "reason": "Rabat 10%",
        **lines_form({"description": "Montaż", "quantity": "1", "unit": "usł.",
                      "unit_price": "50", "vat_rate": "23"}, start=2)})
    correction_id = made_id(response)
    correction = invoice_of(app, correction_id)
    assert (correction.kind, correction.status, correction.corrects_id) == \
        ("correction", "draft", invoice_id)
    assert correction.gross == Decimal("-61.50")  # -123.00 + 61.50
    page = show(clerk, f"/billing/invoices/{correction_id}")
    assert "Before: Baner 6x3 m" in page and "Before: none (the correction adds this line)" \
        in page
    assert "Rabat 10%" in page
    assert f'href="/billing/invoices/{invoice_id}"' in page
    assert clerk.post(f"/billing/invoices/{correction_id}/issue").status_code == 302
    assert invoice_of(app, correction_id).number.startswith("KOR/")
    printed = show(clerk, f"/billing/invoices/{correction_id}/print")
    assert "Correcting VAT invoice" in printed and "Reason for the correction: Rabat 10%" \
        in printed
    assert "The correction changes the amount by -PLN61.50." in printed

    page = show(clerk, f"/billing/invoices/{invoice_id}")
    corrections = visible(re.search(r'<ul class="corrections">(.*?)</ul>', page, re.S).group(1))
    assert "KOR/" in corrections and "Rabat 10%" in corrections
    assert "With its corrections" in page
    assert invoice_of(app, invoice_id).to_pay == Decimal("1276.50")


def test_a_draft_a_pro_forma_and_a_correction_are_not_corrected(app, rt, clerk, world):
    proforma_id = issued(rt, world, kind="proforma")
    for invoice_id in (made_id(new_draft(clerk, world, BANNER)), proforma_id):
        response = clerk.get(f"/billing/invoices/{invoice_id}/correct")
        assert response.status_code == 302
        assert "Only an issued invoice is corrected" in \
            " ".join(flashes(text(clerk.get(response.location))))
    assert "Correct</a>" not in show(clerk, f"/billing/invoices/{proforma_id}")


# --------------------------------------------------------------------- kinds


def test_a_final_invoice_deducts_the_advance_invoices_chosen_on_its_form(app, rt, clerk, world):
    advance_id = issued(rt, world, [{**BANNER, "unit_price": "400"}], kind="advance")
    form = show(clerk, "/billing/invoices/new")
    number = invoice_of(app, advance_id).number
    assert f'name="advance_ids" value="{advance_id}"' in form and number in form
    invoice_id = made_id(new_draft(clerk, world, BANNER, kind="final",
                                   advance_ids=str(advance_id)))
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    advances = visible(re.search(r'<ul class="advances">(.*?)</ul>', page, re.S).group(1))
    assert number in advances and "PLN492.00" in advances
    assert "Left after the advances" in page and "PLN738.00" in page
    assert clerk.post(f"/billing/invoices/{invoice_id}/issue").status_code == 302
    assert invoice_of(app, invoice_id).to_pay == Decimal("738.00")
    assert invoice_of(app, advance_id).settled_by_id == invoice_id
    assert "Deducted by" in show(clerk, f"/billing/invoices/{advance_id}")

    # An advance of another client is refused, named under the advances.
    other = issued(rt, world, client="mosina", kind="advance")
    page = text(new_draft(clerk, world, BANNER, kind="final", advance_ids=str(other)))
    assert error_under(page, "advance_ids") == \
        "Choose an issued advance invoice of the same buyer."
    assert count(app, Invoice, Invoice.kind == "final") == 1


def test_a_pro_forma_and_a_settlement_note_are_made_from_the_form(app, clerk, world):
    proforma = made_id(new_draft(clerk, world, BANNER, kind="proforma"))
    note = made_id(new_draft(clerk, world, {**BANNER, "vat_rate": "np"}, kind="settlement"))
    for invoice_id, prefix in ((proforma, "PF/"), (note, "NR/")):
        assert clerk.post(f"/billing/invoices/{invoice_id}/issue").status_code == 302
        assert invoice_of(app, invoice_id).number.startswith(prefix)
    page = show(clerk, f"/billing/invoices/{proforma}")
    assert "not a tax document" in page and "Record a payment" not in page
    assert "Settlement note" in show(clerk, f"/billing/invoices/{note}")


# --------------------------------------------------------------------- the list


def test_the_list_filters_sorts_and_sums_what_it_shows(app, rt, clerk, world):
    late = issued(rt, world)  # March: overdue today
    fresh = issued(rt, world, [LEAFLETS], issue_date=today())
    person = issued(rt, world, [BANNER, LEAFLETS], issue_date=today(), person_id=world["anna"])
    with rt.session() as s, s.begin():
        draft_id = draft(s, world, client="mosina").id
        cancelled = draft(s, world)
        invoices.cancel(s, cancelled, "", user(s, world, "clerk"))
        payments.record(s, {"received_on": today().isoformat(), "amount": "108"},
                        user(s, world, "clerk"), [(s.get(Invoice, fresh), None)])
    numbers = {i: invoice_of(app, i).number for i in (late, fresh, person)}
    everything = listed(clerk)
    assert everything[:2] == [f"Draft invoice #{cancelled.id}", f"Draft invoice #{draft_id}"]
    assert len(everything) == 5

    assert listed(clerk, "?status=overdue") == [numbers[late]]
    row = rows_of(show(clerk, "/billing/invoices/?status=overdue"))[0]
    assert "Gmina Kórnik" in row and "overdue" in row
    assert listed(clerk, "?status=paid") == [numbers[fresh]]
    assert listed(clerk, "?status=draft") == [f"Draft invoice #{draft_id}"]
    assert listed(clerk, f"?buyer=person-{world['anna']}") == [numbers[person]]
    assert listed(clerk, f"?buyer=organisation-{world['mosina']}") == \
        [f"Draft invoice #{draft_id}"]
    assert listed(clerk, f"?issued_from={today().isoformat()}&sort=number") == \
        sorted([numbers[fresh], numbers[person]])
    assert listed(clerk, "?issued_to=2026-03-31") == [numbers[late]]
    assert listed(clerk, f"?q={numbers[person][-4:]}") == [numbers[person]]
    assert listed(clerk, "?q=%25") == []  # a wildcard typed is only a character
    assert listed(clerk, "?kind=settlement") == []
    by_gross = listed(clerk, "?sort=-gross")
    assert (by_gross[0], by_gross[-1]) == (numbers[person], numbers[fresh])
    assert listed(clerk, "?sort=gross")[0] == numbers[fresh]

    page = show(clerk, "/billing/invoices/?status=issued")
    totals = visible(re.search(r"<tfoot>(.*?)</tfoot>", page, re.S).group(1))
    assert "Total in PLN" in totals and "PLN2,568.00" in totals  # 1,230 + 1,338
    assert "2 invoices" in page
    page = show(clerk, "/billing/invoices/")
    totals = visible(re.search(r"<tfoot>(.*?)</tfoot>", page, re.S).group(1))
    # 1,230 + 108 + 1,338 issued, 1,230 draft; the cancelled one is not counted; still
    # owed: the two unpaid issued ones.
    assert "PLN3,906.00" in totals and "PLN2,568.00" in totals


def test_the_list_refuses_filters_it_cannot_use_and_pages(app, rt, clerk, world, monkeypatch):
    page = show(clerk, "/billing/invoices/?issued_from=2026-05-01&issued_to=2026-04-01"
                       "&status=lost&buyer=x")
    assert error_under(page, "issued_to") == "The end cannot be before the start."
    assert error_under(page, "status") == "Choose from the list."
    assert error_under(page, "buyer") == "Choose from the list."
    assert error_under(show(clerk, "/billing/invoices/?issued_from=yesterday"),
                       "issued_from") == "Enter the date as YYYY-MM-DD."

    from core.web import invoices as pages

    monkeypatch.setattr(pages, "PAGE", 2)
    with rt.session() as s, s.begin():
        ids = [draft(s, world).id for _n in range(5)]
    first = show(clerk, "/billing/invoices/?sort=created")
    assert rows_of(first)[0].startswith(f"Draft invoice #{ids[0]}")
    assert "Next page" in first and "Previous page" not in first
    last = show(clerk, "/billing/invoices/?sort=created&page=2")
    assert [r.split()[2] for r in rows_of(last)] == [f"#{ids[4]}"]
    assert "Next page" not in last and "Previous page" in last
    assert "5 invoices" in last  # the count and totals are of the whole list


# --------------------------------------------------------------------- printing


def test_the_printed_invoice_says_the_amount_in_words_and_draws_as_pdf(app, rt, clerk, world):
    invoice_id = issued(rt, world, [BANNER, LEAFLETS])
    page = show(clerk, f"/billing/invoices/{invoice_id}/print")
    number = invoice_of(app, invoice_id).number
    assert "VAT invoice" in page and f"No. {number}" in page
    assert "Drukarnia Test sp. z o.o." in page and "NIP: 7773061579" in page
    assert "To pay: PLN1,338.00" in page
    assert "In words: one thousand, three hundred and thirty-eight zlotys, zero groszy" in page
    response = clerk.get(f"/billing/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert number.replace("/", "-") in response.headers["Content-Disposition"]
    draft_id = made_id(new_draft(clerk, world, BANNER))
    assert "DRAFT — not issued" in show(clerk, f"/billing/invoices/{draft_id}/print")


# --------------------------------------------------------------------- billable items


def test_items_are_listed_added_by_hand_removed_and_invoiced_together(app, rt, clerk, world):
    first = add_item(rt, world)
    second = add_item(rt, world, description="Szkolenie RODO", earned_on="2026-03-05")
    other = add_item(rt, world, client="mosina", description="Warsztaty")
    page = show(clerk, "/billing/items/")
    assert "Szkolenie BHP" in page and "Warsztaty" in page and "PLN600.00" in page
    page = show(clerk, f"/billing/items/?buyer=organisation-{world['mosina']}")
    assert "Warsztaty" in page and "Szkolenie BHP" not in page

    # Added by hand: its errors under its fields, nothing written.
    page = text(clerk.post("/billing/items/new", data={
        "buyer": "", "description": " ", "quantity": "0", "unit_price": "abc",
        "vat_rate": "7", "currency": "PLN", "price_basis": "net", "earned_on": ""}))
    assert error_under(page, "buyer") == ("Choose who is billed: one organisation or one "
                                          "person.")
    assert error_under(page, "description") == "Describe what is sold."
    assert error_under(page, "quantity") == "Enter a quantity above zero."
    assert error_under(page, "unit_price") == "Enter a number, such as 12,50."
    assert error_under(page, "vat_rate") == "Choose a VAT rate: 23, 8, 5, 0, zw or np."
    assert error_under(page, "earned_on") == "Enter the day it was earned."
    assert count(app, BillableItem) == 3
    response = clerk.post("/billing/items/new", data={
        "buyer": f"person-{world['anna']}", "description": "Konsultacja", "quantity": "1,5",
        "unit": "h", "unit_price": "200", "vat_rate": "23", "currency": "PLN",
        "price_basis": "net", "earned_on": "2026-03-10"})
    assert response.status_code == 302
    assert f"buyer=person-{world['anna']}" in response.location
    assert count(app, BillableItem) == 4

    # Items of two buyers are not invoiced together; nothing is taken.
    page = text(clerk.post("/billing/items/invoice", data={"items": [str(first), str(other)]}))
    assert "The items are owed by different buyers." in page
    assert re.search(rf'value="{first}" id="f-item-{first}" checked', page)
    page = text(clerk.post("/billing/items/invoice", data={}))
    assert "Choose the items to invoice." in page
    assert count(app, Invoice) == 0

    # Removed: gone from the list.
    assert clerk.post(f"/billing/items/{other}/remove").status_code == 302
    assert count(app, BillableItem) == 3

    response = clerk.post("/billing/items/invoice", data={
        "items": [str(second), str(first)], "kind": "invoice", "payment_days": "7"})
    invoice_id = made_id(response)
    saved = invoice_of(app, invoice_id)
    assert descriptions(app, invoice_id) == ["Szkolenie BHP", "Szkolenie RODO"]
    assert saved.payment_days == 7 and saved.organisation_id == world["kornik"]
    assert "Szkolenie BHP" not in show(clerk, "/billing/items/")
    # An invoiced item cannot be removed.
    response = clerk.post(f"/billing/items/{first}/remove")
    assert "It is on an invoice; cancel or correct that." in \
        flashes(text(clerk.get(response.location)))
    assert count(app, BillableItem) == 3


# --------------------------------------------------------------------- the client's card


def test_the_cards_billing_panel_shows_what_is_owed_and_highlights_what_is_overdue(
        app, rt, clerk, world, kartoteka_login):
    late = issued(rt, world)
    fresh = issued(rt, world, [LEAFLETS], issue_date=today())
    add_item(rt, world)
    page = show(clerk, f"/organisations/{world['kornik']}")
    panel = re.search(r'<section class="card billing-panel" id="billing">(.*?)</section>',
                      page, re.S).group(1)
    assert "PLN1,338.00" in visible(panel)  # owed
    number = invoice_of(app, late).number
    assert re.search(rf'<tr id="panel-invoice-{late}" class="status-issued overdue">', panel)
    assert re.search(rf'<tr id="panel-invoice-{fresh}" class="status-issued">', panel)
    overdue = visible(re.search(r'<dd class="overdue">(.*?)</dd>', panel, re.S).group(1))
    assert number in overdue and "PLN1,230.00" in overdue
    assert "1 item not invoiced yet" in visible(panel)
    assert f"/billing/invoices/new?buyer=organisation-{world['kornik']}" in panel

    person_page = show(clerk, f"/people/{world['anna']}")
    assert "billing-panel" in person_page and "No invoices yet." in person_page
    rep = login(app, kartoteka_login, "rep")
    assert "billing-panel" not in show(rep, f"/organisations/{world['kornik']}")


# --------------------------------------------------------------------- who may


def test_without_the_billing_permission_the_pages_are_refused_and_not_in_the_menu(
        app, rt, world, kartoteka_login):
    invoice_id = issued(rt, world)
    item_id = add_item(rt, world)
    rep = login(app, kartoteka_login, "rep")
    assert "/billing/invoices/" not in show(rep, "/")
    for url in ("/billing/invoices/", "/billing/invoices/new", f"/billing/invoices/{invoice_id}",
                f"/billing/invoices/{invoice_id}/correct", f"/billing/invoices/{invoice_id}/print",
                f"/billing/invoices/{invoice_id}/pdf", "/billing/items/", "/billing/items/new"):
        assert rep.get(url).status_code == 403, url
    for url in (f"/billing/invoices/{invoice_id}/issue", f"/billing/invoices/{invoice_id}/sent",
                f"/billing/invoices/{invoice_id}/cancel", f"/billing/items/{item_id}/remove",
                "/billing/items/invoice", "/billing/invoices/new"):
        assert rep.post(url, data={"reason": "x", "items": str(item_id)}).status_code == 403, url
    assert invoice_of(app, invoice_id).status == "issued" and count(app, Invoice) == 1
    assert count(app, BillableItem) == 1

    clerk = login(app, kartoteka_login, "clerk")
    menu = re.search(r'<nav aria-label="Main">(.*?)</nav>', show(clerk, "/"), re.S).group(1)
    assert '<a href="/billing/invoices/">Billing</a>' in menu


def test_an_invoice_of_a_client_the_user_may_not_see_does_not_exist_for_them(
        app, rt, world, kartoteka_login):
    invoice_id = issued(rt, world)
    loner = login(app, kartoteka_login, "loner")
    for url in (f"/billing/invoices/{invoice_id}", f"/billing/invoices/{invoice_id}/print",
                f"/billing/invoices/{invoice_id}/edit"):
        assert loner.get(url).status_code == 404
    assert loner.post(f"/billing/invoices/{invoice_id}/cancel",
                      data={"reason": "x"}).status_code == 404
    assert listed(loner) == []
    assert invoice_of(app, invoice_id).status == "issued"


def test_the_forms_carry_their_csrf_token(kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(default_locale="en", WTF_CSRF_ENABLED=True, **COMPANY)
    world = make_world(app.extensions["kartoteka"])
    client = app.test_client()
    token = csrf_of(show(client, "/login"))
    assert client.post("/login", data={"email": "clerk@example.com", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    form = show(client, "/billing/invoices/new")
    token = csrf_of(form)
    data = {"buyer": f"organisation-{world['kornik']}", **lines_form(BANNER)}
    assert client.post("/billing/invoices/new", data=data).status_code == 400
    assert count(app, Invoice) == 0
    invoice_id = made_id(client.post("/billing/invoices/new",
                                     data={**data, "csrf_token": token}))
    card = show(client, f"/billing/invoices/{invoice_id}")
    issue_form = re.search(r'<form class="inline issue-form".*?</form>', card, re.S).group(0)
    token = csrf_of(issue_form)
    assert client.post(f"/billing/invoices/{invoice_id}/issue",
                       data={"csrf_token": token}).status_code == 302
    assert invoice_of(app, invoice_id).status == "issued"


def test_every_step_is_in_the_invoices_change_history(app, rt, clerk, world):
    invoice_id = made_id(new_draft(clerk, world, BANNER))
    clerk.post(f"/billing/invoices/{invoice_id}/issue")
    clerk.post(f"/billing/invoices/{invoice_id}/sent")
    with rt.session() as s:
        doors = s.scalars(select(AuditEntry.door).where(
            AuditEntry.record_type == "invoices", AuditEntry.record_id == invoice_id)).all()
    assert doors == ["ui", "ui", "ui"]
    page = show(clerk, f"/billing/invoices/{invoice_id}")
    history = visible(re.search(r'class="card change-history">(.*?)</section>', page,
                                re.S).group(1))
    assert history.count("Klara Księgowa") == 3 and "FV/" in history
    assert "Status: draft → issued" in history and "Status: issued → sent" in history


def test_a_polish_user_reads_the_errors_in_polish(kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(**COMPANY)  # Polish by default
    world = make_world(app.extensions["kartoteka"])
    clerk = login(app, kartoteka_login, "clerk")
    page = text(new_draft(clerk, world, {**BANNER, "description": ""}, buyer=""))
    assert error_under(page, "lines-0-description") == "Wpisz nazwę towaru lub usługi."
    assert error_under(page, "buyer").startswith("Wskaż nabywcę:")
    page = text(clerk.post("/billing/payments/new", data={"received_on": "2026-03-01"}))
    assert error_under(page, "amount") == "Wpisz kwotę."
    assert count(app, Invoice) == 0


def test_a_case_is_billed_from_its_card_with_the_items_it_made_owed(app, rt, clerk, world,
                                                                   kartoteka_login):
    training = Process("test.training", "core.case", title={"en": "Training"}, phases=(
        Phase("planned", "core.case"), Phase("done", "core.phase", final=True)),
        transitions=())
    rt.host.processes = {**rt.host.processes, "test.training": training}
    with rt.session() as s, s.begin():
        case_id = cases.create(s, rt.host, {"title": "Szkolenie BHP w Kórniku",
                                            "process_key": "test.training"},
                               user(s, world, "admin")).id
    add_item(rt, world, case_id=case_id)
    add_item(rt, world, description="Warsztaty bez sprawy")
    card = show(clerk, f"/cases/{case_id}")
    assert f"/billing/items/?case={case_id}" in card and "Bill this case" in card
    page = show(clerk, f"/billing/items/?case={case_id}")
    assert "Szkolenie BHP" in page and "Warsztaty bez sprawy" not in page
    assert "Szkolenie BHP w Kórniku" in page
    assert clerk.get("/billing/items/?case=999999").status_code == 404
    rep = login(app, kartoteka_login, "rep")
    assert "Bill this case" not in show(rep, f"/cases/{case_id}")


def test_a_cases_card_lists_its_invoices_and_starts_an_advance_for_its_client(
        app, rt, clerk, world, kartoteka_login):
    training = Process("test.training", "core.case", title={"en": "Training"}, phases=(
        Phase("planned", "core.case"), Phase("done", "core.phase", final=True)),
        transitions=())
    rt.host.processes = {**rt.host.processes, "test.training": training}
    with rt.session() as s, s.begin():
        case_id = cases.create(s, rt.host, {"title": "Instalacja w Kórniku",
                                            "process_key": "test.training",
                                            "organisation_id": world["kornik"]},
                               user(s, world, "admin")).id
    card = show(clerk, f"/cases/{case_id}")
    assert "No invoices yet." in visible(card)
    start = f"/billing/invoices/new?case_id={case_id}&buyer=organisation-{world['kornik']}"
    card = card.replace("&amp;", "&")
    assert f'{start}&kind=advance"' in card and f'{start}&kind=final"' in card
    form = show(clerk, f"/billing/invoices/new?case_id={case_id}&kind=advance"
                       f"&buyer=organisation-{world['kornik']}")
    assert re.search(r'<option value="advance" selected', form)
    assert show(clerk, "/billing/invoices/new?kind=correction").count(
        '<option value="invoice" selected') == 1  # a correction is made from its invoice
    advance = issued(rt, world, kind="advance", case_id=case_id)
    other = issued(rt, world)  # not the case's
    card = show(clerk, f"/cases/{case_id}")
    assert re.search(rf'<tr id="case-invoice-{advance}" class="status-issued">.*?'
                     r'Advance invoice', card)
    assert f'case-invoice-{other}"' not in card
    rep = login(app, kartoteka_login, "rep")  # who does not bill sees no invoices
    assert 'id="invoices"' not in show(rep, f"/cases/{case_id}")

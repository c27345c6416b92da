"""The staff pages of payments: recording one and allocating it to one or more open
invoices of the payer, allocating the rest later, the list with its filters and totals.
A refused payment writes nothing (neither it nor any allocation) and names each problem
under its field; whoever may not bill gets 403."""

import re
from decimal import Decimal

import pytest

from billing_helpers import COMPANY, PASSWORD, draft, issued, make_world, user
from core import payments
from core.filters import today
from core.models import Invoice, Payment, PaymentAllocation
from page_helpers import count, error_under, fetch, flashes, show, text, value_of, visible

LEAFLETS = {"description": "Ulotki A5", "quantity": "2.5", "unit": "op.",
            "unit_price": "40", "vat_rate": "8"}  # 108.00 gross


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
    return login(app, kartoteka_login, "clerk")




def recorded_id(response) -> int:
    assert response.status_code == 302, text(response)[:3000]
    return int(re.search(r"/billing/payments/(\d+)$", response.location).group(1))


def status_of(app, invoice_id) -> tuple[str, Decimal]:
    invoice = fetch(app, Invoice, invoice_id)
    return invoice.status, invoice.paid


def payment_form(world, client="kornik", **fields) -> dict:
    return {"received_on": "2026-03-20", "amount": "1230,00", "currency": "PLN",
            "buyer": f"organisation-{world[client]}", "payer": "GMINA KORNIK",
            "title": "Zapłata", **fields}


# --------------------------------------------------------------------- recording


def test_a_payment_recorded_from_the_invoice_pays_it_in_full(app, rt, clerk, world):
    invoice_id = issued(rt, world)
    number = fetch(app, Invoice, invoice_id).number
    form = show(clerk, f"/billing/payments/new?invoice={invoice_id}")
    assert value_of(form, "amount") == "1230.00"
    assert value_of(form, f"allocate-{invoice_id}") == "1230.00"
    assert value_of(form, "title") == number
    assert re.search(rf'<option value="organisation-{world["kornik"]}" selected>', form)

    response = clerk.post("/billing/payments/new", data={
        "received_on": today().isoformat(), "amount": "1230.00", "currency": "PLN",
        "buyer": f"organisation-{world['kornik']}", "title": number,
        f"allocate-{invoice_id}": "1230.00"})
    payment_id = recorded_id(response)
    assert status_of(app, invoice_id) == ("paid", Decimal("1230.00"))
    page = show(clerk, f"/billing/payments/{payment_id}")
    assert "Payment recorded." in flashes(page)
    allocations = visible(re.search(r'<table class="list allocations">(.*?)</table>', page,
                                    re.S).group(1))
    assert number in allocations and "paid" in allocations and "PLN1,230.00" in allocations
    assert "Allocate the rest" not in page
    card = show(clerk, f"/billing/invoices/{invoice_id}")
    assert '<span class="badge status status-paid">paid</span>' in card
    assert f'href="/billing/payments/{payment_id}"' in card
    assert "Record a payment" not in card


def test_one_payment_pays_two_invoices_partly_and_keeps_the_rest(app, rt, clerk, world):
    first = issued(rt, world)
    second = issued(rt, world, [LEAFLETS])
    other = issued(rt, world, client="mosina")
    form = text(clerk.post("/billing/payments/new", data={
        **payment_form(world), "action": "refresh"}))
    assert count(app, Payment) == 0
    assert f'id="open-invoice-{first}"' in form and f'id="open-invoice-{second}"' in form
    assert f'id="open-invoice-{other}"' not in form  # another payer's
    payment_id = recorded_id(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="1 500,00"), f"allocate-{first}": "1230",
        f"allocate-{second}": "50", f"allocate-{other}": ""}))
    assert status_of(app, first) == ("paid", Decimal("1230.00"))
    assert status_of(app, second) == ("partly_paid", Decimal("50.00"))
    assert status_of(app, other)[0] == "issued"
    payment = fetch(app, Payment, payment_id)
    assert (payment.amount, payment.allocated, payment.organisation_id) == \
        (Decimal("1500.00"), Decimal("1280.00"), world["kornik"])
    page = show(clerk, f"/billing/payments/{payment_id}")
    assert visible(re.search(r'<dd class="unallocated">(.*?)</dd>', page, re.S).group(1)) == \
        "PLN220.00"
    choices = re.search(r'<select id="f-invoice_id".*?</select>', page, re.S).group(0)
    assert f'value="{second}"' in choices and f'value="{first}"' not in choices
    assert f'value="{other}"' not in choices


def test_a_refused_payment_names_each_problem_keeps_what_was_typed_and_writes_nothing(
        app, rt, clerk, world):
    first = issued(rt, world)
    second = issued(rt, world, [LEAFLETS])
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="", received_on="", currency="zł")}))
    assert "The payment was not recorded" in page
    assert error_under(page, "amount") == "Enter the amount."
    assert error_under(page, "received_on") == "Enter the day the money came in."
    assert error_under(page, "currency") == "Enter a three-letter currency code, such as PLN."
    assert value_of(page, "payer") == "GMINA KORNIK"

    # More than the payment has: the allocation's message under its invoice, and the
    # payment is not recorded either.
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="1000"), f"allocate-{first}": "900",
        f"allocate-{second}": "200"}))
    assert error_under(page, f"allocate-{second}") == \
        "The payment has only PLN100.00 left to allocate."
    assert value_of(page, f"allocate-{first}") == "900"
    assert value_of(page, f"allocate-{second}") == "200"
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="2000"), f"allocate-{second}": "abc",
        f"allocate-{first}": "1300"}))
    assert error_under(page, f"allocate-{first}") == "The invoice still owes only PLN1,230.00."
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="2000"), f"allocate-{second}": "abc"}))
    assert error_under(page, f"allocate-{second}") == "Enter a number, such as 12,50."
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, amount="100", currency="EUR"), f"allocate-{first}": "100"}))
    assert error_under(page, f"allocate-{first}") == \
        "The invoice is in PLN and the payment in EUR."
    page = text(clerk.post("/billing/payments/new", data={
        **payment_form(world, buyer="nobody"), "allocate-999999": "10"}))
    assert error_under(page, "buyer") == "Choose from the list."
    assert error_under(page, "allocate-999999") == \
        "There is no such invoice, or you may not see it."
    assert count(app, Payment) == 0 and count(app, PaymentAllocation) == 0
    assert status_of(app, first) == ("issued", Decimal("0.00"))
    assert status_of(app, second) == ("issued", Decimal("0.00"))


def test_a_payment_without_a_payer_stays_unallocated_and_its_rest_is_allocated_later(
        app, rt, clerk, world):
    invoice_id = issued(rt, world)
    payment_id = recorded_id(clerk.post("/billing/payments/new", data={
        **payment_form(world, buyer="", payer="Jan Kowalski", amount="2000")}))
    payment = fetch(app, Payment, payment_id)
    assert payment.organisation_id is None and payment.allocated == Decimal("0.00")
    page = show(clerk, f"/billing/payments/{payment_id}")
    assert "not known yet" in page and "Jan Kowalski" in page
    choices = re.search(r'<select id="f-invoice_id".*?</select>', page, re.S).group(0)
    assert f'value="{invoice_id}"' in choices  # anyone's open invoice in its currency

    page = text(clerk.post(f"/billing/payments/{payment_id}/allocate",
                           data={"invoice_id": "", "amount": "10"}))
    assert error_under(page, "invoice_id") == "Choose an invoice from the list."
    assert 'value="10"' in page
    page = text(clerk.post(f"/billing/payments/{payment_id}/allocate",
                           data={"invoice_id": str(invoice_id), "amount": "1500"}))
    assert error_under(page, "amount") == "The invoice still owes only PLN1,230.00."
    page = text(clerk.post(f"/billing/payments/{payment_id}/allocate",
                           data={"invoice_id": str(invoice_id), "amount": "0"}))
    assert error_under(page, "amount") == "Enter an amount above zero."
    assert count(app, PaymentAllocation) == 0

    assert clerk.post(f"/billing/payments/{payment_id}/allocate",
                      data={"invoice_id": str(invoice_id), "amount": "200,50"}) \
        .status_code == 302
    assert status_of(app, invoice_id) == ("partly_paid", Decimal("200.50"))
    response = clerk.post(f"/billing/payments/{payment_id}/allocate",
                          data={"invoice_id": str(invoice_id), "amount": ""})
    assert response.status_code == 302  # empty: as much as both allow
    assert status_of(app, invoice_id) == ("paid", Decimal("1230.00"))
    assert fetch(app, Payment, payment_id).unallocated == Decimal("770.00")
    page = text(clerk.post(f"/billing/payments/{payment_id}/allocate",
                           data={"invoice_id": str(invoice_id)}))
    assert error_under(page, "amount") == \
        "Nothing is left to allocate: the payment is used up or the invoice paid."


def test_a_pro_forma_a_draft_and_a_correction_are_not_paid(app, rt, clerk, world):
    proforma = issued(rt, world, kind="proforma")
    with rt.session() as s, s.begin():
        draft_id = draft(s, world).id
    for invoice_id, message in ((proforma, "A pro forma is not owed"),
                                (draft_id, "Only an issued invoice is paid.")):
        page = text(clerk.post("/billing/payments/new", data={
            **payment_form(world), f"allocate-{invoice_id}": "100"}))
        assert message in error_under(page, f"allocate-{invoice_id}")
    assert count(app, Payment) == 0
    form = show(clerk, f"/billing/payments/new?buyer=organisation-{world['kornik']}")
    assert f'id="open-invoice-{proforma}"' not in form
    assert f'id="open-invoice-{draft_id}"' not in form


# --------------------------------------------------------------------- the list


def test_the_list_filters_by_payer_day_and_what_is_left_and_sums_per_currency(
        app, rt, clerk, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk_user = user(s, world, "clerk")
        payments.record(s, {"received_on": "2026-03-20", "amount": "1230",
                            "title": "FV 1"}, clerk_user, [(s.get(Invoice, invoice_id), None)])
        payments.record(s, {"received_on": "2026-04-02", "amount": "50", "title": "Nadpłata",
                            "person_id": world["anna"]}, clerk_user)
        payments.record(s, {"received_on": "2026-04-03", "amount": "10", "currency": "EUR",
                            "payer": "ACME GmbH"}, clerk_user)

    def titles(query=""):
        page = show(clerk, f"/billing/payments/{query}")
        return [visible(t) for t in re.findall(
            r'<tr id="payment-\d+"[^>]*>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>(.*?)</td>',
            page, re.S)]

    assert titles() == ["", "Nadpłata", "FV 1"]
    assert titles("?unallocated=1") == ["", "Nadpłata"]
    assert titles(f"?buyer=person-{world['anna']}") == ["Nadpłata"]
    assert titles("?received_from=2026-04-01&received_to=2026-04-02") == ["Nadpłata"]
    assert titles("?q=acme") == [""]
    page = show(clerk, "/billing/payments/")
    totals = {c: visible(body) for c, body in re.findall(
        r'<tr class="total" data-currency="(\w+)">(.*?)</tr>', page, re.S)}
    assert totals["PLN"] == "Total in PLN PLN1,280.00 PLN50.00"
    assert totals["EUR"] == "Total in EUR €10.00 €10.00"
    assert "3 payments" in page
    page = show(clerk, "/billing/payments/?received_from=2026-05-01&received_to=2026-04-01")
    assert error_under(page, "received_to") == "The end cannot be before the start."
    assert error_under(show(clerk, "/billing/payments/?received_from=x"), "received_from") == \
        "Enter the date as YYYY-MM-DD."


# --------------------------------------------------------------------- who may


def test_without_the_billing_permission_payments_are_refused(app, rt, world, kartoteka_login):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        payment_id = payments.record(s, {"received_on": "2026-03-20", "amount": "100",
                                         "organisation_id": world["kornik"]},
                                     user(s, world, "clerk")).id
    rep = login(app, kartoteka_login, "rep")
    for url in ("/billing/payments/", "/billing/payments/new",
                f"/billing/payments/{payment_id}"):
        assert rep.get(url).status_code == 403, url
    assert rep.post("/billing/payments/new", data={
        **payment_form(world), f"allocate-{invoice_id}": "100"}).status_code == 403
    assert rep.post(f"/billing/payments/{payment_id}/allocate", data={
        "invoice_id": str(invoice_id)}).status_code == 403
    assert count(app, Payment) == 1 and count(app, PaymentAllocation) == 0

    loner = login(app, kartoteka_login, "loner")  # bills, but not Gmina Kórnik
    assert loner.get(f"/billing/payments/{payment_id}").status_code == 404
    page = text(loner.post("/billing/payments/new", data={
        **payment_form(world, buyer=""), f"allocate-{invoice_id}": "100"}))
    assert error_under(page, f"allocate-{invoice_id}") == \
        "There is no such invoice, or you may not see it."
    assert count(app, Payment) == 1


def test_the_payment_form_carries_its_csrf_token(kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(default_locale="en", WTF_CSRF_ENABLED=True, **COMPANY)
    rt = app.extensions["kartoteka"]
    world = make_world(rt)
    invoice_id = issued(rt, world)
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"',
                      show(client, "/login")).group(1)
    client.post("/login", data={"email": "clerk@example.com", "password": PASSWORD,
                                "csrf_token": token})
    form = show(client, f"/billing/payments/new?invoice={invoice_id}")
    data = {**payment_form(world), f"allocate-{invoice_id}": "1230"}
    assert client.post("/billing/payments/new", data=data).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/billing/payments/new", data={**data, "csrf_token": token}) \
        .status_code == 302
    assert status_of(app, invoice_id)[0] == "paid"

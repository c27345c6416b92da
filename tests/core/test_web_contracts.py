"""The pages of contracts: the list and its filters, making one (errors by field,
instalment rows with and without script), its card (terms, prices, periods and
instalments billed, items, invoices, expected payments, history), changing its price,
terminating it, a milestone reached, the expected payments' list, and who may."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

import core.web.contracts as pages
from billing_helpers import COMPANY, login, make_world
from core import billing_runs, contracts, payments
from core.models import (
    AuditEntry,
    BillableItem,
    Contract,
    ContractPrice,
    ExpectedPayment,
    Instalment,
    Invoice,
    User,
)
from page_helpers import count, error_under, flashes, show, text, visible

D = Decimal


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def world(app, rt):
    with app.test_request_context():
        return make_world(rt)


@pytest.fixture
def client(app, world):
    return login(app, "clerk@example.com")



def form(world, **changes) -> dict:
    return {"client": f"organisation-{world['kornik']}", "title": "Umowa członkowska 1/2026",
            "description": "Membership fee", "starts_on": "2026-02-15", "ends_on": "",
            "period": "3", "custom_months": "", "billed": "advance", "unit_price": "900",
            "vat_rate": "23", "price_basis": "net", "currency": "PLN",
            "invoice_kind": "invoice", "payment_days": "14", "collects": "invoice",
            "collection_day": "", **changes}


def create(web, world, **changes) -> int:
    response = web.post("/billing/contracts/new", data=form(world, **changes))
    assert response.status_code == 302, text(response)
    found = re.search(r"/billing/contracts/(\d+)$", response.headers["Location"])
    return int(found.group(1))


def made(app, world, by="clerk", **data) -> int:
    """A contract made through the service."""
    rt = app.extensions["kartoteka"]
    values = {"organisation_id": world["kornik"], "title": "Umowa członkowska 1/2026",
              "description": "Membership fee", "starts_on": "2026-01-01",
              "period_months": 3, "unit_price": "900", "vat_rate": "zw", **data}
    with app.test_request_context(), rt.session() as s, s.begin():
        return contracts.create(s, values, s.get(User, world[by])).id


def run(app, start: str, end: str, **options) -> int:
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s, s.begin():
        return billing_runs.start(s, rt.host, {"period_start": start, "period_end": end,
                                               **options}).id


def card(client, contract_id: int) -> str:
    return show(client, f"/billing/contracts/{contract_id}")


def section(page: str, css: str) -> str:
    found = re.search(rf'<section class="card {css}"[^>]*>(.*?)</section>', page, re.S)
    return visible(found.group(1)) if found else ""


# --- Making one --------------------------------------------------------------------------

def test_a_quarterly_contract_is_made_from_the_form_and_shown_on_its_card(app, client, world):
    page = show(client, "/billing/contracts/new")
    assert 'name="client"' in page and "Gmina Kórnik" in page
    assert 'name="period"' in page and "quarterly" in page
    contract_id = create(client, world)
    page = card(client, contract_id)
    assert "Contract saved: Umowa członkowska 1/2026." in flashes(page)
    terms = section(page, "contract-terms")
    assert "Gmina Kórnik" in terms and "quarterly, in advance" in terms
    assert "900.00" in terms and "nothing billed yet" in terms
    assert "15/02/2026–31/03/2026" in terms or "2/15/26–3/31/26" in terms
    assert "900.00" in section(page, "contract-prices")
    with app.extensions["kartoteka"].session() as s:
        contract = s.get(Contract, contract_id)
        assert (contract.period_months, contract.unit, contract.vat_rate) == (3, "szt.", "23")
        assert [p.unit_price for p in contract.prices] == [D("900")]
    assert "Created" in section(page, "change-history") or "create" in page


def test_a_custom_period_and_a_direct_debit(app, client, world):
    contract_id = create(client, world, client=f"person-{world['anna']}", period="custom",
                         custom_months="5", collects="expected", collection_day="10",
                         vat_rate="np", unit_price="50")
    with app.extensions["kartoteka"].session() as s:
        contract = s.get(Contract, contract_id)
        assert (contract.period_months, contract.collects, contract.collection_day,
                contract.person_id) == (5, "expected", 10, world["anna"])
    page = card(client, contract_id)
    assert "every 5 months" in section(page, "contract-terms")
    assert "on day 10 of the month" in section(page, "contract-terms")
    assert "No payments expected yet" in section(page, "contract-expected")


def test_problems_are_shown_under_their_fields_and_nothing_is_written(app, client, world):
    response = client.post("/billing/contracts/new", data=form(
        world, client="", title=" ", starts_on="", period="custom", custom_months="",
        vat_rate="7", collects="expected", collection_day="", unit_price="abc",
        **{"instalments-0-description": "Advance", "instalments-0-unit_price": "1000",
           "instalments-1-description": "Success fee", "instalments-1-unit_price": "x",
           "instalments-1-milestone": "Grant awarded"}))
    page = text(response)
    assert response.status_code == 200
    assert "The contract was not saved" in page
    assert error_under(page, "client")
    assert error_under(page, "title") == "Enter a title."
    assert error_under(page, "starts_on") == "Enter the day the contract starts."
    assert error_under(page, "period") == "Enter how many months one period lasts."
    assert error_under(page, "vat_rate")
    assert error_under(page, "collection_day")
    assert error_under(page, "unit_price")
    assert "either the day it is due or the milestone" in error_under(page, "instalments-0-due_on")
    assert error_under(page, "instalments-1-unit_price")
    assert 'value="Success fee"' in page and 'value="Grant awarded"' in page  # kept
    assert count(app, Contract) == 0 and count(app, Instalment) == 0


def test_an_end_before_the_start_and_a_price_without_a_period(app, client, world):
    page = text(client.post("/billing/contracts/new", data=form(
        world, ends_on="2026-01-31", period="")))
    assert error_under(page, "ends_on") == "The contract cannot end before it starts."
    assert error_under(page, "period") == "Choose how often it is billed, or add instalments."
    assert 'value="2026-01-31"' in page and 'value="900"' in page
    page = text(client.post("/billing/contracts/new", data=form(world, period="fortnightly")))
    assert error_under(page, "period") == "Choose from the list."
    page = text(client.post("/billing/contracts/new", data=form(
        world, period="custom", custom_months="61")))
    assert error_under(page, "period") and 'value="61"' in page
    assert count(app, Contract) == 0


def test_instalment_rows_are_added_and_removed_without_script(app, client, world):
    typed = form(world, period="", unit_price="", **{
        "instalments-0-description": "Advance", "instalments-0-unit_price": "1000",
        "instalments-0-due_on": "2026-02-10"})
    page = text(client.post("/billing/contracts/new", data={**typed, "action": "more"}))
    assert len(re.findall(r'<tr class="instalment" data-index="\d+">', page)) == 4
    assert 'value="Advance"' in page and error_under(page, "title") is None
    assert "__index__" in page  # the template row the script copies
    page = text(client.post("/billing/contracts/new", data={
        **typed, "instalments-1-description": "Second", "instalments-1-unit_price": "5",
        "instalments-1-due_on": "2026-03-10", "remove": "0"}))
    assert 'value="Second"' in page and 'value="Advance"' not in page
    assert count(app, Contract) == 0


def test_a_payment_schedule_with_a_date_and_a_milestone(app, client, world):
    contract_id = create(client, world, period="", unit_price="", starts_on="2026-01-01",
                         description="Cooperation contract", **{
                             "instalments-0-description": "Advance",
                             "instalments-0-unit_price": "1000",
                             "instalments-0-due_on": "2026-02-10",
                             "instalments-3-description": "Success fee",
                             "instalments-3-unit_price": "5000",
                             "instalments-3-milestone": "Grant awarded"})
    schedule = section(card(client, contract_id), "contract-instalments")
    assert "Advance" in schedule and "waiting for the milestone" in schedule
    assert "billed" not in schedule
    run(app, "2026-02-01", "2026-02-28")
    page = card(client, contract_id)
    schedule = section(page, "contract-instalments")
    assert "Advance" in schedule and "billed" in schedule
    assert "Cooperation contract: Advance" in section(page, "contract-items")

    refused = text(client.post(f"/billing/contracts/{contract_id}/milestone",
                               data={"milestone": "Contract signed", "reached_on": "2026-04-02"}))
    assert error_under(refused, "milestone") == "No instalment waits for this milestone."
    refused = text(client.post(f"/billing/contracts/{contract_id}/milestone",
                               data={"milestone": "Grant awarded", "reached_on": ""}))
    assert error_under(refused, "reached_on") == "Enter the day it was reached."
    refused = text(client.post(f"/billing/contracts/{contract_id}/milestone",
                               data={"milestone": "Grant awarded", "reached_on": "2.4.2026"}))
    assert error_under(refused, "reached_on")
    with app.extensions["kartoteka"].session() as s:
        assert s.scalar(select(Instalment.reached_on).where(
            Instalment.milestone == "Grant awarded")) is None

    response = client.post(f"/billing/contracts/{contract_id}/milestone",
                           data={"milestone": "Grant awarded", "reached_on": "2026-04-02"})
    assert response.status_code == 302
    page = card(client, contract_id)
    assert "“Grant awarded” reached: 1 instalment falls due." in flashes(page)
    assert "due: the next run bills it" in section(page, "contract-instalments")
    assert 'name="milestone"' not in page  # nothing waits for a milestone now


def test_the_card_shows_periods_items_and_invoices_billed(app, client, world):
    contract_id = made(app, world, starts_on="2026-02-15", vat_rate="23")
    run(app, "2026-02-01", "2026-02-28")
    run(app, "2026-04-01", "2026-04-30")
    page = card(client, contract_id)
    assert "30/06/2026" in section(page, "contract-terms") or \
        "6/30/26" in section(page, "contract-terms")  # billed through
    periods = section(page, "contract-periods")
    assert "450.00" in periods and "900.00" in periods
    items = section(page, "contract-items")
    assert "Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)" in items
    assert "Membership fee, 01.04.2026–30.06.2026" in items
    with app.extensions["kartoteka"].session() as s:
        ids = list(s.scalars(select(Invoice.id).order_by(Invoice.id)))
    assert len(ids) == 2
    for invoice_id in ids:
        assert f'href="/billing/invoices/{invoice_id}"' in page
    assert "Draft invoice" in section(page, "contract-invoices")


def test_a_price_change_from_a_day(app, client, world):
    contract_id = made(app, world, billed="arrears")
    refused = text(client.post(f"/billing/contracts/{contract_id}/price",
                               data={"valid_from": "2025-12-01", "unit_price": "1200"}))
    assert error_under(refused, "valid_from") == "The contract starts on 01.01.2026."
    assert 'value="1200"' in refused
    refused = text(client.post(f"/billing/contracts/{contract_id}/price",
                               data={"valid_from": "", "unit_price": "-1"}))
    assert error_under(refused, "valid_from") and error_under(refused, "unit_price")
    assert count(app, ContractPrice) == 1

    response = client.post(f"/billing/contracts/{contract_id}/price",
                           data={"valid_from": "2026-03-01", "unit_price": "1200"})
    assert response.status_code == 302
    page = card(client, contract_id)
    assert "The new price applies from 01.03.2026." in flashes(page)
    prices = section(page, "contract-prices")
    assert "900.00" in prices and "1,200.00" in prices
    history = section(page, "change-history")
    assert "1200" in history or "1,200" in history


def test_a_price_raised_from_a_day_billed_shows_its_adjustment(app, client, world):
    contract_id = made(app, world)
    run(app, "2026-01-01", "2026-01-31", issue=True, issue_date="2026-01-02")
    response = client.post(f"/billing/contracts/{contract_id}/price",
                           data={"valid_from": "2026-03-01", "unit_price": "1200"})
    assert response.status_code == 302
    items = section(card(client, contract_id), "contract-items")
    assert "Membership fee, 01.03.2026–31.03.2026 (31 of 90 days) adjustment" in items
    assert "103.33" in items and "not invoiced yet" in items


def test_a_price_cannot_change_on_a_schedule_only_contract(app, client, world):
    contract_id = made(app, world, period_months=None, unit_price=None, instalments=[
        {"description": "Advance", "unit_price": "1000", "due_on": "2026-02-10"}])
    page = card(client, contract_id)
    assert "price-form" not in page
    refused = text(client.post(f"/billing/contracts/{contract_id}/price",
                               data={"valid_from": "2026-03-01", "unit_price": "1"}))
    assert "This contract has no recurring price." in refused


def test_terminating_corrects_what_was_billed_beyond_the_end(app, client, world):
    contract_id = made(app, world)
    run(app, "2026-01-01", "2026-01-31")
    refused = text(client.post(f"/billing/contracts/{contract_id}/terminate",
                               data={"ends_on": "", "reason": "Left the union"}))
    assert error_under(refused, "ends_on") == "Enter the last day the contract covers."
    assert "Left the union" in refused
    refused = text(client.post(f"/billing/contracts/{contract_id}/terminate",
                               data={"ends_on": "2025-12-31", "reason": ""}))
    assert error_under(refused, "ends_on") == "The contract cannot end before it starts."
    with app.extensions["kartoteka"].session() as s:
        assert s.get(Contract, contract_id).ends_on is None

    response = client.post(f"/billing/contracts/{contract_id}/terminate",
                           data={"ends_on": "2026-01-30", "reason": "Left the union"})
    assert response.status_code == 302
    page = card(client, contract_id)
    assert any("ends on 30.01.2026" in f for f in flashes(page))
    terms = section(page, "contract-terms")
    assert "Left the union" in terms
    with app.extensions["kartoteka"].session() as s:
        assert s.scalars(select(Invoice)).one().gross == D("300.00")  # the draft shrank


# --- The list ------------------------------------------------------------------------------

def test_the_list_filters_by_client_state_kind_and_title(app, client, world, monkeypatch):
    monkeypatch.setattr(pages, "local_today", lambda: date(2026, 6, 1))
    recurring = made(app, world, title="Umowa A")
    schedule = made(app, world, title="Harmonogram B", period_months=None, unit_price=None,
                    instalments=[{"description": "X", "unit_price": "1",
                                  "due_on": "2026-02-01"}])
    debit = made(app, world, title="Polecenie zapłaty C", organisation_id=None,
                 person_id=world["anna"], period_months=1, unit_price="50",
                 collects="expected", collection_day=10)
    ended = made(app, world, title="Umowa D", organisation_id=world["mosina"],
                 ends_on="2026-03-31")

    def listed(**args) -> set[int]:
        page = show(client, "/billing/contracts/?" + "&".join(f"{k}={v}"
                                                                for k, v in args.items()))
        return {int(i) for i in re.findall(r'<tr id="contract-(\d+)"', page)}

    assert listed() == {recurring, schedule, debit, ended}
    assert listed(kind="recurring") == {recurring, ended}
    assert listed(kind="schedule") == {schedule}
    assert listed(kind="expected") == {debit}
    assert listed(state="terminated") == {ended}
    assert listed(state="active") == {recurring, schedule, debit}
    assert listed(client=f"person-{world['anna']}") == {debit}
    assert listed(q="umowa") == {recurring, ended}
    page = show(client, "/billing/contracts/?kind=weekly&client=nobody")
    assert error_under(page, "kind") and error_under(page, "client")


def test_the_list_pages(app, client, world, monkeypatch):
    monkeypatch.setattr(pages, "PAGE", 2)
    ids = [made(app, world, title=f"Umowa {n}") for n in range(3)]
    first = show(client, "/billing/contracts/?q=Umowa")
    assert "3 contracts" in first and "Next page" in first
    second = show(client, "/billing/contracts/?q=Umowa&page=1")
    assert f'id="contract-{ids[0]}"' in second and "Previous page" in second


# --- Expected payments -------------------------------------------------------------------

def test_expected_payments_are_paid_waiting_or_missed(app, client, world, monkeypatch):
    monkeypatch.setattr(pages, "local_today", lambda: date(2026, 3, 14))
    contract_id = made(app, world, organisation_id=None, person_id=world["anna"],
                       period_months=1, unit_price="50", vat_rate="np", collects="expected",
                       collection_day=10, title="Darowizna cykliczna")
    run(app, "2026-01-01", "2026-03-31")
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s, s.begin():
        payment = payments.record(s, {"received_on": "2026-01-10", "amount": "50",
                                      "person_id": world["anna"]},
                                  s.get(User, world["clerk"]))
        january = s.scalar(select(ExpectedPayment).where(
            ExpectedPayment.due_on == date(2026, 1, 10)))
        january.payment_id = payment.id

    def states(**args) -> list[tuple[str, str]]:
        page = show(client, "/billing/expected/?" + "&".join(f"{k}={v}"
                                                               for k, v in args.items()))
        return re.findall(r'<tr id="expected-\d+" class="expected-(\w+)">\s*<td>([^<]+)</td>',
                          page)

    assert [s for s, _day in states()] == ["paid", "missed", "waiting"]
    assert [s for s, _day in states(state="missed")] == ["missed"]  # 10 Feb + 5 days < 14 Mar
    assert [s for s, _day in states(state="waiting")] == ["waiting"]
    assert [s for s, _day in states(state="paid")] == ["paid"]
    assert [s for s, _day in states(due_from="2026-02-01", due_to="2026-02-28")] == ["missed"]
    page = show(client, "/billing/expected/?state=missed")
    assert "Darowizna cykliczna" in page and "Anna Nowak" in page
    assert f'href="/billing/contracts/{contract_id}"' in page
    assert "1 expected payment" in page
    page = show(client, "/billing/expected/?due_from=2026-03-01&due_to=2026-02-01&state=late")
    assert error_under(page, "due_to") and error_under(page, "state")
    page = card(client, contract_id)
    expected = section(page, "contract-expected")
    assert "paid" in expected and "missed" in expected and "waiting" in expected


# --- Who may -------------------------------------------------------------------------------

def test_staff_without_billing_may_not_open_or_change_contracts(app, world):
    contract_id = made(app, world)
    rep = login(app, "rep@example.com")
    for url in ("/billing/contracts/", "/billing/contracts/new",
                f"/billing/contracts/{contract_id}", "/billing/expected/"):
        assert rep.get(url).status_code == 403, url
    for url in ("/billing/contracts/new", f"/billing/contracts/{contract_id}/price",
                f"/billing/contracts/{contract_id}/terminate",
                f"/billing/contracts/{contract_id}/milestone"):
        assert rep.post(url, data={"ends_on": "2026-02-01", "valid_from": "2026-02-01",
                                   "unit_price": "1"}).status_code == 403, url
    with app.extensions["kartoteka"].session() as s:
        contract = s.get(Contract, contract_id)
        assert contract.ends_on is None and len(contract.prices) == 1
        assert s.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "contracts", AuditEntry.action == "update")).all() == []


def test_a_contract_of_a_client_one_may_not_see_does_not_exist(app, world):
    contract_id = made(app, world)
    loner = login(app, "loner@example.com")
    assert loner.get("/billing/contracts/").status_code == 200
    assert f"contract-{contract_id}" not in text(loner.get("/billing/contracts/"))
    assert loner.get(f"/billing/contracts/{contract_id}").status_code == 404
    assert loner.post(f"/billing/contracts/{contract_id}/terminate",
                      data={"ends_on": "2026-02-01"}).status_code == 404
    page = text(loner.post("/billing/contracts/new", data=form(world)))
    assert error_under(page, "client")
    assert count(app, Contract) == 1
    assert count(app, BillableItem) == 0

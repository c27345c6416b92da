"""The pages of billing runs: the list, a new run's form and its preview (exactly what
the run then makes, writing nothing), starting it, its page with the job's progress,
what it made and the invoices, issuing its drafts, a second run of a period making
nothing new, bad input by field, and who may."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

import core.web.billing_runs as pages
from billing_helpers import COMPANY, login, make_world
from core import billing_runs, contracts
from core.models import (
    BillableItem,
    BillingRun,
    ExpectedPayment,
    Invoice,
    Job,
    Organisation,
    User,
)
from core.periods import Period
from page_helpers import count, error_under, flashes, show, text, visible

D = Decimal
FEBRUARY = {"period_start": "2026-02-01", "period_end": "2026-02-28"}
BOTH = ["core.contracts", "core.settlement"]


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



def contract(app, world, **data) -> int:
    rt = app.extensions["kartoteka"]
    values = {"organisation_id": world["kornik"], "title": "Umowa członkowska 1/2026",
              "description": "Membership fee", "starts_on": "2026-02-15",
              "period_months": 3, "unit_price": "900", "vat_rate": "23", **data}
    with app.test_request_context(), rt.session() as s, s.begin():
        return contracts.create(s, values, s.get(User, world["clerk"])).id


@pytest.fixture
def three(app, world):
    """Three contracts that bill in February: a quarter from 15 February (prorated), a
    monthly fee of a person, and a direct debit (payments expected, no invoice)."""
    return [contract(app, world),
            contract(app, world, organisation_id=None, person_id=world["anna"],
                     title="Składka Anny", description="Monthly fee", period_months=1,
                     unit_price="100", starts_on="2026-01-01"),
            contract(app, world, organisation_id=world["mosina"], title="Polecenie zapłaty",
                     description="Direct debit", period_months=1, unit_price="40",
                     vat_rate="np", collects="expected", collection_day=5,
                     starts_on="2026-02-01")]


def preview(client, **data) -> str:
    response = client.post("/billing/runs/new", data={**FEBRUARY, "strategies": BOTH,
                                                      "issue": "0", **data,
                                                      "action": "preview"})
    assert response.status_code == 200
    return text(response)


def start(client, **data) -> int:
    response = client.post("/billing/runs/new", data={**FEBRUARY, "strategies": BOTH,
                                                      "issue": "0", **data, "action": "start"})
    assert response.status_code == 302, text(response)
    return int(re.search(r"/billing/runs/(\d+)$", response.headers["Location"]).group(1))


def previewed_bills(page: str) -> list[dict]:
    """Each bill of a preview: client, label, kind, amount and lines."""
    found = []
    for body in re.findall(r'<tbody class="bill">(.*?)</tbody>', page, re.S):
        head = re.search(r'<th scope="row" class="client">(.*?)</th>\s*<td class="label">(.*?)'
                         r'</td>\s*<td class="kind">(.*?)</td>\s*<td class="money amount">(.*?)'
                         r'</td>', body, re.S)
        lines = re.findall(r'<td class="description" colspan="2">(.*?)</td>\s*'
                           r'<td class="money">(.*?)</td>', body, re.S)
        found.append({"client": head[1], "label": head[2], "kind": head[3],
                      "amount": head[4], "lines": lines})
    return found


def written(app) -> int:
    return sum(count(app, model) for model in (BillingRun, Invoice, BillableItem,
                                               ExpectedPayment, Job))


# --- The form and the preview ----------------------------------------------------------------

def test_the_form_offers_the_strategies_and_quick_periods(app, client, world, monkeypatch):
    monkeypatch.setattr(pages, "local_today", lambda: date(2026, 5, 20))
    page = show(client, "/billing/runs/new")
    assert 'value="2026-05-01"' in page and 'value="2026-05-31"' in page  # this month
    for key in BOTH:
        assert f'name="strategies" value="{key}" checked' in page
    assert "Contracts and payment schedules" in page and "prorated by days" in page
    assert "Settlement of what is owed" in page
    assert 'data-start="2026-04-01" data-end="2026-04-30"' in page  # last month
    assert 'data-start="2026-04-01" data-end="2026-06-30"' in page  # this quarter
    assert pages.quick_periods(date(2026, 1, 15))["last_month"] == Period(
        date(2025, 12, 1), date(2025, 12, 31))
    page = show(client, "/billing/runs/new?period_start=2026-02-01&period_end=2026-02-28")
    assert 'value="2026-02-01"' in page and 'value="2026-02-28"' in page


def test_the_preview_shows_exactly_what_the_run_then_makes(app, client, world, three):
    page = preview(client)
    assert written(app) == 0  # a preview writes nothing
    bills = previewed_bills(page)
    assert [(b["client"], b["label"], b["kind"]) for b in bills] == [
        ("Gmina Kórnik", "Umowa członkowska 1/2026", "VAT invoice"),
        ("Anna Nowak", "Składka Anny", "VAT invoice"),
        ("Gmina Mosina", "Polecenie zapłaty", "expected payment")]
    assert bills[0]["lines"] == [("Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)",
                                  "PLN450.00")]
    assert [line for line, _amount in bills[1]["lines"]] == [
        "Monthly fee, 01.01.2026–31.01.2026", "Monthly fee, 01.02.2026–28.02.2026"]
    counts = visible(re.search(r'<dl class="details preview-counts">(.*?)</dl>', page,
                               re.S).group(1))
    assert "Invoices 2" in counts and "Payments to expect 1" in counts and "Lines 4" in counts
    assert "PLN690.00" in counts  # 450 + 2 × 100 + 40

    run_id = start(client)
    page = show(client, f"/billing/runs/{run_id}")
    assert "The run was started." in flashes(page)
    with app.extensions["kartoteka"].session() as s:
        made = s.scalars(select(Invoice).where(Invoice.billing_run_id == run_id)
                         .order_by(Invoice.id)).all()
        assert [(i.buyer["name"], [(line.description, line.unit_price) for line in i.lines])
                for i in made] == [
            ("Gmina Kórnik", [("Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)",
                               D("450.00"))]),
            ("Anna Nowak", [("Monthly fee, 01.01.2026–31.01.2026", D("100.00")),
                            ("Monthly fee, 01.02.2026–28.02.2026", D("100.00"))])]
        assert sum(i.net for i in made) + D("40") == D("690.00")
        assert s.scalar(select(ExpectedPayment.amount)) == D("40.00")
        run = s.get(BillingRun, run_id)
        assert (run.state, run.made["invoices"], run.made["expected"]) == ("done", 2, 1)
    invoices = visible(re.search(r'<section class="card run-invoices">(.*?)</section>', page,
                                 re.S).group(1))
    assert "Gmina Kórnik" in invoices and "PLN450.00" in invoices and "PLN553.50" in invoices
    for invoice in made:
        assert f'href="/billing/invoices/{invoice.id}"' in page
    assert "1 payment expected from direct debits" in page
    assert f"/billing/expected/?run={run_id}" in page


def test_a_second_run_of_the_same_period_makes_nothing_new_and_says_so(app, client, world,
                                                                       three):
    run_id = start(client)
    before = (count(app, Invoice), count(app, BillableItem), count(app, ExpectedPayment))
    page = show(client, "/billing/runs/new?period_start=2026-02-01&period_end=2026-02-28")
    assert "This period has a run already" in page
    assert f'href="/billing/runs/{run_id}"' in page
    page = preview(client)
    assert "Nothing to bill in this period: everything due is billed already." in page
    assert previewed_bills(page) == []

    assert start(client) == run_id  # the period's one run, started again
    assert (count(app, Invoice), count(app, BillableItem), count(app, ExpectedPayment)) == before
    page = show(client, f"/billing/runs/{run_id}")
    assert "the run made nothing new: everything due in this period was billed already" in page
    with app.extensions["kartoteka"].session() as s:
        assert s.get(BillingRun, run_id).made["invoices"] == 2  # in all, not twice
        assert count(app, BillingRun) == 1


def test_the_run_page_starts_it_again_with_its_options(app, client, world, three):
    run_id = start(client, strategies=["core.contracts"])
    page = show(client, f"/billing/runs/{run_id}")
    again = re.search(r'<section class="card run-again">(.*?)</section>', page, re.S).group(1)
    assert 'name="strategies" value="core.contracts"' in again
    assert 'name="strategies" value="core.settlement"' not in again
    contract(app, world, title="Nowa umowa", description="New fee", starts_on="2026-02-20",
             period_months=1, unit_price="280")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', again))
    response = client.post("/billing/runs/new", data={**fields, "strategies": [
        "core.contracts"], "action": "start"})
    assert response.headers["Location"].endswith(f"/billing/runs/{run_id}")
    page = show(client, f"/billing/runs/{run_id}")
    assert "Invoices drafted: 1" in visible(page)
    with app.extensions["kartoteka"].session() as s:
        assert s.get(BillingRun, run_id).made["invoices"] == 3


def test_bad_input_is_shown_by_field_and_nothing_is_started(app, client, world, three):
    page = preview(client, period_start="", period_end="")
    assert error_under(page, "period_start") == "Enter the first day of the period."
    assert error_under(page, "period_end") == "Enter the last day of the period."
    page = preview(client, period_start="2026-02-28", period_end="2026-02-01")
    assert error_under(page, "period_end") == "The period cannot end before it starts."
    page = preview(client, period_start="2026-01-01", period_end="2027-01-02")
    assert error_under(page, "period_end") == "A run bills at most a year at a time."
    page = text(client.post("/billing/runs/new", data={**FEBRUARY, "action": "start",
                                                       "issue_date": "28.02.2026"}))
    assert error_under(page, "strategies") == "Choose at least one kind of billing."
    assert error_under(page, "issue_date")
    assert 'value="2026-02-01"' in page  # what was typed is kept
    page = text(client.post("/billing/runs/new", data={**FEBRUARY, "action": "start",
                                                       "strategies": ["plugin.nothing"]}))
    assert "There is no billing strategy “plugin.nothing”." in error_under(page, "strategies")
    page = text(client.post("/billing/runs/new", data={"period_start": "yesterday",
                                                       "period_end": "2026-02-28",
                                                       "strategies": BOTH,
                                                       "action": "start"}))
    assert error_under(page, "period_start")
    assert written(app) == 0


def test_the_preview_counts_all_and_lists_the_first(app, client, world, three, monkeypatch):
    monkeypatch.setattr(billing_runs, "PREVIEW_BILLS", 1)
    page = preview(client)
    assert len(previewed_bills(page)) == 1
    assert "and 2 more" in page
    assert "Invoices 2" in visible(page)


# --- The run's page ------------------------------------------------------------------------

def test_the_run_page_shows_its_progress_and_the_jobs_state(app, client, world, three):
    run_id = start(client)
    page = show(client, f"/billing/runs/{run_id}")
    assert '<progress max="100" value="100">' in page
    assert "data-job-url" not in page  # done: nothing to poll
    status = client.get(f"/billing/runs/{run_id}.json").get_json()
    assert (status["state"], status["percent"]) == ("done", 100)
    assert status["result"]["invoices"] == 2
    with app.extensions["kartoteka"].session() as s:
        run = s.get(BillingRun, run_id)
        run.state = "running"
        s.get(Job, run.job_id).state = "running"
        s.get(Job, run.job_id).total = 4
        s.get(Job, run.job_id).done = 1
        s.commit()
    page = show(client, f"/billing/runs/{run_id}")
    assert f'data-job-url="/billing/runs/{run_id}.json"' in page
    assert "core/progress.js" in page and '<progress max="100" value="25">' in page
    assert "run-again" not in page


def test_a_bill_that_cannot_be_written_is_named_and_the_rest_goes_on(app, client, world,
                                                                      three):
    with app.extensions["kartoteka"].session() as s:
        s.get(Organisation, world["kornik"]).deleted_at = s.get(User, world["clerk"]).created_at
        s.commit()
    run_id = start(client)
    page = show(client, f"/billing/runs/{run_id}")
    failed = visible(re.search(r'<div class="run-failed">(.*?)</div>', page, re.S).group(1))
    assert "Umowa członkowska 1/2026 : The client has been deleted." in failed
    assert count(app, Invoice) == 1  # Anna's


def test_the_drafts_of_a_run_are_issued_together(app, client, world, three):
    run_id = start(client)
    page = show(client, f"/billing/runs/{run_id}")
    assert "Issue the 2 drafts" in page
    refused = text(client.post(f"/billing/runs/{run_id}/issue", data={"issue_date": "1.3.2026"}))
    assert error_under(refused, "issue_date") == "Enter the date as YYYY-MM-DD."
    with app.extensions["kartoteka"].session() as s:
        assert {i.status for i in s.scalars(select(Invoice))} == {"draft"}
    response = client.post(f"/billing/runs/{run_id}/issue", data={"issue_date": "2026-03-02"})
    assert response.status_code == 302
    page = show(client, f"/billing/runs/{run_id}")
    assert "2 invoices issued." in flashes(page)
    assert "issue-drafts" not in page
    with app.extensions["kartoteka"].session() as s:
        made = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert {(i.status, i.issue_date) for i in made} == {("issued", date(2026, 3, 2))}
        assert all(i.number and i.number in page for i in made)


def test_a_run_may_issue_its_invoices_at_once(app, client, world, three):
    run_id = start(client, issue="1", issue_date="2026-02-02")
    with app.extensions["kartoteka"].session() as s:
        assert {(i.status, i.issue_date) for i in s.scalars(select(Invoice))} == {
            ("issued", date(2026, 2, 2))}
        assert s.get(BillingRun, run_id).made["issued"] == 2


def test_the_list_of_runs(app, client, world, three):
    assert "No runs yet." in show(client, "/billing/runs/")
    run_id = start(client)
    page = show(client, "/billing/runs/")
    row = visible(re.search(rf'<tr id="run-{run_id}"[^>]*>(.*?)</tr>', page, re.S).group(1))
    assert "done" in row and "Invoices drafted: 2" in row and "Payments expected: 1" in row
    assert "Klara Księgowa" in row
    assert f'href="/billing/runs/{run_id}"' in page
    for link in ("/billing/contracts/", "/billing/runs/", "/billing/expected/"):
        assert f'href="{link}"' in page  # the billing pages' tabs


# --- Who may -------------------------------------------------------------------------------

def test_staff_without_billing_may_not_run_billing(app, client, world, three):
    run_id = start(client)
    rep = login(app, "rep@example.com")
    for url in ("/billing/runs/", "/billing/runs/new", f"/billing/runs/{run_id}",
                f"/billing/runs/{run_id}.json"):
        assert rep.get(url).status_code == 403, url
    assert rep.post("/billing/runs/new", data={"period_start": "2026-03-01",
                                               "period_end": "2026-03-31",
                                               "strategies": BOTH,
                                               "action": "start"}).status_code == 403
    assert rep.post(f"/billing/runs/{run_id}/issue").status_code == 403
    assert count(app, BillingRun) == 1
    with app.extensions["kartoteka"].session() as s:
        assert {i.status for i in s.scalars(select(Invoice))} == {"draft"}
    assert client.get("/billing/runs/999999").status_code == 404


def test_a_large_run_lists_its_first_invoices_and_links_to_all_of_them(app, world, client,
                                                                         monkeypatch):
    from core.web import billing_runs as pages

    monkeypatch.setattr(pages, "SHOWN", 1)
    for name in ("kornik", "mosina"):
        contract(app, world, organisation_id=world[name], title=f"Umowa {name}")
    run_id = start(client)
    page = show(client, f"/billing/runs/{run_id}")
    assert page.count('class="status-draft"') == 1
    assert f"/billing/invoices/?run={run_id}" in page and "All 2 invoices of this run" in page
    assert "Issue the 2 drafts" in page
    listed = show(client, f"/billing/invoices/?run={run_id}")
    assert "The invoices of a billing run." in listed
    assert listed.count("Draft invoice #") >= 2

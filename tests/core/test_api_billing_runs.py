"""Contracts and billing runs through the API: a contract made and changed, a period
previewed and run as a job, run again making nothing, its drafts issued; bad input named
per field with nothing written; who may do what."""

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from billing_helpers import COMPANY
from core.models import BillingRun, Contract, Invoice

MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
OWN = dict.fromkeys(("read", "create", "edit", "delete"), "own")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def staff(app, rt):
    return callers(app, rt, boss=dict(admin=True), clerk=dict(permissions=["core.billing"]),
                   rep=dict(), seller=dict(access=OWN, permissions=["core.billing"]))


@pytest.fixture
def kornik(staff) -> int:
    return created(staff.boss("post", "/organizations/", json={
        "name": "Gmina Kórnik", "type_key": "core.municipality",
        "owner_id": staff.ids["boss"]}))["id"]


def contract(api, organisation_id, **data) -> dict:
    return created(api("post", "/contracts/", json={
        "organisation_id": organisation_id, "title": "Umowa członkowska 1/2026",
        "description": "Membership fee", "starts_on": "2026-02-15", "period_months": 3,
        "unit_price": "900.00", "vat_rate": "zw", **data}))


def test_a_contract_is_made_previewed_run_and_run_again_without_duplicates(staff, kornik, rt):
    made = contract(staff.clerk, kornik)
    assert (made["prices"], made["billed_through"]) == (
        [{"valid_from": "2026-02-15", "unit_price": "900.0000"}], None)
    february = {"period_start": "2026-02-01", "period_end": "2026-02-28"}
    preview = staff.clerk("post", "/billing-runs/preview", json=february).get_json()
    assert (preview["invoices"], preview["totals"], preview["more"]) == (1, {"PLN": "450.00"}, 0)
    assert preview["bills"][0]["lines"] == [{
        "description": "Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)",
        "amount": "450.00"}]
    response = staff.clerk("post", "/billing-runs/", json=february)
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/billing-runs/{run['id']}")
    assert (run["state"], run["made"]["invoices"], run["job"]["state"]) == ("done", 1, "done")
    again = staff.clerk("post", "/billing-runs/", json=february).get_json()
    assert again["id"] == run["id"] and again["job"]["result"]["invoices"] == 0
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 1
    assert staff.clerk("get", f"/contracts/{made['id']}").get_json()["billed_through"] == \
        "2026-03-31"
    issued = staff.clerk("post", f"/billing-runs/{run['id']}/issue", json={
        "issue_date": "2026-02-02"})
    assert issued.get_json() == {"issued": 1}
    with rt.session() as s:
        assert s.scalars(select(Invoice.number)).all() == ["FV/2026/0001"]
    listed = staff.clerk("get", "/billing-runs/").get_json()
    assert [r["period_start"] for r in listed] == ["2026-02-01"]


def test_the_strategies_are_listed_in_their_order(staff):
    found = staff.clerk("get", "/billing-runs/strategies").get_json()
    assert [s["key"] for s in found] == ["core.contracts", "core.settlement"]
    assert found[0]["title"] == "Contracts and payment schedules"


def test_bad_runs_and_contracts_are_named_per_field_and_nothing_is_written(staff, kornik, rt):
    response = staff.clerk("post", "/billing-runs/", json={
        "period_start": "2026-03-31", "period_end": "2026-03-01", "strategies": ["x.y"]})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"period_end", "strategies"}
    response = staff.clerk("post", "/contracts/", json={
        "organisation_id": kornik, "title": "X", "starts_on": "2026-01-01",
        "instalments": [{"description": "Advance", "unit_price": "10"}]})
    assert response.status_code == 422
    assert "instalments.0.due_on" in response.get_json()["errors"]
    response = staff.clerk("post", "/contracts/", json={
        "organisation_id": kornik, "title": "X", "starts_on": "2026-01-01",
        "period_months": 1, "unit_price": "abc"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["unit_price"] == "Enter a number, such as 12,50."
    with rt.session() as s:
        assert s.scalars(select(Contract)).all() == [] and s.scalars(select(BillingRun)).all() \
            == []


def test_people_without_billing_may_not_run_or_make_contracts(staff, kornik):
    assert staff.rep("post", "/billing-runs/", json=MARCH).status_code == 403
    assert staff.rep("post", "/billing-runs/preview", json=MARCH).status_code == 403
    assert staff.rep("get", "/billing-runs/").status_code == 403
    assert staff.rep("get", "/contracts/").status_code == 403
    assert staff.rep("post", "/contracts/", json={
        "organisation_id": kornik, "title": "X", "starts_on": "2026-01-01",
        "period_months": 1, "unit_price": "1"}).status_code == 403


def test_a_seller_sees_only_the_contracts_of_their_own_clients(staff, kornik):
    made = contract(staff.clerk, kornik)
    assert staff.seller("get", f"/contracts/{made['id']}").status_code == 404
    assert staff.seller("get", "/contracts/").get_json()["items"] == []
    assert [c["id"] for c in staff.clerk("get", "/contracts/").get_json()["items"]] == [
        made["id"]]


def test_price_termination_and_milestones_through_the_api(staff, kornik):
    made = contract(staff.clerk, kornik, period_months=None, unit_price=None,
                    instalments=[{"description": "Success fee", "unit_price": "5000",
                                  "milestone": "Grant awarded"}])
    response = staff.clerk("post", f"/contracts/{made['id']}/milestones", json={
        "milestone": "Grant signed", "reached_on": "2026-04-02"})
    assert response.status_code == 422
    reached = staff.clerk("post", f"/contracts/{made['id']}/milestones", json={
        "milestone": "Grant awarded", "reached_on": "2026-04-02"}).get_json()
    assert reached["instalments"][0]["reached_on"] == "2026-04-02"
    recurring = contract(staff.clerk, kornik)
    priced = staff.clerk("post", f"/contracts/{recurring['id']}/prices", json={
        "valid_from": "2026-07-01", "unit_price": "1200"}).get_json()
    assert [p["unit_price"] for p in priced["prices"]] == ["900.0000", "1200.0000"]
    response = staff.clerk("post", f"/contracts/{recurring['id']}/terminate", json={
        "ends_on": "2026-01-01"})
    assert response.status_code == 422 and "ends_on" in response.get_json()["errors"]
    ended = staff.clerk("post", f"/contracts/{recurring['id']}/terminate", json={
        "ends_on": "2026-12-31", "reason": "Wystąpienie"}).get_json()
    assert (ended["ends_on"], ended["termination_reason"]) == ("2026-12-31", "Wystąpienie")
    active = staff.clerk("get", "/contracts/", query_string={"active": "false"}).get_json()
    assert active["items"] == []


def test_a_direct_debit_shows_the_payments_it_expects(staff, kornik):
    made = contract(staff.clerk, kornik, period_months=1, unit_price="50", vat_rate="np",
                    collects="expected", collection_day=10, starts_on="2026-01-01")
    staff.clerk("post", "/billing-runs/", json=MARCH)
    expected = staff.clerk("get", f"/contracts/{made['id']}/expected-payments").get_json()
    assert [(e["due_on"], e["amount"], e["payment_id"]) for e in expected] == [
        ("2026-01-10", "50.00", None), ("2026-02-10", "50.00", None),
        ("2026-03-10", "50.00", None)]

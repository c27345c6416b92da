"""The payments API: recorded once per source and external id, allocated to invoices
within what each owes and what is left, the allocations shown on both sides, bad input
named per field with nothing written, and who may see and record them."""

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from billing_helpers import BANNER, COMPANY
from core.models import Payment, PaymentAllocation

OWN = dict.fromkeys(("read", "create", "edit", "delete"), "own")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def staff(app, rt):
    return callers(app, rt, clerk=dict(permissions=["core.billing"]), rep=dict(),
                   seller=dict(access=OWN, permissions=["core.billing"]))


@pytest.fixture
def clients(staff) -> dict[str, int]:
    def org(name, owner):
        return created(staff.clerk("post", "/organizations/", json={
            "name": name, "type_key": "core.municipality",
            "owner_id": staff.ids[owner]}))["id"]

    return {"kornik": org("Gmina Kórnik", "clerk"), "mosina": org("Gmina Mosina", "clerk"),
            "own": org("Firma Sprzedawcy", "seller")}


def invoice(staff, organisation_id, unit_price="1000.00", by="clerk") -> int:
    """An issued invoice of 1.23 x ``unit_price``; its id."""
    api = getattr(staff, by)
    made = created(api("post", "/invoices/", json={
        "organisation_id": organisation_id, "lines": [{**BANNER, "unit_price": unit_price}]}))
    issued = api("post", f"/invoices/{made['id']}/issue", json={"issue_date": "2026-03-02"})
    assert issued.status_code == 200, issued.get_json()
    return made["id"]


def pay(api, amount="1230.00", **data):
    return api("post", "/payments/", json={"received_on": "2026-03-10", "amount": amount,
                                           **data})


def count(rt, model=Payment) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_one_payment_pays_two_invoices_and_each_side_shows_the_allocations(staff, clients):
    first, second = invoice(staff, clients["kornik"]), invoice(staff, clients["kornik"])
    response = pay(staff.clerk, "2000,00", title="FV/2026/0001, FV/2026/0002",
                   payer="GMINA KORNIK", allocations=[{"invoice_id": first},
                                                      {"invoice_id": second}])
    payment = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/payments/{payment['id']}")
    assert (payment["amount"], payment["allocated"], payment["unallocated"]) == (
        "2000.00", "2000.00", "0.00")
    assert (payment["organisation_id"], payment["source"], payment["payer"]) == (
        clients["kornik"], "manual", "GMINA KORNIK")
    assert [(a["invoice_id"], a["invoice_number"], a["amount"])
            for a in payment["allocations"]] == [(first, "FV/2026/0001", "1230.00"),
                                                 (second, "FV/2026/0002", "770.00")]
    assert staff.clerk("get", f"/payments/{payment['id']}").get_json() == payment
    paid = staff.clerk("get", f"/invoices/{first}").get_json()
    partly = staff.clerk("get", f"/invoices/{second}").get_json()
    assert (paid["status"], partly["status"], partly["balance"]) == ("paid", "partly_paid",
                                                                     "460.00")
    assert [(a["payment_id"], a["amount"]) for a in partly["allocations"]] == [
        (payment["id"], "770.00")]


def test_a_payment_sent_again_with_its_external_id_is_found_not_recorded_twice(staff,
                                                                               clients, rt):
    owed = invoice(staff, clients["kornik"])
    line = {"source": "bank", "external_id": " 2026-03-10/17 ", "payer": "Gmina Kórnik",
            "allocations": [{"invoice_id": owed, "amount": "1000"}]}
    first = created(pay(staff.clerk, "1000", **line))
    assert first["external_id"] == "2026-03-10/17"
    again = pay(staff.clerk, "1000", **line)
    assert again.status_code == 200 and again.get_json() == first
    other_source = pay(staff.clerk, "1000", **{**line, "source": "import", "allocations": []})
    assert other_source.status_code == 201
    assert count(rt) == 2 and count(rt, PaymentAllocation) == 1
    assert staff.clerk("get", f"/invoices/{owed}").get_json()["paid"] == "1000.00"
    assert ids(staff.clerk("get", "/payments/", query_string={
        "source": "bank", "external_id": "2026-03-10/17"})) == [first["id"]]


def test_allocations_stay_within_what_is_owed_and_what_is_left(staff, clients, rt):
    owed, other = invoice(staff, clients["kornik"]), invoice(staff, clients["mosina"])
    draft = created(staff.clerk("post", "/invoices/", json={
        "organisation_id": clients["kornik"], "lines": [BANNER]}))
    before = (count(rt), count(rt, PaymentAllocation))
    for allocations, errors in (
            ([{"invoice_id": owed, "amount": "1230.01"}],
             {"allocations.0.amount": "The invoice still owes only PLN1,230.00."}),
            ([{"invoice_id": owed}, {"invoice_id": draft["id"]}],
             {"allocations.1.invoice_id": "Only an issued invoice is paid."}),
            ([{"invoice_id": owed, "amount": "-5"}],
             {"allocations.0.amount": "Enter an amount above zero."}),
            ([{"invoice_id": 99999}],
             {"allocations.0.invoice_id": "There is no such invoice, or you may not see "
                                          "it."})):
        response = pay(staff.clerk, "2000", allocations=allocations)
        assert response.status_code == 422, allocations
        assert response.get_json()["errors"] == errors
    refused = staff.clerk("post", "/payments/", json={"amount": "0", "currency": "zł",
                                                      "source": "cash", "id": 5})
    assert refused.get_json()["errors"] == {
        "received_on": "Enter the day the money came in.",
        "amount": "Enter an amount above zero.",
        "currency": "Enter a three-letter currency code, such as PLN.",
        "source": "Choose manual, bank or import.", "id": "Unknown field."}
    assert (count(rt), count(rt, PaymentAllocation)) == before

    payment = created(pay(staff.clerk, "1500", organisation_id=clients["kornik"]))
    path = f"/payments/{payment['id']}/allocations"
    one = staff.clerk("post", path, json={"invoice_id": owed})
    assert one.status_code == 201, one.get_json()
    assert (one.get_json()["amount"], one.get_json()["invoice_number"]) == ("1230.00",
                                                                            "FV/2026/0001")
    for body, errors in (
            ({"invoice_id": other, "amount": "300"},
             {"amount": "The payment has only PLN270.00 left to allocate."}),
            ({"invoice_id": owed},
             {"amount": "Nothing is left to allocate: the payment is used up or the "
                        "invoice paid."}),
            ({"invoice_id": other, "amount": "1,001"},
             {"amount": "At most 2 decimal places."}),
            ({"amount": "10"}, {"invoice_id": "Missing data for required field."})):
        response = staff.clerk("post", path, json=body)
        assert response.status_code == 422, body
        assert response.get_json()["errors"] == errors
    assert staff.clerk("post", path, json={"invoice_id": other}).get_json()["amount"] == \
        "270.00"
    assert ids(staff.clerk("get", "/payments/?unallocated=false")) == [payment["id"]]
    assert ids(staff.clerk("get", "/payments/?unallocated=true")) == []


def test_lists_filter_by_client_and_day_a_page_at_a_time(staff, clients):
    early = created(pay(staff.clerk, "10", organisation_id=clients["kornik"],
                        received_on="2026-03-01"))
    late = created(pay(staff.clerk, "20", organisation_id=clients["mosina"],
                       received_on="2026-03-31"))
    loose = created(pay(staff.clerk, "30", payer="Nieznany"))
    assert ids(staff.clerk("get", f"/payments/?organisation_id={clients['mosina']}")) == [
        late["id"]]
    assert ids(staff.clerk("get", "/payments/?received_from=2026-03-15")) == [late["id"]]
    assert ids(staff.clerk("get", "/payments/?received_to=2026-03-15")) == [early["id"],
                                                                           loose["id"]]
    page = staff.clerk("get", "/payments/?limit=2&fields=amount").get_json()
    assert page["items"] == [{"id": early["id"], "amount": "10.00"},
                             {"id": late["id"], "amount": "20.00"}]
    rest = staff.clerk("get", "/payments/", query_string={"after": page["next"]})
    assert ids(rest) == [loose["id"]] and rest.get_json()["next"] is None
    bad = staff.clerk("get", "/payments/?source=cash&received_from=soon&after=nonsense")
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"source", "received_from"}


def test_who_may_see_and_record_payments(staff, clients, rt):
    owed = invoice(staff, clients["kornik"])
    theirs = created(pay(staff.clerk, "100", allocations=[{"invoice_id": owed}]))
    loose = created(pay(staff.clerk, "30", payer="Nieznany"))
    # Without core.billing: payers they may see, but not payments without one.
    assert staff.rep("get", f"/payments/{theirs['id']}").status_code == 200
    assert staff.rep("get", f"/payments/{loose['id']}").status_code == 404
    assert ids(staff.rep("get", "/payments/")) == [theirs["id"]]
    before = (count(rt), count(rt, PaymentAllocation))
    for response in (pay(staff.rep, "50", organisation_id=clients["kornik"]),
                     staff.rep("post", f"/payments/{theirs['id']}/allocations",
                               json={"invoice_id": owed, "amount": "1"})):
        assert response.status_code == 403, response.get_json()
        assert response.mimetype == "application/problem+json"
    # Billing, but only their own clients: the others' payments and invoices are not there.
    mine = created(pay(staff.seller, "40", organisation_id=clients["own"]))
    assert ids(staff.seller("get", "/payments/")) == [loose["id"], mine["id"]]
    assert staff.seller("get", f"/payments/{theirs['id']}").status_code == 404
    assert staff.seller("get", f"/payments/?organisation_id={clients['kornik']}"
                        ).status_code == 404
    assert staff.seller("post", f"/payments/{theirs['id']}/allocations",
                        json={"invoice_id": owed}).status_code == 404
    hidden = staff.seller("post", f"/payments/{mine['id']}/allocations",
                          json={"invoice_id": owed})
    assert hidden.get_json()["errors"] == {
        "invoice_id": "There is no such invoice, or you may not see it."}
    stranger = pay(staff.seller, "50", organisation_id=clients["kornik"])
    assert stranger.get_json()["errors"] == {
        "organisation_id": "There is no such organisation, or you may not see it."}
    assert (count(rt), count(rt, PaymentAllocation)) == (before[0] + 1, before[1])

"""The invoices API: a draft made, changed under its ETag, issued with a gapless number,
sent, paid in parts, listed as overdue, corrected and cancelled; billable items taken by
an invoice; bad input named per field with nothing written; who may see and do what."""

from datetime import date, timedelta

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from billing_helpers import BANNER, COMPANY
from core.models import BillableItem, Invoice, InvoiceLine

LEAFLETS = {"description": "Ulotki A5", "quantity": "2.5", "unit": "op.",
            "unit_price": "40", "vat_rate": "8"}
MARCH = "2026-03-02"
OWN = dict.fromkeys(("read", "create", "edit", "delete"), "own")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", **COMPANY)


@pytest.fixture
def staff(app, rt):
    """An administrator; a clerk who bills; a colleague who may not; a seller who bills
    only their own clients."""
    return callers(app, rt, boss=dict(admin=True), clerk=dict(permissions=["core.billing"]),
                   rep=dict(), seller=dict(access=OWN, permissions=["core.billing"]))


@pytest.fixture
def clients(staff) -> dict[str, int]:
    """Two municipalities and a person, the administrator's; one firm, the seller's."""
    def org(name, owner, **extra):
        return created(staff.boss("post", "/organizations/", json={
            "name": name, "type_key": "core.municipality", "owner_id": staff.ids[owner],
            **extra}))["id"]

    return {"kornik": org("Gmina Kórnik", "boss", nip="7773061579",
                          street="Plac Niepodległości 1", postal_code="62-035", city="Kórnik"),
            "mosina": org("Gmina Mosina", "boss", city="Mosina"),
            "own": org("Firma Sprzedawcy", "seller"),
            "anna": created(staff.boss("post", "/people/", json={
                "first_name": "Anna", "last_name": "Nowak",
                "owner_id": staff.ids["boss"]}))["id"]}


def draft(api, organisation_id, lines=(BANNER,), **data) -> dict:
    return created(api("post", "/invoices/", json={
        "organisation_id": organisation_id, "lines": list(lines), **data}))


def issue(api, invoice_id, day=MARCH) -> dict:
    response = api("post", f"/invoices/{invoice_id}/issue", json={"issue_date": day})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def count(rt, model=Invoice) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


# ------------------------------------------------------------------ the life of an invoice


def test_a_draft_is_made_changed_under_its_etag_issued_sent_and_paid_in_two_parts(
        staff, clients):
    response = staff.clerk("post", "/invoices/", json={
        "organisation_id": clients["kornik"], "lines": [BANNER, LEAFLETS],
        "notes": "Zamówienie 17"})
    invoice = created(response)
    path = f"/invoices/{invoice['id']}"
    assert response.headers["Location"].endswith(f"/api/v1{path}")
    assert (invoice["status"], invoice["number"], invoice["kind"]) == ("draft", None, "invoice")
    # Amounts are decimal strings; the tax is worked out per rate.
    assert (invoice["net"], invoice["vat"], invoice["gross"]) == ("1100.00", "238.00",
                                                                  "1338.00")
    assert invoice["vat_summary"] == [
        {"rate": "23", "net": "1000.00", "vat": "230.00", "gross": "1230.00"},
        {"rate": "8", "net": "100.00", "vat": "8.00", "gross": "108.00"}]
    assert [(line["position"], line["quantity"], line["unit_price"], line["vat_rate"])
            for line in invoice["lines"]] == [(1, "1.0000", "1000.0000", "23"),
                                               (2, "2.5000", "40.0000", "8")]
    first_etag = response.headers["ETag"]
    read = staff.clerk("get", path)
    assert read.headers["ETag"] == first_etag and read.get_json() == invoice

    assert staff.clerk("patch", path, json={"payment_days": 21}).status_code == 428
    changed = staff.clerk("patch", path, headers={"If-Match": first_etag}, json={
        "payment_days": 21, "lines": [{**BANNER, "id": invoice["lines"][0]["id"],
                                       "quantity": "2"}]})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["payment_days"], changed.get_json()["gross"]) == (21, "2460.00")
    assert changed.headers["ETag"] != first_etag
    assert staff.clerk("get", path).headers["ETag"] == changed.headers["ETag"]
    stale = staff.clerk("patch", path, headers={"If-Match": first_etag},
                        json={"notes": "Mine"})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert staff.clerk("get", path).get_json()["notes"] == "Zamówienie 17"

    issued = issue(staff.clerk, invoice["id"])
    assert (issued["number"], issued["status"], issued["series_key"]) == (
        "FV/2026/0001", "issued", "billing.invoice")
    assert (issued["issue_date"], issued["sale_date"], issued["due_date"]) == (
        MARCH, MARCH, "2026-03-23")
    assert issued["buyer"] == {"name": "Gmina Kórnik", "nip": "7773061579",
                               "street": "Plac Niepodległości 1", "postal_code": "62-035",
                               "city": "Kórnik", "country": "PL"}
    assert issued["seller"] == {"name": "Drukarnia Test sp. z o.o.",
                                "details": ["ul. Długa 1", "61-001 Poznań", "NIP 7773061579"]}
    assert (issued["to_pay"], issued["paid"], issued["balance"]) == ("2460.00", "0.00",
                                                                     "2460.00")
    refused = staff.clerk("patch", path, headers={"If-Match": "*"}, json={"notes": "Later"})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"status"}

    sent = staff.clerk("post", f"{path}/mark-sent")
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["status"] == "sent" and sent.get_json()["sent_at"]

    first = created(staff.clerk("post", "/payments/", json={
        "received_on": "2026-03-10", "amount": "1000.00", "title": "FV/2026/0001 część",
        "allocations": [{"invoice_id": invoice["id"]}]}))
    assert first["allocations"][0]["invoice_number"] == "FV/2026/0001"
    assert first["organisation_id"] == clients["kornik"]  # the client of what it pays
    partly = staff.clerk("get", path).get_json()
    assert (partly["status"], partly["paid"], partly["balance"]) == (
        "partly_paid", "1000.00", "1460.00")

    second = created(staff.clerk("post", "/payments/", json={
        "received_on": "2026-03-20", "amount": "1500.00",
        "organisation_id": clients["kornik"]}))
    allocated = staff.clerk("post", f"/payments/{second['id']}/allocations",
                            json={"invoice_id": invoice["id"], "amount": "1460.00"})
    assert allocated.status_code == 201, allocated.get_json()
    paid = staff.clerk("get", path).get_json()
    assert (paid["status"], paid["paid"], paid["balance"]) == ("paid", "2460.00", "0.00")
    assert [(a["payment_id"], a["amount"]) for a in paid["allocations"]] == [
        (first["id"], "1000.00"), (second["id"], "1460.00")]
    assert staff.clerk("get", f"/payments/{second['id']}").get_json()["unallocated"] == "40.00"


def test_numbers_follow_the_order_of_issue_without_gaps(staff, clients):
    first, euro, second = (draft(staff.clerk, clients["kornik"]),
                           draft(staff.clerk, clients["kornik"], currency="EUR"),
                           draft(staff.clerk, clients["mosina"]))
    assert issue(staff.clerk, first["id"])["number"] == "FV/2026/0001"
    refused = staff.clerk("post", f"/invoices/{euro['id']}/issue", json={"issue_date": MARCH})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"exchange_rate"}
    assert staff.clerk("get", f"/invoices/{euro['id']}").get_json()["number"] is None
    assert issue(staff.clerk, second["id"])["number"] == "FV/2026/0002"
    again = staff.clerk("post", f"/invoices/{first['id']}/issue", json={})
    assert again.status_code == 422 and set(again.get_json()["errors"]) == {"status"}
    proforma = draft(staff.clerk, clients["kornik"], kind="proforma")
    assert issue(staff.clerk, proforma["id"])["number"] == "PF/2026/0001"
    # Issued without a body: on the draft's own issue date.
    dated = draft(staff.clerk, clients["kornik"], issue_date="2026-04-01")
    response = staff.clerk("post", f"/invoices/{dated['id']}/issue")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["number"] == "FV/2026/0003"


def test_overdue_and_the_other_filters_list_the_invoices_asked_for(staff, clients):
    today = date.today()
    late = issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"],
                 (today - timedelta(days=40)).isoformat())
    paid_late = issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"],
                      (today - timedelta(days=40)).isoformat())
    created(staff.clerk("post", "/payments/", json={
        "received_on": today.isoformat(), "amount": "1230.00",
        "allocations": [{"invoice_id": paid_late["id"]}]}))
    fresh = issue(staff.clerk, draft(staff.clerk, clients["mosina"])["id"],
                  today.isoformat())
    for_anna = draft(staff.clerk, None, person_id=clients["anna"], kind="proforma")

    assert ids(staff.clerk("get", "/invoices/?status=overdue")) == [late["id"]]
    assert staff.clerk("get", f"/invoices/{late['id']}").get_json()["overdue"] is True
    assert staff.clerk("get", f"/invoices/{fresh['id']}").get_json()["overdue"] is False
    assert ids(staff.clerk("get", "/invoices/?status=paid")) == [paid_late["id"]]
    assert ids(staff.clerk("get", "/invoices/?status=draft")) == [for_anna["id"]]
    assert ids(staff.clerk("get", f"/invoices/?organisation_id={clients['mosina']}")) == [
        fresh["id"]]
    assert ids(staff.clerk("get", f"/invoices/?person_id={clients['anna']}")) == [
        for_anna["id"]]
    assert ids(staff.clerk("get", "/invoices/?kind=proforma")) == [for_anna["id"]]
    week = {"issued_from": (today - timedelta(days=7)).isoformat(),
            "issued_to": today.isoformat()}
    assert ids(staff.clerk("get", "/invoices/", query_string=week)) == [fresh["id"]]
    everything = [late["id"], paid_late["id"], fresh["id"], for_anna["id"]]
    seen, after = [], None
    while True:
        page = staff.clerk("get", "/invoices/", query_string={
            "limit": 3, **({"after": after} if after else {})}).get_json()
        seen += [item["id"] for item in page["items"]]
        if (after := page["next"]) is None:
            break
    assert seen == everything
    few = staff.clerk("get", "/invoices/?fields=number,balance,overdue&status=overdue")
    assert few.get_json()["items"] == [{"id": late["id"], "number": late["number"],
                                        "balance": "1230.00", "overdue": True}]
    bad = staff.clerk("get", "/invoices/", query_string={
        "status": "late", "issued_from": "yesterday", "fields": "number,colour"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"status", "issued_from"}
    unknown = staff.clerk("get", "/invoices/?fields=number,colour")
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {"fields"}


# ------------------------------------------------------------------ corrections, cancelling


def test_a_correction_is_drafted_issued_and_moves_what_the_invoice_comes_to(staff, clients,
                                                                           rt):
    original = issue(staff.clerk, draft(staff.clerk, clients["kornik"],
                                        [BANNER, LEAFLETS])["id"])
    path = f"/invoices/{original['id']}"
    before = count(rt)
    for body, errors in (
            ({"lines": [{"position": 1, "quantity": "2"}]},
             {"reason": "Give the reason for the correction."}),
            ({"reason": "Dwa", "lines": []}, {"lines": "Say which lines change and how."}),
            ({"reason": "Dwa", "lines": [{"position": 9, "quantity": "2"}]},
             {"lines.0.position": "There is no line 9."}),
            ({"reason": "Dwa", "lines": [{"description": "Nowa"}]},
             {f"lines.0.{k}": "Fill this in for a new line."
              for k in ("quantity", "unit_price", "vat_rate")}),
            ({"reason": "Dwa", "lines": [{"position": 1, "vat_rate": "22",
                                          "quantity": "-1"}]},
             {"lines.0.vat_rate": "Choose a VAT rate: 23, 8, 5, 0, zw or np.",
              "lines.0.quantity": "Enter a quantity of 0 or more."})):
        refused = staff.clerk("post", f"{path}/correct", json=body)
        assert refused.status_code == 422, body
        assert refused.get_json()["errors"] == errors, body
    assert count(rt) == before

    stale = staff.clerk("post", f"{path}/correct", headers={"If-Match": '"old"'},
                        json={"reason": "Dwa", "lines": [{"position": 1, "quantity": "2"}]})
    assert stale.status_code == 412
    response = staff.clerk("post", f"{path}/correct",
                           headers={"If-Match": staff.clerk("get", path).headers["ETag"]},
                           json={"reason": "Dwa banery", "lines": [
                               {"position": 1, "quantity": "2"}, {"position": 2,
                                                                  "quantity": "0"}]})
    correction = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/invoices/{correction['id']}")
    assert (correction["kind"], correction["status"], correction["corrects_id"],
            correction["reason"]) == ("correction", "draft", original["id"], "Dwa banery")
    assert [(line["quantity"], line["before"]["quantity"]) for line in correction["lines"]] \
        == [("2.0000", "1.0000"), ("0.0000", "2.5000")]
    assert correction["vat_summary"] == [
        {"rate": "23", "net": "1000.00", "vat": "230.00", "gross": "1230.00"},
        {"rate": "8", "net": "-100.00", "vat": "-8.00", "gross": "-108.00"}]
    assert correction["gross"] == "1122.00"
    assert issue(staff.clerk, correction["id"])["number"] == "KOR/2026/0001"

    now = staff.clerk("get", path).get_json()
    assert [(c["id"], c["number"], c["status"]) for c in now["corrections"]] == [
        (correction["id"], "KOR/2026/0001", "issued")]
    assert (now["gross"], now["to_pay"], now["status"]) == ("1338.00", "2460.00", "issued")
    assert now["vat_summary_corrected"] == [
        {"rate": "23", "net": "2000.00", "vat": "460.00", "gross": "2460.00"},
        {"rate": "8", "net": "0.00", "vat": "0.00", "gross": "0.00"}]
    refused = staff.clerk("post", f"/invoices/{correction['id']}/correct",
                          json={"reason": "X", "lines": [{"position": 1, "quantity": "1"}]})
    assert refused.get_json()["errors"] == {
        "invoice": "Correct the invoice itself, not its correction."}


def test_a_draft_is_cancelled_without_a_reason_an_issued_invoice_only_with_one(staff,
                                                                                clients):
    unwanted = draft(staff.clerk, clients["kornik"])
    cancelled = staff.clerk("post", f"/invoices/{unwanted['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.get_json()
    assert (cancelled.get_json()["status"], cancelled.get_json()["cancel_reason"]) == (
        "cancelled", "")

    mistaken = issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"])
    path = f"/invoices/{mistaken['id']}/cancel"
    refused = staff.clerk("post", path, json={})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "reason": "Give the reason for cancelling an issued invoice."}
    assert staff.clerk("post", path, headers={"If-Match": '"old"'},
                       json={"reason": "Zły nabywca"}).status_code == 412
    done = staff.clerk("post", path, json={"reason": "Zły nabywca"}).get_json()
    assert (done["status"], done["cancel_reason"], done["number"]) == (
        "cancelled", "Zły nabywca", "FV/2026/0001")
    again = staff.clerk("post", path, json={"reason": "Znowu"})
    assert again.get_json()["errors"] == {"status": "It is cancelled already."}
    # A cancelled invoice's number stays used.
    assert issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"])["number"] == \
        "FV/2026/0002"

    sent = issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"])
    staff.clerk("post", f"/invoices/{sent['id']}/mark-sent", json={})
    late = staff.clerk("post", f"/invoices/{sent['id']}/cancel", json={"reason": "Za późno"})
    assert late.get_json()["errors"] == {
        "status": "It has been sent to the buyer; correct it instead."}


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("body", "errors"), [
    ({"lines": [{**BANNER, "vat_rate": "22"}]},
     {"lines.0.vat_rate": "Choose a VAT rate: 23, 8, 5, 0, zw or np."}),
    ({"lines": [{**BANNER, "quantity": "-1"}, {**LEAFLETS, "unit_price": "dużo"}]},
     {"lines.0.quantity": "Enter a quantity above zero.",
      "lines.1.unit_price": "Enter a number, such as 12,50."}),
    ({}, {"lines": "Add at least one line."}),
    ({"lines": []}, {"lines": "Add at least one line."}),
    ({"lines": [{"quantity": "1"}]},
     {"lines.0.description": "Describe what is sold.", "lines.0.unit_price": "Enter a price.",
      "lines.0.vat_rate": "Choose a VAT rate."}),
    ({"lines": [BANNER], "number": "FV/1", "status": "paid"},
     {"number": "Unknown field.", "status": "Unknown field."}),
    ({"lines": [BANNER], "kind": "correction", "currency": "zł", "payment_days": 400},
     {"kind": "Choose a kind of invoice.",
      "currency": "Enter a three-letter currency code, such as PLN.",
      "payment_days": "Enter a number of days from 0 to 365."}),
])
def test_bad_input_is_refused_per_field_and_nothing_is_written(staff, clients, rt, body,
                                                               errors):
    response = staff.clerk("post", "/invoices/", json={"organisation_id": clients["kornik"],
                                                       **body})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == errors
    assert count(rt) == 0 and count(rt, InvoiceLine) == 0


def test_the_services_own_checks_are_named_per_field_too(staff, clients, rt):
    for body, errors in (
            ({"organisation_id": clients["kornik"], "person_id": clients["anna"]},
             {"organisation_id": "Give one organisation or one person, not both."}),
            ({}, {"organisation_id": "Choose who is billed: one organisation or one "
                                     "person."}),
            ({"organisation_id": clients["kornik"], "advance_ids": [1]},
             {"advance_ids": "Only a final invoice deducts advance invoices."})):
        response = staff.clerk("post", "/invoices/", json={"lines": [BANNER], **body})
        assert response.status_code == 422
        assert response.get_json()["errors"] == errors
    path = f"/invoices/{draft(staff.clerk, clients['kornik'])['id']}"
    etag = staff.clerk("get", path).headers["ETag"]
    for body, errors in (
            ({"lines": [{**BANNER, "id": 987654}]}, {"lines.0.id": "There is no such line "
                                                                   "here."}),
            ({"lines": [{"description": "Bez ceny"}]},
             {"lines.0.quantity": "Enter a quantity.", "lines.0.unit_price": "Enter a price.",
              "lines.0.vat_rate": "Choose a VAT rate."}),
            ({"currency": "EUR"}, {"currency": "This cannot be changed on a draft; cancel "
                                               "it and make another."})):
        response = staff.clerk("patch", path, json=body, headers={"If-Match": etag})
        assert response.status_code == 422, body
        assert response.get_json()["errors"] == errors
    assert staff.clerk("get", path).headers["ETag"] == etag
    assert count(rt) == 1 and count(rt, InvoiceLine) == 1


# ------------------------------------------------------------------ billable items


def test_billable_items_are_added_once_invoiced_and_freed_by_cancelling(staff, clients, rt):
    item = {"organisation_id": clients["kornik"], "description": "Szkolenie: Jan Kowalski",
            "quantity": "1", "unit": "os.", "unit_price": "450", "vat_rate": "zw",
            "earned_on": "2026-02-20", "source": "test.training", "reference": "case-1/jan",
            "people": [clients["anna"]]}
    response = staff.clerk("post", "/billable-items/", json=item)
    first = created(response)
    assert (first["unit_price"], first["vat_rate"], first["people"], first["invoiced"]) == (
        "450.0000", "zw", [clients["anna"]], False)
    again = staff.clerk("post", "/billable-items/", json=item)
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    second = created(staff.clerk("post", "/billable-items/", json={
        **item, "reference": "case-1/anna", "description": "Szkolenie: Anna Nowak"}))
    assert count(rt, BillableItem) == 2
    assert ids(staff.clerk("get", "/billable-items/?invoiced=false")) == [first["id"],
                                                                         second["id"]]

    missing = staff.clerk("post", "/invoices/from-items", json={"item_ids": [first["id"],
                                                                             99999]})
    assert missing.get_json()["errors"] == {
        "item_ids.1": "There is no such item, or you may not see it."}
    response = staff.clerk("post", "/invoices/from-items", json={
        "item_ids": [first["id"], second["id"]], "payment_days": 30})
    invoice = created(response)
    assert (invoice["organisation_id"], invoice["payment_days"], invoice["gross"]) == (
        clients["kornik"], 30, "900.00")
    assert [line["item_ids"] for line in invoice["lines"]] == [[first["id"]], [second["id"]]]
    taken = staff.clerk("get", f"/billable-items/{first['id']}").get_json()
    assert (taken["invoiced"], taken["invoice_id"]) == (True, invoice["id"])
    listed = staff.clerk("get", "/billable-items/?invoiced=true&fields=invoice_id")
    assert listed.get_json()["items"] == [{"id": first["id"], "invoice_id": invoice["id"]},
                                          {"id": second["id"], "invoice_id": invoice["id"]}]
    twice = staff.clerk("post", "/invoices/from-items", json={"item_ids": [first["id"]]})
    assert twice.get_json()["errors"] == {
        "item_ids": "“Szkolenie: Jan Kowalski” is on an invoice already."}
    kept = staff.clerk("delete", f"/billable-items/{first['id']}")
    assert kept.status_code == 422 and set(kept.get_json()["errors"]) == {"item"}

    staff.clerk("post", f"/invoices/{invoice['id']}/cancel")
    assert ids(staff.clerk("get", "/billable-items/?invoiced=false")) == [first["id"],
                                                                         second["id"]]
    assert staff.clerk("delete", f"/billable-items/{first['id']}").status_code == 204
    assert staff.clerk("get", f"/billable-items/{first['id']}").status_code == 404
    bad = staff.clerk("post", "/billable-items/", json={**item, "reference": "x",
                                                        "vat_rate": "7", "quantity": "-2"})
    assert bad.get_json()["errors"] == {
        "vat_rate": "Choose a VAT rate: 23, 8, 5, 0, zw or np.",
        "quantity": "Enter a quantity above zero."}
    assert count(rt, BillableItem) == 1


# ------------------------------------------------------------------ who may


def test_who_may_see_and_who_may_change(staff, clients, rt):
    theirs = issue(staff.clerk, draft(staff.clerk, clients["kornik"])["id"])
    path = f"/invoices/{theirs['id']}"
    # Without core.billing: reading follows the client, every change is 403.
    assert staff.rep("get", path).status_code == 200
    before = count(rt)
    for method, suffix, body in (("post", "/invoices/", {"organisation_id": clients["kornik"],
                                                         "lines": [BANNER]}),
                                 ("post", f"{path}/mark-sent", {}),
                                 ("post", f"{path}/cancel", {"reason": "x"}),
                                 ("post", f"{path}/correct", {"reason": "x", "lines": [
                                     {"position": 1, "quantity": "2"}]}),
                                 ("post", "/billable-items/", {
                                     "organisation_id": clients["kornik"], "description": "X",
                                     "quantity": "1", "unit_price": "1", "vat_rate": "23",
                                     "earned_on": "2026-03-01"})):
        response = staff.rep(method, suffix, json=body)
        assert response.status_code == 403, (suffix, response.get_json())
        assert response.mimetype == "application/problem+json"
    mine = draft(staff.clerk, clients["kornik"])
    etag = staff.clerk("get", f"/invoices/{mine['id']}").headers["ETag"]
    for suffix, headers in (("", {"If-Match": etag}), ("/issue", {})):
        method = "patch" if not suffix else "post"
        response = staff.rep(method, f"/invoices/{mine['id']}{suffix}", json={"notes": "x"}
                             if not suffix else {}, headers=headers)
        assert response.status_code == 403, suffix
    assert count(rt) == before + 1
    assert staff.clerk("get", f"/invoices/{mine['id']}").get_json()["status"] == "draft"

    # A client the caller may not see: its invoices are 404 everywhere, not 403.
    own = draft(staff.seller, clients["own"])
    assert ids(staff.seller("get", "/invoices/")) == [own["id"]]
    for method, suffix in (("get", ""), ("patch", ""), ("post", "/issue"),
                           ("post", "/mark-sent"), ("post", "/cancel"), ("post", "/correct")):
        response = staff.seller(method, path + suffix, json={} if method != "get" else None,
                                headers={"If-Match": "*"})
        assert response.status_code == 404, (method, suffix)
    assert staff.seller("get", f"/invoices/?organisation_id={clients['kornik']}"
                        ).status_code == 404
    assert staff.seller("get", f"/billable-items/?organisation_id={clients['kornik']}"
                        ).status_code == 404
    refused = staff.seller("post", "/invoices/", json={"organisation_id": clients["kornik"],
                                                       "lines": [BANNER]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "organisation_id": "There is no such organisation, or you may not see it."}
    assert count(rt) == before + 2


# ------------------------------------------------------------------ the document


def test_the_openapi_document_lists_invoices_items_and_payments(staff):
    spec = staff.clerk("get", "/openapi.json").get_json()
    paths = {f"/api/v1/{p}" for p in (
        "invoices/", "invoices/from-items", "invoices/{invoice_id}",
        "invoices/{invoice_id}/issue", "invoices/{invoice_id}/mark-sent",
        "invoices/{invoice_id}/cancel", "invoices/{invoice_id}/correct",
        "billable-items/", "billable-items/{item_id}",
        "payments/", "payments/{payment_id}", "payments/{payment_id}/allocations")}
    assert paths <= set(spec["paths"])
    patch = spec["paths"]["/api/v1/invoices/{invoice_id}"]["patch"]
    assert {"403", "412", "422", "428"} <= set(patch["responses"])
    assert next(p for p in patch["parameters"] if p["name"] == "If-Match")["required"]
    issue_ = spec["paths"]["/api/v1/invoices/{invoice_id}/issue"]["post"]
    assert issue_["summary"] == "Issue the draft; the answer has its number."
    assert not next(p for p in issue_["parameters"] if p["name"] == "If-Match")["required"]
    schemas = spec["components"]["schemas"]
    for name, field in (("InvoiceDetail", "gross"), ("InvoiceLineIn", "unit_price"),
                        ("Payment", "amount"), ("AllocationIn", "amount")):
        assert schemas[name]["properties"][field]["type"] == "string", (name, field)
    assert schemas["InvoiceLineIn"]["properties"]["vat_rate"]["enum"] == [
        "23", "8", "5", "0", "zw", "np"]
    assert {"invoices", "payments", "billable-items"} <= {t["name"] for t in spec["tags"]}

"""A print project as the printing house's people take it, over HTTP: the rep prices the
inquiry from the product price list; the calculation goes to the approver its total
calls for (none, the rep's supervisor, the sales director, a board member, each limit
tried on both sides) and lands in their calendar; an approver corrects the prices and
approves, another returns a calculation with a reason; no offer is issued before the
approval; the order waits for an overdue invoice to be paid and for customer service's
word on the registration documents; the signed order brings the production order, and
production starts once prepress checked the print file; accounting invoices the
calculation and closes the delivered project. Runs on SQLite and PostgreSQL."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import invoices, organisations, price_lists, roles, tokens, users
from core.filters import today
from core.models import Calculation, Invoice, User
from plugins.printing.price_list import PRODUCTS
from tests.core.api_helpers import caller

PASSWORD = "correct horse battery"
COMPANY = {"company_name": "Drukarnia Test sp. z o.o.",
           "company_details": "ul. Fabryczna 5, 60-001 Poznań\nNIP 526-025-02-74"}
PDF = b"%PDF-1.4\n%rollup\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
# (amount, who approves it): the default limits are 5,000, 20,000 and 100,000 zł.
BOUNDARIES = [("4999.99", None), ("5000.00", "boss"), ("19999.99", "boss"),
              ("20000.00", "director"), ("99999.99", "director"), ("100000.00", "board")]


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en", **COMPANY)


@pytest.fixture
def house(app):
    """The sales line (a rep, their supervisor, the sales director, a board member),
    customer service, accounting and production, each with an API token; the price
    list; a client."""
    rt = app.extensions["kartoteka"]
    client = app.test_client()
    found = {"client": client, "rt": rt}
    with app.test_request_context(), rt.session() as s, s.begin():
        for key, permissions in (("sales", ["core.calculate"]), ("accounting", ["core.billing"]),
                                 ("production", ["printing.production",
                                                 "printing.check_print_files"]),
                                 ("customer_service", ["printing.confirm_documents"])):
            roles.set_permissions(s, roles.create(s, key, key.title()), permissions)
        roles.create(s, "printing_sales_director", "Sales director")
        roles.create(s, "printing_board", "Board")
        people = (("board", ["staff", "printing_board"], None),
                  ("director", ["staff", "printing_sales_director"], "board"),
                  ("boss", ["staff", "sales"], "director"), ("rep", ["staff", "sales"], "boss"),
                  ("service", ["staff", "customer_service"], None),
                  ("accountant", ["staff", "accounting"], None),
                  ("printer", ["staff", "production"], None))
        for name, keys, supervisor in people:
            user = users.create_user(s, f"{name}@drukarnia.example.pl", PASSWORD,
                                     name.title(), roles=keys)
            user.supervisor_id = found[f"{supervisor}_id"] if supervisor else None
            found[name] = caller(client, tokens.create(s, user, "test")[1])
            found[f"{name}_id"] = user.id
        admin = users.create_user(s, "admin@drukarnia.example.pl", PASSWORD, is_admin=True)
        found["items"] = {code: price_lists.create(s, PRODUCTS, {
            "code": code, "name": name, "category": category, "unit": unit,
            "net_price": price, "vat_rate": "23"}, admin).id
            for code, name, category, unit, price in (
                ("FL510", "Baner frontlit 510 g/m²", "media", "m²", "18.00"),
                ("UV", "Druk UV", "print", "m²", "35.00"),
                ("OCZ", "Oczkowanie co 50 cm", "finishing", "mb", "4.50"),
                ("FOL", "Folia wylewana", "media", "m²", "32.00"),
                ("TR", "Transport", "transport", "kurs", "250.00"))}
        found["client_id"] = organisations.create(s, rt.host, {
            "name": "Agencja Reklamowa Kreska sp. z o.o.", "type_key": "core.company",
            "city": "Poznań", "nip": "5260250274"}, admin, allow_duplicates=True).id
    return found


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def etag_of(who, case_id) -> str:
    return who("get", f"/cases/{case_id}").headers["ETag"]


def move(who, case_id, target):
    return who("post", f"/cases/{case_id}/move", json={"target": target},
               headers={"If-Match": etag_of(who, case_id)})


def tick(who, case_id, **custom) -> None:
    ok(who("patch", f"/cases/{case_id}", json={"custom": custom},
           headers={"If-Match": etag_of(who, case_id)}))


def project(house, title="Baner 6×3 m", amount=None) -> int:
    data = {"title": title, "process_key": "printing.project", "owner_id": house["rep_id"],
            "organisation_id": house["client_id"]}
    made = ok(house["rep"]("post", "/cases/", json=data | (
        {"amount": amount} if amount else {})), 201)
    ok(move(house["rep"], made["id"], "calculation"))
    return made["id"]


def login(house, name):
    client = house["client"].application.test_client()
    response = client.post("/login", data={"email": f"{name}@drukarnia.example.pl",
                                           "password": PASSWORD})
    assert response.status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_each_limit_sends_the_calculation_to_the_approver_its_total_calls_for(house):
    for amount, approver in BOUNDARIES:
        case_id = project(house, f"Projekt {amount}", amount)
        if approver is None:  # below the first limit nobody approves
            assert ok(house["rep"]("post", f"/cases/{case_id}/approvals",
                                   json={"target": "offer"}), 422)["errors"]
            ok(move(house["rep"], case_id, "offer"))
            continue
        refused = move(house["rep"], case_id, "offer")
        assert refused.status_code == 422, amount
        asked = ok(house["rep"]("post", f"/cases/{case_id}/approvals",
                                json={"target": "offer"}), 201)
        assert asked["approver_id"] == house[f"{approver}_id"], amount
        waiting = {r["case_id"] for r in ok(house[approver]("get", "/approvals/"))}
        assert case_id in waiting, amount
        for other in {"boss", "director", "board"} - {approver}:
            assert case_id not in {r["case_id"] for r in ok(house[other]("get", "/approvals/"))}
        # The task is in the approver's calendar, on its day.
        task = next(t for t in ok(house[approver]("get", "/tasks/?mine=true"))["items"]
                    if t["title"] == f"Approve: Projekt {amount}")
        day = task["due_at"][:10]
        week = login(house, approver).get(f"/calendar/?week={day}").get_data(as_text=True)
        assert f"Approve: Projekt {amount}" in week, amount
        ok(house[approver]("post", f"/approvals/{asked['id']}/decision",
                           json={"decision": "approve"}))
        assert ok(move(house["rep"], case_id, "offer"))["phase_key"] == "offer"


def test_the_approver_corrects_the_prices_and_approves_or_returns_with_a_reason(house):
    rep, boss = house["rep"], house["boss"]
    case_id = project(house, "Banery na targi")
    items = house["items"]
    # The lines take the price list's prices; one price is the rep's own.
    made = ok(rep("post", f"/cases/{case_id}/calculations", json={"markup": "40", "lines": [
        {"price_item_id": items["FL510"], "quantity": "120"},
        {"price_item_id": items["UV"], "quantity": "120"},
        {"price_item_id": items["OCZ"], "quantity": "88"},
        {"price_item_id": items["TR"], "quantity": "1", "unit_price": "200.00"}]}), 201)
    # 120 × 18 × 1.4 + 120 × 35 × 1.4 + 88 × 4.5 × 1.4 + 200 = 9,658.40 net
    assert Decimal(made["net"]) == Decimal("9458.40") + Decimal("200.00")
    assert Decimal(made["gross"]) == Decimal("11879.83")
    asked = ok(rep("post", f"/cases/{case_id}/approvals", json={"target": "offer"}), 201)
    # No offer before the approval.
    refused = rep("post", "/documents/", json={"template": "printing.offer",
                                               "record_type": "case", "record_id": case_id})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["check.printing.calculation_approved"].startswith(
        "The approval of the price calculation is missing: the direct supervisor (Boss)")

    # The supervisor corrects the print's price on the calculation's form and approves.
    web = login(house, "boss")
    card = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/calculations/new?approve={asked['id']}" in card
    form = web.get(f"/cases/{case_id}/calculations/new?approve={asked['id']}")
    page = form.get_data(as_text=True)
    assert "Save the corrected prices and approve" in page
    lines = {f"lines-{n}-{k}": v for n, (item, qty, price) in enumerate((
        ("FL510", "120", ""), ("UV", "120", "45.00"), ("OCZ", "88", ""), ("TR", "1", "200.00")))
        for k, v in (("item", str(items[item])), ("quantity", qty), ("unit_price", price))}
    saved = web.post(f"/cases/{case_id}/calculations/new", data={
        "csrf_token": csrf(page), "approve": str(asked["id"]), "markup": "40",
        "note": "Druk UV po 45 zł, jak w umowie ramowej.", **lines})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    decided = ok(rep("get", f"/cases/{case_id}/approvals"))[-1]
    assert decided["status"] == "approved" and decided["comment"] == \
        "Druk UV po 45 zł, jak w umowie ramowej."
    with house["rt"].session() as s:
        versions = s.scalars(select(Calculation).where(Calculation.case_id == case_id)
                             .order_by(Calculation.number)).all()
        assert [(v.number, v.status, v.created_by_id) for v in versions] == [
            (1, "superseded", house["rep_id"]), (2, "draft", house["boss_id"])]
        assert versions[1].lines[1].unit_price == Decimal("45.0000")
    case = ok(rep("get", f"/cases/{case_id}"))
    assert Decimal(case["amount"]) == Decimal("9178.40")  # 480 less for the print
    assert ok(move(rep, case_id, "offer"))["phase_key"] == "offer"
    offer = ok(rep("post", "/documents/", json={"template": "printing.offer",
                                                "record_type": "case",
                                                "record_id": case_id}), 201)
    assert offer["number"].startswith("OF/")

    # A correction into a higher band asks the next approver as well.
    bigger = project(house, "Oklejenie elewacji")
    ok(rep("post", f"/cases/{bigger}/calculations", json={"markup": "40", "lines": [
        {"price_item_id": items["FOL"], "quantity": "300"}]}), 201)  # 13,440.00
    asked = ok(rep("post", f"/cases/{bigger}/approvals", json={"target": "offer"}), 201)
    assert asked["approver_id"] == house["boss_id"]
    page = web.get(f"/cases/{bigger}/calculations/new?approve={asked['id']}").get_data(
        as_text=True)
    saved = web.post(f"/cases/{bigger}/calculations/new", data={
        "csrf_token": csrf(page), "approve": str(asked["id"]), "markup": "40",
        "lines-0-item": str(items["FOL"]), "lines-0-quantity": "500"}, follow_redirects=True)
    assert "the corrected total also needs the approval of Director" in saved.get_data(
        as_text=True)  # 22,400.00
    assert bigger in {r["case_id"] for r in ok(house["director"]("get", "/approvals/"))}

    # Another calculation is returned with a reason: a task for its author.
    other = project(house, "Oklejenie witryn", "8600.00")
    asked = ok(rep("post", f"/cases/{other}/approvals", json={"target": "offer"}), 201)
    no_reason = boss("post", f"/approvals/{asked['id']}/decision", json={"decision": "return"})
    assert no_reason.status_code == 422 and "comment" in no_reason.get_json()["errors"]
    ok(boss("post", f"/approvals/{asked['id']}/decision",
            json={"decision": "return", "comment": "Brak kosztu montażu."}))
    task = next(t for t in ok(rep("get", "/tasks/?mine=true"))["items"]
                if t["title"] == "Returned: Oklejenie witryn")
    assert "Brak kosztu montażu." in task["description"]
    assert move(rep, other, "offer").status_code == 422


def test_the_order_waits_for_the_overdue_invoice_and_the_documents_then_production_and_closing(
        house):
    rep, accountant, printer, service = (house[k] for k in
                                         ("rep", "accountant", "printer", "service"))
    case_id = project(house, "Roll-upy targowe")
    priced = ok(rep("post", f"/cases/{case_id}/calculations", json={"markup": "40", "lines": [
        {"price_item_id": house["items"]["FL510"], "quantity": "21"},
        {"price_item_id": house["items"]["TR"], "quantity": "1"}]}), 201)
    assert priced["net"] == "879.20"  # below the approval limit
    ok(move(rep, case_id, "offer"))
    rt = house["rt"]
    with rt.session() as s, s.begin():  # an old invoice of the client, never paid
        clerk = s.get(User, house["accountant_id"])
        late = invoices.create(s, {"organisation_id": house["client_id"],
                                   "issue_date": (today() - timedelta(days=40)).isoformat(),
                                   "lines": [{"description": "Plakaty", "quantity": "1",
                                              "unit_price": "1000.00", "vat_rate": "23"}]},
                               clerk)
        invoices.issue(s, rt.settings, late, clerk, today() - timedelta(days=40))
        late_id, number = late.id, late.number
    blocked = move(rep, case_id, "order")
    assert blocked.status_code == 422
    errors = blocked.get_json()["errors"]
    assert errors["check.printing.no_overdue"] == \
        f"1 invoice of the client is overdue: {number}."
    assert "check.printing.documents" in errors
    # Accounting records the payment; customer service confirms the documents.
    ok(accountant("post", "/payments/", json={
        "received_on": today().isoformat(), "amount": "1230.00",
        "allocations": [{"invoice_id": late_id, "amount": "1230.00"}]}), 201)
    with rt.session() as s:
        assert s.get(Invoice, late_id).status == "paid"
    still = move(rep, case_id, "order")
    assert list(still.get_json()["errors"]) == ["check.printing.documents"]
    # Only customer service confirms the documents.
    not_theirs = rep("patch", f"/cases/{case_id}", headers={"If-Match": etag_of(rep, case_id)},
                     json={"custom": {"printing_documents_received": True}})
    assert not_theirs.get_json()["errors"] == {
        "custom.printing_documents_received": "“Registration documents received (customer "
        "service)” is confirmed by those with the permission “Confirm the client's "
        "registration documents”."}
    tick(service, case_id, printing_documents_received=True)
    assert ok(move(rep, case_id, "order"))["phase_key"] == "order"

    # Production starts on the signed order, with the production order it brings.
    assert move(printer, case_id, "production").status_code == 422  # not signed yet
    early = rep("post", "/documents/", json={"template": "printing.production_order",
                                             "record_type": "case", "record_id": case_id})
    assert "check.printing.signed_order" in early.get_json()["errors"]
    tick(rep, case_id, printing_signed_order=True)
    not_mine = move(rep, case_id, "production")  # production's own step
    assert not_mine.get_json()["errors"]["permission"] == "You may not take this step."
    production_order = ok(rep("post", "/documents/", json={
        "template": "printing.production_order", "record_type": "case",
        "record_id": case_id}), 201)
    assert production_order["number"].startswith(f"ZP/{today().year}/")
    waiting = move(printer, case_id, "production")  # prepress has no file yet
    assert waiting.get_json()["errors"] == {
        "check.printing.files_checked": "No print file has been received yet."}
    sent = rep("post", f"/printing/projects/{case_id}/print-files", data={
        "width_mm": "850", "height_mm": "2000", "dpi": "150",
        "colour_profile": "ISO Coated v2 (ECI)", "bleed_mm": "5",
        "file": (io.BytesIO(PDF), "rollup.pdf")}, content_type="multipart/form-data")
    file_id = ok(sent, 201)["id"]
    waiting = move(printer, case_id, "production")
    assert waiting.get_json()["errors"] == {"check.printing.files_checked":
                                            "Print files not checked yet, or rejected: 1 of 1."}
    ok(printer("post", f"/printing/print-files/{file_id}/check"))
    ok(move(printer, case_id, "production"))
    ok(move(printer, case_id, "delivery"))
    refused = move(accountant, case_id, "closed")
    assert set(refused.get_json()["errors"]) == {"check.printing.invoiced",
                                                 "check.printing.delivered"}
    # Accounting invoices the calculation's lines and confirms the delivery.
    drafted = ok(accountant("post", f"/calculations/{priced['id']}/invoice"), 201)
    assert [line["description"] for line in drafted["lines"]] == [
        "Baner frontlit 510 g/m²", "Transport"]
    ok(accountant("post", f"/invoices/{drafted['id']}/issue"))
    tick(accountant, case_id, printing_delivered=True)
    not_theirs = move(rep, case_id, "closed")  # accounting closes
    assert not_theirs.get_json()["errors"] == {"permission": "You may not take this step."}
    assert ok(move(accountant, case_id, "closed"))["phase_key"] == "closed"
    # A complaint on the closed project is a case of its own; no offer is made of it.
    complaint = ok(service("post", "/cases/", json={
        "title": "Reklamacja: roll-upy", "process_key": "printing.complaint",
        "parent_id": case_id, "custom": {"printing_complaint_defect": "Pęknięta kaseta"}}), 201)
    wrong = rep("post", "/documents/", json={"template": "printing.offer",
                                             "record_type": "case",
                                             "record_id": complaint["id"]})
    assert wrong.get_json()["errors"] == {"template": "This template is not for this record."}
    history = [h["to_phase"] for h in ok(rep("get", f"/cases/{case_id}/history"))]
    assert history == ["inquiry", "calculation", "offer", "order", "production", "delivery",
                       "closed"]

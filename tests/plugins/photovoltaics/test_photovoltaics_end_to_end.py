"""An installation from the household's request to the final payment, as its users do it
over HTTP: the household asks for an offer on the website's form, which opens a lead;
the sales rep audits the roof (checklist and photo), sizes and prices the design, sends
the offer, which the customer turns down and then accepts in a second version; the sales
manager approves the contract; accounting issues the advance invoice and records its
payment; the planner gives the roof part to a subcontractor's crew and the electrical
part to the firm's own, whose calendar feeds hold the jobs; the installers report both
parts done with photos, the subcontractor's through the crew's link without an account;
the installation moves on by itself, the final invoice settles the advance, and once it
is paid the installation is completed. Runs on SQLite and PostgreSQL."""

import io
import re
from decimal import Decimal

import pytest
from icalendar import Calendar
from PIL import Image
from sqlalchemy import select

from core import consents, organisations, price_lists, public_forms, roles, tokens, users
from core.filters import today
from core.models import Case
from plugins.photovoltaics.audit import CHECKLIST
from plugins.photovoltaics.components import COMPONENTS
from plugins.photovoltaics.process import ELECTRICAL, ROOF
from tests.core.api_helpers import caller

PASSWORD = "correct horse battery"


@pytest.fixture
def firm(app):
    """The installer's people, each with an API token; the components price list; the
    website's form; a subcontracting firm."""
    rt = app.extensions["kartoteka"]
    client = app.test_client()
    found = {"client": client}
    with app.test_request_context(), rt.session() as s, s.begin():
        roles.create(s, "photovoltaics_sales_manager", "Sales manager")
        for key, permissions in (("sales", ["core.calculate"]), ("accounting", ["core.billing"]),
                                 ("planning", ["photovoltaics.plan_crews"])):
            roles.set_permissions(s, roles.create(s, key, key.title()), permissions)
        for name, keys in (("rep", ["staff", "sales"]),
                           ("manager", ["staff", "photovoltaics_sales_manager"]),
                           ("accountant", ["staff", "accounting"]),
                           ("planner", ["staff", "planning"]), ("electrician", ["staff"])):
            user = users.create_user(s, f"{name}@sloneczny.example.pl", PASSWORD,
                                     name.title(), roles=keys)
            found[name] = caller(client, tokens.create(s, user, "test")[1])
            found[f"{name}_id"] = user.id
        admin = users.create_user(s, "admin@sloneczny.example.pl", PASSWORD, is_admin=True)
        found["items"] = {code: price_lists.create(s, COMPONENTS, {
            "code": code, "name": name, "category": category, "unit": unit,
            "net_price": price, "vat_rate": "8"}, admin).id
            for code, name, category, unit, price in (
                ("JA-455", "Panel JA Solar 455 W", "panel", "szt.", "395.00"),
                ("HU-8K", "Falownik Huawei 8 kW", "inverter", "szt.", "5900.00"),
                ("K-DACH", "Konstrukcja dachowa", "mounting", "kpl.", "210.00"),
                ("MONT", "Montaż", "labour", "h", "95.00"))}
        purpose = consents.create_purpose(s, {"key": "oferty_pv", "name": "Oferty PV",
                                              "legal_basis": "consent"})
        public_forms.create(s, {
            "key": "fotowoltaika", "title": "Darmowa wycena instalacji",
            "process_key": "photovoltaics.installation", "purpose_id": purpose.id,
            "fields": [{"field": "email", "required": True}, {"field": "phone"},
                       {"field": "street"}, {"field": "postal_code"}, {"field": "city"},
                       {"field": "case.photovoltaics_consumption_kwh", "required": True}],
            "consent_text": "Zgadzam się na kontakt w sprawie oferty.",
            "notify_user_ids": [found["rep_id"]]}, admin)
        found["subcontractor"] = organisations.create(s, rt.host, {
            "name": "Dachy Nowak s.c.", "type_key": "photovoltaics.subcontractor"}, admin).id
    return found


def photo(name="dach.jpg"):
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 60, 20)).save(out, "JPEG")
    out.seek(0)
    return out, name


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def move(who, case_id, target):
    etag = who("get", f"/cases/{case_id}").headers["ETag"]
    return who("post", f"/cases/{case_id}/move", json={"target": target},
               headers={"If-Match": etag})


def patch(who, case_id, data):
    etag = who("get", f"/cases/{case_id}").headers["ETag"]
    return ok(who("patch", f"/cases/{case_id}", json=data, headers={"If-Match": etag}))


def price(firm, case_id, panels, markup):
    """A version of the offer from the components price list."""
    items = firm["items"]
    return ok(firm["rep"]("post", f"/cases/{case_id}/calculations", json={
        "markup": markup, "lines": [
            {"price_item_id": items["JA-455"], "quantity": str(panels)},
            {"price_item_id": items["HU-8K"], "quantity": "1"},
            {"price_item_id": items["K-DACH"], "quantity": str(panels)},
            {"price_item_id": items["MONT"], "quantity": "16"}]}), 201)


def test_an_installation_from_the_website_to_completion(app, firm):
    rep, client = firm["rep"], firm["client"]

    # The household asks for an offer on the website: a lead is opened.
    page = client.get("/forms/fotowoltaika").text
    assert client.post("/forms/fotowoltaika", data={
        "csrf_token": csrf(page), "first_name": "Jan", "last_name": "Kowalski",
        "email": "jan.kowalski@example.com", "phone": "601 222 333",
        "street": "ul. Słoneczna 5", "postal_code": "62-035", "city": "Kórnik",
        "case.photovoltaics_consumption_kwh": "6500", "consent": "on"}).status_code == 302
    with app.extensions["kartoteka"].session() as s:
        lead = s.scalars(select(Case).where(Case.process_key == "photovoltaics.installation")
                         ).one()
        case_id = lead.id
        assert (lead.phase_key, lead.custom["photovoltaics_consumption_kwh"]) == ("lead", 6500)

    # The audit: the checklist ticked and a photo of the roof attached.
    ok(move(rep, case_id, "audit"))
    refused = move(rep, case_id, "design")
    assert refused.status_code == 422 and "check.photovoltaics.audited" in refused.get_json()[
        "errors"]
    patch(rep, case_id, {"custom": {f"photovoltaics_{key}": True for key in CHECKLIST}})
    staff = app.test_client()
    staff.post("/login", data={"email": "rep@sloneczny.example.pl", "password": PASSWORD})
    card = staff.get(f"/cases/{case_id}").text
    staff.post(f"/attachments/case/{case_id}", data={"csrf_token": csrf(card),
                                                      "file": photo()},
               content_type="multipart/form-data")
    ok(move(rep, case_id, "design"))

    # The design, sized and priced; the offer goes out and is turned down as too dear.
    patch(rep, case_id, {"custom": {
        "photovoltaics_power": "8.19", "photovoltaics_panel_model": "JA Solar 455 W",
        "photovoltaics_panel_count": 18, "photovoltaics_inverter_model": "Huawei 8 kW",
        "photovoltaics_inverter_count": 1, "photovoltaics_ppe": "PL0037123456789",
        "photovoltaics_grid_operator": "enea"}})
    first = price(firm, case_id, 18, "35")
    ok(rep("post", f"/calculations/{first['id']}/decision", json={"status": "sent"}))
    ok(move(rep, case_id, "offer"))
    offer = ok(rep("post", "/documents/", json={"template": "photovoltaics.offer",
                                                "record_type": "case", "record_id": case_id}),
               201)
    assert offer["number"].startswith("OF/PV/")
    ok(rep("post", f"/calculations/{first['id']}/decision",
           json={"status": "rejected", "reason": "Za drogo; 16 paneli."}))
    ok(move(rep, case_id, "design"))
    second = price(firm, case_id, 16, "30")
    ok(move(rep, case_id, "offer"))
    ok(rep("post", f"/calculations/{second['id']}/decision", json={"status": "accepted"}))
    ok(move(rep, case_id, "contract"))
    amount = Decimal(ok(rep("get", f"/cases/{case_id}"))["amount"])
    assert amount == Decimal(second["net"]) < Decimal(first["net"])  # the accepted version

    # The contract goes out only once the sales manager approved it.
    assert "approval" in move(rep, case_id, "advance_payment").get_json()["errors"]
    asked = ok(rep("post", f"/cases/{case_id}/approvals",
                   json={"target": "advance_payment"}), 201)
    ok(firm["manager"]("post", f"/approvals/{asked['id']}/decision",
                       json={"decision": "approve"}))
    ok(rep("post", "/documents/", json={"template": "photovoltaics.contract",
                                        "record_type": "case", "record_id": case_id}), 201)
    ok(move(rep, case_id, "advance_payment"))

    # The advance: installation waits until it is paid.
    person_id = ok(rep("get", f"/cases/{case_id}"))["people"][0]["person_id"]
    advance = invoice(firm, case_id, person_id, "advance", "10000.00")
    assert "check.photovoltaics.advance_paid" in move(rep, case_id, "installation").get_json()[
        "errors"]
    pay(firm, person_id, advance)
    ok(move(rep, case_id, "installation"))

    # Scheduling: the roof to the subcontractor's crew, the electrical part to the firm's.
    planner = firm["planner"]
    roofers = ok(planner("post", "/photovoltaics/crews/", json={
        "name": "Dachy Nowak", "subcontractor_id": firm["subcontractor"],
        "members": [{"name": "Piotr Nowak", "phone": "602 111 222", "skills": ["roof"],
                     "leader": True}, {"name": "Adam Nowak", "skills": ["roof", "heights"]}]}),
        201)
    electricians = ok(planner("post", "/photovoltaics/crews/", json={
        "name": "Ekipa elektryczna", "members": [{"user_id": firm["electrician_id"],
                                                  "skills": ["electrical"]}]}), 201)
    parts = {c["process_key"]: c["id"] for c in ok(rep("get", f"/cases/?parent_id={case_id}"))[
        "items"]}
    day = today()
    roof_job = ok(planner("put", f"/photovoltaics/parts/{parts[ROOF]}/crew", json={
        "crew_id": roofers["id"], "starts_on": day.isoformat(), "ends_on": day.isoformat()}))
    wrong = planner("put", f"/photovoltaics/parts/{parts[ELECTRICAL]}/crew", json={
        "crew_id": roofers["id"], "starts_on": day.isoformat()})
    assert wrong.status_code == 422  # roofers have no electrical licence
    electrical_job = ok(planner("put", f"/photovoltaics/parts/{parts[ELECTRICAL]}/crew",
                                json={"crew_id": electricians["id"],
                                      "starts_on": day.isoformat()}))

    # Each crew's calendar feed is iCalendar holding its job, with the link to report it.
    token = roofers["calendar_url"].rsplit("/", 1)[1].removesuffix(".ics")
    feed = Calendar.from_ical(client.get(f"/photovoltaics/crew/{token}.ics").data)
    [event] = feed.walk("VEVENT")
    assert str(event["location"]) == "ul. Słoneczna 5, 62-035 Kórnik"
    assert str(event["summary"]) == "Installation: roof part: Kórnik (Jan Kowalski)"
    report_url = str(event["url"]).removeprefix("http://localhost")

    # The subcontractor's installer reports the roof done from his phone, with photos.
    page = client.get(report_url).text
    assert client.post(report_url, data={
        "csrf_token": csrf(page), "reported_by": "Piotr Nowak", "report": "Panele na dachu.",
        "photos": [photo("dach1.jpg"), photo("dach2.jpg")]},
        content_type="multipart/form-data").status_code == 302
    assert ok(rep("get", f"/cases/{case_id}"))["phase_key"] == "installation"
    # The firm's electrician reports through the API.
    out, _name = photo("rozdzielnica.jpg")
    ok(firm["electrician"]("post", f"/photovoltaics/jobs/{electrical_job['id']}/report",
                           data={"report": "Falownik uruchomiony.",
                                 "photos": [(out, "rozdzielnica.jpg")]},
                           content_type="multipart/form-data"))
    assert ok(rep("get", f"/cases/{case_id}"))["phase_key"] == "final_payment"
    assert roof_job["case_id"] == parts[ROOF]

    # The final invoice settles the advance; once it is paid, the installation is done.
    final = invoice(firm, case_id, person_id, "final", f"{amount:.2f}",
                    advance_ids=[advance["id"]])
    assert Decimal(final["balance"]) == Decimal(second["gross"]) - Decimal(advance["gross"])
    assert move(rep, case_id, "completed").status_code == 422
    pay(firm, person_id, final)
    ok(rep("post", "/documents/", json={"template": "photovoltaics.grid_notification",
                                        "record_type": "case", "record_id": case_id}), 201)
    assert ok(move(rep, case_id, "completed"))["phase_key"] == "completed"


def invoice(firm, case_id, person_id, kind, net, **extra):
    draft = ok(firm["accountant"]("post", "/invoices/", json={
        "kind": kind, "person_id": person_id, "case_id": case_id, "lines": [
            {"description": "Instalacja fotowoltaiczna", "quantity": "1", "unit": "kpl.",
             "unit_price": net, "vat_rate": "8"}], **extra}), 201)
    return ok(firm["accountant"]("post", f"/invoices/{draft['id']}/issue", json={}))


def pay(firm, person_id, invoice):
    ok(firm["accountant"]("post", "/payments/", json={
        "received_on": today().isoformat(), "person_id": person_id,
        "amount": invoice["balance"], "allocations": [{"invoice_id": invoice["id"]}]}), 201)

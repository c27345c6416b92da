"""A client firm's grant from the first conversation to the end of its durability period,
as the business-support institution's people take it over HTTP (GR-1 to GR-4).

The consultant (no billing rights) qualifies the opportunity, offers it with a payment
schedule (a dated instalment and one waiting for the grant's award) on the card, and
wins it only once the schedule is there: a cooperation contract of those instalments.
Accounting's billing runs invoice the dated instalment in its month, once. The manager
adds the call for proposals; the consultant applies for the same client from the call's
page, is held back until the checklist of attachments is complete, and takes the
application through submission and evaluation to the award, which makes the contract's
success fee billable in the next run. The grant agreement generates the payment requests
with the amounts and deadlines worked out by hand from the administrator's settings;
they are submitted, approved and paid on the card's forms and in the API, and the grant
is settled only when all are paid. With the indicators set, the durability period plans
its yearly reports; as time passes the first report's due day, the deadlines job
reminds the consultant and mails the client's contact person, escalates to the manager
once the day is missed, and the client shows as at risk on the reports page, in the API
and on the card. Runs on SQLite and PostgreSQL."""

import calendar
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import format_date
from sqlalchemy import select

from core import report_periods, roles, tokens, users
from core.filters import today
from core.models import OutboxMessage
from plugins.grants import deadlines, durability, payment_request_views, payment_requests, reports
from tests.core.api_helpers import caller
from tests.core.page_helpers import show, text, visible

PASSWORD = "correct horse battery"
COMPANY = {"company_name": "Centrum Wsparcia Biznesu sp. z o.o.",
           "company_details": "ul. Długa 1, 61-001 Poznań\nNIP 7773061579"}
BRAND = "Centrum Wsparcia Biznesu"  # how the installation signs its letters
CLIENT = "Stolarnia Dąb sp. z o.o."
GRANTOR = "Polska Agencja Rozwoju Przedsiębiorczości"
CALL = "Ścieżka SMART dla MŚP"
ATTACHMENTS = ["Biznesplan", "Harmonogram rzeczowo-finansowy", "Oświadczenie de minimis"]
PDF = b"%PDF-1.4\n%biznesplan\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
D = Decimal


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en", **COMPANY)


@pytest.fixture
def institution(app):
    """The consultant (the staff role, no billing), who reports to the manager (calls
    for proposals and the grants reports), accounting (billing) and an administrator,
    who brands the installation, each with an API token; the client firm, its contact
    person and the grantor, entered by the consultant through the API."""
    rt = app.extensions["kartoteka"]
    client = app.test_client()
    found = {"rt": rt, "app": app}
    with app.test_request_context(), rt.session() as s, s.begin():
        for key, permissions in (("grants_managers", ["grants.manage", "grants.reports"]),
                                 ("accounting", ["core.billing"])):
            roles.set_permissions(s, roles.create(s, key, key.title()), permissions)
        people = (("manager", "Piotr Kierownik", ["staff", "grants_managers"], None),
                  ("consultant", "Ewa Doradca", ["staff"], "manager"),
                  ("accountant", "Klara Księgowa", ["staff", "accounting"], None))
        for name, full_name, keys, supervisor in people:
            user = users.create_user(s, f"{name}@cwb.example.pl", PASSWORD, full_name,
                                     roles=keys)
            user.supervisor_id = found[f"{supervisor}_id"] if supervisor else None
            found[name] = caller(client, tokens.create(s, user, "test")[1])
            found[f"{name}_id"] = user.id
        admin = users.create_user(s, "admin@cwb.example.pl", PASSWORD, "Admin", is_admin=True)
        found["admin"] = caller(client, tokens.create(s, admin, "test")[1])
    ok(found["admin"]("patch", "/settings/branding", json={"name": BRAND}))
    consultant = found["consultant"]
    found["client_id"] = ok(consultant("post", "/organizations/", json={
        "name": CLIENT, "type_key": "core.company", "street": "ul. Leśna 4",
        "postal_code": "62-035", "city": "Kórnik"}), 201)["id"]
    found["grantor_id"] = ok(consultant("post", "/organizations/", json={
        "name": GRANTOR, "type_key": "core.public_body", "city": "Warszawa"}), 201)["id"]
    found["contact_id"] = ok(consultant("post", "/people/", json={
        "first_name": "Jan", "last_name": "Dąb", "emails": ["jan.dab@stolarnia.example"]}),
        201)["id"]
    return found


# --- Helpers ---------------------------------------------------------------------------------

def ok(response, status=200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def move(who, case_id, target):
    etag = who("get", f"/cases/{case_id}").headers["ETag"]
    return who("post", f"/cases/{case_id}/move", json={"target": target},
               headers={"If-Match": etag})


def fill_in(who, case_id, **custom) -> dict:
    etag = who("get", f"/cases/{case_id}").headers["ETag"]
    return ok(who("patch", f"/cases/{case_id}", json={"custom": custom},
                  headers={"If-Match": etag}))


def login(inst, name):
    browser = inst["app"].test_client()
    response = browser.post("/login", data={"email": f"{name}@cwb.example.pl",
                                            "password": PASSWORD})
    assert response.status_code == 302
    return browser


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def section(page: str, name: str) -> str:
    return re.search(rf'<section class="{name}".*?</section>', page, re.S).group(0)


def part(page: str, section_id: str) -> str:
    return re.search(rf'<section [^>]*id="{section_id}".*?</section>', page, re.S).group(0)


def row_html(page: str, request_id: int) -> str:
    return re.search(rf'<tr id="payment-request-{request_id}".*?</tr>', page, re.S).group(0)


def row(page: str, row_id: str) -> str:
    return visible(re.search(rf'<tr id="{row_id}".*?</tr>', page, re.S).group(0))


def months_on(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month(first: date) -> dict:
    last = calendar.monthrange(first.year, first.month)[1]
    return {"period_start": first.isoformat(), "period_end": first.replace(day=last).isoformat()}


def bill(inst, period: dict) -> int:
    """Accounting's billing run of the period: how many invoices this run made."""
    run = ok(inst["accountant"]("post", "/billing-runs/", json=period), 202)
    assert run["state"] == "done", run
    return run["job"]["result"]["invoices"]


def invoices_of(inst, case_id) -> list[tuple]:
    found = ok(inst["accountant"]("get", f"/invoices/?case_id={case_id}"))["items"]
    details = [ok(inst["accountant"]("get", f"/invoices/{i['id']}")) for i in found]
    return sorted((i["organisation_id"], [(line["description"], D(line["unit_price"]))
                                          for line in i["lines"]], D(i["net"]), D(i["gross"]))
                  for i in details)


def shown(inst, day: date, form: str = "medium") -> str:
    """A day as the pages write it in English."""
    with inst["app"].test_request_context():
        return format_date(day, form)


def titles(who) -> list[str]:
    """The titles of the caller's own tasks."""
    return [task["title"] for task in ok(who("get", "/tasks/?mine=true"))["items"]]


def mail(rt) -> list[tuple[str, str, str]]:
    """The outbox: to whom, about what, what it says."""
    with rt.session() as s:
        return [(m.to_address, m.subject, m.text_body) for m in s.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def travel(monkeypatch, day: date) -> None:
    """Time passes: "today" of the grant's settlement, its durability, its deadlines and
    its reports (their default period too); the rest of the institution's system keeps
    the real day."""
    for module, name in ((payment_requests, "local_today"), (payment_request_views, "today"),
                         (durability, "local_today"), (deadlines, "local_today"),
                         (reports, "local_today"), (report_periods, "today")):
        monkeypatch.setattr(module, name, lambda: day)


def apply_for_the_client(inst, call_id: int) -> int:
    """The consultant records the contact person as working for the client (on the
    person's card), then applies to the call for the client from the call's page: the
    firm's people become the application's contacts."""
    web = login(inst, "consultant")
    person = show(web, f"/people/{inst['contact_id']}")
    joined = web.post(f"/people/{inst['contact_id']}/memberships", data={
        "csrf_token": csrf(person), "organisation_id": str(inst["client_id"]),
        "role": "Prezes zarządu", "start_date": "2020-01-01"})
    assert joined.status_code == 302, text(joined)
    page = show(web, f"/grants/calls/{call_id}")
    started = web.post(f"/grants/calls/{call_id}/apply", data={
        "csrf_token": csrf(page), "target_type": "organisation", "target": "Stolarnia Dąb",
        "target_id": "", "owner_id": str(inst["consultant_id"]),
        "requested_amount": "250 000,00", "project_value": "400 000,00"})
    assert started.status_code == 302, text(started)
    return int(started.headers["Location"].rsplit("/", 1)[1])


def a_call(inst, deadline: date) -> int:
    """The manager's call for proposals, added through the API."""
    return ok(inst["manager"]("post", "/grants/calls/", json={
        "title": CALL, "reference": "FENG.01.01-IP.02-001/26", "grantor_id": inst["grantor_id"],
        "programme": "Fundusze Europejskie dla Nowoczesnej Gospodarki",
        "deadline": deadline.isoformat(), "max_rate": "70",
        "required_attachments": ATTACHMENTS}), 201)["id"]


# --- GR-1, GR-2, GR-3: the opportunity won into a contract billed by its schedule ------------

def test_an_opportunity_won_into_a_contract_billed_on_its_dates_and_at_the_grant_award(
        institution):
    inst = institution
    consultant, manager, accountant = (inst[k] for k in ("consultant", "manager", "accountant"))
    t = today()
    web = login(inst, "consultant")

    # The opportunity, qualified and offered.
    opportunity = ok(consultant("post", "/cases/", json={
        "title": "Dotacja na linię lakierniczą", "process_key": "grants.opportunity",
        "owner_id": inst["consultant_id"], "organisation_id": inst["client_id"]}), 201)["id"]
    ok(move(consultant, opportunity, "qualified"))
    ok(move(consultant, opportunity, "offer"))

    # Not won without a schedule: the card says why before anyone tries, the step refuses.
    card = show(web, f"/cases/{opportunity}")
    assert ('<li data-blocker="check.grants.schedule">Set the payment schedule first: the '
            'cooperation contract is made of it.</li>') in card
    refused = move(consultant, opportunity, "won")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"check.grants.schedule": (
        "Set the payment schedule first: the cooperation contract is made of it.")}

    # The schedule on the card's form: an advance on a day, the success fee at the award.
    advance_on = months_on(t, 1).replace(day=10)
    saved = web.post(f"/grants/opportunities/{opportunity}/schedule", data={
        "csrf_token": csrf(card), "version": version(section(card, "grants-schedule")),
        "action": "save",
        "instalments-0-description": "Zaliczka", "instalments-0-amount": "3 000,00",
        "instalments-0-due_on": advance_on.isoformat(), "instalments-0-milestone": "",
        "instalments-1-description": "Wynagrodzenie za sukces",
        "instalments-1-amount": "12 500,00", "instalments-1-due_on": "",
        "instalments-1-milestone": "awarded"})
    assert saved.status_code == 302, text(saved)
    card = show(web, f"/cases/{opportunity}")
    assert "Payment schedule saved." in card
    assert ok(consultant("get", f"/cases/{opportunity}"))["amount"] == "15500.00"

    # Won on the card's button: the cooperation contract of those instalments.
    won = web.post(f"/cases/{opportunity}/move", data={
        "csrf_token": csrf(card), "version": version(card), "target": "won"})
    assert won.status_code == 302
    card = show(web, f"/cases/{opportunity}")
    assert "Moved to “won”." in card
    contract = section(card, "grants-schedule")
    assert "Umowa o współpracy: Dotacja na linię lakierniczą" in contract
    instalments = re.findall(r'<tr id="contract-instalment-(\d+)"', contract)
    assert [row(contract, f"contract-instalment-{i}") for i in instalments] == [
        f"1 Zaliczka PLN3,000.00 {shown(inst, advance_on, 'short')} waiting for its date",
        "2 Wynagrodzenie za sukces PLN12,500.00 when “grant awarded” waiting for the "
        "milestone"]
    schedule = ok(consultant("get", f"/grants/opportunities/{opportunity}/schedule"))
    assert schedule["editable"] is False
    contract_id = schedule["contract"]["id"]
    assert [(i["description"], i["amount"], i["due_on"], i["milestone"], i["state"])
            for i in schedule["contract"]["instalments"]] == [
        ("Zaliczka", "3000.00", advance_on.isoformat(), None, "date"),
        ("Wynagrodzenie za sukces", "12500.00", None, "awarded", "milestone")]
    made = ok(accountant("get", f"/contracts/{contract_id}"))
    assert (made["organisation_id"], made["case_id"]) == (inst["client_id"], opportunity)
    assert consultant("get", f"/contracts/{contract_id}").status_code == 403

    # Billing is accounting's; its runs invoice the dated instalment in its month, once.
    assert consultant("post", "/billing-runs/", json=month(t.replace(day=1))).status_code \
        == 403
    assert bill(inst, month(t.replace(day=1))) == 0
    assert bill(inst, month(advance_on.replace(day=1))) == 1
    assert bill(inst, month(advance_on.replace(day=1))) == 0
    title = "Umowa o współpracy: Dotacja na linię lakierniczą"
    assert invoices_of(inst, opportunity) == [
        (inst["client_id"], [(f"{title}: Zaliczka", D(3000))], D(3000), D("3690.00"))]

    # The manager keeps the calls for proposals; the consultant may not add one.
    assert login(inst, "consultant").get("/grants/calls/new").status_code == 403
    boss = login(inst, "manager")
    form = show(boss, "/grants/calls/new")
    added = boss.post("/grants/calls/new", data={
        "csrf_token": csrf(form), "title": CALL, "reference": "FENG.01.01-IP.02-001/26",
        "programme": "Fundusze Europejskie dla Nowoczesnej Gospodarki",
        "target_type": "organisation", "target": "Polska Agencja", "target_id": "",
        "opens_on": "", "deadline": (t + timedelta(days=30)).isoformat(),
        "budget": "250 000 000", "max_rate": "70", "description": "",
        "required_attachments": "\n".join(ATTACHMENTS)})
    assert added.status_code == 302, text(added)
    call_id = int(added.headers["Location"].rsplit("/", 1)[1])
    call = ok(manager("get", f"/grants/calls/{call_id}"))
    assert (call["grantor_id"], call["required_attachments"]) == (inst["grantor_id"],
                                                                  ATTACHMENTS)

    # The consultant applies for the same client from the call's page.
    application = apply_for_the_client(inst, call_id)
    card = show(web, f"/cases/{application}")
    assert f"{CALL} — {CLIENT}" in card
    assert "0 of 3 ready" in section(card, "grants-checklist")

    # Not submitted while the checklist is incomplete.
    refused = move(consultant, application, "submitted")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"check.grants.checklist": (
        "Attachments not ready: “Biznesplan”, “Harmonogram rzeczowo-finansowy”, "
        "“Oświadczenie de minimis”.")}
    # The business plan uploaded on the card and ticked with its file there; the rest in
    # the API.
    uploaded = web.post(f"/attachments/case/{application}", data={
        "csrf_token": csrf(card), "file": (io.BytesIO(PDF), "biznesplan.pdf")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 302
    card = show(web, f"/cases/{application}")
    checklist = section(card, "grants-checklist")
    file_id = re.search(r'<option value="(\d+)">biznesplan.pdf</option>', checklist).group(1)
    items = ok(consultant("get", f"/grants/applications/{application}/checklist"))["items"]
    plan, *rest = (i["id"] for i in items)
    assert web.post(f"/grants/applications/{application}/checklist/{plan}/ready", data={
        "csrf_token": csrf(card), "attachment_id": file_id}).status_code == 302
    refused = move(consultant, application, "submitted")
    assert refused.get_json()["errors"] == {"check.grants.checklist": (
        "Attachments not ready: “Harmonogram rzeczowo-finansowy”, “Oświadczenie de "
        "minimis”.")}
    for item in rest:
        ok(consultant("post", f"/grants/applications/{application}/checklist/{item}/ready",
                      json={}))
    checklist = ok(consultant("get", f"/grants/applications/{application}/checklist"))
    assert (checklist["ready"], checklist["total"], checklist["items"][0]["filename"]) == (
        3, 3, "biznesplan.pdf")

    # Submitted, evaluated, and awarded only with the amount and the day.
    ok(move(consultant, application, "submitted"))
    ok(move(consultant, application, "evaluation"))
    refused = move(consultant, application, "awarded")
    assert refused.get_json()["errors"] == {
        "check.grants.award": "Fill in: Grant awarded, Awarded on."}
    fill_in(consultant, application, grants_awarded_amount="240 000,00",
            grants_awarded_on=t.isoformat())
    assert ok(move(consultant, application, "awarded"))["phase_key"] == "awarded"

    # The award is the contract's milestone: the success fee falls due for the next run.
    card = show(web, f"/cases/{opportunity}")
    contract = section(card, "grants-schedule")
    assert row(contract, f"contract-instalment-{instalments[1]}") == (
        f"2 Wynagrodzenie za sukces PLN12,500.00 when “grant awarded”: "
        f"{shown(inst, t, 'short')} due: the next billing run invoices it")
    assert bill(inst, month(months_on(t, 2))) == 1
    assert invoices_of(inst, opportunity) == [
        (inst["client_id"], [(f"{title}: Wynagrodzenie za sukces", D(12500))], D(12500),
         D("15375.00")),
        (inst["client_id"], [(f"{title}: Zaliczka", D(3000))], D(3000), D("3690.00"))]
    states = ok(consultant("get", f"/grants/opportunities/{opportunity}/schedule"))
    assert [(i["state"], i["reached_on"]) for i in states["contract"]["instalments"]] == [
        ("billed", None), ("billed", t.isoformat())]
    said = [a["subject"] for a in ok(consultant(
        "get", f"/activities/?record_type=case&record_id={application}"))["items"]]
    assert (f"Grant awarded: 1 instalment of “{title}” falls due") in said


# --- GR-3, GR-4: the grant settled and kept through its durability period --------------------

def test_the_grant_is_settled_by_its_payment_requests_and_kept_through_durability(
        institution, monkeypatch):
    inst = institution
    consultant, manager = inst["consultant"], inst["manager"]
    rt, t = inst["rt"], today()
    y = t.year

    # The administrator's settings: the advance asked for 14 days after the agreement is
    # signed, each other request 45 days after the end of the period it settles.
    admin = login(inst, "admin")
    page = show(admin, "/admin/processes/grants.application")
    assert admin.post("/admin/processes/grants.application", data={
        "csrf_token": csrf(page), "advance_days": "14", "submit_days": "45"}).status_code == 302

    # An application of the client awarded 200 000 zł (its way there is the first test's).
    application = apply_for_the_client(inst, a_call(inst, t + timedelta(days=30)))
    title = f"{CALL} — {CLIENT}"
    for item in ok(consultant("get", f"/grants/applications/{application}/checklist"))["items"]:
        ok(consultant("post", f"/grants/applications/{application}/checklist/{item['id']}/ready",
                      json={}))
    for target in ("submitted", "evaluation"):
        ok(move(consultant, application, target))
    fill_in(consultant, application, grants_awarded_amount="200 000,00",
            grants_awarded_on=t.isoformat())
    ok(move(consultant, application, "awarded"))

    # The agreement is filled in before the step: its payment requests are made of it.
    refused = move(consultant, application, "agreement")
    assert refused.get_json()["errors"] == {"check.grants.agreement": (
        "Fill in: Grant agreement number, Agreement signed on, Project starts, Project ends.")}
    # The agreement: an advance of 20 %, three interim requests, the final 10 %.
    fill_in(consultant, application, grants_agreement_number="FENG.01.01-IP.02-0456/26",
            grants_agreement_date=t.isoformat(), grants_project_start=f"{y + 1}-01-01",
            grants_project_end=f"{y + 1}-12-31", grants_advance_percent="20",
            grants_interim_requests=3, grants_final_percent="10",
            grants_durability_years=3)
    ok(move(consultant, application, "agreement"))

    # By hand: 20 % of 200 000,00 is 40 000,00, due 14 days after signing; 10 % is the
    # final 20 000,00; the interim ones share the 140 000,00 left, the odd grosze on the
    # last. The year splits into quarters, each request due 45 days after its quarter.
    expected = [
        ("advance", "40000.00", None, None, t + timedelta(days=14)),
        ("interim", "46666.66", date(y + 1, 1, 1), date(y + 1, 3, 31), date(y + 1, 5, 15)),
        ("interim", "46666.66", date(y + 1, 4, 1), date(y + 1, 6, 30), date(y + 1, 8, 14)),
        ("interim", "46666.68", date(y + 1, 7, 1), date(y + 1, 9, 30), date(y + 1, 11, 14)),
        ("final", "20000.00", date(y + 1, 10, 1), date(y + 1, 12, 31), date(y + 2, 2, 14))]
    assert sum(D(amount) for _k, amount, *_rest in expected) == D(200000)
    found = ok(consultant("get", f"/grants/applications/{application}/payment-requests"))
    assert [(r["kind"], r["amount"], r["period_start"], r["period_end"], r["due_on"],
             r["status"]) for r in found] == [
        (kind, amount, start and start.isoformat(), end and end.isoformat(), due.isoformat(),
         "planned") for kind, amount, start, end, due in expected]
    web = login(inst, "consultant")
    card = show(web, f"/cases/{application}")
    panel = section(card, "grants-payment-requests")
    actions = "Record the submission Change Make the cover letter"
    assert [row(panel, f"payment-request-{r['id']}") for r in found] == [
        f"Payment request no. {n} ({kind}) "
        + (f"{shown(inst, start)} – {shown(inst, end)} " if start else "— ")
        + f"PLN{D(amount):,} {shown(inst, due)} {(due - t).days} days left planned {actions}"
        for n, (kind, amount, start, end, due) in enumerate(expected, 1)]
    assert visible(panel[panel.index("<tfoot"):]) == \
        "Total PLN200,000.00 Grant awarded: PLN200,000.00"

    # Time passes to after the project: the advance is taken through on the card's forms.
    travel(monkeypatch, date(y + 2, 3, 31))
    advance = found[0]
    url = f"/grants/payment-requests/{advance['id']}"
    steps = (("submit", {"submitted_on": (t + timedelta(days=14)).isoformat()}),
             ("approve", {"approved_amount": "40000.00", "notes": ""}),
             ("pay", {"paid_on": (t + timedelta(days=40)).isoformat()}))
    for action, values in steps:
        card = show(web, f"/cases/{application}")
        done = web.post(f"{url}/{action}", data={
            "csrf_token": csrf(card), "version": version(row_html(card, advance["id"])),
            **values})
        assert done.status_code == 302, text(done)
    card = show(web, f"/cases/{application}")
    assert "Payment request paid: Payment request no. 1 (advance)" in card
    assert row(card, f"payment-request-{advance['id']}") == (
        f"Payment request no. 1 (advance) — PLN40,000.00 {shown(inst, t + timedelta(days=14))} "
        f"paid submitted {shown(inst, t + timedelta(days=14))} paid "
        f"{shown(inst, t + timedelta(days=40))} Make the cover letter")

    # Not settled while the others are unpaid.
    refused = move(consultant, application, "settled")
    assert refused.get_json()["errors"] == {
        "check.grants.paid": "Payment requests not paid yet: 4 of 5."}
    # The others through the API, each submitted on its due day and paid a month later;
    # the grantor approves no more than was requested.
    for r in found[1:]:
        due = date.fromisoformat(r["due_on"])
        path = f"/grants/payment-requests/{r['id']}"
        ok(consultant("post", f"{path}/submit", json={"submitted_on": due.isoformat()}))
        too_much = consultant("post", f"{path}/approve",
                              json={"approved_amount": str(D(r["amount"]) + 1)})
        assert too_much.status_code == 422
        assert too_much.get_json()["errors"] == {
            "approved_amount": f"At most the amount requested: PLN{D(r['amount']):,}."}
        ok(consultant("post", f"{path}/approve", json={}))
        paid = ok(consultant("post", f"{path}/pay",
                             json={"paid_on": (due + timedelta(days=30)).isoformat()}))
        assert (paid["status"], paid["approved_amount"]) == ("paid", r["amount"])
    assert ok(move(consultant, application, "settled"))["phase_key"] == "settled"
    card = show(web, f"/cases/{application}")
    assert "Paid so far: PLN200,000.00" in section(card, "grants-payment-requests")

    # The durability period is reported on indicators: set on the card first.
    refused = move(consultant, application, "durability")
    assert refused.get_json()["errors"] == {
        "check.grants.indicators": "Set the indicators the durability period is reported on."}
    typed = {"indicators.0.name": "Nowe miejsca pracy", "indicators.0.unit": "etaty",
             "indicators.0.baseline": "0", "indicators.0.target": "4",
             "indicators.1.name": "Przychody z eksportu", "indicators.1.unit": "tys. zł",
             "indicators.1.baseline": "120", "indicators.1.target": "450,5",
             "indicators.2.name": "", "indicators.2.unit": "", "indicators.2.baseline": "",
             "indicators.2.target": ""}
    saved = web.post(f"/grants/durability/applications/{application}/indicators",
                     data={"csrf_token": csrf(card), **typed})
    assert saved.status_code == 302, text(saved)
    assert [(i["name"], i["baseline"], i["target"]) for i in ok(consultant(
        "get", f"/grants/applications/{application}/indicators"))] == [
        ("Nowe miejsca pracy", "0", "4"), ("Przychody z eksportu", "120", "450.5")]
    ok(move(consultant, application, "durability"))
    # A report a year for three years from the day after the project's end, each due 30
    # days after its year.
    planned = ok(consultant("get", f"/grants/applications/{application}/durability-reports"))
    assert [(r["title"], r["period_start"], r["period_end"], r["due_on"], r["status"],
             r["overdue"]) for r in planned] == [
        (f"Durability report {y + n}", f"{y + n}-01-01", f"{y + n}-12-31",
         f"{y + n + 1}-01-30", "due", False) for n in (2, 3, 4)]
    first, due = planned[0], date(y + 3, 1, 30)
    card = show(web, f"/cases/{application}")
    assert row(section(card, "grants-durability"), f"durability-report-{first['id']}") == (
        f"Durability report {y + 2} {shown(inst, date(y + 2, 1, 1), 'short')} – "
        f"{shown(inst, date(y + 2, 12, 31), 'short')} {shown(inst, due, 'short')} due — "
        "Generate document")

    # Ten days before the first report's due day the hourly job, as the worker runs it,
    # reminds the consultant and mails the contact person.
    job = rt.host.periodic["grants.deadlines"]
    travel(monkeypatch, due - timedelta(days=10))
    with inst["app"].app_context():
        done = job.run(rt)
    assert ([o.what for o in done.reminded], done.escalated) == (
        [f"Durability report {y + 2}"], [])
    report = f"Durability report {y + 2} ({title})"
    assert titles(consultant) == [f"Due on {shown(inst, due)}: {report}"]
    assert titles(manager) == []
    assert mail(rt) == [(
        "jan.dab@stolarnia.example",
        f"Reminder: Durability report {y + 2}, due on {shown(inst, due)}",
        f"Dear Jan Dąb,\n\nWe would like to remind you that “Durability report {y + 2}” of "
        f"“{title}” is due on {shown(inst, due)}, in 10 days. Please send us what is still "
        f"needed in good time.\n\nKind regards,\n{BRAND}")]
    boss = login(inst, "manager")
    assert "Nobody is at risk." in part(show(boss, "/grants/reports/"), "at-risk")

    # The day passes without the report: the manager is told, and the client is at risk.
    travel(monkeypatch, due + timedelta(days=3))
    with inst["app"].app_context():
        done = job.run(rt)
    assert (done.reminded, [o.what for o in done.escalated]) == (
        [], [f"Durability report {y + 2}"])
    assert titles(manager) == [f"Overdue: {report}"]
    assert len(titles(consultant)) == 1 and len(mail(rt)) == 1  # reminded once
    with inst["app"].app_context():
        again = job.run(rt)
    assert (again.reminded, again.escalated, again.mailed) == ([], [], [])
    said = [a["subject"] for a in ok(consultant(
        "get", f"/activities/?record_type=case&record_id={application}"))["items"]]
    assert f"Deadline passed: Durability report {y + 2}, due on {shown(inst, due)}" in said

    reason = f"Durability report {y + 2} overdue since 30.01.{y + 3}"
    page = show(boss, "/grants/reports/")
    assert row(part(page, "at-risk"), f"risk-{application}") == \
        f"{CLIENT} {title} Ewa Doradca {reason}"
    assert row(part(page, "overdue"), f"overdue-durability_report-{first['id']}") == \
        f"{shown(inst, due, 'short')} Durability report {y + 2} {CLIENT} {title} 3"
    assert ok(manager("get", "/grants/reports/at-risk")) == [{
        "case_id": application, "title": title, "organisation_id": inst["client_id"],
        "client": CLIENT, "owner_id": inst["consultant_id"], "owner": "Ewa Doradca",
        "reasons": [reason]}]
    # The reports are the manager's; the consultant sees the risk on the card.
    assert consultant("get", "/grants/reports/at-risk").status_code == 403
    assert web.get("/grants/reports/").status_code == 403
    risk = ok(consultant("get", f"/grants/applications/{application}/risk"))
    assert (risk["at_risk"], risk["reasons"]) == (True, [reason])
    panel = section(show(web, f"/cases/{application}"), "grants-durability")
    assert row(panel, f"durability-report-{first['id']}") == (
        f"Durability report {y + 2} {shown(inst, date(y + 2, 1, 1), 'short')} – "
        f"{shown(inst, date(y + 2, 12, 31), 'short')} {shown(inst, due, 'short')} · overdue "
        "due — Generate document")
    assert visible(re.search(r'<div class="card warning at-risk".*?</div>', panel, re.S)
                   .group(0)) == f"At risk {reason}"

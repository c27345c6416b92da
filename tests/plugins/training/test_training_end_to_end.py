"""A training from planning to certificates, as its users do it over HTTP: the organiser
plans it and invites a segment of member units on the staff pages, a unit's
administrator and a participant enrol on the portal until it is full and the waiting
list takes the rest, attendance is recorded, the settlement bills each unit once for
its people, the invoice goes to the accounting program and its payment comes back, and
the participants download their certificates from the portal. A
membership contract signed mid-quarter is prorated by the monthly run, and a closed
training stays out of sight of other units on the portal and in the API. Runs on
SQLite and PostgreSQL."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import (
    bank_statements,
    memberships,
    organisations,
    people,
    roles,
    segments,
    tokens,
    users,
)
from core.models import Invoice, Organisation, OutboxMessage, Person
from plugins.training import venues
from plugins.training.models import Enrolment

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en",
                                 company_name="Związek Gmin Wielkopolskich")


@pytest.fixture
def ids(app):
    """The association's organiser, two member units with their people and portal
    accounts, a third unit outside the segment, a trainer and a venue."""
    rt = app.extensions["kartoteka"]
    found = {}
    with app.test_request_context(), rt.session() as s, s.begin():
        role = roles.create(s, "organiser", "Training organiser")
        roles.set_permissions(s, role, ["training.manage", "training.enrol",
                                        "core.send_mailings", "core.billing"])
        organiser = users.create_user(s, "ewa@zwiazek.example.pl", PASSWORD, "Ewa",
                                      roles=["staff", "organiser"])
        for key, name, region in (("kornik", "Gmina Kórnik", "wielkopolskie"),
                                  ("mosina", "Gmina Mosina", "wielkopolskie"),
                                  ("lodz", "Gmina Łódź", "łódzkie")):
            unit = organisations.create(s, rt.host, {"name": name, "region": region,
                                                     "type_key": "core.municipality"})
            found[key] = unit.id
            users.create_user(s, f"admin@{key}.pl", PASSWORD, portal_of=unit,
                              portal_admin=True)
        for key, first, unit in (("anna", "Anna", "kornik"), ("bartek", "Bartek", "kornik"),
                                 ("maria", "Maria", "mosina")):
            person = people.create(s, {"first_name": first, "last_name": "Nowak",
                                       "emails": [f"{key}@{unit}.pl"]})
            memberships.join(s, person, s.get(Organisation, found[unit]), "urzędnik",
                             date(2020, 1, 1))
            found[key] = person.id
        users.create_user(s, "anna@kornik.pl", PASSWORD, portal_of=s.get(
            Organisation, found["kornik"]), person=s.get(Person, found["anna"]))
        found["trainer"] = people.create(s, {"first_name": "Adam", "last_name": "Trener"}).id
        found["venue"] = venues.create(s, {"name": "Sala Rady", "city": "Poznań"},
                                       organiser).id
        found["segment"] = segments.save(s, "Wielkopolska", "organisation", {
            "field": "region", "op": "eq", "value": "wielkopolskie"}, organiser).id
    return found


def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def move(client, case_id, target):
    response = client.post(f"/cases/{case_id}/move", data={"target": target})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]


def statuses(app, case_id) -> dict[int, str]:
    with app.extensions["kartoteka"].session() as s:
        return {r.person_id: r.status for r in s.scalars(
            select(Enrolment).where(Enrolment.case_id == case_id))}


def plan(app, staff, ids, title, starts, **fields) -> int:
    response = staff.post("/cases/new", data={
        "title": title, "process_key": "training.training",
        "custom.training_starts_at": starts, "custom.training_duration_hours": "6",
        "custom.training_trainer": str(ids["trainer"]),
        "custom.training_venue": str(ids["venue"]), **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return int(re.search(r"/cases/(\d+)", response.headers["Location"]).group(1))


def test_a_training_from_planning_to_certificates(app, ids):
    rt = app.extensions["kartoteka"]
    staff = login(app, "ewa@zwiazek.example.pl")
    starts = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    case_id = plan(app, staff, ids, "Zamówienia publiczne", starts,
                   **{"custom.training_capacity": "2", "custom.training_price": "250"})

    # Invitations to the segment: Kórnik's and Mosina's people, not Łódź's.
    move(staff, case_id, "invitations")
    staff.post(f"/training/{case_id}/invitations", data={"segment_id": ids["segment"]})
    assert statuses(app, case_id) == {ids["anna"]: "invited", ids["bartek"]: "invited",
                                      ids["maria"]: "invited"}
    with rt.session() as s:
        invited = {m.to_address for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.mailing_id.is_not(None)))}
    assert invited == {"anna@kornik.pl", "bartek@kornik.pl", "maria@mosina.pl"}
    move(staff, case_id, "enrolment_open")

    # The participant enrols herself, Mosina's administrator its person: full. Kórnik's
    # administrator enrols Bartek onto the waiting list.
    anna = login(app, "anna@kornik.pl")
    assert anna.post(f"/portal/training/{case_id}/enrol").status_code == 302
    mosina = login(app, "admin@mosina.pl")
    mosina.post(f"/portal/training/{case_id}/enrol", data={"person_id": ids["maria"]})
    kornik = login(app, "admin@kornik.pl")
    kornik.post(f"/portal/training/{case_id}/enrol", data={"person_id": ids["bartek"]})
    assert statuses(app, case_id) == {ids["anna"]: "enrolled", ids["maria"]: "enrolled",
                                      ids["bartek"]: "waiting"}
    # Maria cannot come after all: Bartek gets her place.
    with rt.session() as s:
        maria = s.scalar(select(Enrolment.id).where(Enrolment.person_id == ids["maria"]))
    staff.post(f"/training/{case_id}/participants/{maria}/cancel")
    assert statuses(app, case_id)[ids["bartek"]] == "enrolled"

    # The day: attendance, then the settlement and the certificates.
    move(staff, case_id, "enrolment_closed")
    staff.post(f"/training/{case_id}/attendance",
               data={"present": [str(ids["anna"]), str(ids["bartek"])]})
    move(staff, case_id, "delivered")
    move(staff, case_id, "settled")
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    run = staff.post("/billing/runs/new", data={
        "period_start": day.replace(day=1).isoformat(), "period_end": day.isoformat(),
        "strategies": "core.settlement", "action": "start"})
    assert run.status_code == 302, run.get_data(as_text=True)[-2000:]
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert invoice.organisation_id == ids["kornik"]
        assert sorted(line.description.split(" — ")[1] for line in invoice.lines) == [
            "Anna Nowak", "Bartek Nowak"]
    exchange_with_accounting(app, staff, ids, run.headers["Location"], day)
    move(staff, case_id, "certified")
    with rt.session() as s:
        rows = {r.person_id: r.id for r in s.scalars(select(Enrolment).where(
            Enrolment.case_id == case_id, Enrolment.certificate_id.is_not(None)))}
    assert set(rows) == {ids["anna"], ids["bartek"]}
    mine = anna.get("/portal/training/mine").get_data(as_text=True)
    link = f"/portal/training/certificates/{rows[ids['anna']]}"
    assert link in mine and anna.get(link).data.startswith(b"%PDF")


def exchange_with_accounting(app, staff, ids, run_page, day):
    """TR-8: the invoices issued and the units billed go to the accounting program as
    files it imports; the payments it booked come back as a file, and the unit's card
    shows the invoice paid."""
    issued = staff.post(f"{run_page}/issue", data={"issue_date": day.isoformat()})
    assert issued.status_code == 302, issued.get_data(as_text=True)[-2000:]
    with app.extensions["kartoteka"].session() as s:
        invoice = s.scalars(select(Invoice)).one()
        number, gross = invoice.number, invoice.gross
    period = {"from": day.replace(day=1).isoformat(), "to": day.isoformat()}
    units = staff.get("/billing/exports/", query_string={
        "exporter": "core.organisations_csv", **period})
    assert units.status_code == 200 and units.data.startswith(b"\xef\xbb\xbf")  # with a BOM
    assert "Gmina Kórnik" in units.data.decode("utf-8-sig")
    documents = staff.get("/billing/exports/", query_string={
        "exporter": "core.invoices_csv", **period}).data.decode("utf-8-sig")
    assert number in documents and "Gmina Kórnik" in documents
    assert panel_status(staff, ids["kornik"]) == "issued"
    # The accounting program's list of payments booked: a CSV mapped once, like a bank's.
    paid = "Data zapłaty;Kontrahent;Dokument;Kwota\r\n" + \
        f"{day.isoformat()};Gmina Kórnik;{number};{str(gross).replace('.', ',')}\r\n"
    with app.test_request_context(), app.extensions["kartoteka"].session() as s, s.begin():
        accountant = s.scalar(select(users.User).where(
            users.User.email == "ewa@zwiazek.example.pl"))
        profile = bank_statements.create_profile(s, {
            "name": "Comarch CDN XL: zapłaty", "columns": {
                "date": ["Data zapłaty"], "payer": ["Kontrahent"], "title": ["Dokument"],
                "amount": ["Kwota"]}}, accountant)
        bank_statements.import_statement(s, profile, "zaplaty.csv",
                                         paid.encode("cp1250"), accountant)
    assert panel_status(staff, ids["kornik"]) == "paid"


def panel_status(client, unit_id) -> str:
    """The status of the unit's latest invoice on its card's billing panel."""
    card = client.get(f"/organisations/{unit_id}").get_data(as_text=True)
    return re.search(r'<tr id="panel-invoice-\d+" class="status-(\w+)', card).group(1)


def test_a_membership_contract_signed_mid_quarter_is_prorated_by_the_monthly_run(app, ids):
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        secret = tokens.create(s, users.find_by_email(s, "ewa@zwiazek.example.pl"), "t")[1]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    created = api.post("/api/v1/contracts/", headers=headers, json={
        "organisation_id": ids["mosina"], "title": "Umowa członkowska 3/2027",
        "description": "Składka członkowska", "starts_on": "2027-02-15",
        "period_months": 3, "unit_price": "900", "vat_rate": "zw"})
    assert created.status_code == 201, created.get_json()
    run = login(app, "ewa@zwiazek.example.pl").post("/billing/runs/new", data={
        "period_start": "2027-02-01", "period_end": "2027-02-28", "action": "start",
        "strategies": ["core.contracts", "core.settlement"]})
    assert run.status_code == 302
    with app.extensions["kartoteka"].session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert [line.description for line in invoice.lines] == [
            "Składka członkowska, 15.02.2027–31.03.2027 (45 of 90 days)"]
        assert str(invoice.net) == "450.00"


def test_a_closed_training_is_out_of_sight_of_other_units(app, ids):
    rt = app.extensions["kartoteka"]
    staff = login(app, "ewa@zwiazek.example.pl")
    starts = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    case_id = plan(app, staff, ids, "Tylko dla Mosiny", starts,
                   **{"custom.training_visibility": "closed"})
    move(staff, case_id, "invitations")
    staff.post(f"/training/{case_id}/invitations", data={"segment_id": ids["segment"]})
    move(staff, case_id, "enrolment_open")
    # Invited, Kórnik and Mosina see it; Łódź does not, on the portal or in the API.
    assert "Tylko dla Mosiny" in login(app, "admin@mosina.pl").get(
        "/portal/training/").get_data(as_text=True)
    lodz = login(app, "admin@lodz.pl")
    assert "Tylko dla Mosiny" not in lodz.get("/portal/training/").get_data(as_text=True)
    assert lodz.get(f"/portal/training/{case_id}").status_code == 404
    assert lodz.post(f"/portal/training/{case_id}/enrol").status_code == 404
    with rt.session() as s, s.begin():
        secret = tokens.create(s, users.find_by_email(s, "admin@lodz.pl"), "test")[1]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/training/trainings/{case_id}/enrolments"):
        assert api.get(path, headers=headers).status_code == 404, path
    listed = api.get("/api/v1/cases/", headers=headers)
    assert listed.status_code == 200
    assert case_id not in [c["id"] for c in listed.get_json()["items"]]

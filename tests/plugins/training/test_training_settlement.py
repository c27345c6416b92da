"""After the day (TR-5, TR-6, TR-7, TR-9): settling a training makes each attendee's fee
owed by the unit that sent them (members free where the training says so), the
aggregated settlement bills each unit once for all its people of the period, a
membership contract signed mid-quarter is prorated, and the certificates of the
attendees are made, numbered and downloadable from the portal. Every test runs on
SQLite and PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import (
    billing_runs,
    cases,
    contracts,
    memberships,
    organisations,
    people,
    roles,
    users,
    workflow,
)
from core.errors import ValidationError
from core.models import BillableItem, Case, Document, Invoice, Organisation, Person, User
from plugins.training import certificates, enrolments, venues
from plugins.training.models import Enrolment

PASSWORD = "correct horse battery"
D = Decimal


@pytest.fixture
def world(rt):
    found = {}
    with rt.session() as s, s.begin():
        organiser = roles.create(s, "organiser", "Training organiser")
        roles.set_permissions(s, organiser, ["training.manage", "training.enrol",
                                             "core.billing"])
        found["organiser"] = users.create_user(s, "szkolenia@zwiazek.example.pl", PASSWORD,
                                               "Ewa Szkoleniowa",
                                               roles=["staff", "organiser"]).id
        for key, name in (("kornik", "Gmina Kórnik"), ("mosina", "Gmina Mosina")):
            found[key] = organisations.create(s, rt.host, {
                "name": name, "type_key": "core.municipality"}).id
        for key, first, last, unit in (("anna", "Anna", "Nowak", "kornik"),
                                       ("piotr", "Piotr", "Wiśniewski", "kornik"),
                                       ("maria", "Maria", "Zielińska", "mosina")):
            person = people.create(s, {"first_name": first, "last_name": last})
            memberships.join(s, person, s.get(Organisation, found[unit]), "urzędnik",
                             date(2020, 1, 1))
            found[key] = person.id
        found["trainer"] = people.create(s, {"first_name": "Adam", "last_name": "Trener"}).id
        found["venue"] = venues.create(s, {"name": "Sala Rady", "city": "Poznań"},
                                       s.get(User, found["organiser"])).id
    return found


def delivered(rt, world, title, day, attended, absent=(), **custom) -> int:
    """A training on ``day`` taken to "delivered", with who came and who did not."""
    with rt.session() as s, s.begin():
        organiser = s.get(User, world["organiser"])
        case = cases.create(s, rt.host, {
            "title": title, "process_key": "training.training",
            "custom": {"training_starts_at": f"{day}T09:00:00+01:00",
                       "training_trainer": world["trainer"], "training_venue": world["venue"],
                       "training_duration_hours": "6", **custom}}, actor=organiser)
        workflow.move(s, rt.host, case, "enrolment_open", organiser)
        for key in (*attended, *absent):
            unit = "mosina" if key == "maria" else "kornik"
            enrolments.enrol(s, case, s.get(Person, world[key]), organiser,
                             organisation_id=world[unit])
        workflow.move(s, rt.host, case, "enrolment_closed", organiser)
        enrolments.record_attendance(s, case, {world[k] for k in attended}, organiser)
        workflow.move(s, rt.host, case, "delivered", organiser)
        return case.id


def move(rt, world, case_id, target):
    with rt.session() as s, s.begin():
        workflow.move(s, rt.host, s.get(Case, case_id), target, s.get(User, world["organiser"]))


def owed(rt) -> list[tuple[str, str, D, str]]:
    with rt.session() as s:
        return sorted((s.get(Organisation, i.organisation_id).name,
                       s.get(Person, i.people[0].person_id).last_name, i.unit_price,
                       i.earned_on.isoformat()) for i in s.scalars(select(BillableItem)))


def test_settling_makes_each_attendees_fee_owed_by_their_unit_once(rt, world):
    case_id = delivered(rt, world, "Zamówienia publiczne", "2027-03-10",
                        attended=("anna", "maria"), absent=("piotr",),
                        training_price={"amount": "250.00", "currency": "PLN"})
    move(rt, world, case_id, "settled")
    assert owed(rt) == [("Gmina Kórnik", "Nowak", D("250.0000"), "2027-03-10"),
                        ("Gmina Mosina", "Zielińska", D("250.0000"), "2027-03-10")]
    with rt.session() as s:  # settling again (a retried step) bills nobody twice
        from plugins.training import settlement

        settlement.charge(s, s.get(Case, case_id), s.get(User, world["organiser"]))
        s.commit()
    assert len(owed(rt)) == 2


def test_a_training_without_a_price_is_covered_by_the_membership_fee(rt, world):
    move(rt, world, delivered(rt, world, "RODO", "2027-03-10", attended=("anna",)), "settled")
    assert owed(rt) == []


def test_members_with_a_contract_on_the_day_do_not_pay_a_training_free_for_members(rt, world):
    with rt.session() as s, s.begin():
        contracts.create(s, {"organisation_id": world["mosina"], "title": "Umowa członkowska",
                             "description": "Składka członkowska", "starts_on": "2027-01-01",
                             "period_months": 3, "unit_price": "900", "vat_rate": "zw"},
                         s.get(User, world["organiser"]))
    case_id = delivered(rt, world, "Zamówienia publiczne", "2027-03-10",
                        attended=("anna", "maria"), training_members_free=True,
                        training_price={"amount": "250.00", "currency": "PLN"})
    move(rt, world, case_id, "settled")
    assert owed(rt) == [("Gmina Kórnik", "Nowak", D("250.0000"), "2027-03-10")]


def test_the_settlement_bills_each_unit_once_for_its_people_of_the_period(rt, world):
    price = {"training_price": {"amount": "200.00", "currency": "PLN"}}
    for title, day, came in (("Zamówienia publiczne", "2027-03-10", ("anna", "maria")),
                             ("Kodeks postępowania", "2027-03-24", ("anna", "piotr")),
                             ("Podatki lokalne", "2027-04-07", ("piotr",))):
        move(rt, world, delivered(rt, world, title, day, attended=came, **price), "settled")
    with rt.session() as s, s.begin():
        billing_runs.start(s, rt.host, {"period_start": "2027-03-01",
                                        "period_end": "2027-03-31",
                                        "strategies": ["core.settlement"]},
                           s.get(User, world["organiser"]))
    with rt.session() as s:
        made = {s.get(Organisation, i.organisation_id).name:
                (sorted(line.description for line in i.lines), i.net)
                for i in s.scalars(select(Invoice))}
    assert made == {
        "Gmina Kórnik": (["Training: Kodeks postępowania — Anna Nowak — 24.03.2027",
                          "Training: Kodeks postępowania — Piotr Wiśniewski — 24.03.2027",
                          "Training: Zamówienia publiczne — Anna Nowak — 10.03.2027"],
                         D("600.00")),
        "Gmina Mosina": (["Training: Zamówienia publiczne — Maria Zielińska — 10.03.2027"],
                         D("200.00"))}


def test_a_membership_contract_signed_mid_quarter_is_prorated_by_the_monthly_run(rt, world):
    with rt.session() as s, s.begin():
        contracts.create(s, {"organisation_id": world["kornik"], "title": "Umowa członkowska",
                             "description": "Składka członkowska", "starts_on": "2027-02-15",
                             "period_months": 3, "unit_price": "900", "vat_rate": "zw"},
                         s.get(User, world["organiser"]))
        billing_runs.start(s, rt.host, {"period_start": "2027-02-01",
                                        "period_end": "2027-02-28"},
                           s.get(User, world["organiser"]))
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert [line.description for line in invoice.lines] == [
            "Składka członkowska, 15.02.2027–31.03.2027 (45 of 90 days)"]
        assert invoice.net == D("450.00")


def test_the_attendees_get_numbered_certificates_on_their_cards(rt, world, app):
    case_id = delivered(rt, world, "Zamówienia publiczne", "2027-03-10",
                        attended=("anna", "maria"), absent=("piotr",))
    move(rt, world, case_id, "settled")
    move(rt, world, case_id, "certified")  # the job makes them after the commit
    with rt.session() as s:
        rows = {s.get(Person, r.person_id).first_name: certificates.of(s, r)
                for r in s.scalars(select(Enrolment).where(Enrolment.case_id == case_id))}
        assert rows["Piotr"] is None
        year = date.today().year
        assert sorted((d.number, d.record_type, d.record_id) for name, d in rows.items()
                      if d is not None) == [(f"ZS/{year}/0001", "person", world["anna"]),
                                            (f"ZS/{year}/0002", "person", world["maria"])]
        anna = rows["Anna"]
    with rt.session() as s, s.begin():  # started again, nobody gets a second one
        certificates.start(s, s.get(Case, case_id), s.get(User, world["organiser"]))
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 2
    # A certificate whose file was deleted is made again.
    with rt.session() as s, s.begin():
        from core import attachments
        from core.models import Attachment

        attachments.remove(s, s.get(Attachment, rows["Maria"].attachment_id), None)
        certificates.start(s, s.get(Case, case_id), s.get(User, world["organiser"]))
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 3
        assert certificates.missing(s, s.get(Case, case_id)) == []
    # Anna downloads hers from the portal; Kórnik's other account cannot reach Maria's.
    with rt.session() as s, s.begin():
        kornik = s.get(Organisation, world["kornik"])
        users.create_user(s, "anna@gmina.example.pl", PASSWORD, portal_of=kornik,
                          person=s.get(Person, world["anna"]))
    client = app.test_client()
    client.post("/login", data={"email": "anna@gmina.example.pl", "password": PASSWORD})
    response = client.get(f"/portal/documents/{anna.id}")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    with rt.session() as s:
        maria = s.scalar(select(Document).where(Document.record_id == world["maria"]))
    assert client.get(f"/portal/documents/{maria.id}").status_code == 404


def test_certificates_wait_for_the_settlement(rt, world):
    case_id = delivered(rt, world, "RODO", "2027-03-10", attended=("anna",))
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        certificates.start(s, s.get(Case, case_id), s.get(User, world["organiser"]))
    assert "once the training is settled" in refused.value.errors["case_id"]


def test_the_reports_say_how_often_each_unit_sends_people_and_who_came(rt, world, app):
    from core import tokens

    delivered(rt, world, "Zamówienia publiczne", "2027-03-10", attended=("anna", "maria"),
              absent=("piotr",))
    delivered(rt, world, "Kodeks postępowania", "2027-04-24", attended=("anna", "piotr"))
    client = app.test_client()
    client.post("/login", data={"email": "szkolenia@zwiazek.example.pl", "password": PASSWORD})
    page = client.get("/training/reports").get_data(as_text=True)
    kornik = page[page.index(f'id="unit-{world["kornik"]}"'):].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in kornik.split("<td>")[2:5]] == ["2", "3", "2"]
    march = client.get("/training/reports?start=2027-03-01&end=2027-03-31").get_data(
        as_text=True)
    kornik = march[march.index(f'id="unit-{world["kornik"]}"'):].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in kornik.split("<td>")[2:5]] == ["1", "1", "1"]
    wrong = client.get("/training/reports?start=2027-03-31&end=2027-03-01").get_data(
        as_text=True)
    assert 'id="e-end" role="alert">The period cannot end before it starts.' in wrong
    assert 'id="e-start" role="alert">Enter the date as YYYY-MM-DD.' in client.get(
        "/training/reports?start=jutro").get_data(as_text=True)
    detail = client.get(f"/training/reports/units/{world['kornik']}").get_data(as_text=True)
    assert detail.index("Kodeks postępowania") < detail.index("Zamówienia publiczne")
    assert "Piotr Wiśniewski" in detail and "Maria" not in detail
    with rt.session() as s, s.begin():
        secret = tokens.create(s, s.get(User, world["organiser"]), "test")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    lines = client.get("/api/v1/training/reports/units", headers=headers).get_json()
    assert [(line["name"], line["attendances"]) for line in lines] == [
        ("Gmina Kórnik", 3), ("Gmina Mosina", 1)]
    rows = client.get(f"/api/v1/training/reports/units/{world['mosina']}?end=2027-03-31",
                      headers=headers).get_json()
    assert [(r["name"], r["training"], r["day"]) for r in rows] == [
        ("Maria Zielińska", "Zamówienia publiczne", "2027-03-10")]
    refused = client.get("/api/v1/training/reports/units?start=2027-04-01&end=2027-03-01",
                         headers=headers)
    assert refused.status_code == 422 and "end" in refused.get_json()["errors"]

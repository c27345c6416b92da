"""Who can prepare an inquiry's opinion and what it costs (EX-2, EX-3, EX-4): the
inquiry's details and its routing to a department of its specialisation; the experts
able to take it, the others excluded with why (a conflict with the client or a party,
absence on the deadline); the estimate from experts' hours at their rates, travel and
materials, priced at a margin that is never undercut, as a new version of the case's
calculation. Through the services. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import format_date
from sqlalchemy import select

from core import approvals, calculations, records
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import ApprovalRequest, AuditEntry
from plugins.expertise import departments, estimates, experts, inquiries
from tests.plugins.expertise.conftest import refused


@pytest.fixture
def world(world):
    """The firm staffed (conftest's ``world``: an estimator, who may make calculations
    and owns the inquiries; a secretary, who routes; the construction department with
    its manager; an expert at 200 zł an hour; a client), and a clerk: a staff member
    who may do neither."""
    world.clerk = world.user("clerk@example.com", ["staff"])
    return world


def nothing_written(world, case):
    assert estimates.assignments(world.session, case) == []
    assert calculations.of_case(world.session, case) == []
    assert (case.amount, case.cost) == (None, None)
    inquiry = inquiries.of_case(world.session, case)
    assert (inquiry.travel_cost, inquiry.materials_cost) == (0, 0)


# --- Candidates ----------------------------------------------------------------------------

def test_candidates_are_the_active_experts_of_the_specialisation_able_ones_first(world):
    s = world.session
    today = local_today()
    due = today + timedelta(days=30)
    span = lambda a, b: {"starts_on": a.isoformat(), "ends_on": b.isoformat()}  # noqa: E731
    insurer = world.organisation("PZU SA")
    opponent = world.person("Piotr", "Pozwany")
    client_person = world.person("Filip", "Klient")

    busy = world.new_expert("Bartosz", "Zajęty", "150")
    world.new_expert("Halina", "Wcześniej", "160", absences=[
        span(today, due - timedelta(days=1))])  # back on the deadline itself
    world.new_expert("Celina", "Klientowa", "170", conflicts=[
        {"organisation_id": world.client.id, "reason": "former employer"}])
    world.new_expert("Dorota", "Ubezpieczona", "170",
                     conflicts=[{"organisation_id": insurer.id}])
    world.new_expert("Edward", "Krewny", "170", conflicts=[{"person_id": opponent.id}])
    world.new_expert("Grzegorz", "Urlopowy", "170", absences=[
        span(due - timedelta(days=2), due + timedelta(days=5))])
    experts.create(s, {"person_id": client_person.id, "hourly_rate": "170",
                       "specialisation_ids": [world.construction.id], "internal": False})
    world.new_expert("Irena", "Nieaktywna", "100", active=False)
    world.new_expert("Jerzy", "Samochodowy", "100", world.vehicles)

    other = world.routed()
    world.estimate(other, {"experts": [{"expert_id": busy.id, "hours": "5"}], "margin": "30"})
    case = world.routed(world.inquiry(client_people=[(client_person, "client")]),
                        due_on=due.isoformat(), parties=[
                            {"organisation_id": insurer.id, "role": "insurer"},
                            {"person_id": opponent.id, "role": "defendant"}])

    found = [(c.name, c.rate, c.department, c.open_inquiries, c.reasons)
             for c in experts.candidates(s, case)]
    absence = f"absent from {format_date(due - timedelta(days=2))} to " \
              f"{format_date(due + timedelta(days=5))}"
    building = "Construction department"
    assert found == [
        ("Halina Wcześniej", Decimal("160.00"), building, 0, []),
        ("Jan Biegły", Decimal("200.00"), building, 0, []),
        ("Bartosz Zajęty", Decimal("150.00"), building, 1, []),
        ("Celina Klientowa", Decimal("170.00"), building, 0,
         ["conflict of interest with Budimex Sp. z o.o."]),
        ("Dorota Ubezpieczona", Decimal("170.00"), building, 0,
         ["conflict of interest with PZU SA"]),
        ("Edward Krewny", Decimal("170.00"), building, 0,
         ["conflict of interest with Piotr Pozwany"]),
        ("Filip Klient", Decimal("170.00"), "external", 0,
         ["conflict of interest with Filip Klient"]),
        ("Grzegorz Urlopowy", Decimal("170.00"), building, 0, [absence]),
    ]
    assert [c.able for c in experts.candidates(s, case)][:3] == [True, True, True]

    # Without a deadline, absence today counts: Halina is away now.
    inquiries.update(s, case, {"due_on": None}, actor=world.owner)
    reasons = {c.name: c.reasons for c in experts.candidates(s, case)}
    assert reasons["Halina Wcześniej"] == [
        f"absent from {format_date(today)} to {format_date(due - timedelta(days=1))}"]
    assert reasons["Grzegorz Urlopowy"] == []
    # With the parties gone, so are their conflicts.
    inquiries.update(s, case, {"parties": []}, actor=world.owner)
    reasons = {c.name: c.reasons for c in experts.candidates(s, case)}
    assert reasons["Dorota Ubezpieczona"] == reasons["Edward Krewny"] == []
    # An inquiry without a specialisation has no candidates yet.
    assert experts.candidates(s, world.inquiry()) == []


# --- The estimate ----------------------------------------------------------------------------

def test_the_margin_asked_for_is_never_undercut(world):
    s = world.session
    odd = world.new_expert("Anna", "Groszowa", "180.33")
    case = world.routed()
    assert estimates.markup_for(Decimal("25")) == Decimal("33.34")
    assert estimates.markup_for(Decimal("20")) == Decimal("25.00")
    for margin in ("25", "20", "24.99", "33.33", "50", "60", "75", "90"):
        world.estimate(case, {"experts": [{"expert_id": odd.id, "hours": "12,5"},
                                          {"expert_id": world.expert.id, "hours": "0.25"}],
                              "materials_cost": "0.07", "margin": margin})
        assert case.margin * 100 >= Decimal(margin), margin
        assert ("board" in world.required(case)) == (Decimal(margin) < 25), margin
    world.estimate(case, {"experts": [{"expert_id": world.expert.id, "hours": "10"}],
                          "margin": "25"})
    (latest, *_) = calculations.of_case(s, case)
    assert latest.markup == Decimal("33.34")
    assert (case.cost, case.amount) == (Decimal("2000.00"), Decimal("2666.80"))
    assert case.margin >= Decimal("0.25") and "board" not in world.required(case)


def test_the_estimate_prices_hours_at_the_rates_with_travel_and_materials(world):
    s = world.session
    second = world.new_expert("Anna", "Nowak", "180.50")
    case = world.routed()
    version = world.estimate(case, {
        "experts": [{"expert_id": world.expert.id, "hours": "12,5"},
                    {"expert_id": second.id, "hours": "3.75"}],
        "travel_cost": "300", "materials_cost": "0", "markup": "40", "note": " site visit "})

    assert [(line.description, line.category, line.quantity, line.unit, line.unit_cost,
             line.unit_price, line.vat_rate) for line in version.lines] == [
        ("Expert's work: Jan Biegły", "expert", Decimal("12.5"), "h", Decimal("200.00"),
         Decimal("280.00"), "23"),
        ("Expert's work: Anna Nowak", "expert", Decimal("3.75"), "h", Decimal("180.50"),
         Decimal("252.70"), "23"),
        ("Travel", "travel", Decimal("1"), "lump sum", Decimal("300.00"), Decimal("420.00"),
         "23"),
    ]  # no materials line at 0
    cost = Decimal("2500.00") + Decimal("676.88") + Decimal("300.00")  # 3.75 x 180.50
    assert (version.number, version.markup, version.cost, version.note) \
        == (1, Decimal("40.00"), cost, "site visit")
    assert version.net == Decimal("3500.00") + Decimal("947.63") + Decimal("420.00")
    assert (case.cost, case.amount) == (version.cost, version.net)
    assert [(a.expert_id, a.hours, a.rate) for a in estimates.assignments(s, case)] == [
        (world.expert.id, Decimal("12.50"), Decimal("200.00")),
        (second.id, Decimal("3.75"), Decimal("180.50"))]
    inquiry = inquiries.of_case(s, case)
    assert (inquiry.travel_cost, inquiry.materials_cost) == (Decimal("300.00"), 0)
    assert "Materials and tests" not in [line.description for line in version.lines]

    # Materials, and no travel: only the lines above zero.
    version = world.estimate(case, {"experts": [{"expert_id": second.id, "hours": "2"}],
                                    "materials_cost": "1 250,50", "margin": "0"})
    assert [(line.category, line.unit_cost, line.unit_price) for line in version.lines] == [
        ("expert", Decimal("180.50"), Decimal("180.50")),
        ("materials", Decimal("1250.50"), Decimal("1250.50"))]
    assert version.markup == 0 and case.cost == case.amount == Decimal("1611.50")
    assert [a.expert_id for a in estimates.assignments(s, case)] == [second.id]
    entry = s.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "case", AuditEntry.record_id == case.id,
        AuditEntry.action == "update").order_by(AuditEntry.id)).all()
    assert any(e.changes.get("expertise.experts") == [
        ["Jan Biegły: 12.50 h", "Anna Nowak: 3.75 h"], ["Anna Nowak: 2.00 h"]] for e in entry)
    travel = [[Decimal(v) for v in e.changes["expertise.travel_cost"]] for e in entry
              if "expertise.travel_cost" in e.changes]
    assert travel == [[0, Decimal("300")], [Decimal("300"), 0]]


def test_a_new_estimate_supersedes_the_version_and_the_approvals_before(world):
    s = world.session
    case = world.routed()
    world.move(case, "estimate")
    first = world.estimate(case, {"experts": [{"expert_id": world.expert.id, "hours": "10"}],
                                  "margin": "40"})
    asked = approvals.request(s, world.host, case, "offer", actor=world.owner)
    approvals.decide(s, world.host, asked, "approve", world.manager)
    assert s.get(ApprovalRequest, asked.id).status == "approved"

    second = world.estimate(case, {"experts": [{"expert_id": world.expert.id, "hours": "12"}],
                                   "margin": "40"})
    assert (first.status, second.status, second.number) == ("superseded", "draft", 2)
    assert [c.number for c in calculations.of_case(s, case)] == [2, 1]
    assert s.get(ApprovalRequest, asked.id).status == "superseded"
    assert case.cost == Decimal("2400.00")
    with pytest.raises(ValidationError):
        world.move(case, "offer")
    # Priced again after the offer went out: still estimated, a third version.
    again = approvals.request(s, world.host, case, "offer", actor=world.owner)
    approvals.decide(s, world.host, again, "approve", world.manager)
    world.move(case, "offer")
    third = world.estimate(case, {"experts": [{"expert_id": world.expert.id, "hours": "8"}],
                                  "markup": "50"})
    assert (third.number, second.status) == (3, "superseded")


def test_the_margin_or_the_mark_up_is_given_one_of_them(world):
    case = world.routed()
    hours = {"experts": [{"expert_id": world.expert.id, "hours": "10"}]}
    either = {"margin": "Give the margin or the mark-up."}
    assert refused(world.estimate, case, hours) == either
    assert refused(world.estimate, case, {**hours, "margin": "30", "markup": "40"}) == either
    assert refused(world.estimate, case, {**hours, "margin": None, "markup": None}) == either
    for margin in ("100", "-1", "abc"):
        errors = refused(world.estimate, case, {**hours, "margin": margin})
        assert set(errors) == {"margin"}, margin
    # A margin whose mark-up the calculation cannot hold is refused on the field.
    errors = refused(world.estimate, case, {**hours, "margin": "95"})
    assert set(errors) == {"margin"}
    for markup in ("1001", "-5"):
        assert refused(world.estimate, case, {**hours, "markup": markup}) == {
            "markup": "Enter a mark-up from 0 to 1000%."}
    nothing_written(world, case)
    world.estimate(case, {**hours, "markup": "1000"})
    assert case.amount == Decimal("22000.00")


def test_an_estimate_with_bad_experts_or_costs_is_refused_and_nothing_is_written(world):
    s = world.session
    today = local_today()
    case = world.routed(due_on=(today + timedelta(days=10)).isoformat())
    inactive = world.new_expert("Irena", "Nieaktywna", "100", active=False)
    driver = world.new_expert("Jerzy", "Samochodowy", "100", world.vehicles)
    away = world.new_expert("Grzegorz", "Urlopowy", "100", absences=[
        {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=20)).isoformat()}])
    binned = world.new_expert("Ewa", "Kosz", "100")
    experts.delete(s, binned)
    jan = world.expert.id

    errors = refused(world.estimate, case, {"experts": [
        {"expert_id": jan, "hours": "10"},
        {"expert_id": jan, "hours": "2"},
        {"expert_id": 999999, "hours": "2"},
        {"expert_id": binned.id, "hours": "2"},
        {"expert_id": inactive.id, "hours": "2"},
        {"expert_id": driver.id, "hours": "2"},
        {"expert_id": away.id, "hours": "2"},
        {"hours": "2"}],
        "travel_cost": "-1", "materials_cost": "abc", "margin": "30"})
    assert errors["experts.1.expert_id"] == "This expert is named twice."
    assert errors["experts.2.expert_id"] == errors["experts.3.expert_id"] \
        == "There is no such expert."
    assert errors["experts.4.expert_id"].startswith("Irena Nieaktywna cannot take it: ")
    assert "inactive" in errors["experts.4.expert_id"]
    assert errors["experts.5.expert_id"] \
        == "Jerzy Samochodowy cannot take it: not of the inquiry's specialisation"
    assert errors["experts.6.expert_id"].startswith("Grzegorz Urlopowy cannot take it: absent")
    assert errors["experts.7.expert_id"] == "Choose the expert."
    assert errors["travel_cost"] == "Enter an amount of 0 or more."
    assert "materials_cost" in errors and "experts.0.expert_id" not in errors
    nothing_written(world, case)

    for hours in ("0", "-2", "10000", "abc", "", None):
        errors = refused(world.estimate, case, {
            "experts": [{"expert_id": jan, "hours": hours}], "margin": "30"})
        assert set(errors) == {"experts.0.hours"}, hours
    assert refused(world.estimate, case, {"experts": [{"expert_id": jan}], "margin": "30"}) \
        == {"experts.0.hours": "Enter the hours."}
    assert refused(world.estimate, case, {"experts": [{"expert_id": jan, "hours": ""}],
                                          "margin": "30"}) \
        == {"experts.0.hours": "Enter the hours."}
    assert refused(world.estimate, case, {"experts": [], "margin": "30"}) == {
        "experts": "Name from 1 to 20 experts."}
    assert refused(world.estimate, case, {"margin": "30"}) == {
        "experts": "Name the experts who will prepare it."}
    nothing_written(world, case)


def test_an_estimate_needs_the_phase_the_right_and_an_inquiry(world):
    s = world.session
    hours = {"experts": [{"expert_id": world.expert.id, "hours": "10"}], "margin": "30"}
    case = world.inquiry()
    world.move(case, "inquiry")
    inquiries.update(s, case, {"specialisation_id": world.construction.id}, world.owner)
    phase = {"_": "The estimate is made once the inquiry is routed, and until the offer is "
                  "accepted."}
    assert refused(world.estimate, case, hours) == phase
    nothing_written(world, case)

    inquiries.route(s, world.host, case, world.building.id, actor=world.secretary)
    with pytest.raises(Forbidden):
        world.estimate(case, hours, actor=world.clerk)
    with pytest.raises(Forbidden):  # routing is no right to estimate
        world.estimate(case, hours, actor=world.secretary)
    nothing_written(world, case)

    world.move(case, "rejected")
    assert refused(world.estimate, case, hours) == phase
    nothing_written(world, case)

    # Refused by the calculation itself: the hours are not kept either.
    euro = world.routed(world.inquiry(currency="EUR"))
    assert set(refused(world.estimate, euro, hours)) == {"_"}
    assert estimates.assignments(s, euro) == [] and calculations.of_case(s, euro) == []



# --- The inquiry's details and routing -------------------------------------------------------

def test_the_details_change_what_is_given_and_are_checked(world):
    s = world.session
    court = world.organisation("Sąd Rejonowy Poznań-Stare Miasto")
    due = local_today() + timedelta(days=40)
    case = world.inquiry()
    inquiries.update(s, case, {"specialisation_id": world.construction.id,
                               "court_id": court.id, "court_reference": "  I C 123/26 ",
                               "due_on": due.isoformat()}, world.owner)
    inquiry = inquiries.of_case(s, case)
    assert (inquiry.specialisation_id, inquiry.court_id, inquiry.court_reference,
            inquiry.due_on) == (world.construction.id, court.id, "I C 123/26", due)

    inquiries.update(s, case, {"court_reference": "II C 7/26"}, world.owner)
    assert (inquiry.specialisation_id, inquiry.court_id, inquiry.due_on) \
        == (world.construction.id, court.id, due)
    assert inquiry.court_reference == "II C 7/26"
    trail = s.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "case", AuditEntry.record_id == case.id,
        AuditEntry.action == "update").order_by(AuditEntry.id.desc())).first()
    assert trail.changes == {"expertise.court_reference": ["I C 123/26", "II C 7/26"]}

    gone = world.organisation("Sąd Zlikwidowany")
    records.soft_delete(s, gone)
    opponent = world.person("Piotr", "Pozwany")
    errors = refused(inquiries.update, s, case, {
        "specialisation_id": 999999, "court_id": gone.id, "due_on": "31.03.2026",
        "court_reference": "x" * 101,
        "parties": [{"organisation_id": world.client.id, "person_id": opponent.id},
                    {"role": "nobody"}, {"organisation_id": 999999},
                    {"person_id": 999999}, {"person_id": opponent.id, "role": "x" * 101}]},
        world.owner)
    assert errors == {
        "specialisation_id": "There is no such specialisation.",
        "court_id": "There is no such organisation.",
        "due_on": "Enter a date, such as 2026-03-31.",
        "court_reference": "At most 100 characters.",
        "parties.0": "Choose an organisation or a person.",
        "parties.1": "Choose an organisation or a person.",
        "parties.2.organisation_id": "There is no such organisation.",
        "parties.3.person_id": "There is no such person.",
        "parties.4.role": "At most 100 characters."}
    assert refused(inquiries.update, s, case, {"court_id": 999999}, world.owner) == {
        "court_id": "There is no such organisation."}
    assert refused(inquiries.update, s, case, {"parties": [
        {"person_id": opponent.id}] * 51}, world.owner) == {"parties": "At most 50."}
    assert (inquiry.court_id, inquiry.due_on) == (court.id, due)
    assert inquiries.parties_of(s, case) == []

    inquiries.update(s, case, {"parties": [{"person_id": opponent.id, "role": " defendant "},
                                           {"organisation_id": world.client.id}]}, world.owner)
    assert [(inquiries.party_name(s, p), p.role) for p in inquiries.parties_of(s, case)] == [
        ("Piotr Pozwany", "defendant"), ("Budimex Sp. z o.o.", "")]
    inquiries.update(s, case, {"court_id": None, "due_on": None}, world.owner)
    assert (inquiry.court_id, inquiry.due_on, inquiry.court_reference) \
        == (None, None, "II C 7/26")
    assert len(inquiries.parties_of(s, case)) == 2


def test_routing_needs_the_right_a_specialisation_and_a_department_covering_it(world):
    s = world.session
    case = world.inquiry()
    world.move(case, "inquiry")
    with pytest.raises(Forbidden):
        inquiries.route(s, world.host, case, world.building.id, actor=world.owner)
    assert refused(inquiries.route, s, world.host, case, world.building.id,
                   actor=world.secretary) == {
        "specialisation_id": "Choose the inquiry's specialisation first."}
    inquiries.update(s, case, {"specialisation_id": world.construction.id}, world.owner)
    missing = {"department_id": "There is no such department."}
    for department in (999999, None, "abc", True, 0):
        assert refused(inquiries.route, s, world.host, case, department,
                       actor=world.secretary) == missing, department
    assert refused(inquiries.route, s, world.host, case, world.cars.id,
                   actor=world.secretary) == {
        "department_id": "The department does not cover the inquiry's specialisation."}
    assert case.phase_key == "inquiry"
    assert inquiries.of_case(s, case).department_id is None

    inquiries.route(s, world.host, case, world.building.id, actor=world.secretary)
    assert (case.phase_key, inquiries.of_case(s, case).department_id) \
        == ("routed", world.building.id)

    # Routed again later: another department, the phase stays.
    world.move(case, "estimate")
    departments.update(s, world.cars, {"name": "Vehicles department", "specialisation_ids": [
        world.vehicles.id, world.construction.id]})
    inquiries.route(s, world.host, case, world.cars.id, actor=world.secretary)
    assert (case.phase_key, inquiries.of_case(s, case).department_id) \
        == ("estimate", world.cars.id)
    changes = [e.changes for e in s.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "case", AuditEntry.record_id == case.id))]
    assert {"expertise.department_id": [world.building.id, world.cars.id]} in changes


def test_documents_read_the_inquiry_with_its_experts_and_parties(world):
    s = world.session
    court = world.organisation("Sąd Okręgowy w Poznaniu")
    opponent = world.person("Piotr", "Pozwany")
    due = local_today() + timedelta(days=60)
    case = world.inquiry()
    assert inquiries.document_context(s, case) == {
        "department": "", "specialisation": "", "court": "", "court_reference": "",
        "due_on": "", "experts": [], "parties": []}

    world.routed(case, court_id=court.id, court_reference="XII C 44/26",
                 due_on=due.isoformat(), parties=[
                     {"person_id": opponent.id, "role": "defendant"},
                     {"organisation_id": world.client.id, "role": "plaintiff"}])
    second = world.new_expert("Anna", "Nowak", "150")
    world.estimate(case, {"experts": [{"expert_id": world.expert.id, "hours": "10"},
                                      {"expert_id": second.id, "hours": "2,5"}],
                          "margin": "30"})
    assert inquiries.document_context(s, case) == {
        "department": "Construction department", "specialisation": "Construction",
        "court": "Sąd Okręgowy w Poznaniu", "court_reference": "XII C 44/26",
        "due_on": format_date(due),
        "experts": [{"name": "Jan Biegły", "hours": Decimal("10.00")},
                    {"name": "Anna Nowak", "hours": Decimal("2.50")}],
        "parties": [{"name": "Piotr Pozwany", "role": "defendant"},
                    {"name": "Budimex Sp. z o.o.", "role": "plaintiff"}]}

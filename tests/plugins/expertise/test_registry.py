"""The registry the expertise firm routes and estimates by (EX-2, EX-3): specialisations
named once whatever the letter case, archived without leaving the records that have
them; departments with a staff manager and the specialisations they cover, kept while
they have open inquiries; experts with their rates, absences and conflicts of interest.
Kept by those with ``expertise.manage``, every change in the audit trail. Through the
services. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory`` depends
on ``kartoteka_database_url``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import records, users, workflow
from core.errors import Forbidden
from core.filters import today as local_today
from core.models import AuditEntry
from plugins.expertise import departments, estimates, experts, inquiries, specialisations
from tests.plugins.expertise.conftest import refused


@pytest.fixture
def world(firm):
    """The registry (conftest's ``firm``: two specialisations, the construction
    department with its manager and its expert Jan Biegły, a client), an administrator
    of it (``expertise.manage``), who here also owns, routes and estimates the
    inquiries, and a staff member without it (``clerk``)."""
    firm.role("registry", "Registry", ["expertise.manage", "expertise.route_inquiries",
                                       "core.calculate"])
    firm.admin = firm.owner = firm.secretary = firm.user("admin@example.com",
                                                         ["staff", "registry"])
    firm.clerk = firm.user("clerk@example.com", ["staff"])
    return firm


def trail_of(world, record_type, record_id):
    """The record's audit entries, oldest first: (action, actor, changes)."""
    return [(e.action, e.actor_id, e.changes) for e in world.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == record_type,
                                 AuditEntry.record_id == record_id)
        .order_by(AuditEntry.id))]


# --- Specialisations ---------------------------------------------------------------------

def test_a_specialisation_is_named_once_whatever_the_letter_case_and_spaces(world):
    s = world.session
    made = specialisations.create(s, {"name": "  Wycena \t nieruchomości  "}, world.admin)
    assert made.name == "Wycena nieruchomości"

    taken = {"name": "This specialisation already exists."}
    assert refused(specialisations.create, s, {"name": "WYCENA  NIERUCHOMOŚCI"},
                   world.admin) == taken
    assert refused(specialisations.create, s, {"name": " construction "}, world.admin) == taken
    # Polish capitals too, which SQLite's lower() does not know.
    specialisations.create(s, {"name": "Łączność i Środki Transportu"}, world.admin)
    assert refused(specialisations.create, s, {"name": "łączność i środki transportu"},
                   world.admin) == taken
    assert refused(specialisations.update, s, made, {"name": "vehicles"}, world.admin) == taken

    for blank in ({"name": "  "}, {"name": ""}, {}):
        assert refused(specialisations.create, s, blank, world.admin) == {
            "name": "Enter the name of the specialisation."}
    assert refused(specialisations.create, s, {"name": "x" * 201}, world.admin) == {
        "name": "At most 200 characters."}
    with pytest.raises(Forbidden):
        specialisations.create(s, {"name": "Geodezja"}, world.clerk)

    # Its own name in another case is a correction, not a twin.
    specialisations.update(s, made, {"name": "wycena NIERUCHOMOŚCI"}, world.admin)
    assert made.name == "wycena NIERUCHOMOŚCI"
    assert {x.name for x in specialisations.listed(s)} == {
        "Construction", "Łączność i Środki Transportu", "Vehicles", "wycena NIERUCHOMOŚCI"}
    assert trail_of(world, "expertise_specialisations", made.id) == [
        ("create", world.admin.id, {"name": [None, "Wycena nieruchomości"],
                                    "archived": [None, False]}),
        ("update", world.admin.id, {"name": ["Wycena nieruchomości", "wycena NIERUCHOMOŚCI"]}),
    ]


def test_an_archived_specialisation_stays_where_it_is_set_but_is_not_chosen_anew(world):
    s = world.session
    expert = world.expert
    case = world.inquiry()
    inquiries.update(s, case, {"specialisation_id": world.construction.id}, world.admin)

    specialisations.update(s, world.construction, {"name": "Construction", "archived": True},
                           world.admin)
    assert trail_of(world, "expertise_specialisations", world.construction.id)[-1] == (
        "update", world.admin.id, {"archived": [False, True]})
    assert world.construction not in specialisations.listed(s)
    assert world.construction in specialisations.listed(s, include_archived=True)

    # Kept where it is set: saving the department, the expert and the inquiry again.
    departments.update(s, world.building, {
        "name": "Construction department", "manager_id": world.manager.id,
        "specialisation_ids": [world.construction.id, world.vehicles.id]}, world.admin)
    assert departments.specialisations_of(s, world.building) == [world.construction,
                                                                 world.vehicles]
    experts.update(s, expert, {"person_id": expert.person_id, "hourly_rate": "210",
                               "specialisation_ids": [world.construction.id]}, world.admin)
    assert experts.specialisations_of(s, expert) == [world.construction]
    inquiries.update(s, case, {"specialisation_id": world.construction.id}, world.admin)

    # Not chosen anew.
    missing = "There is no such specialisation."
    assert refused(departments.create, s, {
        "name": "Roads", "specialisation_ids": [world.vehicles.id, world.construction.id]},
        world.admin) == {"specialisation_ids.1": missing}
    newcomer = world.person("Anna", "Nowak")
    assert refused(experts.create, s, {
        "person_id": newcomer.id, "hourly_rate": "150",
        "specialisation_ids": [world.construction.id]}, world.admin) == {
        "specialisation_ids.0": missing}
    other = world.inquiry()
    assert refused(inquiries.update, s, other, {"specialisation_id": world.construction.id},
                   world.admin) == {"specialisation_id": missing}
    # Dropped once, it is not taken back.
    departments.update(s, world.building, {
        "name": "Construction department", "specialisation_ids": [world.vehicles.id]},
        world.admin)
    assert refused(departments.update, s, world.building, {
        "name": "Construction department", "specialisation_ids": [world.construction.id]},
        world.admin) == {"specialisation_ids.0": missing}


# --- Departments -------------------------------------------------------------------------

def test_a_department_needs_a_unique_name_an_active_staff_manager_and_known_specialisations(
        world):
    s = world.session
    taken = {"name": "A department of this name already exists."}
    assert refused(departments.create, s, {"name": "  construction   DEPARTMENT "},
                   world.admin) == taken
    departments.create(s, {"name": "Dział Łódzki"}, world.admin)
    assert refused(departments.create, s, {"name": "DZIAŁ ŁÓDZKI"}, world.admin) == taken
    assert refused(departments.create, s, {"name": "   "}, world.admin) == {
        "name": "Enter the name of the department."}
    assert refused(departments.create, s, {}, world.admin) == {
        "name": "Enter the name of the department."}

    gone = world.user("gone@example.com", ["staff"])
    users.deactivate(s, gone)
    portal = world.user("client@example.com", portal_of=world.client)
    staff = "Choose an active staff member."
    for manager in (gone.id, portal.id, 999999, 0, "abc"):
        errors = refused(departments.create, s, {"name": "Roads", "manager_id": manager},
                         world.admin)
        assert set(errors) == {"manager_id"}, manager
        assert errors["manager_id"] in (staff, "There is no such record.",
                                        "Not a valid integer.")
    assert refused(departments.create, s, {"name": "Roads", "manager_id": gone.id},
                   world.admin) == {"manager_id": staff}
    assert refused(departments.create, s, {"name": "Roads", "manager_id": portal.id},
                   world.admin) == {"manager_id": staff}

    # Every problem at once, an unknown specialisation by its position.
    assert refused(departments.create, s, {
        "name": "Construction department", "manager_id": gone.id,
        "specialisation_ids": [world.vehicles.id, 999999, world.construction.id, -1]},
        world.admin) == {"name": taken["name"], "manager_id": staff,
                         "specialisation_ids.1": "There is no such specialisation.",
                         "specialisation_ids.3": "There is no such specialisation."}
    assert "specialisation_ids.1" in refused(departments.create, s, {
        "name": "Roads", "specialisation_ids": [world.vehicles.id, "abc"]}, world.admin)
    with pytest.raises(Forbidden):
        departments.create(s, {"name": "Roads"}, world.clerk)
    with pytest.raises(Forbidden):
        departments.update(s, world.building, {"name": "Renamed"}, world.clerk)
    assert world.building.name == "Construction department"

    # The same specialisation twice is one; the department keeps its own name.
    roads = departments.create(s, {"name": " Roads ", "manager_id": world.manager.id,
                                   "specialisation_ids": [world.vehicles.id,
                                                          world.vehicles.id]}, world.admin)
    assert (roads.name, roads.manager_id) == ("Roads", world.manager.id)
    assert departments.specialisations_of(s, roads) == [world.vehicles]
    departments.update(s, roads, {"name": "ROADS", "specialisation_ids": [world.vehicles.id]},
                       world.admin)
    assert roads.name == "ROADS"


def test_department_changes_reach_the_audit_trail_specialisations_included(world):
    s = world.session
    roads = departments.create(s, {"name": "Roads", "manager_id": world.manager.id,
                                   "specialisation_ids": [world.vehicles.id]}, world.admin)
    before = roads.version
    departments.update(s, roads, {"name": "Roads", "manager_id": world.manager.id,
                                  "specialisation_ids": [world.construction.id,
                                                         world.vehicles.id]}, world.admin)
    assert roads.version > before
    departments.update(s, roads, {"name": "Roads and bridges",
                                  "specialisation_ids": [world.construction.id,
                                                         world.vehicles.id]}, world.admin)
    trail = trail_of(world, "expertise_department", roads.id)
    assert all(actor == world.admin.id for _, actor, _ in trail)
    created = [changes for action, _, changes in trail if action == "create"]
    assert len(created) == 1 and created[0]["name"] == [None, "Roads"]
    assert created[0]["manager_id"] == [None, world.manager.id]
    updates = [changes for action, _, changes in trail if action == "update"]
    assert {"specialisations": [["Vehicles"], ["Construction", "Vehicles"]]} in updates
    assert updates[-1] == {"name": ["Roads", "Roads and bridges"],
                           "manager_id": [world.manager.id, None]}
    assert not any("specialisations" in c for c in updates[-1:])

    # A stale form is refused.
    assert refused(departments.update, s, roads, {"name": "Stale"}, world.admin,
                   expected_version=before) == {"version": (
                       "The record was changed by someone else meanwhile; reload it and "
                       "apply your change again.")}
    assert roads.name == "Roads and bridges"


def test_a_department_with_open_inquiries_is_not_deleted(world):
    s = world.session
    case = world.routed()
    assert departments.open_inquiries(s, world.building) == 1
    assert refused(departments.delete, s, world.building, world.admin) == {
        "_": "The department has open inquiries: route them to another one first."}
    with pytest.raises(Forbidden):
        departments.delete(s, world.building, world.clerk)
    assert departments.get(s, world.building.id) is world.building

    workflow.move(s, world.host, case, "rejected", world.admin)
    assert departments.open_inquiries(s, world.building) == 0
    departments.delete(s, world.building, world.admin)
    assert departments.get(s, world.building.id) is None
    assert world.building not in departments.listed(s)
    assert departments.suggested(s, world.construction.id) == []
    assert trail_of(world, "expertise_department", world.building.id)[-1][0] == "delete"
    # Its name is free again.
    again = departments.create(s, {"name": "Construction department"}, world.admin)
    assert departments.get(s, again.id) is again


def test_the_least_busy_department_of_the_specialisation_is_suggested_first(world):
    s = world.session
    other = departments.create(s, {"name": "Another construction department",
                                   "specialisation_ids": [world.construction.id]}, world.admin)
    assert departments.suggested(s, world.construction.id) == [other, world.building]
    world.routed()  # to the construction department
    inquiries.route(s, world.host, world.routed(), other.id, world.admin)
    world.routed()
    assert departments.suggested(s, world.construction.id) == [other, world.building]
    assert departments.open_inquiries(s, other) == 1
    assert departments.suggested(s, world.vehicles.id) == []
    assert departments.suggested(s, None) == []


# --- Experts -----------------------------------------------------------------------------

def test_an_expert_is_a_known_person_once_with_a_rate_in_bounds_and_a_known_department(
        world):
    s = world.session
    jan = world.expert
    assert (jan.hourly_rate, jan.internal, jan.active) == (Decimal("200.00"), True, True)
    assert experts.name(s, jan) == "Jan Biegły"

    person = world.person("Anna", "Nowak")
    data = {"person_id": person.id, "hourly_rate": "150"}
    assert refused(experts.create, s, {"hourly_rate": "150"}, world.admin) == {
        "person_id": "Choose the person."}
    assert refused(experts.create, s, {**data, "person_id": 999999}, world.admin) == {
        "person_id": "Choose the person."}
    binned = world.person("Ewa", "Kosz")
    records.soft_delete(s, binned)
    assert refused(experts.create, s, {**data, "person_id": binned.id}, world.admin) == {
        "person_id": "Choose the person."}
    assert refused(experts.create, s, {**data, "person_id": jan.person_id}, world.admin) == {
        "person_id": "This person is already an expert."}

    bounds = "Enter a rate above 0 and below 100 000."
    for rate, message in (("0", bounds), ("-5", bounds), ("100000", bounds),
                          ("abc", "Enter an amount, such as 180,00."),
                          ("NaN", "Enter an amount, such as 180,00.")):
        assert refused(experts.create, s, {**data, "hourly_rate": rate}, world.admin) == {
            "hourly_rate": message}, rate
    for missing in ({}, {"hourly_rate": None}, {"hourly_rate": ""}):
        errors = refused(experts.create, s, {"person_id": person.id, **missing}, world.admin)
        assert errors == {"hourly_rate": "Enter the hourly rate."}, missing
    assert refused(experts.create, s, {**data, "department_id": 999999}, world.admin) == {
        "department_id": "There is no such department."}
    with pytest.raises(Forbidden):
        experts.create(s, data, world.clerk)

    anna = experts.create(s, {**data, "hourly_rate": "99 999,99", "internal": False},
                          world.admin)
    assert (anna.hourly_rate, anna.internal, anna.department_id) \
        == (Decimal("99999.99"), False, None)
    # Saving an expert again under their own person is no twin.
    experts.update(s, jan, {"person_id": jan.person_id, "hourly_rate": "180,50",
                            "department_id": world.building.id}, world.admin)
    assert jan.hourly_rate == Decimal("180.50")


def test_absences_and_conflicts_are_checked_and_replace_the_lists_kept(world):
    s = world.session
    jan = world.expert
    day = local_today()
    other = world.person("Piotr", "Pozwany")
    errors = refused(experts.update, s, jan, {
        "person_id": jan.person_id, "hourly_rate": "200",
        "absences": [{"starts_on": day.isoformat(), "ends_on": day.isoformat()},
                     {"starts_on": day.isoformat(),
                      "ends_on": (day - timedelta(days=1)).isoformat()},
                     {"starts_on": "31.02.2026", "ends_on": ""}],
        "conflicts": [{"organisation_id": world.client.id, "person_id": other.id},
                      {"reason": "nobody"},
                      {"organisation_id": 999999},
                      {"person_id": 999999}]}, world.admin)
    assert errors == {
        "absences.1.ends_on": "The last day cannot be before the first.",
        "absences.2.starts_on": "Enter a date, such as 2026-03-01.",
        "absences.2.ends_on": "Enter a date, such as 2026-03-14.",
        "conflicts.0": "Choose an organisation or a person.",
        "conflicts.1": "Choose an organisation or a person.",
        "conflicts.2.organisation_id": "There is no such organisation.",
        "conflicts.3.person_id": "There is no such person."}
    assert experts.absences_of(s, jan) == [] and experts.conflicts_of(s, jan) == []

    first = {"starts_on": day.isoformat(), "ends_on": (day + timedelta(days=6)).isoformat(),
             "reason": "urlop"}
    experts.update(s, jan, {"person_id": jan.person_id, "hourly_rate": "200",
                            "department_id": world.building.id,
                            "specialisation_ids": [world.construction.id],
                            "absences": [first],
                            "conflicts": [{"organisation_id": world.client.id,
                                           "reason": "former employer"}]}, world.admin)
    assert [(a.starts_on, a.ends_on, a.reason) for a in experts.absences_of(s, jan)] == [
        (day, day + timedelta(days=6), "urlop")]
    assert [experts.conflict_name(s, c) for c in experts.conflicts_of(s, jan)] \
        == ["Budimex Sp. z o.o."]

    # Not given: kept. Given: the list replaces the one kept.
    experts.update(s, jan, {"person_id": jan.person_id, "hourly_rate": "220",
                            "department_id": world.building.id,
                            "specialisation_ids": [world.construction.id, world.vehicles.id]},
                   world.admin)
    assert len(experts.absences_of(s, jan)) == 1 and len(experts.conflicts_of(s, jan)) == 1
    assert experts.specialisations_of(s, jan) == [world.construction, world.vehicles]
    experts.update(s, jan, {"person_id": jan.person_id, "hourly_rate": "220",
                            "department_id": world.building.id,
                            "specialisation_ids": [world.vehicles.id],
                            "absences": [], "conflicts": [{"person_id": other.id}]},
                   world.admin)
    assert experts.absences_of(s, jan) == []
    assert [experts.conflict_name(s, c) for c in experts.conflicts_of(s, jan)] \
        == ["Piotr Pozwany"]
    assert experts.specialisations_of(s, jan) == [world.vehicles]

    changes = [c for action, actor, c in trail_of(world, "expertise_expert", jan.id)
               if action == "update"]
    span = f"{day.isoformat()}–{(day + timedelta(days=6)).isoformat()} urlop"
    assert changes[-4:] == [
        {"absences": [[], [span]], "conflicts": [[], ["Budimex Sp. z o.o."]]},
        {"hourly_rate": ["200.00", "220.00"]},
        {"specialisations": [["Construction"], ["Construction", "Vehicles"]]},
        {"specialisations": [["Construction", "Vehicles"], ["Vehicles"]],
         "absences": [[span], []], "conflicts": [["Budimex Sp. z o.o."], ["Piotr Pozwany"]]}]


def test_an_expert_in_an_open_inquirys_estimate_is_not_deleted(world):
    s = world.session
    jan, idle = world.expert, world.new_expert("Anna", "Wolna", actor=world.admin)
    case = world.routed()
    estimates.estimate(s, case, {"experts": [{"expert_id": jan.id, "hours": "10"}],
                                 "margin": "30"}, world.admin)
    assert experts.busy(s, jan) == 1
    assert refused(experts.delete, s, jan, world.admin) == {
        "_": "The expert is in the estimate of an open inquiry: mark them inactive instead."}
    assert experts.get(s, jan.id) is jan
    with pytest.raises(Forbidden):
        experts.delete(s, idle, world.clerk)

    experts.delete(s, idle, world.admin)
    assert experts.get(s, idle.id) is None and idle not in experts.listed(s)
    assert trail_of(world, "expertise_expert", idle.id)[-1][0] == "delete"

    workflow.move(s, world.host, case, "rejected", world.admin)
    experts.delete(s, jan, world.admin)
    assert experts.get(s, jan.id) is None
    # The estimate still names them.
    assert inquiries.document_context(s, case)["experts"] == [
        {"name": "Jan Biegły", "hours": Decimal("10.00")}]

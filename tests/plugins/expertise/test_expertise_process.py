"""The expertise plugin's inquiry (EX-1 to EX-4): routing to a department by its
specialisation, the estimate from experts' hours, and the offer approved by the
department's manager and, below the minimum margin, by the board; then the accepted
offer, the opinion's deadline, delivery and the invoice. Every test runs on SQLite and
PostgreSQL (``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core import approvals, calculations, invoices, organisations, roles, workflow
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest
from plugins.expertise import departments, estimates, experts, inquiries
from tests.plugins.expertise.conftest import PROCESS, SELLER


@pytest.fixture
def app_config():
    """The seller's name, for the invoice."""
    return {"company_name": SELLER}


@pytest.fixture
def world(world):
    """The firm staffed (conftest's ``world``: an account manager who owns the
    inquiries, a secretary who routes them, the construction department's manager, a
    board member, an expert of construction, the client), its secretariat making
    calculations too, and a manager of the vehicles department (``other_manager``)."""
    s = world.session
    roles.set_permissions(s, world.secretariat, ["expertise.route_inquiries",
                                                 "core.calculate"])
    world.other_manager = world.user("vehicles@example.com", ["staff"])
    departments.update(s, world.cars, {"name": "Vehicles department",
                                       "manager_id": world.other_manager.id,
                                       "specialisation_ids": [world.vehicles.id]})
    return world


def test_the_process_starts_with_a_meeting_that_becomes_an_inquiry(world):
    case = world.inquiry()
    assert case.phase_key == "meeting"
    assert [m.transition.target for m in workflow.moves(world.session, world.host, case,
                                                        world.owner)] == ["inquiry", "rejected"]
    world.move(case, "inquiry")
    assert [(c.from_phase, c.to_phase) for c in workflow.history(world.session, case)] \
        == [(None, "meeting"), ("meeting", "inquiry")]


def test_routing_is_blocked_until_a_department_is_chosen(world):
    case = world.inquiry()
    world.move(case, "inquiry")

    found = world.blockers(case, "routed", world.secretary)
    assert found == {"check.expertise.department":
                     "Choose the department the inquiry goes to."}
    with pytest.raises(ValidationError) as refused:
        world.move(case, "routed", world.secretary)
    assert refused.value.errors["check.expertise.department"] \
        == "Choose the department the inquiry goes to."
    assert case.phase_key == "inquiry"


def test_routing_suggests_the_departments_of_the_specialisation(world):
    case = world.inquiry()
    world.move(case, "inquiry")
    inquiries.update(world.session, case, {"specialisation_id": world.vehicles.id},
                     actor=world.owner)
    assert departments.suggested(world.session, world.vehicles.id) == [world.cars]

    with pytest.raises(ValidationError) as refused:
        inquiries.route(world.session, world.host, case, world.building.id,
                        actor=world.secretary)
    assert refused.value.errors == {
        "department_id": "The department does not cover the inquiry's specialisation."}
    inquiries.route(world.session, world.host, case, world.cars.id, actor=world.secretary)
    assert case.phase_key == "routed"
    assert inquiries.of_case(world.session, case).department_id == world.cars.id


def test_only_the_secretariat_routes_inquiries(world):
    case = world.inquiry()
    world.move(case, "inquiry")
    inquiries.update(world.session, case, {"specialisation_id": world.vehicles.id},
                     actor=world.owner)
    with pytest.raises(Forbidden):
        inquiries.route(world.session, world.host, case, world.cars.id, actor=world.owner)
    assert set(world.blockers(case, "routed", world.owner)) >= {"permission"}


def test_the_offer_needs_the_estimate(world):
    case = world.routed()
    world.move(case, "estimate")

    found = world.blockers(case, "offer")
    assert found["check.expertise.cost"] == "The department has not estimated the cost yet."
    assert found["check.expertise.expert"] == "The estimate names no expert."

    estimates.estimate(world.session, case, {
        "experts": [{"expert_id": world.expert.id, "hours": "12,5"}],
        "travel_cost": "300", "materials_cost": "200", "margin": "30"}, actor=world.owner)
    assert case.cost == Decimal("3000.00")  # 12.5 h x 200 + 300 + 200
    assert case.margin >= Decimal("0.30")
    assert set(world.blockers(case, "offer")) == {"approval"}


def test_an_expert_in_conflict_with_the_client_is_excluded(world):
    case = world.routed()
    world.move(case, "estimate")
    conflicted = world.new_expert("Anna", "Nowak", "150.00", internal=False,
                                  conflicts=[{"organisation_id": world.client.id,
                                              "reason": "former employer"}])
    found = {c.expert.id: c for c in experts.candidates(world.session, case)}
    assert found[world.expert.id].able
    assert found[conflicted.id].reasons == [
        "conflict of interest with Budimex Sp. z o.o."]

    with pytest.raises(ValidationError) as refused:
        estimates.estimate(world.session, case, {
            "experts": [{"expert_id": conflicted.id, "hours": "5"}], "margin": "30"},
            actor=world.owner)
    assert refused.value.errors == {"experts.0.expert_id": (
        "Anna Nowak cannot take it: conflict of interest with Budimex Sp. z o.o.")}
    assert estimates.assignments(world.session, case) == []
    assert calculations.of_case(world.session, case) == []


@pytest.mark.parametrize(("margin", "board"), [
    ("25", False),  # the minimum itself is enough
    ("24.99", True),  # just below
    ("25.01", False),  # just above
])
def test_the_board_approves_only_below_the_minimum_margin(world, margin, board):
    case = world.estimated(margin)
    assert world.required(case) == (["manager", "board"] if board else ["manager"])


def test_the_minimum_margin_is_a_setting(world):
    process = workflow.process_of(world.host, world.inquiry())
    assert workflow.settings(world.session, process)["minimum_margin"] == Decimal("25.00")
    case = world.estimated("30")
    assert world.required(case) == ["manager"]
    workflow.change_settings(world.session, process, {"minimum_margin": "35"})
    assert world.required(case) == ["manager", "board"]


def test_the_manager_approves_first_then_the_board(world):
    case = world.estimated("20")

    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    assert (first.step_key, first.approver_id) == ("manager", world.manager.id)
    with pytest.raises(Forbidden):  # the manager of another department
        approvals.decide(world.session, world.host, first, "approve", world.other_manager)
    assert [r.step_key for r in world.pending(case)] == ["manager"]
    assert approvals.for_approver(world.session, world.board) == []
    with pytest.raises(Forbidden):
        approvals.decide(world.session, world.host, first, "approve", world.board)
    with pytest.raises(ValidationError) as refused:
        world.move(case, "offer")
    assert "approval" in refused.value.errors

    approvals.decide(world.session, world.host, first, "approve", world.manager)
    assert first.status == "approved"
    (second,) = world.pending(case)
    assert (second.step_key, second.approver_role) == ("board", "expertise_board")
    assert approvals.for_approver(world.session, world.board) == [second]
    assert "the board" in world.blockers(case, "offer")["approval"]

    approvals.decide(world.session, world.host, second, "approve", world.board)
    assert world.blockers(case, "offer") == {}
    world.move(case, "offer")
    assert case.phase_key == "offer"


def test_a_good_margin_needs_only_the_manager(world):
    case = world.estimated("50")
    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    approvals.decide(world.session, world.host, first, "approve", world.manager)
    assert world.pending(case) == []
    world.move(case, "offer")
    assert case.phase_key == "offer"


def test_a_cost_changed_after_the_approval_makes_it_worthless(world):
    case = world.estimated("50")
    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    approvals.decide(world.session, world.host, first, "approve", world.manager)
    assert world.blockers(case, "offer") == {}

    estimates.estimate(world.session, case, {
        "experts": [{"expert_id": world.expert.id, "hours": "12"}], "margin": "50"},
        actor=world.owner)

    assert world.session.get(ApprovalRequest, first.id).status == "superseded"
    assert "approval" in world.blockers(case, "offer")
    with pytest.raises(ValidationError):
        world.move(case, "offer")
    again = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    assert again.id != first.id and again.step_key == "manager"
    approvals.decide(world.session, world.host, again, "approve", world.manager)
    world.move(case, "offer")
    assert case.phase_key == "offer"


def test_an_inquiry_may_be_rejected_in_any_open_phase(world):
    case = world.inquiry()
    world.move(case, "rejected")
    assert case.phase_key == "rejected"
    with pytest.raises(ValidationError):
        world.move(case, "inquiry")


def test_every_phase_is_named_by_a_term_in_both_languages(app, world):
    from core.terms import term

    process = world.host.processes[PROCESS]
    for phase in process.phases:
        for locale in ("pl", "en"):
            assert term(phase.term, locale=locale) != phase.term
    assert term(process.term, locale="pl") == "zapytanie"
    assert workflow.phase_name(process, "routed") == "routed to a department"


def test_the_accepted_offer_is_prepared_by_its_deadline_delivered_and_invoiced(world):
    case = world.estimated("40")
    world.approve_offer(case)
    found = world.blockers(case, "accepted")
    assert set(found) == {"check.expertise.offer_accepted", "check.expertise.deadline"}

    (latest,) = [c for c in calculations.of_case(world.session, case)
                 if c.status == "draft"]
    calculations.decide(world.session, latest, {"status": "sent"}, actor=world.owner)
    calculations.decide(world.session, latest, {"status": "accepted"}, actor=world.owner)
    inquiries.update(world.session, case, {"due_on": (date.today() + timedelta(days=30))
                                           .isoformat()}, actor=world.owner)
    world.move(case, "accepted")
    world.move(case, "delivered")
    assert set(world.blockers(case, "invoiced")) == {"check.expertise.invoiced"}

    invoice = calculations.invoice(world.session, latest, actor=None)
    invoices.issue(world.session, world.settings, invoice, actor=None)
    world.move(case, "invoiced")
    assert case.phase_key == "invoiced"


def test_a_department_without_a_manager_cannot_approve(world):
    case = world.estimated("50")
    departments.update(world.session, world.building, {
        "name": world.building.name, "manager_id": None,
        "specialisation_ids": [world.construction.id]}, actor=None)

    (level,) = approvals.required(world.session, world.host, case,
                                  world.offer_transition(case))
    assert level.users == () and "the department manager" in level.describe()
    with pytest.raises(ValidationError) as refused:
        approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    assert refused.value.errors["approval"].startswith(
        "Nobody can approve this: the department manager.")


def test_the_manager_does_not_approve_their_own_offer(world):
    case = world.estimated("50")
    case.owner_id = world.manager.id
    world.session.flush()
    (level,) = approvals.required(world.session, world.host, case,
                                  world.offer_transition(case))
    assert level.users == ()


def test_a_finished_inquiry_is_not_routed_again(world):
    case = world.routed()
    world.move(case, "rejected")
    with pytest.raises(ValidationError) as refused:
        inquiries.route(world.session, world.host, case, world.building.id,
                        actor=world.secretary)
    assert refused.value.errors == {"_": "A finished inquiry is not routed."}


def test_a_party_or_a_conflict_in_the_bin_is_refused(world):
    from core import records

    gone = organisations.create(world.session, world.host, {
        "name": "Zlikwidowana Sp. z o.o.", "type_key": "core.company"})
    records.soft_delete(world.session, gone)
    case = world.routed()
    with pytest.raises(ValidationError) as refused:
        inquiries.update(world.session, case, {"parties": [{"organisation_id": gone.id}]},
                         actor=world.owner)
    assert refused.value.errors == {"parties.0.organisation_id": "There is no such organisation."}
    with pytest.raises(ValidationError) as refused:
        experts.update(world.session, world.expert, {
            "person_id": world.expert.person_id, "hourly_rate": "200",
            "conflicts": [{"organisation_id": gone.id}]})
    assert refused.value.errors == {
        "conflicts.0.organisation_id": "There is no such organisation."}

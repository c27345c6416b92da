"""The expertise plugin's inquiry (EX-1 to EX-4): routing to a department, the estimate,
and the offer approved by the department manager and, below the minimum margin, by the
board. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory`` depends on
``kartoteka_database_url``)."""

from decimal import Decimal

import pytest

from core import approvals, cases, people, roles, users, workflow
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest

PASSWORD = "correct horse battery"
PROCESS = "expertise.inquiry"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["expertise"], default_locale="en")


@pytest.fixture
def world(app):
    """A request context, an open session, the plugin host and the firm's people:
    an account manager (owner of the inquiries), a secretary who routes them, a
    department manager and a board member."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        secretariat = roles.create(session, "expertise_secretariat", "Secretariat")
        roles.set_permissions(session, secretariat, ["expertise.route_inquiries"])
        roles.create(session, "expertise_manager", "Department manager")
        roles.create(session, "expertise_board", "Board")
        w = World(session, rt.host)
        w.owner = w.user("owner@example.com", ["staff"])
        w.secretary = w.user("secretary@example.com", ["staff", "expertise_secretariat"])
        w.manager = w.user("manager@example.com", ["staff", "expertise_manager"])
        w.board = w.user("board@example.com", ["staff", "expertise_board"])
        w.expert = people.create(session, {"first_name": "Jan", "last_name": "Biegły"})
        yield w


class World:
    def __init__(self, session, host):
        self.session, self.host = session, host

    def user(self, email, role_keys):
        user = users.create_user(self.session, email, PASSWORD)
        roles.assign(self.session, user, role_keys)
        return user

    def inquiry(self, **data):
        return cases.create(self.session, self.host, {
            "title": "Opinia o stanie budynku", "process_key": PROCESS,
            "owner_id": self.owner.id, **data}, actor=self.owner)

    def move(self, case, target, actor=None):
        return workflow.move(self.session, self.host, case, target, actor=actor or self.owner)

    def blockers(self, case, target, actor=None):
        found = {m.transition.target: m.blockers
                 for m in workflow.moves(self.session, self.host, case, actor or self.owner)}
        return found[target]

    def estimated(self, amount, cost):
        """An inquiry routed to construction and estimated, with an expert found."""
        case = self.inquiry(custom={"expertise_department": "construction"})
        self.move(case, "inquiry")
        self.move(case, "routed", self.secretary)
        self.move(case, "estimate")
        cases.update(self.session, self.host, case, {"amount": amount, "cost": cost},
                     actor=self.owner)
        cases.set_people(self.session, case, [(self.expert, "expert")], actor=self.owner)
        return case

    def offer_transition(self, case):
        return workflow.process_of(self.host, case).transition("estimate", "offer")

    def required(self, case):
        return [r.step_key for r in approvals.required(self.session, self.host, case,
                                                       self.offer_transition(case))]

    def pending(self, case):
        return [r for r in approvals.requests(self.session, case) if r.status == "pending"]


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

    cases.update(world.session, world.host, case, {"custom": {"expertise_department": "it"}},
                 actor=world.secretary)
    assert world.blockers(case, "routed", world.secretary) == {}
    world.move(case, "routed", world.secretary)
    assert case.phase_key == "routed"


def test_only_the_secretariat_routes_inquiries(world):
    case = world.inquiry(custom={"expertise_department": "vehicles"})
    world.move(case, "inquiry")
    assert set(world.blockers(case, "routed", world.owner)) == {"permission"}


def test_a_department_outside_the_choices_is_refused(world):
    with pytest.raises(ValidationError) as refused:
        world.inquiry(custom={"expertise_department": "astrology"})
    assert "custom.expertise_department" in refused.value.errors


def test_the_offer_needs_the_cost_and_an_expert(world):
    case = world.inquiry(custom={"expertise_department": "real_estate"})
    world.move(case, "inquiry")
    world.move(case, "routed", world.secretary)
    world.move(case, "estimate")

    found = world.blockers(case, "offer")
    assert found["check.expertise.cost"] == "The department has not estimated the cost yet."
    assert found["check.expertise.expert"] \
        == "No expert has been found: add a person with the role “expert”."

    cases.update(world.session, world.host, case, {"amount": "10000", "cost": "5000"},
                 actor=world.owner)
    cases.set_people(world.session, case, [(world.expert, "witness")], actor=world.owner)
    assert set(world.blockers(case, "offer")) == {"check.expertise.expert", "approval"}
    cases.set_people(world.session, case, [(world.expert, "Biegły")], actor=world.owner)
    assert set(world.blockers(case, "offer")) == {"approval"}


@pytest.mark.parametrize(("cost", "board"), [
    ("7500.00", False),  # a margin of exactly 25%: the minimum itself is enough
    ("7501.00", True),   # 24.99%: just below
    ("7499.00", False),  # 25.01%: just above
])
def test_the_board_approves_only_below_the_minimum_margin(world, cost, board):
    case = world.estimated("10000.00", cost)
    assert world.required(case) == (["manager", "board"] if board else ["manager"])


def test_the_minimum_margin_is_a_setting(world):
    process = workflow.process_of(world.host, world.inquiry())
    assert workflow.settings(world.session, process)["minimum_margin"] == Decimal("25.00")
    case = world.estimated("10000.00", "7000.00")  # 30%
    assert world.required(case) == ["manager"]
    workflow.change_settings(world.session, process, {"minimum_margin": "35"})
    assert world.required(case) == ["manager", "board"]


def test_an_offer_without_a_price_goes_to_the_board_too(world):
    case = world.estimated(None, "5000.00")
    assert world.required(case) == ["manager", "board"]


def test_the_manager_approves_first_then_the_board(world):
    case = world.estimated("10000.00", "8000.00")  # 20%

    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    assert (first.step_key, first.approver_role) == ("manager", "expertise_manager")
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
    world.move(case, "accepted")
    assert case.phase_key == "accepted"
    assert workflow.moves(world.session, world.host, case, world.owner) == []


def test_a_good_margin_needs_only_the_manager(world):
    case = world.estimated("10000.00", "5000.00")  # 50%
    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    approvals.decide(world.session, world.host, first, "approve", world.manager)
    assert world.pending(case) == []
    world.move(case, "offer")
    assert case.phase_key == "offer"


def test_a_cost_changed_after_the_approval_makes_it_worthless(world):
    case = world.estimated("10000.00", "5000.00")
    first = approvals.request(world.session, world.host, case, "offer", actor=world.owner)
    approvals.decide(world.session, world.host, first, "approve", world.manager)
    assert world.blockers(case, "offer") == {}

    cases.update(world.session, world.host, case, {"cost": "6000.00"}, actor=world.owner)

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

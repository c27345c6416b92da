"""Cases moving through processes: checks, approvals, subprocesses, deadlines, conflicts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import approvals, cases, records, roles, tasks, users, workflow
from core.approvals import AmountAtLeast, Approver, Chain, MarginBelow, Step, Threshold
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest, Case, PhaseChange, Task
from core.permissions import Permission
from core.workflow import Check, Phase, Process, Setting, Transition

PASSWORD = "correct horse battery"


def _signed(session, case):
    return None if (case.custom or {}).get("signed") else {
        "pl": "Umowa nie jest podpisana.", "en": "The contract is not signed."}


def _paid(session, case):
    return None if case.description == "paid" else "The advance is not paid."


SIGNED = Check("test.signed", {"pl": "Podpisana", "en": "Signed"}, _signed)
PAID = Check("test.paid", {"pl": "Zapłacona", "en": "Paid"}, _paid, optional=True)
DIRECTOR = Approver.holder_of("director", {"pl": "dyrektor", "en": "the director"})
BOARD = Approver.holder_of("board", {"pl": "zarząd", "en": "the board"})
THRESHOLD = Threshold("test.amount", "approval_from",
                      (("supervisor_below", Approver.supervisor()),
                       ("director_below", DIRECTOR), (None, BOARD)))
CHAIN = Chain("test.offer", (Step("director", DIRECTOR),
                             Step("board", BOARD, when=MarginBelow("minimum_margin"))))
SETTINGS = (Setting("approval_from", {"en": "From"}, "money", Decimal("5000")),
            Setting("supervisor_below", {"en": "Supervisor"}, "money", Decimal("20000")),
            Setting("director_below", {"en": "Director"}, "money", Decimal("100000")),
            Setting("minimum_margin", {"en": "Margin"}, "percent", Decimal("25")),
            approvals.SELF_APPROVAL)

ORDER = Process("test.order", "core.case", title={"en": "Order"}, settings=SETTINGS, phases=(
    Phase("draft", "core.case", deadline_days=3),
    Phase("calculated", "core.task"),
    Phase("offered", "core.approval"),
    Phase("signed", "core.phase"),
    Phase("building", "core.process", starts=("test.part", "test.part"), then="done"),
    Phase("done", "core.organisation", final=True),
), transitions=(
    Transition("draft", "calculated", approval=THRESHOLD),
    Transition("calculated", "offered", approval=CHAIN),
    Transition("offered", "signed", checks=(SIGNED, PAID)),
    Transition("signed", "building", permission="test.build"),
    Transition("building", "done"),
))
PART = Process("test.part", "core.task", phases=(
    Phase("open", "core.task"), Phase("finished", "core.phase", final=True)),
    transitions=(Transition("open", "finished"),))


@pytest.fixture
def rt(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en")
    runtime = app.extensions["kartoteka"]
    runtime.host.processes = {"test.order": ORDER, "test.part": PART}
    runtime.host.permissions["test.build"] = Permission("test.build", {"en": "Build"})
    with app.test_request_context():
        yield runtime


@pytest.fixture
def people(rt):
    """A rep who answers to a supervisor, a director and a board member."""
    with rt.session() as s, s.begin():
        for key in ("director", "board"):
            roles.create(s, key, key.title())
        found = {}
        for name in ("boss", "rep", "director", "board", "other"):
            user = users.create_user(s, f"{name}@example.com", PASSWORD, full_name=name.title())
            roles.assign(s, user, ["staff"] + ([name] if name in ("director", "board") else []))
            found[name] = user.id
        s.get(users.User, found["rep"]).supervisor_id = found["boss"]
    return found


def user(s, people, name):
    return s.get(users.User, people[name])


def new_case(s, rt, people, **values) -> Case:
    data = {"title": "Banner 6x3", "process_key": "test.order", "owner_id": people["rep"],
            **values}
    return cases.create(s, rt.host, data, actor=user(s, people, "rep"))


def at(s, rt, people, phase, **values) -> Case:
    """A case put straight into ``phase`` (the steps before are tested on their own)."""
    custom = values.pop("custom", {})
    case = new_case(s, rt, people, **values)
    case.phase_key, case.custom = phase, custom
    s.flush()
    return case


def approve_all(s, rt, people, case, target):
    """Ask and approve level by level as each approver."""
    rep = user(s, people, "rep")
    req = approvals.request(s, rt.host, case, target, actor=rep)
    while req is not None:
        decider = next(u for u in (user(s, people, n) for n in ("boss", "director", "board"))
                       if req.approver_id == u.id or req.approver_role in
                       roles.roles_of(s, u))
        approvals.decide(s, rt.host, req, "approve", decider)
        req = s.scalar(select(ApprovalRequest).where(ApprovalRequest.case_id == case.id,
                                                     ApprovalRequest.status == "pending"))


# --- Creating and moving -----------------------------------------------------------------

def test_a_case_starts_in_the_first_phase_with_its_history(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12 500,50", cost="9000")
        assert (case.phase_key, case.amount, case.margin) == (
            "draft", Decimal("12500.50"), Decimal("3500.50") / Decimal("12500.50"))
        assert [(h.from_phase, h.to_phase) for h in workflow.history(s, case)] == [
            (None, "draft")]


def test_bad_values_are_named_field_by_field_and_nothing_is_written(rt, people):
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        cases.create(s, rt.host, {"title": " ", "process_key": "test.nothing", "amount": "lots",
                                  "cost": "-5", "currency": "złote", "owner_id": 9999,
                                  "phase_key": "done"})
    assert set(refused.value.errors) == {"title", "process_key", "amount", "cost", "currency",
                                         "owner_id", "phase_key"}
    assert refused.value.errors["amount"] == "Enter an amount, such as 12500,50."
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_a_check_blocks_the_step_with_its_reason_and_nothing_changes(rt, people):
    with rt.session() as s, s.begin():
        case_id = at(s, rt, people, "offered").id
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        workflow.move(s, rt.host, s.get(Case, case_id), "signed", user(s, people, "rep"))
    assert refused.value.errors == {"check.test.signed": "The contract is not signed.",
                                    "check.test.paid": "The advance is not paid."}
    with rt.session() as s:
        assert s.get(Case, case_id).phase_key == "offered"
        assert len(workflow.history(s, s.get(Case, case_id))) == 1


def test_reasons_are_known_before_the_step_is_tried(rt, people):
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "offered", custom={}, description="paid")
        found = workflow.moves(s, rt.host, case, user(s, people, "rep"))
        assert [(m.transition.target, m.blockers) for m in found] == [
            ("signed", {"check.test.signed": "The contract is not signed."})]


def test_an_administrator_switches_an_optional_check_off(rt, people):
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        case = at(s, rt, people, "offered")
        case.custom = {"signed": True}
        workflow.change_settings(s, ORDER, {"check.test.paid": "false"}, admin)
        workflow.move(s, rt.host, case, "signed", user(s, people, "rep"), comment="Signed today")
        assert workflow.history(s, case)[-1].comment == "Signed today"


def test_a_mandatory_check_cannot_be_switched_off_and_bad_settings_are_named(rt, people):
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        workflow.change_settings(s, ORDER, {"check.test.signed": "false",
                                            "approval_from": "dużo",
                                            "minimum_margin": "120",
                                            "deadline.draft": "-1"}, user(s, {"a": admin.id}, "a"))
    assert refused.value.errors == {
        "check.test.signed": "There is no such setting.",
        "approval_from": "Enter an amount, such as 12500 or 12500,50.",
        "minimum_margin": "Enter a percentage from 0 to 100.",
        "deadline.draft": "Enter a whole number of days from 0 to 3650."}
    with rt.session() as s, pytest.raises(Forbidden):
        workflow.change_settings(s, ORDER, {"approval_from": "1"}, user(s, people, "rep"))


def test_a_step_that_does_not_exist_or_needs_a_permission_is_refused(rt, people):
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "signed")
    with rt.session() as s, pytest.raises(ValidationError) as unknown:
        workflow.move(s, rt.host, s.get(Case, case.id), "draft", user(s, people, "rep"))
    assert "cannot go from" in unknown.value.errors["phase"]
    with rt.session() as s, pytest.raises(ValidationError) as forbidden:
        workflow.move(s, rt.host, s.get(Case, case.id), "building", user(s, people, "rep"))
    assert forbidden.value.errors == {"permission": "You may not take this step."}


def test_two_people_moving_one_case_at_once_one_wins_the_other_is_told(rt, people):
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "building")
        for child in cases.children(s, case):
            child.phase_key = "finished"
    first, second = rt.session(), rt.session()
    try:
        mine = first.get(Case, case.id)
        theirs = second.get(Case, case.id)
        workflow.move(first, rt.host, mine, "done", user(first, people, "rep"))
        first.commit()
        with pytest.raises(ValidationError) as conflict:
            workflow.move(second, rt.host, theirs, "done", user(second, people, "other"))
        assert "changed by someone else" in conflict.value.errors["version"]
        second.rollback()
    finally:
        first.close()
        second.close()
    with rt.session() as s:
        assert [h.actor_id for h in workflow.history(s, s.get(Case, case.id))][-1] \
            == people["rep"]


def test_a_form_opened_before_a_move_is_refused(rt, people):
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "offered", description="paid", custom={"signed": True})
        seen = case.version
        workflow.move(s, rt.host, case, "signed", user(s, people, "rep"))
    with rt.session() as s, pytest.raises(ValidationError) as stale:
        cases.update(s, rt.host, s.get(Case, case.id), {"amount": "10"},
                     user(s, people, "rep"), expected_version=seen)
    assert "version" in stale.value.errors


# --- Approval thresholds -----------------------------------------------------------------

@pytest.mark.parametrize("amount, approver", [
    ("4999.99", None), ("5000.00", "boss"), ("5000.01", "boss"),
    ("19999.99", "boss"), ("20000.00", "director"), ("20000.01", "director"),
    ("99999.99", "director"), ("100000.00", "board"), ("100000.01", "board")])
def test_each_threshold_boundary_routes_to_the_right_approver(rt, people, amount, approver):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount=amount)
        needed = approvals.explain(s, rt.host, case, "calculated")
        assert [[u.id for u in r.users] for r in needed] == \
            ([[people[approver]]] if approver else [])


def test_the_explain_answer_says_who_and_why(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="25000")
        [needed] = approvals.explain(s, rt.host, case, "calculated")
        assert needed.describe() == ("the director (Director): the amount PLN25,000.00 is "
                                     "at least PLN20,000.00 and below PLN100,000.00")


def test_limits_are_settings_an_administrator_changes(rt, people):
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        case = new_case(s, rt, people, amount="25000")
        workflow.change_settings(s, ORDER, {"supervisor_below": "30 000,00"}, admin)
        [needed] = approvals.explain(s, rt.host, case, "calculated")
        assert [u.id for u in needed.users] == [people["boss"]]


def test_below_the_limit_the_step_needs_no_approval(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="4999.99")
        workflow.move(s, rt.host, case, "calculated", user(s, people, "rep"))
        with pytest.raises(ValidationError, match="needs no approval|Nothing is left"):
            approvals.request(s, rt.host, case, "calculated", user(s, people, "rep"))


def test_the_step_waits_for_the_approval_which_the_approver_finds_in_their_tasks(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12000")
        rep, boss = user(s, people, "rep"), user(s, people, "boss")
        with pytest.raises(ValidationError) as waiting:
            workflow.move(s, rt.host, case, "calculated", rep)
        assert "It needs approval: the direct supervisor (Boss)" in waiting.value.errors["approval"]
        req = approvals.request(s, rt.host, case, "calculated", rep)
        [task] = tasks.my_tasks(s, boss)
        assert task.title == "Approve: Banner 6x3"
        assert approvals.for_approver(s, boss) == [req]
        with pytest.raises(ValidationError, match="already been asked"):
            approvals.request(s, rt.host, case, "calculated", rep)
        approvals.decide(s, rt.host, req, "approve", boss, comment="OK")
        assert tasks.my_tasks(s, boss) == []
        workflow.move(s, rt.host, case, "calculated", rep)


def test_only_the_approver_decides_and_nobody_approves_their_own_request(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="50000")
        rep = user(s, people, "rep")
        req = approvals.request(s, rt.host, case, "calculated", rep)
        for name in ("rep", "boss", "other"):
            with pytest.raises(Forbidden):
                approvals.decide(s, rt.host, req, "approve", user(s, people, name))
        assert req.status == "pending"


def test_a_director_asking_for_their_own_case_cannot_approve_it(rt, people):
    with rt.session() as s, s.begin():
        director = user(s, people, "director")
        case = cases.create(s, rt.host, {"title": "Own", "process_key": "test.order",
                                         "owner_id": director.id, "amount": "50000"},
                            actor=director)
        with pytest.raises(ValidationError, match="Nobody can approve this: the director"):
            approvals.request(s, rt.host, case, "calculated", director)
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        workflow.change_settings(s, ORDER, {"allow_self_approval": "true"}, admin)
        req = approvals.request(s, rt.host, case, "calculated", director)
        approvals.decide(s, rt.host, req, "approve", director)
        assert req.status == "approved"


def test_a_return_gives_the_author_a_task_with_the_reason(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12000")
        rep, boss = user(s, people, "rep"), user(s, people, "boss")
        req = approvals.request(s, rt.host, case, "calculated", rep)
        with pytest.raises(ValidationError) as no_reason:
            approvals.decide(s, rt.host, req, "return", boss, comment="  ")
        assert no_reason.value.errors == {"comment": "Say why you are returning it."}
        approvals.decide(s, rt.host, req, "return", boss, comment="Paper price is from 2023.")
        [task] = tasks.my_tasks(s, rep)
        assert task.title == "Returned: Banner 6x3"
        assert "Paper price is from 2023." in task.description
        assert tasks.linked_records(s, task) == [case]
        with pytest.raises(ValidationError, match="approval"):
            workflow.move(s, rt.host, case, "calculated", rep)


def test_a_change_of_the_values_after_approval_voids_it(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12000")
        rep = user(s, people, "rep")
        approve_all(s, rt, people, case, "calculated")
        cases.update(s, rt.host, case, {"title": "Banner 6x3 (blue)"}, rep)
        assert workflow.moves(s, rt.host, case, rep)[0].blockers == {}
        cases.update(s, rt.host, case, {"amount": "12000.01"}, rep)
        assert "approval" in workflow.moves(s, rt.host, case, rep)[0].blockers
        assert [r.status for r in approvals.requests(s, case)] == ["superseded"]
        cases.update(s, rt.host, case, {"amount": "12000"}, rep)
        # Back to the approved amount: the old approval still is not carried over.
        assert "approval" in workflow.moves(s, rt.host, case, rep)[0].blockers


def test_a_copy_of_an_approved_case_must_be_approved_again(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12000")
        approve_all(s, rt, people, case, "calculated")
        copy = cases.copy(s, rt.host, case, user(s, people, "rep"))
        assert (copy.amount, copy.phase_key) == (Decimal("12000.00"), "draft")
        assert "approval" in workflow.moves(s, rt.host, copy, user(s, people, "rep"))[0].blockers


def test_correct_and_approve_binds_the_approval_to_the_corrected_values(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="12000")
        req = approvals.request(s, rt.host, case, "calculated", user(s, people, "rep"))
        approvals.decide(s, rt.host, req, "approve", user(s, people, "boss"),
                         corrections={"amount": "11500"})
        assert (case.amount, req.status, req.values["amount"]) == (
            Decimal("11500.00"), "approved", "11500.00")
        workflow.move(s, rt.host, case, "calculated", user(s, people, "rep"))


# --- Approval chains ---------------------------------------------------------------------

@pytest.mark.parametrize("cost, board", [("7499", False), ("7500", False), ("7501", True)])
def test_the_board_approves_only_below_the_minimum_margin(rt, people, cost, board):
    # Amount 10 000: a cost of 7 500 is a margin of exactly 25%, the minimum.
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "calculated", amount="10000", cost=cost)
        needed = approvals.explain(s, rt.host, case, "offered")
        assert [r.step_key for r in needed] == (["director", "board"] if board
                                                 else ["director"])


def test_a_chain_counts_only_when_every_level_approved_in_order(rt, people):
    with rt.session() as s, s.begin():
        case = at(s, rt, people, "calculated", amount="10000", cost="9000")
        rep = user(s, people, "rep")
        first = approvals.request(s, rt.host, case, "offered", rep)
        assert (first.step_key, first.approver_id) == ("director", people["director"])
        with pytest.raises(Forbidden):
            approvals.decide(s, rt.host, first, "approve", user(s, people, "board"))
        approvals.decide(s, rt.host, first, "approve", user(s, people, "director"))
        [second] = [r for r in approvals.requests(s, case) if r.status == "pending"]
        assert (second.step_key, second.approver_id) == ("board", people["board"])
        blockers = workflow.moves(s, rt.host, case, rep)[0].blockers
        assert blockers["approval"].startswith("It needs approval: the board (Board)")
        approvals.decide(s, rt.host, second, "approve", user(s, people, "board"))
        workflow.move(s, rt.host, case, "offered", rep)


def test_a_condition_on_the_amount(rt, people):
    rule = Chain("x", (Step("big", BOARD, when=AmountAtLeast("approval_from")),))
    with rt.session() as s, s.begin():
        small = new_case(s, rt, people, amount="4999.99")
        big = new_case(s, rt, people, amount="5000")
        values = workflow.settings(s, ORDER)
        assert rule.steps(small, values) == []
        assert [step.key for step, _why in rule.steps(big, values)] == ["big"]


# --- Subprocesses and deadlines ----------------------------------------------------------

def test_a_phase_starts_subprocesses_and_the_parent_moves_on_when_all_are_done(rt, people):
    with rt.session() as s, s.begin():
        builder = roles.create(s, "builder", "Builder")
        roles.set_permissions(s, builder, ["test.build"])
        roles.assign(s, user(s, people, "rep"), ["staff", "builder"])
        case = at(s, rt, people, "signed")
        rep = user(s, people, "rep")
        workflow.move(s, rt.host, case, "building", rep)
        roof, wiring = cases.children(s, case)
        assert (roof.process_key, roof.phase_key, roof.parent_id) == ("test.part", "open", case.id)
        assert workflow.moves(s, rt.host, case, rep)[0].blockers == {
            "subprocesses": "2 subprocesses are not finished yet."}
        workflow.move(s, rt.host, roof, "finished", rep)
        assert case.phase_key == "building"
        workflow.move(s, rt.host, wiring, "finished", rep)
        assert case.phase_key == "done"
        last = workflow.history(s, case)[-1]
        assert (last.from_phase, last.to_phase, last.actor_id, last.comment) == (
            "building", "done", None, "Every subprocess is finished.")


def test_a_day_before_the_deadline_the_owner_is_reminded_then_the_supervisor_told(rt, people):
    # The draft phase has a deadline of three days.
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people)
        entered = case.phase_entered_at
        version = case.version
    with rt.session() as s, s.begin():
        early = workflow.watch_deadlines(s, rt.host, entered + timedelta(days=1, hours=23))
        assert (early.reminded, early.escalated) == ([], [])
        day_before = workflow.watch_deadlines(s, rt.host, entered + timedelta(days=2, hours=1))
        assert ([c.id for c in day_before.reminded], day_before.escalated) == ([case.id], [])
        [reminder] = tasks.my_tasks(s, user(s, people, "rep"))
        assert (reminder.title, reminder.due_at) == ("Deadline tomorrow: Banner 6x3",
                                                     entered + timedelta(days=3))
    with rt.session() as s, s.begin():
        again = workflow.watch_deadlines(s, rt.host, entered + timedelta(days=2, hours=2))
        assert (again.reminded, again.escalated) == ([], [])
        late = workflow.watch_deadlines(s, rt.host, entered + timedelta(days=3, minutes=1))
        assert ([c.id for c in late.escalated], late.reminded) == ([case.id], [])
    with rt.session() as s, s.begin():
        assert workflow.watch_deadlines(s, rt.host, entered + timedelta(days=9)).escalated == []
        [task] = tasks.my_tasks(s, user(s, people, "boss"))
        assert (task.title, task.priority) == ("Overdue: Banner 6x3", 4)
        # Bookkeeping does not count as a change: a form open on the case still saves.
        assert s.get(Case, case.id).version == version


def test_a_case_found_late_is_escalated_without_a_reminder_first(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people)
        found = workflow.watch_deadlines(s, rt.host, case.phase_entered_at + timedelta(days=5))
        assert (found.reminded, [c.id for c in found.escalated]) == ([], [case.id])


def test_a_deadline_set_to_zero_by_an_administrator_is_not_watched(rt, people):
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        workflow.change_settings(s, ORDER, {"deadline.draft": "0"}, admin)
        case = new_case(s, rt, people)
        found = workflow.watch_deadlines(s, rt.host, case.phase_entered_at + timedelta(days=30))
        assert (found.reminded, found.escalated) == ([], [])


def test_moving_on_starts_the_watch_again_for_the_next_phase(rt, people):
    with rt.session() as s, s.begin():
        case = new_case(s, rt, people, amount="100")
        workflow.watch_deadlines(s, rt.host, utcnow() + timedelta(days=4))
        assert case.escalated_at is not None
        workflow.move(s, rt.host, case, "calculated", user(s, people, "rep"))
        assert (case.reminded_at, case.escalated_at) == (None, None)
        assert s.scalar(select(func.count()).select_from(Task)) == 1


def test_a_restricted_user_cannot_move_what_they_cannot_see(rt, people):
    with rt.session() as s, s.begin():
        own = roles.create(s, "own", "Own")
        roles.set_access(s, own, {("*", action): "own" for action in
                                  ("read", "create", "edit", "delete", "export")})
        roles.assign(s, user(s, people, "other"), ["own"])
        case = new_case(s, rt, people, amount="100")
    with rt.session() as s:
        other = user(s, people, "other")
        assert records.get(s, Case, case.id, other) is None
        with pytest.raises(Forbidden):
            workflow.move(s, rt.host, s.get(Case, case.id), "calculated", other)
        s.rollback()
    with rt.session() as s:
        assert s.get(Case, case.id).phase_key == "draft"
        assert s.scalar(select(func.count()).select_from(PhaseChange)) == 1


def test_cases_are_found_with_the_one_filter_language(rt, people):
    from core import filters

    with rt.session() as s, s.begin():
        small = new_case(s, rt, people, title="Ulotki", amount="900")
        big = new_case(s, rt, people, title="Billboardy", amount="145000.50")
        at(s, rt, people, "offered", title="Roll-upy", amount="3900")
        query = filters.apply(records.visible(Case), Case, {"and": [
            {"field": "phase_key", "op": "eq", "value": "draft"},
            {"field": "amount", "op": "gte", "value": 1000}]})
        assert [c.id for c in s.scalars(query)] == [big.id]
        by_title = filters.apply(records.visible(Case), Case,
                                 {"field": "title", "op": "contains", "value": "ULOT"})
        assert [c.id for c in s.scalars(by_title)] == [small.id]
        with pytest.raises(ValidationError) as bad:
            filters.apply(records.visible(Case), Case,
                          {"field": "amount; DROP TABLE cases", "op": "eq", "value": 1})
        assert list(bad.value.errors) == ["filter.field"]

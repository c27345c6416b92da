"""The photovoltaics plugin's installation (PV-1 to PV-4): the contract approved by the
sales manager, the advance invoice paid before installation, installation as two
subprocesses (roof and electrical) the parent waits for, and the final invoice, which
deducts the advance, paid before the installation is completed. Every test runs on SQLite and
PostgreSQL (``kartoteka_app_factory`` depends on ``kartoteka_database_url``); the
installation and the ``world`` are conftest.py's."""

import pytest

from core import approvals, calculations, cases, invoices, users, workflow
from core.errors import Forbidden, ValidationError
from core.models import Case
from plugins.photovoltaics.audit import CHECKLIST

PROCESS = "photovoltaics.installation"
PASSWORD = "correct horse battery"


def test_an_installation_goes_from_lead_through_audit_design_and_offer(world):
    case = world.installation()
    assert case.phase_key == "lead"
    world.move(case, "audit")
    world.audited(case)
    world.move(case, "design")
    first = world.designed(case)
    world.move(case, "offer")
    calculations.decide(world.session, first, {"status": "rejected", "reason": "Za drogo"},
                        world.rep)
    world.move(case, "design")  # the customer asked for changes
    world.move(case, "offer")
    assert world.blockers(case, "contract") == {"check.photovoltaics.offer_accepted":
        "The customer has not accepted a version of the offer yet."}
    second = world.offer(case, markup="30", status="sent")
    assert world.blockers(case, "contract") != {}  # sent is not accepted
    calculations.decide(world.session, second, {"status": "accepted"}, world.rep)
    world.move(case, "contract")
    assert case.phase_key == "contract"
    # Both versions are kept, and the case's amount is the accepted one's.
    assert [(c.number, c.status) for c in calculations.of_case(world.session, case)] == [
        (2, "accepted"), (1, "rejected")]
    assert (first.net, second.net, case.amount) == (42000, 39000, 39000)


def test_design_starts_only_after_the_whole_audit_checklist_and_its_photos(world):
    case = world.installation()
    world.move(case, "audit")
    assert world.blockers(case, "design") == {"check.photovoltaics.audited": (
        "Not ticked: Roof inspected: covering, structure, dimensions; Shading assessed; "
        "Meter and grid connection checked; Switchboard checked, inverter place chosen; "
        "Energy bills collected.")}
    cases.update(world.session, world.host, case, {"custom": {
        f"photovoltaics_{key}": True for key in CHECKLIST}}, actor=world.rep)
    assert world.blockers(case, "design") == {"check.photovoltaics.audited": (
        "Attach the audit's photos: the roof, the meter, the switchboard.")}
    world.audited(case)
    world.move(case, "design")
    assert case.phase_key == "design"


def test_the_offer_goes_out_only_with_the_design_sized_and_priced(world):
    case = world.installation()
    world.move(case, "audit")
    world.audited(case)
    world.move(case, "design")
    assert world.blockers(case, "offer") == {"check.photovoltaics.designed": (
        "Complete the design: the power, the panel model and count, the inverter model.")}
    cases.update(world.session, world.host, case, {"custom": {
        "photovoltaics_power": "6.5", "photovoltaics_panel_model": "LONGi 430 W",
        "photovoltaics_panel_count": 15, "photovoltaics_inverter_model": "Fronius Symo"}},
        actor=world.rep)
    assert world.blockers(case, "offer") == {"check.photovoltaics.designed": (
        "Price the design: add a calculation from the components price list.")}
    world.offer(case, status="draft")
    world.move(case, "offer")


def test_an_administrator_may_switch_the_audit_and_design_checks_off(world):
    admin = users.create_user(world.session, "boss@example.com", PASSWORD, is_admin=True)
    workflow.change_settings(world.session, world.host.processes[PROCESS], {
        "check.photovoltaics.audited": "false", "check.photovoltaics.designed": "false"}, admin)
    case = world.installation()
    for phase in ("audit", "design", "offer"):
        world.move(case, phase)
    assert case.phase_key == "offer"


def test_the_contract_goes_out_only_after_the_sales_managers_approval(world):
    case = world.at_contract()
    found = world.blockers(case, "advance_payment")
    assert set(found) == {"approval"}
    assert "sales manager (manager@example.com): always required" in found["approval"]
    with pytest.raises(ValidationError) as refused:
        world.move(case, "advance_payment")
    assert "approval" in refused.value.errors

    req = approvals.request(world.session, world.host, case, "advance_payment", world.rep)
    assert req.approver_id == world.manager.id
    with pytest.raises(ValidationError):
        world.move(case, "advance_payment")  # asked is not approved
    with pytest.raises(Forbidden):
        approvals.decide(world.session, world.host, req, "approve", world.roofer)

    approvals.decide(world.session, world.host, req, "approve", world.manager)
    assert world.blockers(case, "advance_payment") == {}
    world.move(case, "advance_payment")
    assert case.phase_key == "advance_payment"


def test_a_new_offer_at_contract_needs_the_customer_and_the_manager_again(world):
    case = world.at_contract()
    req = approvals.request(world.session, world.host, case, "advance_payment", world.rep)
    world.offer(case, markup="100", status="draft")  # the price changed under the request
    assert req.status == "superseded"
    assert case.amount == 60000
    assert set(world.blockers(case, "advance_payment")) == {
        "approval", "check.photovoltaics.offer_accepted"}
    with pytest.raises(ValidationError):
        world.move(case, "advance_payment")


def test_a_contract_returned_by_the_sales_manager_stays(world):
    case = world.at_contract()
    req = approvals.request(world.session, world.host, case, "advance_payment", world.rep)
    approvals.decide(world.session, world.host, req, "return", world.manager,
                     comment="Wrong inverter in the contract.")
    assert "approval" in world.blockers(case, "advance_payment")


def test_installation_waits_for_the_advance_invoice_to_be_paid(world):
    case = world.at_contract()
    world.approve_contract(case)
    world.move(case, "advance_payment")

    assert world.blockers(case, "installation") == {
        "check.photovoltaics.advance_paid":
            "No advance invoice has been issued for this installation yet."}
    with pytest.raises(ValidationError):
        world.move(case, "installation")
    assert world.children(case) == {}

    advance = world.invoice(case, "advance")
    world.invoice(case, "invoice")  # another kind of invoice of the case is no advance
    world.pay(advance, "5000.00")
    assert world.blockers(case, "installation") == {
        "check.photovoltaics.advance_paid": "The advance invoice is not paid in full yet."}
    world.pay(advance, advance.gross - 5000)
    assert advance.status == "paid"
    world.move(case, "installation")
    assert case.phase_key == "installation"


def test_entering_installation_starts_the_roof_and_the_electrical_part(world):
    case = world.installing()
    children = world.children(case)
    assert sorted(children) == ["photovoltaics.electrical", "photovoltaics.roof"]
    assert world.session.query(Case).filter(Case.parent_id == case.id).count() == 2
    for child in children.values():
        assert child.phase_key == "scheduled"
        assert child.owner_id == case.owner_id
    assert children["photovoltaics.roof"].title == "Dom Kowalskich, 9,84 kWp: roof part"



def test_a_part_of_an_installation_with_the_longest_title_still_starts(world):
    case = world.installing(title="Farma PV " + "x" * 291)
    titles = sorted(c.title for c in world.children(case).values())
    assert [len(t) for t in titles] == [300, 300]
    assert titles[0].endswith("x: electrical part") and titles[1].endswith("x: roof part")


def test_the_installation_cannot_move_on_while_a_part_is_open(world):
    case = world.installing()
    children = world.children(case)
    assert world.blockers(case, "final_payment") == {
        "subprocesses": "2 subprocesses are not finished yet."}

    roof = children["photovoltaics.roof"]
    world.move(roof, "in_progress", world.roofer)
    world.move(roof, "done", world.roofer)
    assert case.phase_key == "installation"
    assert world.blockers(case, "final_payment") == {
        "subprocesses": "1 subprocess is not finished yet."}
    with pytest.raises(ValidationError) as refused:
        world.move(case, "final_payment")
    assert "subprocesses" in refused.value.errors


def test_the_installation_moves_on_by_itself_when_the_second_part_is_done(world):
    case = world.installing()
    children = world.children(case)
    for key, crew in (("photovoltaics.roof", world.roofer),
                      ("photovoltaics.electrical", world.electrician)):
        world.move(children[key], "in_progress", crew)
        world.move(children[key], "done", crew)

    assert case.phase_key == "final_payment"
    last = workflow.history(world.session, case)[-1]
    assert (last.from_phase, last.to_phase) == ("installation", "final_payment")
    assert last.actor_id is None
    assert last.comment == "Every subprocess is finished."

    assert world.blockers(case, "completed") == {"check.photovoltaics.final_paid":
        "No final invoice has been issued for this installation yet."}
    # The final invoice deducts the advance: what is left is owed and paid.
    advance = invoices.of_case(world.session, case.id, ("advance",))[0]
    final = world.invoice(case, "final", net="30000.00", advance_ids=[advance.id])
    assert (final.gross, final.to_pay) == (32400, 32400 - advance.gross)
    assert set(world.blockers(case, "completed")) == {"check.photovoltaics.final_paid"}
    world.pay(final)
    world.move(case, "completed")
    assert case.phase_key == "completed"


def test_an_administrator_may_let_installation_start_before_the_advance_is_paid(world):
    case = world.at_contract()
    world.approve_contract(case)
    world.move(case, "advance_payment")
    admin = users.create_user(world.session, "admin@example.com", PASSWORD, is_admin=True)
    workflow.change_settings(world.session, world.host.processes[PROCESS],
                             {"check.photovoltaics.advance_paid": "false"}, admin)
    assert world.blockers(case, "installation") == {}
    world.move(case, "installation")
    assert case.phase_key == "installation"


def test_the_roof_part_keeps_its_own_history(world):
    case = world.installing()
    roof = world.children(case)["photovoltaics.roof"]
    world.move(roof, "in_progress", world.roofer)
    world.move(roof, "scheduled", world.roofer)  # postponed: rain
    world.move(roof, "in_progress", world.roofer)
    world.move(roof, "done", world.roofer)

    steps = workflow.history(world.session, roof)
    assert [(s.from_phase, s.to_phase) for s in steps] == [
        (None, "scheduled"), ("scheduled", "in_progress"), ("in_progress", "scheduled"),
        ("scheduled", "in_progress"), ("in_progress", "done")]
    assert [s.actor_id for s in steps[1:]] == [world.roofer.id] * 4
    assert workflow.moves(world.session, world.host, roof, world.roofer) == []


@pytest.mark.parametrize("phase", ["lead", "audit", "design", "offer", "contract"])
def test_an_installation_may_be_lost_before_the_advance(world, phase):
    case = world.installation()
    path = ["audit", "design", "offer", "contract"]
    for step in path[:path.index(phase) + 1] if phase != "lead" else []:
        if step == "design":
            world.audited(case)
        if step == "offer":
            world.designed(case, status="accepted")
        world.move(case, step)
    assert case.phase_key == phase
    world.move(case, "lost")
    assert case.phase_key == "lost"


def test_every_phase_of_the_three_processes_is_named_by_a_term(world):
    from core.terms import term

    for key in (PROCESS, "photovoltaics.roof", "photovoltaics.electrical"):
        process = world.host.processes[key]
        for phase in process.phases:
            for locale in ("pl", "en"):
                assert term(phase.term, locale=locale) != phase.term
    assert term("photovoltaics.roof", case="gen", locale="pl") == "części dachowej"

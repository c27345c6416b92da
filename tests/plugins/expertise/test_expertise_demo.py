"""The expertise demo: departments, experts and inquiries at every phase, each walked
there through the real steps: the offer with a low margin approved by the manager and
the board, the other by the manager alone; an expert in conflict with a client kept off
that client's inquiry; the accepted opinion with the court's deadline; the delivered one
invoiced. Loading it again adds nothing."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from core import approvals, calculations, demo, invoices, workflow
from core.filters import today as local_today
from core.models import CalendarEvent, Case, Invoice, Organisation, User
from plugins.expertise import experts, inquiries
from plugins.expertise.demo import BOARD, BUDNY, CLIENTS, KANCELARIA, WARTA
from plugins.expertise.models import Department, Expert, Inquiry

COMPANY = "Biuro Ekspertyz Demo sp. z o.o."
MINIMUM = Decimal("0.25")  # the process's default minimum margin


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_demo_walks_inquiries_to_every_phase(expertise_app):
    app = expertise_app(company_name=COMPANY)
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        with rt.session() as s:
            counted = {model: _count(s, model)
                       for model in (Case, Department, Expert, Organisation, User)}
        demo.load(rt)  # safe to repeat
        with rt.session() as s:
            assert {model: _count(s, model) for model in counted} == counted
            _every_phase(s, rt.host)
            _approvals(s)
            _conflict(s)
            _deadlines_and_invoice(s)


def _every_phase(s, host) -> None:
    process = host.processes[inquiries.PROCESS]
    found = sorted(s.scalars(select(Case.phase_key).where(
        Case.process_key == inquiries.PROCESS)))
    assert set(found) == {phase.key for phase in process.phases}
    assert found.count("offer") == 2 and found.count("accepted") == 2
    assert _count(s, Department) == 3
    assert sorted((e.internal, e.department_id is None) for e in s.scalars(select(Expert))) \
        == [(False, True)] * 2 + [(True, False)] * 6


def _offer_of(s, client: int, phase: str = "offer") -> Case:
    name = CLIENTS[client][0]
    return s.scalar(select(Case).join(Organisation, Organisation.id == Case.organisation_id)
                    .where(Organisation.name == name, Case.phase_key == phase))


def _approvers(s, case: Case) -> list[tuple[str, str, str]]:
    return [(r.step_key, r.status, s.get(User, r.decided_by_id).email)
            for r in sorted(approvals.requests(s, case), key=lambda r: r.level)]


def _approvals(s) -> None:
    manager, board = BUDNY, BOARD
    low = _offer_of(s, KANCELARIA)
    assert low.margin < MINIMUM
    assert _approvers(s, low) == [("manager", "approved", manager),
                                  ("board", "approved", board)]
    good = _offer_of(s, WARTA)
    assert good.margin >= MINIMUM
    assert _approvers(s, good) == [("manager", "approved", manager)]
    # One offer waits for its manager's approval, still estimated.
    (waiting,) = s.scalars(select(Case).where(Case.phase_key == "estimate")).all()
    assert [(r.step_key, r.status) for r in approvals.requests(s, waiting)] \
        == [("manager", "pending")]


def _conflict(s) -> None:
    case = _offer_of(s, WARTA)
    found = {c.name: c for c in experts.candidates(s, case)}
    assert found["Marek Nowicki"].reasons == [
        f"conflict of interest with {CLIENTS[WARTA][0]}"]
    assert found["Jan Kowalczyk"].able
    named = [inquiry["name"] for inquiry in inquiries.document_context(s, case)["experts"]]
    assert "Marek Nowicki" not in named and "Jan Kowalczyk" in named


def _deadlines_and_invoice(s) -> None:
    today = local_today()  # the demo's dates count from the installation's today
    accepted = s.scalars(select(Inquiry).join(Case, Case.id == Inquiry.case_id)
                         .where(Case.phase_key == "accepted"))
    found = sorted((i.due_on - today, bool(i.court_id), bool(i.court_reference))
                   for i in accepted)
    assert [(days.days, court, ref) for days, court, ref in found] == [
        (4, True, True), (45, True, True)]
    invoiced = s.scalar(select(Case).where(Case.phase_key == "invoiced"))
    (invoice,) = invoices.of_case(s, invoiced.id, issued=True)
    assert invoice.seller["name"] == COMPANY
    assert invoice.gross == calculations.accepted(s, invoiced).gross  # the accepted offer
    assert [c.to_phase for c in workflow.history(s, invoiced)] == [
        "meeting", "inquiry", "routed", "estimate", "offer", "accepted", "delivered",
        "invoiced"]
    meeting = s.scalar(select(Case).where(Case.phase_key == "meeting"))
    event = s.scalar(select(CalendarEvent))
    assert meeting.title in event.title
    assert event.starts_at.date() == today + timedelta(days=1)  # at ten, local time


def test_without_the_sellers_name_the_opinion_waits_delivered(expertise_app):
    app = expertise_app(company_name="")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        with rt.session() as s:
            found = sorted(s.scalars(select(Case.phase_key).where(
                Case.process_key == inquiries.PROCESS)))
            assert "invoiced" not in found and found.count("delivered") == 2
            assert _count(s, Invoice) == 0

"""The printing house's demo: the sales line and its supervisors, the product price list,
customers in five voivodeships, projects at every phase priced from the list and walked
there through the real steps (approvals by whom each total calls for, one returned with
its reason, two waiting in their approvers' lists, one closed with its invoice), a
complaint on a delivered project,
and the reps' visits and calls; loading it again adds nothing."""

from sqlalchemy import func, select

from core import approvals, demo, teams, users
from core.models import (
    ApprovalRequest,
    Calculation,
    Case,
    Invoice,
    Organisation,
    PriceItem,
    Team,
)
from core.models.activity import Activity
from plugins.printing.demo import SALES_EVENTS, SALES_TEAM


def test_the_demo_walks_projects_to_every_phase(kartoteka_app_factory):
    app = kartoteka_app_factory(["printing"], default_locale="en",
                                company_name="Drukarnia Demo sp. z o.o.")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        demo.load(rt)  # safe to repeat
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(PriceItem)) == 11
        phases = sorted(s.scalars(select(Case.phase_key).where(
            Case.process_key == "printing.project")))
        assert phases == ["calculation", "calculation", "calculation", "closed", "delivery",
                          "delivery", "inquiry", "lost", "offer", "order", "production"]
        priced = s.scalar(select(func.count(func.distinct(Calculation.case_id))))
        assert priced == 10  # all but the inquiry
        statuses = sorted(s.scalars(select(ApprovalRequest.status)))
        assert statuses.count("pending") == 2 and statuses.count("returned") == 1
        # The big campaign waits for the board, the banner for the rep's supervisor.
        waiting = {r.case.title: r for r in s.scalars(select(ApprovalRequest).where(
            ApprovalRequest.status == "pending"))}
        board = users.find_by_email(s, "b.lewandowska@drukarnia.example.pl")
        manager = users.find_by_email(s, "e.kowalczyk@drukarnia.example.pl")
        assert waiting["Billboardy: kampania jesienna"].approver_id == board.id
        assert waiting["Baner reklamowy 6×3 m"].approver_id == manager.id
        assert [r.case.title for r in approvals.for_approver(s, manager)] == [
            "Baner reklamowy 6×3 m"]
        regions = set(s.scalars(select(Organisation.region).where(
            Organisation.name.contains("sp.") | Organisation.name.contains("S.A.")
            | Organisation.name.contains("Gminy"))))
        assert {"wielkopolskie", "dolnośląskie", "małopolskie", "śląskie",
                "pomorskie"} <= regions
        closed = s.scalar(select(Case).where(Case.phase_key == "closed"))
        assert [i.status for i in s.scalars(select(Invoice).where(
            Invoice.case_id == closed.id))] == ["issued"]
        complaint = s.scalar(select(Case).where(Case.process_key == "printing.complaint"))
        assert complaint.parent_id is not None
        team = s.scalar(select(Team).where(Team.name == SALES_TEAM))
        assert len(teams.members_of(s, team)) == 6  # two managers and four reps
        logged = s.execute(select(Activity.kind, Activity.subject).where(
            Activity.subject.in_([e[3] for e in SALES_EVENTS]))).all()
        assert sorted(kind for kind, _subject in logged) == ["call"] * 4 + ["meeting"] * 4

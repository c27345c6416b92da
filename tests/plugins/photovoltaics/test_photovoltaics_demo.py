"""The installer's demo: the components price list, the staff and two crews, the
website's form, and installations at every phase, each walked there through the real
steps (the audit's photo, the offer in two versions, the approval, the invoices, the
crews' reports); loading it again adds nothing."""

from sqlalchemy import func, select

from core import demo, public_forms
from core.models import Attachment, Calculation, Case, Invoice, PriceItem
from plugins.photovoltaics.models import Assignment, Crew, QueueEntry, Rep


def test_the_demo_walks_installations_to_every_phase(kartoteka_app_factory):
    app = kartoteka_app_factory(["photovoltaics"], default_locale="en",
                                company_name="Słoneczny Dach sp. z o.o.")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        demo.load(rt)  # safe to repeat
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(PriceItem)) == 10
        phases = sorted(s.scalars(select(Case.phase_key).where(
            Case.process_key == "photovoltaics.installation")))
        assert phases == ["advance_payment", "audit", "completed", "contract", "design",
                          "final_payment", "installation", "lead", "lead", "lead", "lead",
                          "lost", "offer"]
        offered = s.scalar(select(Case).where(Case.phase_key == "offer",
                                              Case.title.contains("Kaczmarek")))
        versions = s.execute(select(Calculation.number, Calculation.status).where(
            Calculation.case_id == offered.id).order_by(Calculation.number)).all()
        assert versions == [(1, "rejected"), (2, "sent")]
        assert [c.name for c in s.scalars(select(Crew).order_by(Crew.name))] == [
            "Dachy Nowak", "Ekipa 1 (własna)"]
        assert s.scalar(select(func.count()).select_from(Assignment)) == 6
        assert s.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.reported_at.is_not(None))) == 5
        done = s.scalar(select(Case).where(Case.phase_key == "completed",
                                           Case.process_key == "photovoltaics.installation"))
        kinds = sorted(i.kind for i in s.scalars(select(Invoice).where(
            Invoice.case_id == done.id)))
        assert kinds == ["advance", "final"]
        assert all(i.status == "paid" for i in s.scalars(select(Invoice).where(
            Invoice.case_id == done.id)))
        assert s.scalar(select(func.count()).select_from(Attachment).where(
            Attachment.record_id == done.id, Attachment.record_type == "case")) >= 1
        assert public_forms.by_key(s, "fotowoltaika").process_key == (
            "photovoltaics.installation")
        # The four leads are queued: the website's and the others' for a call, the
        # referral for a meeting; the calls are planned in a rep's coming days.
        entries = s.execute(select(QueueEntry.kind, QueueEntry.status)).all()
        assert sorted(kind for kind, _status in entries) == ["call", "call", "call", "meeting"]
        assert ("call", "planned") in entries
        assert s.scalar(select(func.count()).select_from(Rep)) == 2


def test_without_the_sellers_name_the_demo_stops_before_the_first_invoice(
        kartoteka_app_factory):
    app = kartoteka_app_factory(["photovoltaics"], default_locale="en", company_name="")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
    with rt.session() as s:
        phases = set(s.scalars(select(Case.phase_key).where(
            Case.process_key == "photovoltaics.installation")))
        assert phases == {"lead", "lost", "audit", "design", "offer", "contract",
                          "advance_payment"}
        assert s.scalar(select(func.count()).select_from(Invoice)) == 0

"""The grants demo: calls for proposals open and closed; opportunities at every phase,
two won into cooperation contracts; applications at every phase walked there through
the real steps: the award reaching its client's contract, payment requests generated
from the agreement and partly paid, one client's durability report delivered on target
and another's overdue, so that client is at risk. Loading it again adds nothing."""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core import demo
from core.models import Case, Contract
from plugins.grants import calls, durability
from plugins.grants.models import GrantCall, PaymentRequest


def test_the_demo_walks_opportunities_and_applications_to_every_phase(kartoteka_app_factory):
    app = kartoteka_app_factory(["grants"], default_locale="en")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        demo.load(rt)  # safe to repeat
    with rt.session() as s:
        phases = {key: sorted(s.scalars(select(Case.phase_key).where(
            Case.process_key == key))) for key in ("grants.opportunity", "grants.application")}
        assert phases["grants.opportunity"] == ["lost", "offer", "opportunity", "qualified",
                                                "won", "won"]
        assert phases["grants.application"] == [
            "agreement", "awarded", "durability", "durability", "evaluation", "preparation",
            "rejected", "submitted", "withdrawn"]
        today = date.today()
        assert sorted(calls.status(c, today) for c in s.scalars(select(GrantCall))) == [
            "closed", "closed", "closed", "open", "open"]

        # Won opportunities made contracts; the award of Stolarnia's application reached
        # its success fee, TechMet's (still in preparation) did not.
        contracts = {c.title: c for c in s.scalars(select(Contract))}
        assert len(contracts) == 2
        fees = {title.split(": ")[-1]: [(i.description, i.reached_on is not None)
                                        for i in c.instalments if i.milestone]
                for title, c in contracts.items()}
        assert fees == {
            "Nowa hala i linia lakiernicza": [("Wynagrodzenie za sukces", True),
                                              ("Rozliczenie dotacji", False)],
            "Centrum obróbcze 5-osiowe": [("Wynagrodzenie za sukces", False),
                                          ("Rozliczenie dotacji", False)]}

        agreed = s.scalar(select(Case).where(Case.phase_key == "agreement"))
        requests = list(s.scalars(select(PaymentRequest).where(
            PaymentRequest.case_id == agreed.id).order_by(PaymentRequest.position)))
        assert [(r.kind, r.status) for r in requests] == [
            ("advance", "paid"), ("interim", "approved"), ("interim", "planned"),
            ("final", "planned")]
        assert sum(r.amount for r in requests) == Decimal("400000.00")

        risks = durability.at_risk(s, today)
        assert [r.organisation.name for r in risks] == ["Piekarnia Złoty Kłos s.c."]
        assert len(risks[0].overdue) == 1
        assert s.scalar(select(func.count()).select_from(GrantCall)) == 5

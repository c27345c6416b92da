"""The installer's demo: the components price list and installations at the first
phases, one with its offer in two versions; loading it again adds nothing."""

from sqlalchemy import func, select

from core import demo
from core.models import Calculation, Case, PriceItem


def test_the_demo_shows_components_installations_and_an_offer_in_two_versions(
        kartoteka_app_factory):
    app = kartoteka_app_factory(["photovoltaics"], default_locale="en")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        demo.load(rt)  # safe to repeat
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(PriceItem)) == 10
        phases = sorted(s.scalars(select(Case.phase_key).where(
            Case.process_key == "photovoltaics.installation")))
        assert phases == ["design", "lead", "offer"]
        versions = s.execute(select(Calculation.number, Calculation.status)
                             .order_by(Calculation.number)).all()
        assert versions == [(1, "rejected"), (2, "sent")]
        offered = s.scalar(select(Case).where(Case.phase_key == "offer"))
        latest = s.scalar(select(Calculation).where(Calculation.number == 2))
        assert offered.amount == latest.net > 0

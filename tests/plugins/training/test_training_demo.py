"""The training plugin's demo data (``make run``'s first start): trainings in the phases
a first look needs, a waiting list, a closed training, fees owed, membership contracts
and the certificates of the past training; loading it again adds nothing. Runs on
SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select

from core import demo
from core.models import BillableItem, Case, Contract
from plugins.training.models import Enrolment, OpenTo


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(["training"], default_locale="en")
    with app.test_request_context():
        yield app


def test_the_demo_shows_trainings_in_every_stage_and_is_safe_to_repeat(app):
    rt = app.extensions["kartoteka"]
    assert "training" in demo.load(rt)
    demo.load(rt)
    with rt.session() as s:
        phases = dict(s.execute(select(Case.title, Case.phase_key).where(
            Case.process_key == "training.training")).all())
        assert phases == {"Zamówienia publiczne po nowelizacji": "certified",
                          "RODO w urzędzie gminy": "enrolment_open",
                          "Warsztaty dla skarbników": "enrolment_open",
                          "Finanse publiczne 2027": "planning"}
        statuses = dict(s.execute(select(Enrolment.status, func.count())
                                  .group_by(Enrolment.status)).all())
        assert statuses == {"attended": 3, "absent": 1, "enrolled": 4, "waiting": 1}
        # The past training's attendees owe its price and have their certificates.
        assert s.scalar(select(func.count()).select_from(BillableItem)) == 3
        assert s.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.certificate_id.is_not(None))) == 3
        assert s.scalar(select(func.count()).select_from(Contract)) == 2
        assert s.scalar(select(func.count()).select_from(OpenTo)) == 1

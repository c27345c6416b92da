"""Trainings (TR-1, TR-3, TR-4): planned with a venue from the registry and a trainer,
moved through their phases past the checks, with the capacity kept, the waiting list
moving up, attendance recorded, and portal accounts enrolling only their own people in
trainings open to their unit. Every test runs on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import select

from core import cases, memberships, organisations, people, roles, users, workflow
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, Case
from plugins.training import enrolments, venues
from plugins.training.models import Enrolment, OpenTo, Venue

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en")


@pytest.fixture
def world(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt)


class World:
    def __init__(self, session, rt):
        self.session, self.host = session, rt.host
        organiser = roles.create(session, "organiser", "Training organiser")
        roles.set_permissions(session, organiser, ["training.manage", "training.enrol"])
        self.organiser = users.create_user(session, "szkolenia@zwiazek.example.pl", PASSWORD,
                                           "Ewa Szkoleniowa", roles=["staff", "organiser"])
        self.clerk = users.create_user(session, "biuro@zwiazek.example.pl", PASSWORD,
                                       "Jan Biurowy", roles=["staff"])
        self.kornik = self.unit("Gmina Kórnik")
        self.srem = self.unit("Powiat Śremski", "core.county")
        self.trainer = people.create(session, {"first_name": "Adam", "last_name": "Trener"})
        self.venue = venues.create(session, {"name": "Sala Rady", "city": "Poznań",
                                             "postal_code": "61001", "capacity": 40},
                                   self.organiser)

    def unit(self, name, type_key="core.municipality"):
        return organisations.create(self.session, self.host, {"name": name,
                                                              "type_key": type_key})

    def person(self, first, last, unit=None):
        found = people.create(self.session, {"first_name": first, "last_name": last})
        if unit is not None:
            memberships.join(self.session, found, unit, "urzędnik", date(2020, 1, 1))
        return found

    def training(self, capacity=None, phase="enrolment_open", **custom):
        values = {"training_starts_at": "2027-03-10T09:00:00+01:00",
                  "training_trainer": self.trainer.id, "training_venue": self.venue.id,
                  **({"training_capacity": capacity} if capacity else {}), **custom}
        case = cases.create(self.session, self.host, {
            "title": "Zamówienia publiczne 2027", "process_key": "training.training",
            "custom": values}, actor=self.organiser)
        case.phase_key = phase
        self.session.flush()
        return case

    def portal(self, unit, admin=True, person=None):
        return users.create_user(self.session, f"portal{unit.id}{person.id if person else ''}"
                                 f"@example.pl", PASSWORD, portal_of=unit, portal_admin=admin,
                                 person=person)


def statuses(world, case) -> dict[str, str]:
    return {world.session.get(people.Person, row.person_id).last_name: row.status
            for row in enrolments.listed(world.session, case)}


def test_the_venue_registry_normalises_and_refuses_with_every_field_named(world):
    assert (world.venue.postal_code, world.venue.capacity) == ("61-001", 40)
    with pytest.raises(ValidationError) as refused:
        venues.create(world.session, {"name": " ", "postal_code": "6100",
                                      "capacity": 0}, world.organiser)
    assert set(refused.value.errors) == {"name", "postal_code", "capacity"}
    with pytest.raises(Forbidden):
        venues.create(world.session, {"name": "Sala"}, world.clerk)
    venues.update(world.session, world.venue, {"active": False}, world.organiser)
    assert venues.listed(world.session) == []
    assert venues.listed(world.session, with_retired=True) == [world.venue]


def test_invitations_wait_for_a_venue_a_trainer_and_a_date(world):
    case = cases.create(world.session, world.host, {
        "title": "RODO w urzędzie", "process_key": "training.training"},
        actor=world.organiser)
    assert case.phase_key == "planning"
    with pytest.raises(ValidationError) as refused:
        workflow.move(world.session, world.host, case, "invitations", world.organiser)
    assert set(refused.value.errors) == {"check.training.venue_and_trainer",
                                         "check.training.date_set"}
    cases.update(world.session, world.host, case, {"custom": {
        "training_venue": world.venue.id, "training_trainer": world.trainer.id,
        "training_starts_at": "2027-04-01T09:00:00+02:00"}}, world.organiser)
    workflow.move(world.session, world.host, case, "invitations", world.organiser)
    assert case.phase_key == "invitations"


def test_a_venue_must_be_one_of_the_registry(world):
    with pytest.raises(ValidationError) as refused:
        world.training(training_venue=999999)
    assert refused.value.errors == {"custom.training_venue": "There is no such record."}


def test_the_capacity_is_kept_and_the_waiting_list_moves_up_in_order(world):
    case = world.training(capacity=2)
    anna, bartek, celina, dawid = (world.person(f, "Os" + f) for f in
                                   ("Anna", "Bartek", "Celina", "Dawid"))
    for person in (anna, bartek, celina, dawid):
        enrolments.enrol(world.session, case, person, world.organiser)
    assert statuses(world, case) == {"OsAnna": "enrolled", "OsBartek": "enrolled",
                                     "OsCelina": "waiting", "OsDawid": "waiting"}
    with pytest.raises(ValidationError, match="already on the list"):
        enrolments.enrol(world.session, case, anna, world.organiser)
    row = world.session.scalar(select(Enrolment).where(Enrolment.person_id == bartek.id))
    enrolments.cancel(world.session, row, world.organiser)
    assert statuses(world, case) == {"OsAnna": "enrolled", "OsCelina": "enrolled",
                                     "OsBartek": "cancelled", "OsDawid": "waiting"}
    enrolments.enrol(world.session, case, bartek, world.organiser)  # back, at the end
    assert statuses(world, case)["OsBartek"] == "waiting"
    assert world.session.scalar(select(AuditEntry.id).where(
        AuditEntry.record_type == "training_enrolment")) is not None


def test_staff_without_the_permission_enrol_nobody(world):
    case = world.training()
    with pytest.raises(Forbidden):
        enrolments.enrol(world.session, case, world.person("Ola", "Nowak"), world.clerk)


def test_the_training_is_settled_only_once_attendance_is_recorded(world):
    case = world.training(phase="enrolment_closed")
    anna, bartek = world.person("Anna", "Obecna"), world.person("Bartek", "Nieobecny")
    for person in (anna, bartek):
        enrolments.enrol(world.session, case, person, world.organiser)
    workflow.move(world.session, world.host, case, "delivered", world.organiser)
    with pytest.raises(ValidationError) as refused:
        workflow.move(world.session, world.host, case, "settled", world.organiser)
    assert "2 of the participants" in refused.value.errors["check.training.attendance"]
    enrolments.record_attendance(world.session, case, {anna.id}, world.organiser)
    assert statuses(world, case) == {"Obecna": "attended", "Nieobecny": "absent"}
    workflow.move(world.session, world.host, case, "settled", world.organiser)
    with pytest.raises(ValidationError, match="has taken place"):
        enrolments.enrol(world.session, case, world.person("Cezary", "Późny"), world.organiser)


def test_a_unit_administrator_enrols_its_own_people_only(world):
    case = world.training()
    own = world.person("Anna", "Kórnicka", world.kornik)
    other = world.person("Bożena", "Śremska", world.srem)
    account = world.portal(world.kornik)
    row = enrolments.enrol(world.session, case, own, account, channel="portal",
                           organisation_id=world.kornik.id)
    assert (row.status, row.channel, row.created_by_id) == ("enrolled", "portal", account.id)
    with pytest.raises(Forbidden):
        enrolments.enrol(world.session, case, other, account, channel="portal",
                         organisation_id=world.kornik.id)
    enrolments.cancel(world.session, row, account)
    assert row.status == "cancelled"
    with pytest.raises(Forbidden):  # attendance is the staff's
        from core import records

        records.update(world.session, row, {"status": "attended"}, account)


def test_a_participant_enrols_only_themselves(world):
    case = world.training()
    me = world.person("Anna", "Kórnicka", world.kornik)
    colleague = world.person("Cecylia", "Kórnicka", world.kornik)
    account = world.portal(world.kornik, admin=False, person=me)
    assert enrolments.enrol(world.session, case, me, account, channel="self").status \
        == "enrolled"
    with pytest.raises(Forbidden):
        enrolments.enrol(world.session, case, colleague, account, channel="self")


def test_a_closed_training_takes_only_the_chosen_units(world):
    case = world.training(training_visibility="closed")
    world.session.add(OpenTo(case_id=case.id, organisation_id=world.srem.id))
    world.session.flush()
    assert enrolments.open_to(world.session, case, world.srem.id)
    assert not enrolments.open_to(world.session, case, world.kornik.id)
    account = world.portal(world.kornik)
    with pytest.raises(ValidationError, match="not open"):
        enrolments.enrol(world.session, case, world.person("Anna", "K", world.kornik),
                         account, channel="portal", organisation_id=world.kornik.id)
    hidden = world.training(training_visibility="hidden")
    assert not enrolments.open_to(world.session, hidden, world.srem.id)


def test_the_portal_enrols_only_while_enrolment_is_open(world):
    case = world.training(phase="planning")
    account = world.portal(world.kornik)
    with pytest.raises(ValidationError, match="not open"):
        enrolments.enrol(world.session, case, world.person("Anna", "K", world.kornik),
                         account, channel="portal", organisation_id=world.kornik.id)


def test_a_portal_account_sees_its_units_enrolments_only(world):
    case = world.training()
    mine = enrolments.enrol(world.session, case, world.person("Anna", "K", world.kornik),
                            world.organiser, organisation_id=world.kornik.id)
    enrolments.enrol(world.session, case, world.person("Beata", "S", world.srem),
                     world.organiser, organisation_id=world.srem.id)
    from core import records

    account = world.portal(world.kornik)
    seen = world.session.scalars(records.visible(Enrolment, account)).all()
    assert seen == [mine]
    assert world.session.scalars(records.visible(Venue, account)).all() == []


def test_the_plugins_organisation_types_and_terms_are_there(world, app):
    types = organisations.types(world.session, world.host)
    assert {"training.city_county", "training.association_office"} <= set(types)
    assert world.host.terms["training.trainer"].pl.singular["nom"] == "trener"
    assert isinstance(world.session.get(Case, world.training().id), Case)

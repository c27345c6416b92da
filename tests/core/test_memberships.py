"""Who works where: joining, leaving, promotions and rotations, with the history kept."""

from datetime import date

import pytest
from sqlalchemy import func, select

from core import memberships, organisations, people, records, timeline
from core.errors import ValidationError
from core.models import Membership, Organisation, Person


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def world(rt):
    """Anna Nowak and two municipalities, each with a department."""
    with rt.session() as session, session.begin():
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak"})
        kornik, mosina = (
            organisations.create(session, rt.host, {"name": name, "type_key": "core.municipality"})
            for name in ("Gmina Kórnik", "Gmina Mosina"))
        organisations.add_unit(session, kornik, "Wydział Oświaty")
        organisations.add_unit(session, mosina, "Referat Podatków")
    return anna.id, kornik.id, mosina.id


def load(session, world) -> tuple[Person, Organisation, Organisation]:
    anna, kornik, mosina = world
    return (session.get(Person, anna), session.get(Organisation, kornik),
            session.get(Organisation, mosina))


def events(session, record) -> list[str]:
    return [a.event for a in timeline.timeline(session, record, kinds=["system"])]


def test_a_person_joins_and_leaves(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, _ = load(session, world)
        joined = memberships.join(session, anna, kornik, " Sekretarz ", date(2020, 1, 1),
                                  kornik.units[0])
        memberships.leave(session, joined, date(2022, 6, 30))
    with rt.session() as session:
        membership = session.get(Membership, joined.id)
        assert (membership.role, membership.unit.name) == ("Sekretarz", "Wydział Oświaty")
        assert (membership.start_date, membership.end_date) == (date(2020, 1, 1),
                                                                date(2022, 6, 30))
        assert membership.is_current(date(2022, 6, 30))
        assert not membership.is_current(date(2022, 7, 1))


def test_leaving_before_joining_is_refused(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, _ = load(session, world)
        joined = memberships.join(session, anna, kornik, "Sekretarz", date(2020, 1, 1))
        with pytest.raises(ValidationError) as refused:
            memberships.leave(session, joined, date(2019, 12, 31))
    assert refused.value.errors == {"end_date": "The end cannot be before the start."}
    with rt.session() as session:
        assert session.get(Membership, joined.id).end_date is None


def test_leaving_twice_is_refused(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, _ = load(session, world)
        joined = memberships.join(session, anna, kornik, "Sekretarz", date(2020, 1, 1))
        memberships.leave(session, joined, date(2021, 1, 31))
        with pytest.raises(ValidationError) as refused:
            memberships.leave(session, joined, date(2021, 3, 31))
    assert refused.value.errors == {"end_date": "This membership has already ended."}
    with rt.session() as session:
        assert session.get(Membership, joined.id).end_date == date(2021, 1, 31)


def test_a_promotion_ends_the_old_role_the_day_before_the_new_one(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, _ = load(session, world)
        old = memberships.join(session, anna, kornik, "Inspektor", date(2020, 1, 1),
                               kornik.units[0])
        new = memberships.move(session, old, date(2023, 3, 1), role="Kierownik")
    with rt.session() as session:
        old, new = session.get(Membership, old.id), session.get(Membership, new.id)
        assert old.end_date == date(2023, 2, 28)
        assert (new.role, new.start_date, new.end_date) == ("Kierownik", date(2023, 3, 1), None)
        assert (new.organisation_id, new.unit_id) == (old.organisation_id, old.unit_id)


def test_a_rotation_to_another_organisation_keeps_the_role_unless_given(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, mosina = load(session, world)
        first = memberships.join(session, anna, kornik, "Inspektor", date(2020, 1, 1),
                                 kornik.units[0])
        second = memberships.move(session, first, date(2022, 1, 1), organisation=mosina)
        third = memberships.move(session, second, date(2023, 1, 1), organisation=kornik,
                                 role="Zastępca wójta")
    with rt.session() as session:
        second, third = session.get(Membership, second.id), session.get(Membership, third.id)
        assert (second.organisation_id, second.role, second.unit_id) == (
            mosina.id, "Inspektor", None)
        assert (second.start_date, second.end_date) == (date(2022, 1, 1), date(2022, 12, 31))
        assert (third.organisation_id, third.role) == (kornik.id, "Zastępca wójta")


def test_history_lists_the_current_membership_first_then_the_latest_ended(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, mosina = load(session, world)
        current = memberships.join(session, anna, mosina, "Skarbnik", date(2021, 1, 1))
        oldest = memberships.join(session, anna, kornik, "Stażysta", date(2015, 1, 1))
        memberships.leave(session, oldest, date(2016, 12, 31))
        later = memberships.join(session, anna, kornik, "Inspektor", date(2017, 1, 1))
        memberships.leave(session, later, date(2020, 12, 31))
    with rt.session() as session:
        anna, kornik, _ = load(session, world)
        assert [m.id for m in memberships.history(session, person=anna)] == [
            current.id, later.id, oldest.id]
        assert [m.id for m in memberships.history(session, organisation=kornik)] == [
            later.id, oldest.id]


def test_a_unit_of_another_organisation_is_refused(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, mosina = load(session, world)
        with pytest.raises(ValidationError) as refused:
            memberships.join(session, anna, kornik, "Inspektor", unit=mosina.units[0])
    assert set(refused.value.errors) == {"unit"}
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Membership)) == 0
        assert events(session, session.get(Person, world[0])) == []


def test_a_move_refused_for_a_foreign_unit_leaves_the_membership_running(rt, world):
    with rt.session() as session:
        anna, kornik, mosina = load(session, world)
        joined = memberships.join(session, anna, kornik, "Inspektor", date(2020, 1, 1))
        with pytest.raises(ValidationError) as refused:
            memberships.move(session, joined, date(2023, 3, 1), unit=mosina.units[0])
        assert set(refused.value.errors) == {"unit"}
        assert joined.end_date is None
        assert events(session, anna) == ["membership_started"]


def test_joining_and_leaving_appear_on_both_timelines(rt, world):
    with rt.session() as session, session.begin():
        anna, kornik, _ = load(session, world)
        joined = memberships.join(session, anna, kornik, "Sekretarz", date(2020, 1, 1))
        memberships.leave(session, joined, date(2022, 6, 30))
    with rt.session() as session:
        anna, kornik, mosina = load(session, world)
        for record in (anna, kornik):
            assert events(session, record) == ["membership_ended", "membership_started"]
        assert events(session, mosina) == []
        ended = timeline.timeline(session, kornik, kinds=["system"])[0]
        assert ended.subject == "Anna Nowak — Gmina Kórnik (Sekretarz)"
        assert (ended.data["membership_id"], ended.data["end"]) == (joined.id, "2022-06-30")


def test_history_leaves_out_people_and_organisations_in_the_bin(rt):
    with rt.session() as session, session.begin():
        kornik = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                         "type_key": "core.municipality"})
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak"})
        jan = people.create(session, {"first_name": "Jan", "last_name": "Kos"})
        memberships.join(session, anna, kornik, "sekretarz")
        memberships.join(session, jan, kornik, "skarbnik")
        records.soft_delete(session, jan)
    with rt.session() as session:
        roles = [m.role for m in memberships.history(session, organisation=kornik)]
    assert roles == ["sekretarz"]

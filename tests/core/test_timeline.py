"""Timelines: the contact history a user reads on the card of a person or organisation."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import hookimpl, memberships, organisations, people, timeline
from core.errors import ValidationError
from core.models import Activity, ActivityLink, Organisation, Person

USER_KINDS = ["note", "call", "meeting", "email_in", "email_out"]
NOON = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def org(session, rt, name) -> Organisation:
    return organisations.create(session, rt.host, {"name": name, "type_key": "core.municipality"})


def person(session, first, last) -> Person:
    return people.create(session, {"first_name": first, "last_name": last})


def ids(session, record, **options) -> list[int]:
    options.setdefault("kinds", USER_KINDS)
    return [a.id for a in timeline.timeline(session, record, **options)]


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_an_activity_about_several_records_is_on_each_timeline(rt):
    with rt.session() as session, session.begin():
        anna, kornik = person(session, "Anna", "Nowak"), org(session, rt, "Gmina Kórnik")
        county = org(session, rt, "Starostwo Powiatowe w Poznaniu")
        other = org(session, rt, "Gmina Mosina")
        meeting = timeline.add(session, "meeting", "Spotkanie w sprawie drogi",
                               [anna, kornik, county, kornik], body="Uzgodniono termin.")
    with rt.session() as session:
        for record in (anna, kornik, county):
            assert ids(session, record) == [meeting.id]
        assert ids(session, other) == []
    assert count(rt, ActivityLink) == 3


def test_an_organisation_can_show_the_activities_of_its_people_once_each(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        anna, jan = person(session, "Anna", "Nowak"), person(session, "Jan", "Kowal")
        ewa = person(session, "Ewa", "Lis")
        first = memberships.join(session, anna, kornik, "Inspektor", date(2015, 1, 1))
        second = memberships.move(session, first, date(2018, 1, 1), role="Kierownik")
        memberships.leave(session, second, date(2020, 12, 31))  # a former employee
        memberships.join(session, jan, kornik, "Wójt")
        about_org = timeline.add(session, "note", "Sesja rady", [kornik])
        about_anna = timeline.add(session, "call", "Anna dzwoniła", [anna])
        about_both = timeline.add(session, "meeting", "Anna w urzędzie", [anna, kornik])
        about_jan = timeline.add(session, "email_in", "List od wójta", [jan])
        timeline.add(session, "note", "Ewa nigdy nie pracowała w gminie", [ewa])
    with rt.session() as session:
        with_people = ids(session, kornik, include_people=True)
        assert sorted(with_people) == sorted([about_org.id, about_anna.id, about_both.id,
                                              about_jan.id])
        assert sorted(ids(session, kornik)) == sorted([about_org.id, about_both.id])
        assert ids(session, anna, include_people=True) == [about_both.id, about_anna.id]


def test_newest_first_with_ties_broken_by_the_later_entry(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        first = timeline.add(session, "note", "A", [kornik], occurred_at=NOON)
        older = timeline.add(session, "note", "B", [kornik], occurred_at=NOON - timedelta(1))
        second = timeline.add(session, "call", "C", [kornik], occurred_at=NOON)
        newer = timeline.add(session, "note", "D", [kornik],
                             occurred_at=NOON + timedelta(seconds=1))
    with rt.session() as session:
        assert ids(session, kornik) == [newer.id, second.id, first.id, older.id]


def test_paging_back_through_a_long_history_skips_and_repeats_nothing(rt):
    minutes = list(range(120))
    random.Random(7).shuffle(minutes)  # entered out of order, four at each minute
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        added = [timeline.add(session, "note", f"Notatka {m}", [kornik],
                              occurred_at=NOON + timedelta(minutes=m // 4)) for m in minutes]
    expected = [a.id for a in sorted(added, key=lambda a: (a.occurred_at, a.id), reverse=True)]
    pages, before = [], None
    with rt.session() as session:
        while page := timeline.timeline(session, kornik, before=before, limit=50):
            pages.append([a.id for a in page])
            before = page[-1]
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [i for p in pages for i in p] == expected


def test_the_timeline_can_be_filtered_by_kind(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        timeline.add(session, "note", "Notatka", [kornik], occurred_at=NOON)
        call = timeline.add(session, "call", "Telefon", [kornik], occurred_at=NOON)
        meeting = timeline.add(session, "meeting", "Spotkanie", [kornik], occurred_at=NOON)
    with rt.session() as session:
        assert ids(session, kornik, kinds=["call", "meeting"]) == [meeting.id, call.id]
        assert len(ids(session, kornik, kinds=None)) == 3


@pytest.mark.parametrize(("kind", "subject", "about", "field"), [
    ("chat", "Rozmowa", True, "kind"),
    ("note", "Rozmowa", False, "about"),
    ("note", "   ", True, "subject"),
])
def test_a_bad_activity_is_refused_and_nothing_is_written(rt, kind, subject, about, field):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        with pytest.raises(ValidationError) as refused:
            timeline.add(session, kind, subject, [kornik] if about else [])
    assert set(refused.value.errors) == {field}
    assert count(rt, Activity) == 0


def test_a_note_with_only_a_body_is_accepted(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina Kórnik")
        note = timeline.add(session, "note", " ", [kornik], body="Wójt prosi o ofertę.")
    assert (note.subject, note.body) == ("", "Wójt prosi o ofertę.")


def test_an_existing_activity_can_be_added_to_another_timeline_once(rt):
    with rt.session() as session, session.begin():
        anna, kornik = person(session, "Anna", "Nowak"), org(session, rt, "Gmina Kórnik")
        email = timeline.add(session, "email_in", "Zapytanie ofertowe", [anna],
                             occurred_at=NOON)
        later = timeline.add(session, "note", "Oferta wysłana", [kornik],
                             occurred_at=NOON + timedelta(hours=1))
        timeline.link(session, email, kornik)
        timeline.link(session, email, kornik)
    with rt.session() as session:
        assert ids(session, kornik) == [later.id, email.id]
        assert ids(session, anna) == [email.id]
        paged = timeline.timeline(session, kornik, before=session.get(Activity, later.id))
        assert [a.id for a in paged] == [email.id]
    assert count(rt, ActivityLink) == 3


class Spy:
    """A plugin written in the test: records the records it hears created."""

    def __init__(self):
        self.heard = []

    @hookimpl
    def kartoteka_record_created(self, record):
        self.heard.append((type(record).__name__, record.id))


def test_adding_an_activity_notifies_plugins_after_the_commit(rt):
    spy = Spy()
    rt.host.pm.register(spy, name="spy")
    with rt.session() as session:
        kornik = org(session, rt, "Gmina Kórnik")
        session.commit()
        note_id = timeline.add(session, "note", "Sesja rady", [kornik]).id
        assert spy.heard == [("Organisation", kornik.id)]  # not before the commit
        session.commit()
        timeline.add(session, "note", "Wycofana notatka", [kornik])
        session.rollback()
        assert spy.heard == [("Organisation", kornik.id), ("Activity", note_id)]

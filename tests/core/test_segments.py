"""Saved segments: members that follow the records, private and shared segments."""

import pytest
from sqlalchemy import func, select

from core import organisations, records, segments, users
from core.errors import ValidationError
from core.models import Organisation, Segment, User

MUNICIPALITIES_IN_WIELKOPOLSKA = {"and": [
    {"field": "type_key", "op": "eq", "value": "core.municipality"},
    {"field": "region", "op": "eq", "value": "wielkopolskie"}]}


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def staff(rt):
    """Ids of two staff members, Ola and Bartek, and of an administrator."""
    with rt.session() as session, session.begin():
        made = [users.create_user(session, email, "correct horse battery", is_admin=admin)
                for email, admin in (("ola@example.com", False), ("bartek@example.com", False),
                                     ("admin@example.com", True))]
    return [u.id for u in made]


def user(session, user_id) -> User:
    return session.get(User, user_id)


def new_org(session, rt, name, region="wielkopolskie", type_key="core.municipality"):
    return organisations.create(session, rt.host, {"name": name, "type_key": type_key,
                                                   "region": region})


def member_names(rt, segment_id, actor_id) -> list[str]:
    with rt.session() as session:
        segment = session.get(Segment, segment_id)
        query = segments.members(session, segment, user(session, actor_id))
        return sorted(o.name for o in session.scalars(query))


def test_a_segments_members_follow_the_records(rt, staff):
    ola = staff[0]
    with rt.session() as session, session.begin():
        new_org(session, rt, "Gmina Kórnik")
        new_org(session, rt, "Gmina Łask", region="łódzkie")
        segment = segments.save(session, " Gminy Wielkopolski ", "organisation",
                                MUNICIPALITIES_IN_WIELKOPOLSKA, user(session, ola))
    assert segment.name == "Gminy Wielkopolski"
    assert member_names(rt, segment.id, ola) == ["Gmina Kórnik"]

    with rt.session() as session, session.begin():
        new_org(session, rt, "Gmina Mosina")
        lask = session.scalar(select(Organisation).where(Organisation.name == "Gmina Łask"))
        organisations.update(session, rt.host, lask, {"region": "wielkopolskie"})
        kornik = session.scalar(select(Organisation).where(Organisation.name == "Gmina Kórnik"))
        records.soft_delete(session, kornik)
    assert member_names(rt, segment.id, ola) == ["Gmina Mosina", "Gmina Łask"]
    with rt.session() as session:
        assert segments.count(session, session.get(Segment, segment.id)) == 2


def test_a_private_segment_is_seen_only_by_its_owner_and_a_shared_one_by_all(rt, staff):
    ola, bartek, _admin = staff
    with rt.session() as session, session.begin():
        mine = segments.save(session, "Moje gminy", "organisation",
                             MUNICIPALITIES_IN_WIELKOPOLSKA, user(session, ola))
        shared = segments.save(session, "Firmy", "organisation",
                               {"field": "type_key", "op": "eq", "value": "core.company"},
                               user(session, ola), shared=True)
        segments.save(session, "Wszyscy", "person", {"and": []}, user(session, bartek))
    with rt.session() as session:
        assert [s.name for s in segments.visible_segments(session, user(session, ola))] == [
            "Firmy", "Moje gminy"]
        assert [s.name for s in segments.visible_segments(session, user(session, bartek))] == [
            "Firmy", "Wszyscy"]
        assert [s.name for s in segments.visible_segments(
            session, user(session, bartek), record_type="organisation")] == ["Firmy"]
        assert segments.get(session, mine.id, user(session, bartek)) is None
        assert segments.get(session, shared.id, user(session, bartek)).name == "Firmy"
        assert segments.get(session, mine.id, user(session, ola)).name == "Moje gminy"


def test_only_the_owner_or_an_administrator_changes_or_deletes_a_segment(rt, staff):
    ola, bartek, admin = staff
    with rt.session() as session, session.begin():
        segment = segments.save(session, "Firmy", "organisation",
                                {"field": "type_key", "op": "eq", "value": "core.company"},
                                user(session, ola), shared=True)
    with rt.session() as session, session.begin():
        segment = session.get(Segment, segment.id)
        for attempt in (lambda: segments.update(session, segment, user(session, bartek),
                                                name="Moje"),
                        lambda: segments.delete(session, segment, user(session, bartek))):
            with pytest.raises(ValidationError) as caught:
                attempt()
            assert caught.value.errors == {
                "segment": "Only the owner of a segment can change or delete it."}
        segments.update(session, segment, user(session, ola), name="Kontrahenci",
                        filter={"tag": "Kontrahent"}, shared=False)
    with rt.session() as session:
        segment = session.get(Segment, segment.id)
        assert (segment.name, segment.filter, segment.shared) == (
            "Kontrahenci", {"tag": "Kontrahent"}, False)
    with rt.session() as session, session.begin():
        segments.delete(session, session.get(Segment, segment.id), user(session, admin))
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Segment)) == 0


def test_a_bad_segment_is_refused_with_every_problem_and_nothing_saved(rt, staff):
    with rt.session() as session, session.begin():
        ola = user(session, staff[0])
        with pytest.raises(ValidationError) as caught:
            segments.save(session, "  ", "organisation",
                          {"and": [{"field": "city", "op": "eq", "value": "Poznań"},
                                   {"field": "ciry", "op": "eq", "value": "Poznań"}]}, ola,
                          shared="yes")
        assert caught.value.errors == {
            "name": "Enter a name.", "shared": "Give true or false.",
            "filter.and.1.field": "Unknown field 'ciry' for organisations."}
        with pytest.raises(ValidationError) as caught:
            segments.save(session, "X" * 201, "spaceship", {"and": []}, ola)
        assert caught.value.errors == {
            "name": "At most 200 characters.",
            "record_type": "Segments are not available for this kind of record."}
        with pytest.raises(ValidationError) as caught:
            segments.save(session, "Pusty", "person", None, ola)
        assert caught.value.errors == {"filter": "Give a filter."}
        segment = segments.save(session, "Dobre", "person", {"and": []}, ola)
        with pytest.raises(ValidationError) as caught:
            segments.update(session, segment, ola, filter={"tag": ""}, owner_id=5)
        assert caught.value.errors == {"owner_id": "Unknown field."}
        with pytest.raises(ValidationError) as caught:
            segments.update(session, segment, ola, filter={"membership": {"role": 5}})
        assert caught.value.errors == {"filter.membership.role": "Give a text value."}
    with rt.session() as session:
        assert [s.filter for s in session.scalars(select(Segment))] == [{"and": []}]


def test_a_stored_filter_is_a_copy_of_the_one_given(rt, staff):
    given = {"and": [{"field": "city", "op": "eq", "value": "Poznań"}]}
    with rt.session() as session, session.begin():
        segment = segments.save(session, "Poznań", "organisation", given,
                                user(session, staff[0]))
    given["and"].append({"field": "ciry", "op": "eq", "value": "x"})
    with rt.session() as session:
        assert session.get(Segment, segment.id).filter == {
            "and": [{"field": "city", "op": "eq", "value": "Poznań"}]}

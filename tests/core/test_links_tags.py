"""Links between any two records and tags on any record."""

import pytest
from sqlalchemy import func, select

from core import links, organisations, people, tags
from core.errors import ValidationError
from core.models import Organisation, Person, RecordLink, Tag, Tagging


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def records(rt):
    """Anna Nowak and two organisations, as (person, organisation, organisation) ids."""
    with rt.session() as session, session.begin():
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak"})
        kornik, krzak = (organisations.create(session, rt.host, {"name": n, "type_key": t})
                         for n, t in (("Gmina Kórnik", "core.municipality"),
                                      ("Firma Krzak", "core.company")))
    return anna.id, kornik.id, krzak.id


def load(session, ids) -> tuple[Person, Organisation, Organisation]:
    anna, kornik, krzak = ids
    return (session.get(Person, anna), session.get(Organisation, kornik),
            session.get(Organisation, krzak))


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def others(session, record) -> list[tuple[str, int, str]]:
    return [(t, i, row.link_type) for row, t, i in links.links_of(session, record)]


def test_a_link_shows_on_both_records(rt, records):
    anna_id, kornik_id, krzak_id = records
    with rt.session() as session, session.begin():
        anna, kornik, krzak = load(session, records)
        links.link(session, krzak, kornik, "contractor")
        links.link(session, anna, krzak)
    with rt.session() as session:
        anna, kornik, krzak = load(session, records)
        assert others(session, krzak) == [("organisation", kornik_id, "contractor"),
                                          ("person", anna_id, "related")]
        assert others(session, kornik) == [("organisation", krzak_id, "contractor")]
        assert others(session, anna) == [("organisation", krzak_id, "related")]


def test_linking_the_same_pair_again_changes_nothing(rt, records):
    with rt.session() as session, session.begin():
        _, kornik, krzak = load(session, records)
        first = links.link(session, krzak, kornik, "contractor")
        assert links.link(session, krzak, kornik, "contractor").id == first.id
        links.link(session, krzak, kornik, "partner")
    assert count(rt, RecordLink) == 2


def test_a_record_cannot_be_linked_to_itself(rt, records):
    with rt.session() as session, session.begin():
        _, kornik, _ = load(session, records)
        with pytest.raises(ValidationError) as refused:
            links.link(session, kornik, kornik)
    assert refused.value.errors == {"target": "A record cannot be linked to itself."}
    assert count(rt, RecordLink) == 0


def test_unlinking_removes_the_link_from_both_records(rt, records):
    with rt.session() as session, session.begin():
        anna, kornik, krzak = load(session, records)
        gone = links.link(session, krzak, kornik, "contractor")
        links.link(session, anna, kornik)
    with rt.session() as session, session.begin():
        links.unlink(session, session.get(RecordLink, gone.id))
    with rt.session() as session:
        anna, kornik, krzak = load(session, records)
        assert others(session, krzak) == []
        assert others(session, kornik) == [("person", anna.id, "related")]


def test_a_tag_is_stored_with_its_spaces_tidied(rt, records):
    with rt.session() as session, session.begin():
        _, kornik, _ = load(session, records)
        assert tags.tag(session, kornik, "  ważny \t  klient ").name == "ważny klient"
    with rt.session() as session:
        assert tags.tags_of(session, load(session, records)[1]) == ["ważny klient"]


def test_tagging_twice_changes_nothing_and_records_share_a_tag(rt, records):
    with rt.session() as session, session.begin():
        anna, kornik, krzak = load(session, records)
        first = tags.tag(session, kornik, "przetarg")
        assert tags.tag(session, kornik, " przetarg").id == first.id
        tags.tag(session, krzak, "przetarg")
        tags.tag(session, anna, "przetarg")
    assert (count(rt, Tag), count(rt, Tagging)) == (1, 3)


def test_untagging_removes_the_tag_from_that_record_only(rt, records):
    with rt.session() as session, session.begin():
        _, kornik, krzak = load(session, records)
        for record in (kornik, krzak):
            tags.tag(session, record, "ważny klient")
        tags.tag(session, kornik, "przetarg")
        tags.untag(session, kornik, " ważny  klient")
        tags.untag(session, kornik, "nigdy nie nadany")
    with rt.session() as session:
        _, kornik, krzak = load(session, records)
        assert tags.tags_of(session, kornik) == ["przetarg"]
        assert tags.tags_of(session, krzak) == ["ważny klient"]


def test_tags_of_a_record_are_sorted(rt, records):
    with rt.session() as session, session.begin():
        _, kornik, _ = load(session, records)
        for name in ("przetarg", "archiwum", "klient", "budżet"):
            tags.tag(session, kornik, name)
    with rt.session() as session:
        assert tags.tags_of(session, load(session, records)[1]) == [
            "archiwum", "budżet", "klient", "przetarg"]


@pytest.mark.parametrize("name", ["x" * 61, "   ", ""])
def test_an_empty_or_over_long_tag_is_refused(rt, records, name):
    with rt.session() as session, session.begin():
        _, kornik, _ = load(session, records)
        with pytest.raises(ValidationError) as refused:
            tags.tag(session, kornik, name)
        assert refused.value.errors == {"tag": "A tag has 1 to 60 characters."}
        assert tags.tag(session, kornik, "y" * 60).name == "y" * 60
    assert count(rt, Tag) == 1

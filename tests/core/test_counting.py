"""Counts of lists and segments: exact under the cap, labelled as estimates above it."""

import re

import pytest
from sqlalchemy import text as sql

from core import counting, organisations, people, records, segments
from core.models import Organisation
from core.web.listing import PAGE
from tests.core.page_helpers import add_org, show, visible, writing

CAP = 3
MANY = PAGE + 2  # more than a page holds, so the list cannot count them by showing them


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", COUNT_CAP=CAP)


@pytest.fixture
def polish_app(kartoteka_app_factory):
    """The same installation in its default language, Polish."""
    return kartoteka_app_factory(COUNT_CAP=CAP)


@pytest.fixture
def polish(polish_app, kartoteka_login):
    return kartoteka_login(polish_app.test_client())


def shown_count(page: str) -> str:
    return visible(re.search(r'<p class="muted list-count"[^>]*>(.*?)</p>', page, re.S)[1])


def add_orgs(app, *names, type_key="core.municipality") -> list[int]:
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        return [organisations.create(session, host, {"name": name, "type_key": type_key},
                                     admin, allow_duplicates=True).id for name in names]


def municipalities(count: int) -> list[str]:
    return [f"Gmina {number:02}" for number in range(1, count + 1)]


def analyse(app) -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live PostgreSQL."""
    with writing(app) as (session, _admin):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sql("ANALYZE organisations"))


def is_postgresql(app) -> bool:
    return app.extensions["kartoteka"].engine.dialect.name == "postgresql"


def test_a_list_under_the_cap_shows_its_exact_count_in_the_users_language(app, client,
                                                                          polish):
    add_orgs(app, "Gmina Kórnik", "Gmina Mosina")
    assert shown_count(show(client, "/organisations/")) == "2 organisations"
    assert shown_count(show(polish, "/organisations/")) == "2 organizacje"
    assert shown_count(show(client, "/people/")) == "0 people"
    assert shown_count(show(polish, "/people/")) == "0 osób"
    with writing(app) as (session, admin):
        people.create(session, {"first_name": "Anna", "last_name": "Nowak"}, admin)
    assert shown_count(show(client, "/people/")) == "1 person"
    assert shown_count(show(polish, "/people/")) == "1 osoba"


def test_a_list_longer_than_a_page_is_counted_exactly_under_the_cap(kartoteka_app_factory,
                                                                    kartoteka_login):
    app = kartoteka_app_factory(default_locale="en", COUNT_CAP=MANY)
    client = kartoteka_login(app.test_client())
    add_orgs(app, *municipalities(MANY))
    first = show(client, "/organisations/")
    assert "Next page" in first
    assert shown_count(first) == f"{MANY} organisations"


def test_the_count_follows_the_search_the_type_and_leaves_out_the_bin(app, client):
    kornik, _mosina, _school = add_orgs(app, "Gmina Kórnik", "Gmina Mosina", "Szkoła w Bninie")
    add_org(app, "Powiat Poznański", type_key="core.county")
    assert shown_count(show(client, "/organisations/?q=gmina")) == "2 organisations"
    assert shown_count(show(client, "/organisations/?type_key=core.county")) == \
        "1 organisation"
    with writing(app) as (session, admin):
        records.soft_delete(session, session.get(Organisation, kornik), admin)
    assert shown_count(show(client, "/organisations/?q=gmina")) == "1 organisation"
    assert shown_count(show(client, "/organisations/?q=nothing-like-it")) == \
        "0 organisations"


def test_a_list_past_the_cap_says_its_count_is_not_exact(app, client, polish):
    add_orgs(app, *municipalities(MANY))
    analyse(app)
    first = show(client, "/organisations/")
    second = show(client, "/organisations/?after=" +
                  re.search(r'after=([^"&]+)', first)[1].replace("&#43;", "+"))
    if is_postgresql(app):
        # The planner's estimate: with fresh statistics, the rows of the table.
        expected, polish_expected = f"about {MANY} organisations", f"około {MANY} organizacji"
    else:
        expected, polish_expected = "more than 3 organisations", "ponad 3 organizacje"
    assert shown_count(first) == shown_count(second) == expected
    assert shown_count(show(polish, "/organisations/")) == polish_expected
    assert "Gmina 01" in first and f"Gmina {MANY}" in second


def test_a_search_that_fits_one_page_is_counted_exactly_past_the_cap(app, client):
    add_orgs(app, *municipalities(MANY))
    assert shown_count(show(client, "/organisations/?q=gmina 0")) == "9 organisations"


def test_a_segments_list_is_counted_the_same_way(app, client):
    add_orgs(app, *municipalities(MANY))
    add_orgs(app, "Powiat Poznański", "Powiat Kaliski", type_key="core.county")
    analyse(app)
    with writing(app) as (session, admin):
        counties = segments.save(session, "Powiaty", "organisation", {"and": [
            {"field": "type_key", "op": "eq", "value": "core.county"}]}, admin)
        gminy = segments.save(session, "Gminy", "organisation", {"and": [
            {"field": "type_key", "op": "eq", "value": "core.municipality"}]}, admin)
    assert shown_count(show(client, f"/organisations/?segment={counties.id}")) == \
        "2 organisations"
    past_cap = shown_count(show(client, f"/organisations/?segment={gminy.id}"))
    # PostgreSQL's planner cannot see through the folded comparison of the filter and
    # may estimate its rows under the cap: then all that is known is the cap was passed.
    not_exact = r"(about \d+|more than 3) organisations" if is_postgresql(app) \
        else r"more than 3 organisations"
    assert re.fullmatch(not_exact, past_cap), past_cap


def test_counting_stops_at_the_cap_and_estimates_beyond(app):
    add_orgs(app, "Gmina Kórnik", "Gmina Mosina", "Gmina Śrem", "Gmina Luboń")
    analyse(app)
    with app.extensions["kartoteka"].session() as session:
        query = records.visible(Organisation)
        assert counting.count(session, query, cap=4) == counting.Count(4, counting.EXACT)
        assert counting.count(session, query.where(Organisation.name == "Gmina Śrem"),
                              cap=1) == counting.Count(1, counting.EXACT)
        beyond = counting.count(session, query, cap=2)
        if is_postgresql(app):
            assert beyond == counting.Count(4, counting.ABOUT)
        else:
            assert beyond == counting.Count(2, counting.MORE_THAN)
        assert not beyond.exact


@pytest.mark.parametrize("count, english, polish", [
    (counting.Count(120_000, counting.ABOUT), "about 120,000 people", "około 120\xa0000 osób"),
    (counting.Count(10_000, counting.MORE_THAN), "more than 10,000 people",
     "ponad 10\xa0000 osób"),
    (counting.Count(2, counting.MORE_THAN), "more than 2 people", "ponad 2 osoby"),
    (counting.Count(22, counting.EXACT), "22 people", "22 osoby"),
    (counting.Count(25, counting.EXACT), "25 people", "25 osób"),
])
def test_labels_of_exact_and_estimated_counts(app, polish_app, count, english, polish):
    with app.test_request_context():
        assert count.text("core.person") == english
    with polish_app.test_request_context():
        assert count.text("core.person") == polish

"""Full-text search as you type: prefixes, diacritics, identifiers, hostile input."""

import pytest
from sqlalchemy import func, inspect, select, text

from core import migrate, organisations, people, records, search
from core.db import make_engine
from core.errors import ValidationError
from core.models import ContactPoint, Organisation, Person

HOSTILE_INPUT = ['"', '""', "*", "korn*", '"korn', "NEAR(a b)", "NEAR", "AND", "OR", "NOT",
                  "a OR b", "(", ")", "()", "-", "- korn", "kórn -", "^korn", "korn:", ":",
                  "{body}: korn", "body:korn", "'", "O'Neill", "\\", "%", "_", "&", "|", "!",
                  "korn & !x", "a:*", "'korn':*", "   ", "", "\x00", "korn\x00", "\ud800",
                  "x" * 5000]


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def card_index(rt):
    with rt.session() as session, session.begin():
        kornik = organisations.create(session, rt.host, {
            "name": "Gmina Kórnik", "type_key": "core.municipality", "nip": "725-180-11-26",
            "regon": "631258833", "email": "urzad@kornik.pl", "city": "Kórnik",
            "notes": "Szkolenie z zamówień publicznych w Bninie, potem w Poznaniu; "
                     "termin ustalony z sekretarzem gminy na jesień."})
        lodz = organisations.create(session, rt.host, {
            "name": "Łódzkie Stowarzyszenie Ekologiczne", "type_key": "core.association",
            "city": "Łódź", "nip": "7770003699"})
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                       "emails": ["anna.nowak@example.com"],
                                       "phones": ["600 100 200"], "pesel": "44051401359"})
        people.create(session, {"first_name": "Kornelia", "last_name": "Żak"})
    return {"kornik": kornik.id, "lodz": lodz.id, "anna": anna.id}


def found(rt, typed, **options) -> list[str]:
    with rt.session() as session:
        return [h.label for h in search.search(session, typed, **options)]


def test_prefixes_find_records_as_you_type_whatever_the_case_and_diacritics(rt, card_index):
    for typed in ("Kórn", "korn", "KORNIK", "gmi kór", "Gmina Kórnik"):
        assert "Gmina Kórnik" in found(rt, typed), typed
    assert found(rt, "korn", types=("organisation",)) == ["Gmina Kórnik"]
    assert sorted(found(rt, "korn")) == ["Gmina Kórnik", "Kornelia Żak"]
    assert found(rt, "zak") == ["Kornelia Żak"]
    assert found(rt, "lodz") == found(rt, "ŁÓDŹ") == ["Łódzkie Stowarzyszenie Ekologiczne"]
    assert found(rt, "ornik") == []  # the start of a word, not any part of it
    assert found(rt, "gmina mosina") == []  # every word must match


def test_identifiers_e_mails_phones_and_notes_are_searched(rt, card_index):
    assert found(rt, "725-180-11-26") == ["Gmina Kórnik"]
    assert found(rt, "725 180") == ["Gmina Kórnik"]
    assert found(rt, "6312588") == ["Gmina Kórnik"]
    assert found(rt, "urzad@kornik") == ["Gmina Kórnik"]
    assert found(rt, "anna.nowak@example.com") == ["Anna Nowak"]
    assert found(rt, "example") == ["Anna Nowak"]
    assert found(rt, "600 100 200") == ["Anna Nowak"]
    assert found(rt, "+48 600") == ["Anna Nowak"]
    assert found(rt, "44051401359") == ["Anna Nowak"]
    assert found(rt, "zamowien bnin") == ["Gmina Kórnik"]


def test_a_hit_says_what_matched(rt, card_index):
    with rt.session() as session:
        [nip] = search.search(session, "725-180")
        [email] = search.search(session, "exam")
        [notes] = search.search(session, "jesien")
        [name] = search.search(session, "gmina")
    assert (nip.record_type, nip.record_id, nip.label, nip.snippet) == (
        "organisation", card_index["kornik"], "Gmina Kórnik", "725-180-11-26")
    assert (email.record_type, email.record_id, email.snippet) == (
        "person", card_index["anna"], "anna.nowak@example.com")
    assert notes.snippet.startswith("…") and "na jesień." in notes.snippet
    assert name.snippet == "Kórnik"  # the name matched: the city says which Kórnik


def test_operator_characters_and_odd_input_typed_by_a_user_are_plain_text(rt, card_index):
    for typed in HOSTILE_INPUT:
        with rt.session() as session:
            hits = search.search(session, typed)
        assert isinstance(hits, list), typed
    assert sorted(found(rt, "korn*")) == sorted(found(rt, "korn"))
    assert sorted(found(rt, '"korn')) == sorted(found(rt, "korn"))
    assert sorted(found(rt, "- korn OR")) == []  # "or" is a word to match, not an operator
    assert found(rt, "(gmina) AND (kornik*)") == []  # "and" is a word too
    assert found(rt, "(gmina) (kornik*)") == ["Gmina Kórnik"]
    assert found(rt, "NEAR(gmina kornik)") == []


def test_soft_deleted_records_never_appear_and_come_back_when_restored(rt, card_index):
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Organisation, card_index["kornik"]))
        records.soft_delete(session, session.get(Person, card_index["anna"]))
    assert found(rt, "korn") == ["Kornelia Żak"]
    assert found(rt, "anna") == []
    with rt.session() as session, session.begin():
        records.restore(session, session.get(Organisation, card_index["kornik"]))
    assert "Gmina Kórnik" in found(rt, "korn")


def test_the_index_follows_every_change(rt, card_index):
    with rt.session() as session, session.begin():
        kornik = session.get(Organisation, card_index["kornik"])
        organisations.update(session, rt.host, kornik, {"name": "Gmina Mosina",
                                                        "city": "Mosina", "email": "", "notes": ""})
        anna = session.get(Person, card_index["anna"])
        people.update(session, anna, {"emails": ["a.nowak@mosina.pl"], "phones": []})
    assert found(rt, "kornik") == []
    assert sorted(found(rt, "mosina")) == ["Anna Nowak", "Gmina Mosina"]
    assert found(rt, "example") == []
    assert found(rt, "600100200") == []
    with rt.session() as session, session.begin():
        session.delete(session.get(Person, card_index["anna"]))
    assert found(rt, "mosina") == ["Gmina Mosina"]
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == 0


def test_search_types_and_limit(rt, card_index):
    assert found(rt, "korn", types=("person",)) == ["Kornelia Żak"]
    assert len(found(rt, "korn", limit=1)) == 1
    with pytest.raises(ValidationError) as caught, rt.session() as session:
        search.search(session, "korn", types=("spaceship",))
    assert caught.value.errors == {"types": "Unknown kind of record 'spaceship'."}


def search_objects(engine) -> set[str]:
    """Tables, triggers and functions of the search migration."""
    names = {t for t in inspect(engine).get_table_names() if t.startswith("search_")}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names |= set(conn.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        else:
            names |= set(conn.scalars(text(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace")))
            names |= set(conn.scalars(text(
                "SELECT proname FROM pg_proc "
                "WHERE pronamespace = current_schema()::regnamespace")))
    return names


def test_the_migration_downgrade_removes_everything_and_upgrade_indexes_existing_data(
        rt, card_index, database_url):
    engine = make_engine(database_url)
    try:
        created = search_objects(engine)
        trigger = ("search_organisations_insert" if engine.dialect.name == "sqlite"
                   else "search_organisations")
        assert {"search_documents", trigger} <= created
        migrate.downgrade(engine, migrate.CORE_BRANCH, "0003_planning")
        assert search_objects(engine) == set()
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        assert search_objects(engine) == created
    finally:
        engine.dispose()
    assert found(rt, "725-180") == ["Gmina Kórnik"]
    assert found(rt, "anna") == ["Anna Nowak"]


# --------------------------------------------------------------------- ranking, speed


@pytest.fixture
def kowal(rt):
    """Jan Kowal, added before five people whose names only start with "kowal"."""
    with rt.session() as session, session.begin():
        people.create(session, {"first_name": "Jan", "last_name": "Kowal"},
                      allow_duplicates=True)
        for first in ("Adam", "Ewa", "Jan", "Ola", "Piotr"):
            people.create(session, {"first_name": first, "last_name": "Kowalski"},
                          allow_duplicates=True)
        people.create(session, {"first_name": "Maria", "last_name": "Lis",
                                "emails": ["kowal@example.com"]})
        organisations.create(session, rt.host, {"name": "Kowalczyk i Syn",
                                                "type_key": "core.company"})


def test_the_whole_name_comes_first_then_whole_words_then_starts_then_the_rest(rt, kowal):
    ranked = found(rt, "kowal")
    assert ranked[0] == "Jan Kowal"  # a whole word of the name
    assert set(ranked[1:7]) == {"Adam Kowalski", "Ewa Kowalski", "Jan Kowalski",
                                "Ola Kowalski", "Piotr Kowalski", "Kowalczyk i Syn"}
    assert ranked[1:7] == sorted(ranked[1:7])  # names starting so, alphabetically
    assert ranked[7:] == ["Maria Lis"]  # only her e-mail matches
    assert found(rt, "jan kowalski")[0] == "Jan Kowalski"
    assert found(rt, "Kowalski Jan")[0] == "Jan Kowalski"
    assert found(rt, "jan kow")[:2] == ["Jan Kowal", "Jan Kowalski"]


def test_an_exact_name_is_found_first_among_more_matches_than_are_ranked(rt, kowal,
                                                                        monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    assert found(rt, "kowal", limit=1) == ["Jan Kowal"]
    assert found(rt, "kowal", limit=2)[0] == "Jan Kowal"


def test_records_in_the_bin_among_the_candidates_make_room_for_visible_ones(rt, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    with rt.session() as session, session.begin():
        kept = [people.create(session, {"first_name": f, "last_name": "Nowak"},
                              allow_duplicates=True).id for f in ("Anna", "Ewa", "Jan")]
        binned = [people.create(session, {"first_name": f, "last_name": "Nowakowska"},
                                allow_duplicates=True)
                  for f in ("Ola", "Iga", "Ala", "Ula", "Zoja")]
        for person in binned:
            records.soft_delete(session, person)
    # The newest matches of "nowa" are all in the bin: more are fetched until one shows.
    assert found(rt, "nowa", limit=1) == ["Anna Nowak"]
    assert found(rt, "nowak", limit=3) == ["Anna Nowak", "Ewa Nowak", "Jan Nowak"]
    assert found(rt, "nowakow") == []
    assert len(kept) == len(found(rt, "now", limit=10)) == 3


def test_one_and_two_letters_find_the_starts_of_words(rt, card_index):
    assert sorted(found(rt, "k")) == ["Gmina Kórnik", "Kornelia Żak"]
    assert found(rt, "ż", types=("person",)) == ["Kornelia Żak"]
    assert found(rt, "ł", types=("organisation",)) == ["Łódzkie Stowarzyszenie Ekologiczne"]
    assert found(rt, "an no") == ["Anna Nowak"]
    assert found(rt, "g k") == ["Gmina Kórnik"]
    assert found(rt, "q") == []


def test_a_rare_kind_of_record_among_many_matches_of_the_other_is_still_found(rt, card_index,
                                                                              monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    with rt.session() as session, session.begin():
        for first in ("Ada", "Ela", "Iza", "Ola", "Ula"):
            people.create(session, {"first_name": first, "last_name": "Kórnicka"},
                          allow_duplicates=True)
    assert found(rt, "korn", types=("organisation",)) == ["Gmina Kórnik"]
    assert found(rt, "korn", types=("organisation",), limit=1) == ["Gmina Kórnik"]


def test_the_speed_migration_downgrades_and_upgrades_without_losing_search(
        rt, card_index, database_url):
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, migrate.CORE_BRANCH, "0005_fields_terms_audit")
        assert "search_matches" not in search_objects(engine)
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        if engine.dialect.name == "postgresql":
            assert "search_matches" in search_objects(engine)
    finally:
        engine.dispose()
    assert found(rt, "k", types=("organisation",)) == ["Gmina Kórnik"]
    assert found(rt, "725-180") == ["Gmina Kórnik"]


def test_suggestions_in_the_box_put_the_exact_name_first(kartoteka_app_factory,
                                                         kartoteka_login, kowal):
    client = kartoteka_login(kartoteka_app_factory(default_locale="en").test_client())
    suggested = client.get("/search/suggest?q=Kowal").get_json()
    assert [s["label"] for s in suggested][:1] == ["Jan Kowal"]
    assert len(suggested) == 8  # the whole word, six names starting so, an e-mail
    assert suggested[0]["type"] == "person" and suggested[0]["url"].startswith("/people/")

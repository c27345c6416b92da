"""The filter language: every operator, special conditions, nesting, errors and sorting."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import filters, links, memberships, organisations, people, records, tags, timeline
from core.db import utcnow
from core.errors import ValidationError
from core.models import Organisation, Person

KORNIK, POZNAN, KRZAK, WRZESNIA = ("Gmina Kórnik", "Miasto Poznań", "Firma Krzak",
                                   "Gmina Września")
ANNA, JAN, EWA, PIOTR = "Anna Nowak", "Jan Kowalski", "Ewa Lis", "Piotr Zieliński"
ALL_ORGS = sorted([KORNIK, POZNAN, KRZAK, WRZESNIA])
WARSAW = ZoneInfo("Europe/Warsaw")
TODAY = filters.today()


def days_ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), WARSAW).astimezone(UTC)


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def card_index(rt):
    """Four organisations and four people with memberships, tags, links and activities."""
    with rt.session() as session, session.begin():
        def org(name, type_key, created_at=None, custom=None, **fields):
            made = organisations.create(session, rt.host,
                                        {"name": name, "type_key": type_key, **fields})
            # Values of keys no field defines, of mixed JSON types, as data written by
            # SQL or by an older installation leaves them: filters must cope.
            made.custom = custom or {}
            if created_at is not None:
                return records.update(session, made, {"created_at": created_at})
            return made

        kornik = org(KORNIK, "core.municipality", city="Kórnik", region="wielkopolskie",
                     nip="725-180-11-26", email="urzad@kornik.pl",
                     custom={"budget": 1500000, "signed_on": days_ago(10), "partner": True,
                             "tier": "Gold"})
        poznan = org(POZNAN, "core.public_body", noon(TODAY - timedelta(days=40)),
                     city="Poznań", region="wielkopolskie", nip="7770003699",
                     custom={"budget": 99.5, "signed_on": days_ago(100), "partner": False,
                             "tier": "silver"})
        krzak = org(KRZAK, "core.company", datetime(2025, 6, 1, 10, tzinfo=UTC),
                    city="Łódź", region="łódzkie", email="biuro@krzak.pl",
                    notes="Dostawca 100% papieru_A4 (O'Neill)",
                    custom={"budget": "unknown", "tier": ""})
        wrzesnia = org(WRZESNIA, "core.municipality", noon(TODAY - timedelta(days=5)),
                       city="Września", region="wielkopolskie")

        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                       "emails": ["Anna.Nowak@kornik.pl"],
                                       "phones": ["600 100 200"]})
        jan = people.create(session, {"first_name": "Jan", "last_name": "Kowalski",
                                      "emails": ["jan@poznan.pl"],
                                      "addresses": [{"city": "Poznań", "region": "Wielkopolskie"},
                                                    {"city": "Luboń"}]})
        ewa = people.create(session, {"first_name": "Ewa", "last_name": "Lis"})
        piotr = people.create(session, {"first_name": "Piotr", "last_name": "Zieliński"})
        memberships.join(session, anna, kornik, "Sekretarz", date(2020, 1, 1))
        memberships.join(session, jan, poznan, "Dyrektor", date(2021, 1, 1))
        ended = memberships.join(session, ewa, wrzesnia, "Skarbnik", date(2019, 1, 1))
        memberships.leave(session, ended, TODAY - timedelta(days=30))
        memberships.join(session, piotr, krzak, "Prezes")

        tags.tag(session, kornik, "VIP")
        tags.tag(session, anna, "VIP")
        tags.tag(session, krzak, "Dostawca")
        links.link(session, krzak, kornik, "contractor")
        links.link(session, anna, krzak)
        timeline.add(session, "call", "Rozmowa o szkoleniu", [kornik],
                     occurred_at=utcnow() - timedelta(days=10))
        timeline.add(session, "call", "Rozmowa o umowie", [poznan],
                     occurred_at=utcnow() - timedelta(days=100))
        timeline.add(session, "meeting", "Spotkanie", [wrzesnia],
                     occurred_at=noon(TODAY - timedelta(days=5)))
        timeline.add(session, "note", "Notatka", [anna])
    return {"kornik": kornik.id, "poznan": poznan.id, "krzak": krzak.id,
            "anna": anna.id, "ewa": ewa.id}


def label(record) -> str:
    return record.name if isinstance(record, Organisation) else record.full_name


def matching(rt, model, flt) -> list[str]:
    with rt.session() as session:
        query = filters.apply(records.visible(model), model, flt)
        return sorted(label(r) for r in session.scalars(query))


def check(rt, model, cases) -> None:
    """Every (filter, expected names) case; all mismatches reported at once."""
    wrong = [(flt, expected, found) for flt, expected in cases
             if (found := matching(rt, model, flt)) != sorted(expected)]
    assert wrong == []


def refused(rt, model, flt) -> dict:
    with pytest.raises(ValidationError) as caught:
        matching(rt, model, flt)
    return caught.value.errors


def cond(field, op, value=None) -> dict:
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


# --------------------------------------------------------------------- field operators


def test_text_operators_ignore_case_and_polish_letters_case(rt, card_index):
    check(rt, Organisation, [
        (cond("city", "eq", "POZNAŃ"), [POZNAN]),
        (cond("city", "eq", "łódź"), [KRZAK]),
        (cond("city", "eq", "Poznan"), []),
        (cond("city", "ne", "poznań"), [KORNIK, KRZAK, WRZESNIA]),
        (cond("name", "contains", "ÓRN"), [KORNIK]),
        (cond("name", "starts_with", "gmina"), [KORNIK, WRZESNIA]),
        (cond("name", "starts_with", "mina"), []),
        (cond("city", "in", ["kórnik", "WRZEŚNIA", "Gniezno"]), [KORNIK, WRZESNIA]),
        (cond("email", "empty"), [POZNAN, WRZESNIA]),
        (cond("email", "not_empty"), [KORNIK, KRZAK]),
        (cond("region", "eq", "ŁÓDZKIE"), [KRZAK]),
    ])


def test_like_wildcards_and_quotes_in_values_are_plain_characters(rt, card_index):
    check(rt, Organisation, [
        (cond("notes", "contains", "100%"), [KRZAK]),
        (cond("notes", "contains", "papieru_a4"), [KRZAK]),
        (cond("notes", "contains", "o'neill"), [KRZAK]),
        (cond("name", "contains", "%"), []),
        (cond("name", "contains", "_"), []),
        (cond("name", "starts_with", "%mina"), []),
    ])


def test_identifiers_match_however_the_separators_are_typed(rt, card_index):
    check(rt, Organisation, [
        (cond("nip", "eq", "725-180-11-26"), [KORNIK]),
        (cond("nip", "eq", "PL 725 180 11 26"), [KORNIK]),
        (cond("nip", "contains", "777-000"), [POZNAN]),
        (cond("nip", "in", ["7251801126", "777 000 36 99"]), [KORNIK, POZNAN]),
    ])
    check(rt, Person, [
        (cond("phone", "eq", "600-100-200"), [ANNA]),
        (cond("phone", "contains", "100 200"), [ANNA]),
    ])


def test_number_operators_on_a_custom_field(rt, card_index):
    budget = "custom.budget"
    check(rt, Organisation, [
        (cond(budget, "eq", 99.5), [POZNAN]),
        (cond(budget, "ne", 99.5), [KORNIK, KRZAK, WRZESNIA]),
        (cond(budget, "gt", 100), [KORNIK]),
        (cond(budget, "gte", 99.5), [KORNIK, POZNAN]),
        (cond(budget, "lt", 1500000), [POZNAN]),
        (cond(budget, "lte", 1500000), [KORNIK, POZNAN]),
        (cond(budget, "between", [0, 100]), [POZNAN]),
        (cond(budget, "between", [99.5, 1500000]), [KORNIK, POZNAN]),
        (cond(budget, "in", [99.5, 1]), [POZNAN]),
        (cond(budget, "empty"), [WRZESNIA]),
        (cond(budget, "not_empty"), [KORNIK, POZNAN, KRZAK]),
        # The text "unknown" stored by Krzak is neither a number nor equal to one.
        (cond(budget, "gt", -1e12), [KORNIK, POZNAN]),
        (cond(budget, "eq", "1500000"), []),
        (cond(budget, "lt", 2**70), [KORNIK, POZNAN]),
    ])


def test_date_time_operators_with_absolute_and_relative_dates(rt, card_index):
    created = "created_at"
    check(rt, Organisation, [
        (cond(created, "eq", "today"), [KORNIK]),
        (cond(created, "gte", {"days_ago": 7}), [KORNIK, WRZESNIA]),
        (cond(created, "lt", {"days_ago": 7}), [POZNAN, KRZAK]),
        (cond(created, "gt", {"days_ago": 40}), [KORNIK, WRZESNIA]),
        (cond(created, "lte", {"days_ago": 40}), [POZNAN, KRZAK]),
        (cond(created, "between", [{"days_ago": 45}, {"days_ago": 30}]), [POZNAN]),
        (cond(created, "between", ["2025-06-01", {"days_ago": 40}]), [POZNAN, KRZAK]),
        (cond(created, "eq", "2025-06-01"), [KRZAK]),
        (cond(created, "ne", "2025-06-01"), [KORNIK, POZNAN, WRZESNIA]),
        (cond(created, "in", ["2025-06-01", "today"]), [KORNIK, KRZAK]),
        (cond(created, "lt", {"days_ahead": 1}), ALL_ORGS),
        (cond(created, "gt", "today"), []),
        (cond(created, "eq", "2025-06-01T10:00:00+00:00"), [KRZAK]),
        (cond(created, "eq", "2025-06-01T12:00"), [KRZAK]),  # Warsaw time, as configured
        (cond(created, "lte", "2025-06-01T09:59"), []),
        (cond(created, "empty"), []),
        (cond(created, "not_empty"), ALL_ORGS),
    ])


def test_date_operators_on_a_custom_field(rt, card_index):
    signed = "custom.signed_on"
    check(rt, Organisation, [
        (cond(signed, "eq", days_ago(10)), [KORNIK]),
        (cond(signed, "ne", days_ago(10)), [POZNAN, KRZAK, WRZESNIA]),
        (cond(signed, "gt", {"days_ago": 30}), [KORNIK]),
        (cond(signed, "gte", {"days_ago": 100}), [KORNIK, POZNAN]),
        (cond(signed, "lt", {"days_ago": 30}), [POZNAN]),
        (cond(signed, "lte", "today"), [KORNIK, POZNAN]),
        (cond(signed, "between", [{"days_ago": 100}, {"days_ago": 10}]), [KORNIK, POZNAN]),
        (cond(signed, "between", [{"days_ago": 99}, {"days_ago": 11}]), []),
        (cond(signed, "in", [days_ago(100), "2000-01-01"]), [POZNAN]),
        (cond(signed, "empty"), [KRZAK, WRZESNIA]),
    ])


def test_text_and_boolean_custom_fields(rt, card_index):
    check(rt, Organisation, [
        (cond("custom.tier", "eq", "GOLD"), [KORNIK]),
        (cond("custom.tier", "ne", "gold"), [POZNAN, KRZAK, WRZESNIA]),
        (cond("custom.tier", "contains", "ILV"), [POZNAN]),
        (cond("custom.tier", "starts_with", "g"), [KORNIK]),
        (cond("custom.tier", "in", ["gold", "silver"]), [KORNIK, POZNAN]),
        (cond("custom.tier", "empty"), [KRZAK, WRZESNIA]),
        (cond("custom.tier", "not_empty"), [KORNIK, POZNAN]),
        (cond("custom.partner", "eq", True), [KORNIK]),
        (cond("custom.partner", "eq", False), [POZNAN]),
        (cond("custom.partner", "ne", True), [POZNAN, KRZAK, WRZESNIA]),
        (cond("custom.partner", "empty"), [KRZAK, WRZESNIA]),
        (cond("custom.never_set", "eq", "x"), []),
    ])


def test_a_persons_many_e_mails_and_addresses_match_when_any_does(rt, card_index):
    check(rt, Person, [
        (cond("email", "eq", "ANNA.NOWAK@kornik.pl"), [ANNA]),
        (cond("email", "contains", "poznan"), [JAN]),
        (cond("email", "ne", "jan@poznan.pl"), [ANNA, EWA, PIOTR]),
        (cond("email", "empty"), [EWA, PIOTR]),
        (cond("email", "not_empty"), [ANNA, JAN]),
        (cond("name", "eq", "jan kowalski"), [JAN]),
        (cond("name", "contains", "ZIELIŃ"), [PIOTR]),
        (cond("city", "eq", "luboń"), [JAN]),
        (cond("region", "eq", "wielkopolskie"), [JAN]),
        (cond("city", "empty"), [ANNA, EWA, PIOTR]),
    ])


# --------------------------------------------------------------------- and, or, not


def test_conditions_combine_with_and_or_not(rt, card_index):
    wielkopolskie = cond("region", "eq", "wielkopolskie")
    municipality = cond("type_key", "eq", "core.municipality")
    check(rt, Organisation, [
        ({"and": [wielkopolskie, {"not": municipality}]}, [POZNAN]),
        ({"or": [{"tag": "VIP"}, cond("city", "eq", "łódź")]}, [KORNIK, KRZAK]),
        ({"and": [{"or": [municipality, {"tag": "Dostawca"}]},
                  {"not": {"or": [cond("city", "eq", "Kórnik"), cond("city", "eq", "Łódź")]}}]},
         [WRZESNIA]),
        ({"not": {"not": wielkopolskie}}, [KORNIK, POZNAN, WRZESNIA]),
        ({"and": []}, ALL_ORGS),
        (None, ALL_ORGS),
    ])


# --------------------------------------------------------------------- special conditions


def test_tags(rt, card_index):
    check(rt, Organisation, [
        ({"tag": "vip"}, [KORNIK]),
        ({"tag": "  Dostawca "}, [KRZAK]),
        ({"not": {"tag": "VIP"}}, [POZNAN, KRZAK, WRZESNIA]),
        ({"tag": "nobody has this"}, []),
    ])
    check(rt, Person, [({"tag": "VIP"}, [ANNA])])


def test_people_with_a_current_membership_in_a_municipality_of_a_region(rt, card_index):
    in_wielkopolska = {"and": [cond("type_key", "eq", "core.municipality"),
                               cond("region", "eq", "wielkopolskie")]}
    check(rt, Person, [
        ({"membership": {"organisation": in_wielkopolska, "current": True}}, [ANNA]),
        ({"membership": {"organisation": in_wielkopolska}}, [ANNA, EWA]),
        ({"membership": {"organisation": in_wielkopolska, "current": False}}, [EWA]),
        ({"membership": {"role": "SEKR"}}, [ANNA]),
        ({"membership": {"organisation": {"tag": "Dostawca"}, "current": True}}, [PIOTR]),
        ({"membership": {}}, [ANNA, JAN, EWA, PIOTR]),
        ({"not": {"membership": {"current": True}}}, [EWA]),
    ])


def test_organisations_with_current_members(rt, card_index):
    check(rt, Organisation, [
        ({"members": cond("last_name", "eq", "nowak")}, [KORNIK]),
        ({"members": cond("last_name", "eq", "lis")}, []),
        ({"members": {"membership": {"role": "dyrektor"}}}, [POZNAN]),
    ])


def test_related_records_in_either_direction(rt, card_index):
    check(rt, Organisation, [
        ({"related": {"type": "organisation", "link_type": "contractor"}}, [KORNIK, KRZAK]),
        ({"related": {"type": "organisation",
                      "filter": cond("city", "eq", "Łódź")}}, [KORNIK]),
        ({"related": {"type": "person"}}, [KRZAK]),
        ({"related": {"type": "organisation", "link_type": "partner"}}, []),
    ])
    check(rt, Person, [
        ({"related": {"type": "organisation", "filter": {"tag": "Dostawca"}}}, [ANNA]),
    ])


def test_activity_conditions(rt, card_index):
    check(rt, Organisation, [
        ({"activity": {"kind": "call", "since": {"days_ago": 90}}}, [KORNIK]),
        ({"activity": {"kind": "call"}}, [KORNIK, POZNAN]),
        ({"activity": {"kind": ["call", "meeting"], "since": {"days_ago": 30}}},
         [KORNIK, WRZESNIA]),
        ({"activity": {"kind": "meeting", "until": {"days_ago": 6}}}, []),
        ({"activity": {"kind": "meeting", "until": {"days_ago": 5}}}, [WRZESNIA]),
        ({"not": {"activity": {"kind": "call", "since": {"days_ago": 90}}}},
         [POZNAN, KRZAK, WRZESNIA]),
    ])
    check(rt, Person, [({"activity": {"kind": "note", "since": "today"}}, [ANNA])])


def test_soft_deleted_records_are_never_matched_nor_reached(rt, card_index):
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Organisation, card_index["poznan"]))
    check(rt, Organisation, [(cond("city", "eq", "Poznań"), []),
                             ({"related": {"type": "person"}}, [KRZAK])])
    check(rt, Person, [
        ({"membership": {"organisation": cond("city", "eq", "Poznań")}}, []),
        ({"membership": {"role": "dyrektor"}}, []),
    ])


# --------------------------------------------------------------------- hostile input


def test_injection_attempts_are_refused_or_taken_as_plain_values(rt, card_index):
    attacks = {
        "name; DROP TABLE organisations": "filter.field",
        "custom.x'); DROP TABLE organisations; --": "filter.field",
        "custom.": "filter.field",
    }
    for field, key in attacks.items():
        assert list(refused(rt, Organisation, cond(field, "eq", "x"))) == [key]
    assert refused(rt, Organisation, cond("name", "eq; DROP TABLE organisations", "x")) == {
        "filter.op": "Unknown operator 'eq; DROP TABLE organisations'. Use one of: between, "
                     "contains, empty, eq, gt, gte, in, lt, lte, ne, not_empty, starts_with."}
    check(rt, Organisation, [
        (cond("name", "eq", "x' OR '1'='1"), []),
        (cond("name", "contains", "1=1 --"), []),
        (cond("name", "eq", "Gmina Kórnik'; DROP TABLE organisations; --"), []),
        (cond("custom.tier", "eq", "gold' OR 1=1 --"), []),
        ({"tag": "VIP' OR '1'='1"}, []),
    ])
    with pytest.raises(ValidationError) as caught:
        filters.sort(select(Organisation), Organisation, "name; DROP TABLE organisations")
    assert list(caught.value.errors) == ["sort"]
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 4
        assert session.scalar(select(func.count()).select_from(Person)) == 4


def test_messages_name_the_path_of_the_problem(rt, card_index):
    city = cond("city", "eq", "Poznań")
    cases = [
        ("city", {"filter": "Not a valid filter: give a condition with \"field\", \"op\" and "
                            "\"value\", or one of: and, or, not, tag, membership, members, "
                            "related, activity."}),
        ({"and": city}, {"filter.and": "Give a list of conditions."}),
        ({"or": []}, {"filter.or": "Give at least one condition."}),
        ({"and": [city, cond("ciry", "eq", "x")]},
         {"filter.and.1.field": "Unknown field 'ciry' for organisations."}),
        ({"members": cond("ciry", "eq", "x")},
         {"filter.members.field": "Unknown field 'ciry' for people."}),
        (cond("city", "gt", "x"),
         {"filter.op": "The operator 'gt' cannot be used with the field 'city'."}),
        (cond("custom.tier", "contains", 5), {"filter.value": "Give a text value."}),
        (cond("city", "eq", 5), {"filter.value": "Give a text value."}),
        (cond("id", "eq", "5"), {"filter.value": "Give a whole number."}),
        (cond("id", "eq", 1.5), {"filter.value": "Give a whole number."}),
        (cond("id", "in", [1, 2**40]), {"filter.value.1": "Give a whole number."}),
        (cond("custom.budget", "gt", 10**400), {"filter.value": "Give a number."}),
        (cond("custom.budget", "between", [1, "9"]), {"filter.value.1": "Give a number."}),
        (cond("name", "eq", "a\x00b"),
         {"filter.value": "The text contains characters that cannot be stored."}),
        (cond("name", "contains", "\ud800"),
         {"filter.value": "The text contains characters that cannot be stored."}),
        ({"tag": "VIP\x00"}, {"filter.tag": "The text contains characters that cannot be "
                                             "stored."}),
        (cond("created_at", "eq", "9999-12-31T23:59:59-05:00"),
         {"filter.value": "Give a date and time as YYYY-MM-DDTHH:MM, with or without a time "
                          "zone."}),
        (cond("created_at", "eq", "31.01.2026"),
         {"filter.value": "Give a date as YYYY-MM-DD, \"today\", {\"days_ago\": N} or "
                          "{\"days_ahead\": N}."}),
        (cond("created_at", "gt", {"days_ago": -3}),
         {"filter.value": "Give a date as YYYY-MM-DD, \"today\", {\"days_ago\": N} or "
                          "{\"days_ahead\": N}."}),
        (cond("created_at", "in", ["today", "2026-02-30"]),
         {"filter.value.1": "Give a date as YYYY-MM-DD, \"today\", {\"days_ago\": N} or "
                            "{\"days_ahead\": N}."}),
        (cond("city", "in", "Poznań"), {"filter.value": "Give a list of 1 to 1000 values."}),
        (cond("id", "between", [5]),
         {"filter.value": "Give a list of two values: the lowest and the highest."}),
        (cond("id", "between", [9, 1]),
         {"filter.value": "The first value must not be greater than the second."}),
        (cond("email", "empty") | {"value": "x"},
         {"filter.value": "The operator 'empty' takes no value."}),
        (cond("city", "eq"), {"filter.value": "Give a value."}),
        (city | {"extra": 1}, {"filter.extra": "Unknown key 'extra'."}),
        ({"membership": {}},
         {"filter.membership": "The condition 'membership' cannot be used for organisations."}),
        ({"related": {"type": "spaceship"}},
         {"filter.related.type": "Unknown kind of record 'spaceship'."}),
        ({"related": {"type": ["person"]}},
         {"filter.related.type": "Unknown kind of record '['person']'."}),
        ({"activity": {"kind": "fax"}},
         {"filter.activity.kind": "Choose a kind of activity from the list."}),
        ({"activity": {"when": "today"}}, {"filter.activity.when": "Unknown key 'when'."}),
        ({"tag": ""}, {"filter.tag": "Give the name of a tag."}),
        ({"not": {"and": [cond("name", "eq", 1)]}},
         {"filter.not.and.0.value": "Give a text value."}),
    ]
    wrong = [(flt, expected, found) for flt, expected in cases
             if (found := refused(rt, Organisation, flt)) != expected]
    assert wrong == []
    assert refused(rt, Person, {"membership": {"current": "yes"}}) == {
        "filter.membership.current": "Give true or false."}


def test_nesting_and_size_are_limited(rt, card_index):
    def nested(levels):
        flt = cond("city", "eq", "Kórnik")
        for _ in range(levels):
            flt = {"not": flt}
        return flt

    assert matching(rt, Organisation, nested(9)) == sorted([POZNAN, KRZAK, WRZESNIA])
    assert refused(rt, Organisation, nested(10)) == {
        "filter" + ".not" * 10: "Filters can be nested at most 10 levels deep."}
    many = [cond("city", "eq", f"Miasto {i}") for i in range(199)] + [cond("city", "eq", "Łódź")]
    assert matching(rt, Organisation, {"or": many}) == [KRZAK]
    assert refused(rt, Organisation, {"or": many + [cond("city", "eq", "x")]}) == {
        "filter": "A filter can have at most 200 conditions."}


# --------------------------------------------------------------------- sorting


def sorted_names(rt, model, keys) -> list[str]:
    with rt.session() as session:
        return [label(r) for r in session.scalars(
            filters.sort(records.visible(model), model, keys))]


def test_sorting_by_whitelisted_fields(rt, card_index):
    assert sorted_names(rt, Organisation, "name") == [KRZAK, KORNIK, WRZESNIA, POZNAN]
    assert sorted_names(rt, Organisation, "-created_at") == [KORNIK, WRZESNIA, POZNAN, KRZAK]
    assert sorted_names(rt, Organisation, "region,-name") == [POZNAN, WRZESNIA, KORNIK, KRZAK]
    assert sorted_names(rt, Organisation, ["id"]) == [KORNIK, POZNAN, KRZAK, WRZESNIA]
    assert sorted_names(rt, Person, "-last_name") == [PIOTR, ANNA, EWA, JAN]


@pytest.mark.parametrize("keys", ["nmae", "", "email", "name,", "--name", ["name", 5],
                                  "a,b,c,d,e,f", "custom.tier"])
def test_sorting_by_anything_else_is_refused(keys):
    with pytest.raises(ValidationError) as caught:
        filters.sort(select(Person), Person, keys)
    assert list(caught.value.errors) == ["sort"]


def test_the_sort_message_lists_the_choices():
    with pytest.raises(ValidationError) as caught:
        filters.sort(select(Person), Person, "nmae")
    assert caught.value.errors == {"sort": "You cannot sort by 'nmae'. Choose one of: "
                                           "created_at, first_name, id, last_name, name, "
                                           "notes, owner_id, pesel, updated_at."}

"""Duplicate warnings: what a user is shown before saving a record that already exists."""

import pytest
from sqlalchemy import func, select

from core import organisations, people, records
from core.duplicates import DuplicateFound
from core.models import Organisation, Person

NIP = "7773061579"
REGON = "631258833"
PESEL = "44051401359"


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def add_org(rt, name, **fields) -> int:
    with rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {"name": name,
                                                       "type_key": "core.company", **fields}).id


def add_person(rt, first, last, **fields) -> int:
    with rt.session() as session, session.begin():
        return people.create(session, {"first_name": first, "last_name": last, **fields}).id


def org_warning(rt, name, **fields) -> list[tuple[str, list[str], bool]]:
    with rt.session() as session, pytest.raises(DuplicateFound) as found:
        organisations.create(session, rt.host, {"name": name, "type_key": "core.company",
                                                **fields})
    return [(c.record.name, c.reasons, c.strong) for c in found.value.candidates]


def person_warning(rt, first, last, **fields) -> list[tuple[str, list[str], bool]]:
    with rt.session() as session, pytest.raises(DuplicateFound) as found:
        people.create(session, {"first_name": first, "last_name": last, **fields})
    return [(c.record.full_name, c.reasons, c.strong) for c in found.value.candidates]


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("field", "stored", "typed", "reason"), [
    ("nip", NIP, "PL 777-306-15-79", "same NIP"),
    ("regon", REGON, "631-258-833", "same REGON"),
    ("krs", "0000012345", "KRS 12345", "same KRS"),
    ("email", "biuro@krzak.pl", " BIURO@Krzak.pl", "same e-mail"),
    ("phone", "61 817 00 00", "+48 61 817-00-00", "same phone"),
])
def test_a_matching_identifier_is_a_strong_candidate(rt, field, stored, typed, reason):
    add_org(rt, "Hurtownia Krzak", **{field: stored})
    assert org_warning(rt, "Przedsiębiorstwo Alfa", **{field: typed}) == [
        ("Hurtownia Krzak", [reason], True)]
    assert count(rt, Organisation) == 1


@pytest.mark.parametrize(("stored", "typed", "reason"), [
    ("Gmina Kórnik", "GMINA KORNIK", "same name"),
    ("Firma Krzak Sp. z o.o.", "Firma Krzak", "same name"),
    ("Gmina Kórnik", "Gmina Kórnk", "similar name"),
])
def test_a_matching_name_is_a_weak_candidate(rt, stored, typed, reason):
    add_org(rt, stored)
    assert org_warning(rt, typed) == [(stored, [reason], False)]


def test_a_name_sharing_only_the_first_word_is_not_a_candidate(rt):
    add_org(rt, "Gmina Kórnik")
    add_org(rt, "Gmina Mosina")
    assert count(rt, Organisation) == 2


def test_a_deleted_record_is_not_a_candidate(rt):
    org_id = add_org(rt, "Gmina Kórnik", nip=NIP)
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Organisation, org_id))
    add_org(rt, "Gmina Kórnik", nip=NIP)
    assert count(rt, Organisation) == 2


def test_allow_duplicates_saves_anyway(rt):
    add_org(rt, "Gmina Kórnik", nip=NIP)
    with rt.session() as session, session.begin():
        organisations.create(session, rt.host, {"name": "Gmina Kórnik", "nip": NIP,
                                                "type_key": "core.municipality"},
                             allow_duplicates=True)
    assert count(rt, Organisation) == 2


def test_every_reason_for_one_record_is_listed_once(rt):
    add_org(rt, "Gmina Kórnik", nip=NIP, regon=REGON)
    assert org_warning(rt, "Gmina Kórnik", nip=NIP, regon=REGON) == [
        ("Gmina Kórnik", ["same NIP", "same REGON", "same name"], True)]


def test_strong_candidates_are_listed_before_weak_ones(rt):
    add_org(rt, "Gmina Kórnik")
    add_org(rt, "Urząd Miasta Śrem", nip=NIP)
    assert org_warning(rt, "Gmina Kórnik", nip=NIP) == [
        ("Urząd Miasta Śrem", ["same NIP"], True),
        ("Gmina Kórnik", ["same name"], False),
    ]


@pytest.mark.parametrize(("fields", "reason"), [
    ({"pesel": PESEL}, "same PESEL"),
    ({"emails": ["ANNA@kornik.pl"]}, "same e-mail"),
    ({"phones": ["+48 600-100-200"]}, "same phone"),
])
def test_a_person_with_a_matching_identifier_is_a_strong_candidate(rt, fields, reason):
    add_person(rt, "Anna", "Nowak", pesel=PESEL, emails=["anna@kornik.pl"],
               phones=["600 100 200"])
    assert person_warning(rt, "Janina", "Wiśniewska", **fields) == [
        ("Anna Nowak", [reason], True)]
    assert count(rt, Person) == 1


def test_a_person_with_the_same_name_is_a_weak_candidate(rt):
    add_person(rt, "Łucja", "Nowak")
    assert person_warning(rt, "LUCJA", "nowak") == [("Łucja Nowak", ["same name"], False)]


def test_on_update_a_record_is_not_its_own_duplicate(rt):
    org_id = add_org(rt, "Gmina Kórnik", nip=NIP)
    person_id = add_person(rt, "Anna", "Nowak", pesel=PESEL, emails=["anna@kornik.pl"])
    with rt.session() as session, session.begin():
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"name": "Gmina  Kórnik", "nip": NIP, "city": "Kórnik"})
        people.update(session, session.get(Person, person_id),
                      {"last_name": "Nowak", "pesel": PESEL, "emails": ["anna@kornik.pl"]})
    with rt.session() as session:
        assert session.get(Organisation, org_id).city == "Kórnik"


def test_on_update_another_record_is_still_a_duplicate(rt):
    add_org(rt, "Gmina Kórnik", nip=NIP)
    org_id = add_org(rt, "Gmina Mosina")
    with rt.session() as session, pytest.raises(DuplicateFound) as found:
        organisations.update(session, rt.host, session.get(Organisation, org_id), {"nip": NIP})
    assert [(c.record.name, c.reasons) for c in found.value.candidates] == [
        ("Gmina Kórnik", ["same NIP"])]

"""People: their names, PESEL, e-mails, phones and addresses as a user enters them."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import people
from core.errors import ValidationError
from core.models import Address, ContactPoint, Person

PESEL = "44051401359"


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def count(rt, model=Person) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def anna(rt, **fields) -> int:
    with rt.session() as session, session.begin():
        return people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                       **fields}).id


def load(rt, person_id) -> Person:
    with rt.session() as session:
        return session.get(Person, person_id, options=[selectinload(Person.contacts),
                                                       selectinload(Person.addresses)])


def test_contacts_are_normalised_deduplicated_and_the_first_is_primary(rt):
    person_id = anna(rt, first_name=" Anna ", pesel="440514 01359", emails=[
        " Anna.Nowak@Kornik.PL", "anna.nowak@kornik.pl", "a.nowak@gmail.com",
    ], phones=["600 100 200", "+48 600-100-200", "61 817 00 00"], addresses=[
        {"label": "dom", "street": "Poznańska 1", "postal_code": "62035", "city": "Kórnik"},
        {"label": "praca", "postal_code": "61-001", "city": "Poznań"},
    ])
    person = load(rt, person_id)
    assert (person.full_name, person.pesel) == ("Anna Nowak", PESEL)
    assert person.contact_values("email") == ["anna.nowak@kornik.pl", "a.nowak@gmail.com"]
    assert person.contact_values("phone") == ["+48600100200", "+48618170000"]
    assert sorted((c.kind, c.value) for c in person.contacts if c.is_primary) == [
        ("email", "anna.nowak@kornik.pl"), ("phone", "+48600100200")]
    assert [(a.label, a.postal_code, a.city, a.country) for a in person.addresses] == [
        ("dom", "62-035", "Kórnik", "PL"), ("praca", "61-001", "Poznań", "PL")]


def test_bad_contacts_are_reported_by_position_and_nothing_is_written(rt):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        people.create(session, {
            "first_name": "Anna", "last_name": " ",
            "emails": ["anna@kornik.pl", "anna(at)kornik.pl"],
            "phones": ["12 345", "600 100 200"],
            "addresses": [{"city": "Kórnik", "postal_code": "6203"}],
        })
    assert refused.value.errors == {
        "last_name": "Enter a name.",
        "emails.1": "Not a valid email address.",
        "phones.0": "A Polish phone number must have 9 digits.",
        "addresses.0.postal_code": "The postal code must have 5 digits, written as NN-NNN.",
    }
    assert (count(rt), count(rt, ContactPoint), count(rt, Address)) == (0, 0, 0)


@pytest.mark.parametrize(("typed", "message"), [
    ("44051401358", "The PESEL's check digit is wrong: check for a typo."),
    ("4405140135", "The PESEL must have 11 digits."),
])
def test_an_invalid_pesel_is_refused(rt, typed, message):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        people.create(session, {"first_name": "Anna", "last_name": "Nowak", "pesel": typed})
    assert refused.value.errors == {"pesel": message}
    assert count(rt) == 0


def test_fields_a_form_does_not_offer_are_refused(rt):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        people.create(session, {"first_name": "Anna", "last_name": "Nowak", "version": 3,
                                "addresses": [{"city": "Kórnik", "person_id": 8}]})
    assert refused.value.errors == {"version": "Unknown field.",
                                    "addresses.0.person_id": "Unknown field."}
    assert count(rt) == 0


def test_an_update_replaces_the_lists_given_and_keeps_the_others(rt):
    person_id = anna(rt, emails=["anna@kornik.pl", "a.nowak@gmail.com"],
                     phones=["600 100 200"],
                     addresses=[{"city": "Kórnik", "postal_code": "62-035"}])
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, person_id),
                      {"emails": ["Nowa@Kornik.pl", "anna@kornik.pl"]})
    person = load(rt, person_id)
    assert person.contact_values("email") == ["nowa@kornik.pl", "anna@kornik.pl"]
    assert [c.value for c in person.contacts if c.is_primary] == [
        "+48600100200", "nowa@kornik.pl"]
    assert person.contact_values("phone") == ["+48600100200"]
    assert [a.city for a in person.addresses] == ["Kórnik"]

    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, person_id), {"phones": [], "addresses": [
            {"city": "Mosina", "postal_code": "62050"}]})
    person = load(rt, person_id)
    assert person.contact_values("phone") == []
    assert person.contact_values("email") == ["nowa@kornik.pl", "anna@kornik.pl"]
    assert [(a.city, a.postal_code) for a in person.addresses] == [("Mosina", "62-050")]
    assert count(rt, Address) == 1


def test_an_update_accepts_an_address_without_a_postal_code(rt):
    person_id = anna(rt, addresses=[{"city": "Kórnik"}])
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, person_id),
                      {"addresses": [{"city": "Mosina"}]})
    person = load(rt, person_id)
    assert [(a.city, a.postal_code, a.country) for a in person.addresses] == [
        ("Mosina", "", "PL")]


def test_an_update_with_a_bad_contact_changes_nothing(rt):
    person_id = anna(rt, emails=["anna@kornik.pl"])
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        people.update(session, session.get(Person, person_id),
                      {"last_name": "Kowalska", "emails": ["nowa@kornik.pl", "nowa@"]})
    assert refused.value.errors == {"emails.1": "Not a valid email address."}
    person = load(rt, person_id)
    assert (person.last_name, person.contact_values("email")) == ("Nowak", ["anna@kornik.pl"])


def test_the_name_key_follows_a_rename(rt):
    person_id = anna(rt)
    assert load(rt, person_id).name_key == "anna nowak"
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, person_id), {"last_name": "Kowalska-Łęcka"})
    assert load(rt, person_id).name_key == "anna kowalska lecka"
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, person_id), {"first_name": "Żaneta "})
    person = load(rt, person_id)
    assert (person.full_name, person.name_key) == ("Żaneta Kowalska-Łęcka",
                                                   "zaneta kowalska lecka")


def test_an_owner_who_is_no_active_staff_member_is_refused(rt):
    from core import users

    with rt.session() as session, session.begin():
        gone = users.create_user(session, "gone@example.com", "correct horse battery")
        gone.active = False
        gone_id = gone.id
    for owner_id in (987654, gone_id):
        with rt.session() as session, pytest.raises(ValidationError) as refused:
            people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                    "owner_id": owner_id})
        assert refused.value.errors == {"owner_id": "Choose an active staff member."}
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0

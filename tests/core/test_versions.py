"""Rows a record owns (contacts, tags, memberships, attendees) change the record itself:
its version moves, so a form opened before is refused on save; listeners hear of the
change and the record's history shows it."""

from datetime import date

import pytest
from sqlalchemy import select

from core import calendar, hookimpl, memberships, organisations, people, records, tags
from core.errors import ValidationError
from core.models import AuditEntry, CalendarEvent, Organisation, Person, User

STALE = "The record was changed by someone else meanwhile; reload it and apply your change again."


class Listener:
    """A plugin written in the test: what it hears after each commit."""

    def __init__(self):
        self.heard = []

    @hookimpl
    def kartoteka_record_updated(self, record, changes, actor):
        self.heard.append((type(record).__name__, record.id, changes))


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


@pytest.fixture
def listener(rt):
    found = Listener()
    rt.host.pm.register(found, name="listener")
    return found


def add_person(rt, **fields) -> Person:
    with rt.session() as session, session.begin():
        return people.create(session, {"first_name": "Anna", "last_name": "Nowak", **fields},
                             allow_duplicates=True)


def add_org(rt, name="Gmina Kórnik") -> Organisation:
    with rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {"name": name,
                                                       "type_key": "core.municipality"})


def version(rt, model, record_id) -> int:
    with rt.session() as session:
        return session.get(model, record_id).version


def last_entry(rt, record_type, record_id) -> AuditEntry:
    with rt.session() as session:
        return session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id.desc())).first()


# --- contacts -----------------------------------------------------------------------------

@pytest.mark.parametrize("given, changed, expected", [
    ({"emails": ["anna@kornik.pl"]}, {"emails": ["a.nowak@kornik.pl", "anna@kornik.pl"]},
     {"emails": (["anna@kornik.pl"], ["a.nowak@kornik.pl", "anna@kornik.pl"])}),
    ({"phones": ["600 100 200"]}, {"phones": []},
     {"phones": (["+48600100200"], [])}),
    ({}, {"addresses": [{"street": "Długa 2", "postal_code": "62035", "city": "Kórnik"}]},
     {"addresses": ([], ["Długa 2, 62-035 Kórnik"])}),
    ({"addresses": [{"city": "Kórnik"}]},
     {"addresses": [{"label": "Dom", "city": "Berlin", "postal_code": "", "country": "DE"}]},
     {"addresses": (["Kórnik"], ["Dom: Berlin, DE"])}),
])
def test_a_contact_change_raises_the_version_and_is_heard_and_recorded(
        rt, listener, given, changed, expected):
    anna = add_person(rt, **given)
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, anna.id), changed, expected_version=1)
    assert version(rt, Person, anna.id) == 2
    assert listener.heard == [("Person", anna.id, expected)]
    entry = last_entry(rt, "person", anna.id)
    assert entry.action == "update"
    assert entry.changes == {k: [list(old), list(new)] for k, (old, new) in expected.items()}


def test_a_contact_change_with_a_field_change_is_one_version_one_event_one_entry(rt, listener):
    anna = add_person(rt, emails=["anna@kornik.pl"])
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, anna.id),
                      {"last_name": "Kowalska", "emails": ["anna@kornik.pl", "ak@kornik.pl"]})
    assert version(rt, Person, anna.id) == 2
    assert listener.heard == [("Person", anna.id, {
        "last_name": ("Nowak", "Kowalska"), "name_key": ("anna nowak", "anna kowalska"),
        "emails": (["anna@kornik.pl"], ["anna@kornik.pl", "ak@kornik.pl"])})]
    assert set(last_entry(rt, "person", anna.id).changes) == {"last_name", "emails"}


def test_saving_the_same_contacts_changes_nothing(rt, listener):
    anna = add_person(rt, emails=["anna@kornik.pl"], phones=["600100200"])
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, anna.id),
                      {"emails": ["ANNA@kornik.pl"], "phones": ["+48 600 100 200"]})
    assert version(rt, Person, anna.id) == 1
    assert listener.heard == []
    assert last_entry(rt, "person", anna.id).action == "create"


def test_a_form_opened_before_a_contact_change_is_refused_on_save(rt):
    anna = add_person(rt, emails=["anna@kornik.pl"])
    opened_at = version(rt, Person, anna.id)
    with rt.session() as session, session.begin():
        people.update(session, session.get(Person, anna.id), {"emails": ["nowa@kornik.pl"]})
    with rt.session() as session, pytest.raises(ValidationError) as refused:
        people.update(session, session.get(Person, anna.id), {"notes": "z formularza"},
                      expected_version=opened_at)
    assert refused.value.errors == {"version": STALE}
    with rt.session() as session:
        assert session.get(Person, anna.id).notes == ""


def test_a_contact_change_racing_another_save_is_refused_not_lost(rt):
    """Both read version 1; the second to write is told, even without a form version."""
    anna = add_person(rt, emails=["anna@kornik.pl"])
    with rt.session() as first, rt.session() as second:
        mine, theirs = first.get(Person, anna.id), second.get(Person, anna.id)
        people.update(second, theirs, {"phones": ["600100200"]})
        second.commit()
        with pytest.raises(ValidationError) as refused:
            people.update(first, mine, {"emails": ["inny@kornik.pl"]})
        first.rollback()
    assert refused.value.errors == {"version": STALE}
    with rt.session() as session:
        assert session.get(Person, anna.id).contact_values("email") == ["anna@kornik.pl"]


def test_a_vetoed_contact_change_writes_nothing(rt, listener):
    class NoGmail:
        @hookimpl
        def kartoteka_before_record_save(self, record, changes, actor):
            if any("gmail" in e for e in (changes.get("emails") or ((), ()))[1]):
                raise ValidationError({"emails": "No private addresses."})

    rt.host.pm.register(NoGmail(), name="no-gmail")
    anna = add_person(rt, emails=["anna@kornik.pl"])
    with rt.session() as session, pytest.raises(ValidationError):
        people.update(session, session.get(Person, anna.id), {"emails": ["anna@gmail.com"]})
    with rt.session() as session:
        assert session.get(Person, anna.id).contact_values("email") == ["anna@kornik.pl"]
    assert version(rt, Person, anna.id) == 1 and listener.heard == []


# --- tags ---------------------------------------------------------------------------------

def test_tagging_and_untagging_change_the_record(rt, listener):
    kornik = add_org(rt)
    with rt.session() as session, session.begin():
        tags.tag(session, session.get(Organisation, kornik.id), "VIP")
        tags.tag(session, session.get(Organisation, kornik.id), "VIP")  # already there
    with rt.session() as session, session.begin():
        tags.tag(session, session.get(Organisation, kornik.id), "Gmina wiejska")
        tags.untag(session, session.get(Organisation, kornik.id), "VIP")
        tags.untag(session, session.get(Organisation, kornik.id), "VIP")  # gone already
    assert version(rt, Organisation, kornik.id) == 4
    assert [h[2] for h in listener.heard] == [
        {"tags": ([], ["VIP"])}, {"tags": (["VIP"], ["Gmina wiejska", "VIP"])},
        {"tags": (["Gmina wiejska", "VIP"], ["Gmina wiejska"])}]
    assert last_entry(rt, "organisation", kornik.id).changes == {
        "tags": [["Gmina wiejska", "VIP"], ["Gmina wiejska"]]}


# --- memberships --------------------------------------------------------------------------

def test_joining_and_leaving_change_both_the_person_and_the_organisation(rt, listener):
    anna, kornik = add_person(rt), add_org(rt)
    with rt.session() as session, session.begin():
        joined = memberships.join(session, session.get(Person, anna.id),
                                  session.get(Organisation, kornik.id), "skarbnik",
                                  date(2024, 1, 1))
    assert version(rt, Person, anna.id) == version(rt, Organisation, kornik.id) == 2
    with rt.session() as session, session.begin():
        memberships.leave(session, session.get(type(joined), joined.id), date(2024, 6, 30))
    assert version(rt, Person, anna.id) == version(rt, Organisation, kornik.id) == 3
    heard = [(kind, changes) for kind, _id, changes in listener.heard if kind != "Membership"]
    assert heard == [
        ("Person", {"memberships": (None, "Gmina Kórnik — skarbnik, 2024-01-01 –")}),
        ("Organisation", {"memberships": (None, "Anna Nowak — skarbnik, 2024-01-01 –")}),
        ("Person", {"memberships": ("Gmina Kórnik — skarbnik, 2024-01-01 –",
                                    "Gmina Kórnik — skarbnik, 2024-01-01 – 2024-06-30")}),
        ("Organisation", {"memberships": ("Anna Nowak — skarbnik, 2024-01-01 –",
                                          "Anna Nowak — skarbnik, 2024-01-01 – 2024-06-30")})]
    assert last_entry(rt, "organisation", kornik.id).changes["memberships"][1] == \
        "Anna Nowak — skarbnik, 2024-01-01 – 2024-06-30"


# --- attendees ----------------------------------------------------------------------------

def test_inviting_and_uninviting_change_the_event(rt, listener):
    anna = add_person(rt)
    with rt.session() as session, session.begin():
        jan = records.create(session, User(email="jan@example.com", full_name="Jan Kot",
                                           password_hash="x"))
        meeting = calendar.create_event(
            session, {"title": "Sesja rady", "starts_at": "2024-05-06T11:00:00+02:00",
                      "ends_at": "2024-05-06T12:00:00+02:00"}, attendees_users=[jan])
    assert last_entry(rt, "event", meeting.id).changes["attendees"] == [None, ["Jan Kot"]]
    with rt.session() as session, session.begin():
        calendar.update_event(session, session.get(CalendarEvent, meeting.id), {},
                              attendees_people=[session.get(Person, anna.id)],
                              expected_version=1)
        calendar.update_event(session, session.get(CalendarEvent, meeting.id), {},
                              attendees_users=[jan])  # the same: no change
    assert version(rt, CalendarEvent, meeting.id) == 2
    assert listener.heard == [("CalendarEvent", meeting.id,
                               {"attendees": (["Jan Kot"], ["Jan Kot", "Anna Nowak"])})]
    with rt.session() as session, pytest.raises(ValidationError) as refused:
        calendar.update_event(session, session.get(CalendarEvent, meeting.id),
                              {"title": "Stary formularz"}, expected_version=1)
    assert refused.value.errors == {"version": STALE}

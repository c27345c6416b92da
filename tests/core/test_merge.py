"""Merging two records of one organisation or person: nothing of either is lost."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import (
    attachments,
    calendar,
    field_definitions,
    links,
    memberships,
    merge,
    organisations,
    people,
    records,
    tags,
    tasks,
    teams,
    timeline,
)
from core.db import utcnow
from core.errors import ValidationError
from core.models import ActivityLink, EventLink, Membership, Organisation, OrgUnit, Person

NIP = "7773061579"
PESEL = "44051401359"
USER_KINDS = ["note", "call", "meeting"]


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def org(session, rt, name, **fields) -> Organisation:
    return organisations.create(session, rt.host, {"name": name, "type_key": "core.company",
                                                   **fields}, allow_duplicates=True)


def person(session, first="Anna", last="Nowak", **fields) -> Person:
    return people.create(session, {"first_name": first, "last_name": last, **fields},
                         allow_duplicates=True)


def subjects(session, record, kinds=USER_KINDS) -> list[str]:
    return sorted(a.subject for a in timeline.timeline(session, record, kinds=kinds))


def test_the_survivor_shows_the_history_of_both_each_activity_once(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        shared = timeline.add(session, "meeting", "Negocjacje umowy", [keep, drop])
        timeline.add(session, "call", "Telefon do prezesa", [keep])
        timeline.add(session, "note", "Oferta wysłana", [drop])
        merge.merge(session, keep, drop)
    with rt.session() as session:
        keep = session.get(Organisation, keep.id)
        assert subjects(session, keep) == ["Negocjacje umowy", "Oferta wysłana",
                                           "Telefon do prezesa"]
        assert session.execute(select(ActivityLink.record_type, ActivityLink.record_id).where(
            ActivityLink.activity_id == shared.id)).all() == [("organisation", keep.id)]


def test_a_merged_event_is_on_the_survivors_timeline(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        merge.merge(session, keep, drop)
    with rt.session() as session:
        (event,) = timeline.timeline(session, keep, kinds=["system"])
        assert (event.event, event.subject) == ("merged", f"Merged with Firma Krzak (#{drop.id})")
        assert event.data["merged_id"] == drop.id


def test_the_merged_record_is_deleted_and_points_at_the_survivor(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        merge.merge(session, keep, drop)
    with rt.session() as session:
        assert records.get(session, Organisation, drop.id) is None
        gone = records.get(session, Organisation, drop.id, include_deleted=True)
        assert gone.is_deleted and gone.merged_into_id == keep.id
        assert [o.id for o in session.scalars(records.visible(Organisation))] == [keep.id]


def test_links_to_a_third_record_move_to_the_survivor(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        supplier, client = org(session, rt, "Hurtownia Gamma"), org(session, rt, "Gmina Kórnik")
        links.link(session, drop, supplier, "supplier")
        links.link(session, client, drop, "contractor")
        merge.merge(session, keep, drop)
    with rt.session() as session:
        keep = session.get(Organisation, keep.id)
        assert [(t, i, row.link_type) for row, t, i in links.links_of(session, keep)] == [
            ("organisation", supplier.id, "supplier"), ("organisation", client.id, "contractor")]
        assert links.links_of(session, session.get(Organisation, drop.id)) == []


def test_a_link_between_the_two_merged_records_is_dropped(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        links.link(session, drop, keep)
        merge.merge(session, keep, drop)
    with rt.session() as session:
        assert links.links_of(session, session.get(Organisation, keep.id)) == []


def test_a_link_the_survivor_already_has_is_not_duplicated(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        supplier = org(session, rt, "Hurtownia Gamma")
        links.link(session, keep, supplier, "supplier")
        links.link(session, drop, supplier, "supplier")
        merge.merge(session, keep, drop)
    with rt.session() as session:
        found = links.links_of(session, session.get(Organisation, keep.id))
        assert [(t, i, row.link_type) for row, t, i in found] == [
            ("organisation", supplier.id, "supplier")]


def test_tags_are_merged_without_duplicates(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        for name in ("klient", "vip"):
            tags.tag(session, keep, name)
        for name in ("vip", "przetarg"):
            tags.tag(session, drop, name)
        merge.merge(session, keep, drop)
    with rt.session() as session:
        assert tags.tags_of(session, keep) == ["klient", "przetarg", "vip"]
        assert tags.tags_of(session, drop) == []


def test_memberships_and_units_move_to_the_survivor(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        unit = organisations.add_unit(session, drop, "Dział handlowy")
        anna = person(session)
        joined = memberships.join(session, anna, drop, "Handlowiec", date(2021, 4, 1), unit)
        merge.merge(session, keep, drop)
    with rt.session() as session:
        keep = session.get(Organisation, keep.id)
        assert [m.id for m in memberships.history(session, organisation=keep)] == [joined.id]
        assert session.get(Membership, joined.id).unit_id == unit.id
        assert [u.name for u in keep.units] == ["Dział handlowy"]
        assert session.get(OrgUnit, unit.id).organisation_id == keep.id


def test_empty_fields_are_filled_but_none_of_the_survivors_is_overwritten(rt):
    with rt.session() as session, session.begin():
        keep = org(session, rt, "Krzak Sp. z o.o.", email="biuro@krzak.pl")
        drop = org(session, rt, "Firma Krzak", nip=NIP, email="kontakt@krzak.pl",
                   city="Kórnik", short_name="Krzak")
        for key in ("branch", "turnover", "source"):
            field_definitions.create(session, {"record_type": "organisation", "key": key,
                                               "type": "text", "label_pl": key})
        records.update(session, keep, {"custom": {"branch": "budownictwo", "turnover": "10"}})
        records.update(session, drop, {"custom": {"turnover": "2", "source": "targi"}})
        merge.merge(session, keep, drop)
    with rt.session() as session:
        keep = session.get(Organisation, keep.id)
        assert (keep.name, keep.email) == ("Krzak Sp. z o.o.", "biuro@krzak.pl")
        assert (keep.nip, keep.city, keep.short_name) == (NIP, "Kórnik", "Krzak")
        assert keep.custom == {"branch": "budownictwo", "turnover": "10", "source": "targi"}


def test_merging_people_moves_new_contacts_and_addresses(rt):
    with rt.session() as session, session.begin():
        keep = person(session, emails=["anna@kornik.pl"], phones=["600 100 200"])
        drop = person(session, pesel=PESEL, notes="Poznana na targach",
                      emails=["anna@kornik.pl", "anna.nowak@gmail.com"],
                      phones=["601 234 567"], addresses=[{"city": "Kórnik",
                                                          "postal_code": "62-035"}])
        merge.merge(session, keep, drop)
    with rt.session() as session:
        keep = session.get(Person, keep.id, options=[selectinload(Person.contacts),
                                                     selectinload(Person.addresses)])
        assert keep.contact_values("email") == ["anna@kornik.pl", "anna.nowak@gmail.com"]
        assert keep.contact_values("phone") == ["+48600100200", "+48601234567"]
        assert sorted(c.value for c in keep.contacts if c.is_primary) == [
            "+48600100200", "anna@kornik.pl"]
        assert [(a.city, a.postal_code) for a in keep.addresses] == [("Kórnik", "62-035")]
        assert (keep.pesel, keep.notes) == (PESEL, "Poznana na targach")
        assert records.get(session, Person, drop.id) is None


def test_merging_people_moves_their_memberships(rt):
    with rt.session() as session, session.begin():
        keep, drop = person(session), person(session)
        gmina = org(session, rt, "Gmina Kórnik")
        joined = memberships.join(session, drop, gmina, "Sekretarz")
        merge.merge(session, keep, drop)
    with rt.session() as session:
        assert [m.id for m in memberships.history(session, person=keep)] == [joined.id]


def test_merging_a_record_with_itself_is_refused(rt):
    with rt.session() as session, session.begin():
        keep = org(session, rt, "Krzak Sp. z o.o.")
        with pytest.raises(ValidationError) as refused:
            merge.merge(session, keep, keep)
    assert set(refused.value.errors) == {"merge"}
    assert not keep.is_deleted


def test_merging_an_organisation_with_a_person_is_refused(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), person(session)
        with pytest.raises(ValidationError) as refused:
            merge.merge(session, keep, drop)
        assert set(refused.value.errors) == {"merge"}
        with pytest.raises(ValidationError):
            merge.merge(session, drop, keep)
    assert not drop.is_deleted


def test_merging_a_deleted_record_is_refused(rt):
    with rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        tags.tag(session, drop, "vip")
        records.soft_delete(session, drop)
        with pytest.raises(ValidationError) as refused:
            merge.merge(session, keep, drop)
        assert set(refused.value.errors) == {"merge"}
        with pytest.raises(ValidationError):
            merge.merge(session, drop, keep)
    with rt.session() as session:
        assert (tags.tags_of(session, keep), tags.tags_of(session, drop)) == ([], ["vip"])
        assert session.get(Organisation, drop.id).merged_into_id is None


def test_files_tasks_and_events_of_the_merged_record_move_to_the_survivor(rt):
    with rt.session() as session, session.begin():
        keep = org(session, rt, "Gmina Kórnik")
        drop = org(session, rt, "Urząd Gminy Kórnik")
        attachments.store(session, rt.settings, drop, "notatka.txt", io.BytesIO(b"tekst"))
        team = teams.create_team(session, "Sekretariat")
        task = tasks.create(session, {"title": "Oddzwonić", "team_id": team.id}, about=[drop])
        start = utcnow() + timedelta(days=1)
        calendar.create_event(session, {"title": "Spotkanie", "starts_at": start,
                                        "ends_at": start + timedelta(hours=1)}, about=[drop])
    with rt.session() as session, session.begin():
        merge.merge(session, session.get(Organisation, keep.id),
                    session.get(Organisation, drop.id))
    with rt.session() as session:
        survivor = session.get(Organisation, keep.id)
        assert [a.filename for a in attachments.list_for(session, survivor)] == ["notatka.txt"]
        assert [t.id for t in tasks.for_record(session, survivor)] == [task.id]
        assert session.scalars(select(EventLink.record_id)).all() == [keep.id]


def test_cases_of_the_merged_records_move_to_the_survivor(kartoteka_app_factory):
    from core import cases
    from core.models import Case, CasePerson

    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        keep, drop = org(session, rt, "Krzak Sp. z o.o."), org(session, rt, "Firma Krzak")
        anna, twin, piotr = person(session), person(session), person(session, "Piotr")
        case = cases.create(session, rt.host, {"title": "Baner", "process_key": "printing.project",
                                               "organisation_id": drop.id},
                            people=[(twin, "client"), (anna, "designer"), (piotr, "courier")])
        other = cases.create(session, rt.host, {"title": "Tablice",
                                                "process_key": "printing.project"},
                             people=[(twin, "client")])
        merge.merge(session, keep, drop)
        merge.merge(session, anna, twin)
    with rt.session() as session:
        assert session.get(Case, case.id).organisation_id == keep.id
        assert session.execute(select(CasePerson.case_id, CasePerson.person_id, CasePerson.role)
                               .order_by(CasePerson.case_id, CasePerson.person_id)).all() == [
            (case.id, anna.id, "designer"), (case.id, piotr.id, "courier"),
            (other.id, anna.id, "client")]

"""Invitations (TR-2) and the messages of an enrolment (TR-3): the people of member units
chosen by a segment or a filter are put on the list as invited and sent a personalised
invitation, on their timelines; enrolling, waiting and cancelling tell the person by
e-mail. Every test runs on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import func, select

from core import (
    cases,
    memberships,
    organisations,
    people,
    places,
    roles,
    segments,
    users,
    workflow,
)
from core.errors import Forbidden, ValidationError
from core.models import ActivityLink, Case, Mailing, OutboxMessage, Place, User
from plugins.training import enrolments, invitations, venues
from plugins.training.models import Enrolment, OpenTo, Venue

PASSWORD = "correct horse battery"


@pytest.fixture
def world(rt):
    """Two municipalities and a county with their people, a training open for
    invitations, and its organiser."""
    found = {}
    with rt.session() as s, s.begin():
        organiser = roles.create(s, "organiser", "Training organiser")
        roles.set_permissions(s, organiser, ["training.manage", "training.enrol",
                                             "core.send_mailings"])
        found["organiser"] = users.create_user(s, "szkolenia@zwiazek.example.pl", PASSWORD,
                                               "Ewa Szkoleniowa",
                                               roles=["staff", "organiser"]).id
        only_training = roles.create(s, "trainings_only", "Trainings only")
        roles.set_permissions(s, only_training, ["training.manage"])
        found["no_mailings"] = users.create_user(s, "bez@zwiazek.example.pl", PASSWORD,
                                                 "Bez Mailingu",
                                                 roles=["staff", "trainings_only"]).id
        for key, name, type_key, region in (
                ("kornik", "Gmina Kórnik", "core.municipality", "wielkopolskie"),
                ("mosina", "Gmina Mosina", "core.municipality", "wielkopolskie"),
                ("lodz", "Gmina Łódź", "core.municipality", "łódzkie")):
            unit = organisations.create(s, rt.host, {"name": name, "type_key": type_key,
                                                     "region": region})
            found[key] = unit.id
        for key, first, last, unit, role in (
                ("anna", "Anna", "Nowak", "kornik", "skarbnik"),
                ("piotr", "Piotr", "Wiśniewski", "kornik", "sekretarz"),
                ("maria", "Maria", "Zielińska", "mosina", "skarbnik"),
                ("jan", "Jan", "Łódzki", "lodz", "skarbnik")):
            person = people.create(s, {"first_name": first, "last_name": last, "emails": [
                f"{key}@gmina.example.pl"]})
            memberships.join(s, person, s.get(organisations.Organisation, found[unit]),
                             role, date(2020, 1, 1))
            found[key] = person.id
        # Someone who left Kórnik is not invited for it.
        former = people.create(s, {"first_name": "Ewa", "last_name": "Była", "emails": [
            "byla@gmina.example.pl"]})
        memberships.leave(s, memberships.join(
            s, former, s.get(organisations.Organisation, found["kornik"]), "skarbnik",
            date(2018, 1, 1)), date(2021, 1, 1))
        found["former"] = former.id
        trainer = people.create(s, {"first_name": "Adam", "last_name": "Trener"})
        venue = venues.create(s, {"name": "Sala Rady", "city": "Poznań"},
                              s.get(User, found["organiser"]))
        case = cases.create(s, rt.host, {
            "title": "Zamówienia publiczne 2027", "process_key": "training.training",
            "custom": {"training_starts_at": "2027-03-10T09:00:00+01:00",
                       "training_trainer": trainer.id, "training_venue": venue.id,
                       "training_capacity": 1}}, actor=s.get(User, found["organiser"]))
        workflow.move(s, rt.host, case, "invitations", s.get(User, found["organiser"]))
        found["training"] = case.id
        segment = segments.save(s, "Wielkopolska", "organisation", {
            "field": "region", "op": "eq", "value": "wielkopolskie"},
            s.get(User, found["organiser"]))
        found["segment"] = segment.id
    return found


def invite(rt, world, by="organiser", **data):
    with rt.session() as s, s.begin():
        case = s.get(Case, world["training"])
        mailing, found = invitations.invite(s, case, data, s.get(User, world[by]))
        return mailing.id, found


def listed(rt, world) -> dict[int, tuple[str, int | None]]:
    with rt.session() as s:
        return {row.person_id: (row.status, row.organisation_id) for row in s.scalars(
            select(Enrolment).where(Enrolment.case_id == world["training"]))}


def test_the_people_of_the_chosen_units_are_invited_and_mailed_about_the_training(rt, world):
    mailing_id, found = invite(rt, world, segment_id=world["segment"])
    assert sorted(found.units) == sorted([world["kornik"], world["mosina"]])
    assert listed(rt, world) == {world["anna"]: ("invited", world["kornik"]),
                                 world["piotr"]: ("invited", world["kornik"]),
                                 world["maria"]: ("invited", world["mosina"])}
    with rt.session() as s:
        mailing = s.get(Mailing, mailing_id)
        assert (mailing.kind, mailing.case_id) == ("service", world["training"])
        messages = {m.to_address: m for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.mailing_id == mailing_id))}
        assert sorted(messages) == ["anna@gmina.example.pl", "maria@gmina.example.pl",
                                    "piotr@gmina.example.pl"]
        anna = messages["anna@gmina.example.pl"]
        assert anna.subject == "Zaproszenie: Zamówienia publiczne 2027"
        assert "Dzień dobry Anna" in anna.text_body
        assert "Sala Rady" in anna.text_body and "Adam Trener" in anna.text_body
        # On Anna's timeline and the training's.
        on = set(s.execute(select(ActivityLink.record_type, ActivityLink.record_id).where(
            ActivityLink.activity_id == anna.activity_id)).all())
        assert {("person", world["anna"]), ("case", world["training"])} <= on


def test_a_filter_and_a_role_narrow_the_invitation_and_inviting_again_adds_only_the_new(
        rt, world):
    _id, found = invite(rt, world, filter={"field": "region", "op": "eq",
                                           "value": "wielkopolskie"}, role="skarbnik")
    assert sorted(p for p, _o in found.people) == sorted([world["anna"], world["maria"]])
    _id, found = invite(rt, world, segment_id=world["segment"])
    assert [p for p, _o in found.people] == [world["piotr"]]
    assert found.on_the_list == 2
    with pytest.raises(ValidationError) as refused:
        invite(rt, world, segment_id=world["segment"])
    assert "Nobody new to invite" in refused.value.errors["segment_id"]


def put_places(rt, world):
    """The gazetteer's places of the units' towns and the venue's, Poznań."""
    with rt.session() as s, s.begin():
        for number, (name, latitude, longitude) in enumerate((
                ("Poznań", 52.40692, 16.92993), ("Kórnik", 52.24744, 17.08921),
                ("Mosina", 52.24540, 16.84722), ("Łódź", 51.75, 19.46667)), start=1):
            s.add(Place(place_id=number, country="PL", name=name, name_key=places.key(name),
                        latitude=latitude, longitude=longitude, principal=True,
                        longitude_km=places.longitude_km(latitude)))
        for key, city in (("kornik", "Kórnik"), ("mosina", "Mosina"), ("lodz", "Łódź")):
            s.get(organisations.Organisation, world[key]).city = city


def test_units_are_chosen_by_their_distance_from_the_venue(rt, world):
    put_places(rt, world)
    with rt.session() as s:  # the preview writes nothing
        case = s.get(Case, world["training"])
        near = invitations.invitees(s, case, {"within_km": 30})
        assert sorted(near.units) == sorted([world["kornik"], world["mosina"]])
        assert sorted(invitations.invitees(s, case, {"within_km": 200}).units) == sorted(
            [world["kornik"], world["mosina"], world["lodz"]])
        # Kórnik is 21 km from Poznań, Mosina 19: the distance narrows the filter.
        assert invitations.invitees(s, case, {"within_km": 19, "filter": {
            "field": "name", "op": "contains", "value": "gmina"}}).units == [world["mosina"]]
    assert listed(rt, world) == {}
    _id, found = invite(rt, world, within_km=30, role="skarbnik")
    assert sorted(p for p, _o in found.people) == sorted([world["anna"], world["maria"]])


def test_a_distance_needs_a_venue_whose_town_is_known(rt, world):
    def refused_with(data) -> str:
        with pytest.raises(ValidationError) as refused:
            invite(rt, world, **data)
        return refused.value.errors["within_km"]

    assert "kartoteka places load" in refused_with({"within_km": 30})  # none loaded yet
    put_places(rt, world)
    with rt.session() as s, s.begin():
        venue = s.scalars(select(Venue)).one()
        venue.city = "Xyzów"
    assert "The town Xyzów is not in the list of places" in refused_with({"within_km": 30})
    with rt.session() as s, s.begin():
        s.scalars(select(Venue)).one().city = ""
    assert "Training: no training venue with a town is chosen" in refused_with({"within_km": 30})
    for bad in (0, 5000, "daleko"):
        assert "Give a distance from 1 to 1000 km" in refused_with({"within_km": bad}) \
            or "Not a valid number" in refused_with({"within_km": bad})
    assert listed(rt, world) == {}


def test_previous_participation_chooses_the_units(rt, world):
    with rt.session() as s, s.begin():
        earlier = cases.create(s, rt.host, {"title": "RODO", "process_key": "training.training"},
                               actor=s.get(User, world["organiser"]))
        s.add(Enrolment(case_id=earlier.id, person_id=world["maria"], status="attended",
                        organisation_id=world["mosina"]))
    _id, found = invite(rt, world, segment_id=world["segment"], participation="never")
    assert found.units == [world["kornik"]]
    _id, found = invite(rt, world, filter={"and": []}, participation="attended")
    assert found.units == [world["mosina"]]


def test_a_closed_training_opens_to_the_units_invited(rt, world):
    with rt.session() as s, s.begin():
        case = s.get(Case, world["training"])
        case.custom = {**case.custom, "training_visibility": "closed"}
        enrolments.invite(s, case, s.get(people.Person, world["maria"]),
                          organisation_id=world["mosina"])
    # Mosina's only person is on the list already: Mosina is opened all the same.
    invite(rt, world, filter={"or": [{"field": "name", "op": "contains", "value": "Mosina"},
                                     {"field": "name", "op": "contains", "value": "Łódź"}]})
    with rt.session() as s:
        assert set(s.scalars(select(OpenTo.organisation_id))) == {world["mosina"],
                                                                  world["lodz"]}
        case = s.get(Case, world["training"])
        assert enrolments.open_to(s, case, world["mosina"])
        assert not enrolments.open_to(s, case, world["kornik"])


def test_the_role_is_matched_whatever_its_letter_case(rt, world):
    _id, found = invite(rt, world, segment_id=world["segment"], role="SKARB")
    assert sorted(p for p, _o in found.people) == sorted([world["anna"], world["maria"]])


def test_someone_only_invited_is_not_told_of_a_cancellation(rt, world):
    invite(rt, world, segment_id=world["segment"])
    with rt.session() as s, s.begin():
        before = s.scalar(select(func.count()).select_from(OutboxMessage))
        row = s.scalar(select(Enrolment).where(Enrolment.person_id == world["anna"]))
        enrolments.cancel(s, row, s.get(User, world["organiser"]))
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == before
        assert s.get(Enrolment, row.id).status == "cancelled"


def test_a_broken_message_template_does_not_stop_enrolling(rt, world):
    from core import documents
    from core.models import DocumentTemplate

    with rt.session() as s, s.begin():
        template = s.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == "training.enrolled"))
        documents.save(s, template, {"body": "{{ person.no_such_thing }}",
                                     "subject": "Zapis"})
        case, organiser = s.get(Case, world["training"]), s.get(User, world["organiser"])
        workflow.move(s, rt.host, case, "enrolment_open", organiser)
        enrolments.enrol(s, case, s.get(people.Person, world["anna"]), organiser)
    assert listed(rt, world) == {world["anna"]: ("enrolled", None)}


def test_bad_invitations_are_refused_field_by_field_and_write_nothing(rt, world):
    for data, field, says in (
            ({}, "segment_id", "Choose a saved segment"),
            ({"within_km": None}, "segment_id", "a distance from the training venue or a filter"),
            ({"segment_id": 999999}, "segment_id", "Choose a saved segment"),
            ({"filter": {"field": "ciry", "op": "eq", "value": "x"}}, "filter.field",
             "Unknown field"),
            ({"segment_id": world["segment"], "participation": "sometimes"},
             "participation", "Choose one of"),
            ({"segment_id": world["segment"], "template": "core.nothing"}, "template",
             "Choose an e-mail template")):
        with pytest.raises(ValidationError) as refused:
            invite(rt, world, **data)
        assert says in refused.value.errors[field], (data, refused.value.errors)
    with pytest.raises(Forbidden, match="permission to send mailings"):
        invite(rt, world, by="no_mailings", segment_id=world["segment"])
    assert listed(rt, world) == {}
    with rt.session() as s, s.begin():
        workflow.move(s, rt.host, s.get(Case, world["training"]), "enrolment_open",
                      s.get(User, world["organiser"]))
        workflow.move(s, rt.host, s.get(Case, world["training"]), "enrolment_closed",
                      s.get(User, world["organiser"]))
    with pytest.raises(ValidationError) as refused:
        invite(rt, world, segment_id=world["segment"])
    assert "invitations phase" in refused.value.errors["case_id"]
    with rt.session() as s:
        assert s.scalars(select(Mailing)).all() == []


def test_enrolling_waiting_moving_up_and_cancelling_each_tell_the_person(rt, world):
    with rt.session() as s, s.begin():
        case, organiser = s.get(Case, world["training"]), s.get(User, world["organiser"])
        workflow.move(s, rt.host, case, "enrolment_open", organiser)
        anna = enrolments.enrol(s, case, s.get(people.Person, world["anna"]), organiser)
        enrolments.enrol(s, case, s.get(people.Person, world["maria"]), organiser)
    with rt.session() as s, s.begin():
        enrolments.cancel(s, s.get(Enrolment, anna.id), s.get(User, world["organiser"]))
    with rt.session() as s:
        told = [(m.to_address, m.subject) for m in s.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]
    assert told == [
        ("anna@gmina.example.pl", "Potwierdzenie zapisu: Zamówienia publiczne 2027"),
        ("maria@gmina.example.pl", "Lista rezerwowa: Zamówienia publiczne 2027"),
        ("anna@gmina.example.pl", "Anulowany zapis: Zamówienia publiczne 2027"),
        ("maria@gmina.example.pl", "Potwierdzenie zapisu: Zamówienia publiczne 2027")]


def test_a_message_switched_off_by_an_administrator_is_not_sent(rt, world):
    from core.models import DocumentTemplate

    with rt.session() as s, s.begin():
        s.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == "training.enrolled")).active = False
        case, organiser = s.get(Case, world["training"]), s.get(User, world["organiser"])
        workflow.move(s, rt.host, case, "enrolment_open", organiser)
        enrolments.enrol(s, case, s.get(people.Person, world["anna"]), organiser)
    with rt.session() as s:
        assert s.scalars(select(OutboxMessage)).all() == []

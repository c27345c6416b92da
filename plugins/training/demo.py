"""Demo data of the association: venues, a trainer, the member units' people, membership
contracts, and trainings past and coming: one settled with certificates, one open for
enrolment with a waiting list, one closed to a single unit, one still being planned.
Built on the core's demo card index of Greater Poland (``core.demo``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from core import cases, contracts, events, memberships, people, workflow
from core.models import Case, Membership, Organisation, Person
from plugins.training import enrolments, venues
from plugins.training.models import OpenTo, Venue
from plugins.training.process import KEY

VENUES = [("Sala Rady Związku", "ul. Wiosny Ludów 1", "61-831", "Poznań", 40),
          ("Centrum Konferencyjne", "ul. Chrobrego 20", "62-200", "Gniezno", 60)]
UNITS = ["Gmina Kórnik", "Gmina Mosina", "Miasto Gniezno", "Powiat Poznański"]
# More people of the units, with their roles: (first, last, e-mail, unit, role).
PEOPLE = [
    ("Bartosz", "Kaczmarek", "b.kaczmarek@kornik.example.pl", "Gmina Kórnik", "skarbnik"),
    ("Ewelina", "Mazur", "e.mazur@kornik.example.pl", "Gmina Kórnik", "inspektor ds. zamówień"),
    ("Jolanta", "Krawczyk", "j.krawczyk@mosina.example.pl", "Gmina Mosina", "sekretarz gminy"),
    ("Robert", "Dudek", "r.dudek@gniezno.example.pl", "Miasto Gniezno", "skarbnik miasta"),
]
# (title, days from today, phase, venue, price, capacity, visibility, who is on the list)
TRAININGS = [
    ("Zamówienia publiczne po nowelizacji", -40, "certified", 0, "300.00", 30, "public",
     ["Anna Nowak", "Bartosz Kaczmarek", "Piotr Wiśniewski", "Robert Dudek"]),
    ("RODO w urzędzie gminy", 21, "enrolment_open", 0, None, 3, "public",
     ["Anna Nowak", "Ewelina Mazur", "Jolanta Krawczyk", "Katarzyna Lewandowska"]),
    ("Warsztaty dla skarbników", 35, "enrolment_open", 1, "450.00", 15, "closed",
     ["Piotr Wiśniewski"]),
    ("Finanse publiczne 2027", 70, "planning", 1, "350.00", 40, "public", []),
]
ABSENT = {"Robert Dudek"}  # enrolled in the past training but did not come


def load(session) -> None:
    if session.scalar(select(Case.id).where(Case.process_key == KEY)):
        return  # loaded before
    host = events.host_of(session)
    places = _venues(session)
    units = {name: session.scalar(select(Organisation).where(Organisation.name == name))
             for name in UNITS}
    found = {p.full_name: (p, unit) for p, unit in _people(session, units)}
    trainer = people.create(session, {"first_name": "Jan", "last_name": "Kowalski",
                                      "emails": ["j.kowalski@szkolenia.example.pl"]},
                            allow_duplicates=True)
    _contracts(session, units)
    for title, days, phase, venue, price, capacity, visibility, listed in TRAININGS:
        starts = (datetime.now(UTC) + timedelta(days=days)).replace(
            hour=9, minute=0, second=0, microsecond=0)
        custom = {"training_starts_at": starts.isoformat(), "training_duration_hours": "6",
                  "training_trainer": trainer.id, "training_venue": places[venue].id,
                  "training_capacity": capacity, "training_visibility": visibility}
        if price:
            custom["training_price"] = {"amount": price, "currency": "PLN"}
        case = cases.create(session, host, {"title": title, "process_key": KEY,
                                            "custom": custom})
        if visibility == "closed":
            session.add(OpenTo(case_id=case.id, organisation_id=units["Gmina Mosina"].id))
        _walk(session, host, case, phase, [found[name] for name in listed])


def _walk(session, host, case: Case, phase: str, listed: list) -> None:
    """Take the training to ``phase``, enrolling ``listed`` on the way."""
    if phase == "planning":
        return
    workflow.move(session, host, case, "enrolment_open")
    for person, unit in listed:
        enrolments.enrol(session, case, person, organisation_id=unit.id)
    if phase == "enrolment_open":
        return
    workflow.move(session, host, case, "enrolment_closed")
    present = {p.id for p, _unit in listed if p.full_name not in ABSENT}
    enrolments.record_attendance(session, case, present)
    for target in ("delivered", "settled", "certified"):
        workflow.move(session, host, case, target)


def _venues(session) -> list[Venue]:
    found = []
    for name, street, postal, city, capacity in VENUES:
        found.append(session.scalar(select(Venue).where(Venue.name == name)) or venues.create(
            session, {"name": name, "street": street, "postal_code": postal, "city": city,
                      "capacity": capacity}))
    return found


def _people(session, units: dict):
    """The core demo's people of the units, and a few more."""
    for first, last, email, unit, role in PEOPLE:
        person = people.create(session, {"first_name": first, "last_name": last,
                                         "emails": [email]}, allow_duplicates=True)
        memberships.join(session, person, units[unit], role, date(2021, 1, 1))
    rows = session.execute(select(Person, Membership.organisation_id)
                           .join(Membership, Membership.person_id == Person.id)
                           .where(Membership.organisation_id.in_([u.id for u in units.values()]))
                           ).all()
    by_id = {u.id: u for u in units.values()}
    return [(person, by_id[unit_id]) for person, unit_id in rows]


def _contracts(session, units: dict) -> None:
    """Kórnik and Mosina are members: a quarterly membership fee each."""
    for name in ("Gmina Kórnik", "Gmina Mosina"):
        contracts.create(session, {
            "organisation_id": units[name].id, "title": f"Umowa członkowska — {name}",
            "description": "Składka członkowska",
            "starts_on": date(date.today().year, 1, 1).isoformat(),
            "period_months": 3, "unit_price": "900.00", "vat_rate": "zw"})

"""Demo data of a firm preparing expert opinions, often for courts: the secretariat, two
department managers, a board member, estimators and accounting; five specialisations,
three departments; the firm's own experts and two external ones, with their rates, one
on leave and one in conflict with a client; the courts; client firms (a developer, a
law firm, an insurer, a logistics firm) and a private person; and inquiries at every
phase, each taken there through the real steps: described and routed by the
secretariat, estimated from the experts' hours, the offer approved by the department's
manager (and by the board when its margin is below the minimum), sent, accepted with
the court's deadline, delivered and invoiced; one offer turned down. A meeting waits in
the calendar and a note is on one client's timeline, for the 360° view.

Dates are counted from the day the demo is loaded. The invoice is issued only when the
seller's name is set (``make run`` sets KARTOTEKA_COMPANY_NAME); without it that
inquiry stays delivered.
"""

import secrets
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from core import (
    approvals,
    calculations,
    calendar,
    cases,
    events,
    invoices,
    memberships,
    organisations,
    people,
    roles,
    timeline,
    users,
    workflow,
)
from core.filters import today as local_today
from core.filters import zone
from core.models import Case, Organisation, User
from plugins.expertise import departments, estimates, experts, inquiries, specialisations
from plugins.expertise.models import Department, Expert, Specialisation
from plugins.expertise.permissions import MANAGE, REPORTS, ROUTE

PROCESS = inquiries.PROCESS
ROLES = {  # key: (name, permissions)
    "expertise_secretariat": ("Sekretariat ekspertyz", [ROUTE]),
    "expertise_managers": ("Kierownicy działów", [REPORTS, "core.calculate"]),
    "expertise_board": ("Zarząd", [MANAGE, REPORTS]),
    "expertise_estimators": ("Opiekunowie zleceń", ["core.calculate"]),
    "expertise_accounting": ("Księgowość", ["core.billing"]),
}
SECRETARY, BUDNY, MOTYL, BOARD, SZACKI, RACHUBA, ACCOUNTANT = (
    "sekretariat@ekspertyzy.example.pl", "a.budny@ekspertyzy.example.pl",
    "e.motyl@ekspertyzy.example.pl", "k.prezes@ekspertyzy.example.pl",
    "p.szacki@ekspertyzy.example.pl", "m.rachuba@ekspertyzy.example.pl",
    "ksiegowosc@ekspertyzy.example.pl")
STAFF = [  # e-mail, name, role, supervisor
    (BOARD, "Krzysztof Prezes", "expertise_board", None),
    (SECRETARY, "Joanna Sekretarska", "expertise_secretariat", BOARD),
    (BUDNY, "Andrzej Budny", "expertise_managers", BOARD),
    (MOTYL, "Ewa Motyl", "expertise_managers", BOARD),
    (SZACKI, "Paweł Szacki", "expertise_estimators", BUDNY),
    (RACHUBA, "Magdalena Rachuba", "expertise_estimators", MOTYL),
    (ACCOUNTANT, "Beata Rachunek", "expertise_accounting", BOARD),
]
BUILDING, VALUATION, VEHICLES, FORENSIC_IT, SAFETY = (
    "Budownictwo", "Wycena nieruchomości", "Pojazdy i ruch drogowy", "Informatyka śledcza",
    "Bezpieczeństwo i higiena pracy")
DEPARTMENTS = [  # name, manager, specialisations, description
    ("Wydział Budownictwa i Nieruchomości", BUDNY, [BUILDING, VALUATION, SAFETY],
     "Stan techniczny budynków, wady robót, wycena nieruchomości, wypadki przy pracy."),
    ("Wydział Techniki Samochodowej", MOTYL, [VEHICLES],
     "Rekonstrukcja wypadków drogowych, uszkodzenia i wartość pojazdów."),
    ("Wydział Informatyki Śledczej", MOTYL, [FORENSIC_IT],
     "Zabezpieczanie i analiza danych, incydenty bezpieczeństwa."),
]
BUILDINGS, CARS, COMPUTERS = range(3)
EXPERTS = [  # first name, surname, department (None: external), rate, specialisations, note
    ("Jan", "Kowalczyk", BUILDINGS, "220.00", [BUILDING, SAFETY],
     "Inżynier budownictwa, biegły sądowy przy Sądzie Okręgowym w Poznaniu."),
    ("Marek", "Nowicki", BUILDINGS, "190.00", [BUILDING], "Konstrukcje żelbetowe."),
    ("Anna", "Wiśniewska", BUILDINGS, "180.00", [VALUATION], "Rzeczoznawca majątkowy."),
    ("Piotr", "Mazur", CARS, "170.00", [VEHICLES], "Rekonstrukcja wypadków drogowych."),
    ("Tomasz", "Lewandowski", CARS, "160.00", [VEHICLES], "Wycena pojazdów i szkód."),
    ("Katarzyna", "Zając", COMPUTERS, "210.00", [FORENSIC_IT], "Analiza nośników danych."),
    ("Zbigniew", "Sowa", None, "280.00", [BUILDING, VALUATION],
     "Dr hab. inż., konsultant konstrukcji; zlecenia z umowy o dzieło."),
    ("Michał", "Kruk", None, "250.00", [FORENSIC_IT], "Biegły z listy Sądu Okręgowego w "
     "Kaliszu; bezpieczeństwo sieci."),
]
COURTS = [  # name, city, postal code
    ("Sąd Okręgowy w Poznaniu", "Poznań", "61-752"),
    ("Sąd Rejonowy Poznań-Stare Miasto w Poznaniu", "Poznań", "60-967"),
    ("Sąd Okręgowy w Kaliszu", "Kalisz", "62-800"),
]
SO_POZNAN, SR_POZNAN, SO_KALISZ = range(3)
CLIENTS = [  # name, town, postal code, contact: first name, surname, e-mail, position
    ("Warta Invest Deweloper sp. z o.o.", "Poznań", "61-894",
     ("Robert", "Warciński", "r.warcinski@wartainvest.example.pl", "Dyrektor techniczny")),
    ("Kancelaria Adwokacka Nowak i Wspólnicy sp.k.", "Poznań", "61-806",
     ("Aleksandra", "Nowak-Lis", "a.nowaklis@kancelaria-nowak.example.pl", "Adwokat")),
    ("Towarzystwo Ubezpieczeń Przezorny S.A.", "Poznań", "60-166",
     ("Grzegorz", "Szkodowy", "likwidacja@przezorny.example.pl",
      "Kierownik likwidacji szkód")),
    ("Transbud Logistyka sp. z o.o.", "Swarzędz", "62-020",
     ("Iwona", "Składowska", "i.skladowska@transbud.example.pl", "Prezes zarządu")),
]
WARTA, KANCELARIA, PRZEZORNY, TRANSBUD, ZAWADZKA = range(5)  # the last: a private person
CONFLICT = ("Nowicki", WARTA, "Do 2024 r. kierownik budów w Warta Invest.")
ABSENT = ("Lewandowski", -3, 11, "Urlop wypoczynkowy")  # from, to: days from today
# Each inquiry: title, client, specialisation, the phase it reaches, and what it needs on
# the way: the experts' hours and the costs, the margin, the court, the deadline (days
# from today), other parties. "waiting" stays estimated with the manager asked.
INQUIRIES = [
    dict(title="Wady robót wykończeniowych w lokalu przy ul. Garbarskiej", client=KANCELARIA,
         specialisation=BUILDING, reach="meeting"),
    dict(title="Wycena domu jednorodzinnego w Luboniu", client=ZAWADZKA,
         specialisation=VALUATION, reach="inquiry"),
    dict(title="Odzyskanie danych z laptopa byłego pracownika", client=TRANSBUD,
         specialisation=FORENSIC_IT, reach="routed"),
    dict(title="Rekonstrukcja kolizji na drodze S11 pod Kórnikiem", client=PRZEZORNY,
         specialisation=VEHICLES, reach="waiting", hours=[("Mazur", "24")],
         travel="450", margin="35"),
    dict(title="Przyczyny pęknięć stropu w budynku B2 osiedla Warta Park", client=WARTA,
         specialisation=BUILDING, reach="offer", hours=[("Kowalczyk", "40"), ("Sowa", "12")],
         travel="600", materials="2400", margin="35"),
    dict(title="Wycena lokali w sprawie o podział majątku wspólnego", client=KANCELARIA,
         specialisation=VALUATION, reach="offer", hours=[("Wiśniewska", "30"), ("Sowa", "6")],
         travel="300", margin="18", court=SO_POZNAN, reference="I C 845/26"),
    dict(title="Uszkodzenia ciągnika siodłowego po zdarzeniu na A2", client=PRZEZORNY,
         specialisation=VEHICLES, reach="accepted", hours=[("Mazur", "30")], travel="350",
         margin="30", court=SR_POZNAN, reference="I C 1234/26", due=4,
         parties=[(TRANSBUD, "powód")]),
    dict(title="Analiza włamania do systemu magazynowego", client=TRANSBUD,
         specialisation=FORENSIC_IT, reach="accepted",
         hours=[("Zając", "40"), ("Kruk", "16")], materials="800", margin="40",
         court=SO_KALISZ, reference="IX GC 210/26", due=45),
    dict(title="Wartość działki budowlanej w Mosinie", client=ZAWADZKA,
         specialisation=VALUATION, reach="delivered", hours=[("Wiśniewska", "16")],
         travel="200", margin="40", court=SR_POZNAN, reference="I Ns 77/26", due=10),
    dict(title="Inwentaryzacja uszkodzeń elewacji budynku A1", client=WARTA,
         specialisation=BUILDING, reach="invoiced", hours=[("Kowalczyk", "20")],
         travel="300", margin="40", due=6),
    dict(title="Wypadek przy pracy w magazynie: ocena zabezpieczeń regałów", client=TRANSBUD,
         specialisation=SAFETY, reach="rejected", hours=[("Kowalczyk", "14")], margin="30",
         why="Klient zlecił opinię pracowni, z którą ma umowę ramową."),
]


def load(session) -> None:
    if session.scalar(select(Case.id).where(Case.process_key == PROCESS).limit(1)):
        return  # loaded before
    host, today = events.host_of(session), local_today()
    staff = _staff(session)
    board = staff[BOARD]
    found = {name: _specialisation(session, name, board)
             for name in (BUILDING, VALUATION, VEHICLES, FORENSIC_IT, SAFETY)}
    units = [_department(session, name, staff[boss], [found[s] for s in covered],
                         description, board)
             for name, boss, covered, description in DEPARTMENTS]
    courts = [_organisation(session, host, name, city, postal, inquiries.COURT)
              for name, city, postal in COURTS]
    clients = [_client(session, host, *row) for row in CLIENTS]
    clients.append(_private_client(session))
    team = _experts(session, units, found, clients, today, board)
    walk = _Walk(session, host, staff, found, units, team, courts, clients, today)
    for row in INQUIRIES:
        walk.inquiry(**row)
    warta = clients[WARTA]
    timeline.add(session, "note", "Dokumentacja projektowa osiedla Warta Park",
                 [warta.organisation, warta.person], actor=staff[SZACKI],
                 body="Klient przekaże projekt konstrukcji i dziennik budowy budynku B2 "
                      "przed oględzinami; prosi o opinię przed zebraniem wspólnoty.")
    timeline.add(session, "call", "Termin oględzin lokali", [
        clients[KANCELARIA].organisation], actor=staff[SZACKI],
        body="Mec. Nowak-Lis potwierdzi dostęp do lokali z zarządcą.")


# --- The firm ----------------------------------------------------------------------------

def _staff(session) -> dict[str, User]:
    for key, (name, granted) in ROLES.items():
        role = roles.find(session, key) or roles.create(session, key, name)
        roles.set_permissions(session, role, granted)
    found: dict[str, User] = {}
    for email, name, role, boss in STAFF:
        user = users.find_by_email(session, email) or users.create_user(
            session, email, secrets.token_urlsafe(16), full_name=name, roles=["staff", role])
        user.supervisor_id = found[boss].id if boss else None
        found[email] = user
    session.flush()
    return found


def _specialisation(session, name, actor) -> Specialisation:
    return session.scalar(select(Specialisation).where(Specialisation.name == name)) \
        or specialisations.create(session, {"name": name}, actor)


def _department(session, name, manager, covered, description, actor) -> Department:
    found = session.scalar(select(Department).where(Department.name == name,
                                                    Department.deleted_at.is_(None)))
    return found or departments.create(session, {
        "name": name, "manager_id": manager.id, "description": description,
        "specialisation_ids": [s.id for s in covered]}, actor)


def _experts(session, units, found, clients, today, actor) -> dict[str, Expert]:
    """The experts by surname: their people, rates, the absence and the conflict."""
    team = {}
    for first, last, unit, rate, covered, note in EXPERTS:
        person = people.create(session, {"first_name": first, "last_name": last},
                               allow_duplicates=True)
        data = {"person_id": person.id, "hourly_rate": rate, "note": note,
                "internal": unit is not None,
                "department_id": units[unit].id if unit is not None else None,
                "specialisation_ids": [found[s].id for s in covered]}
        if last == CONFLICT[0]:
            data["conflicts"] = [{"organisation_id": clients[CONFLICT[1]].organisation.id,
                                  "reason": CONFLICT[2]}]
        if last == ABSENT[0]:
            data["absences"] = [{"starts_on": (today + timedelta(days=ABSENT[1])).isoformat(),
                                 "ends_on": (today + timedelta(days=ABSENT[2])).isoformat(),
                                 "reason": ABSENT[3]}]
        team[last] = experts.create(session, data, actor)
    return team


def _organisation(session, host, name, city, postal_code, type_key) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name)) \
        or organisations.create(session, host, {
            "name": name, "type_key": type_key, "city": city, "postal_code": postal_code,
            "region": "wielkopolskie"}, allow_duplicates=True)


def _client(session, host, name, city, postal_code, contact):
    """The firm and its contact person, invited to meetings about its matters."""
    firm = _organisation(session, host, name, city, postal_code, "core.company")
    first, last, email, position = contact
    person = people.create(session, {"first_name": first, "last_name": last,
                                     "emails": [email]}, allow_duplicates=True)
    memberships.join(session, person, firm, position, date(2021, 1, 1))
    return SimpleNamespace(organisation=firm, person=person)


def _private_client(session):
    """A private person in a court case of her own: the client and the invoice's buyer."""
    person = people.create(session, {
        "first_name": "Halina", "last_name": "Zawadzka", "phones": ["+48 604 222 333"],
        "emails": ["h.zawadzka@poczta.example.pl"],
        "addresses": [{"street": "ul. Żabikowska 12", "city": "Luboń",
                       "postal_code": "62-030"}]}, allow_duplicates=True)
    return SimpleNamespace(organisation=None, person=person)


# --- Inquiries (EX-1 to EX-4) ------------------------------------------------------------

class _Walk:
    """Takes inquiries through the real steps, each step by whoever takes it in the firm."""

    def __init__(self, session, host, staff, found, units, team, courts, clients, today):
        self.session, self.host, self.staff, self.found = session, host, staff, found
        self.units, self.team, self.courts, self.clients = units, team, courts, clients
        self.today = today
        self.settings = session.info["jobs"].rt.settings  # the seller's name

    def inquiry(self, title, client, specialisation, reach, hours=(), travel="0",
                materials="0", margin="30", court=None, reference="", due=None, parties=(),
                why="") -> Case:
        who = self.clients[client]
        unit = self._unit(specialisation)
        owner = self.staff[SZACKI if unit is self.units[BUILDINGS] else RACHUBA]
        case = cases.create(self.session, self.host, {
            "title": title, "process_key": PROCESS, "owner_id": owner.id,
            "organisation_id": who.organisation.id if who.organisation else None},
            people=[(who.person, "klient" if who.organisation is None else "kontakt")],
            actor=owner)
        if reach == "meeting":
            self._meeting(case, who, owner)
            return case
        self.move(case, "inquiry", owner)
        details = {"specialisation_id": self.found[specialisation].id}
        if court is not None:
            details.update(court_id=self.courts[court].id, court_reference=reference)
        if parties:
            details["parties"] = [{"organisation_id": self.clients[n].organisation.id,
                                   "role": role} for n, role in parties]
        inquiries.update(self.session, case, details, actor=owner)
        if reach == "inquiry":
            return case
        inquiries.route(self.session, self.host, case, unit.id, actor=self.staff[SECRETARY])
        if reach == "routed":
            return case
        self.move(case, "estimate", owner)
        estimates.estimate(self.session, case, {
            "experts": [{"expert_id": self.team[name].id, "hours": h} for name, h in hours],
            "travel_cost": travel, "materials_cost": materials, "margin": margin,
            "note": "Oględziny na miejscu i analiza dokumentacji."}, actor=owner)
        if reach == "waiting":  # the offer waits for the manager
            approvals.request(self.session, self.host, case, "offer", actor=owner)
            return case
        self._approved(case, owner, unit)
        self.move(case, "offer", owner)
        latest = calculations.of_case(self.session, case)[0]
        calculations.decide(self.session, latest, {"status": "sent"}, actor=owner)
        if reach == "offer":
            return case
        if reach == "rejected":
            calculations.decide(self.session, latest, {"status": "rejected", "reason": why},
                                actor=owner)
            self.move(case, "rejected", owner, comment=why)
            return case
        calculations.decide(self.session, latest, {"status": "accepted"}, actor=owner)
        inquiries.update(self.session, case, {
            "due_on": (self.today + timedelta(days=due)).isoformat()}, actor=owner)
        self.move(case, "accepted", owner)
        if reach == "accepted":
            return case
        self.move(case, "delivered", owner, comment="Opinia przekazana klientowi i do sądu.")
        if reach == "delivered" or not self.settings.company_name.strip():
            return case  # no invoice can be issued without the seller's name
        clerk = self.staff[ACCOUNTANT]
        draft = calculations.invoice(self.session, latest, clerk)
        invoices.issue(self.session, self.settings, draft, clerk)
        self.move(case, "invoiced", owner)
        return case

    def move(self, case, target, actor, comment="") -> None:
        workflow.move(self.session, self.host, case, target, actor=actor, comment=comment)

    def _unit(self, specialisation) -> Department:
        """The department the secretariat routes to: the first suggested."""
        return departments.suggested(self.session, self.found[specialisation].id)[0]

    def _approved(self, case, owner, unit) -> None:
        """Asked by the owner, approved by the department's manager and, when the margin
        is below the minimum, by the board (asked once the manager approves)."""
        asked = approvals.request(self.session, self.host, case, "offer", actor=owner)
        manager = self.session.get(User, unit.manager_id)
        approvals.decide(self.session, self.host, asked, "approve", manager,
                         comment="Zakres i godziny biegłych zgodne z oględzinami.")
        for waiting in approvals.requests(self.session, case):
            if waiting.status == "pending":
                approvals.decide(self.session, self.host, waiting, "approve",
                                 self.staff[BOARD], comment="Niższa marża: stały klient, "
                                 "kolejne zlecenia w drodze.")

    def _meeting(self, case, who, owner) -> None:
        """The first meeting, tomorrow at ten, with the client's contact person."""
        starts = datetime.combine(self.today + timedelta(days=1), time(10), zone())
        calendar.create_event(self.session, {
            "title": f"Spotkanie: {case.title}"[:300],
            "location": "Biuro, ul. Półwiejska 20, Poznań",
            "description": "Zakres opinii, dokumenty do przekazania, termin oględzin.",
            "starts_at": starts, "ends_at": starts + timedelta(hours=1)},
            attendees_users=[owner], attendees_people=[who.person],
            about=[*workflow.about_case(self.session, case), who.person], actor=owner)

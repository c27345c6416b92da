"""Demo data of a business-support institution: a manager and two consultants; two
grantors and five calls for proposals; client firms with their contact people;
opportunities at every phase (one offered, two won into cooperation contracts, one
lost); and grant applications at every phase, each taken there through the real steps:
a checklist half ready, an award that reaches a contract's milestone, payment requests
submitted, approved and paid, a durability period with its report delivered and one
whose report is overdue, so its client is at risk; one rejected, one withdrawn.

Dates are counted from the day the demo is loaded. Calls that closed long ago are
opened for the demo and closed once their applications were made, as they were then.
"""

import secrets
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from core import cases, events, memberships, organisations, people, roles, users, workflow
from core.filters import today as local_today
from core.models import Case, Organisation, User
from plugins.grants import calls, checklists, durability, payment_requests, schedules
from plugins.grants.models import GrantCall, PaymentRequest
from plugins.grants.permissions import CALLS, REPORTS

ROLES = {  # key: (name, permissions)
    "grants_managers": ("Kierownictwo dotacji", [CALLS, REPORTS, "core.billing"]),
    "grants_consultants": ("Doradcy dotacyjni", []),
}
MANAGER, WROBEL, LIS = ("m.zielinska@dotacje.example.pl", "t.wrobel@dotacje.example.pl",
                        "k.lis@dotacje.example.pl")
STAFF = [  # e-mail, name, role, supervisor
    (MANAGER, "Małgorzata Zielińska", "grants_managers", None),
    (WROBEL, "Tomasz Wróbel", "grants_consultants", MANAGER),
    (LIS, "Katarzyna Lis", "grants_consultants", MANAGER),
]
GRANTORS = [("Polska Agencja Rozwoju Przedsiębiorczości", "Warszawa", "00-834"),
            ("Wielkopolska Agencja Rozwoju Przedsiębiorczości", "Poznań", "61-823")]
CLIENTS = [  # name, town, postal code, contact: first name, surname, e-mail
    ("Stolarnia Dębowy Dwór sp. z o.o.", "Kalisz", "62-800",
     ("Jan", "Dębski", "j.debski@debowydwor.example.pl")),
    ("Piekarnia Złoty Kłos s.c.", "Gniezno", "62-200",
     ("Anna", "Kłosowska", "biuro@zlotyklos.example.pl")),
    ("TechMet Obróbka CNC sp. z o.o.", "Września", "62-300",
     ("Piotr", "Metelski", "p.metelski@techmet.example.pl")),
    ("Ogrody Wielkopolski sp. j.", "Śrem", "63-100",
     ("Ewa", "Ogrodnik", "ewa@ogrodywlkp.example.pl")),
    ("BioPak Opakowania S.A.", "Leszno", "64-100",
     ("Marek", "Pakulski", "m.pakulski@biopak.example.pl")),
    ("Hotel Nad Wartą sp. z o.o.", "Poznań", "61-001",
     ("Zofia", "Warcka", "recepcja@nadwarta.example.pl")),
    ("Drukarnia Offsetowa Kolor sp. z o.o.", "Konin", "62-500",
     ("Tadeusz", "Kolorowski", "t.kolorowski@kolor.example.pl")),
]
STOLARNIA, PIEKARNIA, TECHMET, OGRODY, BIOPAK, HOTEL, KOLOR = range(7)
SMART_ATTACHMENTS = ["Biznesplan", "Harmonogram rzeczowo-finansowy",
                     "Oświadczenie o statusie MŚP", "Zaświadczenie o niezaleganiu z ZUS i US"]


def load(session) -> None:
    if session.scalar(select(GrantCall.id).limit(1)) is not None:
        return  # loaded before
    host, today = events.host_of(session), local_today()
    staff = _staff(session)
    grantors = [_organisation(session, host, *row) for row in GRANTORS]
    contacts = [_client(session, host, *row) for row in CLIENTS]
    clients = [person.organisation for person in contacts]
    found = _calls(session, grantors, staff[MANAGER], today)
    walk = _Walk(session, host, today)
    _past_applications(walk, staff, contacts, found)  # before the contracts of today
    _opportunities(session, host, staff, clients, today)
    _applications(walk, staff, contacts, found)
    _close_old_calls(found, today)


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


def _organisation(session, host, name, city, postal_code) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name)) \
        or organisations.create(session, host, {
            "name": name, "type_key": "core.company", "city": city,
            "postal_code": postal_code, "region": "wielkopolskie"}, allow_duplicates=True)


def _client(session, host, name, city, postal_code, contact):
    """The firm and its contact person, who gets the reminders of its deadlines."""
    firm = _organisation(session, host, name, city, postal_code)
    first, last, email = contact
    person = people.create(session, {"first_name": first, "last_name": last,
                                     "emails": [email]}, allow_duplicates=True)
    memberships.join(session, person, firm, "Prezes zarządu", date(2020, 1, 1))
    return SimpleNamespace(organisation=firm, person=person)


def _calls(session, grantors, manager, today) -> dict[str, GrantCall]:
    """Open calls, and two whose applications were made long ago (closed at the end)."""
    smart = {"programme": "Fundusze Europejskie dla Nowoczesnej Gospodarki",
             "grantor_id": grantors[0].id, "max_rate": "70"}
    regional = {"programme": "Fundusze Europejskie dla Wielkopolski 2021–2027",
                "grantor_id": grantors[1].id, "max_rate": "85"}
    rows = {
        "smart": {**smart, "title": "Ścieżka SMART — MŚP", "reference":
                  "FENG.01.01-IP.02-001/27", "budget": "500000000",
                  "required_attachments": SMART_ATTACHMENTS,
                  "opens_on": today - timedelta(days=30), "deadline": today + timedelta(45)},
        "digital": {**regional, "title": "Bony na cyfryzację MŚP", "reference":
                    "FEWP.01.05-IZ.00-002/27", "budget": "20000000",
                    "required_attachments": ["Biznesplan", "Oferty dostawców"],
                    "opens_on": today - timedelta(days=20), "deadline": today + timedelta(10)},
        "green": {**regional, "title": "Inwestycje ekologiczne w MŚP", "reference":
                  "FEWP.02.01-IZ.00-004/25", "budget": "60000000",
                  "required_attachments": ["Biznesplan", "Audyt energetyczny"],
                  "description": "Nabór zamknięty."},
        "robots": {**smart, "title": "Robotyzacja i automatyzacja MŚP", "reference":
                   "FENG.01.01-IP.01-003/24", "budget": "150000000",
                   "required_attachments": ["Biznesplan", "Harmonogram rzeczowo-finansowy"],
                   "description": "Nabór zamknięty."},
        "export": {**smart, "title": "Internacjonalizacja MŚP", "reference":
                   "POIR.03.03.03-IP.01-001/21", "budget": "80000000",
                   "required_attachments": ["Biznesplan", "Plan działań eksportowych"],
                   "description": "Nabór zamknięty; projekty w okresie trwałości."},
    }
    for key in ("green", "robots", "export"):
        rows[key].update(opens_on=today - timedelta(days=1), deadline=today)
    return {key: calls.create(session, {**row, "opens_on": row["opens_on"].isoformat(),
                                        "deadline": row["deadline"].isoformat()}, manager)
            for key, row in rows.items()}


def _close_old_calls(found: dict[str, GrantCall], today: date) -> None:
    """Each closed before its applications were evaluated (see the walks' dates)."""
    for key, closed in (("green", 120), ("robots", 400), ("export", 1800)):
        found[key].opens_on = today - timedelta(days=closed + 90)
        found[key].deadline = today - timedelta(days=closed)


# --- Opportunities (GR-1, GR-2) ---------------------------------------------------------

def _opportunities(session, host, staff, clients, today) -> None:
    wrobel, lis = staff[WROBEL], staff[LIS]
    _opportunity(session, host, wrobel, clients[KOLOR], "Modernizacja parku maszynowego")
    qualified = _opportunity(session, host, lis, clients[HOTEL], "Termomodernizacja hotelu")
    workflow.move(session, host, qualified, "qualified", actor=lis)
    offered = _opportunity(session, host, wrobel, clients[BIOPAK],
                           "Linia opakowań kompostowalnych")
    _offer(session, host, offered, wrobel, [
        {"description": "Przygotowanie wniosku", "amount": "4000.00",
         "due_on": today + timedelta(days=14)},
        {"description": "Wynagrodzenie za sukces", "amount": "18000.00",
         "milestone": "awarded"}])
    for client, title, owner in ((clients[STOLARNIA], "Nowa hala i linia lakiernicza", lis),
                                 (clients[TECHMET], "Centrum obróbcze 5-osiowe", wrobel)):
        won = _opportunity(session, host, owner, client, title)
        _offer(session, host, won, owner, [
            {"description": "Biznesplan i wniosek", "amount": "3500.00",
             "due_on": today - timedelta(days=20)},
            {"description": "Wynagrodzenie za sukces", "amount": "15000.00",
             "milestone": "awarded"},
            {"description": "Rozliczenie dotacji", "amount": "5000.00",
             "milestone": "settled"}])
        workflow.move(session, host, won, "won", actor=owner)
    lost = _opportunity(session, host, lis, clients[KOLOR], "Maszyna do druku cyfrowego")
    cases.update(session, host, lost, {"custom": {"grants_lost_reason": "competitor"}}, lis)
    workflow.move(session, host, lost, "lost", actor=lis, comment="Wybrali tańszą firmę.")


def _opportunity(session, host, owner, client, title) -> Case:
    return cases.create(session, host, {"title": title, "process_key": "grants.opportunity",
                                        "owner_id": owner.id, "organisation_id": client.id},
                        actor=owner)


def _offer(session, host, case, owner, items) -> None:
    workflow.move(session, host, case, "qualified", actor=owner)
    workflow.move(session, host, case, "offer", actor=owner)
    schedules.replace(session, case, [
        {**item, "due_on": item["due_on"].isoformat()} if "due_on" in item else item
        for item in items], owner)


# --- Applications (GR-3, GR-4) ----------------------------------------------------------

def _applications(walk, staff, contacts, found) -> None:
    session, host, today = walk.session, walk.host, walk.today
    wrobel, lis = staff[WROBEL], staff[LIS]
    clients = contacts  # each with its organisation and contact person
    preparing = walk.apply(found["smart"], clients[TECHMET], wrobel, "1200000", "2000000")
    for item in checklists.items(session, preparing, wrobel)[:2]:
        checklists.mark_ready(session, preparing, item.id, None, wrobel)
    submitted = walk.apply(found["digital"], clients[OGRODY], lis, "85000", "100000")
    walk.submit(submitted, lis)
    evaluated = walk.apply(found["smart"], clients[HOTEL], lis, "900000", "1500000")
    walk.submit(evaluated, lis)
    workflow.move(session, host, evaluated, "evaluation", actor=lis)
    # Awarded: the cooperation contract's success fee falls due.
    awarded = walk.apply(found["green"], clients[STOLARNIA], lis, "350000", "600000")
    walk.award(awarded, lis, "350000", today - timedelta(days=12))
    # In the agreement: the advance paid, the first interim request approved.
    agreed = walk.apply(found["robots"], clients[BIOPAK], wrobel, "450000", "700000")
    walk.award(agreed, wrobel, "400000", today - timedelta(days=220))
    walk.agree(agreed, wrobel, today - timedelta(days=200), today - timedelta(days=180),
               today + timedelta(days=180))
    requests = payment_requests.listed(session, agreed, wrobel)
    walk.settle(requests[0], wrobel, paid=True)
    walk.settle(requests[1], wrobel, paid=False)
    # Withdrawn by the client while it was being prepared.
    withdrawn = walk.apply(found["digital"], clients[KOLOR], lis, "60000", "80000")
    cases.update(session, host, withdrawn, {"custom": {
        "grants_withdrawal_reason": "Klient odłożył inwestycję na przyszły rok."}}, lis)
    workflow.move(session, host, withdrawn, "withdrawn", actor=lis)


def _past_applications(walk, staff, clients, found) -> None:
    """Projects of years ago: two in durability, one report delivered on target and one
    overdue (so its client is at risk); and one application rejected."""
    session, host, today = walk.session, walk.host, walk.today
    wrobel, lis = staff[WROBEL], staff[LIS]
    _in_durability(walk, found["export"], clients[TECHMET], wrobel, today, ended=500,
                   delivered=True)
    _in_durability(walk, found["export"], clients[PIEKARNIA], lis, today, ended=400,
                   delivered=False)
    rejected = walk.apply(found["export"], clients[HOTEL], lis, "300000", "450000")
    walk.submit(rejected, lis)
    workflow.move(session, host, rejected, "evaluation", actor=lis)
    cases.update(session, host, rejected, {"custom": {
        "grants_rejection_reason": "Projekt nie uzyskał minimalnej liczby punktów."}}, lis)
    workflow.move(session, host, rejected, "rejected", actor=lis)


def _in_durability(walk, call, client, owner, today, ended: int, delivered: bool) -> None:
    """An application whose project ended ``ended`` days ago, settled, in durability."""
    case = walk.apply(call, client, owner, "500000", "800000")
    end = today - timedelta(days=ended)
    walk.award(case, owner, "480000", end - timedelta(days=420))
    walk.agree(case, owner, end - timedelta(days=400), end - timedelta(days=365), end)
    for request in payment_requests.listed(walk.session, case, owner):
        walk.settle(request, owner, paid=True)
    workflow.move(walk.session, walk.host, case, "settled", actor=owner)
    durability.set_indicators(walk.session, case, [
        {"name": "Nowe miejsca pracy", "unit": "etaty", "baseline": "0", "target": "3"},
        {"name": "Przychody z eksportu", "unit": "zł", "baseline": "0",
         "target": "400000"}], owner)
    workflow.move(walk.session, walk.host, case, "durability", actor=owner)
    first = durability.reports(walk.session, case, owner)[0]
    if delivered:
        ids = [i.id for i in durability.indicators(walk.session, case, owner)]
        durability.deliver(walk.session, first, (first.due_on - timedelta(days=5)).isoformat(),
                           owner, values={ids[0]: "4", ids[1]: "455000"})


class _Walk:
    """Takes applications through the real steps, with dates in the past."""

    def __init__(self, session, host, today: date):
        self.session, self.host, self.today = session, host, today

    def apply(self, call, client, owner, requested, value) -> Case:
        """Applied for ``client`` (its organisation; its contact person joins)."""
        return calls.apply(self.session, self.host, call, {
            "organisation_id": client.organisation.id, "owner_id": owner.id,
            "requested_amount": requested, "project_value": value}, owner)

    def submit(self, case, owner) -> None:
        for item in checklists.items(self.session, case, owner):
            checklists.mark_ready(self.session, case, item.id, None, owner)
        workflow.move(self.session, self.host, case, "submitted", actor=owner)

    def award(self, case, owner, amount: str, on: date) -> None:
        self.submit(case, owner)
        workflow.move(self.session, self.host, case, "evaluation", actor=owner)
        cases.update(self.session, self.host, case, {"custom": {
            "grants_awarded_amount": amount, "grants_awarded_on": on.isoformat()}}, owner)
        workflow.move(self.session, self.host, case, "awarded", actor=owner)

    def agree(self, case, owner, signed: date, start: date, end: date) -> None:
        cases.update(self.session, self.host, case, {"custom": {
            "grants_agreement_number": f"UDA-{case.id:05d}/{signed.year}",
            "grants_agreement_date": signed.isoformat(),
            "grants_project_start": start.isoformat(), "grants_project_end": end.isoformat(),
            "grants_advance_percent": "20", "grants_interim_requests": 2,
            "grants_final_percent": "10"}}, owner)
        workflow.move(self.session, self.host, case, "agreement", actor=owner)

    def settle(self, request: PaymentRequest, owner, paid: bool) -> None:
        """Submitted a week before its deadline (or today, if that is later), approved
        and, if ``paid``, paid three weeks after."""
        submitted = min(request.due_on - timedelta(days=7), self.today)
        payment_requests.submit(self.session, request, {
            "submitted_on": submitted.isoformat()}, owner)
        payment_requests.approve(self.session, request, {
            "approved_amount": str(Decimal(request.amount))}, owner)
        if paid:
            payment_requests.pay(self.session, request, {"paid_on": min(
                submitted + timedelta(days=21), self.today).isoformat()}, owner)

"""Demo data of the printing house: a sales line with supervisors, and projects in
several phases, one waiting for its calculation's approval."""

import secrets

from sqlalchemy import select

from core import approvals, cases, events, organisations, roles, users, workflow
from core.models import Case, Organisation, User

ROLES = [("printing_sales_director", "Dyrektor sprzedaży"), ("printing_board", "Zarząd")]
# (e-mail, name, roles, supervisor's e-mail)
STAFF = [
    ("b.lewandowska@drukarnia.example.pl", "Barbara Lewandowska", ["printing_board"], None),
    ("p.zielinski@drukarnia.example.pl", "Piotr Zieliński", ["printing_sales_director"],
     "b.lewandowska@drukarnia.example.pl"),
    ("e.kowalczyk@drukarnia.example.pl", "Ewa Kowalczyk", [], "p.zielinski@drukarnia.example.pl"),
    ("m.wisniewski@drukarnia.example.pl", "Marek Wiśniewski", [],
     "e.kowalczyk@drukarnia.example.pl"),
]
CLIENT = "Agencja Reklamowa Kreska sp. z o.o."
# (title, amount, cost, the phases it went through)
PROJECTS = [
    ("Oklejenie witryn salonu", None, None, []),
    ("Baner reklamowy 6×3 m", "12500.00", "8100.00", ["calculation"]),
    ("Billboardy: kampania jesienna", "145000.00", "98000.00", ["calculation"]),
    ("Roll-upy targowe (12 szt.)", "3900.00", "2300.00", ["calculation", "offer"]),
    ("Tablice informacyjne dla gminy", "8600.00", "5200.00", ["calculation", "offer"]),
]


def load(session) -> None:
    if session.scalar(select(Case.id).where(Case.process_key == "printing.project")):
        return  # loaded before
    host = events.host_of(session)
    staff = _staff(session)
    rep = staff["m.wisniewski@drukarnia.example.pl"]
    client = session.scalar(select(Organisation).where(Organisation.name == CLIENT)) \
        or organisations.create(session, host, {"name": CLIENT, "type_key": "core.company",
                                                "city": "Poznań", "postal_code": "61-131"},
                                allow_duplicates=True)
    for title, amount, cost, steps in PROJECTS:
        case = cases.create(session, host, {"title": title, "process_key": "printing.project",
                                            "owner_id": rep.id, "organisation_id": client.id,
                                            "amount": amount, "cost": cost}, actor=rep)
        for target in steps:
            if target == "offer" and approvals.explain(session, host, case, target):
                _approve(session, host, case, staff)
            workflow.move(session, host, case, target, actor=rep)
    big = session.scalar(select(Case).where(Case.title == PROJECTS[1][0]))
    approvals.request(session, host, big, "offer", actor=rep)


def _staff(session) -> dict[str, User]:
    for key, name in ROLES:
        if roles.find(session, key) is None:
            roles.create(session, key, name)
    found = {}
    for email, name, extra, boss in STAFF:
        user = users.find_by_email(session, email) or users.create_user(
            session, email, secrets.token_urlsafe(16), full_name=name,
            roles=["staff", *extra])
        user.supervisor_id = found[boss].id if boss else None
        found[email] = user
    session.flush()
    return found


def _approve(session, host, case, staff) -> None:
    request = approvals.request(session, host, case, "offer",
                                actor=staff["m.wisniewski@drukarnia.example.pl"])
    approvals.decide(session, host, request, "approve",
                     staff["e.kowalczyk@drukarnia.example.pl"], comment="Ceny zgodne z cennikiem.")

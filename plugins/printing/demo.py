"""Demo data of the printing house: the sales line from the board to reps in four
regions, customer service, production and accounting; the product price list; customers
across the country; projects at every phase, priced from the list and walked there
through the real steps (approvals by the approver each total calls for, one waiting, one
returned); and the reps' visits and calls of the last weeks."""

import io
import secrets
from datetime import timedelta

from sqlalchemy import select

from core import (
    approvals,
    calculations,
    cases,
    events,
    invoices,
    organisations,
    price_lists,
    roles,
    teams,
    timeline,
    users,
    workflow,
)
from core.db import utcnow
from core.models import Case, Organisation, PriceItem, Role, User
from core.models.role import UserRole
from plugins.printing import print_files
from plugins.printing.complaints import CUSTOMER_SERVICE, PRODUCTION
from plugins.printing.price_list import PRODUCTS

# key: (name, permissions)
ROLES = {
    "printing_board": ("Zarząd", ["printing.reports"]),
    "printing_sales_director": ("Dyrektor sprzedaży", ["printing.reports"]),
    "printing_sales": ("Handlowcy", ["core.calculate"]),
    "printing_pricing": ("Cennik", ["printing.price_products"]),
    "printing_accounting": ("Księgowość", ["core.billing"]),
    CUSTOMER_SERVICE: ("Obsługa klienta", ["printing.confirm_documents"]),
    PRODUCTION: ("Produkcja", ["printing.production", "printing.check_print_files"]),
}
SALES_TEAM = "Handlowcy w terenie"  # the reps and their managers: the group calendar
# (e-mail, name, roles, supervisor's e-mail); the last is the Poznań rep
STAFF = [
    ("b.lewandowska@drukarnia.example.pl", "Barbara Lewandowska", ["printing_board"], None),
    ("p.zielinski@drukarnia.example.pl", "Piotr Zieliński",
     ["printing_sales_director", "printing_pricing"], "b.lewandowska@drukarnia.example.pl"),
    ("e.kowalczyk@drukarnia.example.pl", "Ewa Kowalczyk", ["printing_sales"],
     "p.zielinski@drukarnia.example.pl"),
    ("r.kaczmarek@drukarnia.example.pl", "Robert Kaczmarek", ["printing_sales"],
     "p.zielinski@drukarnia.example.pl"),
    ("a.sikora@drukarnia.example.pl", "Agnieszka Sikora", ["printing_accounting"], None),
    ("a.nowak@drukarnia.example.pl", "Anna Nowak", [CUSTOMER_SERVICE], None),
    ("t.mazur@drukarnia.example.pl", "Tomasz Mazur", [PRODUCTION], None),
    ("a.dabrowska@drukarnia.example.pl", "Anna Dąbrowska", ["printing_sales"],
     "e.kowalczyk@drukarnia.example.pl"),
    ("k.wojcik@drukarnia.example.pl", "Krzysztof Wójcik", ["printing_sales"],
     "r.kaczmarek@drukarnia.example.pl"),
    ("j.kaminska@drukarnia.example.pl", "Joanna Kamińska", ["printing_sales"],
     "r.kaczmarek@drukarnia.example.pl"),
    ("m.wisniewski@drukarnia.example.pl", "Marek Wiśniewski", ["printing_sales"],
     "e.kowalczyk@drukarnia.example.pl"),
]
ITEMS = [  # code, name, category, unit, net price
    ("FL510", "Baner frontlit 510 g/m²", "media", "m²", "18.00"),
    ("MESH", "Siatka mesh 370 g/m²", "media", "m²", "16.50"),
    ("FOL", "Folia wylewana", "media", "m²", "32.00"),
    ("PCV5", "Płyta PCV 5 mm", "media", "m²", "55.00"),
    ("UV", "Druk UV", "print", "m²", "35.00"),
    ("LAT", "Druk lateksowy", "print", "m²", "28.00"),
    ("LAM", "Laminat matowy", "finishing", "m²", "14.00"),
    ("OCZ", "Oczkowanie co 50 cm", "finishing", "mb", "4.50"),
    ("ROLL", "Kaseta roll-up 85×200 cm", "finishing", "szt.", "95.00"),
    ("MONT", "Montaż (ekipa dwuosobowa)", "mounting", "h", "180.00"),
    ("TR", "Transport do 100 km", "transport", "kurs", "250.00"),
]
CLIENT = "Agencja Reklamowa Kreska sp. z o.o."
# name, city, postal code, voivodeship
CLIENTS = [
    (CLIENT, "Poznań", "61-131", "wielkopolskie"),
    ("Galeria Handlowa Odra sp. z o.o.", "Wrocław", "50-159", "dolnośląskie"),
    ("Centrum Targowe Wawel S.A.", "Kraków", "31-564", "małopolskie"),
    ("Hurtownia Budowlana Silesia sp. z o.o.", "Katowice", "40-086", "śląskie"),
    ("Piekarnie Złoty Kłos sp. j.", "Gdańsk", "80-831", "pomorskie"),
    ("Urząd Miasta i Gminy Swarzędz", "Swarzędz", "62-020", "wielkopolskie"),
]
# title, client, rep, markup, lines (code, quantity), the phase it reaches; "waiting"
# leaves the calculation's approval asked, "returned" returns it with a reason
PROJECTS = [
    ("Oklejenie witryn salonu", 0, "m.wisniewski", 35, [], "inquiry"),
    ("Baner reklamowy 6×3 m", 0, "m.wisniewski", 40,
     [("FL510", 180), ("UV", 180), ("OCZ", 54), ("MONT", 8), ("TR", 1)], "waiting"),
    ("Billboardy: kampania jesienna", 3, "j.kaminska", 30,
     [("FL510", 1440), ("UV", 1440), ("MONT", 120), ("TR", 12)], "waiting"),
    ("Siatka na rusztowanie, ul. Świdnicka", 1, "a.dabrowska", 35,
     [("MESH", 300), ("LAT", 300), ("OCZ", 140)], "returned"),
    ("Roll-upy targowe (12 szt.)", 2, "k.wojcik", 45,
     [("FL510", 21), ("LAT", 21), ("ROLL", 12), ("TR", 1)], "offer"),
    ("Tablice informacyjne dla gminy", 5, "m.wisniewski", 35,
     [("PCV5", 24), ("UV", 24), ("LAM", 24), ("MONT", 6)], "order"),
    ("Oznakowanie hali magazynowej", 3, "j.kaminska", 30,
     [("PCV5", 60), ("UV", 60), ("MONT", 16), ("TR", 2)], "production"),
    ("Naklejki na ciężarówki (8 szt.)", 4, "a.dabrowska", 40,
     [("FOL", 96), ("LAT", 96), ("LAM", 96), ("MONT", 12)], "delivery"),
    ("Kasetony świetlne piekarni", 4, "m.wisniewski", 35,
     [("FOL", 18), ("UV", 18), ("MONT", 10), ("TR", 3)], "closed"),
    ("Potykacze reklamowe", 2, "k.wojcik", 40, [("PCV5", 6), ("UV", 6)], "lost"),
]
# the print file of each project in production: a one-page PDF and its parameters
PDF = b"%PDF-1.4\n%projekt\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PRINT_FILE = {"width_mm": 3000, "height_mm": 1000, "dpi": 150,
              "colour_profile": "ISO Coated v2 (ECI)", "bleed_mm": 5}
WALK = ("calculation", "offer", "order", "production", "delivery", "closed")
# who takes a step that is not the rep's: production, accounting
STEPPED_BY = {"production": "t.mazur", "delivery": "t.mazur", "closed": "a.sikora"}
# what each step needs confirmed first, and by whom
CONFIRMED_BY = {"order": ("printing_documents_received", "a.nowak"),
                "production": ("printing_signed_order", "a.nowak"),
                "closed": ("printing_delivered", "a.sikora")}
# the reps' visits and calls: rep, client, kind, subject, days ago
SALES_EVENTS = [
    ("m.wisniewski", 0, "meeting", "Wizyta: przegląd kampanii na wiosnę", 3),
    ("m.wisniewski", 5, "call", "Tablice: termin montażu", 6),
    ("a.dabrowska", 1, "meeting", "Wizyta w galerii: pomiar rusztowania", 9),
    ("a.dabrowska", 4, "call", "Naklejki na flotę: kolory firmowe", 12),
    ("k.wojcik", 2, "meeting", "Targi: stoisko na marzec", 4),
    ("k.wojcik", 2, "call", "Potykacze: klient wybrał innego dostawcę", 15),
    ("j.kaminska", 3, "meeting", "Hurtownia: oznakowanie drugiej hali", 2),
    ("j.kaminska", 3, "call", "Billboardy: lokalizacje", 8),
]


def load(session) -> None:
    if session.scalar(select(Case.id).where(Case.process_key == "printing.project")):
        return  # loaded before
    host = events.host_of(session)
    staff, items = _staff(session), _items(session)
    clients = [_client(session, host, *row) for row in CLIENTS]
    for title, client, rep, markup, lines, reach in PROJECTS:
        _project(session, host, staff, items, title, clients[client], staff[rep], markup,
                 lines, reach)
    team = teams.create_team(session, SALES_TEAM)
    for key, user in staff.items():
        if key != "p.zielinski" and "printing_sales" in _roles_of(key):
            teams.add_member(session, team, user)
    for rep, client, kind, subject, days in SALES_EVENTS:
        timeline.add(session, kind, subject, [clients[client]], actor=staff[rep],
                     occurred_at=utcnow() - timedelta(days=days))


def _staff(session) -> dict[str, User]:
    for key, (name, granted) in ROLES.items():
        role = roles.find(session, key) or roles.create(session, key, name)
        roles.set_permissions(session, role, granted)
    found: dict[str, User] = {}
    by_email: dict[str, User] = {}
    for email, name, extra, boss in STAFF:
        user = users.find_by_email(session, email) or users.create_user(
            session, email, secrets.token_urlsafe(16), full_name=name,
            roles=["staff", *extra])
        user.supervisor_id = by_email[boss].id if boss else None
        by_email[email] = found[email.split("@")[0]] = user
    session.flush()
    return found


def _roles_of(key: str) -> list[str]:
    return next(held for email, _name, held, _boss in STAFF if email.startswith(f"{key}@"))


def _items(session) -> dict[str, PriceItem]:
    found = {i.code: i for i in session.scalars(select(PriceItem).where(
        PriceItem.list_key == PRODUCTS.key))}
    for code, name, category, unit, price in ITEMS:
        if code not in found:
            found[code] = price_lists.create(session, PRODUCTS, {
                "code": code, "name": name, "category": category, "unit": unit,
                "net_price": price, "vat_rate": "23"})
    return found


def _client(session, host, name, city, postal_code, region) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name)) \
        or organisations.create(session, host, {
            "name": name, "type_key": "core.company", "city": city,
            "postal_code": postal_code, "region": region}, allow_duplicates=True)


def _project(session, host, staff, items, title, client, rep, markup, lines, reach) -> None:
    case = cases.create(session, host, {"title": title, "process_key": "printing.project",
                                        "owner_id": rep.id, "organisation_id": client.id},
                        actor=rep)
    if reach == "inquiry":
        return
    workflow.move(session, host, case, "calculation", actor=rep)
    calculations.create(session, case, {"markup": markup, "lines": [
        {"price_item_id": items[code].id, "quantity": quantity}
        for code, quantity in lines]}, rep)
    if reach in ("waiting", "returned"):
        request = approvals.request(session, host, case, "offer", actor=rep)
        if reach == "returned":
            approvals.decide(session, host, request, "return", _approver(session, request),
                             comment="Dolicz montaż na wysokości i drugi kurs transportu.")
        return
    if reach == "lost":
        workflow.move(session, host, case, "lost", actor=rep,
                      comment="Klient wybrał tańszą ofertę konkurencji.")
        return
    for target in WALK[1:WALK.index(reach) + 1]:
        if target == "offer" and approvals.explain(session, host, case, target):
            request = approvals.request(session, host, case, target, actor=rep)
            approvals.decide(session, host, request, "approve", _approver(session, request),
                             comment="Ceny zgodne z cennikiem.")
        if target == "closed" and not _invoiced(session, case, staff["a.sikora"]):
            return  # no invoice can be issued without the seller's name
        if target == "production":
            print_file(session, case, rep, staff["t.mazur"])
        if target in CONFIRMED_BY:
            field, who = CONFIRMED_BY[target]
            cases.update(session, host, case, {"custom": {field: True}}, actor=staff[who])
        workflow.move(session, host, case, target, actor=staff[STEPPED_BY[target]]
                      if target in STEPPED_BY else rep)


def print_file(session, case, rep, prepress) -> None:
    """The customer's file, sent in by the rep and checked by prepress."""
    settings = session.info["jobs"].rt.settings  # where files are kept
    found = print_files.add(session, settings, case, PRINT_FILE, (
        "projekt.pdf", io.BytesIO(PDF), "application/pdf"), rep)
    print_files.check(session, found, prepress)


def _invoiced(session, case, clerk) -> bool:
    """Accounting invoices the latest calculation, when the seller is named."""
    settings = session.info["jobs"].rt.settings
    if not settings.company_name.strip():
        return False
    draft = calculations.invoice(session, calculations.of_case(session, case)[0], clerk)
    invoices.issue(session, settings, draft, clerk)
    return True


def _approver(session, request) -> User:
    """The one who decides: the person asked, or the first holder of the role asked."""
    if request.approver_id is not None:
        return session.get(User, request.approver_id)
    return session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).join(
        Role).where(Role.key == request.approver_role).order_by(User.id)).first()

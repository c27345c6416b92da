"""The world the billing tests share: a seller, an accountant, staff without billing,
a rep who sees only their own records, and two clients."""

from __future__ import annotations

from datetime import date

from core import invoices, organisations, people, roles, users
from core.models import Invoice, Organisation, Person, User

PASSWORD = "correct horse battery"
COMPANY = {"company_name": "Drukarnia Test sp. z o.o.",
           "company_details": "ul. Długa 1\n61-001 Poznań\nNIP 7773061579"}
BANNER = {"description": "Baner 6x3 m", "quantity": "1", "unit": "szt.",
          "unit_price": "1000.00", "vat_rate": "23"}
MARCH = date(2026, 3, 2)


def make_world(rt) -> dict[str, int]:
    """Accounts and clients; their ids by name."""
    with rt.session() as s, s.begin():
        accounting = roles.create(s, "accounting", "Accounting")
        roles.set_permissions(s, accounting, ["core.billing"])
        own = roles.create(s, "own_only", "Own records only")
        roles.set_access(s, own, {("*", a): "own" for a in ("read", "create", "edit",
                                                            "delete", "export")})
        roles.set_permissions(s, own, ["core.billing"])
        found = {
            "admin": users.create_user(s, "admin@example.com", PASSWORD, "Admin",
                                       is_admin=True).id,
            "clerk": users.create_user(s, "clerk@example.com", PASSWORD, "Klara Księgowa",
                                       roles=["staff", "accounting"]).id,
            "rep": users.create_user(s, "rep@example.com", PASSWORD, "Rep",
                                     roles=["staff"]).id,
            "loner": users.create_user(s, "loner@example.com", PASSWORD, "Loner",
                                       roles=["own_only"]).id,
        }
        found["kornik"] = organisations.create(s, rt.host, {
            "name": "Gmina Kórnik", "nip": "7773061579", "type_key": "core.municipality",
            "street": "Plac Niepodległości 1", "postal_code": "62-035",
            "city": "Kórnik"}).id
        found["mosina"] = organisations.create(s, rt.host, {
            "name": "Gmina Mosina", "type_key": "core.municipality", "city": "Mosina"}).id
        found["anna"] = people.create(s, {
            "first_name": "Anna", "last_name": "Nowak",
            "addresses": [{"street": "ul. Polna 3", "postal_code": "60-001",
                           "city": "Poznań"}]}).id
    return found


def user(s, world: dict, name: str) -> User:
    return s.get(User, world[name])


def org(s, world: dict, name: str = "kornik") -> Organisation:
    return s.get(Organisation, world[name])


def person(s, world: dict, name: str = "anna") -> Person:
    return s.get(Person, world[name])


def draft(s, world: dict, lines=None, by: str = "clerk", client: str = "kornik",
          **data) -> Invoice:
    """A draft for the client (an organisation, or ``person_id`` in ``data``)."""
    party = {} if "person_id" in data else {"organisation_id": world[client]}
    return invoices.create(s, {**party, "lines": [BANNER] if lines is None else lines,
                               **data}, user(s, world, by))


def issued(rt, world: dict, lines=None, issue_date: date = MARCH, **data) -> int:
    """An invoice drafted and issued in a transaction of its own; its id."""
    with rt.session() as s, s.begin():
        invoice = draft(s, world, lines, **data)
        invoices.issue(s, rt.settings, invoice, user(s, world, "clerk"), issue_date)
        return invoice.id


def login(app, email: str):
    """A test client of the staff pages, logged in as ``email``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client

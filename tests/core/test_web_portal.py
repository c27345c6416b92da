"""The portal: a member unit's administrator keeps its people, a participant sees its
own data and documents, and neither ever reaches another organisation or a staff page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from core import documents, memberships, organisations, people, records, tokens, users
from core.documents import Template
from core.errors import Forbidden
from core.models import AuditEntry, Membership, Organisation, Person, User
from core.testing import ADMIN_PASSWORD
from page_helpers import flashes, show, text, visible, writing

PASSWORD = ADMIN_PASSWORD
CERTIFICATE = Template("test.certificate", "letter", "person",
                       {"pl": "Zaświadczenie", "en": "Certificate"},
                       "<p>{{ person.first_name }} {{ person.last_name }}</p>")


@pytest.fixture
def units(app):
    """Kórnik with Anna (a clerk) and Jan (a participant with an account), Mosina with
    Ewa (with an account too); a portal administrator of Kórnik; a certificate each."""
    rt = app.extensions["kartoteka"]
    ids = {}
    with writing(app) as (session, _admin):
        for org_name, names in (("Gmina Kórnik", ("Anna Nowak", "Jan Kowalski")),
                                ("Gmina Mosina", ("Ewa Mosińska",))):
            org = organisations.create(session, rt.host, {"name": org_name, "street": "Rynek 1",
                                                          "city": org_name[6:],
                                                          "type_key": "core.municipality"})
            ids[org_name] = org.id
            for name in names:
                first, last = name.split()
                person = people.create(session, {"first_name": first, "last_name": last,
                                                 "emails": [f"{first.lower()}@example.pl"]})
                ids[first] = person.id
                ids[f"{first} membership"] = memberships.join(session, person, org,
                                                              "clerk").id
        kornik, mosina = session.get(Organisation, ids["Gmina Kórnik"]), \
            session.get(Organisation, ids["Gmina Mosina"])
        ids["admin"] = users.create_user(session, "admin@kornik.pl", PASSWORD, "Kórnik admin",
                                         portal_of=kornik, portal_admin=True).id
        users.create_user(session, "jan@kornik.pl", PASSWORD, "Jan Kowalski", portal_of=kornik,
                          person=session.get(Person, ids["Jan"]))
        users.create_user(session, "ewa@mosina.pl", PASSWORD, "Ewa Mosińska", portal_of=mosina,
                          person=session.get(Person, ids["Ewa"]))
    with app.test_request_context(), writing(app) as (session, admin):
        template = documents.ship(session, CERTIFICATE)
        for first in ("Anna", "Jan", "Ewa"):
            made = documents.generate(session, rt.host, rt.settings, template,
                                      session.get(Person, ids[first]), admin)
            ids[f"{first} document"], ids[f"{first} file"] = made.id, made.attachment_id
    return ids


def portal_login(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client, response.headers["Location"]


def state(app):
    """Everything the portal could change, and the size of the audit trail."""
    with app.extensions["kartoteka"].session() as session:
        return (sorted((p.id, p.first_name, p.last_name, p.version, p.notes,
                        tuple(p.contact_values("email"))) for p in session.scalars(select(Person))),
                sorted((m.id, m.person_id, m.organisation_id, m.end_date)
                       for m in session.scalars(select(Membership))),
                sorted((o.id, o.version) for o in session.scalars(select(Organisation))),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def people_listed(page: str) -> list[str]:
    return [visible(row) for row in re.findall(r'<td><a href="/portal/people/\d+">(.*?)</a>',
                                               page)]


def error_under(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{name}">(.*?)</span>', page)
    return found.group(1) if found else None


def test_the_portal_administrator_keeps_the_units_people(app, units):
    client, landing = portal_login(app, "admin@kornik.pl")
    assert landing == "/portal/"
    home = show(client, landing)
    assert "Gmina Kórnik" in home and "Rynek 1, Kórnik" in home and "admin@kornik.pl" in home
    assert 'href="/organisations/"' not in home and 'href="/portal/people"' in home
    listed = show(client, "/portal/people")
    assert people_listed(listed) == ["Kowalski Jan", "Nowak Anna"]
    assert people_listed(show(client, "/portal/people?q=nowak")) == ["Nowak Anna"]

    count_before = len(state(app)[0])
    page = text(client.post("/portal/people/new", data={
        "first_name": "Piotr", "last_name": " ", "emails": "piotr@example", "role": "clerk"}))
    assert error_under(page, "last_name") == "Enter a name."
    assert error_under(page, "emails").startswith("Line 1:")
    assert 'value="Piotr"' in page  # what was typed stays
    assert len(state(app)[0]) == count_before

    response = client.post("/portal/people/new", data={
        "first_name": "Piotr", "last_name": "Zieliński", "emails": "piotr@example.pl",
        "phones": "", "role": "treasurer"})
    assert response.status_code == 302
    added = int(response.headers["Location"].rsplit("/", 1)[1])
    card = show(client, response.headers["Location"])
    assert "Saved." in flashes(card) and "Gmina Kórnik — treasurer" in visible(card)

    edit = show(client, f"/portal/people/{added}/edit")
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    response = client.post(f"/portal/people/{added}/edit", data={
        "first_name": "Piotr", "last_name": "Zielony", "emails": "piotr@example.pl",
        "phones": "601 234 567", "version": version})
    assert response.status_code == 302
    assert "Zielony" in show(client, f"/portal/people/{added}")

    anna, membership = units["Anna"], units["Anna membership"]
    response = client.post(f"/portal/people/{anna}/memberships/{membership}/end",
                           data={"on": "2026-01-31"})
    page = show(client, response.headers["Location"])
    assert any("Anna Nowak leaves Gmina Kórnik; the last day is" in m for m in flashes(page))
    assert "End membership" not in page
    assert people_listed(show(client, "/portal/people")) == ["Kowalski Jan", "Zielony Piotr"]
    assert people_listed(show(client, "/portal/people?former=1")) == ["Nowak Anna"]
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Person, anna) is not None  # never deleted
        assert session.get(Membership, membership).end_date == date(2026, 1, 31)
        trail = session.execute(select(AuditEntry.action, AuditEntry.record_type,
                                       AuditEntry.record_id)
                                .where(AuditEntry.actor_id == units["admin"])).all()
    assert ("create", "person", added) in trail
    assert ("update", "person", added) in trail
    assert ("update", "person", anna) in trail  # the membership's end, on the card


def test_a_participant_sees_its_own_data_and_documents_only(app, units):
    client, landing = portal_login(app, "jan@kornik.pl")
    home = show(client, landing)
    assert 'href="/portal/me"' in home and 'href="/portal/people"' not in home
    me = show(client, "/portal/me")
    assert "jan@example.pl" in me and "Gmina Kórnik — clerk" in visible(me)
    assert "anna@example.pl" not in me
    listed = show(client, "/portal/documents")
    links = re.findall(r'href="/portal/documents/(\d+)"', listed)
    assert links == [str(units["Jan document"])]
    own = client.get(f"/portal/documents/{units['Jan document']}")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    assert own.headers["Content-Disposition"].startswith("attachment;")
    before = state(app)
    for path in (f"/portal/documents/{units['Anna document']}",
                 f"/portal/documents/{units['Ewa document']}",
                 f"/attachments/{units['Jan file']}", f"/attachments/{units['Anna file']}",
                 "/portal/people", f"/portal/people/{units['Jan']}",
                 f"/portal/people/{units['Jan']}/edit", "/people/"):
        assert client.get(path).status_code == 404, path
    response = client.post(f"/portal/people/{units['Jan']}/edit",
                           data={"first_name": "Janusz", "last_name": "Kowalski"})
    assert response.status_code == 404
    assert state(app) == before


def test_every_portal_route_answers_404_for_another_organisations_ids(app, units):
    client, _landing = portal_login(app, "admin@kornik.pl")
    ewa, ewa_membership = units["Ewa"], units["Ewa membership"]
    jan, jan_membership = units["Jan"], units["Jan membership"]
    before = state(app)
    for path in (f"/portal/people/{ewa}", f"/portal/people/{ewa}/edit",
                 f"/portal/documents/{units['Ewa document']}", "/portal/people/2147483647"):
        assert client.get(path).status_code == 404, path
    for path, data in (
            (f"/portal/people/{ewa}/edit", {"first_name": "X", "last_name": "Y"}),
            (f"/portal/people/{ewa}/memberships/{ewa_membership}/end", {}),
            (f"/portal/people/{jan}/memberships/{ewa_membership}/end", {}),  # not Jan's
            (f"/portal/people/{ewa}/memberships/{jan_membership}/end", {})):
        assert client.post(path, data=data).status_code == 404, path
    assert state(app) == before


def test_staff_pages_do_not_exist_for_portal_accounts_nor_the_portal_for_staff(
        app, units, kartoteka_login):
    assert app.test_client().get("/portal/").headers["Location"].startswith("/login")
    client, _landing = portal_login(app, "admin@kornik.pl")
    assert client.get("/").headers["Location"] == "/portal/"
    for path in ("/people/", f"/people/{units['Anna']}", "/organisations/", "/admin/users/",
                 "/admin/users/portal/new", f"/attachments/{units['Anna file']}", "/tasks/"):
        assert client.get(path).status_code == 404, path
    staff = kartoteka_login(app.test_client())
    assert staff.get("/portal/").status_code == 404


def test_the_permission_layer_lets_a_portal_administrator_change_only_its_people(app, units):
    rt = app.extensions["kartoteka"]
    before = state(app)
    with rt.session() as session:
        admin = session.get(User, units["admin"])
        jan = session.get(User, session.scalar(select(User.id).where(
            User.email == "jan@kornik.pl")))
        kornik = session.get(Organisation, units["Gmina Kórnik"])
        anna = records.get(session, Person, units["Anna"], admin)
        attempts = [
            lambda: people.update(session, anna, {"notes": "staff only"}, admin),
            lambda: people.update(session, session.get(Person, units["Ewa"]),
                                  {"last_name": "Taken"}, admin),
            lambda: memberships.join(session, session.get(Person, units["Ewa"]), kornik,
                                     actor=admin),
            lambda: memberships.leave(session, session.get(Membership,
                                                           units["Ewa membership"]),
                                      date.today(), admin),
            lambda: organisations.update(session, rt.host, kornik, {"city": "X"}, admin),
            lambda: people.update(session, records.get(session, Person, units["Jan"], jan),
                                  {"last_name": "Kowal"}, jan),
            lambda: people.create(session, {"first_name": "A", "last_name": "B"}, jan),
        ]
        for attempt in attempts:
            with pytest.raises(Forbidden):
                attempt()
            session.rollback()
        # A person added without joining the organisation would be nobody's.
        people.create(session, {"first_name": "Orphan", "last_name": "Nobody"}, admin)
        with pytest.raises(Forbidden):
            session.commit()
        session.rollback()
    assert state(app) == before


def test_the_api_refuses_a_person_the_portal_administrator_does_not_join(app, units):
    with writing(app) as (session, _admin):
        secret = tokens.create(session, session.get(User, units["admin"]), "portal")[1]
    client = app.test_client()
    before = state(app)
    response = client.post("/api/v1/people/", json={"first_name": "Api", "last_name": "Orphan"},
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert state(app)[:3] == before[:3]


def test_an_administrator_creates_a_portal_account_for_an_organisation(
        app, units, kartoteka_login):
    client = kartoteka_login(app.test_client())
    assert "Add a portal account" in show(client, "/admin/users/")
    choose = show(client, "/admin/users/portal/new")
    assert "Gmina Kórnik" in choose and "Gmina Mosina" in choose
    form = show(client, f"/admin/users/portal/new?organisation_id={units['Gmina Kórnik']}")
    offered = re.findall(r'<option value="(\d+)"', form)
    assert str(units["Anna"]) in offered and str(units["Ewa"]) not in offered
    data = {"organisation_id": units["Gmina Kórnik"], "email": "anna@kornik.pl",
            "password": PASSWORD, "full_name": "Anna Nowak", "person_id": units["Ewa"],
            "portal_admin": "1"}
    page = text(client.post("/admin/users/portal/new", data=data))
    assert error_under(page, "person_id") == "Choose a person who belongs to this organisation."
    response = client.post("/admin/users/portal/new", data={**data, "person_id": units["Anna"]})
    assert response.status_code == 302
    listing = show(client, "/admin/users/")
    row = re.search(r'<tr id="account-\d+">\s*<td>anna@kornik.pl</td>(.*?)</tr>', listing, re.S)
    assert "Gmina Kórnik" in row.group(1) and "Anna Nowak" in row.group(1)
    assert "portal administrator" in row.group(1)
    portal, landing = portal_login(app, "anna@kornik.pl")
    assert landing == "/portal/"
    assert people_listed(show(portal, "/portal/people")) == ["Kowalski Jan", "Nowak Anna"]
    with writing(app) as (session, _admin):
        account = users.find_by_email(session, "anna@kornik.pl")
        assert (account.kind, account.organisation_id, account.person_id) == \
            ("portal", units["Gmina Kórnik"], units["Anna"])
    client.post(f"/admin/users/{account.id}/active", data={"active": "0"})
    assert portal.get("/portal/").status_code == 302  # its session ended: log in again
    assert app.test_client().post("/login", data={
        "email": "anna@kornik.pl", "password": PASSWORD}).status_code == 200


def test_the_portal_speaks_the_users_language(app, units):
    client, landing = portal_login(app, "admin@kornik.pl")
    client.get("/lang/pl")
    home = show(client, landing)
    assert "Zalogowano jako" in home and ">Osoby</a>" in home
    page = text(client.post("/portal/people/new", data={"first_name": "Piotr",
                                                        "last_name": ""}))
    assert error_under(page, "last_name") == "Wpisz nazwę."
    assert "Dodaj osobę" in page
    jan, _landing = portal_login(app, "jan@kornik.pl")
    jan.get("/lang/pl")
    assert "Moje dokumenty" in show(jan, "/portal/documents")

"""A portal account reaches its own organisation and nothing else, through any door:
another organisation's records answer 404 as if they did not exist, staff pages do not
exist for it, and nothing it tries changes anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import memberships, organisations, people, records, search, tokens, users
from core.errors import Forbidden
from core.models import AuditEntry, Organisation, Person, User

PASSWORD = "correct horse battery"


@pytest.fixture
def units(rt):
    """Two member units with a person each, and a portal account of the first."""
    with rt.session() as session, session.begin():
        ids = {}
        for name in ("Gmina Kórnik", "Gmina Mosina"):
            org = organisations.create(session, rt.host, {"name": name,
                                                          "type_key": "core.municipality"})
            person = people.create(session, {"first_name": "Jan", "last_name": name[6:]})
            memberships.join(session, person, org, role="clerk")
            ids[name] = (org.id, person.id)
        kornik = session.get(Organisation, ids["Gmina Kórnik"][0])
        users.create_user(session, "portal@kornik.pl", PASSWORD, "Kórnik admin",
                          portal_of=kornik, portal_admin=True)
    return ids


def state(rt):
    with rt.session() as session:
        return (sorted((o.id, o.name, o.version) for o in session.scalars(select(Organisation))),
                sorted((p.id, p.last_name, p.version) for p in session.scalars(select(Person))),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def test_services_show_a_portal_account_only_its_organisation(rt, units):
    with rt.session() as session:
        portal = users.find_by_email(session, "portal@kornik.pl")
        assert [o.name for o in session.scalars(records.visible(Organisation, portal))] \
            == ["Gmina Kórnik"]
        assert [p.last_name for p in session.scalars(records.visible(Person, portal))] \
            == ["Kórnik"]
        mosina, mosina_person = units["Gmina Mosina"]
        assert records.get(session, Organisation, mosina, portal) is None
        assert records.get(session, Person, mosina_person, portal) is None
        assert {h.label for h in search.search(session, "Gmina", portal)} == {"Gmina Kórnik"}
        kornik = records.get(session, Organisation, units["Gmina Kórnik"][0], portal)
        with pytest.raises(Forbidden):
            organisations.update(session, rt.host, kornik, {"city": "Kórnik"}, portal)
        session.rollback()


def test_staff_pages_do_not_exist_for_a_portal_account(app, rt, units):
    client = app.test_client()
    assert client.post("/login", data={"email": "portal@kornik.pl",
                                       "password": PASSWORD}).status_code == 302
    own, _person = units["Gmina Kórnik"]
    other, other_person = units["Gmina Mosina"]
    before = state(rt)
    for path in ("/organisations/", f"/organisations/{own}", f"/organisations/{other}",
                 f"/people/{other_person}", "/search/suggest?q=Gmina", "/tasks/",
                 "/admin/users/", "/organisations/export?format=csv", "/import/"):
        assert client.get(path).status_code == 404, path
    for path in (f"/organisations/{other}/edit", f"/organisations/{other}/delete",
                 f"/people/{other_person}/edit", f"/organisations/{own}/delete"):
        assert client.post(path, data={"name": "Taken"}).status_code == 404, path
    assert state(rt) == before


def test_the_api_walks_every_route_with_the_other_organisations_ids(app, rt, units):
    with rt.session() as session, session.begin():
        portal = users.find_by_email(session, "portal@kornik.pl")
        secret = tokens.create(session, portal, "portal")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}
    own, own_person = units["Gmina Kórnik"]
    other, other_person = units["Gmina Mosina"]
    before = state(rt)
    listed = client.get("/api/v1/organizations/", headers=headers).get_json()
    assert [o["name"] for o in listed["items"]] == ["Gmina Kórnik"]
    for path in (f"/organizations/{other}", f"/people/{other_person}"):
        assert client.get(f"/api/v1{path}", headers=headers).status_code == 404
        assert client.patch(f"/api/v1{path}", json={"notes": "x"},
                            headers={**headers, "If-Match": '"1"'}).status_code == 404
        assert client.delete(f"/api/v1{path}", headers=headers).status_code == 404
    etag = client.get(f"/api/v1/organizations/{own}", headers=headers).headers["ETag"]
    assert client.patch(f"/api/v1/organizations/{own}", json={"notes": "x"},
                        headers={**headers, "If-Match": etag}).status_code == 403
    created = client.post("/api/v1/organizations/", headers=headers,
                          json={"name": "Gmina Nowa", "type_key": "core.municipality"})
    assert created.status_code == 403
    assert state(rt) == before
    with rt.session() as session:
        assert session.scalar(select(User).where(User.email == "portal@kornik.pl")).kind \
            == "portal"

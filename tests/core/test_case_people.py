"""The people of a case in their roles: added and removed on the case's card by whom may
edit it, and read and replaced through the API (``GET``/``PUT /cases/{id}/people``)."""

import re

import pytest

from core import cases, people, roles, tokens, users
from core.models import Case, User
from core.permissions import ACTIONS
from core.testing import ADMIN_PASSWORD
from page_helpers import fetch, flashes, show, text, visible, writing

PROJECT = "printing.project"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


# --------------------------------------------------------------------- helpers


def add_person(app, first="Anna", last="Nowak", owner_id=None) -> int:
    with writing(app) as (session, admin):
        return people.create(session, {"first_name": first, "last_name": last,
                                       "owner_id": owner_id}, admin,
                             allow_duplicates=True).id


def add_case(app, owner_id=None, title="Banners") -> int:
    rt = app.extensions["kartoteka"]
    with writing(app) as (session, admin):
        owner = session.get(User, owner_id) if owner_id else admin
        return cases.create(session, rt.host, {"title": title, "process_key": PROJECT,
                                               "owner_id": owner.id}, actor=owner).id


def people_of(app, case_id) -> list[tuple[int, str]]:
    with app.extensions["kartoteka"].session() as session:
        return [(p.person_id, p.role) for p in session.get(Case, case_id).people]


def version_of(app, case_id) -> int:
    return fetch(app, Case, case_id).version


def shown_people(page: str) -> list[str]:
    found = re.search(r'<ul class="members case-people">(.*?)</ul>', page, re.S)
    return [visible(re.sub(r"<form.*?</form>", "", li, flags=re.S))
            for li in re.findall(r'<li id="case-person-\d+">(.*?)</li>', found.group(1), re.S)]


def reader_role(app) -> None:
    with writing(app) as (session, admin):
        role = roles.create(session, "case_reader", "Reads cases", actor=admin)
        roles.set_access(session, role, {("*", "read"): "all"})


# --------------------------------------------------------------------- the card


def test_a_person_is_added_by_name_or_choice_in_a_role_and_removed(app, client):
    anna = add_person(app)
    jan = add_person(app, "Jan", "Kowalski")
    case_id = add_case(app)
    card = f"/cases/{case_id}"
    page = show(client, card)
    assert 'class="add-link add-person"' in page and shown_people(page) == []

    added = client.post(f"{card}/people", data={
        "target": "Anna Nowak", "target_id": "", "role": " Osoba kontaktowa ",
        "version": version_of(app, case_id)})
    assert added.status_code == 302 and added.location.endswith(f"{card}#people")
    assert people_of(app, case_id) == [(anna, "Osoba kontaktowa")]
    page = show(client, card)
    assert flashes(page) == ["Saved."]
    assert shown_people(page) == ["Anna Nowak — Osoba kontaktowa"]

    client.post(f"{card}/people", data={"target": "whatever", "target_id": str(jan),
                                        "role": "Expert", "version": version_of(app, case_id)})
    client.post(f"{card}/people", data={"target": "Anna", "target_id": str(anna),
                                        "role": "Client", "version": version_of(app, case_id)})
    assert sorted(people_of(app, case_id)) == sorted([(anna, "Client"), (jan, "Expert")])

    removed = client.post(f"{card}/people/{anna}/delete",
                          data={"version": version_of(app, case_id)})
    assert removed.status_code == 302
    assert people_of(app, case_id) == [(jan, "Expert")]
    assert client.post(f"{card}/people/{anna}/delete",
                       data={"version": version_of(app, case_id)}).status_code == 404


def test_bad_names_long_roles_and_stale_forms_are_refused_with_a_message(app, client):
    add_person(app)
    add_person(app, "Anna", "Kowalska")
    case_id = add_case(app)
    card = f"/cases/{case_id}"
    version = version_of(app, case_id)

    def refused(data):
        response = client.post(f"{card}/people", data={"version": version, **data})
        assert response.status_code == 302
        return [visible(m) for m in flashes(show(client, card))]

    assert refused({"target": "  "}) == ["Type a name."]
    assert refused({"target": "Zenon Zet"}) == \
        ["Nothing found for “Zenon Zet” among the records you may see."]
    assert refused({"target": "Anna"}) == ["Several records answer to this name: choose one "
                                           "from the suggestions or type more of it."]
    assert refused({"target": "x", "target_id": "99999"}) == ["Choose a person from the list."]
    assert refused({"target": "Anna Nowak", "role": "x" * 101}) == \
        ["Role: At most 100 characters."]
    assert people_of(app, case_id) == []
    assert version_of(app, case_id) == version

    client.post(f"{card}/people", data={"target": "Anna Nowak", "version": version})
    stale = client.post(f"{card}/people", data={"target": "Anna Kowalska", "version": version})
    assert stale.status_code == 302
    assert any("changed by someone else" in m for m in flashes(text(client.get(card))))
    assert len(people_of(app, case_id)) == 1


def test_a_reader_sees_the_people_but_no_form_and_is_refused(app, client, kartoteka_login):
    anna = add_person(app)
    case_id = add_case(app)
    client.post(f"/cases/{case_id}/people", data={"target": "Anna Nowak", "role": "Client",
                                                  "version": version_of(app, case_id)})
    reader_role(app)
    with writing(app) as (session, _admin):
        users.create_user(session, "reader@example.com", ADMIN_PASSWORD, "Rita Reader",
                          roles=["case_reader"])
    reader = kartoteka_login(app.test_client(), "reader@example.com", ADMIN_PASSWORD)
    page = show(reader, f"/cases/{case_id}")
    assert shown_people(page) == ["Anna Nowak — Client"]
    assert "add-person" not in page and f"/people/{anna}/delete" not in page
    version = version_of(app, case_id)
    assert reader.post(f"/cases/{case_id}/people", data={
        "target": "Anna Nowak", "role": "Other", "version": version}).status_code == 403
    assert reader.post(f"/cases/{case_id}/people/{anna}/delete",
                       data={"version": version}).status_code == 403
    assert people_of(app, case_id) == [(anna, "Client")]


# --------------------------------------------------------------------- the API


@pytest.fixture
def api(app):
    """API callers: the administrator's rep, a reader of every record, and a seller who
    sees only their own records; ``api.ids`` holds their account ids."""
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        rep = users.create_user(s, "rep@example.com", ADMIN_PASSWORD, full_name="Rep")
        reader = users.create_user(s, "reader@example.com", ADMIN_PASSWORD)
        seller = users.create_user(s, "seller@example.com", ADMIN_PASSWORD)
        roles.assign(s, rep, ["staff"])
        read = roles.create(s, "case_reader", "Reads cases")
        roles.set_access(s, read, {("*", "read"): "all"})
        roles.assign(s, reader, ["case_reader"])
        own = roles.create(s, "seller", "Seller")
        roles.set_access(s, own, {("*", action): "own" for action in ACTIONS})
        roles.assign(s, seller, ["seller"])
        found = {u.email.split("@")[0]: (u.id, tokens.create(s, u, "test")[1])
                 for u in (rep, reader, seller)}

    class Api:
        ids = {name: user_id for name, (user_id, _token) in found.items()}

    client = app.test_client()
    for name, (_user_id, token) in found.items():
        setattr(Api, name, _caller(client, token))
    return Api


def _caller(client, token):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def test_the_api_reads_and_replaces_the_people_with_the_etag(app, api):
    anna, jan = add_person(app), add_person(app, "Jan", "Kowalski")
    case_id = add_case(app, api.ids["rep"])
    path = f"/cases/{case_id}/people"
    read = api.rep("get", path)
    assert read.status_code == 200 and read.get_json() == [] and read.headers["ETag"] == '"1"'

    assert api.rep("put", path, json=[{"person_id": anna}]).status_code == 428
    put = api.rep("put", path, headers={"If-Match": '"1"'}, json=[
        {"person_id": anna, "role": "Osoba kontaktowa"}, {"person_id": jan}])
    assert put.status_code == 200, put.get_json()
    assert put.headers["ETag"] == '"2"'
    assert sorted(put.get_json(), key=lambda p: p["person_id"]) == sorted([
        {"person_id": anna, "name": "Anna Nowak", "role": "Osoba kontaktowa"},
        {"person_id": jan, "name": "Jan Kowalski", "role": ""}], key=lambda p: p["person_id"])
    assert sorted(people_of(app, case_id)) == sorted([(anna, "Osoba kontaktowa"), (jan, "")])

    stale = api.rep("put", path, headers={"If-Match": '"1"'}, json=[])
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    emptied = api.rep("put", path, headers={"If-Match": '"2"'}, json=[])
    assert emptied.status_code == 200 and emptied.get_json() == []
    assert people_of(app, case_id) == []


def test_bad_people_answer_422_with_each_items_field(app, api):
    anna = add_person(app)
    theirs = add_person(app, "Jan", "Kowalski", owner_id=api.ids["rep"])
    case_id = add_case(app, api.ids["seller"])
    path = f"/cases/{case_id}/people"
    if_match = {"If-Match": '"1"'}

    def errors(body):
        response = api.seller("put", path, headers=if_match, json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        return response.get_json()["errors"]

    assert errors([{"person_id": theirs}]) == {"0.person_id": "There is no such record."}
    assert set(errors([{"person_id": 0}, {"person_id": 999999}, {"role": "x"}])) == \
        {"0.person_id", "2.person_id"}
    assert set(errors([{"person_id": anna, "role": "x" * 101, "id": 3}])) == \
        {"0.role", "0.id"}
    assert set(errors({"person_id": anna})) == {"_schema"}  # a list, not one object
    assert people_of(app, case_id) == [] and version_of(app, case_id) == 1
    assert api.seller("get", path).get_json() == []


def test_the_api_refuses_readers_403_and_hides_invisible_cases_404(app, api):
    anna = add_person(app)
    case_id = add_case(app, api.ids["rep"])
    path = f"/cases/{case_id}/people"
    assert api.rep("put", path, headers={"If-Match": '"1"'},
                   json=[{"person_id": anna, "role": "Client"}]).status_code == 200
    assert api.reader("get", path).get_json() == [
        {"person_id": anna, "name": "Anna Nowak", "role": "Client"}]
    refused = api.reader("put", path, headers={"If-Match": '"2"'}, json=[])
    assert refused.status_code == 403
    assert api.seller("get", path).status_code == 404
    assert api.seller("put", path, headers={"If-Match": '"2"'}, json=[]).status_code == 404
    assert people_of(app, case_id) == [(anna, "Client")]

"""The REST API: tokens, records with custom fields, problem+json errors, ETags, cursors and
the OpenAPI document as the installation's fields and terms make it."""

import json

import pytest
from sqlalchemy import func, select

from core import field_definitions, tokens, users
from core.models import Organisation


def token_for(rt, email="api@example.com", admin=True) -> str:
    with rt.session() as session, session.begin():
        user = users.find_by_email(session, email) or users.create_user(
            session, email, "correct horse battery", is_admin=admin)
        return tokens.create(session, user, "test")[1]


@pytest.fixture
def api(app, rt):
    """A client that sends a valid token and asks for English messages."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(rt)}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def define(rt, **data):
    with rt.session() as session, session.begin():
        field_definitions.create(session, {"record_type": "organisation",
                                           "label_pl": data["key"], **data})


def new_org(api, name="Gmina Kórnik", **extra):
    response = api("post", "/organizations/", json={"name": name,
                                                    "type_key": "core.municipality", **extra})
    assert response.status_code == 201, response.get_json()
    return response


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Organisation))


# ------------------------------------------------------------------ authentication


def test_without_a_token_the_api_answers_401_as_a_problem(app):
    response = app.test_client().get("/api/v1/organizations/")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_or_unknown_token_is_refused(app, rt):
    token = token_for(rt)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/organizations/", headers=auth).status_code == 200
    with rt.session() as session, session.begin():
        user = users.find_by_email(session, "api@example.com")
        tokens.revoke(session, tokens.of_user(session, user)[0])
    assert client.get("/api/v1/organizations/", headers=auth).status_code == 401
    assert client.get("/api/v1/organizations/", headers={
        "Authorization": "Bearer kt_0000_nothing"}).status_code == 401


def test_a_token_is_stored_only_as_a_hash_and_records_its_last_use(app, rt):
    token = token_for(rt)
    app.test_client().get("/api/v1/organizations/", headers={"Authorization": f"Bearer {token}"})
    with rt.session() as session:
        row = tokens.of_user(session, users.find_by_email(session, "api@example.com"))[0]
    assert token not in (row.secret_hash, row.prefix) and row.last_used_at is not None


def test_session_calls_that_change_data_need_the_csrf_header(app, kartoteka_login):
    client = kartoteka_login(app.test_client())
    assert client.get("/api/v1/organizations/").status_code == 200
    response = client.post("/api/v1/organizations/", json={"name": "X",
                                                           "type_key": "core.company"})
    assert response.status_code == 400
    assert "X-CSRFToken" in response.get_json()["detail"]


def test_the_cli_prints_a_new_token_alone(rt, cli, app):
    with rt.session() as session, session.begin():
        users.create_user(session, "ops@example.com", "correct horse battery")
    result = cli("tokens", "create", "--user", "ops@example.com", "--name", "bank")
    token = result.stdout.strip()
    assert result.returncode == 0 and token.startswith("kt_") and "\n" not in token
    response = app.test_client().get("/api/v1/people/",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


# ------------------------------------------------------------------ records


def test_create_read_and_list_an_organisation_with_custom_fields(api, rt):
    define(rt, key="employees", type="integer", label_en="Employees")
    created = new_org(api, custom={"employees": "120"}, nip="777-306-15-79").get_json()
    assert created["custom"] == {"employees": 120} and created["nip"] == "7773061579"
    read = api("get", f"/organizations/{created['id']}")
    assert read.get_json()["name"] == "Gmina Kórnik"
    assert read.headers["ETag"] == '"1"'
    listed = api("get", "/organizations/?filter=" + json.dumps(
        {"field": "custom.employees", "op": "gte", "value": 100})).get_json()
    assert [o["id"] for o in listed["items"]] == [created["id"]] and listed["next"] is None


def test_bad_values_answer_422_with_each_fields_message_in_the_asked_language(api, rt):
    define(rt, key="employees", type="integer")
    response = api("post", "/organizations/", json={
        "name": "", "type_key": "core.municipality", "nip": "123",
        "custom": {"employees": "many"}})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert errors["custom.employees"] == "Not a valid integer."
    assert {"name", "nip"} <= errors.keys()
    polish = api("post", "/organizations/", headers={"Accept-Language": "pl"}, json={
        "name": "X", "type_key": "core.municipality", "custom": {"employees": "many"}})
    assert polish.get_json()["errors"]["custom.employees"] == \
        "To nie jest poprawna liczba całkowita."
    assert count(rt) == 0


@pytest.mark.parametrize("field", ["id", "version", "created_by_id", "created_at"])
def test_mass_assignment_of_system_fields_is_refused(api, rt, field):
    response = api("post", "/organizations/", json={"name": "X", "type_key": "core.company",
                                                    field: 5})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count(rt) == 0


def test_an_update_needs_the_current_etag(api):
    created = new_org(api).get_json()
    path = f"/organizations/{created['id']}"
    assert api("patch", path, json={"city": "Kórnik"}).status_code == 428
    changed = api("patch", path, json={"city": "Kórnik"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = api("patch", path, json={"city": "Poznań"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert api("get", path).get_json()["city"] == "Kórnik"


def test_a_likely_duplicate_answers_409_with_the_candidates(api, rt):
    first = new_org(api, nip="7773061579").get_json()
    response = api("post", "/organizations/", json={"name": "Inna", "nip": "7773061579",
                                                    "type_key": "core.company"})
    assert response.status_code == 409
    assert [d["id"] for d in response.get_json()["duplicates"]] == [first["id"]]
    assert api("post", "/organizations/?allow_duplicates=true", json={
        "name": "Inna", "nip": "7773061579", "type_key": "core.company"}).status_code == 201


def test_delete_moves_to_the_bin_and_the_record_is_then_not_found(api):
    created = new_org(api).get_json()
    assert api("delete", f"/organizations/{created['id']}").status_code == 204
    assert api("get", f"/organizations/{created['id']}").status_code == 404
    assert api("get", "/organizations/999999").get_json()["status"] == 404


def test_people_with_their_emails(api):
    response = api("post", "/people/", json={"first_name": "Anna", "last_name": "Nowak",
                                             "emails": ["Anna@Example.com"]})
    assert response.status_code == 201
    assert response.get_json()["emails"] == ["anna@example.com"]


# ------------------------------------------------------------------ lists


def test_cursor_pages_cover_every_record_once_even_with_inserts_between(api):
    for i in range(5):
        new_org(api, f"Org {i}")
    first = api("get", "/organizations/?limit=2&sort=name").get_json()
    new_org(api, "Aaa inserted meanwhile")
    second = api("get", f"/organizations/?limit=2&sort=name&after={first['next']}").get_json()
    third = api("get", f"/organizations/?limit=2&sort=name&after={second['next']}").get_json()
    names = [o["name"] for page in (first, second, third) for o in page["items"]]
    assert names == ["Org 0", "Org 1", "Org 2", "Org 3", "Org 4"]
    assert third["next"] is None


@pytest.mark.parametrize("query, field", [
    ("filter=not-json", "filter"),
    ("filter=" + json.dumps({"field": "name; DROP TABLE x", "op": "eq", "value": 1}),
     "filter.field"),
    ("sort=name;drop", "sort"),
    ("limit=100000", "limit"),
    ("after=%%%", "after"),
])
def test_bad_list_parameters_answer_422_never_500(api, query, field):
    response = api("get", f"/organizations/?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


# ------------------------------------------------------------------ OpenAPI


def test_the_openapi_document_describes_the_custom_fields_as_they_are_now(api, rt):
    def custom():
        spec = api("get", "/openapi.json").get_json()
        return spec["components"]["schemas"]["Organisation"]["properties"]["custom"]

    assert custom()["properties"] == {}
    define(rt, key="status", type="choice", label_en="Status", required=True,
           options={"choices": [{"value": "lead"}, {"value": "client"}]})
    schema = custom()
    assert schema["properties"]["status"]["enum"] == ["lead", "client"]
    assert schema["required"] == ["status"]


def test_the_installations_terms_name_things_in_openapi_and_api_errors(api, rt):
    from core import term_overrides

    def tag_description():
        spec = api("get", "/openapi.json").get_json()
        return next(t for t in spec["tags"] if t["name"] == "organizations")["description"]

    assert tag_description() == "Organisations"
    with rt.session() as session, session.begin():
        term_overrides.save(session, rt.host.terms, "core.organisation", "en",
                            {"nom": "member unit"}, {"nom": "member units"})
        term_overrides.save(session, rt.host.terms, "core.organisation", "pl",
                            {"nom": "jednostka członkowska", "gen": "jednostki członkowskiej",
                             "dat": "jednostce członkowskiej", "acc": "jednostkę członkowską",
                             "ins": "jednostką członkowską", "loc": "jednostce członkowskiej"},
                            {"nom": "jednostki członkowskie", "gen": "jednostek członkowskich",
                             "dat": "jednostkom członkowskim", "acc": "jednostki członkowskie",
                             "ins": "jednostkami członkowskimi",
                             "loc": "jednostkach członkowskich"}, gender="f")
    assert tag_description() == "Member units"
    bad_filter = "/organizations/?filter=" + json.dumps({"field": "ciry", "op": "eq",
                                                         "value": "x"})
    english = api("get", bad_filter).get_json()["errors"]["filter.field"]
    assert english == "Unknown field 'ciry' for member units."
    polish = api("get", bad_filter, headers={"Accept-Language": "pl"}).get_json()
    assert "jednostek członkowskich" in polish["errors"]["filter.field"]


def test_the_reference_page_is_served(app):
    assert app.test_client().get("/api/v1/docs").status_code == 200


# ------------------------------------------------------------------ choice of fields


def test_a_list_answers_only_the_fields_asked_for(api, rt):
    define(rt, key="employees", type="integer", label_en="Employees")
    define(rt, key="status", type="text", label_en="Status")
    for n, city in enumerate(["Kórnik", "Mosina", "Puszczykowo"]):
        new_org(api, f"Gmina {city}", city=city, custom={"employees": 10 + n, "status": "x"})
    page = api("get", "/organizations/?fields=name,custom.employees&sort=name&limit=2")
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert [set(item) for item in body["items"]] == [{"id", "name", "custom"}] * 2
    assert body["items"][0]["custom"] == {"employees": 10}
    rest = api("get", f"/organizations/?fields=city&sort=name&after={body['next']}")
    assert rest.get_json()["items"] == [{"id": rest.get_json()["items"][0]["id"],
                                          "city": "Puszczykowo"}]
    assert set(api("get", "/organizations/").get_json()["items"][0]) > {"nip", "notes"}


def test_an_unknown_field_is_refused_by_name(api, rt):
    new_org(api)
    refused = api("get", "/organizations/?fields=name,nipp")
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["fields"] == "Unknown fields: nipp."
    spec = api("get", "/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/organizations/"]["get"]["parameters"]
    assert "fields" in {p["name"] for p in parameters}

"""A plugin's own resources in the REST API, under /api/v1/<plugin>: the fleet plugin of
tests/fixtures, pip-installed, serves its vehicles through ``core.api.crud`` and a route
of its own, authenticated, refused and documented like the core's resources; disabled,
its routes are gone from the API and from the OpenAPI document."""

import re
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_smorest import Blueprint
from flask_wtf import CSRFProtect
from marshmallow import Schema, fields
from sqlalchemy import text

from core import hookimpl, plugins, roles, tokens, users
from core.api import crud
from core.db import make_engine
from core.errors import StartupError
from core.models import Organisation
from core.plugins import build_host

PASSWORD = "correct horse battery"
VAN = {"registration": "PO 12345", "make": "Ford Transit", "seats": 9}


@pytest.fixture
def app(third_party, kartoteka_app_factory):
    return kartoteka_app_factory(["fleet"], default_locale="en")


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


def token(rt, email: str, admin: bool = False, permissions: tuple = ()) -> str:
    with rt.session() as s, s.begin():
        user = users.create_user(s, email, PASSWORD, is_admin=admin)
        if permissions:
            role = roles.create(s, email.split("@")[0], email)
            roles.set_permissions(s, role, list(permissions))
            roles.assign(s, user, [role.key])
        return tokens.create(s, user, "test")[1]


def caller(app, secret: str):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


@pytest.fixture
def admin(app, rt):
    return caller(app, token(rt, "admin@example.com", admin=True))


def vehicles_in(rt) -> list[tuple]:
    with rt.session() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT registration, make, seats FROM fleet_vehicle ORDER BY id"))]


# ------------------------------------------------------------------ the record type


def test_a_plugins_record_type_is_created_read_and_listed_under_its_name(admin, rt):
    created = admin("post", "/fleet/vehicles/", json=VAN)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["registration"] == "PO 12345" and body["seats"] == 9
    assert body["version"] == 1 and body["created_at"]
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith(f"/api/v1/fleet/vehicles/{body['id']}")
    read = admin("get", f"/fleet/vehicles/{body['id']}")
    assert read.status_code == 200 and read.get_json() == body
    assert read.headers["ETag"] == '"1"'
    assert admin("get", "/fleet/vehicles/999999").status_code == 404

    admin("post", "/fleet/vehicles/", json={"registration": "WA 9876C", "seats": 5})
    admin("post", "/fleet/vehicles/", json={"registration": "KR 55555"})
    first = admin("get", "/fleet/vehicles/?limit=2").get_json()
    assert [v["registration"] for v in first["items"]] == ["PO 12345", "WA 9876C"]
    rest = admin("get", f"/fleet/vehicles/?limit=2&after={first['next']}").get_json()
    assert [v["registration"] for v in rest["items"]] == ["KR 55555"]
    assert rest["next"] is None
    summary = admin("get", "/fleet/summary/").get_json()
    assert summary == {"vehicles": 3, "seats": 14, "asked_by": "admin@example.com"}


def test_bad_input_answers_422_naming_each_field_and_writes_nothing(admin, rt):
    missing = admin("post", "/fleet/vehicles/", json={"make": "Ford", "seats": 0})
    assert missing.status_code == 422
    assert missing.mimetype == "application/problem+json"
    assert set(missing.get_json()["errors"]) == {"registration", "seats"}
    assert admin("post", "/fleet/vehicles/", json={**VAN, "id": 7}).get_json()["errors"] \
        == {"id": "Unknown field."}
    vetoed = admin("post", "/fleet/vehicles/", json={**VAN, "registration": "my van"})
    assert vetoed.status_code == 422
    assert vetoed.get_json()["errors"] == {
        "registration": "Write the registration as on the plate, such as PO 12345."}
    assert set(admin("get", "/fleet/vehicles/?limit=0").get_json()["errors"]) == {"limit"}
    assert admin("get", "/fleet/vehicles/?after=nonsense").get_json()["errors"] == {
        "after": "This is not a cursor from a previous page."}
    unfiltered = admin("get", '/fleet/vehicles/?filter={"field": "make"}&sort=make')
    assert unfiltered.status_code == 422 and unfiltered.get_json()["errors"] == {
        "filter": "This list cannot be filtered or sorted.",
        "sort": "This list cannot be filtered or sorted."}
    assert vehicles_in(rt) == []


def test_changes_need_the_etag_and_a_deleted_vehicle_is_gone(admin, rt):
    van = admin("post", "/fleet/vehicles/", json=VAN).get_json()
    path = f"/fleet/vehicles/{van['id']}"
    assert admin("patch", path, json={"seats": 8}).status_code == 428
    stale = admin("patch", path, json={"seats": 8}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    changed = admin("patch", path, json={"seats": 8}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["seats"] == 8
    assert changed.headers["ETag"] == '"2"'
    vetoed = admin("patch", path, json={"registration": "?"}, headers={"If-Match": '"2"'})
    assert vetoed.status_code == 422 and "registration" in vetoed.get_json()["errors"]
    assert admin("patch", path, json={"seats": 7}, headers={"If-Match": '"1"'}) \
        .status_code == 412
    assert vehicles_in(rt) == [("PO 12345", "Ford Transit", 8)]
    assert admin("delete", path).status_code == 204
    assert admin("get", path).status_code == 404
    assert admin("get", "/fleet/vehicles/").get_json()["items"] == []


# ------------------------------------------------------------------ who may call


def test_the_plugins_routes_are_authenticated_like_the_cores(app, rt):
    client = app.test_client()
    anonymous = client.get("/api/v1/fleet/vehicles/")
    assert anonymous.status_code == 401
    assert anonymous.mimetype == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/fleet/summary/", headers={
        "Authorization": "Bearer kt_0000_nothing"}).status_code == 401


def test_token_calls_need_no_csrf_token_and_session_calls_need_the_header(
        third_party, kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(["fleet"], default_locale="en", WTF_CSRF_ENABLED=True)
    rt = app.extensions["kartoteka"]
    api = caller(app, token(rt, "robot@example.com", admin=True))
    assert api("post", "/fleet/vehicles/", json=VAN).status_code == 201

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)
    with rt.session() as s, s.begin():
        users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
    assert client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/fleet/vehicles/").get_json()["items"][0]["make"] \
        == "Ford Transit"
    refused = client.post("/api/v1/fleet/vehicles/", json={"registration": "WA 11111"})
    assert refused.status_code == 400 and "X-CSRFToken" in refused.get_json()["detail"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/").get_data(as_text=True)).group(1)
    accepted = client.post("/api/v1/fleet/vehicles/", json={"registration": "WA 11111"},
                           headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201
    assert [v[0] for v in vehicles_in(rt)] == ["PO 12345", "WA 11111"]


def test_without_the_plugins_permission_every_vehicle_route_answers_403(app, rt, admin):
    van = admin("post", "/fleet/vehicles/", json=VAN).get_json()
    intern = caller(app, token(rt, "intern@example.com", permissions=("core.import",)))
    driver = caller(app, token(rt, "driver@example.com", permissions=("fleet.manage",)))
    for method, path, kwargs in [
            ("get", "/fleet/vehicles/", {}), ("post", "/fleet/vehicles/", {"json": VAN}),
            ("get", f"/fleet/vehicles/{van['id']}", {}),
            ("patch", f"/fleet/vehicles/{van['id']}",
             {"json": {"seats": 2}, "headers": {"If-Match": '"1"'}}),
            ("delete", f"/fleet/vehicles/{van['id']}", {})]:
        refused = intern(method, path, **kwargs)
        assert refused.status_code == 403, (method, path)
        assert refused.get_json()["detail"] == "This needs the permission “Manage the fleet”."
    assert vehicles_in(rt) == [("PO 12345", "Ford Transit", 9)]
    created = driver("post", "/fleet/vehicles/", json={"registration": "GD 22222"})
    assert created.status_code == 201
    assert created.get_json()["created_by_id"] is not None
    assert len(driver("get", "/fleet/vehicles/").get_json()["items"]) == 2


# ------------------------------------------------------------------ the document


def test_the_openapi_document_describes_the_plugins_paths_and_schemas(admin):
    document = admin("get", "/openapi.json").get_json()
    paths = document["paths"]
    assert set(paths["/api/v1/fleet/vehicles/"]) >= {"get", "post"}
    assert set(paths["/api/v1/fleet/vehicles/{record_id}"]) >= {"get", "patch", "delete"}
    assert "get" in paths["/api/v1/fleet/summary/"]
    assert paths["/api/v1/fleet/vehicles/"]["post"]["tags"] == ["fleet"]
    schemas = document["components"]["schemas"]
    vehicle = schemas["Vehicle"]
    assert vehicle["required"] == ["registration"]
    assert vehicle["properties"]["id"]["readOnly"] is True
    assert "VehiclePage" in schemas and "Summary" in schemas
    assert {"name": "fleet", "description": "Fleet"} in document["tags"]
    polish = admin("get", "/openapi.json", headers={"Accept-Language": "pl"}).get_json()
    assert {"name": "fleet", "description": "Flota"} in polish["tags"]


def test_a_disabled_plugins_routes_answer_404_and_leave_the_document(
        admin, rt, kartoteka_app_factory, kartoteka_database_url):
    admin("post", "/fleet/vehicles/", json=VAN)
    engine = make_engine(kartoteka_database_url)
    assert plugins.disable(engine, "fleet")
    engine.dispose()

    app = kartoteka_app_factory(default_locale="en")  # the next start of the application
    assert "fleet" not in app.extensions["kartoteka"].host.plugins
    api = caller(app, token(app.extensions["kartoteka"], "again@example.com", admin=True))
    gone = api("get", "/fleet/vehicles/")
    assert gone.status_code == 404 and gone.mimetype == "application/problem+json"
    assert api("post", "/fleet/vehicles/", json=VAN).status_code == 404
    assert api("get", "/fleet/summary/").status_code == 404
    document = api("get", "/openapi.json").get_json()
    assert not [p for p in document["paths"] if p.startswith("/api/v1/fleet")]
    assert "Vehicle" not in document["components"]["schemas"]
    assert "fleet" not in {t["name"] for t in document["tags"]}
    assert vehicles_in(rt) == [("PO 12345", "Ford Transit", 9)]  # the data is kept


# ------------------------------------------------------------------ the helper


class PartnerSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    city = fields.String()
    owner_id = fields.Integer(allow_none=True)


def test_the_helper_filters_sorts_and_keeps_to_the_callers_reach(kartoteka_app_factory,
                                                                 monkeypatch):
    """A record type with filter fields (here the core's organisations, served by a
    plugin's blueprint) takes ``filter`` and ``sort``, and a caller sees only the records
    within their reach."""
    import plugins.fundraising.plugin as fundraising

    monkeypatch.setattr(fundraising, "kartoteka_register_api_blueprints", _impl(
        lambda: [crud.blueprint("partners", Organisation, PartnerSchema)]), raising=False)
    app = kartoteka_app_factory(["fundraising"], default_locale="en")
    rt = app.extensions["kartoteka"]
    admin = caller(app, token(rt, "admin@example.com", admin=True))
    seller_token = token(rt, "seller@example.com")
    with rt.session() as s, s.begin():
        seller = users.find_by_email(s, "seller@example.com")
        seller_id = seller.id
        own = roles.create(s, "own", "Own")
        roles.set_access(s, own, {("organisation", "read"): "own"})
        roles.assign(s, seller, ["own"])
    made = {}
    for name, city, owner in [("Gmina Mosina", "Mosina", seller_id),
                              ("Gmina Kórnik", "Kórnik", seller_id),
                              ("Gmina Luboń", "Luboń", None), ("Gmina Kórnik Wschód",
                                                               "Kórnik", None)]:
        made[name] = admin("post", "/organizations/?allow_duplicates=true", json={
            "name": name, "type_key": "core.municipality", "city": city,
            "owner_id": owner}).get_json()["id"]

    listed = admin("get", '/fundraising/partners/?filter={"field": "city", "op": "eq", '
                          '"value": "Kórnik"}&sort=-name&limit=1').get_json()
    assert [p["name"] for p in listed["items"]] == ["Gmina Kórnik Wschód"]
    after = admin("get", '/fundraising/partners/?filter={"field": "city", "op": "eq", '
                         f'"value": "Kórnik"}}&sort=-name&limit=1&after={listed["next"]}')
    assert [p["name"] for p in after.get_json()["items"]] == ["Gmina Kórnik"]
    unknown = admin("get", '/fundraising/partners/?filter={"field": "colour", "op": "eq", '
                           '"value": 1}')
    assert unknown.status_code == 422 and "filter.field" in unknown.get_json()["errors"]

    seller = caller(app, seller_token)
    mine = seller("get", "/fundraising/partners/?sort=name").get_json()["items"]
    assert [p["name"] for p in mine] == ["Gmina Kórnik", "Gmina Mosina"]
    assert seller("get", f"/fundraising/partners/{made['Gmina Luboń']}").status_code == 404
    assert seller("get", f"/fundraising/partners/{made['Gmina Mosina']}").get_json()["city"] \
        == "Mosina"


# ------------------------------------------------------------------ faulty plugins


@pytest.mark.parametrize("returned, message", [
    (lambda: [object()], "not a flask_smorest.Blueprint"),
    (lambda: [Blueprint("bare", __name__)], "needs a url_prefix"),
    (lambda: [Blueprint("one", __name__, url_prefix="/a"),
              Blueprint("one", __name__, url_prefix="/b")], "two API blueprints named 'one'"),
])
def test_a_faulty_api_blueprint_stops_start_up_naming_the_plugin(
        kartoteka_app_factory, monkeypatch, returned, message):
    import plugins.fundraising.plugin as fundraising

    monkeypatch.setattr(fundraising, "kartoteka_register_api_blueprints", _impl(returned),
                        raising=False)
    with pytest.raises(StartupError, match=message) as stopped:
        kartoteka_app_factory(["fundraising"])
    assert "kartoteka plugins disable fundraising" in str(stopped.value)


def test_a_plugin_cannot_mount_its_api_where_the_cores_is():
    from core.api import cases, plugin_routes

    class Cases:
        @hookimpl
        def kartoteka_register_api_blueprints(self):
            return [Blueprint("cases", __name__, url_prefix="/cases")]

    host = build_host([])
    host.pm.register(Cases(), name="cases")
    app = Flask(__name__)
    app.extensions["kartoteka"] = SimpleNamespace(host=host)
    with pytest.raises(StartupError, match="/api/v1/cases, which the core's own API uses"):
        plugin_routes.blueprints(app, CSRFProtect(), cases.blueprints())


def _impl(returned):
    @hookimpl
    def kartoteka_register_api_blueprints():
        return returned()

    return kartoteka_register_api_blueprints

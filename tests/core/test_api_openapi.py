"""The OpenAPI document follows the installation: the custom fields administrators add,
hide and archive, the words they give the terms, the plugins they enable and disable;
and it tells the truth about errors (problem+json) and the If-Match of updates.

``tests/core/test_api.py`` has the first custom field and the first renamed term."""

import pytest
from sqlalchemy import select
from test_api import token_for

from core import field_definitions, plugins, roles, term_overrides, tokens, users
from core.models import FieldDefinition, Organisation

PLUGINS = ["printing", "photovoltaics"]


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(PLUGINS, default_locale="en")


def caller(app, token):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


@pytest.fixture
def api(app, rt):
    return caller(app, token_for(rt))


def document(app) -> dict:
    """The document as anyone may read it: no token is needed."""
    response = app.test_client().get("/api/v1/openapi.json",
                                     headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_json()


def custom(spec: dict, component: str = "Organisation") -> dict:
    return spec["components"]["schemas"][component]["properties"]["custom"]


def define(rt, record_type="organisation", **data):
    with rt.session() as session, session.begin():
        return field_definitions.create(session, {"record_type": record_type,
                                                  "label_pl": data["key"], **data}).id


def change_field(rt, key: str, **data):
    with rt.session() as session, session.begin():
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == key))
        field_definitions.change(session, row, data)


def archive_field(rt, key: str):
    with rt.session() as session, session.begin():
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == key))
        field_definitions.archive(session, row)


def stored_custom(rt, record_id: int) -> dict:
    with rt.session() as session:
        return dict(session.get(Organisation, record_id).custom)


def new_org(api, **custom_values) -> dict:
    response = api("post", "/organizations/", json={
        "name": "Dom Kowalskich", "type_key": "core.company", "custom": custom_values})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# ------------------------------------------------------------------ custom fields


def test_a_new_field_is_described_with_its_type_limits_title_and_help(app, rt):
    assert "budget" not in custom(document(app))["properties"]
    define(rt, key="budget", type="decimal", label_en="Budget", help_en="In złoty.",
           options={"places": 2, "min": "0.5", "max": "1000000"})
    define(rt, key="channels", type="multi_choice", label_en="Channels",
           options={"choices": [{"value": "print"}, {"value": "web"}]})
    spec = document(app)
    budget = custom(spec)["properties"]["budget"]
    assert (budget["type"], budget["title"], budget["description"]) == (
        "number", "Budget", "In złoty.")
    # Limits are numbers, as JSON Schema wants them, not the decimals' text.
    assert (budget["minimum"], budget["maximum"]) == (0.5, 1000000)
    assert custom(spec)["properties"]["channels"]["items"]["enum"] == ["print", "web"]
    # Updates take the same values.
    assert custom(spec, "OrganisationPatch")["properties"]["budget"] == budget
    assert "budget" not in custom(spec, "Person")["properties"]


def test_an_archived_field_leaves_the_document_and_the_records(app, rt, api):
    define(rt, key="employees", type="integer", label_en="Employees")
    org = new_org(api, employees=120)
    assert "employees" in custom(document(app))["properties"]
    archive_field(rt, "employees")
    assert "employees" not in custom(document(app))["properties"]
    assert api("get", f"/organizations/{org['id']}").get_json()["custom"] == {}


def test_a_hidden_field_is_neither_described_nor_shown_but_its_value_is_kept(app, rt, api):
    define(rt, key="legacy_id", type="text", label_en="Legacy id")
    org = new_org(api, legacy_id="A-17")
    change_field(rt, "legacy_id", hidden=True)
    assert "legacy_id" not in custom(document(app))["properties"]
    assert api("get", f"/organizations/{org['id']}").get_json()["custom"] == {}
    listed = api("get", "/organizations/").get_json()["items"]
    assert [o["custom"] for o in listed] == [{}]
    assert stored_custom(rt, org["id"]) == {"legacy_id": "A-17"}


def test_values_of_a_field_the_caller_may_not_see_are_left_out_as_on_the_card(app, rt, api):
    define(rt, key="rating", type="integer", label_en="Credit rating",
           view_roles=["finance"])
    org = new_org(api, rating=3)
    with rt.session() as session, session.begin():
        rep = users.create_user(session, "rep@example.com", "correct horse battery")
        roles.assign(session, rep, ["staff"])
        rep_token = tokens.create(session, rep, "test")[1]
    rep_api = caller(app, rep_token)
    assert rep_api("get", f"/organizations/{org['id']}").get_json()["custom"] == {}
    assert api("get", f"/organizations/{org['id']}").get_json()["custom"] == {"rating": 3}
    # Nor may the rep learn the values by filtering or ordering on them.
    probe = '{"field": "custom.rating", "op": "eq", "value": 3}'
    refused = rep_api("get", "/organizations/", query_string={"filter": probe})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["filter.field"] == "You may not filter by this field."
    assert rep_api("get", "/organizations/",
                   query_string={"sort": "custom.rating"}).status_code == 422
    assert len(api("get", "/organizations/", query_string={"filter": probe})
               .get_json()["items"]) == 1
    assert api("get", "/organizations/", query_string={"sort": "custom.rating"}
               ).status_code == 200


# ------------------------------------------------------------------ terms


def test_renamed_terms_word_the_tags_and_the_processes(app, rt):
    def words(spec):
        tags = {t["name"]: t.get("description") for t in spec["tags"]}
        return tags["cases"], _processes_named(spec)

    tag, processes = words(document(app))
    assert tag == "Cases" and processes["printing.project"] == "Projects"
    with rt.session() as session, session.begin():
        term_overrides.save(session, rt.host.terms, "core.case", "en",
                            {"nom": "matter"}, {"nom": "matters"})
        term_overrides.save(session, rt.host.terms, "printing.project", "en",
                            {"nom": "print job"}, {"nom": "print jobs"})
    tag, processes = words(document(app))
    assert tag == "Matters" and processes["printing.project"] == "Print jobs"


# ------------------------------------------------------------------ plugins


def test_a_disabled_plugins_fields_processes_and_words_leave_the_document(
        kartoteka_app_factory, app, rt, api):
    org = new_org(api, photovoltaics_power="9.84")
    spec = document(app)
    assert "photovoltaics_power" in custom(spec)["properties"]
    assert "photovoltaics_storage" in custom(spec, "Case")["properties"]
    assert _processes_named(spec)["photovoltaics.installation"] == "Installations"
    assert "photovoltaics.installation" in _process_keys(spec)
    assert api("get", "/processes/photovoltaics.installation").status_code == 200

    plugins.disable(rt.engine, "photovoltaics")
    restarted = kartoteka_app_factory(["printing"], default_locale="en")
    spec = document(restarted)
    text = str(spec)
    assert "photovoltaics" not in text and "Installations" not in text
    assert list(_processes_named(spec)) == _process_keys(spec) == ["printing.complaint",
                                                                    "printing.project"]
    assert "printing_signed_order" in custom(spec, "Case")["properties"]
    # A complaint's required defect is not asked of every case.
    defect = custom(spec, "Case")["properties"]["printing_complaint_defect"]
    assert "printing_complaint_defect" not in custom(spec, "Case").get("required", [])
    assert defect["description"].endswith(
        "Only on cases of the processes: printing.complaint. Required there.")
    # The values stay stored, for when the plugin comes back; the API shows what the
    # document describes.
    after = caller(restarted, token_for(restarted.extensions["kartoteka"]))
    assert after("get", f"/organizations/{org['id']}").get_json()["custom"] == {}
    assert stored_custom(rt, org["id"]) == {"photovoltaics_power": 9.84}
    assert after("get", "/processes/photovoltaics.installation").status_code == 404
    # Nor can they be written while the plugin is off; other changes keep them.
    etag = after("get", f"/organizations/{org['id']}").headers["ETag"]
    refused = after("patch", f"/organizations/{org['id']}", headers={"If-Match": etag},
                    json={"custom": {"photovoltaics_power": "1.5"}})
    assert refused.status_code == 422 and "custom.photovoltaics_power" in \
        refused.get_json()["errors"]
    assert after("patch", f"/organizations/{org['id']}", headers={"If-Match": etag},
                 json={"city": "Kórnik"}).status_code == 200
    assert stored_custom(rt, org["id"]) == {"photovoltaics_power": 9.84}


def _processes_named(spec: dict) -> dict[str, str]:
    """The processes named in the description of a case's ``process_key``."""
    described = spec["components"]["schemas"]["Case"]["properties"]["process_key"]
    named = described["description"].split("Enabled now: ")[1].rstrip(".")
    return dict(item.split(": ") for item in named.split("; "))


def _process_keys(spec: dict) -> list[str]:
    path = spec["paths"]["/api/v1/processes/{key}"]
    key = next(p for p in path["parameters"] if p["name"] == "key")
    return key["schema"]["enum"]


# ------------------------------------------------------------------ errors, If-Match


def test_every_error_is_documented_as_the_problem_it_is(app, api):
    spec = document(app)
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            assert "{" not in path or "404" in responses, (method, path)
            for status, response in responses.items():
                if status == "default" or status >= "400":
                    response = _resolved(spec, response)
                    assert list(response["content"]) == ["application/problem+json"], (
                        method, path, status)
    # What the document promises is what comes.
    refused = api("post", "/organizations/", json={"name": ""})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert set(refused.get_json()) <= problem.keys()


def _resolved(spec: dict, response: dict) -> dict:
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_updates_name_the_if_match_header_they_need(app, api):
    paths = document(app)["paths"]

    def if_match(path, method):
        return next(p for p in paths[f"/api/v1{path}"][method]["parameters"]
                    if p["name"] == "If-Match")

    assert if_match("/organizations/{record_id}", "patch")["required"] is True
    assert if_match("/cases/{case_id}/move", "post")["required"] is True
    assert if_match("/templates/{key}", "put")["required"] is False  # 412 only if sent
    org = new_org(api)
    path = f"/organizations/{org['id']}"
    assert api("patch", path, json={"city": "Kórnik"}).status_code == 428
    assert api("patch", path, json={"city": "Kórnik"},
               headers={"If-Match": '"1"'}).status_code == 200

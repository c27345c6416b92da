"""The documents API: documents generated, numbered and downloaded, invisible records,
templates saved in versions with their syntax checked, previews, number series, OpenAPI."""

import hashlib

import pytest
from sqlalchemy import func, select

from core import documents, roles, tokens, users
from core.api import schemas
from core.db import utcnow
from core.models import Document
from core.permissions import ACTIONS

PASSWORD = "correct horse battery"
PROJECT = "printing.project"
KEY = "printing.test_offer"
OFFER = documents.Template(
    KEY, "offer", "case", {"pl": "Oferta", "en": "Offer"},
    "<h1>{{ document.number }}</h1>{{ case.title }}",
    series=documents.Series(KEY, "Oferty", "OF/{year}/{seq:04}"))


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


@pytest.fixture
def rt(app):
    with app.extensions["kartoteka"].session() as s, s.begin():
        documents.ship(s, OFFER)
    return app.extensions["kartoteka"]


@pytest.fixture
def staff(app, rt):
    """API callers: a rep, an editor of templates, a reader who may see but not change
    cases, and a seller who sees only their own; ``staff.ids`` holds their ids."""
    with rt.session() as s, s.begin():
        rep = users.create_user(s, "rep@example.com", PASSWORD, full_name="Rep")
        editor = users.create_user(s, "editor@example.com", PASSWORD)
        reader = users.create_user(s, "reader@example.com", PASSWORD)
        seller = users.create_user(s, "seller@example.com", PASSWORD)
        roles.assign(s, rep, ["staff"])
        templates = roles.create(s, "templates", "Templates")
        roles.set_permissions(s, templates, ["core.manage_templates"])
        roles.assign(s, editor, ["staff", "templates"])
        looking = roles.create(s, "looking", "Looking")
        roles.set_access(s, looking, {("*", "read"): "all"})
        roles.assign(s, reader, ["looking"])
        own = roles.create(s, "seller", "Seller")
        roles.set_access(s, own, {("*", action): "own" for action in ACTIONS})
        roles.assign(s, seller, ["seller"])
        found = {u.email.split("@")[0]: (u.id, tokens.create(s, u, "test")[1])
                 for u in (rep, editor, reader, seller)}

    class Staff:
        ids = {name: user_id for name, (user_id, _token) in found.items()}

    client = app.test_client()
    for name, (_user_id, token) in found.items():
        setattr(Staff, name, _caller(client, token))
    return Staff


def _caller(client, token):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def open_case(api, owner_id, **extra):
    response = api("post", "/cases/", json={"title": "Banners for the fair",
                                            "process_key": PROJECT, "owner_id": owner_id,
                                            **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def generate(api, case, template=KEY):
    return api("post", "/documents/", json={"template": template, "record_type": "case",
                                            "record_id": case["id"]})


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Document))


# ------------------------------------------------------------------ documents


def test_documents_are_generated_numbered_listed_and_downloaded(staff):
    case = open_case(staff.rep, staff.ids["rep"])
    year = utcnow().year
    first = generate(staff.rep, case)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["number"] == f"OF/{year}/0001"
    assert body["title"] == f"Offer OF/{year}/0001"  # in the caller's language
    assert (body["template"], body["template_version"]) == (KEY, 1)
    assert (body["record_type"], body["record_id"]) == ("case", case["id"])
    assert body["created_by_id"] == staff.ids["rep"] and body["created_at"]
    assert first.headers["Location"].endswith(f"/api/v1/documents/{body['id']}")
    second = generate(staff.rep, case).get_json()
    assert second["number"] == f"OF/{year}/0002"

    listed = staff.rep("get", f"/documents/?record_type=case&record_id={case['id']}")
    assert listed.status_code == 200
    assert [d["id"] for d in listed.get_json()] == [second["id"], body["id"]]

    read = staff.rep("get", f"/documents/{body['id']}")
    assert read.status_code == 200 and read.get_json() == body
    assert body["download_url"].endswith(f"/api/v1/documents/{body['id']}/pdf")
    pdf = staff.rep("get", f"/documents/{body['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() == body["sha256"]
    assert len(pdf.data) == body["size"]
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert staff.rep("get", "/documents/999999").status_code == 404
    assert staff.rep("get", "/documents/999999/pdf").status_code == 404


def test_a_record_the_caller_may_not_see_is_404_and_one_they_may_not_edit_403(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"])
    made = generate(staff.rep, case).get_json()
    answers = [
        staff.seller("get", f"/documents/?record_type=case&record_id={case['id']}"),
        generate(staff.seller, case),
        staff.seller("get", f"/documents/{made['id']}"),
        staff.seller("get", f"/documents/{made['id']}/pdf"),
        staff.seller("post", f"/templates/{KEY}/preview",
                     json={"record_type": "case", "record_id": case["id"]}),
        staff.rep("get", "/documents/?record_type=case&record_id=999999"),
        generate(staff.rep, {"id": 999999}),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert all(r.mimetype == "application/problem+json" for r in answers)

    assert staff.reader("get", f"/documents/{made['id']}/pdf").status_code == 200
    refused = generate(staff.reader, case)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert count(rt) == 1


def test_generation_refused_with_field_errors_and_no_number_is_used(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"])
    unknown = generate(staff.rep, case, template="printing.nothing")
    assert unknown.status_code == 422 and "template" in unknown.get_json()["errors"]
    extra = staff.rep("post", "/documents/", json={"template": KEY, "record_type": "case",
                                                   "record_id": case["id"], "number": "X/1"})
    assert extra.status_code == 422 and "number" in extra.get_json()["errors"]
    wrong_type = staff.rep("post", "/documents/", json={
        "template": KEY, "record_type": "invoice", "record_id": case["id"]})
    assert wrong_type.status_code == 422 and "record_type" in wrong_type.get_json()["errors"]

    saved = staff.editor("put", f"/templates/{KEY}",
                         json={"body": "<h1>{{ document.number }}</h1>\n{{ nothing_here }}"})
    assert saved.status_code == 200, saved.get_json()
    broken = generate(staff.rep, case)
    assert broken.status_code == 422 and broken.mimetype == "application/problem+json"
    assert broken.get_json()["errors"]["template.body"].startswith("Line 2:")
    assert count(rt) == 0

    staff.editor("put", f"/templates/{KEY}", json={"body": "{{ case.title }}"})
    made = generate(staff.rep, case).get_json()
    assert made["number"] == f"OF/{utcnow().year}/0001" and made["template_version"] == 3


# ------------------------------------------------------------------ templates


def test_templates_are_listed_read_and_saved_as_new_versions(staff):
    listed = staff.rep("get", "/templates/")
    assert listed.status_code == 200
    [offer] = [t for t in listed.get_json() if t["key"] == KEY]
    assert offer == {"key": KEY, "kind": "offer", "kind_name": "Offer", "name": "Offer",
                     "subject_type": "case", "series_key": KEY, "version": 1, "active": True}
    polish = staff.rep("get", "/templates/", headers={"Accept-Language": "pl"}).get_json()
    assert [t["name"] for t in polish if t["key"] == KEY] == ["Oferta"]

    read = staff.rep("get", f"/templates/{KEY}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json()["body"] == OFFER.body

    path = f"/templates/{KEY}"
    changed = staff.editor("put", path, json={"body": "<p>{{ case.title }}</p>",
                                              "note": "Shorter"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] == '"2"'
    assert (changed.get_json()["version"], changed.get_json()["body"]) == \
        (2, "<p>{{ case.title }}</p>")
    versions = staff.rep("get", f"{path}/versions").get_json()
    assert [(v["number"], v["current"], v["note"]) for v in versions] == [
        (2, True, "Shorter"), (1, False, "As shipped")]
    assert versions[1]["body"] == OFFER.body
    assert versions[0]["created_by_id"] == staff.ids["editor"]

    stale = staff.editor("put", path, json={"body": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert staff.rep("get", "/templates/printing.nothing").status_code == 404


def test_saving_a_template_needs_the_permission_and_valid_syntax(staff):
    path = f"/templates/{KEY}"
    forbidden = staff.rep("put", path, json={"body": "<p>Mine</p>"})
    assert forbidden.status_code == 403
    assert forbidden.mimetype == "application/problem+json"
    broken = staff.editor("put", path, json={"body": "<p>\n{% if case.title %}\n</p>"})
    assert broken.status_code == 422 and broken.mimetype == "application/problem+json"
    assert broken.get_json()["errors"]["body"].startswith("Line ")
    unknown = staff.editor("put", path, json={"body": "<p></p>", "current_version_id": 1})
    assert unknown.status_code == 422 and "current_version_id" in unknown.get_json()["errors"]
    assert staff.rep("get", path).get_json()["version"] == 1


def test_a_preview_of_an_unsaved_body_fills_it_with_escaped_data(staff):
    case = open_case(staff.rep, staff.ids["rep"], title="<b>{{7*7}}</b> & Co")
    path = f"/templates/{KEY}/preview"
    shown = staff.rep("post", path, json={"record_type": "case", "record_id": case["id"],
                                          "body": "<p>{{ case.title }}</p>"})
    assert shown.status_code == 200, shown.get_json()
    assert shown.get_json()["html"] == "<p>&lt;b&gt;{{7*7}}&lt;/b&gt; &amp; Co</p>"
    current = staff.rep("post", path, json={"record_type": "case", "record_id": case["id"]})
    assert current.get_json()["html"].startswith("<h1>(number given on issue)</h1>")
    broken = staff.rep("post", path, json={"record_type": "case", "record_id": case["id"],
                                           "body": "{{ case.title"})
    assert broken.status_code == 422 and broken.get_json()["errors"]["body"].startswith("Line")
    person = staff.rep("post", "/people/", json={"first_name": "Jan", "last_name": "Nowak"})
    wrong = staff.rep("post", path, json={"record_type": "person",
                                          "record_id": person.get_json()["id"]})
    assert wrong.status_code == 422 and "record_type" in wrong.get_json()["errors"]
    series = staff.rep("get", "/number-series/").get_json()
    assert [s["next_number"] for s in series if s["key"] == KEY] == \
        [f"OF/{utcnow().year}/0001"]  # a preview takes no number


# ------------------------------------------------------------------ number series


def test_number_series_are_listed_and_changed_with_the_permission(staff):
    listed = staff.rep("get", "/number-series/").get_json()
    [offer] = [s for s in listed if s["key"] == KEY]
    year = utcnow().year
    assert offer == {"key": KEY, "name": "Oferty", "pattern": "OF/{year}/{seq:04}",
                     "reset": "yearly", "next_number": f"OF/{year}/0001"}
    path = f"/number-series/{KEY}"
    good = {"name": "Offers", "pattern": "OFR/{year}/{seq:05}", "reset": "yearly"}
    assert staff.rep("put", path, json=good).status_code == 403
    bad = staff.editor("put", path, json={**good, "pattern": "OFR/{seq:05}"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "pattern" in bad.get_json()["errors"]
    unknown = staff.editor("put", path, json={**good, "pattern": "{seq}/{week}"})
    assert "{week}" in unknown.get_json()["errors"]["pattern"]
    assert staff.editor("put", path, json={**good, "reset": "weekly"}).status_code == 422
    assert staff.editor("put", path, json={**good, "last": 7}).status_code == 422

    changed = staff.editor("put", path, json=good)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["next_number"] == f"OFR/{year}/00001"
    added = staff.editor("put", "/number-series/local.letters",
                         json={"name": "Letters", "pattern": "L/{seq}", "reset": "never"})
    assert added.status_code == 201 and added.get_json()["next_number"] == "L/1"
    case = open_case(staff.rep, staff.ids["rep"])
    assert generate(staff.rep, case).get_json()["number"] == f"OFR/{year}/00001"


# ------------------------------------------------------------------ OpenAPI


def test_the_openapi_document_lists_the_documents_api(staff):
    assert set(schemas.DOCUMENT_SUBJECTS) == set(documents.SUBJECTS)
    paths = staff.rep("get", "/openapi.json").get_json()["paths"]
    for path in ("/api/v1/documents/", "/api/v1/documents/{document_id}",
                 "/api/v1/documents/{document_id}/pdf", "/api/v1/templates/",
                 "/api/v1/templates/{key}", "/api/v1/templates/{key}/versions",
                 "/api/v1/templates/{key}/preview", "/api/v1/number-series/",
                 "/api/v1/number-series/{key}"):
        assert path in paths, path
    assert {"201", "403", "422"} <= set(paths["/api/v1/documents/"]["post"]["responses"])
    assert "application/pdf" in \
        paths["/api/v1/documents/{document_id}/pdf"]["get"]["responses"]["200"]["content"]

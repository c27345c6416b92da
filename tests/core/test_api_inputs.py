"""Inputs the API once answered with a server error, found by Schemathesis
(``test_api_schemathesis.py``): each is now refused with the field named, or works."""

import pytest
from sqlalchemy import func, select
from test_api import token_for

from core import documents, field_definitions
from core.models import Organisation, Suppression
from mail_helpers import LETTER

STORED_NOT = "The text contains characters that cannot be stored."
TOO_BIG = 2**31  # one past the largest id an INTEGER column holds on PostgreSQL


@pytest.fixture
def api(app, rt):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(rt)}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def raw_json(api, method, path, text):
    return api(method, path, data=text, headers={"Content-Type": "application/json"})


def test_text_no_database_can_store_is_refused_naming_the_field(api, rt):
    """A NUL character (PostgreSQL refuses it) or a lone surrogate (not UTF-8), in a
    body, a query or a path."""
    refused = raw_json(api, "post", "/organizations/",
                       '{"name": "Gmina\\u0000", "type_key": "core.company"}')
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"name": STORED_NOT}
    person = raw_json(api, "post", "/people/",
                      '{"first_name": "A", "last_name": "B", "emails": ["x\\ud800@b.pl"]}')
    assert person.status_code == 422 and person.get_json()["errors"] == {"emails.0": STORED_NOT}
    assert api("get", "/cases/?process=a%00b").get_json()["errors"] == {"process": STORED_NOT}
    assert api("get", "/templates/a%00b").status_code == 404
    assert count(rt, Organisation) == 0


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("get", f"/documents/?record_type=organisation&record_id={TOO_BIG}", None, "record_id"),
    ("post", "/documents/", {"template": "x", "record_type": "person", "record_id": TOO_BIG},
     "record_id"),
    ("post", "/cases/", {"title": "T", "process_key": "x", "organisation_id": TOO_BIG},
     "organisation_id"),
    ("get", f"/cases/?owner_id={TOO_BIG}", None, "owner_id"),
    ("post", "/organizations/", {"name": "X", "type_key": "core.company",
                                 "owner_id": -TOO_BIG}, "owner_id"),
    ("post", "/mailings/", {"name": "N", "template": "x", "kind": "service",
                            "audience": "people", "person_ids": [1, TOO_BIG]},
     "person_ids.1"),
])
def test_an_id_no_record_can_have_is_refused_naming_the_field(api, method, path, body,
                                                              field):
    response = api(method, path, json=body) if body is not None else api(method, path)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][field] == "There is no such record."


def test_an_unsubscribe_list_with_old_mac_line_ends_is_read(api, rt):
    """Lines ended by a carriage return alone, as old spreadsheets write them."""
    response = api("post", "/unsubscribes/", data={
        "file": (_file(b"email\rANNA@example.org\rbogdan@example.org\r"), "list.csv")})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["added"] == 2 and count(rt, Suppression) == 2


def test_an_unsubscribe_list_csv_cannot_read_is_refused_naming_the_file(api, rt):
    response = api("post", "/unsubscribes/", data={
        "file": (_file(b"email\n" + b"a" * 200_000 + b"\n"), "list.csv")})
    assert response.status_code == 422
    assert "cannot be read as CSV" in response.get_json()["errors"]["file"]
    assert count(rt, Suppression) == 0


def _file(content: bytes):
    import io

    return io.BytesIO(content)


def test_a_related_record_is_named_in_a_preview_asked_with_a_token(api, rt):
    """A relation field is shown by the related record's name, as the caller sees it
    (the token's account; the session's user is anonymous in an API call)."""
    with rt.session() as session, session.begin():
        documents.ship(session, LETTER)
        field_definitions.create(session, {"record_type": "person", "key": "employer",
                                           "type": "relation", "label_pl": "Pracodawca",
                                           "options": {"target": "organisation"}})
    org = api("post", "/organizations/", json={"name": "Gmina Kórnik",
                                               "type_key": "core.municipality"}).get_json()
    person = api("post", "/people/", json={"first_name": "Anna", "last_name": "Nowak",
                                           "custom": {"employer": org["id"]}}).get_json()
    response = api("post", f"/templates/{LETTER.key}/preview", json={
        "record_type": "person", "record_id": person["id"],
        "body": "<p>{{ person.custom.employer }}</p>"})
    assert response.status_code == 200, response.get_json()
    assert "<p>Gmina Kórnik</p>" in response.get_json()["html"]

"""Public forms through the API: made, listed, read and changed a few settings at a time,
the fields they may ask for, what people sent through them, field-level refusals, and
the permission every call needs."""

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from core import audit, consents, field_definitions, public_forms
from core.models import AuditEntry, FormSubmission, PublicForm


@pytest.fixture
def staff(app, rt):
    """A form manager (the permission alone, on top of the staff role) and a clerk
    without it."""
    return callers(app, rt, manager=dict(permissions=[public_forms.MANAGE]), clerk=dict())


def new_form(api, **extra) -> dict:
    return created(api("post", "/public-forms/", json={
        "key": "darczyncy-2027", "title": "Become a donor",
        "fields": [{"field": "email", "required": True}, {"field": "city"}],
        "consent_text": "I agree to be told about the foundation's work.", **extra}))


def count(rt, model=PublicForm) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def trail(rt, form_id: int) -> list[AuditEntry]:
    with rt.session() as session:
        kind = audit.record_type_of(session.get(PublicForm, form_id))
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == kind, AuditEntry.record_id == form_id)
            .order_by(AuditEntry.id)))


def submit(rt, form_id: int, posted: dict, address: str = "203.0.113.5") -> int:
    with rt.session() as session, session.begin():
        form = session.get(PublicForm, form_id)
        return public_forms.submit(session, form, posted, address).id


# ------------------------------------------------------------------ managing


def test_a_form_is_made_read_listed_and_changed_setting_by_setting(staff, rt):
    with rt.session() as session, session.begin():
        purpose = consents.create_purpose(session, {
            "key": "donors", "name": "Donor news", "legal_basis": "consent"}).id
    response = staff.manager("post", "/public-forms/", json={
        "key": "darczyncy-2027", "title": " Become a donor ", "intro": "Thank you!",
        "fields": [{"field": "email", "required": True}, {"field": "city"},
                   {"field": "email"}],
        "consent_text": "I agree.", "purpose_id": purpose, "tags": ["donor", " donor "],
        "notify_user_ids": [staff.ids["manager"]]})
    form = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/public-forms/{form['id']}")
    assert (form["key"], form["title"], form["active"]) == ("darczyncy-2027",
                                                            "Become a donor", True)
    # The names come first, always required; each field once.
    assert form["fields"] == [{"field": "first_name", "required": True},
                              {"field": "last_name", "required": True},
                              {"field": "email", "required": True},
                              {"field": "city", "required": False}]
    assert (form["purpose_id"], form["tags"]) == (purpose, ["donor"])
    assert form["notify_user_ids"] == [staff.ids["manager"]]
    assert form["url"] == f"{rt.settings.public_url.rstrip('/')}/forms/darczyncy-2027"
    assert form["created_by_id"] == staff.ids["manager"]

    other = new_form(staff.manager, key="szkolenie", title="A training")
    listed = staff.manager("get", "/public-forms/").get_json()
    assert [f["title"] for f in listed] == ["A training", "Become a donor"]
    assert staff.manager("get", f"/public-forms/{form['id']}").get_json() == form

    changed = staff.manager("patch", f"/public-forms/{form['id']}", json={
        "title": "Donors 2027", "active": False, "fields": [{"field": "phone"}]})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["title"], body["active"], body["key"], body["intro"]) == (
        "Donors 2027", False, "darczyncy-2027", "Thank you!")
    assert [f["field"] for f in body["fields"]] == ["first_name", "last_name", "phone"]
    assert (body["consent_text"], body["purpose_id"], body["tags"]) == (
        "I agree.", purpose, ["donor"])
    assert staff.manager("get", f"/public-forms/{form['id']}").get_json() == body
    assert staff.manager("get", f"/public-forms/{other['id']}").get_json() == other

    entries = trail(rt, form["id"])
    assert [(e.action, e.door, e.actor_id) for e in entries] == [
        ("create", "api", staff.ids["manager"]), ("update", "api", staff.ids["manager"])]
    assert entries[1].changes["title"] == ["Become a donor", "Donors 2027"]
    assert "key" not in entries[1].changes  # what stayed is not in the trail
    # A change that changes nothing writes no entry.
    assert staff.manager("patch", f"/public-forms/{form['id']}",
                         json={"title": "Donors 2027"}).status_code == 200
    assert len(trail(rt, form["id"])) == 2


def test_the_fields_a_form_may_ask_for_include_the_peoples_custom_fields(staff, rt):
    with rt.session() as session, session.begin():
        field_definitions.create(session, {"record_type": "person", "key": "shoe_size",
                                           "type": "integer", "label_pl": "Rozmiar buta",
                                           "label_en": "Shoe size"})
    offered = staff.manager("get", "/public-forms/fields").get_json()
    assert offered[:3] == [{"name": "first_name", "label": "First name"},
                           {"name": "last_name", "label": "Last name"},
                           {"name": "email", "label": "E-mail"}]
    assert {"name": "custom.shoe_size", "label": "Shoe size"} in offered
    form = new_form(staff.manager, fields=[{"field": "custom.shoe_size", "required": True}])
    assert form["fields"][-1] == {"field": "custom.shoe_size", "required": True}


def test_what_was_sent_is_listed_newest_first(staff, rt):
    form = new_form(staff.manager, tags=["donor"])
    assert staff.manager("get", f"/public-forms/{form['id']}/submissions").get_json() == []
    first = submit(rt, form["id"], {"first_name": "Anna", "last_name": "Nowak",
                                    "email": "anna@example.org", "city": "Poznań",
                                    "consent": "1"})
    spam = submit(rt, form["id"], {"first_name": "Bot", "last_name": "Bot",
                                   public_forms.HONEYPOT: "http://spam.example", "consent": "1"},
                  address="198.51.100.7")

    listed = staff.manager("get", f"/public-forms/{form['id']}/submissions").get_json()
    assert [s["id"] for s in listed] == [spam, first]
    newest, oldest = listed
    assert (newest["outcome"], newest["person_id"], newest["data"], newest["address"]) == (
        "spam", None, {}, "198.51.100.7")
    assert oldest["outcome"] == "created" and oldest["person_id"] is not None
    assert oldest["data"] == {"first_name": "Anna", "last_name": "Nowak",
                              "email": "anna@example.org", "city": "Poznań"}
    assert oldest["address"] == "203.0.113.5" and oldest["created_at"]
    assert set(oldest) == {"id", "outcome", "person_id", "case_id", "data", "address",
                           "created_at"}
    assert oldest["case_id"] is None  # the form opens no case

    only = staff.manager("get", f"/public-forms/{form['id']}/submissions?limit=1")
    assert [s["id"] for s in only.get_json()] == [spam]
    # Another form's submissions are its own.
    other = new_form(staff.manager, key="szkolenie")
    assert staff.manager("get", f"/public-forms/{other['id']}/submissions").get_json() == []
    too_many = staff.manager("get", f"/public-forms/{form['id']}/submissions?limit=0")
    assert too_many.status_code == 422 and "limit" in too_many.get_json()["errors"]


# ------------------------------------------------------------------ refusals


def test_bad_forms_get_a_message_for_each_field_and_write_nothing(staff, rt):
    form = new_form(staff.manager)
    response = staff.manager("post", "/public-forms/", json={
        "key": "darczyncy-2027", "title": "Again", "consent_text": "I agree.",
        "fields": [{"field": "email"}, {"field": "shoe_size"}]})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "key": "Another form has this address.",
        "fields.1.field": "There is no field “shoe_size”."}

    missing = staff.manager("post", "/public-forms/", json={"key": "x", "title": "",
                                                            "colour": "red"})
    assert missing.status_code == 422
    errors = missing.get_json()["errors"]
    assert errors["consent_text"] == "Enter the consent text the sender agrees to."
    assert errors["key"].startswith("Use 2 to 64 small letters")
    assert errors["colour"] == "Unknown field."
    blank = staff.manager("post", "/public-forms/", json={
        "key": "blank", "title": "Blank", "consent_text": "  "})
    assert blank.get_json()["errors"] == {
        "consent_text": "Enter the consent text the sender agrees to."}
    assert count(rt) == 1

    other = new_form(staff.manager, key="szkolenie")
    for data, field in (({"key": "szkolenie"}, "key"),
                        ({"fields": [{"field": "nope"}]}, "fields.0.field"),
                        ({"consent_text": ""}, "consent_text"),
                        ({"purpose_id": 999}, "purpose_id"),
                        ({"notify_user_ids": [999]}, "notify_user_ids.0"),
                        ({"fields": [{"required": True}]}, "fields.0.field"),
                        ({"url": "https://example.org"}, "url"),
                        ({"id": 7}, "id")):
        refused = staff.manager("patch", f"/public-forms/{form['id']}", json=data)
        assert refused.status_code == 422, (data, refused.get_json())
        assert field in refused.get_json()["errors"], (data, refused.get_json())
    assert staff.manager("get", f"/public-forms/{form['id']}").get_json() == form
    assert len(trail(rt, form["id"])) == 1 and len(trail(rt, other["id"])) == 1


def test_forms_need_their_permission(staff, rt):
    form = new_form(staff.manager)
    submit(rt, form["id"], {"first_name": "Anna", "last_name": "Nowak",
                            "email": "anna@example.org", "consent": "1"})
    for method, path, body in (
            ("get", "/public-forms/", None),
            ("post", "/public-forms/", {"key": "mine", "title": "Mine",
                                        "consent_text": "I agree."}),
            ("get", "/public-forms/fields", None),
            ("get", f"/public-forms/{form['id']}", None),
            ("patch", f"/public-forms/{form['id']}", {"title": "Mine"}),
            ("get", f"/public-forms/{form['id']}/submissions", None)):
        response = staff.clerk(method, path, json=body)
        assert response.status_code == 403, (method, path)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == "You may not manage public forms."
    assert count(rt) == 1 and count(rt, FormSubmission) == 1
    assert len(trail(rt, form["id"])) == 1
    assert staff.manager("get", f"/public-forms/{form['id']}").get_json() == form


def test_an_unknown_form_is_not_found(staff, rt):
    for method, path, body in (("get", "/public-forms/999", None),
                               ("patch", "/public-forms/999", {"title": "X"}),
                               ("get", "/public-forms/999/submissions", None)):
        response = staff.manager(method, path, json=body)
        assert response.status_code == 404, (method, path)
        assert response.mimetype == "application/problem+json"
    assert count(rt) == 0


# ------------------------------------------------------------------ the document


def test_the_openapi_document_describes_the_forms(staff):
    spec = staff.manager("get", "/openapi.json").get_json()
    for path, methods in (("/api/v1/public-forms/", {"get", "post"}),
                          ("/api/v1/public-forms/fields", {"get"}),
                          ("/api/v1/public-forms/{form_id}", {"get", "patch"}),
                          ("/api/v1/public-forms/{form_id}/submissions", {"get"})):
        assert methods <= set(spec["paths"][path]), path
        for method in methods:
            assert "403" in spec["paths"][path][method]["responses"], (path, method)
    post = spec["paths"]["/api/v1/public-forms/"]["post"]["responses"]
    assert {"201", "422"} <= set(post)
    form = spec["components"]["schemas"]["PublicForm"]
    assert set(form["required"]) == {"key", "title", "consent_text"}
    assert "/forms/<key>" in form["properties"]["key"]["description"]
    assert form["properties"]["url"]["readOnly"] is True
    assert form["properties"]["fields"]["items"] == {
        "$ref": "#/components/schemas/PublicFormField"}
    assert "required" not in spec["components"]["schemas"]["PublicFormPatch"]
    field = spec["components"]["schemas"]["PublicFormField"]["properties"]
    assert "/public-forms/fields" in field["field"]["description"]
    submission = spec["components"]["schemas"]["FormSubmission"]["properties"]
    assert submission["outcome"]["enum"] == ["created", "matched", "spam"]
    assert {t["name"] for t in spec["tags"]} >= {"public-forms"}

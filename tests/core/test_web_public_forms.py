"""The pages of public forms: an administrator builds one (fields, consent, purpose,
tags, whom to tell) with errors by field; anyone fills it in without an account, sees
their mistakes next to what they typed, and is thanked; bots and floods are held off;
the submissions are listed for the staff."""

import re

import pytest
from sqlalchemy import select

from billing_helpers import PASSWORD, login
from core import consents, public_forms, roles, users
from core.models import FormSubmission, OutboxMessage, Person, PublicForm
from page_helpers import count, error_under, show, text, value_of, visible


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en")


@pytest.fixture
def world(app, rt):
    with app.test_request_context(), rt.session() as s, s.begin():
        forms_role = roles.create(s, "web_team", "Web team")
        roles.set_permissions(s, forms_role, [public_forms.MANAGE])
        admin = users.create_user(s, "admin@example.com", PASSWORD, "Admin", is_admin=True)
        users.create_user(s, "web@example.com", PASSWORD, "Wera Web",
                          roles=["staff", "web_team"])
        users.create_user(s, "rep@example.com", PASSWORD, "Rep", roles=["staff"])
        purpose = consents.create_purpose(s, {"key": "newsletter", "name": "Newsletter",
                                              "legal_basis": "consent"}, admin)
        return {"admin": admin.id, "purpose": purpose.id}


def settings(world, **changes) -> dict:
    return {"title": "Zostań darczyńcą", "key": "darczyncy", "intro": "Join us.",
            "field": ["email", "phone", "city"], "required": ["email"],
            "consent_text": "I agree to receive the newsletter.",
            "purpose_id": str(world["purpose"]), "tags": "darczyńca, 2027",
            "thank_you": "Thank you for joining!",
            "notify_user_ids": [str(world["admin"])], "active": "1", **changes}


def build(app, world, **changes) -> int:
    response = login(app, "web@example.com").post("/admin/forms/new",
                                                   data=settings(world, **changes))
    assert response.status_code == 302, text(response)
    return int(re.search(r"/admin/forms/(\d+)$", response.headers["Location"]).group(1))


def answers(**changes) -> dict:
    return {"first_name": "Anna", "last_name": "Nowak", "email": "anna@example.com",
            "phone": "601 234 567", "city": "Poznań", "consent": "1", public_forms.HONEYPOT: "",
            **changes}


def test_an_administrator_builds_a_form_and_finds_it_listed_with_its_address(app, world, rt):
    form_id = build(app, world)
    with rt.session() as s:
        form = s.get(PublicForm, form_id)
        assert [(f["field"], f["required"]) for f in form.fields] == [
            ("first_name", True), ("last_name", True), ("email", True), ("phone", False),
            ("city", False)]
        assert form.tags == ["darczyńca", "2027"] and form.purpose_id == world["purpose"]
    page = show(login(app, "web@example.com"), "/admin/forms/")
    assert "Zostań darczyńcą" in page and "/forms/darczyncy" in page


def test_a_form_with_mistakes_is_not_saved_and_keeps_what_was_typed(app, world):
    web = login(app, "web@example.com")
    response = web.post("/admin/forms/new", data=settings(
        world, key="Darczyńcy!", title="Zostań darczyńcą", consent_text=" "))
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "key") == (
        "Use 2 to 64 small letters, digits and hyphens, such as darczyncy-2027.")
    assert error_under(page, "consent_text") == "Enter the consent text the sender agrees to."
    assert value_of(page, "title") == "Zostań darczyńcą"
    assert count(app, PublicForm) == 0


def test_only_those_who_manage_forms_see_their_pages(app, world):
    rep = login(app, "rep@example.com")
    assert rep.get("/admin/forms/").status_code == 403
    assert rep.post("/admin/forms/new", data=settings(world)).status_code == 403
    assert count(app, PublicForm) == 0
    assert "Public forms" not in visible(show(rep, "/"))
    assert "Public forms" in visible(show(login(app, "web@example.com"), "/"))


def test_anyone_fills_in_the_form_and_is_thanked_and_the_staff_see_it(app, world, rt):
    form_id = build(app, world)
    visitor = app.test_client()
    page = show(visitor, "/forms/darczyncy")
    assert "I agree to receive the newsletter." in page and "Join us." in page
    assert page.index('name="email"') < page.index('name="phone"') < page.index('name="city"')
    assert 'class="hp" aria-hidden="true"' in page
    response = visitor.post("/forms/darczyncy", data=answers())
    assert response.status_code == 302
    assert "Thank you for joining!" in show(visitor, response.headers["Location"])
    with rt.session() as s:
        person = s.scalars(select(Person)).one()
        assert (person.full_name, person.contact_values("email")) == (
            "Anna Nowak", ["anna@example.com"])
        assert consents.has_consent(s, person.id, "newsletter")
        assert s.scalars(select(OutboxMessage.to_address)).all() == ["admin@example.com"]
    listed = show(login(app, "web@example.com"), f"/admin/forms/{form_id}/submissions")
    assert "Anna Nowak" in listed and "Poznań" in listed


def test_mistakes_are_shown_next_to_what_the_visitor_typed_and_nothing_is_kept(
        app, world, rt):
    build(app, world)
    response = app.test_client().post("/forms/darczyncy", data=answers(
        email="anna@", consent="", last_name=""))
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "email")
    assert error_under(page, "last_name") == "Fill in this field."
    assert error_under(page, "consent") == (
        "Tick the box to agree; without it we cannot take the form.")
    assert value_of(page, "email") == "anna@" and value_of(page, "first_name") == "Anna"
    assert count(app, Person) == 0 and count(app, FormSubmission) == 0


def test_a_bot_filling_the_hidden_field_is_thanked_and_forgotten(app, world):
    build(app, world)
    response = app.test_client().post("/forms/darczyncy",
                                      data=answers(**{public_forms.HONEYPOT: "http://spam.example"}))
    assert response.status_code == 302
    assert count(app, Person) == 0
    assert count(app, FormSubmission, FormSubmission.outcome == "spam") == 1


def test_too_many_submissions_from_one_address_are_refused_for_an_hour(app, world):
    build(app, world)
    visitor = app.test_client()
    for n in range(public_forms.PER_HOUR):
        assert visitor.post("/forms/darczyncy", data=answers(
            email=f"anna{n}@example.com")).status_code == 302
    response = visitor.post("/forms/darczyncy", data=answers(email="late@example.com"))
    assert response.status_code == 429
    assert "Too many forms were sent from your address" in text(response)
    assert count(app, Person) == public_forms.PER_HOUR


def test_a_closed_or_unknown_form_is_not_there(app, world):
    build(app, world, active="")
    visitor = app.test_client()
    assert visitor.get("/forms/darczyncy").status_code == 404
    assert visitor.post("/forms/darczyncy", data=answers()).status_code == 404
    assert visitor.get("/forms/none-such").status_code == 404
    assert count(app, Person) == 0

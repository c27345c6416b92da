"""Public forms that open a case (core.public_forms): an installer's "ask for an offer"
form opens a lead about the sender with the answers to the case's own fields; the case's
fields are checked with the person's, nothing is written when one is wrong; a form's
process and its case fields are checked when the form is built; the page, the staff's
notice and the API know the case. Runs on SQLite and PostgreSQL."""

import re

import pytest
from sqlalchemy import func, select

from core import public_forms, users
from core.errors import ValidationError
from core.models import Case, FormSubmission, OutboxMessage, Person, User

PROCESS = "photovoltaics.installation"
KEY = "fotowoltaika"
PASSWORD = "correct horse battery"
JAN = {"first_name": "Jan", "last_name": "Kowalski", "email": "jan@example.com",
       "city": "Kórnik", "case.photovoltaics_consumption_kwh": "6500",
       "case.photovoltaics_roof_type": "metal_tile", "consent": "on"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["photovoltaics"], default_locale="en")


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def ids(rt):
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, "Admin", is_admin=True)
        sales = users.create_user(s, "sales@example.com", PASSWORD, "Sylwia Sprzedaż")
        return {"admin": admin.id, "sales": sales.id}


def settings(ids, **extra) -> dict:
    return {"key": KEY, "title": "Ask for an offer", "process_key": PROCESS,
            "fields": [{"field": "email", "required": True}, {"field": "city"},
                       {"field": "case.photovoltaics_consumption_kwh", "required": True},
                       {"field": "case.photovoltaics_roof_type"}],
            "consent_text": "I agree to be contacted about my offer.",
            "notify_user_ids": [ids["sales"]], **extra}


def new_form(rt, ids, **extra) -> int:
    with rt.session() as s, s.begin():
        return public_forms.create(s, settings(ids, **extra), s.get(User, ids["admin"])).id


def counts(rt) -> tuple[int, int, int]:
    with rt.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Person, Case, FormSubmission))


def test_a_form_with_a_process_opens_a_case_about_the_sender(rt, ids):
    new_form(rt, ids)
    with rt.session() as s, s.begin():
        submission = public_forms.submit(s, public_forms.by_key(s, KEY), JAN, "203.0.113.5")
        case = s.get(Case, submission.case_id)
        assert (case.title, case.process_key, case.phase_key, case.owner_id) == (
            "Ask for an offer: Jan Kowalski", PROCESS, "lead", None)
        assert case.custom["photovoltaics_consumption_kwh"] == 6500
        assert case.custom["photovoltaics_roof_type"] == "metal_tile"
        assert [p.person_id for p in case.people] == [submission.person_id]
        notice = s.scalars(select(OutboxMessage)).one()
        assert notice.to_address == "sales@example.com"
        assert "Opened: Ask for an offer: Jan Kowalski" in notice.text_body
        assert "(kWh): 6500" in notice.text_body


def test_a_wrong_answer_to_a_case_field_is_refused_with_the_persons_and_nothing_is_kept(
        rt, ids):
    new_form(rt, ids)
    before = counts(rt)
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            public_forms.submit(s, public_forms.by_key(s, KEY), {
                **JAN, "email": "not an address", "case.photovoltaics_consumption_kwh": "-5",
                "case.photovoltaics_roof_type": "straw"}, "203.0.113.5")
        # Nothing was even written in the transaction the caller would commit.
        assert tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Person, Case, FormSubmission)) == before
    assert set(refused.value.errors) == {"email", "case.photovoltaics_consumption_kwh",
                                         "case.photovoltaics_roof_type"}


def test_a_form_whose_process_is_gone_is_closed_and_parts_are_not_offered(
        app, rt, ids, kartoteka_login):
    new_form(rt, ids)
    client = kartoteka_login(app.test_client(), "admin@example.com", PASSWORD)
    page = client.get("/admin/forms/new").text
    assert 'value="photovoltaics.installation"' in page
    assert 'value="photovoltaics.roof"' not in page  # a part is opened by its installation
    rt.host.processes.pop(PROCESS)  # as when its plugin is disabled
    with rt.session() as s:
        assert public_forms.by_key(s, KEY) is None
    assert app.test_client().get(f"/forms/{KEY}").status_code == 404


def test_a_forms_process_and_its_case_fields_are_checked(rt, ids):
    with rt.session() as s, s.begin():
        admin = s.get(User, ids["admin"])
        with pytest.raises(ValidationError) as refused:
            public_forms.create(s, settings(ids, process_key="nope.nothing"), admin)
        assert refused.value.errors["process_key"] == "Choose a process from the list."
        assert refused.value.errors["fields.2.field"] == (
            "There is no field “case.photovoltaics_consumption_kwh”.")
        with pytest.raises(ValidationError) as refused:  # a case field of no process
            public_forms.create(s, settings(ids, process_key=None), admin)
        assert "fields.2.field" in refused.value.errors
    assert "case.photovoltaics_roof_type" in public_forms.available_fields(
        rt.session(), PROCESS)
    assert "case.photovoltaics_roof_type" not in public_forms.available_fields(rt.session())


def test_the_page_asks_for_the_case_fields_and_opens_the_case(app, rt, ids):
    new_form(rt, ids)
    client = app.test_client()
    page = client.get(f"/forms/{KEY}").text
    assert 'name="case.photovoltaics_consumption_kwh"' in page
    assert re.search(r'<select[^>]*name="case.photovoltaics_roof_type"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/forms/{KEY}", data={**JAN, "csrf_token": token})
    assert response.status_code == 302
    with rt.session() as s:
        assert s.scalars(select(Case.title)).all() == ["Ask for an offer: Jan Kowalski"]


def test_the_api_builds_a_form_with_a_process_and_lists_its_fields(app, rt, ids,
                                                                    kartoteka_login):
    client = kartoteka_login(app.test_client(), "admin@example.com", PASSWORD)
    headers = {"X-CSRFToken": _csrf(client), "Accept-Language": "en"}
    fields = client.get(f"/api/v1/public-forms/fields?process_key={PROCESS}").get_json()
    assert {"name": "case.photovoltaics_roof_type", "label": "Roof type"} in fields
    made = client.post("/api/v1/public-forms/", json=settings(ids), headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["process_key"] == PROCESS
    with rt.session() as s, s.begin():
        public_forms.submit(s, public_forms.by_key(s, KEY), JAN, "203.0.113.5")
    sent = client.get(f"/api/v1/public-forms/{made.get_json()['id']}/submissions").get_json()
    assert sent[0]["case_id"] is not None


def _csrf(client) -> str:
    page = client.get("/admin/forms/new").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

"""An inquiry in the REST API (EX-2, EX-3, EX-4): its details with the parties,
department, experts of the estimate, cost, price, margin and the approvals its offer
needs; the details changed, routing by the secretariat alone, the experts able and
excluded, and the estimate, each refused with a message per field; 404 for a case of
another process. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory``
depends on ``kartoteka_database_url``)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from core import tokens, users
from core.filters import today
from tests.core.api_helpers import caller
from tests.plugins.expertise.conftest import SELLER
from tests.plugins.expertise.pages import PROBLEM, refused
from tests.plugins.expertise.test_inquiry_views import CONFLICT, build, estimated, prepared


@pytest.fixture
def app_config():
    return {"company_name": SELLER}


@pytest.fixture
def api(app):
    """The inquiry views' firm (``build``), and its owner, secretary and manager calling
    with tokens."""
    ids = build(app)
    client = app.test_client()
    made = SimpleNamespace(ids=ids, app=app)
    with app.extensions["kartoteka"].session() as session, session.begin():
        for name in ("owner", "secretary", "manager"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def path(api, action="", case="case") -> str:
    return f"/expertise/inquiries/{api.ids[case]}" + (f"/{action}" if action else "")


def test_the_details_are_read_and_changed(api):
    ids = api.ids
    empty = api.manager("get", path(api))
    assert empty.status_code == 200
    assert empty.headers["ETag"] == f'"{empty.get_json()["version"]}"'
    body = empty.get_json()
    assert (body["phase"], body["specialisation"], body["department"], body["parties"],
            body["assignments"], body["cost"], body["amount"], body["margin"],
            body["approval_levels"], body["board_approval"]) == (
        "inquiry", None, None, [], [], None, None, None, [], False)

    due = (today() + timedelta(days=60)).isoformat()
    changed = api.owner("patch", path(api), json={
        "specialisation_id": ids["construction"], "court_id": ids["court"],
        "court_reference": "I C 123/26", "due_on": due,
        "parties": [{"person_id": ids["defendant"], "role": "defendant"},
                    {"organisation_id": ids["insurer"]}]})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["specialisation"] == {"id": ids["construction"], "name": "Construction"}
    assert body["court"] == {"id": ids["court"], "name": "Sąd Okręgowy w Poznaniu"}
    assert (body["court_reference"], body["due_on"]) == ("I C 123/26", due)
    assert body["parties"] == [
        {"organisation_id": None, "person_id": ids["defendant"], "name": "Adam Pozwany",
         "role": "defendant"},
        {"organisation_id": ids["insurer"], "person_id": None, "name": "PZU SA", "role": ""}]
    # A change of one detail keeps the others.
    again = api.owner("patch", path(api), json={"court_reference": "II C 9/26"}).get_json()
    assert (again["court_reference"], again["due_on"], len(again["parties"])) == (
        "II C 9/26", due, 2)


def test_refused_details_answer_field_errors(api):
    errors = refused(api.owner("patch", path(api), json={
        "specialisation_id": 999999, "due_on": "31.02.2027",
        "parties": [{"role": "insurer"}, {"organisation_id": 999999}]}))
    assert errors == {"due_on": "Enter a date, such as 2026-03-31."}  # the schema first
    errors = refused(api.owner("patch", path(api), json={
        "specialisation_id": 999999, "parties": [{"role": "insurer"},
                                                 {"organisation_id": 999999}]}))
    assert errors == {"specialisation_id": "There is no such specialisation.",
                      "parties.0": "Choose an organisation or a person.",
                      "parties.1.organisation_id": "There is no such organisation."}
    assert "colour" in refused(api.owner("patch", path(api), json={"colour": "red"}))
    assert api.owner("get", path(api)).get_json()["specialisation"] is None


def test_the_secretariat_routes_and_others_may_not(api):
    ids = api.ids
    api.owner("patch", path(api), json={"specialisation_id": ids["construction"]})
    assert refused(api.owner("post", path(api, "route"), json={
        "department_id": ids["building"]}), 403) == {}
    errors = refused(api.secretary("post", path(api, "route"), json={
        "department_id": ids["cars"]}))
    assert errors == {"department_id":
                      "The department does not cover the inquiry's specialisation."}
    assert refused(api.secretary("post", path(api, "route"), json={})) == {
        "department_id": "Missing data for required field."}

    routed = api.secretary("post", path(api, "route"), json={"department_id": ids["building"]})
    assert routed.status_code == 200, routed.get_json()
    body = routed.get_json()
    assert (body["phase"], body["department"]) == (
        "routed", {"id": ids["building"], "name": "Construction department"})


def test_the_candidates_are_the_able_then_the_excluded_with_why(api):
    ids = api.ids
    assert api.owner("get", path(api, "candidates")).get_json() == []  # no specialisation
    prepared(api.app, ids)
    found = api.manager("get", path(api, "candidates")).get_json()
    assert found[0] == {"expert_id": ids["able"], "name": "Jan Biegły",
                        "department": "Construction department", "rate": "200.00",
                        "open_inquiries": 0, "able": True, "reasons": []}
    assert [(c["name"], c["able"], c["reasons"]) for c in found[1:2]] == [
        ("Anna Nowak", False, ["conflict of interest with Budimex Sp. z o.o."])]
    assert found[2]["name"] == "Piotr Zając" and found[2]["reasons"][0].startswith("absent")
    assert len(found) == 3  # the vehicles expert is of another specialisation


def test_the_estimate_gives_cost_price_margin_and_the_approvals(api):
    ids = api.ids
    prepared(api.app, ids)
    put = api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": "12.5"}],
        "travel_cost": "300", "materials_cost": 200, "margin": "30"})
    assert put.status_code == 200, put.get_json()
    body = put.get_json()
    assert body["assignments"] == [{"expert_id": ids["able"], "name": "Jan Biegły",
                                    "hours": "12.50", "rate": "200.00", "cost": "2500.00"}]
    assert (body["travel_cost"], body["materials_cost"], body["cost"], body["amount"],
            body["margin"], body["markup"]) == (
        "300.00", "200.00", "3000.00", "4285.80", "30.00", "42.86")
    assert [(a["step"], a["reason"], [u["name"] for u in a["users"]])
            for a in body["approval_levels"]] == [
        ("manager", "always required", ["Marek Kierownik"])]
    assert body["board_approval"] is False

    low = api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": 10}], "markup": "25"}).get_json()
    assert (low["cost"], low["amount"], low["margin"], low["board_approval"]) == (
        "2000.00", "2500.00", "20.00", True)
    assert [a["step"] for a in low["approval_levels"]] == ["manager", "board"]
    assert api.manager("get", path(api)).get_json()["board_approval"] is True


def test_a_refused_estimate_answers_field_errors(api):
    ids = api.ids
    prepared(api.app, ids)
    errors = refused(api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["conflicted"], "hours": "5"}], "margin": "30"}))
    assert errors == {"experts.0.expert_id": CONFLICT}
    errors = refused(api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": "0"}]}))
    assert errors == {"experts.0.hours": "Enter the hours: above 0 and below 10 000."}
    errors = refused(api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": "5"}]}))
    assert errors == {"margin": "Give the margin or the mark-up."}
    errors = refused(api.owner("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": "5"}], "margin": "95"}))
    assert errors == {"margin": "Enter a margin from 0 to 90.90%."}
    assert refused(api.manager("put", path(api, "estimate"), json={
        "experts": [{"expert_id": ids["able"], "hours": "5"}], "margin": "30"}), 403) == {}
    assert api.owner("get", path(api)).get_json()["cost"] is None


def test_a_stale_version_is_refused(api):
    ids = api.ids
    prepared(api.app, ids)
    estimated(api.app, ids)
    read = api.owner("get", path(api))
    etag = read.headers["ETag"]
    ok = api.owner("patch", path(api), json={"court_reference": "I C 1/26"},
                   headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = api.owner("put", path(api, "estimate"), headers={"If-Match": etag}, json={
        "experts": [{"expert_id": ids["able"], "hours": "1"}], "margin": "30"})
    assert stale.status_code == 412
    assert api.owner("get", path(api)).get_json()["assignments"][0]["hours"] == "10.00"


def test_other_cases_and_unknown_ids_are_not_found(api):
    estimate = {"experts": [{"expert_id": api.ids["able"], "hours": "5"}], "margin": "30"}
    for action, method, body in (
            ("", "get", None), ("", "patch", {"court_reference": "I C 1/26"}),
            ("route", "post", {"department_id": api.ids["building"]}),
            ("candidates", "get", None), ("estimate", "put", estimate)):
        response = api.owner(method, path(api, action, "elsewhere"), json=body)
        assert response.status_code == 404, (action, method)
        assert response.mimetype == PROBLEM
    assert api.owner("get", "/expertise/inquiries/999999").status_code == 404

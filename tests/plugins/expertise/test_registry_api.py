"""The expertise registry in the REST API (EX-2, EX-3): specialisations, departments
(replaced with If-Match, deleted to the bin unless they have open inquiries) and experts
with absences and conflicts of interest, listed by specialisation and activity. Staff
read; ``expertise.manage`` writes (403 otherwise); refusals are problem+json with a
message per field. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory``
depends on ``kartoteka_database_url``)."""

from decimal import Decimal

import pytest

from core import cases
from core.models import Case
from plugins.expertise import inquiries
from plugins.expertise.models import Assignment
from tests.core.api_helpers import callers, created
from tests.plugins.expertise.conftest import opened
from tests.plugins.expertise.pages import refused


@pytest.fixture
def api(app):
    """A registry manager and a staff member calling with tokens; a client firm and two
    people of the card index."""
    rt = app.extensions["kartoteka"]
    made = callers(app, rt, manager={"permissions": ["expertise.manage"]}, staff={})
    with opened(app, commit=True) as firm:
        made.client = firm.organisation("Budimex Sp. z o.o.").id
        made.jan, made.ewa = (firm.person(first, last).id
                              for first, last in (("Jan", "Biegły"), ("Ewa", "Nowak")))
    made.app = app
    return made


def test_specialisations_are_added_renamed_and_archived(api):
    made = created(api.manager("post", "/expertise/specialisations/",
                               json={"name": "  Construction "}))
    assert made == {"id": made["id"], "name": "Construction", "archived": False}
    other = created(api.manager("post", "/expertise/specialisations/",
                                json={"name": "Vehicles"}))
    assert refused(api.manager("post", "/expertise/specialisations/",
                               json={"name": "CONSTRUCTION"})) == {
        "name": "This specialisation already exists."}
    assert refused(api.manager("post", "/expertise/specialisations/", json={})) == {
        "name": "Enter the name of the specialisation."}
    assert refused(api.manager("post", "/expertise/specialisations/",
                               json={"name": "X", "id": 5})) == {"id": "Unknown field."}
    refused(api.staff("post", "/expertise/specialisations/", json={"name": "Fire"}), 403)
    refused(api.staff("patch", f"/expertise/specialisations/{made['id']}",
                      json={"archived": True}), 403)

    archived = api.manager("patch", f"/expertise/specialisations/{made['id']}",
                           json={"archived": True})
    assert archived.get_json() == {**made, "archived": True}
    renamed = api.manager("patch", f"/expertise/specialisations/{made['id']}",
                          json={"name": "Buildings"})
    assert renamed.get_json() == {"id": made["id"], "name": "Buildings", "archived": True}
    assert refused(api.manager("put", f"/expertise/specialisations/{made['id']}",
                               json={"name": "vehicles"})) == {
        "name": "This specialisation already exists."}
    listed = api.staff("get", "/expertise/specialisations/").get_json()
    assert [s["name"] for s in listed] == ["Vehicles"]
    listed = api.staff("get", "/expertise/specialisations/?include_archived=true").get_json()
    assert [s["name"] for s in listed] == ["Buildings", "Vehicles"]
    put = api.manager("put", f"/expertise/specialisations/{made['id']}",
                      json={"name": "Construction"})
    assert put.get_json() == made  # archived left out of a PUT: offered again
    assert api.staff("get", f"/expertise/specialisations/{other['id']}").get_json() == other
    assert api.staff("get", "/expertise/specialisations/999999").status_code == 404


def test_departments_are_replaced_with_if_match_and_kept_while_busy(api):
    construction = created(api.manager("post", "/expertise/specialisations/",
                                       json={"name": "Construction"}))["id"]
    old = created(api.manager("post", "/expertise/specialisations/",
                              json={"name": "Telegraphy"}))["id"]
    api.manager("patch", f"/expertise/specialisations/{old}", json={"archived": True})
    manager = api.ids["manager"]
    response = api.manager("post", "/expertise/departments/", json={
        "name": "Construction department", "manager_id": manager,
        "specialisation_ids": [construction]})
    department = created(response)
    assert response.headers["ETag"] == f'"{department["version"]}"'
    assert {k: department[k] for k in ("name", "manager_id", "specialisation_ids",
                                       "open_inquiries", "description")} == {
        "name": "Construction department", "manager_id": manager,
        "specialisation_ids": [construction], "open_inquiries": 0, "description": ""}
    assert refused(api.manager("post", "/expertise/departments/", json={
        "name": " construction DEPARTMENT", "manager_id": 999999,
        "specialisation_ids": [construction, 999999, old]})) == {
        "name": "A department of this name already exists.",
        "manager_id": "Choose an active staff member.",
        "specialisation_ids.1": "There is no such specialisation.",
        "specialisation_ids.2": "There is no such specialisation."}
    assert refused(api.manager("post", "/expertise/departments/", json={
        "name": "", "specialisation_ids": ["a"]})) == {
        "name": "Enter the name of the department.",
        "specialisation_ids.0": "Not a valid integer."}
    refused(api.staff("post", "/expertise/departments/", json={"name": "Vehicles"}), 403)

    path = f"/expertise/departments/{department['id']}"
    read = api.staff("get", path)
    assert read.get_json() == department and read.headers["ETag"] == response.headers["ETag"]
    assert [d["id"] for d in api.staff("get", "/expertise/departments/").get_json()] == [
        department["id"]]
    data = {"name": "Building department", "specialisation_ids": [construction]}
    refused(api.manager("put", path, json=data), 428)
    refused(api.staff("put", path, json=data, headers={"If-Match": read.headers["ETag"]}),
            403)
    put = api.manager("put", path, json=data, headers={"If-Match": read.headers["ETag"]})
    assert put.status_code == 200, put.get_json()
    assert (put.get_json()["name"], put.get_json()["manager_id"]) == (
        "Building department", None)  # left out of a PUT: emptied
    refused(api.manager("put", path, json=data, headers={"If-Match": read.headers["ETag"]}),
            412)

    # An open inquiry routed to it keeps it out of the bin.
    rt = api.app.extensions["kartoteka"]
    with api.app.test_request_context(), rt.session() as session, session.begin():
        case = cases.create(session, rt.host, {"title": "Opinia", "process_key":
                                               "expertise.inquiry"})
        inquiries.of_case(session, case).department_id = department["id"]
        case_id = case.id
    assert api.staff("get", path).get_json()["open_inquiries"] == 1
    refused(api.staff("delete", path), 403)
    assert refused(api.manager("delete", path)) == {
        "_": "The department has open inquiries: route them to another one first."}
    with rt.session() as session, session.begin():
        inquiries.of_case(session, session.get(Case, case_id)).department_id = None
    assert api.manager("delete", path).status_code == 204
    assert api.staff("get", path).status_code == 404
    assert api.staff("get", "/expertise/departments/").get_json() == []


def test_experts_are_added_with_absences_and_conflicts_and_bad_input_refused(api):
    construction = created(api.manager("post", "/expertise/specialisations/",
                                       json={"name": "Construction"}))["id"]
    assert refused(api.manager("post", "/expertise/experts/", json={
        "person_id": api.jan, "hourly_rate": "180", "specialisation_ids": [999999],
        "absences": [{"starts_on": "2026-05-10", "ends_on": "2026-05-01"}],
        "conflicts": [{"organisation_id": api.client, "person_id": api.ewa}, {},
                      {"organisation_id": 999999}]})) == {
        "specialisation_ids.0": "There is no such specialisation.",
        "absences.0.ends_on": "The last day cannot be before the first.",
        "conflicts.0": "Choose an organisation or a person.",
        "conflicts.1": "Choose an organisation or a person.",
        "conflicts.2.organisation_id": "There is no such organisation."}
    assert refused(api.manager("post", "/expertise/experts/", json={
        "person_id": 999999, "hourly_rate": "180"})) == {"person_id": "Choose the person."}
    assert refused(api.manager("post", "/expertise/experts/", json={
        "person_id": api.jan, "hourly_rate": "0", "absences": [{"starts_on": "10.05.2026"}],
        "conflicts": [{"organisation_id": "Budimex"}], "rate": 5})) == {
        "hourly_rate": "Enter a rate above 0 and below 100 000.",
        "absences.0.starts_on": "Enter a date, such as 2026-03-01.",
        "absences.0.ends_on": "Enter the last day.",
        "conflicts.0.organisation_id": "Not a valid integer.", "rate": "Unknown field."}
    assert refused(api.manager("post", "/expertise/experts/", json={
        "person_id": api.jan, "hourly_rate": "dużo"})) == {
        "hourly_rate": "Enter an amount, such as 180,00."}
    data = {"person_id": api.jan, "hourly_rate": "180.50", "internal": False,
            "specialisation_ids": [construction],
            "absences": [{"starts_on": "2026-07-01", "ends_on": "2026-07-14",
                          "reason": "urlop"}],
            "conflicts": [{"organisation_id": api.client, "reason": "były pracodawca"},
                          {"person_id": api.ewa}]}
    refused(api.staff("post", "/expertise/experts/", json=data), 403)
    response = api.manager("post", "/expertise/experts/", json=data)
    expert = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/expertise/experts/{expert['id']}")
    assert {k: expert[k] for k in ("name", "hourly_rate", "internal", "active",
                                   "department_id", "specialisation_ids", "absences",
                                   "conflicts", "open_inquiries")} == {
        "name": "Jan Biegły", "hourly_rate": "180.50", "internal": False, "active": True,
        "department_id": None, "specialisation_ids": [construction],
        "absences": [{"starts_on": "2026-07-01", "ends_on": "2026-07-14", "reason": "urlop"}],
        "conflicts": [
            {"organisation_id": api.client, "person_id": None,
             "name": "Budimex Sp. z o.o.", "reason": "były pracodawca"},
            {"organisation_id": None, "person_id": api.ewa, "name": "Ewa Nowak",
             "reason": ""}],
        "open_inquiries": 0}
    assert refused(api.manager("post", "/expertise/experts/", json={
        "person_id": api.jan, "hourly_rate": "100"})) == {
        "person_id": "This person is already an expert."}


def test_experts_are_listed_replaced_with_if_match_and_deleted_when_idle(api):
    construction, vehicles = (created(api.manager("post", "/expertise/specialisations/",
                                                  json={"name": name}))["id"]
                              for name in ("Construction", "Vehicles"))
    jan = created(api.manager("post", "/expertise/experts/", json={
        "person_id": api.jan, "hourly_rate": "200", "specialisation_ids": [construction],
        "absences": [{"starts_on": "2026-07-01", "ends_on": "2026-07-14"}]}))
    ewa = created(api.manager("post", "/expertise/experts/", json={
        "person_id": api.ewa, "hourly_rate": "150", "active": False,
        "specialisation_ids": [vehicles, construction]}))

    def listed(query=""):
        response = api.staff("get", f"/expertise/experts/{query}")
        assert response.status_code == 200, response.get_json()
        return [e["id"] for e in response.get_json()["items"]]

    assert listed() == [jan["id"], ewa["id"]]
    assert listed(f"?specialisation_id={vehicles}") == [ewa["id"]]
    assert listed(f"?specialisation_id={construction}&active=true") == [jan["id"]]
    assert listed("?active=false") == [ewa["id"]]
    page = api.staff("get", "/expertise/experts/?limit=1").get_json()
    assert [e["id"] for e in page["items"]] == [jan["id"]] and page["next"]
    assert "absences" not in page["items"][0]
    assert refused(api.staff("get", "/expertise/experts/?specialisation_id=999999")) == {
        "specialisation_id": "There is no such specialisation."}
    assert refused(api.staff("get", "/expertise/experts/?active=maybe")) == {
        "active": "Not a valid boolean."}

    path = f"/expertise/experts/{jan['id']}"
    read = api.staff("get", path)
    etag = read.headers["ETag"]
    data = {"person_id": api.jan, "hourly_rate": "220", "specialisation_ids": [construction]}
    refused(api.manager("put", path, json=data), 428)
    put = api.manager("put", path, json=data, headers={"If-Match": etag})
    assert put.status_code == 200, put.get_json()
    assert (put.get_json()["hourly_rate"], len(put.get_json()["absences"])) == ("220.00", 1)
    put = api.manager("put", path, json={**data, "absences": []},
                      headers={"If-Match": put.headers["ETag"]})
    assert put.get_json()["absences"] == []  # an empty list removes them
    refused(api.manager("put", path, json=data, headers={"If-Match": etag}), 412)

    rt = api.app.extensions["kartoteka"]
    with api.app.test_request_context(), rt.session() as session, session.begin():
        case = cases.create(session, rt.host, {"title": "Opinia", "process_key":
                                               "expertise.inquiry"})
        session.add(Assignment(case_id=case.id, expert_id=jan["id"], hours=Decimal(5),
                               rate=Decimal(220)))
    assert api.staff("get", path).get_json()["open_inquiries"] == 1
    refused(api.staff("delete", path), 403)
    assert refused(api.manager("delete", path)) == {
        "_": "The expert is in the estimate of an open inquiry: mark them inactive instead."}
    assert api.manager("delete", f"/expertise/experts/{ewa['id']}").status_code == 204
    assert api.staff("get", f"/expertise/experts/{ewa['id']}").status_code == 404
    assert listed() == [jan["id"]]


def test_the_openapi_document_describes_the_registry(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= paths["/api/v1/expertise/specialisations/"].keys()
    assert {"get", "patch", "put"} <= paths[
        "/api/v1/expertise/specialisations/{specialisation_id}"].keys()
    assert {"get", "put", "delete"} <= paths[
        "/api/v1/expertise/departments/{department_id}"].keys()
    assert {"get", "put", "delete"} <= paths["/api/v1/expertise/experts/{expert_id}"].keys()
    parameters = {p["name"] for p in paths["/api/v1/expertise/experts/"]["get"]["parameters"]}
    assert {"specialisation_id", "active", "limit", "after"} <= parameters

"""The crews and their jobs in the REST API (PV-4, PV-5): crews through core.api.crud
with their installers and calendar address, a part given to a crew with PUT and taken
off with DELETE, the jobs listed by crew and days, a job reported done with photos as a
multipart form; refusals as problem+json. Runs on SQLite and PostgreSQL."""

import io

import pytest
from PIL import Image

from core import cases, organisations, users
from core.filters import today
from plugins.photovoltaics import crews
from plugins.photovoltaics.process import ELECTRICAL, ROOF
from tests.core.api_helpers import callers, created

PROBLEM = "application/problem+json"


@pytest.fixture
def api(app):
    rt = app.extensions["kartoteka"]
    made = callers(app, rt, planner={"permissions": [crews.PLAN]}, clerk={},
                   fitter={})
    with app.test_request_context(), rt.session() as session, session.begin():
        parent = cases.create(session, rt.host, {
            "title": "Dom Kowalskich", "process_key": "photovoltaics.installation"})
        made.parts = {key: cases.create(session, rt.host, {
            "title": f"Dom Kowalskich: {key}", "process_key": key,
            "parent_id": parent.id}).id for key in (ROOF, ELECTRICAL)}
        made.parent = parent.id
        unit = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})
        users.create_user(session, "portal@kornik.example.pl", "correct horse battery",
                          portal_of=unit)
    return made


def crew(api, **data):
    return created(api.planner("post", "/photovoltaics/crews/", json={
        "name": "Ekipa Kórnik", "members": [
            {"user_id": api.ids["fitter"], "skills": ["roof", "electrical"], "leader": True},
            {"name": "Marek Dach", "phone": "601 234 567", "skills": ["roof"]}], **data}))


def test_a_planner_keeps_crews_and_reads_their_calendar_address(api):
    made = crew(api)
    assert [m["name"] for m in made["members"]] == ["Fitter", "Marek Dach"]
    assert made["members"][1]["phone"] == "+48601234567"
    assert made["calendar_url"].startswith("http://localhost/photovoltaics/crew/")
    assert made["calendar_url"].endswith(".ics")
    response = api.planner("patch", f"/photovoltaics/crews/{made['id']}",
                           json={"members": [{"name": "Ola", "skills": ["roof"]}]},
                           headers={"If-Match": f'"{made["version"]}"'})
    assert response.status_code == 200, response.get_json()
    assert [m["name"] for m in response.get_json()["members"]] == ["Ola"]
    retired = api.planner("delete", f"/photovoltaics/crews/{made['id']}",
                          headers={"If-Match": f'"{response.get_json()["version"]}"'})
    assert retired.status_code in (200, 204)
    assert api.planner("get", f"/photovoltaics/crews/{made['id']}").get_json()["active"] is False


def test_a_crew_is_refused_field_by_field(api):
    response = api.planner("post", "/photovoltaics/crews/", json={
        "name": "", "members": [{"name": "", "skills": ["flying"]}]})
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    errors = response.get_json()["errors"]
    assert errors["name"] == "Enter a name."
    assert errors["members.0.skills.0"] == "Choose skills from the list."


def test_only_a_planner_reaches_the_crews_and_a_portal_account_finds_nothing(api, app):
    assert api.clerk("get", "/photovoltaics/crews/").status_code == 403
    assert api.clerk("get", "/photovoltaics/jobs/").status_code == 403
    portal = app.test_client()
    portal.post("/login", data={"email": "portal@kornik.example.pl",
                                "password": "correct horse battery"})
    assert portal.get("/api/v1/photovoltaics/crews/").status_code == 404


def test_a_part_is_given_to_a_crew_listed_and_taken_off(api):
    made = crew(api)
    roof = api.parts[ROOF]
    refused = api.planner("put", f"/photovoltaics/parts/{roof}/crew", json={
        "crew_id": made["id"], "starts_on": "2030-06-05", "ends_on": "2030-06-03"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "ends_on": "The last day cannot come before the first."}
    given = api.planner("put", f"/photovoltaics/parts/{roof}/crew", json={
        "crew_id": made["id"], "starts_on": "2030-06-03", "ends_on": "2030-06-04"})
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["case_id"] == roof
    listed = api.planner("get", f"/photovoltaics/jobs/?crew_id={made['id']}"
                                "&first=2030-06-04&last=2030-06-10").get_json()["items"]
    assert [j["case_id"] for j in listed] == [roof]
    assert api.planner("get", "/photovoltaics/jobs/?first=2030-06-05").get_json()["items"] == []
    assert api.planner("get", f"/photovoltaics/parts/{api.parent}/crew").status_code == 404
    assert api.planner("delete", f"/photovoltaics/parts/{roof}/crew").status_code == 204
    assert api.planner("get", f"/photovoltaics/parts/{roof}/crew").status_code == 404


def test_a_crew_member_reports_a_job_with_photos(api):
    made = crew(api)
    job = api.planner("put", f"/photovoltaics/parts/{api.parts[ROOF]}/crew", json={
        "crew_id": made["id"], "starts_on": today().isoformat()}).get_json()
    url = f"/photovoltaics/jobs/{job['id']}/report"
    assert api.clerk("post", url, data={}).status_code == 403
    refused = api.fitter("post", url, data={"report": "Gotowe."})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "photos": "Add at least one photo of the finished work."}
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    out.seek(0)
    done = api.fitter("post", url, data={"report": "Gotowe.", "photos": [(out, "dach.png")]},
                      content_type="multipart/form-data")
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["reported_by"], done.get_json()["report"]) == ("Fitter", "Gotowe.")

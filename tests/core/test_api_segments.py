"""The segments API: saved filters, private or shared, changed only by their owner, and
their members read a page at a time through the query the lists use."""

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from core.models import Segment

IN_POZNAN = {"field": "city", "op": "eq", "value": "Poznań"}


@pytest.fixture
def staff(app, rt):
    """An administrator, two colleagues who see everything, and a seller who sees only
    their own records."""
    return callers(app, rt, boss=dict(admin=True), ola=dict(), bartek=dict(),
                   seller=dict(access=dict.fromkeys(("read", "create", "edit", "delete"),
                                                    "own")))


def organisation(api, name, city, owner_id):
    return created(api("post", "/organizations/?allow_duplicates=true", json={
        "name": name, "type_key": "core.company", "city": city, "owner_id": owner_id}))


def save(api, name="In Poznań", record_type="organisation", filter=None, **extra):
    return api("post", "/segments/", json={"name": name, "record_type": record_type,
                                           "filter": filter or IN_POZNAN, **extra})


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Segment))


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [s["name"] for s in response.get_json()]


def test_a_segment_is_saved_listed_read_and_its_members_paged(staff):
    ids = [organisation(staff.ola, f"Firma {i}", "Poznań", staff.ids["ola"])["id"]
           for i in range(5)]
    organisation(staff.ola, "Elsewhere", "Gniezno", staff.ids["ola"])
    response = save(staff.ola, name=" In Poznań ")
    segment = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/segments/{segment['id']}")
    assert (segment["name"], segment["record_type"], segment["filter"], segment["shared"]) \
        == ("In Poznań", "organisation", IN_POZNAN, False)
    assert segment["owner_id"] == staff.ids["ola"]
    assert staff.ola("get", f"/segments/{segment['id']}").get_json() == segment
    assert names(staff.ola("get", "/segments/")) == ["In Poznań"]
    assert names(staff.ola("get", "/segments/?record_type=person")) == []

    seen, after = [], None
    while True:
        page = staff.ola("get", f"/segments/{segment['id']}/members", query_string={
            "limit": 2, **({"after": after} if after else {})}).get_json()
        seen += [o["id"] for o in page["items"]]
        assert all(o["city"] == "Poznań" and o["type_key"] == "core.company"
                   for o in page["items"])
        after = page["next"]
        if after is None:
            break
        # A record added meanwhile joins the members without repeating any.
        organisation(staff.ola, "Added meanwhile", "Poznań", staff.ids["ola"])
    assert seen[:5] == ids and len(seen) == len(set(seen))
    narrowed = staff.ola("get", f"/segments/{segment['id']}/members", query_string={
        "filter": '{"field": "name", "op": "eq", "value": "Firma 3"}', "sort": "-name"})
    assert [o["id"] for o in narrowed.get_json()["items"]] == [ids[3]]


def test_members_are_only_the_records_the_caller_may_see(staff):
    organisation(staff.ola, "Olas", "Poznań", staff.ids["ola"])
    sellers = organisation(staff.seller, "Sellers", "Poznań", staff.ids["seller"])
    segment = created(save(staff.ola, shared=True))
    members = staff.seller("get", f"/segments/{segment['id']}/members").get_json()
    assert [o["id"] for o in members["items"]] == [sellers["id"]]
    assert len(staff.ola("get", f"/segments/{segment['id']}/members")
               .get_json()["items"]) == 2


def test_segments_of_people_and_of_tasks(staff):
    anna = created(staff.ola("post", "/people/", json={"first_name": "Anna",
                                                       "last_name": "Nowak"}))
    created(staff.ola("post", "/people/", json={"first_name": "Jan", "last_name": "Kowal"}))
    people = created(save(staff.ola, name="Nowaks", record_type="person",
                          filter={"field": "last_name", "op": "eq", "value": "nowak"}))
    members = staff.ola("get", f"/segments/{people['id']}/members").get_json()["items"]
    assert [(p["id"], p["first_name"]) for p in members] == [(anna["id"], "Anna")]

    urgent = created(staff.ola("post", "/tasks/", json={
        "title": "Urgent", "assignee_id": staff.ids["ola"], "priority": 4,
        "links": [{"record_type": "person", "record_id": anna["id"]}]}))
    created(staff.ola("post", "/tasks/", json={"title": "Later",
                                               "assignee_id": staff.ids["ola"]}))
    tasks = created(save(staff.ola, name="Urgent", record_type="task",
                         filter={"field": "priority", "op": "eq", "value": 4}))
    members = staff.ola("get", f"/segments/{tasks['id']}/members").get_json()["items"]
    assert [(t["id"], t["title"], t["links"]) for t in members] == [
        (urgent["id"], "Urgent", [{"record_type": "person", "record_id": anna["id"]}])]


def test_bad_input_answers_422_per_field_and_saves_nothing(staff, rt):
    before = count(rt)
    for data, errors in (
            ({"name": " ", "record_type": "organisation", "filter": IN_POZNAN},
             {"name": "Enter a name."}),
            ({"name": "X", "record_type": "planet", "filter": IN_POZNAN},
             {"record_type": "Segments are not available for this kind of record."}),
            ({"name": "X", "record_type": "organisation",
              "filter": {"and": [IN_POZNAN, {"field": "ciry", "op": "eq", "value": "x"}]}},
             {"filter.and.1.field": "Unknown field 'ciry' for organisations."}),
            ({"name": "X" * 201, "record_type": "organisation", "filter": IN_POZNAN},
             {"name": "At most 200 characters."}),
            ({"name": "X", "record_type": "organisation", "filter": "city=Poznań"},
             {"filter": "Not a valid mapping type."}),
            ({"name": "X", "record_type": "organisation", "filter": IN_POZNAN, "id": 4},
             {"id": "Unknown field."}),
            ({"record_type": "organisation"},
             {"name": "Missing data for required field.",
              "filter": "Missing data for required field."})):
        response = staff.ola("post", "/segments/", json=data)
        assert response.status_code == 422, data
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"] == errors
    assert count(rt) == before


def test_only_the_owner_or_an_administrator_changes_or_deletes_a_segment(staff, rt):
    private = created(save(staff.ola, name="Mine"))
    shared = created(save(staff.ola, name="Ours", shared=True))
    assert names(staff.bartek("get", "/segments/")) == ["Ours"]
    assert staff.bartek("get", f"/segments/{private['id']}").status_code == 404
    assert staff.bartek("get", f"/segments/{private['id']}/members").status_code == 404
    assert staff.bartek("patch", f"/segments/{private['id']}",
                        json={"name": "x"}).status_code == 404
    assert staff.bartek("get", f"/segments/{shared['id']}").status_code == 200
    refused = staff.bartek("patch", f"/segments/{shared['id']}", json={"name": "Taken"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == \
        "Only the owner of a segment can change or delete it."
    assert staff.bartek("delete", f"/segments/{shared['id']}").status_code == 403
    assert staff.ola("get", f"/segments/{shared['id']}").get_json()["name"] == "Ours"

    changed = staff.ola("patch", f"/segments/{private['id']}", json={
        "name": "Mine, shared", "shared": True,
        "filter": {"field": "city", "op": "eq", "value": "Gniezno"}})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["name"], changed.get_json()["shared"]) == ("Mine, shared", True)
    assert changed.get_json()["filter"]["value"] == "Gniezno"
    for data, field in (({"record_type": "person"}, "record_type"),
                        ({"filter": {"field": "ciry", "op": "eq", "value": "x"}},
                         "filter.field"),
                        ({"name": ""}, "name")):
        response = staff.ola("patch", f"/segments/{private['id']}", json=data)
        assert response.status_code == 422 and field in response.get_json()["errors"], data
    assert staff.ola("get", f"/segments/{private['id']}").get_json()["name"] == "Mine, shared"

    assert staff.ola("delete", f"/segments/{private['id']}").status_code == 204
    assert staff.ola("get", f"/segments/{private['id']}").status_code == 404
    assert staff.boss("delete", f"/segments/{shared['id']}").status_code == 204
    assert count(rt) == 0


def test_the_openapi_document_lists_the_segments_api(staff):
    spec = staff.ola("get", "/openapi.json").get_json()
    assert {"/api/v1/segments/", "/api/v1/segments/{segment_id}",
            "/api/v1/segments/{segment_id}/members"} <= set(spec["paths"])
    members = spec["paths"]["/api/v1/segments/{segment_id}/members"]["get"]
    assert {p["name"] for p in members["parameters"]} >= {"filter", "sort", "limit", "after"}
    assert "403" in spec["paths"]["/api/v1/segments/{segment_id}"]["patch"]["responses"]

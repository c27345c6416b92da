"""Custom field definitions through the API: listed for everyone, added, changed under
If-Match, converted to another type, archived with their values set aside and restored,
by whoever may manage fields."""

import pytest
from api_helpers import callers

from core.models import Organisation


@pytest.fixture
def staff(app, rt):
    return callers(app, rt, boss=dict(admin=True), ola=dict())


def add(api, **data):
    response = api("post", "/fields/", json={"record_type": "organisation",
                                             "label_pl": data["key"], **data})
    assert response.status_code == 201, response.get_json()
    return response


def new_org(api, name="Gmina Kórnik", **custom):
    response = api("post", "/organizations/", json={
        "name": name, "type_key": "core.municipality", "custom": custom})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def stored(rt, org_id):
    with rt.session() as session:
        return session.get(Organisation, org_id).custom


def test_a_field_is_read_changed_and_listed(staff):
    etag = add(staff.boss, key="members", type="integer", label_en="Members").headers["ETag"]
    one = staff.ola("get", "/fields/organisation/members")
    assert one.status_code == 200 and one.get_json()["label_en"] == "Members"
    assert one.headers["ETag"] == etag
    assert staff.boss("patch", "/fields/organisation/members",
                      json={"label_en": "Member units"}).status_code == 428
    changed = staff.boss("patch", "/fields/organisation/members", headers={"If-Match": etag},
                         json={"label_en": "Member units", "help_en": "Units paying fees"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] != etag
    stale = staff.boss("patch", "/fields/organisation/members", headers={"If-Match": etag},
                       json={"label_en": "Units"})
    assert stale.status_code == 412
    fixed = staff.boss("patch", "/fields/organisation/members",
                       headers={"If-Match": changed.headers["ETag"]}, json={"key": "units"})
    assert fixed.status_code == 422 and "key" in fixed.get_json()["errors"]
    listed = staff.ola("get", "/fields/?record_type=organisation").get_json()
    assert [(f["key"], f["label_en"]) for f in listed] == [("members", "Member units")]
    assert staff.ola("get", "/fields/person/members").status_code == 404


def test_archiving_sets_the_values_aside_and_restoring_brings_them_back(staff, rt):
    add(staff.boss, key="members", type="integer")
    org_id = new_org(staff.boss, members=12)
    archived = staff.boss("delete", "/fields/organisation/members")
    assert archived.status_code == 200 and archived.get_json() == {"count": 1}
    assert stored(rt, org_id) == {}
    assert staff.boss("get", "/fields/").get_json() == []
    assert [f["key"] for f in staff.boss("get", "/fields/?archived=true").get_json()] == \
        ["members"]
    restored = staff.boss("post", "/fields/organisation/members/restore")
    assert restored.get_json() == {"count": 1} and stored(rt, org_id) == {"members": 12}


def test_a_type_change_converts_every_value_or_none(staff, rt):
    add(staff.boss, key="code", type="text")
    good = new_org(staff.boss, code="12")
    trial = staff.boss("post", "/fields/organisation/code/type",
                       json={"type": "integer", "dry_run": True})
    assert trial.get_json() == {"count": 1} and stored(rt, good) == {"code": "12"}
    bad = new_org(staff.boss, "Gmina Mosina", code="twelve")
    refused = staff.boss("post", "/fields/organisation/code/type", json={"type": "integer"})
    assert refused.status_code == 422
    assert "type" in refused.get_json()["errors"]
    assert refused.get_json()["records"] == [{"id": bad, "name": "Gmina Mosina"}]
    assert stored(rt, good) == {"code": "12"}


def test_only_those_who_may_manage_fields_change_them(staff, rt):
    add(staff.boss, key="members", type="integer")
    etag = staff.ola("get", "/fields/organisation/members").headers["ETag"]
    for method, path, kwargs in [
            ("post", "/fields/", {"json": {"record_type": "organisation", "key": "x",
                                           "type": "text", "label_pl": "X"}}),
            ("patch", "/fields/organisation/members",
             {"json": {"label_en": "X"}, "headers": {"If-Match": etag}}),
            ("delete", "/fields/organisation/members", {}),
            ("post", "/fields/organisation/members/restore", {}),
            ("post", "/fields/organisation/members/type", {"json": {"type": "text"}})]:
        response = staff.ola(method, path, **kwargs)
        assert response.status_code == 403, (method, path)
    assert [f["key"] for f in staff.boss("get", "/fields/").get_json()] == ["members"]

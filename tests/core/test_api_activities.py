"""The activities API: recording notes and calls about records, timelines read a page at
a time, what a caller may see of them, and who may change or remove an entry."""

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from core import memberships, timeline
from core.models import Activity, ActivityLink, AuditEntry, Organisation, Person


@pytest.fixture
def staff(app, rt):
    """An administrator, two colleagues who see everything, and a seller who sees only
    their own records."""
    return callers(app, rt, boss=dict(admin=True), ola=dict(), bartek=dict(),
                   seller=dict(access=dict.fromkeys(("read", "create", "edit", "delete"),
                                                    "own")))


def person(api, owner_id, first="Anna"):
    return created(api("post", "/people/", json={"first_name": first, "last_name": "Nowak",
                                                  "owner_id": owner_id}))


def organisation(api, owner_id, name="Gmina Kórnik"):
    return created(api("post", "/organizations/?allow_duplicates=true", json={
        "name": name, "type_key": "core.municipality", "owner_id": owner_id}))


def record(api, about, kind="call", subject="Asked about the offer", **extra):
    return api("post", "/activities/", json={"kind": kind, "subject": subject,
                                             "links": about, **extra})


def ref(record_type, found):
    return {"record_type": record_type, "record_id": found["id"]}


def count(rt, model=Activity) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------ recording and reading


def test_a_call_is_recorded_about_two_records_and_read_back(staff):
    anna = person(staff.ola, staff.ids["ola"])
    gmina = organisation(staff.ola, staff.ids["ola"])
    response = record(staff.ola, [ref("person", anna), ref("organisation", gmina)],
                      body="Call back on Monday.",
                      occurred_at="2026-03-02T10:30:00+01:00")
    body = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/activities/{body['id']}")
    assert (body["kind"], body["kind_label"], body["event"]) == ("call", "Call", "")
    assert body["occurred_at"].startswith("2026-03-02T09:30:00")
    assert body["links"] == [ref("organisation", gmina), ref("person", anna)]
    assert body["created_by_id"] == staff.ids["ola"] and body["editable"] is True

    read = staff.ola("get", f"/activities/{body['id']}").get_json()
    assert read["subject"] == "Asked about the offer" and read["body"] == "Call back on Monday."
    polish = staff.ola("get", f"/activities/{body['id']}", headers={"Accept-Language": "pl"})
    assert polish.get_json()["kind_label"] == "Rozmowa"
    for about in (ref("person", anna), ref("organisation", gmina)):
        timeline_ = staff.ola("get", "/activities/?record_type={record_type}&record_id="
                                     "{record_id}".format(**about)).get_json()
        assert [a["id"] for a in timeline_["items"]] == [body["id"]]
    # A colleague who did not record it sees it but may not change it.
    assert staff.bartek("get", f"/activities/{body['id']}").get_json()["editable"] is False


def test_a_timeline_lists_newest_first_filtered_by_kind_and_with_the_members(staff, rt):
    gmina = organisation(staff.ola, staff.ids["ola"])
    anna = person(staff.ola, staff.ids["ola"])
    with rt.session() as session, session.begin():
        memberships.join(session, session.get(Person, anna["id"]),
                         session.get(Organisation, gmina["id"]))
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    ids = [created(record(staff.ola, [ref("organisation", gmina)], kind=kind,
                          occurred_at=(start + timedelta(hours=i)).isoformat()))["id"]
           for i, kind in enumerate(("note", "call", "meeting"))]
    about_anna = created(record(staff.ola, [ref("person", anna)], kind="note",
                                occurred_at=(start + timedelta(hours=5)).isoformat()))["id"]
    path = f"/activities/?record_type=organisation&record_id={gmina['id']}"
    everything = staff.ola("get", path).get_json()["items"]
    assert [a["kind"] for a in everything] == ["system", "meeting", "call", "note"]
    assert everything[0]["event"] == "membership_started"
    assert everything[0]["kind_label"] == "Joined" and everything[0]["editable"] is False
    by_hand = staff.ola("get", f"{path}&kind=note&kind=call&kind=meeting").get_json()["items"]
    assert [a["id"] for a in by_hand] == ids[::-1]
    notes_and_calls = staff.ola("get", f"{path}&kind=note&kind=call").get_json()["items"]
    assert [a["id"] for a in notes_and_calls] == [ids[1], ids[0]]
    # As the organisation's card shows it "with its people": Anna's entries too.
    with_people = staff.ola("get", f"{path}&include_people=true&kind=note&kind=call"
                                   "&kind=meeting").get_json()["items"]
    assert [a["id"] for a in with_people] == [about_anna, *ids[::-1]]
    assert staff.ola("get", f"{path}&kind=letter").get_json()["errors"].keys() == {"kind.0"}


def test_bad_input_answers_422_per_field_and_records_nothing(staff, rt):
    anna = person(staff.ola, staff.ids["ola"])
    theirs = person(staff.boss, staff.ids["boss"], first="Ewa")
    before = count(rt)
    cases = [
        ({"kind": "system", "subject": "x", "links": [ref("person", anna)]}, "kind"),
        ({"kind": "note", "subject": " ", "body": "", "links": [ref("person", anna)]},
         "subject"),
        ({"kind": "note", "subject": "x" * 301, "links": [ref("person", anna)]}, "subject"),
        ({"kind": "note", "subject": "x", "links": []}, "links"),
        ({"kind": "note", "subject": "x", "links": [{"record_type": "planet",
                                                     "record_id": 1}]},
         "links.0.record_type"),
        ({"kind": "note", "subject": "x", "occurred_at": "2026-03-02T10:30:00",
          "links": [ref("person", anna)]}, "occurred_at"),
        ({"kind": "note", "subject": "x", "links": [ref("person", anna)], "id": 5}, "id"),
        ({"kind": "note", "subject": "x", "links": [ref("person", anna),
                                                    {"record_type": "person",
                                                     "record_id": 999999}]}, "links.1"),
    ]
    for data, field in cases:
        response = staff.ola("post", "/activities/", json=data)
        assert response.status_code == 422, (data, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], (field, response.get_json())
    assert staff.ola("post", "/activities/", json={"subject": "x"}).get_json()["errors"] \
        .keys() >= {"kind", "links"}
    # The seller may not see Ewa: recording about her is refused like an unknown id.
    refused = record(staff.seller, [ref("person", theirs)])
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "links.0": "There is no such record, or you may not see it."}
    assert count(rt) == before


# ------------------------------------------------------------------ who sees what


def test_a_caller_sees_only_entries_about_records_they_may_see_and_only_those_links(staff):
    mine = person(staff.seller, staff.ids["seller"], first="Mine")
    theirs = person(staff.ola, staff.ids["ola"], first="Theirs")
    both = created(record(staff.ola, [ref("person", mine), ref("person", theirs)]))
    hidden = created(record(staff.ola, [ref("person", theirs)], kind="note"))

    seen = staff.seller("get", f"/activities/{both['id']}")
    assert seen.status_code == 200 and seen.get_json()["links"] == [ref("person", mine)]
    assert staff.seller("get", f"/activities/{hidden['id']}").status_code == 404
    assert staff.seller("get", f"/activities/{hidden['id']}").mimetype == \
        "application/problem+json"
    everything = staff.seller("get", "/activities/").get_json()["items"]
    assert [a["id"] for a in everything] == [both["id"]]
    assert staff.seller("get", f"/activities/?record_type=person&record_id="
                               f"{theirs['id']}").status_code == 404
    assert staff.seller("patch", f"/activities/{hidden['id']}",
                        json={"subject": "x"}).status_code == 404
    assert staff.seller("delete", f"/activities/{hidden['id']}").status_code == 404
    # An administrator sees every entry with all its links.
    assert len(staff.boss("get", f"/activities/{both['id']}").get_json()["links"]) == 2
    assert {a["id"] for a in staff.boss("get", "/activities/").get_json()["items"]} >= \
        {both["id"], hidden["id"]}


def test_the_record_filter_needs_both_parameters(staff):
    response = staff.ola("get", "/activities/?record_type=person")
    assert response.status_code == 422 and "record_id" in response.get_json()["errors"]
    assert staff.ola("get", "/activities/?record_type=planet&record_id=1") \
        .get_json()["errors"].keys() == {"record_type"}


# ------------------------------------------------------------------ changing and removing


def test_its_author_changes_an_entry_and_its_place_on_timelines_moves(staff, rt):
    anna = person(staff.ola, staff.ids["ola"])
    older = created(record(staff.ola, [ref("person", anna)], subject="First",
                           occurred_at="2026-03-01T09:00:00+00:00"))
    newer = created(record(staff.ola, [ref("person", anna)], subject="Second",
                           occurred_at="2026-03-02T09:00:00+00:00"))
    changed = staff.ola("patch", f"/activities/{older['id']}", json={
        "kind": "meeting", "subject": "First, met in person",
        "occurred_at": "2026-03-03T09:00:00+01:00"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["kind"], body["subject"]) == ("meeting", "First, met in person")
    path = f"/activities/?record_type=person&record_id={anna['id']}"
    assert [a["id"] for a in staff.ola("get", path).get_json()["items"]] == \
        [older["id"], newer["id"]]
    with rt.session() as session:
        link = session.scalar(select(ActivityLink).where(
            ActivityLink.activity_id == older["id"]))
        assert link.occurred_at == datetime(2026, 3, 3, 8, tzinfo=UTC)
        trail = session.scalar(select(AuditEntry).where(
            AuditEntry.record_type == "activity", AuditEntry.record_id == older["id"],
            AuditEntry.action == "update"))
        assert trail.actor_id == staff.ids["ola"] and trail.door == "api"
        assert trail.changes["subject"] == ["First", "First, met in person"]

    for data, field in (({"subject": "", "body": ""}, "subject"),
                        ({"kind": "system"}, "kind"),
                        ({"links": [ref("person", anna)]}, "links"),
                        ({"occurred_at": "soon"}, "occurred_at")):
        response = staff.ola("patch", f"/activities/{older['id']}", json=data)
        assert response.status_code == 422 and field in response.get_json()["errors"], data
    assert staff.ola("get", f"/activities/{older['id']}").get_json()["subject"] == \
        "First, met in person"


def test_only_the_author_or_an_administrator_changes_or_removes_an_entry(staff, rt):
    anna = person(staff.ola, staff.ids["ola"])
    entry = created(record(staff.ola, [ref("person", anna)]))
    refused = staff.bartek("patch", f"/activities/{entry['id']}", json={"subject": "Mine"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert staff.bartek("delete", f"/activities/{entry['id']}").status_code == 403
    assert staff.ola("get", f"/activities/{entry['id']}").get_json()["subject"] == \
        "Asked about the offer"
    assert staff.boss("patch", f"/activities/{entry['id']}",
                      json={"subject": "Corrected"}).status_code == 200

    assert staff.ola("delete", f"/activities/{entry['id']}").status_code == 204
    assert staff.ola("get", f"/activities/{entry['id']}").status_code == 404
    assert count(rt, ActivityLink) == 0
    with rt.session() as session:
        purged = session.scalar(select(AuditEntry).where(
            AuditEntry.record_type == "activity", AuditEntry.record_id == entry["id"],
            AuditEntry.action == "purge"))
    assert purged is not None


def test_what_the_system_wrote_cannot_be_changed_or_removed_by_anyone(staff, rt):
    gmina = organisation(staff.boss, staff.ids["boss"])
    with rt.session() as session, session.begin():
        org = session.get(Organisation, gmina["id"])
        event = timeline.record_event(session, "merged", [org], subject="Merged")
        mail = timeline.add(session, "email_out", "Offer", [org], event="mail",
                            data={"state": "sent"})
        ids = (event.id, mail.id)
    for activity_id in ids:
        shown = staff.boss("get", f"/activities/{activity_id}").get_json()
        assert shown["editable"] is False
        response = staff.boss("patch", f"/activities/{activity_id}", json={"subject": "x"})
        assert response.status_code == 403
        assert "system" in response.get_json()["detail"]
        assert staff.boss("delete", f"/activities/{activity_id}").status_code == 403
        assert staff.boss("get", f"/activities/{activity_id}").get_json()["subject"] == \
            shown["subject"]


# ------------------------------------------------------------------ pages


def test_pages_are_cut_by_key_so_entries_added_meanwhile_never_repeat_or_hide_others(
        staff, rt):
    anna = person(staff.ola, staff.ids["ola"])
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    same_time = (start + timedelta(hours=1)).isoformat()
    originals = [created(record(staff.ola, [ref("person", anna)], subject=f"Entry {i}",
                                occurred_at=same_time if i in (2, 3, 4)
                                else (start + timedelta(hours=i)).isoformat()))["id"]
                 for i in range(7)]
    for path in ("/activities/?limit=3", f"/activities/?record_type=person&record_id="
                                         f"{anna['id']}&limit=3"):
        seen, after, inserted = [], None, 0
        while True:
            page = staff.ola("get", path + (f"&after={after}" if after else ""))
            assert page.status_code == 200, page.get_json()
            seen += [a["id"] for a in page.get_json()["items"]]
            after = page.get_json()["next"]
            if after is None:
                break
            # Someone records an entry now and another dated at the very start.
            created(record(staff.bartek, [ref("person", anna)], subject="Meanwhile"))
            created(record(staff.bartek, [ref("person", anna)], subject="Backdated",
                           occurred_at=(start - timedelta(days=inserted + 1)).isoformat()))
            inserted += 1
        assert inserted >= 2 and len(seen) == len(set(seen))
        # Newest first; entries of the same moment by id, newest first too.
        assert [i for i in seen if i in originals] == originals[::-1]
    bad = staff.ola("get", "/activities/?after=not-a-cursor")
    assert bad.status_code == 422 and "after" in bad.get_json()["errors"]


def test_the_openapi_document_lists_the_activities_api(staff):
    spec = staff.ola("get", "/openapi.json").get_json()
    assert {"/api/v1/activities/", "/api/v1/activities/{activity_id}"} <= set(spec["paths"])
    item = spec["paths"]["/api/v1/activities/{activity_id}"]
    assert item["patch"]["summary"].startswith("Change what an entry")
    assert "403" in item["patch"]["responses"] and "403" in item["delete"]["responses"]
    tag = next(t for t in spec["tags"] if t["name"] == "activities")
    assert tag["description"] == "Activities"


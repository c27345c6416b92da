"""The links API: a record's links with the names of the records linked (those the caller
may not see only counted), linking and removing by the rules of the cards, and each
refusal as a problem with field-level messages."""

import pytest
from api_helpers import callers, created
from sqlalchemy import func, select

from core import tokens, users
from core.models import AuditEntry, Organisation, RecordLink


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


@pytest.fixture
def staff(app, rt):
    """An administrator, a seller who reaches only their own records, and a reader who
    may only look."""
    return callers(
        app,
        rt,
        boss=dict(admin=True),
        seller=dict(access=dict.fromkeys(("read", "create", "edit", "delete"), "own")),
        reader=dict(access={"read": "all"}),
    )


def org(api, name, owner_id=None):
    return created(
        api(
            "post",
            "/organizations/",
            json={"name": name, "type_key": "core.municipality", "owner_id": owner_id},
        )
    )["id"]


def person(api, first="Anna", owner_id=None):
    return created(
        api(
            "post",
            "/people/",
            json={"first_name": first, "last_name": "Nowak", "owner_id": owner_id},
        )
    )["id"]


def link(api, source, target, link_type=None):
    body = {
        "source_type": source[0],
        "source_id": source[1],
        "target_type": target[0],
        "target_id": target[1],
    }
    if link_type is not None:
        body["link_type"] = link_type
    return api("post", "/links/", json=body)


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(RecordLink))


def problem(response, status) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_a_link_is_made_listed_from_both_sides_read_and_removed(staff, rt):
    kornik = org(staff.boss, "Gmina Kórnik")
    anna = person(staff.boss)
    case = created(
        staff.boss("post", "/cases/", json={"title": "Banners", "process_key": "printing.project"})
    )["id"]
    response = link(staff.boss, ("organisation", kornik), ("person", anna), " contractor ")
    made = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/links/{made['id']}")
    assert {
        k: made[k]
        for k in (
            "source_type",
            "source_id",
            "source_name",
            "target_type",
            "target_id",
            "target_name",
            "link_type",
        )
    } == {
        "source_type": "organisation",
        "source_id": kornik,
        "source_name": "Gmina Kórnik",
        "target_type": "person",
        "target_id": anna,
        "target_name": "Anna Nowak",
        "link_type": "contractor",
    }
    assert (
        created(link(staff.boss, ("case", case), ("organisation", kornik)))["link_type"]
        == "related"
    )
    listed = staff.boss("get", f"/links/?record_type=organisation&record_id={kornik}")
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["hidden"] == 0
    assert sorted((i["link_type"], i["source_name"], i["target_name"]) for i in body["items"]) == [
        ("contractor", "Gmina Kórnik", "Anna Nowak"),
        ("related", "Banners", "Gmina Kórnik"),
    ]
    from_person = staff.boss("get", f"/links/?record_type=person&record_id={anna}").get_json()
    assert [i["id"] for i in from_person["items"]] == [made["id"]]
    assert staff.boss("get", f"/links/{made['id']}").get_json()["target_name"] == "Anna Nowak"
    # The same pair with the same type, either way round, is the link there is.
    again = created(link(staff.boss, ("person", anna), ("organisation", kornik), "contractor"))
    assert again["id"] == made["id"] and count(rt) == 2
    assert staff.boss("delete", f"/links/{made['id']}").status_code == 204
    assert staff.boss("get", f"/links/{made['id']}").status_code == 404
    assert count(rt) == 1
    with rt.session() as session:
        assert sorted(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.record_type == "record_links", AuditEntry.door == "api"
                )
            )
        ) == ["create", "create", "purge"]


def test_bad_links_are_refused_with_field_messages_and_nothing_is_written(staff, rt):
    kornik = org(staff.boss, "Gmina Kórnik")
    assert problem(link(staff.boss, ("organisation", kornik), ("organisation", kornik)), 422)[
        "errors"
    ] == {"target_id": "A record cannot be linked to itself."}
    assert problem(link(staff.boss, ("organisation", kornik), ("person", 999)), 422)["errors"] == {
        "target_id": "There is no such record."
    }
    assert problem(link(staff.boss, ("organisation", kornik), ("user", 1)), 422)["errors"] == {
        "target_type": "Unknown kind of record 'user'."
    }
    assert problem(link(staff.boss, ("organisation", 999), ("organisation", kornik)), 422)[
        "errors"
    ] == {"source_id": "There is no such record."}
    assert problem(link(staff.boss, ("invoice", 1), ("organisation", kornik)), 422)["errors"] == {
        "source_type": "There is no such record."
    }
    anna = person(staff.boss)
    assert problem(link(staff.boss, ("organisation", kornik), ("person", anna), "x" * 51), 422)[
        "errors"
    ] == {"link_type": "At most 50 characters."}
    missing = staff.boss("post", "/links/", json={"source_type": "organisation"})
    assert set(problem(missing, 422)["errors"]) == {"source_id", "target_type", "target_id"}
    assert problem(staff.boss("get", "/links/?record_type=organisation"), 422)["errors"] == {
        "record_id": "Missing data for required field."
    }
    assert problem(staff.boss("get", "/links/?record_type=user&record_id=1"), 422)["errors"] == {
        "record_type": "Unknown kind of record 'user'."
    }
    assert count(rt) == 0


def test_records_the_caller_may_not_see_are_counted_not_named_nor_linked(staff, rt):
    mine = org(staff.seller, "Moja Gmina", staff.ids["seller"])
    colleague = person(staff.seller, "Ewa", staff.ids["seller"])
    secret = org(staff.boss, "Tajna Fundacja")
    created(link(staff.boss, ("organisation", mine), ("person", colleague), "contact"))
    hidden = created(link(staff.boss, ("organisation", secret), ("organisation", mine), "partner"))
    body = staff.seller("get", f"/links/?record_type=organisation&record_id={mine}").get_json()
    assert [(i["link_type"], i["target_name"]) for i in body["items"]] == [("contact", "Ewa Nowak")]
    assert body["hidden"] == 1 and "Tajna" not in str(body)
    assert staff.seller("get", f"/links/{hidden['id']}").status_code == 404
    assert staff.seller("delete", f"/links/{hidden['id']}").status_code == 404
    assert (
        staff.seller("get", f"/links/?record_type=organisation&record_id={secret}").status_code
        == 404
    )
    assert problem(link(staff.seller, ("organisation", mine), ("organisation", secret)), 422)[
        "errors"
    ] == {"target_id": "There is no such record."}
    assert problem(link(staff.seller, ("organisation", secret), ("organisation", mine)), 422)[
        "errors"
    ] == {"source_id": "There is no such record."}
    assert count(rt) == 2


def test_without_the_right_to_edit_nothing_is_linked_or_removed(staff, rt):
    kornik = org(staff.boss, "Gmina Kórnik")
    anna = person(staff.boss)
    made = created(link(staff.boss, ("organisation", kornik), ("person", anna)))
    listed = staff.reader("get", f"/links/?record_type=person&record_id={anna}").get_json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]
    refused = problem(link(staff.reader, ("person", anna), ("organisation", kornik), "client"), 403)
    assert refused["detail"] == "You may not do this with this record."
    assert problem(staff.reader("delete", f"/links/{made['id']}"), 403)["status"] == 403
    assert count(rt) == 1


def test_a_portal_account_finds_no_links_not_even_its_organisations(staff, app, rt):
    kornik = org(staff.boss, "Gmina Kórnik")
    mosina = org(staff.boss, "Gmina Mosina")
    anna = person(staff.boss)
    made = created(link(staff.boss, ("organisation", kornik), ("organisation", mosina)))
    created(link(staff.boss, ("organisation", kornik), ("person", anna)))
    with rt.session() as session, session.begin():
        portal = users.create_user(
            session,
            "portal@kornik.pl",
            "correct horse battery",
            "Kórnik",
            portal_of=session.get(Organisation, kornik),
            portal_admin=True,
        )
        secret = tokens.create(session, portal, "portal")[1]
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}
    client = app.test_client()
    own = client.get(
        f"/api/v1/links/?record_type=organisation&record_id={kornik}", headers=headers
    )
    assert own.status_code == 404  # the staff's notes: not even how many there are
    assert (
        client.get(
            f"/api/v1/links/?record_type=organisation&record_id={mosina}", headers=headers
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/links/{made['id']}", headers=headers).status_code == 404
    assert (
        client.post(
            "/api/v1/links/",
            headers=headers,
            json={
                "source_type": "organisation",
                "source_id": kornik,
                "target_type": "organisation",
                "target_id": kornik,
            },
        ).status_code
        == 404
    )
    assert count(rt) == 2


def test_the_document_describes_the_links(app, staff):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/links/", "/api/v1/links/{link_id}"} <= set(document["paths"])
    post = document["paths"]["/api/v1/links/"]["post"]
    assert {"201", "403", "422"} <= set(post["responses"])
    link_schema = document["components"]["schemas"]["Link"]
    assert "free text" in link_schema["properties"]["link_type"]["description"]
    assert "hidden" in document["components"]["schemas"]["LinkList"]["properties"]

"""The training plugin's REST API (TR-1, TR-3): the venue registry through core.api.crud
(read by any staff account, changed with training.manage, DELETE retiring), a
training's list and enrolling through it, and cancelling with If-Match; refusals as
problem+json. Every test runs on SQLite and PostgreSQL."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core import cases, organisations, people, roles, tokens, users
from core.models import Person
from plugins.training import enrolments, venues
from plugins.training.models import Enrolment, Venue

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en")


@dataclass
class World:
    venue: int
    unit: int
    training: int
    people: list[int]


@pytest.fixture
def world(app):
    """An organiser, a clerk without training permissions, a unit's portal account, a
    venue and a training with two places open for enrolment."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        role = roles.create(session, "organiser", "Training organiser")
        roles.set_permissions(session, role, ["training.manage", "training.enrol"])
        boss = users.create_user(
            session, "ewa@zwiazek.example.pl", PASSWORD, roles=["staff", "organiser"]
        )
        users.create_user(session, "jan@zwiazek.example.pl", PASSWORD, roles=["staff"])
        unit = organisations.create(
            session, rt.host, {"name": "Gmina Kórnik", "type_key": "core.municipality"}
        )
        users.create_user(session, "portal@kornik.example.pl", PASSWORD, portal_of=unit)
        venue = venues.create(session, {"name": "Sala Rady", "city": "Poznań"}, boss)
        trainer = people.create(session, {"first_name": "Adam", "last_name": "Trener"})
        starts = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
        case = cases.create(
            session,
            rt.host,
            {
                "title": "RODO w urzędzie",
                "process_key": "training.training",
                "custom": {
                    "training_starts_at": starts,
                    "training_trainer": trainer.id,
                    "training_venue": venue.id,
                    "training_capacity": 2,
                },
            },
            actor=boss,
        )
        case.phase_key = "enrolment_open"
        someone = [
            people.create(session, {"first_name": first, "last_name": "Nowak"}).id
            for first in ("Anna", "Bartek", "Celina")
        ]
        return World(venue.id, unit.id, case.id, someone)


def caller(app, email="ewa@zwiazek.example.pl"):
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        secret = tokens.create(session, users.find_by_email(session, email), "test")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1/training{path}", **kwargs)

    return call


def stored(app, model, record_id):
    with app.extensions["kartoteka"].session() as session:
        return session.get(model, record_id)


def problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json()


# --------------------------------------------------------------------- venues


def test_a_venue_is_created_read_changed_with_if_match_and_retired(app, world):
    api = caller(app)
    created = api(
        "post", "/venues/", json={"name": "Zamek", "postal_code": "62035", "capacity": 25}
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["postal_code"], body["capacity"], body["active"]) == ("62-035", 25, True)
    assert created.headers["ETag"] == '"1"'
    url = f"/venues/{body['id']}"
    assert problem(api("patch", url, json={"city": "Kórnik"}), 428)
    assert problem(api("patch", url, json={"city": "Kórnik"}, headers={"If-Match": '"7"'}), 412)
    changed = api("patch", url, json={"city": "Kórnik"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["city"] == "Kórnik"
    assert changed.headers["ETag"] == '"2"'
    assert api("delete", url).status_code == 204
    retired = api("get", url)  # retired, not deleted: past trainings keep it
    assert retired.status_code == 200 and retired.get_json()["active"] is False
    names = {v["name"]: v["active"] for v in api("get", "/venues/").get_json()["items"]}
    assert names == {"Sala Rady": True, "Zamek": False}


def test_a_venue_is_refused_field_by_field(app, world):
    api = caller(app)
    refused = problem(
        api("post", "/venues/", json={"name": " ", "postal_code": "6100", "capacity": 0}), 422
    )
    assert set(refused["errors"]) == {"name", "postal_code", "capacity"}
    assert refused["errors"]["capacity"] == "Give a number of seats from 1 to 10000."
    unknown = problem(api("post", "/venues/", json={"name": "Sala", "id": 5}), 422)
    assert "id" in unknown["errors"]
    url = f"/venues/{world.venue}"
    blank = problem(api("patch", url, json={"name": ""}, headers={"If-Match": "*"}), 422)
    assert blank["errors"] == {"name": "Enter a name."}
    assert stored(app, Venue, world.venue).name == "Sala Rady"
    with app.extensions["kartoteka"].session() as session:
        assert len(venues.listed(session, with_retired=True)) == 1


def test_staff_without_training_manage_read_venues_but_change_none(app, world):
    api = caller(app, "jan@zwiazek.example.pl")
    assert [v["name"] for v in api("get", "/venues/").get_json()["items"]] == ["Sala Rady"]
    url = f"/venues/{world.venue}"
    assert problem(api("post", "/venues/", json={"name": "Sala"}), 403)
    assert problem(api("patch", url, json={"city": "X"}, headers={"If-Match": "*"}), 403)
    assert problem(api("delete", url), 403)
    venue = stored(app, Venue, world.venue)
    assert (venue.city, venue.active, venue.version) == ("Poznań", True, 1)


def test_portal_accounts_find_nothing_in_the_training_api(app, world):
    client = app.test_client()
    client.post("/login", data={"email": "portal@kornik.example.pl", "password": PASSWORD})
    for path in ("/venues/", f"/venues/{world.venue}", f"/trainings/{world.training}/enrolments"):
        assert problem(client.get(f"/api/v1/training{path}"), 404), path


# --------------------------------------------------------------------- enrolments


def test_people_are_enrolled_until_full_then_wait_and_move_up_on_a_cancel(app, world):
    api = caller(app)
    path = f"/trainings/{world.training}/enrolments"
    anna, bartek, celina = world.people
    first = api("post", path, json={"person_id": anna, "organisation_id": world.unit})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["status"], body["channel"], body["organisation_id"]) == (
        "enrolled",
        "api",
        world.unit,
    )
    assert first.headers["Location"].endswith(f"/api/v1/training/enrolments/{body['id']}")
    api("post", path, json={"person_id": bartek})
    third = api("post", path, json={"person_id": celina, "note": "Po urlopie"})
    assert third.get_json()["status"] == "waiting"
    listed = api("get", path).get_json()["items"]
    assert [(e["person_id"], e["status"]) for e in listed] == [
        (anna, "enrolled"),
        (bartek, "enrolled"),
        (celina, "waiting"),
    ]
    url = f"/enrolments/{body['id']}"
    assert problem(api("patch", url, json={"status": "cancelled"}), 428)
    stale = api("patch", url, json={"status": "cancelled"}, headers={"If-Match": '"9"'})
    assert problem(stale, 412)
    cancelled = api(
        "patch", url, json={"status": "cancelled"}, headers={"If-Match": first.headers["ETag"]}
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert api("get", f"/enrolments/{third.get_json()['id']}").get_json()["status"] == "enrolled"
    again = api("patch", url, json={"status": "cancelled"}, headers={"If-Match": "*"})
    assert "status" in problem(again, 422)["errors"]


def test_an_enrolment_is_refused_field_by_field(app, world):
    api = caller(app)
    path = f"/trainings/{world.training}/enrolments"
    anna = world.people[0]
    api("post", path, json={"person_id": anna})
    twice = problem(api("post", path, json={"person_id": anna}), 422)
    assert twice["errors"] == {"person_id": "Anna Nowak is already on the list."}
    nobody = problem(api("post", path, json={"person_id": 999999, "organisation_id": 999999}), 422)
    assert nobody["errors"] == {
        "person_id": "There is no such record.",
        "organisation_id": "There is no such record.",
    }
    assert "person_id" in problem(api("post", path, json={}), 422)["errors"]
    assert (
        "status"
        in problem(
            api("post", path, json={"person_id": world.people[1], "status": "attended"}), 422
        )["errors"]
    )
    row = api("get", path).get_json()["items"][0]
    attended = api(
        "patch", f"/enrolments/{row['id']}", json={"status": "attended"}, headers={"If-Match": "*"}
    )
    assert "status" in problem(attended, 422)["errors"]
    with app.extensions["kartoteka"].session() as session:
        assert session.scalars(select(Enrolment.status)).all() == ["enrolled"]


def test_enrolling_through_the_api_needs_a_training_permission(app, world):
    api = caller(app, "jan@zwiazek.example.pl")
    path = f"/trainings/{world.training}/enrolments"
    assert problem(api("get", path), 403)
    assert problem(api("post", path, json={"person_id": world.people[0]}), 403)
    with app.extensions["kartoteka"].session() as session:
        row = enrolments.enrol(
            session, session.get(cases.Case, world.training), session.get(Person, world.people[0])
        )
        session.commit()
        row_id = row.id
    assert problem(api("get", f"/enrolments/{row_id}"), 403)
    assert problem(
        api(
            "patch",
            f"/enrolments/{row_id}",
            json={"status": "cancelled"},
            headers={"If-Match": "*"},
        ),
        403,
    )
    assert stored(app, Enrolment, row_id).status == "enrolled"


def test_only_a_training_has_enrolments(app, world):
    api = caller(app)
    assert problem(api("get", "/trainings/999999/enrolments"), 404)
    assert problem(api("post", "/trainings/999999/enrolments", json={"person_id": 1}), 404)
    assert problem(api("get", "/enrolments/999999"), 404)


def test_the_openapi_document_describes_the_training_resources(app, world):
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {
        "/api/v1/training/venues/",
        "/api/v1/training/venues/{record_id}",
        "/api/v1/training/trainings/{case_id}/enrolments",
        "/api/v1/training/enrolments/{enrolment_id}",
    } <= set(paths)
    assert paths["/api/v1/training/venues/{record_id}"]["delete"]["summary"].startswith(
        "Retire the venue"
    )
    schemas = document["components"]["schemas"]
    assert schemas["VenueRecord"]["properties"]["capacity"]["description"]
    assert schemas["Enrolment"]["properties"]["organisation_id"]["description"]
    patch = paths["/api/v1/training/enrolments/{enrolment_id}"]["patch"]
    assert {"412", "428", "422", "403", "404"} <= set(patch["responses"])


# --------------------------------------------------------------------- invitations


def test_invitations_are_previewed_sent_and_refused_field_by_field(app, world):
    from core import memberships
    from core.models import Mailing, Organisation

    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        role = session.scalar(select(roles.Role).where(roles.Role.key == "organiser"))
        roles.set_permissions(session, role, ["training.manage", "training.enrol",
                                              "core.send_mailings"])
        unit = session.get(Organisation, world.unit)
        for person_id in world.people[:2]:
            memberships.join(session, session.get(Person, person_id), unit, "skarbnik")
    call = caller(app)
    chosen = {"filter": {"field": "name", "op": "contains", "value": "Kórnik"}}
    preview = call("post", f"/trainings/{world.training}/invitations",
                   json={**chosen, "preview": True})
    assert (preview.status_code, preview.get_json()) == (200, {
        "units": 1, "invited": 2, "on_the_list": 0, "mailing_id": None})
    with rt.session() as session:
        assert session.scalars(select(Enrolment)).all() == []
    sent = call("post", f"/trainings/{world.training}/invitations", json=chosen)
    assert sent.status_code == 201
    assert stored(app, Mailing, sent.get_json()["mailing_id"]).person_ids == world.people[:2]
    again = problem(call("post", f"/trainings/{world.training}/invitations", json=chosen), 422)
    assert "Nobody new to invite" in again["errors"]["segment_id"]
    bad = problem(call("post", f"/trainings/{world.training}/invitations",
                       json={"filter": {"field": "ciry"}, "participation": "x"}), 422)
    assert set(bad["errors"]) == {"participation"}
    bad = problem(call("post", f"/trainings/{world.training}/invitations",
                       json={"filter": {"field": "ciry", "op": "eq", "value": "x"}}), 422)
    assert "Unknown field" in bad["errors"]["filter.field"]
    bad = problem(call("post", f"/trainings/{world.training}/invitations",
                       json={"within_km": 0}), 422)
    assert "Give a distance from 1 to 1000 km" in bad["errors"]["within_km"]
    far = problem(call("post", f"/trainings/{world.training}/invitations",
                       json={"within_km": 50, "preview": True}), 422)
    assert "kartoteka places load" in far["errors"]["within_km"]  # no places loaded
    near = problem(call("post", f"/trainings/{world.training}/invitations",
                        json={"filter": {"near": {"town": "Poznań"}}, "preview": True}), 422)
    assert "Give a number" in near["errors"]["filter.near.km"]
    clerk = caller(app, "jan@zwiazek.example.pl")
    problem(clerk("post", f"/trainings/{world.training}/invitations", json=chosen), 403)
    with rt.session() as session, session.begin():
        enroller = roles.create(session, "enroller", "Enroller")
        roles.set_permissions(session, enroller, ["training.enrol"])
        users.create_user(session, "ola@zwiazek.example.pl", PASSWORD,
                          roles=["staff", "enroller"])
    ola = caller(app, "ola@zwiazek.example.pl")  # enrols, but may not invite nor count
    problem(ola("post", f"/trainings/{world.training}/invitations",
                json={**chosen, "preview": True}), 403)


def test_certificates_are_made_through_the_api_once_the_training_is_at_them(app, world):
    call = caller(app)
    early = problem(call("post", f"/trainings/{world.training}/certificates"), 422)
    assert "once the training is settled" in early["errors"]["case_id"]
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        case = session.get(cases.Case, world.training)
        session.add(Enrolment(case_id=case.id, person_id=world.people[0], status="attended"))
        case.phase_key = "certified"
    started = call("post", f"/trainings/{world.training}/certificates")
    assert started.status_code == 202
    assert started.get_json()["result"] == {"made": 1, "failed": []}
    row = call("get", f"/trainings/{world.training}/enrolments").get_json()["items"][0]
    assert row["certificate_id"] is not None

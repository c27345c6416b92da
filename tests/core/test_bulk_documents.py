"""Documents for many records at once: a background job that numbers them in a row,
leaves out what the starter may not see, refuses bad input before starting, does not
make a document twice when run again, and is started from a page and the API."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core import documents, jobs, organisations, roles, segments, tokens, users
from core.db import utcnow
from core.documents import Series, Template
from core.errors import Forbidden, ValidationError
from core.models import Document, DocumentTemplate, Job, Organisation, User
from core.permissions import ACTIONS
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD

LETTER = Template("test.letter", "letter", "organisation", {"pl": "Pismo", "en": "Letter"},
                  "<h1>Letter {{ document.number }}</h1><p>{{ organisation.name }}</p>",
                  series=Series("test.letter", "Letters", "L/{year}/{seq:04}"))
MAIL = Template("test.mail", "email", "organisation", {"pl": "List", "en": "Mail"},
                "<p>x</p>", subject="Hello")
NOTE = Template("test.note", "letter", "person", {"pl": "Notatka", "en": "Note"}, "<p>x</p>")


@pytest.fixture
def app(kartoteka_app_factory):
    found = kartoteka_app_factory(default_locale="en")
    with found.test_request_context():
        yield found


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def made(rt):
    """The administrator, a seller who sees only their own records, the templates and
    three organisations (the first two the seller's); their ids."""
    with rt.session() as s, s.begin():
        admin = users.create_user(s, ADMIN_EMAIL, ADMIN_PASSWORD, is_admin=True)
        seller = users.create_user(s, "seller@example.com", ADMIN_PASSWORD)
        own = roles.create(s, "seller", "Seller")
        roles.set_access(s, own, {("*", action): "own" for action in ACTIONS})
        roles.assign(s, seller, ["seller"])
        letter = documents.ship(s, LETTER)
        mail = documents.ship(s, MAIL)
        note = documents.ship(s, NOTE)
        orgs = [organisations.create(s, rt.host, {"name": name, "type_key": "core.municipality",
                                                  "owner_id": owner.id}, admin,
                                     allow_duplicates=True).id
                for name, owner in (("Gmina Kórnik", seller), ("Gmina Mosina", seller),
                                    ("Gmina Puszczykowo", admin))]
        return {"admin": admin.id, "seller": seller.id, "letter": letter.id, "mail": mail.id,
                "note": note.id, "orgs": orgs}


def start(rt, actor_id, template_id, record_type="organisation", **given) -> int:
    with rt.session() as s:
        job = documents.generate_many(s, s.get(DocumentTemplate, template_id), record_type,
                                      actor=s.get(User, actor_id), **given)
        job_id = job.id
        s.commit()  # the job runs now (jobs_url = immediate)
    return job_id


def job_of(rt, job_id) -> Job:
    with rt.session() as s:
        return s.get(Job, job_id)


def documents_made(rt) -> list[tuple[str, int, str]]:
    with rt.session() as s:
        return [(d.record_type, d.record_id, d.number) for d in
                s.scalars(select(Document).order_by(Document.id))]


def test_one_numbered_document_per_record_with_numbers_in_a_row(rt, made):
    job_id = start(rt, made["admin"], made["letter"], record_ids=made["orgs"])
    job = job_of(rt, job_id)
    year = utcnow().year
    assert (job.kind, job.state, job.done, job.total) == ("documents.bulk", "done", 3, 3)
    assert jobs.percent(job) == 100
    assert documents_made(rt) == [("organisation", org_id, f"L/{year}/{n:04}")
                                  for n, org_id in enumerate(made["orgs"], 1)]
    with rt.session() as s:
        ids = list(s.scalars(select(Document.id).order_by(Document.id)))
    assert job.result == {"made": 3, "failed": [], "document_ids": ids}
    assert job.params["record_ids"] == made["orgs"]
    assert job.params["template_id"] == made["letter"]
    assert job.params["actor_id"] == made["admin"]


def test_a_segment_gives_its_members_now(rt, made):
    with rt.session() as s, s.begin():
        segment = segments.save(s, "Mosina", "organisation", {"and": [
            {"field": "name", "op": "eq", "value": "Gmina Mosina"}]}, s.get(User, made["admin"]))
        segment_id = segment.id
    job = job_of(rt, start(rt, made["admin"], made["letter"], segment_id=segment_id))
    assert job.result["made"] == 1 and job.params["record_ids"] == [made["orgs"][1]]


def test_records_the_starter_may_not_see_are_listed_not_made(rt, made):
    job = job_of(rt, start(rt, made["seller"], made["letter"], record_ids=made["orgs"]))
    hidden = made["orgs"][2]
    assert job.state == "done" and (job.done, job.total) == (3, 3)
    assert job.result["made"] == 2
    assert [f["id"] for f in job.result["failed"]] == [hidden]
    assert "may not see" in job.result["failed"][0]["error"]
    assert [record_id for _type, record_id, _n in documents_made(rt)] == made["orgs"][:2]
    # Only records the starter may not see: nothing is started at all.
    with rt.session() as s:
        with pytest.raises(ValidationError) as refused:
            documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                    "organisation", [hidden], actor=s.get(User, made["seller"]))
        assert set(refused.value.errors) == {"record_ids"}


def test_visibility_is_checked_again_when_the_job_runs(rt, made):
    """The starter lost sight of a record between asking and the job running."""
    with rt.session() as s:
        s.info.pop("jobs", None)  # no queue: the job waits
        job = documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                      "organisation", made["orgs"][:2],
                                      actor=s.get(User, made["seller"]))
        job_id = job.id
        s.commit()
    with rt.session() as s, s.begin():
        s.get(Organisation, made["orgs"][1]).owner_id = made["admin"]
    jobs.run(rt, job_id)
    job = job_of(rt, job_id)
    assert job.result["made"] == 1 and [f["id"] for f in job.result["failed"]] == \
        [made["orgs"][1]]


@pytest.mark.parametrize(("template", "record_type", "given", "field"), [
    ("mail", "organisation", {"record_ids": [1]}, "template"),
    ("note", "organisation", {"record_ids": [1]}, "record_type"),
    ("letter", "organisation", {"record_ids": []}, "record_ids"),
    ("letter", "organisation", {}, "record_ids"),
    ("letter", "organisation", {"record_ids": "1, 2, x"}, "record_ids"),
    ("letter", "organisation", {"record_ids": list(range(1, 5002))}, "record_ids"),
    ("letter", "organisation", {"segment_id": 999}, "segment_id"),
    ("letter", "organisation", {"record_ids": [1], "segment_id": 1}, "segment_id"),
])
def test_bad_input_is_refused_by_field_and_starts_no_job(rt, made, template, record_type,
                                                         given, field):
    with rt.session() as s:
        with pytest.raises(ValidationError) as refused:
            documents.generate_many(s, s.get(DocumentTemplate, made[template]), record_type,
                                    actor=s.get(User, made["admin"]), **given)
        assert field in refused.value.errors
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_retired_template_and_an_empty_segment_are_refused(rt, made):
    with rt.session() as s, s.begin():
        segment = segments.save(s, "None", "organisation", {"and": [
            {"field": "name", "op": "eq", "value": "Nowhere"}]}, s.get(User, made["admin"]))
        segment_id = segment.id
    with rt.session() as s:
        admin = s.get(User, made["admin"])
        with pytest.raises(ValidationError) as empty:
            documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                    "organisation", segment_id=segment_id, actor=admin)
        assert set(empty.value.errors) == {"segment_id"}
        s.get(DocumentTemplate, made["letter"]).active = False
        with pytest.raises(ValidationError) as retired:
            documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                    "organisation", made["orgs"], actor=admin)
        assert set(retired.value.errors) == {"template"}
        s.rollback()


def test_someone_who_may_change_no_record_is_refused(rt, made):
    with rt.session() as s:
        reader = users.create_user(s, "reader@example.com", ADMIN_PASSWORD)
        looking = roles.create(s, "looking", "Looking")
        roles.set_access(s, looking, {("*", "read"): "all"})
        roles.assign(s, reader, ["looking"])
        with pytest.raises(Forbidden):
            documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                    "organisation", made["orgs"], actor=reader)
        s.rollback()


def test_running_the_job_again_makes_no_duplicates(rt, made):
    job_id = start(rt, made["admin"], made["letter"], record_ids=made["orgs"])
    first = job_of(rt, job_id).result
    with rt.session() as s, s.begin():
        s.execute(update(Job).where(Job.id == job_id).values(state="queued", done=0))
    jobs.run(rt, job_id)
    again = job_of(rt, job_id)
    assert again.state == "done" and again.attempts == 2 and (again.done, again.total) == (3, 3)
    assert again.result == first
    assert len(documents_made(rt)) == 3


def test_a_job_that_died_halfway_carries_on_where_it_stopped(rt, made, monkeypatch):
    """The worker died after the first document: it is kept, the rest are made once."""
    real = documents.generate
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("the worker died")
        return real(*args, **kwargs)

    monkeypatch.setattr(documents, "generate", dying)
    with rt.session() as s:
        s.info.pop("jobs", None)  # no queue: run by hand below
        job = documents.generate_many(s, s.get(DocumentTemplate, made["letter"]),
                                      "organisation", made["orgs"],
                                      actor=s.get(User, made["admin"]))
        job_id = job.id
        s.commit()
    with pytest.raises(SystemExit):
        jobs.run(rt, job_id)
    assert job_of(rt, job_id).state == "running"
    assert len(documents_made(rt)) == 1
    jobs.run(rt, job_id)  # handed over again while the worker may live: nothing happens
    assert len(documents_made(rt)) == 1
    with rt.session() as s, s.begin():  # ten minutes and more without a word
        s.get(Job, job_id).heartbeat_at = utcnow() - timedelta(minutes=11)
    jobs.revive(rt)  # queued again, and here run at once
    job = job_of(rt, job_id)
    year = utcnow().year
    assert job.state == "done" and job.result["made"] == 3
    assert documents_made(rt) == [("organisation", org_id, f"L/{year}/{n:04}")
                                  for n, org_id in enumerate(made["orgs"], 1)]


def test_a_failing_record_is_listed_and_the_others_are_made(rt, made):
    with rt.session() as s, s.begin():
        documents.save(s, s.get(DocumentTemplate, made["letter"]), {
            "body": "{% if organisation.name == 'Gmina Mosina' %}{{ 1 / 0 }}{% endif %}x"},
            s.get(User, made["admin"]))
    job = job_of(rt, start(rt, made["admin"], made["letter"], record_ids=made["orgs"]))
    assert job.state == "done" and job.result["made"] == 2
    assert [f["id"] for f in job.result["failed"]] == [made["orgs"][1]]
    assert job.result["failed"][0]["error"]
    # The failing record gave its number back: the numbers are still in a row.
    year = utcnow().year
    assert [n for _t, _id, n in documents_made(rt)] == [f"L/{year}/0001", f"L/{year}/0002"]


# --------------------------------------------------------------------- the page and the API


def test_the_page_starts_a_job_and_shows_it(app, rt, made):
    client = app.test_client()
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    page = client.get("/documents/generate-many/organisation")
    assert page.status_code == 200 and ">Letter<" in page.text and ">Mail<" not in page.text
    refused = client.post("/documents/generate-many/organisation",
                          data={"template_id": str(made["letter"]), "record_ids": ""})
    assert refused.status_code == 200 and 'id="e-record_ids"' in refused.text
    wrong = client.post("/documents/generate-many/organisation",
                        data={"template_id": str(made["mail"]), "record_ids": "1"})
    assert 'id="e-template_id"' in wrong.text
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    ids = " ".join(str(i) for i in made["orgs"])
    response = client.post("/documents/generate-many/organisation",
                           data={"template_id": str(made["letter"]), "record_ids": ids})
    assert response.status_code == 302
    with rt.session() as s:
        job_id = s.scalar(select(Job.id))
    assert response.headers["Location"].endswith(f"/jobs/{job_id}")
    shown = client.get(f"/jobs/{job_id}").text
    assert "3 / 3" in shown and "made" in shown
    assert client.get("/documents/generate-many/unit").status_code == 404
    card = client.get(f"/organisations/{made['orgs'][0]}").text
    assert "/documents/generate-many/organisation" in card


def test_the_api_answers_202_with_the_job(app, rt, made):
    with rt.session() as s, s.begin():
        token = tokens.create(s, s.get(User, made["admin"]), "test")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    response = client.post("/api/v1/templates/test.letter/generate-many", headers=headers,
                           json={"record_ids": made["orgs"]})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{body['id']}")
    assert body["kind"] == "documents.bulk" and body["result"]["made"] == 3
    polled = client.get(f"/api/v1/jobs/{body['id']}", headers=headers).get_json()
    assert polled["state"] == "done" and polled["done"] == 3
    refused = client.post("/api/v1/templates/test.mail/generate-many", headers=headers,
                          json={"record_ids": made["orgs"]})
    assert refused.status_code == 422 and "template" in refused.get_json()["errors"]
    empty = client.post("/api/v1/templates/test.letter/generate-many", headers=headers,
                        json={"record_ids": []})
    assert empty.status_code == 422 and "record_ids" in empty.get_json()["errors"]
    assert client.post("/api/v1/templates/test.nothing/generate-many", headers=headers,
                       json={"record_ids": [1]}).status_code == 404
    assert len(documents_made(rt)) == 3

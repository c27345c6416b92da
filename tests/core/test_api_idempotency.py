"""Idempotency-Key on the API's POSTs: a retry gets the first answer and writes nothing
more, a call in flight answers 409, another request under the same key 422, a failed or
refused call leaves the key free, keys are each caller's own and expire."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core import organisations, tokens, users
from core.db import utcnow
from core.models import IdempotencyKey, Organisation, Person

ORG = {"name": "Gmina Kórnik", "type_key": "core.municipality"}


def token_for(rt, email="api@example.com") -> str:
    """A new token (another one at each call) of the account ``email``."""
    with rt.session() as session, session.begin():
        user = users.find_by_email(session, email) or users.create_user(
            session, email, "correct horse battery", is_admin=True)
        return tokens.create(session, user, "test")[1]


def caller(app, token):
    client = app.test_client()

    def call(path, key=None, json=None, method="post", **headers):
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en", **headers}
        if key is not None:
            headers["Idempotency-Key"] = key
        return getattr(client, method)(f"/api/v1{path}", json=json, headers=headers)

    return call


@pytest.fixture
def api(app, rt):
    return caller(app, token_for(rt))


def count(rt, model=Organisation) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------ retries


def test_a_retry_gets_the_first_answer_and_creates_one_record(api, rt):
    first = api("/organizations/", "order-7f3a", ORG)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        again = api("/organizations/", "order-7f3a", ORG)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json() == first.get_json()
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.mimetype == "application/json"
    assert count(rt) == 1


def test_without_the_header_every_call_does_its_work(api, rt):
    assert api("/organizations/?allow_duplicates=true", json=ORG).status_code == 201
    assert api("/organizations/?allow_duplicates=true", json=ORG).status_code == 201
    assert count(rt) == 2


def test_the_same_key_with_another_request_is_refused_and_writes_nothing(api, rt):
    created = api("/organizations/", "k1", ORG).get_json()
    other = api("/organizations/", "k1", {**ORG, "name": "Gmina Mosina"})
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    assert "another request" in other.get_json()["errors"]["Idempotency-Key"]
    # Another query string is another request too.
    assert api("/organizations/?allow_duplicates=true", "k1", ORG).status_code == 422
    assert count(rt) == 1
    with rt.session() as session:
        assert session.get(Organisation, created["id"]).name == "Gmina Kórnik"


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_empty_or_too_long_key_is_refused_naming_the_header(api, rt, key):
    response = api("/organizations/", key, ORG)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "255" in response.get_json()["errors"]["Idempotency-Key"]
    assert count(rt) == 0
    assert api("/organizations/", "x" * 255, ORG).status_code == 201


def test_the_key_works_on_other_posts_too(api, rt):
    person = {"first_name": "Anna", "last_name": "Nowak"}
    first = api("/people/", "person-1", person)
    assert first.status_code == 201
    again = api("/people/", "person-1", person)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    # The same key on another path is another key.
    assert api("/organizations/", "person-1", {**ORG, "name": "Gmina Mosina"}).status_code \
        == 201
    assert count(rt) == 1 and count(rt, Person) == 1


def test_a_retried_upload_gets_the_first_answer(app, rt):
    """A multipart body's boundary is new in each request: the fields and files count."""
    client, token = app.test_client(), token_for(rt)

    def upload(content: bytes, key="list-1"):
        return client.post("/api/v1/unsubscribes/", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), "list.csv")},
                           headers={"Authorization": f"Bearer {token}",
                                    "Idempotency-Key": key, "Accept-Language": "en"})

    first = upload(b"email\nanna@example.org\n")
    assert first.status_code == 200 and first.get_json()["added"] == 1
    again = upload(b"email\nanna@example.org\n")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = upload(b"email\nbeata@example.org\n")
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


# ------------------------------------------------------------------ in flight


def test_a_duplicate_arriving_while_the_first_is_answered_gets_409(
        app, rt, kartoteka_app_factory, monkeypatch):
    token = token_for(rt)
    api = caller(app, token)
    # The duplicate comes to another process of the installation, as a retry would.
    other = caller(kartoteka_app_factory(default_locale="en"), token)
    seen = []
    create = organisations.create

    def slow_create(*args, **kwargs):
        seen.append(other("/organizations/", "k-flight", ORG))
        return create(*args, **kwargs)

    monkeypatch.setattr(organisations, "create", slow_create)
    first = api("/organizations/", "k-flight", ORG)
    monkeypatch.setattr(organisations, "create", create)
    assert first.status_code == 201
    assert seen[0].status_code == 409 and seen[0].mimetype == "application/problem+json"
    assert "still being answered" in seen[0].get_json()["detail"]
    assert count(rt) == 1
    # Once answered, the retry gets the answer.
    again = other("/organizations/", "k-flight", ORG)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]


def test_a_claim_left_in_flight_by_a_dead_process_is_taken_over(api, rt):
    first = api("/organizations/?allow_duplicates=true", "k-dead", ORG)
    assert first.status_code == 201
    # As if the process had died while answering: no answer kept.
    for minutes, status in ((5, 409), (11, 201)):
        with rt.session() as session, session.begin():
            session.execute(update(IdempotencyKey).values(
                status=None, body=None, created_at=utcnow() - timedelta(minutes=minutes)))
        assert api("/organizations/?allow_duplicates=true", "k-dead", ORG).status_code \
            == status
    assert count(rt) == 2


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize("propagate", [True, False])
def test_a_failed_first_attempt_writes_nothing_and_can_be_retried(
        app, api, rt, monkeypatch, propagate):
    app.config["PROPAGATE_EXCEPTIONS"] = propagate
    create = organisations.create

    def failing(*args, **kwargs):
        create(*args, **kwargs)  # written, not committed
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(organisations, "create", failing)
    if propagate:
        with pytest.raises(RuntimeError):
            api("/organizations/", "k-fail", ORG)
    else:
        response = api("/organizations/", "k-fail", ORG)
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"
    assert count(rt) == 0 and count(rt, IdempotencyKey) == 0
    monkeypatch.setattr(organisations, "create", create)
    retry = api("/organizations/", "k-fail", ORG)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert count(rt) == 1


def test_a_refused_call_leaves_the_key_free_for_the_corrected_one(api, rt):
    refused = api("/organizations/", "k-fix", {**ORG, "nip": "123"})
    assert refused.status_code == 422 and "nip" in refused.get_json()["errors"]
    assert count(rt, IdempotencyKey) == 0
    assert api("/organizations/", "k-fix", ORG).status_code == 201
    # A likely duplicate (409) is a refusal too: saving it anyway may take the same key.
    duplicate = api("/organizations/", "k-dup", ORG)
    assert duplicate.status_code == 409 and duplicate.get_json()["duplicates"]
    saved = api("/organizations/?allow_duplicates=true", "k-dup", ORG)
    assert saved.status_code == 201 and "Idempotent-Replayed" not in saved.headers
    assert count(rt) == 2


def test_a_key_is_not_claimed_for_a_call_refused_for_its_credentials(app, rt):
    anonymous = app.test_client().post("/api/v1/organizations/", json=ORG,
                                       headers={"Idempotency-Key": "k-anon"})
    assert anonymous.status_code == 401
    assert count(rt, IdempotencyKey) == 0


# ------------------------------------------------------------------ callers


def test_keys_of_one_token_are_invisible_to_another(app, rt):
    first = caller(app, token_for(rt))
    second = caller(app, token_for(rt))  # the same account's other token
    someone = caller(app, token_for(rt, "other@example.com"))
    path = "/organizations/?allow_duplicates=true"
    ids = {api(path, "shared-key", ORG).get_json()["id"] for api in (first, second, someone)}
    assert len(ids) == 3 and count(rt) == 3
    replay = first(path, "shared-key", ORG)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == min(ids)


def test_the_uis_session_calls_have_keys_of_their_own(app, rt, kartoteka_login):
    api = caller(app, token_for(rt, "admin@example.com"))
    client = kartoteka_login(app.test_client())  # the same account, with the session
    csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/").get_data(as_text=True)).group(1)
    headers = {"X-CSRFToken": csrf, "Idempotency-Key": "ui-1"}
    path = "/api/v1/organizations/?allow_duplicates=true"
    first = client.post(path, json=ORG, headers=headers)
    assert first.status_code == 201
    again = client.post(path, json=ORG, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    by_token = api("/organizations/?allow_duplicates=true", "ui-1", ORG)
    assert by_token.status_code == 201 and "Idempotent-Replayed" not in by_token.headers
    assert count(rt) == 2


# ------------------------------------------------------------------ expiry


def test_keys_expire_after_a_day_and_the_minutely_sweep_deletes_them(api, rt):
    api("/organizations/", "old", ORG)
    with rt.session() as session, session.begin():
        session.execute(update(IdempotencyKey).values(
            created_at=utcnow() - timedelta(hours=24, minutes=1)))
    api("/organizations/?allow_duplicates=true", "young", ORG)
    rt.jobs.minutely()
    assert count(rt, IdempotencyKey) == 1
    # The expired key is free again; the young one still answers as before.
    assert api("/organizations/?allow_duplicates=true", "old", ORG).status_code == 201
    assert api("/organizations/?allow_duplicates=true", "young", ORG).headers[
        "Idempotent-Replayed"] == "true"
    assert count(rt) == 3


def test_an_expired_key_not_yet_swept_is_free(api, rt):
    api("/organizations/", "k-old", ORG)
    with rt.session() as session, session.begin():
        session.execute(update(IdempotencyKey).values(
            created_at=utcnow() - timedelta(hours=25)))
    other = api("/organizations/", "k-old", {**ORG, "name": "Gmina Mosina"})
    assert other.status_code == 201 and count(rt) == 2


# ------------------------------------------------------------------ OpenAPI


def test_the_openapi_document_offers_the_header_on_every_post(api):
    spec = api("/openapi.json", method="get").get_json()
    header = spec["components"]["parameters"]["IdempotencyKey"]
    assert header["in"] == "header" and header["name"] == "Idempotency-Key"
    assert header["schema"]["maxLength"] == 255 and not header["required"]
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    posts = [(url, ops) for url, ops in spec["paths"].items() if "post" in ops]
    assert len(posts) > 5
    for url, operations in posts:
        assert ref in operations["post"]["parameters"], url
        for method in set(operations) - {"post", "parameters"}:
            assert ref not in operations[method].get("parameters", []), (url, method)

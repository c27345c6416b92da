"""The mailings API: drafts written, checked, previewed and sent to consenting people
only, schedules, jobs one may watch, refused input, permissions, unsubscribe lists."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import consents, roles, tokens, unsubscribe, users
from core.db import utcnow
from core.models import Mailing
from mail_helpers import LETTER, newsletter_audience

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory, kartoteka_smtp):
    return kartoteka_app_factory(default_locale="en", public_url="https://crm.example.org",
                                 **kartoteka_smtp.settings())


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def made(app, rt):
    """Callers (an administrator, a sender with the permission to send mailings, a rep
    without it), a newsletter purpose, the template, and three people: Anna consented,
    Bogdan did not, Cezary consented but his address is on the no-marketing list."""
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        sender = users.create_user(s, "sender@example.com", PASSWORD)
        rep = users.create_user(s, "rep@example.com", PASSWORD)
        mailings = roles.create(s, "mailings", "Mailings")
        roles.set_permissions(s, mailings, ["core.send_mailings"])
        roles.assign(s, sender, ["staff", "mailings"])
        ids = newsletter_audience(s, admin)
        ids.pop("template")
        callers = {u.email.split("@")[0]: tokens.create(s, u, "test")[1]
                   for u in (admin, sender, rep)}

    client = app.test_client()

    class Made:
        pass

    for name, token in callers.items():
        setattr(Made, name, _caller(client, token))
    for name, person_id in ids.items():
        setattr(Made, name, person_id)
    return Made


def _caller(client, token):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def draft(made, **changes) -> dict:
    return {"name": "Zaproszenie", "template": LETTER.key, "kind": "marketing",
            "purpose": "newsletter", "audience": "people",
            "person_ids": [made.Anna, made.Bogdan, made.Cezary], **changes}


def create(made, api=None, **changes) -> dict:
    response = (api or made.sender)("post", "/mailings/", json=draft(made, **changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Mailing))


# ------------------------------------------------------------------ the happy path


def test_a_mailing_is_written_read_and_sent_to_consenting_people_only(made, kartoteka_smtp):
    body = create(made)
    assert (body["state"], body["template"], body["purpose"]) == \
        ("draft", LETTER.key, "newsletter")
    assert body["person_ids"] == [made.Anna, made.Bogdan, made.Cezary]
    mailing_id = body["id"]

    read = made.sender("get", f"/mailings/{mailing_id}").get_json()
    assert read["reach"] == {"total": 3, "receive": 1, "left_out": {
        "no_address": 0, "no_consent": 1, "suppressed": 1}}
    assert read["stats"]["recipients"] == 0

    changed = made.sender("patch", f"/mailings/{mailing_id}", json={"name": "Zaproszenie 2"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["name"] == "Zaproszenie 2"
    assert changed.get_json()["template"] == LETTER.key  # the rest stays as it was

    listed = made.sender("get", "/mailings/?limit=1")
    assert listed.status_code == 200
    assert [m["id"] for m in listed.get_json()["items"]] == [mailing_id]

    preview = made.sender("get", f"/mailings/{mailing_id}/preview?person_id={made.Anna}")
    assert preview.status_code == 200, preview.get_json()
    found = preview.get_json()
    assert found["subject"] == "Zaproszenie dla Anna Nowak"
    assert "Dzień dobry Anna!" in found["text"] and "Dzień dobry Anna!" in found["html"]
    assert "unsubscribe" in found["text"]
    assert kartoteka_smtp.messages == []  # a preview sends nothing

    sent = made.sender("post", f"/mailings/{mailing_id}/send", json={})
    assert sent.status_code == 202, sent.get_json()
    job_id = sent.get_json()["job_id"]
    assert sent.headers["Location"].endswith(f"/api/v1/jobs/{job_id}")
    assert [m["To"] for m in kartoteka_smtp.messages] == ["Anna Nowak <anna@example.org>"]
    assert kartoteka_smtp.messages[0]["Subject"] == "Zaproszenie dla Anna Nowak"

    job = made.sender("get", f"/jobs/{job_id}")
    assert job.status_code == 200
    job = job.get_json()
    assert (job["state"], job["done"], job["total"], job["percent"]) == ("done", 3, 3, 100)
    assert job["result"]["queued"] == 1 and job["error"] == ""

    messages = made.sender("get", f"/mailings/{mailing_id}/messages").get_json()
    assert [(m["to"], m["state"], m["person_id"]) for m in messages["items"]] == \
        [("anna@example.org", "sent", made.Anna)]
    assert messages["items"][0]["message_id"] == kartoteka_smtp.messages[0]["Message-ID"]
    assert messages["items"][0]["sent_at"] and messages["next"] is None

    after = made.sender("get", f"/mailings/{mailing_id}").get_json()
    assert after["state"] in ("sending", "done") and after["reach"] is None
    assert after["stats"]["sent"] == 1
    assert after["stats"]["left_out_no_consent"] == 1
    assert after["stats"]["left_out_suppressed"] == 1

    again = made.sender("post", f"/mailings/{mailing_id}/send", json={})
    assert again.status_code == 422 and "mailing" in again.get_json()["errors"]
    late = made.sender("patch", f"/mailings/{mailing_id}", json={"name": "Too late"})
    assert late.status_code == 422 and "mailing" in late.get_json()["errors"]
    assert len(kartoteka_smtp.messages) == 1


def test_a_mailing_is_scheduled_then_cancelled_back_to_draft(made, kartoteka_smtp):
    mailing_id = create(made)["id"]
    at = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    scheduled = made.sender("post", f"/mailings/{mailing_id}/send",
                            json={"at": at.isoformat()})
    assert scheduled.status_code == 200, scheduled.get_json()
    body = scheduled.get_json()
    assert body["state"] == "scheduled" and body["job_id"] is None
    assert body["scheduled_at"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert made.sender("patch", f"/mailings/{mailing_id}",
                       json={"note": "for the spring"}).status_code == 200

    cancelled = made.sender("post", f"/mailings/{mailing_id}/cancel")
    assert cancelled.status_code == 200, cancelled.get_json()
    assert (cancelled.get_json()["state"], cancelled.get_json()["held_back"]) == ("draft", 0)
    again = made.sender("post", f"/mailings/{mailing_id}/cancel")
    assert again.status_code == 422 and "mailing" in again.get_json()["errors"]
    assert kartoteka_smtp.messages == []


# ------------------------------------------------------------------ refused input


def test_marketing_mail_without_a_purpose_is_refused_naming_the_field(rt, made):
    data = draft(made)
    del data["purpose"]
    response = made.sender("post", "/mailings/", json=data)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["purpose"]
    assert count(rt) == 0


@pytest.mark.parametrize("changes, field", [
    ({"template": "no.such_template"}, "template"),
    ({"audience": "everyone"}, "audience"),
    ({"person_ids": []}, "person_ids"),
    ({"person_ids": [987654]}, "person_ids"),
    ({"kind": "spam"}, "kind"),
    ({"purpose": "no_such_purpose"}, "purpose"),
    ({"name": ""}, "name"),
    ({"state": "done"}, "state"),  # not writable
    ({"person_ids": "1,2"}, "person_ids"),
])
def test_bad_input_is_refused_and_nothing_is_written(rt, made, changes, field):
    response = made.sender("post", "/mailings/", json=draft(made, **changes))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(rt) == 0


def test_a_schedule_must_be_in_the_future_and_have_a_time_zone(made, kartoteka_smtp):
    mailing_id = create(made)["id"]
    past = (utcnow() - timedelta(hours=1)).isoformat()
    for at in (past, "2099-01-01T10:00:00", "tomorrow"):
        response = made.sender("post", f"/mailings/{mailing_id}/send", json={"at": at})
        assert response.status_code == 422, (at, response.get_json())
        assert list(response.get_json()["errors"]) == ["at"]
    assert made.sender("get", f"/mailings/{mailing_id}").get_json()["state"] == "draft"
    assert kartoteka_smtp.messages == []


def test_unknown_mailings_and_people_are_404(made):
    mailing_id = create(made)["id"]
    assert made.sender("get", "/mailings/987654").status_code == 404
    assert made.sender("post", "/mailings/987654/send", json={}).status_code == 404
    assert made.sender("get", f"/mailings/{mailing_id}/preview?person_id=987654"
                       ).status_code == 404
    assert made.sender("get", f"/mailings/{mailing_id}/preview").status_code == 422


# ------------------------------------------------------------------ permissions


def test_everything_needs_the_permission_to_send_mailings(rt, made):
    mailing_id = create(made)["id"]
    job_id = made.sender("post", f"/mailings/{mailing_id}/send", json={}).get_json()["job_id"]
    for method, path, kwargs in (
            ("get", "/mailings/", {}),
            ("post", "/mailings/", {"json": draft(made)}),
            ("get", f"/mailings/{mailing_id}", {}),
            ("patch", f"/mailings/{mailing_id}", {"json": {"name": "Mine"}}),
            ("post", f"/mailings/{mailing_id}/send", {"json": {}}),
            ("post", f"/mailings/{mailing_id}/cancel", {}),
            ("get", f"/mailings/{mailing_id}/preview?person_id={made.Anna}", {}),
            ("get", f"/mailings/{mailing_id}/messages", {}),
            ("post", "/unsubscribes/", {"json": {"addresses": ["x@example.org"]}})):
        response = made.rep(method, path, **kwargs)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.mimetype == "application/problem+json"
    assert made.rep("get", f"/jobs/{job_id}").status_code == 404  # the sender's job
    assert count(rt) == 1


def test_a_job_started_by_someone_else_is_404(made):
    mailing_id = create(made, api=made.admin)["id"]
    sent = made.admin("post", f"/mailings/{mailing_id}/send")  # the body may be left out
    assert sent.status_code == 202, sent.get_json()
    job_id = sent.get_json()["job_id"]
    assert made.admin("get", f"/jobs/{job_id}").status_code == 200
    assert made.sender("get", f"/jobs/{job_id}").status_code == 404
    assert made.sender("get", "/jobs/987654").status_code == 404


# ------------------------------------------------------------------ unsubscribe lists


def test_unsubscribed_addresses_are_imported_as_json(rt, made):
    response = made.sender("post", "/unsubscribes/", json={
        "addresses": ["ANNA@example.org", "not-an-address", "new@example.org",
                      "cezary@example.org"], "purpose": "newsletter"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"added": 2, "known": 1, "withdrawn": 2, "invalid": [1]}
    with rt.session() as s:
        assert not consents.has_consent(s, made.Anna, "newsletter")
        assert unsubscribe.is_suppressed(s, "new@example.org")


def test_unsubscribed_addresses_are_imported_from_a_csv_file(rt, made):
    data = {"file": (io.BytesIO(b"name,email\nAnna,anna@example.org\nX,nope\n"), "list.csv"),
            "purpose": "newsletter"}
    response = made.sender("post", "/unsubscribes/", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"added": 1, "known": 0, "withdrawn": 1, "invalid": [3]}
    with rt.session() as s:
        assert not consents.has_consent(s, made.Anna, "newsletter")
        assert unsubscribe.is_suppressed(s, "anna@example.org")


@pytest.mark.parametrize("body, field", [
    ({"addresses": ["a@example.org"], "purpose": "no_such_purpose"}, "purpose"),
    ({"addresses": []}, "addresses"),
    ({"addresses": "a@example.org"}, "addresses"),
    ({}, "addresses"),
])
def test_bad_unsubscribe_lists_are_refused(rt, made, body, field):
    response = made.sender("post", "/unsubscribes/", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    with rt.session() as s:
        assert not unsubscribe.is_suppressed(s, "a@example.org")


def test_an_unsubscribe_upload_needs_a_file(made):
    response = made.sender("post", "/unsubscribes/", data={"purpose": "newsletter"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


# ------------------------------------------------------------------ OpenAPI


def test_the_openapi_document_describes_the_mailing_routes(made):
    spec = made.admin("get", "/openapi.json").get_json()
    for path in ("/api/v1/mailings/", "/api/v1/mailings/{mailing_id}",
                 "/api/v1/mailings/{mailing_id}/send", "/api/v1/mailings/{mailing_id}/cancel",
                 "/api/v1/mailings/{mailing_id}/preview",
                 "/api/v1/mailings/{mailing_id}/messages", "/api/v1/jobs/{job_id}",
                 "/api/v1/unsubscribes/"):
        assert path in spec["paths"], path
    assert "purpose" in spec["components"]["schemas"]["MailingIn"]["properties"]

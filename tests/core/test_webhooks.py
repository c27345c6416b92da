"""Webhooks: subscriptions through the API and the pages, events written with the change
that makes them, signed POSTs a Standard Webhooks library accepts, retries with growing
pauses, the delivery log, and addresses inside the network refused by default."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook as Verifier
from werkzeug import Response

from core import outbox, people, records, roles, tokens, users, webhook_delivery, webhooks
from core.db import utcnow
from core.models import Person, Webhook, WebhookDelivery


class Receiver:
    """The integrator's end: answers each POST with the next of ``answers`` (then 200)
    and keeps what came."""

    def __init__(self, httpserver):
        self.server, self.answers, self.got = httpserver, [], []
        httpserver.expect_request("/hook", method="POST").respond_with_handler(self._answer)
        self.url = httpserver.url_for("/hook")

    def _answer(self, request):
        self.got.append((dict(request.headers), request.get_data()))
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return Response("received" if status < 300 else "broken", status, headers)

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.got]


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", webhook_private_addresses=True)


@pytest.fixture
def receiver(httpserver):
    return Receiver(httpserver)


@pytest.fixture
def api(app, rt):
    with rt.session() as session, session.begin():
        admin = users.create_user(session, "integrator@example.com", "correct horse battery",
                                  is_admin=True)
        token = tokens.create(session, admin, "test")[1]
    client = app.test_client()

    def call(method, path, **kwargs):
        kwargs["headers"] = {"Authorization": f"Bearer {token}", "Accept-Language": "en",
                             **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def subscribe(api, url, events=("person.created",), **extra) -> dict:
    response = api("post", "/webhooks/", json={"name": "Accounting", "url": url,
                                                "events": list(events), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_person(rt, last_name="Nowak", **extra) -> int:
    with rt.session() as session, session.begin():
        return people.create(session, {"first_name": "Anna", "last_name": last_name,
                                       **extra}).id


def deliveries(rt) -> list[WebhookDelivery]:
    with rt.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def make_due(rt) -> None:
    with rt.session() as session, session.begin():
        for d in session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.state == "queued")):
            d.next_attempt_at = utcnow() - timedelta(seconds=1)


# ------------------------------------------------------------------ delivering


def test_an_event_arrives_signed_so_that_a_standard_webhooks_library_accepts_it(
        api, rt, receiver):
    hook = subscribe(api, receiver.url)
    assert hook["secret"].startswith("whsec_")
    person_id = add_person(rt)

    assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    payload = Verifier(hook["secret"]).verify(body, headers)
    assert payload["type"] == "person.created"
    assert payload["data"]["id"] == person_id and payload["data"]["label"] == "Anna Nowak"
    assert payload["data"]["changes"]["last_name"] == [None, "Nowak"]
    assert headers["Content-Type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        Verifier(hook["secret"]).verify(body.replace(b"Nowak", b"Kowal"), headers)

    log = api("get", f"/webhooks/{hook['id']}/deliveries").get_json()
    assert [(d["event"], d["state"], d["status_code"], d["attempts"]) for d in log] == [
        ("person.created", "delivered", 200, 1)]
    assert log[0]["event_id"] == headers["Webhook-Id"]


def test_a_change_that_is_rolled_back_is_never_told(api, rt, receiver):
    subscribe(api, receiver.url)
    with rt.session() as session:
        people.create(session, {"first_name": "Anna", "last_name": "Nowak"})
        session.rollback()
    assert receiver.got == [] and deliveries(rt) == []


def test_only_the_chosen_events_are_sent_and_a_star_takes_them_all(api, rt, receiver,
                                                                    httpserver):
    subscribe(api, receiver.url, events=["person.updated"])
    person_id = add_person(rt)
    assert receiver.got == []
    with rt.session() as session, session.begin():
        person = session.get(Person, person_id)
        people.update(session, person, {"first_name": "Anna", "last_name": "Kowalska"})
    assert [e["type"] for e in receiver.events()] == ["person.updated"]
    assert receiver.events()[0]["data"]["changes"]["last_name"] == ["Nowak", "Kowalska"]

    subscribe(api, receiver.url, events=["*"])
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Person, person_id))
    with rt.session() as session, session.begin():
        records.restore(session, session.get(Person, person_id))
    assert [e["type"] for e in receiver.events()[1:]] == ["person.deleted", "person.restored"]


def test_a_refused_delivery_is_tried_again_later_with_the_same_event_id(api, rt, receiver):
    subscribe(api, receiver.url)
    receiver.answers = [(500, {}), (503, {"Retry-After": "600"})]
    add_person(rt)
    (first,) = deliveries(rt)
    assert (first.state, first.attempts, first.status_code) == ("queued", 1, 500)
    assert "500" in first.error and first.response == "broken"
    assert timedelta(seconds=25) < first.next_attempt_at - utcnow() <= timedelta(seconds=30)

    make_due(rt)
    webhook_delivery.deliver(rt, "test")
    (second,) = deliveries(rt)
    assert (second.state, second.attempts, second.status_code) == ("queued", 2, 503)
    # The receiver's Retry-After is longer than the pause after a second failure.
    assert second.next_attempt_at - utcnow() > timedelta(minutes=9)

    make_due(rt)
    webhook_delivery.deliver(rt, "test")
    (third,) = deliveries(rt)
    assert (third.state, third.attempts, third.status_code) == ("delivered", 3, 200)
    assert len({h["Webhook-Id"] for h, _body in receiver.got}) == 1
    assert len(receiver.got) == 3


def test_after_the_last_attempt_a_delivery_has_failed(api, rt, receiver):
    subscribe(api, receiver.url)
    receiver.answers = [(500, {})] * (len(webhook_delivery.PAUSES) + 1)
    add_person(rt)
    for _ in webhook_delivery.PAUSES:
        make_due(rt)
        webhook_delivery.deliver(rt, "test")
    (delivery,) = deliveries(rt)
    assert (delivery.state, delivery.attempts) == ("failed", len(webhook_delivery.PAUSES) + 1)
    make_due(rt)
    assert webhook_delivery.deliver(rt, "test") == 0


def test_a_receiver_that_cannot_be_reached_is_tried_again(api, rt):
    subscribe(api, "http://127.0.0.1:9/hook")  # the discard port: nothing listens
    add_person(rt)
    (delivery,) = deliveries(rt)
    assert delivery.state == "queued" and delivery.status_code is None
    assert "ConnectError" in delivery.error


def test_a_paused_subscription_keeps_its_events_until_it_is_active_again(api, rt, receiver):
    hook = subscribe(api, receiver.url, active=False)
    add_person(rt)
    assert receiver.got == [] and [d.state for d in deliveries(rt)] == ["queued"]
    etag = api("get", f"/webhooks/{hook['id']}").headers["ETag"]
    assert api("patch", f"/webhooks/{hook['id']}", json={"active": True},
               headers={"If-Match": etag}).status_code == 200
    webhook_delivery.deliver(rt, "test")
    assert [e["type"] for e in receiver.events()] == ["person.created"]


def test_a_worker_that_died_mid_delivery_leaves_it_to_be_sent_again(api, rt, receiver):
    subscribe(api, receiver.url, active=False)
    add_person(rt)
    with rt.session() as session, session.begin():
        session.execute(Webhook.__table__.update().values(active=True))
    assert webhook_delivery.claim(rt, "dead-worker", 10)
    assert webhook_delivery.deliver(rt, "test") == 0  # still leased to the dead worker
    # The lease lasts while ten receivers could each take their whole timeout.
    assert webhook_delivery.recover(rt, now=utcnow() + timedelta(seconds=100)) == 0
    assert webhook_delivery.recover(rt, now=utcnow() + timedelta(minutes=3)) == 1
    webhook_delivery.deliver(rt, "test")
    assert [d.state for d in deliveries(rt)] == ["delivered"]


def test_addresses_inside_the_network_are_refused_unless_allowed(kartoteka_app_factory,
                                                                  receiver):
    app = kartoteka_app_factory(default_locale="en")
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        webhooks.create(session, {"name": "Inside", "url": receiver.url,
                                  "events": ["person.created"]})
    add_person(rt)
    (delivery,) = deliveries(rt)
    assert receiver.got == []
    assert delivery.state == "failed" and "127.0.0.1" in delivery.error
    assert "webhook_private_addresses" in delivery.error


def test_a_renewed_secret_signs_the_next_deliveries(api, rt, receiver):
    hook = subscribe(api, receiver.url)
    renewed = api("post", f"/webhooks/{hook['id']}/secret").get_json()["secret"]
    assert renewed != hook["secret"]
    add_person(rt)
    headers, body = receiver.got[0]
    assert Verifier(renewed).verify(body, headers)["type"] == "person.created"
    with pytest.raises(Exception, match="signature"):
        Verifier(hook["secret"]).verify(body, headers)


def test_a_test_event_and_a_redelivery_from_the_api(api, rt, receiver):
    hook = subscribe(api, receiver.url)
    tested = api("post", f"/webhooks/{hook['id']}/test")
    assert tested.status_code == 202 and tested.get_json()["state"] == "delivered"
    assert receiver.events()[0]["type"] == "webhook.test"
    again = api("post", f"/webhooks/{hook['id']}/deliveries/{tested.get_json()['id']}"
                        "/redeliver").get_json()
    assert again["event_id"] == tested.get_json()["event_id"] and again["id"] != tested.json["id"]
    assert [e["type"] for e in receiver.events()] == ["webhook.test", "webhook.test"]


def test_bulk_created_records_are_told_one_by_one(api, rt, receiver):
    from core import bulk

    subscribe(api, receiver.url)
    with rt.session() as session, session.begin():
        assert bulk.listened(session, bulk.CREATED)
    with rt.session() as session:
        assert not webhooks.wanted(session, ".deleted")


def test_a_delivered_e_mail_is_told(kartoteka_app_factory, kartoteka_smtp, receiver):
    app = kartoteka_app_factory(default_locale="en", webhook_private_addresses=True,
                                **kartoteka_smtp.settings())
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        webhooks.create(session, {"name": "Mail", "url": receiver.url,
                                  "events": ["message.delivered"]})
        outbox.queue(session, [outbox.Draft("anna@example.org", "Hello", "Text")])
    outbox.deliver(rt, "test")
    (told,) = receiver.events()
    assert told["type"] == "message.delivered" and told["data"]["to"] == "anna@example.org"


# ------------------------------------------------------------------ managing


def test_bad_subscriptions_get_a_message_for_each_field(api, rt):
    response = api("post", "/webhooks/", json={"name": "", "url": "ftp://example.org",
                                                "events": ["person.eaten"]})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"name", "url", "events"} and "person.eaten" in errors["events"]
    assert api("post", "/webhooks/", json={"name": "X", "url": "https://example.org",
                                            "events": []}).get_json()["errors"]["events"]
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Webhook)) == 0


def test_a_stale_etag_is_refused(api):
    hook = subscribe(api, "https://example.org/hook")
    assert api("patch", f"/webhooks/{hook['id']}", json={"name": "B"}).status_code == 428
    assert api("patch", f"/webhooks/{hook['id']}", json={"name": "B"},
               headers={"If-Match": '"1"'}).status_code == 200
    assert api("patch", f"/webhooks/{hook['id']}", json={"name": "C"},
               headers={"If-Match": '"1"'}).status_code == 412


def test_the_secret_is_not_in_lists_and_the_events_are_offered_in_the_installations_terms(api):
    subscribe(api, "https://example.org/hook")
    listed = api("get", "/webhooks/").get_json()
    assert "secret" not in listed[0]
    offered = {e["key"]: e["label"] for e in api("get", "/webhooks/events").get_json()}
    assert {"person.created", "organisation.updated", "case.moved",
            "message.delivered"} <= set(offered)
    assert offered["case.moved"] == "Case: moved to another phase"
    polish = api("get", "/webhooks/events", headers={"Accept-Language": "pl"}).get_json()
    assert any("Osoba" in e["label"] for e in polish)
    assert {e["key"]: e["label"] for e in polish}["case.moved"] == \
        "Sprawa: przejście do innego etapu"


def test_webhooks_need_their_permission(app, rt, api):
    hook = subscribe(api, "https://example.org/hook")
    with rt.session() as session, session.begin():
        clerk = users.create_user(session, "clerk@example.com", "correct horse battery")
        roles.assign(session, clerk, [roles.STAFF])
        token = tokens.create(session, clerk, "t")[1]
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    for method, path in [("get", "/webhooks/"), ("get", f"/webhooks/{hook['id']}"),
                         ("post", f"/webhooks/{hook['id']}/secret"),
                         ("get", "/webhooks/events")]:
        assert getattr(client, method)(f"/api/v1{path}", headers=auth).status_code == 403


def test_deleting_a_subscription_removes_its_log(api, rt, receiver):
    hook = subscribe(api, receiver.url)
    add_person(rt)
    assert api("delete", f"/webhooks/{hook['id']}").status_code == 204
    assert deliveries(rt) == []
    assert api("get", f"/webhooks/{hook['id']}").status_code == 404


# ------------------------------------------------------------------ the pages


def test_an_administrator_keeps_webhooks_in_the_pages(client, rt, receiver):
    page = client.get("/admin/webhooks/new")
    assert b"person.created" in page.data
    refused = client.post("/admin/webhooks/new", data={"name": "", "url": "nonsense"})
    assert refused.status_code == 200 and b"Give the webhook a name." in refused.data
    assert b"Choose at least one event." in refused.data

    added = client.post("/admin/webhooks/new", data={
        "name": "Accounting", "url": receiver.url, "events": ["person.created"],
        "active": "1"})
    assert added.status_code == 302
    with rt.session() as session:
        hook = session.scalars(select(Webhook)).one()
    shown = client.get(added.headers["Location"])
    assert hook.secret.encode() in shown.data

    add_person(rt)
    log = client.get(f"/admin/webhooks/{hook.id}")
    assert b"person.created" in log.data and b"HTTP 200" in log.data
    (delivery,) = deliveries(rt)
    detail = client.get(f"/admin/webhooks/{hook.id}/deliveries/{delivery.id}")
    assert b"Nowak" in detail.data and delivery.event_id.encode() in detail.data
    client.post(f"/admin/webhooks/{hook.id}/deliveries/{delivery.id}/redeliver")
    client.post(f"/admin/webhooks/{hook.id}/test")
    assert [e["type"] for e in receiver.events()] == ["person.created", "person.created",
                                                      "webhook.test"]

    paused = client.post(f"/admin/webhooks/{hook.id}", data={
        "name": "Accounting", "url": receiver.url, "events": ["person.created"],
        "version": str(hook.version)})
    assert paused.status_code == 302
    with rt.session() as session:
        assert session.get(Webhook, hook.id).active is False
    assert b"Accounting" in client.get("/admin/webhooks/").data
    client.post(f"/admin/webhooks/{hook.id}/delete")
    with rt.session() as session:
        assert session.get(Webhook, hook.id) is None

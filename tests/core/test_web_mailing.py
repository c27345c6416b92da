"""The pages of mailings: composing one (errors by field), its reach and preview, a test
to oneself, sending and the counts, scheduling and stopping, the job's progress as
JSON, the unsubscribed-address import, and who may open them."""

import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core import consents, unsubscribe, users
from core.models import Mailing, OutboxMessage
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD
from mail_helpers import newsletter_audience
from page_helpers import count, text


@pytest.fixture
def app(kartoteka_app_factory, kartoteka_smtp):
    return kartoteka_app_factory(default_locale="en", public_url="https://crm.example.org",
                                 **kartoteka_smtp.settings())


@pytest.fixture
def made(app):
    """The administrator, a newsletter purpose, the template and three people: Anna
    consented, Bogdan did not, Cezary consented but his address is suppressed."""
    rt = app.extensions["kartoteka"]
    with app.app_context(), rt.session() as s, s.begin():
        admin = users.create_user(s, ADMIN_EMAIL, ADMIN_PASSWORD, "Ada Admin", is_admin=True)
        return {"admin": admin.id, **newsletter_audience(s, admin)}


@pytest.fixture
def client(app, made, kartoteka_login):
    return kartoteka_login(app.test_client())


def error_under(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{re.escape(name)}"[^>]*>(.*?)</span>', page,
                      re.S)
    return found.group(1) if found else None


def form(made, **changes) -> dict:
    return {"name": "Zaproszenie", "template": made["template"], "kind": "marketing",
            "purpose": "newsletter", "audience": "people",
            "person_ids": f"{made['Anna']}, {made['Bogdan']}, {made['Cezary']}", **changes}


def create(client, made, **changes) -> int:
    response = client.post("/mailings/new", data=form(made, **changes))
    assert response.status_code == 303, text(response)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def stored(app, mailing_id) -> Mailing:
    with app.extensions["kartoteka"].session() as s:
        found = s.get(Mailing, mailing_id)
        s.expunge(found)
        return found


def test_missing_fields_are_shown_by_the_fields_and_nothing_is_written(app, client, made):
    response = client.post("/mailings/new", data={
        "name": " ", "template": "", "kind": "marketing", "purpose": "",
        "audience": "people", "person_ids": f"{made['Anna']}, Bogdan"})
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "name") and error_under(page, "template")
    assert "consent" in error_under(page, "purpose")
    assert error_under(page, "person_ids")
    assert count(app, Mailing) == 0
    segment = text(client.post("/mailings/new", data=form(made, audience="segment")))
    assert error_under(segment, "segment_id")
    typo = text(client.post("/mailings/new", data=form(made, person_ids=f"{made['Anna']}, x")))
    assert error_under(typo, "person_ids") and not error_under(typo, "name")
    assert 'value="Zaproszenie"' in typo  # what was typed is kept
    assert count(app, Mailing) == 0


def test_a_mailing_is_created_with_its_reach_and_a_personalised_preview(app, client, made):
    mailing_id = create(client, made)
    found = stored(app, mailing_id)
    assert found.state == "draft" and found.kind == "marketing"
    assert found.purpose_key == "newsletter"
    assert found.person_ids == [made["Anna"], made["Bogdan"], made["Cezary"]]
    page = text(client.get(f"/mailings/{mailing_id}"))
    assert "Will receive it: 1" in page and "In the audience: 3" in page
    assert "Left out, no valid consent: 1" in page
    assert "Left out, address on the no-marketing list: 1" in page
    subject = re.search(r'class="preview-subject">(.*?)<', page).group(1)
    assert subject == "Zaproszenie dla Anna Nowak"  # the first of the audience
    as_bogdan = text(client.get(f"/mailings/{mailing_id}?person={made['Bogdan']}"))
    assert 'class="preview-subject">Zaproszenie dla Bogdan Lis<' in as_bogdan
    assert "Dzień dobry Bogdan!" in as_bogdan
    assert "Zaproszenie" in text(client.get("/mailings/"))


def test_send_test_goes_to_me_only(app, client, made, kartoteka_smtp):
    mailing_id = create(client, made)
    response = client.post(f"/mailings/{mailing_id}/test", data={"person": made["Bogdan"]})
    assert response.status_code == 303
    assert [m["Subject"] for m in kartoteka_smtp.messages] == ["[Test] Zaproszenie dla Bogdan Lis"]
    assert ADMIN_EMAIL in kartoteka_smtp.messages[0]["To"]
    assert stored(app, mailing_id).state == "draft"
    assert count(app, OutboxMessage, OutboxMessage.mailing_id == mailing_id) == 0


def test_send_now_reaches_consenting_people_and_the_job_reports_done(app, client, made,
                                                                     kartoteka_smtp):
    mailing_id = create(client, made)
    response = client.post(f"/mailings/{mailing_id}/send")
    assert response.status_code == 303
    assert [m["To"] for m in kartoteka_smtp.messages] == ["Anna Nowak <anna@example.org>"]
    found = stored(app, mailing_id)
    assert found.state in ("sending", "done") and found.job_id
    page = text(client.get(f"/mailings/{mailing_id}"))
    assert '<td class="stat-sent">1</td>' in page
    assert '<td class="stat-recipients">1</td>' in page
    assert "Left out, no valid consent: 1" in page and "Will receive it" not in page
    assert "anna@example.org" in page and "bogdan@example.org" not in page.split(
        'id="recipients"')[1]
    listing = text(client.get("/mailings/"))
    assert '<td class="stat-sent">1</td>' in listing
    job = client.get(f"/jobs/{found.job_id}.json").get_json()
    assert job["state"] == "done" and job["percent"] == 100
    assert job["done"] == job["total"] == 3 and job["error"] == ""
    assert job["result"]["queued"] == 1
    assert client.get(f"/jobs/{found.job_id}").status_code == 200
    assert "Mailing: Zaproszenie" in text(client.get("/jobs/"))
    card = text(client.get(f"/people/{made['Anna']}"))
    assert '<span class="kind">E-mail: sent</span>' in card  # the delivery, on her timeline
    # sent once: a second press refuses
    again = client.post(f"/mailings/{mailing_id}/send", follow_redirects=True)
    assert "already sent" in text(again)
    assert len(kartoteka_smtp.messages) == 1


def test_schedule_reads_the_local_time_and_stop_takes_it_back(app, client, made,
                                                              kartoteka_smtp):
    mailing_id = create(client, made)
    response = client.post(f"/mailings/{mailing_id}/schedule", data={"at": "2099-01-15T10:00"})
    assert response.status_code == 303
    found = stored(app, mailing_id)
    zone = ZoneInfo(app.extensions["kartoteka"].settings.timezone)
    assert found.state == "scheduled"
    assert found.scheduled_at == datetime(2099, 1, 15, 10, 0, tzinfo=zone).astimezone(UTC)
    past = client.post(f"/mailings/{mailing_id}/schedule", data={"at": "2000-01-01T10:00"},
                       follow_redirects=True)
    assert "future" in text(past)
    client.post(f"/mailings/{mailing_id}/cancel")
    found = stored(app, mailing_id)
    assert found.state == "draft" and found.scheduled_at is None
    assert kartoteka_smtp.messages == []


def test_without_the_permission_mailings_and_others_jobs_are_closed(app, client, made,
                                                                    kartoteka_login):
    mailing_id = create(client, made)
    client.post(f"/mailings/{mailing_id}/send")
    job_id = stored(app, mailing_id).job_id
    with app.extensions["kartoteka"].session() as s, s.begin():
        users.create_user(s, "staff@example.com", ADMIN_PASSWORD, "Stefan",
                          roles=["staff"])
    other = kartoteka_login(app.test_client(), "staff@example.com", ADMIN_PASSWORD)
    for url in ("/mailings/", "/mailings/new", f"/mailings/{mailing_id}",
                "/mailings/unsubscribes"):
        assert other.get(url).status_code == 403, url
    assert other.post(f"/mailings/{mailing_id}/cancel").status_code == 403
    assert other.post("/mailings/new", data=form(made)).status_code == 403
    assert count(app, Mailing) == 1
    assert other.get(f"/jobs/{job_id}.json").status_code == 404
    assert other.get(f"/jobs/{job_id}").status_code == 404
    assert "Mailing: Zaproszenie" not in text(other.get("/jobs/"))
    assert 'href="/mailings/"' not in text(other.get("/"))
    assert 'href="/mailings/"' in text(client.get("/"))


def test_unsubscribe_upload_suppresses_addresses_and_withdraws_consent(app, client, made):
    data = {"purpose": "newsletter",
            "file": (io.BytesIO(b"email\nANNA@example.org\nnot-an-address\nnew@example.org\n"),
                     "unsubscribed.csv")}
    response = client.post("/mailings/unsubscribes", data=data,
                           content_type="multipart/form-data")
    page = text(response)
    assert response.status_code == 200
    assert "Added to the list: 2" in page and "Consents withdrawn: 1" in page
    assert "Lines that are not addresses: 3" in page
    with app.extensions["kartoteka"].session() as s:
        assert unsubscribe.is_suppressed(s, "new@example.org")
        assert unsubscribe.is_suppressed(s, "anna@example.org")
        assert not consents.has_consent(s, made["Anna"], "newsletter")
    empty = text(client.post("/mailings/unsubscribes", data={"purpose": ""},
                             content_type="multipart/form-data"))
    assert error_under(empty, "file")
    # Anna now left out: nobody receives the mailing
    mailing_id = create(client, made)
    assert "Will receive it: 0" in text(client.get(f"/mailings/{mailing_id}"))


def test_unknown_mailing_and_job_are_not_found(client):
    assert client.get("/mailings/999").status_code == 404
    assert client.get("/jobs/999.json").status_code == 404
    assert client.post("/mailings/999/send").status_code == 404


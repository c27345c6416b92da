"""Mailings: consent decides who is mailed, each delivery is on the timelines, the
unsubscribe link works with one click, and SMTP answers are honoured."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import (
    consents,
    documents,
    jobs,
    mailing,
    memberships,
    organisations,
    outbox,
    segments,
    unsubscribe,
    users,
)
from core import timeline as timelines
from core.db import utcnow
from core.documents import Template
from core.errors import ValidationError
from core.models import Activity, Job, Mailing, Organisation, OutboxMessage, Person, User
from mail_helpers import EVIDENCE, newsletter_audience


@pytest.fixture
def app(kartoteka_app_factory, kartoteka_smtp):
    found = kartoteka_app_factory(default_locale="en", public_url="https://crm.example.org",
                                  **kartoteka_smtp.settings())
    with found.test_request_context():
        yield found


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def made(rt):
    """An administrator, a newsletter purpose, the template, and three people of one
    municipality: Anna consented, Bogdan did not, Cezary consented but his address is
    on the no-marketing list."""
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        found = newsletter_audience(s, admin)
        org = organisations.create(s, rt.host, {"name": "Gmina Kórnik",
                                                "type_key": "core.municipality"})
        for name in ("Anna", "Bogdan", "Cezary"):
            memberships.join(s, s.get(Person, found[name]), org, role="sekretarz")
        return {"admin": admin.id, "org": org.id, **found}


def new_mailing(rt, made, **changes):
    with rt.session() as s, s.begin():
        admin = s.get(User, made["admin"])
        data = {"name": "Zaproszenie", "template": made["template"], "kind": "marketing",
                "purpose": "newsletter", "audience": "people",
                "person_ids": [made["Anna"], made["Bogdan"], made["Cezary"]], **changes}
        return mailing.create(s, data, admin).id


def send(rt, made, mailing_id):
    with rt.session() as s, s.begin():
        mailing.send(s, s.get(Mailing, mailing_id), s.get(User, made["admin"]))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_only_consenting_unsuppressed_people_are_mailed(rt, made, kartoteka_smtp):
    mailing_id = new_mailing(rt, made)
    send(rt, made, mailing_id)
    assert [m["To"] for m in kartoteka_smtp.messages] == ["Anna Nowak <anna@example.org>"]
    got = kartoteka_smtp.messages[0]
    assert got["Subject"] == "Zaproszenie dla Anna Nowak"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got["List-Unsubscribe"].startswith("<https://crm.example.org/unsubscribe/")
    assert "Dzień dobry Anna!" in got.get_body(("plain",)).get_content()
    html = got.get_body(("html",)).get_content()
    link = got["List-Unsubscribe"].strip("<>")
    assert html.startswith("<p>Dzień dobry Anna!</p>")  # the template's markup, not escaped
    assert f'<a href="{link}">unsubscribe</a>' in html
    with rt.session() as s:
        stats = mailing.stats(s, s.get(Mailing, mailing_id))
    assert stats["sent"] == 1 and stats["recipients"] == 1
    assert stats["left_out_no_consent"] == 1 and stats["left_out_suppressed"] == 1
    with rt.session() as s:
        assert s.get(Mailing, mailing_id).state == "done"


def test_each_delivery_is_on_the_person_and_organisation_timelines(rt, made):
    send(rt, made, new_mailing(rt, made))
    with rt.session() as s:
        anna = s.get(Person, made["Anna"])
        entry = next(a for a in timelines.timeline(s, anna) if a.kind == "email_out")
        assert entry.subject == "Zaproszenie dla Anna Nowak"
        assert "Dzień dobry Anna!" in entry.body
        assert entry.data["state"] == "sent"
        assert entry.data["consent"]["purpose"] == "newsletter"
        assert entry.data["consent"]["consent_id"] is not None
        org = s.get(Organisation, made["org"])
        assert entry.id in [a.id for a in timelines.timeline(s, org)]
        bogdan = s.get(Person, made["Bogdan"])
        assert not [a for a in timelines.timeline(s, bogdan) if a.kind == "email_out"]


def test_withdrawal_reaches_mail_already_queued(rt, made, kartoteka_smtp):
    host = rt.settings.smtp_host
    rt.settings.smtp_host = ""  # queued, not delivered yet
    send(rt, made, new_mailing(rt, made))
    with rt.session() as s, s.begin():
        consents.withdraw(s, s.get(Person, made["Anna"]), "newsletter", "staff")
    rt.settings.smtp_host = host
    outbox.deliver(rt, "test")
    assert kartoteka_smtp.messages == []
    with rt.session() as s:
        message = s.scalar(select(OutboxMessage))
        assert message.state == "skipped" and "consent" in message.error


def test_one_click_unsubscribe_needs_no_login_and_a_get_changes_nothing(app, rt, made,
                                                                       kartoteka_smtp):
    send(rt, made, new_mailing(rt, made))
    link = kartoteka_smtp.messages[0]["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://crm.example.org")
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and b"<form" in page.data
    with rt.session() as s:
        assert consents.has_consent(s, made["Anna"], "newsletter")
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "Set-Cookie" not in done.headers and "Location" not in done.headers
    with rt.session() as s:
        assert not consents.has_consent(s, made["Anna"], "newsletter")
        anna = s.get(Person, made["Anna"])
        assert any(a.event == "consent_withdrawn" for a in timelines.timeline(s, anna))
        assert mailing.stats(s, s.scalar(select(Mailing)))["unsubscribed"] == 1
    assert client.post(path).status_code == 200  # twice is as good as once
    assert client.post(path[:-3] + "xyz").status_code == 404


def test_smtp_refusals_fail_for_good_or_retry_later(rt, made, kartoteka_smtp):
    with rt.session() as s, s.begin():
        consents.give(s, s.get(Person, made["Bogdan"]), "newsletter", "form", EVIDENCE)
    kartoteka_smtp.refuse = {"anna@example.org": "550 No such user",
                             "bogdan@example.org": "451 Try again later"}
    send(rt, made, new_mailing(rt, made))
    with rt.session() as s:
        found = {m.to_address: m for m in s.scalars(select(OutboxMessage))}
    assert found["anna@example.org"].state == "failed"
    assert "550" in found["anna@example.org"].error
    later = found["bogdan@example.org"]
    assert later.state == "queued" and later.attempts == 1
    assert later.next_attempt_at > utcnow() + timedelta(seconds=30)
    with rt.session() as s:  # each person's timeline says what became of their message
        for name, state in (("Anna", "failed"), ("Bogdan", "queued")):
            entry = next(a for a in timelines.timeline(s, s.get(Person, made[name]))
                         if a.kind == "email_out")
            assert timelines.label(entry) == f"E-mail: {state}"


def test_line_breaks_in_names_subjects_and_addresses_never_add_a_recipient(rt, made,
                                                                          kartoteka_smtp):
    with rt.session() as s, s.begin():
        outbox.queue(s, [
            outbox.Draft("anna@example.org", "Potwierdzenie\r\nBcc: evil@example.net",
                         "Treść.", to_name="Anna\r\nBcc: evil2@example.net"),
            outbox.Draft("bogdan@example.org\r\nRCPT TO:<evil3@example.net>", "Hej",
                         "Treść.")])
    assert kartoteka_smtp.recipients == ["anna@example.org"]
    got = kartoteka_smtp.messages[0]
    assert got["Bcc"] is None  # the name is shown, quoted, and adds nobody
    assert got["To"] == '"Anna Bcc: evil2@example.net" <anna@example.org>'
    assert str(got["Subject"]) == "Potwierdzenie Bcc: evil@example.net"  # one line, inert
    with rt.session() as s:
        refused = s.scalar(select(OutboxMessage).where(OutboxMessage.subject == "Hej"))
        assert refused.state == "failed" and "cannot be built" in refused.error


def test_service_mail_caught_in_the_hand_over_is_resent_with_its_message_id(rt, made,
                                                                           kartoteka_smtp):
    host, rt.settings.smtp_host = rt.settings.smtp_host, ""
    with rt.session() as s, s.begin():
        ids = outbox.queue(s, [outbox.Draft("anna@example.org", "Potwierdzenie zapisu",
                                            "Jest Pani zapisana.", person_id=made["Anna"],
                                            about=[("person", made["Anna"])])])
        s.get(OutboxMessage, ids[0]).state = "sending"  # as a killed worker leaves it
        s.get(OutboxMessage, ids[0]).lease_until = utcnow() - timedelta(seconds=1)
    with rt.session() as s:
        before = s.get(OutboxMessage, ids[0]).message_id
    outbox.recover(rt)
    with rt.session() as s:
        message = s.get(OutboxMessage, ids[0])
        assert message.state == "queued" and message.message_id == before
        assert "same Message-ID" in message.error
    rt.settings.smtp_host = host
    outbox.deliver(rt, "test")
    assert [m["Message-ID"] for m in kartoteka_smtp.messages] == [before]


def test_marketing_mail_needs_a_consent_purpose(rt, made):
    with rt.session() as s, s.begin():
        admin = s.get(User, made["admin"])
        with pytest.raises(ValidationError) as refused:
            mailing.create(s, {"name": "Oferta", "template": made["template"],
                               "kind": "marketing", "audience": "people",
                               "person_ids": [made["Anna"]]}, admin)
    assert "purpose" in refused.value.errors


def test_unsubscribe_list_import_withdraws_and_suppresses(rt, made):
    with rt.session() as s, s.begin():
        result = unsubscribe.import_addresses(
            s, "email\nANNA@example.org\nnot-an-address\nnew@example.org\n", "newsletter",
            s.get(User, made["admin"]))
    assert result == {"added": 2, "known": 0, "withdrawn": 1, "invalid": [3]}
    with rt.session() as s:
        assert not consents.has_consent(s, made["Anna"], "newsletter")
        assert unsubscribe.is_suppressed(s, "new@example.org")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_ten_thousand_recipient_mailing_reaches_everyone_once(database_url, rt, made,
                                                               kartoteka_smtp):
    """(On a database of its own, dropped whole afterwards: quicker than emptying.)"""
    from core.testing import add_people

    with rt.session() as s, s.begin():
        segment_owner = s.get(User, made["admin"])
        add_people(s, 10_000, consent_to="newsletter", start=100)
        segment = segments.save(s, "Wszyscy Testowi", "person",
                                {"field": "last_name", "op": "eq", "value": "Testowa"},
                                segment_owner)
    mailing_id = new_mailing(rt, made, audience="segment", segment_id=segment.id,
                             person_ids=[])
    send(rt, made, mailing_id)
    arrived = kartoteka_smtp.recipients
    assert len(arrived) == 10_000 and len(set(arrived)) == 10_000
    with rt.session() as s:
        stats = mailing.stats(s, s.get(Mailing, mailing_id))
        assert stats["sent"] == 10_000 and stats["recipients"] == 10_000
        # each person's timeline entry says their message went
        states = s.scalars(select(Activity.data).where(Activity.kind == "email_out")).all()
        assert len(states) == 10_000 and {d["state"] for d in states} == {"sent"}


def test_a_large_mailing_is_prepared_in_parts_that_any_worker_may_take(rt, made,
                                                                      kartoteka_smtp,
                                                                      monkeypatch):
    from core.testing import add_people

    monkeypatch.setattr(mailing, "PART", 2)
    with rt.session() as s, s.begin():
        add_people(s, 4, consent_to="newsletter", start=100)
    ids = [made["Anna"], made["Bogdan"], made["Cezary"]]
    with rt.session() as s:
        ids += list(s.scalars(select(Person.id).where(Person.last_name == "Testowa")))
    mailing_id = new_mailing(rt, made, person_ids=ids)
    send(rt, made, mailing_id)
    arrived = kartoteka_smtp.recipients
    assert len(arrived) == 5 == len(set(arrived))  # Anna and the four, once each
    with rt.session() as s:
        found = s.get(Mailing, mailing_id)
        parent = s.get(Job, found.job_id)
        parts = [s.get(Job, n) for n in parent.params["parts"]]
        assert [p.title for p in parts] == [f"Mailing: Zaproszenie, part {n} of 4"
                                            for n in (1, 2, 3, 4)]
        assert all(p.state == "done" for p in parts) and parent.state == "done"
        assert parent.result["queued"] == 5 and parent.done == parent.total == 7
        assert found.left_out == {"no_address": 0, "no_consent": 1, "suppressed": 1}
    # a part run again (its worker died after writing) writes nobody twice
    with rt.session() as s, s.begin():
        s.get(Job, parts[0].id).state = "queued"
    jobs.run(rt, parts[0].id)
    with rt.session() as s:
        assert s.get(Job, parts[0].id).result["queued"] == 0
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 5


def test_staff_notifications_go_to_active_accounts_and_onto_the_timeline(rt, made,
                                                                          kartoteka_smtp):
    with rt.session() as s, s.begin():
        boss = users.create_user(s, "szef@example.org", "correct horse battery",
                                 full_name="Jan Szef")
        gone = users.create_user(s, "byly@example.org", "correct horse battery")
        users.deactivate(s, gone)
        org = s.get(Organisation, made["org"])
        outbox.notify(s, [boss, gone], "Nowy darczyńca", "Z formularza: Anna Nowak.", [org])
    assert [m["To"] for m in kartoteka_smtp.messages] == ["Jan Szef <szef@example.org>"]
    with rt.session() as s:
        entries = timelines.timeline(s, s.get(Organisation, made["org"]))
        assert any(a.subject == "Nowy darczyńca" and a.data["state"] == "sent"
                   for a in entries)


def test_shared_and_personal_attachments_and_polish_headers_arrive_intact(rt, made,
                                                                          kartoteka_smtp):
    import io

    from core import attachments

    certificate = Template("test.certificate", "certificate", "person",
                           {"pl": "Zaświadczenie", "en": "Certificate"},
                           "<h1>Zaświadczenie dla {{ person.full_name }}</h1>")
    with rt.session() as s, s.begin():
        documents.ship(s, certificate)
        programme = attachments.store(s, rt.settings, s.get(Organisation, made["org"]),
                                      "Program szkolenia.txt",
                                      io.BytesIO("Dzień 1: RODO".encode()), None)
        s.get(Person, made["Anna"]).first_name = "Łucja"
    mailing_id = new_mailing(rt, made, attachment_ids=[programme.id],
                             own_document="test.certificate")
    send(rt, made, mailing_id)
    got = kartoteka_smtp.messages
    assert len(got) == 1
    assert got[0]["Subject"] == "Zaproszenie dla Łucja Nowak"
    assert got[0]["To"] == "Łucja Nowak <anna@example.org>"
    files = {p.get_filename(): p.get_content() for p in got[0].iter_attachments()}
    assert files["Program szkolenia.txt"] == "Dzień 1: RODO"
    assert files["Certificate.pdf"].startswith(b"%PDF")  # named in the installation's language
    with rt.session() as s:  # the certificate is kept on Łucja's card
        assert [d.title for d in documents.for_record(s, s.get(Person, made["Anna"]))] \
            == ["Certificate"]


def test_a_recurring_mailing_reaches_people_who_join_its_audience_once(rt, made,
                                                                       kartoteka_smtp):
    mailing_id = new_mailing(rt, made, recurring=True, person_ids=[made["Anna"]])
    send(rt, made, mailing_id)
    with rt.session() as s:
        assert s.get(Mailing, mailing_id).state == "active"
    # Bogdan consents and is added to the list; an hour on, the next round finds him.
    with rt.session() as s, s.begin():
        consents.give(s, s.get(Person, made["Bogdan"]), "newsletter", "form", EVIDENCE)
        s.get(Mailing, mailing_id).person_ids = [made["Anna"], made["Bogdan"]]
    assert mailing.repeat_recurring(rt) == 0  # not an hour yet
    assert mailing.repeat_recurring(rt, utcnow() + timedelta(hours=1, minutes=1)) == 1
    assert sorted(m["To"] for m in kartoteka_smtp.messages) == [
        "Anna Nowak <anna@example.org>", "Bogdan Lis <bogdan@example.org>"]
    with rt.session() as s, s.begin():
        assert s.get(Mailing, mailing_id).state == "active"
        mailing.cancel(s, s.get(Mailing, mailing_id), s.get(User, made["admin"]))
    assert mailing.repeat_recurring(rt, utcnow() + timedelta(hours=3)) == 0


def test_a_job_whose_worker_died_is_run_again_and_a_live_one_is_not_run_twice(rt, made):
    from core import jobs
    from core.models import Job

    with rt.session() as s, s.begin():
        dead = Job(kind="mailing.queue", title="Zaproszenie", state="running",
                   params={"mailing_id": 0}, heartbeat_at=utcnow() - timedelta(minutes=11))
        alive = Job(kind="mailing.queue", title="Zaproszenie", state="running",
                    params={"mailing_id": 0}, heartbeat_at=utcnow())
        s.add_all([dead, alive])
    jobs.run(rt, alive.id)  # handed over twice: the second hand-over does nothing
    jobs.revive(rt)  # the dead one is queued and (here, at once) run to the end
    with rt.session() as s:
        assert s.get(Job, alive.id).state == "running"
        assert s.get(Job, dead.id).state == "done"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_workers_sharing_the_outbox_never_take_the_same_message(rt, made, kartoteka_smtp):
    import threading

    host, rt.settings.smtp_host = rt.settings.smtp_host, ""
    with rt.session() as s, s.begin():
        outbox.queue(s, [outbox.Draft(f"osoba{n}@example.org", f"Wiadomość {n}", "Treść.")
                         for n in range(120)])
    rt.settings.smtp_host = host
    handed = []
    workers = [threading.Thread(target=lambda n=n: handed.append(
        outbox.deliver(rt, f"worker-{n}"))) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(handed) == 120
    assert sorted(kartoteka_smtp.recipients) == sorted(f"osoba{n}@example.org"
                                                        for n in range(120))
    with rt.session() as s:
        assert {m.state for m in s.scalars(select(OutboxMessage))} == {"sent"}


def test_a_case_mailing_reaches_its_people_and_lands_on_the_case(kartoteka_app_factory,
                                                                 kartoteka_smtp):
    from core import cases
    from core.models import Case

    app = kartoteka_app_factory(["printing"], default_locale="en",
                                **kartoteka_smtp.settings())
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        made = {"admin": admin.id, **newsletter_audience(s, admin)}
        case = cases.create(s, rt.host, {"title": "Baner na szkolenie",
                                         "process_key": "printing.project"}, admin,
                            people=[(s.get(Person, made["Anna"]), "zamawiający"),
                                    (s.get(Person, made["Bogdan"]), "grafik")])
    with app.test_request_context():
        send(rt, made, new_mailing(rt, made, kind="service", purpose=None,
                                   audience="case", case_id=case.id, person_ids=[]))
    with rt.session() as s:
        sent = {m.to_address: m.state for m in s.scalars(select(OutboxMessage))}
        assert sent == {"anna@example.org": "sent", "bogdan@example.org": "sent"}
        on_case = [a for a in timelines.timeline(s, s.get(Case, case.id))
                   if a.kind == "email_out"]
        assert sorted(a.subject for a in on_case) == ["Zaproszenie dla Anna Nowak",
                                                      "Zaproszenie dla Bogdan Lis"]


def test_the_installation_rate_limit_holds_mail_for_the_next_minute(rt, made,
                                                                    kartoteka_smtp):
    rt.settings.mail_rate_per_minute = 2
    with rt.session() as s, s.begin():
        outbox.queue(s, [outbox.Draft(f"osoba{n}@example.org", f"Wiadomość {n}", "Treść.")
                         for n in range(5)])
    assert len(kartoteka_smtp.recipients) == 2
    with rt.session() as s:
        states = sorted(m.state for m in s.scalars(select(OutboxMessage)))
    assert states == ["queued", "queued", "queued", "sent", "sent"]


def test_a_renamed_term_reads_right_in_the_mail_people_get(kartoteka_app_factory,
                                                          kartoteka_smtp):
    from core import term_overrides

    app = kartoteka_app_factory(default_locale="pl", **kartoteka_smtp.settings())
    rt = app.extensions["kartoteka"]
    letter = Template("test.term_letter", "email", "person", {"pl": "List", "en": "Letter"},
                      "<p>Brak {{ term('core.organisation', 'gen', 5) }}.</p>",
                      subject="Dla {{ term('core.organisation', 'gen') }}")
    with app.test_request_context(), rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        made = {"admin": admin.id, **newsletter_audience(s, admin)}
        documents.ship(s, letter)
        term_overrides.save(s, rt.host.terms, "core.organisation", "pl",
                            {"nom": "jednostka członkowska", "gen": "jednostki członkowskiej"},
                            {"nom": "jednostki członkowskie",
                             "gen": "jednostek członkowskich"}, gender="f")
    with app.test_request_context():
        send(rt, made, new_mailing(rt, made, template="test.term_letter"))
    got = kartoteka_smtp.messages[0]
    assert got["Subject"] == "Dla jednostki członkowskiej"
    assert "Brak jednostek członkowskich." in got.get_body(("html",)).get_content()

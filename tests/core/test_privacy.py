"""People's rights over their data: the access export, anonymisation, retention, and the
pages and commands that reach them."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import (
    attachments,
    consents,
    field_definitions,
    hookimpl,
    memberships,
    merge,
    organisations,
    outbox,
    people,
    privacy,
    tasks,
    timeline,
    users,
)
from core.db import utcnow
from core.errors import Forbidden
from core.models import (
    Activity,
    Address,
    Attachment,
    AuditEntry,
    Consent,
    ContactPoint,
    OutboxMessage,
    Person,
    ProcessingPurpose,
    Task,
)

NAME, EMAIL, PHONE, PESEL = "Zofia Łęcka-Przybylska", "zofia.p@example.com", "+48601234567", \
    "44051401359"
WORDING = "I agree to receive the newsletter."
TRACES = ("Przybylska", "Łęcka", EMAIL, PESEL, "601234567", "Ogrodowa")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en")


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


def add_person(session, first, last, email, actor=None, **extra):
    return people.create(session, {"first_name": first, "last_name": last, "emails": [email],
                                   **extra}, actor, allow_duplicates=True)


def attach(session, rt, record, name: str, text: str, actor=None) -> Attachment:
    return attachments.store(session, rt.settings, record, name, io.BytesIO(text.encode()),
                             actor)


@pytest.fixture
def zofia(rt):
    """Zofia with every kind of personal data, a duplicate merged into her, a membership,
    history, a task, a consent and a file; and Beata, who has nothing to do with her."""
    with rt.session() as session, session.begin():
        boss = users.create_user(session, "boss@example.com", "correct horse battery",
                                 is_admin=True)
        field_definitions.create(session, {"record_type": "person", "key": "hobby",
                                           "type": "text", "label_pl": "Hobby"}, host=rt.host)
        consents.create_purpose(session, {"key": "newsletter", "name": "Newsletter",
                                          "legal_basis": "consent"})
        first, last = NAME.split()
        zofia = add_person(session, first, last, EMAIL, phones=[PHONE], pesel=PESEL,
                           notes="Prefers calls after 5 pm.", custom={"hobby": "sailing"},
                           addresses=[{"street": "ul. Ogrodowa 7", "postal_code": "62-035",
                                       "city": "Kórnik"}], actor=boss)
        duplicate = add_person(session, first, last, "zofia.old@example.com", actor=boss)
        merge.merge(session, zofia, duplicate, boss)
        kornik = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                         "type_key": "core.municipality"})
        memberships.join(session, zofia, kornik, "secretary", actor=boss)
        timeline.add(session, "note", f"Talked to {NAME}", [zofia],
                     body=f"She asked to write to {EMAIL}.", actor=boss)
        timeline.add(session, "meeting", "Board meeting", [zofia, kornik],
                     body=f"{NAME} presented the budget.", actor=boss)
        tasks.create(session, {"title": f"Call {NAME} back", "assignee_id": boss.id}, [zofia],
                     boss)
        consents.give(session, zofia, "newsletter", "form", WORDING,
                      note=f"Signed by {NAME} at the fair.", actor=boss)
        attach(session, rt, zofia, "cv.txt", f"Curriculum vitae of {NAME}", boss)
        beata = add_person(session, "Beata", "Kowalska", "beata@example.com")
        attach(session, rt, beata, "beata.txt", "Beata's own file")
    return {"zofia": zofia.id, "beata": beata.id, "boss": boss.id, "kornik": kornik.id,
            "duplicate": duplicate.id}


def everything_about(rt, ids: list[int]) -> str:
    """The person's rows and the whole audit trail, as one text to search."""
    with rt.session() as session:
        rows = [*session.scalars(select(Person).where(Person.id.in_(ids))),
                *session.scalars(select(ContactPoint).where(ContactPoint.person_id.in_(ids))),
                *session.scalars(select(Address).where(Address.person_id.in_(ids))),
                *session.scalars(select(Consent).where(Consent.person_id.in_(ids))),
                *session.scalars(select(Attachment).where(Attachment.record_type == "person",
                                                          Attachment.record_id.in_(ids))),
                *session.scalars(select(Activity)), *session.scalars(select(Task)),
                *session.scalars(select(AuditEntry))]
        return json.dumps([privacy._row(r) for r in rows], ensure_ascii=False)


def anonymise(rt, session, person_id: int, actor=None) -> bool:
    return privacy.anonymise(session, session.get(Person, person_id), actor, rt.settings)


def export(rt, person_id: int) -> zipfile.ZipFile:
    with rt.session() as session, session.begin():
        data = privacy.access_export(session, session.get(Person, person_id), None, rt.settings)
    return zipfile.ZipFile(io.BytesIO(data))


# --------------------------------------------------------------------- access


def test_the_access_export_holds_the_persons_data_and_files_and_nobody_elses(rt, zofia):
    archive = export(rt, zofia["zofia"])
    document = json.loads(archive.read("person.json"))
    assert document["person"]["id"] == zofia["zofia"]
    assert document["person"]["pesel"] == PESEL
    assert {c["value"] for c in document["contacts"]} >= {EMAIL, PHONE}
    assert document["addresses"][0]["street"] == "ul. Ogrodowa 7"
    assert document["custom_fields"] == [{"key": "hobby", "label": "Hobby",
                                          "value": "sailing"}]
    assert [(m["organisation"], m["role"]) for m in document["memberships"]] == [
        ("Gmina Kórnik", "secretary")]
    assert [(c["purpose"], c["state"], c["evidence"]) for c in document["consents"]] == [
        ("newsletter", "given", WORDING)]
    subjects = {a["subject"] for a in document["activities"]}
    assert {f"Talked to {NAME}", "Board meeting", "Newsletter"} <= subjects
    assert [t["title"] for t in document["tasks"]] == [f"Call {NAME} back"]
    assert [m["id"] for m in document["merged_records"]] == [zofia["duplicate"]]
    assert {e["action"] for e in document["audit"]} >= {"create", "merge", "update"}
    [attached] = document["attachments"]
    assert "stored_name" not in attached
    assert archive.read(attached["file"]) == f"Curriculum vitae of {NAME}".encode()
    text = json.dumps(document, ensure_ascii=False)
    assert "Kowalska" not in text and "beata@example.com" not in text
    assert not any("beata" in name for name in archive.namelist())
    with rt.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        assert (entry.record_type, entry.record_id) == ("person", zofia["zofia"])


# --------------------------------------------------------------------- erasure


def test_anonymisation_leaves_no_trace_keeps_the_record_and_is_audited(rt, zofia):
    before = everything_about(rt, [zofia["zofia"], zofia["duplicate"]])
    assert all(trace in before for trace in TRACES)
    with rt.session() as session:
        [cv] = attachments.list_for(session, session.get(Person, zofia["zofia"]))
        cv_path = attachments.path_of(rt.settings, cv)
    assert cv_path.exists()
    with rt.session() as session, session.begin():
        boss = session.get(users.User, zofia["boss"])
        assert privacy.anonymise(session, session.get(Person, zofia["zofia"]), boss,
                                 rt.settings)

    after = everything_about(rt, [zofia["zofia"], zofia["duplicate"]])
    for trace in TRACES + ("Zofia", "zofia.old@example.com", "sailing", "5 pm", "cv.txt"):
        assert trace not in after, trace
    assert not cv_path.exists()
    with rt.session() as session:
        zosia = session.get(Person, zofia["zofia"])
        assert (zosia.first_name, zosia.last_name, zosia.pesel, zosia.notes, zosia.custom) \
            == ("Anonymised", f"#{zosia.id}", "", "", {})
        assert zosia.contacts == [] and zosia.addresses == []
        assert [m.role for m in memberships.history(session, person=zosia)] == ["secretary"]
        assert len(consents.history(session, zosia)) == 1  # the proof of consent stays
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "anonymise")
                                  .order_by(AuditEntry.id)).all()
        assert [(e.record_type, e.record_id, e.actor_id) for e in entries] == [
            ("person", zosia.id, zofia["boss"]), ("person", zofia["duplicate"], zofia["boss"])]
        entry = entries[0]
        assert entry.changes["first_name"] == ["***", "Anonymised"]
        assert entry.changes["emails"] == ["***", []]
        beata = session.get(Person, zofia["beata"])
        assert (beata.full_name, beata.contact_values("email")) == (
            "Beata Kowalska", ["beata@example.com"])
        assert len(attachments.list_for(session, beata)) == 1
        # What others wrote stays, without her name: the shared meeting, the organisation.
        meeting = session.scalar(select(Activity).where(Activity.subject == "Board meeting"))
        assert meeting.body == "*** presented the budget."
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.record_type == "organisation", AuditEntry.record_id == zofia["kornik"],
            AuditEntry.changes["memberships"].is_not(None))) >= 1


def test_anonymisation_reaches_the_outbox_and_holds_back_mail_not_yet_sent(rt, zofia):
    person = zofia["zofia"]
    with rt.session() as session, session.begin():
        sent, waiting = outbox.queue(session, [
            outbox.Draft(EMAIL, f"Dla {NAME}", f"Dzień dobry, {NAME}!", to_name=NAME,
                         person_id=person, about=[("person", person)]),
            outbox.Draft(EMAIL, "Przypomnienie", "Ogrodowa 5", to_name=NAME,
                         person_id=person)])
        session.get(OutboxMessage, sent).state = "sent"
    with rt.session() as session, session.begin():
        assert anonymise(rt, session, person, session.get(users.User, zofia["boss"]))
    with rt.session() as session:
        rows = {m.id: m for m in session.scalars(select(OutboxMessage))}
        assert rows[sent].state == "sent" and rows[waiting].state == "skipped"
        kept = json.dumps([privacy._row(m) for m in rows.values()], ensure_ascii=False)
    for trace in (*TRACES, "Zofia"):
        assert trace not in kept, trace


def test_a_second_anonymisation_changes_nothing(rt, zofia):
    with rt.session() as session, session.begin():
        assert anonymise(rt, session, zofia["zofia"])
    before = everything_about(rt, [zofia["zofia"], zofia["duplicate"]])
    with rt.session() as session, session.begin():
        assert not anonymise(rt, session, zofia["zofia"])
    assert everything_about(rt, [zofia["zofia"], zofia["duplicate"]]) == before
    with rt.session() as session:
        assert privacy.is_anonymised(session, zofia["zofia"])


def test_a_namesake_unrelated_to_the_person_keeps_their_name(rt, zofia):
    first, last = NAME.split()
    with rt.session() as session, session.begin():
        namesake = add_person(session, first, last, "other.zofia@example.com")
    with rt.session() as session, session.begin():
        anonymise(rt, session, zofia["zofia"])
    with rt.session() as session:
        assert session.get(Person, namesake.id).full_name == NAME
        [created] = session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "person", AuditEntry.record_id == namesake.id))
        assert created.summary == NAME


def test_only_administrators_anonymise(rt, zofia):
    with rt.session() as session, session.begin():
        clerk = users.create_user(session, "clerk@example.com", "correct horse battery")
        with pytest.raises(Forbidden):
            privacy.anonymise(session, session.get(Person, zofia["zofia"]), clerk)
    with rt.session() as session:
        assert not privacy.is_anonymised(session, zofia["zofia"])
        assert session.get(Person, zofia["zofia"]).pesel == PESEL


def test_what_a_plugin_keeps_stays_on_the_record_and_in_the_trail(rt, zofia):
    class Billing:
        @hookimpl
        def kartoteka_before_anonymise(self, person, keep):
            keep.update({"name", "addresses"})

    rt.host.pm.register(Billing(), name="billing_test")
    with rt.session() as session, session.begin():
        anonymise(rt, session, zofia["zofia"])
    with rt.session() as session:
        zosia = session.get(Person, zofia["zofia"])
        assert (zosia.full_name, zosia.pesel, zosia.addresses[0].street) == (
            NAME, "", "ul. Ogrodowa 7")
        assert zosia.contacts == []
        trail = json.dumps([e.changes for e in session.scalars(select(AuditEntry))],
                           ensure_ascii=False)
        assert "Przybylska" in trail and PESEL not in trail and EMAIL not in trail


# --------------------------------------------------------------------- retention


def test_the_retention_report_lists_people_whose_every_purpose_ran_out(rt):
    with rt.session() as session, session.begin():
        consents.create_purpose(session, {"key": "survey", "name": "Survey",
                                          "legal_basis": "consent", "retention_days": 30})
        consents.create_purpose(session, {"key": "newsletter", "name": "Newsletter",
                                          "legal_basis": "consent"})
        gone = add_person(session, "Gabriela", "Stara", "g@example.com")
        live = add_person(session, "Lena", "Nowa", "l@example.com")
        withdrawn = add_person(session, "Wanda", "Wycofana", "w@example.com")
        add_person(session, "Nina", "Bezzgody", "n@example.com")
        long_ago = utcnow() - timedelta(days=40)
        consents.give(session, gone, "survey", "import", WORDING, at=long_ago)
        consents.give(session, live, "survey", "import", WORDING, at=long_ago)
        consents.give(session, live, "newsletter", "form", WORDING)
        consents.give(session, withdrawn, "newsletter", "form", WORDING,
                      at=utcnow() - timedelta(days=1))
        consents.withdraw(session, withdrawn, "newsletter", "form")
    with rt.session() as session:
        report = privacy.retention_report(session)
        assert [row.person.first_name for row in report] == ["Gabriela", "Wanda"]
        assert [s.purpose.key for s in report[0].states] == ["survey"]
        assert abs(report[0].ended - (long_ago + timedelta(days=30))) < timedelta(seconds=1)
    with rt.session() as session, session.begin():
        privacy.anonymise(session, session.get(Person, gone.id))
    with rt.session() as session:
        assert [row.person.first_name for row in privacy.retention_report(session)] == [
            "Wanda"]


# --------------------------------------------------------------------- web pages


@pytest.fixture
def client(app, kartoteka_login):
    return kartoteka_login(app.test_client())


def test_the_card_has_the_consents_panel_and_records_a_consent(client, rt, zofia):
    card = client.get(f"/people/{zofia['zofia']}").get_data(as_text=True)
    assert 'id="consents"' in card and "Newsletter" in card
    assert "Export data (ZIP)" in card and "Anonymise…" in card
    refused = client.post(f"/people/{zofia['zofia']}/consents", data={
        "state": "withdrawn", "purpose": "nope", "source": "staff", "evidence": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "Choose a processing purpose from the register." in page
    done = client.post(f"/people/{zofia['zofia']}/consents", data={
        "state": "withdrawn", "purpose": "newsletter", "source": "staff",
        "evidence": "By phone."})
    assert done.status_code == 302
    with rt.session() as session:
        assert [c.state for c in consents.history(
            session, session.get(Person, zofia["zofia"]))] == ["withdrawn", "given"]
    history = client.get(f"/people/{zofia['zofia']}/consents").get_data(as_text=True)
    assert "By phone." in history and WORDING in history


def test_bad_consent_input_on_the_page_gets_field_errors_and_writes_nothing(client, rt,
                                                                            zofia):
    response = client.post(f"/people/{zofia['zofia']}/consents", data={
        "state": "given", "purpose": "newsletter", "source": "pigeon", "evidence": " "})
    page = response.get_data(as_text=True)
    assert 'id="e-evidence"' in page and "Give the exact wording the person agreed to." in page
    assert 'id="e-source"' in page
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 1


def test_the_admin_downloads_the_zip_and_anonymises_after_confirming(client, rt, zofia):
    download = client.get(f"/people/{zofia['zofia']}/data.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    document = json.loads(zipfile.ZipFile(io.BytesIO(download.data)).read("person.json"))
    assert document["person"]["last_name"] == "Łęcka-Przybylska"

    confirm = client.get(f"/people/{zofia['zofia']}/anonymise").get_data(as_text=True)
    assert f"The name: {NAME}" in confirm and "E-mail addresses" in confirm
    assert "Hobby" in confirm
    unticked = client.post(f"/people/{zofia['zofia']}/anonymise", data={})
    assert "Tick the box to confirm" in unticked.get_data(as_text=True)
    with rt.session() as session:
        assert not privacy.is_anonymised(session, zofia["zofia"])
    done = client.post(f"/people/{zofia['zofia']}/anonymise", data={"confirm": "yes"})
    assert done.status_code == 302
    assert "Anonymised" in client.get(done.location).get_data(as_text=True)
    with rt.session() as session:
        assert privacy.is_anonymised(session, zofia["zofia"])


def test_export_and_anonymisation_are_for_administrators_only(app, rt, zofia,
                                                             kartoteka_login):
    with rt.session() as session, session.begin():
        users.create_user(session, "clerk@example.com", "correct horse battery")
    clerk = kartoteka_login(app.test_client(), "clerk@example.com")
    assert clerk.get(f"/people/{zofia['zofia']}/data.zip").status_code == 403
    assert clerk.post(f"/people/{zofia['zofia']}/anonymise",
                      data={"confirm": "yes"}).status_code == 403
    assert clerk.get("/admin/privacy").status_code == 403
    with rt.session() as session:
        assert not privacy.is_anonymised(session, zofia["zofia"])


def test_the_register_page_creates_edits_and_deactivates_purposes(client, rt):
    assert client.get("/admin/privacy").status_code == 200
    bad = client.post("/admin/privacy/purposes/new", data={
        "key": "Bad Key", "name": "", "legal_basis": "", "retention_days": "soon"})
    page = bad.get_data(as_text=True)
    for field in ("key", "name", "legal_basis", "retention_days"):
        assert f'id="e-{field}"' in page, field
    assert "Use 1 to 64 small letters" in page and "Not a valid integer." in page
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessingPurpose)) == 0
    created = client.post("/admin/privacy/purposes/new", data={
        "key": "events", "name": "Invitations to events", "legal_basis": "legitimate_interest",
        "retention_days": "365", "data_categories": "name\ne-mail", "active": "1"})
    assert created.status_code == 302
    with rt.session() as session:
        events = consents.purpose_by_key(session, "events")
        assert (events.retention_days, events.data_categories) == (365, ["name", "e-mail"])
    listing = client.get("/admin/privacy").get_data(as_text=True)
    assert "Invitations to events" in listing and "Legitimate interest" in listing
    edited = client.post(f"/admin/privacy/purposes/{events.id}", data={
        "name": "Event invitations", "legal_basis": "consent", "retention_days": "",
        "active": "1"})
    assert edited.status_code == 302
    assert client.post(f"/admin/privacy/purposes/{events.id}/deactivate").status_code == 302
    with rt.session() as session:
        events = session.get(ProcessingPurpose, events.id)
        assert (events.key, events.name, events.retention_days, events.active) == (
            "events", "Event invitations", None, False)


def test_the_admin_page_shows_the_retention_report(client, rt):
    with rt.session() as session, session.begin():
        consents.create_purpose(session, {"key": "survey", "name": "Survey",
                                          "legal_basis": "consent", "retention_days": 30})
        gone = add_person(session, "Gabriela", "Stara", "g@example.com")
        consents.give(session, gone, "survey", "import", WORDING,
                      at=utcnow() - timedelta(days=40))
        add_person(session, "Lena", "Nowa", "l@example.com")
    page = client.get("/admin/privacy").get_data(as_text=True)
    report = page.split("Past their retention")[1]
    assert "Gabriela Stara" in report and "Lena Nowa" not in report


# --------------------------------------------------------------------- the command line


def test_the_commands_export_and_anonymise(cli, app, rt, zofia, tmp_path):
    target = tmp_path / "zofia.zip"
    done = cli("privacy", "export", str(zofia["zofia"]), "-o", str(target))
    assert done.returncode == 0, done.stderr
    archive = zipfile.ZipFile(target)
    assert json.loads(archive.read("person.json"))["person"]["pesel"] == PESEL
    assert any(name.endswith("cv.txt") for name in archive.namelist())

    missing = cli("privacy", "anonymise", "999999", "--yes")
    assert missing.returncode == 1 and "There is no person 999999." in missing.stderr
    declined = cli("privacy", "anonymise", str(zofia["zofia"]), input="n\n")
    assert declined.returncode == 1
    with rt.session() as session:
        assert not privacy.is_anonymised(session, zofia["zofia"])
    done = cli("privacy", "anonymise", str(zofia["zofia"]), "--yes")
    assert done.returncode == 0, done.stderr
    assert f"Anonymised person {zofia['zofia']}." in done.stdout
    with rt.session() as session:
        assert session.get(Person, zofia["zofia"]).pesel == ""
        doors = session.scalars(select(AuditEntry.door).where(
            AuditEntry.action == "anonymise", AuditEntry.record_id == zofia["zofia"])).all()
        assert doors == ["cli"]
    again = cli("privacy", "anonymise", str(zofia["zofia"]), "--yes")
    assert again.returncode == 0 and "anonymised already" in again.stdout


def test_an_unknown_person_answers_404_on_every_privacy_page(client, zofia):
    for path in ("/people/999999/consents", "/people/999999/data.zip",
                 "/people/999999/anonymise"):
        assert client.get(path).status_code == 404, path


def test_the_access_export_names_the_cases_the_person_is_involved_in(kartoteka_app_factory):
    from core import cases

    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        zofia = add_person(session, "Zofia", "Nowak", EMAIL)
        beata = add_person(session, "Beata", "Kowalska", "beata@example.com")
        case = cases.create(session, rt.host, {"title": "Baner", "process_key":
                                               "printing.project"}, people=[(zofia, "client")])
        cases.create(session, rt.host, {"title": "Tablice", "process_key": "printing.project"},
                     people=[(beata, "client")])
    document = json.loads(export(rt, zofia.id).read("person.json"))
    assert document["cases"] == [{"role": "client", "case_id": case.id, "title": "Baner",
                                  "process": "printing.project", "phase": "inquiry"}]

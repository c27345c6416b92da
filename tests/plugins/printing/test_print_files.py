"""Print files (PR-9): the customer's graphics on a print project with their format,
resolution, colour profile and bleed; received on upload, checked or rejected with a
reason by prepress, and a rejected one replaced by a corrected version that is received
again; each step on the project's timeline and in the audit trail. Through the
service, the project's card and the REST API. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import io
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import attachments, cases, roles, term_overrides, timeline, users, workflow
from core.errors import Forbidden, ValidationError
from core.models import Attachment, AuditEntry, Case
from core.permissions import ACTIONS
from plugins.printing import print_files
from plugins.printing.models import PrintFile
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
PROCESS = "printing.project"
PARAMETERS = {"width_mm": "3000", "height_mm": "1000", "dpi": "150",
              "colour_profile": "ISO Coated v2 (ECI)", "bleed_mm": "5"}
PROBLEM = "application/problem+json"


def pdf(body: bytes = b"banner") -> io.BytesIO:
    """A small file whose bytes are a PDF's, as the core's type check reads them."""
    return io.BytesIO(b"%PDF-1.4\n%" + body + b"\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")


def upload(name="baner-front.pdf", body=b"banner", content_type="application/pdf"):
    return (name, pdf(body), content_type)


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: the account manager who owns the projects, prepress with the
    permission to check, a colleague who may read projects but change none; an open
    project and a case of no print project."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        prepress = roles.create(session, "prepress", "Prepress")
        roles.set_permissions(session, prepress, [print_files.CHECK])
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        rep = _user(session, "rep@example.com", ["staff"], "Ewa Kowalczyk")
        checker = _user(session, "dtp@example.com", ["staff", "prepress"], "Marek Studio")
        _user(session, "reader@example.com", ["readers"], "Olga Czyta")
        project = cases.create(session, rt.host, {
            "title": "Baner reklamowy 3×1 m", "process_key": PROCESS, "owner_id": rep.id},
            actor=rep)
        # Another plugin's case: the printing plugin has nothing to say about it.
        other = Case(title="Przegląd instalacji", process_key="elsewhere.service",
                     phase_key="open", owner_id=rep.id)
        session.add(other)
        session.flush()
        return {"project": project.id, "other": other.id, "rep": rep.id,
                "checker": checker.id}


def _user(session, email, role_keys, name):
    user = users.create_user(session, email, PASSWORD, full_name=name)
    roles.assign(session, user, role_keys)
    return user


@pytest.fixture
def world(app, ids):
    """A request context with an open session, the project and the three accounts."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, settings=rt.settings)
        w.project = session.get(Case, ids["project"])
        w.rep = users.find_by_email(session, "rep@example.com")
        w.checker = users.find_by_email(session, "dtp@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.add = lambda data=None, sent=None, actor=None: print_files.add(
            session, rt.settings, w.project, PARAMETERS if data is None else data,
            sent or upload(), actor or w.rep)
        yield w


def subjects(world):
    return [(a.subject, a.body) for a in reversed(timeline.timeline(world.session,
                                                                    world.project))
            if a.event.startswith("printing.")]


# --- The service -----------------------------------------------------------------------------

def test_a_file_is_received_with_its_parameters_as_an_attachment_of_the_project(world):
    found = world.add()
    assert (found.width_mm, found.height_mm, found.dpi, found.colour_profile,
            found.bleed_mm) == (3000, 1000, 150, "ISO Coated v2 (ECI)", 5)
    assert (found.status, found.revision, found.received_by_id) == ("received", 1, world.rep.id)
    assert found.filename == "baner-front.pdf"
    kept = attachments.list_for(world.session, world.project)
    assert [(a.id, a.content_type) for a in kept] == [(found.attachment_id, "application/pdf")]
    assert attachments.verify(world.settings, kept[0])  # stored with its checksum
    assert subjects(world) == [("Print file received: baner-front.pdf",
                                "3000 × 1000 mm, bleed 5 mm, 150 dpi, ISO Coated v2 (ECI)")]
    assert print_files.listed(world.session, world.project, world.reader) == [found]


def test_bad_parameters_are_refused_field_by_field_and_nothing_is_kept(world):
    with pytest.raises(ValidationError) as refused:
        world.add({"dpi": "0", "colour_profile": "  ", "bleed_mm": "-3"}, ("", None, None))
    assert refused.value.errors == {
        "width_mm": "Enter the width of the print in millimetres.",
        "height_mm": "Enter the height of the print in millimetres.",
        "dpi": "Give a resolution from 1 to 4800 dpi.",
        "colour_profile": "Enter the colour profile, such as ISO Coated v2 (ECI).",
        "bleed_mm": "The bleed is from 0 to 500 mm; 0 for none.",
        "file": "Choose the file to upload."}
    with pytest.raises(ValidationError) as refused:
        world.add({**PARAMETERS, "width_mm": "3000.5", "height_mm": "-1"})
    assert refused.value.errors == {"width_mm": "Enter a whole number of millimetres.",
                                    "height_mm": "Give a size from 1 to 100000 mm."}
    assert world.session.scalar(select(func.count()).select_from(PrintFile)) == 0
    assert world.session.scalar(select(func.count()).select_from(Attachment)) == 0


@pytest.mark.parametrize(("name", "content", "content_type", "message"), [
    ("umowa.docx", b"PK\x03\x04", "application/octet-stream",
     "Send print files as PDF, JPEG or PNG."),
    ("baner.exe", b"MZ", "application/octet-stream", "Send print files as PDF, JPEG or PNG."),
    ("baner.pdf", b"<html><script>alert(1)</script></html>", "application/pdf",
     "The contents of the file are not a .pdf file; it may have been renamed."),
    ("baner.pdf", pdf().getvalue(), "text/html",
     "The file was sent as text/html, which is not a .pdf file."),
])
def test_a_file_of_the_wrong_type_is_refused(world, name, content, content_type, message):
    with pytest.raises(ValidationError) as refused:
        world.add(sent=(name, io.BytesIO(content), content_type))
    assert refused.value.errors == {"file": message}


def test_prepress_checks_a_file_and_whoever_lacks_the_permission_may_not(world):
    found = world.add()
    with pytest.raises(Forbidden, match="You may not check or reject print files."):
        print_files.check(world.session, found, world.rep)
    print_files.check(world.session, found, world.checker)
    assert (found.status, found.reviewed_by_id) == ("checked", world.checker.id)
    assert found.reviewed_at is not None
    with pytest.raises(ValidationError) as refused:
        print_files.check(world.session, found, world.checker)
    assert refused.value.errors == {"status": "The print file was checked already."}


def test_a_rejection_needs_a_reason_and_tells_it(world):
    found = world.add()
    for data in ({}, {"reason": "   "}):
        with pytest.raises(ValidationError) as refused:
            print_files.reject(world.session, found, data, world.checker)
        assert refused.value.errors == {
            "reason": "Say why the file is rejected: the customer is told."}
    with pytest.raises(Forbidden):
        print_files.reject(world.session, found, {"reason": "Za niska rozdzielczość."},
                           world.rep)
    print_files.reject(world.session, found, {"reason": " Za niska rozdzielczość. "},
                       world.checker)
    assert (found.status, found.rejection_reason) == ("rejected", "Za niska rozdzielczość.")
    with pytest.raises(ValidationError) as refused:
        print_files.check(world.session, found, world.checker)
    assert refused.value.errors == {"status": "The print file was rejected; it can be "
                                              "checked once a corrected version is uploaded."}


def test_a_rejected_file_is_replaced_and_received_again(world):
    found = world.add()
    with pytest.raises(ValidationError) as refused:
        print_files.replace(world.session, world.settings, found, PARAMETERS,
                            upload(body=b"v2"), world.rep)
    assert refused.value.errors == {
        "file": "Only after a rejection can the print file be replaced; now it is received."}
    print_files.reject(world.session, found, {"reason": "Brak spadu."}, world.checker)
    with pytest.raises(ValidationError) as refused:
        print_files.replace(world.session, world.settings, found, PARAMETERS, upload(),
                            world.rep)
    assert refused.value.errors == {
        "file": "This is the very file that was rejected; send the corrected one."}
    first = found.attachment_id
    print_files.replace(world.session, world.settings, found, {**PARAMETERS, "bleed_mm": "10"},
                        upload("baner-front-v2.pdf", b"v2"), world.rep)
    assert (found.status, found.revision, found.bleed_mm, found.filename) == (
        "received", 2, 10, "baner-front-v2.pdf")
    assert (found.reviewed_at, found.reviewed_by_id, found.rejection_reason) == (None, None, "")
    assert first in {a.id for a in attachments.list_for(world.session, world.project)}
    print_files.check(world.session, found, world.checker)
    assert [s for s, _body in subjects(world)] == [
        "Print file received: baner-front.pdf",
        "Print file rejected: baner-front.pdf",
        "Print file replaced: baner-front.pdf → baner-front-v2.pdf",
        "Print file checked: baner-front-v2.pdf"]
    assert subjects(world)[1][1] == "Brak spadu."


def test_every_change_is_in_the_audit_trail(world):
    found = world.add()
    print_files.reject(world.session, found, {"reason": "Brak spadu."}, world.checker)
    trail = world.session.execute(select(AuditEntry.action, AuditEntry.actor_id,
                                         AuditEntry.changes, AuditEntry.summary).where(
        AuditEntry.record_type == "printing_print_file", AuditEntry.record_id == found.id)
        .order_by(AuditEntry.id)).all()
    assert [(action, actor) for action, actor, _c, _s in trail] == [
        ("create", world.rep.id), ("update", world.checker.id)]
    assert trail[1].changes["status"] == ["received", "rejected"]
    assert trail[1].changes["rejection_reason"] == ["", "Brak spadu."]
    assert trail[1].summary == "baner-front.pdf"


def test_only_who_may_change_the_project_adds_files(world):
    with pytest.raises(Forbidden, match="You cannot add print files: you may not change the "
                                        "project."):
        world.add(actor=world.reader)
    assert print_files.may_add(world.session, world.rep, world.project)
    assert not print_files.may_add(world.session, world.reader, world.project)


def test_the_files_of_a_lost_project_no_longer_change(world):
    found = world.add()
    workflow.move(world.session, world.host, world.project, "lost", world.rep)
    refusal = {"_": "Work on the project is over; its print files no longer change."}
    with pytest.raises(ValidationError) as refused:
        world.add(sent=upload(body=b"other"))
    assert refused.value.errors == refusal
    with pytest.raises(ValidationError) as refused:
        print_files.check(world.session, found, world.checker)
    assert refused.value.errors == refusal


# --- The project's card ----------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def section(page: str) -> str:
    return re.search(r'<section class="printing-print-files".*?</section>', page, re.S).group(0)


def row(page: str, file_id: int) -> str:
    return visible(re.search(rf'<tr id="print-file-{file_id}".*?</tr>', page, re.S).group(0))


def only_file(app) -> PrintFile:
    with app.extensions["kartoteka"].session() as session:
        return session.scalars(select(PrintFile)).one()


def test_the_account_manager_uploads_from_the_card_and_prepress_checks_there(app, ids):
    rep = login(app, "rep@example.com")
    card = show(rep, f"/cases/{ids['project']}")
    assert "No print files yet." in section(card)
    assert "Checked: fit to print" not in section(card)  # no permission: no verdicts
    response = rep.post(f"/printing/projects/{ids['project']}/print-files/new", data={
        "csrf_token": csrf(card), **PARAMETERS, "notes": "Dwa bryty po 1,5 m.",
        "file": (pdf(), "baner-front.pdf", "application/pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{ids['project']}#print-files")
    found = only_file(app)
    card = show(rep, f"/cases/{ids['project']}")
    assert "Received baner-front.pdf." in card
    assert rep.post(f"/printing/print-files/{found.id}/check", data={
        "csrf_token": csrf(card)}).status_code == 403
    assert rep.get(f"/printing/print-files/{found.id}/reject").status_code == 403
    assert row(card, found.id).startswith(
        "baner-front.pdf Dwa bryty po 1,5 m. 3000 × 1000 mm 150 dpi ISO Coated v2 (ECI) 5 mm "
        "received")
    assert "Upload a corrected version" not in row(card, found.id)  # not rejected
    assert "Ewa Kowalczyk" in row(card, found.id)
    assert "Print file received: baner-front.pdf" in card  # on the timeline

    dtp = login(app, "dtp@example.com")
    card = show(dtp, f"/cases/{ids['project']}")
    response = dtp.post(f"/printing/print-files/{found.id}/check", data={
        "csrf_token": csrf(card), "version": str(found.version)})
    assert response.status_code == 302
    card = show(dtp, f"/cases/{ids['project']}")
    assert "checked" in row(card, found.id) and "Marek Studio" in row(card, found.id)
    assert "Print file checked: baner-front.pdf" in card


def test_a_refused_upload_comes_back_with_the_messages_under_the_fields(app, ids):
    rep = login(app, "rep@example.com")
    card = show(rep, f"/cases/{ids['project']}")
    page = text(rep.post(f"/printing/projects/{ids['project']}/print-files/new", data={
        "csrf_token": csrf(card), **PARAMETERS, "width_mm": "", "bleed_mm": "-2",
        "file": (io.BytesIO(b"PK\x03\x04"), "umowa.docx")}, content_type="multipart/form-data"))
    assert "Nothing was saved" in page
    assert error_under(page, "width_mm") == "Enter the width of the print in millimetres."
    assert error_under(page, "bleed_mm") == "The bleed is from 0 to 500 mm; 0 for none."
    assert error_under(page, "file") == "Send print files as PDF, JPEG or PNG."
    assert 'value="ISO Coated v2 (ECI)"' in page and 'value="1000"' in page  # kept as typed
    with app.extensions["kartoteka"].session() as session:
        assert session.scalar(select(func.count()).select_from(PrintFile)) == 0


def test_prepress_rejects_with_a_reason_and_the_manager_sends_a_corrected_version(app, ids):
    with app.test_request_context(), app.extensions["kartoteka"].session() as session, \
            session.begin():
        found = print_files.add(session, app.extensions["kartoteka"].settings,
                                session.get(Case, ids["project"]), PARAMETERS,
                                upload(), users.find_by_email(session, "rep@example.com"))
        file_id = found.id
    dtp = login(app, "dtp@example.com")
    card = show(dtp, f"/cases/{ids['project']}")
    page = text(dtp.post(f"/printing/print-files/{file_id}/reject", data={
        "csrf_token": csrf(card), "reason": ""}))
    assert error_under(page, "reason") == "Say why the file is rejected: the customer is told."
    response = dtp.post(f"/printing/print-files/{file_id}/reject", data={
        "csrf_token": csrf(card), "reason": "Rozdzielczość 30 dpi: za mało na 3 m."})
    assert response.status_code == 302
    card = show(dtp, f"/cases/{ids['project']}")
    assert "rejected" in row(card, file_id)
    assert "Rozdzielczość 30 dpi: za mało na 3 m." in row(card, file_id)

    rep = login(app, "rep@example.com")
    card = show(rep, f"/cases/{ids['project']}")
    assert f'href="/printing/print-files/{file_id}/replace"' in card
    form = show(rep, f"/printing/print-files/{file_id}/replace")
    assert "Rozdzielczość 30 dpi: za mało na 3 m." in form
    assert 'value="3000"' in form  # the parameters as they were
    response = rep.post(f"/printing/print-files/{file_id}/replace", data={
        "csrf_token": csrf(form), **PARAMETERS, "dpi": "100", "version": re.search(
            r'name="version" value="(\d+)"', form).group(1),
        "file": (pdf(b"v2"), "baner-front-v2.pdf", "application/pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    card = show(rep, f"/cases/{ids['project']}")
    assert row(card, file_id).startswith("baner-front-v2.pdf version 2")
    assert "100 dpi" in row(card, file_id) and "received" in row(card, file_id)
    assert "Print file replaced: baner-front.pdf → baner-front-v2.pdf" in card


def test_a_reader_sees_the_files_but_no_upload_form_and_other_cases_have_no_section(app, ids):
    reader = login(app, "reader@example.com")
    card = show(reader, f"/cases/{ids['project']}")
    assert "Print files" in section(card) and "print-file-upload" not in section(card)
    assert reader.get(f"/printing/projects/{ids['project']}/print-files/new").status_code == 403
    assert 'id="print-files"' not in show(reader, f"/cases/{ids['other']}")
    assert reader.get(f"/printing/projects/{ids['other']}/print-files/new").status_code == 404


def test_the_section_is_worded_with_the_installations_terms(kartoteka_app_factory, ids):
    app = kartoteka_app_factory(["printing"], default_locale="pl")
    rt = app.extensions["kartoteka"]
    rep = login(app, "rep@example.com")
    assert "<h2>Pliki do druku</h2>" in show(rep, f"/cases/{ids['project']}")
    with app.test_request_context(), rt.session() as session, session.begin():
        term_overrides.save(session, rt.host.terms, "printing.print_file", "pl",
                            {"nom": "grafika", "gen": "grafiki"},
                            {"nom": "grafiki", "gen": "grafik"}, gender="f")
    assert "<h2>Grafiki</h2>" in show(rep, f"/cases/{ids['project']}")


# --- The REST API ----------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    from core import tokens

    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace()
    with rt.session() as session, session.begin():
        for name, email in (("rep", "rep@example.com"), ("dtp", "dtp@example.com"),
                            ("reader", "reader@example.com")):
            user = users.find_by_email(session, email)
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    made.ids = ids
    return made


def send(who, case_id, name="baner-front.pdf", body=b"banner", **data):
    return who("post", f"/printing/projects/{case_id}/print-files",
               data={**PARAMETERS, **data, "file": (pdf(body), name)},
               content_type="multipart/form-data")


def test_the_api_receives_lists_checks_rejects_and_replaces(api):
    project = api.ids["project"]
    made = send(api.rep, project)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert {k: body[k] for k in ("case_id", "filename", "width_mm", "height_mm", "dpi",
                                 "colour_profile", "bleed_mm", "status", "revision",
                                 "content_type")} == {
        "case_id": project, "filename": "baner-front.pdf", "width_mm": 3000,
        "height_mm": 1000, "dpi": 150, "colour_profile": "ISO Coated v2 (ECI)",
        "bleed_mm": 5, "status": "received", "revision": 1, "content_type": "application/pdf"}
    file_id = body["id"]
    listed = api.reader("get", f"/printing/projects/{project}/print-files")
    assert [f["id"] for f in listed.get_json()] == [file_id]
    download = api.reader("get", f"/printing/print-files/{file_id}/file")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-1.4")
    assert body["download_url"].endswith(f"/api/v1/printing/print-files/{file_id}/file")

    stale = api.dtp("post", f"/printing/print-files/{file_id}/reject",
                    json={"reason": "Brak spadu."}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    rejected = api.dtp("post", f"/printing/print-files/{file_id}/reject",
                       json={"reason": "Brak spadu."}, headers={"If-Match": f'"{body["version"]}"'})
    assert rejected.status_code == 200, rejected.get_json()
    assert (rejected.get_json()["status"], rejected.get_json()["rejection_reason"]) == (
        "rejected", "Brak spadu.")
    assert rejected.get_json()["reviewed_by_id"] is not None

    replaced = api.rep("post", f"/printing/print-files/{file_id}/replace",
                       data={**PARAMETERS, "bleed_mm": "10",
                             "file": (pdf(b"v2"), "baner-front-v2.pdf")},
                       content_type="multipart/form-data")
    assert replaced.status_code == 200, replaced.get_json()
    assert (replaced.get_json()["status"], replaced.get_json()["revision"],
            replaced.get_json()["bleed_mm"]) == ("received", 2, 10)
    checked = api.dtp("post", f"/printing/print-files/{file_id}/check")
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["status"] == "checked"
    one = api.reader("get", f"/printing/print-files/{file_id}")
    assert one.headers["ETag"] == f'"{one.get_json()["version"]}"'


def test_the_api_refuses_with_field_errors_403_and_404(api):
    project = api.ids["project"]
    refused = api.rep("post", f"/printing/projects/{project}/print-files",
                      data={"colour_profile": "FOGRA39", "bleed_mm": "-1",
                            "file": (io.BytesIO(b"hello"), "baner.txt")},
                      content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert refused.get_json()["errors"] == {
        "width_mm": "Enter the width of the print in millimetres.",
        "height_mm": "Enter the height of the print in millimetres.",
        "dpi": "Enter the resolution in dpi.",
        "bleed_mm": "The bleed is from 0 to 500 mm; 0 for none.",
        "file": "Send print files as PDF, JPEG or PNG."}
    assert api.rep("post", f"/printing/projects/{project}/print-files",
                   json=PARAMETERS).status_code == 415
    assert send(api.reader, project).status_code == 403
    assert send(api.rep, api.ids["other"]).status_code == 404
    assert send(api.rep, 999999).status_code == 404
    assert api.rep("get", "/printing/print-files/999999").status_code == 404

    file_id = send(api.rep, project).get_json()["id"]
    no_reason = api.dtp("post", f"/printing/print-files/{file_id}/reject", json={})
    assert no_reason.status_code == 422
    assert no_reason.get_json()["errors"] == {
        "reason": "Say why the file is rejected: the customer is told."}
    forbidden = api.rep("post", f"/printing/print-files/{file_id}/check")
    assert forbidden.status_code == 403 and forbidden.content_type == PROBLEM
    assert api.rep("post", f"/printing/print-files/{file_id}/reject",
                   json={"reason": "x"}).status_code == 403
    not_rejected = api.rep("post", f"/printing/print-files/{file_id}/replace",
                           data={**PARAMETERS, "file": (pdf(b"v2"), "v2.pdf")},
                           content_type="multipart/form-data")
    assert not_rejected.status_code == 422
    assert "file" in not_rejected.get_json()["errors"]


def test_the_openapi_document_describes_the_print_files(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    upload_body = spec["paths"]["/api/v1/printing/projects/{case_id}/print-files"]["post"][
        "requestBody"]["content"]["multipart/form-data"]
    assert upload_body
    reject = spec["paths"]["/api/v1/printing/print-files/{file_id}/reject"]["post"]
    assert {"403", "412", "422"} <= reject["responses"].keys()

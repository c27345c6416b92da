"""The pages of documents: the administrators' template editor (versions, live preview,
going back), number series, and making a document from a record's card."""

import html
import re

import pytest
from sqlalchemy import select

from core import cases, documents, people, roles, users
from core.db import utcnow
from core.documents import Series, Template
from core.models import (
    Attachment,
    Case,
    Document,
    DocumentTemplate,
    NumberCounter,
    NumberSeries,
    TemplateVersion,
    User,
)
from core.testing import ADMIN_PASSWORD
from page_helpers import add_org, count, fetch, flashes, show, text, visible, writing

PASSWORD = ADMIN_PASSWORD
BODY = "<h1>Offer {{ document.number }}</h1>\n<p>{{ case.title }}</p>\n<p>{{ owner.name }}</p>"
OFFER = Template("test.offer", "offer", "case", {"pl": "Oferta", "en": "Offer"}, BODY,
                 series=Series("test.offer", "Offers", "OF/{year}/{seq:04}"))
LETTER = Template("test.letter", "letter", "organisation", {"pl": "Pismo", "en": "Letter"},
                  "<p>To {{ organisation.name }}</p>")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


# --------------------------------------------------------------------- helpers


def ship(app, shipped=OFFER) -> int:
    with app.app_context(), writing(app) as (session, _admin):
        return documents.ship(session, shipped).id


def staff(app, email, name, role_keys=("staff",)) -> int:
    with writing(app) as (session, _admin):
        return users.create_user(session, email, PASSWORD, name, roles=list(role_keys)).id


def login(app, kartoteka_login, email):
    return kartoteka_login(app.test_client(), email, PASSWORD)


def add_case(app, title, owner_id, **fields) -> int:
    rt = app.extensions["kartoteka"]
    with writing(app) as (session, _admin):
        data = {"title": title, "process_key": "printing.project", "owner_id": owner_id,
                **fields}
        return cases.create(session, rt.host, data, actor=session.get(User, owner_id)).id


def versions_of(app, template_id) -> list[tuple[int, str, str]]:
    with app.extensions["kartoteka"].session() as session:
        return [(v.number, v.body, v.note) for v in session.scalars(
            select(TemplateVersion).where(TemplateVersion.template_id == template_id)
            .order_by(TemplateVersion.number))]


def current_body(app, template_id) -> str:
    with app.extensions["kartoteka"].session() as session:
        template = session.get(DocumentTemplate, template_id)
        return documents.current_version(session, template).body


def error_under(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{re.escape(name)}"[^>]*>(.*?)</span>', page,
                      re.S)
    return found.group(1) if found and found.group(1) else None


def textarea(page: str, name: str) -> str:
    return re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>(.*?)</textarea>', page,
                     re.S).group(1)


def frame(response) -> str:
    """The document shown in the preview's sandboxed frame, as the browser gets it."""
    raw = response.get_data(as_text=True)
    tag = re.search(r"<iframe[^>]*>", raw).group(0)
    assert re.search(r"\ssandbox[\s>]", tag), tag  # no scripts, no same origin
    return html.unescape(re.search(r'srcdoc="([^"]*)"', tag).group(1))


def history(page: str) -> list[str]:
    table = re.search(r'<table class="list versions">.*?<tbody>(.*?)</tbody>', page, re.S)
    return [visible(row) for row in re.findall(r"<tr id=\"version-\d+\"[^>]*>(.*?)</tr>",
                                               table.group(1), re.S)]


def editor_form(page: str) -> dict:
    """The editor's fields as the browser would post them."""
    return {"name_pl": "Oferta", "name_en": "Offer", "series_key": "test.offer",
            "body": textarea(page, "body"), "note": ""}


# --------------------------------------------------------------------- the templates


def test_the_list_shows_each_template_with_its_kind_subject_series_and_version(app, client):
    template_id = ship(app)
    page = show(client, "/admin/templates")
    row = visible(re.search(rf'<tr id="template-{template_id}"[^>]*>(.*?)</tr>', page,
                            re.S).group(1))
    assert row == "Offer test.offer Offer Case Offers OF/{year}/{seq:04} 1"
    assert 'href="/admin/templates"' in page  # in the navigation
    assert 'href="/admin/number-series"' in page


def test_editing_saves_a_new_version_and_the_history_lists_both(app, client):
    template_id = ship(app)
    url = f"/admin/templates/{template_id}"
    page = show(client, url)
    assert textarea(page, "body") == BODY
    edited = BODY.replace("<h1>", "<h1 class='big'>")
    response = client.post(url, data={**editor_form(text(client.get(url))), "body": edited,
                                      "note": "A bigger heading", "action": "save"})
    assert response.status_code == 302 and response.headers["Location"].startswith(url)
    page = show(client, url)
    assert "Saved as version 2." in flashes(page)
    assert textarea(page, "body") == edited
    rows = history(page)
    assert len(rows) == 2
    assert rows[0].startswith("2 in use") and "admin@example.com A bigger heading" in rows[0]
    assert rows[1].startswith("1 ") and "shipped As shipped" in rows[1]
    assert "Use this version again" in rows[1] and "Use this version again" not in rows[0]
    assert versions_of(app, template_id) == [(1, BODY, "As shipped"),
                                             (2, edited, "A bigger heading")]
    # The same text again is no new version.
    client.post(url, data={**editor_form(page), "body": edited, "action": "save"})
    assert len(versions_of(app, template_id)) == 2


def test_a_syntax_error_is_refused_with_its_line_and_the_typed_text_is_kept(app, client):
    template_id = ship(app)
    url = f"/admin/templates/{template_id}"
    broken = "<h1>Offer</h1>\n<p>{{ case.title </p>\n<p>more</p>"
    response = client.post(url, data={**editor_form(show(client, url)), "body": broken,
                                      "name_pl": "Oferta nowa", "note": "Oops",
                                      "action": "save"})
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, "body").startswith("Line 2: ")
    assert textarea(page, "body") == broken
    assert 'value="Oferta nowa"' in page and 'value="Oops"' in page
    assert versions_of(app, template_id) == [(1, BODY, "As shipped")]
    assert fetch(app, DocumentTemplate, template_id).name_pl == "Oferta"


def test_the_preview_fills_the_unsaved_text_with_the_chosen_record_and_escapes_its_data(
        app, client):
    template_id = ship(app)
    owner = staff(app, "rep@example.com", "Robert Rep")
    other = add_case(app, "Another banner", owner)
    case_id = add_case(app, "<b>x</b> {{7*7}}", owner)
    url = f"/admin/templates/{template_id}"
    page = show(client, url)
    assert re.search(rf'<option value="{case_id}" selected>', page)  # the newest first
    assert f'<option value="{other}"' in page
    draft = "<h2>Draft for {{ case.title }}</h2>\n<p>by {{ owner.name }}, {{ document.number }}</p>"
    response = client.post(url, data={**editor_form(page), "body": draft,
                                      "record_id": str(case_id), "action": "preview"})
    assert response.status_code == 200
    shown = frame(response)
    assert "<h2>Draft for &lt;b&gt;x&lt;/b&gt; {{7*7}}</h2>" in shown
    assert "<b>x</b>" not in shown and "49" not in shown
    assert "by Robert Rep, (number given on issue)" in shown
    assert "Content-Security-Policy" in shown  # the frame fetches nothing
    assert textarea(text(response), "body") == draft  # still being edited
    assert current_body(app, template_id) == BODY and len(versions_of(app, template_id)) == 1
    # Another record, by its number; and the editor's script gets the same as JSON.
    response = client.post(url, data={**editor_form(page), "body": draft, "other_id": str(other),
                                      "action": "preview"})
    assert "Draft for Another banner" in frame(response)
    answer = client.post(f"{url}/preview", data={"body": draft,
                                                 "record_id": str(case_id)}).get_json()
    assert answer["errors"] == {}
    assert "<h2>Draft for &lt;b&gt;x&lt;/b&gt; {{7*7}}</h2>" in answer["html"]
    answer = client.post(f"{url}/preview", data={"body": "<p>\n{{ nothing_here }}</p>",
                                                 "record_id": str(case_id)}).get_json()
    assert answer["errors"]["body"].startswith("Line 2: ") and answer["html"] == ""
    assert current_body(app, template_id) == BODY


def test_a_preview_problem_is_shown_under_the_text_and_nothing_is_saved(app, client):
    template_id = ship(app)
    case_id = add_case(app, "Banner", staff(app, "rep@example.com", "Robert Rep"))
    url = f"/admin/templates/{template_id}"
    response = client.post(url, data={**editor_form(show(client, url)), "action": "preview",
                                      "body": "<p>ok</p>\n\n<p>{{ case.nope.deeper }}</p>",
                                      "record_id": str(case_id)})
    assert response.status_code == 200
    assert error_under(text(response), "body").startswith("Line 3: ")
    response = client.post(url, data={**editor_form(show(client, url)), "action": "preview",
                                       "record_id": "", "other_id": "999999"})
    assert "There is no such record" in error_under(text(response), "record_id")
    assert len(versions_of(app, template_id)) == 1


def test_an_e_mail_template_has_its_subject_and_plain_text_in_the_editor_and_preview(
        app, client):
    template_id = ship(app, Template(
        "test.welcome", "email", "person", {"pl": "Powitanie", "en": "Welcome"},
        "<p>Hello {{ person.first_name }}</p>", subject="Welcome, {{ person.first_name }}",
        text_body="Hello {{ person.first_name }}"))
    with writing(app) as (session, admin):
        person = people.create(session, {"first_name": "Anna", "last_name": "Nowak"}, admin).id
    url = f"/admin/templates/{template_id}"
    page = show(client, url)
    assert 'value="Welcome, {{ person.first_name }}"' in page
    assert textarea(page, "text_body") == "Hello {{ person.first_name }}"
    form = {**editor_form(page), "series_key": "", "subject": "Hi {{ person.last_name }}",
            "text_body": "Dear {{ person.first_name }} {{ person.last_name }}"}
    response = client.post(url, data={**form, "record_id": str(person), "action": "preview"})
    page = text(response)
    assert '<span class="preview-subject">Hi Nowak</span>' in page
    assert '<pre class="preview-text">Dear Anna Nowak</pre>' in page
    assert "Hello Anna" in frame(response)
    response = client.post(url, data={**form, "subject": "Hi {{ person.last_name",
                                      "action": "save"})
    assert error_under(text(response), "subject").startswith("Line 1: ")
    assert len(versions_of(app, template_id)) == 1
    assert client.post(url, data={**form, "action": "save"}).status_code == 302
    with app.extensions["kartoteka"].session() as session:
        version = documents.current_version(session, session.get(DocumentTemplate,
                                                                 template_id))
        assert (version.number, version.subject, version.text_body) == (
            2, "Hi {{ person.last_name }}", "Dear {{ person.first_name }} {{ person.last_name }}")
    # E-mails are sent in mailings: none is offered on the card.
    assert f'<option value="{template_id}">' not in show(client, f"/people/{person}")


def test_an_old_version_can_be_read_and_used_again_as_a_new_version(app, client):
    template_id = ship(app)
    url = f"/admin/templates/{template_id}"
    client.post(url, data={**editor_form(show(client, url)), "body": "<p>Second</p>",
                           "note": "Shorter", "action": "save"})
    old = show(client, f"{url}/versions/1")
    assert BODY in old and "Use this version again" in old
    assert "Use this version again" not in show(client, f"{url}/versions/2")
    response = client.post(f"{url}/revert", data={"number": "1"})
    assert response.status_code == 302
    page = show(client, url)
    assert "Version 1 is in use again, as version 3." in flashes(page)
    assert versions_of(app, template_id)[-1] == (3, BODY, "Back to version 1")
    assert current_body(app, template_id) == BODY
    assert history(page)[0].startswith("3 in use")
    client.post(f"{url}/revert", data={"number": "99"})
    assert "There is no such version." in show(client, url)
    assert len(versions_of(app, template_id)) == 3
    assert client.get(f"{url}/versions/99").status_code == 404


def test_an_administrator_writes_a_template_of_their_own(app, client):
    ship(app)  # brings the series
    response = client.post("/admin/templates/new", data={
        "key": "thank_you", "name_pl": "", "kind": "letter", "subject_type": "case",
        "body": "{% if %}", "note": ""})
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "key") and error_under(page, "name_pl")
    assert error_under(page, "body").startswith("Line 1: ")
    assert 'value="thank_you"' in page
    response = client.post("/admin/templates/new", data={
        "key": "local.thank_you", "name_pl": "Podziękowanie", "name_en": "Thank you",
        "kind": "letter", "subject_type": "organisation", "series_key": "test.offer",
        "body": "<p>Thank you, {{ organisation.name }}</p>", "note": "First"})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        made = session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == "local.thank_you"))
        assert (made.subject_type, made.series_key, made.name_en) == \
            ("organisation", "test.offer", "Thank you")
    assert response.headers["Location"] == f"/admin/templates/{made.id}"


# --------------------------------------------------------------------- number series


def test_a_series_with_a_bad_pattern_shows_field_errors_and_is_not_saved(app, client):
    for pattern, reset, message in [
            ("UM/{seq", "yearly", "Close every brace"),
            ("UM/{year}", "yearly", "needs {seq}"),
            ("UM/{seq:04}", "yearly", "each year needs {year}"),
            ("UM/{week}/{seq}", "never", "Unknown part {week}")]:
        response = client.post("/admin/number-series", data={
            "key": "contracts", "name": "Contracts", "pattern": pattern, "reset": reset})
        page = text(response)
        assert response.status_code == 200
        assert message in error_under(page, "pattern"), (pattern, error_under(page, "pattern"))
        assert f'value="{pattern}"' in page
    response = client.post("/admin/number-series", data={"key": "Bad Key", "name": "",
                                                         "pattern": "X/{seq}", "reset": "weekly"})
    page = text(response)
    assert error_under(page, "key") and error_under(page, "name") and error_under(page, "reset")
    assert count(app, NumberSeries, NumberSeries.key == "contracts") == 0


def test_a_series_is_added_edited_and_shows_the_last_number_issued(app, client):
    response = client.post("/admin/number-series", data={
        "key": "contracts", "name": "Contracts", "pattern": "UM/{year}/{seq:04}",
        "reset": "yearly"})
    assert response.status_code == 302
    page = show(client, "/admin/number-series")
    year = utcnow().year
    row = visible(re.search(r'<tr id="series-contracts">(.*?)</tr>', page, re.S).group(1))
    assert row == f"contracts Contracts UM/{{year}}/{{seq:04}} every year none yet UM/{year}/0001"
    # A key that is taken is not overwritten from the form for a new one.
    page = text(client.post("/admin/number-series", data={
        "key": "contracts", "name": "Other", "pattern": "X/{seq}", "reset": "never"}))
    assert error_under(page, "key") == "This key is taken."
    page = show(client, "/admin/number-series/contracts")
    assert 'value="Contracts"' in page
    response = client.post("/admin/number-series/contracts", data={
        "key": "ignored", "name": "Contracts", "pattern": "UM/{year}/{month}/{seq}",
        "reset": "monthly"})
    assert response.status_code == 302
    series = fetch(app, NumberSeries, "contracts")
    assert (series.pattern, series.reset) == ("UM/{year}/{month}/{seq}", "monthly")
    assert fetch(app, NumberSeries, "ignored") is None
    assert client.get("/admin/number-series/nope").status_code == 404


# --------------------------------------------------------------------- documents on cards


def test_a_document_made_from_the_case_card_is_a_numbered_pdf_on_the_card(app, client):
    template_id = ship(app)
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner for the fair", owner)
    page = show(client, f"/cases/{case_id}")
    section = re.search(r'<section class="card documents" id="documents">(.*?)</section>',
                        page, re.S).group(1)
    assert "None yet." in section
    assert f'<option value="{template_id}">Offer</option>' in section
    response = client.post("/documents/generate", data={
        "record_type": "case", "record_id": str(case_id), "template_id": str(template_id)})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case_id}"
    number = f"OF/{utcnow().year}/0001"
    with app.extensions["kartoteka"].session() as session:
        document = session.scalar(select(Document).where(Document.record_id == case_id))
        attachment = session.get(Attachment, document.attachment_id)
        assert (document.number, document.record_type) == (number, "case")
        assert attachment.content_type == "application/pdf"
        assert (attachment.record_type, attachment.record_id) == ("case", case_id)
    download = client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    page = show(client, f"/cases/{case_id}")
    assert f"Document {number} generated." in flashes(page)
    section = re.search(r'<section class="card documents" id="documents">(.*?)</section>',
                        page, re.S).group(1)
    assert f'href="/attachments/{attachment.id}"' in section
    # The title is the template's (Polish) name with the number.
    assert f"Offer {number}" in visible(section) and "admin@example.com" in visible(section)
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S).group(1)
    assert f"Offer {number}" in visible(timeline)
    # The next one takes the next number.
    client.post("/documents/generate", data={
        "record_type": "case", "record_id": str(case_id), "template_id": str(template_id)})
    assert count(app, Document) == 2
    assert f"OF/{utcnow().year}/0002" in show(client, f"/cases/{case_id}")


def test_organisation_and_person_cards_have_their_documents_section(app, client):
    letter = ship(app, LETTER)
    offer = ship(app)  # for cases only: not offered on an organisation
    org_id = add_org(app, "Gmina Kórnik")
    page = show(client, f"/organisations/{org_id}")
    section = re.search(r'<section class="card documents" id="documents">(.*?)</section>',
                        page, re.S).group(1)
    offered = re.findall(r'<option value="(\d+)">', section)
    assert str(letter) in offered and str(offer) not in offered
    response = client.post("/documents/generate", data={
        "record_type": "organisation", "record_id": str(org_id), "template_id": str(letter)})
    assert response.headers["Location"] == f"/organisations/{org_id}"
    page = show(client, f"/organisations/{org_id}")
    assert "Document Letter generated." in flashes(page)  # no series: its name
    assert count(app, Document, Document.record_type == "organisation") == 1
    with writing(app) as (session, admin):
        person = people.create(session, {"first_name": "Anna", "last_name": "Nowak"}, admin).id
    page = show(client, f"/people/{person}")
    assert '<section class="card documents" id="documents">' in page
    section = re.search(r'<section class="card documents" id="documents">(.*?)</section>',
                        page, re.S).group(1)
    assert "None yet." in section


def test_refusals_are_flashed_and_nothing_is_made(app, client):
    offer = ship(app)
    letter = ship(app, LETTER)
    case_id = add_case(app, "Banner", staff(app, "rep@example.com", "Robert Rep"))
    for template_id, message in [(letter, "This template is not for this record."),
                                 ("", "Choose a template from the list."),
                                 ("999999", "Choose a template from the list.")]:
        response = client.post("/documents/generate", data={
            "record_type": "case", "record_id": str(case_id), "template_id": str(template_id)})
        assert response.status_code == 302
        assert message in flashes(show(client, f"/cases/{case_id}")), message
    with writing(app) as (session, admin):
        documents.save(session, session.get(DocumentTemplate, offer),
                       {"body": "<p>{{ nothing_here }}</p>"}, admin)
    client.post("/documents/generate", data={
        "record_type": "case", "record_id": str(case_id), "template_id": str(offer)})
    assert any(m.startswith("Line 1: ") for m in flashes(show(client, f"/cases/{case_id}")))
    assert count(app, Document) == 0
    with app.extensions["kartoteka"].session() as session:
        assert session.scalar(select(NumberCounter.last).where(
            NumberCounter.series_key == "test.offer")) in (None, 0)  # the number given back
    assert client.post("/documents/generate", data={
        "record_type": "nothing", "record_id": "1", "template_id": str(offer)}).status_code == 404


# --------------------------------------------------------------------- access


def test_a_user_without_the_permission_cannot_open_the_admin_pages(app, kartoteka_login):
    template_id = ship(app)
    staff(app, "rep@example.com", "Robert Rep")
    as_rep = login(app, kartoteka_login, "rep@example.com")
    for url in ("/admin/templates", "/admin/templates/new", f"/admin/templates/{template_id}",
                f"/admin/templates/{template_id}/versions/1", "/admin/number-series",
                "/admin/number-series/test.offer"):
        assert as_rep.get(url).status_code == 403, url
    for url, data in [(f"/admin/templates/{template_id}", {"body": "<p>x</p>",
                                                           "action": "save"}),
                      (f"/admin/templates/{template_id}/preview", {"body": "<p>x</p>"}),
                      (f"/admin/templates/{template_id}/revert", {"number": "1"}),
                      ("/admin/templates/new", {"key": "local.x", "name_pl": "X",
                                                "kind": "letter", "subject_type": "case"}),
                      ("/admin/number-series", {"key": "x", "name": "X",
                                                "pattern": "{seq}", "reset": "never"})]:
        assert as_rep.post(url, data=data).status_code == 403, url
    assert len(versions_of(app, template_id)) == 1
    assert count(app, DocumentTemplate, DocumentTemplate.key == "local.x") == 0
    assert count(app, NumberSeries, NumberSeries.key == "x") == 0
    assert 'href="/admin/templates"' not in show(as_rep, "/")
    anonymous = app.test_client().get("/admin/templates")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # A role granting the permission opens them.
    with writing(app) as (session, admin):
        role = roles.create(session, "templates", "Templates", actor=admin)
        roles.set_permissions(session, role, ["core.manage_templates"], actor=admin)
    staff(app, "clerk@example.com", "Clara Clerk", role_keys=("staff", "templates"))
    as_clerk = login(app, kartoteka_login, "clerk@example.com")
    assert 'href="/admin/templates"' in show(as_clerk, "/admin/templates")


def test_a_user_who_cannot_see_the_record_cannot_make_a_document_of_it(app, kartoteka_login):
    template_id = ship(app)
    rep = staff(app, "rep@example.com", "Robert Rep")
    with writing(app) as (session, admin):
        role = roles.create(session, "own_cases", "Own cases only", actor=admin)
        roles.set_access(session, role, {("*", a): "own" for a in
                                         ("read", "create", "edit", "delete", "export")})
    staff(app, "other@example.com", "Olga Other", role_keys=("own_cases",))
    case_id = add_case(app, "Banner", rep)
    as_other = login(app, kartoteka_login, "other@example.com")
    response = as_other.post("/documents/generate", data={
        "record_type": "case", "record_id": str(case_id), "template_id": str(template_id)})
    assert response.status_code == 404
    assert count(app, Document) == 0
    assert count(app, Case) == 1

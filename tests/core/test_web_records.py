"""The staff pages of organisations, people and their files, as a staff member uses them."""

import io
import re
from datetime import date

import pytest

from core import memberships, organisations, people, timeline, users
from core.models import Activity, Attachment, Membership, Organisation, Person, Task
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD
from page_helpers import add_org, count, fetch, flashes, show, text, visible, writing

NIP = "7773061579"
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
       b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


# --------------------------------------------------------------------- helpers


def add_person(app, first="Anna", last="Nowak", **fields) -> int:
    with writing(app) as (session, admin):
        data = {"first_name": first, "last_name": last, **fields}
        return people.create(session, data, admin, allow_duplicates=True).id


def join(app, person_id, org_id, role, start) -> int:
    with writing(app) as (session, admin):
        return memberships.join(session, session.get(Person, person_id),
                                session.get(Organisation, org_id), role, start,
                                actor=admin).id


def error_under(page: str, field: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{field}">(.*?)</span>', page, re.S)
    return found.group(1) if found else None


def typed_in(page: str, field: str) -> str:
    """What an input or a textarea of a form holds."""
    found = (re.search(rf'<input id="f-{field}" name="{field}" type="[^"]*" value="([^"]*)"',
                       page)
             or re.search(rf'<textarea id="f-{field}" name="{field}"[^>]*>(.*?)</textarea>',
                          page, re.S))
    assert found, f"no field {field}"
    return found.group(1)


def listed_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/organisations/(\d+)"', page)]


def names_listed(page: str) -> list[str]:
    return re.findall(r'<td><a href="/organisations/\d+">(.*?)</a></td>', page)


def next_page(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*after=[^"]*)">', page)
    return found.group(1) if found else None


def members(page: str) -> list[tuple[str, str]]:
    """The membership lines of a card: ("current" or "past", what they say)."""
    return [(state, visible(body)) for state, body in
            re.findall(r'<li class="(current|past)">(.*?)</li>', page, re.S)]


def history(page: str) -> list[str]:
    return [visible(body) for body in re.findall(r'<li class="kind-\w+">(.*?)</li>', page, re.S)]


def details(page: str) -> list[tuple[str, str]]:
    """The card's details (not the other panels' figures)."""
    found = re.search(r'<dl class="details">(.*?)</dl>', page, re.S)
    return [(visible(dt), visible(dd)) for dt, dd in
            re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", found.group(1) if found else "",
                       re.S)]


# --------------------------------------------------------------------- organisation list


def test_the_list_shows_organisations_sorted_by_name_ignoring_diacritics(app, client):
    for name in ("Gmina Śrem", "Gmina Kórnik", "Fundacja Zielona", "Gmina Mosina"):
        add_org(app, name)
    page = show(client, "/organisations/")
    assert names_listed(page) == ["Fundacja Zielona", "Gmina Kórnik", "Gmina Mosina",
                                  "Gmina Śrem"]


def test_searching_a_fragment_without_diacritics_finds_the_organisation(app, client):
    add_org(app, "Gmina Kórnik")
    add_org(app, "Gmina Mosina")
    assert names_listed(show(client, "/organisations/?q=korn")) == ["Gmina Kórnik"]
    page = show(client, "/organisations/?q=xyz")
    assert names_listed(page) == [] and "No organisations found." in page


def test_the_list_filters_by_type(app, client):
    add_org(app, "Gmina Kórnik", "core.municipality")
    add_org(app, "Fundacja Zielona", "core.foundation")
    add_org(app, "Powiat Poznański", "core.county")
    assert names_listed(show(client, "/organisations/?type_key=core.foundation")) == [
        "Fundacja Zielona"]
    assert names_listed(show(client, "/organisations/?type_key=core.county&q=fund")) == []


def test_a_long_list_continues_on_a_next_page_without_repeats_or_gaps(app, client):
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        created = {organisations.create(session, host, {"name": f"Firma {i % 7}",
                                                        "type_key": "core.company"},
                                        admin, allow_duplicates=True).id for i in range(55)}
    first = show(client, "/organisations/")
    assert len(listed_ids(first)) == 50 and next_page(first)
    second = show(client, next_page(first))
    assert len(listed_ids(second)) == 5 and next_page(second) is None
    assert set(listed_ids(first)).isdisjoint(listed_ids(second))
    assert set(listed_ids(first)) | set(listed_ids(second)) == created
    names = names_listed(first) + names_listed(second)
    assert names == sorted(names)


# --------------------------------------------------------------------- organisation form


def test_a_new_organisation_is_stored_normalised_and_its_card_opens(polish):
    assert "Dodaj organizację" in show(polish, "/organisations/new")
    response = polish.post("/organisations/new", data={
        "name": " Gmina Kórnik ", "type_key": "core.municipality", "nip": "PL 777-306-15-79",
        "postal_code": "62035", "city": "Kórnik", "phone": "600 100 200",
        "email": " Urzad@Kornik.PL ", "owner_id": ""})
    assert response.status_code == 302
    org_id = int(re.fullmatch(r"/organisations/(\d+)", response.headers["Location"]).group(1))
    org = fetch(polish.application, Organisation, org_id)
    assert (org.name, org.nip, org.postal_code, org.phone, org.email) == (
        "Gmina Kórnik", NIP, "62-035", "+48600100200", "urzad@kornik.pl")
    card = show(polish, f"/organisations/{org_id}")
    assert "Zapisano." in flashes(card)
    assert ("NIP", "777-306-15-79") in details(card)
    assert ("Telefon", "+48 600 100 200") in details(card)


def test_each_bad_field_shows_its_error_and_the_form_keeps_what_was_typed(polish):
    response = polish.post("/organisations/new", data={
        "name": "", "type_key": "core.municipality", "nip": "123", "email": "urzad@",
        "city": "Kórnik", "postal_code": "62-0355"})
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, "name") == "Wpisz nazwę."
    assert error_under(page, "nip") == "NIP musi mieć 10 cyfr."
    assert error_under(page, "email") == "To nie jest poprawny adres e-mail."
    assert error_under(page, "postal_code")
    assert error_under(page, "city") is None
    assert [typed_in(page, f) for f in ("nip", "email", "city", "postal_code")] == [
        "123", "urzad@", "Kórnik", "62-0355"]
    assert count(polish.application, Organisation) == 0


def test_a_likely_duplicate_is_shown_with_a_link_and_can_be_saved_anyway(app, client):
    existing = add_org(app, "Gmina Kórnik", nip=NIP)
    data = {"name": "Urząd Gminy w Kórniku", "type_key": "core.public_body", "nip": NIP}
    response = client.post("/organisations/new", data=data)
    assert response.status_code == 200
    page = text(response)
    assert "Similar records already exist: check them before saving." in page
    assert f'<a href="/organisations/{existing}">Gmina Kórnik</a>' in page
    assert "same NIP" in page and typed_in(page, "name") == "Urząd Gminy w Kórniku"
    assert count(app, Organisation) == 1

    response = client.post("/organisations/new", data={**data, "allow_duplicates": "1"})
    assert response.status_code == 302
    assert count(app, Organisation) == 2


def test_saving_over_a_colleagues_change_shows_the_conflict_and_changes_nothing(app, client):
    org_id = add_org(app, "Gmina Kórnik")
    form = show(client, f"/organisations/{org_id}/edit")
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    with writing(app) as (session, admin):
        organisations.update(session, app.extensions["kartoteka"].host,
                             session.get(Organisation, org_id), {"city": "Kórnik"}, admin)

    data = {"name": "Gmina Mosina", "type_key": "core.municipality", "version": version}
    response = client.post(f"/organisations/{org_id}/edit", data=data)
    assert response.status_code == 200
    assert "The record was changed by someone else meanwhile" in text(response)
    shown = text(response)
    assert 'value="Kórnik"' in shown and 'value="Gmina Kórnik"' in shown  # what is saved now
    assert 'name="version" value="2"' in shown
    org = fetch(app, Organisation, org_id)
    assert (org.name, org.city, org.version) == ("Gmina Kórnik", "Kórnik", 2)

    response = client.post(f"/organisations/{org_id}/edit", data={**data, "version": "2"})
    assert response.status_code == 302
    assert fetch(app, Organisation, org_id).name == "Gmina Mosina"


# --------------------------------------------------------------------- organisation card


def test_deleting_moves_to_the_bin_and_restoring_brings_it_back(app, client):
    org_id = add_org(app, "Gmina Kórnik")
    response = client.post(f"/organisations/{org_id}/delete")
    assert response.headers["Location"] == f"/organisations/{org_id}"
    card = show(client, f"/organisations/{org_id}")
    assert "Organisation moved to the bin; it can be restored." in flashes(card)
    assert "This record is in the bin." in card
    assert listed_ids(show(client, "/organisations/")) == []

    client.post(f"/organisations/{org_id}/restore")
    card = show(client, f"/organisations/{org_id}")
    assert "Restored." in flashes(card) and "This record is in the bin." not in card
    assert listed_ids(show(client, "/organisations/")) == [org_id]


def test_a_tag_added_on_the_card_is_shown_and_an_empty_one_is_refused(app, client):
    org_id = add_org(app)
    client.post(f"/organisations/{org_id}/tags", data={"tag": "  partner   strategiczny "})
    card = show(client, f"/organisations/{org_id}")
    assert re.findall(r'<span class="tag">(.*?)</span>', card) == ["partner strategiczny"]

    client.post(f"/organisations/{org_id}/tags", data={"tag": "   "})
    card = show(client, f"/organisations/{org_id}")
    assert "A tag has 1 to 60 characters." in flashes(card)
    assert re.findall(r'<span class="tag">(.*?)</span>', card) == ["partner strategiczny"]


def test_the_card_shows_current_and_past_members_and_their_history(app, client):
    org_id = add_org(app, "Gmina Kórnik")
    anna, jan = add_person(app, "Anna", "Nowak"), add_person(app, "Jan", "Kowalski")
    first = join(app, anna, org_id, "Sekretarz", date(2020, 1, 1))
    join(app, jan, org_id, "Skarbnik", date(2019, 2, 1))
    with writing(app) as (session, admin):
        memberships.move(session, session.get(Membership, first), date(2023, 5, 1),
                         role="Wójt", actor=admin)
    card = show(client, f"/organisations/{org_id}")
    assert members(card) == [("current", "Anna Nowak — Wójt 5/1/23 – now"),
                             ("current", "Jan Kowalski — Skarbnik 2/1/19 – now"),
                             ("past", "Anna Nowak — Sekretarz 1/1/20 – 4/30/23")]
    lines = history(card)
    assert any("Left Anna Nowak — Gmina Kórnik (Sekretarz)" in line for line in lines)
    assert any("Joined Anna Nowak — Gmina Kórnik (Wójt)" in line for line in lines)


def test_a_call_added_from_the_card_appears_on_its_timeline(app, client):
    org_id = add_org(app)
    response = client.post(f"/organisations/{org_id}/activities", data={
        "kind": "call", "subject": "Called the mayor", "body": "About the spring training"})
    assert response.headers["Location"] == f"/organisations/{org_id}"
    [line] = history(show(client, f"/organisations/{org_id}"))
    assert "Call Called the mayor About the spring training — admin@example.com" in line


def test_an_empty_note_shows_an_error_and_adds_nothing(app, client):
    org_id = add_org(app)
    client.post(f"/organisations/{org_id}/activities",
                data={"kind": "note", "subject": "  ", "body": ""})
    card = show(client, f"/organisations/{org_id}")
    assert "Write what happened." in flashes(card)
    assert history(card) == [] and "No history yet." in card
    assert count(app, Activity) == 0


def test_peoples_history_shows_on_the_organisation_card_only_when_asked(app, client):
    org_id, anna = add_org(app), add_person(app)
    join(app, anna, org_id, "Sekretarz", date(2020, 1, 1))
    with writing(app) as (session, admin):
        timeline.add(session, "meeting", "Met at the fair", [session.get(Person, anna)],
                     actor=admin)
    card = show(client, f"/organisations/{org_id}")
    assert not any("Met at the fair" in line for line in history(card))
    assert "Include people's history" in card
    card = show(client, f"/organisations/{org_id}?people=1")
    assert any("Meeting Met at the fair" in line for line in history(card))
    assert "Hide people's history" in card


def test_an_unknown_organisation_is_not_found(client):
    assert client.get("/organisations/999999").status_code == 404
    assert client.get("/organisations/999999/edit").status_code == 404
    for action in ("delete", "restore", "tags", "activities"):
        assert client.post(f"/organisations/999999/{action}").status_code == 404


# --------------------------------------------------------------------- people


def test_a_person_with_several_emails_and_phones_shows_them_normalised(app, client):
    response = client.post("/people/new", data={
        "first_name": "Anna", "last_name": "Nowak",
        "emails": "Anna.Nowak@Example.PL\n\n  biuro@nowak.pl ",
        "phones": "600 100 200\n61 123 45 67"})
    assert response.status_code == 302
    card = show(client, response.headers["Location"])
    assert details(card) == [("E-mail", "anna.nowak@example.pl (main)"),
                             ("E-mail", "biuro@nowak.pl"),
                             ("Phone", "+48 600 100 200 (main)"),
                             ("Phone", "+48 61 123 45 67")]


def test_a_bad_second_email_is_reported_as_line_2_under_the_email_field(app, client):
    response = client.post("/people/new", data={
        "first_name": "Anna", "last_name": "Nowak", "emails": "anna@example.pl\nanna@"})
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, "emails") == "Line 2: Not a valid email address."
    assert typed_in(page, "emails") == "anna@example.pl\nanna@"
    assert typed_in(page, "first_name") == "Anna"
    assert count(app, Person) == 0


def test_joining_and_then_a_promotion_show_both_memberships_with_dates(app, client):
    org_id, anna = add_org(app, "Gmina Kórnik"), add_person(app)
    client.post(f"/people/{anna}/memberships", data={
        "organisation_id": str(org_id), "role": "Referent", "start_date": "2021-03-01"})
    card = show(client, f"/people/{anna}")
    assert members(card) == [("current", "Gmina Kórnik — Referent 3/1/21 – now "
                                         "Change role or end")]

    end = re.search(rf'action="(/people/{anna}/memberships/\d+/end)"', card).group(1)
    client.post(end, data={"on": "2024-01-01", "role": "Kierownik"})
    card = show(client, f"/people/{anna}")
    assert members(card) == [
        ("current", "Gmina Kórnik — Kierownik 1/1/24 – now Change role or end"),
        ("past", "Gmina Kórnik — Referent 3/1/21 – 12/31/23")]


def test_a_malformed_date_is_refused_with_a_flash_and_changes_nothing(polish):
    app = polish.application
    org_id, anna = add_org(app), add_person(app)
    polish.post(f"/people/{anna}/memberships", data={
        "organisation_id": str(org_id), "role": "Referent", "start_date": "1.03.2021"})
    assert "Wpisz datę jako RRRR-MM-DD." in flashes(show(polish, f"/people/{anna}"))
    assert count(app, Membership) == 0

    membership = join(app, anna, org_id, "Referent", date(2021, 3, 1))
    polish.post(f"/people/{anna}/memberships/{membership}/end",
                data={"on": "31.12.2023", "role": "Kierownik"})
    assert "Wpisz datę jako RRRR-MM-DD." in flashes(show(polish, f"/people/{anna}"))
    assert fetch(app, Membership, membership).end_date is None
    assert count(app, Membership) == 1


def test_joining_an_organisation_that_is_not_there_is_refused(app, client):
    anna = add_person(app)
    client.post(f"/people/{anna}/memberships", data={"organisation_id": "999999"})
    assert "Choose an organisation from the list." in flashes(show(client, f"/people/{anna}"))
    assert count(app, Membership) == 0


def test_ending_another_persons_membership_through_the_address_is_not_found(app, client):
    org_id, anna, jan = add_org(app), add_person(app), add_person(app, "Jan", "Kowalski")
    jans = join(app, jan, org_id, "Skarbnik", date(2019, 2, 1))
    response = client.post(f"/people/{anna}/memberships/{jans}/end", data={"on": "2024-01-01"})
    assert response.status_code == 404
    assert fetch(app, Membership, jans).end_date is None
    assert client.get("/people/999999").status_code == 404


# --------------------------------------------------------------------- files


@pytest.mark.parametrize("kind", ["organisation", "person"])
def test_a_pdf_uploaded_on_a_card_is_listed_and_downloads_unchanged(app, client, kind):
    record_id = add_org(app) if kind == "organisation" else add_person(app)
    card_url = f"/{'organisations' if kind == 'organisation' else 'people'}/{record_id}"
    response = client.post(f"/attachments/{kind}/{record_id}",
                           data={"file": (io.BytesIO(PDF), "Umowa 2024.pdf")},
                           content_type="multipart/form-data",
                           headers={"Referer": f"http://localhost{card_url}"})
    assert response.headers["Location"] == card_url
    card = show(client, card_url)
    assert "Attached Umowa 2024.pdf." in flashes(card)
    link = re.search(r'<a href="(/attachments/\d+)">Umowa 2024.pdf</a>', card).group(1)
    assert any("File attached Umowa 2024.pdf" in line for line in history(card))

    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_attaching_without_choosing_a_file_says_so(app, client):
    org_id = add_org(app)
    client.post(f"/attachments/organisation/{org_id}", data={},
                content_type="multipart/form-data",
                headers={"Referer": f"http://localhost/organisations/{org_id}"})
    assert "Choose a file to attach." in flashes(show(client, f"/organisations/{org_id}"))
    assert count(app, Attachment) == 0


# --------------------------------------------------------------------- logged out, CSRF


def test_logged_out_visitors_are_sent_to_log_in_from_every_staff_page(app):
    org_id, anna = add_org(app), add_person(app)
    membership = join(app, anna, org_id, "Referent", date(2021, 3, 1))
    client = app.test_client()
    pages = ["/", "/organisations/", "/organisations/new", f"/organisations/{org_id}",
             f"/organisations/{org_id}/edit", "/people/", "/people/new", f"/people/{anna}",
             f"/people/{anna}/edit", "/tasks/", "/calendar/", "/attachments/1"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    posts = ["/organisations/new", f"/organisations/{org_id}/edit",
             f"/organisations/{org_id}/delete", f"/organisations/{org_id}/restore",
             f"/organisations/{org_id}/tags", f"/organisations/{org_id}/activities",
             "/people/new", f"/people/{anna}/activities", f"/people/{anna}/memberships",
             f"/people/{anna}/memberships/{membership}/end", "/tasks/new", "/tasks/1/complete",
             "/calendar/new", "/calendar/feed", f"/attachments/organisation/{org_id}"]
    form = {"name": "X", "type_key": "core.other", "first_name": "X", "last_name": "Y",
            "tag": "x", "subject": "x", "title": "x", "organisation_id": str(org_id),
            "on": "2024-01-01", "starts_at": "2024-01-01T10:00", "ends_at": "2024-01-01T11:00"}
    for url in posts:
        response = client.post(url, data=form)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    assert (count(app, Organisation), count(app, Person), count(app, Membership)) == (1, 1, 1)
    assert count(app, Activity, Activity.kind != "system") == 0 and count(app, Task) == 0
    assert fetch(app, Organisation, org_id).deleted_at is None


def test_with_csrf_on_a_post_without_its_token_is_refused(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", WTF_CSRF_ENABLED=True)
    with writing(app) as (session, _admin):
        users.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, is_admin=True)
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      show(client, "/login")).group(1)
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                "csrf_token": token})
    org_id = add_org(app)

    new = {"name": "Gmina Mosina", "type_key": "core.municipality"}
    assert client.post("/organisations/new", data=new).status_code == 400
    assert client.post(f"/organisations/{org_id}/delete").status_code == 400
    assert client.post("/tasks/new", data={"title": "Call"}).status_code == 400
    assert count(app, Organisation) == 1 and count(app, Task) == 0
    assert fetch(app, Organisation, org_id).deleted_at is None

    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      show(client, f"/organisations/{org_id}")).group(1)
    response = client.post(f"/organisations/{org_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert fetch(app, Organisation, org_id).deleted_at is not None


def test_a_list_saved_as_a_segment_shows_the_same_records_and_follows_changes(app, client):
    add_org(app, "Gmina Kórnik")
    add_org(app, "Gmina Mosina")
    listed = names_listed(show(client, "/organisations/?q=korn"))
    response = client.post("/segments/", data={"record_type": "organisation", "q": "korn",
                                                "type_key": "", "name": "Kórnik i okolice"})
    assert response.status_code == 302
    segment_url = response.headers["Location"]
    assert names_listed(show(client, segment_url)) == listed == ["Gmina Kórnik"]
    add_org(app, "Kórnik Zamek")
    assert names_listed(show(client, segment_url)) == ["Gmina Kórnik", "Kórnik Zamek"]
    assert "Kórnik i okolice" in show(client, "/organisations/")


def test_the_search_box_suggests_records_as_you_type_and_lists_all_matches(app, client):
    add_org(app, "Gmina Kórnik")
    suggestions = client.get("/search/suggest?q=korn").get_json()
    assert [(s["label"], s["type"]) for s in suggestions] == [("Gmina Kórnik", "organisation")]
    assert suggestions[0]["url"].startswith("/organisations/")
    assert client.get('/search/suggest?q="(*').get_json() == []
    page = show(client, "/search/?q=kórn")
    assert "Gmina Kórnik" in page
    client.post("/logout")
    assert client.get("/search/suggest?q=korn").status_code == 302


def test_a_list_downloads_as_csv_and_xlsx_with_only_what_it_shows(app, client):
    import io

    from openpyxl import load_workbook

    add_org(app, "Gmina Kórnik")
    add_org(app, "=HYPERLINK(\"http://evil.example\")")
    gone = add_org(app, "Gmina Usunięta")
    client.post(f"/organisations/{gone}/delete")
    response = client.get("/organisations/export?format=csv&q=gmina")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8-sig")
    assert "Gmina Kórnik" in body and "Usunięta" not in body and "HYPERLINK" not in body
    everything = client.get("/organisations/export?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in everything
    book = load_workbook(io.BytesIO(client.get("/organisations/export?format=xlsx").data))
    names = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(["Gmina Kórnik", "'=HYPERLINK(\"http://evil.example\")"])
    assert client.get("/organisations/export?format=pdf").status_code == 404


def test_the_import_wizard_maps_previews_tries_and_imports_a_windows_1250_file(app, client):
    add_org(app, "Gmina Kórnik")
    content = ("Nazwa;NIP;Miejscowość\nGmina Czempiń;;Czempiń\nZła;123;Poznań\n"
               "Gmina Kórnik;;Kórnik\n").encode("cp1250")
    response = client.post("/import/", data={"record_type": "organisation",
                                             "file": (io.BytesIO(content), "gminy.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    wizard = response.headers["Location"]
    page = show(client, wizard)
    assert re.findall(r'<option value="([a-z_]+)" selected', page) == ["name", "nip", "city"]
    form = {"map-0": "name", "map-1": "nip", "map-2": "city", "type_key": "core.municipality",
            "on_duplicate": "skip"}
    preview = show_post(client, wizard, {**form, "action": "preview"})
    assert "Czempiń" in preview and "The NIP must have 10 digits." in preview
    tried = show_post(client, wizard, {**form, "action": "run", "dry_run": "1"})
    assert "created: 1" in tried and "with errors: 1" in tried and "skipped: 1" in tried
    assert count(app, Organisation) == 1
    ran = client.post(wizard, data={**form, "action": "run"})
    assert ran.status_code == 302 and "/jobs/" in ran.headers["Location"]
    assert count(app, Organisation) == 2
    other = kartoteka_login_other(app)
    assert other.get(wizard).status_code == 404


def show_post(client, url, data) -> str:
    response = client.post(url, data=data)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def kartoteka_login_other(app):
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        users.create_user(session, "inna@example.com", "inne-haslo-123")
    client = app.test_client()
    client.post("/login", data={"email": "inna@example.com", "password": "inne-haslo-123"})
    return client


def test_hostile_urls_and_forms_get_a_plain_answer_never_a_server_error(app, client):
    with writing(app) as (_session, admin):
        admin_id = admin.id
    org_id = add_org(app, "Gmina Kórnik", owner_id=admin_id)
    assert client.get("/organisations/99999999999999999999").status_code == 404
    assert client.get("/organisations/?segment=²&after=x|²").status_code == 200
    assert client.get("/calendar/?week=9999-12-31").status_code == 200
    assert client.get("/lang/en", headers={"Referer": "/\\evil.example"}) \
        .headers["Location"] == "/"
    assert client.post("/attachments/user/1", data={}).status_code == 404
    response = client.post("/tasks/new", data={"title": "Zadanie", "record_type": "user",
                                                "record_id": "1", "back": "/"})
    assert response.status_code == 302 and count(app, Task) == 0
    client.post(f"/organisations/{org_id}/edit",
                data={"name": "Gmina Kórnik", "type_key": "core.municipality",
                      "version": str(fetch(app, Organisation, org_id).version)})
    assert fetch(app, Organisation, org_id).owner_id == admin_id  # the form has no owner field


def test_a_team_calendar_is_only_for_its_members(app, client):
    from core import teams

    with writing(app) as (session, admin):
        other = teams.create_team(session, "Zarząd", admin)
        other_id = other.id
    assert client.get(f"/calendar/?team={other_id}").status_code == 404
    assert client.post("/calendar/feed", data={"team": str(other_id)}).status_code == 404
    assert client.post("/calendar/new", data={"title": "X", "starts_at": "2026-11-24T09:00",
                                              "team_id": str(other_id)}).status_code == 404

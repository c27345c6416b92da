"""Change history on the cards and the administrators' audit trail, as people use them."""

import csv
import io
import re
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from core import audit, organisations, people, users
from core.models import AuditEntry, Organisation, Person
from page_helpers import add_org, show, text, visible, writing


def add_person(app, first="Anna", last="Nowak", **fields) -> int:
    with writing(app) as (session, admin):
        return people.create(session, {"first_name": first, "last_name": last, **fields},
                             admin, allow_duplicates=True).id


def rename(app, org_id, name, door="system"):
    with writing(app) as (session, admin), audit.door(door):
        organisations.update(session, app.extensions["kartoteka"].host,
                             session.get(Organisation, org_id), {"name": name}, admin)


def history_section(page: str) -> str:
    found = re.search(r'<section class="card change-history">(.*?)</section>', page, re.S)
    assert found, "no change history on the page"
    return found.group(1)


def entries_in(section: str) -> list[str]:
    """Each entry of a history as a reader sees it."""
    return [visible(part.split(">", 1)[1]) for part in section.split('<li class="action-')[1:]]


def edit_person(client, person_id, version, **fields):
    data = {"first_name": "Anna", "last_name": "Nowak", "emails": "", "phones": "",
            "version": str(version), **fields}
    return client.post(f"/people/{person_id}/edit", data=data)


# --- the card -----------------------------------------------------------------------------

def test_the_card_shows_who_changed_what_and_through_which_door_newest_first(app, client):
    person_id = add_person(app, emails=["anna@kornik.pl"])
    saved = edit_person(client, person_id, 1, last_name="Kowalska",
                        emails="anna@kornik.pl\nak@kornik.pl")
    assert saved.status_code == 302
    assert audit.current_door() == "system"  # the request's door ends with the request

    shown = visible(history_section(show(client, f"/people/{person_id}")))
    assert shown.startswith("Change history")
    changed, created = shown.index("Changed"), shown.index("Created")
    assert changed < created
    assert "— admin@example.com (Web interface)" in shown
    assert "— admin@example.com (System)" in shown
    assert "Last name: Nowak → Kowalska" in shown
    assert "E-mail addresses: anna@kornik.pl → anna@kornik.pl, ak@kornik.pl" in shown
    assert "First name: — → Anna" in shown
    with app.extensions["kartoteka"].session() as session:
        doors = session.scalars(select(AuditEntry.door).where(AuditEntry.record_type == "person")
                                .order_by(AuditEntry.id)).all()
    assert doors == ["system", "ui"]


def test_the_card_names_fields_in_polish(polish):
    app = polish.application
    person_id = add_person(app)
    assert edit_person(polish, person_id, 1, last_name="Kowalska",
                       emails="ak@kornik.pl").status_code == 302
    shown = visible(history_section(show(polish, f"/people/{person_id}")))
    assert "Nazwisko: Nowak → Kowalska" in shown
    assert "Adresy e-mail: — → ak@kornik.pl" in shown


def test_a_form_opened_before_a_new_email_is_refused_with_the_message(app, client):
    person_id = add_person(app)
    form = show(client, f"/people/{person_id}/edit")
    opened_at = re.search(r'name="version" value="(\d+)"', form).group(1)
    with writing(app) as (session, admin):
        people.update(session, session.get(Person, person_id), {"emails": ["nowy@kornik.pl"]},
                      admin)
    refused = edit_person(client, person_id, opened_at, notes="z formularza")
    assert refused.status_code == 200
    assert re.search(r'<p class="error" role="alert">The record was changed by someone else '
                     r'meanwhile; reload it and apply your change again.</p>', text(refused))
    assert "nowy@kornik.pl" in text(refused)  # the form now shows what is stored
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Person, person_id).notes == ""


def test_the_organisation_card_shows_its_history_and_the_rest_on_pages(app, client, monkeypatch):
    org_id = add_org(app, "Gmina 0", city="Kórnik")
    for n in range(1, 8):
        rename(app, org_id, f"Gmina {n}")
    card = show(client, f"/organisations/{org_id}")
    shown = visible(history_section(card))
    assert shown.count("Changed") == 5 and "Created" not in shown
    assert "Name: Gmina 6 → Gmina 7" in shown
    more = re.search(r'<a href="([^"]+)">Full change history', card).group(1)
    assert more == f"/organisations/{org_id}/history"

    monkeypatch.setattr(audit, "PAGE", 3)
    pages, url = [], more
    while url:
        page = show(client, url)
        pages.append(entries_in(history_section(page)))
        found = re.search(r'<a href="([^"]+)">Next page', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert [len(p) for p in pages] == [3, 3, 2]
    assert "Gmina 6 → Gmina 7" in pages[0][0]
    assert "Created" in pages[-1][-1] and "City: — → Kórnik" in pages[-1][-1]


def test_the_history_of_an_unknown_record_is_not_found(client):
    assert client.get("/people/999999/history").status_code == 404
    assert client.get("/organisations/999999/history").status_code == 404


# --- the administrators' view -------------------------------------------------------------

def make_trail(app, client) -> dict:
    """Changes by two people through three doors."""
    org_id = add_org(app, "Gmina Kórnik")
    rename(app, org_id, "Gmina i Miasto Kórnik", door="api")
    client.post("/people/new", data={"first_name": "Jan", "last_name": "Kowalski",
                                     "emails": "", "phones": ""})
    client.post(f"/organisations/{org_id}/delete")
    with writing(app) as (session, _admin):
        staff = users.create_user(session, "ola@example.com", "ola-password-1", "Ola Kot")
        organisations.create(session, app.extensions["kartoteka"].host,
                             {"name": "Powiat Poznański", "type_key": "core.county"}, staff)
    return {"org": org_id, "staff": staff.id}


def summaries(page: str) -> list[str]:
    """The records the listed entries are about, in the order shown."""
    listed = page.split('<ol class="timeline audit-trail">', 1)[1].split("</ol>", 1)[0]
    return [visible(s) for s in re.findall(r'<strong class="kind">.*?</strong>\s*(.*?)<span',
                                           listed, re.S)]


def test_the_administrator_filters_the_trail(app, client):
    made = make_trail(app, client)
    everything = summaries(show(client, "/admin/audit"))
    assert everything[0] == "Organisation: Powiat Poznański"
    # the admin's account and login, Ola's account, 2 organisations, 1 person, 2 changes
    assert len(everything) == 8

    assert summaries(show(client, "/admin/audit?door=ui")) == [
        "Organisation: Gmina i Miasto Kórnik", "Person: Jan Kowalski", "User: admin@example.com"]
    assert summaries(show(client, "/admin/audit?door=api")) == [
        "Organisation: Gmina i Miasto Kórnik"]
    assert summaries(show(client, "/admin/audit?action=delete")) == [
        "Organisation: Gmina i Miasto Kórnik"]
    assert summaries(show(client, "/admin/audit?record_type=person")) == ["Person: Jan Kowalski"]
    assert summaries(show(client, f"/admin/audit?actor={made['staff']}")) == [
        "Organisation: Powiat Poznański"]
    tomorrow = date.today() + timedelta(days=2)
    assert summaries(show(client, f"/admin/audit?since={tomorrow}")) == []
    assert len(summaries(show(client, f"/admin/audit?until={tomorrow}&door=ui"))) == 3
    page = show(client, "/admin/audit?door=ui")
    assert f'href="/organisations/{made["org"]}"' in page
    assert 'name="door"' in page and '<option value="ui" selected>' in page


def test_filters_that_cannot_be_used_are_named_under_their_field(app, client):
    page = show(client, "/admin/audit?since=2025-02-30&until=jutro&door=mail&actor=ala")
    errors = dict(re.findall(r'<span class="error" id="e-(\w+)">(.*?)</span>', page))
    assert errors == {"since": "Enter the date as YYYY-MM-DD.",
                      "until": "Enter the date as YYYY-MM-DD.",
                      "door": "Choose from the list.", "actor": "Choose from the list."}
    page = show(client, "/admin/audit?since=2025-02-03&until=2025-02-01")
    assert re.search(r'id="e-until">The end cannot be before the start.<', page)
    refused = client.get("/admin/audit/export?format=csv&since=zawsze")
    assert refused.status_code == 302 and "/admin/audit?since=zawsze" in refused.location


def test_the_trail_is_downloaded_as_filtered_in_csv_and_xlsx(app, client):
    made = make_trail(app, client)
    response = client.get("/admin/audit/export?format=csv&record_type=organisation")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["When", "Who", "Through", "What was done", "Kind of record", "ID",
                       "Record", "Changes"]
    assert [r[1:7] for r in rows[1:]] == [
        ["Ola Kot", "System", "Created", "Organisation", str(made["org"] + 1),
         "Powiat Poznański"],
        ["admin@example.com", "Web interface", "Moved to the bin", "Organisation",
         str(made["org"]), "Gmina i Miasto Kórnik"],
        ["admin@example.com", "API", "Changed", "Organisation", str(made["org"]),
         "Gmina i Miasto Kórnik"],
        ["admin@example.com", "System", "Created", "Organisation", str(made["org"]),
         "Gmina Kórnik"]]
    assert rows[3][7] == "Name: Gmina Kórnik → Gmina i Miasto Kórnik"

    response = client.get("/admin/audit/export?format=xlsx&door=api")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "When" and len(values) == 2
    assert values[1][6:] == ["Gmina i Miasto Kórnik",
                             "Name: Gmina Kórnik → Gmina i Miasto Kórnik"]
    assert client.get("/admin/audit/export?format=pdf").status_code == 404


def test_only_administrators_open_the_trail(app, client, kartoteka_login):
    with writing(app) as (session, _admin):
        users.create_user(session, "staff@example.com", "staff-password-1")
    staff = kartoteka_login(app.test_client(), "staff@example.com", "staff-password-1")
    assert staff.get("/admin/audit").status_code == 403
    assert staff.get("/admin/audit/export?format=csv").status_code == 403
    anonymous = app.test_client().get("/admin/audit")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert client.get("/admin/audit").status_code == 200

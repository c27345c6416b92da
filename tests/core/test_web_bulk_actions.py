"""The lists' bulk actions: rows ticked on the organisation and people lists are tagged,
untagged, given an owner, downloaded or mailed, each record through its services (its
tags, history and version), skipping what the user may not see or change."""

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import memberships, people, roles, tags, users
from core.bulk_actions import MAX_IDS
from core.models import AuditEntry, Organisation, Person
from page_helpers import add_org, fetch, flashes, show, text, writing

PASSWORD = "correct horse battery"


def add_person(app, first, last, **fields) -> int:
    with writing(app) as (session, admin):
        return people.create(session, {"first_name": first, "last_name": last, **fields},
                             admin, allow_duplicates=True).id


def staff(app, email, name, role_keys=("staff",)) -> int:
    with writing(app) as (session, _admin):
        return users.create_user(session, email, PASSWORD, name, roles=list(role_keys)).id


def own_only(app, email="ola@example.com", name="Ola Own") -> int:
    """A staff member whose role reaches only the records they own or created."""
    with writing(app) as (session, admin):
        if roles.find(session, "own_only") is None:
            role = roles.create(session, "own_only", "Own records only", actor=admin)
            roles.set_access(session, role, {("*", a): "own" for a in
                                             ("read", "create", "edit", "delete", "export")},
                             actor=admin)
    return staff(app, email, name, ("own_only",))


def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def tags_of(app, model, record_id) -> list[str]:
    with app.extensions["kartoteka"].session() as session:
        return tags.tags_of(session, session.get(model, record_id))


def history(app, record_type, record_id) -> list[dict]:
    with app.extensions["kartoteka"].session() as session:
        return [e.changes for e in session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id))]


def trail(app) -> int:
    with app.extensions["kartoteka"].session() as session:
        return len(session.scalars(select(AuditEntry.id)).all())


def bulk(client, path, ids, action, follow=True, **fields):
    data = {"action": action, "id": [str(i) for i in ids], "back": f"{path}?q=", **fields}
    return client.post(f"{path}bulk", data=data, follow_redirects=follow)


def flashed(response) -> list[str]:
    return flashes(text(response))


# --------------------------------------------------------------------- the lists


def test_the_lists_have_a_box_per_row_one_for_the_page_and_the_action_bar(app, client):
    kornik = add_org(app, "Gmina Kórnik")
    anna = add_person(app, "Anna", "Nowak")
    for path, record_id, mail in (("/organisations/", kornik, "Mail their members"),
                                  ("/people/", anna, "Mail these")):
        page = show(client, path)
        form = re.search(r'<form class="bulk" method="post" action="([^"]+)">(.*?)</form>',
                         page, re.S)
        assert form.group(1) == f"{path}bulk"
        inside = form.group(2)
        assert f'name="id" value="{record_id}"' in inside  # the row's box, in the form
        assert f'name="page_id" value="{record_id}"' in inside
        assert 'name="all" value="1"' in inside
        for action in ("tag", "untag", "owner", "export", "mail"):
            assert f'name="action" value="{action}"' in inside, action
        assert mail in inside
    staff(app, "rep@example.com", "Rep")  # the built-in role: no mailings
    assert 'value="mail"' not in show(login(app, "rep@example.com"), "/people/")


# --------------------------------------------------------------------- tags


def test_tagging_and_untagging_the_chosen_rows_shows_in_their_tags_and_history(app, client):
    anna, bogdan, cezary = (add_person(app, f, "Nowak") for f in ("Anna", "Bogdan", "Cezary"))
    response = bulk(client, "/people/", [anna, bogdan], "tag", tag="  VIP   klient ")
    assert response.status_code == 200 and response.request.path == "/people/"
    assert flashed(response) == ["Tagged 2 people with “VIP klient”."]
    assert tags_of(app, Person, anna) == tags_of(app, Person, bogdan) == ["VIP klient"]
    assert tags_of(app, Person, cezary) == []
    assert history(app, "person", anna)[-1] == {"tags": [[], ["VIP klient"]]}
    assert "VIP klient" in show(client, f"/people/{anna}/history")
    version = fetch(app, Person, anna).version

    again = bulk(client, "/people/", [anna, cezary], "tag", tag="VIP klient")
    assert flashed(again) == ["Tagged 1 person with “VIP klient”; unchanged: 1."]
    assert fetch(app, Person, anna).version == version  # nothing new for Anna

    removed = bulk(client, "/people/", [anna, bogdan], "untag", tag="VIP klient")
    assert flashed(removed) == ["Removed the tag “VIP klient” from 2 people."]
    assert tags_of(app, Person, anna) == tags_of(app, Person, bogdan) == []
    assert tags_of(app, Person, cezary) == ["VIP klient"]
    assert history(app, "person", bogdan)[-1] == {"tags": [["VIP klient"], []]}


def test_organisations_are_tagged_too_and_all_on_the_page_works_without_script(app, client):
    ids = [add_org(app, name) for name in ("Gmina Kórnik", "Gmina Mosina", "Firma Krzak")]
    data = {"action": "tag", "tag": "Wielkopolska", "all": "1",
            "page_id": [str(i) for i in ids]}
    response = client.post("/organisations/bulk", data=data, follow_redirects=True)
    assert flashed(response) == ["Tagged 3 organisations with “Wielkopolska”."]
    assert all(tags_of(app, Organisation, i) == ["Wielkopolska"] for i in ids)
    assert "Wielkopolska" in show(client, f"/organisations/{ids[0]}/history")


# --------------------------------------------------------------------- owners


def test_assigning_an_owner_goes_through_the_service_with_its_history(app, client):
    rep = staff(app, "rep@example.com", "Roman Rep")
    kornik, mosina, krzak = (add_org(app, n) for n in ("Gmina Kórnik", "Gmina Mosina",
                                                       "Firma Krzak"))
    page = show(client, "/organisations/")
    assert f'<option value="{rep}">Roman Rep</option>' in page
    response = bulk(client, "/organisations/", [kornik, mosina], "owner", owner_id=str(rep))
    assert flashed(response) == ["Gave 2 organisations to Roman Rep."]
    assert fetch(app, Organisation, kornik).owner_id == rep
    assert fetch(app, Organisation, mosina).owner_id == rep
    assert fetch(app, Organisation, krzak).owner_id is None
    assert history(app, "organisation", kornik)[-1]["owner_id"] == [None, rep]
    anna = add_person(app, "Anna", "Nowak")
    response = bulk(client, "/people/", [anna], "owner", owner_id=str(rep))
    assert flashed(response) == ["Gave 1 person to Roman Rep."]
    assert fetch(app, Person, anna).owner_id == rep


def test_an_owner_out_of_reach_or_not_chosen_is_refused_and_nothing_changes(app, client):
    ola = own_only(app)
    rep = staff(app, "rep@example.com", "Roman Rep")
    with writing(app) as (session, _admin):
        mine = people.create(session, {"first_name": "Jan", "last_name": "Mój",
                                       "owner_id": ola}).id
    as_ola = login(app, "ola@example.com")
    page = show(as_ola, "/people/")
    options = re.findall(r'<option value="(\d+)">', page)
    assert options == [str(ola)]  # only herself: her role reaches only her own
    before = trail(app)
    for owner in (str(rep), "", "abc"):
        response = bulk(as_ola, "/people/", [mine], "owner", owner_id=owner)
        assert flashed(response) == ["Choose an owner from the list: an active staff member "
                                     "you may give these records to."]
    assert fetch(app, Person, mine).owner_id == ola and trail(app) == before


# --------------------------------------------------------------------- reach


def test_a_user_reaching_only_their_own_records_gets_the_others_skipped_unchanged(app):
    ola = own_only(app)
    with writing(app) as (session, _admin):
        mine = people.create(session, {"first_name": "Jan", "last_name": "Mój",
                                       "owner_id": ola}).id
    other = add_person(app, "Anna", "Cudza")
    other_version = fetch(app, Person, other).version
    as_ola = login(app, "ola@example.com")
    response = bulk(as_ola, "/people/", [mine, other], "tag", tag="VIP")
    assert flashed(response) == [f"Tagged 1 person with “VIP”; 1 skipped: #{other} "
                                 "(it does not exist or you may not see it)."]
    assert tags_of(app, Person, mine) == ["VIP"]
    assert tags_of(app, Person, other) == []
    assert fetch(app, Person, other).version == other_version
    assert history(app, "person", other) == [history(app, "person", other)[0]]  # created


def test_records_one_may_read_but_not_change_are_skipped_by_name(app):
    with writing(app) as (session, admin):
        role = roles.create(session, "reader", "Reader", actor=admin)
        roles.set_access(session, role, {("person", "read"): "all",
                                         ("person", "edit"): "own"}, actor=admin)
    edwin = staff(app, "edwin@example.com", "Edwin", ("reader",))
    with writing(app) as (session, _admin):
        mine = people.create(session, {"first_name": "Jan", "last_name": "Mój",
                                       "owner_id": edwin}).id
    other = add_person(app, "Anna", "Cudza")
    response = bulk(login(app, "edwin@example.com"), "/people/", [other, mine], "tag",
                    tag="VIP")
    assert flashed(response) == ["Tagged 1 person with “VIP”; 1 skipped: Anna Cudza "
                                 "(you may not change it)."]
    assert tags_of(app, Person, other) == [] and tags_of(app, Person, mine) == ["VIP"]


# --------------------------------------------------------------------- bad input


def test_no_rows_chosen_a_bad_tag_or_too_many_rows_change_nothing(app, client):
    anna = add_person(app, "Anna", "Nowak")
    before = trail(app)
    response = bulk(client, "/people/", [], "tag", tag="VIP")
    assert response.request.path == "/people/"
    assert flashed(response) == ["Nothing was chosen: tick the rows to act on."]
    assert flashed(bulk(client, "/people/", [anna], "tag", tag="   ")) == \
        ["A tag has 1 to 60 characters."]
    assert flashed(bulk(client, "/people/", [anna], "tag", tag="x" * 61)) == \
        ["A tag has 1 to 60 characters."]
    too_many = list(range(anna, anna + MAX_IDS + 1))
    assert flashed(bulk(client, "/people/", too_many, "tag", tag="VIP")) == \
        [f"At most {MAX_IDS} records at a time."]
    assert flashed(bulk(client, "/people/", too_many, "export", format="csv")) == \
        [f"At most {MAX_IDS} records at a time."]
    assert flashed(bulk(client, "/people/", [anna], "burn")) == \
        ["Choose what to do with the chosen rows."]
    assert tags_of(app, Person, anna) == [] and trail(app) == before


def test_the_way_back_stays_on_the_list(app, client):
    anna = add_person(app, "Anna", "Nowak")
    for back, where in (("/people/?q=Nowak", "/people/?q=Nowak"),
                        ("https://evil.example/people/", "/people/"),
                        ("/admin/", "/people/")):
        response = client.post("/people/bulk", data={"action": "tag", "tag": "VIP",
                                                     "id": str(anna), "back": back})
        assert response.status_code == 303 and response.headers["Location"] == where


# --------------------------------------------------------------------- export


def test_export_selected_holds_exactly_the_chosen_rows_in_the_lists_columns(app, client):
    kornik, mosina, krzak = (add_org(app, n) for n in ("Gmina Kórnik", "Gmina Mosina",
                                                       "Firma Krzak"))
    response = bulk(client, "/organisations/", [krzak, kornik], "export", follow=False,
                    format="csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    whole = list(csv.reader(io.StringIO(
        client.get("/organisations/export?format=csv").data.decode("utf-8-sig"))))
    assert rows[0] == whole[0]  # the same columns as the list's download
    assert sorted(r[0] for r in rows[1:]) == ["Firma Krzak", "Gmina Kórnik"]
    excel = bulk(client, "/organisations/", [mosina], "export", follow=False,
                 format="csv-pl")
    assert excel.data.decode("utf-8-sig").splitlines()[0] == ";".join(whole[0])
    anna, bogdan = add_person(app, "Anna", "Nowak"), add_person(app, "Bogdan", "Lis")
    book = load_workbook(io.BytesIO(bulk(client, "/people/", [bogdan], "export",
                                         follow=False, format="xlsx").data))
    body = [row for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert len(body) == 1 and "Bogdan" in body[0] and anna
    with app.extensions["kartoteka"].session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")
                                .order_by(AuditEntry.id.desc())).first()
        assert entry.changes["rows"] == 1 and entry.changes["filter"] == {"ids": [bogdan]}


def test_export_selected_leaves_out_what_the_user_may_not_see(app):
    ola = own_only(app)
    with writing(app) as (session, _admin):
        mine = people.create(session, {"first_name": "Jan", "last_name": "Mój",
                                       "owner_id": ola}).id
    other = add_person(app, "Anna", "Cudza")
    response = bulk(login(app, "ola@example.com"), "/people/", [mine, other], "export",
                    follow=False, format="csv")
    body = response.data.decode("utf-8-sig")
    assert "Mój" in body and "Cudza" not in body


# --------------------------------------------------------------------- mail


def test_mail_these_opens_the_composer_with_the_chosen_people(app, client):
    anna, bogdan, cezary = (add_person(app, f, "Nowak") for f in ("Anna", "Bogdan", "Cezary"))
    response = bulk(client, "/people/", [cezary, anna], "mail")
    page = text(response)
    assert response.status_code == 200 and "New mailing" in page
    assert re.search(r'<form class="card mailing-new" method="post" action="/mailings/new"',
                     page)
    assert re.search(r'name="person_ids" type="text" value="([^"]*)"', page).group(1) == \
        f"{cezary}, {anna}"
    assert re.search(r'<option value="people" selected>', page)
    assert flashes(page) == ["Audience: 2 people chosen on the list."]
    assert bogdan


def test_mail_their_members_takes_the_organisations_current_members(app, client):
    kornik, mosina = add_org(app, "Gmina Kórnik"), add_org(app, "Gmina Mosina")
    anna, bogdan, cezary = (add_person(app, f, "Nowak") for f in ("Anna", "Bogdan", "Cezary"))
    with writing(app) as (session, admin):
        get = session.get
        memberships.join(session, get(Person, anna), get(Organisation, kornik), "",
                         date(2020, 1, 1), actor=admin)
        memberships.join(session, get(Person, anna), get(Organisation, mosina), "",
                         date(2020, 1, 1), actor=admin)
        left = memberships.join(session, get(Person, bogdan), get(Organisation, kornik), "",
                                date(2020, 1, 1), actor=admin)
        memberships.leave(session, left, date(2021, 1, 1), admin)
        memberships.join(session, get(Person, cezary), get(Organisation, mosina), "",
                         date(2020, 1, 1), actor=admin)
    page = text(bulk(client, "/organisations/", [kornik, mosina], "mail"))
    assert re.search(r'name="person_ids" type="text" value="([^"]*)"', page).group(1) == \
        f"{anna}, {cezary}"
    assert flashes(page) == ["Audience: the current members of the chosen organisations "
                             "(2 people)."]
    nobody = add_org(app, "Firma Pusta")
    response = bulk(client, "/organisations/", [nobody], "mail")
    assert response.request.path == "/organisations/"
    assert flashed(response) == ["Nobody to write to: no people among the chosen."]


def test_mail_these_needs_the_permission_to_send_mailings(app):
    staff(app, "rep@example.com", "Rep")
    anna = add_person(app, "Anna", "Nowak")
    response = bulk(login(app, "rep@example.com"), "/people/", [anna], "mail")
    assert response.request.path == "/people/"
    assert flashed(response) == ["Sending mailings needs the permission to send mailings."]


@pytest.mark.parametrize("path", ["/people/bulk", "/organisations/bulk"])
def test_the_bulk_actions_need_a_login(app, path):
    response = app.test_client().post(path, data={"action": "tag", "tag": "x", "id": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]

"""Custom fields as people use them: the administrator's field pages, and the values on
record forms, cards and lists."""

import re

import pytest
from sqlalchemy import select

from core import field_definitions, organisations, people, users
from core.errors import ValidationError
from core.models import FieldDefinition, Organisation, Person
from page_helpers import count, fetch, flashes, show, text, visible, writing

STAFF_EMAIL, STAFF_PASSWORD = "staff@example.com", "another long password"


# --------------------------------------------------------------------- helpers


def define(app, **data) -> int:
    """A field defined through the service, as the administrator."""
    data = {"record_type": "organisation", "label_pl": data.get("key", "pole"),
            "type": "text", **data}
    with app.app_context(), writing(app) as (session, admin):
        return field_definitions.create(session, data, admin).id


def add_org(app, name="Gmina Kórnik", **custom) -> int:
    """An organisation with custom values set by the system (read-only fields too)."""
    rt = app.extensions["kartoteka"]
    with app.app_context(), rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {
            "name": name, "type_key": "core.municipality", "custom": custom}, None,
            allow_duplicates=True).id


def definition(app, key: str, record_type="organisation") -> FieldDefinition:
    with app.extensions["kartoteka"].session() as session:
        return session.scalar(select(FieldDefinition).where(
            FieldDefinition.record_type == record_type, FieldDefinition.key == key))


def org_form(**data) -> dict:
    return {"name": "Gmina Kórnik", "type_key": "core.municipality", **data}


def created_id(response) -> int:
    assert response.status_code == 302, text(response)
    return int(re.search(r"/(\d+)$", response.headers["Location"]).group(1))


def error_under(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{re.escape(name)}">(.*?)</span>', page, re.S)
    return found.group(1) if found else None


def input_value(page: str, name: str) -> str:
    found = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert found, f"no input {name}"
    return found.group(1)


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea [^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>', page,
                      re.S)
    assert found, f"no textarea {name}"
    return found.group(1)


def details(page: str) -> list[tuple[str, str]]:
    return [(visible(dt), visible(dd)) for dt, dd in
            re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, re.S)]


def headers(page: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    return [visible(th) for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


def rows(page: str) -> list[list[str]]:
    body = re.search(r'<table class="list">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[visible(td) for td in re.findall(r'<td(?! class="pick")[^>]*>(.*?)</td>', tr,
                                              re.S)]  # the row's box to tick: not a value
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def field_row(page: str, key: str) -> str:
    """What the field list says about the field ``key``."""
    found = re.search(rf'<tr id="field-\d+">((?:(?!</tr>).)*<code>{key}</code>.*?)</tr>',
                      page, re.S)
    assert found, f"field {key} is not listed"
    return visible(found.group(1))


def section(page: str, heading: str) -> str:
    """The part of a page from a heading to the next one of the same level or the end."""
    found = re.search(rf"<h3>{heading}</h3>(.*?)(?=<h[23]|</section>)", page, re.S)
    return found.group(1) if found else ""


def new_field_form(**data) -> dict:
    return {"record_type": "organisation", "key": "employees", "type": "integer",
            "label_pl": "Liczba pracowników", "label_en": "Employees", "position": "1",
            **data}


# --------------------------------------------------------------------- defining fields


def test_an_administrator_defines_a_field_through_the_form_and_sees_it_listed(app, client):
    form = show(client, "/admin/fields/new?record_type=person")
    assert '<option value="person" selected>' in form
    response = client.post("/admin/fields/new", data=new_field_form(
        required="1", indexed="1", in_list="1", group="Statistics", default="10",
        help_en="Full-time staff", view_roles=["admin", "staff"], min="0", choices="a | b"))
    assert response.status_code == 302
    page = show(client, response.headers["Location"])
    assert "Field “Employees” added." in flashes(page)
    listed = field_row(page, "employees")
    for shown in ("Employees", "Whole number", "Statistics", "required", "indexed",
                  "in the list", "seen by: Administrators, Staff", "administrator"):
        assert shown in listed
    row = definition(app, "employees")
    assert (row.default, row.view_roles, row.help_en) == (10, ["admin", "staff"],
                                                          "Full-time staff")
    assert row.options["in_list"] is True and "choices" not in row.options


def test_a_plugins_field_is_listed_with_the_plugins_name(app, client):
    with app.app_context(), writing(app) as (session, _admin):
        field_definitions.create(session, {"record_type": "person", "key": "visits_count",
                                           "type": "integer", "label_pl": "Wizyty",
                                           "label_en": "Visits"}, source="visits")
    page = show(client, "/admin/fields/")
    assert "visits" in field_row(page, "visits_count")
    people_part = page[page.index('id="fields-person"'):]
    assert "visits_count" in people_part


def test_a_bad_key_is_shown_next_to_the_key_and_the_form_keeps_what_was_typed(app, client):
    response = client.post("/admin/fields/new", data=new_field_form(key="Big Key"))
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, "key") == ("A key starts with a small letter and has only small "
                                        "letters, digits and underscores (at most 64).")
    assert input_value(page, "key") == "Big Key"
    assert input_value(page, "label_en") == "Employees"
    assert count(app, FieldDefinition) == 0


def test_a_key_of_a_built_in_or_another_field_is_refused_next_to_the_key(app, client):
    page = text(client.post("/admin/fields/new", data=new_field_form(key="nip")))
    assert error_under(page, "key") == ("'nip' is a built-in field of these records; "
                                        "choose another key.")
    define(app, key="employees", type="integer")
    page = text(client.post("/admin/fields/new", data=new_field_form()))
    assert error_under(page, "key") == "Another field already has this key."
    assert count(app, FieldDefinition) == 1


def test_a_choice_field_without_choices_is_refused_next_to_the_choices(app, client):
    page = text(client.post("/admin/fields/new", data=new_field_form(
        key="status", type="choice", choices="  \n")))
    assert error_under(page, "choices") == "Give at least one choice."
    page = text(client.post("/admin/fields/new", data=new_field_form(
        key="status", type="choice", choices="a,b | A")))
    assert error_under(page, "choices") == "A choice value has 1 to 100 characters and no comma."
    assert textarea(page, "choices") == "a,b | A"
    assert count(app, FieldDefinition) == 0


def test_messages_of_the_field_form_come_in_polish(polish):
    define(polish.application, key="employees", type="integer")
    page = text(polish.post("/admin/fields/new", data=new_field_form()))
    assert error_under(page, "key") == "Inne pole ma już ten klucz."
    page = text(polish.post("/admin/fields/new", data=new_field_form(
        key="status", type="choice", choices="")))
    assert error_under(page, "choices") == "Podaj co najmniej jedną opcję."
    assert "Liczba całkowita" in show(polish, "/admin/fields/")


def test_a_staff_member_who_is_not_an_administrator_gets_403(app, kartoteka_login):
    with writing(app) as (session, _admin):
        users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD, is_admin=False)
    staff = kartoteka_login(app.test_client(), STAFF_EMAIL, STAFF_PASSWORD)
    field_id = define(app, key="employees", type="integer")
    assert staff.get("/admin/fields/").status_code == 403
    assert staff.get("/admin/fields/new").status_code == 403
    assert staff.post(f"/admin/fields/{field_id}/delete").status_code == 403
    assert definition(app, "employees").archived_at is None
    assert "/admin/fields/" not in show(staff, "/organisations/")


# --------------------------------------------------------------------- values on records


def test_a_value_typed_in_the_form_is_stored_and_shown_on_the_card_and_in_the_list(app, client):
    define(app, key="employees", type="integer", label_en="Employees", group="Statistics",
           options={"in_list": True})
    define(app, key="note", type="text", label_en="Remark", help_en="Seen by the team")
    form = show(client, "/organisations/new")
    assert "<legend>Statistics</legend>" in form and "Seen by the team" in form
    org_id = created_id(client.post("/organisations/new", data=org_form(
        **{"custom.employees": "1 200", "custom.note": ""})))
    assert fetch(app, Organisation, org_id).custom == {"employees": 1200}

    card = show(client, f"/organisations/{org_id}")
    assert '<h3 class="custom-group">Statistics</h3>' in card
    assert ("Employees", "1,200") in details(card)
    assert "Remark" not in card  # empty values are left out

    listing = show(client, "/organisations/")
    assert headers(listing)[-1] == "Employees"
    assert rows(listing) == [["Gmina Kórnik", "Municipality", "", "", "1,200"]]


def test_the_list_sorts_by_a_custom_column(app, client):
    define(app, key="employees", type="integer", label_en="Employees",
           options={"in_list": True})
    for name, employees in (("Gmina A", 30), ("Gmina B", 5), ("Gmina C", None)):
        add_org(app, name, **({"employees": employees} if employees else {}))
    names = [row[0] for row in rows(show(client, "/organisations/?sort=custom.employees"))]
    assert names == ["Gmina B", "Gmina A", "Gmina C"]  # no value comes last
    names = [row[0] for row in rows(show(client, "/organisations/?sort=-custom.employees"))]
    assert names == ["Gmina A", "Gmina B", "Gmina C"]
    listing = show(client, "/organisations/?sort=custom.nothing")
    assert [row[0] for row in rows(listing)] == ["Gmina A", "Gmina B", "Gmina C"]
    assert re.search(r'href="/organisations/\?sort=-custom.employees[&"]',
                     show(client, "/organisations/?sort=custom.employees"))


def test_a_sorted_list_continues_on_a_next_page(app, client):
    define(app, key="rank", type="integer", label_en="Rank", options={"in_list": True})
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        for i in range(55):
            organisations.create(session, host, {"name": f"Firma {i:02}",
                                                 "type_key": "core.company",
                                                 "custom": {"rank": 100 - i}},
                                 admin, allow_duplicates=True)
    first = show(client, "/organisations/?sort=custom.rank")
    link = re.search(r'<a href="([^"]*after=[^"]*)">', first).group(1)
    second = show(client, link.replace("&amp;", "&"))
    names = [r[0] for r in rows(first)] + [r[0] for r in rows(second)]
    assert names == [f"Firma {i:02}" for i in range(54, -1, -1)]


def test_a_wrong_value_is_shown_next_to_the_field_with_what_was_typed(app, client):
    define(app, key="employees", type="integer", label_en="Employees")
    response = client.post("/organisations/new", data=org_form(**{"custom.employees": "abc"}))
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, "custom.employees") == "Not a valid integer."
    assert input_value(page, "custom.employees") == "abc"
    assert input_value(page, "name") == "Gmina Kórnik"
    assert count(app, Organisation) == 0


def test_a_wrong_value_in_the_person_form_is_shown_in_polish_next_to_the_field(polish):
    app = polish.application
    define(app, record_type="person", key="shoe_size", type="integer", label_pl="Rozmiar buta")
    response = polish.post("/people/new", data={"first_name": "Anna", "last_name": "Nowak",
                                                "custom.shoe_size": "duży"})
    page = text(response)
    assert error_under(page, "custom.shoe_size") == "To nie jest poprawna liczba całkowita."
    assert input_value(page, "custom.shoe_size") == "duży"
    person_id = created_id(polish.post("/people/new", data={
        "first_name": "Anna", "last_name": "Nowak", "custom.shoe_size": "38"}))
    assert fetch(app, Person, person_id).custom == {"shoe_size": 38}
    assert ("Rozmiar buta", "38") in details(show(polish, f"/people/{person_id}"))


def test_choices_checkboxes_and_read_only_fields_on_the_edit_form(app, client):
    choices = [{"value": "pv", "label_en": "Solar"}, {"value": "heat", "label_en": "Heat pump"},
               {"value": "wind", "label_en": "Wind"}]
    define(app, key="status", type="choice", label_en="Status", options={"choices": choices})
    define(app, key="interests", type="multi_choice", label_en="Interests",
           options={"choices": choices})
    define(app, key="member", type="boolean", label_en="Member")
    define(app, key="erp_id", type="text", label_en="ERP id", read_only=True)
    define(app, key="secret", type="text", label_en="Secret", hidden=True)
    org_id = add_org(app, erp_id="A-1", secret="s", member=True)

    form = show(client, f"/organisations/{org_id}/edit")
    assert re.search(r'<input id="f-custom.erp_id" name="custom.erp_id" disabled', form)
    assert "Secret" not in form
    assert re.search(r'name="custom.member" value="true" checked', form)
    # A read-only field's input sent anyway is not passed on to the record.
    response = client.post(f"/organisations/{org_id}/edit", data=org_form(**{
        "version": "1", "custom.status": "heat", "custom.interests": ["", "pv", "wind"],
        "custom.member": "false", "custom.erp_id": "B-2"}))
    assert response.status_code == 302
    assert fetch(app, Organisation, org_id).custom == {
        "erp_id": "A-1", "secret": "s", "member": False, "status": "heat",
        "interests": ["pv", "wind"]}
    card = details(show(client, f"/organisations/{org_id}"))
    assert ("Status", "Heat pump") in card and ("Interests", "Solar, Wind") in card
    assert ("Member", "No") in card and ("ERP id", "A-1") in card
    assert "Secret" not in dict(card)
    form = show(client, f"/organisations/{org_id}/edit")
    assert '<option value="heat" selected>Heat pump</option>' in form
    assert re.search(r'name="custom.interests" value="wind" checked', form)


def test_a_field_only_administrators_see_is_kept_when_staff_save_the_form(app,
                                                                         kartoteka_login):
    define(app, key="rating", type="integer", label_en="Rating", view_roles=["admin"])
    org_id = add_org(app, rating=5)
    with writing(app) as (session, _admin):
        users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD, is_admin=False)
    staff = kartoteka_login(app.test_client(), STAFF_EMAIL, STAFF_PASSWORD)
    assert "Rating" not in show(staff, f"/organisations/{org_id}/edit")
    assert "Rating" not in dict(details(show(staff, f"/organisations/{org_id}")))
    response = staff.post(f"/organisations/{org_id}/edit",
                          data=org_form(name="Gmina Mosina", version="1"))
    assert response.status_code == 302
    org = fetch(app, Organisation, org_id)
    assert (org.name, org.custom) == ("Gmina Mosina", {"rating": 5})


def test_the_change_history_hides_a_field_from_those_who_may_not_see_it(app, client,
                                                                         kartoteka_login):
    define(app, key="rating", type="integer", label_en="Rating", view_roles=["admin"])
    org_id = add_org(app, rating=5)
    with writing(app) as (session, _admin):
        users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD, is_admin=False)
    staff = kartoteka_login(app.test_client(), STAFF_EMAIL, STAFF_PASSWORD)
    assert "Rating" in show(client, f"/organisations/{org_id}/history")
    history = show(staff, f"/organisations/{org_id}/history")
    assert "Rating" not in history and "Name" in history


# --------------------------------------------------------------------- changing fields


def test_removing_a_used_choice_offers_a_replacement_and_then_updates_the_records(app, client):
    field_id = define(app, key="status", type="choice", label_en="Status", options={
        "choices": [{"value": "new", "label_en": "New"}, {"value": "old", "label_en": "Old"},
                    {"value": "lost", "label_en": "Lost"}]})
    org_id = add_org(app, status="old")
    form = show(client, f"/admin/fields/{field_id}/edit")
    assert textarea(form, "choices") == "new | new | New\nold | old | Old\nlost | lost | Lost"
    data = {"label_pl": "status", "label_en": "Status", "position": "0",
            "choices": "new | New\nlost | Lost"}
    page = text(client.post(f"/admin/fields/{field_id}/edit", data=data))
    assert error_under(page, "choices") == ("Records using the choice 'old': 1; say which "
                                            "choice they get instead.")
    replace = re.search(r'<label for="(f-replace-\d)">Replace “Old” with</label>\s*'
                        r'<select id="\1" name="replace.old">(.*?)</select>', page, re.S)
    assert replace and re.findall(r'<option value="(\w*)"', replace.group(2)) == [
        "", "new", "lost"]
    assert fetch(app, Organisation, org_id).custom == {"status": "old"}

    response = client.post(f"/admin/fields/{field_id}/edit",
                           data={**data, "replace.old": "lost"})
    assert response.status_code == 302
    assert fetch(app, Organisation, org_id).custom == {"status": "lost"}
    assert [c["value"] for c in definition(app, "status").options["choices"]] == ["new", "lost"]


def test_editing_keeps_the_key_and_type_and_changes_labels_and_settings(app, client):
    field_id = define(app, key="employees", type="integer", label_en="Employees")
    form = show(client, f"/admin/fields/{field_id}/edit")
    assert 'name="key"' not in form and 'name="type"' not in form
    response = client.post(f"/admin/fields/{field_id}/edit", data={
        "label_pl": "Zatrudnieni", "label_en": "Staff count", "position": "x",
        "min": "0", "max": "-1"})
    page = text(response)
    assert error_under(page, "position") == "Not a valid integer."
    response = client.post(f"/admin/fields/{field_id}/edit", data={
        "label_pl": "Zatrudnieni", "label_en": "Staff count", "position": "3",
        "min": "10", "max": "1"})
    assert error_under(text(response), "max") == "The maximum must not be below the minimum."
    response = client.post(f"/admin/fields/{field_id}/edit", data={
        "label_pl": "Zatrudnieni", "label_en": "Staff count", "position": "3",
        "min": "0", "max": "5000", "hidden": "1"})
    assert response.status_code == 302
    row = definition(app, "employees")
    assert (row.label_en, row.position, row.hidden, row.type) == (
        "Staff count", 3, True, "integer")
    form = show(client, f"/admin/fields/{field_id}/edit")
    assert (input_value(form, "min"), input_value(form, "max")) == ("0", "5000")
    with app.test_request_context(), writing(app) as (session, admin), \
            pytest.raises(ValidationError) as caught:
        organisations.create(session, app.extensions["kartoteka"].host, {
            "name": "X", "type_key": "core.company", "custom": {"employees": "6000"}}, admin)
    assert caught.value.errors == {"custom.employees": "Give a value from 0 to 5000."}


def test_a_type_change_lists_the_records_in_the_way_and_converts_once_they_are_fixed(app,
                                                                                    client):
    field_id = define(app, key="size", type="text", label_en="Size")
    good = add_org(app, "Gmina Dobra", size="12")
    bad = add_org(app, "Gmina Zła", size="large")
    page = text(client.post(f"/admin/fields/{field_id}/type",
                            data={"type": "integer", "action": "check"}))
    assert error_under(page, "type") == ("Records whose value is not a valid whole number: 1; "
                                         "change those values first.")
    assert "1 record stands in the way" in page
    assert rows(page) == [["Gmina Zła", "large"]]
    assert f'<a href="/organisations/{bad}">Gmina Zła</a>' in page
    assert definition(app, "size").type == "text"

    with writing(app) as (session, admin):
        organisations.update(session, app.extensions["kartoteka"].host,
                             session.get(Organisation, bad), {"custom": {"size": "7"}}, admin)
    page = text(client.post(f"/admin/fields/{field_id}/type",
                            data={"type": "integer", "action": "check"}))
    assert "2 values can be converted." in page
    assert definition(app, "size").type == "text"
    response = client.post(f"/admin/fields/{field_id}/type",
                           data={"type": "integer", "action": "convert"})
    assert "Type changed; 2 values converted." in flashes(show(client, response.location))
    assert fetch(app, Organisation, good).custom == {"size": 12}
    assert definition(app, "size").type == "integer"


def test_converting_to_a_choice_takes_the_choices_typed_on_the_type_page(app, client):
    field_id = define(app, key="tier", type="text", label_en="Tier")
    org_id = add_org(app, tier="gold")
    page = text(client.post(f"/admin/fields/{field_id}/type",
                            data={"type": "choice", "action": "convert"}))
    assert error_under(page, "choices") == "Give at least one choice."
    response = client.post(f"/admin/fields/{field_id}/type", data={
        "type": "choice", "choices": "gold | Złoty | Gold\nsilver", "action": "convert"})
    assert response.status_code == 302
    card = details(show(client, f"/organisations/{org_id}"))
    assert ("Tier", "Gold") in card


def test_deleting_archives_the_values_and_restoring_brings_them_back(app, client):
    field_id = define(app, key="employees", type="integer", label_en="Employees")
    org_id = add_org(app, employees=12)
    add_org(app, "Gmina Mosina")
    confirm = show(client, f"/admin/fields/{field_id}/delete")
    assert "1 value will be archived." in confirm
    response = client.post(f"/admin/fields/{field_id}/delete")
    listing = show(client, response.location)
    assert ("Field deleted; 1 value archived. Restore the field to bring it back."
            in flashes(listing))
    assert "employees" in section(listing, "Deleted fields")
    assert fetch(app, Organisation, org_id).custom == {}
    assert "Employees" not in dict(details(show(client, f"/organisations/{org_id}")))

    response = client.post(f"/admin/fields/{field_id}/restore")
    assert "Field restored with 1 value." in flashes(show(client, response.location))
    assert ("Employees", "12") in details(show(client, f"/organisations/{org_id}"))
    assert "Deleted fields" not in show(client, "/admin/fields/")


def test_people_lists_show_their_custom_column(app, client):
    define(app, record_type="person", key="shoe_size", type="integer", label_en="Shoe size",
           options={"in_list": True})
    with writing(app) as (session, admin):
        people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                "custom": {"shoe_size": 38}}, admin)
    listing = show(client, "/people/")
    assert headers(listing)[-1] == "Shoe size"
    assert rows(listing)[0][-1] == "38"

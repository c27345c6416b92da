"""More journeys of staff in a real browser, each step as a person takes it: adding a
person in Polish, a custom field from the admin pages to the form, a term reworded,
a CSV imported with its report, and a portal account kept inside its organisation."""

import re
from datetime import date

from playwright.sync_api import expect

ADMIN = "admin@example.com"
PASSWORD = "correct horse battery"  # the one conftest gives every account


def test_a_person_is_added_in_polish_after_fixing_a_wrong_phone(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    site.login(page, ADMIN, locale="pl")
    page.get_by_role("navigation", name="Główne").get_by_role("link", name="Osoby").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Osoby")
    page.get_by_role("link", name="Dodaj osobę").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nowa osoba")

    page.get_by_label("Imię").fill("Zofia")
    page.get_by_label("Nazwisko").fill("Kowalska")
    page.get_by_label("Adresy e-mail").fill("zofia.kowalska@example.org")
    page.get_by_label("Telefony").fill("600 100 20")  # a digit short
    page.get_by_role("button", name="Dodaj osobę").click()

    phones = page.get_by_label("Telefony")
    expect(page.locator("#e-phones")).to_have_text("Wiersz 1: Polski numer telefonu musi mieć "
                                                   "9 cyfr.")
    expect(phones).to_have_attribute("aria-invalid", "true")
    expect(phones).to_have_attribute("aria-describedby", "e-phones")  # the error is its own
    expect(phones).to_have_value("600 100 20")  # what was typed is kept
    expect(page.get_by_label("Imię")).to_have_value("Zofia")
    expect(page.get_by_label("Adresy e-mail")).to_have_value("zofia.kowalska@example.org")
    shoot(page, "error")

    phones.fill("600 100 200")
    page.get_by_role("button", name="Dodaj osobę").click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Zofia Kowalska")
    expect(page.get_by_role("status")).to_contain_text("Zapisano.")
    details = _section(page, "Szczegóły")  # "Details"
    expect(details.get_by_role("definition")).to_have_text([
        re.compile(r"^zofia\.kowalska@example\.org \(główny\)$"),  # the main one
        re.compile(r"^\+48 600 100 200 \(główny\)$")])


def _section(page, heading: str):
    """The part of a page under ``heading``, wherever the layout puts it."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading,
                                                                exact=True))


def test_a_custom_field_added_by_an_admin_is_on_the_person_form_and_card(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    site.login(page, ADMIN)
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Custom fields").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Custom fields")
    people = _section(page, "People")
    expect(people).to_contain_text("No fields yet.")
    people.get_by_role("link", name="Add a field").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("New field")
    expect(page.get_by_label("Record type")).to_have_value("person")  # from the section
    page.get_by_role("textbox", name="Key", exact=True).fill("shoe_size")
    page.get_by_role("combobox", name="Type", exact=True).select_option(label="Whole number")
    page.get_by_label("Label in Polish").fill("Rozmiar buta")
    page.get_by_label("Label in English").fill("Shoe size")
    page.get_by_label("Help text in English").fill("EU sizes")
    page.get_by_label("Show in the list").check()
    page.get_by_label("Minimum").fill("30")
    page.get_by_label("Maximum").fill("50")
    page.get_by_role("button", name="Add the field").click()

    expect(page).to_have_url(re.compile(r"/admin/fields/$"))
    expect(page.get_by_role("status")).to_have_text("Field “Shoe size” added.")
    row = people.get_by_role("row").filter(has_text="shoe_size")
    expect(row).to_contain_text("Shoe size")
    expect(row).to_contain_text("Whole number")
    expect(row).to_contain_text("in the list")
    shoot(page, "fields")

    # The field is on the form of a new person at once, with its help text.
    menu.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Add person").click()
    size = page.get_by_role("spinbutton", name="Shoe size")
    expect(size).to_be_visible()
    expect(size).to_have_accessible_description("EU sizes")
    page.get_by_label("First name").fill("Adam")
    page.get_by_label("Last name").fill("Wysoki")
    size.fill("52")
    page.get_by_role("button", name="Add person").click()
    expect(page.locator("#e-custom\\.shoe_size")).to_have_text("Give a value from 30 to 50.")
    expect(size).to_have_value("52")
    expect(page.get_by_label("First name")).to_have_value("Adam")

    size.fill("46")
    page.get_by_role("button", name="Add person").click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Adam Wysoki")
    details = _section(page, "Details")
    expect(details.get_by_role("term").filter(has_text="Shoe size")).to_be_visible()
    expect(details.get_by_role("definition").filter(has_text=re.compile(r"^46$"))) \
        .to_be_visible()
    shoot(page, "card")

    # ... and a column of its own in the list of people.
    menu.get_by_role("link", name="People").click()
    expect(page.get_by_role("columnheader", name="Shoe size")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Wysoki Adam")).to_contain_text("46")


def test_an_admin_rewords_organisation_and_the_menu_says_the_new_word(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    site.login(page, ADMIN)
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Organisations", exact=True)).to_be_visible()
    menu.get_by_role("link", name="Terminology").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Terminology")
    page.get_by_role("link", name="core.organisation", exact=True).click()

    singular = page.get_by_role("textbox", name="English, singular")
    plural = page.get_by_role("textbox", name="English, plural")
    expect(singular).to_have_value("organisation")
    english = page.locator(".term-preview .preview[data-locale=en]")
    expect(english.get_by_role("listitem").filter(has_text="Add organisation")).to_have_count(1)

    # The preview follows the typing, before anything is sent.
    singular.fill("member unit")
    expect(english).to_contain_text("Add member unit")
    expect(english).to_contain_text("New member unit")
    plural.fill("member units")
    expect(english).to_contain_text("5 member units")
    expect(english).to_contain_text("No member units found.")
    polish = page.locator(".term-preview .preview[data-locale=pl]")
    expect(polish.get_by_role("listitem")).to_have_text([  # Polish is left as it was
        "Nowa organizacja", "Dodaj organizację", "Brak organizacji.", "1 organizacja",
        "2 organizacje", "5 organizacji", "22 organizacje", "z organizacją"])

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(singular).to_have_value("member unit")
    expect(plural).to_have_value("member units")
    shoot(page, "saved")  # (a full-page shot resizes the page: not while typing)
    expect(menu.get_by_role("link", name="Member units", exact=True)).to_be_visible()
    expect(menu.get_by_role("link", name="Organisations", exact=True)).to_have_count(0)

    menu.get_by_role("link", name="Member units", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Member units")
    expect(page.get_by_role("link", name="Add member unit")).to_be_visible()

    # Polish pages keep their own wording.
    page.get_by_role("link", name="PL", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizacje")


def test_a_csv_of_people_is_imported_and_the_bad_row_is_named(site, page, tmp_path, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    upload = tmp_path / "people.csv"
    upload.write_text("First name,Last name,E-mail,City\n"
                      "Zofia,Kowalska,zofia.kowalska@example.org,Kórnik\n"
                      "Jan,Wiśniewski,jan.wisniewski(at)example.org,Mosina\n"
                      "Maria,Zielińska,maria.zielinska@example.org,\n", encoding="utf-8")
    site.login(page, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import from a file")
    page.get_by_label("What the file holds").select_option(label="People")
    page.get_by_label("CSV or XLSX file").set_input_files(upload)
    page.get_by_role("button", name="Next: map the columns").click()

    # The columns are matched to fields by their headers; the person checks them.
    expect(page.get_by_role("heading", level=1)).to_have_text("Import: people.csv")
    expect(page.get_by_label("Field for column First name")).to_have_value("first_name")
    expect(page.get_by_label("Field for column Last name")).to_have_value("last_name")
    expect(page.get_by_label("Field for column E-mail")).to_have_value("emails")
    expect(page.get_by_label("Field for column City")).to_have_value("city")
    page.get_by_role("button", name="Preview the first rows").click()
    preview = _section(page, "Preview")
    rows = preview.get_by_role("row")
    expect(rows).to_have_count(4)  # the heading and three rows
    # Row, what it would do, the values as they would be stored, the problems.
    expect(rows.nth(1).get_by_role("cell")).to_have_text([
        "2", "create", "First name: Zofia; Last name: Kowalska; E-mail addresses: "
        "zofia.kowalska@example.org; City: Kórnik; Country: PL", ""])
    expect(rows.nth(2).get_by_role("cell")).to_have_text([
        "3", "not import", "", "E-mail: Not a valid email address."])
    expect(rows.nth(3).get_by_role("cell")).to_have_text([
        "4", "create", "First name: Maria; Last name: Zielińska; E-mail addresses: "
        "maria.zielinska@example.org", ""])

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import: people.csv")
    expect(page.get_by_text(re.compile(r"^State: done$"))).to_be_visible()
    expect(_described(page, "Rows")).to_have_text("3")
    expect(_described(page, "Created")).to_have_text("2")
    shoot(page, "job")
    _described(page, "Report").get_by_role("link", name="Open").click()

    expect(page).to_have_url(re.compile(r"/import/\w+/report$"))
    report = page.get_by_role("status").filter(has_text="Imported")
    expect(report).to_contain_text("Rows: 3 · created: 2 · updated: 0 · skipped: 0 · "
                                   "with errors: 1")
    problems = report.get_by_role("row")
    expect(problems).to_have_count(2)
    expect(problems.nth(1).get_by_role("cell")).to_have_text(
        ["3", "E-mail", re.compile("e-mail", re.I), "Not a valid email address."])
    shoot(page, "report")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("link", name="Kowalska Zofia")).to_be_visible()
    expect(page.get_by_role("link", name="Zielińska Maria")).to_be_visible()
    expect(page.get_by_role("link", name="Wiśniewski Jan")).to_have_count(0)
    page.get_by_role("link", name="Kowalska Zofia").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zofia Kowalska")
    expect(_section(page, "Details")).to_contain_text("zofia.kowalska@example.org")


def _described(page, term: str):
    """The value a list of terms gives ``term`` (<dt>term</dt><dd>value</dd>)."""
    return page.get_by_role("term").filter(has_text=re.compile(f"^{term}$")).locator(
        "xpath=following-sibling::dd[1]")


def _two_organisations_and_a_portal_admin(site) -> dict:
    """Two member organisations, a person of the second's, and a portal administrator
    account of the first's, made by the administrator's services."""
    from core import memberships, organisations, people, users

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        admin = users.find_by_email(s, ADMIN)
        first = organisations.create(s, site.rt.host, {"name": "Koło Gospodyń Wiejskich",
                                                      "type_key": "core.association"},
                                     actor=admin)
        second = organisations.create(s, site.rt.host, {"name": "Klub Sportowy Orzeł",
                                                       "type_key": "core.association"},
                                      actor=admin)
        theirs = people.create(s, {"first_name": "Tomasz", "last_name": "Obcy",
                                   "emails": ["tomasz.obcy@example.org"]}, admin)
        memberships.join(s, theirs, second, "prezes", date(2024, 1, 1), actor=admin)
        users.create_user(s, "portal@example.com", PASSWORD, full_name="Paula Portal",
                          actor=admin, portal_of=first, portal_admin=True)
        s.flush()
        return {"first": first.id, "second": second.id, "theirs": theirs.id}


def test_a_portal_account_adds_its_own_person_and_sees_nothing_else(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    ids = _two_organisations_and_a_portal_admin(site)
    site.login(page, "portal@example.com")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("main")).to_contain_text("Koło Gospodyń Wiejskich")
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Organisations")).to_have_count(0)  # no staff menu
    menu.get_by_role("link", name="People").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "People — Koło Gospodyń Wiejskich")
    expect(page.get_by_role("main")).to_contain_text("No people found.")
    page.get_by_role("link", name="Add person").click()
    page.get_by_label("First name").fill("Halina")
    page.get_by_label("Last name").fill("Nowicka")
    page.get_by_label("E-mail addresses").fill("halina.nowicka@example.org")
    page.get_by_label("Role").fill("skarbniczka")
    page.get_by_role("button", name="Add person").click()
    expect(page).to_have_url(re.compile(r"/portal/people/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Halina Nowicka")
    expect(page.get_by_role("main")).to_contain_text("halina.nowicka@example.org")
    expect(page.get_by_role("main")).to_contain_text("skarbniczka")
    shoot(page, "person")

    menu.get_by_role("link", name="People").click()
    expect(page.get_by_role("link", name="Nowicka Halina")).to_be_visible()
    expect(page.get_by_role("link", name="Obcy Tomasz")).to_have_count(0)

    # Another organisation's person and every staff page do not exist for the account.
    for path in (f"/portal/people/{ids['theirs']}", f"/portal/people/{ids['theirs']}/edit",
                 "/people/", f"/people/{ids['theirs']}", f"/organisations/{ids['second']}",
                 "/admin/fields/"):
        response = page.goto(f"{site.url}{path}")
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not Found")
        expect(page.locator("body")).not_to_contain_text("Tomasz")
    shoot(page, "not-found")

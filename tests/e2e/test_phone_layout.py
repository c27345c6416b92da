"""Staff pages on a phone (PR-1: a sales rep works from a phone in the field): no page is
wider than the screen, the main menu folds behind a "Menu" button that opens without
JavaScript, and a "Skip to content" link comes first. On a desktop the menu is unfolded."""

import re

import pytest
from playwright.sync_api import expect

ADMIN = "admin@example.com"
REP = "rep@example.com"
PHONE = {"width": 375, "height": 740}
# How much wider than the window the page is; 0 when nothing scrolls sideways.
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def _records(site) -> dict:
    """An organisation with a long name and a person working there, as a rep's card shows."""
    from core import memberships, organisations, people

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        kornik = organisations.create(s, site.rt.host, {
            "name": "Gmina Kórnik - Urząd Miejski w Kórniku, Wydział Promocji",
            "nip": "7773061579", "type_key": "core.municipality", "city": "Kórnik"})
        anna = people.create(s, {"first_name": "Anna", "last_name": "Nowak-Wiśniewska",
                                 "emails": ["anna.nowak-wisniewska@urzad-kornik.example.org"]})
        memberships.join(s, anna, kornik, "Skarbnik")
        return {"organisation": kornik.id, "person": anna.id}


@pytest.fixture
def phone(browser, request):
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True,
                                  has_touch=True)
    found = context.new_page()
    found.set_default_timeout(10_000)
    yield found
    context.close()


def _fits(page) -> None:
    """Nothing on the page reaches past the screen's right edge. A phone browser zooms a
    too-wide page out (window.innerWidth grows), so the screen's width is checked too."""
    assert page.evaluate("window.innerWidth") == PHONE["width"], page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url
    assert page.evaluate(OVERFLOW) <= 0, page.url


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_the_staff_pages_fit_a_phone_screen(site, phone, shoot, who):
    email = ADMIN if who == "admin" else REP
    site.user(email, admin=who == "admin", name="Ada Admin" if who == "admin" else "Robert Rep")
    ids = _records(site)
    site.login(phone, email)
    pages = {"home": "/", "organisations": "/organisations/",
             "organisation": f"/organisations/{ids['organisation']}",
             "person": f"/people/{ids['person']}", "tasks": "/tasks/", "calendar": "/calendar/",
             "search": "/search/?q=K%C3%B3rnik", "account": "/account/"}
    if who == "admin":
        pages |= {"fields": "/admin/fields/", "accounts": "/admin/users/",
                  "invoices": "/billing/invoices/", "audit": "/admin/audit"}
    for name, path in pages.items():
        response = phone.goto(site.url + path)
        assert response.ok, (path, response.status)
        _fits(phone)
        shoot(phone, f"{name}")
    # Open, the administrator's long menu wraps into the screen's width as well.
    phone.get_by_text("Menu", exact=True).click()
    expect(phone.get_by_role("navigation", name="Main")).to_be_visible()
    _fits(phone)
    shoot(phone, "menu-open")


def test_the_menu_opens_on_a_phone_and_a_link_is_followed(site, phone, shoot):
    site.user(REP, name="Robert Rep")
    site.login(phone, REP)
    menu = phone.get_by_role("navigation", name="Main")
    button = phone.locator("details.menu > summary")
    expect(button).to_have_text("Menu")
    expect(menu.get_by_role("link", name="Calendar")).to_be_hidden()  # folded at first

    button.click()
    expect(menu.get_by_role("link", name="Calendar")).to_be_visible()
    shoot(phone, "open")
    menu.get_by_role("link", name="Calendar").click()
    expect(phone).to_have_url(re.compile(r"/calendar/$"))
    expect(menu).to_be_hidden()  # a new page starts with the menu folded again

    # By keyboard: the button takes the focus, Enter unfolds the menu, and the link of
    # the section being shown says so.
    button.focus()
    phone.keyboard.press("Enter")
    expect(menu.get_by_role("link", name="Calendar")).to_be_visible()
    expect(menu.get_by_role("link", name="Calendar")).to_have_attribute("aria-current", "page")
    expect(menu.locator("[aria-current]")).to_have_count(1)
    phone.keyboard.press("Tab")
    expect(menu.get_by_role("link").first).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/organisations/$"))
    _fits(phone)


def test_the_menu_opens_without_javascript(site, browser):
    site.user(REP, name="Robert Rep")
    context = browser.new_context(locale="en-GB", viewport=PHONE, java_script_enabled=False)
    try:
        page = site.login(context.new_page(), REP)
        menu = page.get_by_role("navigation", name="Main")
        expect(menu).to_be_hidden()
        page.locator("details.menu > summary").click()
        menu.get_by_role("link", name="Tasks").click()
        expect(page).to_have_url(re.compile(r"/tasks/$"))
        _fits(page)
        page.set_viewport_size({"width": 1280, "height": 860})  # a desktop: unfolded
        expect(menu.get_by_role("link", name="Tasks")).to_be_visible()
    finally:
        context.close()


def test_skip_to_content_is_the_first_thing_tab_reaches(site, phone, shoot):
    site.user(REP, name="Robert Rep")
    site.login(phone, REP)
    phone.goto(f"{site.url}/organisations/")
    skip = phone.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()  # out of sight until focused

    phone.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shoot(phone, "skip-link")
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/organisations/#content$"))
    expect(phone.locator("main#content")).to_be_focused()
    # The next Tab goes on inside the content, past the top bar.
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.closest('main') !== null")


def test_on_a_desktop_the_menu_is_unfolded_and_marks_the_section(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    ids = _records(site)
    site.login(page, ADMIN)
    page.goto(f"{site.url}/organisations/{ids['organisation']}")
    menu = page.get_by_role("navigation", name="Main")
    expect(page.locator("details.menu > summary")).to_be_hidden()
    for name in ("Organisations", "People", "Calendar", "Custom fields", "Billing", "Privacy"):
        expect(menu.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(menu.get_by_role("link", name="Organisations")).to_have_attribute(
        "aria-current", "page")
    expect(menu.locator("[aria-current]")).to_have_count(1)
    # An administrator's twenty links wrap within the window instead of widening it.
    assert page.evaluate(OVERFLOW) <= 0
    shoot(page, "card")

    menu.get_by_role("link", name="Custom fields").click()
    expect(page).to_have_url(re.compile(r"/admin/fields/$"))
    expect(menu.get_by_role("link", name="Custom fields")).to_have_attribute(
        "aria-current", "page")
    expect(menu.locator("[aria-current]")).to_have_count(1)

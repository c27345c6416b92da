"""The main journeys of staff, in a real browser: each step as a person takes it."""

import re

from playwright.sync_api import expect

ADMIN = "admin@example.com"


def test_log_in_and_add_an_organisation_fixing_a_wrong_nip(site, page):
    site.user(ADMIN, admin=True, name="Ada Admin")
    site.login(page, ADMIN, locale="pl")
    page.goto(f"{site.url}/organisations/new")
    expect(page.locator("h1")).to_have_text("Nowa organizacja")
    page.fill("#f-name", "Gmina Kórnik")
    page.select_option("#f-type_key", "core.municipality")
    page.fill("#f-nip", "777-306-15-78")
    page.get_by_role("button", name="Dodaj organizację").click()
    error = page.locator("#e-nip")
    expect(error).to_contain_text("Cyfra kontrolna NIP się nie zgadza")
    expect(page.locator("#f-name")).to_have_value("Gmina Kórnik")  # nothing typed is lost
    page.fill("#f-nip", "777-306-15-79")
    page.get_by_role("button", name="Dodaj organizację").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(page.locator("h1")).to_have_text("Gmina Kórnik")
    expect(page.get_by_text("7773061579")).to_be_visible()


def test_a_wrong_password_is_refused_and_nothing_opens(site, page):
    site.user(ADMIN, admin=True)
    page.goto(f"{site.url}/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    page.goto(f"{site.url}/organisations/")
    expect(page).to_have_url(re.compile(r"/login"))

"""A public form in a real browser: an administrator builds a donor sign-up in English,
a visitor with no account fills it in in Polish, forgets the consent box, is told next
to it, ticks it and is thanked; the new donor is on the staff's list of submissions,
tagged."""

import re

from playwright.sync_api import expect

ADMIN = "admin@example.com"


def _purpose(site) -> None:
    from core import consents

    with site.app.app_context(), site.rt.session() as s, s.begin():
        consents.create_purpose(s, {"key": "newsletter", "name": "Newsletter",
                                    "legal_basis": "consent"})


def test_a_public_form_creates_a_donor(site, page, browser, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    _purpose(site)
    site.login(page, ADMIN)

    page.get_by_role("link", name="Public forms").click()
    page.get_by_role("link", name="Add a form").click()
    page.fill("#f-title", "Zostań darczyńcą")
    page.fill("#f-key", "darczyncy")
    page.get_by_label("E-mail", exact=True).check()
    page.get_by_label("Required: E-mail").check()
    page.get_by_label("City", exact=True).check()
    page.fill("#f-consent_text", "Zgadzam się na otrzymywanie newslettera.")
    page.select_option("#f-purpose_id", label="Newsletter")
    page.fill("#f-tags", "darczyńca")
    page.fill("#f-thank_you", "Dziękujemy za dołączenie!")
    page.get_by_label("Ada Admin").check()
    page.get_by_role("button", name="Add").click()
    expect(page).to_have_url(re.compile(r"/admin/forms/\d+$"))
    shoot(page, "admin")

    visitor = browser.new_context(locale="pl-PL").new_page()
    visitor.goto(f"{site.url}/lang/pl")
    visitor.goto(f"{site.url}/forms/darczyncy")
    expect(visitor.locator("h1")).to_have_text("Zostań darczyńcą")
    expect(visitor.locator("#f-hp_x9")).not_to_be_in_viewport()  # the bots' field
    visitor.fill("#f-first_name", "Anna")
    visitor.fill("#f-last_name", "Nowak")
    visitor.fill("#f-email", "anna.nowak@example.com")
    visitor.fill("#f-city", "Poznań")
    visitor.locator("button[type=submit]").click()
    expect(visitor.locator("#e-consent")).to_be_visible()  # the box was not ticked
    expect(visitor.locator("#f-email")).to_have_value("anna.nowak@example.com")
    visitor.locator("#f-consent").check()
    visitor.locator("button[type=submit]").click()
    expect(visitor.locator("#thanks")).to_contain_text("Dziękujemy za dołączenie!")
    shoot(visitor, "thanks")
    visitor.context.close()

    page.get_by_role("link", name="Submissions").click()
    page.get_by_role("link", name="Anna Nowak").click()
    expect(page.locator("h1")).to_contain_text("Anna Nowak")
    expect(page.locator("body")).to_contain_text("darczyńca")
    expect(page.locator("body")).to_contain_text("anna.nowak@example.com")

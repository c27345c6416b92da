"""Billing in a real browser: a draft with lines at two VAT rates (a row added and one
taken away by the page's script), issued, paid, and seen paid."""

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

PASSWORD = "correct horse battery"
COMPANY = {"company_name": "Drukarnia Test sp. z o.o.",
           "company_details": "ul. Długa 1\n61-001 Poznań\nNIP 7773061579"}


@pytest.fixture
def billing_site(kartoteka_app_factory):
    """The served application with a seller set, a clerk who bills and a client."""
    from core import organisations, roles, users

    app = kartoteka_app_factory(default_locale="pl", WTF_CSRF_ENABLED=True,
                                secure_cookies=False, TESTING=False, **COMPANY)
    rt = app.extensions["kartoteka"]
    with app.app_context(), rt.session() as s, s.begin():
        accounting = roles.create(s, "accounting", "Accounting")
        roles.set_permissions(s, accounting, ["core.billing"])
        users.create_user(s, "clerk@example.com", PASSWORD, "Klara Księgowa",
                          roles=["staff", "accounting"])
        organisations.create(s, rt.host, {"name": "Gmina Kórnik", "nip": "7773061579",
                                          "type_key": "core.municipality", "city": "Kórnik"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_a_draft_at_two_vat_rates_is_issued_paid_and_shown_paid(billing_site, page, shoot):
    url = billing_site
    page.goto(f"{url}/lang/en")
    page.goto(f"{url}/login")
    page.fill("input[name=email]", "clerk@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda address: "/login" not in address)

    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page.locator("h1")).to_have_text("Invoices")
    page.get_by_role("link", name="New draft invoice").click()
    expect(page.locator("h1")).to_have_text("New draft invoice")
    page.select_option("#f-buyer", label="Gmina Kórnik")
    page.fill("#f-lines-0-description", "Baner 6x3 m")
    page.fill("#f-lines-0-unit_price", "1000")

    # Rows come and go in the page, without a round trip.
    more = page.get_by_role("button", name="More lines")
    more.click()
    more.click()
    expect(page.locator("table.line-rows tbody tr.line")).to_have_count(3)
    page.locator("#f-lines-2-description").fill("To be removed")
    page.locator("tr.line[data-index='2']").get_by_role("button", name="Remove the line").click()
    expect(page.locator("table.line-rows tbody tr.line")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/billing/invoices/new$"))
    page.fill("#f-lines-1-description", "Ulotki A5")
    page.fill("#f-lines-1-quantity", "2,5")
    page.fill("#f-lines-1-unit_price", "40")
    page.select_option("#f-lines-1-vat_rate", "8")
    shoot(page, "form")
    page.get_by_role("button", name="Save the draft").last.click()

    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+$"))
    summary = page.locator("table.vat-summary").first
    expect(summary.locator("tr[data-rate='23']")).to_contain_text("PLN1,230.00")
    expect(summary.locator("tr[data-rate='8']")).to_contain_text("PLN108.00")
    expect(summary.locator("tfoot")).to_contain_text("PLN1,338.00")

    page.get_by_role("button", name="Issue").click()
    expect(page.locator(".flash")).to_contain_text(re.compile(r"Issued as FV/\d{4}/0001\."))
    expect(page.locator(".invoice-heading .status")).to_have_text("issued")

    page.get_by_role("link", name="Record a payment").first.click()
    expect(page.locator("#f-amount")).to_have_value("1338.00")
    page.get_by_role("button", name="Record the payment").last.click()
    expect(page.locator(".flash")).to_contain_text("Payment recorded.")
    page.locator("table.allocations a").first.click()
    expect(page.locator(".invoice-heading .status")).to_have_text("paid")
    expect(page.locator("dd.balance")).to_have_text("PLN0.00")

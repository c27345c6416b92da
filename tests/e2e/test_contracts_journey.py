"""Contracts and billing runs in a real browser: a quarterly contract signed in the middle
of February, the February run previewed and started, and its prorated invoice seen on
the run's page."""

import re

from playwright.sync_api import expect

ADMIN = "admin@example.com"


def _client(site) -> None:
    from core import organisations

    with site.app.app_context(), site.rt.session() as s, s.begin():
        organisations.create(s, site.rt.host, {"name": "Gmina Kórnik", "nip": "7773061579",
                                               "type_key": "core.municipality",
                                               "city": "Kórnik"})


def test_a_quarterly_contract_from_mid_february_is_billed_for_45_days(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    _client(site)
    site.login(page, ADMIN)

    page.get_by_role("link", name="Billing", exact=True).click()
    page.get_by_role("navigation", name="Billing").get_by_role("link", name="Contracts").click()
    expect(page.locator("h1")).to_have_text("Contracts")
    page.get_by_role("link", name="New contract").click()
    expect(page.locator("h1")).to_have_text("New contract")

    page.select_option("#f-client", label="Gmina Kórnik")
    page.fill("#f-title", "Umowa członkowska 7/2026")
    page.fill("#f-description", "Membership fee")
    page.fill("#f-starts_on", "2026-02-15")
    expect(page.locator("#f-custom_months")).to_be_hidden()  # only for a custom period
    page.select_option("#f-period", "custom")
    expect(page.locator("#f-custom_months")).to_be_visible()
    page.select_option("#f-period", label="quarterly")
    page.fill("#f-unit_price", "900")
    expect(page.locator("#f-collection_day")).to_be_hidden()  # only for a direct debit

    # An instalment row comes and goes in the page, without a round trip.
    rows = page.locator("table.instalment-rows tbody tr.instalment")
    expect(rows).to_have_count(0)
    page.get_by_role("button", name="More rows").click()
    expect(rows).to_have_count(1)
    expect(page.locator("#f-instalments-0-description")).to_be_focused()
    page.get_by_role("button", name="Remove the instalment").click()
    expect(rows).to_have_count(0)

    page.get_by_role("button", name="Save the contract").click()
    expect(page).to_have_url(re.compile(r"/billing/contracts/\d+$"))
    expect(page.locator("h1")).to_have_text("Umowa członkowska 7/2026")
    expect(page.locator(".contract-terms")).to_contain_text("quarterly, in advance")
    expect(page.locator(".contract-terms .billed-through")).to_have_text("nothing billed yet")
    shoot(page, "contract")

    page.get_by_role("link", name="Billing runs").click()
    page.get_by_role("link", name="New run").click()
    expect(page.locator("h1")).to_have_text("New billing run")
    page.fill("#f-period_start", "2026-02-01")
    page.fill("#f-period_end", "2026-02-28")
    page.get_by_role("button", name="Preview").click()
    bill = page.locator(".run-preview tbody.bill")
    expect(bill).to_have_count(1)
    expect(bill.locator(".client")).to_have_text("Gmina Kórnik")
    expect(bill.locator(".preview-line")).to_contain_text(
        "Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)")
    expect(bill.locator(".amount")).to_contain_text("450.00")
    shoot(page, "preview")

    page.get_by_role("button", name="Start the run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/billing/runs/\d+$"))
    expect(page.locator("h1")).to_have_text("Billing 01.02.2026–28.02.2026")
    expect(page.locator(".run-heading .run-state")).to_have_text("done")
    invoice = page.locator(".run-invoices tbody tr").first
    expect(invoice).to_contain_text("Gmina Kórnik")
    expect(invoice.locator(".net")).to_contain_text("450.00")
    expect(invoice.locator(".gross")).to_contain_text("553.50")
    expect(invoice.get_by_role("link")).to_have_attribute("href", re.compile(
        r"^/billing/invoices/\d+$"))
    expect(page.get_by_role("button", name="Issue the draft")).to_be_visible()
    shoot(page, "run")

    page.goto(page.url.rsplit("/billing/", 1)[0] + "/billing/contracts/")
    page.get_by_role("link", name="Umowa członkowska 7/2026").click()
    expect(page.locator(".contract-terms .billed-through")).not_to_have_text("nothing billed yet")
    expect(page.locator(".contract-items")).to_contain_text("45 of 90 days")

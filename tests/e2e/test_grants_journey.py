"""A consultant of a business-support institution in a real browser: an opportunity
cannot be won without its payment schedule, which they fill in on the opportunity's
card (a second instalment row added by the script, waiting for the client's
application to be submitted); winning it makes the cooperation contract with those
instalments. They then apply to a call for proposals for the same client firm, chosen
from the names offered as they type, tick the call's attachments on the application's
checklist and submit it, which makes the contract's success fee due."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.filters import today

ADMIN = "admin@example.com"
CONSULTANT = "doradca@example.com"
CLIENT = "Stolarnia Nowak sp. z o.o."
CALL = "Ścieżka SMART 2026"
OPPORTUNITY = "Dotacja na park maszynowy"


@pytest.fixture
def site_plugins() -> list[str]:
    return ["grants"]


def _world(site) -> None:
    """Two joineries (one the client), a grantor and its call with two required
    attachments, and the consultant's opportunity for the client, at the offer."""
    from core import cases, organisations, users, workflow
    from plugins.grants import calls

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        admin = users.find_by_email(s, ADMIN)
        consultant = users.find_by_email(s, CONSULTANT)
        client, _other, grantor = (organisations.create(s, site.rt.host, {
            "name": name, "type_key": "core.company", "city": city}, actor=admin)
            for name, city in ((CLIENT, "Kórnik"), ("Stolarnia Wiśniewski", "Mosina"),
                               ("Polska Agencja Rozwoju Przedsiębiorczości", "Warszawa")))
        calls.create(s, {"title": CALL, "grantor_id": grantor.id, "programme": "FENG",
                         "opens_on": (today() - timedelta(days=10)).isoformat(),
                         "deadline": (today() + timedelta(days=20)).isoformat(),
                         "max_rate": "70", "required_attachments": [
                             "Biznesplan", "Oświadczenie de minimis"]}, admin)
        opportunity = cases.create(s, site.rt.host, {
            "title": OPPORTUNITY, "process_key": "grants.opportunity",
            "owner_id": consultant.id, "organisation_id": client.id}, actor=consultant)
        for phase in ("qualified", "offer"):
            workflow.move(s, site.rt.host, opportunity, phase, consultant)


def _move(page, target: str):
    """The step to ``target`` on the case's card."""
    return page.locator(f".move[data-target={target}]")


def _open_opportunity(page):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.locator("section.process").filter(has=page.get_by_role(
        "heading", name="Opportunity")).get_by_role("link", name="List").click()
    page.get_by_role("main").get_by_role("link", name=OPPORTUNITY).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(OPPORTUNITY)


def test_a_consultant_wins_a_contract_and_submits_the_clients_application(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    site.user(CONSULTANT, name="Dorota Doradczyni")
    _world(site)
    site.login(page, CONSULTANT)

    # Not won without a schedule: the step says why.
    _open_opportunity(page)
    won = _move(page, "won")
    expect(won.get_by_role("button")).to_be_disabled()
    expect(won.locator(".blockers")).to_have_text(
        "Set the payment schedule first: the cooperation contract is made of it.")

    panel = page.locator("#grants-schedule")
    expect(panel).to_contain_text("No payment schedule yet.")
    rows = panel.locator("table.instalment-rows tbody tr.instalment")
    expect(rows).to_have_count(1)
    advance_on = today() + timedelta(days=30)
    rows.nth(0).get_by_label("What is paid").fill("Zaliczka")
    rows.nth(0).get_by_label("Amount").fill("2000")
    rows.nth(0).get_by_label("Due on").fill(advance_on.isoformat())
    panel.get_by_role("button", name="More rows").click()  # in the page, no round trip
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("What is paid")).to_be_focused()
    rows.nth(1).get_by_label("What is paid").fill("Wynagrodzenie za sukces")
    rows.nth(1).get_by_label("Amount").fill("9000,50")
    rows.nth(1).get_by_role("combobox").select_option(label="application submitted")
    panel.get_by_role("button", name="Save the schedule").click()

    expect(page.get_by_role("status").first).to_contain_text("Payment schedule saved.")
    offered = panel.locator("table.schedule")
    expect(offered.locator("tbody tr")).to_have_count(2)
    expect(offered.locator("tfoot")).to_contain_text("11,000.50")
    shoot(page, "schedule")

    expect(won.locator(".blockers")).to_have_count(0)
    won.get_by_role("button").click()
    expect(page.locator(".current-phase")).to_contain_text("Won")
    contract = page.locator("#grants-contract")
    expect(contract).to_contain_text(f"Umowa o współpracy: {OPPORTUNITY}")
    instalments = contract.locator("tbody tr")
    expect(instalments).to_have_count(2)
    expect(instalments.nth(0)).to_contain_text("Zaliczka")
    expect(instalments.nth(0)).to_contain_text("waiting for its date")
    expect(instalments.nth(1)).to_contain_text("Wynagrodzenie za sukces")
    expect(instalments.nth(1)).to_contain_text("waiting for the milestone")
    shoot(page, "contract")

    # The client's application to a call, the client chosen among the names offered.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Calls for proposals").click()
    page.get_by_role("main").get_by_role("link", name=CALL).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CALL)
    apply = page.locator("#apply")
    apply.get_by_role("textbox", name="Client firm").press_sequentially("Stolarnia")
    expect(apply.locator(".suggestions").get_by_role("button")).to_have_count(2)
    apply.get_by_role("button", name=CLIENT).click()
    apply.get_by_label("Grant requested (PLN)").fill("350000")
    apply.get_by_label("Project value (PLN)").fill("500000")
    apply.get_by_role("button", name="Start grant application").click()

    expect(page.get_by_role("status").first).to_contain_text("Grant application started")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{CALL} — {CLIENT}")
    checklist = page.locator("#checklist")
    expect(checklist.locator(".progress")).to_have_text("0 of 2 ready")
    submitted = _move(page, "submitted")
    expect(submitted.get_by_role("button")).to_be_disabled()
    expect(submitted.locator(".blockers")).to_contain_text(
        "Attachments not ready: “Biznesplan”, “Oświadczenie de minimis”.")

    for name, progress in (("Biznesplan", "1 of 2 ready"),
                           ("Oświadczenie de minimis", "2 of 2 ready")):
        row = checklist.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
        expect(row.locator(".status")).to_have_text("not ready")
        row.get_by_role("button", name="Ready").click()  # an original kept on paper
        expect(checklist.locator(".progress")).to_have_text(progress)
        expect(row.locator(".status")).to_contain_text("✓ ready")
    expect(submitted.locator(".blockers")).to_have_count(0)
    shoot(page, "checklist")

    submitted.get_by_role("button").click()
    expect(page.locator(".current-phase")).to_contain_text("Submitted")

    # Submitting was the milestone the success fee waited for.
    _open_opportunity(page)
    fee = page.locator("#grants-contract tbody tr").filter(has_text="Wynagrodzenie za sukces")
    expect(fee).to_contain_text("due: the next billing run invoices it")
    advance = page.locator("#grants-contract tbody tr").filter(has_text="Zaliczka")
    expect(advance).to_contain_text("waiting for its date")

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


def _project(site, title, owner, amount=None, phase=None, **custom):
    """A print project of ``owner``'s, put straight into ``phase``."""
    from core import cases, users

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        rep = users.find_by_email(s, owner)
        case = cases.create(s, site.rt.host, {"title": title, "amount": amount,
                                              "process_key": "printing.project",
                                              "owner_id": rep.id}, actor=rep)
        case.phase_key = phase or case.phase_key
        case.custom = dict(custom)
        return case.id


def _customer_service(site, email):
    """A colleague in customer service, who confirms the registration documents."""
    from core import roles

    with site.app.app_context(), site.rt.session() as s, s.begin():
        role = roles.create(s, "customer_service", "Customer service")
        roles.set_permissions(s, role, ["printing.confirm_documents"])
    site.user(email, roles=("staff", "customer_service"), name="Celina Service")


def test_a_case_is_dragged_across_a_check_once_its_conditions_hold(site, page, browser):
    site.user("rep@example.com", name="Robert Rep")
    case = _project(site, "Roll-upy targowe", "rep@example.com", "3900", "offer")
    site.login(page, "rep@example.com")
    page.goto(f"{site.url}/cases/board/printing.project")
    card = page.locator(f"#case-{case}")
    order = page.locator(".board-column[data-phase=order]")
    card.drag_to(order)
    refusal = page.locator("#board-messages")
    expect(refusal).to_contain_text("Customer service has not confirmed that the "
                                    "registration documents were received.")
    expect(page.locator(".board-column[data-phase=offer]").locator(f"#case-{case}")) \
        .to_be_visible()

    # Customer service ticks its confirmation on the form; the rep may not.
    _customer_service(site, "service@example.com")
    service = site.login(browser.new_context().new_page(), "service@example.com")
    service.goto(f"{site.url}/cases/{case}/edit")
    service.get_by_label("Registration documents received (customer service)").check()
    service.get_by_role("button", name="Save").click()
    expect(service).to_have_url(re.compile(rf"/cases/{case}$"))

    page.goto(f"{site.url}/cases/board/printing.project")
    page.locator(f"#case-{case}").drag_to(page.locator(".board-column[data-phase=order]"))
    expect(order.locator(f"#case-{case}")).to_be_visible()
    expect(order.locator(".count")).to_have_text("1")
    page.goto(f"{site.url}/cases/{case}")
    expect(page.locator(".current-phase")).to_contain_text("Order")


def test_an_approval_is_returned_with_a_reason_then_approved(site, browser):
    site.user("boss@example.com", name="Barbara Boss")
    site.user("rep@example.com", name="Robert Rep", supervisor="boss@example.com")
    case = _project(site, "Baner 6x3", "rep@example.com", "12500", "calculation")

    rep = site.login(browser.new_context().new_page(), "rep@example.com")
    rep.goto(f"{site.url}/cases/{case}")
    offer = rep.locator(".move[data-target=offer]")
    expect(offer.locator("button")).to_be_disabled()
    expect(offer.locator(".blockers")).to_contain_text("the direct supervisor (Barbara Boss)")
    rep.get_by_role("button", name="Ask for approval").click()
    expect(rep.locator(".approval-requests .status")).to_contain_text("waiting")

    boss = site.login(browser.new_context().new_page(), "boss@example.com")
    expect(boss.locator(".waiting-approvals")).to_contain_text("Baner 6x3")
    boss.get_by_role("link", name="Decide →").click()
    boss.get_by_placeholder("Why you return it (required)").fill("The paper price is old.")
    boss.get_by_role("button", name="Return").click()
    expect(boss.locator("body")).to_contain_text("Returned")

    rep.goto(f"{site.url}/")
    expect(rep.locator("body")).to_contain_text("Returned: Baner 6x3")
    rep.goto(f"{site.url}/cases/{case}")
    expect(rep.locator(".approval-requests")).to_contain_text("The paper price is old.")
    rep.get_by_role("button", name="Ask for approval").click()

    boss.goto(f"{site.url}/cases/approvals")
    boss.get_by_role("button", name="Approve", exact=True).click()

    rep.goto(f"{site.url}/cases/{case}")
    rep.locator(".move[data-target=offer] button").click()
    expect(rep.locator(".current-phase")).to_contain_text("Offer")


def _newsletter_audience(site) -> dict:
    """A newsletter purpose, an e-mail template, and two people: Anna consented,
    Bogdan did not."""
    from core import consents, documents, people
    from core.documents import Template

    with site.app.app_context(), site.rt.session() as s, s.begin():
        consents.create_purpose(s, {"key": "newsletter", "name": "Newsletter",
                                    "legal_basis": "consent"})
        documents.ship(s, Template("test.news", "email", "person",
                                   {"pl": "Newsletter", "en": "Newsletter"},
                                   "<p>Dzień dobry {{ person.first_name }}</p>",
                                   subject="Zaproszenie dla {{ person.full_name }}"))
        anna = people.create(s, {"first_name": "Anna", "last_name": "Nowak",
                                 "emails": ["anna@example.org"]})
        bogdan = people.create(s, {"first_name": "Bogdan", "last_name": "Lis",
                                   "emails": ["bogdan@example.org"]})
        consents.give(s, anna, "newsletter", "form", "Chcę dostawać newsletter.")
        return {"anna": anna.id, "bogdan": bogdan.id}


def test_a_mailing_reaches_only_the_consenting_and_its_link_unsubscribes(
        mail_site, page, browser, kartoteka_smtp, shoot):
    site = mail_site
    site.user(ADMIN, admin=True, name="Ada Admin")
    ids = _newsletter_audience(site)
    site.login(page, ADMIN)
    page.get_by_role("link", name="Mailings", exact=True).click()
    expect(page.locator("h1")).to_have_text("Mailings")
    page.get_by_role("link", name="New mailing").click()
    expect(page.locator("h1")).to_have_text("New mailing")
    page.get_by_role("textbox", name="Name", exact=True).fill("Zaproszenie na targi")
    page.get_by_role("combobox", name="E-mail template").select_option(label="Newsletter")
    page.get_by_role("combobox", name="Kind of mail").select_option("marketing")
    page.get_by_role("combobox", name="Consent purpose").select_option(label="Newsletter")
    page.get_by_role("combobox", name="Who receives it").select_option(label="chosen people")
    page.get_by_label("People (ids separated by commas)").fill(f"{ids['anna']}, {ids['bogdan']}")
    page.get_by_role("button", name="Save as a draft").click()

    expect(page).to_have_url(re.compile(r"/mailings/\d+$"))
    expect(page.locator("h1")).to_have_text("Zaproszenie na targi")
    reach = page.locator(".mailing-reach")
    expect(reach).to_contain_text("In the audience: 2")
    expect(reach).to_contain_text("Will receive it: 1")
    expect(reach).to_contain_text("Left out, no valid consent: 1")
    expect(page.locator(".preview-subject")).to_have_text("Zaproszenie dla Anna Nowak")
    expect(page.frame_locator("iframe.preview").locator("body")).to_contain_text(
        "Dzień dobry Anna")
    page.get_by_role("button", name="Send now").click()
    expect(page.locator(".mailing-stats .stat-sent")).to_have_text("1", timeout=20_000)
    expect(page.locator(".mailing-summary .state")).to_contain_text("sent")

    sent = kartoteka_smtp.messages
    assert len(sent) == 1 and kartoteka_smtp.recipients == ["anna@example.org"]
    assert sent[0]["To"].addresses[0].addr_spec == "anna@example.org"
    assert sent[0]["Subject"] == "Zaproszenie dla Anna Nowak"
    link = sent[0]["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{site.url}/unsubscribe/")

    # The recipient opens the link from the mail: a browser of their own, no login, so
    # the page speaks the office's default language (Polish).
    theirs = browser.new_context(locale="pl-PL")
    try:
        reader = theirs.new_page()
        reader.set_default_timeout(10_000)
        reader.goto(link)
        expect(reader.locator("h1")).to_have_text("Wypisz się")  # "Unsubscribe"
        expect(reader.locator("#unsubscribe")).to_contain_text("Newsletter")
        reader.get_by_role("button", name="Wypisz się").click()
        expect(reader.get_by_role("status")).to_contain_text("Wypisano Cię.")  # unsubscribed
        expect(reader.get_by_role("button", name="Wypisz się")).to_have_count(0)
        shoot(reader, "unsubscribe")
    finally:
        theirs.close()

    from core import consents

    with site.rt.session() as s:
        assert not consents.has_consent(s, ids["anna"], "newsletter")

"""An expert-opinion firm in a real browser: the secretary routes a client's inquiry to
the department its specialisation suggests; the estimator sees the expert in conflict
with the client excluded, estimates the able expert's hours, travel and a margin above
the minimum, and only the department manager must approve the offer, which the manager
does before the estimator makes the offer. Another inquiry priced below the minimum
margin needs the board too. The client's 360° page then shows the inquiries, the
offer and the client's contact person."""

import pytest
from playwright.sync_api import expect

SECRETARY = "sekretariat@example.com"
ESTIMATOR = "kosztorysant@example.com"
MANAGER = "kierownik@example.com"
BOARD = "zarzad@example.com"
CLIENT = "Budimex Sp. z o.o."
INQUIRY = "Opinia o stanie budynku"
CHEAP = "Opinia o przyczynach zawilgocenia"
DEPARTMENT = "Construction department"
OTHER_DEPARTMENT = "Vehicles department"
PROCESS = "Inquiry for an expert opinion"


@pytest.fixture
def site_plugins() -> list[str]:
    return ["expertise"]


def _roles(site) -> None:
    """The secretariat routes inquiries, the estimators make calculations; the board
    approves offers below the minimum margin."""
    from core import roles

    with site.app.app_context(), site.rt.session() as s, s.begin():
        secretariat = roles.create(s, "expertise_secretariat", "Secretariat")
        roles.set_permissions(s, secretariat, ["expertise.route_inquiries"])
        estimators = roles.create(s, "estimators", "Estimators")
        roles.set_permissions(s, estimators, ["core.calculate"])
        roles.create(s, "expertise_board", "Board")


def _world(site) -> dict[str, int]:
    """Construction and vehicles specialisations and departments, two construction
    experts (Anna Nowak once worked for the client), the client with its contact
    person, the inquiry waiting to be routed, and another already at the estimate."""
    from core import cases, memberships, organisations, people, users, workflow
    from plugins.expertise import departments, experts, inquiries, specialisations

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        host = site.rt.host
        estimator, manager, secretary = (users.find_by_email(s, email)
                                         for email in (ESTIMATOR, MANAGER, SECRETARY))
        construction = specialisations.create(s, {"name": "Construction"})
        vehicles = specialisations.create(s, {"name": "Vehicles"})
        building = departments.create(s, {"name": DEPARTMENT, "manager_id": manager.id,
                                          "specialisation_ids": [construction.id]})
        departments.create(s, {"name": OTHER_DEPARTMENT, "specialisation_ids": [vehicles.id]})
        client = organisations.create(s, host, {"name": CLIENT, "type_key": "core.company",
                                                "city": "Warszawa"}, actor=estimator)
        contact = people.create(s, {"first_name": "Ewa", "last_name": "Kowalska",
                                    "emails": ["ewa.kowalska@budimex.example"]})
        memberships.join(s, contact, client, "lawyer")
        for first, last, rate, conflicts in (
                ("Jan", "Biegły", "200.00", []),
                ("Anna", "Nowak", "150.00", [{"organisation_id": client.id,
                                              "reason": "former employer"}])):
            person = people.create(s, {"first_name": first, "last_name": last})
            experts.create(s, {"person_id": person.id, "hourly_rate": rate,
                               "department_id": building.id, "internal": True,
                               "specialisation_ids": [construction.id],
                               "conflicts": conflicts})

        def inquiry(title):
            case = cases.create(s, host, {
                "title": title, "process_key": "expertise.inquiry",
                "owner_id": estimator.id, "organisation_id": client.id}, actor=estimator)
            workflow.move(s, host, case, "inquiry", estimator)
            inquiries.update(s, case, {"specialisation_id": construction.id}, actor=estimator)
            return case

        inquiry(INQUIRY)
        cheap = inquiry(CHEAP)
        inquiries.route(s, host, cheap, building.id, actor=secretary)
        workflow.move(s, host, cheap, "estimate", estimator)
        return {"client": client.id}


@pytest.fixture
def colleague(site, browser):
    """``colleague(email)``: a page of another person's own browser, logged in."""
    opened = []

    def log_in(email: str):
        context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 860})
        opened.append(context)
        found = context.new_page()
        found.set_default_timeout(10_000)
        return site.login(found, email)

    yield log_in
    for context in opened:
        context.close()


def _move(page, target: str):
    """The step to ``target`` on the case's card."""
    return page.locator(f".move[data-target={target}]")


def _open_inquiry(page, title: str):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.locator("section.process").filter(has=page.get_by_role(
        "heading", name=PROCESS)).get_by_role("link", name="List").click()
    page.get_by_role("main").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def _estimate(page, hours: str, travel: str, margin: str):
    """Fill the estimate form of the card's inquiry section with the one able expert."""
    form = page.locator("#expertise-estimate form.expertise-estimate-form")
    expect(form).to_be_visible()  # open while nothing is estimated
    row = form.locator("tr.expert").first
    chosen = row.get_by_role("combobox", name="Expert")
    expect(chosen.locator("optgroup[label=Excluded] option")).to_have_text(["Anna Nowak"])
    chosen.select_option(chosen.locator("option", has_text="Jan Biegły").get_attribute("value"))
    row.get_by_role("textbox", name="Hours").fill(hours)
    form.get_by_label("Travel, net (PLN)").fill(travel)
    form.get_by_label("Margin %", exact=True).fill(margin)
    form.get_by_role("button", name="Save the estimate").click()


def test_an_inquiry_is_routed_estimated_approved_and_offered(site, page, colleague, shoot):
    _roles(site)
    site.user(SECRETARY, roles=("staff", "expertise_secretariat"), name="Sylwia Sekretarz")
    site.user(ESTIMATOR, roles=("staff", "estimators"), name="Konrad Kosztorysant")
    site.user(MANAGER, name="Marek Kierownik")
    site.user(BOARD, roles=("staff", "expertise_board"), name="Zofia Zarząd")
    ids = _world(site)

    # The secretary routes the inquiry to the department of its specialisation.
    secretary = colleague(SECRETARY)
    _open_inquiry(secretary, INQUIRY)
    section = secretary.locator("#expertise-inquiry")
    expect(section.locator("dd.specialisation")).to_have_text("Construction")
    expect(section.locator("dd.department")).to_have_text("not routed yet")
    routing = section.locator("#expertise-routing")
    expect(routing.get_by_role("rowheader")).to_have_text([DEPARTMENT])
    expect(routing).not_to_contain_text(OTHER_DEPARTMENT)
    expect(routing.get_by_role("row").filter(has_text=DEPARTMENT)).to_contain_text(
        "Marek Kierownik")
    routing.get_by_role("button", name=f"Route to {DEPARTMENT}").click()
    expect(secretary.get_by_role("status").first).to_contain_text(f"Routed to {DEPARTMENT}.")
    expect(secretary.locator(".current-phase")).to_contain_text("Routed to a department")
    expect(section.locator("dd.department")).to_have_text(DEPARTMENT)
    shoot(secretary, "routed")

    # The estimator: the expert in conflict with the client is excluded, and why.
    site.login(page, ESTIMATOR)
    _open_inquiry(page, INQUIRY)
    _move(page, "estimate").get_by_role("button").click()
    expect(page.locator(".current-phase")).to_contain_text("Estimate")
    section = page.locator("#expertise-inquiry")
    candidates = section.locator("#expertise-candidates")
    expect(candidates.locator("table.able-experts").get_by_role("rowheader")).to_have_text(
        ["Jan Biegły"])
    excluded = candidates.locator("table.excluded-experts").get_by_role("row").filter(
        has_text="Anna Nowak")
    expect(excluded.locator(".reasons")).to_have_text(f"conflict of interest with {CLIENT}")

    # 10 h × 200 zł + 300 zł travel = 2,300 zł; a 50% margin (100% mark-up): 4,600 zł.
    _estimate(page, hours="10", travel="300", margin="50")
    expect(page.get_by_role("status").first).to_contain_text("The estimate is saved")
    estimate = section.locator("#expertise-estimate table.estimate")
    expect(estimate.locator("tr", has_text="Jan Biegły")).to_contain_text("2,000.00")
    expect(estimate.locator("tr.travel")).to_contain_text("300.00")
    expect(estimate.locator("tr.total-cost")).to_contain_text("2,300.00")
    expect(estimate.locator("tr.price")).to_contain_text("4,600.00")
    expect(estimate.locator("tr.margin")).to_contain_text("50%")
    approval = section.locator("#expertise-approval")
    expect(approval).to_contain_text(
        "The department manager's approval is enough; the board is not asked.")
    expect(approval.locator("ol.levels li")).to_have_count(1)
    expect(approval.locator("li.level-manager")).to_contain_text("Marek Kierownik")
    shoot(page, "estimate")

    offer = _move(page, "offer")
    expect(offer.get_by_role("button")).to_be_disabled()
    page.locator("#approvals .approval-step[data-target=offer]").get_by_role(
        "button", name="Ask for approval").click()
    expect(page.get_by_role("status").first).to_contain_text("asked of Marek Kierownik")

    # The department manager approves it from what waits for their approval.
    manager = colleague(MANAGER)
    expect(manager.locator(".waiting-approvals")).to_contain_text(INQUIRY)
    manager.locator(".waiting-approvals").get_by_role("link", name=INQUIRY).click()
    expect(manager.get_by_role("heading", level=1)).to_have_text(INQUIRY)
    manager.locator("#approvals .decision").get_by_role("button", name="Approve",
                                                        exact=True).click()
    expect(manager.get_by_role("status").first).to_contain_text("Approved.")
    expect(manager.locator("#approvals tr.status-approved .status")).to_contain_text(
        "approved")

    # Approved by the manager alone, the estimator makes the offer.
    page.reload()
    offer = _move(page, "offer")
    expect(offer.locator(".blockers")).to_have_count(0)
    offer.get_by_role("button").click()
    expect(page.locator(".current-phase")).to_contain_text("Offer")
    shoot(page, "offer")

    # Below the minimum margin of 25% the board must approve too.
    _open_inquiry(page, CHEAP)
    _estimate(page, hours="5", travel="0", margin="20")
    expect(page.get_by_role("status").first).to_contain_text("The estimate is saved")
    approval = page.locator("#expertise-approval")
    expect(approval.locator(".board-needed")).to_have_text(
        "The board must approve the offer too.")
    expect(approval.locator("ol.levels li")).to_have_count(2)
    expect(approval.locator("li.level-manager")).to_contain_text("Marek Kierownik")
    expect(approval.locator("li.level-board")).to_contain_text(
        "(Zofia Zarząd): the margin 20% is below the minimum of 25")
    expect(_move(page, "offer").locator(".blockers")).to_contain_text("the board")
    shoot(page, "board")

    # Everything about the client on one page.
    page.goto(f"{site.url}/expertise/clients/{ids['client']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT)
    inquiries = page.locator("section#inquiries")
    expect(inquiries.locator("tbody tr")).to_have_count(2)
    expect(inquiries.get_by_role("row").filter(has_text=INQUIRY)).to_contain_text("Offer")
    expect(inquiries.get_by_role("row").filter(has_text=CHEAP)).to_contain_text("Estimate")
    offers = page.locator("section#offers")
    made = offers.get_by_role("row").filter(has_text=INQUIRY)
    expect(made).to_have_count(1)
    expect(made).to_contain_text("4,600.00")
    expect(made).to_contain_text("50%")
    expect(made).to_contain_text("draft")
    contacts = page.locator("section#contacts")
    expect(contacts).to_contain_text("Ewa Kowalska")
    expect(contacts).to_contain_text("lawyer")
    expect(contacts).to_contain_text("ewa.kowalska@budimex.example")

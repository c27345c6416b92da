"""An installer's crew in a real browser: the planner adds a subcontractor's crew with
two installers and gives an installation's roof part to it on the schedule; on a phone,
one of the installers, who has no account, opens the crew's link, finds the job,
forgets the photo, is told next to it, takes one and reports the job done; every page
of theirs fits the phone's screen."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from core.filters import today

PLANNER = "planner@example.com"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def site_plugins() -> list[str]:
    return ["photovoltaics"]


def _installation(site) -> int:
    """An installation of a household in Kórnik with its roof part; the part's id."""
    from core import cases, people, roles

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        roles.set_permissions(s, roles.create(s, "planning", "Planning"),
                              ["photovoltaics.plan_crews"])
        jan = people.create(s, {"first_name": "Jan", "last_name": "Kowalski",
                                "phones": ["601 222 333"],
                                "addresses": [{"street": "ul. Słoneczna 5", "city": "Kórnik",
                                               "postal_code": "62-035"}]})
        parent = cases.create(s, site.rt.host, {
            "title": "Instalacja PV: Jan Kowalski", "process_key": "photovoltaics.installation"},
            people=[(jan, "inwestor")])
        return cases.create(s, site.rt.host, {
            "title": "Jan Kowalski: dach", "process_key": "photovoltaics.roof",
            "parent_id": parent.id}).id


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_a_crew_is_planned_and_its_installer_reports_from_a_phone(site, page, browser, shoot,
                                                                  tmp_path):
    part = _installation(site)
    site.user(PLANNER, roles=("staff", "planning"), name="Pola Planistka")
    site.login(page, PLANNER)

    page.get_by_role("link", name="Installation crews").click()
    page.get_by_role("link", name="Add installation crew").click()
    page.fill("#f-name", "Dachy Nowak")
    rows = page.locator("table.members tbody tr")
    rows.nth(0).locator("input[name$='-name']").fill("Piotr Nowak")
    rows.nth(0).get_by_label("Roof mounting").check()
    rows.nth(0).get_by_label("Leader").check()
    rows.nth(1).locator("input[name$='-name']").fill("Adam Nowak")
    rows.nth(1).locator("input[name$='-phone']").fill("60")  # too short to be a phone
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#e-members-1-phone")).to_be_visible()
    rows.nth(1).locator("input[name$='-phone']").fill("603 222 333")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name="Dachy Nowak")).to_be_visible()
    jobs_link = page.locator("#page").input_value()
    shoot(page, "crew")

    page.get_by_role("link", name="Installation schedule").first.click()
    page.locator(f"#waiting-{part}").get_by_role("link", name="Give to a crew").click()
    page.select_option("#f-crew_id", label="Dachy Nowak")
    page.fill("#f-starts_on", today().isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table.schedule")).to_contain_text("Installation: roof part")
    shoot(page, "schedule")

    phone = browser.new_context(locale="pl-PL", viewport=PHONE, is_mobile=True,
                                has_touch=True).new_page()
    phone.goto(jobs_link)
    expect(phone.get_by_text("ul. Słoneczna 5, 62-035 Kórnik")).to_be_visible()
    _fits(phone)
    shoot(phone, "installer-jobs")
    phone.get_by_role("link", name="Zgłoś wykonanie").click()
    phone.fill("#f-reported_by", "Piotr Nowak")
    phone.fill("#f-report", "Panele zamontowane.")
    phone.get_by_role("button", name="Zgłoś wykonanie").click()
    expect(phone.locator("#e-photos")).to_have_text(
        re.compile("Dodaj co najmniej jedno zdjęcie"))
    _fits(phone)
    picture = tmp_path / "dach.jpg"
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 90, 160)).save(out, "JPEG")
    picture.write_bytes(out.getvalue())
    phone.set_input_files("#f-photos", str(picture))
    phone.get_by_role("button", name="Zgłoś wykonanie").click()
    expect(phone.get_by_text("zgłoszone")).to_be_visible()
    _fits(phone)
    shoot(phone, "installer-reported")
    phone.context.close()

    from core.models import Case

    with site.rt.session() as s:
        assert s.get(Case, part).phase_key == "done"

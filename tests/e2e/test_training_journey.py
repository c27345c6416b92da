"""A member unit's portal administrator enrols a colleague in a training open to the
unit, the last place taken, and finds neither a training closed to other units nor
another unit's people."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

ADMIN = "ada@example.com"


@pytest.fixture
def site_plugins() -> list[str]:
    return ["training"]


def _world(site) -> dict:
    """Two units, a person of each, a trainer and a venue; a public training with one
    place and one closed to the other unit; a portal administrator of the first unit."""
    from core import cases, memberships, organisations, people, users
    from plugins.training import venues
    from plugins.training.models import OpenTo

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        admin = users.find_by_email(s, ADMIN)
        kornik, mosina = (organisations.create(s, site.rt.host, {
            "name": name, "type_key": "core.municipality"}, actor=admin)
            for name in ("Gmina Kórnik", "Gmina Mosina"))
        for first, last, unit in (("Anna", "Kórnicka", kornik), ("Tomasz", "Mosiński", mosina)):
            found = people.create(s, {"first_name": first, "last_name": last}, admin)
            memberships.join(s, found, unit, "urzędnik", date(2020, 1, 1), actor=admin)
        trainer = people.create(s, {"first_name": "Adam", "last_name": "Trener"}, admin)
        venue = venues.create(s, {"name": "Sala Rady", "city": "Poznań"}, admin)
        found = {}
        for title, visibility in (("Zamówienia publiczne 2027", "public"),
                                  ("RODO dla sołtysów", "closed")):
            case = cases.create(s, site.rt.host, {
                "title": title, "process_key": "training.training", "custom": {
                    "training_starts_at": "2027-03-10T09:00:00+01:00",
                    "training_trainer": trainer.id, "training_venue": venue.id,
                    "training_capacity": 1, "training_visibility": visibility}},
                actor=admin)
            case.phase_key = "enrolment_open"
            found[visibility] = case.id
        s.add(OpenTo(case_id=found["closed"], organisation_id=mosina.id))
        users.create_user(s, "sekretariat@kornik.pl", "correct horse battery",
                          full_name="Sekretariat Kórnik", actor=admin, portal_of=kornik,
                          portal_admin=True)
        s.flush()
        return found


def test_a_unit_administrator_enrols_a_colleague_and_sees_no_other_units_training(
        site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    ids = _world(site)
    site.login(page, "sekretariat@kornik.pl")
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Trainings", exact=True).click()
    main = page.get_by_role("main")
    expect(main).to_contain_text("Zamówienia publiczne 2027")
    expect(main).not_to_contain_text("RODO dla sołtysów")  # closed to other units
    shoot(page, "offer")

    main.get_by_role("link", name="Zamówienia publiczne 2027").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zamówienia publiczne 2027")
    expect(main).not_to_contain_text("Mosiński")  # another unit's people
    page.get_by_role("row", name=re.compile("Kórnicka Anna")).get_by_role(
        "button", name="Enrol").click()
    expect(page.get_by_role("status").first).to_contain_text("Anna Kórnicka got a place.")
    expect(main).to_contain_text("No places are left")
    shoot(page, "enrolled")

    response = page.goto(f"{site.url}/portal/training/{ids['closed']}")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("RODO")

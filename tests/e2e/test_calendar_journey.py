"""The calendar in a real browser: from the week to the month, an event opened from its
day and renamed after a refused save; on a phone the month is a list of its busy days."""

import re
from datetime import datetime, time, timedelta

from playwright.sync_api import expect

ADMIN = "admin@example.com"


def _event(site, title: str) -> int:
    """An event of the administrator's today at 10:00 in the installation's zone."""
    from core import calendar, users
    from core.tasks import local_zone

    with site.app.test_request_context(), site.rt.session() as s, s.begin():
        admin = users.find_by_email(s, ADMIN)
        starts = datetime.combine(datetime.now(local_zone()).date(), time(10), local_zone())
        data = {
            "title": title,
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=1),
            "location": "Town hall",
        }
        return calendar.create_event(s, data, attendees_users=[admin], actor=admin).id


def test_an_event_is_opened_from_the_month_and_renamed(site, page, shoot):
    site.user(ADMIN, admin=True, name="Ada Admin")
    event_id = _event(site, "Board meeting")
    site.login(page, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    page.get_by_role("navigation", name="View").get_by_role("link", name="Month").click()
    expect(page).to_have_url(re.compile(r"/calendar/month\?month=\d{4}-\d{2}$"))
    today = page.locator("section.day[aria-current=date]")
    expect(today).to_contain_text("Today")
    shoot(page, "month")

    today.get_by_role("link", name=re.compile("Board meeting")).click()
    expect(page).to_have_url(re.compile(rf"/calendar/events/{event_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Board meeting")
    expect(page.get_by_role("definition").filter(has_text="Town hall")).to_be_visible()
    shoot(page, "event")
    page.get_by_role("link", name="Edit").click()

    title = page.get_by_label("Title")
    expect(title).to_have_value("Board meeting")
    title.fill(" ")
    page.get_by_label("Location").fill("Room 2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-title")).to_have_text("Enter a title.")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Location")).to_have_value("Room 2")  # nothing typed is lost
    shoot(page, "refused")
    title.fill("Budget meeting")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(rf"/calendar/events/{event_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Budget meeting")
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.get_by_role("link", name="Month").click()
    expect(page.locator("section.day[aria-current=date]")).to_contain_text("Budget meeting")

    # On a phone: one column of the days that hold something, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 740})
    expect(page.locator("section.day.empty").first).to_be_hidden()
    expect(page.locator("section.day[aria-current=date]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shoot(page, "phone")

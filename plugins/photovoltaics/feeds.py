"""A crew's calendar as an iCalendar feed (PV-5), which Google Calendar, Outlook or a
phone subscribes to from the crew's secret URL; subcontractors need no account.

Each job is an all-day event over its days: where, for whom, what is installed, whom
to call, and the link the installers report the job done with. Jobs from 90 days back
are kept, so a crew can look up where it was.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

from babel.numbers import format_decimal
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from core.calendar import FEED_PAST, FEED_REFRESH
from core.filters import today as local_today
from core.models import Case
from plugins.photovoltaics import assignments
from plugins.photovoltaics.models import Assignment, Crew
from plugins.photovoltaics.site import Site, site_of


def ical(session: Session, host, crew: Crew, links, today: date | None = None) -> bytes:
    """The crew's feed; ``links(job)`` gives the URL of a job's report form."""
    today = today or local_today()
    feed = Calendar()
    feed.add("prodid", "-//Kartoteka//Kartoteka CRM//PL")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", crew.name)
    feed.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    feed.add("x-published-ttl", "PT15M")
    for job in assignments.of_crew(session, crew, since=today - FEED_PAST):
        part = session.get(Case, job.case_id)
        if part is not None and part.deleted_at is None:
            feed.add_component(_event(session, host, job, part, links(job)))
    return feed.to_ical()


def _event(session: Session, host, job: Assignment, part: Case, link: str) -> Event:
    site = site_of(session, part)
    entry = Event()
    entry.add("uid", f"photovoltaics-job-{job.id}@kartoteka")
    entry.add("dtstamp", job.updated_at.astimezone(UTC))
    entry.add("last-modified", job.updated_at.astimezone(UTC))
    entry.add("sequence", job.version - 1)
    entry.add("dtstart", job.starts_on)
    entry.add("dtend", job.ends_on + timedelta(days=1))
    where = site.city or part.title
    entry.add("summary", f"{assignments.part_name(host, part)}: {where}"
                         + (f" ({site.client})" if site.client else ""))
    if site.address:
        entry.add("location", site.address)
    entry.add("description", _description(session, job, part, site, link))
    entry.add("url", link)
    entry.add("status", "CONFIRMED")
    return entry


def _description(session: Session, job: Assignment, part: Case, site: Site, link: str) -> str:
    parent = session.get(Case, part.parent_id) if part.parent_id else None
    lines = [parent.title if parent is not None else part.title]
    lines += _what(parent.custom if parent is not None else {})
    if site.client:
        lines.append(_("Client: %(name)s", name=site.client)
                     + (f", {site.phone}" if site.phone else ""))
    if job.notes:
        lines.append(job.notes)
    if job.reported_at is not None:
        lines.append(_("Reported done by %(who)s.", who=job.reported_by))
    else:
        lines.append(_("Report the job done: %(link)s", link=link))
    return "\n".join(lines)


def _what(custom: dict) -> list[str]:
    """What the design put on the roof: power, panels, inverters, storage."""
    found = []
    if custom.get("photovoltaics_power") is not None:
        power = format_decimal(custom["photovoltaics_power"], format="#,##0.00", locale="pl")
        found.append(_("Power: %(kwp)s kWp", kwp=power))
    for model, count in (("panel_model", "panel_count"), ("inverter_model", "inverter_count")):
        name = custom.get(f"photovoltaics_{model}")
        if name:
            number = custom.get(f"photovoltaics_{count}")
            found.append(f"{number} × {name}" if number else name)
    if custom.get("photovoltaics_storage"):
        found.append(_("With energy storage"))
    return found

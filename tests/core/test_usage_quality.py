"""Usage figures per period and the data-quality report (seed 001)."""

import html
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from core import organisations, people, quality, timeline, usage, users
from core.db import utcnow
from core.errors import ValidationError
from core.models import Organisation, UsageEvent


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def org(session, host, name, **extra):
    return organisations.create(session, host, {"name": name, "type_key": "core.company",
                                                **extra}, allow_duplicates=True)


def test_logins_exports_and_records_added_are_counted_per_period(kartoteka_app_factory,
                                                                  kartoteka_login):
    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    kartoteka_login(app.test_client())
    kartoteka_login(app.test_client())
    start = utcnow() - timedelta(hours=1)
    with rt.session() as session, session.begin():
        usage.record(session, "export", None, "organisation")
        org(session, rt.host, "Alfa")
        org(session, rt.host, "Beta")
        people.create(session, {"first_name": "Jan", "last_name": "Kos"})
    with rt.session() as session:
        found = usage.summary(session, start, utcnow() + timedelta(seconds=1))
    assert (found.active_users, found.logins, found.exports) == (1, 2, 1)
    assert found.created["organisation"] == 2 and found.created["person"] == 1
    assert found.records_added == 3


def test_a_drop_in_use_shows_against_the_previous_period(rt):
    now = utcnow()
    with rt.session() as session, session.begin():
        for days_ago in (10, 9, 8, 2):  # three logins last week, one this week
            session.add(UsageEvent(kind="login", occurred_at=now - timedelta(days=days_ago)))
    with rt.session() as session:
        result = usage.compare(session, now - timedelta(days=7), now)
    assert (result.previous.logins, result.current.logins) == (3, 1)
    assert result.change("logins") == -66.7
    assert result.change("exports") is None


def test_an_unknown_usage_kind_is_a_programming_error(rt):
    with rt.session() as session, pytest.raises(ValueError):
        usage.record(session, "coffee")


def test_the_quality_report_lists_records_missing_required_fields(rt):
    with rt.session() as session, session.begin():
        quality.set_rule(session, "organisation", ["nip", "city", "custom.segment"], None)
        complete = org(session, rt.host, "Pełna", nip="7773061579", city="Kórnik")
        complete.custom = {"segment": "A"}
        org(session, rt.host, "Bez NIP", city="Poznań")
        org(session, rt.host, "Pusta")
    with rt.session() as session:
        found = {f.record.name: f for f in quality.report(session, "organisation")}
        assert quality.count(session, "organisation") == 2
    assert set(found) == {"Bez NIP", "Pusta"}
    assert found["Bez NIP"].missing == ["nip", "custom.segment"]
    assert found["Bez NIP"].completeness == 33
    assert found["Pusta"].completeness == 0


def test_a_record_without_activity_or_change_goes_stale(rt):
    long_ago = utcnow() - timedelta(days=400)
    with rt.session() as session, session.begin():
        quality.set_rule(session, "organisation", [], 365)
        quiet = org(session, rt.host, "Cicha")
        called = org(session, rt.host, "Dzwoniona")
        org(session, rt.host, "Świeża")
        session.execute(update(Organisation).where(Organisation.id.in_([quiet.id, called.id]))
                        .values(updated_at=long_ago))
        timeline.add(session, "call", "Telefon", [called])
    with rt.session() as session:
        found = quality.report(session, "organisation")
    assert [(f.record.name, f.stale) for f in found] == [("Cicha", True)]


def test_quality_rules_refuse_unknown_fields_and_bad_days(rt):
    with rt.session() as session:
        with pytest.raises(ValidationError) as bad_field:
            quality.set_rule(session, "organisation", ["nip", "id; drop table"], None)
        assert "id; drop table" in bad_field.value.errors["required"]
        with pytest.raises(ValidationError) as bad_days:
            quality.set_rule(session, "person", [], 0)
        assert set(bad_days.value.errors) == {"stale_days"}
        with pytest.raises(ValidationError):
            quality.set_rule(session, "invoice", [], 5)
    with rt.session() as session:
        assert quality.report(session, "organisation") == []


def test_administrators_see_usage_and_quality_pages_others_do_not(kartoteka_app_factory,
                                                                   kartoteka_login):
    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    admin = kartoteka_login(app.test_client())
    page = admin.get("/admin/usage?period=week")
    assert page.status_code == 200 and "Aktywni użytkownicy" in page.text
    saved = admin.post("/admin/quality/organisation",
                       data={"required": "nip\ncity", "stale_days": "30"})
    assert saved.status_code == 302
    with rt.session() as session, session.begin():
        org(session, rt.host, "Bez danych")
    report = admin.get("/admin/quality/organisation").text
    assert "Bez danych" in report and "nip, city" in report
    refused = admin.post("/admin/quality/organisation", data={"required": "hasło"})
    assert refused.status_code == 200 and "hasło" in refused.text
    assert admin.get("/admin/quality/invoice").status_code == 404

    with rt.session() as session, session.begin():
        users.create_user(session, "staff@example.com", "staff-password-1")
    staff = kartoteka_login(app.test_client(), "staff@example.com", "staff-password-1")
    assert staff.get("/admin/usage").status_code == 403
    assert staff.get("/admin/quality/organisation").status_code == 403


# --- The usage page's charts --------------------------------------------------------------

WARSAW = ZoneInfo("Europe/Warsaw")


def chart(page: str, measure: str) -> tuple[str, list, list]:
    """A figure's card on the usage page: the change it shows, the rows of its chart
    against the previous period and those of its day-by-day (or weekly) series."""
    card = re.search(rf'<section class="card figures" id="chart-{measure}">(.*?)</section>',
                     page, re.S).group(1)
    tables = re.findall(r'<table class="chart">(.*?)</table>', card, re.S)
    rows = [[(html.unescape(label), int(value)) for label, value in re.findall(
        r'<th scope="row">(.*?)</th>.*?<td class="value">(\d+)</td>', table, re.S)]
        for table in tables]
    change = re.search(r'<p class="change[^"]*">.*?<strong>(.*?)</strong>', card, re.S).group(1)
    return html.unescape(change), rows[0], rows[1]


def test_the_usage_page_charts_each_figure_against_the_previous_period(kartoteka_app_factory,
                                                                       kartoteka_login):
    app = kartoteka_app_factory(default_locale="en")
    rt = app.extensions["kartoteka"]
    admin = kartoteka_login(app.test_client())  # one login now, by the administrator
    now = utcnow()
    with rt.session() as session, session.begin():
        ola = users.create_user(session, "ola@example.com", "ola-password-12", "Ola")
        for when in (now, now):  # this period: two more logins and an export, by Ola
            session.add(UsageEvent(kind="login", user_id=ola.id, occurred_at=when))
        session.add(UsageEvent(kind="export", user_id=ola.id, occurred_at=now))
        for days_ago in (10, 11):  # the week before: two logins, no export
            session.add(UsageEvent(kind="login", user_id=ola.id,
                                   occurred_at=now - timedelta(days=days_ago)))
        org(session, rt.host, "Alfa")
        org(session, rt.host, "Beta")
        old = org(session, rt.host, "Gamma")
        session.flush()
        session.execute(update(Organisation).where(Organisation.id == old.id)
                        .values(created_at=now - timedelta(days=9)))
    page = admin.get("/admin/usage?period=week").get_data(as_text=True)

    change, against, per_day = chart(page, "logins")
    assert against == [("This period", 3), ("Previous period", 2)] and change == "+50.0%"
    assert len(per_day) == 7 and per_day[-1][1] == 3 and sum(v for _l, v in per_day) == 3
    assert "Day by day" in page
    change, against, _per_day = chart(page, "active_users")
    assert against == [("This period", 2), ("Previous period", 1)] and change == "+100.0%"
    change, against, _per_day = chart(page, "records_added")
    assert against == [("This period", 2), ("Previous period", 1)] and change == "+100.0%"
    change, against, _per_day = chart(page, "exports")
    assert against == [("This period", 1), ("Previous period", 0)] and change == "new"
    change, against, per_day = chart(page, "reports")  # the page counts itself afterwards
    assert against == [("This period", 0), ("Previous period", 0)] and change == "—"
    summary_row = re.search(r'<tr id="summary-exports">(.*?)</tr>', page, re.S).group(1)
    assert "new" in summary_row

    quarter = admin.get("/admin/usage?period=quarter").get_data(as_text=True)
    _change, against, per_week = chart(quarter, "logins")
    assert "Week by week" in quarter and len(per_week) == 13
    assert against == [("This period", 5), ("Previous period", 0)]  # the earlier logins too
    assert sum(v for _l, v in per_week) == 5 and " – " in per_week[0][0]


def test_a_day_of_the_series_runs_from_local_midnight_to_midnight(rt):
    """Warsaw's days: 23:30 UTC is already the next day there, an hour later in summer;
    summer time starts on 29 March 2026, a day of 23 hours."""
    with rt.session() as session, session.begin():
        user = users.create_user(session, "jan@example.com", "jan-password-12", "Jan")
        for at in ("2026-03-27T22:30", "2026-03-27T23:30",  # Fri 23:30, Sat 00:30 CET
                   "2026-03-28T23:30",  # Sun 00:30 CET
                   "2026-03-29T21:30", "2026-03-29T22:30"):  # Sun 23:30, Mon 00:30 CEST
            when = datetime.fromisoformat(at).replace(tzinfo=UTC)
            session.add(UsageEvent(kind="login", user_id=user.id, occurred_at=when))
            organisation = org(session, rt.host, f"Org {at}")
            session.flush()
            organisation.created_at = when
    with rt.session() as session:
        logins = usage.series(session, "logins", date(2026, 3, 27), 4, WARSAW)
        added = usage.series(session, "records_added", date(2026, 3, 27), 4, WARSAW)
        active = usage.series(session, "active_users", date(2026, 3, 27), 4, WARSAW)
        with pytest.raises(ValueError):
            usage.series(session, "coffee", date(2026, 3, 27), 4, WARSAW)
    assert [(p.first, p.value) for p in logins] == [
        (date(2026, 3, 27), 1), (date(2026, 3, 28), 1), (date(2026, 3, 29), 2),
        (date(2026, 3, 30), 1)]
    assert [p.value for p in added] == [1, 1, 2, 1]
    assert [p.value for p in active] == [1, 1, 1, 1]  # one person, however many logins


def test_a_long_period_is_counted_week_by_week(rt):
    with rt.session() as session, session.begin():
        for day in (1, 7, 8, 91):  # the first week twice, the second once, one past the end
            session.add(UsageEvent(kind="report", occurred_at=usage.midnight(
                date(2026, 1, 1) + timedelta(days=day - 1), WARSAW) + timedelta(hours=1)))
    with rt.session() as session:
        weeks = usage.series(session, "reports", date(2026, 1, 1), 84, WARSAW)
    assert len(weeks) == 12
    assert (weeks[0].first, weeks[0].last) == (date(2026, 1, 1), date(2026, 1, 7))
    assert [p.value for p in weeks[:3]] == [2, 1, 0] and sum(p.value for p in weeks) == 3


def test_the_previous_period_is_as_many_local_days_before(rt):
    before, start, end = usage.last_days(date(2026, 4, 2), 7, WARSAW)
    assert start.astimezone(WARSAW) == datetime(2026, 3, 27, tzinfo=WARSAW)
    assert end.astimezone(WARSAW) == datetime(2026, 4, 3, tzinfo=WARSAW)
    assert before.astimezone(WARSAW) == datetime(2026, 3, 20, tzinfo=WARSAW)
    with rt.session() as session, session.begin():
        session.add(UsageEvent(kind="export", occurred_at=start - timedelta(minutes=1)))
        session.add(UsageEvent(kind="export", occurred_at=start))
    with rt.session() as session:
        result = usage.compare(session, start, end, before)
    assert (result.previous.exports, result.current.exports) == (1, 1)
    assert result.change("exports") == 0.0


# --- The data-quality page's record types ------------------------------------------------

def test_the_quality_page_switches_between_organisations_and_people(kartoteka_app_factory,
                                                                    kartoteka_login):
    app = kartoteka_app_factory(default_locale="en")
    admin = kartoteka_login(app.test_client())
    page = admin.get("/admin/quality/organisation").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', page, re.S).group(1)
    assert re.search(r'href="/admin/quality/organisation"\s+aria-current="page">'
                     r'Organisations</a>', tabs)
    assert re.search(r'href="/admin/quality/person"\s*>People</a>', tabs)
    saved = admin.post("/admin/quality/person", data={"required": "pesel", "stale_days": ""})
    assert saved.status_code == 302
    with app.extensions["kartoteka"].session() as session, session.begin():
        people.create(session, {"first_name": "Jan", "last_name": "Bezpeselowy"})
    people_page = admin.get("/admin/quality/person").get_data(as_text=True)
    assert "Data quality: people" in people_page and "Bezpeselowy" in people_page
    assert re.search(r'href="/admin/quality/person"\s+aria-current="page">People</a>',
                     people_page)


def test_portal_accounts_do_not_reach_usage_or_quality_pages(kartoteka_app_factory,
                                                             kartoteka_login):
    app = kartoteka_app_factory(default_locale="en")
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        unit = org(session, rt.host, "Gmina Kórnik")
        users.create_user(session, "portal@kornik.pl", "portal-password-1", portal_of=unit)
    portal = kartoteka_login(app.test_client(), "portal@kornik.pl", "portal-password-1")
    for path in ("/admin/usage", "/admin/usage?period=quarter", "/admin/quality/person"):
        assert portal.get(path).status_code == 404, path

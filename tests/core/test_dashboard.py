"""The start page's key figures, each over what the person may see: open cases by phase,
overdue invoices for those who bill, history entries per week, the latest entries."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from billing_helpers import COMPANY, PASSWORD, issued, make_world, org, user
from core import cases, dashboard, timeline
from core.models import Case, Organisation
from core.workflow import Phase, Process, Transition
from page_helpers import show, visible

TRAINING = Process("test.training", "core.case", title={"en": "Trainings"}, phases=(
    Phase("planned", "core.case"), Phase("open", "core.phase"),
    Phase("done", "core.phase", final=True)),
    transitions=(Transition("planned", "open"), Transition("open", "done")))
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    app.extensions["kartoteka"].host.processes = {"test.training": TRAINING}
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    found = make_world(rt)
    with rt.session() as s, s.begin():
        admin, loner = user(s, found, "admin"), user(s, found, "loner")
        for title, owner in (("Zamówienia publiczne", admin), ("RODO", admin),
                             ("Kadry", loner)):
            cases.create(s, rt.host, {"title": title, "process_key": "test.training",
                                      "owner_id": owner.id}, owner)
        s.execute(update(Case).where(Case.title == "RODO").values(phase_key="done"))
    return found


def test_open_cases_are_counted_by_phase_over_what_each_person_sees(rt, world):
    with rt.session() as s:
        everyone = dashboard.cases_by_phase(s, rt.host, user(s, world, "admin"))
        own = dashboard.cases_by_phase(s, rt.host, user(s, world, "loner"))
    assert [(title, [(b.label, b.value) for b in bars]) for title, bars in everyone] == [
        ("Trainings", [("case", 2), ("phase", 0)])]
    assert [[b.value for b in bars] for _title, bars in own] == [[1, 0]]


def test_overdue_invoices_are_shown_to_those_who_bill(rt, world):
    issued(rt, world, issue_date=date.today() - timedelta(days=30))
    issued(rt, world, issue_date=date.today())
    with rt.session() as s:
        found = dashboard.overdue_invoices(s, user(s, world, "clerk"), date.today())
        assert [(o.currency, o.count, str(o.amount)) for o in found] == [("PLN", 1, "1230.00")]
        assert dashboard.overdue_invoices(s, user(s, world, "rep"), date.today()) is None
        assert dashboard.overdue_invoices(s, user(s, world, "loner"), date.today()) == []


def test_history_entries_are_counted_per_week_ending_with_this_one(rt, world):
    today = date(2026, 3, 11)  # a Wednesday
    with rt.session() as s, s.begin():
        kornik = s.get(Organisation, world["kornik"])
        for day in (date(2026, 3, 9), date(2026, 3, 11), date(2026, 2, 23), date(2025, 12, 1)):
            timeline.add(s, "note", f"Notatka {day}", [kornik],
                         occurred_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
        timeline.add(s, "note", "Sunday night", [kornik],  # Sunday in Warsaw: last week
                     occurred_at=datetime(2026, 3, 8, 22, 30, tzinfo=UTC))
        timeline.add(s, "note", "Just after midnight", [kornik],  # Monday in Warsaw
                     occurred_at=datetime(2026, 3, 8, 23, 30, tzinfo=UTC))
    with rt.session() as s:
        weeks = dashboard.activity_per_week(s, user(s, world, "admin"), today, WARSAW)
        alone = dashboard.activity_per_week(s, user(s, world, "loner"), today, WARSAW)
    assert [b.day for b in weeks][-3:] == [date(2026, 2, 23), date(2026, 3, 2),
                                           date(2026, 3, 9)]
    assert [b.value for b in weeks] == [0, 0, 0, 0, 0, 1, 1, 3]
    assert sum(b.value for b in alone) == 0  # Kórnik is not the loner's


def test_the_start_page_shows_the_figures(app, rt, world):
    issued(rt, world, issue_date=date.today() - timedelta(days=30))
    with rt.session() as s, s.begin():
        timeline.add(s, "note", "Telefon do wójta", [org(s, world)])
    client = app.test_client()
    client.post("/login", data={"email": "clerk@example.com", "password": PASSWORD})
    page = show(client, "/")
    assert "Open cases by phase" in page and "Trainings" in page
    assert "1 invoice · still owed PLN1,230.00" in visible(page)
    assert "History entries per week" in page and "Telefon do wójta" in page
    rep = app.test_client()
    rep.post("/login", data={"email": "rep@example.com", "password": PASSWORD})
    assert "Overdue invoices" not in show(rep, "/")

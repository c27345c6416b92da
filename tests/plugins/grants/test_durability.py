"""The durability period (GR-4): a grant application's indicators with their baselines and
targets, the yearly reports planned on entering "durability" (due ``report_days`` after
each year, in the owner's calendar), the values recorded and the reports delivered, the
closing step held back while one is not, the applications at risk (a report overdue, a
value under the target) and the report's document. Through the service, the
application's card and the REST API. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from core import cases, documents, organisations, roles, templating, timeline, users, workflow
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, CalendarEvent, Case, DocumentTemplate, EventLink
from core.permissions import ACTIONS
from plugins.grants import durability, fields, reports
from plugins.grants.models import DurabilityReport, Indicator, IndicatorValue
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
PROCESS = "grants.application"
CLIENT = "Stolarnia Dąb sp. z o.o."
JOBS = {"name": "Jobs created", "unit": "FTE", "baseline": "0", "target": "5"}
SALES = {"name": "Export sales", "unit": "kPLN", "baseline": "120", "target": "400.5"}
PROBLEM = "application/problem+json"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: the owner of the applications (the staff role: every record), a
    colleague who reads everything and changes nothing, one who reaches only their own
    records; the client; an application whose project ends 2027-12-31 and one whose
    project ended 2022-12-31 (its durability years are past), both awarded; a case of
    another process."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        own = roles.create(session, "own", "Own records")
        roles.set_access(session, own, {("*", action): "own" for action in ACTIONS})
        owner = _user(session, "owner@example.com", ["staff"], "Anna Opiekun")
        _user(session, "reader@example.com", ["readers"], "Olga Czyta")
        _user(session, "stranger@example.com", ["own"], "Piotr Obcy")
        client = organisations.create(session, rt.host, {
            "name": CLIENT, "type_key": "core.company"}, owner, allow_duplicates=True)
        future = _application(session, rt.host, owner, client, "Linia lakiernicza",
                              "2027-12-31")
        past = _application(session, rt.host, owner, client, "Hala magazynowa", "2022-12-31")
        other = Case(title="Przegląd instalacji", process_key="elsewhere.service",
                     phase_key="open", owner_id=owner.id)
        session.add(other)
        session.flush()
        return {"future": future.id, "past": past.id, "other": other.id, "owner": owner.id,
                "client": client.id}


def _user(session, email, role_keys, name):
    user = users.create_user(session, email, PASSWORD, full_name=name)
    roles.assign(session, user, role_keys)
    return user


def _application(session, host, owner, client, title, project_end, years=3):
    case = cases.create(session, host, {
        "title": title, "process_key": PROCESS, "owner_id": owner.id,
        "organisation_id": client.id, "custom": {
            fields.PROJECT_START: "2021-01-01", fields.PROJECT_END: project_end,
            fields.DURABILITY_YEARS: years}}, actor=owner)
    case.phase_key = "awarded"  # the award and the agreement are other parts' steps
    session.flush()
    return case


@pytest.fixture
def world(app, ids):
    """A request context with an open session, the applications and the accounts."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, settings=rt.settings, ids=ids)
        w.future = session.get(Case, ids["future"])
        w.past = session.get(Case, ids["past"])
        w.owner = users.find_by_email(session, "owner@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.stranger = users.find_by_email(session, "stranger@example.com")
        w.set = lambda case, items=(JOBS, SALES), actor=None: durability.set_indicators(
            session, case, list(items), actor or w.owner)
        yield w


def into_durability(world, case, items=(JOBS, SALES)):
    """Indicators set, the grant settled, and the step to "durability" taken."""
    world.set(case, items)
    case.phase_key = "settled"
    world.session.flush()
    workflow.move(world.session, world.host, case, "durability", world.owner)
    return durability.reports(world.session, case, world.owner)


def events(world, case, prefix="grants."):
    return [(a.subject, a.body) for a in reversed(timeline.timeline(world.session, case))
            if a.event.startswith(prefix)]


def values_for(case_indicators, *values):
    return {str(i.id): v for i, v in zip(case_indicators, values, strict=True)}


# --- Indicators ------------------------------------------------------------------------------

def test_indicators_are_set_in_order_and_every_change_is_recorded(world):
    found = world.set(world.future)
    assert [(i.position, i.name, i.unit, i.baseline, i.target) for i in found] == [
        (1, "Jobs created", "FTE", Decimal(0), Decimal(5)),
        (2, "Export sales", "kPLN", Decimal(120), Decimal("400.5"))]
    assert durability.indicators(world.session, world.future, world.reader) == found
    assert events(world, world.future) == [
        ("Indicators set: 2", "Jobs created: from 0 to 5 FTE\n"
                              "Export sales: from 120 to 400.5 kPLN")]

    changed = world.set(world.future, [{**SALES, "target": "450"}, {"name": "Patents",
                                                                    "target": 1}])
    assert [(i.id, i.name, i.target) for i in changed] == [
        (found[0].id, "Export sales", Decimal(450)), (found[1].id, "Patents", Decimal(1))]
    world.set(world.future, [{**SALES, "target": "450"}])
    assert [i.name for i in durability.indicators(world.session, world.future)] == [
        "Export sales"]
    trail = world.session.execute(select(AuditEntry.action, AuditEntry.actor_id).where(
        AuditEntry.record_type == "grants_indicators").order_by(AuditEntry.id)).all()
    assert [a for a, _actor in trail] == ["create", "create", "update", "update", "purge"]
    assert {actor for _a, actor in trail} == {world.owner.id}
    assert [s for s, _b in events(world, world.future)] == [
        "Indicators set: 2", "Indicators set: 2", "Indicators set: 1"]
    world.set(world.future, [{**SALES, "target": "450.0000"}])  # the same: nothing to say
    assert len(events(world, world.future)) == 3


def test_bad_indicators_are_refused_field_by_field_and_nothing_is_kept(world):
    with pytest.raises(ValidationError) as refused:
        world.set(world.future, [
            {"name": "  ", "unit": "x" * 51, "baseline": "-1", "target": "0"},
            {"name": "Jobs created", "baseline": "abc", "target": "5,12345"},
            {"name": "jobs CREATED ", "target": ""},
            {"name": "Turnover", "baseline": True, "target": "1e12"},
            "Patents"])
    assert refused.value.errors == {
        "indicators.0.name": "Name the indicator.",
        "indicators.0.unit": "At most 50 characters.",
        "indicators.0.baseline": "Enter the baseline as a number, 0 or more.",
        "indicators.0.target": "Enter the target as a number greater than 0.",
        "indicators.1.baseline": "Enter the baseline as a number, 0 or more.",
        "indicators.1.target": "Use at most 4 decimal places.",
        "indicators.2.name": "Another indicator has this name already.",
        "indicators.2.target": "Enter the target as a number greater than 0.",
        "indicators.3.baseline": "Enter the baseline as a number, 0 or more.",
        "indicators.3.target": "Enter a number below 10 000 000 000.",
        "indicators.4": "Give each indicator with its name, unit, baseline and target."}
    with pytest.raises(ValidationError) as refused:
        durability.set_indicators(world.session, world.future, {"name": "x"}, world.owner)
    assert refused.value.errors == {"indicators": "Give the indicators as a list."}
    with pytest.raises(ValidationError) as refused:
        world.set(world.future, [{"name": f"KPI {n}", "target": 1} for n in range(51)])
    assert refused.value.errors == {"indicators": "At most 50 indicators."}
    assert world.session.scalar(select(func.count()).select_from(Indicator)) == 0
    assert events(world, world.future) == []


def test_the_baseline_may_be_left_out_and_numbers_may_be_typed_the_polish_way(world):
    found = world.set(world.future, [{"name": "Jobs created", "target": "1 234,5"}])
    assert (found[0].baseline, found[0].target, found[0].unit) == (
        Decimal(0), Decimal("1234.5"), "")


def test_indicators_are_set_from_the_award_on_and_not_after_the_end(world):
    world.future.phase_key = "evaluation"
    refusal = {"_": "Indicators are set once the grant application is awarded, until its "
                    "durability period ends."}
    with pytest.raises(ValidationError) as refused:
        world.set(world.future)
    assert refused.value.errors == refusal
    for phase in ("awarded", "agreement", "settled"):
        world.future.phase_key = phase
        world.set(world.future, [JOBS])
    world.future.phase_key = "closed"
    with pytest.raises(ValidationError) as refused:
        world.set(world.future)
    assert refused.value.errors == refusal


def test_only_who_may_change_the_application_sets_its_indicators(world):
    with pytest.raises(Forbidden, match="You may not change the grant application, nor its "
                                        "durability reports."):
        world.set(world.future, actor=world.reader)
    assert not durability.may_change(world.session, world.reader, world.future)
    assert durability.may_change(world.session, world.owner, world.future)
    with pytest.raises(Forbidden):
        durability.indicators(world.session, world.future, world.stranger)
    other = world.session.get(Case, world.ids["other"])
    with pytest.raises(ValidationError) as refused:
        world.set(other)
    assert refused.value.errors == {
        "case_id": "Indicators belong to a grant application only."}


def test_in_durability_the_indicators_reported_on_keep_their_name_baseline_and_target(world):
    into_durability(world, world.future)
    why = "It is reported on in the durability period: it no longer changes."
    with pytest.raises(ValidationError) as refused:
        world.set(world.future, [{**JOBS, "name": "Jobs kept", "baseline": "1"},
                                 {**SALES, "target": "300"}])
    assert refused.value.errors == {"indicators.0.name": why, "indicators.0.baseline": why,
                                    "indicators.1.target": why}
    with pytest.raises(ValidationError) as refused:
        world.set(world.future, [JOBS])
    assert refused.value.errors == {
        "indicators": "In the durability period the indicators reported on are not removed; "
                      "add new ones after them."}
    found = world.set(world.future, [{**JOBS, "unit": "jobs"}, SALES,
                                     {"name": "Patents", "target": "1"}])
    assert [(i.name, i.unit) for i in found] == [
        ("Jobs created", "jobs"), ("Export sales", "kPLN"), ("Patents", "")]


# --- Planning the reports --------------------------------------------------------------------

def test_the_step_to_durability_needs_the_indicators(world):
    world.future.phase_key = "settled"
    with pytest.raises(ValidationError) as refused:
        workflow.move(world.session, world.host, world.future, "durability", world.owner)
    assert refused.value.errors == {
        "check.grants.indicators": "Set the indicators the durability period is reported on."}
    assert world.session.scalar(select(func.count()).select_from(DurabilityReport)) == 0


def test_entering_durability_plans_a_report_per_year_due_30_days_after_it(world):
    found = into_durability(world, world.future)
    assert [(r.position, r.period_start, r.period_end, r.due_on, r.status) for r in found] == [
        (1, date(2028, 1, 1), date(2028, 12, 31), date(2029, 1, 30), "due"),
        (2, date(2029, 1, 1), date(2029, 12, 31), date(2030, 1, 30), "due"),
        (3, date(2030, 1, 1), date(2030, 12, 31), date(2031, 1, 30), "due")]
    assert [durability.title(r) for r in found] == [
        "Durability report 2028", "Durability report 2029", "Durability report 2030"]
    assert events(world, world.future)[-1] == (
        "Durability reports planned: 3",
        "Durability report 2028: 01.01.2028–31.12.2028, due 30.01.2029\n"
        "Durability report 2029: 01.01.2029–31.12.2029, due 30.01.2030\n"
        "Durability report 2030: 01.01.2030–31.12.2030, due 30.01.2031")
    planned = world.session.scalars(select(CalendarEvent).join(
        EventLink, EventLink.event_id == CalendarEvent.id).where(
        EventLink.record_type == "case", EventLink.record_id == world.future.id)
        .order_by(CalendarEvent.starts_at)).all()
    assert [(e.title, e.all_day, e.starts_at.date(), e.ends_at.date()) for e in planned] == [
        ("Durability report 2028 due: Linia lakiernicza", True, date(2029, 1, 30),
         date(2029, 1, 31)),
        ("Durability report 2029 due: Linia lakiernicza", True, date(2030, 1, 30),
         date(2030, 1, 31)),
        ("Durability report 2030 due: Linia lakiernicza", True, date(2031, 1, 30),
         date(2031, 1, 31))]
    assert all([a.user_id for a in e.attendees] == [world.owner.id] for e in planned)


def test_a_delivered_reports_due_day_leaves_the_calendar(world):
    first, second, _third = into_durability(world, world.past)
    jobs, sales = durability.indicators(world.session, world.past)

    def planned():
        return world.session.scalars(select(CalendarEvent.title).join(
            EventLink, EventLink.event_id == CalendarEvent.id).where(
            EventLink.record_type == "case", EventLink.record_id == world.past.id,
            CalendarEvent.deleted_at.is_(None)).order_by(CalendarEvent.starts_at)).all()

    assert planned() == ["Durability report 2023 due: Hala magazynowa",
                         "Durability report 2024 due: Hala magazynowa",
                         "Durability report 2025 due: Hala magazynowa"]
    durability.report_values(world.session, first, {jobs.id: 5, sales.id: 500}, world.owner)
    assert len(planned()) == 3  # values saved: still due
    durability.deliver(world.session, first, "2024-01-20", world.owner)
    assert planned() == ["Durability report 2024 due: Hala magazynowa",
                         "Durability report 2025 due: Hala magazynowa"]
    cancelled = world.session.scalar(select(CalendarEvent).join(
        EventLink, EventLink.event_id == CalendarEvent.id).where(
        EventLink.record_type == "grants_durability_report", EventLink.record_id == first.id))
    assert cancelled.deleted_at is not None  # feeds tell subscribers to remove it
    durability.deliver(world.session, second, "2025-01-20", world.owner,
                       values={jobs.id: 5, sales.id: 500})
    assert planned() == ["Durability report 2025 due: Hala magazynowa"]


def test_planning_again_duplicates_nothing_and_adds_a_year_added(world):
    into_durability(world, world.future)
    assert durability.generate(world.session, world.future, world.owner) == []
    assert world.session.scalar(select(func.count()).select_from(DurabilityReport)) == 3
    world.future.custom = {**world.future.custom, fields.DURABILITY_YEARS: 5}
    added = durability.generate(world.session, world.future, world.owner)
    assert [(r.position, r.period_start, r.due_on) for r in added] == [
        (4, date(2031, 1, 1), date(2032, 1, 30)), (5, date(2032, 1, 1), date(2033, 1, 30))]
    assert world.session.scalar(select(func.count()).select_from(CalendarEvent)) == 5


def test_the_due_days_follow_the_process_setting_and_a_leap_day(world):
    admin = users.create_user(world.session, "boss@example.com", PASSWORD, is_admin=True)
    workflow.change_settings(world.session, world.host.processes[PROCESS],
                             {"report_days": "60"}, admin)
    found = into_durability(world, world.future)
    assert [r.due_on for r in found] == [date(2029, 3, 1), date(2030, 3, 1), date(2031, 3, 1)]
    assert durability.periods(date(2028, 2, 28), 2, 30) == [
        (date(2028, 2, 29), date(2029, 2, 28), date(2029, 3, 30)),
        (date(2029, 3, 1), date(2030, 2, 28), date(2030, 3, 30))]
    assert durability.periods(date(2027, 6, 30), 1, 0) == [
        (date(2027, 7, 1), date(2028, 6, 30), date(2028, 6, 30))]


def test_without_the_projects_end_the_reports_cannot_be_planned(world):
    world.future.custom = {k: v for k, v in world.future.custom.items()
                           if k != fields.PROJECT_END}
    with pytest.raises(ValidationError) as refused:
        into_durability(world, world.future)
    assert refused.value.errors == {
        "custom.grants_project_end": "Give the day the project ends: the durability period "
                                     "starts the day after."}


# --- Values and delivery ---------------------------------------------------------------------

def test_values_are_recorded_for_every_indicator_and_bad_ones_refused(world):
    first = into_durability(world, world.past)[0]
    jobs, sales = durability.indicators(world.session, world.past)
    with pytest.raises(ValidationError) as refused:
        durability.report_values(world.session, first, {str(jobs.id): "-1", "999": "3",
                                                        "abc": "1"}, world.owner)
    assert refused.value.errors == {
        f"values.{jobs.id}": "Enter the value as a number, 0 or more.",
        f"values.{sales.id}": "Enter the value for this period.",
        "values.999": "There is no such indicator of this application.",
        "values.abc": "There is no such indicator of this application."}
    with pytest.raises(ValidationError) as refused:
        durability.report_values(world.session, first, ["3"], world.owner)
    assert refused.value.errors == {"values": "Give the values by the indicators' ids."}
    assert world.session.scalar(select(func.count()).select_from(IndicatorValue)) == 0

    durability.report_values(world.session, first, {jobs.id: 3, str(sales.id): "410,25"},
                             world.owner)
    assert durability.values_of(world.session, first) == {jobs.id: Decimal(3),
                                                          sales.id: Decimal("410.25")}
    durability.report_values(world.session, first, {jobs.id: "4", sales.id: "410.25"},
                             world.owner, expected_version=first.version)
    assert durability.values_of(world.session, first)[jobs.id] == Decimal(4)
    trail = world.session.execute(select(AuditEntry.changes).where(
        AuditEntry.record_type == "grants_durability_report", AuditEntry.record_id == first.id,
        AuditEntry.action == "update").order_by(AuditEntry.id)).scalars().all()
    assert [t["values"] for t in trail] == [
        [{}, {"Jobs created": "3", "Export sales": "410.25"}],
        [{"Jobs created": "3", "Export sales": "410.25"},
         {"Jobs created": "4", "Export sales": "410.25"}]]
    with pytest.raises(ValidationError) as refused:
        durability.report_values(world.session, first, {jobs.id: 5, sales.id: 1}, world.owner,
                                 expected_version=1)
    assert "version" in refused.value.errors
    with pytest.raises(Forbidden):
        durability.report_values(world.session, first, {jobs.id: 5, sales.id: 1},
                                 world.reader)


def test_a_report_is_delivered_with_every_value_on_a_day_after_its_year(world):
    first = into_durability(world, world.past)[0]
    jobs, sales = durability.indicators(world.session, world.past)
    tomorrow = date.today() + timedelta(days=2)
    for day, message in (
            ("", "Enter the day it was delivered, such as 2029-01-20."),
            ("20.01.2024", "Enter the day it was delivered, such as 2029-01-20."),
            (tomorrow.isoformat(), "The day it was delivered cannot be in the future."),
            ("2023-12-31", "The report covers the time up to 31.12.2023: it is delivered "
                           "after that day.")):
        with pytest.raises(ValidationError) as refused:
            durability.deliver(world.session, first, day, world.owner)
        assert refused.value.errors == {
            "delivered_on": message, f"values.{jobs.id}": "Enter the value for this period.",
            f"values.{sales.id}": "Enter the value for this period."}
    assert first.status == "due"

    durability.deliver(world.session, first, "2024-02-04", world.owner,
                       values={jobs.id: "3", sales.id: "400.5"})
    assert (first.status, first.delivered_on) == ("delivered", date(2024, 2, 4))
    assert events(world, world.past)[-1] == (
        "Durability report 2023 delivered",
        "Delivered on 04.02.2024, 5 days after the due day.\n"
        "Jobs created: 3 of 5 FTE\nExport sales: 400.5 of 400.5 kPLN")
    with pytest.raises(ValidationError) as refused:
        durability.deliver(world.session, first, "2024-02-05", world.owner)
    assert refused.value.errors == {"status": "The durability report was delivered already."}
    with pytest.raises(ValidationError) as refused:
        durability.report_values(world.session, first, {jobs.id: 5, sales.id: 1}, world.owner)
    assert refused.value.errors == {
        "status": "The durability report was delivered already; its values no longer change."}

    second = durability.reports(world.session, world.past)[1]
    durability.report_values(world.session, second, {jobs.id: 5, sales.id: 500}, world.owner)
    durability.deliver(world.session, second, date(2025, 1, 30), world.owner)
    assert events(world, world.past)[-1][1].startswith("Delivered on 30.01.2025.\n")


def test_the_application_closes_only_once_every_report_is_delivered(world):
    found = into_durability(world, world.past)
    jobs, sales = durability.indicators(world.session, world.past)
    durability.deliver(world.session, found[0], "2024-01-20", world.owner,
                       values={jobs.id: 5, sales.id: 401})
    with pytest.raises(ValidationError) as refused:
        workflow.move(world.session, world.host, world.past, "closed", world.owner)
    assert refused.value.errors == {
        "check.grants.reports": "2 durability reports are not delivered yet: 2024, 2025."}
    for report, day in zip(found[1:], ("2025-01-20", "2026-01-20"), strict=True):
        durability.deliver(world.session, report, day, world.owner,
                           values={jobs.id: 5, sales.id: 401})
    workflow.move(world.session, world.host, world.past, "closed", world.owner)
    assert world.past.phase_key == "closed"
    with pytest.raises(ValidationError) as refused:
        durability.report_values(world.session, found[0], {jobs.id: 1, sales.id: 1},
                                 world.owner)
    assert refused.value.errors == {
        "_": "The durability period is over; its durability reports no longer change."}


# --- At risk ---------------------------------------------------------------------------------

def test_an_application_with_a_report_overdue_is_at_risk(world):
    found = into_durability(world, world.past)
    assert durability.at_risk(world.session, today=date(2024, 1, 30)) == []  # due that day
    risks = durability.at_risk(world.session, today=date(2024, 1, 31))
    assert [(r.case.id, r.organisation.name, r.reasons) for r in risks] == [
        (world.past.id, CLIENT, ["Durability report 2023 overdue since 30.01.2024"])]
    assert risks[0].overdue == [found[0]]
    later = durability.risk_of(world.session, world.past, today=date(2025, 3, 1))
    assert later.reasons == ["Durability report 2023 overdue since 30.01.2024",
                             "Durability report 2024 overdue since 30.01.2025"]


def test_a_value_under_the_target_puts_the_application_at_risk_and_all_fine_does_not(world):
    first, second, third = into_durability(world, world.past)
    jobs, sales = durability.indicators(world.session, world.past)
    durability.deliver(world.session, first, "2024-01-20", world.owner,
                       values={jobs.id: 3, sales.id: "400.5"})
    in_2024 = date(2024, 6, 1)
    risk = durability.risk_of(world.session, world.past, today=in_2024)
    assert risk.reasons == ["Jobs created: 3 of 5 FTE"]
    assert risk.below == [(jobs, Decimal(3))]

    durability.deliver(world.session, second, "2025-01-20", world.owner,
                       values={jobs.id: 5, sales.id: 500})
    in_2025 = date(2025, 6, 1)
    assert durability.risk_of(world.session, world.past, today=in_2025) is None  # the latest
    assert durability.at_risk(world.session, today=in_2025) == []

    durability.deliver(world.session, third, "2026-01-20", world.owner,
                       values={jobs.id: 3, sales.id: 500})
    in_2026 = date(2026, 6, 1)
    assert [r.reasons for r in durability.at_risk(world.session, today=in_2026)] == [
        ["Jobs created: 3 of 5 FTE"]]
    admin = users.create_user(world.session, "boss@example.com", PASSWORD, is_admin=True)
    workflow.change_settings(world.session, world.host.processes[PROCESS],
                             {"at_risk_percent": "60"}, admin)
    assert durability.at_risk(world.session, today=in_2026) == []  # 3 is 60 % of 5


def test_values_saved_on_a_report_not_delivered_yet_are_a_draft_that_judges_nothing(world):
    first, _second, _third = into_durability(world, world.past)
    jobs, sales = durability.indicators(world.session, world.past)
    admin = users.create_user(world.session, "boss@example.com", PASSWORD, is_admin=True)
    before_due = date(2024, 1, 15)
    durability.report_values(world.session, first, {jobs.id: 1, sales.id: 10}, world.owner)
    assert durability.latest_values(world.session, world.past) == {}
    assert durability.risk_of(world.session, world.past, today=before_due) is None
    (entry,) = reports.in_durability(world.session, admin, before_due)
    assert [(i.name, i.latest, i.reached) for i in entry.indicators] == [
        ("Jobs created", None, None), ("Export sales", None, None)]

    durability.deliver(world.session, first, "2024-01-14", world.owner)
    assert durability.latest_values(world.session, world.past) == {jobs.id: Decimal(1),
                                                                   sales.id: Decimal(10)}
    assert durability.risk_of(world.session, world.past, today=before_due).reasons == [
        "Jobs created: 1 of 5 FTE", "Export sales: 10 of 400.5 kPLN"]
    (entry,) = reports.in_durability(world.session, admin, before_due)
    assert [(i.latest, i.latest_period_end) for i in entry.indicators] == [
        (Decimal(1), date(2023, 12, 31)), (Decimal(10), date(2023, 12, 31))]


@contextmanager
def statements(session):
    """The SQL statements sent to the database meanwhile."""
    engine, said = session.get_bind(), []

    def heard(_conn, _cursor, statement, *_args):
        said.append(statement)

    event.listen(engine, "before_cursor_execute", heard)
    try:
        yield said
    finally:
        event.remove(engine, "before_cursor_execute", heard)


def test_the_risk_of_many_applications_is_read_in_as_many_queries_as_of_one(world):
    """The at-risk page, the reports page and the API read every application at once."""
    owner = world.owner

    def delivered_short(case):
        first = into_durability(world, case)[0]
        jobs, sales = durability.indicators(world.session, case)
        durability.deliver(world.session, first, "2024-01-20", owner,
                           values={jobs.id: 3, sales.id: 500})

    def measured():
        world.session.expire_all()  # nothing read before is at hand
        with statements(world.session) as said:
            found = durability.at_risk(world.session, date(2025, 6, 1), owner)
            assert all(r.organisation is not None for r in found)
        return len(found), len(said)

    delivered_short(world.past)
    one = measured()
    for n in range(6):
        client = organisations.create(world.session, world.host, {
            "name": f"Klient {n}", "type_key": "core.company"}, owner, allow_duplicates=True)
        delivered_short(_application(world.session, world.host, owner, client, f"Hala {n}",
                                     "2022-12-31"))
    many = measured()
    assert (one[0], many[0]) == (1, 7)
    assert many[1] == one[1]
    assert one[1] <= 8


def test_today_is_the_installations_day_which_tests_may_move(world, monkeypatch):
    into_durability(world, world.past)
    monkeypatch.setattr(durability, "local_today", lambda: date(2024, 1, 30))
    assert durability.at_risk(world.session) == []  # due that day
    monkeypatch.setattr(durability, "local_today", lambda: date(2024, 1, 31))
    assert [r.case.id for r in durability.at_risk(world.session)] == [world.past.id]


def test_only_the_applications_in_durability_the_actor_may_see_are_listed(world):
    into_durability(world, world.past)
    world.set(world.future)  # awarded: not in durability
    today = date(2026, 6, 1)
    assert [r.case.id for r in durability.at_risk(world.session, today)] == [world.past.id]
    assert [r.case.id for r in durability.at_risk(world.session, today,
                                                  world.reader)] == [world.past.id]
    assert durability.at_risk(world.session, today, world.stranger) == []
    assert durability.risk_of(world.session, world.future, today) is None


# --- The document ----------------------------------------------------------------------------

def test_the_report_document_is_numbered_and_lists_the_indicators_against_their_targets(world):
    first = into_durability(world, world.past)[0]
    jobs, sales = durability.indicators(world.session, world.past)
    durability.report_values(world.session, first, {jobs.id: 3, sales.id: "410.25"},
                             world.owner)
    made = durability.document(world.session, world.host, world.settings, first, world.owner)
    assert made.number == f"ST/{utcnow().year}/1"
    assert first.document_id == made.id
    assert made.record_id == world.past.id

    template = world.session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == "grants.durability_report"))
    html = " ".join(templating.render(documents.current_version(world.session, template).body, {
        "durability_report": durability.template_data(world.session, first),
        **documents.context(world.session, world.host, world.past, world.owner,
                            world.settings)}).split())
    for shown in ("Sprawozdanie z okresu trwałości projektu", CLIENT, "Hala magazynowa",
                  "Okres sprawozdawczy", "(rok 1 z 3)", "Jobs created", "FTE",
                  "Export sales", "410.25", '<td class="money below">3</td>', "400.5"):
        assert shown in html, shown
    preview = documents.preview(world.session, world.host, template, world.past, world.owner,
                                world.settings)
    assert "Hala magazynowa" in preview and "Okres sprawozdawczy" not in preview
    with pytest.raises(Forbidden):
        durability.document(world.session, world.host, world.settings, first, world.reader)


def test_the_document_marks_a_value_short_of_the_share_of_its_target_that_is_at_risk(world):
    first = into_durability(world, world.past)[0]
    jobs, sales = durability.indicators(world.session, world.past)
    durability.report_values(world.session, first, {jobs.id: 3, sales.id: 200}, world.owner)

    def marked():
        return [(i["name"], i["below"]) for i in durability.template_data(
            world.session, first)["indicators"]]

    assert marked() == [("Jobs created", True), ("Export sales", True)]  # under 100 %
    admin = users.create_user(world.session, "boss@example.com", PASSWORD, is_admin=True)
    workflow.change_settings(world.session, world.host.processes[PROCESS],
                             {"at_risk_percent": "60"}, admin)
    assert marked() == [("Jobs created", False), ("Export sales", True)]  # 60 % of 400.5


# --- The application's card ------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def section(page: str) -> str:
    return re.search(r'<section class="grants-durability".*?</section>', page, re.S).group(0)


def report_row(page: str, report_id: int) -> str:
    return re.search(rf'<tr id="durability-report-{report_id}".*?</tr>', page, re.S).group(0)


def prepare(app, case_key, phase="durability", items=(JOBS, SALES)):
    """Committed: the application's indicators set and, for "durability", the step
    taken; the ids of its indicators and reports."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        w = SimpleNamespace(session=session, host=rt.host,
                            owner=users.find_by_email(session, "owner@example.com"))
        w.set = lambda case, found=items: durability.set_indicators(session, case, list(found),
                                                                    w.owner)
        case = session.scalars(select(Case).where(Case.title == case_key)).one()
        if phase == "durability":
            reports = into_durability(w, case, items)
        else:
            w.set(case)
            reports = []
        return ([i.id for i in durability.indicators(session, case)], [r.id for r in reports])


def test_the_owner_sets_the_indicators_on_the_card_of_an_awarded_application(app, ids):
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['future']}")
    assert "No indicators yet." not in section(card)  # the form instead
    assert 'name="indicators.0.name"' in section(card)
    response = owner.post(f"/grants/durability/applications/{ids['future']}/indicators", data={
        "csrf_token": csrf(card),
        "indicators.0.name": "Jobs created", "indicators.0.unit": "FTE",
        "indicators.0.baseline": "0", "indicators.0.target": "5",
        "indicators.1.name": "", "indicators.1.unit": "", "indicators.1.baseline": "",
        "indicators.1.target": "",
        "indicators.2.name": "Export sales", "indicators.2.target": "400,5"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{ids['future']}#durability")
    card = show(owner, f"/cases/{ids['future']}")
    assert "Indicators saved." in card
    assert 'value="Jobs created"' in section(card) and 'value="400.5"' in section(card)
    assert "Indicators set: 2" in card  # on the timeline


def test_a_refused_indicators_form_comes_back_with_the_messages_under_the_rows(app, ids):
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['future']}")
    response = owner.post(f"/grants/durability/applications/{ids['future']}/indicators", data={
        "csrf_token": csrf(card),
        "indicators.0.name": "Jobs created", "indicators.0.target": "5",
        "indicators.1.name": "", "indicators.1.target": "",
        "indicators.2.name": "Export sales", "indicators.2.baseline": "-4",
        "indicators.2.target": "zero"})
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved" in page
    assert error_under(page, "indicators.2.baseline") == (
        "Enter the baseline as a number, 0 or more.")
    assert error_under(page, "indicators.2.target") == (
        "Enter the target as a number greater than 0.")
    assert error_under(page, "indicators.1.target") is None
    assert 'value="zero"' in page and 'value="Export sales"' in page  # kept as typed
    with app.extensions["kartoteka"].session() as session:
        assert session.scalar(select(func.count()).select_from(Indicator)) == 0


def test_in_durability_the_card_shows_the_reports_overdue_in_red_and_the_risk(app, ids):
    indicator_ids, report_ids = prepare(app, "Hala magazynowa")
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['past']}")
    panel = section(card)
    assert "At risk" in panel
    for reason in ("Durability report 2023 overdue since 30.01.2024",
                   "Durability report 2024 overdue since 30.01.2025",
                   "Durability report 2025 overdue since 30.01.2026"):
        assert reason in panel
    first = report_row(card, report_ids[0])
    assert 'class="error overdue"' in first
    assert visible(first).startswith("Durability report 2023 1/1/23 – 12/31/23 1/30/24 · "
                                     "overdue due")
    assert 'readonly' in panel  # the indicators reported on
    assert f'name="values.{indicator_ids[0]}"' in panel

    response = owner.post(f"/grants/durability/reports/{report_ids[0]}", data={
        "csrf_token": csrf(card), "action": "deliver", "delivered_on": "2024-01-25",
        f"values.{indicator_ids[0]}": "3", f"values.{indicator_ids[1]}": "401"})
    assert response.status_code == 302
    card = show(owner, f"/cases/{ids['past']}")
    assert "Durability report 2023 delivered." in card
    first = visible(report_row(card, report_ids[0]))
    assert "delivered 1/25/24" in first
    assert "Jobs created: 3 of 5 FTE" in first and "Export sales: 401 of 400.5 kPLN" in first
    assert 'class="error overdue"' not in report_row(card, report_ids[0])
    assert "Jobs created: 3 of 5 FTE" in section(card).split("</ul>")[0]  # the banner


def test_a_refused_delivery_comes_back_on_the_reports_page_with_every_message(app, ids):
    indicator_ids, report_ids = prepare(app, "Hala magazynowa")
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['past']}")
    response = owner.post(f"/grants/durability/reports/{report_ids[0]}", data={
        "csrf_token": csrf(card), "action": "deliver", "delivered_on": "2023-06-01",
        f"values.{indicator_ids[0]}": "-3", f"values.{indicator_ids[1]}": "401"})
    assert response.status_code == 422
    page = text(response)
    assert error_under(page, "delivered_on") == (
        "The report covers the time up to 31.12.2023: it is delivered after that day.")
    assert error_under(page, f"values.{indicator_ids[0]}") == (
        "Enter the value as a number, 0 or more.")
    assert 'value="-3"' in page and 'value="2023-06-01"' in page
    response = owner.post(f"/grants/durability/reports/{report_ids[0]}", data={
        "csrf_token": csrf(card), "action": "save",
        f"values.{indicator_ids[0]}": "4", f"values.{indicator_ids[1]}": "401"})
    assert response.status_code == 302
    card = show(owner, f"/cases/{ids['past']}")
    assert "Values of Durability report 2023 saved." in card
    assert "Jobs created: 4 of 5 FTE" in visible(report_row(card, report_ids[0]))
    with app.extensions["kartoteka"].session() as session:
        assert session.get(DurabilityReport, report_ids[0]).status == "due"


def test_the_reports_document_is_generated_from_the_card(app, ids):
    _indicator_ids, report_ids = prepare(app, "Hala magazynowa")
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['past']}")
    response = owner.post(f"/grants/durability/reports/{report_ids[0]}/document",
                          data={"csrf_token": csrf(card)})
    assert response.status_code == 302
    card = show(owner, f"/cases/{ids['past']}")
    number = f"ST/{utcnow().year}/1"
    assert f"Document {number} generated." in card
    assert number in report_row(card, report_ids[0])


def test_a_reader_sees_the_section_without_forms_and_other_cases_have_none(app, ids):
    prepare(app, "Hala magazynowa")
    reader = login(app, "reader@example.com")
    panel = section(show(reader, f"/cases/{ids['past']}"))
    assert "Jobs created" in panel and "Durability report 2023" in panel
    assert "<form" not in panel
    assert reader.get(f"/grants/durability/applications/{ids['past']}/indicators"
                      ).status_code == 403
    assert 'id="durability"' not in show(reader, f"/cases/{ids['other']}")
    assert reader.get(f"/grants/durability/applications/{ids['other']}/indicators"
                      ).status_code == 404
    stranger = login(app, "stranger@example.com")
    assert stranger.get(f"/grants/durability/applications/{ids['past']}/indicators"
                        ).status_code == 404


def test_the_applications_at_risk_are_listed_by_client(app, ids):
    prepare(app, "Hala magazynowa")
    page = show(login(app, "owner@example.com"), "/grants/durability/at-risk")
    row = visible(re.search(rf'<tr id="at-risk-{ids["past"]}".*?</tr>', page, re.S).group(0))
    assert row.startswith(f"{CLIENT} Hala magazynowa Durability report 2023 overdue since "
                          "30.01.2024")
    assert "No grant application in the durability period is at risk." in show(
        login(app, "stranger@example.com"), "/grants/durability/at-risk")


def test_the_section_is_worded_with_the_installations_terms(kartoteka_app_factory, ids):
    app = kartoteka_app_factory(["grants"], default_locale="pl")
    prepare(app, "Hala magazynowa")
    panel = section(show(login(app, "owner@example.com"), f"/cases/{ids['past']}"))
    assert "<h2>Okres trwałości</h2>" in panel
    assert "Sprawozdanie z trwałości 2023" in panel


def test_the_menu_leads_to_the_applications_at_risk(kartoteka_app_factory, ids):
    for locale, label in (("pl", "Trwałość zagrożona"), ("en", "Durability at risk")):
        app = kartoteka_app_factory(["grants"], default_locale=locale)
        page = show(login(app, "owner@example.com"), "/")
        assert re.search(r'<a [^>]*href="/grants/durability/at-risk"[^>]*>\s*'
                         + label + r"\s*</a>", page), locale


# --- The REST API ----------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    from core import tokens

    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace(ids=ids)
    with rt.session() as session, session.begin():
        for name in ("owner", "reader", "stranger"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def test_the_api_sets_and_lists_the_indicators(api):
    case_id = api.ids["future"]
    put = api.owner("put", f"/grants/applications/{case_id}/indicators",
                    json={"indicators": [JOBS, {**SALES, "target": 400.5}]})
    assert put.status_code == 200, put.get_json()
    assert [{k: i[k] for k in ("position", "name", "unit", "baseline", "target",
                               "last_value")} for i in put.get_json()] == [
        {"position": 1, "name": "Jobs created", "unit": "FTE", "baseline": "0", "target": "5",
         "last_value": None},
        {"position": 2, "name": "Export sales", "unit": "kPLN", "baseline": "120",
         "target": "400.5", "last_value": None}]
    listed = api.reader("get", f"/grants/applications/{case_id}/indicators")
    assert [i["name"] for i in listed.get_json()] == ["Jobs created", "Export sales"]

    refused = api.owner("put", f"/grants/applications/{case_id}/indicators",
                        json={"indicators": [{"name": "", "target": -1}]})
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert refused.get_json()["errors"] == {
        "indicators.0.name": "Name the indicator.",
        "indicators.0.target": "Enter the target as a number greater than 0."}
    unknown = api.owner("put", f"/grants/applications/{case_id}/indicators",
                        json={"indicators": [{**JOBS, "colour": "red"}]})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == {"indicators.0.colour": "Unknown field."}
    assert api.reader("put", f"/grants/applications/{case_id}/indicators",
                      json={"indicators": [JOBS]}).status_code == 403
    assert api.stranger("get", f"/grants/applications/{case_id}/indicators").status_code == 404
    assert api.owner("get", f"/grants/applications/{api.ids['other']}/indicators"
                     ).status_code == 404


def test_the_api_records_values_delivers_and_tells_the_risk(app, api):
    indicator_ids, report_ids = prepare(app, "Hala magazynowa")
    case_id = api.ids["past"]
    listed = api.reader("get", f"/grants/applications/{case_id}/durability-reports")
    assert [(r["title"], r["period_start"], r["due_on"], r["status"], r["overdue"])
            for r in listed.get_json()] == [
        ("Durability report 2023", "2023-01-01", "2024-01-30", "due", True),
        ("Durability report 2024", "2024-01-01", "2025-01-30", "due", True),
        ("Durability report 2025", "2025-01-01", "2026-01-30", "due", True)]
    risk = api.reader("get", f"/grants/applications/{case_id}/risk").get_json()
    assert (risk["at_risk"], risk["organisation_name"], risk["reasons"][0]) == (
        True, CLIENT, "Durability report 2023 overdue since 30.01.2024")

    first = report_ids[0]
    bad = api.owner("put", f"/grants/durability-reports/{first}/values",
                    json={"values": {str(indicator_ids[0]): "many"}})
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {
        f"values.{indicator_ids[0]}": "Enter the value as a number, 0 or more.",
        f"values.{indicator_ids[1]}": "Enter the value for this period."}
    one = api.owner("get", f"/grants/durability-reports/{first}")
    stale = api.owner("put", f"/grants/durability-reports/{first}/values",
                      json={"values": {str(indicator_ids[0]): 5, str(indicator_ids[1]): 500}},
                      headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    saved = api.owner("put", f"/grants/durability-reports/{first}/values",
                      json={"values": {str(indicator_ids[0]): 5, str(indicator_ids[1]): 500}},
                      headers={"If-Match": one.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    assert [(v["name"], v["value"]) for v in saved.get_json()["values"]] == [
        ("Jobs created", "5"), ("Export sales", "500")]
    assert api.reader("put", f"/grants/durability-reports/{first}/values",
                      json={"values": {}}).status_code == 403
    last = api.reader("get", f"/grants/applications/{case_id}/indicators").get_json()
    assert [i["last_value"] for i in last] == [None, None]  # not delivered: a draft

    late = api.owner("post", f"/grants/durability-reports/{first}/deliver",
                     json={"delivered_on": "2099-01-01"})
    assert late.status_code == 422
    assert late.get_json()["errors"] == {
        "delivered_on": "The day it was delivered cannot be in the future."}
    delivered = api.owner("post", f"/grants/durability-reports/{first}/deliver",
                          json={"delivered_on": "2024-01-20", "document": True})
    assert delivered.status_code == 200, delivered.get_json()
    body = delivered.get_json()
    assert (body["status"], body["delivered_on"], body["overdue"]) == (
        "delivered", "2024-01-20", False)
    assert body["document_id"] is not None
    last = api.reader("get", f"/grants/applications/{case_id}/indicators").get_json()
    assert [i["last_value"] for i in last] == ["5", "500"]
    again = api.owner("post", f"/grants/durability-reports/{first}/deliver",
                      json={"delivered_on": "2024-01-21"})
    assert again.get_json()["errors"] == {
        "status": "The durability report was delivered already."}

    second = api.owner("post", f"/grants/durability-reports/{report_ids[1]}/deliver", json={
        "delivered_on": "2025-01-10",
        "values": {str(indicator_ids[0]): 2, str(indicator_ids[1]): 500}})
    assert second.status_code == 200, second.get_json()
    risk = api.owner("get", f"/grants/applications/{case_id}/risk").get_json()
    assert risk["reasons"] == ["Durability report 2025 overdue since 30.01.2026",
                               "Jobs created: 2 of 5 FTE"]
    at_risk = api.owner("get", "/grants/applications/at-risk").get_json()
    assert [(r["case_id"], r["at_risk"]) for r in at_risk] == [(case_id, True)]
    assert api.stranger("get", "/grants/applications/at-risk").get_json() == []
    made = api.owner("post", f"/grants/durability-reports/{report_ids[1]}/document")
    assert made.status_code == 201 and made.get_json()["document_id"] is not None
    assert api.reader("post", f"/grants/durability-reports/{report_ids[1]}/document"
                      ).status_code == 403
    assert api.stranger("get", f"/grants/durability-reports/{first}").status_code == 404


def test_an_application_not_at_risk_is_told_with_its_client(app, api):
    case_id = api.ids["future"]
    risk = api.owner("get", f"/grants/applications/{case_id}/risk").get_json()
    assert (risk["at_risk"], risk["reasons"], risk["organisation_id"],
            risk["organisation_name"]) == (False, [], api.ids["client"], CLIENT)
    prepare(app, "Linia lakiernicza")  # in durability: its first report due in 2029
    risk = api.reader("get", f"/grants/applications/{case_id}/risk").get_json()
    assert (risk["at_risk"], risk["organisation_id"], risk["organisation_name"]) == (
        False, api.ids["client"], CLIENT)


def test_the_openapi_document_describes_the_durability_period(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path, method in (
            ("/api/v1/grants/applications/{case_id}/indicators", "put"),
            ("/api/v1/grants/applications/{case_id}/durability-reports", "get"),
            ("/api/v1/grants/applications/{case_id}/risk", "get"),
            ("/api/v1/grants/durability-reports/{report_id}/values", "put"),
            ("/api/v1/grants/durability-reports/{report_id}/deliver", "post")):
        assert method in paths[path], path
    deliver = paths["/api/v1/grants/durability-reports/{report_id}/deliver"]["post"]
    assert {"403", "412", "422"} <= deliver["responses"].keys()

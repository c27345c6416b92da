"""Calls for proposals (GR-3): kept by those with ``grants.manage``, read by every staff
member, listed with filters, corrected on the version that was read, deleted only while
no application to them is open; and applying to a call for a client firm, which makes
the grant application with the checklist of the call's attachments. Through the
service, the staff pages and the REST API. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from core import (
    cases,
    organisations,
    records,
    roles,
    term_overrides,
    timeline,
    users,
    workflow,
)
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import AuditEntry, Case
from core.permissions import ACTIONS
from plugins.grants import calls, checklists, fields, schedules
from plugins.grants.models import Application, GrantCall
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"
ATTACHMENTS = ["Biznesplan", "Oświadczenie o pomocy de minimis", "Sprawozdania finansowe"]


def in_days(days: int) -> date:
    return local_today() + timedelta(days=days)


def call_data(**changes) -> dict:
    return {"title": "Ścieżka SMART", "reference": "FENG.01.01-IP.02-001/26",
            "programme": "Fundusze Europejskie dla Nowoczesnej Gospodarki",
            "opens_on": in_days(-10).isoformat(), "deadline": in_days(30).isoformat(),
            "budget": "250000000", "max_rate": "70",
            "required_attachments": list(ATTACHMENTS), "description": "Dla MŚP.", **changes}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: a manager of the calls, a consultant (staff, no grants.manage), a
    reader who may read everything and change nothing; a grantor and two client firms;
    a call open today."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        managers = roles.create(session, "grant_managers", "Grant managers")
        roles.set_permissions(session, managers, ["grants.manage"])
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        manager = _user(session, "manager@example.com", ["staff", "grant_managers"],
                        "Anna Nabór")
        consultant = _user(session, "consultant@example.com", ["staff"], "Piotr Doradca")
        _user(session, "reader@example.com", ["readers"], "Olga Czyta")
        org = lambda name, kind="core.company": organisations.create(  # noqa: E731
            session, rt.host, {"name": name, "type_key": kind}, manager,
            allow_duplicates=True).id
        grantor = org("Polska Agencja Rozwoju Przedsiębiorczości", "core.foundation")
        firm = org("Stolarnia Dąb sp. z o.o.")
        other = org("Piekarnia Kłos")
        call = calls.create(session, {**call_data(), "grantor_id": grantor}, manager)
        return {"manager": manager.id, "consultant": consultant.id, "grantor": grantor,
                "firm": firm, "other": other, "call": call.id}


def _user(session, email, role_keys, name):
    user = users.create_user(session, email, PASSWORD, full_name=name)
    roles.assign(session, user, role_keys)
    return user


@pytest.fixture
def world(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, ids=ids)
        w.manager = users.find_by_email(session, "manager@example.com")
        w.consultant = users.find_by_email(session, "consultant@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.call = session.get(GrantCall, ids["call"])
        yield w


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.errors


# --- Keeping the calls -----------------------------------------------------------------------

def test_a_call_is_kept_with_its_attachments_and_amounts(world):
    call = world.call
    assert (call.title, call.deadline, call.opens_on) == ("Ścieżka SMART", in_days(30),
                                                          in_days(-10))
    assert (call.budget, call.max_rate) == (Decimal("250000000.00"), Decimal("70.00"))
    assert call.required_attachments == ATTACHMENTS
    assert call.grantor_id == world.ids["grantor"]
    assert calls.status(call) == "open" and calls.days_left(call) == 30


def test_bad_values_are_refused_field_by_field_and_nothing_is_kept(world):
    errors = refusal(lambda: calls.create(world.session, {
        "title": " ", "opens_on": in_days(5).isoformat(), "deadline": in_days(1).isoformat(),
        "budget": "-5", "max_rate": "120", "grantor_id": 999999,
        "required_attachments": ["Biznesplan", "", " biznesplan "]}, world.manager))
    assert errors == {
        "title": "Enter the title of the call.",
        "budget": "Enter an amount from 0 to 999 999 999 999,99.",
        "max_rate": "Give a percentage from 0 to 100.",
        "grantor_id": "Choose a grantor from the list.",
        "deadline": f"The deadline cannot be before the call opens ({_long(in_days(5))}).",
        "required_attachments": "Attachment 2 has no name. “biznesplan” is listed twice."}
    assert refusal(lambda: calls.create(world.session, {}, world.manager)) == {
        "title": "Enter the title of the call.",
        "deadline": "Enter the last day applications are taken."}
    assert refusal(lambda: calls.create(world.session, call_data(
        deadline="31.03.2026", budget="dużo"), world.manager)) == {
        "deadline": "Enter a date, such as 2026-03-31.",
        "budget": "Enter an amount, such as 12500,50."}
    assert world.session.scalar(select(func.count()).select_from(GrantCall)) == 1


def _long(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def test_amounts_are_taken_as_typed_in_polish(world):
    call = calls.create(world.session, call_data(budget="1 250 000,50", max_rate="85,5"),
                        world.manager)
    assert (call.budget, call.max_rate) == (Decimal("1250000.50"), Decimal("85.50"))


def test_only_managers_of_the_calls_change_them_and_every_staff_member_reads_them(world):
    for who in (world.consultant, world.reader):
        with pytest.raises(Forbidden, match="You may not change calls for proposals."):
            calls.create(world.session, call_data(), who)
        with pytest.raises(Forbidden):
            calls.update(world.session, world.call, {"title": "Inny"}, who)
        with pytest.raises(Forbidden):
            calls.delete(world.session, world.call, who)
    assert calls.get(world.session, world.call.id, world.reader) is world.call
    assert [c.id for c in calls.listed(world.session, {}, world.consultant)] == [world.call.id]


def test_a_correction_on_a_stale_version_is_refused(world):
    version = world.call.version
    calls.update(world.session, world.call, {"budget": "300000000"}, world.manager, version)
    assert refusal(lambda: calls.update(world.session, world.call, {"title": "Stary"},
                                        world.manager, version)) == {
        "version": "The record was changed by someone else meanwhile; reload it and apply "
                   "your change again."}
    assert refusal(lambda: calls.update(world.session, world.call, {
        "opens_on": in_days(40).isoformat()}, world.manager)) == {
        "deadline": f"The deadline cannot be before the call opens ({_long(in_days(40))})."}


def test_every_change_is_in_the_audit_trail(world):
    calls.update(world.session, world.call, {"deadline": in_days(45).isoformat()},
                 world.manager)
    calls.delete(world.session, world.call, world.manager)
    trail = world.session.execute(select(AuditEntry.action, AuditEntry.actor_id,
                                         AuditEntry.changes).where(
        AuditEntry.record_type == "grants_call", AuditEntry.record_id == world.call.id)
        .order_by(AuditEntry.id)).all()
    assert [(a, who) for a, who, _c in trail] == [
        ("create", world.manager.id), ("update", world.manager.id),
        ("delete", world.manager.id)]
    assert trail[1].changes["deadline"] == [in_days(30).isoformat(), in_days(45).isoformat()]


def test_the_list_is_filtered_by_status_deadline_programme_grantor_and_words(world):
    make = lambda **data: calls.create(world.session, call_data(**data), world.manager)  # noqa
    upcoming = make(title="Bony na innowacje", opens_on=in_days(20).isoformat(),
                    deadline=in_days(60).isoformat(), programme="Polska Wschodnia")
    closed = make(title="Kredyt ekologiczny", opens_on=in_days(-90).isoformat(),
                  deadline=in_days(-1).isoformat(), programme="FENG")
    soon = make(title="Internacjonalizacja MŚP", opens_on=None,
                deadline=in_days(3).isoformat(), grantor_id=world.ids["grantor"])

    def found(**args):
        return [c.id for c in calls.listed(world.session, args, world.consultant)]

    call = world.call.id
    assert found() == [soon.id, call, upcoming.id, closed.id]
    assert found(status="open") == [soon.id, call]
    assert found(status="upcoming") == [upcoming.id]
    assert found(status="closed") == [closed.id]
    assert found(deadline_from=in_days(0).isoformat(), deadline_to=in_days(30).isoformat()) \
        == [soon.id, call]
    assert found(programme="wschodnia") == [upcoming.id]
    assert found(grantor_id=world.ids["grantor"]) == [soon.id, call]
    assert found(q="ŚCIEŻKA") == [call] and found(q="msp") == []
    assert found(q="internacjonalizacja") == [soon.id]
    assert found(q="smart fundusze") == [call]
    assert refusal(lambda: found(status="soon", deadline_from="jutro")) == {
        "status": "Choose open, upcoming or closed.",
        "deadline_from": "Enter a date, such as 2026-03-01."}
    assert refusal(lambda: found(deadline_from=in_days(5).isoformat(),
                                 deadline_to=in_days(1).isoformat())) == {
        "deadline_to": "The end of the range cannot be before its start."}


# --- Applying ----------------------------------------------------------------------------------

def apply(world, who=None, **data):
    return calls.apply(world.session, world.host, world.call,
                       {"organisation_id": world.ids["firm"], **data}, who or world.consultant)


def test_applying_makes_the_application_with_the_checklist_of_the_call(world):
    case = apply(world, requested_amount="350 000", project_value="500000")
    assert case.title == "Ścieżka SMART — Stolarnia Dąb sp. z o.o."
    assert (case.process_key, case.phase_key) == ("grants.application", "preparation")
    assert (case.organisation_id, case.owner_id) == (world.ids["firm"], world.consultant.id)
    assert case.custom[fields.REQUESTED] == {"amount": "350000.00", "currency": "PLN"}
    assert case.custom[fields.PROJECT_VALUE] == {"amount": "500000.00", "currency": "PLN"}
    assert calls.of_case(world.session, case) is world.call
    assert [(i.position, i.name, i.ready_at) for i in checklists.items(
        world.session, case, world.consultant)] == [
        (1, "Biznesplan", None), (2, "Oświadczenie o pomocy de minimis", None),
        (3, "Sprawozdania finansowe", None)]
    assert calls.applications(world.session, world.call, world.reader) == [case]
    assert calls.application_counts(world.session, [world.call], world.reader) == {
        world.call.id: 1}


def test_the_amounts_and_the_owner_are_optional(world):
    case = apply(world, who=world.manager, owner_id=world.consultant.id)
    assert case.owner_id == world.consultant.id
    assert fields.REQUESTED not in case.custom and fields.PROJECT_VALUE not in case.custom


def test_applying_after_the_deadline_is_refused(world):
    calls.update(world.session, world.call, {"opens_on": in_days(-60).isoformat(),
                                             "deadline": in_days(-1).isoformat()},
                 world.manager)
    assert refusal(lambda: apply(world)) == {
        "deadline": f"Call for proposals closed on {_long(in_days(-1))}: applications are "
                    "no longer taken."}
    assert world.session.scalar(select(func.count()).select_from(Application)) == 0


def test_an_unknown_client_bad_amounts_and_owner_are_refused_at_once(world):
    assert refusal(lambda: apply(world, organisation_id=999999, owner_id=999999,
                                 requested_amount="-1", project_value="x")) == {
        "organisation_id": "Choose a client firm from the list.",
        "owner_id": "Choose an active staff member.",
        "requested_amount": "Enter an amount from 0 to 999 999 999 999,99.",
        "project_value": "Enter an amount, such as 12500,50."}
    assert refusal(lambda: calls.apply(world.session, world.host, world.call, {},
                                       world.consultant)) == {
        "organisation_id": "Choose the client firm."}
    assert refusal(lambda: apply(world, requested_amount="600000",
                                 project_value="500000")) == {
        "requested_amount": "The grant requested cannot be more than the project's value."}
    assert refusal(lambda: apply(world, requested_amount="400000",
                                 project_value="500000")) == {
        "requested_amount": "Call for proposals funds at most 70% of the project's value: "
                            "here at most PLN350,000.00."}
    assert world.session.scalar(select(func.count()).select_from(Case)) == 0


def withdraw(world, case) -> None:
    """The client gives the application up: it is finished."""
    records.update(world.session, case, {"custom": {
        **case.custom, fields.WITHDRAWAL_REASON: "Klient zrezygnował."}}, world.consultant)
    workflow.move(world.session, world.host, case, "withdrawn", world.consultant)


def test_a_firm_applies_to_a_call_once_at_a_time(world):
    first = apply(world)
    assert refusal(lambda: apply(world)) == {
        "organisation_id": "Stolarnia Dąb sp. z o.o. already has an application to this "
                           f"call: {first.title}."}
    withdraw(world, first)
    assert apply(world).id != first.id  # once that one is finished it may try again


def test_who_may_not_create_cases_cannot_apply(world):
    with pytest.raises(Forbidden):
        apply(world, who=world.reader)


# --- Deleting --------------------------------------------------------------------------------

def test_a_call_with_an_open_application_is_not_deleted(world):
    case = apply(world)
    assert refusal(lambda: calls.delete(world.session, world.call, world.manager)) == {
        "_": f"Call for proposals has open grant applications: {case.title}. Finish them "
             "first."}
    withdraw(world, case)
    calls.delete(world.session, world.call, world.manager)
    assert calls.get(world.session, world.call.id, world.consultant) is None
    assert calls.of_case(world.session, case) is world.call  # the application keeps it
    assert calls.listed(world.session, {}, world.consultant) == []


# --- The opportunity an application was sold by ------------------------------------------------

def won(world, title: str, organisation_id: int | None = None, **instalment) -> Case:
    """A won opportunity of the firm (or another), its success fee waiting for the award."""
    case = cases.create(world.session, world.host, {
        "title": title, "process_key": "grants.opportunity", "owner_id": world.consultant.id,
        "organisation_id": organisation_id or world.ids["firm"]}, actor=world.consultant)
    for target in ("qualified", "offer"):
        workflow.move(world.session, world.host, case, target, world.consultant)
    schedules.replace(world.session, case, [{"description": "Sukces", "amount": "5000",
                                             **(instalment or {"milestone": "awarded"})}],
                      world.consultant)
    workflow.move(world.session, world.host, case, "won", world.consultant)
    return case


def tied(world, case) -> list[tuple[str, str]]:
    return [(a.subject, a.body) for a in timeline.timeline(world.session, case)
            if a.event == "grants.opportunity_tied"]


def test_applying_ties_the_clients_only_opportunity_waiting_for_a_milestone(world):
    sold = won(world, "Linia lakiernicza")
    won(world, "Piec dla piekarni", world.ids["other"])  # another client's: not a candidate
    won(world, "Doradztwo", due_on=in_days(10).isoformat())  # nothing waits for a milestone
    first = apply(world)
    assert schedules.sold_by(world.session, first) == [sold.id]
    assert tied(world, first) == [(
        "Tied to the opportunity “Linia lakiernicza”",
        "Chosen automatically: the only won opportunity of the client firm with an "
        "instalment still waiting for a milestone.\nIts cooperation contract's instalments "
        "waiting for a milestone fall due when this grant application reaches it.")]
    assert tied(world, sold) == tied(world, first)
    # Tied to an open application already: a second one of the firm is tied to nothing.
    other_call = calls.create(world.session, call_data(title="Bony na innowacje"),
                              world.manager)
    second = calls.apply(world.session, world.host, other_call,
                         {"organisation_id": world.ids["firm"]}, world.consultant)
    assert schedules.sold_by(world.session, second) == [] and tied(world, second) == []
    # Once the first is withdrawn, the next application takes the opportunity over.
    withdraw(world, first)
    assert schedules.sold_by(world.session, apply(world)) == [sold.id]


def test_nothing_is_guessed_between_two_opportunities_waiting(world):
    won(world, "Linia lakiernicza")
    won(world, "Hala magazynowa")
    case = apply(world)
    assert schedules.sold_by(world.session, case) == [] and tied(world, case) == []
    # An application tied to none reaches nothing: no contract of the firm follows it.
    assert schedules.reach(world.session, case, "awarded", world.consultant) == []


def test_the_opportunity_named_is_tied_and_its_milestones_follow_the_application(world):
    won(world, "Linia lakiernicza")
    chosen = won(world, "Hala magazynowa")
    case = apply(world, opportunity_id=str(chosen.id))
    assert schedules.sold_by(world.session, case) == [chosen.id]
    assert tied(world, case) == [(
        "Tied to the opportunity “Hala magazynowa”",
        "Its cooperation contract's instalments waiting for a milestone fall due when this "
        "grant application reaches it.")]
    reached = schedules.reach(world.session, case, "awarded", world.consultant)
    assert [c.case_id for c in reached] == [chosen.id]


def test_an_opportunity_of_another_client_not_won_or_unknown_is_refused(world):
    theirs = won(world, "Piec dla piekarni", world.ids["other"])
    offered = cases.create(world.session, world.host, {
        "title": "Nowa hala", "process_key": "grants.opportunity",
        "owner_id": world.consultant.id, "organisation_id": world.ids["firm"]},
        actor=world.consultant)
    assert refusal(lambda: apply(world, opportunity_id=theirs.id,
                                 requested_amount="600000", project_value="500000")) == {
        "opportunity_id": "“Piec dla piekarni” was sold to another client firm.",
        "requested_amount": "The grant requested cannot be more than the project's value."}
    assert refusal(lambda: apply(world, opportunity_id=offered.id)) == {
        "opportunity_id": "“Nowa hala” has no cooperation contract: only a won opportunity "
                          "has one."}
    for unknown in (999999, "x", 0, world.call.id + 10**6):
        assert refusal(lambda u=unknown: apply(world, opportunity_id=u)) == {
            "opportunity_id": "Choose the opportunity from the list."}
    # Neither is guessed when the client itself is unknown: only that is said of it.
    assert set(refusal(lambda: apply(world, organisation_id=999999,
                                     opportunity_id=theirs.id))) == {"organisation_id"}
    assert world.session.scalar(select(func.count()).select_from(Application)) == 0


def test_an_opportunity_the_applicant_may_not_see_is_unknown_to_them(world):
    hidden = won(world, "Linia lakiernicza")
    readers = roles.create(world.session, "own_cases", "Own cases")
    roles.set_access(world.session, readers, {("*", a): "all" for a in ACTIONS}
                     | {("case", "read"): "own", ("case", "edit"): "own"})
    junior = _user(world.session, "junior@example.com", ["own_cases"], "Jan Młodszy")
    assert refusal(lambda: apply(world, who=junior, opportunity_id=hidden.id)) == {
        "opportunity_id": "Choose the opportunity from the list."}
    # Left to be found, it is tied all the same (the contract's milestones are the
    # system's), without its title on the timeline.
    case = apply(world, who=junior)
    assert schedules.sold_by(world.session, case) == [hidden.id]
    assert [subject for subject, _body in tied(world, case)] == [
        "Tied to the opportunity it was sold by"]


def test_an_attachment_added_to_the_call_joins_the_checklists_being_prepared(world):
    preparing = apply(world)
    submitted = apply(world, organisation_id=world.ids["other"])
    submitted.phase_key = "submitted"
    world.session.flush()
    calls.update(world.session, world.call, {"required_attachments": [
        *ATTACHMENTS, "Harmonogram rzeczowo-finansowy"]}, world.manager)
    names = lambda case: [i.name for i in checklists.items(world.session, case)]  # noqa
    assert names(preparing) == [*ATTACHMENTS, "Harmonogram rzeczowo-finansowy"]
    assert names(submitted) == ATTACHMENTS
    assert [(a.subject, a.body) for a in timeline.timeline(world.session, preparing)
            if a.event == "grants.checklist_added"] == [
        ("Added to the checklist: Harmonogram rzeczowo-finansowy",
         "Call for proposals now requires it.")]


# --- The staff pages ---------------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def row(page: str, element_id: str) -> str:
    return visible(re.search(rf'<tr id="{element_id}".*?</tr>', page, re.S).group(0))


def test_the_list_shows_deadlines_days_left_and_applications(app, ids):
    consultant = login(app, "consultant@example.com")
    page = show(consultant, "/grants/calls/")
    assert row(page, f"call-{ids['call']}") == (
        f"Ścieżka SMART FENG.01.01-IP.02-001/26 Fundusze Europejskie dla Nowoczesnej "
        f"Gospodarki Polska Agencja Rozwoju Przedsiębiorczości {_medium(in_days(30))} "
        "30 days left 0")
    assert "Add call for proposals" not in page  # no grants.manage
    assert 'href="/grants/calls/"' in page  # the menu entry
    assert consultant.get("/grants/calls/new").status_code == 403
    assert consultant.get(f"/grants/calls/{ids['call']}/edit").status_code == 403
    filtered = consultant.get("/grants/calls/?status=closed&deadline_from=wczoraj")
    assert filtered.status_code == 400
    assert error_under(text(filtered), "deadline_from") == "Enter a date, such as 2026-03-01."
    assert f"call-{ids['call']}" not in show(consultant, "/grants/calls/?status=closed")
    assert f"call-{ids['call']}" in show(consultant, "/grants/calls/?q=smart&status=open")


def _medium(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def test_a_manager_adds_a_call_with_its_attachments_one_per_line(app, ids):
    manager = login(app, "manager@example.com")
    form = show(manager, "/grants/calls/new")
    page = text(manager.post("/grants/calls/new", data={
        "csrf_token": csrf(form), "title": "Bony na innowacje", "deadline": in_days(1).isoformat(),
        "opens_on": in_days(9).isoformat(), "budget": "-1", "max_rate": "101",
        "target": "Nieznana Instytucja", "required_attachments": "Biznesplan\n\nbiznesplan"}))
    assert "Nothing was saved" in page
    assert error_under(page, "deadline").startswith("The deadline cannot be before the call")
    assert error_under(page, "budget") == "Enter an amount from 0 to 999 999 999 999,99."
    assert error_under(page, "max_rate") == "Give a percentage from 0 to 100."
    assert error_under(page, "grantor_id") == ("Nothing found for “Nieznana Instytucja” among "
                                               "the records you may see.")
    assert error_under(page, "required_attachments") == "“biznesplan” is listed twice."
    assert 'value="Bony na innowacje"' in page  # kept as typed
    response = manager.post("/grants/calls/new", data={
        "csrf_token": csrf(form), "title": "Bony na innowacje",
        "deadline": in_days(20).isoformat(), "budget": "1 000 000", "max_rate": "85",
        "target": "agencja rozwoju",
        "required_attachments": "Biznesplan\r\n  \r\nUmowa z jednostką naukową\r\n"})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        made = session.scalars(select(GrantCall).where(GrantCall.title == "Bony na innowacje")
                               ).one()
        assert made.required_attachments == ["Biznesplan", "Umowa z jednostką naukową"]
        assert (made.grantor_id, made.budget) == (ids["grantor"], Decimal("1000000.00"))
    assert response.headers["Location"].endswith(f"/grants/calls/{made.id}")
    page = show(manager, f"/grants/calls/{made.id}")
    assert "Saved." in page
    assert "Biznesplan Umowa z jednostką naukową" in visible(
        re.search(r'<ol class="required-attachments">.*?</ol>', page, re.S).group(0))
    assert "85%" in page and "Polska Agencja Rozwoju Przedsiębiorczości" in page


def test_several_firms_of_one_name_are_offered_to_choose_from(app, ids):
    with app.test_request_context(), app.extensions["kartoteka"].session() as session, \
            session.begin():
        second = organisations.create(session, app.extensions["kartoteka"].host, {
            "name": "Piekarnia Zboże", "type_key": "core.company"}, None).id
    manager = login(app, "manager@example.com")
    page = show(manager, f"/grants/calls/{ids['call']}")
    response = manager.post(f"/grants/calls/{ids['call']}/apply", data={
        "csrf_token": csrf(page), "target": "piekarnia", "target_id": ""})
    assert response.status_code == 422
    page = text(response)
    assert error_under(page, "organisation_id") == ("Several records answer to this name: "
                                                    "choose one.")
    choices = re.findall(r'<option value="(\d+)">([^<]+?)(?: — [^<]*)?</option>', re.search(
        r'<select id="f-organisation_id-choice".*?</select>', page, re.S).group(0))
    assert sorted(choices) == sorted([(str(ids["other"]), "Piekarnia Kłos"),
                                      (str(second), "Piekarnia Zboże")])
    response = manager.post(f"/grants/calls/{ids['call']}/apply", data={
        "csrf_token": csrf(page), "target": "piekarnia", "target_id": str(second)})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        assert session.scalars(select(Case.organisation_id)).all() == [second]


def test_a_consultant_applies_for_a_client_from_the_calls_page(app, ids):
    consultant = login(app, "consultant@example.com")
    page = show(consultant, f"/grants/calls/{ids['call']}")
    assert "No grant applications yet." in page
    assert "Edit" not in visible(re.search(r'<section class="card call-details".*?</section>',
                                           page, re.S).group(0))
    refused = consultant.post(f"/grants/calls/{ids['call']}/apply", data={
        "csrf_token": csrf(page), "target": "", "requested_amount": "900000",
        "project_value": "500000", "owner_id": str(ids["consultant"])})
    assert refused.status_code == 422
    page = text(refused)
    assert error_under(page, "organisation_id") == "Type the name of the client firm."
    assert error_under(page, "requested_amount") == ("The grant requested cannot be more "
                                                     "than the project's value.")
    assert 'value="900000"' in page
    response = consultant.post(f"/grants/calls/{ids['call']}/apply", data={
        "csrf_token": csrf(page), "target": "Stolarnia Dąb", "requested_amount": "300 000",
        "project_value": "500 000", "owner_id": str(ids["consultant"])})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        case = session.scalars(select(Case)).one()
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    card = show(consultant, f"/cases/{case.id}")
    assert "Grant application started: Ścieżka SMART — Stolarnia Dąb sp. z o.o." in card
    page = show(consultant, f"/grants/calls/{ids['call']}")
    assert row(page, f"application-{case.id}") == (
        "Stolarnia Dąb sp. z o.o. Preparation PLN300,000.00 Piotr Doradca")
    assert row(show(consultant, "/grants/calls/"), f"call-{ids['call']}").endswith(" 1")


def in_session(app, ids, change):
    """``change(world)`` committed, with the consultant and the manager at hand."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        return change(SimpleNamespace(
            session=session, host=rt.host, ids=ids,
            consultant=users.find_by_email(session, "consultant@example.com"),
            manager=users.find_by_email(session, "manager@example.com")))


def options(page: str, name: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select id="f-{name}".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="(\d+)" ?(?:selected)?>([^<]+)</option>', found)


def test_the_call_page_ties_the_application_to_the_won_opportunity_chosen(app, ids):
    mine, theirs = in_session(app, ids, lambda w: (
        won(w, "Linia lakiernicza").id, won(w, "Piec dla piekarni", ids["other"]).id))
    consultant = login(app, "consultant@example.com")
    page = show(consultant, f"/grants/calls/{ids['call']}")
    assert options(page, "opportunity_id") == [
        (str(mine), "Linia lakiernicza — Stolarnia Dąb sp. z o.o."),
        (str(theirs), "Piec dla piekarni — Piekarnia Kłos")]
    data = {"csrf_token": csrf(page), "target": "Stolarnia Dąb", "target_id": str(ids["firm"]),
            "owner_id": str(ids["consultant"]), "opportunity_id": str(theirs)}
    refused = consultant.post(f"/grants/calls/{ids['call']}/apply", data=data)
    assert refused.status_code == 422
    assert error_under(text(refused), "opportunity_id") == (
        "“Piec dla piekarni” was sold to another client firm.")
    assert f'<option value="{theirs}" selected>' in text(refused)  # kept as chosen
    response = consultant.post(f"/grants/calls/{ids['call']}/apply",
                               data={**data, "opportunity_id": str(mine)})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        case = session.scalars(select(Case).where(
            Case.process_key == "grants.application")).one()
    card = show(consultant, f"/cases/{mine}")
    listed = re.search(r'<p class="grants-applications".*?</p>', card, re.S).group(0)
    assert visible(listed) == "Grant applications: Ścieżka SMART — Stolarnia Dąb sp. z o.o."
    assert f'href="/cases/{case.id}"' in listed
    assert "Tied to the opportunity “Linia lakiernicza”" in show(consultant,
                                                                f"/cases/{case.id}")


def test_the_call_pages_name_only_organisations_the_viewer_may_see(app, ids):
    def restricted(w):
        role = roles.create(w.session, "no_firms", "No firms")
        roles.set_access(w.session, role, {("*", a): "all" for a in ACTIONS}
                         | {("organisation", "read"): "none"})
        roles.set_permissions(w.session, role, ["grants.manage"])
        _user(w.session, "blind@example.com", ["no_firms"], "Ola Niewidząca")
        return calls.apply(w.session, w.host, w.session.get(GrantCall, ids["call"]),
                           {"organisation_id": ids["firm"]}, w.consultant).id
    case_id = in_session(app, ids, restricted)
    blind = login(app, "blind@example.com")
    grantor = "Polska Agencja Rozwoju Przedsiębiorczości"
    page = show(blind, f"/grants/calls/{ids['call']}")
    assert grantor not in page
    # The client's name is not read for them: the application is named by its title.
    assert row(page, f"application-{case_id}") == (
        "Ścieżka SMART — Stolarnia Dąb sp. z o.o. Preparation — Piotr Doradca")
    assert grantor not in show(blind, "/grants/calls/")
    form = show(blind, f"/grants/calls/{ids['call']}/edit")
    assert grantor not in form and 'value="A record you may not see"' in form
    # Saved without touching it, the grantor they may not see stays.
    saved = blind.post(f"/grants/calls/{ids['call']}/edit", data={
        "csrf_token": csrf(form), "title": "Ścieżka SMART 2026",
        "deadline": in_days(30).isoformat(), "target": "A record you may not see",
        "target_id": str(ids["grantor"]),
        "version": re.search(r'name="version" value="(\d+)"', form).group(1),
        "required_attachments": "\n".join(ATTACHMENTS)})
    assert saved.status_code == 302, text(saved)
    with app.extensions["kartoteka"].session() as session:
        call = session.get(GrantCall, ids["call"])
        assert (call.title, call.grantor_id) == ("Ścieżka SMART 2026", ids["grantor"])


def test_a_closed_call_offers_no_form_and_a_manager_deletes_it(app, ids):
    with app.test_request_context(), app.extensions["kartoteka"].session() as session, \
            session.begin():
        call = session.get(GrantCall, ids["call"])
        calls.update(session, call, {"opens_on": in_days(-40).isoformat(),
                                     "deadline": in_days(-2).isoformat()},
                     users.find_by_email(session, "manager@example.com"))
    manager = login(app, "manager@example.com")
    page = show(manager, f"/grants/calls/{ids['call']}")
    assert "The deadline has passed: applications are no longer taken." in page
    assert f'action="/grants/calls/{ids["call"]}/apply' not in page
    response = manager.post(f"/grants/calls/{ids['call']}/delete",
                            data={"csrf_token": csrf(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/grants/calls/")
    assert "was moved to the bin" in show(manager, "/grants/calls/")
    assert manager.get(f"/grants/calls/{ids['call']}").status_code == 404


def test_a_correction_is_saved_on_the_version_it_was_made_on(app, ids):
    manager = login(app, "manager@example.com")
    form = show(manager, f"/grants/calls/{ids['call']}/edit")
    assert "Biznesplan\nOświadczenie o pomocy de minimis\nSprawozdania finansowe" in form
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    data = {"csrf_token": csrf(form), "title": "Ścieżka SMART 2026",
            "deadline": in_days(31).isoformat(), "target": "Polska Agencja",
            "target_id": str(ids["grantor"]), "version": version,
            "required_attachments": "\n".join(ATTACHMENTS)}
    assert manager.post(f"/grants/calls/{ids['call']}/edit", data=data).status_code == 302
    stale = manager.post(f"/grants/calls/{ids['call']}/edit", data={**data, "title": "Inny"})
    assert stale.status_code == 422
    assert "changed by someone else meanwhile" in text(stale)
    cleared = text(manager.post(f"/grants/calls/{ids['call']}/edit", data={
        **data, "version": str(int(version) + 1), "title": "", "deadline": ""}))
    assert error_under(cleared, "title") == "Enter the title of the call."
    assert error_under(cleared, "deadline") == "Enter the last day applications are taken."


# --- The REST API ------------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    from core import tokens

    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace(ids=ids)
    with rt.session() as session, session.begin():
        for name in ("manager", "consultant", "reader"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def test_the_api_lists_adds_corrects_and_deletes_calls(api):
    listed = api.reader("get", "/grants/calls/?status=open&limit=1")
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert [c["id"] for c in body["items"]] == [api.ids["call"]] and body["next"] is None
    item = body["items"][0]
    assert {k: item[k] for k in ("title", "deadline", "budget", "max_rate", "status",
                                 "days_left", "required_attachments")} == {
        "title": "Ścieżka SMART", "deadline": in_days(30).isoformat(),
        "budget": "250000000.00", "max_rate": "70.00", "status": "open", "days_left": 30,
        "required_attachments": ATTACHMENTS}
    assert api.reader("get", "/grants/calls/?status=soon").status_code == 422
    assert api.reader("get", "/grants/calls/?colour=red").status_code == 422

    data = {"title": "Bony na innowacje", "deadline": in_days(10).isoformat(),
            "required_attachments": ["Biznesplan"]}
    assert api.consultant("post", "/grants/calls/", json=data).status_code == 403
    made = api.manager("post", "/grants/calls/", json=data)
    assert made.status_code == 201, made.get_json()
    call_id = made.get_json()["id"]
    assert made.headers["ETag"] == '"1"'
    bad = api.manager("post", "/grants/calls/", json={
        **data, "opens_on": in_days(11).isoformat(), "max_rate": "150",
        "required_attachments": ["A", " a "]})
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    assert set(bad.get_json()["errors"]) == {"max_rate"}  # the format first, then the rest
    bad = api.manager("post", "/grants/calls/", json={
        **data, "opens_on": in_days(11).isoformat(), "required_attachments": ["A", " a "]})
    assert bad.get_json()["errors"] == {
        "deadline": f"The deadline cannot be before the call opens ({_long(in_days(11))}).",
        "required_attachments": "“a” is listed twice."}

    assert api.manager("patch", f"/grants/calls/{call_id}",
                       json={"budget": "100"}).status_code == 428
    changed = api.manager("patch", f"/grants/calls/{call_id}", json={"budget": "100000"},
                          headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["budget"] == "100000.00"
    assert api.manager("patch", f"/grants/calls/{call_id}", json={"budget": "5"},
                       headers={"If-Match": '"1"'}).status_code == 412
    assert api.consultant("delete", f"/grants/calls/{call_id}").status_code == 403
    assert api.manager("delete", f"/grants/calls/{call_id}").status_code == 204
    assert api.reader("get", f"/grants/calls/{call_id}").status_code == 404


def test_the_api_applies_for_a_client_and_refuses_after_the_deadline(api):
    call = api.ids["call"]
    made = api.consultant("post", f"/grants/calls/{call}/applications", json={
        "organisation_id": api.ids["firm"], "requested_amount": "350000",
        "project_value": "500000"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert {k: body[k] for k in ("call_id", "title", "organisation_id", "phase_key",
                                 "requested_amount", "project_value")} == {
        "call_id": call, "title": "Ścieżka SMART — Stolarnia Dąb sp. z o.o.",
        "organisation_id": api.ids["firm"], "phase_key": "preparation",
        "requested_amount": "350000.00", "project_value": "500000.00"}
    assert [i["name"] for i in body["checklist"]["items"]] == ATTACHMENTS
    assert (body["checklist"]["ready"], body["checklist"]["total"]) == (0, 3)
    listed = api.reader("get", f"/grants/calls/{call}/applications").get_json()
    assert [a["case_id"] for a in listed["items"]] == [body["case_id"]]
    assert listed["next"] is None
    assert api.reader("post", f"/grants/calls/{call}/applications", json={
        "organisation_id": api.ids["other"]}).status_code == 403
    unknown = api.consultant("post", f"/grants/calls/{call}/applications",
                             json={"organisation_id": 999999})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == {
        "organisation_id": "Choose a client firm from the list."}
    assert api.manager("patch", f"/grants/calls/{call}", json={
        "opens_on": in_days(-30).isoformat(), "deadline": in_days(-1).isoformat()},
        headers={"If-Match": "*"}).status_code == 200
    late = api.consultant("post", f"/grants/calls/{call}/applications",
                          json={"organisation_id": api.ids["other"]})
    assert late.status_code == 422 and set(late.get_json()["errors"]) == {"deadline"}


@contextmanager
def statements(engine):
    """The SQL statements sent to the database meanwhile."""
    said = []

    def heard(_conn, _cursor, statement, *_args):
        said.append(statement)

    event.listen(engine, "before_cursor_execute", heard)
    try:
        yield said
    finally:
        event.remove(engine, "before_cursor_execute", heard)


def test_the_api_ties_the_opportunity_named_and_pages_the_applications(app, api):
    rt, call = app.extensions["kartoteka"], api.ids["call"]

    def prepared(w):
        firms = [organisations.create(w.session, w.host, {
            "name": f"Firma {n}", "type_key": "core.company"}, w.manager,
            allow_duplicates=True).id for n in range(3)]
        return won(w, "Linia lakiernicza").id, firms
    sold, firms = in_session(app, api.ids, prepared)
    path = f"/grants/calls/{call}/applications"
    refused = api.consultant("post", path, json={"organisation_id": api.ids["other"],
                                                 "opportunity_id": sold})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {
        "opportunity_id": "“Linia lakiernicza” was sold to another client firm."}
    made = api.consultant("post", path, json={"organisation_id": api.ids["firm"],
                                              "opportunity_id": sold})
    assert made.status_code == 201, made.get_json()
    first = made.get_json()
    assert first["opportunity_id"] == sold
    api.reader("get", path)  # whatever a first request reads once

    def read(**query) -> tuple[dict, int]:
        with statements(rt.engine) as said:
            answer = api.reader("get", path, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json(), len(said)

    _body, alone = read()
    for firm in firms:
        assert api.consultant("post", path, json={"organisation_id": firm}).status_code == 201
    body, together = read()
    assert together == alone  # as many queries for four applications as for one
    assert [a["opportunity_id"] for a in body["items"]] == [sold, None, None, None]
    assert [a["organisation_id"] for a in body["items"]] == [api.ids["firm"], *firms]
    assert all(a["checklist"]["total"] == 3 and a["call_id"] == call for a in body["items"])
    page, _count = read(limit=3)
    assert len(page["items"]) == 3 and page["next"]
    rest, _count = read(limit=3, after=page["next"])
    assert [a["case_id"] for a in rest["items"]] == [body["items"][3]["case_id"]]
    assert rest["next"] is None
    ordered, _count = read(sort="-title", limit=2)
    assert [a["title"] for a in ordered["items"]] == [
        "Ścieżka SMART — Stolarnia Dąb sp. z o.o.", "Ścieżka SMART — Firma 2"]
    assert api.reader("get", path, query_string={"limit": 0}).status_code == 422
    assert api.reader("get", path, query_string={"sort": "colour"}).status_code == 422


def test_the_openapi_document_describes_the_calls(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= paths["/api/v1/grants/calls/"].keys()
    assert {"get", "patch", "delete"} <= paths["/api/v1/grants/calls/{call_id}"].keys()
    assert "post" in paths["/api/v1/grants/calls/{call_id}/applications"]
    assert {"post", "delete"} <= paths[
        "/api/v1/grants/applications/{case_id}/checklist/{item_id}/ready"].keys()
    parameters = {p["name"] for p in paths["/api/v1/grants/calls/"]["get"]["parameters"]}
    assert {"q", "status", "deadline_from", "deadline_to", "programme", "grantor_id",
            "limit", "after"} <= parameters
    listing = paths["/api/v1/grants/calls/{call_id}/applications"]["get"]
    assert {"limit", "after", "filter", "sort"} <= {p["name"] for p in listing["parameters"]}
    schemas = spec["components"]["schemas"]
    assert "opportunity_id" in schemas["GrantApplyIn"]["properties"]
    assert "opportunity_id" in schemas["GrantApplication"]["properties"]


def test_the_pages_are_worded_with_the_installations_terms(kartoteka_app_factory, ids):
    app = kartoteka_app_factory(["grants"], default_locale="pl")
    rt = app.extensions["kartoteka"]
    manager = login(app, "manager@example.com")
    assert "<h1>Nabory</h1>" in show(manager, "/grants/calls/")
    with app.test_request_context(), rt.session() as session, session.begin():
        term_overrides.save(session, rt.host.terms, "grants.call", "pl",
                            {"nom": "konkurs", "gen": "konkursu", "acc": "konkurs"},
                            {"nom": "konkursy", "gen": "konkursów"}, gender="m3")
    page = show(manager, "/grants/calls/")
    assert "<h1>Konkursy</h1>" in page
    assert show(manager, f"/grants/calls/{ids['call']}")
    assert show(manager, f"/grants/calls/{ids['call']}/edit")

"""The grant award, the grant agreement and its payment requests (GR-3): the checks of the
steps to "awarded", "agreement" and "settled"; the requests generated from the agreement
with exact amounts (never zero nor negative) and deadlines, once, each deadline in the
owner's calendar while it stands; the statuses they go through (submitted, approved for
all or less, rejected, corrected and submitted again, paid, cancelled) with the team's
notes kept; a planned or rejected one's correction; the cover letter; the section on
the application's card and the REST API. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import (
    calendar,
    cases,
    documents,
    field_definitions,
    organisations,
    roles,
    timeline,
    tokens,
    users,
    workflow,
)
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import AuditEntry, Case, DocumentTemplate, FieldDefinition
from core.permissions import ACTIONS
from plugins.grants import deadlines, payment_requests
from plugins.grants.models import PaymentRequest
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
PROCESS = "grants.application"
PROBLEM = "application/problem+json"
# The worked example: 400 000,00 zł, 20 % advance, 2 interim requests, 10 % final, the
# project through 2027, the agreement signed on 15 December 2026.
AGREEMENT = {
    "grants_requested_amount": "450000", "grants_project_value": "600000",
    "grants_awarded_amount": "400000", "grants_awarded_on": "2026-11-30",
    "grants_agreement_number": "FENG.01.01-IP.02-0042/26",
    "grants_agreement_date": "2026-12-15", "grants_project_start": "2027-01-01",
    "grants_project_end": "2027-12-31", "grants_advance_percent": "20",
    "grants_interim_requests": 2, "grants_final_percent": "10"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: the adviser who owns the applications, a colleague who may read every
    case but change none, an administrator; the client firm; an application in
    evaluation with its agreement filled in, one with nothing filled in, and a case of
    another process."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        owner = _user(session, "owner@example.com", ["staff"], "Anna Doradca")
        _user(session, "reader@example.com", ["readers"], "Olga Czyta")
        admin = users.create_user(session, "admin@example.com", PASSWORD, full_name="Admin",
                                  is_admin=True)
        client = organisations.create(session, rt.host, {
            "name": "Stolarnia Dąb sp. z o.o.", "type_key": "core.company"}, owner)
        full = _application(session, rt.host, owner, client, "Hala produkcyjna", AGREEMENT)
        empty = _application(session, rt.host, owner, client, "Linia lakiernicza", {})
        other = Case(title="Przegląd instalacji", process_key="elsewhere.service",
                     phase_key="open", owner_id=owner.id)
        session.add(other)
        session.flush()
        return {"full": full.id, "empty": empty.id, "other": other.id, "owner": owner.id,
                "admin": admin.id, "client": client.id}


def _user(session, email, role_keys, name):
    user = users.create_user(session, email, PASSWORD, full_name=name)
    roles.assign(session, user, role_keys)
    return user


def _application(session, host, owner, client, title, custom):
    case = cases.create(session, host, {"title": title, "process_key": PROCESS,
                                        "owner_id": owner.id, "organisation_id": client.id,
                                        "custom": custom}, actor=owner)
    case.phase_key = "evaluation"  # prepared, submitted and evaluated: not this part's steps
    session.flush()
    return case


@pytest.fixture
def world(app, ids):
    """A request context with an open session, the applications and the accounts."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, settings=rt.settings)
        w.full, w.empty = session.get(Case, ids["full"]), session.get(Case, ids["empty"])
        w.owner = users.find_by_email(session, "owner@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.admin = users.find_by_email(session, "admin@example.com")
        w.move = lambda case, target, actor=None: workflow.move(
            session, rt.host, case, target, actor or w.owner)
        w.fill = lambda case, custom: cases.update(session, rt.host, case, {"custom": custom},
                                                   w.owner)
        yield w


def agreed(world, case=None, **custom):
    """The application taken to "agreement" (its agreement filled in with ``custom``)."""
    case = case or world.full
    if custom:
        world.fill(case, custom)
    world.move(case, "awarded")
    world.move(case, "agreement")
    return payment_requests.listed(world.session, case, world.owner)


def rows(found):
    return [(r.position, r.kind, r.amount, r.period_start, r.period_end, r.due_on, r.status)
            for r in found]


def events(world, case, prefix="grants.payment_request_"):
    return [(a.subject, a.body) for a in reversed(timeline.timeline(world.session, case))
            if a.event.startswith(prefix)]


def d(text_: str) -> date:
    return date.fromisoformat(text_)


def shown(day: date) -> str:
    """A day as the English pages and notes write it: "Dec 7, 2026"."""
    return day.strftime("%b %-d, %Y")


def deadline_days(world, found) -> list[date]:
    """The days the request's deadline stands in the owner's calendar."""
    start = datetime(1990, 1, 1, tzinfo=UTC)
    return [calendar.days_of(e, UTC)[0] for e in calendar.between(
        world.session, start, start + timedelta(days=20000), user=world.owner)
        if ("grants_payment_request", found.id) in {(k.record_type, k.record_id)
                                                    for k in e.links}]


# --- The checks ------------------------------------------------------------------------------

def test_the_award_needs_the_amount_and_the_day_within_the_request_and_project(world):
    check = payment_requests.award_missing
    assert check(world.session, world.empty) == "Fill in: Grant awarded, Awarded on."
    with pytest.raises(ValidationError) as refused:
        world.move(world.empty, "awarded")
    assert refused.value.errors == {"check.grants.award": "Fill in: Grant awarded, Awarded on."}
    world.fill(world.empty, {"grants_awarded_amount": "0", "grants_awarded_on": "2026-11-30"})
    assert check(world.session, world.empty) == "Grant awarded must be more than zero."
    world.fill(world.empty, {"grants_awarded_amount": "700000",
                             "grants_requested_amount": "450000",
                             "grants_project_value": "600000"})
    assert check(world.session, world.empty) == (
        "Grant awarded (PLN700,000.00) may not exceed Grant requested (PLN450,000.00). "
        "Grant awarded (PLN700,000.00) may not exceed Project value (PLN600,000.00).")
    world.fill(world.empty, {"grants_awarded_amount": "450000"})
    assert check(world.session, world.empty) is None
    world.move(world.empty, "awarded")
    assert world.empty.phase_key == "awarded"


def test_the_agreement_check_names_every_missing_field_by_its_label(world):
    world.fill(world.empty, {"grants_awarded_amount": "100000",
                             "grants_awarded_on": "2026-11-30",
                             "grants_advance_percent": "", "grants_interim_requests": "",
                             "grants_final_percent": ""})
    world.move(world.empty, "awarded")
    reason = ("Fill in: Grant agreement number, Agreement signed on, Project starts, "
              "Project ends, Advance (% of the grant), Interim payment requests, "
              "Final payment (% of the grant).")
    assert payment_requests.agreement_missing(world.session, world.empty) == reason
    with pytest.raises(ValidationError) as refused:
        world.move(world.empty, "agreement")
    assert refused.value.errors == {"check.grants.agreement": reason}
    assert world.session.scalar(select(func.count()).select_from(PaymentRequest)) == 0

    world.fill(world.empty, {"grants_agreement_number": "UDA/1/2026",
                             "grants_agreement_date": "2026-12-01",
                             "grants_project_start": "2027-06-30",
                             "grants_project_end": "2027-01-01",
                             "grants_advance_percent": "95", "grants_final_percent": "10",
                             "grants_interim_requests": "1"})
    assert payment_requests.agreement_missing(world.session, world.empty) == (
        "Project starts must be before Project ends. Advance (% of the grant) and Final "
        "payment (% of the grant) add up to more than 100 (105).")
    world.fill(world.empty, {"grants_project_start": "2027-01-01",
                             "grants_project_end": "2027-01-03",
                             "grants_advance_percent": "0", "grants_interim_requests": "5"})
    assert payment_requests.agreement_missing(world.session, world.empty) == (
        "The project lasts 3 days: too short to split among 6 payment requests.")


def test_an_agreement_leaving_a_request_nothing_is_refused_by_its_fields(world):
    world.fill(world.empty, {**AGREEMENT, "grants_advance_percent": "90"})
    check = payment_requests.agreement_missing
    assert check(world.session, world.empty) == (
        "Advance (% of the grant) and Final payment (% of the grant) leave PLN0.00 for 2 "
        "interim payment requests: less than PLN0.01 each.")
    world.move(world.empty, "awarded")
    with pytest.raises(ValidationError) as refused:
        world.move(world.empty, "agreement")
    assert list(refused.value.errors) == ["check.grants.agreement"]
    assert world.session.scalar(select(func.count()).select_from(PaymentRequest)) == 0
    # Half of 100 000,03 twice, rounded down, leaves a grosz for four interim requests.
    world.fill(world.empty, {"grants_awarded_amount": "100000.03",
                             "grants_advance_percent": "50", "grants_final_percent": "50",
                             "grants_interim_requests": 4})
    assert check(world.session, world.empty) == (
        "Advance (% of the grant) and Final payment (% of the grant) leave PLN0.01 for 4 "
        "interim payment requests: less than PLN0.01 each.")
    world.fill(world.empty, {"grants_advance_percent": "20", "grants_final_percent": "0"})
    assert check(world.session, world.empty) == (
        "Final payment (% of the grant) gives the final payment request less than PLN0.01.")
    world.fill(world.empty, {"grants_advance_percent": "100", "grants_interim_requests": 0})
    assert check(world.session, world.empty) == (
        "Advance (% of the grant) leaves less than PLN0.01 for the final payment request.")
    with pytest.raises(ValidationError) as refused:
        payment_requests.plan(world.session, world.empty)
    assert list(refused.value.errors) == ["agreement"]


def test_rounding_never_makes_a_part_negative_and_the_parts_add_up(world):
    # Half up, 50 % of 100 000,01 was 50 000,01 twice, and the interim request -0,01.
    found = agreed(world, grants_awarded_amount="100000.01", grants_advance_percent="50",
                   grants_final_percent="50", grants_interim_requests=1)
    assert [(r.kind, r.amount) for r in found] == [
        ("advance", Decimal("50000.00")), ("interim", Decimal("0.01")),
        ("final", Decimal("50000.00"))]
    amounts = payment_requests.amounts
    for granted, advance, final, interim in (
            ("100000.01", "50", "50", 1), ("0.05", "33.33", "33.33", 3),
            ("123456.79", "12.345", "7.655", 7), ("99999.99", "0", "99.99", 1),
            ("10.00", "33.335", "0", 0)):
        first, middle, last = amounts(Decimal(granted), Decimal(advance), Decimal(final),
                                      interim)
        assert min([first, last, *middle]) >= 0 and all(a > 0 for a in (last, *middle))
        assert first + sum(middle) + last == Decimal(granted)
        assert len(middle) == interim and middle[:-1] == middle[:1] * (interim - 1)
    # The odd grosze go to the last interim request; without one the final takes them.
    assert amounts(Decimal("100.00"), Decimal("10.009"), Decimal("10"), 3) == (
        Decimal("10.00"), [Decimal("26.66"), Decimal("26.66"), Decimal("26.68")],
        Decimal("10.00"))
    assert amounts(Decimal("10.00"), Decimal("33.335"), Decimal("50"), 0) == (
        Decimal("3.33"), [], Decimal("6.67"))


def test_the_agreement_check_follows_a_field_an_administrator_renamed(world):
    row = world.session.scalar(select(FieldDefinition).where(
        FieldDefinition.key == "grants_agreement_number"))
    field_definitions.change(world.session, row, {"label_en": "Contract no."}, world.admin)
    world.session.flush()
    world.fill(world.empty, {"grants_awarded_amount": "100000",
                             "grants_awarded_on": "2026-11-30"})
    assert payment_requests.agreement_missing(world.session, world.empty).startswith(
        "Fill in: Contract no., Agreement signed on, ")


# --- Generating ------------------------------------------------------------------------------

def test_the_worked_example_makes_four_requests_with_exact_amounts_and_deadlines(world):
    found = agreed(world)
    assert rows(found) == [
        (1, "advance", Decimal("80000.00"), None, None, d("2027-01-14"), "planned"),
        (2, "interim", Decimal("140000.00"), d("2027-01-01"), d("2027-04-30"), d("2027-05-30"),
         "planned"),
        (3, "interim", Decimal("140000.00"), d("2027-05-01"), d("2027-08-31"), d("2027-09-30"),
         "planned"),
        (4, "final", Decimal("40000.00"), d("2027-09-01"), d("2027-12-31"), d("2028-01-30"),
         "planned")]
    assert sum(r.amount for r in found) == Decimal("400000.00")
    [(subject, body)] = events(world, world.full, "grants.payment_requests_generated")
    assert subject == "Payment requests generated: 4, PLN400,000.00"
    assert body.splitlines()[0] == ("Payment request no. 1 (advance): PLN80,000.00 "
                                    "due on Jan 14, 2027")
    assert body.splitlines()[1] == ("Payment request no. 2 (interim): PLN140,000.00 for "
                                    "Jan 1, 2027 – Apr 30, 2027 due on May 30, 2027")


def test_each_deadline_is_in_the_owners_calendar_and_feed(world):
    found = agreed(world)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    shown = calendar.between(world.session, start, start + timedelta(days=400), user=world.owner)
    assert [(e.title, calendar.days_of(e, UTC)[0]) for e in shown] == [
        (f"Due: {payment_requests.label(r)}, Hala produkcyjna", r.due_on) for r in found]
    assert {(link.record_type, link.record_id) for link in shown[0].links} == {
        ("case", world.full.id), ("grants_payment_request", found[0].id)}
    feed = calendar.ical_feed(world.session, user=world.owner,
                              now=datetime(2026, 12, 7, tzinfo=UTC))
    assert b"Due: Payment request no. 4 (final)" in feed
    assert b"DTSTART;VALUE=DATE:20280130" in feed


def test_an_awkward_amount_is_split_to_the_grosz_and_adds_up_exactly(world):
    found = agreed(world, grants_awarded_amount="123456.78",
                   grants_requested_amount="200000", grants_advance_percent="33.33",
                   grants_final_percent="7", grants_interim_requests=3,
                   grants_project_start="2027-01-15", grants_project_end="2027-06-10")
    assert [(r.kind, r.amount) for r in found] == [
        ("advance", Decimal("41148.14")), ("interim", Decimal("24555.55")),
        ("interim", Decimal("24555.55")), ("interim", Decimal("24555.57")),
        ("final", Decimal("8641.97"))]
    assert sum(r.amount for r in found) == Decimal("123456.78")
    # Not whole months: the 147 days in four consecutive parts.
    assert [(r.period_start, r.period_end) for r in found[1:]] == [
        (d("2027-01-15"), d("2027-02-19")), (d("2027-02-20"), d("2027-03-28")),
        (d("2027-03-29"), d("2027-05-04")), (d("2027-05-05"), d("2027-06-10"))]


def test_the_days_come_from_the_process_settings(world):
    from plugins.grants.process import APPLICATION

    workflow.change_settings(world.session, APPLICATION,
                             {"advance_days": "14", "submit_days": "45"}, world.admin)
    found = agreed(world)
    assert [r.due_on for r in found] == [d("2026-12-29"), d("2027-06-14"), d("2027-10-15"),
                                         d("2028-02-14")]


def test_no_advance_at_zero_and_without_interim_requests_the_final_claims_the_rest(world):
    found = agreed(world, grants_advance_percent="0", grants_interim_requests=0)
    assert rows(found) == [(1, "final", Decimal("400000.00"), d("2027-01-01"),
                            d("2027-12-31"), d("2028-01-30"), "planned")]
    planned = payment_requests.plan(world.session, world.full)
    assert [(p.kind, p.amount) for p in planned] == [("final", Decimal("400000.00"))]


def test_generating_again_keeps_the_requests_there_are(world):
    found = agreed(world)
    again = payment_requests.generate(world.session, world.full, world.owner)
    assert [r.id for r in again] == [r.id for r in found]
    assert world.session.scalar(select(func.count()).select_from(PaymentRequest)) == 4
    assert len(events(world, world.full, "grants.payment_requests_generated")) == 1


# --- Status changes --------------------------------------------------------------------------

def test_a_request_is_submitted_approved_and_paid_each_on_the_timeline(world):
    advance = agreed(world)[0]
    day = today()
    payment_requests.submit(world.session, advance, {"submitted_on": day.isoformat()},
                            world.owner)
    assert (advance.status, advance.submitted_on) == ("submitted", day)
    payment_requests.approve(world.session, advance, {}, world.owner)
    assert (advance.status, advance.approved_amount) == ("approved", Decimal("80000.00"))
    payment_requests.pay(world.session, advance, {"paid_on": day.isoformat()}, world.owner)
    assert (advance.status, advance.paid_on) == ("paid", day)
    shown = day.strftime("%b %-d, %Y")
    assert events(world, world.full) == [
        (f"Payment request no. 1 (advance) submitted on {shown}", ""),
        ("Payment request no. 1 (advance) approved: PLN80,000.00", ""),
        (f"Payment request no. 1 (advance) paid on {shown}: PLN80,000.00", "")]
    trail = world.session.execute(select(AuditEntry.action, AuditEntry.changes).where(
        AuditEntry.record_type == "grants_payment_request", AuditEntry.record_id == advance.id)
        .order_by(AuditEntry.id)).all()
    assert [action for action, _c in trail] == ["create", "update", "update", "update"]
    assert trail[1].changes["status"] == ["planned", "submitted"]
    assert trail[3].changes["paid_on"] == [None, day.isoformat()]


def test_bad_submissions_are_refused_field_by_field(world):
    advance = agreed(world)[0]
    for data, errors in (
            ({}, {"submitted_on": "Enter the day it was submitted."}),
            ({"submitted_on": "31.02.2027"}, {"submitted_on": "Enter a date, such as "
                                                              "2027-03-31."}),
            ({"submitted_on": (today() + timedelta(days=1)).isoformat()},
             {"submitted_on": "The day it was submitted cannot be in the future."})):
        with pytest.raises(ValidationError) as refused:
            payment_requests.submit(world.session, advance, data, world.owner)
        assert refused.value.errors == errors
    for change, data in ((payment_requests.approve, {}),
                         (payment_requests.reject, {"reason": "x"})):
        with pytest.raises(ValidationError) as refused:
            change(world.session, advance, data, world.owner)
        assert refused.value.errors == {"status": "The payment request is planned: only a "
                                                  "submitted one is approved or rejected."}
    with pytest.raises(ValidationError) as refused:
        payment_requests.pay(world.session, advance, {}, world.owner)
    assert refused.value.errors == {
        "paid_on": "Enter the day it was paid.",
        "status": "Only an approved payment request can be paid; this one is planned."}
    assert advance.status == "planned" and events(world, world.full) == []


def test_less_may_be_approved_with_a_note_never_more(world):
    interim = agreed(world)[1]
    payment_requests.change(world.session, interim, {"notes": "Faktury w segregatorze 3."},
                            world.owner)
    payment_requests.submit(world.session, interim, {"submitted_on": today().isoformat()},
                            world.owner)
    with pytest.raises(ValidationError) as refused:
        payment_requests.approve(world.session, interim, {"approved_amount": "140000,01"},
                                 world.owner)
    assert refused.value.errors == {"approved_amount": "At most the amount requested: "
                                                       "PLN140,000.00."}
    with pytest.raises(ValidationError) as refused:
        payment_requests.approve(world.session, interim, {"approved_amount": "abc"},
                                 world.owner)
    assert refused.value.errors == {"approved_amount": "Enter an amount, such as 12500,50."}
    with pytest.raises(ValidationError) as refused:
        payment_requests.approve(world.session, interim, {"approved_amount": "130 000"},
                                 world.owner)
    assert refused.value.errors == {"notes": "Say why less than requested was approved."}
    payment_requests.approve(world.session, interim, {
        "approved_amount": "130 000,50", "notes": "Koszt szkolenia niekwalifikowalny."},
        world.owner)
    assert (interim.status, interim.approved_amount, interim.notes) == (
        "approved", Decimal("130000.50"), "Faktury w segregatorze 3.\n"
        f"Approved on {shown(today())}: Koszt szkolenia niekwalifikowalny.")
    assert events(world, world.full)[-1] == (
        "Payment request no. 2 (interim) approved: PLN130,000.50",
        "PLN130,000.50 of PLN140,000.00 requested.\nKoszt szkolenia niekwalifikowalny.")


def test_a_rejected_request_is_corrected_and_submitted_again_keeping_the_notes(world):
    interim = agreed(world)[1]
    yesterday = today() - timedelta(days=1)
    payment_requests.change(world.session, interim, {"notes": "Opiekun: p. Nowak."},
                            world.owner)
    payment_requests.submit(world.session, interim, {"submitted_on": yesterday.isoformat()},
                            world.owner)
    for data in ({}, {"reason": "  "}):
        with pytest.raises(ValidationError) as refused:
            payment_requests.reject(world.session, interim, data, world.owner)
        assert refused.value.errors == {"reason": "Say why the grantor rejected it."}
    payment_requests.reject(world.session, interim, {"reason": " Brak faktur. "}, world.owner)
    assert interim.status == "rejected"
    assert interim.notes == f"Opiekun: p. Nowak.\nRejected on {shown(today())}: Brak faktur."
    assert events(world, world.full)[-1] == ("Payment request no. 2 (interim) rejected",
                                             "Brak faktur.")
    assert deadline_days(world, interim) == []  # gone at the submission

    # Corrected: the grantor's new date comes back to the calendar and is reminded afresh.
    interim.reminded_on = interim.escalated_on = d("2027-05-20")
    payment_requests.change(world.session, interim, {"amount": "139000",
                                                     "due_on": "2027-06-15"}, world.owner)
    assert (interim.amount, interim.due_on, interim.status) == (
        Decimal("139000.00"), d("2027-06-15"), "rejected")
    assert (interim.reminded_on, interim.escalated_on) == (None, None)
    assert deadline_days(world, interim) == [d("2027-06-15")]
    assert "Opiekun: p. Nowak." in interim.notes

    with pytest.raises(ValidationError) as refused:
        payment_requests.submit(world.session, interim,
                                {"submitted_on": yesterday.isoformat()}, world.owner)
    assert refused.value.errors == {"submitted_on": "It cannot be submitted again before it "
                                                    f"was rejected ({shown(today())})."}
    payment_requests.submit(world.session, interim, {"submitted_on": today().isoformat()},
                            world.owner)
    assert (interim.status, interim.submitted_on) == ("submitted", today())
    assert deadline_days(world, interim) == []
    with pytest.raises(ValidationError) as refused:
        payment_requests.submit(world.session, interim, {"submitted_on": today().isoformat()},
                                world.owner)
    assert refused.value.errors == {
        "status": "The payment request was submitted already; now it is submitted."}
    with pytest.raises(ValidationError) as refused:
        payment_requests.change(world.session, interim, {"due_on": "2027-07-01"}, world.owner)
    assert refused.value.errors == {"status": "Only a planned or rejected payment request "
                                              "can be changed; this one is submitted."}
    payment_requests.approve(world.session, interim, {}, world.owner)
    assert interim.notes.startswith("Opiekun: p. Nowak.\nRejected on ")
    with pytest.raises(ValidationError) as refused:
        payment_requests.pay(world.session, interim, {"paid_on": yesterday.isoformat()},
                             world.owner)
    assert refused.value.errors == {
        "paid_on": f"It cannot be paid before it was submitted ({shown(today())})."}


def test_a_submitted_or_paid_request_leaves_the_calendar_and_its_feed_says_so(world):
    advance = agreed(world)[0]
    assert deadline_days(world, advance) == [d("2027-01-14")]
    payment_requests.submit(world.session, advance, {"submitted_on": today().isoformat()},
                            world.owner)
    assert deadline_days(world, advance) == []
    feed = calendar.ical_feed(world.session, user=world.owner)
    entry = feed.split(b"Due: Payment request no. 1 (advance)")[1].split(b"END:VEVENT")[0]
    assert b"STATUS:CANCELLED" in entry
    payment_requests.approve(world.session, advance, {}, world.owner)
    payment_requests.pay(world.session, advance, {"paid_on": today().isoformat()},
                         world.owner)
    assert deadline_days(world, advance) == []
    # The amount of a planned one is corrected: its deadline stays where it is.
    final = payment_requests.listed(world.session, world.full, world.owner)[-1]
    payment_requests.change(world.session, final, {"amount": "40000.50"}, world.owner)
    assert deadline_days(world, final) == [d("2028-01-30")]


def test_only_who_may_change_the_application_changes_its_requests(world):
    advance = agreed(world)[0]
    assert payment_requests.listed(world.session, world.full, world.reader)[0] is advance
    assert payment_requests.get(world.session, advance.id, world.reader) is advance
    assert not payment_requests.may_change(world.session, world.reader, world.full)
    message = "You cannot change payment requests: you may not change the grant application."
    for change, data in ((payment_requests.submit, {"submitted_on": today().isoformat()}),
                         (payment_requests.change, {"amount": "1"})):
        with pytest.raises(Forbidden, match=message):
            change(world.session, advance, data, world.reader)
    with pytest.raises(Forbidden):
        payment_requests.document(world.session, world.host, world.settings, advance,
                                  world.reader)
    assert advance.status == "planned"


def test_a_planned_request_is_corrected_and_its_deadline_moves(world):
    found = agreed(world)
    final = found[-1]
    with pytest.raises(ValidationError) as refused:
        payment_requests.change(world.session, final, {"amount": "-1", "due_on": "jutro"},
                                world.owner)
    assert refused.value.errors == {"amount": "Enter an amount from 0 to 999 999 999 999,99.",
                                    "due_on": "Enter a date, such as 2027-03-31."}
    with pytest.raises(ValidationError) as refused:
        payment_requests.change(world.session, final, {"amount": "0,00"}, world.owner)
    assert refused.value.errors == {"amount": "Enter more than zero: cancel a request that "
                                              "will not be made."}
    payment_requests.change(world.session, final, {"amount": "45000", "due_on": "2028-02-15",
                                                   "notes": "Aneks nr 1."}, world.owner)
    assert (final.amount, final.due_on, final.notes) == (
        Decimal("45000.00"), d("2028-02-15"), "Aneks nr 1.")
    totals = payment_requests.totals(world.full, found)
    assert (totals.requested, totals.difference) == (Decimal("405000.00"), Decimal("5000.00"))
    [event] = [e for e in calendar.between(
        world.session, datetime(2028, 1, 1, tzinfo=UTC),
        datetime(2028, 3, 1, tzinfo=UTC), user=world.owner)]
    assert calendar.days_of(event, UTC)[0] == d("2028-02-15")
    assert events(world, world.full)[-1][0] == "Payment request no. 4 (final) changed"

    advance = found[0]
    payment_requests.submit(world.session, advance, {"submitted_on": today().isoformat()},
                            world.owner)
    with pytest.raises(ValidationError) as refused:
        payment_requests.change(world.session, advance, {"amount": "1"}, world.owner)
    assert refused.value.errors == {"status": "Only a planned or rejected payment request "
                                              "can be changed; this one is submitted."}
    payment_requests.change(world.session, advance, {"notes": "Złożony przez SL2021."},
                            world.owner)
    assert advance.notes == "Złożony przez SL2021."


def test_the_grant_is_settled_only_when_every_request_is_paid(world):
    found = agreed(world)
    with pytest.raises(ValidationError) as refused:
        world.move(world.full, "settled")
    assert refused.value.errors == {
        "check.grants.paid": "Payment requests not paid yet: 4 of 4."}
    day = today().isoformat()
    for r in found[:-1]:
        payment_requests.submit(world.session, r, {"submitted_on": day}, world.owner)
        payment_requests.approve(world.session, r, {}, world.owner)
        payment_requests.pay(world.session, r, {"paid_on": day}, world.owner)
    assert payment_requests.unpaid(world.session, world.full) == (
        "Payment requests not paid yet: 1 of 4.")
    last = found[-1]
    payment_requests.submit(world.session, last, {"submitted_on": day}, world.owner)
    payment_requests.approve(world.session, last, {}, world.owner)
    payment_requests.pay(world.session, last, {"paid_on": day}, world.owner)
    world.move(world.full, "settled")
    assert world.full.phase_key == "settled"


def reminded(world) -> list[int]:
    """The payment requests the deadlines remind of."""
    return [o.record_id for o in deadlines.upcoming(
        world.session, world.owner, d("2026-01-01"), d("2029-12-31"),
        kinds=[deadlines.PAYMENT_REQUEST])]


def test_a_request_is_cancelled_with_a_reason_and_no_longer_counted_or_reminded(world):
    advance, second, third, final = agreed(world)
    assert reminded(world) == [advance.id, second.id, third.id, final.id]
    with pytest.raises(Forbidden):
        payment_requests.cancel(world.session, third, {"reason": "x"}, world.reader)
    with pytest.raises(ValidationError) as refused:
        payment_requests.cancel(world.session, third, {"reason": " "}, world.owner)
    assert refused.value.errors == {"reason": "Say why it is cancelled."}
    payment_requests.change(world.session, third, {"notes": "Do uzgodnienia."}, world.owner)
    payment_requests.cancel(world.session, third, {"reason": "Aneks nr 1: jeden wniosek "
                                                             "pośredni."}, world.owner)
    assert (third.status, payment_requests.status_name(third.status)) == (
        "cancelled", "cancelled")
    assert third.notes == ("Do uzgodnienia.\n"
                           f"Cancelled on {shown(today())}: Aneks nr 1: jeden wniosek pośredni.")
    assert events(world, world.full)[-1] == ("Payment request no. 3 (interim) cancelled",
                                             "Aneks nr 1: jeden wniosek pośredni.")
    assert deadline_days(world, third) == [] and payment_requests.days_left(third) is None
    assert reminded(world) == [advance.id, second.id, final.id]
    found = payment_requests.listed(world.session, world.full, world.owner)
    assert third in found  # still listed
    totals = payment_requests.totals(world.full, found)
    assert (totals.requested, totals.difference) == (Decimal("260000.00"),
                                                     Decimal("-140000.00"))

    for change, data, message in (
            (payment_requests.submit, {"submitted_on": today().isoformat()},
             "The payment request is cancelled: it cannot be submitted any more."),
            (payment_requests.cancel, {"reason": "x"}, "Only a planned or rejected payment "
                                                       "request can be cancelled; this one is "
                                                       "cancelled."),
            (payment_requests.change, {"amount": "1"}, "Only a planned or rejected payment "
                                                       "request can be changed; this one is "
                                                       "cancelled.")):
        with pytest.raises(ValidationError) as refused:
            change(world.session, third, data, world.owner)
        assert refused.value.errors == {"status": message}
    with pytest.raises(ValidationError) as refused:
        payment_requests.document(world.session, world.host, world.settings, third,
                                  world.owner)
    assert refused.value.errors == {
        "status": "The payment request is cancelled: it needs no cover letter."}

    day = today().isoformat()
    payment_requests.submit(world.session, second, {"submitted_on": day}, world.owner)
    with pytest.raises(ValidationError) as refused:
        payment_requests.cancel(world.session, second, {"reason": "x"}, world.owner)
    assert refused.value.errors == {"status": "Only a planned or rejected payment request can "
                                              "be cancelled; this one is submitted."}
    payment_requests.reject(world.session, second, {"reason": "Brak protokołu."}, world.owner)
    payment_requests.cancel(world.session, second, {"reason": "Wycofany."}, world.owner)
    assert second.status == "cancelled" and "Rejected on" in second.notes
    assert payment_requests.unpaid(world.session, world.full) == (
        "Payment requests not paid yet: 2 of 2.")
    for r in (advance, final):
        payment_requests.submit(world.session, r, {"submitted_on": day}, world.owner)
        payment_requests.approve(world.session, r, {}, world.owner)
        payment_requests.pay(world.session, r, {"paid_on": day}, world.owner)
    world.move(world.full, "settled")
    assert world.full.phase_key == "settled"


def test_with_every_request_cancelled_there_is_nothing_to_settle(world):
    [final] = agreed(world, grants_advance_percent="0", grants_interim_requests=0)
    payment_requests.cancel(world.session, final, {"reason": "Rezygnacja z projektu."},
                            world.owner)
    with pytest.raises(ValidationError) as refused:
        world.move(world.full, "settled")
    assert refused.value.errors == {"check.grants.paid": "All the payment requests are "
                                                         "cancelled: nothing paid to settle."}


# --- The cover letter ------------------------------------------------------------------------

def test_the_cover_letter_is_made_numbered_and_kept_with_the_request(world):
    advance = agreed(world)[0]
    made = payment_requests.document(world.session, world.host, world.settings, advance,
                                     world.owner)
    assert made.number == f"WoP/{date.today().year}/0001"
    assert advance.document_id == made.id
    assert (made.record_type, made.record_id) == ("case", world.full.id)
    filled = payment_requests.letter_data(world.session, advance, world.owner)
    assert (filled["amount"], filled["agreement_number"], filled["kind"]) == (
        Decimal("80000.00"), "FENG.01.01-IP.02-0042/26", "advance")
    template = world.session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == "grants.payment_request"))
    html = documents.preview(world.session, world.host, template, world.full, world.owner,
                             world.settings)  # the core's preview: no payment request
    assert "Hala produkcyjna" in html and "FENG.01.01-IP.02-0042/26" in html
    assert '<td class="key">Wnioskowana kwota</td><td>—</td>' in html


def test_the_cover_letter_names_the_kind_amount_and_period(world):
    from core import templating

    found = agreed(world)
    context = documents.context(world.session, world.host, world.full, world.owner,
                                world.settings, "WoP/2026/0007")
    html = templating.render(payment_requests.LETTER, {
        **context, "payment_request": payment_requests.letter_data(world.session, found[1])})
    flat = re.sub(r"\s+", " ", html)
    assert "pośredni, nr 2" in flat and "PLN140,000.00" in flat
    assert "January 1, 2027 – April 30, 2027" in flat and "nr FENG.01.01-IP.02-0042/26" in flat


# --- The application's card ------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def section(page: str) -> str:
    return re.search(r'<section class="grants-payment-requests".*?</section>', page,
                     re.S).group(0)


def row(page: str, request_id: int) -> str:
    return visible(re.search(rf'<tr id="payment-request-{request_id}".*?</tr>', page,
                             re.S).group(0))


def committed_agreement(app, ids) -> list[int]:
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        owner = users.find_by_email(session, "owner@example.com")
        case = session.get(Case, ids["full"])
        workflow.move(session, rt.host, case, "awarded", owner)
        workflow.move(session, rt.host, case, "agreement", owner)
        found = payment_requests.listed(session, case, owner)
        # The advance's date passed unnoticed: it is overdue now.
        payment_requests.change(session, found[0], {"due_on": (
            today() - timedelta(days=3)).isoformat()}, owner)
        return [r.id for r in found]


def test_the_card_lists_the_requests_with_days_left_and_the_sum(app, ids):
    made = committed_agreement(app, ids)
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['full']}")
    panel = section(card)
    assert "<h2>Payment requests</h2>" in panel
    assert row(card, made[0]).startswith("Payment request no. 1 (advance) — PLN80,000.00")
    assert "3 days overdue" in row(card, made[0]) and 'class="error overdue"' in panel
    assert row(card, made[1]).startswith(
        "Payment request no. 2 (interim) Jan 1, 2027 – Apr 30, 2027 PLN140,000.00 "
        "May 30, 2027")
    assert "days left" in row(card, made[1]) and "planned" in row(card, made[1])
    assert "Grant awarded: PLN400,000.00" in visible(panel)
    assert "more than the grant awarded" not in panel

    response = owner.post(f"/grants/payment-requests/{made[0]}/submit", data={
        "csrf_token": csrf(card), "submitted_on": today().isoformat()})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{ids['full']}#payment-requests")
    card = show(owner, f"/cases/{ids['full']}")
    assert "submitted" in row(card, made[0]) and "overdue" not in row(card, made[0])
    assert "Payment request no. 1 (advance) submitted on" in card  # on the timeline
    assert 'name="approved_amount" value="80000.00"' in card

    response = owner.post(f"/grants/payment-requests/{made[3]}/edit", data={
        "csrf_token": csrf(card), "amount": "39000", "due_on": "2028-01-30", "notes": ""})
    assert response.status_code == 302
    panel = visible(section(show(owner, f"/cases/{ids['full']}")))
    assert "The requests claim PLN1,000.00 less than the grant awarded." in panel


def test_a_request_cancelled_on_its_page_is_greyed_on_the_card_out_of_the_sum(app, ids):
    made = committed_agreement(app, ids)
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['full']}")
    page = show(owner, f"/grants/payment-requests/{made[2]}")
    assert f'action="/grants/payment-requests/{made[2]}/cancel"' in page
    assert "Cancel the payment request" in visible(page)
    response = owner.post(f"/grants/payment-requests/{made[2]}/cancel", data={
        "csrf_token": csrf(card), "reason": ""})
    assert response.status_code == 422
    assert error_under(text(response), "reason") == "Say why it is cancelled."
    response = owner.post(f"/grants/payment-requests/{made[2]}/cancel", data={
        "csrf_token": csrf(card), "reason": "Aneks nr 1."})
    assert response.status_code == 302
    card = show(owner, f"/cases/{ids['full']}")
    assert re.search(rf'<tr id="payment-request-{made[2]}" class="status-cancelled muted">',
                     card)
    assert "cancelled" in row(card, made[2]) and "Aneks nr 1." in row(card, made[2])
    assert f"/grants/payment-requests/{made[2]}/submit" not in card
    assert f"/grants/payment-requests/{made[2]}/document" not in card
    assert "Payment request no. 3 (interim) cancelled" in card  # on the timeline
    panel = visible(section(card))
    assert "without the cancelled ones" in panel
    assert "The requests claim PLN140,000.00 less than the grant awarded." in panel
    page = text(owner.get(f"/grants/payment-requests/{made[2]}"))
    assert "Make the cover letter" not in page and "Record the submission" not in page


def test_a_refused_form_comes_back_with_the_message_under_its_field(app, ids):
    made = committed_agreement(app, ids)
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['full']}")
    response = owner.post(f"/grants/payment-requests/{made[1]}/submit", data={
        "csrf_token": csrf(card), "submitted_on": (today() + timedelta(days=2)).isoformat()})
    assert response.status_code == 422
    page = text(response)
    assert error_under(page, "submitted_on") == ("The day it was submitted cannot be in the "
                                                 "future.")
    assert "Nothing was saved" in page
    response = owner.post(f"/grants/payment-requests/{made[1]}/edit", data={
        "csrf_token": csrf(card), "amount": "", "due_on": "2027-05-30"})
    assert response.status_code == 422
    assert error_under(text(response), "amount") == "Enter the amount."


def test_a_reader_sees_the_requests_without_forms_and_other_cases_have_no_section(app, ids):
    made = committed_agreement(app, ids)
    reader = login(app, "reader@example.com")
    card = show(reader, f"/cases/{ids['full']}")
    assert "Payment request no. 1 (advance)" in section(card)
    assert "grants/payment-requests/" + str(made[0]) + "/submit" not in card
    response = reader.post(f"/grants/payment-requests/{made[0]}/submit", data={
        "csrf_token": csrf(card), "submitted_on": today().isoformat()})
    assert response.status_code == 403
    assert reader.get(f"/grants/payment-requests/{made[0]}/edit").status_code == 403
    assert 'id="payment-requests"' not in show(reader, f"/cases/{ids['empty']}")
    assert reader.get("/grants/payment-requests/999999").status_code == 404


def test_the_cover_letter_is_made_from_the_card(app, ids):
    made = committed_agreement(app, ids)
    owner = login(app, "owner@example.com")
    card = show(owner, f"/cases/{ids['full']}")
    response = owner.post(f"/grants/payment-requests/{made[2]}/document",
                          data={"csrf_token": csrf(card)})
    assert response.status_code == 302
    card = show(owner, f"/cases/{ids['full']}")
    assert f"Payment request cover letter WoP/{date.today().year}/0001" in row(card, made[2])


# --- The REST API ----------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace(ids=ids, requests=committed_agreement(app, ids))
    with rt.session() as session, session.begin():
        for name in ("owner", "reader"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def test_the_api_lists_and_takes_a_request_through_its_statuses(api):
    listed = api.reader("get", f"/grants/applications/{api.ids['full']}/payment-requests")
    assert listed.status_code == 200
    body = listed.get_json()
    assert [(r["kind"], r["amount"], r["due_on"]) for r in body[1:]] == [
        ("interim", "140000.00", "2027-05-30"), ("interim", "140000.00", "2027-09-30"),
        ("final", "40000.00", "2028-01-30")]
    assert (body[0]["days_left"], body[0]["status_name"]) == (-3, "planned")
    assert body[3]["label"] == "Payment request no. 4 (final)"
    request_id = api.requests[1]
    one = api.reader("get", f"/grants/payment-requests/{request_id}")
    assert one.headers["ETag"] == f'"{one.get_json()["version"]}"'

    stale = api.owner("post", f"/grants/payment-requests/{request_id}/submit",
                      json={"submitted_on": today().isoformat()}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    submitted = api.owner("post", f"/grants/payment-requests/{request_id}/submit",
                          json={"submitted_on": today().isoformat()},
                          headers={"If-Match": one.headers["ETag"]})
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["status"] == "submitted"
    assert submitted.get_json()["days_left"] is None
    rejected = api.owner("post", f"/grants/payment-requests/{request_id}/reject",
                         json={"reason": "Brak faktur."})
    assert (rejected.get_json()["status"], rejected.get_json()["notes"]) == (
        "rejected", f"Rejected on {shown(today())}: Brak faktur.")
    corrected = api.owner("patch", f"/grants/payment-requests/{request_id}",
                          json={"due_on": today().isoformat()})
    assert (corrected.status_code, corrected.get_json()["days_left"]) == (200, 0)
    api.owner("post", f"/grants/payment-requests/{request_id}/submit",
              json={"submitted_on": today().isoformat()})
    approved = api.owner("post", f"/grants/payment-requests/{request_id}/approve",
                         json={"approved_amount": "139000", "notes": "Korekta."})
    assert approved.get_json()["approved_amount"] == "139000.00"
    paid = api.owner("post", f"/grants/payment-requests/{request_id}/pay",
                     json={"paid_on": today().isoformat()})
    assert (paid.status_code, paid.get_json()["status"]) == (200, "paid")

    changed = api.owner("patch", f"/grants/payment-requests/{api.requests[3]}",
                        json={"amount": "41000.50", "due_on": "2028-02-01"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["amount"], changed.get_json()["due_on"]) == (
        "41000.50", "2028-02-01")
    letter = api.owner("post", f"/grants/payment-requests/{api.requests[3]}/document")
    assert letter.status_code == 201, letter.get_json()
    document_id = letter.get_json()["document_id"]
    assert api.owner("get", f"/documents/{document_id}").get_json()["number"].startswith("WoP/")


def test_the_api_cancels_a_request_which_stays_listed(api):
    request_id = api.requests[2]
    refused = api.owner("post", f"/grants/payment-requests/{request_id}/cancel", json={})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"reason": "Say why it is cancelled."}
    assert api.reader("post", f"/grants/payment-requests/{request_id}/cancel",
                      json={"reason": "x"}).status_code == 403
    cancelled = api.owner("post", f"/grants/payment-requests/{request_id}/cancel",
                          json={"reason": "Aneks nr 1."})
    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert (body["status"], body["status_name"], body["days_left"]) == (
        "cancelled", "cancelled", None)
    listed = api.reader("get", f"/grants/applications/{api.ids['full']}/payment-requests")
    assert [r["status"] for r in listed.get_json()] == [
        "planned", "planned", "cancelled", "planned"]
    again = api.owner("post", f"/grants/payment-requests/{request_id}/cancel",
                      json={"reason": "x"})
    assert again.get_json()["errors"] == {"status": "Only a planned or rejected payment "
                                                    "request can be cancelled; this one is "
                                                    "cancelled."}


def test_the_api_refuses_with_field_errors_403_and_404(api):
    request_id = api.requests[0]
    refused = api.owner("post", f"/grants/payment-requests/{request_id}/submit",
                        json={"submitted_on": "2999-01-01"})
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert refused.get_json()["errors"] == {
        "submitted_on": "The day it was submitted cannot be in the future."}
    refused = api.owner("post", f"/grants/payment-requests/{request_id}/approve", json={})
    assert refused.get_json()["errors"] == {
        "status": "The payment request is planned: only a submitted one is approved or "
                  "rejected."}
    unknown = api.owner("post", f"/grants/payment-requests/{request_id}/pay",
                        json={"paid_on": today().isoformat(), "amount": "1"})
    assert unknown.status_code == 422
    forbidden = api.reader("post", f"/grants/payment-requests/{request_id}/submit",
                           json={"submitted_on": today().isoformat()})
    assert forbidden.status_code == 403 and forbidden.content_type == PROBLEM
    assert api.reader("patch", f"/grants/payment-requests/{request_id}",
                      json={"notes": "x"}).status_code == 403
    assert api.owner("get", "/grants/payment-requests/999999").status_code == 404
    assert api.owner("get", f"/grants/applications/{api.ids['other']}/payment-requests"
                     ).status_code == 404
    empty = api.owner("get", f"/grants/applications/{api.ids['empty']}/payment-requests")
    assert (empty.status_code, empty.get_json()) == (200, [])


def test_the_openapi_document_describes_the_payment_requests(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert "get" in paths["/api/v1/grants/applications/{case_id}/payment-requests"]
    assert {"get", "patch"} <= paths["/api/v1/grants/payment-requests/{request_id}"].keys()
    for action in ("submit", "approve", "reject", "pay", "cancel", "document"):
        assert "post" in paths[f"/api/v1/grants/payment-requests/{{request_id}}/{action}"]
    approve = paths["/api/v1/grants/payment-requests/{request_id}/approve"]["post"]
    assert {"403", "412", "422"} <= approve["responses"].keys()
    schema = spec["components"]["schemas"]["GrantPaymentRequest"]["properties"]["status"]
    assert "cancelled" in schema["enum"]

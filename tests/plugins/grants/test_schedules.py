"""The payment schedule of an opportunity and the cooperation contract winning it makes
(GR-1, GR-2): instalments due on a day or at a milestone of the client's grant
application, set as a whole while the opportunity is open, the opportunity's amount
following their total; the won step waiting for a schedule, then making the contract
whose instalments the billing run invoices on their dates, and those waiting for a
milestone once an application of the same client reaches it. Through the service, the
opportunity's card and the REST API. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import (
    billing_runs,
    cases,
    organisations,
    roles,
    term_overrides,
    timeline,
    tokens,
    users,
    workflow,
)
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import AuditEntry, BillingRun, Case, Contract, Invoice, Job
from core.permissions import ACTIONS
from plugins.grants import schedules
from plugins.grants.models import OfferInstalment
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
COMPANY = {"company_name": "Centrum Wsparcia Biznesu sp. z o.o.",
           "company_details": "ul. Długa 1\n61-001 Poznań\nNIP 7773061579"}
PROBLEM = "application/problem+json"
D = Decimal
# The contract's title is Polish whatever the language of whoever wins it: it heads the
# lines of its invoices.
TITLE = "Umowa o współpracy: Dotacja na park maszynowy"


def later(days: int) -> date:
    return today() + timedelta(days=days)


def schedule(advance_on: date | None = None) -> list[dict]:
    """An advance on a day, the success fee on the grant's award, the rest once settled."""
    return [{"description": "Zaliczka", "amount": "2 000,00",
             "due_on": (advance_on or later(45)).isoformat()},
            {"description": "Wynagrodzenie za sukces", "amount": "9000.50",
             "milestone": "awarded"},
            {"description": "Rozliczenie", "amount": "1000", "milestone": "settled"}]


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en", **COMPANY)


@pytest.fixture
def ids(app):
    """Committed: a sales rep without billing who owns the opportunity, a clerk who
    bills, a colleague who may only read; the client firm, another firm, the
    opportunity in its offer phase, an application of the client and one of the other
    firm, both evaluated; a case of another process."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        billing = roles.create(session, "accounting", "Accounting")
        roles.set_permissions(session, billing, ["core.billing"])
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        rep = users.create_user(session, "rep@example.com", PASSWORD, "Ewa Handlowa")
        clerk = users.create_user(session, "clerk@example.com", PASSWORD, "Klara Księgowa",
                                  roles=["staff", "accounting"])
        users.create_user(session, "reader@example.com", PASSWORD, "Olga Czyta",
                          roles=["readers"])
        client = organisations.create(session, rt.host, {
            "name": "Stolarnia Nowak sp. z o.o.", "type_key": "core.company",
            "street": "ul. Leśna 4", "postal_code": "62-035", "city": "Kórnik"})
        other = organisations.create(session, rt.host, {
            "name": "Piekarnia Mosina", "type_key": "core.company", "city": "Mosina"})
        opportunity = cases.create(session, rt.host, {
            "title": "Dotacja na park maszynowy", "process_key": schedules.OPPORTUNITY,
            "owner_id": rep.id, "organisation_id": client.id}, actor=rep)
        for target in ("qualified", "offer"):
            workflow.move(session, rt.host, opportunity, target, rep)
        found = {"opportunity": opportunity.id, "client": client.id, "other_org": other.id,
                 "rep": rep.id, "clerk": clerk.id}
        for name, org in (("application", client), ("other_application", other)):
            found[name] = _evaluated(session, rt.host, org, rep).id
        elsewhere = Case(title="Przegląd instalacji", process_key="elsewhere.service",
                         phase_key="open", owner_id=rep.id)
        session.add(elsewhere)
        session.flush()
        found["elsewhere"] = elsewhere.id
        return found


def _evaluated(session, host, org, rep) -> Case:
    """An application of ``org`` being evaluated, its award filled in."""
    application = cases.create(session, host, {
        "title": f"Wniosek: {org.name}", "process_key": schedules.APPLICATION,
        "owner_id": rep.id, "organisation_id": org.id,
        "custom": {"grants_awarded_amount": "150000", "grants_awarded_on":
                   today().isoformat()}}, actor=rep)
    application.phase_key = "evaluation"  # its way there is another part's to test
    session.flush()
    return application


@pytest.fixture
def world(app, ids):
    """A request context with an open session, the cases and the three accounts."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, rt=rt, ids=ids)
        w.opportunity = session.get(Case, ids["opportunity"])
        w.application = session.get(Case, ids["application"])
        w.rep = users.find_by_email(session, "rep@example.com")
        w.clerk = users.find_by_email(session, "clerk@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.set = lambda items=None, actor=None: schedules.replace(
            session, w.opportunity, schedule() if items is None else items, actor or w.rep)
        w.move = lambda case, target, actor=None: workflow.move(
            session, rt.host, case, target, actor or w.rep)
        yield w


def events(session, record, prefix="grants."):
    return [(a.subject, a.body) for a in reversed(timeline.timeline(session, record))
            if a.event.startswith(prefix)]


def stored(session, case_id) -> list[tuple]:
    return [(i.position, i.description, i.amount, i.due_on, i.milestone)
            for i in session.scalars(select(OfferInstalment).where(
                OfferInstalment.case_id == case_id).order_by(OfferInstalment.position))]


# --- The schedule ------------------------------------------------------------------------------

def test_a_schedule_is_kept_in_order_and_the_opportunity_is_worth_its_total(world):
    advance = later(45)
    world.set()
    assert stored(world.session, world.opportunity.id) == [
        (1, "Zaliczka", D("2000.00"), advance, ""),
        (2, "Wynagrodzenie za sukces", D("9000.50"), None, "awarded"),
        (3, "Rozliczenie", D("1000.00"), None, "settled")]
    assert [i.description for i in schedules.of(world.session, world.opportunity,
                                                 world.reader)] == [
        "Zaliczka", "Wynagrodzenie za sukces", "Rozliczenie"]
    assert world.opportunity.amount == D("12000.50")
    day = advance.strftime("%d.%m.%Y")
    assert events(world.session, world.opportunity) == [(
        "Payment schedule set: 3 instalments, PLN12,000.50",
        f"1. Zaliczka: PLN2,000.00 ({day})\n"
        "2. Wynagrodzenie za sukces: PLN9,000.50 (grant awarded)\n"
        "3. Rozliczenie: PLN1,000.00 (grant settled)")]

    world.set([{"description": "Całość", "amount": "5000", "due_on": advance.isoformat()}])
    assert world.opportunity.amount == D("5000.00")
    world.set([])
    assert stored(world.session, world.opportunity.id) == []
    assert world.opportunity.amount is None
    assert [s for s, _body in events(world.session, world.opportunity)][1:] == [
        "Payment schedule set: 1 instalment, PLN5,000.00", "Payment schedule cleared"]


def test_every_change_of_the_schedule_is_in_the_opportunitys_audit_trail(world):
    world.set()
    world.set(schedule())  # the same again: nothing changed, nothing written
    trail = world.session.execute(select(AuditEntry.actor_id, AuditEntry.changes).where(
        AuditEntry.record_type == "case", AuditEntry.record_id == world.opportunity.id,
        AuditEntry.action == "update").order_by(AuditEntry.id)).all()
    changed = [changes for _actor, changes in trail if "grants_schedule" in changes]
    assert len(changed) == 1 and trail[-1].actor_id == world.rep.id
    assert changed[0]["grants_schedule"][0] in ([], None)
    assert changed[0]["grants_schedule"][1][1] == \
        "2. Wynagrodzenie za sukces: 9000.50 (awarded)"
    assert changed[0]["amount"] == [None, "12000.50"]


def test_bad_rows_are_refused_field_by_field_and_nothing_is_kept(world):
    with pytest.raises(ValidationError) as refused:
        world.set([
            {"description": "Zaliczka", "amount": "1000"},
            {"description": "Sukces", "amount": "-5", "due_on": "2026-06-30",
             "milestone": "awarded"},
            {"description": "  ", "amount": "0", "milestone": "signed"},
            {"amount": "12,345", "due_on": "30.06.2026", "colour": "red"},
            {"description": "x" * 301, "amount": "tysiąc", "due_on": "", "milestone": ""},
        ])
    assert refused.value.errors == {
        "instalments.0.due_on": "Give the day it is due, or the milestone it waits for.",
        "instalments.1.amount": "Enter an amount above zero, up to 999 999 999 999,99.",
        "instalments.1.milestone": "Give either the day or the milestone, not both.",
        "instalments.2.description": "Describe the instalment.",
        "instalments.2.amount": "Enter an amount above zero, up to 999 999 999 999,99.",
        "instalments.2.milestone": "Choose the milestone from the list.",
        "instalments.3.description": "Describe the instalment.",
        "instalments.3.amount": "At most 2 decimal places.",
        "instalments.3.due_on": "Enter a date, such as 2026-06-30.",
        "instalments.3.colour": "Unknown field.",
        "instalments.4.description": "At most 300 characters.",
        "instalments.4.amount": "Enter an amount, such as 12500,50.",
        "instalments.4.due_on": "Give the day it is due, or the milestone it waits for."}
    assert stored(world.session, world.opportunity.id) == []
    assert world.opportunity.amount is None


def test_too_many_rows_and_a_total_too_large_are_refused(world):
    row = {"description": "Rata", "amount": "1", "due_on": later(10).isoformat()}
    with pytest.raises(ValidationError) as refused:
        world.set([row] * (schedules.MAX_INSTALMENTS + 1))
    assert refused.value.errors == {"instalments": "At most 120 instalments."}
    with pytest.raises(ValidationError) as refused:
        world.set([{**row, "amount": "999999999999"}, {**row, "amount": "1"}])
    assert refused.value.errors == {
        "instalments": "The instalments add up to more than 999 999 999 999,99."}
    with pytest.raises(ValidationError) as refused:
        world.set("two instalments")
    assert refused.value.errors == {"instalments": "Not a valid list."}
    assert stored(world.session, world.opportunity.id) == []


def test_only_who_may_change_the_opportunity_sets_its_schedule(world):
    with pytest.raises(Forbidden, match="You cannot change the payment schedule: you may "
                                        "not change the opportunity."):
        world.set(actor=world.reader)
    assert schedules.may_change(world.session, world.rep, world.opportunity)
    assert not schedules.may_change(world.session, world.reader, world.opportunity)
    with pytest.raises(ValidationError) as refused:
        schedules.replace(world.session, world.application, schedule(), world.rep)
    assert refused.value.errors == {
        "case_id": "Payment schedules are offered on opportunities only."}
    assert stored(world.session, world.opportunity.id) == []


def test_a_stale_version_is_refused(world):
    version = world.opportunity.version
    world.set()
    with pytest.raises(ValidationError) as refused:
        schedules.replace(world.session, world.opportunity, [], world.rep, version)
    assert set(refused.value.errors) == {"version"}
    assert len(stored(world.session, world.opportunity.id)) == 3


# --- Winning -----------------------------------------------------------------------------------

def test_the_won_step_waits_for_a_schedule_and_a_client_firm(world):
    with pytest.raises(ValidationError) as refused:
        world.move(world.opportunity, "won")
    assert refused.value.errors == {"check.grants.schedule": "Set the payment schedule "
                                    "first: the cooperation contract is made of it."}
    world.set()
    world.opportunity.organisation_id = None
    world.session.flush()
    with pytest.raises(ValidationError) as refused:
        world.move(world.opportunity, "won")
    assert refused.value.errors == {"check.grants.schedule": "Choose the client firm: the "
                                    "cooperation contract is made with it."}
    assert world.session.scalars(select(Contract)).all() == []
    assert world.opportunity.phase_key == "offer"


def test_winning_makes_the_contract_of_the_schedule_for_a_rep_without_billing(world):
    world.set()
    world.move(world.opportunity, "won")
    contract = world.session.scalars(select(Contract)).one()
    assert (contract.organisation_id, contract.case_id, contract.title, contract.starts_on,
            contract.invoice_kind, contract.currency, contract.period_months,
            contract.created_by_id) == (
        world.opportunity.organisation_id, world.opportunity.id,
        TITLE, today(), "invoice", "PLN", None, world.rep.id)
    assert [(i.position, i.description, i.unit_price, i.due_on, i.milestone)
            for i in contract.instalments] == [
        (1, "Zaliczka", D("2000.00"), later(45), ""),
        (2, "Wynagrodzenie za sukces", D("9000.50"), None, "przyznanie dotacji"),
        (3, "Rozliczenie", D("1000.00"), None, "rozliczenie dotacji")]
    assert schedules.contract_of(world.session, world.opportunity) == contract
    made = [e for e in events(world.session, world.opportunity)
            if e[0].startswith("Cooperation contract made")]
    assert made[0][0] == f"Cooperation contract made: {TITLE}"
    assert "2. Wynagrodzenie za sukces: PLN9,000.50 (grant awarded)" in made[0][1]
    entry = world.session.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "case", AuditEntry.record_id == world.opportunity.id)
        .order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (entry.actor_id, entry.changes["grants_contract"]) == (
        world.rep.id, [None, contract.title])

    with pytest.raises(ValidationError) as refused:
        world.set([])
    assert refused.value.errors == {
        "_": "The opportunity is won: its payment schedule no longer changes."}
    assert not schedules.may_change(world.session, world.rep, world.opportunity)


def test_a_lost_opportunity_makes_no_contract_and_its_schedule_stays(world):
    world.set()
    world.opportunity.custom = {**(world.opportunity.custom or {}),
                                "grants_lost_reason": "competitor"}
    world.session.flush()
    world.move(world.opportunity, "lost")
    with pytest.raises(ValidationError) as refused:
        world.set([])
    assert refused.value.errors == {
        "_": "The opportunity is lost: its payment schedule no longer changes."}
    assert world.session.scalars(select(Contract)).all() == []


# --- Billing the contract ----------------------------------------------------------------------

def month_of(day: date) -> dict:
    last = calendar.monthrange(day.year, day.month)[1]
    return {"period_start": day.replace(day=1).isoformat(),
            "period_end": day.replace(day=last).isoformat()}


def run(rt, period: dict) -> dict:
    """A billing run of the period, worked off at once; what it made."""
    with rt.session() as s, s.begin():
        run_id = billing_runs.start(s, rt.host, period).id
    with rt.session() as s:
        return s.get(Job, s.get(BillingRun, run_id).job_id).result


def lines(rt) -> list[tuple[str, Decimal]]:
    with rt.session() as s:
        return [(line.description, line.unit_price) for invoice in
                s.scalars(select(Invoice).order_by(Invoice.id)) for line in invoice.lines]


def won(app, ids, advance_on: date) -> None:
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        rep = users.find_by_email(session, "rep@example.com")
        case = session.get(Case, ids["opportunity"])
        schedules.replace(session, case, schedule(advance_on), rep)
        workflow.move(session, rt.host, case, "won", rep)


def test_the_billing_run_invoices_a_dated_instalment_in_its_period(app, ids):
    rt = app.extensions["kartoteka"]
    advance_on = date(today().year + 1, 2, 10)  # a month of its own, after today's
    won(app, ids, advance_on)
    with app.test_request_context():
        assert run(rt, month_of(today()))["invoices"] == 0
        assert run(rt, month_of(advance_on))["invoices"] == 1
        assert run(rt, month_of(advance_on))["invoices"] == 0  # run again: nothing twice
    assert lines(rt) == [(f"{TITLE}: Zaliczka", D("2000.00"))]
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert (invoice.organisation_id, invoice.case_id, invoice.gross) == (
            ids["client"], ids["opportunity"], D("2460.00"))
        assert s.scalars(select(Contract)).one().instalments[0].billed_on == advance_on


def test_the_application_sold_by_the_opportunity_awarded_makes_its_instalment_billable(
        app, ids):
    rt = app.extensions["kartoteka"]
    won(app, ids, date(today().year + 1, 2, 10))
    with app.test_request_context(), rt.session() as session, session.begin():
        rep = users.find_by_email(session, "rep@example.com")
        application = session.get(Case, ids["application"])
        schedules.tie(session, application, ids["opportunity"], rep)
        # Another client's award reaches nothing here, and is no error.
        workflow.move(session, rt.host, session.get(Case, ids["other_application"]),
                      "awarded", rep)
        assert session.scalars(select(Contract)).one().instalments[1].reached_on is None
        workflow.move(session, rt.host, application, "awarded", rep)
    with app.test_request_context():
        assert run(rt, month_of(today()))["invoices"] == 1
    assert lines(rt) == [(f"{TITLE}: Wynagrodzenie za sukces", D("9000.50"))]
    with app.test_request_context(), rt.session() as session:
        contract = session.scalars(select(Contract)).one()
        assert [(i.reached_on, i.billed_on is not None) for i in contract.instalments] == [
            (None, False), (today(), True), (None, False)]
        said = events(session, session.get(Case, ids["application"]))
        assert said == [
            ("Tied to the opportunity “Dotacja na park maszynowy”",
             "Its cooperation contract's instalments waiting for a milestone fall due when "
             "this grant application reaches it."),
            (f"Grant awarded: 1 instalment of “{TITLE}” falls due",
             "2. Wynagrodzenie za sukces: PLN9,000.50 (grant awarded)")]
        assert said[1] in events(session, session.get(Case, ids["opportunity"]))
        # Reached already: a second award of the client's reaches nothing more.
        assert schedules.reach(session, session.get(Case, ids["application"]),
                               "awarded") == []


def test_a_milestone_reaches_only_running_contracts_of_opportunities(world):
    world.set()
    world.move(world.opportunity, "won")
    schedules.tie(world.session, world.application, world.opportunity.id, world.rep)
    contract = schedules.contract_of(world.session, world.opportunity)
    contract.ends_on = today() - timedelta(days=1)  # terminated before the award
    world.session.flush()
    assert schedules.reach(world.session, world.application, "awarded", world.rep) == []
    assert schedules.reach(world.session, world.opportunity, "awarded", world.rep) == []
    contract.ends_on = None
    world.session.flush()
    assert schedules.reach(world.session, world.application, "awarded", world.rep) == [
        contract]
    with pytest.raises(ValueError):
        schedules.reached("signed")


def another_won(world, title: str) -> Case:
    """A second opportunity of the same client, won with its own success fee."""
    case = cases.create(world.session, world.host, {
        "title": title, "process_key": schedules.OPPORTUNITY, "owner_id": world.rep.id,
        "organisation_id": world.opportunity.organisation_id}, actor=world.rep)
    for target in ("qualified", "offer"):
        world.move(case, target)
    schedules.replace(world.session, case, [
        {"description": "Sukces B", "amount": "700", "milestone": "awarded"}], world.rep)
    world.move(case, "won")
    return case


def test_an_award_reaches_only_the_contract_of_the_opportunity_it_was_sold_by(world):
    world.set()
    world.move(world.opportunity, "won")
    other = another_won(world, "Dotacja na fotowoltaikę")
    first, second = (schedules.contract_of(world.session, c) for c in
                     (world.opportunity, other))
    # Tied to none: the client's award reaches neither of its contracts.
    assert schedules.reach(world.session, world.application, "awarded", world.rep) == []
    schedules.tie(world.session, world.application, other.id, world.rep)
    assert schedules.sold_by(world.session, world.application) == [other.id]
    world.move(world.application, "awarded")
    assert [i.reached_on for i in second.instalments] == [today()]
    assert [i.reached_on for i in first.instalments] == [None, None, None]
    assert schedules.applications_of(world.session, other, world.reader) == [
        world.application]
    assert schedules.applications_of(world.session, world.opportunity, world.reader) == []


def test_a_tie_by_hand_on_the_cards_links_counts_either_way_round(world):
    from core import links

    world.set()
    world.move(world.opportunity, "won")
    links.add(world.session, world.opportunity, "case", world.application.id,
              schedules.SOLD_BY, world.rep)
    assert schedules.sold_by(world.session, world.application) == [world.opportunity.id]
    assert [c.id for c in schedules.reach(world.session, world.application, "awarded",
                                          world.rep)] == [
        schedules.contract_of(world.session, world.opportunity).id]


def test_a_tie_is_refused_to_another_clients_an_open_or_an_unknown_opportunity(world):
    def refused(opportunity_id, who=None):
        with pytest.raises(ValidationError) as found:
            schedules.tie(world.session, world.application, opportunity_id, who or world.rep)
        return found.value.errors

    assert refused(world.opportunity.id) == {"opportunity_id": (
        "“Dotacja na park maszynowy” has no cooperation contract: only a won opportunity "
        "has one.")}
    for unknown in (999999, world.application.id, "x", None):
        assert refused(unknown) == {"opportunity_id": "Choose the opportunity from the list."}
    world.set()
    world.move(world.opportunity, "won")
    world.application.organisation_id = world.ids["other_org"]
    world.session.flush()
    assert refused(world.opportunity.id) == {"opportunity_id": (
        "“Dotacja na park maszynowy” was sold to another client firm.")}
    with pytest.raises(Forbidden):
        schedules.tie(world.session, world.application, world.opportunity.id, world.reader)
    with pytest.raises(ValidationError) as found:
        schedules.tie(world.session, world.opportunity, world.opportunity.id, world.rep)
    assert found.value.errors == {
        "case_id": "Only a grant application is tied to the opportunity it was sold by."}
    assert schedules.sold_by(world.session, world.application) == []


# --- The opportunity's card --------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def section(page: str) -> str:
    return re.search(r'<section class="grants-schedule".*?</section>', page, re.S).group(0)


def rows_of(page: str, table: str) -> list[str]:
    body = re.search(rf'<table class="list {table}">.*?</table>', page, re.S).group(0)
    return [visible(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S)][1:]


def posted(page: str, rows: list[dict], **extra) -> dict:
    data = {"csrf_token": csrf(page), "version": version(page), **extra}
    for n, row in enumerate(rows):
        data.update({f"instalments-{n}-{k}": v for k, v in row.items()})
    return data


def test_the_rep_sets_the_schedule_on_the_card(app, ids):
    rep = login(app, "rep@example.com")
    url = f"/cases/{ids['opportunity']}"
    card = show(rep, url)
    assert "No payment schedule yet." in section(card)
    assert 'name="instalments-0-description"' in section(card)
    due = later(45)
    response = rep.post(f"/grants/opportunities/{ids['opportunity']}/schedule", data=posted(
        card, [{"description": "Zaliczka", "amount": "2 000,00", "due_on": due.isoformat(),
                "milestone": ""},
               {"description": "", "amount": "", "due_on": "", "milestone": ""},
               {"description": "Sukces", "amount": "9000,50", "due_on": "",
                "milestone": "awarded"}], action="save"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}#grants-schedule")
    card = show(rep, url)
    assert "Payment schedule saved." in card
    assert rows_of(card, "schedule") == [
        f"1 Zaliczka PLN2,000.00 {due.strftime('%-m/%-d/%y')}",
        "2 Sukces PLN9,000.50 when “grant awarded”", "Total PLN11,000.50"]
    assert 'value="9000.50"' in section(card)  # the form holds what is stored
    assert "Payment schedule set: 2 instalments, PLN11,000.50" in card  # on the timeline


def test_a_refused_schedule_comes_back_on_its_own_page_with_the_messages_under_the_fields(
        app, ids):
    rep = login(app, "rep@example.com")
    card = show(rep, f"/cases/{ids['opportunity']}")
    response = rep.post(f"/grants/opportunities/{ids['opportunity']}/schedule", data=posted(
        card, [{"description": "Zaliczka", "amount": "-100", "due_on": "", "milestone": ""},
               {"description": "Sukces", "amount": "500", "due_on": "2026-09-01",
                "milestone": "awarded"}], action="save"))
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved; see the messages below." in page
    assert error_under(page, "instalments-0-amount") == \
        "Enter an amount above zero, up to 999 999 999 999,99."
    assert error_under(page, "instalments-0-due_on") == \
        "Give the day it is due, or the milestone it waits for."
    assert error_under(page, "instalments-1-milestone") == \
        "Give either the day or the milestone, not both."
    assert 'value="-100"' in page and 'value="2026-09-01"' in page  # kept as typed
    assert '<option value="awarded" selected>' in page
    with app.extensions["kartoteka"].session() as session:
        assert stored(session, ids["opportunity"]) == []


def test_rows_are_added_and_removed_without_a_script(app, ids):
    rep = login(app, "rep@example.com")
    form = show(rep, f"/grants/opportunities/{ids['opportunity']}/schedule")
    typed = [{"description": "Zaliczka", "amount": "100", "due_on": later(5).isoformat(),
              "milestone": ""},
             {"description": "Druga", "amount": "200", "due_on": later(9).isoformat(),
              "milestone": ""}]
    more = text(rep.post(f"/grants/opportunities/{ids['opportunity']}/schedule",
                         data=posted(form, typed, action="more")))
    # What was typed, and three empty rows.
    assert len(re.findall(r'name="instalments-\d+-description"', more)) == 2 + 3
    assert 'value="Druga"' in more
    fewer = text(rep.post(f"/grants/opportunities/{ids['opportunity']}/schedule",
                          data=posted(form, typed, remove="0")))
    assert 'value="Zaliczka"' not in fewer and 'value="Druga"' in fewer
    with app.extensions["kartoteka"].session() as session:
        assert stored(session, ids["opportunity"]) == []  # neither saved anything


def test_a_reader_sees_the_schedule_without_the_form_and_other_cases_have_no_section(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        schedules.replace(session, session.get(Case, ids["opportunity"]), schedule(),
                          users.find_by_email(session, "rep@example.com"))
    reader = login(app, "reader@example.com")
    card = show(reader, f"/cases/{ids['opportunity']}")
    assert "Total PLN12,000.50" in visible(section(card))
    assert "<form" not in section(card)
    assert reader.get(f"/grants/opportunities/{ids['opportunity']}/schedule").status_code \
        == 403
    assert reader.post(f"/grants/opportunities/{ids['opportunity']}/schedule",
                       data={"instalments-0-description": "x"}).status_code == 403
    assert 'id="grants-schedule"' not in show(reader, f"/cases/{ids['application']}")
    assert reader.get(f"/grants/opportunities/{ids['application']}/schedule").status_code \
        == 404
    assert reader.get("/grants/opportunities/999999/schedule").status_code == 404


def test_a_won_opportunity_shows_its_contract_and_where_each_instalment_stands(app, ids):
    rt = app.extensions["kartoteka"]
    won(app, ids, later(45))
    with rt.session() as session:
        contract_id = session.scalars(select(Contract.id)).one()
    rep = login(app, "rep@example.com")
    card = show(rep, f"/cases/{ids['opportunity']}")
    assert "<form" not in section(card)  # won: the schedule no longer changes
    assert TITLE in section(card)
    assert f'href="/billing/contracts/{contract_id}"' not in card  # the rep does not bill
    assert [r.split(" ", 1)[1] for r in rows_of(card, "contract-instalments")] == [
        f"Zaliczka PLN2,000.00 {later(45).strftime('%-m/%-d/%y')} waiting for its date",
        "Wynagrodzenie za sukces PLN9,000.50 when “grant awarded” waiting for the milestone",
        "Rozliczenie PLN1,000.00 when “grant settled” waiting for the milestone"]
    response = rep.get(f"/grants/opportunities/{ids['opportunity']}/schedule")
    assert response.status_code == 302  # back to the card, with the reason
    assert "The opportunity is won: its payment schedule no longer changes." in show(
        rep, f"/cases/{ids['opportunity']}")
    clerk = login(app, "clerk@example.com")
    card = show(clerk, f"/cases/{ids['opportunity']}")
    assert f'href="/billing/contracts/{contract_id}"' in section(card)
    show(clerk, f"/billing/contracts/{contract_id}")


def test_the_section_lists_the_applications_sold_by_the_opportunity(app, api):
    rt, ids = app.extensions["kartoteka"], api.ids
    won(app, ids, later(45))
    with app.test_request_context(), rt.session() as session, session.begin():
        schedules.tie(session, session.get(Case, ids["application"]), ids["opportunity"],
                      users.find_by_email(session, "rep@example.com"))
    card = section(show(login(app, "reader@example.com"), f"/cases/{ids['opportunity']}"))
    listed = re.search(r'<p class="grants-applications".*?</p>', card, re.S).group(0)
    assert visible(listed) == "Grant applications: Wniosek: Stolarnia Nowak sp. z o.o."
    assert f'href="/cases/{ids["application"]}"' in listed
    assert api.reader("get", path(ids["opportunity"])).get_json()["application_ids"] == [
        ids["application"]]


def test_the_section_is_worded_with_the_installations_terms(kartoteka_app_factory, ids):
    app = kartoteka_app_factory(["grants"], default_locale="pl", **COMPANY)
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        schedules.replace(session, session.get(Case, ids["opportunity"]), schedule(),
                          users.find_by_email(session, "rep@example.com"))
        term_overrides.save(session, rt.host.terms, "grants.schedule", "pl",
                            {"nom": "plan rat", "gen": "planu rat", "acc": "plan rat"},
                            {"nom": "plany rat", "gen": "planów rat"}, gender="m3")
    page = section(show(login(app, "rep@example.com"), f"/cases/{ids['opportunity']}"))
    assert "<h2>Plan rat</h2>" in page
    assert "przyznanie dotacji" in page and "rozliczenie dotacji" in page
    assert '<option value="submitted" >złożenie wniosku</option>' in page


# --- The REST API ------------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace(ids=ids)
    with rt.session() as session, session.begin():
        for name in ("rep", "clerk", "reader"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def path(case_id) -> str:
    return f"/grants/opportunities/{case_id}/schedule"


def test_the_api_reads_and_sets_the_schedule(api):
    case_id = api.ids["opportunity"]
    empty = api.reader("get", path(case_id))
    assert empty.status_code == 200
    assert empty.get_json() == {"case_id": case_id, "currency": "PLN", "total": "0.00",
                                "editable": False, "instalments": [], "contract": None,
                                "application_ids": []}
    due = later(30).isoformat()
    put = api.rep("put", path(case_id), json={"instalments": [
        {"description": "Zaliczka", "amount": "1500.5", "due_on": due},
        {"description": "Sukces", "amount": 4000, "milestone": "awarded", "due_on": None}]})
    assert put.status_code == 200, put.get_json()
    body = put.get_json()
    assert (body["total"], body["editable"], body["contract"]) == ("5500.50", True, None)
    assert body["instalments"] == [
        {"position": 1, "description": "Zaliczka", "amount": "1500.50", "due_on": due,
         "milestone": None, "milestone_name": None},
        {"position": 2, "description": "Sukces", "amount": "4000.00", "due_on": None,
         "milestone": "awarded", "milestone_name": "grant awarded"}]
    assert api.reader("get", path(case_id)).get_json()["instalments"] == body["instalments"]


def test_the_api_refuses_with_field_errors_403_and_404(api):
    case_id = api.ids["opportunity"]
    refused = api.rep("put", path(case_id), json={"instalments": [
        {"description": "Zaliczka", "amount": "-1", "due_on": "2026-09-01",
         "milestone": "awarded"}, {"description": "", "amount": "10"}]})
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert refused.get_json()["errors"] == {
        "instalments.0.amount": "Enter an amount above zero, up to 999 999 999 999,99.",
        "instalments.0.milestone": "Give either the day or the milestone, not both.",
        "instalments.1.description": "Describe the instalment.",
        "instalments.1.due_on": "Give the day it is due, or the milestone it waits for."}
    assert api.rep("put", path(case_id), json={}).get_json()["errors"] == {
        "instalments": "List the instalments; an empty list clears the schedule."}
    forbidden = api.reader("put", path(case_id), json={"instalments": []})
    assert forbidden.status_code == 403 and forbidden.content_type == PROBLEM
    for other in (api.ids["application"], api.ids["elsewhere"], 999999):
        assert api.rep("get", path(other)).status_code == 404
        assert api.rep("put", path(other), json={"instalments": []}).status_code == 404
    stale = api.rep("put", path(case_id), json={"instalments": []},
                    headers={"If-Match": '"99"'})
    assert stale.status_code == 412


def test_the_api_shows_the_contract_once_won_and_refuses_changes(app, api):
    won(app, api.ids, later(45))
    case_id = api.ids["opportunity"]
    body = api.rep("get", path(case_id)).get_json()
    assert body["editable"] is False
    contract = body["contract"]
    assert (contract["title"], contract["starts_on"]) == (TITLE, today().isoformat())
    assert [(i["position"], i["amount"], i["milestone"], i["state"])
            for i in contract["instalments"]] == [
        (1, "2000.00", None, "date"), (2, "9000.50", "awarded", "milestone"),
        (3, "1000.00", "settled", "milestone")]
    refused = api.rep("put", path(case_id), json={"instalments": []})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "_": "The opportunity is won: its payment schedule no longer changes."}


def test_the_openapi_document_describes_the_schedule(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    put = spec["paths"]["/api/v1/grants/opportunities/{case_id}/schedule"]["put"]
    assert {"200", "403", "404", "422"} <= put["responses"].keys()
    instalment = spec["components"]["schemas"]["OfferInstalment"]
    assert instalment["properties"]["milestone"]["enum"] == ["submitted", "awarded",
                                                             "settled"]


def test_nothing_is_left_behind_by_a_refused_api_call(app, api):
    api.rep("put", path(api.ids["opportunity"]), json={"instalments": [
        {"description": "Zaliczka", "amount": "100", "due_on": later(3).isoformat()},
        {"description": "Zła", "amount": "-1", "due_on": later(3).isoformat()}]})
    with app.extensions["kartoteka"].session() as session:
        assert session.scalar(select(func.count()).select_from(OfferInstalment)) == 0

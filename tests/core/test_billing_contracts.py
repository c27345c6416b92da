"""Recurring contracts billed by runs: proration by days at the start, at the end and at
price changes (TR-7), payment schedules (GR-2) and direct debits expected (FR-3)."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_helpers import COMPANY, make_world, user
from core import billing_runs, contracts, invoices, payments
from core.errors import Forbidden, ValidationError
from core.models import (
    BillableItem,
    BillingRun,
    Contract,
    ExpectedPayment,
    Invoice,
    Job,
    Payment,
)
from core.periods import Period, anchor_of, containing, prorate

D = Decimal


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


def contract(rt, world, by="clerk", **data) -> int:
    values = {"organisation_id": world["kornik"], "title": "Umowa członkowska 1/2026",
              "description": "Membership fee", "starts_on": "2026-01-01",
              "period_months": 3, "unit_price": "900", "vat_rate": "zw", **data}
    with rt.session() as s, s.begin():
        return contracts.create(s, values, user(s, world, by)).id


def run(rt, start: str, end: str, **options) -> dict:
    """A billing run of the period, worked off at once; what this run made."""
    with rt.session() as s, s.begin():
        found = billing_runs.start(s, rt.host, {"period_start": start, "period_end": end,
                                                **options})
        run_id = found.id
    with rt.session() as s:
        return s.get(Job, s.get(BillingRun, run_id).job_id).result


def lines(rt, contract_id=None) -> list[tuple[str, Decimal]]:
    """Every invoice line made for contracts, in order: (description, price)."""
    with rt.session() as s:
        items = s.scalars(select(BillableItem).where(BillableItem.source.like("core.contracts%"))
                          .order_by(BillableItem.earned_on, BillableItem.id))
        return [(i.description, i.unit_price) for i in items]


# --- Periods and proration, as arithmetic ------------------------------------------------

def test_a_quarter_signed_mid_february_is_billed_for_the_days_it_covers():
    quarter = containing(date(2026, 2, 15), 3, anchor_of(3, date(2026, 2, 15)))
    assert quarter == Period(date(2026, 1, 1), date(2026, 3, 31))
    part = quarter.overlap(date(2026, 2, 15), None)
    assert (part.days, quarter.days) == (45, 90)
    assert prorate(D("900"), part, quarter) == D("450.00")


def test_february_of_a_leap_year_has_29_days():
    month = containing(date(2024, 2, 10), 1, anchor_of(1, date(2024, 2, 10)))
    assert month.days == 29
    assert prorate(D("290"), Period(date(2024, 2, 15), date(2024, 2, 29)), month) == D("150.00")


def test_a_period_that_does_not_divide_a_year_counts_from_the_contracts_month():
    anchor = anchor_of(5, date(2026, 3, 20))
    assert containing(date(2026, 9, 1), 5, anchor) == Period(date(2026, 8, 1),
                                                             date(2026, 12, 31))


def test_proration_rounds_each_part_half_up_to_the_grosz():
    quarter = Period(date(2026, 1, 1), date(2026, 3, 31))
    assert prorate(D("100"), Period(date(2026, 1, 1), date(2026, 1, 1)), quarter) == D("1.11")
    assert prorate(D("0.05"), Period(date(2026, 1, 1), date(2026, 1, 9)), quarter) == D("0.01")


# --- Recurring contracts in runs ---------------------------------------------------------

def test_a_contract_signed_mid_february_is_billed_for_45_days_then_whole_quarters(rt, world):
    contract(rt, world, starts_on="2026-02-15")
    assert run(rt, "2026-01-01", "2026-01-31")["invoices"] == 0
    assert run(rt, "2026-02-01", "2026-02-28")["invoices"] == 1
    assert run(rt, "2026-03-01", "2026-03-31")["invoices"] == 0
    run(rt, "2026-04-01", "2026-04-30")
    assert lines(rt) == [
        ("Membership fee, 15.02.2026–31.03.2026 (45 of 90 days)", D("450.00")),
        ("Membership fee, 01.04.2026–30.06.2026", D("900.00"))]


def test_a_monthly_contract_in_a_leap_february(rt, world):
    contract(rt, world, starts_on="2024-02-15", period_months=1, unit_price="290")
    run(rt, "2024-02-01", "2024-02-29")
    assert lines(rt) == [("Membership fee, 15.02.2024–29.02.2024 (15 of 29 days)",
                          D("150.00"))]


def test_signed_on_the_last_day_of_a_period_it_owes_one_day(rt, world):
    contract(rt, world, starts_on="2026-03-31")
    run(rt, "2026-03-01", "2026-03-31")
    assert lines(rt) == [("Membership fee, 31.03.2026–31.03.2026 (1 of 90 days)", D("10.00"))]


def test_a_price_change_mid_period_is_billed_in_two_parts(rt, world):
    contract_id = contract(rt, world, billed="arrears")
    with rt.session() as s, s.begin():
        contracts.change_price(s, s.get(Contract, contract_id),
                               {"valid_from": "2026-03-01", "unit_price": "1200"},
                               user(s, world, "clerk"))
    run(rt, "2026-03-01", "2026-03-31")
    assert lines(rt) == [
        ("Membership fee, 01.01.2026–28.02.2026 (59 of 90 days)", D("590.00")),
        ("Membership fee, 01.03.2026–31.03.2026 (31 of 90 days)", D("413.33"))]
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert [line.position for line in invoice.lines] == [1, 2]
        assert invoice.gross == D("1003.33")


def test_arrears_bill_a_period_after_its_last_day(rt, world):
    contract(rt, world, billed="arrears")
    assert run(rt, "2026-01-01", "2026-03-30")["invoices"] == 0
    assert run(rt, "2026-03-31", "2026-03-31")["invoices"] == 1


def test_terminated_mid_period_in_arrears_it_bills_the_days_to_its_end(rt, world):
    contract_id = contract(rt, world, billed="arrears")
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id),
                            {"ends_on": "2026-02-14", "reason": "Wystąpienie ze związku"},
                            user(s, world, "clerk"))
    run(rt, "2026-02-01", "2026-02-28")
    run(rt, "2026-04-01", "2026-12-31")
    assert lines(rt) == [("Membership fee, 01.01.2026–14.02.2026 (45 of 90 days)",
                          D("450.00"))]


def test_terminated_after_an_issued_advance_the_unused_days_are_corrected(rt, world):
    contract_id = contract(rt, world)
    run(rt, "2026-01-01", "2026-01-31", issue=True, issue_date="2026-01-02")
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id), {"ends_on": "2026-02-14"},
                            user(s, world, "clerk"))
    with rt.session() as s:
        original = s.scalars(select(Invoice).where(Invoice.kind == "invoice")).one()
        correction = s.scalars(select(Invoice).where(Invoice.kind == "correction")).one()
        assert (correction.status, correction.corrects_id) == ("draft", original.id)
        assert correction.gross == D("-450.00")
        assert "Umowa członkowska 1/2026" in correction.reason
    assert run(rt, "2026-04-01", "2026-04-30")["invoices"] == 0


def test_terminated_before_its_draft_is_issued_the_draft_shrinks(rt, world):
    contract_id = contract(rt, world)
    run(rt, "2026-01-01", "2026-01-31")
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id), {"ends_on": "2026-01-30"},
                            user(s, world, "clerk"))
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert (invoice.status, invoice.gross) == ("draft", D("300.00"))


def test_a_price_raised_from_a_day_already_billed_is_charged_in_the_next_run(rt, world):
    contract_id = contract(rt, world)
    run(rt, "2026-01-01", "2026-01-31", issue=True)
    with rt.session() as s, s.begin():
        contracts.change_price(s, s.get(Contract, contract_id),
                               {"valid_from": "2026-03-01", "unit_price": "1200"},
                               user(s, world, "clerk"))
    made = run(rt, "2026-04-01", "2026-04-30")
    assert made["invoices"] == 2  # the next quarter, and the difference (settlement)
    assert ("Membership fee, 01.03.2026–31.03.2026 (31 of 90 days)", D("103.33")) in \
        lines(rt)


def test_a_contract_needs_its_terms_and_names_every_problem(rt, world):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            contracts.create(s, {"organisation_id": world["kornik"], "title": " ",
                                 "starts_on": "2026-02-01", "ends_on": "2026-01-01",
                                 "period_months": 0, "vat_rate": "7",
                                 "collects": "expected"}, user(s, world, "clerk"))
        assert set(refused.value.errors) >= {"title", "ends_on", "period_months", "vat_rate",
                                              "collection_day"}
        with pytest.raises(ValidationError) as refused:
            contracts.create(s, {"organisation_id": world["kornik"], "title": "X",
                                 "starts_on": "2026-02-01", "period_months": 1},
                             user(s, world, "clerk"))
        assert refused.value.errors == {"unit_price": "Enter the price of one period."}
        with pytest.raises(Forbidden):
            contracts.create(s, {"organisation_id": world["kornik"], "title": "X",
                                 "starts_on": "2026-02-01", "period_months": 1,
                                 "unit_price": "1"}, user(s, world, "rep"))
    with rt.session() as s:
        assert s.scalars(select(Contract)).all() == []


# --- Payment schedules -------------------------------------------------------------------

def test_instalments_are_invoiced_as_their_dates_and_milestones_come(rt, world):
    contract_id = contract(rt, world, period_months=None, unit_price=None, vat_rate="23",
                           description="Cooperation contract", instalments=[
                               {"description": "Advance", "unit_price": "1000",
                                "due_on": "2026-02-10"},
                               {"description": "Success fee", "unit_price": "5000",
                                "milestone": "Grant awarded"}])
    assert run(rt, "2026-01-01", "2026-01-31")["invoices"] == 0
    assert run(rt, "2026-02-01", "2026-02-28")["invoices"] == 1
    assert run(rt, "2026-03-01", "2026-03-31")["invoices"] == 0
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError):
            contracts.reach(s, s.get(Contract, contract_id), "Contract signed", date(2026, 4, 2))
        contracts.reach(s, s.get(Contract, contract_id), "grant awarded", date(2026, 4, 2))
    assert run(rt, "2026-04-01", "2026-04-30")["invoices"] == 1
    assert lines(rt) == [("Cooperation contract: Advance", D("1000")),
                         ("Cooperation contract: Success fee", D("5000"))]
    with rt.session() as s:
        assert [i.gross for i in s.scalars(select(Invoice).order_by(Invoice.id))] == [
            D("1230.00"), D("6150.00")]


def test_a_terminated_contracts_instalments_after_its_end_are_not_billed(rt, world):
    contract_id = contract(rt, world, period_months=None, unit_price=None, vat_rate="23",
                           description="Cooperation contract", instalments=[
                               {"description": "Advance", "unit_price": "1000",
                                "due_on": "2026-02-10"},
                               {"description": "Second part", "unit_price": "2000",
                                "due_on": "2026-05-10"},
                               {"description": "Success fee", "unit_price": "5000",
                                "milestone": "Grant awarded"}])
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id),
                            {"ends_on": "2026-03-31", "reason": "Klient zrezygnował."},
                            user(s, world, "clerk"))
        contracts.reach(s, s.get(Contract, contract_id), "grant awarded", date(2026, 4, 2))
    assert run(rt, "2026-01-01", "2026-12-31")["invoices"] == 1
    assert lines(rt) == [("Cooperation contract: Advance", D("1000"))]


def test_an_instalment_needs_a_day_or_a_milestone(rt, world):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            contracts.create(s, {"organisation_id": world["kornik"], "title": "X",
                                 "starts_on": "2026-01-01", "instalments": [
                                     {"description": "A", "unit_price": "1"}]},
                             user(s, world, "clerk"))
        assert refused.value.errors == {
            "instalments.0.due_on": "Give either the day it is due or the milestone it waits "
                                    "for."}


# --- Direct debits -----------------------------------------------------------------------

def test_a_direct_debit_expects_a_payment_each_month_instead_of_an_invoice(rt, world):
    contract(rt, world, organisation_id=None, person_id=world["anna"], period_months=1,
             unit_price="50", vat_rate="np", collects="expected", collection_day=10,
             description="Darowizna cykliczna", starts_on="2026-01-01")
    made = run(rt, "2026-01-01", "2026-03-31")
    assert (made["invoices"], made["expected"]) == (0, 3)
    with rt.session() as s:
        expected = s.scalars(select(ExpectedPayment).order_by(ExpectedPayment.due_on)).all()
        assert [(e.due_on, e.amount) for e in expected] == [
            (date(2026, 1, 10), D("50.00")), (date(2026, 2, 10), D("50.00")),
            (date(2026, 3, 10), D("50.00"))]
        assert s.scalars(select(Invoice)).all() == []
    assert run(rt, "2026-01-01", "2026-03-31")["expected"] == 0


def test_the_amount_of_a_terminated_direct_debit_stops_being_expected(rt, world):
    contract_id = contract(rt, world, period_months=1, unit_price="50", vat_rate="np",
                           collects="expected", collection_day=10)
    run(rt, "2026-01-01", "2026-03-31")
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id), {"ends_on": "2026-02-14"},
                            user(s, world, "clerk"))
    with rt.session() as s:
        expected = s.scalars(select(ExpectedPayment).order_by(ExpectedPayment.due_on)).all()
        assert [(e.due_on, e.amount) for e in expected] == [
            (date(2026, 1, 10), D("50.00")), (date(2026, 2, 10), D("25.00"))]


def test_a_correction_of_an_issued_contract_invoice_is_a_real_correction(rt, world):
    contract_id = contract(rt, world, vat_rate="23")
    run(rt, "2026-01-01", "2026-01-31", issue=True)
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id), {"ends_on": "2026-03-01"},
                            user(s, world, "clerk"))
        correction = s.scalars(select(Invoice).where(Invoice.kind == "correction")).one()
        invoices.issue(s, rt.settings, correction, user(s, world, "clerk"))
        original = s.get(Invoice, correction.corrects_id)
        # 1 107,00 gross for the quarter; 60 of its 90 days used: 600 net, 738,00 gross.
        assert (correction.gross, original.to_pay) == (D("-369.00"), D("738.00"))


def test_a_payment_from_the_donor_settles_the_expected_payment_nearest_its_day(rt, world):
    contract(rt, world, organisation_id=None, person_id=world["anna"], period_months=1,
             unit_price="50", vat_rate="np", collects="expected", collection_day=10)
    run(rt, "2026-01-01", "2026-03-31")
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        paid = payments.record(s, {"received_on": "2026-02-12", "amount": "50",
                                   "person_id": world["anna"], "source": "bank",
                                   "external_id": "MT-1"}, clerk)
        other = payments.record(s, {"received_on": "2026-02-12", "amount": "49.99",
                                    "person_id": world["anna"]}, clerk)
    with rt.session() as s:
        expected = s.scalars(select(ExpectedPayment).order_by(ExpectedPayment.due_on)).all()
        assert [e.payment_id for e in expected] == [None, paid.id, None]
        assert other.id not in [e.payment_id for e in expected]
        missed = s.scalars(contracts.missed(date(2026, 3, 20))).all()
        assert [e.due_on for e in missed] == [date(2026, 1, 10), date(2026, 3, 10)]
        assert s.scalars(contracts.missed(date(2026, 3, 15))).all() == [expected[0]]


def test_a_payment_recorded_and_rolled_back_leaves_nothing(rt, world):
    with rt.session() as s:
        s.begin()
        payments.record(s, {"received_on": "2026-02-12", "amount": "50",
                            "person_id": world["anna"]}, user(s, world, "clerk"))
        s.rollback()
    with rt.session() as s:
        assert s.scalars(select(Payment)).all() == []


def test_a_termination_over_two_issued_periods_is_one_correction(rt, world):
    contract_id = contract(rt, world, period_months=1, unit_price="100", vat_rate="23")
    run(rt, "2026-01-01", "2026-02-28")
    with rt.session() as s, s.begin():
        invoice = s.scalars(select(Invoice)).one()
        assert [line.unit_price for line in invoice.lines] == [D("100"), D("100")]
        invoices.issue(s, rt.settings, invoice, user(s, world, "clerk"), date(2026, 1, 2))
    with rt.session() as s, s.begin():
        contracts.terminate(s, s.get(Contract, contract_id), {"ends_on": "2026-01-15"},
                            user(s, world, "clerk"))
    with rt.session() as s, s.begin():
        correction = s.scalars(select(Invoice).where(Invoice.kind == "correction")).one()
        # January's 15 of 31 days (48,39 net) and nothing of February.
        assert [(line.position, line.unit_price) for line in correction.lines
                if line.before and line.before["unit_price"] != str(line.unit_price)] == [
            (1, D("48.39")), (2, D("0"))]
        invoices.issue(s, rt.settings, correction, user(s, world, "clerk"))
        assert correction.net == D("-151.61")


def test_a_cancelled_draft_of_a_run_is_billed_again_by_the_settlement(rt, world):
    contract(rt, world, period_months=1, unit_price="100")
    run(rt, "2026-01-01", "2026-01-31")
    with rt.session() as s, s.begin():
        invoices.cancel(s, s.scalars(select(Invoice)).one(), "", user(s, world, "clerk"))
    made = run(rt, "2026-02-01", "2026-02-28")
    assert made["invoices"] == 2  # February's fee, and January's settled
    with rt.session() as s:
        drafts = s.scalars(select(Invoice).where(Invoice.status == "draft")).all()
        assert sorted(i.net for i in drafts) == [D("100.00"), D("100.00")]


def test_a_direct_debit_cannot_have_instalments(rt, world):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            contracts.create(s, {"organisation_id": world["kornik"], "title": "X",
                                 "starts_on": "2026-01-01", "period_months": 1,
                                 "unit_price": "10", "collects": "expected",
                                 "collection_day": 10, "instalments": [
                                     {"description": "A", "unit_price": "1",
                                      "due_on": "2026-02-01"}]}, user(s, world, "clerk"))
        assert set(refused.value.errors) == {"instalments"}


def test_a_direct_debit_in_arrears_is_expected_after_its_period(rt, world):
    contract(rt, world, period_months=1, unit_price="50", vat_rate="np", billed="arrears",
             collects="expected", collection_day=10, starts_on="2026-01-20")
    run(rt, "2026-01-01", "2026-02-28")
    with rt.session() as s:
        expected = s.scalars(select(ExpectedPayment).order_by(ExpectedPayment.due_on)).all()
        assert [(e.period_start, e.due_on, e.amount) for e in expected] == [
            (date(2026, 1, 1), date(2026, 2, 10), D("19.35")),
            (date(2026, 2, 1), date(2026, 3, 10), D("50.00"))]


def test_signed_after_the_collection_day_the_first_payment_is_expected_next_month(rt, world):
    contract(rt, world, period_months=1, unit_price="50", vat_rate="np",
             collects="expected", collection_day=10, starts_on="2026-01-20")
    run(rt, "2026-01-01", "2026-01-31")
    with rt.session() as s:
        assert s.scalars(select(ExpectedPayment.due_on)).all() == [date(2026, 2, 10)]

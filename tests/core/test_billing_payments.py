"""Payments: recorded once, allocated to one or more invoices within what each owes,
moving the invoices' statuses; over-payments stay on the payment."""

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_helpers import COMPANY, MARCH, issued, make_world, user
from core import audit, invoices, payments, webhooks
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, Invoice, Payment, PaymentAllocation, WebhookDelivery
from core.templating import money

D = Decimal


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


def pay(s, world, amount, *allocations, by="clerk", **data) -> Payment:
    """A payment of ``amount`` allocated to [(invoice id, amount or None)]."""
    return payments.record(s, {"received_on": "2026-03-10", "amount": amount, **data},
                           user(s, world, by),
                           allocate_to=[(s.get(Invoice, i), a) for i, a in allocations])


def state(s, invoice_id) -> tuple:
    invoice = s.get(Invoice, invoice_id)
    return invoice.status, invoice.paid, invoice.balance


def test_part_payments_move_an_invoice_to_partly_paid_then_paid(rt, world):
    invoice_id = issued(rt, world)  # 1 230,00
    with rt.session() as s, s.begin():
        invoices.mark_sent(s, s.get(Invoice, invoice_id), user(s, world, "clerk"))
        assert state(s, invoice_id) == ("sent", 0, D("1230.00"))
        first = pay(s, world, "500", (invoice_id, None))
        assert state(s, invoice_id) == ("partly_paid", D("500.00"), D("730.00"))
        assert (first.allocated, first.unallocated) == (D("500"), D("0"))
        pay(s, world, "730,00", (invoice_id, "730"))
        assert state(s, invoice_id) == ("paid", D("1230.00"), D("0.00"))
    with rt.session() as s:  # and so it reads back
        assert state(s, invoice_id) == ("paid", D("1230.00"), D("0.00"))
        assert [a.amount for a in s.scalars(select(PaymentAllocation)
                                            .order_by(PaymentAllocation.id))] == [
            D("500.00"), D("730.00")]


def test_an_over_payment_stays_on_the_payment_and_may_pay_another_invoice(rt, world):
    first_id, second_id = issued(rt, world), issued(rt, world)
    with rt.session() as s, s.begin():
        payment = pay(s, world, "1500.00", (first_id, None))
        assert state(s, first_id) == ("paid", D("1230.00"), D("0.00"))
        assert (payment.allocated, payment.unallocated) == (D("1230.00"), D("270.00"))
        payments.allocate(s, payment, s.get(Invoice, second_id), None, user(s, world, "clerk"))
        assert state(s, second_id) == ("partly_paid", D("270.00"), D("960.00"))
        assert payment.unallocated == 0
        with pytest.raises(ValidationError, match="Nothing is left to allocate"):
            payments.allocate(s, payment, s.get(Invoice, second_id), None,
                              user(s, world, "clerk"))


def test_one_payment_pays_several_invoices(rt, world):
    first_id, second_id = issued(rt, world), issued(rt, world)
    with rt.session() as s, s.begin():
        payment = pay(s, world, "2000", (first_id, None), (second_id, None))
        assert state(s, first_id) == ("paid", D("1230.00"), D("0.00"))
        assert state(s, second_id) == ("partly_paid", D("770.00"), D("460.00"))
        assert payment.organisation_id == world["kornik"]  # the buyer of both


def test_no_allocation_beyond_what_the_invoice_owes_or_the_payment_has_left(rt, world):
    invoice_id, other_id = issued(rt, world), issued(rt, world)
    with rt.session() as s, s.begin():
        clerk, invoice = user(s, world, "clerk"), s.get(Invoice, invoice_id)
        payment = pay(s, world, "2000")
        with pytest.raises(ValidationError) as refused:
            payments.allocate(s, payment, invoice, "1230.01", clerk)
        assert refused.value.errors == {"amount": "The invoice still owes only "
                                                  f"{money(D('1230.00'), 'PLN')}."}
        payments.allocate(s, payment, invoice, "1000", clerk)
        with pytest.raises(ValidationError) as refused:
            payments.allocate(s, payment, s.get(Invoice, other_id), "1000.01", clerk)
        assert refused.value.errors == {"amount": "The payment has only "
                                                  f"{money(D('1000.00'), 'PLN')} left to "
                                                  "allocate."}
        for amount, message in (("0", "above zero"), ("-5", "above zero"),
                                ("1,001", "At most 2 decimal places"), ("sto", "a number")):
            with pytest.raises(ValidationError) as refused:
                payments.allocate(s, payment, s.get(Invoice, other_id), amount, clerk)
            assert message in refused.value.errors["amount"]
        assert state(s, invoice_id) == ("partly_paid", D("1000.00"), D("230.00"))
        assert state(s, other_id) == ("issued", 0, D("1230.00"))
        assert payment.allocated == D("1000.00")


def test_only_an_issued_owed_invoice_in_the_payments_currency_is_paid(rt, world):
    proforma_id = issued(rt, world, kind="proforma")
    euro_id = issued(rt, world, currency="EUR", exchange_rate="4.3")
    cancelled_id = issued(rt, world)
    corrected_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoices.cancel(s, s.get(Invoice, cancelled_id), "Pomyłka", clerk)
        correction = invoices.correct(s, s.get(Invoice, corrected_id),
                                      [{"position": 1, "quantity": "2"}], "Dwa", clerk)
        draft = invoices.create(s, {"organisation_id": world["kornik"]}, clerk)
        payment = pay(s, world, "100")
        for invoice, message in ((s.get(Invoice, proforma_id), "A pro forma is not owed"),
                                 (s.get(Invoice, euro_id), "The invoice is in EUR and the "
                                                           "payment in PLN."),
                                 (s.get(Invoice, cancelled_id), "Only an issued invoice"),
                                 (draft, "Only an issued invoice"),
                                 (correction, "through the invoice it corrects")):
            with pytest.raises(ValidationError) as refused:
                payments.allocate(s, payment, invoice, "10", clerk)
            assert message in refused.value.errors["invoice_id"]
        assert payment.allocated == 0


def test_a_correction_moves_what_a_paid_invoice_comes_to_and_so_its_status(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk, invoice = user(s, world, "clerk"), s.get(Invoice, invoice_id)
        pay(s, world, "1230", (invoice_id, None))
        more = invoices.correct(s, invoice, [{"position": 1, "quantity": "2"}], "Dwa", clerk)
        invoices.issue(s, rt.settings, more, clerk, MARCH)
        assert state(s, invoice_id) == ("partly_paid", D("1230.00"), D("1230.00"))
        less = invoices.correct(s, invoice, [{"position": 1, "unit_price": "400"}],
                                "Rabat", clerk)
        invoices.issue(s, rt.settings, less, clerk, MARCH)
        assert less.gross == D("-1476.00")  # 2 x 1 000 -> 2 x 400, with 23%
        assert state(s, invoice_id) == ("paid", D("1230.00"), D("-246.00"))  # paid too much


def test_a_payment_imported_again_is_found_not_recorded_twice(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        webhooks.create(s, {"name": "Bank", "url": "https://bank.example.com/in",
                            "events": ["payment.recorded"]}, user(s, world, "admin"))
    with rt.session() as s:
        line = {"amount": "1230.00", "source": "bank", "external_id": " PKO-2026-03-0042 ",
                "payer": "GMINA KORNIK", "title": "FV/2026/0001"}
        first = payments.record(s, {"received_on": "2026-03-10", **line},
                                user(s, world, "clerk"),
                                allocate_to=[(s.get(Invoice, invoice_id), None)])
        again = payments.record(s, {"received_on": "2026-03-10", **line},
                                user(s, world, "clerk"),
                                allocate_to=[(s.get(Invoice, invoice_id), None)])
        assert again.id == first.id and first.external_id == "PKO-2026-03-0042"
        assert s.scalar(select(Payment.id).where(Payment.id != first.id)) is None
        assert state(s, invoice_id) == ("paid", D("1230.00"), D("0.00"))
        [delivery] = s.scalars(select(WebhookDelivery)).all()
        told = delivery.payload["data"]
        assert (delivery.event, told["amount"], told["external_id"], told["allocations"]) == (
            "payment.recorded", "1230.00", "PKO-2026-03-0042",
            [{"invoice_id": invoice_id, "number": "FV/2026/0001", "amount": "1230.00"}])
        manual = payments.record(s, {"received_on": "2026-03-10", "amount": "5",
                                     "external_id": "PKO-2026-03-0042"}, user(s, world, "clerk"))
        assert manual.id != first.id  # another source's id
        s.rollback()


def test_bad_payments_are_named_field_by_field(rt, world):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            payments.record(s, {"amount": "0", "currency": "pln", "source": "cash",
                                "organisation_id": world["kornik"], "person_id": world["anna"]},
                            user(s, world, "clerk"))
        assert set(refused.value.errors) == {"received_on", "amount", "currency", "source",
                                             "organisation_id"}
        assert s.scalar(select(Payment.id)) is None


def test_two_people_allocating_at_once_cannot_pay_an_invoice_twice(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        ids = [pay(s, world, "1000").id, pay(s, world, "1000").id]
    outcome = []

    def second() -> None:
        with rt.session() as s, s.begin():
            try:
                payments.allocate(s, s.get(Payment, ids[1]), s.get(Invoice, invoice_id), "1000",
                                  user(s, world, "clerk"))
                outcome.append("allocated")
            except ValidationError as exc:
                outcome.append(exc.errors["amount"])

    with rt.session() as s, s.begin():
        payments.allocate(s, s.get(Payment, ids[0]), s.get(Invoice, invoice_id), "1000",
                          user(s, world, "clerk"))
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.5)
        assert outcome == []  # it waits for this transaction
    waiting.join()
    assert outcome == [f"The invoice still owes only {money(D('230.00'), 'PLN')}."]
    with rt.session() as s:
        assert state(s, invoice_id) == ("partly_paid", D("1000.00"), D("230.00"))


def test_only_holders_of_the_billing_permission_record_and_allocate(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        payment = pay(s, world, "100")
        matched = pay(s, world, "50", (invoice_id, None))
        with pytest.raises(Forbidden):
            pay(s, world, "100", by="rep")
        with pytest.raises(Forbidden):
            payments.allocate(s, payment, s.get(Invoice, invoice_id), None,
                              user(s, world, "rep"))
        with pytest.raises(Forbidden, match="You may not do this with this record"):
            payments.allocate(s, payment, s.get(Invoice, invoice_id), None,
                              user(s, world, "loner"))
        seen = {name: [p.id for p in s.scalars(payments.visible(user(s, world, name))
                                               .order_by(Payment.id))]
                for name in ("clerk", "rep", "loner")}
        assert seen == {"clerk": [payment.id, matched.id], "rep": [matched.id],
                        "loner": [payment.id]}


def test_recording_and_allocating_are_in_the_audit_trail(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin(), audit.door("import"):
        payment = pay(s, world, "1230", (invoice_id, None), source="import", external_id="r7")
    with rt.session() as s:
        entries = {(e.record_type, e.action): e for e in s.scalars(
            select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id))}
        created = entries[("payments", "create")]
        assert (created.record_id, created.door, created.actor_id) == (
            payment.id, "import", world["clerk"])
        assert created.changes["amount"] == [None, "1230.00"]
        allocation = entries[("payment_allocations", "create")]
        assert allocation.changes["invoice"] == [None, "FV/2026/0001"]
        paid = s.scalars(audit.of_record("invoices", invoice_id)).first()
        assert paid.changes == {"paid": ["0.00", "1230.00"], "status": ["issued", "paid"]}

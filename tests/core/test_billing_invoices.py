"""Invoices: drafts, gapless numbers in the order of issue, the buyer fixed at issue,
cancelling, correcting invoices, advances and final invoices, who may, the trail."""

import dataclasses
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_helpers import BANNER, COMPANY, MARCH, draft, issued, make_world, org, user
from core import audit, invoices, organisations, payments, timeline, webhooks
from core.errors import Forbidden, ValidationError
from core.models import Activity, AuditEntry, Invoice, WebhookDelivery
from core.templating import money

D = Decimal
MIXED = [{"description": "Ulotki A5", "quantity": "1", "unit_price": "10.50", "vat_rate": "23"},
         {"description": "Plakaty B2", "quantity": "1", "unit_price": "20.50", "vat_rate": "23"},
         {"description": "Książka", "quantity": "3", "unit_price": "0.99", "vat_rate": "8"},
         {"description": "Broszura", "quantity": "1", "unit_price": "1.31", "vat_rate": "8"},
         {"description": "Szkolenie", "quantity": "2.5", "unit": "h", "unit_price": "40",
          "vat_rate": "zw"}]


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


def issue(rt, invoice_id, when=MARCH, by="clerk", world=None):
    with rt.session() as s, s.begin():
        invoice = s.get(Invoice, invoice_id)
        invoices.issue(s, rt.settings, invoice, user(s, world, by), when)
        return invoice.number


def drafted(rt, world, lines=None, **data) -> int:
    with rt.session() as s, s.begin():
        return draft(s, world, lines, **data).id


# --- Drafts ------------------------------------------------------------------------------

def test_bad_values_of_a_draft_are_named_at_once_and_nothing_is_written(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        with pytest.raises(ValidationError) as refused:
            invoices.create(s, {"organisation_id": world["kornik"], "person_id": world["anna"],
                                "kind": "bill", "currency": "zł", "payment_days": 400,
                                "case_id": 999, "price_basis": "both",
                                "lines": [{"quantity": "1"}]}, clerk)
        assert set(refused.value.errors) == {
            "organisation_id", "kind", "currency", "payment_days", "case_id", "price_basis",
            "lines.0.description", "lines.0.unit_price", "lines.0.vat_rate"}
        assert refused.value.errors["organisation_id"] == \
            "Give one organisation or one person, not both."
        with pytest.raises(ValidationError) as refused:
            invoices.create(s, {"lines": []}, clerk)
        assert refused.value.errors == {
            "organisation_id": "Choose who is billed: one organisation or one person."}
        with pytest.raises(ValidationError, match="Only a final invoice"):
            draft(s, world, advance_ids=[1])
        assert s.scalar(select(Invoice.id)) is None


def test_a_drafts_lines_are_replaced_and_its_totals_follow(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoice = draft(s, world, MIXED[:2], notes="Zamówienie 17")
        assert (invoice.status, invoice.number, invoice.gross) == ("draft", None, D("38.13"))
        first = invoice.lines[0].id
        invoices.update(s, invoice, {"lines": [{**MIXED[2], "id": first}, MIXED[4]],
                                     "payment_days": 30}, clerk)
        assert [(line.position, line.description) for line in invoice.lines] == [
            (1, "Książka"), (2, "Szkolenie")]
        assert (invoice.gross, invoice.payment_days) == (D("103.21"), 30)
        with pytest.raises(ValidationError) as refused:
            invoices.update(s, invoice, {"lines": [{**MIXED[0], "id": 987654}]}, clerk)
        assert refused.value.errors == {"lines.0.id": "There is no such line here."}
        with pytest.raises(ValidationError) as refused:  # a line given must be whole
            invoices.update(s, invoice, {"lines": [{"description": "Baner"}]}, clerk)
        assert {"lines.0.quantity", "lines.0.unit_price"} <= set(refused.value.errors)
        assert invoice.gross == D("103.21")
        with pytest.raises(ValidationError) as refused:
            invoices.update(s, invoice, {"currency": "EUR", "organisation_id": world["mosina"],
                                         "kind": "advance"}, clerk)
        assert set(refused.value.errors) == {"currency", "organisation_id", "kind"}


# --- Issuing -----------------------------------------------------------------------------

def test_issuing_numbers_it_copies_the_parties_and_sets_the_due_date(rt, world):
    invoice_id = drafted(rt, world, payment_days=21, sale_date=date(2026, 2, 27))
    assert issue(rt, invoice_id, world=world) == "FV/2026/0001"
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.series_key) == ("issued", "billing.invoice")
        assert (invoice.issue_date, invoice.sale_date, invoice.due_date) == (
            MARCH, date(2026, 2, 27), date(2026, 3, 23))
        assert invoice.buyer == {"name": "Gmina Kórnik", "nip": "7773061579",
                                 "street": "Plac Niepodległości 1", "postal_code": "62-035",
                                 "city": "Kórnik", "country": "PL"}
        assert invoice.seller == {"name": "Drukarnia Test sp. z o.o.",
                                  "details": ["ul. Długa 1", "61-001 Poznań", "NIP 7773061579"]}
        assert (invoice.to_pay, invoice.paid, invoice.balance) == (D("1230.00"), 0, D("1230.00"))
        events = [a for a in timeline.timeline(s, org(s, world)) if a.kind == "system"]
        assert [(a.event, a.subject) for a in events][0] == \
            ("invoice_issued", f"FV/2026/0001: {money(D('1230'), 'PLN')}")


def test_a_person_is_billed_with_their_first_address(rt, world):
    invoice_id = issued(rt, world, person_id=world["anna"])
    with rt.session() as s:
        assert s.get(Invoice, invoice_id).buyer == {
            "name": "Anna Nowak", "nip": "", "street": "ul. Polna 3", "postal_code": "60-001",
            "city": "Poznań", "country": "PL"}


def test_a_rolled_back_issue_gives_its_number_back_in_the_order_of_issue(rt, world):
    first, second, third = (drafted(rt, world) for _ in range(3))
    assert issue(rt, first, world=world) == "FV/2026/0001"
    with rt.session() as s:
        invoices.issue(s, rt.settings, s.get(Invoice, second), user(s, world, "clerk"), MARCH)
        assert s.get(Invoice, second).number == "FV/2026/0002"
        s.rollback()
    with rt.session() as s:
        assert (s.get(Invoice, second).status, s.get(Invoice, second).number) == ("draft", None)
    assert issue(rt, third, world=world) == "FV/2026/0002"
    assert issue(rt, second, world=world) == "FV/2026/0003"
    assert issue(rt, drafted(rt, world, kind="proforma"), world=world) == "PF/2026/0001"
    assert issue(rt, drafted(rt, world, kind="settlement"), world=world) == "NR/2026/0001"
    assert issue(rt, drafted(rt, world), date(2027, 1, 4), world=world) == "FV/2027/0001"


def test_invoices_issued_at_once_get_consecutive_numbers(rt, world):
    ids = [drafted(rt, world) for _ in range(6)]
    found, errors, lock = [], [], threading.Lock()

    def worker(invoice_id: int) -> None:
        try:
            with rt.session() as s, s.begin():
                invoice = s.get(Invoice, invoice_id)
                invoices.issue(s, rt.settings, invoice, user(s, world, "clerk"), MARCH)
                number = invoice.number
            with lock:
                found.append(number)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(found) == [f"FV/2026/{n:04}" for n in range(1, 7)]


def test_one_draft_issued_twice_at_once_gets_one_number(rt, world):
    invoice_id = drafted(rt, world)
    outcomes = []

    def worker() -> None:
        try:
            issue(rt, invoice_id, world=world)
            outcomes.append("issued")
        except ValidationError as exc:
            outcomes.append(exc.errors["status"])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Only a draft is issued; this one has been issued or "
                                "cancelled.", "issued"]
    assert issue(rt, drafted(rt, world), world=world) == "FV/2026/0002"


def test_the_buyer_on_an_issued_invoice_stays_as_it_was_issued(rt, world):
    invoice_id = issued(rt, world)
    draft_id = drafted(rt, world)
    with rt.session() as s, s.begin():
        organisations.update(s, rt.host, org(s, world), {
            "name": "Miasto i Gmina Kórnik", "street": "ul. Nowa 2"}, user(s, world, "clerk"))
    with rt.session() as s:
        assert s.get(Invoice, invoice_id).buyer["name"] == "Gmina Kórnik"
        assert s.get(Invoice, invoice_id).buyer["street"] == "Plac Niepodległości 1"
    issue(rt, draft_id, world=world)
    with rt.session() as s:
        assert s.get(Invoice, draft_id).buyer["name"] == "Miasto i Gmina Kórnik"


def test_an_issued_invoice_is_not_changed_nor_issued_again(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        invoice, clerk = s.get(Invoice, invoice_id), user(s, world, "clerk")
        with pytest.raises(ValidationError) as refused:
            invoices.update(s, invoice, {"lines": [MIXED[0]]}, clerk)
        assert "correct it with a correcting invoice" in refused.value.errors["status"]
        with pytest.raises(ValidationError, match="Only a draft is issued"):
            invoices.issue(s, rt.settings, invoice, clerk, MARCH)
        assert [line.description for line in invoice.lines] == ["Baner 6x3 m"]


def test_an_empty_draft_or_one_without_a_seller_is_not_issued(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        empty = draft(s, world, [])
        with pytest.raises(ValidationError) as refused:
            invoices.issue(s, dataclasses.replace(rt.settings, company_name=" "), empty, clerk)
        assert set(refused.value.errors) == {"lines", "seller"}
        free = draft(s, world, [{**BANNER, "unit_price": "0"}])
        with pytest.raises(ValidationError, match="more than zero"):
            invoices.issue(s, rt.settings, free, clerk)
        assert (empty.status, free.status, empty.number) == ("draft", "draft", None)


# --- Sending and cancelling --------------------------------------------------------------

def test_a_draft_is_cancelled_freely_an_issued_one_with_a_reason_and_keeps_its_number(rt,
                                                                                      world):
    draft_id, invoice_id = drafted(rt, world), issued(rt, world)
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoices.cancel(s, s.get(Invoice, draft_id), actor=clerk)
        with pytest.raises(ValidationError) as refused:
            invoices.cancel(s, s.get(Invoice, invoice_id), " ", clerk)
        assert refused.value.errors == {
            "reason": "Give the reason for cancelling an issued invoice."}
        invoices.cancel(s, s.get(Invoice, invoice_id), "Wystawiona na złego nabywcę", clerk)
        with pytest.raises(ValidationError, match="cancelled already"):
            invoices.cancel(s, s.get(Invoice, invoice_id), "again", clerk)
    with rt.session() as s:
        cancelled = s.get(Invoice, invoice_id)
        assert (cancelled.status, cancelled.number, cancelled.cancel_reason) == (
            "cancelled", "FV/2026/0001", "Wystawiona na złego nabywcę")
        assert s.get(Invoice, draft_id).status == "cancelled"
    assert issue(rt, drafted(rt, world), world=world) == "FV/2026/0002"


def test_an_invoice_sent_paid_or_corrected_is_corrected_not_cancelled(rt, world):
    sent_id, paid_id, corrected_id, proforma_id = (
        issued(rt, world), issued(rt, world), issued(rt, world), issued(rt, world,
                                                                        kind="proforma"))
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoices.mark_sent(s, s.get(Invoice, sent_id), clerk)
        invoices.mark_sent(s, s.get(Invoice, proforma_id), clerk)
        payments.record(s, {"received_on": "2026-03-05", "amount": "100"}, clerk,
                        allocate_to=[(s.get(Invoice, paid_id), None)])
        invoices.correct(s, s.get(Invoice, corrected_id), [{"position": 1, "quantity": "2"}],
                         "Dwa banery", clerk)
        correction = s.scalar(select(Invoice).where(Invoice.corrects_id == corrected_id))
        invoices.issue(s, rt.settings, correction, clerk, MARCH)
    for invoice_id, message in ((sent_id, "sent to the buyer"), (paid_id, "Payments"),
                                (corrected_id, "corrected")):
        with rt.session() as s, s.begin():
            with pytest.raises(ValidationError) as refused:
                invoices.cancel(s, s.get(Invoice, invoice_id), "Pomyłka", user(s, world,
                                                                                  "clerk"))
            assert message in refused.value.errors["status"]
    with rt.session() as s, s.begin():  # a pro forma is no tax document
        invoices.cancel(s, s.get(Invoice, proforma_id), "Klient rezygnuje",
                        user(s, world, "clerk"))
        assert s.get(Invoice, proforma_id).status == "cancelled"


def test_sending_moves_the_status_once(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        invoice, clerk = s.get(Invoice, invoice_id), user(s, world, "clerk")
        invoices.mark_sent(s, invoice, clerk)
        sent_at = invoice.sent_at
        invoices.mark_sent(s, invoice, clerk)
        assert (invoice.status, invoice.sent_at) == ("sent", sent_at)
        with pytest.raises(ValidationError, match="Only an issued invoice is sent"):
            invoices.mark_sent(s, draft(s, world), clerk)


# --- Corrections -------------------------------------------------------------------------

def test_a_correction_carries_each_line_before_and_after_and_the_differences_per_rate(rt,
                                                                                       world):
    original_id = issued(rt, world, MIXED)
    with rt.session() as s, s.begin():
        clerk, original = user(s, world, "clerk"), s.get(Invoice, original_id)
        correction = invoices.correct(s, original, [
            {"position": 1, "unit_price": "10.00"},  # 23%: 30.50 x 0.23 = 7.015
            {"position": 4, "quantity": "0"},  # 8%: 2.97 x 0.08 = 0.2376
            {"description": "Ulotki A6", "quantity": "1", "unit_price": "20", "vat_rate": "5"},
        ], "Rabat na ulotki, broszury nie dostarczono", clerk)
        assert (correction.kind, correction.status, correction.corrects_id) == (
            "correction", "draft", original_id)
        first = correction.lines[0]
        assert (first.unit_price, first.before["unit_price"]) == (D("10.00"), "10.5000")
        assert [line.before is None for line in correction.lines] == [False] * 5 + [True]
        assert correction.vat_summary == [
            {"rate": "23", "net": "-0.50", "vat": "-0.11", "gross": "-0.61"},
            {"rate": "8", "net": "-1.31", "vat": "-0.10", "gross": "-1.41"},
            {"rate": "5", "net": "20.00", "vat": "1.00", "gross": "21.00"}]
        # Line by line the 23% line alone would lose 0.12 of tax (2.42 -> 2.30).
        assert (correction.net, correction.vat, correction.gross) == (
            D("18.19"), D("0.79"), D("18.98"))
        assert original.to_pay == D("142.75")  # a draft moves nothing
        invoices.issue(s, rt.settings, correction, clerk, date(2026, 3, 9))
        assert correction.number == "KOR/2026/0001"
        assert (original.to_pay, original.status) == (D("161.73"), "issued")
        assert invoices.is_corrected(s, original)
        assert [(r.rate, r.gross) for r in invoices.summary_now(s, original)] == [
            ("23", D("37.52")), ("8", D("3.21")), ("5", D("21.00")), ("zw", D("100.00"))]
        again = invoices.correct(s, original, [{"position": 6, "quantity": "2"}],
                                 "Dwie paczki ulotek A6", clerk)
        assert again.lines[5].before["quantity"] == "1.0000"
        assert again.vat_summary == [{"rate": "5", "net": "20.00", "vat": "1.00",
                                      "gross": "21.00"}]


def test_a_correction_is_refused_when_it_changes_nothing_or_names_no_line(rt, world):
    original_id, draft_id = issued(rt, world), drafted(rt, world)
    with rt.session() as s, s.begin():
        clerk, original = user(s, world, "clerk"), s.get(Invoice, original_id)
        with pytest.raises(ValidationError, match="changes nothing"):
            invoices.correct(s, original, [{"position": 1, "unit_price": "1000"}], "x", clerk)
        with pytest.raises(ValidationError) as refused:
            invoices.correct(s, original, [{"position": 7, "quantity": "1"},
                                           {"description": "New"}], "", clerk)
        assert refused.value.errors == {"reason": "Give the reason for the correction."}
        with pytest.raises(ValidationError) as refused:
            invoices.correct(s, original, [{"position": 7, "quantity": "1"},
                                           {"description": "Nowa pozycja"},
                                           {"position": 1, "quantity": "-1"}], "Zwrot", clerk)
        assert refused.value.errors == {
            "lines.0.position": "There is no line 7.",
            "lines.1.quantity": "Fill this in for a new line.",
            "lines.1.unit_price": "Fill this in for a new line.",
            "lines.1.vat_rate": "Fill this in for a new line.",
            "lines.2.quantity": "Enter a quantity of 0 or more."}
        with pytest.raises(ValidationError, match="a draft is changed"):
            invoices.correct(s, s.get(Invoice, draft_id), [{"position": 1, "quantity": "2"}],
                             "x", clerk)
        correction = invoices.correct(s, original, [{"position": 1, "description": "Baner"}],
                                      "Nazwa towaru", clerk)
        assert correction.gross == 0 and correction.vat_summary == []
        with pytest.raises(ValidationError, match="not its correction"):
            invoices.correct(s, correction, [{"position": 1, "quantity": "2"}], "x", clerk)
        with pytest.raises(ValidationError, match="Make another correction"):
            invoices.update(s, correction, {"lines": [BANNER]}, clerk)


def test_a_correction_made_before_another_was_issued_must_be_made_again(rt, world):
    original_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk, original = user(s, world, "clerk"), s.get(Invoice, original_id)
        first = invoices.correct(s, original, [{"position": 1, "quantity": "2"}], "A", clerk)
        second = invoices.correct(s, original, [{"position": 1, "quantity": "3"}], "B", clerk)
        invoices.issue(s, rt.settings, first, clerk, MARCH)
        with pytest.raises(ValidationError, match="corrected meanwhile"):
            invoices.issue(s, rt.settings, second, clerk, MARCH)
        invoices.cancel(s, second, actor=clerk)
        third = invoices.correct(s, original, [{"position": 1, "quantity": "3"}], "B", clerk)
        assert third.gross == D("1230.00")  # from 2 banners to 3
        invoices.issue(s, rt.settings, third, clerk, MARCH)
        assert original.to_pay == D("3690.00")
        with pytest.raises(ValidationError, match="later correction builds on it"):
            invoices.cancel(s, first, "Pomyłka", clerk)
        invoices.cancel(s, third, "Pomyłka", clerk)
        assert original.to_pay == D("2460.00")


def test_two_corrections_issued_at_once_one_is_refused(rt, world):
    original_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk, original = user(s, world, "clerk"), s.get(Invoice, original_id)
        ids = [invoices.correct(s, original, [{"position": 1, "quantity": n}], "x", clerk).id
               for n in ("2", "3")]
    outcomes = []

    def worker(correction_id: int) -> None:
        try:
            issue(rt, correction_id, world=world)
            outcomes.append("issued")
        except ValidationError as exc:
            outcomes.append(exc.errors["corrects_id"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["The invoice was corrected meanwhile; cancel this correction "
                                "and make it again.", "issued"]
    with rt.session() as s:
        original = s.get(Invoice, original_id)
        [done] = invoices.corrections(s, original)
        assert original.to_pay == D("1230.00") + done.gross


# --- Advances and final invoices ---------------------------------------------------------

def test_a_final_invoice_deducts_its_advances(rt, world):
    advance_id = issued(rt, world, kind="advance")  # 1 230,00
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        final = draft(s, world, [{**BANNER, "description": "Instalacja", "unit_price": "4000"}],
                      kind="final", advance_ids=[advance_id])
        assert s.get(Invoice, advance_id).settled_by_id == final.id
        with pytest.raises(ValidationError) as refused:
            draft(s, world, kind="final", advance_ids=[advance_id])
        assert refused.value.errors == {
            "advance_ids.0": "Another final invoice deducts it already."}
        invoices.issue(s, rt.settings, final, clerk, MARCH)
        assert (final.number, final.gross, final.to_pay) == ("FV/2026/0002", D("4920.00"),
                                                             D("3690.00"))
        assert [(r.rate, r.net, r.vat, r.gross) for r in invoices.remainder(s, final)] == [
            ("23", D("3000.00"), D("690.00"), D("3690.00"))]
        with pytest.raises(ValidationError, match="A final invoice deducts it"):
            invoices.cancel(s, s.get(Invoice, advance_id), "Pomyłka", clerk)
        with pytest.raises(ValidationError) as refused:
            draft(s, world, kind="final", client="mosina", advance_ids=[advance_id])
        assert "same buyer" in refused.value.errors["advance_ids.0"]
        alone = draft(s, world, kind="final")
        with pytest.raises(ValidationError, match="Choose the advance invoices"):
            invoices.issue(s, rt.settings, alone, clerk, MARCH)


def test_cancelling_a_final_draft_frees_its_advances(rt, world):
    advance_id = issued(rt, world, kind="advance")
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        final = draft(s, world, kind="final", advance_ids=[advance_id])
        invoices.cancel(s, final, actor=clerk)
        assert s.get(Invoice, advance_id).settled_by_id is None
        again = draft(s, world, [{**BANNER, "unit_price": "900"}], kind="final",
                      advance_ids=[advance_id])
        with pytest.raises(ValidationError, match="come to more than the final"):
            invoices.issue(s, rt.settings, again, clerk, MARCH)


# --- Who may, and the trail --------------------------------------------------------------

def test_only_holders_of_the_billing_permission_make_issue_and_cancel_invoices(rt, world):
    invoice_id = issued(rt, world)
    draft_id = drafted(rt, world)
    with rt.session() as s, s.begin():
        rep = user(s, world, "rep")
        for attempt in (lambda: draft(s, world, by="rep"),
                        lambda: invoices.issue(s, rt.settings, s.get(Invoice, draft_id), rep),
                        lambda: invoices.cancel(s, s.get(Invoice, invoice_id), "x", rep),
                        lambda: invoices.correct(s, s.get(Invoice, invoice_id),
                                                 [{"position": 1, "quantity": "2"}], "x", rep),
                        lambda: invoices.mark_sent(s, s.get(Invoice, invoice_id), rep)):
            with pytest.raises(Forbidden, match="You may not issue invoices"):
                attempt()
        assert invoices.get(s, invoice_id, rep) is not None  # staff see every client
        assert s.get(Invoice, draft_id).status == "draft"


def test_invoices_of_clients_one_may_not_see_are_neither_seen_nor_touched(rt, world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        loner = user(s, world, "loner")  # billing, but only their own records
        assert invoices.get(s, invoice_id, loner) is None
        assert s.scalars(invoices.visible(loner)).all() == []
        with pytest.raises(ValidationError) as refused:
            draft(s, world, by="loner")
        assert refused.value.errors == {
            "organisation_id": "There is no such organisation, or you may not see it."}
        with pytest.raises(Forbidden, match="You may not do this with this record"):
            invoices.cancel(s, s.get(Invoice, invoice_id), "x", loner)
        own = organisations.create(s, rt.host, {"name": "Firma Lonera",
                                                "type_key": "core.company"}, loner)
        mine = draft(s, world, by="loner", organisation_id=own.id)
        assert [i.id for i in s.scalars(invoices.visible(loner))] == [mine.id]


def test_drafts_issues_corrections_and_cancellations_are_in_the_audit_trail(rt, world):
    with rt.session() as s, s.begin(), audit.door("ui"):
        clerk = user(s, world, "clerk")
        invoice = draft(s, world)
        invoices.issue(s, rt.settings, invoice, clerk, MARCH)
        correction = invoices.correct(s, invoice, [{"position": 1, "quantity": "2"}],
                                      "Dwa banery", clerk)
        invoices.cancel(s, correction, actor=clerk)
        invoice_id, correction_id = invoice.id, correction.id
    with rt.session() as s:
        trail = [(e.record_id, e.action, e.actor_id, e.door, e.summary, sorted(e.changes))
                 for e in s.scalars(select(AuditEntry).where(AuditEntry.record_type == "invoices")
                                    .order_by(AuditEntry.id))]
        assert [t[:5] for t in trail] == [
            (invoice_id, "create", world["clerk"], "ui", f"Draft invoice #{invoice_id}"),
            (invoice_id, "update", world["clerk"], "ui", "FV/2026/0001"),
            (correction_id, "create", world["clerk"], "ui", f"Draft invoice #{correction_id}"),
            (correction_id, "update", world["clerk"], "ui", f"Draft invoice #{correction_id}")]
        assert trail[1][5] == ["buyer", "due_date", "gross", "issue_date", "number", "status"]
        issued_entry = s.scalars(audit.of_record("invoices", invoice_id)).first()
        assert issued_entry.changes["number"] == [None, "FV/2026/0001"]
        assert trail[3][5] == ["status"]  # a draft is cancelled without a reason


def test_issuing_tells_subscribed_webhooks_and_plugins_after_the_commit(rt, world):
    with rt.session() as s, s.begin():
        webhooks.create(s, {"name": "Księgowość", "url": "https://books.example.com/in",
                            "events": ["invoice.issued"]}, user(s, world, "admin"))
    assert "invoice.issued" in webhooks.catalogue()
    with rt.session() as s:
        invoice = draft(s, world)
        invoices.issue(s, rt.settings, invoice, user(s, world, "clerk"), MARCH)
        [delivery] = s.scalars(select(WebhookDelivery)).all()
        assert delivery.event == "invoice.issued"
        told = delivery.payload["data"]
        assert (told["number"], told["gross"], told["due_date"], told["buyer"]["name"],
                told["actor"]["name"]) == ("FV/2026/0001", "1230.00", "2026-03-16",
                                           "Gmina Kórnik", "Klara Księgowa")
        s.rollback()  # nothing issued: nothing told
    with rt.session() as s:
        assert s.scalars(select(WebhookDelivery)).all() == []
        assert s.scalars(select(Activity).where(Activity.event == "invoice_issued")).all() == []


def test_a_pro_forma_is_numbered_on_its_own_and_owes_nothing(rt, world):
    proforma_id = issued(rt, world, kind="proforma", issue_date=MARCH - timedelta(days=60))
    with rt.session() as s:
        proforma = s.get(Invoice, proforma_id)
        assert (proforma.number, proforma.gross, proforma.to_pay) == (
            "PF/2026/0001", D("1230.00"), D("0"))
        assert not invoices.is_overdue(proforma, MARCH)
        with pytest.raises(ValidationError, match="A pro forma is not corrected"):
            invoices.correct(s, proforma, [{"position": 1, "quantity": "2"}], "x",
                             user(s, world, "clerk"))

"""Matching a statement's credits to open invoices: by the invoice number in the title
however it is spelled, by the payer (account, NIP, name) with the amount owed; sure
matches paid, unsure ones suggested, and the review that decides on them."""

from decimal import Decimal

import pytest
from bank_helpers import (
    KORNIK_IBAN,
    MOSINA_IBAN,
    csv_bank,
    csv_file,
    import_file,
    lines,
    row,
)
from sqlalchemy import func, select

from billing_helpers import COMPANY, MARCH, issued, make_world, org, user
from core import field_definitions, invoices, organisations, payment_matching
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, BankStatement, BankStatementLine, Invoice, Payment

D = Decimal
MOSINA_PRICE = {"description": "Baner 2x1 m", "quantity": "1", "unit": "szt.",
                "unit_price": "500.00", "vat_rate": "23"}  # 615,00 gross


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


@pytest.fixture
def bank(rt, world) -> int:
    with rt.session() as s, s.begin():
        return csv_bank(s, world).id


def credit(rt, world, bank, title, amount="1 230,00", payer="", account="", ref="",
           currency="PLN") -> BankStatementLine:
    """One credit imported on a statement of its own; the line as it ended."""
    data = csv_file([row("10.03.2026", payer, account, title, amount, ref, currency)])
    statement_id = import_file(rt, world, bank, data)
    with rt.session() as s:
        return lines(s, statement_id)[0]


def state(rt, invoice_id) -> tuple:
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        return invoice.status, invoice.paid, invoice.balance


def payments_count(rt) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(Payment))


def iban_field(rt, world, **owners):
    """An IBAN custom field on organisations, filled for ``owners`` (name -> IBAN)."""
    with rt.session() as s, s.begin():
        field_definitions.create(s, {"record_type": "organisation", "key": "konto",
                                     "type": "iban", "label_pl": "Konto"}, host=rt.host)
    with rt.session() as s, s.begin():
        for name, number in owners.items():
            organisations.update(s, rt.host, org(s, world, name), {"custom": {"konto": number}},
                                 user(s, world, "admin"))


# ------------------------------------------------------------------ sure matches


def test_the_invoice_number_in_the_title_pays_it_however_it_is_spelled(rt, world, bank):
    ids = [issued(rt, world) for _ in range(4)]  # FV/2026/0001 ... 0004, 1 230,00 each
    titles = ["Zapłata za FV/2026/0001", "fv 2026 2 - baner", "Faktura FV-2026-0003, dzięki",
              "FV20260004"]
    for n, (invoice_id, title) in enumerate(zip(ids, titles, strict=True)):
        line = credit(rt, world, bank, title, payer="GMINA KÓRNIK", ref=f"T{n}")
        assert (line.status, line.reason, line.invoice_id) == ("matched", "number", invoice_id)
        assert state(rt, invoice_id) == ("paid", D("1230.00"), D("0.00"))
        with rt.session() as s:
            payment = s.get(Payment, line.payment_id)
            assert (payment.source, payment.external_id, payment.organisation_id,
                    payment.payer, payment.title, payment.received_on) == (
                "bank", line.external_id, world["kornik"], "GMINA KÓRNIK", title, MARCH.replace(
                    day=10))
            assert [a.invoice_id for a in payment.allocations] == [invoice_id]
            assert line.organisation_id == world["kornik"]


def test_a_part_payment_leaves_the_invoice_partly_paid(rt, world, bank):
    invoice_id = issued(rt, world)
    line = credit(rt, world, bank, "FV/2026/0001 część", amount="500,00")
    assert (line.status, line.reason) == ("matched", "number_partial")
    assert state(rt, invoice_id) == ("partly_paid", D("500.00"), D("730.00"))
    line = credit(rt, world, bank, "FV/2026/0001 reszta", amount="730,00")
    assert (line.status, line.reason) == ("matched", "number")
    assert state(rt, invoice_id) == ("paid", D("1230.00"), D("0.00"))


def test_an_over_payment_pays_the_invoice_and_the_rest_stays_on_the_payment(rt, world, bank):
    invoice_id = issued(rt, world)
    line = credit(rt, world, bank, "FV/2026/0001", amount="1 500,00")
    assert (line.status, line.reason, line.details["rest"]) == ("matched", "number_over",
                                                                "270.00")
    assert state(rt, invoice_id) == ("paid", D("1230.00"), D("0.00"))
    with rt.session() as s:
        payment = s.get(Payment, line.payment_id)
        assert (payment.allocated, payment.unallocated) == (D("1230.00"), D("270.00"))
    assert "270.00" in payment_matching.describe(line)


def test_two_invoices_named_in_one_title_are_paid_oldest_first(rt, world, bank):
    first, second = issued(rt, world), issued(rt, world)
    line = credit(rt, world, bank, "FV/2026/0001 i FV/2026/0002", amount="2 460,00")
    assert (line.status, line.details["invoice_ids"]) == ("matched", [first, second])
    assert state(rt, first)[0] == state(rt, second)[0] == "paid"


def test_a_correction_number_pays_the_invoice_it_corrects(rt, world, bank):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        correction = invoices.correct(s, s.get(Invoice, invoice_id),
                                      [{"position": 1, "quantity": "2"}], "Dwa banery", clerk)
        invoices.issue(s, rt.settings, correction, clerk, MARCH)
    line = credit(rt, world, bank, "Korekta KOR/2026/0001", amount="2 460,00")
    assert (line.status, line.invoice_id) == ("matched", invoice_id)
    assert state(rt, invoice_id) == ("paid", D("2460.00"), D("0.00"))


def test_a_payer_known_by_name_pays_the_invoice_owing_the_amount(rt, world, bank):
    kornik = issued(rt, world)
    mosina = issued(rt, world, [MOSINA_PRICE], client="mosina")
    anna = issued(rt, world, person_id=world["anna"])
    line = credit(rt, world, bank, "opłata za baner", amount="615,00",
                  payer="GMINA MOSINA UL. DWORCOWA 3 62-050 MOSINA")
    assert (line.status, line.reason, line.details["how"], line.invoice_id) == (
        "matched", "payer_amount", "name", mosina)
    line = credit(rt, world, bank, "za baner", payer="NOWAK ANNA UL. POLNA 3 POZNAŃ")
    assert (line.status, line.invoice_id, line.person_id) == ("matched", anna, world["anna"])
    assert state(rt, kornik)[0] == "issued"  # owing the same amount, but someone else


def test_the_account_the_money_came_from_names_the_payer(rt, world, bank):
    first, second = issued(rt, world), issued(rt, world, [MOSINA_PRICE])
    iban_field(rt, world, kornik=KORNIK_IBAN)
    line = credit(rt, world, bank, "przelew", payer="URZĄD", account="61 1090 1014 0000 0712 "
                  "1981 2874")
    assert (line.status, line.reason, line.details["how"], line.account) == (
        "matched", "payer_amount", "account", KORNIK_IBAN)
    assert line.invoice_id == first  # the one of theirs owing this amount
    assert state(rt, second)[0] == "issued"


def test_an_account_that_paid_a_client_before_names_them_again(rt, world, bank):
    first = issued(rt, world, [MOSINA_PRICE], client="mosina")
    second = issued(rt, world, [MOSINA_PRICE], client="mosina")
    issued(rt, world, [MOSINA_PRICE])  # Kórnik's: owing the same
    assert credit(rt, world, bank, "FV/2026/0001", amount="615,00", account=MOSINA_IBAN,
                  payer="URZĄD MIEJSKI").status == "matched"
    line = credit(rt, world, bank, "zaległa płatność", amount="615,00", account=MOSINA_IBAN)
    assert (line.status, line.details["how"], line.invoice_id) == ("matched", "account",
                                                                   second)
    assert state(rt, first)[0] == state(rt, second)[0] == "paid"


def test_a_nip_in_the_title_names_the_payer(rt, world, bank):
    invoice_id = issued(rt, world)
    issued(rt, world, client="mosina")  # owing the same
    line = credit(rt, world, bank, "NIP 777-306-15-79 płatność za marzec")
    assert (line.status, line.details["how"], line.invoice_id) == ("matched", "nip",
                                                                   invoice_id)


def test_a_payment_of_all_a_client_owes_pays_every_open_invoice(rt, world, bank):
    first = issued(rt, world)
    second = issued(rt, world, [MOSINA_PRICE])
    line = credit(rt, world, bank, "saldo", amount="1 845,00", payer="Gmina Kórnik")
    assert (line.status, line.reason, line.details["invoice_ids"]) == (
        "matched", "payer_all", [first, second])


# ------------------------------------------------------------------ unsure and none


def test_unsure_lines_wait_for_review_and_record_nothing(rt, world, bank):
    kornik = issued(rt, world)  # FV/2026/0001
    other = issued(rt, world, [MOSINA_PRICE])  # FV/2026/0002, 615,00
    iban_field(rt, world, mosina=MOSINA_IBAN)
    cases = [
        # (title, amount, payer, account, currency) -> (status, reason, invoice)
        (("przelew", "1 230,00", "Jan Kowalski", "", "PLN"),
         ("suggested", "amount_only", kornik)),
        (("FV/2026/0001", "1 230,00", "", MOSINA_IBAN, "PLN"),
         ("suggested", "number_other_payer", kornik)),
        (("FV/2026/0001 FV/2026/0002", "1 000,00", "", "", "PLN"),
         ("suggested", "numbers_short", kornik)),
        (("przelew", "999,00", "", MOSINA_IBAN, "PLN"),
         ("unmatched", "payer_nothing_owed", None)),
        (("darowizna", "77,00", "Fundacja", "", "PLN"), ("unmatched", "nothing", None)),
        (("FV/2026/0001", "1 230,00", "", "", "EUR"), ("unmatched", "nothing", None)),
    ]
    for n, (given, expected) in enumerate(cases):
        title, amount, payer, account, currency = given
        line = credit(rt, world, bank, title, amount, payer, account, f"U{n}", currency)
        assert (line.status, line.reason, line.invoice_id) == expected, given
        assert line.payment_id is None
        assert payment_matching.describe(line)
    with rt.session() as s:
        suggested = s.scalar(select(BankStatementLine).where(
            BankStatementLine.reason == "number_other_payer"))
        assert suggested.organisation_id == world["mosina"]  # whose account it is
        assert "Gmina Mosina" in payment_matching.describe(suggested)
        nothing_owed = s.scalar(select(BankStatementLine).where(
            BankStatementLine.reason == "payer_nothing_owed"))
        assert nothing_owed.organisation_id == world["mosina"]
    assert payments_count(rt) == 0
    assert state(rt, kornik)[0] == state(rt, other)[0] == "issued"


def test_a_payer_with_one_open_invoice_of_another_amount_gets_it_suggested(rt, world, bank):
    invoice_id = issued(rt, world)
    line = credit(rt, world, bank, "wpłata", amount="1 000,00", payer="Gmina Kórnik")
    assert (line.status, line.reason, line.invoice_id, line.details["owed"]) == (
        "suggested", "payer_only_invoice", invoice_id, "1230.00")


def test_a_title_naming_a_paid_invoice_says_so(rt, world, bank):
    issued(rt, world)
    credit(rt, world, bank, "FV/2026/0001", ref="first")
    line = credit(rt, world, bank, "FV/2026/0001 ponownie", amount="50,00", ref="again")
    assert (line.status, line.reason, line.details["numbers"]) == (
        "unmatched", "number_closed", ["FV/2026/0001"])


def test_a_bank_user_sees_only_the_invoices_of_clients_they_may_see(rt, world, bank):
    issued(rt, world)  # Kórnik's, not the loner's
    line = credit(rt, world, bank, "FV/2026/0001", ref="L")
    assert line.status == "matched"  # the clerk sees every client
    issued(rt, world)
    data = csv_file([row("11.03.2026", "", "", "FV/2026/0002", "1 230,00", "L2")])
    statement_id = import_file(rt, world, bank, data, by="loner")
    with rt.session() as s:
        [seen] = lines(s, statement_id)
        assert (seen.status, seen.invoice_id) == ("unmatched", None)


# ------------------------------------------------------------------ review


def decide(rt, world, line_id, how, *args, by="clerk", **kwargs) -> BankStatementLine:
    with rt.session() as s, s.begin():
        line = s.get(BankStatementLine, line_id)
        return how(s, line, *args, user(s, world, by), **kwargs)


def test_a_suggestion_confirmed_on_review_pays_the_invoice(rt, world, bank):
    invoice_id = issued(rt, world)
    line = credit(rt, world, bank, "przelew", payer="Jan Kowalski")
    assert line.status == "suggested"
    decided = decide(rt, world, line.id, payment_matching.confirm)
    assert (decided.status, decided.reason, decided.decided_by_id) == (
        "matched", "confirmed", world["clerk"])
    assert state(rt, invoice_id) == ("paid", D("1230.00"), D("0.00"))
    with rt.session() as s:
        statement = s.get(BankStatement, line.statement_id)
        assert (statement.counts["matched"], statement.counts["suggested"]) == (1, 0)
        entry = s.scalar(select(AuditEntry).where(
            AuditEntry.record_type == "bank_statement_lines", AuditEntry.record_id == line.id))
        assert entry.changes["status"] == ["suggested", "matched"]


def test_an_invoice_chosen_on_review_is_paid_and_the_rest_stays_on_the_payment(rt, world,
                                                                             bank):
    issued(rt, world)
    other = issued(rt, world, [MOSINA_PRICE], client="mosina")  # 615,00
    line = credit(rt, world, bank, "darowizna i opłata", amount="700,00", payer="Ktoś")
    assert line.status == "unmatched"
    with rt.session() as s:
        found = payment_matching.find_invoices(s, "fv 2026 2", user(s, world, "clerk"), "PLN")
        assert [i.id for i in found] == [other]
        assert [i.id for i in payment_matching.find_invoices(
            s, "Mosina", user(s, world, "clerk"))] == [other]
    decided = decide(rt, world, line.id, payment_matching.pay, [other])
    assert (decided.status, decided.reason, decided.invoice_id) == ("matched", "chosen", other)
    assert state(rt, other) == ("paid", D("615.00"), D("0.00"))
    with rt.session() as s:
        assert s.get(Payment, decided.payment_id).unallocated == D("85.00")


def test_a_line_recorded_for_a_payer_is_a_payment_allocated_to_nothing(rt, world, bank):
    line = credit(rt, world, bank, "zaliczka na szkolenie", amount="300,00", payer="Ktoś")
    with rt.session() as s:
        assert [p.name for p in payment_matching.find_payers(
            s, "mosina", user(s, world, "clerk"))] == ["Gmina Mosina"]
    decided = decide(rt, world, line.id, payment_matching.record,
                     organisation_id=world["mosina"])
    assert (decided.status, decided.organisation_id) == ("recorded", world["mosina"])
    with rt.session() as s:
        payment = s.get(Payment, decided.payment_id)
        assert (payment.organisation_id, payment.allocated, payment.external_id) == (
            world["mosina"], D("0"), line.external_id)


def test_an_ignored_line_records_nothing_and_each_line_is_decided_once(rt, world, bank):
    invoice_id = issued(rt, world)
    line = credit(rt, world, bank, "zwrot nadpłaty", amount="10,00", payer="Ktoś")
    decided = decide(rt, world, line.id, payment_matching.ignore, note="Zwrot z ZUS")
    assert (decided.status, decided.note) == ("ignored", "Zwrot z ZUS")
    assert payments_count(rt) == 0
    # An ignored line may still be paid after all; a paid one no more.
    decide(rt, world, line.id, payment_matching.pay, [invoice_id])
    for how, args in ((payment_matching.ignore, ()), (payment_matching.pay, ([invoice_id],)),
                      (payment_matching.confirm, ())):
        with pytest.raises(ValidationError) as refused:
            decide(rt, world, line.id, how, *args)
        assert refused.value.errors == {"status": "This line is matched already: nothing "
                                                  "is left to decide."}
    assert payments_count(rt) == 1
    assert state(rt, invoice_id) == ("partly_paid", D("10.00"), D("1220.00"))


def test_review_refusals_are_named_and_write_nothing(rt, world, bank):
    invoice_id = issued(rt, world)
    euro = issued(rt, world, currency="EUR", exchange_rate="4.3")
    line = credit(rt, world, bank, "przelew", amount="50,00", payer="Ktoś")
    for chosen, message in (([], "Choose the invoice it pays."),
                            ([999999], "There is no such invoice, or you may not see it."),
                            ([euro], "The invoice is in EUR and the payment in PLN.")):
        with pytest.raises(ValidationError) as refused:
            decide(rt, world, line.id, payment_matching.pay, chosen)
        assert refused.value.errors == {"invoice_id": message}
    with pytest.raises(ValidationError) as refused:
        decide(rt, world, line.id, payment_matching.record, organisation_id=world["kornik"],
               person_id=world["anna"])
    assert "organisation_id" in refused.value.errors
    with pytest.raises(Forbidden):
        decide(rt, world, line.id, payment_matching.ignore, by="rep")
    assert payments_count(rt) == 0
    assert state(rt, invoice_id)[0] == "issued"
    with rt.session() as s:
        assert s.get(BankStatementLine, line.id).status == "unmatched"


def test_debits_and_duplicates_are_never_decided_on(rt, world, bank):
    data = csv_file([row("10.03.2026", "ZUS", "", "Składka", "-500,00", "D1"),
                     row("10.03.2026", "Ktoś", "", "wpłata", "20,00", "C1")])
    import_file(rt, world, bank, data)
    again = import_file(rt, world, bank, data)
    with rt.session() as s:
        debit, duplicate = lines(s, again)
        first_debit = s.scalar(select(BankStatementLine).where(
            BankStatementLine.status == "debit"))
    assert (debit.status, duplicate.status) == ("duplicate", "duplicate")
    with pytest.raises(ValidationError, match="money going out"):
        decide(rt, world, first_debit.id, payment_matching.ignore)
    with pytest.raises(ValidationError, match="imported before"):
        decide(rt, world, duplicate.id, payment_matching.ignore)

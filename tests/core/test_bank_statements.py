"""Reading and importing bank statements: a Polish bank's CSV in Windows-1250 or UTF-8,
MT940 with the title and counterparty in ``:86:`` sub-fields; debits kept, lines known
again when a statement is imported twice, and a file that cannot be read refused field
by field, writing nothing."""

from datetime import date
from decimal import Decimal

import pytest
from bank_helpers import (
    COLUMNS,
    KORNIK_IBAN,
    OWN_IBAN,
    csv_bank,
    csv_file,
    details,
    import_file,
    lines,
    mt940_bank,
    mt940_file,
    row,
)
from sqlalchemy import func, select

from billing_helpers import COMPANY, issued, make_world, user
from core import bank_statements, payment_matching
from core.errors import Forbidden, ValidationError
from core.models import (
    AuditEntry,
    BankProfile,
    BankStatement,
    BankStatementLine,
    Invoice,
    Payment,
)

D = Decimal
# A Polish bank's export: diacritics in names and titles, decimal commas, thousands
# spaced, a debit, an en dash (in Windows-1250, not in Latin-2).
STATEMENT = [
    row("10.03.2026", "GMINA KÓRNIK PLAC NIEPODLEGŁOŚCI 1 62-035 KÓRNIK",
        "PL61 1090 1014 0000 0712 1981 2874", "Zapłata – faktura FV/2026/0001", "1 230,00",
        "PKO-0001"),
    row("10.03.2026", "ŻANETA ŹDZIEBŁO-GĘŚLA", "79 1020 1026 0000 0402 0134 5678",
        "Opłata za szkolenie, FV 2026 2 (część)", "500,00", "PKO-0002"),
    row("11.03.2026", "ZAKŁAD UBEZPIECZEŃ SPOŁECZNYCH", "", "Składka zdrowotna", "-1 050,36",
        "PKO-0003"),
    row("12.03.2026", "Fundacja Świętego Mikołaja", "", "darowizna", "77,70", "PKO-0004"),
]


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


def count(rt, model) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def refused(rt, world, profile_id, data) -> dict:
    """What refusing ``data`` says; nothing was written."""
    before = count(rt, BankStatement), count(rt, BankStatementLine), count(rt, Payment)
    with pytest.raises(ValidationError) as refusal:
        import_file(rt, world, profile_id, data)
    assert (count(rt, BankStatement), count(rt, BankStatementLine), count(rt, Payment)) == before
    return refusal.value.errors


# ------------------------------------------------------------------ CSV


def test_a_windows_1250_csv_is_imported_and_its_credits_matched(rt, world, bank):
    first, second = issued(rt, world), issued(rt, world)
    data = csv_file(STATEMENT)
    assert data.decode("cp1250") and b"\xb3" in data  # "ł" in Windows-1250
    statement_id = import_file(rt, world, bank, data, "wyciąg marzec.csv")
    with rt.session() as s:
        statement = s.get(BankStatement, statement_id)
        assert (statement.filename, statement.format, statement.encoding) == (
            "wyciąg marzec.csv", "csv", "cp1250")
        assert statement.counts == {"lines": 4, "matched": 2, "suggested": 0, "unmatched": 1,
                                    "recorded": 0, "ignored": 0, "debit": 1, "duplicate": 0}
        found = lines(s, statement_id)
        assert [(x.booked_on, x.amount, x.status) for x in found] == [
            (date(2026, 3, 10), D("1230.00"), "matched"),
            (date(2026, 3, 10), D("500.00"), "matched"),
            (date(2026, 3, 11), D("-1050.36"), "debit"),
            (date(2026, 3, 12), D("77.70"), "unmatched")]
        assert found[0].payer == "GMINA KÓRNIK PLAC NIEPODLEGŁOŚCI 1 62-035 KÓRNIK"
        assert found[0].title == "Zapłata – faktura FV/2026/0001"
        assert found[0].account == KORNIK_IBAN
        assert found[1].payer == "ŻANETA ŹDZIEBŁO-GĘŚLA"
        assert found[1].account == "PL79102010260000040201345678"  # a bare NRB gets its PL
        assert found[2].payment_id is None  # a debit never becomes a payment
        assert (s.get(Invoice, first).status, s.get(Invoice, second).status) == (
            "paid", "partly_paid")
        assert s.scalar(select(func.count()).select_from(Payment)) == 2
        entry = s.scalar(select(AuditEntry).where(AuditEntry.record_type == "bank_statements"))
        assert entry.changes["counts"][1]["matched"] == 2


def test_the_same_statement_imported_again_records_nothing_again(rt, world, bank):
    issued(rt, world)
    data = csv_file(STATEMENT)
    first_id = import_file(rt, world, bank, data)
    again_id = import_file(rt, world, bank, data)
    # A later export overlapping the first: two old lines, one new.
    later = csv_file([STATEMENT[2], STATEMENT[3],
                      row("13.03.2026", "Ktoś", "", "wpłata", "5,00", "PKO-0005")])
    later_id = import_file(rt, world, bank, later)
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        again = s.get(BankStatement, again_id)
        assert again.counts["duplicate"] == 4 and again.counts["lines"] == 4
        assert bank_statements.earlier_import(s, again).id == first_id
        first = lines(s, first_id)
        duplicates = lines(s, again_id)
        assert [d.details["line_id"] for d in duplicates] == [x.id for x in first]
        assert duplicates[0].payment_id == first[0].payment_id
        assert f"statement #{first_id}" in payment_matching.describe(duplicates[0])
        assert [x.status for x in lines(s, later_id)] == ["duplicate", "duplicate",
                                                          "unmatched"]


def test_the_same_file_read_with_another_banks_settings_is_refused(rt, world, bank):
    issued(rt, world)
    data = csv_file(STATEMENT)
    import_file(rt, world, bank, data)
    with rt.session() as s, s.begin():
        other = csv_bank(s, world, "Drugi bank").id
    assert refused(rt, world, other, data) == {
        "file": "This file was imported before with the bank “Bank Spółdzielczy w Kórniku”; "
                "import it with that bank again."}
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1


def test_lines_without_the_banks_id_are_known_again_by_what_they_say(rt, world, bank):
    # Two identical transfers on one day are two payments, and stay two on a re-import.
    same = row("10.03.2026", "Jan Kowalski", "", "składka członkowska", "50,00")
    data = csv_file([same, same])
    first = import_file(rt, world, bank, data)
    again = import_file(rt, world, bank, data)
    with rt.session() as s:
        ids = [x.external_id for x in lines(s, first)]
        assert len(set(ids)) == 2 and all(i.startswith(f"bank{bank}:") for i in ids)
        assert [x.external_id for x in lines(s, again)] == ids
        assert [x.status for x in lines(s, again)] == ["duplicate", "duplicate"]


def test_utf8_with_a_bom_commas_points_and_credit_and_debit_columns(rt, world):
    invoice_id = issued(rt, world)
    headers = ["Booking date", "Counterparty", "Description", "Credit", "Debit"]
    data = "\ufeff".encode() + csv_file([
        ["2026-03-10", "Gmina Kórnik", "Invoice FV/2026/0001", "1,230.00", ""],
        ["2026-03-11", "Orlen", "fuel", "", "250.00"],
    ], encoding="utf-8", delimiter=",", headers=headers)
    with rt.session() as s, s.begin():
        profile = bank_statements.create_profile(s, {
            "name": "Revolut", "decimal_separator": ".", "currency": "PLN",
            "columns": bank_statements.suggest_columns(headers)}, user(s, world, "clerk"))
        assert profile.columns == {"date": ["Booking date"], "payer": ["Counterparty"],
                                   "title": ["Description"], "credit": ["Credit"],
                                   "debit": ["Debit"]}
    statement_id = import_file(rt, world, profile.id, data)
    with rt.session() as s:
        assert s.get(BankStatement, statement_id).encoding == "utf-8"
        assert [(x.amount, x.status) for x in lines(s, statement_id)] == [
            (D("1230.00"), "matched"), (D("-250.00"), "debit")]
        assert s.get(Invoice, invoice_id).status == "paid"


def test_rows_above_the_headers_and_below_the_lines_are_passed_over(rt, world):
    above = [["Bank Spółdzielczy w Kórniku"], ["Wyciąg nr 3/2026"], []]
    data = csv_file([row("10.03.2026", "Ktoś", "", "wpłata", "10,00", "X1"),
                     ["", "", "", "Saldo końcowe", "12 000,00", "PLN", ""]], above=above)
    with rt.session() as s, s.begin():
        probe = BankProfile(encoding="auto", delimiter="auto")
        assert bank_statements.guess_skip_rows(data, probe) == 3
        profile = csv_bank(s, world, name="Mój bank", skip_rows=3)
    statement_id = import_file(rt, world, profile.id, data)
    # A bank that starts adding a line above the headers is still read.
    moved = csv_file([row("11.03.2026", "Ktoś", "", "wpłata", "10,00", "X2")],
                     above=[*above, ["Wygenerowano 2026-03-12"]])
    moved_id = import_file(rt, world, profile.id, moved)
    with rt.session() as s:
        assert [x.amount for x in lines(s, statement_id)] == [D("10.00")]
        assert [x.booked_on for x in lines(s, moved_id)] == [date(2026, 3, 11)]


@pytest.mark.parametrize(("text", "amount"), [
    ("1 234,56", "1234.56"), ("-50,00", "-50.00"), ("1.234,56", "1234.56"),
    ("1,234.56", "1234.56"), ("+1230.5", "1230.50"), ("1\u00a0230,00 zł", "1230.00"),
    ("1 230,00 PLN", "1230.00"), ("1.234", "1234.00"), ("1.234.567,00", "1234567.00"),
    ("(50,00)", "-50.00"), ("50,00-", "-50.00"), ("7", "7")])
def test_amounts_as_banks_write_them(app, text, amount):
    assert bank_statements.parse_amount(text, ",") == D(amount)


@pytest.mark.parametrize(("text", "pattern", "day"), [
    ("10.03.2026", "auto", date(2026, 3, 10)), ("2026-03-10", "auto", date(2026, 3, 10)),
    ("10-03-2026 12:31", "auto", date(2026, 3, 10)), ("20260310", "%Y%m%d", date(2026, 3, 10)),
    ("10/03/2026", "%d/%m/%Y", date(2026, 3, 10)), ("2026-03-10", "%d.%m.%Y", None),
    ("31.02.2026", "auto", None)])
def test_days_as_banks_write_them(app, text, pattern, day):
    assert bank_statements.parse_date(text, pattern) == day


# ------------------------------------------------------------------ MT940


POLISH_MT940 = [
    (date(2026, 3, 10), "1230.00", "2026031000012", details(
        "Zapłata za fakturę FV/2026/0001 – szkolenie BHP", "GMINA KÓRNIK",
        KORNIK_IBAN)),
    (date(2026, 3, 10), "615.00", "", details(
        "Wpłata wg faktury fv 2026 2", "ŻANETA ŹDZIEBŁO-GĘŚLA UL. ŚWIĘTOJAŃSKA 5 61-001 "
        "POZNAŃ", "PL79102010260000040201345678", mark="^")),
    (date(2026, 3, 11), "-50.00", "2026031100013", "073~00OPŁATA~20Opłata za prowadzenie "
                                                    "rachunku"),
]


def test_an_mt940_statement_in_the_polish_86_style(rt, world):
    first = issued(rt, world)
    second = issued(rt, world, [{"description": "Szkolenie", "quantity": "1", "unit": "szt.",
                                 "unit_price": "500.00", "vat_rate": "23"}])
    with rt.session() as s, s.begin():
        profile_id = mt940_bank(s, world).id
    statement_id = import_file(rt, world, profile_id, mt940_file(POLISH_MT940), "marzec.sta")
    with rt.session() as s:
        statement = s.get(BankStatement, statement_id)
        assert (statement.format, statement.encoding, statement.account) == (
            "mt940", "cp1250", OWN_IBAN)
        found = lines(s, statement_id)
        assert [(x.booked_on, x.amount, x.status) for x in found] == [
            (date(2026, 3, 10), D("1230.00"), "matched"),
            (date(2026, 3, 10), D("615.00"), "matched"),
            (date(2026, 3, 11), D("-50.00"), "debit")]
        assert (found[0].title, found[0].payer, found[0].account) == (
            "Zapłata za fakturę FV/2026/0001 – szkolenie BHP", "GMINA KÓRNIK", KORNIK_IBAN)
        assert found[1].payer == "ŻANETA ŹDZIEBŁO-GĘŚLA UL. ŚWIĘTOJAŃSKA 5 61-001 POZNAŃ"
        assert found[1].account == "PL79102010260000040201345678"
        assert found[0].external_id == f"{OWN_IBAN}:2026031000012:2026-03-10:1230.00"
        assert (s.get(Invoice, first).status, s.get(Invoice, second).status) == ("paid", "paid")
    again = import_file(rt, world, profile_id, mt940_file(POLISH_MT940), "marzec.sta")
    with rt.session() as s:
        assert [x.status for x in lines(s, again)] == ["duplicate"] * 3
        assert s.scalar(select(func.count()).select_from(Payment)) == 2


def test_the_86_field_is_read_in_its_sub_fields(app):
    read = bank_statements.details_86
    assert read("020~00PRZELEW~20Zapłata za fakturę FV/2026~21/0012~3010901014~31000007121"
                "9812874~32JAN KOWALSKI") == {
        "title": "Zapłata za fakturę FV/2026 /0012", "payer": "JAN KOWALSKI",
        # No ~38: the sort code and account number make the IBAN.
        "account": "PL61109010140000071219812874"}
    assert read(details("Faktura FV/2026/0012 za szkolenie z BHP", "PRZEDSIĘBIORSTWO "
                        "WODOCIĄGÓW I KANALIZACJI SP. Z O.O.")) == {
        "title": "Faktura FV/2026/0012 za szkolenie z BHP",
        "payer": "PRZEDSIĘBIORSTWO WODOCIĄGÓW I KANALIZACJI SP. Z O.O.", "account": ""}
    assert read("Przelew za FV/2026/0001\nGmina Kórnik") == {
        "title": "Przelew za FV/2026/0001Gmina Kórnik", "payer": "", "account": ""}


# ------------------------------------------------------------------ bad files


def test_a_file_that_is_no_statement_is_refused(rt, world, bank):
    with rt.session() as s, s.begin():
        mt940_id = mt940_bank(s, world).id
    assert refused(rt, world, bank, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == {
        "file": "This is a PDF, not a bank statement: export the statement from the bank "
                "as CSV or MT940."}
    assert list(refused(rt, world, bank, b"PK\x03\x04\x14\x00")) == ["file"]
    assert refused(rt, world, bank, b"   \r\n") == {"file": "The file is empty."}
    assert "not an MT940 statement" in refused(rt, world, mt940_id, csv_file(STATEMENT))["file"]
    assert "neither UTF-8 nor Windows-1250" in refused(
        rt, world, bank, "Data;Kwota\n".encode("utf-16-le"))["file"]


def test_a_file_in_another_encoding_than_the_banks_is_refused(rt, world):
    with rt.session() as s, s.begin():
        profile_id = csv_bank(s, world, encoding="utf-8").id
    assert refused(rt, world, profile_id, csv_file(STATEMENT)) == {
        "file": "The file is not UTF-8 text: choose another encoding in the bank's settings, "
                "or let it be recognised."}


def test_a_mapping_missing_a_needed_column_is_refused_per_field(rt, world):
    with pytest.raises(ValidationError) as problem:
        with rt.session() as s, s.begin():
            bank_statements.create_profile(s, {"name": "Bez kwoty", "columns": {
                "date": "Data operacji", "payer": ["Nadawca / Odbiorca"],
                "title": "Kwota"}}, user(s, world, "clerk"))
    assert problem.value.errors == {
        "columns.amount": "Map a column to Amount, or to Credit (and Debit)."}
    with pytest.raises(ValidationError) as problem:
        with rt.session() as s, s.begin():
            bank_statements.create_profile(s, {"name": "", "currency": "zł", "columns": {
                "date": ["A", "B"], "when": "C", "amount": "D", "title": "D"}},
                user(s, world, "clerk"))
    assert problem.value.errors == {
        "name": "Name the bank.", "currency": "Enter a three-letter currency code, such as "
                                              "PLN.",
        "columns.date": "Map only one column to Date.",
        "columns.when": "Choose a field from the list."}
    # A bank whose files lost a column the mapping names.
    with rt.session() as s, s.begin():
        profile_id = csv_bank(s, world, name="Stary układ",
                              columns={**COLUMNS, "title": ["Tytułem"]}).id
    assert refused(rt, world, profile_id, csv_file(STATEMENT)) == {
        "columns.title": "The file has no column Tytułem: check the rows to skip above the "
                         "headers, or map the columns again."}
    with rt.session() as s, s.begin():
        unmapped = bank_statements.create_profile(s, {"name": "Nowy"},
                                                  user(s, world, "clerk")).id
    assert list(refused(rt, world, unmapped, csv_file(STATEMENT))) == ["columns.date"]


def test_rows_whose_values_cannot_be_read_are_named(rt, world, bank):
    data = csv_file([row("10.03.2026", "A", "", "x", "1 230,00", "R1"),
                     row("2026/13/45", "B", "", "y", "sto złotych", "R2"),
                     row("11.03.2026", "C", "", "z", "10,001", "R3", currency="złote")])
    assert refused(rt, world, bank, data) == {
        "rows.3.date": "Row 3: 2026/13/45 is not a date in the bank's date format.",
        "rows.3.amount": "Row 3: sto złotych is not an amount, such as 1 234,56.",
        "rows.4.amount": "Row 4: 10,001 has more than two decimal places.",
        "rows.4.currency": "Row 4: ZŁOTE is not a currency code, such as PLN."}
    broken = csv_file([row("10.03.2026", "A", "", "x", "1,00")]) + \
        b'11.03.2026;"Nowak;;y;2,00;PLN;\r\n'
    assert refused(rt, world, bank, broken)["file"].startswith("This row cannot be read")


def test_importing_needs_the_billing_permission(rt, world, bank):
    with pytest.raises(Forbidden), rt.session() as s, s.begin():
        bank_statements.import_statement(s, s.get(BankProfile, bank), "x.csv",
                                         csv_file(STATEMENT), user(s, world, "rep"))
    assert count(rt, BankStatement) == 0

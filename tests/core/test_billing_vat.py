"""Polish VAT: tax per rate from the rate's whole net (or gross), rounded half a grosz
up; on invoices stored and read back alike on SQLite and PostgreSQL."""

from decimal import Decimal

import pytest

from billing_helpers import COMPANY, MARCH, draft, issued, make_world, user
from core import invoices, vat
from core.errors import ValidationError
from core.models import Invoice
from core.vat import Line, Row


def D(text: str) -> Decimal:
    return Decimal(text)


def rows(lines, basis="net") -> list[tuple]:
    return [(r.rate, str(r.net), str(r.vat), str(r.gross))
            for r in vat.summary([Line(D(q), D(p), rate) for q, p, rate in lines], basis)]


# --- The rule on its own -----------------------------------------------------------------

def test_the_tax_is_taken_once_per_rate_from_the_rates_whole_net():
    three_small = [("1", "0.02", "23")] * 3
    assert [str(vat.line_amounts(Line(D(q), D(p), r)).vat) for q, p, r in three_small] == \
        ["0.00", "0.00", "0.00"]
    assert rows(three_small) == [("23", "0.06", "0.01", "0.07")]


def test_every_rate_has_its_row_in_order_and_exempt_and_not_subject_carry_no_tax():
    found = rows([("1", "40.00", "np"), ("1", "30.00", "zw"), ("1", "10.00", "0"),
                  ("2", "10.00", "5"), ("1", "50.00", "8"), ("4", "25.00", "23")])
    assert found == [("23", "100.00", "23.00", "123.00"), ("8", "50.00", "4.00", "54.00"),
                     ("5", "20.00", "1.00", "21.00"), ("0", "10.00", "0.00", "10.00"),
                     ("zw", "30.00", "0.00", "30.00"), ("np", "40.00", "0.00", "40.00")]
    total = vat.totals(vat.summary([Line(D("1"), D("100"), "23"), Line(D("1"), D("50"), "8"),
                                    Line(D("1"), D("30"), "zw")]))
    assert (total.net, total.vat, total.gross) == (D("180.00"), D("27.00"), D("207.00"))


@pytest.mark.parametrize("net, rate, tax", [
    ("1.50", "23", "0.35"),  # 0.345: half a grosz goes up (half to even would say 0.34)
    ("2.50", "5", "0.13"),  # 0.125
    ("0.50", "23", "0.12"),  # 0.115
    ("0.02", "23", "0.00"),  # 0.0046: below half a grosz goes down
    ("0.03", "23", "0.01"),  # 0.0069
    ("-1.50", "23", "-0.35"),  # a correction's difference: the same rule, away from zero
    ("99.99", "8", "8.00"),  # 7.9992
])
def test_half_a_grosz_is_rounded_up(net, rate, tax):
    assert vat.tax_of_net(D(net), rate) == D(tax)


def test_a_line_value_is_quantity_times_price_rounded_to_the_grosz():
    assert Line(D("3"), D("33.333"), "23").value == D("100.00")  # 99.999
    assert Line(D("2.5"), D("120"), "23").value == D("300.00")
    assert Line(D("0.3333"), D("0.015"), "23").value == D("0.00")  # 0.0049995
    assert Line(D("1"), D("0.005"), "23").value == D("0.01")


def test_gross_prices_have_the_tax_taken_out_of_each_rates_whole_gross():
    lines = [("1", "0.99", "23")] * 3 + [("1", "10.00", "8")]
    assert sum(vat.line_amounts(Line(D(q), D(p), r), "gross").vat for q, p, r in lines[:3]) \
        == D("0.57")  # 0.185 a line
    assert rows(lines, "gross") == [("23", "2.41", "0.56", "2.97"),  # 2.97 x 23 / 123
                                    ("8", "9.26", "0.74", "10.00")]
    assert rows([("1", "123.00", "23"), ("1", "105.00", "5"), ("1", "7.00", "zw")],
                "gross") == [("23", "100.00", "23.00", "123.00"),
                             ("5", "100.00", "5.00", "105.00"), ("zw", "7.00", "0.00", "7.00")]


def test_differences_and_sums_go_row_by_row():
    before = [Row("23", D("100"), D("23"), D("123")), Row("zw", D("10"), D("0"), D("10"))]
    after = [Row("23", D("80"), D("18.40"), D("98.40")), Row("8", D("5"), D("0.40"),
                                                             D("5.40")),
             Row("zw", D("10"), D("0"), D("10"))]
    assert [(r.rate, r.net, r.vat, r.gross) for r in vat.difference(after, before)] == [
        ("23", D("-20"), D("-4.60"), D("-24.60")), ("8", D("5"), D("0.40"), D("5.40"))]
    assert [(r.rate, r.gross) for r in vat.add(before, after)] == [
        ("23", D("221.40")), ("8", D("5.40")), ("zw", D("20"))]


def test_a_foreign_currencys_tax_is_shown_in_zloty_per_rate_half_a_grosz_up():
    found = vat.tax_in_pln([Row("23", D("1000"), D("230.00"), D("1230")),
                            Row("8", D("12.50"), D("1.00"), D("13.50")),
                            Row("zw", D("5"), D("0"), D("5"))], D("4.1250"))
    assert found == {"23": D("948.75"), "8": D("4.13")}  # 4.125 goes up


@pytest.mark.parametrize("typed, key", [("23", "23"), (23, "23"), ("23%", "23"),
                                        (" ZW ", "zw"), ("np", "np"), (0, "0"),
                                        ("22", None), ("7%", None), ("", None)])
def test_rates_are_read_as_people_write_them(typed, key):
    assert vat.rate_key(typed) == key


# --- On invoices, on both databases ------------------------------------------------------

@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


MIXED = [{"description": "Ulotki A5", "quantity": "1", "unit_price": "10.50", "vat_rate": "23"},
         {"description": "Plakaty B2", "quantity": "1", "unit_price": "20,50", "vat_rate": 23},
         {"description": "Książka", "quantity": "3", "unit_price": "0.99", "vat_rate": "8"},
         {"description": "Broszura", "quantity": "1", "unit_price": "1.31", "vat_rate": "8%"},
         {"description": "Szkolenie", "quantity": "2.5", "unit": "h", "unit_price": "40",
          "vat_rate": "zw"}]


def test_an_invoice_takes_its_totals_from_the_rates_not_from_its_lines(rt, world):
    invoice_id = issued(rt, world, MIXED)
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        lines = [(line.net, line.vat, line.gross) for line in invoice.lines]
        assert lines == [(D("10.50"), D("2.42"), D("12.92")), (D("20.50"), D("4.72"), D("25.22")),
                         (D("2.97"), D("0.24"), D("3.21")), (D("1.31"), D("0.10"), D("1.41")),
                         (D("100.00"), D("0.00"), D("100.00"))]
        assert sum(vat for _net, vat, _gross in lines) == D("7.48")  # line by line
        assert invoice.vat_summary == [
            {"rate": "23", "net": "31.00", "vat": "7.13", "gross": "38.13"},
            {"rate": "8", "net": "4.28", "vat": "0.34", "gross": "4.62"},  # 0.3424
            {"rate": "zw", "net": "100.00", "vat": "0.00", "gross": "100.00"}]
        assert (invoice.net, invoice.vat, invoice.gross) == (D("135.28"), D("7.47"),
                                                             D("142.75"))
        assert invoice.to_pay == D("142.75")
        assert invoice.lines[4].quantity == D("2.5") and invoice.lines[4].unit == "h"


def test_a_gross_invoice_takes_the_tax_out_of_each_rates_gross(rt, world):
    invoice_id = issued(rt, world, [
        {"description": "Kubek", "quantity": "1", "unit_price": "0.99", "vat_rate": "23"},
        {"description": "Kubek", "quantity": "1", "unit_price": "0.99", "vat_rate": "23"},
        {"description": "Kubek", "quantity": "1", "unit_price": "0.99", "vat_rate": "23"},
        {"description": "Kalendarz", "quantity": "1", "unit_price": "10.00", "vat_rate": "8"}],
        price_basis="gross")
    with rt.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert [(line.net, line.vat, line.gross) for line in invoice.lines][0] == \
            (D("0.80"), D("0.19"), D("0.99"))
        assert [(r["rate"], r["net"], r["vat"], r["gross"]) for r in invoice.vat_summary] == \
            [("23", "2.41", "0.56", "2.97"), ("8", "9.26", "0.74", "10.00")]
        assert (invoice.net, invoice.vat, invoice.gross) == (D("11.67"), D("1.30"), D("12.97"))


def test_a_foreign_invoice_needs_its_rate_and_shows_each_rates_tax_in_zloty(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoice = draft(s, world, [{"description": "Banner", "quantity": "1",
                                    "unit_price": "1000", "vat_rate": "23"}], currency="EUR")
        with pytest.raises(ValidationError) as refused:
            invoices.issue(s, rt.settings, invoice, clerk, MARCH)
        assert set(refused.value.errors) == {"exchange_rate"}
        invoices.update(s, invoice, {"exchange_rate": "4,2563",
                                     "exchange_rate_date": "2026-02-27"}, clerk)
        invoices.issue(s, rt.settings, invoice, clerk, MARCH)
        assert invoice.vat_summary == [{"rate": "23", "net": "1000.00", "vat": "230.00",
                                        "gross": "1230.00", "vat_pln": "978.95"}]
        assert (invoice.exchange_rate, invoice.gross) == (D("4.2563"), D("1230.00"))


@pytest.mark.parametrize("line, field, message", [
    ({"quantity": "0"}, "quantity", "above zero"),
    ({"quantity": "1.00001"}, "quantity", "At most 4 decimal places"),
    ({"unit_price": "-1"}, "unit_price", "from 0"),
    ({"unit_price": "12,345678"}, "unit_price", "At most 4 decimal places"),
    ({"unit_price": "dużo"}, "unit_price", "Enter a number"),
    ({"unit_price": "NaN"}, "unit_price", "Enter a number"),
    ({"vat_rate": "22"}, "vat_rate", "23, 8, 5, 0, zw or np"),
    ({"description": "   "}, "description", "Describe what is sold"),
])
def test_a_bad_line_is_named_field_by_field_and_nothing_is_written(rt, world, line, field,
                                                                    message):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            draft(s, world, [{**MIXED[0]}, {**MIXED[0], **line}])
        assert list(refused.value.errors) == [f"lines.1.{field}"]
        assert message in refused.value.errors[f"lines.1.{field}"]
        assert s.query(Invoice).count() == 0

"""Polish VAT: the rates, and how an invoice's amounts are computed and rounded.

The rule, from the VAT act (ustawa z dnia 11 marca 2004 r. o podatku od towarów i usług,
art. 106e) and the Ministry of Finance's description of the e-invoice structure FA(3)
(KSeF), fields P_11, P_11A, P_13_x and P_14_x:

- A line's value is its quantity times its unit price, rounded to the grosz, as the
  invoice prints it (art. 106e ust. 1 pkt 11).
- The tax is computed once per rate, from the sum of the net values of that rate's
  lines ("kwotę podatku od sumy wartości sprzedaży netto, z podziałem na kwoty
  dotyczące poszczególnych stawek podatku", art. 106e ust. 1 pkt 13-14), not line by
  line and added up: three lines of 0,02 zł at 23% owe 0,01 zł of tax, not 0,00.
- An invoice may be written in gross prices instead (art. 106e ust. 7-8): the tax per
  rate is then taken out of the sum of the gross values of that rate,
  KP = WSb x SP / (100 + SP), and the net is what remains.
- Amounts are rounded to full grosze: below half a grosz down, from half a grosz up
  (art. 106e ust. 11): ``ROUND_HALF_UP``, away from zero for negative differences.
- The invoice's totals are the sums of the per-rate rows. The tax and gross of each
  line are shown for information; their sums may differ from the rows by a grosz.
- An invoice in a foreign currency shows each rate's tax in złoty too (art. 106e
  ust. 11), converted at the rate of art. 31a (the NBP average rate of the last working
  day before the tax point): the rate's tax times the exchange rate, rounded likewise.

"zw" (exempt) and "np" (not subject to VAT) carry no tax and are summed on rows of
their own, as is 0%.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Rate key -> percentage; exempt and not subject carry none.
RATES: dict[str, Decimal | None] = {"23": Decimal(23), "8": Decimal(8), "5": Decimal(5),
                                    "0": Decimal(0), "zw": None, "np": None}
BASES = ("net", "gross")  # what the unit prices of an invoice include
GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")


def grosz(value: Decimal) -> Decimal:
    """``value`` rounded to the grosz, half a grosz up (art. 106e ust. 11)."""
    return Decimal(value).quantize(GROSZ, rounding=ROUND_HALF_UP)


def rate_key(value) -> str | None:
    """The rate key for what a person or a plugin wrote ("23%", 23, "ZW"), or None."""
    text = str(value).strip().lower().removesuffix("%").strip()
    return text if text in RATES else None


def percent(rate: str) -> Decimal:
    return RATES[rate] or Decimal(0)


def tax_of_net(net: Decimal, rate: str) -> Decimal:
    return grosz(net * percent(rate) / 100)


def tax_of_gross(gross: Decimal, rate: str) -> Decimal:
    """KP = WSb x SP / (100 + SP) (art. 106e ust. 8)."""
    share = percent(rate)
    return grosz(gross * share / (100 + share))


@dataclass(frozen=True)
class Line:
    """What the computation needs of a line: its unit price is net or gross as the
    invoice's basis says."""

    quantity: Decimal
    unit_price: Decimal
    rate: str

    @property
    def value(self) -> Decimal:
        return grosz(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Amounts:
    net: Decimal = ZERO
    vat: Decimal = ZERO
    gross: Decimal = ZERO

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.net + other.net, self.vat + other.vat, self.gross + other.gross)

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(self.net - other.net, self.vat - other.vat, self.gross - other.gross)


def amounts(value: Decimal, rate: str, basis: str = "net") -> Amounts:
    """Net, tax and gross of a value (net or gross as ``basis`` says) at one rate."""
    if basis == "gross":
        tax = tax_of_gross(value, rate)
        return Amounts(value - tax, tax, value)
    tax = tax_of_net(value, rate)
    return Amounts(value, tax, value + tax)


def line_amounts(line: Line, basis: str = "net") -> Amounts:
    """One line on its own: shown on the invoice, never added up into its totals."""
    return amounts(line.value, line.rate, basis)


@dataclass(frozen=True)
class Row:
    """One row of the summary per rate."""

    rate: str
    net: Decimal
    vat: Decimal
    gross: Decimal

    @property
    def amounts(self) -> Amounts:
        return Amounts(self.net, self.vat, self.gross)

    def as_dict(self) -> dict:
        return {"rate": self.rate, "net": str(self.net), "vat": str(self.vat),
                "gross": str(self.gross)}

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        return cls(data["rate"], Decimal(data["net"]), Decimal(data["vat"]),
                   Decimal(data["gross"]))


def summary(lines: Iterable[Line], basis: str = "net") -> list[Row]:
    """The summary per rate, in the order of ``RATES``: each rate's tax from the sum
    of its lines' values."""
    sums: dict[str, Decimal] = {}
    for line in lines:
        sums[line.rate] = sums.get(line.rate, ZERO) + line.value
    rows = []
    for rate in RATES:
        if rate in sums:
            found = amounts(sums[rate], rate, basis)
            rows.append(Row(rate, found.net, found.vat, found.gross))
    return rows


def totals(rows: Iterable[Row]) -> Amounts:
    """The invoice's totals: the sums of its rows."""
    found = Amounts()
    for row in rows:
        found += row.amounts
    return found


def difference(after: Iterable[Row], before: Iterable[Row]) -> list[Row]:
    """Row by row, ``after`` less ``before`` (a correction's rows; what a final invoice
    leaves after its advances); rates where nothing changed are left out."""
    was = {row.rate: row.amounts for row in before}
    now = {row.rate: row.amounts for row in after}
    rows = []
    for rate in RATES:
        if rate in was or rate in now:
            found = now.get(rate, Amounts()) - was.get(rate, Amounts())
            if found != Amounts():
                rows.append(Row(rate, found.net, found.vat, found.gross))
    return rows


def add(*summaries: Iterable[Row]) -> list[Row]:
    """Several summaries row by row (an invoice and its corrections)."""
    found: dict[str, Amounts] = {}
    for rows in summaries:
        for row in rows:
            found[row.rate] = found.get(row.rate, Amounts()) + row.amounts
    return [Row(rate, a.net, a.vat, a.gross) for rate, a in
            ((rate, found[rate]) for rate in RATES if rate in found)]


def tax_in_pln(rows: Iterable[Row], exchange_rate: Decimal) -> dict[str, Decimal]:
    """Each taxed rate's tax converted to złoty (art. 106e ust. 11 with art. 31a)."""
    return {row.rate: grosz(row.vat * exchange_rate) for row in rows
            if RATES[row.rate] is not None}

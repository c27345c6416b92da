"""Billing periods and proration by days (TR-7).

A period of ``months`` months starts on the first of a month counted from an anchor:
January for lengths that divide a year (a quarter is January–March, April–June...), the
contract's first month otherwise. A part of a period is billed for the days it covers:
a quarterly fee of 900 zł for a contract signed on 15 February 2026 comes to
900 × 45 / 90 for 15 February – 31 March. Each part is rounded to the grosz, half up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

GROSZ = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def overlap(self, first: date, last: date | None) -> Period | None:
        start, end = max(self.start, first), min(self.end, last or self.end)
        return Period(start, end) if start <= end else None


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def anchor_of(months: int, starts_on: date) -> date:
    return date(2000, 1, 1) if 12 % months == 0 else date(starts_on.year, starts_on.month, 1)


def containing(day: date, months: int, anchor: date) -> Period:
    """The period of ``months`` months, counted from ``anchor``, that holds ``day``."""
    elapsed = (day.year - anchor.year) * 12 + day.month - anchor.month
    start = add_months(anchor, elapsed - elapsed % months)
    return Period(start, add_months(start, months) - timedelta(days=1))


def following(first: date, months: int, anchor: date) -> Iterator[Period]:
    """The periods from the one holding ``first`` on, without end."""
    period = containing(first, months, anchor)
    while True:
        yield period
        start = period.end + timedelta(days=1)
        period = Period(start, add_months(start, months) - timedelta(days=1))


def prorate(amount: Decimal, part: Period, whole: Period) -> Decimal:
    """``amount`` for a whole period, for the days of ``part``: exact when it is whole."""
    if part.days == whole.days:
        return Decimal(amount).quantize(GROSZ, rounding=ROUND_HALF_UP)
    return (Decimal(amount) * part.days / whole.days).quantize(GROSZ, rounding=ROUND_HALF_UP)


def priced_parts(covered: Period, prices: list[tuple[date, Decimal]]
                 ) -> list[tuple[Period, Decimal]]:
    """``covered`` cut where the price changes: (part, price of a whole period), for
    ``prices`` as (valid from, price), oldest first. Days before the first price take it."""
    parts, start = [], covered.start
    for i, (_since, price) in enumerate(prices):
        until = prices[i + 1][0] - timedelta(days=1) if i + 1 < len(prices) else covered.end
        part = Period(start, min(until, covered.end))
        if part.start <= part.end:
            parts.append((part, price))
            start = part.end + timedelta(days=1)
        if start > covered.end:
            break
    return parts

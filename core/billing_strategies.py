"""Billing strategies: how a vertical says what is due in a period.

A ``Strategy`` answers, for a period, with ``Bill``s: each is one invoice to make (its
new ``Charge``s, which become billable items, and items already owed that it takes as
well) or, for a contract paid by direct debit, payments to expect. A strategy writes
nothing; the billing run (``core.billing_runs``) writes each bill in a transaction of
its own, so a preview shows exactly what the run would make. A charge's ``reference``
is its key within the strategy: billed once, found again when a run is repeated.

The core registers two through its own ``kartoteka_register_billing_strategies``:
recurring contracts and their schedules (``core.contracts``), and the aggregated
settlement of everything an organisation or person owes (``core.settlement``, TR-5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.models import BillableItem, Case, Person
from core.periods import Period


@dataclass
class Charge:
    """Something a bill makes owed: a billable item to be."""

    description: str
    unit_price: Decimal
    earned_on: date
    reference: str
    quantity: Decimal = Decimal(1)
    unit: str = "szt."
    vat_rate: str = "23"
    case_id: int | None = None
    people: tuple[int, ...] = ()


@dataclass
class Bill:
    """One invoice a strategy asks for (or, ``expected``, payments to wait for)."""

    source: str  # the strategy's key, kept on the billable items
    organisation_id: int | None = None
    person_id: int | None = None
    charges: list[Charge] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)  # owed already, taken as well
    kind: str = "invoice"
    currency: str = "PLN"
    price_basis: str = "net"
    payment_days: int = 14
    case_id: int | None = None
    label: str = ""  # what the preview calls it: "Umowa 12/2026"
    expected: bool = False
    # Called in the bill's transaction once it is written, with the id of the draft
    # invoice made (None for expected payments and bills with nothing new): a
    # strategy's own bookkeeping.
    written: Callable[[Session, Bill, int | None], None] | None = None

    @property
    def party(self) -> tuple[str, int]:
        return ("organisation", self.organisation_id) if self.organisation_id \
            else ("person", self.person_id)


# In ``session.info`` while a run writes a batch: what strategies keep for
# ``batch_written``, emptied when each batch (or, after a failure, each bill) begins.
BATCH_INFO = "billing.batch"


@dataclass(frozen=True)
class Strategy:
    """``bills(session, period)`` yields what is due in ``period``, writing nothing;
    ``count(session, period)``, if given, about how many bills, for the progress bar;
    ``batch_written(session)``, if given, is called in each batch's transaction after
    its bills' ``written``: bookkeeping written for many bills at once."""

    key: str
    title: str
    bills: Callable[[Session, Period], Iterable[Bill]]
    description: str = ""
    count: Callable[[Session, Period], int] | None = None
    batch_written: Callable[[Session], None] | None = None


def registered(host) -> dict[str, Strategy]:
    """Every strategy of the core and the enabled plugins, in the order they run."""
    return dict(host.billing_strategies)


# --- Aggregated settlement (TR-5) ---------------------------------------------------------

SETTLEMENT = "core.settlement"


def settlement_bills(session: Session, period: Period) -> Iterator[Bill]:
    """One invoice per client of everything owed up to the period's end and not yet
    invoiced, from any case and person: each line says who, for what, and when."""
    query = (select(BillableItem)
             .where(BillableItem.invoice_line_id.is_(None),
                    BillableItem.earned_on <= period.end)
             .options(selectinload(BillableItem.people))
             .order_by(BillableItem.organisation_id, BillableItem.person_id,
                       BillableItem.currency, BillableItem.price_basis,
                       BillableItem.earned_on, BillableItem.id))
    bill: Bill | None = None
    for item in session.scalars(query):
        key = (item.organisation_id, item.person_id, item.currency, item.price_basis)
        if bill is None or key != _key(bill):
            if bill is not None:
                yield bill
            bill = Bill(SETTLEMENT, item.organisation_id, item.person_id,
                        currency=item.currency, price_basis=item.price_basis)
        bill.item_ids.append(item.id)
    if bill is not None:
        yield bill


def _key(bill: Bill) -> tuple:
    return (bill.organisation_id, bill.person_id, bill.currency, bill.price_basis)


def settlement_line(session: Session, item: BillableItem) -> str:
    """An item's line on a settlement: what, who, which case, when."""
    parts = [item.description]
    names = [session.get(Person, p.person_id) for p in item.people]
    if names:
        parts.append(", ".join(p.full_name for p in names if p))
    if item.case_id is not None:
        case = session.get(Case, item.case_id)
        if case is not None and case.title not in item.description:
            parts.append(case.title)
    parts.append(item.earned_on.strftime("%d.%m.%Y"))
    return " — ".join(parts)[:500]


def core_strategies() -> list[Strategy]:
    from core import contracts  # contracts builds on this module

    return [
        Strategy("core.contracts", _l("Contracts and payment schedules"), contracts.bills,
                 _l("Each recurring contract's periods, prorated by days, and the "
                    "instalments of payment schedules that fall due."), contracts.count,
                 contracts.batch_written),
        Strategy(SETTLEMENT, _l("Settlement of what is owed"), settlement_bills,
                 _l("One invoice per client of all billable items up to the end of the "
                    "period, whatever case and person they come from.")),
    ]


def no_strategy(key: str) -> str:
    return _("There is no billing strategy “%(key)s”.", key=key)

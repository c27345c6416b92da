"""Contracts: recurring fees with proration (TR-7), payment schedules (GR-2) and direct
debits (FR-3), billed by the ``core.contracts`` strategy of billing runs.

A recurring contract bills each of its periods (``core.periods``) once: in advance, on
the first day it covers, or in arrears, after the last. Each period's charge is cut
where the price changes and prorated by days where the contract starts, ends or
changes price inside it. All that is due for one contract in a run goes on one
invoice, so a contract a month behind is caught up. ``billed_through`` remembers the
end of the last period billed; a charge's reference (``contract-7/2026-01-01/...``)
makes a repeated run find it instead of billing it again.

Terminating a contract, or changing its price from a day already billed, squares what
was billed with what is due: too little becomes a charge for the next run, too much a
draft correcting invoice (or a smaller item, while it is not yet issued).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from core import audit, billing, bulk, invoices, records, vat
from core.billing_strategies import BATCH_INFO, Bill, Charge
from core.errors import ValidationError
from core.invoices import Number
from core.models import (
    BillableItem,
    Case,
    Contract,
    ContractPrice,
    ExpectedPayment,
    Instalment,
    InvoiceLine,
)
from core.models.contract import BILLED, COLLECTS, INVOICE_KINDS
from core.periods import (
    Period,
    add_months,
    anchor_of,
    containing,
    following,
    priced_parts,
    prorate,
)
from core.terms import term
from core.validation import an_id, load_collecting, max_length

SOURCE = "core.contracts"
ADJUSTMENT = "core.contracts.adjustment"  # invoiced by the settlement strategy
CHUNK = 500  # contracts read at a time by a run
MAX_INSTALMENTS = 120


# --- What is typed -----------------------------------------------------------------------

def _filled(message):
    def check(value: str) -> None:
        if not value.strip():
            raise SchemaError(str(message))
    return check


def _price(**kwargs) -> Number:
    return Number(4, validate=validate.Range(
        min=0, max=invoices.MAX_PRICE, error=_l("Enter a price from 0 to 999 999 999 999.")),
        **kwargs)


class InstalmentSchema(Schema):
    class Meta:
        unknown = RAISE

    description = fields.String(required=True, validate=[
        _filled(_l("Describe the instalment.")), max_length(300)],
        error_messages={"required": _l("Describe the instalment.")})
    unit_price = _price(required=True, error_messages={"required": _l("Enter an amount.")})
    due_on = fields.Date(load_default=None, allow_none=True)
    milestone = fields.String(load_default="", validate=max_length(200))

    @validates_schema
    def _when(self, data, **_kwargs):
        if bool(data.get("due_on")) == bool((data.get("milestone") or "").strip()):
            raise SchemaError(_("Give either the day it is due or the milestone it "
                                "waits for."), "due_on")


class ContractSchema(Schema):
    class Meta:
        unknown = RAISE

    organisation_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    case_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    title = fields.String(required=True, validate=[_filled(_l("Enter a title.")),
                                                   max_length(300)],
        error_messages={"required": _l("Enter a title.")})
    description = fields.String(load_default="", validate=max_length(300))
    starts_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the day the contract starts.")})
    ends_on = fields.Date(load_default=None, allow_none=True)
    period_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(
        1, 60, error=_l("Enter a period of 1 to 60 months.")))
    billed = fields.String(load_default="advance", validate=validate.OneOf(
        BILLED, error=_l("Choose in advance or in arrears.")))
    unit_price = _price(load_default=None, allow_none=True)
    unit = fields.String(load_default="szt.", validate=max_length(20))
    vat_rate = fields.Raw(load_default="23", validate=invoices._rate)
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    price_basis = fields.String(load_default="net", validate=validate.OneOf(
        vat.BASES, error=_l("Choose net or gross prices.")))
    invoice_kind = fields.String(load_default="invoice", validate=validate.OneOf(
        INVOICE_KINDS, error=_l("Choose an invoice or a settlement note.")))
    payment_days = fields.Integer(load_default=14, validate=validate.Range(
        min=0, max=365, error=_l("Enter a number of days from 0 to 365.")))
    collects = fields.String(load_default="invoice", validate=validate.OneOf(
        COLLECTS, error=_l("Choose invoices or expected payments.")))
    collection_day = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(
        1, 28, error=_l("Enter a day of the month from 1 to 28.")))
    instalments = fields.List(fields.Nested(InstalmentSchema), load_default=list,
                              validate=validate.Length(max=MAX_INSTALMENTS, error=_l(
                                  "At most {max} instalments.")))


class PriceChangeSchema(Schema):
    class Meta:
        unknown = RAISE

    valid_from = fields.Date(required=True, error_messages={
        "required": _l("Enter the day the price applies from.")})
    unit_price = _price(required=True, error_messages={"required": _l("Enter a price.")})


class TerminationSchema(Schema):
    class Meta:
        unknown = RAISE

    ends_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the last day the contract covers.")})
    reason = fields.String(load_default="", validate=max_length(2000))


# --- Reading -----------------------------------------------------------------------------

def visible(actor=None):
    condition = invoices.party_scope(Contract, actor)
    query = select(Contract).order_by(Contract.id.desc())
    return query if condition is None else query.where(condition)


def get(session: Session, contract_id: int, actor=None) -> Contract | None:
    return session.scalar(visible(actor).where(Contract.id == contract_id))


def price_on(contract: Contract, day: date) -> Decimal | None:
    found = None
    for price in contract.prices:
        if price.valid_from <= day or found is None:
            found = price.unit_price
    return found


def label(contract: Contract) -> str:
    return contract.title


# --- Writing -----------------------------------------------------------------------------

def create(session: Session, data: dict, actor=None) -> Contract:
    """A contract with its first price and its instalments; every problem at once."""
    invoices.require(session, actor)
    values, errors = load_collecting(ContractSchema(), data)
    invoices.party_of(session, values, actor, errors)
    if values.get("case_id") is not None and \
            records.get(session, Case, values["case_id"], actor) is None:
        errors["case_id"] = _("There is no such %(what)s, or you may not see it.",
                              what=term("core.case"))
    for key, message in _problems(values).items():
        errors.setdefault(key, message)  # the field's own message first
    if errors:
        raise ValidationError(errors)
    price, schedule = values.pop("unit_price"), values.pop("instalments")
    values["vat_rate"] = vat.rate_key(values["vat_rate"])
    values["description"] = values["description"].strip() or values["title"].strip()
    contract = Contract(**values, created_by_id=getattr(actor, "id", None))
    if price is not None:
        contract.prices.append(ContractPrice(valid_from=values["starts_on"], unit_price=price))
    for position, item in enumerate(schedule, start=1):
        contract.instalments.append(Instalment(position=position, **_instalment(item)))
    session.add(contract)
    session.flush()
    audit.write(session, contract, "create", {
        **{k: (None, v) for k, v in values.items()}, "unit_price": (None, price),
        "instalments": (None, [_instalment_text(i) for i in contract.instalments])},
        actor, summary=contract.title)
    return contract


def _problems(values: dict) -> dict:
    errors = {}
    if values.get("ends_on") and values.get("starts_on") and \
            values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = _("The contract cannot end before it starts.")
    recurring = values.get("period_months") is not None
    if recurring and values.get("unit_price") is None:
        errors["unit_price"] = _("Enter the price of one period.")
    if not recurring and values.get("unit_price") is not None:
        errors["period_months"] = _("Choose how often the price is billed.")
    if not recurring and not values.get("instalments") and "instalments" not in errors:
        errors["period_months"] = _("Choose how often it is billed, or add instalments.")
    if values.get("collects") == "expected":
        if values.get("collection_day") is None:
            errors["collection_day"] = _("Enter the day of the month the payment comes.")
        if not recurring:
            errors["period_months"] = _("Expected payments come from a recurring fee.")
        if values.get("instalments"):
            errors["instalments"] = _("A direct debit collects its fee; make the "
                                      "instalments a contract of their own.")
    return errors


def _instalment(item: dict) -> dict:
    return {"description": item["description"].strip(), "unit_price": item["unit_price"],
            "due_on": item.get("due_on"), "milestone": (item.get("milestone") or "").strip()}


def _instalment_text(item: Instalment) -> str:
    when = item.due_on.isoformat() if item.due_on else item.milestone
    return f"{item.position}. {item.description}: {item.unit_price} ({when})"


def change_price(session: Session, contract: Contract, data: dict, actor=None) -> Contract:
    """The price of a period from a day on. From a day already billed, what was billed
    is squared with what is due at once."""
    invoices.require(session, actor, contract)
    _lock(session, contract)
    values, errors = load_collecting(PriceChangeSchema(), data)
    if contract.period_months is None:
        errors["unit_price"] = _("This contract has no recurring price.")
    elif values.get("valid_from") and values["valid_from"] < contract.starts_on:
        errors["valid_from"] = _("The contract starts on %(day)s.",
                                 day=contract.starts_on.strftime("%d.%m.%Y"))
    if errors:
        raise ValidationError(errors)
    before = price_on(contract, values["valid_from"])
    known = next((p for p in contract.prices if p.valid_from == values["valid_from"]), None)
    if known is not None:
        known.unit_price = values["unit_price"]
    else:
        contract.prices.append(ContractPrice(**values))
    session.flush()
    session.refresh(contract, ["prices"])
    audit.write(session, contract, "update", {"unit_price": (before, values["unit_price"]),
                                              "valid_from": (None, values["valid_from"])},
                actor, summary=contract.title)
    square(session, contract, values["valid_from"], actor)
    return contract


def terminate(session: Session, contract: Contract, data: dict, actor=None) -> Contract:
    """End the contract on a day; periods billed beyond it are corrected."""
    invoices.require(session, actor, contract)
    _lock(session, contract)
    values, errors = load_collecting(TerminationSchema(), data)
    if values.get("ends_on") and values["ends_on"] < contract.starts_on:
        errors["ends_on"] = _("The contract cannot end before it starts.")
    if errors:
        raise ValidationError(errors)
    before = contract.ends_on
    contract.ends_on = values["ends_on"]
    contract.termination_reason = values["reason"].strip()
    session.flush()
    audit.write(session, contract, "update", {"ends_on": (before, contract.ends_on),
                                              "termination_reason": (None, values["reason"])},
                actor, summary=contract.title)
    square(session, contract, values["ends_on"] + timedelta(days=1), actor)
    return contract


def _lock(session: Session, contract: Contract) -> None:
    """Wait for a run writing the contract's bill; then read it as it left it."""
    session.scalar(select(Contract.id).where(Contract.id == contract.id).with_for_update())
    session.refresh(contract)


def reach(session: Session, contract: Contract, milestone: str, on: date, actor=None
          ) -> list[Instalment]:
    """Record that a milestone was reached ("grant awarded"): its instalments fall due."""
    invoices.require(session, actor, contract)
    found = [i for i in contract.instalments
             if i.milestone.casefold() == milestone.strip().casefold() and i.reached_on is None]
    if not found:
        raise ValidationError({"milestone": _("No instalment waits for this milestone.")})
    for item in found:
        item.reached_on = on
    session.flush()
    audit.write(session, contract, "update", {"milestone": (None, f"{milestone}: {on}")},
                actor, summary=contract.title)
    return found


# --- Billing (the core.contracts strategy) -----------------------------------------------

def bills(session: Session, period: Period) -> Iterator[Bill]:
    """Each contract's bill of what falls due up to the period's end."""
    after = 0
    texts = wording()
    while True:
        chunk = _read(session, period, after)
        for contract in chunk:
            bill = bill_of(contract, period.end, texts)
            if bill.charges:
                yield bill
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].id


def _read(session: Session, period: Period, after: int) -> list[SimpleNamespace]:
    """The next ``CHUNK`` contracts that may owe something, as plain rows with their
    prices and the instalments not yet billed: a run reads a hundred thousand, and ORM
    objects would cost it a third of its time."""
    table = Contract.__table__
    rows = session.execute(_due(period).with_only_columns(*table.c)
                           .where(table.c.id > after).order_by(table.c.id).limit(CHUNK)).all()
    prices: dict[int, list] = {row.id: [] for row in rows}
    instalments: dict[int, list] = {row.id: [] for row in rows}
    if rows:
        for row in session.execute(select(ContractPrice.__table__).where(bulk.among(
                session, ContractPrice.contract_id, prices)).order_by(ContractPrice.valid_from)):
            prices[row.contract_id].append(row)
        for row in session.execute(select(Instalment.__table__).where(
                bulk.among(session, Instalment.contract_id, prices),
                Instalment.billed_on.is_(None)).order_by(Instalment.position)):
            # Instalment.due's rule, read from the row
            instalments[row.contract_id].append(SimpleNamespace(
                **row._asdict(), due=Instalment.due.fget(row)))
    return [SimpleNamespace(**row._asdict(), prices=prices[row.id],
                            instalments=instalments[row.id]) for row in rows]


def count(session: Session, period: Period) -> int:
    return session.scalar(select(func.count()).select_from(_due(period).subquery()))


def _due(period: Period):
    """Contracts that may owe something by the period's end: started, and either not
    billed that far or with instalments left."""
    waiting = select(Instalment.contract_id).where(Instalment.billed_on.is_(None))
    return select(Contract).where(
        Contract.starts_on <= period.end,
        or_(Contract.id.in_(waiting),
            (Contract.period_months.is_not(None))
            & or_(Contract.billed_through.is_(None), Contract.billed_through < period.end)
            & or_(Contract.ends_on.is_(None), Contract.billed_through.is_(None),
                  Contract.billed_through < Contract.ends_on)))


def bill_of(contract: Contract, until: date, texts: tuple[str, str] | None = None) -> Bill:
    """What the contract owes by ``until`` and has not been billed."""
    charges, last = _period_charges(contract, until, texts or wording())
    seen = ((contract.billed_through, contract.ends_on),  # what the charges were made from
            tuple((p.valid_from, p.unit_price) for p in contract.prices))
    charges += [_instalment_charge(contract, item) for item in contract.instalments
                if item.billed_on is None and item.due is not None and item.due <= until
                and (contract.ends_on is None or item.due <= contract.ends_on)]
    return Bill(SOURCE, contract.organisation_id, contract.person_id, charges,
                kind=contract.invoice_kind, currency=contract.currency,
                price_basis=contract.price_basis, payment_days=contract.payment_days,
                case_id=contract.case_id, label=contract.title,
                expected=contract.collects == "expected",
                written=lambda session, bill, _invoice: _written(session, contract, bill, last,
                                                                  seen))


def _period_charges(contract: Contract, until: date, texts: tuple[str, str]
                    ) -> tuple[list[Charge], date | None]:
    if contract.period_months is None or not contract.prices:
        return [], None
    charges, last = [], None
    first = contract.billed_through + timedelta(days=1) if contract.billed_through \
        else contract.starts_on
    for whole in following(first, contract.period_months,
                           anchor_of(contract.period_months, contract.starts_on)):
        covered = whole.overlap(max(first, contract.starts_on), contract.ends_on)
        if covered is None:
            break
        billed_on = covered.start if contract.billed == "advance" else covered.end
        if billed_on > until:
            break
        charges += _charges_of(contract, whole, covered, texts)
        last = whole.end
    return charges, last


def _charges_of(contract: Contract, whole: Period, covered: Period,
                texts: tuple[str, str] | None = None) -> list[Charge]:
    prices, texts = [(p.valid_from, p.unit_price) for p in contract.prices], texts or wording()
    return [Charge(_describe(contract, whole, part, texts), prorate(price, part, whole),
                   part.start, f"contract-{contract.id}/{whole.start}/{part.start}",
                   unit=contract.unit, vat_rate=contract.vat_rate, case_id=contract.case_id,
                   people=(contract.person_id,) if contract.person_id else ())
            for part, price in priced_parts(covered, prices)]


def wording() -> tuple[str, str]:
    """How a period's line reads in the current language, looked up once for many."""
    return _("%(what)s, %(start)s–%(end)s"), _("(%(days)d of %(all)d days)")


def _describe(contract: Contract, whole: Period, part: Period, texts: tuple[str, str]
              ) -> str:
    text = texts[0] % {"what": contract.description, "start": _day(part.start),
                       "end": _day(part.end)}
    if part.days != whole.days:
        text += " " + texts[1] % {"days": part.days, "all": whole.days}
    return text[:500]


def _day(day: date) -> str:
    """31.03.2026, as invoices write days (strftime costs a run a tenth of its time)."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _instalment_charge(contract: Contract, item: Instalment) -> Charge:
    return Charge(f"{contract.description}: {item.description}"[:500], item.unit_price,
                  item.due, f"instalment-{item.id}", vat_rate=contract.vat_rate,
                  case_id=contract.case_id)


def _written(session: Session, contract, bill: Bill, last: date | None,
             seen: tuple) -> None:
    """Kept for ``batch_written``, which writes it for the whole batch: a statement or
    two, not one per contract."""
    batch = session.info[BATCH_INFO]
    if last is not None and (contract.billed_through is None or last > contract.billed_through):
        batch.setdefault("billed_through", {})[contract.id] = (last, seen)
    references = {c.reference for c in bill.charges}
    for item in contract.instalments:
        if f"instalment-{item.id}" in references:
            batch.setdefault("instalments", {})[item.id] = item.due
    if bill.expected:
        _expect(session, contract, bill)


def batch_written(session: Session) -> None:
    """How far each contract of the batch is billed and which instalments it billed;
    refused if a contract was terminated, repriced or billed since the run read it."""
    batch = session.info.get(BATCH_INFO, {})
    found, billed = batch.pop("billed_through", {}), batch.pop("instalments", {})
    if found:
        _still_as_read(session, {k: seen for k, (_last, seen) in found.items()})
        by_day: dict[date, list[int]] = {}
        for contract, (last, _seen) in found.items():
            by_day.setdefault(last, []).append(contract)
        table = Contract.__table__
        for day, ids in by_day.items():  # in a monthly run, one day for all
            session.execute(table.update().where(bulk.among(session, table.c.id, ids))
                            .values(billed_through=day))
    if billed:
        table = Instalment.__table__
        session.execute(table.update().where(table.c.id == bindparam("instalment"),
                                             table.c.billed_on.is_(None))
                        .values(billed_on=bindparam("due")),
                        [{"instalment": k, "due": v} for k, v in billed.items()])


def _still_as_read(session: Session, seen: dict) -> None:
    """The contracts, locked (a termination or a price change waits for the run), as
    the run read them; the batch fails if one changed, and is written bill by bill."""
    table, ids = Contract.__table__, list(seen)
    now = {row.id: (row.billed_through, row.ends_on) for row in session.execute(
        select(table.c.id, table.c.billed_through, table.c.ends_on)
        .where(bulk.among(session, table.c.id, ids)).with_for_update())}
    prices: dict[int, list] = {i: [] for i in ids}
    for row in session.execute(select(ContractPrice.contract_id, ContractPrice.valid_from,
                                      ContractPrice.unit_price)
                               .where(bulk.among(session, ContractPrice.contract_id, ids))
                               .order_by(ContractPrice.valid_from)):
        prices[row.contract_id].append((row.valid_from, row.unit_price))
    if any((now.get(i), tuple(prices[i])) != seen[i] for i in ids):
        raise ValidationError({"contract": _("The contract changed while it was being "
                                             "billed; the next run bills it as it is now.")})


def _expect(session: Session, contract: Contract, bill: Bill) -> None:
    """Direct debits: one expected payment per period, on the collection day."""
    per_period: dict[date, Decimal] = {}
    first_day: dict[date, date] = {}
    for charge in bill.charges:
        start = date.fromisoformat(charge.reference.split("/")[1])
        per_period[start] = per_period.get(start, Decimal(0)) + _gross(contract, charge)
        first_day[start] = min(first_day.get(start, charge.earned_on), charge.earned_on)
    known = set(session.scalars(select(ExpectedPayment.period_start).where(
        ExpectedPayment.contract_id == contract.id,
        ExpectedPayment.period_start.in_(per_period))))
    for start, amount in per_period.items():
        if start not in known:
            session.add(ExpectedPayment(
                contract_id=contract.id, organisation_id=contract.organisation_id,
                person_id=contract.person_id, period_start=start, amount=amount,
                currency=contract.currency, run_id=session.info.get("billing_run_id"),
                due_on=_collection_day(contract, start, first_day[start])))


def _collection_day(contract: Contract, start: date, first: date) -> date:
    """The collection day of the period's month (in arrears: of the month after it),
    never before the first day the period covers."""
    if contract.billed == "arrears":
        months = contract.period_months or 1
        start = containing(start, months, anchor_of(months, contract.starts_on)).end \
            + timedelta(days=1)
        first = start
    day = start.replace(day=contract.collection_day or 1)
    return day if day >= first else add_months(day, 1).replace(day=day.day)


def _gross(contract: Contract, charge: Charge) -> Decimal:
    line = vat.Line(charge.quantity, charge.unit_price, charge.vat_rate)
    return vat.line_amounts(line, contract.price_basis).gross


# --- Direct debits ----------------------------------------------------------------------

MATCH_DAYS = 45  # how far from its due day a payment may come and still be the expected one
MISSED_AFTER = 5  # days past the due day before an expected payment counts as missed


def expected_paid(session: Session, payment) -> ExpectedPayment | None:
    """The expected payment ``payment`` brings: the client's, of the same amount and
    currency, not yet paid, due nearest the day it came."""
    if payment.organisation_id is None and payment.person_id is None:
        return None
    party = ExpectedPayment.organisation_id == payment.organisation_id \
        if payment.organisation_id else ExpectedPayment.person_id == payment.person_id
    window = timedelta(days=MATCH_DAYS)
    candidates = session.scalars(select(ExpectedPayment).where(
        party, ExpectedPayment.payment_id.is_(None), ExpectedPayment.amount == payment.amount,
        ExpectedPayment.currency == payment.currency,
        ExpectedPayment.due_on.between(payment.received_on - window,
                                       payment.received_on + window)))
    found = min(candidates, key=lambda e: (abs((e.due_on - payment.received_on).days), e.id),
                default=None)
    if found is not None:
        found.payment_id = payment.id
        session.flush()
    return found


def missed(today: date):
    """Expected payments that did not come: unpaid, more than ``MISSED_AFTER`` days
    past their due day on ``today``."""
    return select(ExpectedPayment).where(
        ExpectedPayment.payment_id.is_(None),
        ExpectedPayment.due_on < today - timedelta(days=MISSED_AFTER))


# --- Squaring what was billed with what is due --------------------------------------------

def square(session: Session, contract: Contract, since: date, actor=None) -> None:
    """After a change from ``since``: each period billed from there on is billed again
    in thought, and the difference put right."""
    if contract.period_months is None or contract.billed_through is None or \
            since > contract.billed_through:
        return
    if contract.collects == "expected":
        _square_expected(session, contract, since)
        return
    anchor = anchor_of(contract.period_months, contract.starts_on)
    corrections: dict[int, list[tuple[InvoiceLine, Decimal]]] = {}
    for whole in following(since, contract.period_months, anchor):
        if whole.start > contract.billed_through:
            break
        covered = whole.overlap(contract.starts_on, contract.ends_on)
        due = {c.reference: c for c in (_charges_of(contract, whole, covered) if covered
                                        else [])}
        _square_period(session, contract, whole, due, corrections, actor)
    for lines in corrections.values():  # one correcting invoice per invoice
        invoices.correct(session, lines[0][0].invoice, [
            {"position": line.position, "unit_price": str(price)} for line, price in lines],
            _("The contract %(title)s changed.", title=contract.title), actor)
    if contract.ends_on is not None and contract.ends_on < contract.billed_through:
        contract.billed_through = contract.ends_on
    session.flush()


def _square_period(session: Session, contract: Contract, whole: Period, due: dict,
                   corrections: dict, actor) -> None:
    prefix = f"contract-{contract.id}/{whole.start}/"
    billed = list(session.scalars(select(BillableItem).where(
        BillableItem.source.in_((SOURCE, ADJUSTMENT)), BillableItem.reference.startswith(prefix))
        .order_by(BillableItem.earned_on, BillableItem.id)))
    owed = sum((c.unit_price for c in due.values()), Decimal(0))
    difference = owed - sum((i.unit_price for i in billed), Decimal(0))
    if difference > 0:
        _charge_more(session, contract, whole, due, billed, difference, actor)
    elif difference < 0:
        _give_back(session, billed, -difference, corrections, actor)


def _square_expected(session: Session, contract: Contract, since: date) -> None:
    """A direct debit's payments not yet received follow the contract's new terms."""
    anchor = anchor_of(contract.period_months, contract.starts_on)
    waiting = session.scalars(select(ExpectedPayment).where(
        ExpectedPayment.contract_id == contract.id, ExpectedPayment.payment_id.is_(None),
        ExpectedPayment.period_start >= containing(since, contract.period_months,
                                                   anchor).start))
    for expected in waiting:
        whole = containing(expected.period_start, contract.period_months, anchor)
        covered = whole.overlap(contract.starts_on, contract.ends_on)
        if covered is None:
            session.delete(expected)
        else:
            expected.amount = sum((_gross(contract, c) for c in
                                   _charges_of(contract, whole, covered)), Decimal(0))
    if contract.ends_on is not None and contract.ends_on < contract.billed_through:
        contract.billed_through = contract.ends_on
    session.flush()


def _charge_more(session, contract, whole, due, billed, amount, actor) -> None:
    """Too little was billed: a charge the next run takes."""
    unbilled = [c for ref, c in due.items() if ref not in {i.reference for i in billed}]
    description = unbilled[0].description if len(unbilled) == 1 else \
        _("%(what)s, period from %(start)s: difference", what=contract.description,
          start=whole.start.strftime("%d.%m.%Y"))
    count = sum(1 for i in billed if "/adjust-" in (i.reference or ""))
    billing.add_item(session, {
        "organisation_id": contract.organisation_id, "person_id": contract.person_id,
        "case_id": contract.case_id, "description": description, "quantity": "1",
        "unit": contract.unit, "unit_price": str(amount), "vat_rate": contract.vat_rate,
        "price_basis": contract.price_basis, "currency": contract.currency,
        "earned_on": whole.start.isoformat(), "source": ADJUSTMENT,
        "reference": f"contract-{contract.id}/{whole.start}/adjust-{count + 1}"}, actor)


def _give_back(session, billed, amount, corrections: dict, actor) -> None:
    """Too much was billed: lower the items not yet on an issued invoice, newest first;
    the lines of issued invoices are gathered in ``corrections``, by invoice."""
    for item in reversed(billed):
        if amount <= 0:
            return
        cut = min(amount, item.unit_price)
        line = session.get(InvoiceLine, item.invoice_line_id) if item.invoiced else None
        if line is None or line.invoice.status == "draft":
            _lower_item(session, item, line, item.unit_price - cut, actor)
        elif line.invoice.status != "cancelled":
            corrections.setdefault(line.invoice_id, []).append((line, item.unit_price - cut))
            item.unit_price -= cut  # what is billed for it once corrected
        amount -= cut


def _lower_item(session, item: BillableItem, line, price: Decimal, actor) -> None:
    item.unit_price = price
    if line is not None:
        lines = [{"id": other.id, "description": other.description,
                  "quantity": str(other.quantity), "unit": other.unit,
                  "unit_price": str(price if other.id == line.id else other.unit_price),
                  "vat_rate": other.vat_rate} for other in line.invoice.lines]
        invoices.update(session, line.invoice, {"lines": lines}, actor)
    session.flush()

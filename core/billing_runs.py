"""Billing runs: "at the start of the month, bill what is due", once.

``preview`` asks the strategies what a period would bill and shows exactly what a run
would make, writing nothing. ``start`` finds or makes the period's run (one per
period: the lock) and queues it as a job; ``execute`` works it off in batches, each
bill written whole or not at all: its new billable items, the draft invoice that takes
them (or the payments a direct debit should bring) and the strategy's bookkeeping.

Run twice, on two workers at once, or again after its worker was killed, a run makes
nothing twice: a worker holds the run by a lease renewed with each batch (a second
worker finds it held and leaves), and each charge is found again by its strategy and
reference, each contract by how far it is billed. A bill that cannot be written (its
client was deleted meanwhile) is named in the run's result and the rest goes on.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, bulk, invoices, jobs, permissions
from core.billing_strategies import (
    BATCH_INFO,
    SETTLEMENT,
    Bill,
    Charge,
    Strategy,
    no_strategy,
    registered,
    settlement_line,
)
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import (
    AuditEntry,
    BillableItem,
    BillableItemPerson,
    BillingRun,
    Contract,
    ExpectedPayment,
    Invoice,
    InvoiceLine,
    Job,
    Organisation,
    Person,
)
from core.periods import Period
from core.validation import load_collecting, max_length

log = logging.getLogger(__name__)

JOB = "billing.run"
BATCH = 500  # bills written per transaction
MAX_DAYS = 366
PREVIEW_BILLS = 200  # bills a preview lists; its totals count them all
COUNTS = ("invoices", "items", "expected", "issued")
STATISTICS_AFTER = 5000  # rows written before the planner's statistics are taken again


class RunSchema(Schema):
    class Meta:
        unknown = RAISE

    period_start = fields.Date(required=True, error_messages={
        "required": _l("Enter the first day of the period.")})
    period_end = fields.Date(required=True, error_messages={
        "required": _l("Enter the last day of the period.")})
    strategies = fields.List(fields.String(validate=max_length(64)), load_default=None,
                             allow_none=True)
    issue = fields.Boolean(load_default=False)
    issue_date = fields.Date(load_default=None, allow_none=True)


def load(host, data: dict, actor=None) -> tuple[Period, list[str], dict]:
    """The period, the strategies and the options of a run; every problem at once."""
    if not permissions.can(actor, invoices.PERMISSION):
        raise Forbidden(_("You may not issue invoices or record payments."))
    values, errors = load_collecting(RunSchema(), data)
    known = registered(host)
    chosen = values.get("strategies") or list(known)
    unknown = [key for key in chosen if key not in known]
    if unknown:
        errors["strategies"] = no_strategy(unknown[0])
    start, end = values.get("period_start"), values.get("period_end")
    if start and end and end < start:
        errors["period_end"] = _("The period cannot end before it starts.")
    elif start and end and (end - start).days + 1 > MAX_DAYS:
        errors["period_end"] = _("A run bills at most a year at a time.")
    if errors:
        raise ValidationError(errors)
    ordered = [key for key in known if key in chosen]
    return Period(start, end), ordered, {"issue": values["issue"],
                                         "issue_date": values.get("issue_date")}


# --- Preview -------------------------------------------------------------------------------

@dataclass
class Preview:
    period: Period
    bills: list[dict] = field(default_factory=list)  # the first PREVIEW_BILLS
    invoices: int = 0
    expected: int = 0
    charges: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # net per currency

    @property
    def more(self) -> int:
        return self.invoices + self.expected - len(self.bills)


def preview(session: Session, host, data: dict, actor=None) -> Preview:
    """What a run of the period would make, bill by bill; nothing is written."""
    period, keys, _options = load(host, data, actor)
    found = Preview(period)
    strategies = registered(host)
    for key in keys:
        for batch in _batches(strategies[key].bills(session, period)):
            known = _known_items(session, batch)
            taken = _free_items(session, batch)
            for bill in batch:
                _preview_bill(session, found, bill, known, taken)
    return found


def _preview_bill(session: Session, found: Preview, bill: Bill, known: dict,
                  taken: dict) -> None:
    new = [c for c in bill.charges if (bill.source, c.reference) not in known]
    items = [taken[i] for i in bill.item_ids if i in taken]
    if not new and not items:
        return
    lines = [{"description": c.description, "amount": c.unit_price * c.quantity}
             for c in new] + [{"description": settlement_line(session, i),
                               "amount": i.unit_price * i.quantity} for i in items]
    net = sum((line["amount"] for line in lines), Decimal(0))
    found.charges += len(lines)
    found.totals[bill.currency] = found.totals.get(bill.currency, Decimal(0)) + net
    if bill.expected:
        found.expected += 1
    else:
        found.invoices += 1
    if len(found.bills) < PREVIEW_BILLS:
        found.bills.append({"client": _client_name(session, bill), "label": bill.label,
                            "kind": "expected" if bill.expected else bill.kind,
                            "currency": bill.currency, "lines": lines, "amount": net})


def _client_name(session: Session, bill: Bill) -> str:
    party = session.get(Organisation, bill.organisation_id) if bill.organisation_id \
        else session.get(Person, bill.person_id)
    if party is None:
        return ""
    return party.name if isinstance(party, Organisation) else party.full_name


# --- Starting ------------------------------------------------------------------------------

def start(session: Session, host, data: dict, actor=None, queue: bool = True) -> BillingRun:
    """Queue the period's run, or find it queued or running already. Without ``queue``
    the caller executes it itself (the command line)."""
    period, keys, options = load(host, data, actor)
    run = _run_of(session, period)
    if queue and _going(session, run):
        return run
    run.strategies, run.issue = keys, options["issue"]
    run.issue_date = options["issue_date"]
    run.state, run.error, run.finished_at = "queued", "", None
    run.started_by_id = getattr(actor, "id", None)
    if queue:
        run.job_id = jobs.start(session, JOB, label(run), {"run_id": run.id}, actor).id
    audit.write(session, run, "update", {"state": (None, "queued"), "strategies": (None, keys)},
                actor, summary=label(run))
    return run


def _going(session: Session, run: BillingRun) -> bool:
    """Whether the run is waiting for a worker or held by one."""
    if run.lease_until is not None and run.lease_until > utcnow():
        return True
    job = session.get(Job, run.job_id) if run.job_id else None
    return job is not None and job.state in ("queued", "running")


def _run_of(session: Session, period: Period) -> BillingRun:
    """The period's run, made once even when two ask at the same moment."""
    query = select(BillingRun).where(BillingRun.period_start == period.start,
                                     BillingRun.period_end == period.end)
    run = session.scalar(query.with_for_update())
    if run is not None:
        return run
    try:
        with session.begin_nested():
            run = BillingRun(period_start=period.start, period_end=period.end)
            session.add(run)
    except IntegrityError:
        run = session.scalar(query.with_for_update())
    return run


def label(run: BillingRun) -> str:
    return _("Billing %(start)s–%(end)s", start=run.period_start.strftime("%d.%m.%Y"),
             end=run.period_end.strftime("%d.%m.%Y"))


def get(session: Session, run_id: int, actor=None) -> BillingRun | None:
    if not permissions.can(actor, invoices.PERMISSION):
        return None
    return session.get(BillingRun, run_id)


def recent(session: Session, limit: int = 50) -> list[BillingRun]:
    return list(session.scalars(select(BillingRun).order_by(
        BillingRun.period_start.desc(), BillingRun.id.desc()).limit(limit)))


# --- Running -------------------------------------------------------------------------------

@jobs.handler(JOB)
def _job(rt, job, progress) -> dict:
    return execute(rt, job.params["run_id"], progress)


def execute(rt, run_id: int, progress=None) -> dict:
    """Work the run off, holding its lease; what it made, counted. A failure lets the
    lease go, so the job's retry takes the run up again at once."""
    holder = uuid.uuid4().hex
    if not _hold(rt, run_id, holder):
        return {"held": True}
    try:
        with bulk.fewer_collections():
            return _execute(rt, run_id, holder, progress)
    except Exception as exc:
        with rt.session() as session, session.begin():
            session.execute(update(BillingRun).where(BillingRun.id == run_id).values(
                lease_until=None, state="failed", error=str(exc)[:2000]))
        raise


def _execute(rt, run_id: int, holder: str, progress) -> dict:
    with rt.session() as session:
        session.expire_on_commit = False  # the strategies' chunks stay loaded across batches
        session.info["billing_run_id"] = run_id
        run = session.get(BillingRun, run_id)
        period = Period(run.period_start, run.period_end)
        made = {"invoices": 0, "items": 0, "expected": 0, "issued": 0, "failed": []}
        run.made = {**{k: 0 for k in COUNTS}, **(run.made or {}), "failed": []}
        session.commit()  # SQLite: the progress bar writes from a session of its own
        strategies, statistics = registered(rt.host), _Statistics()
        total = _count(session, strategies, run.strategies, period)
        if progress is not None and total is not None:
            progress.set_total(total)
        for key in run.strategies:
            strategy = strategies.get(key)
            if strategy is None:
                made["failed"].append({"bill": key, "error": no_strategy(key)})
                continue
            for batch in _batches(strategy.bills(session, period)):
                statistics.keep(session, made["items"] + made["invoices"])
                _write_batch(rt, session, run, strategy, batch, made)
                if progress is not None:
                    progress.advance(len(batch))
                if not _renew(rt, session, run_id, holder):
                    return {**made, "held": True}
        _finish(session, run_id, made)
    return made


class _Statistics:
    """The planner's statistics of what a run reads, taken at its start, and of the
    items it looks up by reference each time it has doubled what it wrote: without them
    PostgreSQL reads the whole table of items for every batch's look-up once the table
    has outgrown what it last knew of it."""

    def __init__(self):
        self.taken_at: int | None = None

    def keep(self, session: Session, written: int) -> None:
        if self.taken_at is None:
            for model in (BillableItem, Invoice, Contract):
                bulk.analyse(session, model)
        elif written >= max(STATISTICS_AFTER, 2 * self.taken_at):
            bulk.analyse(session, BillableItem)
        else:
            return
        session.commit()
        self.taken_at = written


def _count(session: Session, strategies: dict, keys: list[str], period: Period) -> int | None:
    counts = [strategies[k].count for k in keys if k in strategies]
    if not counts or any(c is None for c in counts):
        return None
    return sum(count(session, period) for count in counts)


def _hold(rt, run_id: int, holder: str) -> bool:
    with rt.session() as session, session.begin():
        taken = session.execute(update(BillingRun).where(
            BillingRun.id == run_id,
            or_(BillingRun.lease_until.is_(None), BillingRun.lease_until < utcnow()))
            .values(lease_until=_lease(rt), holder=holder, state="running"))
        return taken.rowcount == 1


def _lease(rt):
    """Renewed with every batch: a dead worker's run is free when it runs out."""
    return utcnow() + timedelta(seconds=rt.settings.billing_lease_seconds)


def _renew(rt, session: Session, run_id: int, holder: str) -> bool:
    """Hold the run longer; False when another worker took it over meanwhile."""
    renewed = session.execute(update(BillingRun).where(BillingRun.id == run_id,
                                                       BillingRun.holder == holder)
                              .values(lease_until=_lease(rt)))
    session.commit()
    return renewed.rowcount == 1


def _finish(session: Session, run_id: int, made: dict) -> None:
    run = session.get(BillingRun, run_id)
    run.made = {**run.made, "failed": made["failed"]}
    run.state, run.finished_at, run.lease_until = "done", utcnow(), None
    session.commit()


def _batches(bills):
    batch = []
    for bill in bills:
        batch.append(bill)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(rt, session: Session, run: BillingRun, strategy: Strategy, batch: list[Bill],
                 made: dict                 ) -> None:
    """The batch in one transaction; if it fails, each bill in its own, so one bad
    bill costs only itself."""
    try:
        _write(rt, session, run, strategy, batch, made)
        session.commit()
    except Exception:  # noqa: BLE001 (which bill failed is found below)
        session.rollback()
        for bill in batch:
            try:
                _write(rt, session, run, strategy, [bill], made)
                session.commit()
            except Exception as exc:  # noqa: BLE001 (named in the result, run goes on)
                session.rollback()
                log.warning("billing run %s: %s failed: %s", run.id, bill.label, exc)
                made["failed"].append({"bill": bill.label or str(bill.party),
                                       "error": _error_text(exc)})


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(v) for v in exc.errors.values())
    return str(exc)[:300] or type(exc).__name__


def _write(rt, session: Session, run: BillingRun, strategy: Strategy, batch: list[Bill],
           made: dict) -> None:
    """The batch's items, drafts and lines in a few statements (a run makes thousands),
    then what the strategies keep, and the invoices issued if the run issues them."""
    session.info[BATCH_INFO] = {}  # a failed batch's leftovers go with it
    known, free = _known_items(session, batch), _free_items(session, batch)
    counts = {"invoices": 0, "items": 0, "expected": 0, "issued": 0}
    to_invoice = []
    with session.no_autoflush:
        for bill in batch:
            owed = _owed(bill, known, free)
            if not bill.expected:
                counts["items"] += sum(1 for kind, _item in owed if kind == "new")
            if owed and not bill.expected:
                to_invoice.append((bill, owed))
            elif bill.written is not None:
                bill.written(session, bill, None)
    counts["expected"] = sum(isinstance(row, ExpectedPayment) for row in session.new)
    ids = _insert_drafts(session, run, to_invoice, _parties(session, batch)) \
        if to_invoice else []
    with session.no_autoflush:
        for (bill, _owed_now), invoice_id in zip(to_invoice, ids, strict=True):
            if bill.written is not None:
                bill.written(session, bill, invoice_id)
    counts["invoices"] = len(ids)
    if strategy.batch_written is not None:
        strategy.batch_written(session)
    session.flush()
    if run.issue and ids:
        for invoice in session.scalars(select(Invoice).where(bulk.among(session, Invoice.id, ids))
                                       .order_by(Invoice.id)):
            invoices.issue(session, rt.settings, invoice, None, run.issue_date)
            counts["issued"] += 1
    for key, value in counts.items():
        made[key] += value
    # Counted in the run with what it counts, so a killed worker's batches are counted.
    run.made = {**run.made, **{k: run.made.get(k, 0) + counts[k] for k in COUNTS}}


def _owed(bill: Bill, known: dict, free: dict) -> list[tuple[str, object]]:
    """What the bill's invoice would take: ("new", charge) for a charge not billed
    before, ("item", item) for an item owed that no invoice has taken."""
    found = []
    for charge in bill.charges:
        item = known.get((bill.source, charge.reference))
        if item is None:
            found.append(("new", charge))
        elif not item.invoiced:
            found.append(("item", item))
    return found + [("item", free[i]) for i in bill.item_ids if i in free]


def _insert_drafts(session: Session, run: BillingRun, to_invoice: list, parties: dict
                   ) -> list[int]:
    """Insert the drafts, their lines and their new items; take the items owed."""
    now, door = utcnow(), audit.current_door()  # one moment for the batch
    drafts = [_draft_rows(session, run, bill, owed, parties.get(bill.party), now)
              for bill, owed in to_invoice]
    ids = bulk.add_rows(session, Invoice, [row for row, _lines in drafts])
    lines = [{**line, "invoice_id": invoice_id}
             for invoice_id, (_row, found) in zip(ids, drafts, strict=True) for line in found]
    line_ids = iter(bulk.add_rows(session, InvoiceLine, lines))
    new = []
    for bill, owed in to_invoice:
        for kind, what in owed:
            line_id = next(line_ids)
            if kind == "new":
                new.append((_item_row(bill, what, line_id, now), what.people))
            else:
                _take_item(session, what, line_id)
    _insert_items(session, new)
    summary = _("Draft invoice #%(id)d")  # translated once for the batch
    bulk.add_rows(session, AuditEntry, [
        {"at": now, "actor_id": None, "door": door, "action": "create",
         "record_type": "invoices", "record_id": invoice_id,
         "changes": audit.stored_changes({"billing_run": (None, run.id),
                                          "gross": (None, row["gross"])}),
         "summary": summary % {"id": invoice_id}}
        for invoice_id, (row, _lines) in zip(ids, drafts, strict=True)])
    return list(ids)


def _draft_rows(session: Session, run: BillingRun, bill: Bill, owed: list, party, now
                ) -> tuple[dict, list[dict]]:
    if party is None or party[1]:
        raise ValidationError({"organisation_id": _("The client has been deleted.")})
    lines, cases = [], set()
    for kind, what in owed:
        lines.append({"description": settlement_line(session, what)
                      if kind == "item" and bill.source == SETTLEMENT else what.description,
                      "quantity": what.quantity, "unit": what.unit,
                      "unit_price": what.unit_price, "vat_rate": what.vat_rate})
        cases.add(what.case_id)
    return invoices.draft_rows(party[0], {
        "kind": bill.kind, "organisation_id": bill.organisation_id,
        "person_id": bill.person_id, "currency": bill.currency,
        "price_basis": bill.price_basis, "payment_days": bill.payment_days,
        "case_id": bill.case_id or (cases.pop() if len(cases) == 1 else None),
        "issue_date": run.issue_date, "billing_run_id": run.id, "created_at": now,
        "updated_at": now}, lines)


def _item_row(bill: Bill, charge: Charge, line_id: int, now) -> dict:
    return {"organisation_id": bill.organisation_id, "person_id": bill.person_id,
            "case_id": charge.case_id, "description": charge.description,
            "quantity": charge.quantity, "unit": charge.unit, "unit_price": charge.unit_price,
            "price_basis": bill.price_basis, "vat_rate": charge.vat_rate,
            "currency": bill.currency, "earned_on": charge.earned_on, "source": bill.source,
            "reference": charge.reference, "invoice_line_id": line_id,
            "created_at": now}


def _insert_items(session: Session, new: list[tuple[dict, tuple]]) -> None:
    if not new:
        return
    ids = bulk.add_rows(session, BillableItem, [row for row, _people in new])
    bulk.add_rows(session, BillableItemPerson, [
        {"item_id": item_id, "person_id": person}
        for item_id, (_row, found) in zip(ids, new, strict=True) for person in set(found)])


def _take_item(session: Session, item: BillableItem, line_id: int) -> None:
    """An item owed goes on the line, unless an invoice took it meanwhile."""
    taken = session.execute(update(BillableItem).where(
        BillableItem.id == item.id, BillableItem.invoice_line_id.is_(None))
        .values(invoice_line_id=line_id).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise ValidationError({"items": _("“%(item)s” has been invoiced meanwhile.",
                                          item=item.description)})
    session.expire(item, ["invoice_line_id"])


def _parties(session: Session, batch: list[Bill]) -> dict:
    """The batch's clients by ``Bill.party``: (buyer as invoices keep it, deleted)."""
    found = {}
    organisations = {b.organisation_id for b in batch} - {None}
    if organisations:  # only the columns an invoice copies: thousands at a time
        for row in session.execute(select(Organisation.id, Organisation.deleted_at,
                                          *invoices.BUYER_COLUMNS)
                                   .where(bulk.among(session, Organisation.id, organisations))):
            found[("organisation", row.id)] = (invoices.organisation_buyer(row),
                                               row.deleted_at is not None)
    people = {b.person_id for b in batch} - {None}
    if people:
        for person in session.scalars(select(Person).where(bulk.among(session, Person.id, people))):
            found[("person", person.id)] = (invoices.buyer_of(person),
                                            person.deleted_at is not None)
    return found


def _known_items(session: Session, batch: list[Bill]) -> dict:
    """The batch's charges billed before, by (strategy, reference)."""
    wanted: dict[str, list[str]] = {}
    for bill in batch:
        wanted.setdefault(bill.source, []).extend(c.reference for c in bill.charges)
    found = {}
    for source, references in wanted.items():
        for start in range(0, len(references), 500):
            for item in session.scalars(select(BillableItem).where(
                    BillableItem.source == source, bulk.among(
                        session, BillableItem.reference, references[start:start + 500]))):
                found[(item.source, item.reference)] = item
    return found


def _free_items(session: Session, batch: list[Bill]) -> dict:
    """Items the batch's bills take that no invoice has taken, by id."""
    ids = [i for bill in batch for i in bill.item_ids]
    found = {}
    for start in range(0, len(ids), 500):
        for item in session.scalars(select(BillableItem).where(
                bulk.among(session, BillableItem.id, ids[start:start + 500]),
                BillableItem.invoice_line_id.is_(None))):
            found[item.id] = item
    return found


def issue_drafts(session: Session, settings, run: BillingRun, actor=None,
                 issue_date: date | None = None) -> int:
    """Issue the drafts a run made, in the order they were made."""
    if not permissions.can(actor, invoices.PERMISSION):
        raise Forbidden(_("You may not issue invoices or record payments."))
    drafts = list(session.scalars(select(Invoice).where(
        Invoice.billing_run_id == run.id, Invoice.status == "draft").order_by(Invoice.id)))
    for invoice in drafts:
        invoices.issue(session, settings, invoice, actor, issue_date or local_today())
    return len(drafts)

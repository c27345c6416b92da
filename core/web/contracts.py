"""Staff pages of contracts: the list, a contract's card (its terms, prices, the periods
and instalments billed, the items and invoices it made, the payments a direct debit
should bring, its history), the form that makes one, and changing its price,
terminating it and recording a milestone; and the list of expected payments, so that
missed direct debits are followed up.

Everything goes through ``core.contracts``: a refused form comes back with each message
under its field and what was typed kept, and nothing of it is written. Every page
needs ``core.billing``; a contract of a client the user may not see is 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, ngettext
from flask_login import current_user
from sqlalchemy import exists, false, func, or_, select
from sqlalchemy.orm import selectinload

from core import audit, contracts, invoices
from core.filters import today as local_today
from core.models import (
    BillableItem,
    Contract,
    ExpectedPayment,
    Instalment,
    Invoice,
    InvoiceLine,
)
from core.periods import anchor_of, containing
from core.web.audit import present
from core.web.db import db
from core.web.forms import form_id, optional_int
from core.web.invoices import (
    CHOICES_LIMIT,
    PAGE,
    attempt,
    billing_only,
    day_of,
    form_errors,
    party_choices,
    party_fields,
    party_key,
    party_names,
    rows_changed,
)

bp = Blueprint("contracts", __name__, url_prefix="/billing/contracts")
expected_bp = Blueprint("expected_payments", __name__, url_prefix="/billing/expected")

HISTORY = 50  # audit entries on a contract's card
MORE_ROWS = 3  # empty instalment rows "More rows" adds without script
GRACE_DAYS = 5  # a direct debit not in this many days after its day is missed

PERIOD_CHOICES = {"1": _l("monthly"), "3": _l("quarterly"), "12": _l("yearly"),
                  "custom": _l("every few months")}
BILLED_LABELS = {"advance": _l("in advance, on the first day of a period"),
                 "arrears": _l("in arrears, after the last day of a period")}
COLLECTS_LABELS = {"invoice": _l("invoices"),
                   "expected": _l("expected payments (direct debit or standing order)")}
STATE_LABELS = {"active": lazy_pgettext("contract", "active"),
                "terminated": lazy_pgettext("contract", "ended")}
KIND_LABELS = {"recurring": _l("recurring fee"), "schedule": _l("payment schedule"),
               "expected": _l("direct debit")}
INSTALMENT_LABELS = {"date": _l("waiting for its date"),
                     "milestone": _l("waiting for the milestone"),
                     "due": _l("due: the next run bills it"), "billed": _l("billed")}
EXPECTED_LABELS = {"paid": _l("paid"), "waiting": _l("waiting"), "missed": _l("missed")}
# How the history names a contract's fields (the audit trail keeps their keys).
CHANGE_LABELS = {"organisation_id": _l("Client (organisation)"),
                 "person_id": _l("Client (person)"), "case_id": _l("Case"),
                 "description": _l("Invoice line"), "starts_on": _l("Starts on"),
                 "ends_on": _l("Ends on"), "period_months": _l("Months in a period"),
                 "billed": _l("When a period is billed"), "unit": _l("Unit"),
                 "vat_rate": _l("VAT rate"), "currency": _l("Currency"),
                 "price_basis": _l("Prices"), "invoice_kind": _l("Document"),
                 "payment_days": _l("Payment terms (days)"),
                 "collects": _l("The client pays by"), "collection_day": _l("Collection day"),
                 "unit_price": _l("Price of one period"), "valid_from": _l("Price from"),
                 "instalments": _l("Instalments"), "termination_reason": _l("Why it ends"),
                 "milestone": _l("Milestone reached")}
# What the form posts and the service's keys it shows them under.
FIELDS = ("client", "title", "description", "starts_on", "ends_on", "period", "custom_months",
          "billed", "unit_price", "vat_rate", "price_basis", "currency", "invoice_kind",
          "payment_days", "collects", "collection_day", "case_id")
RENAMES = {"organisation_id": "client", "person_id": "client", "period_months": "period"}
ROW_FIELD = re.compile(r"^instalments-(\d{1,4})-(description|unit_price|due_on|milestone)$")
ROW_NAMES = ("description", "unit_price", "due_on", "milestone")


def invoice_url(invoice_id: int) -> str:
    """An invoice's page (the invoices' pages), by its address."""
    return f"{request.script_root}/billing/invoices/{invoice_id}"


def payment_url(payment_id: int) -> str:
    return f"{request.script_root}/billing/payments/{payment_id}"


@bp.context_processor
@expected_bp.context_processor
def _helpers():
    return {"period_label": period_label, "billed_labels": BILLED_LABELS,
            "collects_labels": COLLECTS_LABELS, "contract_states": STATE_LABELS,
            "contract_kinds": KIND_LABELS, "instalment_labels": INSTALMENT_LABELS,
            "expected_labels": EXPECTED_LABELS, "invoice_url": invoice_url,
            "payment_url": payment_url, "period_choices": PERIOD_CHOICES}


def period_label(months: int | None) -> str:
    if months is None:
        return _("no recurring fee")
    if months in (1, 3, 12):
        return str(PERIOD_CHOICES[str(months)])
    return ngettext("every %(num)d month", "every %(num)d months", months)


# --- The list ----------------------------------------------------------------------------

@bp.get("/")
@billing_only
def index():
    session, today = db(), local_today()
    get = request.args.get
    args = {k: get(k, "").strip() for k in ("client", "state", "kind", "q")}
    page, errors = form_id(get("page")) or 0, {}
    query = contracts.visible(current_user)
    party = party_fields(args["client"])
    if party is None:
        errors["client"] = _("Choose from the list.")
    for key, value in (party or {}).items():
        query = query.where(getattr(Contract, key) == value)
    if args["state"] == "active":
        query = query.where(or_(Contract.ends_on.is_(None), Contract.ends_on >= today))
    elif args["state"] == "terminated":
        query = query.where(Contract.ends_on < today)
    elif args["state"]:
        errors["state"] = _("Choose from the list.")
    if args["kind"] == "recurring":
        query = query.where(Contract.period_months.is_not(None), Contract.collects == "invoice")
    elif args["kind"] == "schedule":
        query = query.where(exists().where(Instalment.contract_id == Contract.id))
    elif args["kind"] == "expected":
        query = query.where(Contract.collects == "expected")
    elif args["kind"]:
        errors["kind"] = _("Choose from the list.")
    if args["q"]:
        query = query.where(Contract.title.icontains(args["q"], autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(session.scalars(query.options(selectinload(Contract.prices),
                                              selectinload(Contract.instalments))
                                .offset(page * PAGE).limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    return render_template(
        "core/contracts/index.html", rows=rows, more=more, page=page, args=args,
        link={k: v for k, v in args.items() if v}, errors=errors, count=total,
        names=party_names(session, rows), clients=_clients(session), today=today,
        prices={c.id: contracts.price_on(c, today) for c in rows})


def _clients(session) -> list[tuple[str, str]]:
    """The clients of the contracts the user may see, by name."""
    pairs = session.execute(contracts.visible(current_user).with_only_columns(
        Contract.organisation_id, Contract.person_id).order_by(None).distinct()
        .limit(CHOICES_LIMIT)).all()
    names = party_names(session, [SimpleNamespace(organisation_id=o, person_id=p)
                                  for o, p in pairs])
    return sorted(names.items(), key=lambda kv: kv[1].lower())


# --- Making one --------------------------------------------------------------------------

def blank_row() -> dict:
    return {name: "" for name in ROW_NAMES}


def posted_rows() -> list[dict]:
    """The instalment rows as typed, in order, without empty ones and without the one
    whose "Remove" was pressed."""
    rows: dict[int, dict] = {}
    for key in request.form:
        found = ROW_FIELD.match(key)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = request.form.get(key, "")
    removed = request.form.get("remove")
    return [{name: rows[n].get(name, "") for name in ROW_NAMES} for n in sorted(rows)
            if str(n) != removed and any(rows[n].get(k, "").strip() for k in ROW_NAMES)]


def _defaults() -> dict:
    return {"client": request.args.get("client", ""), "title": "", "description": "",
            "starts_on": local_today().isoformat(), "ends_on": "", "period": "1",
            "custom_months": "", "billed": "advance", "unit_price": "", "vat_rate": "23",
            "price_basis": "net", "currency": "PLN", "invoice_kind": "invoice",
            "payment_days": "14", "collects": "invoice", "collection_day": "",
            "case_id": request.args.get("case_id", "")}


@bp.route("/new", methods=["GET", "POST"])
@billing_only
def new():
    session = db()
    values, rows, errors = _defaults(), [], {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        rows = posted_rows()
        changed = rows_changed()
        if changed is None:
            made, errors = _create(session, values, rows)
            if made is not None:
                flash(_("Contract saved: %(title)s.", title=made.title))
                return redirect(url_for("contracts.card", contract_id=made.id))
        elif changed == "more":
            rows += [blank_row() for _n in range(MORE_ROWS)]
    return render_template("core/contracts/form.html", values=values, rows=rows,
                           errors=errors, parties=party_choices(session, values["client"]),
                           blank=blank_row())


def _create(session, values: dict, rows: list[dict]):
    own: dict = {}
    party = party_fields(values["client"])
    if party is None:
        own["client"], party = _("Choose from the list."), {}
    expected = values["collects"] == "expected"
    data = {**party, "title": values["title"], "description": values["description"],
            "ends_on": values["ends_on"].strip() or None,
            "period_months": _period_months(values, own), "billed": values["billed"],
            "unit_price": values["unit_price"].strip() or None,
            "vat_rate": values["vat_rate"], "price_basis": values["price_basis"],
            "currency": values["currency"].strip().upper() or "PLN",
            "invoice_kind": values["invoice_kind"], "collects": values["collects"],
            "collection_day": optional_int(values["collection_day"]) if expected else None,
            "case_id": optional_int(values["case_id"]),
            "instalments": [_instalment(row) for row in rows]}
    for key in ("starts_on", "payment_days"):
        if values[key].strip():  # left empty, the service says it is required or defaults
            data[key] = values[key].strip()
    made, errors = attempt(session, lambda: contracts.create(session, data, current_user), own)
    return made, form_errors(errors, RENAMES)


def _period_months(values: dict, own: dict):
    chosen = values["period"]
    if not chosen:
        return None
    if chosen == "custom":
        typed = values["custom_months"].strip()
        if not typed:
            own["period"] = _("Enter how many months one period lasts.")
            return None
        return optional_int(typed)  # not a number: the service says so
    if chosen in PERIOD_CHOICES:
        return int(chosen)
    own["period"] = _("Choose from the list.")
    return None


def _instalment(row: dict) -> dict:
    found = {"description": row["description"], "due_on": row["due_on"].strip() or None,
             "milestone": row["milestone"]}
    if row["unit_price"].strip():
        found["unit_price"] = row["unit_price"].strip()
    return found


# --- The card ----------------------------------------------------------------------------

def _get(contract_id: int) -> Contract:
    found = contracts.get(db(), contract_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:contract_id>")
@billing_only
def card(contract_id: int):
    return _card(_get(contract_id))


@dataclass
class BilledPeriod:
    start: date
    end: date
    amount: Decimal
    invoice_ids: list[int]


def instalment_state(item: Instalment, today: date) -> str:
    if item.billed_on is not None:
        return "billed"
    if item.milestone and item.reached_on is None:
        return "milestone"
    return "date" if item.due > today else "due"


def expected_state(row: ExpectedPayment, today: date) -> str:
    if row.payment_id is not None:
        return "paid"
    return "missed" if row.due_on + timedelta(days=GRACE_DAYS) < today else "waiting"


def _card(contract: Contract, errors: dict | None = None, typed: dict | None = None):
    session, today = db(), local_today()
    items = _items(session, contract)
    invoice_of = dict(session.execute(select(InvoiceLine.id, InvoiceLine.invoice_id).where(
        InvoiceLine.id.in_([i.invoice_line_id for i in items if i.invoice_line_id])
    )).all()) if any(i.invoice_line_id for i in items) else {}
    made = _invoices(session, set(invoice_of.values()))
    expected = list(session.scalars(select(ExpectedPayment).where(
        ExpectedPayment.contract_id == contract.id).order_by(ExpectedPayment.period_start)))
    history = audit.page(session, audit.of_record(audit.record_type_of(contract),
                                                  contract.id), size=HISTORY)
    return render_template(
        "core/contracts/card.html", contract=contract, today=today,
        client=invoices.party_record(session, contract),
        client_name=party_names(session, [contract]).get(party_key(contract), ""),
        price_now=contracts.price_on(contract, today) if contract.prices else None,
        next_period=_next_period(contract), periods=_periods(contract, items, invoice_of),
        items=items, invoice_of=invoice_of, invoices=made, expected=expected,
        expected_state=lambda row: expected_state(row, today),
        instalment_state=lambda item: instalment_state(item, today),
        milestones=_waiting_milestones(contract), history=_history(history.entries),
        errors=form_errors(errors or {}),
        typed={"reached_on": today.isoformat(), **(typed or {})})


def _history(entries) -> list:
    shown = present(entries)
    for row in shown:
        row.changes = [(str(CHANGE_LABELS.get(label, label)), old, new)
                       for label, old, new in row.changes]
    return shown


def _items(session, contract: Contract) -> list[BillableItem]:
    """The items the contract made: its periods' charges and their adjustments
    ("contract-7/..."), and its instalments ("instalment-12")."""
    schedule = [f"instalment-{i.id}" for i in contract.instalments]
    return list(session.scalars(select(BillableItem).where(
        BillableItem.source.in_((contracts.SOURCE, contracts.ADJUSTMENT)),
        or_(BillableItem.reference.startswith(f"contract-{contract.id}/", autoescape=True),
            BillableItem.reference.in_(schedule) if schedule else false()))
        .order_by(BillableItem.earned_on, BillableItem.id)))


def _invoices(session, ids: set[int]) -> list[Invoice]:
    """The invoices that bill the contract's items, and their corrections."""
    if not ids:
        return []
    return list(session.scalars(invoices.visible(current_user).where(
        or_(Invoice.id.in_(ids), Invoice.corrects_id.in_(ids))).order_by(Invoice.id)))


def _periods(contract: Contract, items: list[BillableItem], invoice_of: dict
             ) -> list[BilledPeriod]:
    """The recurring periods billed so far, with what was billed for each."""
    if contract.period_months is None:
        return []
    anchor = anchor_of(contract.period_months, contract.starts_on)
    found: dict[date, BilledPeriod] = {}
    for item in items:
        parts = (item.reference or "").split("/")
        if len(parts) < 3 or not parts[0].startswith("contract-"):
            continue
        try:
            start = date.fromisoformat(parts[1])
        except ValueError:
            continue
        if start not in found:
            whole = containing(start, contract.period_months, anchor)
            found[start] = BilledPeriod(whole.start, whole.end, Decimal(0), [])
        period = found[start]
        period.amount += item.unit_price * item.quantity
        invoice_id = invoice_of.get(item.invoice_line_id)
        if invoice_id is not None and invoice_id not in period.invoice_ids:
            period.invoice_ids.append(invoice_id)
    return [found[k] for k in sorted(found)]


def _next_period(contract: Contract):
    """The next period a run will bill, and the day from which it does; None when the
    contract has nothing more to bill by its period."""
    if contract.period_months is None or not contract.prices:
        return None
    first = contract.billed_through + timedelta(days=1) if contract.billed_through \
        else contract.starts_on
    if contract.ends_on is not None and first > contract.ends_on:
        return None
    whole = containing(first, contract.period_months,
                       anchor_of(contract.period_months, contract.starts_on))
    covered = whole.overlap(max(first, contract.starts_on), contract.ends_on)
    if covered is None:
        return None
    return SimpleNamespace(start=covered.start, end=covered.end,
                           billed_on=covered.start if contract.billed == "advance"
                           else covered.end)


def _waiting_milestones(contract: Contract) -> list[str]:
    found: list[str] = []
    for item in contract.instalments:
        if item.milestone and item.reached_on is None and \
                item.milestone.casefold() not in (m.casefold() for m in found):
            found.append(item.milestone)
    return found


# --- Changing it -------------------------------------------------------------------------

@bp.post("/<int:contract_id>/price")
@billing_only
def change_price(contract_id: int):
    session, contract = db(), _get(contract_id)
    typed = {k: request.form.get(k, "") for k in ("valid_from", "unit_price")}
    data = {k: v.strip() for k, v in typed.items() if v.strip()}
    _done, errors = attempt(session, lambda: contracts.change_price(
        session, contract, data, current_user))
    if errors:
        return _card(contract, errors, typed)
    flash(_("The new price applies from %(day)s.",
            day=date.fromisoformat(data["valid_from"]).strftime("%d.%m.%Y")))
    return redirect(url_for("contracts.card", contract_id=contract.id))


@bp.post("/<int:contract_id>/terminate")
@billing_only
def terminate(contract_id: int):
    session, contract = db(), _get(contract_id)
    typed = {k: request.form.get(k, "") for k in ("ends_on", "reason")}
    data = {"reason": typed["reason"]}
    if typed["ends_on"].strip():
        data["ends_on"] = typed["ends_on"].strip()
    _done, errors = attempt(session, lambda: contracts.terminate(
        session, contract, data, current_user))
    if errors:
        return _card(contract, errors, typed)
    flash(_("The contract ends on %(day)s; what was billed beyond it is corrected.",
            day=contract.ends_on.strftime("%d.%m.%Y")))
    return redirect(url_for("contracts.card", contract_id=contract.id))


@bp.post("/<int:contract_id>/milestone")
@billing_only
def reach(contract_id: int):
    session, contract = db(), _get(contract_id)
    typed = {k: request.form.get(k, "") for k in ("milestone", "reached_on")}
    own: dict = {}
    day = day_of(typed["reached_on"], "reached_on", own)
    if day is None and "reached_on" not in own:
        own["reached_on"] = _("Enter the day it was reached.")
    found, errors = attempt(session, lambda: None if own else contracts.reach(
        session, contract, typed["milestone"], day, current_user), own)
    if errors:
        return _card(contract, errors, typed)
    flash(ngettext("“%(what)s” reached: %(num)d instalment falls due.",
                   "“%(what)s” reached: %(num)d instalments fall due.", len(found),
                   what=typed["milestone"].strip()))
    return redirect(url_for("contracts.card", contract_id=contract.id))


# --- Expected payments -------------------------------------------------------------------

@dataclass
class ExpectedTotal:
    currency: str
    count: int
    amount: Decimal


@expected_bp.get("/", endpoint="index")
@billing_only
def expected_index():
    session, today = db(), local_today()
    get = request.args.get
    args = {k: get(k, "").strip() for k in ("due_from", "due_to", "state", "client", "run")}
    page, errors = form_id(get("page")) or 0, {}
    query = select(ExpectedPayment)
    condition = invoices.party_scope(ExpectedPayment, current_user)
    if condition is not None:
        query = query.where(condition)
    since = day_of(args["due_from"], "due_from", errors)
    until = day_of(args["due_to"], "due_to", errors)
    if since and until and until < since:
        errors["due_to"] = _("The end cannot be before the start.")
    elif since or until:
        query = query.where(*([ExpectedPayment.due_on >= since] if since else []),
                            *([ExpectedPayment.due_on <= until] if until else []))
    late = today - timedelta(days=GRACE_DAYS)
    if args["state"] == "paid":
        query = query.where(ExpectedPayment.payment_id.is_not(None))
    elif args["state"] == "waiting":
        query = query.where(ExpectedPayment.payment_id.is_(None), ExpectedPayment.due_on >= late)
    elif args["state"] == "missed":
        query = query.where(ExpectedPayment.payment_id.is_(None), ExpectedPayment.due_on < late)
    elif args["state"]:
        errors["state"] = _("Choose from the list.")
    party = party_fields(args["client"])
    if party is None:
        errors["client"] = _("Choose from the list.")
    for key, value in (party or {}).items():
        query = query.where(getattr(ExpectedPayment, key) == value)
    if form_id(args["run"]) is not None:  # from a run's page: the payments it expects
        query = query.where(ExpectedPayment.run_id == form_id(args["run"]))
    found = query.subquery()
    totals = [ExpectedTotal(currency, n, Decimal(amount)) for currency, n, amount in
              session.execute(select(found.c.currency, func.count(), func.sum(found.c.amount))
                              .group_by(found.c.currency).order_by(found.c.currency))]
    rows = list(session.scalars(query.order_by(ExpectedPayment.due_on, ExpectedPayment.id)
                                .offset(page * PAGE).limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    titles = dict(session.execute(select(Contract.id, Contract.title).where(
        Contract.id.in_({r.contract_id for r in rows}))).all()) if rows else {}
    return render_template(
        "core/contracts/expected.html", rows=rows, more=more, page=page, args=args,
        link={k: v for k, v in args.items() if v}, errors=errors, totals=totals,
        count=sum(t.count for t in totals), names=party_names(session, rows),
        titles=titles, clients=_expected_clients(session),
        state_of=lambda row: expected_state(row, today), grace=GRACE_DAYS)


def _expected_clients(session) -> list[tuple[str, str]]:
    query = select(ExpectedPayment.organisation_id, ExpectedPayment.person_id).distinct()
    condition = invoices.party_scope(ExpectedPayment, current_user)
    if condition is not None:
        query = query.where(condition)
    pairs = session.execute(query.limit(CHOICES_LIMIT)).all()
    names = party_names(session, [SimpleNamespace(organisation_id=o, person_id=p)
                                  for o, p in pairs])
    return sorted(names.items(), key=lambda kv: kv[1].lower())

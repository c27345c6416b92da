"""Staff pages of payments: the list, recording a payment with its allocation to one or
more open invoices of the payer, and allocating what is left of a payment later.

Everything goes through ``core.payments``: an allocation never exceeds what the
payment has left or what the invoice owes, and a refused form writes nothing (not
the payment either) and says what is wrong under each field. Every page needs
``core.billing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from core import invoices, payments
from core.filters import today as local_today
from core.models import Invoice, Payment, PaymentAllocation
from core.validation import load_collecting
from core.web.db import db
from core.web.forms import form_id
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
    plain,
)

bp = Blueprint("payments", __name__, url_prefix="/billing/payments")
FIELDS = ("received_on", "amount", "currency", "buyer", "payer", "title")
ALLOCATE = re.compile(r"^allocate-(\d{1,10})$")


# --- The list ----------------------------------------------------------------------------

@dataclass
class Total:
    currency: str
    count: int
    amount: Decimal
    unallocated: Decimal


@bp.get("/")
@billing_only
def index():
    session = db()
    get = request.args.get
    args = {k: get(k, "").strip() for k in ("buyer", "received_from", "received_to", "q",
                                            "unallocated")}
    page, errors = form_id(get("page")) or 0, {}
    query = payments.visible(current_user)
    party = party_fields(args["buyer"])
    if party is None:
        errors["buyer"] = _("Choose from the list.")
    for key, value in (party or {}).items():
        query = query.where(getattr(Payment, key) == value)
    since = day_of(args["received_from"], "received_from", errors)
    until = day_of(args["received_to"], "received_to", errors)
    if since and until and until < since:
        errors["received_to"] = _("The end cannot be before the start.")
    elif since or until:
        query = query.where(*([Payment.received_on >= since] if since else []),
                            *([Payment.received_on <= until] if until else []))
    if args["unallocated"]:
        query = query.where(Payment.amount > Payment.allocated)
    if args["q"]:
        query = query.where(or_(Payment.title.icontains(args["q"], autoescape=True),
                                Payment.payer.icontains(args["q"], autoescape=True)))
    found = query.subquery()
    totals = [Total(currency, n, Decimal(amount), Decimal(left)) for currency, n, amount, left
              in session.execute(select(found.c.currency, func.count(), func.sum(found.c.amount),
                                        func.sum(found.c.amount - found.c.allocated))
                                 .group_by(found.c.currency).order_by(found.c.currency))]
    rows = list(session.scalars(query.options(selectinload(Payment.allocations)
                                              .selectinload(PaymentAllocation.invoice))
                                .order_by(Payment.received_on.desc(), Payment.id.desc())
                                .offset(page * PAGE).limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    link = {k: v for k, v in args.items() if v}
    return render_template("core/billing/payments.html", rows=rows, more=more, page=page,
                           args=args, link=link, errors=errors, totals=totals,
                           count=sum(t.count for t in totals),
                           names=party_names(session, rows), buyers=_payers(session))


def _payers(session) -> list[tuple[str, str]]:
    """The payers of the payments the user may see, by name."""
    pairs = session.execute(payments.visible(current_user).with_only_columns(
        Payment.organisation_id, Payment.person_id).distinct().limit(CHOICES_LIMIT)).all()
    names = party_names(session, [SimpleNamespace(organisation_id=o, person_id=p)
                                        for o, p in pairs])
    return sorted(names.items(), key=lambda kv: kv[1].lower())


# --- Recording ---------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@billing_only
def new():
    session = db()
    values = {"received_on": local_today().isoformat(), "amount": "", "currency": "PLN",
              "buyer": request.args.get("buyer", ""), "payer": "", "title": ""}
    amounts: dict[int, str] = {}
    chosen = form_id(request.args.get("invoice"))
    invoice = invoices.get(session, chosen, current_user) if chosen else None
    if invoice is not None:  # paying this invoice: what it still owes, by default
        owed = plain(max(invoice.balance, Decimal(0)), 2)
        values.update(buyer=party_key(invoice), amount=owed, currency=invoice.currency,
                      title=invoice.number or "")
        amounts[invoice.id] = owed
    errors: dict = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        amounts = {int(found[1]): request.form.get(key, "") for key in request.form
                   if (found := ALLOCATE.match(key))}
        if request.form.get("action") != "refresh":
            payment, errors = _record(session, values, amounts)
            if payment is not None:
                flash(_("Payment recorded."))
                return redirect(url_for("payments.card", payment_id=payment.id))
    shown = _open_invoices(session, values["buyer"], list(amounts))
    listed = {f"allocate-{invoice.id}" for invoice in shown}
    return render_template("core/billing/payment_form.html", values=values, amounts=amounts,
                           errors=errors, parties=party_choices(session, values["buyer"]),
                           open_invoices=shown,
                           unlisted={k: v for k, v in errors.items()
                                     if k.startswith("allocate-") and k not in listed})


def _record(session, values: dict, amounts: dict[int, str]):
    own, renames = {}, {}
    party = party_fields(values["buyer"])
    if party is None:
        own["buyer"], party = _("Choose from the list."), {}
    pairs = []
    for invoice_id, typed in sorted(amounts.items()):
        if not typed.strip():
            continue  # left empty: nothing of the payment goes to this invoice
        invoice = invoices.get(session, invoice_id, current_user)
        if invoice is None:
            own[f"allocate-{invoice_id}"] = _("There is no such invoice, or you may not see it.")
            continue
        renames.update({f"allocate_to.{len(pairs)}.{field}": f"allocate-{invoice_id}"
                        for field in ("amount", "invoice_id")})
        pairs.append((invoice, typed.strip()))
    data = {**party, "currency": values["currency"].strip().upper() or "PLN",
            "payer": values["payer"].strip(), "title": values["title"].strip(),
            "source": "manual",
            **{k: values[k].strip() for k in ("received_on", "amount") if values[k].strip()}}
    if own:
        # Only checked, not recorded: on SQLite the payment's own savepoint, opened
        # before anything else is written, would commit it when released.
        values, problems = load_collecting(payments.PaymentSchema(), data)
        invoices.party_of(session, values, current_user, problems, required=False)
        session.rollback()
        return None, form_errors({**own, **problems}, renames)
    payment, errors = attempt(session, lambda: payments.record(
        session, data, current_user, allocate_to=pairs))
    return payment, form_errors(errors, renames)


def _open_invoices(session, buyer: str, also: list[int]) -> list[Invoice]:
    """The invoices of the payer still owing something, and those chosen already
    (whatever they are now: the form says why one cannot be paid)."""
    party = party_fields(buyer) or {}
    conditions = [and_(getattr(Invoice, key) == value, Invoice.kind.in_(invoices.PAYABLE),
                       Invoice.status.in_(invoices.OPEN), Invoice.to_pay > Invoice.paid)
                  for key, value in party.items()]
    if also:
        conditions.append(Invoice.id.in_(also))
    if not conditions:
        return []
    return list(session.scalars(
        invoices.visible(current_user).where(or_(*conditions))
        .order_by(Invoice.due_date, Invoice.id).limit(CHOICES_LIMIT)))


# --- A payment and the rest of it --------------------------------------------------------

def _get(payment_id: int) -> Payment:
    found = payments.get(db(), payment_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:payment_id>")
@billing_only
def card(payment_id: int):
    return _card(_get(payment_id))


def _card(payment: Payment, errors: dict | None = None, typed: dict | None = None):
    session = db()
    allocations = session.scalars(
        select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
        .options(selectinload(PaymentAllocation.invoice)).order_by(PaymentAllocation.id)).all()
    choices = _allocatable(session, payment) if payment.unallocated > 0 else []
    return render_template("core/billing/payment.html", payment=payment,
                           allocations=allocations, choices=choices,
                           names=party_names(session, [payment, *choices]),
                           errors=errors or {}, typed=typed or {})


def _allocatable(session, payment: Payment) -> list[Invoice]:
    """Open invoices in the payment's currency: the payer's, or without a payer anyone's."""
    query = invoices.visible(current_user).where(
        Invoice.kind.in_(invoices.PAYABLE), Invoice.status.in_(invoices.OPEN),
        Invoice.to_pay > Invoice.paid, Invoice.currency == payment.currency)
    if payment.organisation_id is not None:
        query = query.where(Invoice.organisation_id == payment.organisation_id)
    elif payment.person_id is not None:
        query = query.where(Invoice.person_id == payment.person_id)
    return list(session.scalars(query.order_by(Invoice.due_date, Invoice.id)
                                .limit(CHOICES_LIMIT)))


@bp.post("/<int:payment_id>/allocate")
@billing_only
def allocate(payment_id: int):
    session, payment = db(), _get(payment_id)
    typed = {"invoice_id": request.form.get("invoice_id", ""),
             "amount": request.form.get("amount", "")}
    own = {}
    chosen = form_id(typed["invoice_id"])
    invoice = invoices.get(session, chosen, current_user) if chosen else None
    if invoice is None:
        own["invoice_id"] = _("Choose an invoice from the list.")
    amount = typed["amount"].strip() or None  # empty: as much as both allow
    _done, errors = attempt(session, lambda: None if own else payments.allocate(
        session, payment, invoice, amount, current_user), own)
    if errors:
        return _card(payment, form_errors(errors), typed)
    flash(_("Counted towards %(number)s.", number=invoice.number))
    return redirect(url_for("payments.card", payment_id=payment.id))

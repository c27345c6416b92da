"""Payments received, and their allocation to the invoices they pay.

A payment is recorded once, by hand, from a bank statement or by an import; one that
carries its source's own id (``external_id``) is found again when it is recorded
again, so a statement imported twice records nothing twice. Parts of it are allocated
to invoices in its currency, one or several, partly or in full; an allocation never
exceeds what the payment has left or what the invoice still owes, and what is not
allocated stays on the payment (paid too much, or not matched yet). Each allocation
moves the invoice's status (partly paid, paid) in its transaction.

Recording and allocating need ``core.billing``; a payment is seen by whoever may see
its payer, one without a payer by the holders of ``core.billing``.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, bulk, events, invoices, permissions, timeline, vat, webhooks
from core.errors import ValidationError
from core.invoices import Number
from core.models import Invoice, Payment, PaymentAllocation
from core.models.billing import SOURCES
from core.templating import money
from core.validation import an_id, load_collecting, max_length

webhooks.register("payment.recorded", _l("A payment was recorded"))
timeline.EVENT_LABELS.update({"payment_recorded": _l("Payment received")})


class PaymentSchema(Schema):
    class Meta:
        unknown = RAISE

    received_on = fields.Date(required=True, error_messages={
        "required": _l("Enter the day the money came in.")})
    amount = Number(2, required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=invoices.MAX_PRICE,
        error=_l("Enter an amount above zero.")), error_messages={
        "required": _l("Enter the amount.")})
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    organisation_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    person_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    payer = fields.String(load_default="", validate=max_length(300))
    title = fields.String(load_default="", validate=max_length(500))
    source = fields.String(load_default="manual", validate=validate.OneOf(
        SOURCES, error=_l("Choose manual, bank or import.")))
    external_id = fields.String(load_default=None, allow_none=True, validate=max_length(200))


def visible(actor=None) -> Select:
    """Payments ``actor`` may see: those of payers they may see; those without a payer
    if they hold ``core.billing``."""
    condition = invoices.party_scope(Payment, actor)
    if condition is None:
        return select(Payment)
    unmatched = Payment.organisation_id.is_(None) & Payment.person_id.is_(None)
    if not permissions.can(actor, invoices.PERMISSION):
        unmatched = false()
    return select(Payment).where(condition | unmatched)


def get(session: Session, payment_id: int, actor=None) -> Payment | None:
    return session.scalar(visible(actor).where(Payment.id == payment_id))


def record(session: Session, data: dict, actor=None,
           allocate_to: list[tuple[Invoice, Decimal | str | None]] = ()) -> Payment:
    """Record a payment and allocate it to ``allocate_to`` ([(invoice, amount or None
    for what is owed)]), whose refusals are keyed ``allocate_to.<n>.<field>``; the same
    ``external_id`` from the same source again returns the payment recorded before and
    changes nothing."""
    invoices.require(session, actor)
    values, errors = load_collecting(PaymentSchema(), data)
    if "amount" in values:
        values["amount"] = vat.grosz(values["amount"])
    if values.get("external_id") is not None:
        values["external_id"] = values["external_id"].strip() or None
    payer = invoices.party_of(session, values, actor, errors, required=False)
    if errors:
        raise ValidationError(errors)
    if values["external_id"] is not None:
        known = _known(session, values["source"], values["external_id"])
        if known is not None:
            return known
    if payer is None:
        values.update(_payer_of([invoice for invoice, _amount in allocate_to]))
    for invoice, _amount in allocate_to:
        # Taken before the payment is written, so that its savepoint is inside this
        # transaction on SQLite too (whose driver opens none before a change): a refused
        # allocation then undoes the payment with everything else.
        invoices.lock(session, invoice)
    payment = Payment(**values, created_by_id=getattr(actor, "id", None))
    bulk.begin(session)  # the savepoint inside the caller's transaction, on SQLite too
    try:
        with session.begin_nested():
            session.add(payment)
    except IntegrityError:
        # Recorded at the same moment by another import of the same statement.
        return _known(session, values["source"], values["external_id"])
    audit.write(session, payment, "create", {k: (None, v) for k, v in values.items()}, actor,
                summary=_label(payment))
    for n, (invoice, amount) in enumerate(allocate_to):
        try:
            allocate(session, payment, invoice, amount, actor)
        except ValidationError as exc:
            raise ValidationError({f"allocate_to.{n}.{key}": message
                                   for key, message in exc.errors.items()}) from None
    if not allocate_to:
        from core import contracts  # contracts bill through the ledger, which imports this

        contracts.expected_paid(session, payment)
    _tell_recorded(session, payment, actor)
    return payment


def _known(session: Session, source: str, external_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.source == source,
                                                Payment.external_id == external_id))


def _payer_of(paid: list[Invoice]) -> dict:
    """The buyer of the invoices a payment pays, when they all have the same one."""
    parties = {(i.organisation_id, i.person_id) for i in paid}
    if len(parties) != 1:
        return {}
    organisation_id, person_id = parties.pop()
    return {"organisation_id": organisation_id, "person_id": person_id}


def allocate(session: Session, payment: Payment, invoice: Invoice,
             amount: Decimal | str | None = None, actor=None) -> PaymentAllocation:
    """Count ``amount`` of the payment (None: as much as both allow) towards the invoice;
    refused beyond what the payment has left or what the invoice still owes."""
    invoices.require(session, actor, invoice)
    invoices.lock(session, payment)
    invoices.lock(session, invoice)
    amount = _amount(payment, invoice, amount)
    allocation = PaymentAllocation(invoice=invoice, amount=amount,
                                   created_by_id=getattr(actor, "id", None))
    payment.allocations.append(allocation)
    before = (invoice.paid, invoice.status)
    payment.allocated += amount
    invoice.paid += amount
    invoices.settle(invoice)
    session.flush()
    audit.write(session, allocation, "create", {
        "payment_id": (None, payment.id), "invoice": (None, invoice.number),
        "amount": (None, amount)}, actor, summary=invoice.number or "")
    audit.write(session, invoice, "update", {"paid": (before[0], invoice.paid),
                                             "status": (before[1], invoice.status)},
                actor, summary=invoices.label(invoice))
    return allocation


def _amount(payment: Payment, invoice: Invoice, amount) -> Decimal:
    """The amount to allocate, or a ValidationError saying why it cannot be."""
    if invoice.kind == "correction":
        raise ValidationError({"invoice_id": _(
            "A correction is paid through the invoice it corrects.")})
    if invoice.kind not in invoices.PAYABLE:
        raise ValidationError({"invoice_id": _(
            "A pro forma is not owed: issue the invoice and allocate the payment to it.")})
    if invoice.status not in invoices.SETTLED:
        raise ValidationError({"invoice_id": _("Only an issued invoice is paid.")})
    if invoice.currency != payment.currency:
        raise ValidationError({"invoice_id": _(
            "The invoice is in %(invoice)s and the payment in %(payment)s.",
            invoice=invoice.currency, payment=payment.currency)})
    if amount is None:
        amount = min(payment.unallocated, invoice.balance)
        if amount <= 0:
            raise ValidationError({"amount": _(
                "Nothing is left to allocate: the payment is used up or the invoice paid.")})
        return amount
    values, errors = load_collecting(AmountSchema(), {"amount": amount})
    if errors:
        raise ValidationError(errors)
    amount = vat.grosz(values["amount"])
    if amount > payment.unallocated:
        raise ValidationError({"amount": _("The payment has only %(left)s left to allocate.",
                                           left=money(payment.unallocated, payment.currency))})
    if amount > invoice.balance:
        raise ValidationError({"amount": _("The invoice still owes only %(owed)s.",
                                           owed=money(max(invoice.balance, Decimal(0)),
                                                      invoice.currency))})
    return amount


class AmountSchema(Schema):
    amount = Number(2, required=True, validate=validate.Range(
        min=0, min_inclusive=False, error=_l("Enter an amount above zero.")))


def _label(payment: Payment) -> str:
    return f"{money(payment.amount, payment.currency)} {payment.received_on.isoformat()}"


def _tell_recorded(session: Session, payment: Payment, actor) -> None:
    party = invoices.party_record(session, payment)
    if party is not None:
        timeline.record_event(session, "payment_recorded", [party], subject=_label(payment),
                              actor=actor, data={"payment_id": payment.id})
    webhooks.emit(session, "payment.recorded", data(session, payment, actor))
    events.after_commit(session, "kartoteka_payment_recorded", payment=payment, actor=actor)


def data(session: Session, payment: Payment, actor=None) -> dict:
    """The payment as webhooks tell it, with what it was allocated to."""
    paid = session.execute(select(PaymentAllocation.invoice_id, Invoice.number,
                                  PaymentAllocation.amount)
                           .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                           .where(PaymentAllocation.payment_id == payment.id)
                           .order_by(PaymentAllocation.id)).all()
    return {"id": payment.id, "received_on": payment.received_on.isoformat(),
            "amount": str(payment.amount), "currency": payment.currency,
            "unallocated": str(payment.unallocated), "source": payment.source,
            "external_id": payment.external_id, "payer": payment.payer,
            "title": payment.title, "organisation_id": payment.organisation_id,
            "person_id": payment.person_id,
            "allocations": [{"invoice_id": i, "number": n, "amount": str(a)}
                            for i, n, a in paid],
            "actor": invoices.actor_data(actor)}

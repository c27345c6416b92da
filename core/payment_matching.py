"""Matching a bank statement's credits to the open invoices they pay, and the review of
those that could not be matched for sure.

A credit is matched, in this order, by:

1. **the invoice number in its title**, however it is spelled: case, spaces and
   separators do not matter and leading zeros may be left out, so "fv 2026 12",
   "FV-2026-0012" and "FV/2026/0012" all name FV/2026/0012 (a correction's number names
   the invoice it corrects). The named invoice is paid: in full, partly (it is then
   partly paid) or with something over, which stays unallocated on the payment. Several
   named invoices of one client are paid oldest first when the money covers them all;
2. **the payer**: known by the account the money came from (an IBAN custom field of an
   organisation or person, or the account of an earlier payment matched to them), by a
   NIP in the title, or by the name the bank gives, which must hold every word of the
   buyer's name on an open invoice ("NOWAK ANNA UL. POLNA 3" is Anna Nowak); together
   with **the amount** still owed on one of their open invoices, or on all of them.

Such a match is sure: the payment is recorded (``core.payments.record``, source "bank",
the line's id as ``external_id``) and allocated, moving the invoice to paid or partly
paid. An unsure one, such as an amount that only one open invoice owes with nothing
naming the payer, or a named invoice whose client's account is not the one that paid,
is **suggested** and waits for review; without a candidate the line is **unmatched**.
Review confirms a suggestion, pays invoices of one's choosing, records the money as a
payment of a chosen payer allocated to nothing, or ignores the line. The matching looks
only at invoices the importing user may see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from stdnum.pl import nip as stdnum_nip

from core import audit, invoices, payments, records
from core import fields as custom_fields
from core.db import utcnow
from core.errors import ValidationError
from core.field_sql import CustomValue
from core.models import (
    BankStatement,
    BankStatementLine,
    Invoice,
    Organisation,
    Payment,
    Person,
)
from core.models.bank import LINE_STATUSES, OPEN_LINES
from core.templating import money
from core.text import fold, name_key
from core.validation import MAX_ID

STATUS_LABELS = {
    "matched": _l("matched"), "suggested": _l("suggested"), "unmatched": _l("unmatched"),
    "recorded": _l("recorded without an invoice"), "ignored": _l("ignored"),
    "debit": _l("debit"), "duplicate": _l("imported before"),
}
HOW = {"account": _l("the account it came from"), "nip": _l("the NIP in the title"),
       "name": _l("the payer's name")}
# Why a line is what it is; the details fill in the blanks.
REASONS = {
    "number": _l("The title names %(numbers)s, and the amount is what it owes."),
    "number_partial": _l("The title names %(numbers)s; the amount pays part of it."),
    "number_over": _l("The title names %(numbers)s; %(rest)s more than it owes stays on "
                      "the payment."),
    "numbers_short": _l("The title names %(numbers)s, and the amount is less than they "
                        "owe together."),
    "number_other_payer": _l("The title names %(numbers)s, but the money came from the "
                             "account of %(payer)s."),
    "number_other_buyers": _l("The title names invoices of different clients: "
                              "%(numbers)s."),
    "number_closed": _l("The title names %(numbers)s, which owes nothing now."),
    "payer_amount": _l("The payer is known by %(how)s, and %(numbers)s owes this amount."),
    "payer_all": _l("The payer is known by %(how)s, and the amount is all they owe: "
                    "%(numbers)s."),
    "payer_amounts": _l("The payer is known by %(how)s, and several invoices owe this "
                        "amount: %(numbers)s."),
    "payer_only_invoice": _l("The payer is known by %(how)s; their one open invoice, "
                             "%(numbers)s, owes %(owed)s."),
    "payer_other_amount": _l("The payer is known by %(how)s, but none of their open "
                             "invoices owes this amount."),
    "payer_nothing_owed": _l("The payer is known by %(how)s, but owes nothing."),
    "amount_only": _l("Nothing names the payer; %(numbers)s is the one open invoice owing "
                      "this amount."),
    "nothing": _l("No invoice is named and the payer is not known."),
    "failed": _l("%(numbers)s could not be paid: %(error)s"),
    "confirmed": _l("Paid to %(numbers)s as suggested, confirmed on review."),
    "chosen": _l("Paid to %(numbers)s on review."),
    "recorded": _l("Recorded on review as a payment allocated to no invoice."),
    "ignored": _l("Ignored on review."),
    "debit": _l("Money going out: never a payment."),
    "zero": _l("An amount of zero: never a payment."),
    "duplicate": _l("Imported before, with statement #%(statement_id)s."),
}
_TOKENS = re.compile(r"[A-Z]+|[0-9]+")
_NIP = re.compile(r"(?<![0-9])(\d{3}-?\d{3}-?\d{2}-?\d{2}|\d{3}-?\d{2}-?\d{2}-?\d{3})(?![0-9])")


# --- Invoice numbers ---------------------------------------------------------------------

def _tokens(text: str) -> list[str]:
    """Letters and digits in runs, upper case, numbers without leading zeros: "fv/2026/
    0012" and "FV 2026 12" give the same."""
    return [t.lstrip("0") or "0" if t.isdigit() else t
            for t in _TOKENS.findall(fold(text or "").upper())]


def number_key(number: str) -> tuple[str, ...]:
    return tuple(_tokens(number))


def _compact(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", fold(text or "").upper())


def _party(row) -> tuple[int | None, int | None]:
    return row.organisation_id, row.person_id


def _by_due(found: list[Invoice]) -> list[Invoice]:
    return sorted(found, key=lambda i: (i.due_date or i.issue_date, i.id))


# --- Matching ----------------------------------------------------------------------------

class Matcher:
    """Matches one statement's credits; reads the open invoices once, and sees each
    payment it records (an invoice paid by one line owes nothing to the next)."""

    def __init__(self, session: Session, actor=None):
        self.session, self.actor = session, actor
        self._loaded = False
        self._accounts: dict[str, tuple | None] = {}

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.open = list(self.session.scalars(invoices.visible(self.actor).where(
            Invoice.kind.in_(invoices.PAYABLE), Invoice.status.in_(invoices.OPEN))))
        self.numbered: dict[tuple, list[Invoice]] = defaultdict(list)
        self.by_party: dict[tuple, list[Invoice]] = defaultdict(list)
        self.by_names: dict[frozenset, list[Invoice]] = defaultdict(list)
        self.nips: dict[str, list[Invoice]] = defaultdict(list)
        by_id = {i.id: i for i in self.open}
        for invoice in self.open:
            self.numbered[number_key(invoice.number or "")].append(invoice)
            self.by_party[_party(invoice)].append(invoice)
            words = frozenset(name_key((invoice.buyer or {}).get("name") or "").split())
            if words:
                self.by_names[words].append(invoice)
            nip = (invoice.buyer or {}).get("nip") or ""
            if nip:
                self.nips[nip].append(invoice)
        corrections = self.session.execute(
            invoices.visible(self.actor).with_only_columns(Invoice.number, Invoice.corrects_id)
            .where(Invoice.kind == "correction", Invoice.status.in_(invoices.SETTLED)))
        for number, corrected in corrections:
            if corrected in by_id:
                self.numbered[number_key(number or "")].append(by_id[corrected])
        self.numbered.pop((), None)
        self.closed = {number_key(number): number for number in self.session.scalars(
            invoices.visible(self.actor).with_only_columns(Invoice.number).where(
                Invoice.kind.in_(invoices.PAYABLE), Invoice.status == "paid",
                Invoice.number.is_not(None)))}
        self.lengths = sorted({len(k) for k in (*self.numbered, *self.closed) if k})
        # The numbers as written, glued: FV20260012 in a title that runs them together.
        self.compact = {_compact(i.number or ""): number_key(i.number or "")
                        for i in self.open}
        self.compact.pop("", None)
        self.name_index: dict[str, set[frozenset]] = defaultdict(set)
        for words in self.by_names:
            for word in words:
                self.name_index[word].add(words)

    # What the line says

    def named(self, title: str) -> tuple[list[Invoice], list[str]]:
        """The open invoices the title names (oldest first), and the numbers it names
        of paid ones."""
        self._load()
        tokens = _tokens(title)
        keys = []
        for length in self.lengths:
            keys += [tuple(tokens[i:i + length]) for i in range(len(tokens) - length + 1)]
        compact = _compact(title)
        for glued, key in self.compact.items():
            at = compact.find(glued)
            # FV20260012 glued together; FV2026/00123 is another number.
            if at >= 0 and not compact[at + len(glued):at + len(glued) + 1].isdigit():
                keys.append(key)
        found, closed = [], []
        for key in keys:
            for invoice in self.numbered.get(key, ()):
                if invoice not in found:
                    found.append(invoice)
            if key in self.closed and self.closed[key] not in closed:
                closed.append(self.closed[key])
        return _by_due(found), closed

    def by_account(self, account: str) -> tuple | None:
        """The organisation or person whose account this is: an IBAN custom field, or
        the payer of earlier payments from it."""
        if not account:
            return None
        if account not in self._accounts:
            self._accounts[account] = self._account_owner(account)
        return self._accounts[account]

    def _account_owner(self, account: str) -> tuple | None:
        owners = set()
        for model, record_type in ((Organisation, "organisation"), (Person, "person")):
            for definition in custom_fields.definitions(self.session, record_type):
                if definition.type != "iban":
                    continue
                for record_id in self.session.scalars(
                        records.visible(model, self.actor).with_only_columns(model.id)
                        .where(CustomValue(model.custom, definition.key, "text") == account)
                        .limit(2)):
                    owners.add((record_id, None) if model is Organisation else (None, record_id))
        if len(owners) == 1:
            return owners.pop()
        if owners:
            return None  # one account on several cards: the account says nothing
        earlier = self.session.execute(
            select(BankStatementLine.organisation_id, BankStatementLine.person_id)
            .where(BankStatementLine.account == account,
                   BankStatementLine.status.in_(("matched", "recorded")),
                   or_(BankStatementLine.organisation_id.is_not(None),
                       BankStatementLine.person_id.is_not(None)))
            .order_by(BankStatementLine.id.desc()).limit(1)).first()
        if earlier is None or not self._may_see(tuple(earlier)):
            return None
        return tuple(earlier)

    def _may_see(self, party: tuple) -> bool:
        organisation_id, person_id = party
        model, record_id = (Organisation, organisation_id) if organisation_id else \
            (Person, person_id)
        return records.get(self.session, model, record_id, self.actor) is not None

    def by_nip(self, title: str) -> tuple | None:
        """The client whose NIP the title gives."""
        self._load()
        for found in _NIP.findall(title or ""):
            nip = re.sub(r"\D", "", found)
            if not stdnum_nip.is_valid(nip):
                continue
            parties = {_party(i) for i in self.nips.get(nip, ())}
            if not parties:
                parties = {(i, None) for i in self.session.scalars(
                    records.visible(Organisation, self.actor)
                    .with_only_columns(Organisation.id)
                    .where(Organisation.nip == nip, Organisation.merged_into_id.is_(None))
                    .limit(2))}
            if len(parties) == 1:
                return parties.pop()
        return None

    def by_name(self, payer: str) -> tuple | None:
        """The client whose name the payer's name holds: the buyer of an open invoice
        (the longest name that fits), else an organisation of that very name."""
        self._load()
        words = set(name_key(payer).split())
        if not words:
            return None
        fitting = [names for word in words for names in self.name_index.get(word, ())
                   if names <= words and (len(names) >= 2 or names == words)]
        if fitting:
            longest = max(len(n) for n in fitting)
            parties = {_party(i) for names in fitting if len(names) == longest
                       for i in self.by_names[names]}
            if len(parties) == 1:
                return parties.pop()
            return None
        ids = list(self.session.scalars(
            records.visible(Organisation, self.actor).with_only_columns(Organisation.id)
            .where(Organisation.name_key == name_key(payer),
                   Organisation.merged_into_id.is_(None)).limit(2)))
        return (ids[0], None) if len(ids) == 1 else None

    def owing(self, currency: str, party: tuple | None = None) -> list[Invoice]:
        """Open invoices in ``currency`` still owing something (of ``party``)."""
        self._load()
        found = self.by_party.get(party, ()) if party is not None else self.open
        return _by_due([i for i in found if _owes(i, currency)])

    # Deciding

    def match(self, line: BankStatementLine) -> None:
        """Match one credit: record and allocate its payment when sure, else say what
        it might pay (``suggested``) or that nothing fits (``unmatched``)."""
        self._load()
        account_party = self.by_account(line.account)
        named, closed = self.named(line.title)
        named = [i for i in named if _owes(i, line.currency)]
        if named:
            self._by_number(line, named, account_party)
            return
        party, how = account_party, "account"
        if party is None:
            party, how = self.by_nip(line.title), "nip"
        if party is None:
            party, how = self.by_name(line.payer), "name"
        if party is not None:
            self._by_payer(line, party, how)
        else:
            exact = [i for i in self.owing(line.currency) if i.balance == line.amount]
            if len(exact) == 1:
                _suggest(line, exact, "amount_only")
            else:
                _unmatched(line, None, "number_closed" if closed else "nothing",
                           numbers=closed)

    def _by_number(self, line: BankStatementLine, named: list[Invoice],
                   account_party: tuple | None) -> None:
        parties = {_party(i) for i in named}
        total = sum((i.balance for i in named), Decimal(0))
        if account_party is not None and account_party not in parties:
            _suggest(line, named, "number_other_payer", party=account_party,
                     payer=_party_label(self.session, account_party))
        elif len(parties) > 1:
            _suggest(line, named, "number_other_buyers")
        elif len(named) > 1 and line.amount < total:
            _suggest(line, named, "numbers_short")
        else:
            reason = "number" if line.amount == total else \
                "number_partial" if line.amount < total else "number_over"
            settle(self.session, line, named, self.actor, reason,
                   rest=str(max(line.amount - total, Decimal(0))))

    def _by_payer(self, line: BankStatementLine, party: tuple, how: str) -> None:
        owed = self.owing(line.currency, party)
        exact = [i for i in owed if i.balance == line.amount]
        if len(exact) == 1:
            settle(self.session, line, exact, self.actor, "payer_amount", how=how)
        elif exact:
            _suggest(line, exact[:1], "payer_amounts", party=party, how=how,
                     numbers=[i.number for i in exact])
        elif len(owed) > 1 and sum(i.balance for i in owed) == line.amount:
            settle(self.session, line, owed, self.actor, "payer_all", how=how)
        elif len(owed) == 1:
            _suggest(line, owed, "payer_only_invoice", party=party, how=how,
                     owed=str(owed[0].balance))
        else:
            _unmatched(line, party, "payer_other_amount" if owed else "payer_nothing_owed",
                       how=how)


def _owes(invoice: Invoice, currency: str) -> bool:
    return invoice.status in invoices.OPEN and invoice.currency == currency \
        and invoice.balance > 0


def _details(targets: list[Invoice], **more) -> dict:
    found = {"invoice_ids": [i.id for i in targets], "numbers": [i.number for i in targets]}
    found.update({k: v for k, v in more.items() if v is not None})
    return found


def _suggest(line: BankStatementLine, targets: list[Invoice], reason: str,
             party: tuple | None = None, **details) -> None:
    parties = {_party(i) for i in targets}
    if party is None and len(parties) == 1:
        party = parties.pop()
    line.status, line.reason = "suggested", reason
    line.invoice_id = targets[0].id
    line.organisation_id, line.person_id = party or (None, None)
    line.details = _details(targets, **details)


def _unmatched(line: BankStatementLine, party: tuple | None, reason: str, **details) -> None:
    line.status, line.reason, line.invoice_id = "unmatched", reason, None
    line.organisation_id, line.person_id = party or (None, None)
    line.details = {k: v for k, v in details.items() if v}


def mark_duplicate(line: BankStatementLine, earlier) -> None:
    """``line`` is a transaction imported before, as the line (or payment) ``earlier``."""
    line.status, line.reason = "duplicate", "duplicate"
    if isinstance(earlier, Payment):
        line.payment_id = earlier.id
        line.organisation_id, line.person_id = _party(earlier)
        line.details = {"payment_id": earlier.id}
        return
    line.payment_id, line.invoice_id = earlier.payment_id, earlier.invoice_id
    line.organisation_id, line.person_id = _party(earlier)
    line.details = {"statement_id": earlier.statement_id, "line_id": earlier.id}


def _plan(amount: Decimal, targets: list[Invoice]) -> list[tuple[Invoice, Decimal]]:
    """How much goes to each invoice, in their order, while the money lasts."""
    left, plan = amount, []
    for invoice in targets:
        take = min(left, invoice.balance)
        if take <= 0:
            break
        plan.append((invoice, take))
        left -= take
    return plan


def payment_data(line: BankStatementLine) -> dict:
    """The payment a line becomes."""
    return {"received_on": line.booked_on.isoformat(), "amount": str(line.amount),
            "currency": line.currency, "payer": line.payer[:300], "title": line.title[:500],
            "source": "bank", "external_id": line.external_id}


def settle(session: Session, line: BankStatementLine, targets: list[Invoice], actor,
           reason: str, **details) -> bool:
    """Record the line's payment and allocate it to ``targets`` in their order; a
    refusal (another payment got there first) leaves it suggested, with why."""
    try:
        with session.begin_nested():
            payment = payments.record(session, payment_data(line), actor,
                                      allocate_to=_plan(line.amount, targets))
    except ValidationError as exc:
        _suggest(line, targets, "failed", error=next(iter(exc.errors.values()), ""))
        return False
    line.status, line.reason, line.payment_id = "matched", reason, payment.id
    line.invoice_id = targets[0].id
    line.organisation_id, line.person_id = _party(payment)
    line.details = _details(targets, **details)
    return True


# --- Review ------------------------------------------------------------------------------

def open_lines(statement_id: int | None = None):
    """Lines waiting for review (of one statement), in the order of the statements."""
    query = select(BankStatementLine).where(BankStatementLine.status.in_(OPEN_LINES))
    if statement_id is not None:
        query = query.where(BankStatementLine.statement_id == statement_id)
    return query.order_by(BankStatementLine.statement_id, BankStatementLine.position)


def get_line(session: Session, statement_id: int, line_id: int, actor=None
             ) -> BankStatementLine | None:
    invoices.require(session, actor)
    line = session.get(BankStatementLine, line_id)
    return line if line is not None and line.statement_id == statement_id else None


def confirm(session: Session, line: BankStatementLine, actor=None) -> BankStatementLine:
    """Pay the invoices a suggestion names."""
    _take(session, line, actor, ("suggested",))
    ids = line.details.get("invoice_ids") or [line.invoice_id]
    return _pay(session, line, _invoices(session, ids, actor), actor, "confirmed")


def pay(session: Session, line: BankStatementLine, invoice_ids: list[int], actor=None
        ) -> BankStatementLine:
    """Pay the invoices chosen on review, in their order, while the money lasts; what is
    left over stays on the payment."""
    _take(session, line, actor, ("suggested", "unmatched", "ignored"))
    if not invoice_ids:
        raise ValidationError({"invoice_id": _("Choose the invoice it pays.")})
    return _pay(session, line, _invoices(session, invoice_ids, actor), actor, "chosen")


def record(session: Session, line: BankStatementLine, actor=None,
           organisation_id: int | None = None, person_id: int | None = None
           ) -> BankStatementLine:
    """Record the line as a payment of the chosen payer (or of nobody yet), allocated to
    no invoice: the money is there, what it pays is decided later."""
    _take(session, line, actor, ("suggested", "unmatched", "ignored"))
    before = _state(line)
    payment = payments.record(session, {**payment_data(line), "organisation_id":
                                        organisation_id, "person_id": person_id}, actor)
    line.status, line.reason, line.payment_id, line.invoice_id = \
        "recorded", "recorded", payment.id, None
    line.organisation_id, line.person_id = _party(payment)
    line.details = {}
    return _decided(session, line, before, actor)


def ignore(session: Session, line: BankStatementLine, actor=None, note: str = ""
           ) -> BankStatementLine:
    """Not a payment of a client (a refund, money moved between one's own accounts)."""
    _take(session, line, actor, OPEN_LINES)
    before = _state(line)
    line.status, line.reason, line.note = "ignored", "ignored", (note or "").strip()[:2000]
    return _decided(session, line, before, actor)


def _take(session: Session, line: BankStatementLine, actor, allowed: tuple) -> None:
    """The line, locked and read afresh, if it may still be decided on: two people
    deciding on one line at once decide one after the other, and the second is told."""
    invoices.require(session, actor)
    invoices.lock(session, line)
    if line.status in allowed:
        return
    if line.status == "debit":
        message = _("This line is money going out: it is never a payment.")
    elif line.status == "duplicate":
        message = _("This line was imported before: decide on the line imported first.")
    else:
        message = _("This line is %(status)s already: nothing is left to decide.",
                    status=str(STATUS_LABELS[line.status]))
    raise ValidationError({"status": message})


def _invoices(session: Session, ids: list[int], actor) -> list[Invoice]:
    found = []
    for invoice_id in ids:
        invoice = invoices.get(session, invoice_id, actor) \
            if isinstance(invoice_id, int) and 0 < invoice_id <= MAX_ID else None
        if invoice is None:
            raise ValidationError({"invoice_id": _(
                "There is no such invoice, or you may not see it.")})
        if invoice.kind == "correction" and invoice.corrects_id is not None:
            invoice = invoices.get(session, invoice.corrects_id, actor) or invoice
        if invoice not in found:
            found.append(invoice)
    return found


def _pay(session: Session, line: BankStatementLine, targets: list[Invoice], actor,
         reason: str) -> BankStatementLine:
    for invoice in targets:
        if invoice.kind in invoices.PAYABLE and invoice.status in invoices.SETTLED \
                and invoice.balance <= 0:
            raise ValidationError({"invoice_id": _("%(number)s owes nothing.",
                                                   number=invoices.label(invoice))})
    before = _state(line)
    plan = _plan(line.amount, [i for i in targets if i.balance > 0]) or \
        [(targets[0], None)]  # lets the ledger say why it is not paid
    try:
        with session.begin_nested():
            payment = payments.record(session, payment_data(line), actor, allocate_to=plan)
    except ValidationError as exc:
        raise ValidationError({"invoice_id": next(iter(exc.errors.values()))}) from None
    line.status, line.reason, line.payment_id = "matched", reason, payment.id
    line.invoice_id = targets[0].id
    line.organisation_id, line.person_id = _party(payment)
    line.details = _details(targets)
    return _decided(session, line, before, actor)


def _state(line: BankStatementLine) -> dict:
    return {"status": line.status, "invoice_id": line.invoice_id,
            "payment_id": line.payment_id}


def _decided(session: Session, line: BankStatementLine, before: dict, actor
             ) -> BankStatementLine:
    line.decided_at, line.decided_by_id = utcnow(), getattr(actor, "id", None)
    session.flush()
    audit.write(session, line, "update", {k: (v, getattr(line, k)) for k, v in before.items()
                                          if getattr(line, k) != v}, actor,
                summary=f"{money(line.amount, line.currency)} {line.booked_on.isoformat()}")
    recount(session, session.get(BankStatement, line.statement_id))
    return line


def recount(session: Session, statement: BankStatement) -> dict:
    """The statement's counts of lines by status (and "lines"), written on it."""
    session.flush()
    found = dict(session.execute(
        select(BankStatementLine.status, func.count())
        .where(BankStatementLine.statement_id == statement.id)
        .group_by(BankStatementLine.status)).all())
    counts = {status: found.get(status, 0) for status in LINE_STATUSES}
    counts["lines"] = sum(counts.values())
    statement.counts = counts
    return counts


# --- What people read --------------------------------------------------------------------

def describe(line: BankStatementLine) -> str:
    """Why the line is what it is, in the reader's language."""
    text = REASONS.get(line.reason)
    if text is None:
        return ""
    details = line.details or {}
    numbers = [n for n in details.get("numbers") or [] if n]
    values = {
        "numbers": ", ".join(numbers) or "—",
        "how": str(HOW.get(details.get("how"), "")),
        "rest": money(Decimal(details.get("rest") or 0), line.currency),
        "owed": money(Decimal(details.get("owed") or 0), line.currency),
        "payer": details.get("payer") or "",
        "error": details.get("error") or "",
        "statement_id": details.get("statement_id") or "",
    }
    return str(text) % values


def _party_label(session: Session, party: tuple) -> str:
    organisation_id, person_id = party
    if organisation_id is not None:
        found = session.get(Organisation, organisation_id)
        return found.name if found is not None else ""
    found = session.get(Person, person_id)
    return found.full_name if found is not None else ""


def find_invoices(session: Session, text: str, actor=None, currency: str | None = None,
                  limit: int = 20) -> list[Invoice]:
    """Open invoices whose number or buyer (name, NIP) holds ``text``, oldest due first:
    "fv 2026 12" finds FV/2026/0012."""
    invoices.require(session, actor)
    text = (text or "").strip()
    query = invoices.visible(actor).where(Invoice.kind.in_(invoices.PAYABLE),
                                          Invoice.status.in_(invoices.OPEN))
    if currency:
        query = query.where(Invoice.currency == currency)
    if text:
        words = [w for w in re.split(r"[\s/\\\-_.,;:#]+", text) if w]
        spelled = "%" + "%".join(w.lstrip("0") or "0" if w.isdigit() else w
                                 for w in words) + "%"
        orgs = records.visible(Organisation, actor).with_only_columns(Organisation.id).where(
            or_(Organisation.name_key.like(f"%{name_key(text)}%") if name_key(text)
                else Organisation.id.is_(None),
                Organisation.nip == re.sub(r"\D", "", text) if re.sub(r"\D", "", text)
                else Organisation.id.is_(None)))
        people = records.visible(Person, actor).with_only_columns(Person.id).where(
            Person.name_key.like(f"%{name_key(text)}%") if name_key(text)
            else Person.id.is_(None))
        query = query.where(or_(Invoice.number.ilike(spelled),
                                Invoice.organisation_id.in_(orgs),
                                Invoice.person_id.in_(people)))
    return list(session.scalars(query.order_by(Invoice.due_date, Invoice.id).limit(limit)))


def find_payers(session: Session, text: str, actor=None, limit: int = 10) -> list:
    """Organisations and people whose name holds ``text``, for a payment of no invoice."""
    invoices.require(session, actor)
    key = name_key(text or "")
    if not key:
        return []
    found = list(session.scalars(records.visible(Organisation, actor).where(
        Organisation.name_key.like(f"%{key}%"), Organisation.merged_into_id.is_(None))
        .order_by(Organisation.name).limit(limit)))
    found += list(session.scalars(records.visible(Person, actor).where(
        Person.name_key.like(f"%{key}%"), Person.merged_into_id.is_(None))
        .order_by(Person.last_name, Person.first_name).limit(limit)))
    return found

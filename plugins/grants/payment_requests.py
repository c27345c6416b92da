"""The grant award, the grant agreement and its payment requests (GR-3).

An application reaches "awarded" only with the grant awarded (above zero, not above the
grant requested nor the project's value when they are filled in) and the day it was
awarded (``award_missing``). It reaches "agreement" only once the grant agreement is
filled in: its number and date, the project's start before its end, the advance and
the final payment together at most 100 % of the grant, the number of interim requests,
and every request it makes claiming at least 0,01 (``agreement_missing``); every field
missing is named by its label.

Entering "agreement" generates the payment requests (``generate``), once: a step taken
again keeps those there are. ``plan`` says what they are:

- the advance: awarded × advance %, rounded down to the grosz, due ``advance_days``
  after the agreement is signed (none when that is nothing, as at 0 %);
- the interim requests: what the advance and the final payment leave, split equally,
  rounded down to the grosz with the odd grosze on the last. The project's period is
  split into interim + 1 consecutive parts (by whole months when it is made of whole
  months and has enough of them, else by days); each interim request settles one part
  and is due ``submit_days`` after its end;
- the final one: awarded × final %, rounded down to the grosz, settling the last part,
  due ``submit_days`` after the project ends. Without interim requests it claims all
  the advance leaves, whatever the final %.

Rounding down leaves the remainder with the interim requests, so no part is ever
negative; the amounts always add up exactly to the grant awarded. The days are settings
of the ``grants.application`` process. Each deadline is also an all-day event in the
case owner's calendar (and so in their iCalendar feed), linked to the case and the
request, while the request is still to be submitted: submitting, cancelling or paying it
removes the event, and a rejected request given a new due date has it made again.

A request is then submitted to the grantor (on a day not in the future; submitted again
not before the day it was rejected), approved (for the amount requested or less, with a
note saying why), or rejected with a reason and submitted again, and finally paid (on a
day not before it was submitted). A planned or rejected request's amount and due date
may still be corrected (a new due date is reminded of afresh), or the request cancelled
with a reason: it stays listed, claims nothing and is no longer reminded. The grantor's
reason for a rejection, the note on an approval and the reason for a cancellation are
added to the request's notes as a dated line, below what the team wrote. The panel
shows any difference from the grant awarded. The application is "settled" only when
every request not cancelled is paid, and at least one is (``unpaid``). Whoever may see
the application sees its requests; whoever may change it changes them. Every change is
in the audit trail (through ``core.records``) and on the application's timeline.
``document`` makes the request's cover letter from ``TEMPLATE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar, documents, permissions, records, timeline, workflow
from core import fields as custom_fields
from core.config import Settings
from core.documents import Series, Template
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.filters import zone
from core.invoices import Number
from core.models import (
    AuditEntry,
    CalendarEvent,
    Case,
    Document,
    DocumentTemplate,
    EventLink,
    Organisation,
    User,
)
from core.templating import money
from core.terms import _locale, term, term_adj, upper_first
from core.validation import MAX_ID, load_collecting, max_length
from plugins.grants import applications
from plugins.grants import fields as grant_fields
from plugins.grants.models import Application, GrantCall, PaymentRequest

PROCESS = grant_fields.APPLICATION
# The phases in which an application has its payment requests.
WITH_REQUESTS = ("agreement", "settled", "durability", "closed")
OPEN = ("planned", "rejected")  # still to be submitted by the due date: reminded
CANCELLED_STATUS = "cancelled"  # stays listed; claims nothing and is not reminded
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
KIND_LABELS = {"advance": lazy_pgettext("payment request kind", "advance"),
               "interim": lazy_pgettext("payment request kind", "interim"),
               "final": lazy_pgettext("payment request kind", "final")}
# Polish forms per gender (see core.terms.agree), so that the word agrees with the term
# an installation calls payment requests by.
STATUS_LABELS = {"planned": lazy_pgettext("payment request status", "planned"),
                 "submitted": lazy_pgettext("payment request status", "submitted"),
                 "approved": lazy_pgettext("payment request status", "approved"),
                 "paid": lazy_pgettext("payment request status", "paid"),
                 "rejected": lazy_pgettext("payment request status", "rejected"),
                 "cancelled": lazy_pgettext("payment request status", "cancelled")}
STATUSES = tuple(STATUS_LABELS)
GENERATED, SUBMITTED, APPROVED, REJECTED, PAID, CHANGED, CANCELLED = (
    "grants.payment_requests_generated", "grants.payment_request_submitted",
    "grants.payment_request_approved", "grants.payment_request_rejected",
    "grants.payment_request_paid", "grants.payment_request_changed",
    "grants.payment_request_cancelled")
timeline.EVENT_LABELS.update({
    GENERATED: _l("Payment requests generated"), SUBMITTED: _l("Payment request submitted"),
    APPROVED: _l("Payment request approved"), REJECTED: _l("Payment request rejected"),
    PAID: _l("Payment request paid"), CHANGED: _l("Payment request changed"),
    CANCELLED: _l("Payment request cancelled")})
NOTES_MAX = 20000  # the team's notes with the dated lines of rejections and approvals


# --- Input -----------------------------------------------------------------------------------

def _amount(required: str | None = None, description: str = "") -> Number:
    return Number(2, required=required is not None, as_string=True,
                  validate=validate.Range(min=0, max=MAX_AMOUNT, error=_l(
                      "Enter an amount from 0 to 999 999 999 999,99.")),
                  error_messages={"required": required or "",
                                  "invalid": _l("Enter an amount, such as 12500,50."),
                                  "special": _l("Enter an amount, such as 12500,50.")},
                  metadata={"description": description})


def _day(required, description: str) -> fields.Date:
    return fields.Date(required=required is not None,
                       error_messages={"required": required or "",
                                       "invalid": _l("Enter a date, such as 2027-03-31.")},
                       metadata={"description": description})


class SubmissionSchema(Schema):
    submitted_on = _day(_l("Enter the day it was submitted."),
                        "The day it went to the grantor: today or earlier.")


class ApprovalSchema(Schema):
    approved_amount = _amount(description="What the grantor approved: at most the amount "
                                          "requested; left out, all of it.")
    notes = fields.String(load_default="", validate=max_length(2000), metadata={
        "description": "Why less was approved: required then; added to the request's notes "
                       "as a dated line."})


def _reason(required: str, description: str) -> fields.String:
    return fields.String(required=True, validate=max_length(2000),
                         error_messages={"required": required},
                         metadata={"description": description})


class RejectionSchema(Schema):
    reason = _reason(_l("Say why the grantor rejected it."),
                     "What the grantor objected to, to correct before the request is "
                     "submitted again: required; added to the notes as a dated line.")


class CancellationSchema(Schema):
    reason = _reason(_l("Say why it is cancelled."),
                     "Why the request will not be made (the agreement was amended, say): "
                     "required; added to the notes as a dated line.")


class PaymentSchema(Schema):
    paid_on = _day(_l("Enter the day it was paid."),
                   "The day the grant's money came: not in the future, not before the "
                   "request was submitted.")


class ChangeSchema(Schema):
    """A planned or rejected request's amount and due date; the notes at any time."""

    amount = _amount(_l("Enter the amount."), "What the request claims.")
    due_on = _day(_l("Enter the day it is due."), "To be submitted by this day.")
    notes = fields.String(validate=max_length(NOTES_MAX), metadata={
        "description": "Anything the team should know about the request, with the dated "
                       "lines of its rejections, approval and cancellation."})


# --- Reading ---------------------------------------------------------------------------------

application = applications.get  # the grant application the actor may see


def listed(session: Session, case: Case, actor=None) -> list[PaymentRequest]:
    """The application's payment requests, in the order they are due to be made."""
    _visible(session, case, actor)
    return _of(session, case)


def get(session: Session, request_id, actor=None) -> PaymentRequest | None:
    """The payment request, or None when there is none or ``actor`` may not see its
    application."""
    if not isinstance(request_id, int) or isinstance(request_id, bool) \
            or not 0 < request_id <= MAX_ID:
        return None
    found = session.get(PaymentRequest, request_id)
    if found is None or found.deleted_at is not None:
        return None
    return found if application(session, found.case_id, actor) is not None else None


def may_change(session: Session, actor, case: Case) -> bool:
    try:
        _require_change(session, case, actor)
    except Forbidden:
        return False
    return True


def agreement_signed(case: Case) -> bool:
    """Whether the application is at or past its grant agreement, where its payment
    requests are."""
    return case.process_key == PROCESS and case.phase_key in WITH_REQUESTS


def kind_name(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def status_name(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return term_adj("grants.payment_request", label) if label is not None else status


def label(found: PaymentRequest) -> str:
    """"Payment request no. 2 (interim)", as the timeline and the calendar say it."""
    return upper_first(_("%(what)s no. %(number)d (%(kind)s)",
                         what=term("grants.payment_request"), number=found.position,
                         kind=kind_name(found.kind)))


def days_left(found: PaymentRequest, today: date | None = None) -> int | None:
    """Days to the due date while the request is still to be submitted; below zero once
    it has passed; None once it is with the grantor or cancelled."""
    if found.status not in OPEN:
        return None
    return (found.due_on - (today or local_today())).days


def awarded(case: Case) -> Decimal | None:
    """The grant awarded on the application, or None when it is not filled in."""
    return _money((case.custom or {}).get(grant_fields.AWARDED))


def currency(case: Case) -> str:
    """The currency of the grant awarded; PLN unless the field says otherwise."""
    value = (case.custom or {}).get(grant_fields.AWARDED)
    found = value.get("currency") if isinstance(value, dict) else None
    return found or "PLN"


@dataclass
class Totals:
    """The requests' amounts against the grant awarded."""

    requested: Decimal
    awarded: Decimal | None
    paid: Decimal

    @property
    def difference(self) -> Decimal | None:
        """What the requests claim above (positive) or below the grant awarded."""
        return None if self.awarded is None else self.requested - self.awarded


def totals(case: Case, found: list[PaymentRequest]) -> Totals:
    """A cancelled request claims nothing: it is left out."""
    paid = [r.approved_amount if r.approved_amount is not None else r.amount
            for r in found if r.status == "paid"]
    counted = [r.amount for r in found if r.status != CANCELLED_STATUS]
    return Totals(sum(counted, Decimal(0)), awarded(case), sum(paid, Decimal(0)))


# --- The checks of the process ---------------------------------------------------------------

def award_missing(session: Session, case: Case) -> str | None:
    """The check of the step to "awarded"."""
    custom = case.custom or {}
    granted = _money(custom.get(grant_fields.AWARDED))
    missing = [key for key, value in ((grant_fields.AWARDED, granted),
                                      (grant_fields.AWARDED_ON,
                                       _date(custom.get(grant_fields.AWARDED_ON))))
               if value is None]
    reasons = [_fill_in(session, missing)] if missing else []
    if granted is not None and granted <= 0:
        reasons.append(_("%(field)s must be more than zero.",
                         field=_label(session, grant_fields.AWARDED)))
    for limit in (grant_fields.REQUESTED, grant_fields.PROJECT_VALUE):
        bound = _money(custom.get(limit))
        if granted is not None and bound is not None and granted > bound:
            reasons.append(_("%(field)s (%(amount)s) may not exceed %(limit)s (%(bound)s).",
                             field=_label(session, grant_fields.AWARDED),
                             amount=money(granted, currency(case)),
                             limit=_label(session, limit), bound=money(bound, currency(case))))
    return " ".join(reasons) or None


AGREEMENT_FIELDS = (grant_fields.AWARDED, grant_fields.AGREEMENT_NUMBER,
                    grant_fields.AGREEMENT_DATE, grant_fields.PROJECT_START,
                    grant_fields.PROJECT_END, grant_fields.ADVANCE_PERCENT,
                    grant_fields.INTERIM_REQUESTS, grant_fields.FINAL_PERCENT)


def agreement_missing(session: Session, case: Case) -> str | None:
    """The check of the step to "agreement": what the payment requests are made of."""
    terms = _agreement(case)
    missing = [key for key in AGREEMENT_FIELDS if terms[key] is None]
    reasons = [_fill_in(session, missing)] if missing else []
    reasons += _agreement_problems(session, terms)
    reasons += _amount_problems(session, terms, currency(case))
    return " ".join(reasons) or None


def unpaid(session: Session, case: Case) -> str | None:
    """The check of the step to "settled": every payment request not cancelled paid,
    and at least one."""
    every = _of(session, case)
    if not every:
        return _("There are no %(what)s to settle yet.",
                 what=term("grants.payment_request", case="gen", plural=True))
    found = [r for r in every if r.status != CANCELLED_STATUS]
    if not found:
        return _("All the %(what)s are cancelled: nothing paid to settle.",
                 what=term("grants.payment_request", plural=True))
    waiting = [r for r in found if r.status != "paid"]
    if not waiting:
        return None
    return _("%(what)s not paid yet: %(num)d of %(total)d.",
             what=upper_first(term("grants.payment_request", plural=True)),
             num=len(waiting), total=len(found))


def _agreement(case: Case) -> dict:
    """The agreement's values as numbers and dates; None for each not (well) filled in."""
    custom = case.custom or {}
    interim = custom.get(grant_fields.INTERIM_REQUESTS)
    return {
        grant_fields.AWARDED: _money(custom.get(grant_fields.AWARDED)),
        grant_fields.AGREEMENT_NUMBER: str(custom.get(grant_fields.AGREEMENT_NUMBER)
                                           or "").strip() or None,
        grant_fields.AGREEMENT_DATE: _date(custom.get(grant_fields.AGREEMENT_DATE)),
        grant_fields.PROJECT_START: _date(custom.get(grant_fields.PROJECT_START)),
        grant_fields.PROJECT_END: _date(custom.get(grant_fields.PROJECT_END)),
        grant_fields.ADVANCE_PERCENT: _number(custom.get(grant_fields.ADVANCE_PERCENT)),
        grant_fields.INTERIM_REQUESTS: interim if isinstance(interim, int)
        and not isinstance(interim, bool) else None,
        grant_fields.FINAL_PERCENT: _number(custom.get(grant_fields.FINAL_PERCENT)),
    }


def _agreement_problems(session: Session, terms: dict) -> list[str]:
    found = []
    granted = terms[grant_fields.AWARDED]
    if granted is not None and granted <= 0:
        found.append(_("%(field)s must be more than zero.",
                       field=_label(session, grant_fields.AWARDED)))
    start, end = terms[grant_fields.PROJECT_START], terms[grant_fields.PROJECT_END]
    if start is not None and end is not None and start >= end:
        found.append(_("%(start)s must be before %(end)s.",
                       start=_label(session, grant_fields.PROJECT_START),
                       end=_label(session, grant_fields.PROJECT_END)))
    for key in (grant_fields.ADVANCE_PERCENT, grant_fields.FINAL_PERCENT,
                grant_fields.INTERIM_REQUESTS):
        if terms[key] is not None and terms[key] < 0:
            found.append(_("%(field)s cannot be negative.", field=_label(session, key)))
    advance, final = terms[grant_fields.ADVANCE_PERCENT], terms[grant_fields.FINAL_PERCENT]
    if advance is not None and final is not None and advance + final > 100:
        found.append(_("%(advance)s and %(final)s add up to more than 100 (%(sum)s).",
                       advance=_label(session, grant_fields.ADVANCE_PERCENT),
                       final=_label(session, grant_fields.FINAL_PERCENT),
                       sum=_plain(advance + final)))
    interim = terms[grant_fields.INTERIM_REQUESTS]
    if start is not None and end is not None and start < end and interim is not None \
            and interim >= 0 and (end - start).days + 1 < interim + 1:
        found.append(_("The project lasts %(days)d days: too short to split among "
                       "%(parts)d %(what)s.", days=(end - start).days + 1, parts=interim + 1,
                       what=term("grants.payment_request", case="acc", count=interim + 1)))
    return found


def _amount_problems(session: Session, terms: dict, in_currency: str) -> list[str]:
    """Every request the agreement makes claims at least 0,01 (checked once the amounts
    can be worked out at all)."""
    granted, interim = terms[grant_fields.AWARDED], terms[grant_fields.INTERIM_REQUESTS]
    advance, final = terms[grant_fields.ADVANCE_PERCENT], terms[grant_fields.FINAL_PERCENT]
    if None in (granted, interim, advance, final) or granted <= 0 or interim < 0 \
            or advance < 0 or final < 0 or advance + final > 100:
        return []
    _advance, interims, last = amounts(granted, advance, final, interim)
    least, found = money(CENT, in_currency), []
    if interims and interims[0] < CENT:
        found.append(_("%(advance)s and %(final)s leave %(rest)s for %(num)d interim "
                       "%(what)s: less than %(least)s each.",
                       advance=_label(session, grant_fields.ADVANCE_PERCENT),
                       final=_label(session, grant_fields.FINAL_PERCENT),
                       rest=money(sum(interims, Decimal(0)), in_currency), num=interim,
                       what=term("grants.payment_request", count=interim), least=least))
    if last < CENT and interim:
        found.append(_("%(field)s gives the final %(what)s less than %(least)s.",
                       field=_label(session, grant_fields.FINAL_PERCENT),
                       what=term("grants.payment_request"), least=least))
    elif last < CENT:
        found.append(_("%(field)s leaves less than %(least)s for the final %(what)s.",
                       field=_label(session, grant_fields.ADVANCE_PERCENT),
                       what=term("grants.payment_request"), least=least))
    return found


def _fill_in(session: Session, keys: list[str]) -> str:
    return _("Fill in: %(fields)s.", fields=", ".join(_label(session, k) for k in keys))


def _label(session: Session, key: str) -> str:
    """The field's label as the installation names it (an administrator may rename it)."""
    found = custom_fields.definition(session, "case", key)
    if found is not None:
        return found.label(_locale())
    shipped = next(f for f in grant_fields.FIELDS if f.key == key)
    return workflow.localised(shipped.label)


# --- Generating ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """One payment request the agreement makes."""

    kind: str
    amount: Decimal
    period_start: date | None
    period_end: date | None
    due_on: date


def plan(session: Session, case: Case) -> list[Planned]:
    """The payment requests the application's agreement makes, in order; a
    ValidationError (``agreement``) when it is not filled in well enough."""
    from plugins.grants.process import APPLICATION

    reason = agreement_missing(session, case)
    if reason:
        raise ValidationError({"agreement": reason})
    terms = _agreement(case)
    values = workflow.settings(session, APPLICATION)
    interim = terms[grant_fields.INTERIM_REQUESTS]
    advance, interims, final = amounts(
        terms[grant_fields.AWARDED], terms[grant_fields.ADVANCE_PERCENT],
        terms[grant_fields.FINAL_PERCENT], interim)
    parts = split(terms[grant_fields.PROJECT_START], terms[grant_fields.PROJECT_END],
                  interim + 1)
    submit = timedelta(days=int(values["submit_days"]))
    found = []
    if advance > 0:
        found.append(Planned("advance", advance, None, None, terms[grant_fields.AGREEMENT_DATE]
                             + timedelta(days=int(values["advance_days"]))))
    for (start, end), amount in zip(parts, interims, strict=False):
        found.append(Planned("interim", amount, start, end, end + submit))
    start, end = parts[-1]
    found.append(Planned("final", final, start, end, end + submit))
    return found


def amounts(granted: Decimal, advance_percent: Decimal, final_percent: Decimal,
            interim: int) -> tuple[Decimal, list[Decimal], Decimal]:
    """The advance, the interim requests' and the final one's amounts: the advance and
    the final share rounded down to the grosz, so that what they leave is never negative,
    split equally over the interim requests (the last taking the odd grosze). Without
    interim requests the final one takes all the advance leaves. They add up exactly to
    ``granted``; ``agreement_missing`` refuses an agreement leaving any of them at zero."""
    advance = _share(granted, advance_percent)
    if not interim:
        return advance, [], granted - advance
    final = _share(granted, final_percent)
    return advance, _equal(granted - advance - final, interim), final


def split(start: date, end: date, count: int) -> list[tuple[date, date]]:
    """The period from ``start`` to ``end`` (both included) in ``count`` consecutive
    parts: by whole months when it is made of at least ``count`` of them, else by days."""
    months = _whole_months(start, end)
    if months is not None and months >= count:
        bounds = [_add_months(start, months * i // count) for i in range(count + 1)]
    else:
        days = (end - start).days + 1
        bounds = [start + timedelta(days=days * i // count) for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - timedelta(days=1)) for i in range(count)]


def generate(session: Session, case: Case, actor=None) -> list[PaymentRequest]:
    """The action of the step to "agreement": the payment requests of the agreement,
    each deadline in the owner's calendar, and the event on the timeline. A step taken
    again keeps the requests there are."""
    existing = _of(session, case)
    if existing:
        return existing
    made = [records.create(session, PaymentRequest(
        case_id=case.id, position=n, kind=p.kind, amount=p.amount,
        period_start=p.period_start, period_end=p.period_end, due_on=p.due_on,
        status="planned"), actor) for n, p in enumerate(plan(session, case), start=1)]
    for found in made:
        _in_calendar(session, case, found, actor)
    total = sum((r.amount for r in made), Decimal(0))
    timeline.add(session, "system", upper_first(_(
        "%(what)s generated: %(num)d, %(total)s",
        what=term("grants.payment_request", plural=True), num=len(made),
        total=money(total, currency(case)))), workflow.about_case(session, case),
        body="\n".join(describe(r, currency(case)) for r in made), actor=actor,
        event=GENERATED, data={"case_id": case.id, "ids": [r.id for r in made]})
    return made


def describe(found: PaymentRequest, in_currency: str = "PLN") -> str:
    """One request in a line: what, how much, for which period, by when."""
    period = _("for %(start)s – %(end)s", start=_day_text(found.period_start),
               end=_day_text(found.period_end)) if found.period_start else ""
    return " ".join(part for part in (
        f"{label(found)}: {money(found.amount, in_currency)}", period,
        _("due on %(date)s", date=_day_text(found.due_on))) if part)


# --- Status changes --------------------------------------------------------------------------

def submit(session: Session, found: PaymentRequest, data: dict, actor=None,
           expected_version: int | None = None) -> PaymentRequest:
    """Submitted to the grantor on ``data["submitted_on"]`` (a rejected one again, not
    before the day it was rejected); its deadline leaves the calendar."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(SubmissionSchema(), _given(data))
    day = values.get("submitted_on")
    again = _resubmittable_from(session, found)
    if day is not None and day > local_today():
        errors["submitted_on"] = _("The day it was submitted cannot be in the future.")
    elif day is not None and again is not None and day < again:
        errors["submitted_on"] = _("It cannot be submitted again before it was rejected "
                                   "(%(date)s).", date=_day_text(again))
    if found.status == CANCELLED_STATUS:
        errors["status"] = upper_first(_(
            "The %(what)s is %(status)s: it cannot be submitted any more.",
            what=term("grants.payment_request"), status=status_name(found.status)))
    elif found.status not in OPEN:
        errors["status"] = _already(found, status_name("submitted"))
    _raise(errors)
    records.update(session, found, {"status": "submitted", "submitted_on": day,
                                    "approved_amount": None, "paid_on": None},
                   actor, expected_version)
    _off_calendar(session, found)
    _on_timeline(session, case, found, SUBMITTED, _("%(what)s submitted on %(date)s"),
                 day, "", actor)
    return found


def approve(session: Session, found: PaymentRequest, data: dict, actor=None,
            expected_version: int | None = None) -> PaymentRequest:
    """The grantor approved ``data["approved_amount"]`` (all of it when left out): at
    most the amount requested; less only with ``data["notes"]`` saying why, which is
    added to the request's notes as a dated line."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(ApprovalSchema(), _given(data))
    amount = found.amount  # all of it, unless the grantor cut it
    if values.get("approved_amount") is not None:
        amount = Decimal(values["approved_amount"])
    elif "approved_amount" in errors:
        amount = None
    note = (values.get("notes") or "").strip()
    if amount is not None and amount > found.amount:
        errors["approved_amount"] = _("At most the amount requested: %(amount)s.",
                                      amount=money(found.amount, currency(case)))
    elif amount is not None and amount < found.amount and not note and "notes" not in errors:
        errors["notes"] = _("Say why less than requested was approved.")
    if found.status != "submitted":
        errors["status"] = _not_submitted(found)
    _raise(errors)
    line = _("Approved on %(date)s: %(text)s", date=_day_text(local_today()), text=note)
    records.update(session, found, {"status": "approved", "approved_amount": amount,
                                    **({"notes": _noted(found, line)} if note else {})},
                   actor, expected_version)
    body = _("%(approved)s of %(requested)s requested.", approved=money(amount, currency(case)),
             requested=money(found.amount, currency(case))) if amount < found.amount else ""
    _on_timeline(session, case, found, APPROVED, _("%(what)s approved: %(amount)s"),
                 None, "\n".join(part for part in (body, note) if part), actor,
                 amount=money(amount, currency(case)))
    return found


def reject(session: Session, found: PaymentRequest, data: dict, actor=None,
           expected_version: int | None = None) -> PaymentRequest:
    """The grantor rejected the request for ``data["reason"]``, added to its notes as a
    dated line: it is corrected (its amount and due date may change again) and submitted
    again."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(RejectionSchema(), _given(data))
    reason = _required_reason(values, errors, _("Say why the grantor rejected it."))
    if found.status != "submitted":
        errors["status"] = _not_submitted(found)
    _raise(errors)
    line = _("Rejected on %(date)s: %(text)s", date=_day_text(local_today()), text=reason)
    records.update(session, found, {"status": "rejected", "notes": _noted(found, line),
                                    "approved_amount": None}, actor, expected_version)
    _on_timeline(session, case, found, REJECTED, _("%(what)s rejected"), None, reason, actor)
    return found


def cancel(session: Session, found: PaymentRequest, data: dict, actor=None,
           expected_version: int | None = None) -> PaymentRequest:
    """A planned or rejected request that will not be made, for ``data["reason"]`` (added
    to its notes as a dated line): it stays listed but claims nothing, is no longer
    reminded, and its deadline leaves the calendar."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(CancellationSchema(), _given(data))
    reason = _required_reason(values, errors, _("Say why it is cancelled."))
    if found.status not in OPEN:
        errors["status"] = _("Only a planned or rejected %(what)s can be cancelled; this one "
                             "is %(status)s.", what=term("grants.payment_request"),
                             status=status_name(found.status))
    _raise(errors)
    line = _("Cancelled on %(date)s: %(text)s", date=_day_text(local_today()), text=reason)
    records.update(session, found, {"status": CANCELLED_STATUS, "notes": _noted(found, line)},
                   actor, expected_version)
    _off_calendar(session, found)
    _on_timeline(session, case, found, CANCELLED, _("%(what)s cancelled"), None, reason,
                 actor)
    return found


def pay(session: Session, found: PaymentRequest, data: dict, actor=None,
        expected_version: int | None = None) -> PaymentRequest:
    """The grant's money for an approved request came on ``data["paid_on"]``."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(PaymentSchema(), _given(data))
    day = values.get("paid_on")
    if day is not None and day > local_today():
        errors["paid_on"] = _("The day it was paid cannot be in the future.")
    elif day is not None and found.submitted_on is not None and day < found.submitted_on:
        errors["paid_on"] = _("It cannot be paid before it was submitted (%(date)s).",
                              date=_day_text(found.submitted_on))
    if found.status != "approved":
        errors["status"] = _("Only an approved %(what)s can be paid; this one is %(status)s.",
                             what=term("grants.payment_request"),
                             status=status_name(found.status))
    _raise(errors)
    records.update(session, found, {"status": "paid", "paid_on": day}, actor,
                   expected_version)
    _off_calendar(session, found)  # gone at its submission; a row from before, now
    _on_timeline(session, case, found, PAID, _("%(what)s paid on %(date)s: %(amount)s"), day,
                 "", actor, amount=money(found.approved_amount, currency(case)))
    return found


def change(session: Session, found: PaymentRequest, data: dict, actor=None,
           expected_version: int | None = None) -> PaymentRequest:
    """Correct a planned or rejected request's ``amount`` and ``due_on``; ``notes`` at any
    time. A new due date is reminded of afresh, and a rejected request's deadline comes
    back to the calendar. The requests may then add up to more or less than the grant
    awarded: the panel says so."""
    case = _changeable(session, found, actor)
    values, errors = load_collecting(ChangeSchema(), _given(data, keep=("notes",)),
                                     partial=True)
    for key in ("amount", "due_on"):  # given empty: not "unchanged" but missing
        if isinstance(data, dict) and key in data and data[key] in ("", None):
            errors[key] = str(ChangeSchema().fields[key].error_messages["required"])
    if values.get("amount") is not None:
        values["amount"] = Decimal(values["amount"])
        if values["amount"] == 0:
            errors["amount"] = _("Enter more than zero: cancel a request that will not be "
                                 "made.")
    due = values.get("due_on")
    if due is not None and not calendar.YEARS[0] <= due.year <= calendar.YEARS[1]:
        errors["due_on"] = _("Give a year from %(first)d to %(last)d.",
                             first=calendar.YEARS[0], last=calendar.YEARS[1])
    moved = {k: v for k, v in values.items() if k in ("amount", "due_on")
             and v != getattr(found, k)}
    if moved and found.status not in OPEN:
        errors["status"] = _("Only a planned or rejected %(what)s can be changed; this one "
                             "is %(status)s.", what=term("grants.payment_request"),
                             status=status_name(found.status))
    _raise(errors)
    if "notes" in values:
        values["notes"] = values["notes"].strip()
    if "due_on" in moved:  # a new date is reminded of afresh
        values.update(reminded_on=None, escalated_on=None)
    before = describe(found, currency(case))
    records.update(session, found, values, actor, expected_version)
    if moved:
        _move_in_calendar(session, case, found, "due_on" in moved, actor)
        _on_timeline(session, case, found, CHANGED, _("%(what)s changed"), None,
                     f"{before}\n→ {describe(found, currency(case))}", actor)
    return found


# --- The cover letter ------------------------------------------------------------------------

def document(session: Session, host, settings: Settings, found: PaymentRequest, actor=None
             ) -> Document:
    """The request's cover letter to the grantor, made from ``TEMPLATE`` and kept on the
    application; the request remembers it (``document_id``). A cancelled one has none."""
    case = _changeable(session, found, actor)
    if found.status == CANCELLED_STATUS:
        raise ValidationError({"status": upper_first(_(
            "The %(what)s is %(status)s: it needs no cover letter.",
            what=term("grants.payment_request"), status=status_name(found.status)))})
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == TEMPLATE.key))
    if template is None or not template.active:
        raise ValidationError({"template": _(
            "The template “%(name)s” is switched off; an administrator can switch it on.",
            name=workflow.localised(TEMPLATE.name))})
    made = documents.generate(session, host, settings, template, case, actor,
                              extra={"payment_request": letter_data(session, found, actor)})
    records.update(session, found, {"document_id": made.id}, actor)
    return made


def letter_data(session: Session, found: PaymentRequest, actor=None) -> dict:
    """What the cover letter says of the request, the agreement and the grantor."""
    case = session.get(Case, found.case_id)
    terms = _agreement(case)
    call = session.scalar(select(GrantCall).join(Application, Application.call_id ==
                                                 GrantCall.id)
                          .where(Application.case_id == case.id))
    grantor = records.get(session, Organisation, call.grantor_id, actor) \
        if call is not None and call.grantor_id else None
    return {
        "id": found.id, "position": found.position, "kind": found.kind,
        "amount": found.amount, "currency": currency(case),
        "period_start": found.period_start, "period_end": found.period_end,
        "due_on": found.due_on, "status": found.status,
        "agreement_number": terms[grant_fields.AGREEMENT_NUMBER] or "",
        "agreement_date": terms[grant_fields.AGREEMENT_DATE],
        "awarded": terms[grant_fields.AWARDED],
        "call": {"title": call.title, "reference": call.reference,
                 "programme": call.programme} if call is not None else {},
        "grantor": {"name": grantor.name, "street": grantor.street,
                    "postal_code": grantor.postal_code, "city": grantor.city}
        if grantor is not None else {},
    }


# The cover letter: a whole page with the shared parts (core.documents.PARTIALS) and the
# common look (core/pdf.py). Without ``payment_request`` (the core's preview of a case)
# it still renders, with the request's details left to be filled in.
LETTER = """<style>
  :root { --accent: #2e7d32; --tint: #f1f8f2; }
</style>
{% set pr = payment_request if payment_request is defined else {} %}
{% set kinds = {"advance": "zaliczkowy", "interim": "pośredni", "final": "końcowy"} %}
{% set number = pr.agreement_number if pr
   else case.custom.get("grants_agreement_number", "") %}
{% set signed = day(pr.agreement_date) if pr and pr.agreement_date
   else case.custom.get("grants_agreement_date", "") %}
<div class="doc">
{% set title = term("grants.payment_request")|capitalize %}
{% if pr %}{% set subtitle = kinds.get(pr.kind, pr.kind) ~ ", nr " ~ pr.position %}{% endif %}
{% set dated = "Data" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Beneficjent" %}
    {% include "client.html" %}
  </td>
  <td>
    {% if pr and pr.grantor %}
    <div class="label">Do</div>
    <div class="party-name">{{ pr.grantor.name }}</div>
    {% if pr.grantor.street %}<div>{{ pr.grantor.street }}</div>{% endif %}
    {% if pr.grantor.postal_code or pr.grantor.city %}
    <div>{{ pr.grantor.postal_code }} {{ pr.grantor.city }}</div>
    {% endif %}
    {% endif %}
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>w imieniu Beneficjenta przekazujemy {{ term("grants.payment_request", "acc") }}
  {% if pr %}({{ kinds.get(pr.kind, pr.kind) }}){% endif %}
  w ramach projektu <strong>„{{ case.title }}”</strong>, realizowanego na podstawie
  {{ term("grants.agreement", "gen") }}{% if number %} nr {{ number }}{% endif %}
  {%- if signed %} z dnia {{ signed }}{% endif %}.</p>

<table class="facts">
  <tr><td class="key">Projekt</td><td><strong>{{ case.title }}</strong></td></tr>
  {% if pr and pr.call %}
  <tr><td class="key">{{ term("grants.call")|capitalize }}</td>
      <td>{{ pr.call.title }}
        {%- if pr.call.reference %} ({{ pr.call.reference }}){% endif %}</td></tr>
  {% endif %}
  {% if pr %}
  <tr><td class="key">Rodzaj wniosku</td><td class="cap">{{ kinds.get(pr.kind, pr.kind) }}</td></tr>
  {% if pr.period_start %}
  <tr><td class="key">Okres rozliczeniowy</td>
      <td>{{ day(pr.period_start) }} – {{ day(pr.period_end) }}</td></tr>
  {% endif %}
  <tr><td class="key">Wnioskowana kwota</td>
      <td><strong>{{ money(pr.amount, pr.currency) }}</strong></td></tr>
  <tr><td class="key">Termin złożenia</td><td>{{ day(pr.due_on) }}</td></tr>
  {% else %}
  <tr><td class="key">Rodzaj wniosku</td><td>—</td></tr>
  <tr><td class="key">Wnioskowana kwota</td><td>—</td></tr>
  {% endif %}
</table>
{% if pr %}
<div class="words">Słownie: {{ words(pr.amount, pr.currency) }}.</div>
{% endif %}

<p>Prosimy o zatwierdzenie wniosku i przekazanie środków na rachunek Beneficjenta
  wskazany w {{ term("grants.agreement", "loc") }}. Do wniosku dołączamy dokumenty
  potwierdzające poniesione wydatki i postęp realizacji projektu.</p>

<p style="margin-top: 6mm">W razie pytań pozostajemy do Państwa dyspozycji.</p>

{% set left %}{% if owner %}Przygotował(a): {{ owner.name }}{% endif %}{% endset %}
{% set right = "Podpis osoby upoważnionej do reprezentowania Beneficjenta" %}
{% include "signatures.html" %}
</div>
"""

TEMPLATE = Template(
    "grants.payment_request", "letter", "case",
    {"pl": "Pismo przewodnie wniosku o płatność", "en": "Payment request cover letter"},
    LETTER, series=Series("grants.payment_request", "Wnioski o płatność", "WoP/{year}/{seq:04}"),
    processes=(PROCESS,), needs=("payment_request",))


# --- Helpers ---------------------------------------------------------------------------------

def _of(session: Session, case: Case) -> list[PaymentRequest]:
    return list(session.scalars(select(PaymentRequest).where(
        PaymentRequest.case_id == case.id, PaymentRequest.deleted_at.is_(None))
        .order_by(PaymentRequest.position)))


def _visible(session: Session, case: Case, actor) -> None:
    applications.require_visible(session, case, actor, "grants.payment_request")


def _require_change(session: Session, case: Case, actor) -> None:
    """Changing a request is changing its application: the right to edit it."""
    try:
        permissions.require(session, actor, case, "edit", {})
    except Forbidden:
        raise Forbidden(_("You cannot change %(what)s: you may not change the "
                          "%(application)s.",
                          what=term("grants.payment_request", case="gen", plural=True),
                          application=term("grants.application", case="gen"))) from None


def _changeable(session: Session, found: PaymentRequest, actor) -> Case:
    case = application(session, found.case_id, actor)
    if case is None:
        raise Forbidden(_("You may not do this with this record."))
    _require_change(session, case, actor)
    return case


def _given(data, keep: tuple[str, ...] = ()) -> dict:
    """An empty form field is a missing value, so that its own message says what to
    enter (``keep``: fields whose empty value means "clear it")."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k in keep or v not in ("", None)}


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _required_reason(values: dict, errors: dict, message: str) -> str:
    """The reason given, trimmed; only spaces is no reason."""
    reason = (values.get("reason") or "").strip()
    if not reason and "reason" not in errors:
        errors["reason"] = message
    return reason


def _noted(found: PaymentRequest, line: str) -> str:
    """The request's notes with ``line`` below them: what the team wrote stays."""
    return "\n".join(part for part in ((found.notes or "").rstrip(), line) if part)


def _resubmittable_from(session: Session, found: PaymentRequest) -> date | None:
    """For a rejected request: the first day it may be submitted again, the day its
    rejection was recorded (from the audit trail), never before its first submission."""
    if found.status != "rejected":
        return None
    days = [found.submitted_on]
    trail = session.execute(select(AuditEntry.at, AuditEntry.changes).where(
        AuditEntry.record_type == PaymentRequest.record_type,
        AuditEntry.record_id == found.id).order_by(AuditEntry.id.desc()))
    for at, changes in trail:
        if (changes or {}).get("status", [None, None])[-1] == "rejected":
            days.append(at.astimezone(zone()).date())
            break
    days = [day for day in days if day is not None]
    return max(days) if days else None


def _already(found: PaymentRequest, what: str) -> str:
    return upper_first(_("The %(what)s was %(done)s already; now it is %(status)s.",
                         what=term("grants.payment_request"), done=what,
                         status=status_name(found.status)))


def _not_submitted(found: PaymentRequest) -> str:
    return upper_first(_("The %(what)s is %(status)s: only a submitted one is approved or "
                         "rejected.", what=term("grants.payment_request"),
                         status=status_name(found.status)))


def _on_timeline(session: Session, case: Case, found: PaymentRequest, event: str,
                 subject: str, day: date | None, body: str, actor, **extra) -> None:
    said = subject % {"what": label(found), "date": _day_text(day), **extra}
    timeline.add(session, "system", upper_first(said), workflow.about_case(session, case),
                 body=body, actor=actor, event=event,
                 data={"payment_request_id": found.id, "status": found.status})


def _in_calendar(session: Session, case: Case, found: PaymentRequest, actor) -> None:
    """The deadline as an all-day event of the case owner's (else the actor's): the
    system's copy, made by nobody, linked to the case and the request."""
    owner = session.get(User, case.owner_id) if case.owner_id else None
    who = owner if owner is not None and owner.active else actor
    attendees = [who] if isinstance(who, User) and who.kind == "staff" else []
    calendar.create_event(session, _event_data(case, found), attendees_users=attendees,
                          about=[case, found])


def _event_of(session: Session, found: PaymentRequest) -> CalendarEvent | None:
    """The request's deadline in the calendar, while it stands."""
    return session.scalar(select(CalendarEvent).join(EventLink).where(
        EventLink.record_type == PaymentRequest.record_type, EventLink.record_id == found.id,
        CalendarEvent.deleted_at.is_(None)))


def _move_in_calendar(session: Session, case: Case, found: PaymentRequest, due_moved: bool,
                      actor) -> None:
    """The event follows the request; a rejected one, whose event went at its submission,
    gets it again with a new due date."""
    event = _event_of(session, found)
    if event is not None:
        calendar.update_event(session, event, _event_data(case, found))
    elif due_moved and found.status in OPEN:
        _in_calendar(session, case, found, actor)


def _off_calendar(session: Session, found: PaymentRequest) -> None:
    """Submitted, cancelled or paid: the deadline no longer stands. Cancelled in the
    calendar, so that the feeds tell subscribers to drop it; the system's, as it made it."""
    event = _event_of(session, found)
    if event is not None:
        calendar.cancel_event(session, event)


def _event_data(case: Case, found: PaymentRequest) -> dict:
    return {"title": _("Due: %(what)s, %(case)s", what=label(found), case=case.title)[:300],
            "all_day": True, "starts_at": found.due_on, "ends_at": found.due_on,
            "description": describe(found, currency(case))}


def _share(amount: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of ``amount`` rounded down to the grosz: never more than its share."""
    return (amount * percent / 100).quantize(CENT, rounding=ROUND_DOWN)


def _equal(amount: Decimal, count: int) -> list[Decimal]:
    """``amount`` in ``count`` equal parts to the grosz, the remainder on the last."""
    if count <= 0:
        return []
    each = (amount / count).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (count - 1) + [amount - each * (count - 1)]


def _whole_months(start: date, end: date) -> int | None:
    """How many whole months the period is made of, or None when it is not."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return months if months > 0 and _add_months(start, months) == after else None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _money(value) -> Decimal | None:
    amount = value.get("amount") if isinstance(value, dict) else value
    found = _number(amount)
    return found.quantize(CENT) if found is not None else None


def _number(value) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _day_text(value: date | None) -> str:
    from flask_babel import format_date

    return format_date(value) if value is not None else ""

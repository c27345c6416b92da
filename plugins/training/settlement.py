"""What a settled training makes owed (TR-5, TR-9): one billable item per attendee, on
the unit that sent them, at the training's price on its day.

A training without a price is covered by the membership fee; one marked free for
members charges only the units without a membership contract (a recurring contract)
on the day. The core's aggregated settlement (``core.settlement``) then bills each unit
once for all its attendees of the period, a line per person and training; the items
are keyed by enrolment, so settling again bills nobody twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import billing
from core.models import BillableItem, Case, Contract
from core.tasks import local_zone
from core.terms import term
from plugins.training.models import Enrolment

SOURCE = "training.settlement"


def charge(session: Session, case: Case, actor=None) -> list[BillableItem]:
    """The items owed for the training's attendees (the step to "settled" runs this)."""
    price = _price(case)
    if price is None:
        return []
    day = day_of(case)
    rows = session.scalars(select(Enrolment).where(
        Enrolment.case_id == case.id, Enrolment.status == "attended")
        .order_by(Enrolment.id)).all()
    members = _members(session, {r.organisation_id for r in rows}, day) \
        if (case.custom or {}).get("training_members_free") else set()
    items = []
    for row in rows:
        if row.organisation_id in members:
            continue
        party = {"organisation_id": row.organisation_id} if row.organisation_id \
            else {"person_id": row.person_id}
        # The plugin raises what the move made owed, as a billing run would: the staff
        # settling a training need not issue invoices themselves.
        items.append(billing.add_item(session, {
            **party, "case_id": case.id, "people": [row.person_id],
            "description": f"{term('training.training').capitalize()}: {case.title}"[:500],
            "quantity": "1", "unit": "os.", "unit_price": str(price[0]),
            "currency": price[1], "vat_rate": "zw", "earned_on": day.isoformat(),
            "source": SOURCE, "reference": f"enrolment-{row.id}"}))
    return items


def day_of(case: Case) -> date:
    """The training's day in the installation's time zone (today if it has none)."""
    try:
        return datetime.fromisoformat(case.custom["training_starts_at"]) \
            .astimezone(local_zone()).date()
    except (KeyError, TypeError, ValueError):
        return date.today()


def _price(case: Case) -> tuple[Decimal, str] | None:
    value = (case.custom or {}).get("training_price")
    try:
        amount = Decimal(str(value["amount"]))
    except (KeyError, TypeError, InvalidOperation):
        return None
    return (amount, value.get("currency") or "PLN") if amount > 0 else None


def _members(session: Session, unit_ids: set, day: date) -> set[int]:
    """The units with a membership (a recurring contract) running on ``day``."""
    ids = {i for i in unit_ids if i is not None}
    if not ids:
        return set()
    return set(session.scalars(select(Contract.organisation_id).where(
        Contract.organisation_id.in_(ids), Contract.period_months.is_not(None),
        Contract.starts_on <= day,
        or_(Contract.ends_on.is_(None), Contract.ends_on >= day))))

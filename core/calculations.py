"""Calculations of cases: what a job is made of, what it costs and what the customer is
asked to pay (an installer's offer from its components, a printing house's calculation
of a project, an expert firm's estimate).

A calculation lists lines: an item of a price list (``core.price_lists``), whose name,
unit, net price (the line's cost) and VAT rate it takes unless the line says otherwise,
or a line of its own with its cost. Each line's net price to the customer is its cost
plus the calculation's mark-up (a percentage of the cost), unless the line gives its own
price. The totals are computed per VAT rate as on an invoice (``core.vat``).

A change is a new **version** (``number`` 1, 2, 3... within the case): the versions
before are kept, and those still open are superseded by it, so that what the customer
was offered stays on record. A version is a draft, then sent to the customer, who
accepts it or rejects it (with a reason). The case's amount and cost follow its latest
version (approvals given for other values stop counting), and a process can require
that the latest version is accepted before a step (``accepted_check``). Calculations
are in PLN, as price lists are. Writing needs ``core.calculate`` and the right to change
the case.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import approvals, audit, invoices, permissions, records, timeline, vat
from core.errors import Forbidden, ValidationError
from core.fieldtypes import Number
from core.models import Calculation, CalculationLine, Case, Invoice, PriceItem
from core.templating import money
from core.terms import term
from core.validation import an_id, load_collecting, max_length
from core.workflow import Check

PERMISSION = "core.calculate"
CURRENCY = "PLN"
PLACES = Decimal("0.0001")  # of a unit price
LIMIT = Decimal("1000000000000")  # no amount reaches a trillion: the columns' bound
OPEN = ("draft", "sent")
DECISIONS = {"sent": OPEN[:1], "accepted": OPEN, "rejected": OPEN}  # to: from
MAX_LINES = 500
RATES = ("23", "8", "5", "0", "zw", "np")
STATUS_LABELS = {"draft": lazy_pgettext("calculation status", "draft"),
                 "sent": lazy_pgettext("calculation status", "sent to the customer"),
                 "accepted": lazy_pgettext("calculation status", "accepted"),
                 "rejected": lazy_pgettext("calculation status", "rejected"),
                 "superseded": lazy_pgettext("calculation status", "superseded")}
timeline.EVENT_LABELS.update({"calculation_made": _l("Calculation made"),
                              "calculation_decided": _l("Calculation decided")})


class LineSchema(Schema):
    class Meta:
        unknown = RAISE

    price_item_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=an_id(),
                                   metadata={"description": "An item of a price list."})
    description = fields.String(load_default="", validate=max_length(500))
    category = fields.String(load_default="", validate=max_length(64))
    quantity = Number(4, required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=invoices.MAX_QUANTITY,
        error=_l("Enter a quantity above 0.")), error_messages={
        "required": _l("Enter the quantity."), "null": _l("Enter the quantity.")})
    unit = fields.String(load_default="", validate=max_length(20))
    unit_cost = Number(4, load_default=None, allow_none=True, validate=validate.Range(
        min=0, max=invoices.MAX_PRICE, error=_l("Enter a cost of 0 or more.")),
        metadata={"description": "Net cost per unit; the item's price unless given."})
    unit_price = Number(4, load_default=None, allow_none=True, validate=validate.Range(
        min=0, max=invoices.MAX_PRICE, error=_l("Enter a price of 0 or more.")),
        metadata={"description": "Net price per unit to the customer; the cost plus the "
                                 "mark-up unless given."})
    vat_rate = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        RATES, error=_l("Choose a VAT rate.")))


class CalculationSchema(Schema):
    class Meta:
        unknown = RAISE

    markup = Number(2, load_default=Decimal(0), validate=validate.Range(
        min=-100, max=1000, error=_l("Enter a mark-up from -100 to 1000%.")),
        metadata={"description": "Percent added to the cost of each line."})
    note = fields.String(load_default="", validate=max_length(5000))
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(
        min=1, max=MAX_LINES, error=_l("Give from 1 to 500 lines.")))


class DecisionSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(required=True, validate=validate.OneOf(
        list(DECISIONS), error=_l("Choose sent, accepted or rejected.")))
    reason = fields.String(load_default="", validate=max_length(2000))


# --------------------------------------------------------------------- reading


def of_case(session: Session, case: Case) -> list[Calculation]:
    """The case's calculations, the latest version first."""
    return list(session.scalars(select(Calculation).where(
        Calculation.case_id == case.id).order_by(Calculation.number.desc())))


def get(session: Session, calculation_id: int, actor=None) -> Calculation | None:
    """A calculation of a case ``actor`` may see."""
    found = session.get(Calculation, calculation_id)
    if found is None or records.get(session, Case, found.case_id, actor) is None:
        return None
    return found


def accepted(session: Session, case: Case) -> Calculation | None:
    """The latest version, if the customer accepted it: a newer version, even a draft,
    is what the customer has to accept now."""
    latest = session.scalar(select(Calculation).where(Calculation.case_id == case.id)
                            .order_by(Calculation.number.desc()).limit(1))
    return latest if latest is not None and latest.status == "accepted" else None


def accepted_check(key: str, title: dict[str, str], reason: dict[str, str],
                   optional: bool = False) -> Check:
    """A process's check that the case's latest calculation is accepted."""
    def test(session: Session, case: Case):
        return None if accepted(session, case) is not None else reason
    return Check(key, title, test, optional)


# --------------------------------------------------------------------- writing


def require(session: Session, actor, case: Case) -> None:
    if not permissions.can(actor, PERMISSION):
        raise Forbidden(_("You may not make calculations."))
    permissions.require(session, actor, case, "edit")


def create(session: Session, case: Case, data: dict, actor=None, approving=None
           ) -> Calculation:
    """A new version of the case's calculation; the open ones before are superseded.

    ``approving`` is the approval request whose approver corrects the prices before
    approving (``approvals.decide``): the request itself vouches for them, and it is
    kept while the amount changes."""
    if approving is None:
        require(session, actor, case)
    values, errors = load_collecting(CalculationSchema(), data)
    if "markup" in values and values["markup"] is None:  # typed blank
        errors["markup"] = _("Enter the mark-up; 0 for none.")
    if (case.currency or CURRENCY) != CURRENCY:
        errors["_"] = _("Calculations are in PLN, as the price lists are; this %(what)s "
                        "is in %(currency)s.", what=term("core.case"), currency=case.currency)
    lines = _lines(session, values, errors)  # every line's problems too, at once
    total, cost = _totals(lines)
    if not errors and (total.gross >= LIMIT or cost >= LIMIT):
        errors["lines"] = _("The calculation comes to more than the largest amount it holds.")
    if errors:
        raise ValidationError(errors)
    # One new version at a time per case: the second waits, then numbers after it.
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    number = (session.scalar(select(func.max(Calculation.number)).where(
        Calculation.case_id == case.id)) or 0) + 1
    for earlier in session.scalars(select(Calculation).where(
            Calculation.case_id == case.id, Calculation.status.in_(OPEN))):
        _set_status(session, case, earlier, "superseded", actor)
    calculation = Calculation(case_id=case.id, number=number, markup=values["markup"],
                              note=values["note"].strip(), lines=lines, cost=cost,
                              net=total.net, vat=total.vat, gross=total.gross,
                              created_by_id=getattr(actor, "id", None))
    session.add(calculation)
    try:
        session.flush()
    except IntegrityError:  # the same number taken at the same moment (SQLite)
        raise ValidationError({"_": _("Someone saved a version of this calculation at the "
                                      "same moment; look at it and try again.")}) from None
    audit.write(session, calculation, "create", {
        "number": (None, number), "markup": (None, calculation.markup),
        "gross": (None, calculation.gross)}, actor, summary=f"{case.title} #{number}")
    _follow(session, case, calculation, actor, keep=approving)
    _tell(session, case, calculation, "calculation_made", actor,
          _("Version %(number)d: %(gross)s", number=number,
            gross=money(calculation.gross, calculation.currency)))
    return calculation


def decide(session: Session, calculation: Calculation, data: dict, actor=None
           ) -> Calculation:
    """Sent to the customer, or the customer's answer: accepted, or rejected with why."""
    case = session.get(Case, calculation.case_id)
    require(session, actor, case)
    values, errors = load_collecting(DecisionSchema(), data)
    if not errors and calculation.status not in DECISIONS[values["status"]]:
        errors["status"] = _("This version was sent already.") \
            if calculation.status == values["status"] else _(
            "This version is %(status)s; only the latest open version is sent, accepted "
            "or rejected.", status=STATUS_LABELS[calculation.status])
    if not errors and values["status"] == "rejected" and not values["reason"].strip():
        errors["reason"] = _("Say why the customer rejected it.")
    if errors:
        raise ValidationError(errors)
    calculation.reason = values["reason"].strip()
    _set_status(session, case, calculation, values["status"], actor)
    _tell(session, case, calculation, "calculation_decided", actor,
          _("Version %(number)d: %(status)s", number=calculation.number,
            status=STATUS_LABELS[calculation.status]))
    return calculation


def invoice(session: Session, calculation: Calculation, actor=None) -> Invoice:
    """A draft invoice of the case's client with the version's lines at the customer's
    prices, for accounting to check and issue (billing's own rights apply)."""
    case = session.get(Case, calculation.case_id)
    if calculation.status in ("superseded", "rejected"):
        raise ValidationError({"calculation": _(
            "Only the latest version that was not rejected is invoiced.")})
    if session.scalar(select(Invoice.id).where(Invoice.case_id == case.id,
                                               Invoice.status == "draft").limit(1)):
        raise ValidationError({"calculation": _(
            "A draft invoice of this %(what)s is waiting already: issue or delete it first.",
            what=term("core.case", "gen"))})
    if case.organisation_id is not None:
        party = {"organisation_id": case.organisation_id}
    elif case.people:
        party = {"person_id": case.people[0].person_id}
    else:
        raise ValidationError({"organisation_id": _(
            "The %(what)s has no client to invoice.", what=term("core.case"))})
    return invoices.create(session, {**party, "case_id": case.id, "lines": [
        {"description": line.description, "quantity": str(line.quantity), "unit": line.unit,
         "unit_price": str(line.unit_price), "vat_rate": line.vat_rate}
        for line in calculation.lines]}, actor)


def _set_status(session: Session, case: Case, calculation: Calculation, status: str,
                actor) -> None:
    """A version's new status, written and audited; someone who changed it meanwhile
    wins, and this change is refused."""
    before, calculation.status = calculation.status, status
    calculation.updated_by_id = getattr(actor, "id", None)
    try:
        session.flush()
    except StaleDataError:
        raise ValidationError({"status": _(
            "Someone changed this version meanwhile; look at it again.")}) from None
    audit.write(session, calculation, "update", {"status": (before, status)}, actor,
                summary=f"{case.title} #{calculation.number}")


def priced(cost: Decimal, markup: Decimal) -> Decimal:
    """A unit price from its cost and the mark-up, to the price's four places (a
    printing house's piece costs fractions of a grosz)."""
    return (Decimal(cost) * (1 + Decimal(markup) / 100)).quantize(PLACES)


def _lines(session: Session, values: dict, errors: dict) -> list[CalculationLine]:
    given = [g if isinstance(g, dict) else {} for g in values.get("lines") or []]
    ids = {g.get("price_item_id") for g in given} - {None}
    found = {i.id: i for i in session.scalars(select(PriceItem).where(
        PriceItem.id.in_(ids), PriceItem.deleted_at.is_(None)))} if ids else {}
    markup = values.get("markup") or Decimal(0)
    made = [_line(n, g, found, markup, errors) for n, g in enumerate(given)]
    return [line for line in made if line is not None]


def _line(n: int, given: dict, found: dict, markup: Decimal, errors: dict
          ) -> CalculationLine | None:
    """A line as ``given`` (the fields that were valid) says it; None, with its
    problems in ``errors``, when it cannot be made."""
    path, item_id = f"lines.{n}", given.get("price_item_id")
    item = found.get(item_id)
    if item_id is not None and (item is None or not item.active):
        errors[f"{path}.price_item_id"] = _("Choose an item the price list still offers.")
        return None
    cost = given.get("unit_cost")
    cost = item.net_price if cost is None and item is not None else cost
    description = (given.get("description") or "").strip() or getattr(item, "name", "")
    if cost is None and f"{path}.unit_cost" not in errors:
        errors[f"{path}.unit_cost"] = _("Enter the cost, or choose an item of a price list.")
    if not description:
        errors[f"{path}.description"] = _("Describe the line, or choose an item.")
    if given.get("quantity") is None and f"{path}.quantity" not in errors:
        errors[f"{path}.quantity"] = _("Enter the quantity.")
    if cost is None or not description or given.get("quantity") is None or errors:
        return None
    rate = given.get("vat_rate") or getattr(item, "vat_rate", "23")
    price = given.get("unit_price")
    price = priced(cost, markup) if price is None else price
    amounts = vat.line_amounts(vat.Line(Decimal(given["quantity"]), Decimal(price), rate))
    if price >= LIMIT or amounts.gross >= LIMIT:
        errors[f"{path}.quantity"] = _("This line comes to more than the largest amount "
                                       "a calculation holds.")
        return None
    return CalculationLine(
        position=n + 1, price_item_id=item_id, description=description,
        category=(given.get("category") or "").strip() or getattr(item, "category", ""),
        quantity=given["quantity"], unit=(given.get("unit") or "").strip()
        or getattr(item, "unit", "szt."), unit_cost=cost, unit_price=price, vat_rate=rate,
        net=amounts.net, vat=amounts.vat, gross=amounts.gross)


def _totals(lines: list[CalculationLine]) -> tuple[vat.Amounts, Decimal]:
    """The totals per VAT rate, as on an invoice, and the cost."""
    rows = vat.summary(vat.Line(line.quantity, line.unit_price, line.vat_rate)
                       for line in lines)
    return vat.totals(rows), sum((vat.grosz(line.quantity * line.unit_cost)
                                  for line in lines), Decimal(0))


def _follow(session: Session, case: Case, calculation: Calculation, actor, keep=None
            ) -> None:
    """The case's amount and cost are those of its latest calculation; approvals given
    for other values stop counting (but ``keep``, being decided now)."""
    records.update(session, case, {"amount": calculation.net, "cost": calculation.cost,
                                   "currency": CURRENCY}, actor)
    approvals.supersede(session, case, keep=keep, actor=actor)


def _tell(session: Session, case: Case, calculation: Calculation, event: str, actor,
          subject: str) -> None:
    timeline.record_event(session, event, [case], subject=subject, actor=actor,
                          data={"calculation_id": calculation.id,
                                "number": calculation.number, "status": calculation.status})

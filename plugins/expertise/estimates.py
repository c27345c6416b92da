"""The department's estimate of an inquiry (EX-3, EX-4): experts' hours at their
rates, travel and materials, and the margin the offer is priced at.

The estimate names the experts who will prepare the opinion, each with their hours;
every one must be active, of the inquiry's specialisation, free of conflicts with the
client and the parties, and not absent on the deadline (``experts.obstacles``): a
refusal names the expert and why. The price is the cost plus a mark-up, given either
as the mark-up itself or as the margin wanted (the share of the price left after the
cost, as managers and the approval rule read it; the mark-up is rounded up so the
margin is never below the one asked for).

Saving writes the experts' hours and a new version of the case's calculation
(``core.calculations``): its lines say what the offer is made of, the case's amount and
cost follow it, and approvals given for the values before stop counting. An estimate
is made while the inquiry is routed, estimated or offered; making it needs
``core.calculate`` and the right to change the case.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calculations, records, vat
from core.errors import ValidationError
from core.fieldtypes import Number
from core.models import Calculation, Case
from core.terms import term
from core.validation import an_id, load_collecting, max_length
from plugins.expertise import experts, inquiries
from plugins.expertise.models import Assignment, Inquiry

PHASES = ("routed", "estimate", "offer")  # when an estimate may be made
MAX_EXPERTS = 20
MAX_HOURS = Decimal("10000")
MAX_COST = Decimal("100000000")
MAX_MARKUP = Decimal("1000")  # what a calculation holds
MAX_MARGIN = Decimal("90.90")  # m / (100 - m) rounded up stays within 1000%
VAT = "23"


class ExpertHoursSchema(Schema):
    expert_id = fields.Integer(required=True, strict=False, validate=an_id(), error_messages={
        "required": _l("Choose the expert."), "invalid": _l("Choose the expert.")})
    hours = Number(2, required=True, validate=validate.Range(
        0, MAX_HOURS, min_inclusive=False, max_inclusive=False,
        error=_l("Enter the hours: above 0 and below 10 000.")), error_messages={
        "required": _l("Enter the hours."), "null": _l("Enter the hours.")},
        metadata={"type": "string", "format": "decimal", "example": "12.5"})


def _cost(description: str) -> Number:
    return Number(2, load_default=Decimal(0), validate=validate.Range(
        0, MAX_COST, max_inclusive=False, error=_l("Enter an amount of 0 or more.")),
        metadata={"type": "string", "format": "decimal", "example": "350.00",
                  "description": description})


class EstimateSchema(Schema):
    experts = fields.List(fields.Nested(ExpertHoursSchema), required=True, validate=(
        validate.Length(1, MAX_EXPERTS, error=_l("Name from 1 to 20 experts."))),
        error_messages={"required": _l("Name the experts who will prepare it.")},
        metadata={"description": "Who prepares the opinion and for how many hours."})
    travel_cost = _cost("Travel (site inspections, hearings), net PLN.")
    materials_cost = _cost("Materials and tests, net PLN.")
    markup = Number(2, load_default=None, allow_none=True, validate=validate.Range(
        0, 1000, error=_l("Enter a mark-up from 0 to 1000%.")), metadata={
        "type": "string", "format": "decimal", "example": "40.00",
        "description": "Percent added to the cost; or give margin."})
    margin = Number(2, load_default=None, allow_none=True, validate=validate.Range(
        0, MAX_MARGIN, error=_l("Enter a margin from 0 to 90.90%.")),
        metadata={"type": "string", "format": "decimal", "example": "30.00",
                  "description": "The share of the price left after the cost, in %; "
                                 "or give markup."})
    note = fields.String(load_default="", validate=max_length(5000))


def assignments(session: Session, case: Case) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.case_id == case.id)
                                .order_by(Assignment.id)))


def markup_for(margin: Decimal) -> Decimal:
    """The mark-up that gives at least ``margin`` percent: m / (100 - m), rounded up."""
    return (margin * 100 / (100 - margin)).quantize(Decimal("0.01"), ROUND_CEILING)


def estimate(session: Session, case: Case, data: dict, actor=None) -> Calculation:
    """Write the experts' hours and the costs, and price them as a new calculation."""
    if not inquiries.is_inquiry(case):
        raise ValidationError({"_": _("This is not an %(what)s.",
                                      what=term("expertise.inquiry"))})
    calculations.require(session, actor, case)
    if case.phase_key not in PHASES:
        raise ValidationError({"_": _(
            "The estimate is made once the %(what)s is routed, and until the offer is "
            "accepted.", what=term("expertise.inquiry"))})
    inquiry = inquiries.of_case(session, case)
    values, errors = load_collecting(EstimateSchema(), data)
    chosen = _experts(session, case, inquiry, values.get("experts") or [], errors)
    markup = _markup(values, errors)
    if errors:
        raise ValidationError(errors)
    lines = _lines(session, chosen, values)
    if values.get("margin") is not None:
        markup = _reaching(values["margin"], markup, lines)
    # The calculation first: refused (a case in another currency), nothing is written.
    calculation = calculations.create(session, case, {
        "markup": str(markup), "note": values["note"], "lines": lines}, actor)
    _write(session, case, inquiry, chosen, values, actor)
    return calculation


def _experts(session: Session, case: Case, inquiry: Inquiry, given: list[dict], errors: dict
             ) -> list[tuple]:
    chosen, seen = [], set()
    for n, item in enumerate(given):
        if item.get("hours") is None and f"experts.{n}.hours" not in errors:  # typed blank
            errors[f"experts.{n}.hours"] = _("Enter the hours.")
        if "expert_id" not in item:  # refused by the schema: its message is kept
            continue
        expert = experts.get(session, item["expert_id"])
        if expert is None:
            errors[f"experts.{n}.expert_id"] = _("There is no such expert.")
            continue
        if expert.id in seen:
            errors[f"experts.{n}.expert_id"] = _("This expert is named twice.")
            continue
        seen.add(expert.id)
        reasons = experts.obstacles(session, expert, case, inquiry)
        if reasons:
            errors[f"experts.{n}.expert_id"] = _("%(name)s cannot take it: %(why)s",
                                                 name=experts.name(session, expert),
                                                 why="; ".join(reasons))
            continue
        if item.get("hours") is not None:
            chosen.append((expert, item["hours"]))
    return chosen


def _markup(values: dict, errors: dict) -> Decimal:
    markup, margin = values.get("markup"), values.get("margin")
    if "markup" in errors or "margin" in errors:  # typed, but wrong: that message stays
        return Decimal(0)
    if (markup is None) == (margin is None):
        errors["margin"] = _("Give the margin or the mark-up.")
        return Decimal(0)
    return markup if markup is not None else markup_for(margin)


def _reaching(margin: Decimal, markup: Decimal, lines: list[dict]) -> Decimal:
    """The mark-up, raised by a grosz-worth of percent while the calculation's rounding
    (prices to 4 places, values and the cost to the grosz) would leave the margin below
    the one asked for: the approval rule reads the rounded amounts."""
    given = [(Decimal(line["quantity"]), Decimal(line["unit_cost"])) for line in lines]
    cost = sum((vat.grosz(q * c) for q, c in given), Decimal(0))
    while markup < MAX_MARKUP:
        net = vat.totals(vat.summary(vat.Line(q, calculations.priced(c, markup), VAT)
                                     for q, c in given)).net
        if (net - cost) * 100 >= margin * net:
            break
        markup += Decimal("0.01")
    return markup


def _write(session: Session, case: Case, inquiry: Inquiry, chosen: list[tuple],
           values: dict, actor) -> None:
    before = {a.expert_id: a.hours for a in assignments(session, case)}
    session.query(Assignment).filter_by(case_id=case.id).delete()
    session.add_all(Assignment(case_id=case.id, expert_id=e.id, hours=h, rate=e.hourly_rate)
                    for e, h in chosen)
    after = {e.id: h for e, h in chosen}
    changes = {}
    if before != after:
        changes["expertise.experts"] = (_hours_text(session, before), _hours_text(session, after))
    for key in ("travel_cost", "materials_cost"):
        if getattr(inquiry, key) != values[key]:
            changes[f"expertise.{key}"] = (getattr(inquiry, key), values[key])
            setattr(inquiry, key, values[key])
    session.flush()
    if changes:
        records.touch(session, case, changes, actor)


def _hours_text(session: Session, hours: dict[int, Decimal]) -> list[str]:
    return [f"{experts.name(session, experts.get(session, i, True))}: {h} h"
            for i, h in hours.items()]


def _lines(session: Session, chosen: list[tuple], values: dict) -> list[dict]:
    lines = [{"description": _("Expert's work: %(name)s", name=experts.name(session, e)),
              "category": "expert", "quantity": str(hours), "unit": "h",
              "unit_cost": str(e.hourly_rate), "vat_rate": VAT} for e, hours in chosen]
    if values["travel_cost"] > 0:
        lines.append({"description": _("Travel"), "category": "travel", "quantity": "1",
                      "unit": _("lump sum"), "unit_cost": str(values["travel_cost"]),
                      "vat_rate": VAT})
    if values["materials_cost"] > 0:
        lines.append({"description": _("Materials and tests"), "category": "materials",
                      "quantity": "1", "unit": _("lump sum"),
                      "unit_cost": str(values["materials_cost"]), "vat_rate": VAT})
    return lines

"""The payment schedule offered on an opportunity, and the cooperation contract that
winning it makes (GR-1, GR-2).

An opportunity (a case of ``grants.opportunity``) carries the instalments offered to
the client firm, kept as ``OfferInstalment`` rows: each is due on a day, or when the
client's grant application reaches a milestone (``MILESTONES``: submitted, awarded,
settled). The schedule is set as a whole (``replace``) while the opportunity is open, by
whoever may change the case; the case's amount follows the schedule's total, so that
pipelines and reports show what the offer is worth. Each change is in the case's audit
trail and on its timeline.

The step to "won" waits for a schedule and a client firm (``missing``), then makes the
cooperation contract (``win``) through ``core.contracts``, titled and with its
milestones written in Polish, as its invoices are. The core's billing run (strategy
``core.contracts``) then invoices a dated instalment in the run of the period it falls
due in, and a milestone instalment once its milestone is reached. The contract is made
by the system on the step's behalf: a sales rep who may change the opportunity wins it
without the billing permission, and is named as the contract's author.

A grant application is tied to the opportunity it was sold by: a link of the core's
(``core.links``) of type ``SOLD_BY`` between the two cases, either way round, made when
applying (``tie_on_applying``: the won opportunity of the client named, or else the
client's only won one with an instalment still waiting for a milestone and no open
application tied to it) or later on the cards. When the application reaches a
milestone, ``reached(key)``'s action records it (today's date) on the running
cooperation contracts of the opportunities it is tied to, of the same client, that have
an instalment waiting for it, and says on both cases' timelines which instalments fell
due. An application tied to none reaches nothing, which is no error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import RAISE, Schema, fields, pre_load, validate, validates_schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from core import audit, contracts, links, permissions, records, timeline, workflow
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.invoices import Number
from core.models import Case, Contract, Instalment, RecordLink
from core.templating import money
from core.terms import term, upper_first
from core.validation import MAX_ID, load_collecting, max_length
from plugins.grants.fields import APPLICATION, OPPORTUNITY
from plugins.grants.models import OfferInstalment

MAX_INSTALMENTS = contracts.MAX_INSTALMENTS
MAX_AMOUNT = Decimal("999999999999.99")  # what a case's amount holds
# The milestones of the client's grant application an instalment may wait for; the
# contract keeps the Polish name, which is what its card shows and ``reach`` matches.
MILESTONES = {
    "submitted": {"pl": "złożenie wniosku", "en": "application submitted"},
    "awarded": {"pl": "przyznanie dotacji", "en": "grant awarded"},
    "settled": {"pl": "rozliczenie dotacji", "en": "grant settled"},
}
SCHEDULE_SET, CONTRACT_MADE, MILESTONE_REACHED, TIED = (
    "grants.schedule_set", "grants.contract_made", "grants.milestone_reached",
    "grants.opportunity_tied")
timeline.EVENT_LABELS.update({
    SCHEDULE_SET: _l("Payment schedule set"), CONTRACT_MADE: _l("Cooperation contract made"),
    MILESTONE_REACHED: _l("Milestone reached"), TIED: _l("Tied to its opportunity")})
# The type of the link from a grant application to the opportunity it was sold by. The
# core keeps link types as typed (it has no register of them), so this is the text its
# cards show; a link of this type made by hand on a card ties the two as well.
SOLD_BY = "sprzedany w szansie"  # "sold in the opportunity"
WON = "won"
OPTIONS = 200  # won opportunities offered when applying
# Where a contract's instalment stands, as the core's contract card says it.
STATE_LABELS = {"billed": _l("billed"), "due": _l("due: the next billing run invoices it"),
                "date": _l("waiting for its date"),
                "milestone": _l("waiting for the milestone")}


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _described(value: str) -> None:
    if not value.strip():
        raise SchemaError(_("Describe the instalment."))


class OfferInstalmentSchema(Schema):
    """One instalment offered: what is paid, how much, and when: on a day or at a
    milestone, never both."""

    class Meta:
        unknown = RAISE

    description = fields.String(
        required=True, validate=[_described, max_length(300)],
        error_messages={"required": _l("Describe the instalment.")},
        metadata={"description": "What the invoice line says after the contract's title: "
                                 "“Advance”, “Success fee”."})
    amount = Number(
        2, required=True, as_string=True,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_AMOUNT, error=_l(
            "Enter an amount above zero, up to 999 999 999 999,99.")),
        error_messages={"required": _l("Enter the amount."),
                        "invalid": _l("Enter an amount, such as 12500,50."),
                        "special": _l("Enter an amount, such as 12500,50.")},
        metadata={"description": "Net, in the opportunity's currency; the contract's VAT "
                                 "rate is added on the invoice."})
    due_on = fields.Date(
        load_default=None, allow_none=True,
        error_messages={"invalid": _l("Enter a date, such as 2026-06-30.")},
        metadata={"description": "The day it falls due; null when it waits for a milestone."})
    milestone = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(
            list(MILESTONES), error=_l("Choose the milestone from the list.")),
        metadata={"enum": list(MILESTONES), "description": "The client's grant application "
                  "reaching it makes the instalment due: submitted, awarded or settled; "
                  "null when it is due on a day."})

    @pre_load
    def _empty_is_none(self, data, **_kwargs):
        # A form's empty field is no value, so that only one of the two is given.
        if isinstance(data, dict):
            data = {k: None if k in ("due_on", "milestone") and not _given(v) else v
                    for k, v in data.items()}
        return data

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _when(self, _data, original, **_kwargs):
        if not isinstance(original, dict):
            return
        dated, waits = _given(original.get("due_on")), _given(original.get("milestone"))
        if not dated and not waits:
            raise SchemaError(_("Give the day it is due, or the milestone it waits for."),
                              "due_on")
        if dated and waits:
            raise SchemaError(_("Give either the day or the milestone, not both."),
                              "milestone")


class OfferScheduleSchema(Schema):
    """The whole schedule, as it is set at once."""

    class Meta:
        unknown = RAISE

    instalments = fields.List(
        fields.Nested(OfferInstalmentSchema), required=True,
        validate=validate.Length(max=MAX_INSTALMENTS, error=_l("At most {max} instalments.")),
        error_messages={"required": _l("List the instalments; an empty list clears the "
                                       "schedule.")},
        metadata={"description": "In the order they are paid; an empty list clears the "
                                 "schedule."})


# --- Reading ---------------------------------------------------------------------------------

def opportunity(session: Session, case_id, actor=None) -> Case | None:
    """The opportunity ``actor`` may see, or None (a case of another process too)."""
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id <= MAX_ID:
        return None
    case = records.get(session, Case, case_id, actor)
    return case if case is not None and case.process_key == OPPORTUNITY else None


def of(session: Session, case: Case, actor=None) -> list[OfferInstalment]:
    """The schedule offered on the opportunity, in the order it is paid."""
    _visible(session, case, actor)
    return list(session.scalars(select(OfferInstalment).where(
        OfferInstalment.case_id == case.id).order_by(OfferInstalment.position)))


def total(items: list[OfferInstalment]) -> Decimal:
    """What the instalments add up to: the opportunity's amount."""
    return sum((i.amount for i in items), Decimal(0))


def contract_of(session: Session, case: Case) -> Contract | None:
    """The cooperation contract winning the opportunity made (the latest, if several)."""
    return session.scalar(select(Contract).where(Contract.case_id == case.id)
                          .options(selectinload(Contract.instalments))
                          .order_by(Contract.id.desc()).limit(1))


def is_open(case: Case) -> bool:
    """A won or lost opportunity's schedule no longer changes."""
    from plugins.grants.process import OPPORTUNITY as PROCESS

    phase = PROCESS.phase(case.phase_key)
    return not (phase is not None and phase.final)


def may_change(session: Session, actor, case: Case) -> bool:
    """Whether ``actor`` may set the schedule now: the case is open and theirs to edit."""
    try:
        _require_change(session, case, actor)
    except Forbidden:
        return False
    return is_open(case)


def milestone_name(key: str, locale: str | None = None) -> str:
    """The milestone in the current language; a text that is no key, as it is."""
    names = MILESTONES.get(key)
    return workflow.localised(names, locale) if names is not None else key


def key_of(name: str) -> str | None:
    """The milestone a contract's instalment waits for, by its name in any language."""
    wanted = (name or "").strip().casefold()
    return next((k for k, names in MILESTONES.items()
                 if wanted in (n.casefold() for n in names.values())), None)


def state(item: Instalment, day: date | None = None) -> str:
    """billed, due (the next run invoices it), date (waiting for its day) or milestone."""
    if item.billed_on is not None:
        return "billed"
    if item.milestone and item.reached_on is None:
        return "milestone"
    return "date" if item.due > (day or today()) else "due"


def state_name(key: str) -> str:
    return str(STATE_LABELS.get(key, key))


def describe(item: OfferInstalment | Instalment, currency: str = "PLN") -> str:
    """One instalment in a line, as the timeline shows it."""
    amount = item.amount if isinstance(item, OfferInstalment) else item.unit_price
    milestone = key_of(item.milestone) or item.milestone if item.milestone else ""
    when = milestone_name(milestone) if milestone else item.due_on.strftime("%d.%m.%Y")
    return f"{item.position}. {item.description}: {money(amount, currency)} ({when})"


# --- Setting the schedule --------------------------------------------------------------------

def replace(session: Session, case: Case, items: list, actor=None,
            expected_version: int | None = None) -> list[OfferInstalment]:
    """Set the opportunity's whole schedule to ``items`` (dicts of ``OfferInstalmentSchema``);
    every problem at once, keyed like ``instalments.2.amount``, and nothing written then."""
    _visible(session, case, actor)
    _require_change(session, case, actor)
    values = _clean(case, items, expected_version)
    before = of(session, case)
    session.execute(delete(OfferInstalment).where(OfferInstalment.case_id == case.id))
    rows = [OfferInstalment(case_id=case.id, position=n, **value)
            for n, value in enumerate(values, start=1)]
    session.add_all(rows)
    session.flush()
    old, new = [_audit_text(i) for i in before], [_audit_text(i) for i in rows]
    records.update(session, case, {"amount": total(rows) if rows else None}, actor,
                   related={"grants_schedule": (old, new)} if old != new else None)
    if old != new:
        _schedule_event(session, case, rows, actor)
    return rows


def _clean(case: Case, items, expected_version: int | None) -> list[dict]:
    values, errors = load_collecting(OfferScheduleSchema(), {"instalments": items})
    if isinstance(items, list) and len(items) > MAX_INSTALMENTS:
        errors.setdefault("instalments", _("At most %(max)d instalments.",
                                           max=MAX_INSTALMENTS))
    rows = values.get("instalments") or []
    if not errors and sum((r["amount"] for r in rows), Decimal(0)) > MAX_AMOUNT:
        errors["instalments"] = _("The instalments add up to more than 999 999 999 999,99.")
    if not is_open(case):
        errors["_"] = closed_message(case)
    if expected_version is not None and case.version != expected_version:
        errors["version"] = _("The record was changed by someone else meanwhile; "
                              "reload it and apply your change again.")
    if errors:
        raise ValidationError(errors)
    return [{"description": row["description"].strip(), "amount": Decimal(row["amount"]),
             "due_on": row["due_on"], "milestone": row["milestone"] or ""} for row in rows]


def closed_message(case: Case) -> str:
    """Why a won or lost opportunity's schedule is not changed."""
    from plugins.grants.process import OPPORTUNITY as PROCESS

    return upper_first(_("The %(what)s is %(phase)s: its %(schedule)s no longer changes.",
                         what=term("grants.opportunity"),
                         phase=workflow.phase_name(PROCESS, case.phase_key),
                         schedule=term("grants.schedule")))


def _audit_text(item: OfferInstalment) -> str:
    when = item.due_on.isoformat() if item.due_on else item.milestone
    return f"{item.position}. {item.description}: {item.amount:.2f} ({when})"


def _schedule_event(session: Session, case: Case, rows: list[OfferInstalment], actor) -> None:
    what = upper_first(term("grants.schedule"))
    subject = ngettext("%(what)s set: %(num)d instalment, %(total)s",
                       "%(what)s set: %(num)d instalments, %(total)s", len(rows), what=what,
                       total=money(total(rows), case.currency)) if rows \
        else _("%(what)s cleared", what=what)
    timeline.add(session, "system", subject, [case], actor=actor, event=SCHEDULE_SET,
                 body="\n".join(describe(i, case.currency) for i in rows),
                 data={"case_id": case.id, "instalments": len(rows)})


# --- Winning: the cooperation contract -------------------------------------------------------

def missing(session: Session, case: Case):
    """The check of the step to "won": a schedule to copy and a client to contract with."""
    first = session.scalar(select(OfferInstalment.id).where(
        OfferInstalment.case_id == case.id).limit(1))
    if first is None:
        return _("Set the %(what)s first: the %(contract)s is made of it.",
                 what=term("grants.schedule", case="acc"), contract=term("grants.contract"))
    if case.organisation_id is None:
        return _("Choose the %(client)s: the %(contract)s is made with it.",
                 client=term("grants.client", case="acc"), contract=term("grants.contract"))
    return None


def win(session: Session, case: Case, actor) -> Contract:
    """The action of the step to "won": the cooperation contract of the schedule."""
    items = of(session, case)
    # In Polish whoever wins it, as its milestones: the title heads its invoices' lines.
    title = f"{upper_first(term('grants.contract', locale='pl'))}: {case.title}"
    # Made by the system on the step's behalf: the step itself checked that the actor
    # may change the opportunity, and the billing permission is not the sales rep's.
    contract = contracts.create(session, {
        "organisation_id": case.organisation_id, "case_id": case.id, "title": title[:300],
        "starts_on": today().isoformat(), "currency": case.currency,
        "invoice_kind": "invoice", "instalments": [{
            "description": i.description, "unit_price": str(i.amount),
            "due_on": i.due_on.isoformat() if i.due_on else None,
            "milestone": MILESTONES[i.milestone]["pl"] if i.milestone else ""}
            for i in items]}, actor=None)
    contract.created_by_id = getattr(actor, "id", None)
    session.flush()
    # The contract's own entry is the system's: the opportunity's says who won it.
    audit.write(session, case, "update", {"grants_contract": (None, contract.title)}, actor)
    timeline.add(session, "system", upper_first(_(
        "%(what)s made: %(title)s", what=term("grants.contract"), title=contract.title)),
        workflow.about_case(session, case), actor=actor, event=CONTRACT_MADE,
        body="\n".join(describe(i, contract.currency) for i in contract.instalments),
        data={"case_id": case.id, "contract_id": contract.id})
    return contract


# --- The opportunity an application was sold by ---------------------------------------------

def sold_by(session: Session, application: Case) -> list[int]:
    """The opportunities ``application`` is tied to, by id, whoever may see them: the
    contracts its milestones reach are the system's business."""
    return tied(session, [application.id]).get(application.id, [])


def tied(session: Session, application_ids) -> dict[int, list[int]]:
    """The opportunities each of the applications is tied to, read at once."""
    wanted, found = set(application_ids), {}
    for application_id, opportunity_id in _ties(session, wanted):
        if application_id in wanted:
            found.setdefault(application_id, []).append(opportunity_id)
    return found


def applications_of(session: Session, case: Case, actor=None) -> list[Case]:
    """The applications tied to the opportunity that ``actor`` may see, oldest first."""
    ids = [a for a, o in _ties(session, {case.id}) if o == case.id]
    return list(session.scalars(records.visible(Case, actor).where(Case.id.in_(ids))
                                .order_by(Case.id))) if ids else []


def _ties(session: Session, case_ids: set[int]) -> list[tuple[int, int]]:
    """(application, opportunity) of the ``SOLD_BY`` links of these cases, either way
    round, neither end in the bin."""
    if not case_ids:
        return []
    rows = session.execute(select(RecordLink.source_id, RecordLink.target_id).where(
        RecordLink.link_type == SOLD_BY, RecordLink.source_type == "case",
        RecordLink.target_type == "case", or_(RecordLink.source_id.in_(case_ids),
                                              RecordLink.target_id.in_(case_ids)))
        .order_by(RecordLink.id)).all()
    ends = {i for row in rows for i in row}
    kinds = dict(session.execute(select(Case.id, Case.process_key).where(
        Case.id.in_(ends), Case.deleted_at.is_(None))).all()) if ends else {}
    pairs = []
    for one, other in rows:
        if kinds.get(one) == OPPORTUNITY:
            one, other = other, one
        if (kinds.get(one), kinds.get(other)) == (APPLICATION, OPPORTUNITY):
            pairs.append((one, other))
    return list(dict.fromkeys(pairs))


def waiting(actor=None, organisation_id: int | None = None, day: date | None = None
            ) -> Select:
    """Won opportunities ``actor`` may see (of one client firm, if given) whose running
    cooperation contract has an instalment still waiting for a milestone."""
    day = day or today()
    contracts_waiting = select(Contract.case_id).where(
        (Contract.ends_on.is_(None)) | (Contract.ends_on >= day),
        Contract.id.in_(select(Instalment.contract_id).where(
            Instalment.reached_on.is_(None), Instalment.milestone != "")))
    query = records.visible(Case, actor).where(
        Case.process_key == OPPORTUNITY, Case.phase_key == WON,
        Case.id.in_(contracts_waiting))
    if organisation_id is not None:
        query = query.where(Case.organisation_id == organisation_id)
    return query.order_by(Case.id)


def to_choose(session: Session, actor=None) -> list[Case]:
    """What applying offers to tie the application to: ``waiting``'s opportunities."""
    return list(session.scalars(waiting(actor).limit(OPTIONS)))


def chosen(session: Session, opportunity_id, client_id: int | None, actor=None) -> Case:
    """The won opportunity of client firm ``client_id`` (when known) that ``actor`` may
    see and names for an application; else a ValidationError on ``opportunity_id``."""
    found = opportunity(session, opportunity_id, actor)
    if found is None:
        message = unknown_opportunity()
    elif client_id is not None and found.organisation_id != client_id:
        message = _("“%(title)s” was sold to another %(client)s.", title=found.title,
                    client=term("grants.client", case="dat"))
    elif found.phase_key != WON:
        message = _("“%(title)s” has no %(contract)s: only a won %(what)s has one.",
                    title=found.title, contract=term("grants.contract", case="gen"),
                    what=term("grants.opportunity"))
    else:
        return found
    raise ValidationError({"opportunity_id": message})


def unknown_opportunity() -> str:
    return _("Choose the %(what)s from the list.", what=term("grants.opportunity", case="acc"))


def untied(session: Session, organisation_id: int) -> Case | None:
    """The opportunity a new application of the client is tied to when none is named:
    its only won one with an instalment waiting for a milestone and no open application
    tied to it already; None when there is none, or several."""
    found = list(session.scalars(waiting(None, organisation_id).limit(OPTIONS)))
    taken = _taken(session, {c.id for c in found})
    free = [c for c in found if c.id not in taken]
    return free[0] if len(free) == 1 else None


def _taken(session: Session, opportunity_ids: set[int]) -> set[int]:
    """Those of the opportunities an open (not finished) application is tied to."""
    from plugins.grants.process import APPLICATION as PROCESS

    pairs = _ties(session, opportunity_ids)
    phases = dict(session.execute(select(Case.id, Case.phase_key).where(
        Case.id.in_({a for a, _o in pairs}))).all()) if pairs else {}
    finished = {key for key, phase in ((k, PROCESS.phase(k)) for k in set(phases.values()))
                if phase is not None and phase.final}
    return {o for a, o in pairs if phases.get(a) not in finished}


def tie(session: Session, application: Case, opportunity_id, actor=None) -> RecordLink:
    """Tie ``application``, which ``actor`` may change, to the won opportunity of its
    client they name: the milestones it reaches then reach that opportunity's contract."""
    from plugins.grants import applications

    if application.process_key != APPLICATION:
        raise ValidationError({"case_id": upper_first(_(
            "Only a %(application)s is tied to the %(opportunity)s it was sold by.",
            application=term("grants.application"),
            opportunity=term("grants.opportunity")))})
    if applications.get(session, application.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))
    permissions.require(session, actor, application, "edit", {})
    found = chosen(session, opportunity_id, application.organisation_id, actor)
    return _tie(session, application, found, actor, automatic=False)


def tie_on_applying(session: Session, application: Case, named: Case | None,
                    actor=None) -> RecordLink | None:
    """What applying does: the new application tied to the opportunity named (checked by
    ``chosen``) or, none named, to its client's ``untied`` one, if there is one."""
    found = named or (untied(session, application.organisation_id)
                      if application.organisation_id is not None else None)
    return _tie(session, application, found, actor, automatic=named is None) \
        if found is not None else None


def _tie(session: Session, application: Case, found: Case, actor,
         automatic: bool) -> RecordLink:
    if found.id in sold_by(session, application):  # tied already, either way round
        return session.scalar(select(RecordLink).where(
            RecordLink.link_type == SOLD_BY, RecordLink.source_type == "case",
            RecordLink.target_type == "case",
            RecordLink.source_id.in_((application.id, found.id)),
            RecordLink.target_id.in_((application.id, found.id))).limit(1))
    # The system's, like the milestones it carries: whoever applies need not be able to
    # change the opportunity (its link is in the audit trail, with them as the author).
    row = links.link(session, application, found, SOLD_BY, actor)
    body = [_("Its %(contract)s's instalments waiting for a milestone fall due when this "
              "%(application)s reaches it.", contract=term("grants.contract", case="gen"),
              application=term("grants.application"))]
    if automatic:
        body.insert(0, _("Chosen automatically: the only won %(opportunity)s of the "
                         "%(client)s with an instalment still waiting for a milestone.",
                         opportunity=term("grants.opportunity"),
                         client=term("grants.client", case="gen")))
    what = term("grants.opportunity", case="ins")
    # Found by the system, it may be one whoever applied may not see: then not named.
    subject = _("Tied to the %(opportunity)s “%(title)s”", opportunity=what, title=found.title) \
        if records.get(session, Case, found.id, actor) is not None \
        else _("Tied to the %(opportunity)s it was sold by", opportunity=what)
    timeline.add(session, "system", upper_first(subject), [application, found], actor=actor,
                 event=TIED, body="\n".join(body), data={
                     "case_id": application.id, "opportunity_id": found.id,
                     "automatic": automatic})
    return row


# --- Milestones of the client's grant application --------------------------------------------

def reached(key: str) -> Callable:
    """The action of an application's step that reaches milestone ``key``."""
    if key not in MILESTONES:
        raise ValueError(f"unknown milestone {key!r}; use one of {sorted(MILESTONES)}")

    def action(session: Session, case: Case, actor) -> None:
        reach(session, case, key, actor)

    action.__name__ = f"reached_{key}"
    return action


def reach(session: Session, application: Case, key: str, actor=None,
          on: date | None = None) -> list[Contract]:
    """Record milestone ``key`` of ``application`` on the cooperation contracts of the
    opportunities it is tied to that wait for it: their instalments fall due for the
    next billing run. The contracts it reached; none is no error."""
    if application.process_key != APPLICATION or application.organisation_id is None:
        return []
    sold = sold_by(session, application)
    if not sold:
        return []
    day, name = on or today(), MILESTONES[key]["pl"]
    found = []
    for contract in _waiting(session, application.organisation_id, sold, name, day):
        # The system's, like the step that reached it: the application's staff need
        # not be the ones who bill.
        items = contracts.reach(session, contract, name, day)
        _reached_event(session, application, contract, key, items, actor)
        found.append(contract)
    return found


def _waiting(session: Session, organisation_id: int, opportunity_ids: list[int], name: str,
             day: date) -> list[Contract]:
    """The running contracts of these opportunities of the client with an instalment
    waiting for the milestone (matched as ``core.contracts.reach`` matches it)."""
    query = (select(Contract).join(Case, Case.id == Contract.case_id)
             .where(Contract.organisation_id == organisation_id,
                    Contract.case_id.in_(opportunity_ids),
                    Case.process_key == OPPORTUNITY,
                    (Contract.ends_on.is_(None)) | (Contract.ends_on >= day),
                    Contract.id.in_(select(Instalment.contract_id).where(
                        Instalment.reached_on.is_(None), Instalment.milestone != "")))
             .options(selectinload(Contract.instalments)).order_by(Contract.id))
    wanted = name.casefold()
    return [c for c in session.scalars(query)
            if any(i.milestone.casefold() == wanted and i.reached_on is None
                   for i in c.instalments)]


def _reached_event(session: Session, application: Case, contract: Contract, key: str,
                   items: list[Instalment], actor) -> None:
    subject = ngettext("%(milestone)s: %(num)d instalment of “%(contract)s” falls due",
                       "%(milestone)s: %(num)d instalments of “%(contract)s” fall due",
                       len(items), milestone=upper_first(milestone_name(key)),
                       contract=contract.title)
    opportunity_case = session.get(Case, contract.case_id)
    about = workflow.about_case(session, application) + \
        ([opportunity_case] if opportunity_case is not None else [])
    timeline.add(session, "system", subject, about, actor=actor,
                 event=MILESTONE_REACHED,
                 body="\n".join(describe(i, contract.currency) for i in items),
                 data={"case_id": application.id, "contract_id": contract.id,
                       "milestone": key, "instalment_ids": [i.id for i in items]})


# --- Checks and helpers ----------------------------------------------------------------------

def _visible(session: Session, case: Case, actor) -> None:
    if case.process_key != OPPORTUNITY:
        raise ValidationError({"case_id": upper_first(_(
            "%(schedules)s are offered on %(opportunities)s only.",
            schedules=term("grants.schedule", plural=True),
            opportunities=term("grants.opportunity", plural=True)))})
    if opportunity(session, case.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))


def _require_change(session: Session, case: Case, actor) -> None:
    """Setting the schedule is changing the opportunity: its amount follows the total."""
    try:
        permissions.require(session, actor, case, "edit", {})
    except Forbidden:
        raise Forbidden(_("You cannot change the %(schedule)s: you may not change the "
                          "%(opportunity)s.", schedule=term("grants.schedule", case="gen"),
                          opportunity=term("grants.opportunity", case="gen"))) from None

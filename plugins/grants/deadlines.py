"""Deadlines across the clients' grants (GR-2, GR-3, GR-4): what is owed, by when, and
who is told.

An obligation is a dated thing a client's grant owes: a payment request still open
(``payment_requests.OPEN``: planned, or rejected and to be submitted again; not one
cancelled) by its ``due_on``; a durability report not yet delivered by its ``due_on``;
for an application still in preparation, its call's deadline; and a dated instalment
of a cooperation contract (a contract made by winning an opportunity) not yet invoiced,
on its ``due_on``, unless it falls after the contract's end (``ends_on``: terminated).
An application in a final phase (closed, rejected, withdrawn) owes nothing any more:
its obligations are neither listed, reminded nor escalated.

``upcoming`` lists those in a span of days and ``overdue`` those past their date, each
over the applications (for an instalment, the opportunities) the actor may see, with
the client (an instalment's: the contract's organisation), the case, what is due, the
date and the days left.

The periodic job ``grants.deadlines`` (hourly) watches every obligation. Within
``remind_days`` of its date (a setting of the ``grants.application`` process) the case
owner gets a task and the client's contact people an e-mail saying in how many days it
is due, that it is due today, or that it has passed (service mail, its exact text on
their timelines and the case's); within ``escalate_days``, or once the date has
passed, the owner's supervisor (or the owner, with nobody above them) gets a task and
the case's timeline a "deadline close" or "deadline overdue" event. A date missed
without a reminder brings both at once. Each happens once: a payment request or a
report is marked ``reminded_on`` / ``escalated_on`` by a claim (an UPDATE that rechecks
the mark, so two workers never both send); a call deadline or an instalment, which has
no column of its own, is marked by its event on the case's timeline (what the lists
read its ``reminded_on`` / ``escalated_on`` from) together with the date it was for: a
call deadline extended, or an instalment moved, is reminded anew.

The client's contact people are the case's people in the role ``calls.CONTACT``
("Osoba kontaktowa"); on a case without any, the client firm's members of the day (at
most ``calls.MAX_CONTACTS``). Anybody else on the case (a grantor's officer, say) is
never mailed.

An instalment is told in advance and only then: within ``remind_days`` of its date the
opportunity's owner gets a task and the client's contact people (those of the
opportunity, or the contract's firm's members of the day) an e-mail saying what will
be invoiced on which day, for how much. Its invoice is the institution's own, made by
the billing run, so nothing is escalated, and a date already past (waiting for the
run) is not announced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core import audit, branding, bulk, mailing, outbox, records, tasks, timeline, vat, workflow
from core.calendar import FEED_PAST, FEED_REFRESH
from core.errors import ValidationError
from core.filters import today as local_today
from core.filters import zone
from core.jobs import Periodic
from core.models import (
    ActivityLink,
    Case,
    CasePerson,
    Contract,
    Instalment,
    Membership,
    Organisation,
    Person,
    User,
)
from core.models.activity import Activity
from core.templating import money
from core.terms import term, upper_first
from plugins.grants import calls, durability, payment_requests
from plugins.grants.fields import APPLICATION, OPPORTUNITY
from plugins.grants.models import Application, DurabilityReport, GrantCall, PaymentRequest

PAYMENT_REQUEST, DURABILITY_REPORT, CALL, INSTALMENT = (
    "payment_request", "durability_report", "call", "instalment")
KINDS = (PAYMENT_REQUEST, DURABILITY_REPORT, CALL, INSTALMENT)
PREPARATION = "preparation"
MODELS = {PAYMENT_REQUEST: PaymentRequest, DURABILITY_REPORT: DurabilityReport}
MARKED = (CALL, INSTALMENT)  # kinds with no column of their own: marked on the timeline
MAX_DAYS = 3660  # the longest span listed at once: ten years
REMINDED, CLOSE, OVERDUE = ("grants.deadline_reminded", "grants.deadline_close",
                            "grants.deadline_overdue")
timeline.EVENT_LABELS.update({REMINDED: _l("Deadline reminder"),
                              CLOSE: _l("Deadline close"), OVERDUE: _l("Deadline passed")})


def kind_name(kind: str) -> str:
    """What an obligation of ``kind`` is, in the installation's terms."""
    if kind == PAYMENT_REQUEST:
        return upper_first(term("grants.payment_request"))
    if kind == DURABILITY_REPORT:
        return upper_first(term("grants.durability_report"))
    if kind == INSTALMENT:
        return _("Instalment of the %(contract)s", contract=term("grants.contract", case="gen"))
    return _("Deadline of the %(call)s", call=term("grants.call", case="gen"))


@dataclass
class Obligation:
    """One dated thing a client's grant owes."""

    kind: str  # one of KINDS
    record_id: int  # the payment request, the durability report, the call, the instalment
    case_id: int  # the application; for an instalment, the opportunity won into its contract
    application: str  # that case's title
    organisation_id: int | None
    owner_id: int | None
    what: str
    due_on: date
    today: date
    client: str = ""  # the organisation's name, for a reader who may see it
    reminded_on: date | None = None
    escalated_on: date | None = None
    # An instalment's contract and what its invoice will say; None for the other kinds.
    contract_id: int | None = None
    net: Decimal | None = None
    gross: Decimal | None = None
    currency: str = ""

    @property
    def days_left(self) -> int:
        """Days from today to the date; below zero once it has passed."""
        return (self.due_on - self.today).days

    @property
    def overdue(self) -> bool:
        return self.due_on < self.today

    @property
    def key(self) -> str:
        """Stable and unique: a call's deadline is owed once per application."""
        return f"{CALL}-{self.case_id}" if self.kind == CALL else f"{self.kind}-{self.record_id}"

    @property
    def kind_name(self) -> str:
        return kind_name(self.kind)

    @property
    def amount(self) -> str:
        """An instalment's invoice, net and gross ("" for the other kinds)."""
        if self.net is None:
            return ""
        if self.gross == self.net:
            return money(self.net, self.currency)
        return _("%(net)s net, %(gross)s gross", net=money(self.net, self.currency),
                 gross=money(self.gross, self.currency))


# --- Reading -------------------------------------------------------------------------

def upcoming(session: Session, actor, start: date, end: date, organisation_id: int | None = None,
             kinds=None, today: date | None = None) -> list[Obligation]:
    """The open obligations dated from ``start`` to ``end`` (both included) of the
    applications ``actor`` may see, of one client with ``organisation_id``, of the
    ``kinds`` given (all by default); by date."""
    errors: dict[str, str] = {}
    for name, day in (("start", start), ("end", end)):
        if not isinstance(day, date) or isinstance(day, datetime):
            errors[name] = _("Give a date as YYYY-MM-DD.")
    if not errors and end < start:
        errors["end"] = _("The period cannot end before it starts.")
    elif not errors and (end - start).days > MAX_DAYS:
        errors["end"] = _("Show at most %(years)d years at once.", years=MAX_DAYS // 366)
    _check_kinds(kinds, errors)
    if errors:
        raise ValidationError(errors)
    return _obligations(session, actor, start, end, today or local_today(), organisation_id,
                        kinds)


def overdue(session: Session, actor, organisation_id: int | None = None, kinds=None,
            today: date | None = None) -> list[Obligation]:
    """The open obligations whose date has passed, the longest overdue first."""
    errors: dict[str, str] = {}
    _check_kinds(kinds, errors)
    if errors:
        raise ValidationError(errors)
    today = today or local_today()
    return _obligations(session, actor, None, today - timedelta(days=1), today,
                        organisation_id, kinds)


def clients(session: Session, actor) -> list[Organisation]:
    """The client firms of the applications, and of the cooperation contracts of the
    opportunities, ``actor`` may see that they may see, by name: what the calendar can
    be narrowed to."""
    ids = _applications(actor).with_only_columns(Case.organisation_id)
    contracted = select(Contract.organisation_id).where(
        Contract.case_id.in_(_opportunities(actor).with_only_columns(Case.id)))
    return list(session.scalars(records.visible(Organisation, actor).where(
        or_(Organisation.id.in_(ids), Organisation.id.in_(contracted)))
        .order_by(Organisation.name, Organisation.id)))


def _check_kinds(kinds, errors: dict) -> None:
    if kinds is not None and not set(kinds) <= set(KINDS):
        errors["kind"] = _("Choose what is due from the list.")


def _applications(actor, organisation_id: int | None = None):
    """The applications still under way: one in a final phase owes nothing."""
    query = records.visible(Case, actor).where(Case.process_key == APPLICATION,
                                               Case.phase_key.not_in(_finished()))
    if organisation_id is not None:
        query = query.where(Case.organisation_id == organisation_id)
    return query


def _finished() -> tuple[str, ...]:
    """The application's final phases (closed, rejected, withdrawn)."""
    from plugins.grants import process

    return tuple(phase.key for phase in process.APPLICATION.phases if phase.final)


def _opportunities(actor):
    return records.visible(Case, actor).where(Case.process_key == OPPORTUNITY)


def _obligations(session: Session, actor, first: date | None, last: date, today: date,
                 organisation_id: int | None = None, kinds=None) -> list[Obligation]:
    cases = _applications(actor, organisation_id).subquery()
    wanted = set(kinds or KINDS)
    found = []
    if PAYMENT_REQUEST in wanted:
        found += _payment_requests(session, cases, first, last, today)
    if DURABILITY_REPORT in wanted:
        found += _reports(session, cases, first, last, today)
    if CALL in wanted:
        found += _calls(session, cases, first, last, today)
    if INSTALMENT in wanted:
        found += _instalments(session, _opportunities(actor).subquery(), first, last, today,
                              organisation_id)
    _read_marks(session, found)
    _name_clients(session, actor, found)
    return sorted(found, key=lambda o: (o.due_on, o.application.lower(), o.key))


def _dated(column, first: date | None, last: date) -> list:
    return [column <= last] + ([column >= first] if first is not None else [])


def _payment_requests(session: Session, cases, first, last, today) -> list[Obligation]:
    rows = session.execute(
        select(PaymentRequest, cases.c.title, cases.c.organisation_id, cases.c.owner_id)
        .join(cases, cases.c.id == PaymentRequest.case_id)
        .where(PaymentRequest.status.in_(payment_requests.OPEN),
               PaymentRequest.deleted_at.is_(None), *_dated(PaymentRequest.due_on, first, last)))
    return [Obligation(PAYMENT_REQUEST, found.id, found.case_id, title, org_id, owner_id,
                       _request_what(found), found.due_on, today,
                       reminded_on=found.reminded_on, escalated_on=found.escalated_on)
            for found, title, org_id, owner_id in rows]


def _request_what(found: PaymentRequest) -> str:
    said = payment_requests.label(found)
    if found.status == "rejected":
        return _("%(what)s, rejected: to be corrected and submitted again", what=said)
    return said


def _reports(session: Session, cases, first, last, today) -> list[Obligation]:
    rows = session.execute(
        select(DurabilityReport, cases.c.title, cases.c.organisation_id, cases.c.owner_id)
        .join(cases, cases.c.id == DurabilityReport.case_id)
        .where(DurabilityReport.status == "due", DurabilityReport.deleted_at.is_(None),
               *_dated(DurabilityReport.due_on, first, last)))
    return [Obligation(DURABILITY_REPORT, found.id, found.case_id, title, org_id, owner_id,
                       durability.title(found), found.due_on, today,
                       reminded_on=found.reminded_on, escalated_on=found.escalated_on)
            for found, title, org_id, owner_id in rows]


def _calls(session: Session, cases, first, last, today) -> list[Obligation]:
    rows = session.execute(
        select(GrantCall.id, GrantCall.title, GrantCall.deadline, cases.c.id, cases.c.title,
               cases.c.organisation_id, cases.c.owner_id)
        .join(Application, Application.call_id == GrantCall.id)
        .join(cases, cases.c.id == Application.case_id)
        .where(cases.c.phase_key == PREPARATION, GrantCall.deleted_at.is_(None),
               *_dated(GrantCall.deadline, first, last)))
    return [Obligation(CALL, call_id, case_id, title, org_id, owner_id,
                       upper_first(_("Application to the %(call)s “%(title)s”",
                                     call=term("grants.call", case="gen"), title=call_title)),
                       deadline, today)
            for call_id, call_title, deadline, case_id, title, org_id, owner_id in rows]


def _instalments(session: Session, cases, first, last, today,
                 organisation_id: int | None) -> list[Obligation]:
    """The dated instalments not yet invoiced of the contracts the opportunities made;
    one waiting for a milestone has no date to keep, one after the contract's end (it
    was terminated) is not owed."""
    query = (select(Instalment, Contract, cases.c.title, cases.c.owner_id)
             .join(Contract, Contract.id == Instalment.contract_id)
             .join(cases, cases.c.id == Contract.case_id)
             .where(Instalment.billed_on.is_(None), Instalment.due_on.is_not(None),
                    Instalment.milestone == "",
                    or_(Contract.ends_on.is_(None), Instalment.due_on <= Contract.ends_on),
                    *_dated(Instalment.due_on, first, last)))
    if organisation_id is not None:
        query = query.where(Contract.organisation_id == organisation_id)
    found = []
    for item, contract, title, owner_id in session.execute(query):
        # As the billing run will invoice it (``core.contracts``): one unit, the
        # contract's rate and price basis.
        sums = vat.line_amounts(vat.Line(Decimal(1), item.unit_price, contract.vat_rate),
                                contract.price_basis)
        found.append(Obligation(
            INSTALMENT, item.id, contract.case_id, title, contract.organisation_id, owner_id,
            _("Instalment %(position)d “%(description)s” of the %(contract)s",
              position=item.position, description=item.description,
              contract=term("grants.contract", case="gen")),
            item.due_on, today, contract_id=contract.id, net=sums.net, gross=sums.gross,
            currency=contract.currency))
    return found


def _read_marks(session: Session, found: list[Obligation]) -> None:
    """``reminded_on`` / ``escalated_on`` of the call deadlines and instalments, from
    their events on the cases' timelines: only those for the date now kept, so a
    deadline moved is owed, and told, anew."""
    marked = [o for o in found if o.kind in MARKED]
    if not marked:
        return
    rows = session.execute(
        select(Activity.event, Activity.data, Activity.occurred_at, ActivityLink.record_id)
        .join(ActivityLink, ActivityLink.activity_id == Activity.id)
        .where(ActivityLink.record_type == "case",
               bulk.among(session, ActivityLink.record_id, {o.case_id for o in marked}),
               Activity.event.in_((REMINDED, CLOSE, OVERDUE))))
    marks: dict[tuple, date] = {}
    for event, data, at, case_id in rows:
        data = data or {}
        mark = "reminded" if event == REMINDED else "escalated"
        key = (case_id, data.get("kind"), data.get("id"), data.get("due_on"), mark)
        marks[key] = min(marks.get(key, date.max), _marked_on(data, at))
    for obligation in marked:
        for mark in ("reminded", "escalated"):
            on = marks.get((obligation.case_id, obligation.kind, obligation.record_id,
                            obligation.due_on.isoformat(), mark))
            if on is not None:
                setattr(obligation, f"{mark}_on", on)


def _marked_on(data: dict, at: datetime) -> date:
    """The day the job marked it (which a test may set); else the event's local day."""
    try:
        return date.fromisoformat(data["on"])
    except (KeyError, TypeError, ValueError):
        return at.astimezone(zone()).date()


def _name_clients(session: Session, actor, found: list[Obligation]) -> None:
    ids = {o.organisation_id for o in found} - {None}
    if not ids:
        return
    names = dict(session.execute(records.visible(Organisation, actor).where(
        Organisation.id.in_(ids)).with_only_columns(Organisation.id, Organisation.name)).all())
    for obligation in found:
        obligation.client = names.get(obligation.organisation_id, "")


# --- Watching ------------------------------------------------------------------------

@dataclass
class Watched:
    """What one pass over the deadlines did."""

    reminded: list[Obligation] = field(default_factory=list)
    escalated: list[Obligation] = field(default_factory=list)
    mailed: list[int] = field(default_factory=list)  # the outbox messages queued


def run(rt) -> Watched:
    """The periodic job: one pass, in a transaction of its own."""
    with audit.door("job"), rt.session() as session, session.begin():
        return watch(session)


JOBS = [Periodic("grants.deadlines", run, minutes=60)]


def watch(session: Session, today: date | None = None) -> Watched:
    """Remind and escalate every obligation that has come close enough, each once."""
    from plugins.grants import process

    today = today or local_today()
    values = workflow.settings(session, process.APPLICATION)
    remind_days, escalate_days = int(values["remind_days"]), int(values["escalate_days"])
    horizon = today + timedelta(days=max(remind_days, escalate_days))
    found = _obligations(session, None, None, horizon, today)
    done = Watched()
    for obligation in found:
        if _to_remind(obligation, remind_days) \
                and _claim(session, obligation, "reminded", today):
            done.mailed += _remind(session, obligation)
            done.reminded.append(obligation)
        if _to_escalate(obligation, escalate_days) \
                and _claim(session, obligation, "escalated", today):
            _escalate(session, obligation)
            done.escalated.append(obligation)
    return done


def _to_remind(obligation: Obligation, remind_days: int) -> bool:
    """Close enough and not reminded; an instalment only before its day is over: once
    past, the billing run's invoice is all that is left to say."""
    if obligation.reminded_on is not None or obligation.days_left > remind_days:
        return False
    return obligation.kind != INSTALMENT or obligation.days_left >= 0


def _to_escalate(obligation: Obligation, escalate_days: int) -> bool:
    """An instalment is the institution's own invoice: nobody above is to chase it."""
    return obligation.kind != INSTALMENT and obligation.escalated_on is None \
        and obligation.days_left <= escalate_days


def _claim(session: Session, obligation: Obligation, mark: str, today: date) -> bool:
    """Whether this pass is the one to remind (or escalate): a payment request or a
    report is marked in the same statement that checks it is not marked yet. Marking
    is bookkeeping, not a change by a person: the version stays, so a form open on the
    row can still be saved. A call deadline or an instalment is marked by the event
    this pass writes on its case's timeline: the case's row is locked and the marks read
    again, so a second worker waits for the first and then finds its event."""
    if obligation.kind in MARKED:
        session.execute(select(Case.id).where(Case.id == obligation.case_id)
                        .with_for_update())
        _read_marks(session, [obligation])
        if getattr(obligation, f"{mark}_on") is not None:
            return False
        setattr(obligation, f"{mark}_on", today)
        return True
    model = MODELS[obligation.kind]
    column = getattr(model, f"{mark}_on")
    claimed = session.scalar(
        update(model).where(model.id == obligation.record_id, column.is_(None))
        .values({column: today}).returning(model.id)
        .execution_options(synchronize_session="fetch"))
    if claimed is not None:
        setattr(obligation, f"{mark}_on", today)
    return claimed is not None


def _remind(session: Session, obligation: Obligation) -> list[int]:
    """The owner's task and the client's e-mails; the reminder on the timeline."""
    case = session.get(Case, obligation.case_id)
    owner = _active(session, case.owner_id)
    mailed = _mail_client(session, case, obligation, _contacts(session, case, obligation))
    if owner is not None:
        tasks.create(session, {
            "title": upper_first(_("%(when)s: %(what)s (%(case)s)", when=_when(obligation),
                                   what=obligation.what, case=case.title))[:300],
            "description": _reminder_note(obligation, case, len(mailed)),
            "assignee_id": owner.id, "due_at": _end_of(obligation.due_on), "priority": 3},
            about=[case])
    _on_timeline(session, case, obligation, REMINDED, _("Reminder: %(what)s, %(when)s",
                                                         what=obligation.what,
                                                         when=_when(obligation)))
    return mailed


def _escalate(session: Session, obligation: Obligation) -> None:
    """The supervisor's task (the owner's, with nobody above them) and the event."""
    case = session.get(Case, obligation.case_id)
    owner = _active(session, case.owner_id)
    chief = _active(session, owner.supervisor_id) if owner is not None else None
    to = chief or owner
    late = obligation.overdue
    if to is not None:
        tasks.create(session, {
            "title": ((_("Overdue: %(what)s (%(case)s)") if late else
                      _("Deadline close: %(what)s (%(case)s)")) % {
                "what": obligation.what, "case": case.title})[:300],
            "description": _escalation_note(obligation, case, owner),
            "assignee_id": to.id, "due_at": _end_of(max(obligation.due_on, obligation.today)),
            "priority": 4}, about=[case])
    subject = _("Deadline passed: %(what)s, due on %(date)s") if late else \
        _("Deadline close: %(what)s, due on %(date)s")
    _on_timeline(session, case, obligation, OVERDUE if late else CLOSE,
                 subject % {"what": obligation.what, "date": format_date(obligation.due_on)})


def _contacts(session: Session, case: Case, obligation: Obligation) -> list[Person]:
    """The client's contact people: the case's people in that role; on a case without
    any, the client firm's members of the day. Nobody else on the case is the client."""
    people = list(session.scalars(
        select(Person).join(CasePerson, CasePerson.person_id == Person.id)
        .where(CasePerson.case_id == case.id, Person.deleted_at.is_(None),
               func.lower(CasePerson.role) == calls.CONTACT.lower())
        .order_by(Person.id)))
    if people or obligation.organisation_id is None:
        return people
    day = obligation.today
    return list(session.scalars(
        select(Person).join(Membership, Membership.person_id == Person.id)
        .where(Membership.organisation_id == obligation.organisation_id,
               Person.deleted_at.is_(None),
               or_(Membership.start_date.is_(None), Membership.start_date <= day),
               or_(Membership.end_date.is_(None), Membership.end_date >= day))
        .distinct().order_by(Person.id).limit(calls.MAX_CONTACTS)))


def _mail_client(session: Session, case: Case, obligation: Obligation,
                 people: list[Person]) -> list[int]:
    """One service e-mail to each of the client's contact people with an address."""
    sender = branding.current(session).name
    drafts = []
    for person in people:
        address = mailing.address_of(person)
        if not address:
            continue
        about = [("person", person.id), ("case", case.id)]
        if obligation.organisation_id is not None:
            about.append(("organisation", obligation.organisation_id))
        drafts.append(outbox.Draft(
            to_address=address, to_name=person.full_name,
            subject=_("Reminder: %(what)s, %(when)s", what=obligation.what,
                      when=_when(obligation)),
            text_body=client_letter(obligation, case, person, sender),
            person_id=person.id, case_id=case.id, about=about))
    return outbox.queue(session, drafts)


def client_letter(obligation: Obligation, case: Case, person: Person, sender: str) -> str:
    """The reminder a client's contact person reads."""
    if obligation.kind == INSTALMENT:
        return "\n\n".join([_("Dear %(name)s,", name=person.full_name),
                             _instalment_line(obligation, case),
                             _("If you have any questions about it, please contact us."),
                             _("Kind regards,") + "\n" + sender])
    if obligation.overdue:
        line = _("The deadline for “%(what)s” of “%(case)s” was %(date)s and it has "
                 "passed. Please contact us as soon as possible so that we can settle it "
                 "together.", what=obligation.what, case=case.title,
                 date=format_date(obligation.due_on))
    elif obligation.days_left == 0:
        line = _("We would like to remind you that “%(what)s” of “%(case)s” is due today, "
                 "%(date)s. Please send us what is still needed as soon as possible.",
                 what=obligation.what, case=case.title, date=format_date(obligation.due_on))
    else:
        line = ngettext("We would like to remind you that “%(what)s” of “%(case)s” is due "
                        "on %(date)s, in %(num)d day. Please send us what is still needed "
                        "in good time.",
                        "We would like to remind you that “%(what)s” of “%(case)s” is due "
                        "on %(date)s, in %(num)d days. Please send us what is still needed "
                        "in good time.",
                        obligation.days_left, what=obligation.what, case=case.title,
                        date=format_date(obligation.due_on))
    return "\n\n".join([_("Dear %(name)s,", name=person.full_name), line,
                        _("Kind regards,") + "\n" + sender])


def _instalment_line(obligation: Obligation, case: Case) -> str:
    what = obligation.what[:1].lower() + obligation.what[1:]  # inside a sentence
    return _("We would like to let you know that %(what)s for “%(case)s” will be invoiced "
             "on %(date)s, for %(amount)s.", what=what, case=case.title,
             date=format_date(obligation.due_on), amount=obligation.amount)


def _reminder_note(obligation: Obligation, case: Case, mailed: int) -> str:
    if obligation.kind == INSTALMENT:
        first = _("%(what)s for “%(case)s” will be invoiced on %(date)s, for %(amount)s.",
                  what=obligation.what, case=case.title, date=format_date(obligation.due_on),
                  amount=obligation.amount)
    else:
        first = _("%(what)s of “%(case)s” is due on %(date)s.", what=obligation.what,
                  case=case.title, date=format_date(obligation.due_on))
    lines = [first]
    lines.append(_("The client's contact people were reminded by e-mail (%(count)d).",
                   count=mailed) if mailed else
                 _("Nobody of the client has an e-mail address: remind them yourself."))
    return "\n".join(lines)


def _escalation_note(obligation: Obligation, case: Case, owner: User | None) -> str:
    said = _("%(what)s of “%(case)s” was due on %(date)s.") if obligation.overdue else \
        _("%(what)s of “%(case)s” is due on %(date)s.")
    lines = [said % {"what": obligation.what, "case": case.title,
                     "date": format_date(obligation.due_on)}]
    if owner is not None:
        lines.append(_("Responsible: %(name)s.", name=owner.full_name or owner.email))
    return "\n".join(lines)


def _when(obligation: Obligation) -> str:
    if obligation.overdue:
        return _("overdue since %(date)s", date=format_date(obligation.due_on))
    if obligation.kind == INSTALMENT:
        return _("to be invoiced on %(date)s", date=format_date(obligation.due_on))
    return _("due on %(date)s", date=format_date(obligation.due_on))


def _on_timeline(session: Session, case: Case, obligation: Obligation, event: str,
                 subject: str) -> None:
    """The event; for a call deadline or an instalment, also the mark that it was done."""
    about = workflow.about_case(session, case)
    if obligation.organisation_id not in (None, case.organisation_id):
        client = session.get(Organisation, obligation.organisation_id)  # the contract's
        about += [client] if client is not None else []
    timeline.record_event(session, event, about, subject=subject,
                          data={"kind": obligation.kind, "id": obligation.record_id,
                                "due_on": obligation.due_on.isoformat(),
                                "on": obligation.today.isoformat()})


def _active(session: Session, user_id: int | None) -> User | None:
    """A staff member a task can be given to."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active and user.kind == "staff" else None


def _end_of(day: date) -> datetime:
    """A task is due by the end of the day in the installation's time zone."""
    return datetime.combine(day, time(23, 59), zone())


# --- The calendar feed ---------------------------------------------------------------

FEED_AHEAD = timedelta(days=730)  # how far ahead a feed reaches


def feed_window(today: date | None = None) -> tuple[date, date]:
    """The days a subscribed calendar shows: from 90 days back (as the core's feeds) to
    two years ahead."""
    today = today or local_today()
    return today - FEED_PAST, today + FEED_AHEAD


def ical(obligations: list[Obligation], link, name: str) -> bytes:
    """The obligations as an iCalendar feed of all-day events named ``name``;
    ``link(obligation)`` is the address of its application's card."""
    feed = Calendar()
    feed.add("prodid", "-//Kartoteka//Kartoteka CRM//PL")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", name)
    feed.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    feed.add("x-published-ttl", "PT15M")  # Outlook's name for REFRESH-INTERVAL
    stamp = datetime.now(UTC)
    for obligation in obligations:
        feed.add_component(_event(obligation, link(obligation), stamp))
    return feed.to_ical()


def _event(obligation: Obligation, link: str, stamp: datetime) -> Event:
    entry = Event()
    entry.add("uid", f"grants-{obligation.key}@kartoteka")
    entry.add("dtstamp", stamp)
    entry.add("dtstart", obligation.due_on)
    entry.add("dtend", obligation.due_on + timedelta(days=1))
    who = obligation.client or obligation.application
    summary = f"{obligation.what}: {who}"
    entry.add("summary", _("Overdue: %(what)s", what=summary) if obligation.overdue
              else summary)
    lines = [obligation.application]
    if obligation.client:
        lines.append(obligation.client)
    if obligation.amount:
        lines.append(obligation.amount)
    lines.append(link)
    entry.add("description", "\n".join(lines))
    entry.add("url", link)
    entry.add("status", "CONFIRMED")
    return entry

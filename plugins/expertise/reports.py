"""The expertise reports, for whoever holds ``expertise.reports``, on the page of
``report_views.py`` and in the API of ``report_api.py``:

- margin per department: the inquiries that reached the offer on a day of the period
  (their phase history), per department: how many, their price and cost summed, the
  margin of the sums (weighted by price) and the average of the offers' margins against
  the process's ``minimum_margin``, and how many of them the client accepted, for how
  much;
- offers waiting for approval: the pending requests to approve an inquiry's offer, who
  is asked (the department's manager, the board) and for how many days;
- expert utilisation: per expert, the hours estimated for the open inquiries and those
  of the opinions delivered in the period, their absences in the period and their rate;
- deadlines at risk: the opinions being prepared whose deadline has passed or comes
  within some days, the most urgent first.

Every figure is summed by the database over the inquiries the reader may see
(``records.visible``); amounts are in the currency of the offers (PLN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import Numeric, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from core import permissions, records, workflow
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.filters import zone
from core.models import ApprovalRequest, Case, Organisation, Person, PhaseChange, Role, User
from core.report_periods import Period, period
from plugins.expertise import process
from plugins.expertise.models import Absence, Assignment, Department, Expert, Inquiry
from plugins.expertise.permissions import REPORTS

OFFER, ACCEPTED, DELIVERED = "offer", "accepted", "delivered"
OFFER_STEP = "estimate->offer"  # the transition whose approval the waiting offers need
MAX_DAYS = 366  # the furthest deadlines at risk look ahead
DAYS = 14  # how far ahead deadlines are at risk by default
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def require(actor) -> None:
    """The reports are for holders of ``expertise.reports``."""
    if not permissions.can(actor, REPORTS):
        raise Forbidden(_("You may not read the expertise reports."))


# --- The deadlines' horizon ---------------------------------------------------------

def horizon(days) -> int:
    """How many days ahead a deadline is at risk: a whole number from 0 to 366."""
    if days is None or days == "":
        return DAYS
    try:
        value = int(str(days).strip())
    except ValueError:
        value = -1
    if isinstance(days, bool) or not 0 <= value <= MAX_DAYS:
        raise ValidationError({"days": _("Give a whole number of days from 0 to %(most)d.",
                                         most=MAX_DAYS)})
    return value


# --- Shared --------------------------------------------------------------------------

def _visible_inquiries(actor):
    """The ids of the inquiries ``actor`` may see, as a subquery."""
    return records.visible(Case, actor).where(
        Case.process_key == process.INQUIRY.key).with_only_columns(Case.id)


def _reached(phase: str, within: Period | None = None):
    """The ids of the cases that entered ``phase`` (in the period), by their history."""
    query = select(PhaseChange.case_id).where(PhaseChange.to_phase == phase)
    if within is not None:
        start, end = within.bounds()
        query = query.where(PhaseChange.at >= start, PhaseChange.at < end)
    return query.distinct()


def _percent(value) -> Decimal | None:
    """A percentage to two places, half up; the database may give a float."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def _user_name(user_id: int | None, full_name: str | None, email: str | None) -> str:
    if user_id is None:
        return ""
    return full_name or email or ""


def _local_day(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def minimum_margin(session: Session) -> Decimal:
    """The process setting below which the board approves an offer (a percentage)."""
    return Decimal(workflow.settings(session, process.INQUIRY)["minimum_margin"])


# --- Margin per department -----------------------------------------------------------

@dataclass
class DepartmentMargin:
    """The offers of one department made in the period."""

    department_id: int | None
    department: str
    offers: int
    price: Decimal  # the offers' amounts summed, net
    cost: Decimal  # their costs summed
    accepted: int  # of those offers, how many the client accepted
    accepted_value: Decimal
    average_margin: Decimal | None  # the mean of the offers' margins, in percent
    below_minimum: int  # offers priced at a margin below the minimum
    minimum: Decimal
    priced: int = 0  # offers with a price and a cost (what the average is over)

    @property
    def profit(self) -> Decimal:
        return self.price - self.cost

    @property
    def margin(self) -> Decimal | None:
        """The margin of the sums, in percent: each offer weighs as much as its price."""
        if not self.price:
            return None
        return (self.profit * HUNDRED / self.price).quantize(CENT, ROUND_HALF_UP)

    @property
    def under_minimum(self) -> bool:
        """Whether the offers' average margin is below the minimum the board watches."""
        return self.average_margin is not None and self.average_margin < self.minimum


@dataclass
class Margins:
    period: Period
    minimum: Decimal
    lines: list[DepartmentMargin]  # by department name
    total: DepartmentMargin


def margin_per_department(session: Session, actor, period_from, period_to) -> Margins:
    """Per department, the inquiries that reached the offer on a day of the period: how
    many, their price and cost, the margin, and how many of them were accepted."""
    require(actor)
    within = period(period_from, period_to)
    minimum = minimum_margin(session)
    offered = _reached(OFFER, within).subquery()
    accepted = _reached(ACCEPTED).subquery()
    priced = and_(Case.amount > 0, Case.cost.is_not(None))
    # A hundred as a decimal: SQLite keeps whole amounts as integers and would divide
    # them as integers.
    margin = case((priced, (Case.amount - Case.cost) * literal(HUNDRED, Numeric(5, 2))
                   / Case.amount))
    is_accepted = accepted.c.case_id.is_not(None)
    rows = session.execute(
        select(Inquiry.department_id, Department.name, func.count(Case.id),
               func.sum(Case.amount), func.sum(Case.cost),
               func.sum(case((is_accepted, 1), else_=0)),
               func.sum(case((is_accepted, Case.amount), else_=0)),
               func.avg(margin), func.count(margin),
               func.sum(case((and_(priced, (Case.amount - Case.cost) * 100
                                   < Case.amount * minimum), 1), else_=0)))
        .select_from(Case)
        .join(offered, offered.c.case_id == Case.id)
        .join(Inquiry, Inquiry.case_id == Case.id)
        .outerjoin(Department, Department.id == Inquiry.department_id)
        .outerjoin(accepted, accepted.c.case_id == Case.id)
        .where(Case.id.in_(_visible_inquiries(actor)))
        .group_by(Inquiry.department_id, Department.name)).all()
    lines = [DepartmentMargin(
        department_id, name or _("No department"), count, _money(price), _money(cost),
        int(taken or 0), _money(taken_value), _percent(average), int(below or 0), minimum,
        int(with_margin or 0))
        for department_id, name, count, price, cost, taken, taken_value, average,
        with_margin, below in rows]
    lines.sort(key=lambda x: (x.department_id is None, x.department.lower(),
                              x.department_id or 0))
    return Margins(within, minimum, lines, _total(lines, minimum))


def _total(lines: list[DepartmentMargin], minimum: Decimal) -> DepartmentMargin:
    """All departments together; the average margin is over every offer, not over the
    departments' averages."""
    priced = sum(x.priced for x in lines)
    spread = sum((Decimal(x.average_margin) * x.priced for x in lines
                  if x.average_margin is not None), Decimal(0))
    return DepartmentMargin(
        None, _("Total"), sum(x.offers for x in lines),
        sum((x.price for x in lines), Decimal("0.00")),
        sum((x.cost for x in lines), Decimal("0.00")), sum(x.accepted for x in lines),
        sum((x.accepted_value for x in lines), Decimal("0.00")),
        (spread / priced).quantize(CENT, ROUND_HALF_UP) if priced else None,
        sum(x.below_minimum for x in lines), minimum, priced)


# --- Offers waiting for approval -----------------------------------------------------

@dataclass
class WaitingOffer:
    request_id: int
    case_id: int
    title: str
    department_id: int | None
    department: str
    amount: Decimal | None
    cost: Decimal | None
    level: str  # the chain's step: "manager" or "board"
    approver_id: int | None  # the person asked, or None when any holder of the role may
    approver: str  # their name, or the role's
    requested_at: datetime
    requested_by: str
    today: date
    reason: str = ""

    @property
    def margin(self) -> Decimal | None:
        """The offer's margin, in percent."""
        if not self.amount or self.cost is None:
            return None
        return ((self.amount - self.cost) * HUNDRED / self.amount).quantize(
            CENT, ROUND_HALF_UP)

    @property
    def since(self) -> date:
        return _local_day(self.requested_at)

    @property
    def days_waiting(self) -> int:
        return max((self.today - self.since).days, 0)


def offers_waiting(session: Session, actor, today: date | None = None) -> list[WaitingOffer]:
    """The pending requests to approve an inquiry's offer, the longest waiting first."""
    require(actor)
    today = today or local_today()
    asked = User.__table__.alias("asked")
    author = User.__table__.alias("author")
    rows = session.execute(
        select(ApprovalRequest.id, Case.id, Case.title, Inquiry.department_id,
               Department.name, Case.amount, Case.cost, ApprovalRequest.step_key,
               ApprovalRequest.approver_id, asked.c.full_name, asked.c.email,
               ApprovalRequest.approver_role, Role.name, ApprovalRequest.requested_at,
               ApprovalRequest.requested_by_id, author.c.full_name, author.c.email,
               ApprovalRequest.reason)
        .select_from(ApprovalRequest)
        .join(Case, Case.id == ApprovalRequest.case_id)
        .outerjoin(Inquiry, Inquiry.case_id == Case.id)
        .outerjoin(Department, Department.id == Inquiry.department_id)
        .outerjoin(asked, asked.c.id == ApprovalRequest.approver_id)
        .outerjoin(Role, Role.key == ApprovalRequest.approver_role)
        .outerjoin(author, author.c.id == ApprovalRequest.requested_by_id)
        .where(ApprovalRequest.status == "pending", ApprovalRequest.transition == OFFER_STEP,
               Case.id.in_(_visible_inquiries(actor)))
        .order_by(ApprovalRequest.requested_at, ApprovalRequest.id)).all()
    return [WaitingOffer(
        request_id, case_id, title, department_id, department or "", amount, cost, step,
        approver_id, _user_name(approver_id, full_name, email)
        if approver_id is not None else (role_name or role_key or ""),
        requested_at, _user_name(author_id, author_name, author_email), today, reason)
        for (request_id, case_id, title, department_id, department, amount, cost, step,
             approver_id, full_name, email, role_key, role_name, requested_at, author_id,
             author_name, author_email, reason) in rows]


# --- Expert utilisation --------------------------------------------------------------

@dataclass
class ExpertLoad:
    expert_id: int
    name: str
    internal: bool
    department: str
    rate: Decimal
    open_hours: Decimal  # estimated for the inquiries not finished
    open_inquiries: int
    delivered_hours: Decimal  # of the opinions delivered in the period
    delivered: int
    absence_days: int = 0  # days of the period the expert is absent


@dataclass
class Utilisation:
    period: Period
    experts: list[ExpertLoad] = field(default_factory=list)  # the busiest first

    @property
    def open_hours(self) -> Decimal:
        return sum((x.open_hours for x in self.experts), Decimal("0.00"))

    @property
    def delivered_hours(self) -> Decimal:
        return sum((x.delivered_hours for x in self.experts), Decimal("0.00"))


def expert_utilisation(session: Session, actor, period_from, period_to) -> Utilisation:
    """Per expert, the hours of the inquiries whose opinion is still to be delivered
    and of the opinions delivered in the period, with the absences of the period; the
    busiest first (by hours to come, then by hours delivered). An expert no longer
    active is listed only with hours."""
    require(actor)
    within = period(period_from, period_to)
    visible = _visible_inquiries(actor)
    unfinished = (select(Assignment.expert_id, func.sum(Assignment.hours).label("hours"),
                         func.count(Assignment.case_id).label("cases"))
                  .join(Case, Case.id == Assignment.case_id)
                  .where(Case.id.in_(visible), Case.phase_key.not_in(process.WORK_DONE))
                  .group_by(Assignment.expert_id).subquery())
    delivered = (select(Assignment.expert_id, func.sum(Assignment.hours).label("hours"),
                        func.count(Assignment.case_id).label("cases"))
                 .where(Assignment.case_id.in_(visible),
                        Assignment.case_id.in_(_reached(DELIVERED, within)))
                 .group_by(Assignment.expert_id).subquery())
    rows = session.execute(
        select(Expert.id, Person.first_name, Person.last_name, Expert.internal,
               Department.name, Expert.hourly_rate, unfinished.c.hours, unfinished.c.cases,
               delivered.c.hours, delivered.c.cases)
        .join(Person, Person.id == Expert.person_id)
        .outerjoin(Department, Department.id == Expert.department_id)
        .outerjoin(unfinished, unfinished.c.expert_id == Expert.id)
        .outerjoin(delivered, delivered.c.expert_id == Expert.id)
        .where(Expert.deleted_at.is_(None),
               or_(Expert.active, unfinished.c.hours.is_not(None),
                   delivered.c.hours.is_not(None)))).all()
    found = [ExpertLoad(expert_id, f"{first} {last}".strip(), internal, department or "",
                        rate, _money(open_hours), int(open_count or 0), _money(done_hours),
                        int(done_count or 0))
             for expert_id, first, last, internal, department, rate, open_hours, open_count,
             done_hours, done_count in rows]
    absent = _absence_days(session, [x.expert_id for x in found], within)
    for load in found:
        load.absence_days = absent.get(load.expert_id, 0)
    found.sort(key=lambda x: (-x.open_hours, -x.delivered_hours, x.name.lower(),
                              x.expert_id))
    return Utilisation(within, found)


def _absence_days(session: Session, expert_ids: list[int], within: Period) -> dict[int, int]:
    """Days of the period each expert is absent, overlapping absences counted once."""
    if not expert_ids:
        return {}
    spans: dict[int, list[tuple[date, date]]] = {}
    for expert_id, starts, ends in session.execute(
            select(Absence.expert_id, Absence.starts_on, Absence.ends_on)
            .where(Absence.expert_id.in_(expert_ids), Absence.starts_on <= within.last,
                   Absence.ends_on >= within.first)
            .order_by(Absence.expert_id, Absence.starts_on)):
        spans.setdefault(expert_id, []).append((max(starts, within.first),
                                                min(ends, within.last)))
    days = {}
    for expert_id, found in spans.items():
        total, reached = 0, None
        for starts, ends in found:  # by start
            if reached is not None and starts <= reached:
                starts = reached + timedelta(days=1)
            if starts <= ends:
                total += (ends - starts).days + 1
            reached = ends if reached is None else max(reached, ends)
        days[expert_id] = total
    return days


# --- Deadlines at risk ---------------------------------------------------------------

@dataclass
class DeadlineAtRisk:
    case_id: int
    title: str
    due_on: date
    today: date
    court_id: int | None
    court: str  # empty unless the reader may see the court
    court_reference: str
    department_id: int | None
    department: str
    owner_id: int | None
    owner: str
    experts: list[str] = field(default_factory=list)

    @property
    def days_left(self) -> int:
        """Days from today to the deadline; below zero once it has passed."""
        return (self.due_on - self.today).days

    @property
    def overdue(self) -> bool:
        return self.due_on < self.today


def deadlines_at_risk(session: Session, actor, today: date | None = None,
                      days: int = DAYS) -> list[DeadlineAtRisk]:
    """The opinions being prepared (the offer accepted, not delivered yet) whose
    deadline has passed or comes within ``days`` days: the most overdue first."""
    require(actor)
    today = today or local_today()
    days = horizon(days)
    owner = User.__table__.alias("owner")
    courts = records.visible(Organisation, actor).with_only_columns(
        Organisation.id, Organisation.name).subquery()
    rows = session.execute(
        select(Case.id, Case.title, Inquiry.due_on, Inquiry.court_id, courts.c.name,
               Inquiry.court_reference, Inquiry.department_id, Department.name,
               Case.owner_id, owner.c.full_name, owner.c.email)
        .join(Inquiry, Inquiry.case_id == Case.id)
        .outerjoin(courts, courts.c.id == Inquiry.court_id)
        .outerjoin(Department, Department.id == Inquiry.department_id)
        .outerjoin(owner, owner.c.id == Case.owner_id)
        .where(Case.id.in_(_visible_inquiries(actor)), Case.phase_key == ACCEPTED,
               Inquiry.due_on.is_not(None), Inquiry.due_on <= today + timedelta(days=days))
        .order_by(Inquiry.due_on, Case.title, Case.id)).all()
    found = [DeadlineAtRisk(case_id, title, due_on, today, court_id, court or "", reference,
                            department_id, department or "", owner_id,
                            _user_name(owner_id, owner_name, owner_email))
             for case_id, title, due_on, court_id, court, reference, department_id,
             department, owner_id, owner_name, owner_email in rows]
    names = experts_of(session, [x.case_id for x in found])
    for entry in found:
        entry.experts = names.get(entry.case_id, [])
    return found


def experts_of(session: Session, case_ids: list[int]) -> dict[int, list[str]]:
    """The names of the experts estimated for each inquiry, by surname."""
    if not case_ids:
        return {}
    found: dict[int, list[str]] = {}
    for case_id, first, last in session.execute(
            select(Assignment.case_id, Person.first_name, Person.last_name)
            .join(Expert, Expert.id == Assignment.expert_id)
            .join(Person, Person.id == Expert.person_id)
            .where(Assignment.case_id.in_(case_ids))
            .order_by(Assignment.case_id, Person.last_name, Person.first_name)):
        found.setdefault(case_id, []).append(f"{first} {last}".strip())
    return found

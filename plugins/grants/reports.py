"""The grants reports, for whoever holds ``grants.reports``, on the pages of
``report_views.py`` and in the API of ``report_api.py``:

- grants won: the applications awarded on a day of the period (the field "awarded on"),
  counted and their awarded amounts summed by month, quarter or year, with the
  applications behind the figures;
- clients in durability: the applications in the durability phase, each with its
  indicators' targets and latest values (from the latest delivered report giving one, as
  ``durability.latest_reported`` reads them: a report not delivered yet is a draft) and
  its next report;
- overdue obligations: payment requests not submitted and durability reports not
  delivered by their date, the longest overdue first;
- clients at risk: the applications ``durability.at_risk`` finds (a report overdue, an
  indicator's latest value below ``at_risk_percent`` of its target), with its reasons.

Only the applications the reader may see are counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import permissions, records
from core.errors import Forbidden, ValidationError
from core.field_sql import CustomValue
from core.filters import today as local_today
from core.models import Case, Organisation, User
from core.report_periods import Period
from plugins.grants import deadlines, durability
from plugins.grants.fields import (
    APPLICATION,
    AWARDED,
    AWARDED_ON,
    DURABILITY_YEARS,
    PROJECT_END,
)
from plugins.grants.models import DurabilityReport, Indicator
from plugins.grants.permissions import REPORTS

WON = ("awarded", "agreement", "settled", "durability", "closed")  # awarded, or past it
DURABILITY = "durability"
GROUPINGS = ("month", "quarter", "year")
MAX_BUCKETS = 240  # a longer period lists only the months (quarters, years) with grants
ENTRIES_MAX = 1000  # the longest list of applications a report gives
OVERDUE_KINDS = (deadlines.PAYMENT_REQUEST, deadlines.DURABILITY_REPORT)


def require(actor) -> None:
    """The reports are for holders of ``grants.reports``."""
    if not permissions.can(actor, REPORTS):
        raise Forbidden(_("You may not read the grants reports."))


def grouping(value: str | None) -> str:
    """How grants won are summed: by month (the default), quarter or year."""
    value = value or GROUPINGS[0]
    if value not in GROUPINGS:
        raise ValidationError({"by": _("Sum by month, quarter or year.")})
    return value


def _applications(actor):
    """The grant applications ``actor`` may see."""
    return records.visible(Case, actor).where(Case.process_key == APPLICATION)


def _names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    ids = set(ids) - {None}
    if not ids:
        return {}
    return {u.id: u.full_name or u.email
            for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _clients(session: Session, actor, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the client firms ``actor`` may see."""
    ids = set(ids) - {None}
    if not ids:
        return {}
    return dict(session.execute(records.visible(Organisation, actor).where(
        Organisation.id.in_(ids)).with_only_columns(Organisation.id, Organisation.name)).all())


def money_of(value) -> tuple[Decimal | None, str]:
    """A money field's stored value as (amount, currency)."""
    if isinstance(value, dict):
        amount, currency = value.get("amount"), value.get("currency") or "PLN"
    else:
        amount, currency = value, "PLN"
    if amount in (None, ""):
        return None, currency
    try:
        return Decimal(str(amount)), currency
    except InvalidOperation:
        return None, currency


def date_of(value) -> date | None:
    """A date field's stored value (ISO text) as a date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --- Grants won ----------------------------------------------------------------------

@dataclass
class Award:
    """One application behind the figures."""

    case_id: int
    title: str
    organisation_id: int | None
    client: str
    owner_id: int | None
    owner: str
    awarded_on: date
    amount: Decimal | None
    currency: str


@dataclass
class WonLine:
    """The grants awarded in one month, quarter or year, in one currency."""

    first: date  # the first day of the month, quarter or year
    grouping: str
    currency: str = "PLN"
    count: int = 0
    amount: Decimal = Decimal(0)
    case_ids: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.grouping == "year":
            return str(self.first.year)
        if self.grouping == "quarter":
            return f"{self.first.year} Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.year}-{self.first.month:02d}"


@dataclass
class GrantsWon:
    period: Period
    grouping: str
    lines: list[WonLine]
    count: int
    totals: dict[str, Decimal]  # currency -> amount
    awards: list[Award]  # the first ENTRIES_MAX, by day awarded
    more: int = 0


def grants_won(session: Session, actor, within: Period, by: str = "month") -> GrantsWon:
    """The applications awarded in the period (in an awarded phase or past it, with the
    day awarded in the period), counted and summed per month, quarter or year."""
    require(actor)
    by = grouping(by)
    awarded_on = CustomValue(Case.custom, AWARDED_ON, "date")
    cases = list(session.scalars(_applications(actor).where(
        Case.phase_key.in_(WON), awarded_on >= within.first.isoformat(),
        awarded_on <= within.last.isoformat()).order_by(Case.id)))
    names = _names(session, [c.owner_id for c in cases])
    clients = _clients(session, actor, [c.organisation_id for c in cases])
    awards = []
    for case in cases:
        day = date_of(case.custom.get(AWARDED_ON))
        if day is None or not within.first <= day <= within.last:
            continue
        amount, currency = money_of(case.custom.get(AWARDED))
        awards.append(Award(case.id, case.title, case.organisation_id,
                            clients.get(case.organisation_id, ""), case.owner_id,
                            names.get(case.owner_id, ""), day, amount, currency))
    awards.sort(key=lambda a: (a.awarded_on, a.case_id))
    lines: dict[tuple[date, str], WonLine] = {}
    totals: dict[str, Decimal] = {}
    for award in awards:
        first = bucket(award.awarded_on, by)
        line = lines.setdefault((first, award.currency), WonLine(first, by, award.currency))
        line.count += 1
        line.amount += award.amount or 0
        line.case_ids.append(award.case_id)
        totals[award.currency] = totals.get(award.currency, Decimal(0)) + (award.amount or 0)
    _fill(lines, within, by)
    ordered = sorted(lines.values(), key=lambda x: (x.first, x.currency != "PLN", x.currency))
    return GrantsWon(within, by, ordered, len(awards), totals or {"PLN": Decimal(0)},
                     awards[:ENTRIES_MAX], max(len(awards) - ENTRIES_MAX, 0))


def bucket(day: date, by: str) -> date:
    """The first day of ``day``'s month, quarter or year."""
    if by == "year":
        return day.replace(month=1, day=1)
    if by == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(day=1)


def _fill(lines: dict, within: Period, by: str) -> None:
    """Every month (quarter, year) of the period is listed, those without grants with
    zeros, unless there are too many of them to read."""
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    firsts, step = [], bucket(within.first, by)
    while step <= within.last and len(firsts) <= MAX_BUCKETS:
        firsts.append(step)
        month = step.month - 1 + months
        step = date(step.year + month // 12, month % 12 + 1, 1)
    if len(firsts) > MAX_BUCKETS:
        return
    for first in firsts:
        if not any(key[0] == first for key in lines):
            lines[(first, "PLN")] = WonLine(first, by)


# --- Clients in durability -----------------------------------------------------------

@dataclass
class IndicatorLine:
    indicator_id: int
    name: str
    unit: str
    baseline: Decimal
    target: Decimal
    latest: Decimal | None = None  # from the latest delivered report giving a value
    latest_period_end: date | None = None

    @property
    def reached(self) -> bool | None:
        """Whether the latest value reaches the target; None before any is reported."""
        return None if self.latest is None else self.latest >= self.target


@dataclass
class NextReport:
    report_id: int
    position: int
    period_start: date
    period_end: date
    due_on: date
    today: date

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days

    @property
    def overdue(self) -> bool:
        return self.due_on < self.today


@dataclass
class InDurability:
    case_id: int
    title: str
    organisation_id: int | None
    client: str
    owner_id: int | None
    owner: str
    project_end: date | None
    years: int | None
    indicators: list[IndicatorLine]
    next_report: NextReport | None
    delivered: int  # reports delivered so far
    due: int  # reports still to deliver


def in_durability(session: Session, actor, today: date | None = None) -> list[InDurability]:
    """The applications in the durability phase, by client and title, each with its
    indicators' latest values and its next report."""
    require(actor)
    today = today or local_today()
    cases = list(session.scalars(_applications(actor).where(Case.phase_key == DURABILITY)
                                 .order_by(Case.title, Case.id)))
    ids = [c.id for c in cases]
    indicators = _indicators(session, ids)
    reports = _reports(session, ids)
    names = _names(session, [c.owner_id for c in cases])
    clients = _clients(session, actor, [c.organisation_id for c in cases])
    found = []
    for case in cases:
        own = reports.get(case.id, [])
        waiting = [r for r in own if r.status != "delivered"]
        upcoming = min(waiting, key=lambda r: (r.due_on, r.position), default=None)
        found.append(InDurability(
            case.id, case.title, case.organisation_id, clients.get(case.organisation_id, ""),
            case.owner_id, names.get(case.owner_id, ""), date_of(case.custom.get(PROJECT_END)),
            _whole(case.custom.get(DURABILITY_YEARS)), indicators.get(case.id, []),
            NextReport(upcoming.id, upcoming.position, upcoming.period_start,
                       upcoming.period_end, upcoming.due_on, today) if upcoming else None,
            len(own) - len(waiting), len(waiting)))
    return sorted(found, key=lambda x: (x.client.lower(), x.title.lower(), x.case_id))


def _whole(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _indicators(session: Session, case_ids: list[int]) -> dict[int, list[IndicatorLine]]:
    if not case_ids:
        return {}
    found: dict[int, list[IndicatorLine]] = {}
    lines: dict[int, IndicatorLine] = {}
    for row in session.scalars(select(Indicator).where(Indicator.case_id.in_(case_ids))
                               .order_by(Indicator.case_id, Indicator.position)):
        line = IndicatorLine(row.id, row.name, row.unit, row.baseline, row.target)
        found.setdefault(row.case_id, []).append(line)
        lines[row.id] = line
    # The values the risk is judged by: delivered ones only.
    for indicator_id, (value, period_end) in durability.latest_reported(
            session, case_ids).items():
        if indicator_id in lines:
            lines[indicator_id].latest, lines[indicator_id].latest_period_end = value, period_end
    return found


def _reports(session: Session, case_ids: list[int]) -> dict[int, list[DurabilityReport]]:
    if not case_ids:
        return {}
    found: dict[int, list[DurabilityReport]] = {}
    for report in session.scalars(select(DurabilityReport).where(
            DurabilityReport.case_id.in_(case_ids), DurabilityReport.deleted_at.is_(None))
            .order_by(DurabilityReport.position)):
        found.setdefault(report.case_id, []).append(report)
    return found


# --- Overdue obligations -------------------------------------------------------------

@dataclass
class Overdue:
    obligations: list[deadlines.Obligation]  # the longest overdue first
    counts: dict[str, int]  # kind -> how many


def overdue(session: Session, actor, today: date | None = None) -> Overdue:
    """Payment requests not submitted and durability reports not delivered by their
    date, over the applications ``actor`` may see."""
    require(actor)
    found = deadlines.overdue(session, actor, kinds=OVERDUE_KINDS, today=today)
    counts = {kind: sum(1 for o in found if o.kind == kind) for kind in OVERDUE_KINDS}
    return Overdue(found, counts)


# --- Clients at risk -----------------------------------------------------------------

@dataclass
class AtRisk:
    case_id: int
    title: str
    organisation_id: int | None
    client: str
    owner_id: int | None
    owner: str
    reasons: list[str]


def at_risk(session: Session, actor, today: date | None = None) -> list[AtRisk]:
    """The applications in durability at risk of missing a target or a report, as
    ``durability.at_risk`` finds them, of those ``actor`` may see, by client and title."""
    require(actor)
    found = durability.at_risk(session, today=today, actor=actor)
    names = _names(session, [r.case.owner_id for r in found])
    lines = [AtRisk(r.case.id, r.case.title, r.case.organisation_id,
                    r.organisation.name if r.organisation is not None else "",
                    r.case.owner_id, names.get(r.case.owner_id, ""), list(r.reasons))
             for r in found]
    return sorted(lines, key=lambda x: (x.client.lower(), x.title.lower(), x.case_id))

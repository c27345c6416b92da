"""Key figures of the start page, each counted over what the person may see: open cases
by phase, overdue invoices (for those who bill), activity per week and the latest
entries of the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from core import invoices, permissions, records, timeline, workflow
from core.models import Activity, Case, Invoice

WEEKS = 8  # weeks of activity shown
RECENT = 8  # entries of the history shown


@dataclass
class Bar:
    label: str
    value: int
    day: date | None = None  # a week's Monday


@dataclass
class Overdue:
    currency: str
    count: int
    amount: Decimal


def cases_by_phase(session: Session, host, actor) -> list[tuple[str, list[Bar]]]:
    """Per process, its open cases in each phase that is not final, in the phases' order."""
    visible = records.visible(Case, actor).with_only_columns(Case.id)
    counts = dict(((process, phase), n) for process, phase, n in session.execute(
        select(Case.process_key, Case.phase_key, func.count())
        .where(Case.id.in_(visible)).group_by(Case.process_key, Case.phase_key)))
    found = []
    for key, process in host.processes.items():
        bars = [Bar(workflow.phase_name(process, phase.key), counts.get((key, phase.key), 0))
                for phase in process.phases if not phase.final]
        if any(bar.value for bar in bars):
            found.append((workflow.localised(process.title) or key, bars))
    return found


def overdue_invoices(session: Session, actor, today: date) -> list[Overdue] | None:
    """Overdue invoices per currency, what is still owed of them; None for those who do
    not bill."""
    if not permissions.can(actor, invoices.PERMISSION):
        return None
    rows = invoices.overdue_query(today).order_by(None)
    scope = invoices.party_scope(Invoice, actor)
    if scope is not None:
        rows = rows.where(scope)
    rows = rows.subquery()
    return [Overdue(currency, n, Decimal(owed)) for currency, n, owed in session.execute(
        select(rows.c.currency, func.count(), func.sum(rows.c.to_pay - rows.c.paid))
        .group_by(rows.c.currency).order_by(rows.c.currency))]


def activity_per_week(session: Session, actor, today: date, zone) -> list[Bar]:
    """Entries of the history per week (Monday to Sunday), the last ``WEEKS`` weeks."""
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    edges = [datetime.combine(day, time(), zone).astimezone(UTC)
             for day in [*starts, monday + timedelta(weeks=1)]]
    when = timeline.seen(select(Activity.occurred_at).where(
        Activity.occurred_at >= edges[0], Activity.occurred_at < edges[-1]), actor).subquery()
    counts = session.execute(select(*(  # counted by the database: one row, a sum per week
        func.coalesce(func.sum(case((and_(when.c.occurred_at >= start,
                                          when.c.occurred_at < end), 1), else_=0)), 0)
        for start, end in zip(edges, edges[1:], strict=False)))).one()
    return [Bar(day.isoformat(), int(n), day) for day, n in zip(starts, counts, strict=True)]


def recent(session: Session, actor) -> list[Activity]:
    """The latest entries of the history the person may see."""
    return list(session.scalars(timeline.seen(select(Activity), actor)
                                .order_by(Activity.occurred_at.desc(), Activity.id.desc())
                                .limit(RECENT).options(selectinload(Activity.links))))

"""The installer's reports: the pipeline by phase with its value, the crews' work in
progress, and how many leads of a period became contracts and completed installations,
by where they came from. Only the installations the reader may see are counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import records
from core.filters import zone
from core.models import Case, PhaseChange
from core.workflow import phase_name
from plugins.photovoltaics import assignments, crews
from plugins.photovoltaics.process import INSTALLATION

REPORTS = "photovoltaics.reports"
SIGNED = ("advance_payment", "installation", "final_payment", "completed")  # past contract


@dataclass
class PhaseLine:
    key: str
    name: str
    count: int
    value: Decimal


@dataclass
class CrewLine:
    crew_id: int
    name: str
    planned: int  # jobs not reported yet
    days_ahead: int  # days booked in the coming 30
    done: int  # jobs reported in the last 30 days


@dataclass
class SourceLine:
    source: str
    leads: int
    contracts: int
    completed: int
    lost: int

    @property
    def rate(self) -> Decimal | None:
        """The share of leads that became contracts (0.25 is 25%)."""
        return Decimal(self.contracts) / self.leads if self.leads else None


def pipeline(session: Session, actor) -> list[PhaseLine]:
    """Every phase of the installations with how many are in it and their value."""
    query = records.visible(Case, actor).where(Case.process_key == INSTALLATION.key) \
        .with_only_columns(Case.phase_key, func.count(), func.coalesce(func.sum(Case.amount), 0)) \
        .group_by(Case.phase_key)
    found = {key: (count, Decimal(value)) for key, count, value in session.execute(query)}
    return [PhaseLine(p.key, phase_name(INSTALLATION, p.key), *found.get(p.key, (0, Decimal(0))))
            for p in INSTALLATION.phases]


def by_crew(session: Session, today: date) -> list[CrewLine]:
    """Each crew in use with its open jobs, its days booked ahead and its recent work."""
    lines = []
    for crew in crews.listed(session):
        jobs = assignments.of_crew(session, crew, since=today - timedelta(days=30))
        ahead = {day for job in jobs if job.reported_at is None
                 for day in assignments.days_of(job) if today <= day < today + timedelta(days=30)}
        recent = _since(today - timedelta(days=30))
        lines.append(CrewLine(crew.id, crew.name, sum(1 for j in jobs if j.reported_at is None),
                              len(ahead), sum(1 for j in jobs if j.reported_at is not None
                                              and j.reported_at >= recent)))
    return lines


def conversion(session: Session, actor, first: date, last: date) -> list[SourceLine]:
    """The leads opened from ``first`` to ``last``, by source, and how far they got;
    the last line adds them all up."""
    opened = records.visible(Case, actor).where(
        Case.process_key == INSTALLATION.key, Case.created_at >= _since(first),
        Case.created_at < _since(last + timedelta(days=1)))
    reached = _reached(session, opened)
    by_source: dict[str, SourceLine] = {}
    for case in session.scalars(opened):
        source = (case.custom or {}).get("photovoltaics_source") or ""
        line = by_source.setdefault(source, SourceLine(source, 0, 0, 0, 0))
        line.leads += 1
        steps = reached.get(case.id, set())
        line.contracts += bool(steps & set(SIGNED))
        line.completed += "completed" in steps
        line.lost += case.phase_key == "lost"
    lines = sorted(by_source.values(), key=lambda line: (-line.leads, line.source))
    total = SourceLine("*", *(sum(getattr(x, f) for x in lines)
                              for f in ("leads", "contracts", "completed", "lost")))
    return [*lines, total]


def _reached(session: Session, opened) -> dict[int, set[str]]:
    """The phases each of the cases ever entered."""
    ids = opened.with_only_columns(Case.id)
    found: dict[int, set[str]] = {}
    for case_id, phase in session.execute(select(PhaseChange.case_id, PhaseChange.to_phase)
                                          .where(PhaseChange.case_id.in_(ids))):
        found.setdefault(case_id, set()).add(phase)
    return found


def _since(day: date) -> datetime:
    return datetime.combine(day, time(), zone())

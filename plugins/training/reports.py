"""Reports on trainings (TR-3, TR-5): how often each member unit sends people, and who of
a unit attended what and when. A training counts on its day (``settlement.day_of``);
only the units and people the reader may see are listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from core import records
from core.models import Case, Organisation, Person
from plugins.training.models import Enrolment
from plugins.training.settlement import day_of


@dataclass
class UnitLine:
    """A member unit's attendance in a period."""

    organisation_id: int
    name: str
    people: int  # different people who attended
    attendances: int  # person × training
    trainings: int
    last: date | None


@dataclass
class Attendance:
    person_id: int
    name: str
    case_id: int
    training: str
    day: date


def units(session: Session, actor, start: date | None = None, end: date | None = None
          ) -> list[UnitLine]:
    """Each unit that sent anyone who attended in the period, the most active first."""
    by_unit: dict[int, list[Attendance]] = {}
    for unit_id, line in _attended(session, actor, start, end):
        by_unit.setdefault(unit_id, []).append(line)
    names = dict(session.execute(records.visible(Organisation, actor).with_only_columns(
        Organisation.id, Organisation.name).where(Organisation.id.in_(list(by_unit))))
        .all()) if by_unit else {}
    lines = [UnitLine(unit_id, names[unit_id], len({a.person_id for a in rows}), len(rows),
                      len({a.case_id for a in rows}), max(a.day for a in rows))
             for unit_id, rows in by_unit.items() if unit_id in names]
    return sorted(lines, key=lambda line: (-line.attendances, line.name))


def of_unit(session: Session, actor, organisation_id: int, start: date | None = None,
            end: date | None = None) -> list[Attendance]:
    """Who of the unit attended what and when, the latest first."""
    rows = [line for unit_id, line in _attended(session, actor, start, end,
                                                organisation_id) if unit_id == organisation_id]
    return sorted(rows, key=lambda a: (a.day, a.name), reverse=True)


def _attended(session: Session, actor, start, end, organisation_id: int | None = None):
    query = (records.visible(Enrolment, actor).add_columns(Case, Person)
             .join(Case, Case.id == Enrolment.case_id)
             .join(Person, Person.id == Enrolment.person_id)
             .where(Enrolment.status == "attended", Enrolment.organisation_id.is_not(None),
                    Case.deleted_at.is_(None), Person.deleted_at.is_(None),
                    Person.id.in_(records.visible(Person, actor).with_only_columns(Person.id))))
    if organisation_id is not None:
        query = query.where(Enrolment.organisation_id == organisation_id)
    for row, case, person in session.execute(query):
        day = day_of(case)
        if (start is None or day >= start) and (end is None or day <= end):
            yield row.organisation_id, Attendance(person.id, person.full_name, case.id,
                                                  case.title, day)

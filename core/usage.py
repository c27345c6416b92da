"""Usage monitoring: active users, records added, reports and exports, per period.

Records added are counted from the records' own ``created_at``, so nothing extra is
written on the hot path; logins, exports and reports are recorded as usage events.
A summary can be compared with the period before, so a manager sees when use drops, and
each measure drawn day by day (week by week over a long period), the days being those of
the installation's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import case, distinct, func, select, union_all
from sqlalchemy.orm import Session

from core import records
from core.db import utcnow
from core.models import UsageEvent

EVENT_KINDS = ("login", "export", "report")
# What a summary measures, in the order the page shows them; the events behind each count.
MEASURES = ("active_users", "logins", "records_added", "exports", "reports")
COUNTED_KINDS = {"logins": "login", "exports": "export", "reports": "report"}
WEEKLY_OVER = 31  # a period of more days is drawn week by week, not day by day


def record(session: Session, kind: str, user=None, record_type: str = "") -> None:
    """Note that something was used (a login, an export, a report run)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown usage kind '{kind}'")
    session.add(UsageEvent(kind=kind, user_id=getattr(user, "id", None),
                           record_type=record_type, occurred_at=utcnow()))


@dataclass
class Summary:
    start: datetime
    end: datetime
    active_users: int = 0
    logins: int = 0
    exports: int = 0
    reports: int = 0
    created: dict[str, int] = field(default_factory=dict)

    @property
    def records_added(self) -> int:
        return sum(self.created.values())


def summary(session: Session, start: datetime, end: datetime) -> Summary:
    """What happened in [start, end)."""
    in_period = (UsageEvent.occurred_at >= start) & (UsageEvent.occurred_at < end)
    result = Summary(start, end)
    result.active_users = session.scalar(
        select(func.count(distinct(UsageEvent.user_id))).where(in_period)) or 0
    counts = dict(session.execute(select(UsageEvent.kind, func.count()).where(in_period)
                                  .group_by(UsageEvent.kind)).all())
    result.logins = counts.get("login", 0)
    result.exports = counts.get("export", 0)
    result.reports = counts.get("report", 0)
    for key, model in _added_types():
        result.created[key] = session.scalar(
            select(func.count()).select_from(model)
            .where(model.created_at >= start, model.created_at < end)) or 0
    return result


def _added_types() -> list[tuple[str, type]]:
    """The record types whose records added are counted: those people create and delete."""
    return [(key, model) for key, model in sorted(records.record_types().items())
            if hasattr(model, "created_at") and hasattr(model, "deleted_at")]


@dataclass
class Comparison:
    current: Summary
    previous: Summary

    def change(self, measure: str) -> float | None:
        """Relative change of a measure in per cent; None when the previous was zero."""
        before, now = getattr(self.previous, measure), getattr(self.current, measure)
        return None if before == 0 else round((now - before) * 100 / before, 1)


def compare(session: Session, start: datetime, end: datetime | None = None,
            before: datetime | None = None) -> Comparison:
    """This period against the one just before it, from ``before`` (by default as long)."""
    end = end or utcnow()
    return Comparison(summary(session, start, end),
                      summary(session, before or start - (end - start), start))


def midnight(day: date, zone: tzinfo) -> datetime:
    """When ``day`` begins in ``zone``, in UTC."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def last_days(today: date, days: int, zone: tzinfo) -> tuple[datetime, datetime, datetime]:
    """The ``days`` local days up to and including ``today``, and as many before them:
    the start of the previous period, the start of this one and its end."""
    first = today - timedelta(days=days - 1)
    return (midnight(first - timedelta(days=days), zone), midnight(first, zone),
            midnight(today + timedelta(days=1), zone))


@dataclass
class Point:
    """One day of a period, or one week of a long period, and what it counted."""
    first: date
    last: date
    value: int


def series(session: Session, measure: str, first: date, days: int, zone: tzinfo
           ) -> list[Point]:
    """``measure`` day by day over the ``days`` local days from ``first`` (week by week
    over a long period), counted by the database in one grouped query."""
    step = 7 if days > WEEKLY_OVER else 1
    starts = [first + timedelta(days=n) for n in range(0, days, step)]
    ends = [*starts[1:], first + timedelta(days=days)]
    edges = [midnight(day, zone) for day in ends]
    rows = _rows(measure, midnight(first, zone), edges[-1]).subquery()
    # Each row's day (or week) is the first whose end is after it: a number per row.
    bucket = case(*((rows.c.at < edge, n) for n, edge in enumerate(edges))).label("bucket")
    marked = select(bucket, *([rows.c.user_id] if measure == "active_users" else [])).subquery()
    counted = func.count(distinct(marked.c.user_id)) if measure == "active_users" \
        else func.count()
    found = dict(session.execute(select(marked.c.bucket, counted)
                                 .group_by(marked.c.bucket)).all())
    return [Point(start, end - timedelta(days=1), found.get(n, 0))
            for n, (start, end) in enumerate(zip(starts, ends, strict=True))]


def _rows(measure: str, start: datetime, end: datetime):
    """A row for each thing ``measure`` counts in [start, end), its time as ``at``."""
    if measure == "records_added":
        return union_all(*(select(model.created_at.label("at"))
                           .where(model.created_at >= start, model.created_at < end)
                           for _key, model in _added_types()))
    query = select(UsageEvent.occurred_at.label("at"), UsageEvent.user_id).where(
        UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end)
    if measure == "active_users":
        return query.where(UsageEvent.user_id.is_not(None))
    if measure not in COUNTED_KINDS:
        raise ValueError(f"unknown usage measure '{measure}'")
    return query.where(UsageEvent.kind == COUNTED_KINDS[measure])

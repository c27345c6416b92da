"""Usage monitoring: active users, records added, reports and exports, per period.

Records added are counted from the records' own ``created_at``, so nothing extra is
written on the hot path; logins, exports and reports are recorded as usage events.
A summary can be compared with the period before, so a manager sees when use drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core import records
from core.db import utcnow
from core.models import UsageEvent

EVENT_KINDS = ("login", "export", "report")


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
    for key, model in sorted(records.record_types().items()):
        if hasattr(model, "created_at") and hasattr(model, "deleted_at"):
            result.created[key] = session.scalar(
                select(func.count()).select_from(model)
                .where(model.created_at >= start, model.created_at < end)) or 0
    return result


@dataclass
class Comparison:
    current: Summary
    previous: Summary

    def change(self, measure: str) -> float | None:
        """Relative change of a measure in per cent; None when the previous was zero."""
        before, now = getattr(self.previous, measure), getattr(self.current, measure)
        return None if before == 0 else round((now - before) * 100 / before, 1)


def compare(session: Session, start: datetime, end: datetime | None = None) -> Comparison:
    """This period against the one of the same length just before it."""
    end = end or utcnow()
    length = end - start
    return Comparison(summary(session, start, end),
                      summary(session, start - length, start))

"""A billing run: one period billed by the strategies, once.

The period is the run's key, so asking to bill a period again finds its run (the lock
per period); a worker holds the run by a lease it renews as it goes, and a run whose
worker died is taken over when the lease runs out.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

STATES = ("queued", "running", "done", "failed")


class BillingRun(Base):
    __tablename__ = "billing_runs"
    __table_args__ = (UniqueConstraint("period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    strategies: Mapped[list] = mapped_column(JSONType, default=list)
    issue: Mapped[bool] = mapped_column(default=False)  # issue the invoices, or leave drafts
    issue_date: Mapped[date | None] = mapped_column()  # of what it issues; the day it runs
    state: Mapped[str] = mapped_column(String(10), default="queued")
    # What it made, counted as it goes: {"items": 3, "invoices": 2, "expected": 1}.
    made: Mapped[dict] = mapped_column(JSONType, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holder: Mapped[str] = mapped_column(String(64), default="")  # the worker's own token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

"""Background jobs as people see them: what runs, for whom, and how far it has got.

The queue itself (Huey) only carries "run job 42"; this row is what the progress bar,
the retry and the result page read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

STATES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # "mailing.queue", ...
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column()
    # What the job works on ({"mailing_id": 3}) and what it left ({"sent": 120}).
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[dict] = mapped_column(JSONType, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written with each progress report: a running job whose worker died goes quiet,
    # and is queued again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

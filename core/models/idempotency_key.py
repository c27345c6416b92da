"""Idempotency keys of API calls: a retried POST gets the answer of the first one.

A row is written, and committed, as a call with an ``Idempotency-Key`` starts; it holds
the answer once the call has one. ``fingerprint`` is the SHA-256 of who called (token or
account), the method, the path and the key, so a key means nothing to another caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str] = mapped_column(String(40))  # "token:12" or "user:3"
    request_hash: Mapped[str] = mapped_column(String(64))  # of the query string and body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The answer; no status: the call is still in flight.
    status: Mapped[int | None] = mapped_column()
    headers: Mapped[dict] = mapped_column(JSONType, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)

"""Configuration that takes effect without a restart, in every process.

Field definitions and term overrides are read often and changed rarely, so each process
keeps them in a cache. A change bumps a counter in ``config_stamps`` in the same
transaction; ``Cached.get`` compares the counter (one primary-key read) and rebuilds
the cache when another process has moved it on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import ConfigStamp

T = TypeVar("T")


def current(session: Session, name: str) -> int:
    return session.scalar(select(ConfigStamp.version).where(ConfigStamp.name == name)) or 0


def bump(session: Session, name: str) -> None:
    """Mark ``name`` changed; call inside the transaction that changes it."""
    changed = session.execute(update(ConfigStamp).where(ConfigStamp.name == name)
                              .values(version=ConfigStamp.version + 1)).rowcount
    if not changed:
        session.add(ConfigStamp(name=name, version=1))
    session.flush()


class Cached(Generic[T]):
    """A value built from the database, rebuilt when its stamp moves."""

    def __init__(self, name: str, build: Callable[[Session], T]):
        self.name, self.build = name, build
        self._lock = threading.Lock()
        self._version: int | None = None
        self._value: T | None = None

    def get(self, session: Session) -> T:
        version = current(session, self.name)
        with self._lock:
            if version != self._version:
                self._value, self._version = self.build(session), version
            return self._value  # type: ignore[return-value]

"""Number series: ``UM/{year}/{seq:04}``, unique and without gaps.

A number is taken in the transaction of the document that carries it: the counter row
is incremented there, so a rolled-back document gives its number back and two
documents issued at once wait for each other (the row is locked on PostgreSQL; SQLite
has one writer) rather than share one. The counter starts again each year or month, or
never, and the pattern must then name that period, so numbers stay unique.
"""

from __future__ import annotations

import re
import string
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, permissions
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import NumberCounter, NumberSeries
from core.models.document import RESETS

FIELDS = {"year", "month", "day", "seq"}
_KEY = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def check_pattern(pattern: str, reset: str) -> dict[str, str]:
    """What is wrong with a pattern, keyed "pattern" (empty: nothing)."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        return {"pattern": _("Close every brace: {year}, {month}, {seq}.")}
    names = [name for _text, name, _spec, _conv in parts if name is not None]
    unknown = sorted(set(names) - FIELDS)
    if unknown:
        return {"pattern": _("Unknown part %(name)s; use {year}, {month}, {day} and {seq}.",
                             name="{" + unknown[0] + "}")}
    if "seq" not in names:
        return {"pattern": _("The pattern needs {seq}, the running number.")}
    if reset == "yearly" and "year" not in names:
        return {"pattern": _("A series that starts again each year needs {year}.")}
    if reset == "monthly" and not {"year", "month"} <= set(names):
        return {"pattern": _("A series that starts again each month needs {year} and "
                             "{month}.")}
    try:
        format_number(pattern, utcnow(), 1)
    except (ValueError, TypeError):
        return {"pattern": _("Write the parts as {year}, {month}, {seq} or {seq:04}.")}
    if len(pattern) > 100:
        return {"pattern": _("At most %(n)d characters.", n=100)}
    return {}


def format_number(pattern: str, when: datetime, seq: int) -> str:
    return pattern.format(year=when.year, month=f"{when.month:02d}", day=f"{when.day:02d}",
                          seq=seq)


def save_series(session: Session, key: str, name: str, pattern: str, reset: str,
                actor=None) -> NumberSeries:
    """Add a series or change one; every problem named at once."""
    if not permissions.can(actor, "core.manage_templates"):
        raise Forbidden(_("You may not change templates."))
    errors = {}
    if not _KEY.match(key or ""):
        errors["key"] = _("Use lower-case letters, digits, dots and underscores.")
    if not name.strip():
        errors["name"] = _("Enter a name.")
    if reset not in RESETS:
        errors["reset"] = _("Choose when the numbering starts again.")
    else:
        errors.update(check_pattern(pattern, reset))
    if not errors and session.scalar(select(NumberSeries.key).where(
            NumberSeries.pattern == pattern, NumberSeries.key != key)):
        errors["pattern"] = _("Another series numbers this way; make the pattern tell them "
                              "apart (OF/PV/{year}/{seq}).")
    if errors:
        raise ValidationError(errors)
    series = session.get(NumberSeries, key)
    before = None if series is None else (series.name, series.pattern, series.reset)
    if series is None:
        series = NumberSeries(key=key)
        session.add(series)
    series.name, series.pattern, series.reset = name.strip(), pattern, reset
    session.flush()
    audit.event(session, "update" if before else "create", "number_series",
                {"key": key, "pattern": [before and before[1], pattern], "reset": reset},
                actor, summary=name.strip())
    return series


def period_of(reset: str, when: datetime) -> str:
    return {"yearly": f"{when.year}", "monthly": f"{when.year}-{when.month:02d}"}.get(reset, "")


def issue(session: Session, key: str, when: datetime | None = None) -> str:
    """The next number of series ``key``, taken in the caller's transaction."""
    series = session.get(NumberSeries, key)
    if series is None:
        raise ValidationError({"series": _("There is no number series “%(key)s”.", key=key)})
    when = when or utcnow()
    period = period_of(series.reset, when)
    seq = _increment(session, key, period)
    if seq is None:
        try:
            with session.begin_nested():
                session.add(NumberCounter(series_key=key, period=period, last=1))
            seq = 1
        except IntegrityError:
            # Another transaction opened the period first; take the next one after it.
            seq = _increment(session, key, period)
    return format_number(series.pattern, when, seq)


def _increment(session: Session, key: str, period: str) -> int | None:
    statement = (update(NumberCounter)
                 .where(NumberCounter.series_key == key, NumberCounter.period == period)
                 .values(last=NumberCounter.last + 1).returning(NumberCounter.last)
                 .execution_options(synchronize_session=False))
    return session.scalar(statement)


def last_issued(session: Session, key: str, period: str) -> int:
    return session.scalar(select(NumberCounter.last).where(
        NumberCounter.series_key == key, NumberCounter.period == period)) or 0

"""The period a report covers, as its readers give it: ``from`` and ``to`` (dates, or
YYYY-MM-DD), by default from the beginning of the year (or month) up to today, in the
installation's time zone. What cannot be used is refused under the name of its field,
and ``checked``/``every`` gather the refusals of several filters so that all are told
at once, on a report page next to their fields or in one answer of the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from core.errors import ValidationError
from core.filters import today, zone

YEARS = (1900, 9000)  # far enough from the ends of datetime to convert between zones


@dataclass(frozen=True)
class Period:
    """Whole days from ``first`` to ``last``, both included, in the installation's zone."""

    first: date
    last: date

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """Midnight of the first day, in the installation's zone."""
        return datetime.combine(self.first, time(), zone())

    @property
    def end(self) -> datetime:
        """Midnight after the last day, in the installation's zone: the first instant
        not in the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), zone())

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants the period starts at and ends before: what a stored time
        (a phase change's, say) is compared with."""
        return self.start.astimezone(UTC), self.end.astimezone(UTC)


def period(first: date | str | None, last: date | str | None, default: str = "year"
           ) -> Period:
    """The period from ``first`` to ``last`` (dates, or YYYY-MM-DD); ``last`` defaults to
    today, ``first`` to the beginning of ``last``'s year (or month, ``default="month"``).
    What cannot be used is refused under ``from`` or ``to``."""
    errors: dict[str, str] = {}
    first_day, last_day = day(first, "from", errors), day(last, "to", errors)
    if errors:
        raise ValidationError(errors)
    last_day = last_day or today()
    if first_day is None:
        first_day = last_day.replace(day=1) if default == "month" \
            else last_day.replace(month=1, day=1)
    if last_day < first_day:
        raise ValidationError({"to": _("The period cannot end before it starts.")})
    return Period(first_day, last_day)


def day(given, name: str, errors: dict) -> date | None:
    """``given`` (a date, a datetime's day or YYYY-MM-DD) as a date; None if not given,
    or if it cannot be used, with its refusal added to ``errors`` under ``name``."""
    if given is None or given == "":
        return None
    if isinstance(given, datetime):
        given = given.date()
    if not isinstance(given, date):
        try:
            given = date.fromisoformat(str(given).strip())
        except ValueError:
            errors[name] = _("Give a date as YYYY-MM-DD.")
            return None
    if not YEARS[0] <= given.year <= YEARS[1]:
        errors[name] = _("Give a year from %(first)d to %(last)d.", first=YEARS[0],
                         last=YEARS[1])
        return None
    return given


def checked(errors: dict, check):
    """What ``check`` gives, or None with its refusal added to ``errors``, so that all
    are told at once."""
    try:
        return check()
    except ValidationError as exc:
        errors.update(exc.errors)
        return None


def every(*checks) -> None:
    """Run every one of ``checks``; one refusal naming all that they refused."""
    errors: dict[str, str] = {}
    for check in checks:
        checked(errors, check)
    if errors:
        raise ValidationError(errors)

"""Helpers shared by the staff pages' forms: reading fields and showing errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request


def fields_from_form(names: tuple[str, ...]) -> dict:
    """The named fields from the posted form, as typed (services normalise them)."""
    return {name: request.form.get(name, "") for name in names if name in request.form}


def lines(name: str) -> list[str]:
    """A textarea with one value per line, as a list without blanks."""
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


def optional_int(value: str | None) -> int | str | None:
    """A whole number typed in a form; None when empty; the text itself when it is not
    a number, so that the service reports it as a field error."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return value


def form_id(value: str | None) -> int | None:
    """An id from a form or query string: a whole number in range, or None."""
    number = optional_int(value)
    return number if isinstance(number, int) else None


def local_datetime(value: str | None):
    """A datetime-local field (in the installation's time zone) as an aware datetime;
    "" when empty, and the text itself when malformed so the service reports it."""
    from datetime import datetime

    from core.tasks import local_zone

    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=local_zone())
    except ValueError:
        return value


@dataclass
class Outcome:
    """What saving a record's form came to: the record, or errors or duplicates to show."""

    record: object = None
    errors: dict = field(default_factory=dict)
    candidates: list = field(default_factory=list)
    conflict: bool = False  # someone else saved meanwhile: show what is stored now


def save(session, write) -> Outcome:
    """Run ``write(allow_duplicates, expected_version)`` and commit, or roll back and
    say why; the same for every record form."""
    from core.duplicates import DuplicateFound
    from core.errors import ValidationError

    allow = request.form.get("allow_duplicates") == "1"
    try:
        record = write(allow, optional_int(request.form.get("version")))
        session.commit()
        return Outcome(record)
    except ValidationError as exc:
        session.rollback()
        return Outcome(errors=exc.errors, conflict="version" in exc.errors)
    except DuplicateFound as exc:
        session.rollback()
        return Outcome(candidates=exc.candidates)


def commit_or_errors(session, write) -> tuple[object, dict]:
    """Run ``write()`` and commit: ``(what it returned, {})``; a refusal is rolled back and
    comes back as field errors (a permission refusal under "_") for the form to show."""
    from core.errors import Forbidden, ValidationError

    try:
        result = write()
        session.commit()
        return result, {}
    except ValidationError as exc:
        session.rollback()
        return None, dict(exc.errors)
    except Forbidden as exc:
        session.rollback()
        return None, {"_": str(exc)}


def commit_or_flash(session, write, forbidden: str | None = None):
    """Run ``write()`` and commit; a refusal is rolled back and each of its messages
    flashed. A refused permission answers 403, unless the page says it in its own words
    (``forbidden``). Returns what ``write`` returned, or None when it was refused."""
    from flask import flash

    from core.errors import Forbidden, ValidationError

    try:
        result = write()
        session.commit()
        return result
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(str(message), "error")
    except Forbidden:
        session.rollback()
        if forbidden is None:
            raise
        flash(forbidden, "error")
    return None

"""Helpers shared by the staff pages' forms: reading fields and showing errors."""

from __future__ import annotations

from flask import request


def fields_from_form(names: tuple[str, ...]) -> dict:
    """The named fields from the posted form, as typed (services normalise them)."""
    return {name: request.form.get(name, "") for name in names if name in request.form}


def lines(name: str) -> list[str]:
    """A textarea with one value per line, as a list without blanks."""
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def optional_int(value: str) -> int | str | None:
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


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

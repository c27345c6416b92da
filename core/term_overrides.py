"""Changing an installation's wording of a term: validated, audited, seen at once.

The administrator's page and ``kartoteka terms`` both come here. A change bumps the
``terms`` stamp in its transaction, so every process uses it from its next request;
a wording equal to the default is not kept as an override at all.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, stamps
from core.errors import ValidationError
from core.models import TermOverride
from core.terminology import FORMS, NUMBERS, STAMP, resolve
from core.terms import GENDERS, LOCALES, Term

MAX_LENGTH = 100


def save(session: Session, defaults: dict[str, Term], key: str, locale: str,
         singular: dict, plural: dict, gender: str = "", actor=None) -> TermOverride | None:
    """Word the term ``key`` in ``locale``: case -> text for each number (English has
    only "nom"); an empty form is left to the fallback of ``core.terminology``.
    Returns the override, or None when the wording is the default's."""
    default = _known(defaults, key, locale)
    values = clean(locale, singular, plural, gender)
    row = session.get(TermOverride, (key, locale))
    before = _as_data(row)
    candidate = TermOverride(key=key, locale=locale, **values)
    if _is_default(default, candidate):
        if row is not None:
            session.delete(row)
            _changed(session, key, locale, before, None, actor)
        return None
    row = row or TermOverride(key=key, locale=locale)
    row.singular, row.plural, row.gender = values["singular"], values["plural"], values["gender"]
    row.updated_by_id = getattr(actor, "id", None)
    session.add(row)
    _changed(session, key, locale, before, values, actor)
    return row


def reset(session: Session, key: str, locale: str | None = None, actor=None) -> int:
    """Return ``key`` to its default wording (in ``locale``, or in every language)."""
    rows = session.scalars(select(TermOverride).where(
        TermOverride.key == key, *([TermOverride.locale == locale] if locale else []))).all()
    for row in rows:
        session.delete(row)
        _changed(session, key, row.locale, _as_data(row), None, actor)
    return len(rows)


def clean(locale: str, singular: dict, plural: dict, gender: str = "") -> dict:
    """The forms trimmed, or a ValidationError naming each bad field
    (``pl.singular.gen``, ``en.plural.nom``, ``pl.gender``) in the user's language."""
    if locale not in LOCALES:
        raise ValidationError({"locale": _("Choose Polish (pl) or English (en).")})
    errors: dict[str, str] = {}
    values: dict = {"singular": {}, "plural": {}}
    for number, given in (("singular", singular), ("plural", plural)):
        for case, text in (given or {}).items():
            name = f"{locale}.{number}.{case}"
            problem = _problem(locale, (number, case), text)
            if problem:
                errors[name] = problem
            elif text.strip():
                values[number][case] = text.strip()
    if not values["singular"].get("nom") and f"{locale}.singular.nom" not in errors:
        errors[f"{locale}.singular.nom"] = (
            _("Enter the nominative singular: the noun itself.") if locale == "pl"
            else _("Enter the singular."))
    gender = (gender or "").strip() if locale == "pl" else ""
    if gender not in ("", *GENDERS):
        errors[f"{locale}.gender"] = _("Choose a gender from the list.")
    if errors:
        raise ValidationError(errors)
    return {**values, "gender": gender}


def _problem(locale: str, form: tuple, text) -> str | None:
    if form not in FORMS[locale]:
        return _("Unknown field.")
    if not isinstance(text, str):
        return _("Not a valid string.")
    if text and not text.strip():
        return _("Only spaces: type the form, or leave the field empty.")
    if any(ch in text for ch in "\r\n\t") or not text.isprintable():
        return _("Write the form on one line, without control characters.")
    if len(text.strip()) > MAX_LENGTH:
        return _("At most %(n)d characters.", n=MAX_LENGTH)
    return None


def _known(defaults: dict[str, Term], key: str, locale: str) -> Term:
    if key not in defaults:
        raise ValidationError({"key": _("Unknown term: %(key)s.", key=key)})
    if locale not in LOCALES:
        raise ValidationError({"locale": _("Choose Polish (pl) or English (en).")})
    return defaults[key]


def _is_default(default: Term, candidate: TermOverride) -> bool:
    """Whether the wording shows exactly what the default does."""
    resolved = resolve(default, **{candidate.locale: candidate})
    same_gender = candidate.locale != "pl" or candidate.gender in ("", default.gender)
    return same_gender and not resolved.gender_missing and \
        getattr(resolved.term, candidate.locale) == getattr(default, candidate.locale)


def _as_data(row: TermOverride | None) -> dict | None:
    if row is None:
        return None
    return {"singular": dict(row.singular or {}), "plural": dict(row.plural or {}),
            "gender": row.gender}


def _changed(session: Session, key: str, locale: str, before, after, actor) -> None:
    """Bump the stamp (every process reloads) and leave an entry in the audit trail."""
    stamps.bump(session, STAMP)
    changes = {n: ((before or {}).get(n), (after or {}).get(n)) for n in (*NUMBERS, "gender")}
    record = TermOverride(key=key, locale=locale)
    audit.write(session, record, "term_changed" if after else "term_reset", changes, actor,
                summary=f"{key} ({locale})")

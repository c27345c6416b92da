"""Administrators' terminology pages: every term, its wording and what it is missing.

An administrator rewords a term per installation (Polish cases and numbers, English
singular and plural, the Polish gender), previews how pages will read, and restores
the default. A change takes effect at once, in every process (``core.terminology``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import term_overrides, terminology
from core.errors import ValidationError
from core.models import TermOverride
from core.terminology import (
    CASE_LABELS,
    FORMS,
    GENDER_LABELS,
    NUMBER_LABELS,
    Resolved,
    resolve,
)
from core.terms import CASES, LOCALES, Term, upper_first
from core.web.admin import permission_required
from core.web.db import db
from core.web.i18n import current_locale

bp = Blueprint("terms", __name__, url_prefix="/admin/terms")

LANGUAGE_LABELS = {"pl": _l("Polish"), "en": _l("English")}
COUNTS = (1, 2, 5, 22)


@dataclass(frozen=True)
class PreviewLine:
    """A phrase as a page would read it; ``pattern`` with "{what}" for the form
    (number, case), so that the page can redraw it while the administrator types."""

    text: str
    pattern: str
    number: str
    case: str
    adjective: str = ""  # the adjective's forms, "nowy|nowa|nowe|nowi|nowe"


@bp.get("/")
@permission_required("core.manage_terms")
def index():
    only_missing = request.args.get("missing") == "1"
    rows = [r for r in _ordered(_resolved()) if r.has_missing or not only_missing]
    return render_template("core/admin/terms.html", rows=rows, only_missing=only_missing,
                           owner=_owner_label, missing=missing_forms,
                           languages=LANGUAGE_LABELS)


@bp.route("/<key>", methods=["GET", "POST"])
@permission_required("core.manage_terms")
def edit(key: str):
    resolved = _resolved().get(key) or abort(404)
    session, errors, shown = db(), {}, resolved
    if request.method == "POST":
        if request.form.get("action") == "save":
            errors = _save(session, key)
            if not errors:
                session.commit()
                terminology.forget_current()
                flash(_("Saved."))
                return redirect(url_for("terms.edit", key=key))
            session.rollback()
        else:
            shown, errors = _candidate(resolved.default, key)
    return render_template("core/admin/terms_edit.html", key=key, resolved=resolved,
                           shown=shown, owner=_owner_label(key), errors=errors,
                           values=_submitted_values() if request.method == "POST"
                           else _stored_values(session, resolved),
                           preview={loc: preview(shown.term, loc) for loc in LOCALES},
                           missing=missing_forms(resolved), forms=FORMS, cases=CASES,
                           case_labels=CASE_LABELS, number_labels=NUMBER_LABELS,
                           languages=LANGUAGE_LABELS, genders=GENDER_LABELS)


@bp.post("/<key>/reset")
@permission_required("core.manage_terms")
def reset(key: str):
    if key not in _resolved():
        abort(404)
    session = db()
    term_overrides.reset(session, key, actor=current_user)
    session.commit()
    terminology.forget_current()
    flash(_("The default wording is back."))
    return redirect(url_for("terms.edit", key=key))


def _resolved() -> dict[str, Resolved]:
    rt = current_app.extensions["kartoteka"]
    return terminology.of(rt.host).resolved(db())


def _ordered(resolved: dict[str, Resolved]) -> list[Resolved]:
    """The core's terms first, then each enabled plugin's, as the plugins are ordered."""
    owners = ["core", *current_app.extensions["kartoteka"].host.plugins]
    return sorted(resolved.values(), key=lambda r: (_owner_rank(owners, r.term.key),
                                                    r.term.key))


def _owner_rank(owners: list[str], key: str) -> int:
    owner = key.split(".")[0]
    return owners.index(owner) if owner in owners else len(owners)


def _owner_label(key: str) -> str:
    owner = key.split(".")[0]
    plugin = current_app.extensions["kartoteka"].host.plugins.get(owner)
    return plugin.manifest.label(current_locale()) if plugin else _("Core")


def missing_forms(resolved: Resolved) -> list[tuple[str, str, str]]:
    """(language, form, what is shown instead) for each form an override leaves out."""
    return [(str(LANGUAGE_LABELS[loc]), form, shown)
            for loc, form, shown in terminology.missing(resolved)]


def preview(term: Term, locale: str) -> list[PreviewLine]:
    """How pages read the term in ``locale``: a new one, adding it, none, counts, with."""
    with force_locale(locale):
        lines = [_line(term, locale, "{what}", "singular", "nom", _("new")),
                 _line(term, locale, _("Add %(what)s", what="{what}"), "singular", "acc"),
                 _line(term, locale, _("No %(what)s found.", what="{what}"), "plural", "gen")]
        lines += [_line(term, locale, f"{n} {{what}}", *_count_form(locale, n))
                  for n in COUNTS]
        lines.append(_line(term, locale, _("with %(what)s", what="{what}"), "singular", "ins"))
    return lines


def _count_form(locale: str, count: int) -> tuple[str, str]:
    """The (number, case) a count takes in the nominative (see ``core.terms``)."""
    if count == 1:
        return "singular", "nom"
    if locale == "pl" and not (count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14)):
        return "plural", "gen"
    return "plural", "nom"


def _line(term: Term, locale: str, pattern: str, number: str, case: str,
          adjective: str = "") -> PreviewLine:
    form = getattr(getattr(term, locale), number)[case]
    text = pattern.replace("{what}", form)
    if adjective:
        text = upper_first(f"{term.adjective(adjective, locale)} {text}")
    return PreviewLine(text, pattern, number, case, adjective)


def _names(locale: str) -> list[str]:
    return [f"{locale}.{number}.{case}" for number, case in FORMS[locale]]


def _submitted(locale: str) -> tuple[dict, dict, str]:
    given = {name: request.form.get(name, "") for name in _names(locale)}
    singular = {n.split(".")[2]: v for n, v in given.items() if ".singular." in n}
    plural = {n.split(".")[2]: v for n, v in given.items() if ".plural." in n}
    return singular, plural, request.form.get(f"{locale}.gender", "")


def _blank(singular: dict, plural: dict, gender: str) -> bool:
    """Nothing typed for a language: it keeps (or returns to) the default wording.
    A field of spaces is not blank: it is refused with a message."""
    return not any(singular.values()) and not any(plural.values()) and not gender


def _save(session, key: str) -> dict:
    """Save both languages; the field errors of both, or {}."""
    defaults, errors = current_app.extensions["kartoteka"].host.terms, {}
    for locale in LOCALES:
        singular, plural, gender = _submitted(locale)
        try:
            if _blank(singular, plural, gender):
                term_overrides.reset(session, key, locale, actor=current_user)
            else:
                term_overrides.save(session, defaults, key, locale, singular, plural, gender,
                                    actor=current_user)
        except ValidationError as exc:
            errors.update(exc.errors)
    return errors


def _candidate(default: Term, key: str) -> tuple[Resolved, dict]:
    """The term as the submitted form would word it, for the preview; with errors, the
    stored wording stays in the preview."""
    rows: dict[str, TermOverride | None] = {}
    errors: dict = {}
    for locale in LOCALES:
        singular, plural, gender = _submitted(locale)
        if _blank(singular, plural, gender):
            rows[locale] = None
            continue
        try:
            values = term_overrides.clean(locale, singular, plural, gender)
            rows[locale] = TermOverride(key=key, locale=locale, **values)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        return _resolved()[key], errors
    return resolve(default, rows["pl"], rows["en"]), {}


def _submitted_values() -> dict[str, str]:
    values = {name: request.form.get(name, "") for loc in LOCALES for name in _names(loc)}
    values["pl.gender"] = request.form.get("pl.gender", "")
    return values


def _stored_values(session, resolved: Resolved) -> dict[str, str]:
    """The override's own forms; for a language without one, only the nominative
    singular, so that changing the noun leaves the other forms to be typed anew."""
    values: dict[str, str] = {}
    for locale in LOCALES:
        row = session.get(TermOverride, (resolved.term.key, locale))
        for name, (number, case) in zip(_names(locale), FORMS[locale], strict=True):
            if row is not None:
                values[name] = (getattr(row, number) or {}).get(case, "")
        if row is None:
            values[f"{locale}.singular.nom"] = getattr(resolved.term, locale).singular["nom"]
        if locale == "pl":
            values["pl.gender"] = row.gender if row is not None else ""
    return values


"""An installation's terminology: the core's and plugins' default terms with the
administrator's overrides (table ``term_overrides``) merged over them.

Each process keeps the merged terms in a ``core.stamps.Cached``; saving an override
bumps the ``terms`` stamp, so every process, this one or another, uses the new
wording from its next request on, without a restart.

A form that an override leaves empty is filled so that a page never shows a gap:

1. If the override keeps the noun (its nominative singular is the default's), the
   default term's form: the administrator only corrected some forms.
2. Otherwise, where Polish grammar makes two forms of every noun of a gender the same,
   and the administrator gave the gender: the accusative singular is the genitive
   (masculine personal and animate: "uczestnika") or the nominative (masculine
   inanimate, neuter: "dział", "zadanie"); the locative singular of a feminine noun is
   its dative ("jednostce"); the accusative plural is the genitive for personal
   masculine nouns ("uczestników"), else the nominative ("jednostki").
3. Otherwise the nominative of the same number, and for the nominative plural the
   nominative singular.

Forms filled by rules 2 and 3 are listed as missing, with what is shown instead, on the
administrator's terms page and by ``kartoteka terms list --missing``; so is the gender
of a renamed Polish noun that the administrator did not give (the default's gender is
used meanwhile).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import TermOverride
from core.stamps import Cached
from core.terms import CASES, Forms, Term, TermRegistry

STAMP = "terms"
NUMBERS = ("singular", "plural")
# The forms an administrator words per language; English nouns have no cases.
FORMS = {"pl": tuple((n, c) for n in NUMBERS for c in CASES),
         "en": (("singular", "nom"), ("plural", "nom"))}
# Forms that are equal in every Polish noun of a gender: form -> gender -> its twin.
TWINS = {
    ("singular", "acc"): {"m1": ("singular", "gen"), "m2": ("singular", "gen"),
                          "m3": ("singular", "nom"), "n": ("singular", "nom")},
    ("singular", "loc"): {"f": ("singular", "dat")},
    ("plural", "acc"): {"m1": ("plural", "gen"), "m2": ("plural", "nom"),
                        "m3": ("plural", "nom"), "f": ("plural", "nom"), "n": ("plural", "nom")},
}

CASE_LABELS = {"nom": _l("nominative"), "gen": _l("genitive"), "dat": _l("dative"),
               "acc": _l("accusative"), "ins": _l("instrumental"), "loc": _l("locative")}
NUMBER_LABELS = {"singular": _l("singular"), "plural": _l("plural")}
GENDER_LABELS = {
    "m1": _l("masculine, persons (nowy uczestnik, nowi uczestnicy)"),
    "m2": _l("masculine, animals (nowy pies, nowe psy)"),
    "m3": _l("masculine, things (nowy dział, nowe działy)"),
    "f": _l("feminine (nowa jednostka, nowe jednostki)"),
    "n": _l("neuter (nowe zadanie, nowe zadania)"),
}


@dataclass(frozen=True)
class Wording:
    """A term in one language as the installation shows it."""

    forms: Forms
    overridden: bool = False
    # (number, case) left empty and filled by a fallback, and "gender" for Polish.
    missing: tuple = ()


@dataclass(frozen=True)
class Resolved:
    """A term with the administrator's overrides applied, and where they fall short."""

    term: Term
    default: Term
    pl: Wording
    en: Wording
    gender_missing: bool = False

    def wording(self, locale: str) -> Wording:
        return self.pl if locale == "pl" else self.en

    @property
    def overridden(self) -> bool:
        return self.pl.overridden or self.en.overridden

    @property
    def has_missing(self) -> bool:
        return bool(self.pl.missing or self.en.missing or self.gender_missing)


def resolve(default: Term, pl: TermOverride | None = None,
            en: TermOverride | None = None) -> Resolved:
    """The term as worded by the overrides of each language (None: the default)."""
    pl_wording = _wording(default, "pl", pl)
    gender, gender_missing = _gender(default, pl)
    term = Term(default.key, pl=pl_wording.forms, en=_wording(default, "en", en).forms,
                gender=gender)
    return Resolved(term, default, pl_wording, _wording(default, "en", en), gender_missing)


def _gender(default: Term, row: TermOverride | None) -> tuple[str, bool]:
    if row is None or row.gender:
        return (row.gender if row is not None else default.gender), False
    return default.gender, not keeps_noun(row, default.pl)


def keeps_noun(row: TermOverride, default: Forms) -> bool:
    """Whether an override words the same noun as the default (rule 1)."""
    given = (row.singular or {}).get("nom", "")
    return given.strip().casefold() == default.singular["nom"].strip().casefold()


def _wording(default: Term, locale: str, row: TermOverride | None) -> Wording:
    base: Forms = getattr(default, locale)
    if row is None:
        return Wording(base)
    given = {(number, case): text.strip()
             for number in NUMBERS for case, text in (getattr(row, number) or {}).items()
             if case in CASES and isinstance(text, str) and text.strip()}
    if keeps_noun(row, base):
        filled = {form: given.get(form) or _form(base, form) for form in FORMS[locale]}
        missing: tuple = ()
    else:
        gender = row.gender if locale == "pl" else ""
        filled = {form: _fill(form, given, gender, base) for form in FORMS[locale]}
        missing = tuple(form for form in FORMS[locale] if form not in given)
    return Wording(_forms(filled, locale), overridden=True, missing=missing)


def _fill(form: tuple, given: dict, gender: str, base: Forms) -> str:
    """Rules 2 and 3 of the module's docstring; the default's nominative at worst."""
    if form in given:
        return given[form]
    twin = TWINS.get(form, {}).get(gender)
    number, case = form
    if twin is not None:
        return _fill(twin, given, gender, base)
    if case != "nom":
        return _fill((number, "nom"), given, gender, base)
    if number == "plural":
        return _fill(("singular", "nom"), given, gender, base)
    return base.singular["nom"]  # only a row written around the checks lacks this


def _form(forms: Forms, form: tuple) -> str:
    number, case = form
    return getattr(forms, number)[case]


def _forms(filled: dict, locale: str) -> Forms:
    if locale == "pl":
        return Forms({c: filled[("singular", c)] for c in CASES},
                     {c: filled[("plural", c)] for c in CASES})
    return Forms(dict.fromkeys(CASES, filled[("singular", "nom")]),
                 dict.fromkeys(CASES, filled[("plural", "nom")]))


def shown_instead(resolved: Resolved, locale: str, form: tuple) -> str:
    """What a page shows where ``form`` is missing."""
    return _form(resolved.wording(locale).forms, form)


def form_label(locale: str, form: tuple) -> str:
    """"genitive, plural"; English forms are named by their number alone."""
    number, case = form
    if locale == "en":
        return str(NUMBER_LABELS[number])
    return f"{CASE_LABELS[case]}, {NUMBER_LABELS[number]}"


def missing(resolved: Resolved) -> list[tuple[str, str, str]]:
    """(locale, form, what is shown instead) for each form an override leaves out."""
    found = [(locale, form_label(locale, form), shown_instead(resolved, locale, form))
             for locale in FORMS for form in resolved.wording(locale).missing]
    if resolved.gender_missing:
        found.append(("pl", _("gender"), str(GENDER_LABELS.get(resolved.term.gender, "—"))))
    return found


class Terminology:
    """The terms of one application (its plugin host), cached per process."""

    def __init__(self, defaults: dict[str, Term]):
        self.defaults = defaults
        self._cache: Cached[dict[str, Resolved]] = Cached(STAMP, self._build)

    def resolved(self, session: Session) -> dict[str, Resolved]:
        """Every term of the core and the enabled plugins, with the overrides applied."""
        return self._cache.get(session)

    def registry(self, session: Session, locale: str = "pl") -> TermRegistry:
        return TermRegistry({k: r.term for k, r in self.resolved(session).items()}, locale)

    def _build(self, session: Session) -> dict[str, Resolved]:
        rows: dict[str, dict[str, TermOverride]] = {}
        for row in session.scalars(select(TermOverride)):
            rows.setdefault(row.key, {})[row.locale] = row
        return {key: resolve(default, rows.get(key, {}).get("pl"), rows.get(key, {}).get("en"))
                for key, default in self.defaults.items()}


_BY_HOST: dict[int, Terminology] = {}


def of(host) -> Terminology:
    """The terminology of a plugin host (one per application or command)."""
    found = _BY_HOST.get(id(host))
    if found is None or found.defaults is not host.terms:
        found = _BY_HOST[id(host)] = Terminology(host.terms)
        weakref.finalize(host, _BY_HOST.pop, id(host), None)
    return found


def current() -> TermRegistry:
    """The terms of the current application, read once per request (or app context):
    one look at the stamp, and a rebuild only after a change. Outside an application
    (a service called from a script or a test), the core's defaults."""
    from flask import current_app, g, has_app_context

    from core.web.db import db

    if not has_app_context():
        from core.defaults import CORE_TERMS

        return TermRegistry({t.key: t for t in CORE_TERMS}, "en")
    if "kartoteka_terms" not in g:
        rt = current_app.extensions["kartoteka"]
        g.kartoteka_terms = of(rt.host).registry(db(), rt.settings.default_locale)
    return g.kartoteka_terms


def forget_current() -> None:
    """Drop the request's copy, after the request itself changed an override."""
    from flask import g

    g.pop("kartoteka_terms", None)

"""Terminology: every user-facing noun is a term key with grammatical forms.

Code and templates ask ``term("core.organisation", case="gen", count=3)`` and never
write the noun itself. Core and plugins register defaults for Polish and English
through ``kartoteka_register_terms``; an installation may rename them.

Polish needs cases and three plural categories. A term stores the six cases in the
singular and in the plural; the plural category of the count picks among them:

* one  (1)                -> singular of the asked case: "1 jednostka"
* few  (2-4, 22-24, ...)  -> plural of the asked case:   "3 jednostki"
* many (0, 5-21, ...)     -> the genitive plural stands for the nominative and
  accusative ("5 jednostek"), other cases keep their plural ("z 5 jednostkami")
* other (fractions)       -> genitive singular: "1,5 jednostki"
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale

CASES = ("nom", "gen", "dat", "acc", "ins", "loc")
LOCALES = ("pl", "en")


@dataclass(frozen=True)
class Forms:
    """The forms of a noun in one language: case -> text, for each number."""

    singular: dict[str, str]
    plural: dict[str, str]

    def pick(self, case: str, category: str) -> str:
        """Polish: the form for a CLDR plural category (see the module's docstring)."""
        if category == "one":
            return self.singular[case]
        if category == "few":
            return self.plural[case]
        if category == "many":
            return self.plural["gen" if case in ("nom", "acc") else case]
        return self.singular["gen"]


def forms(singular: str, plural: str) -> Forms:
    """Forms from comma-separated cases (nom, gen, dat, acc, ins, loc).

    A language without cases gives one form: ``forms("participant", "participants")``.
    """
    return Forms(_cases(singular), _cases(plural))


def _cases(text: str) -> dict[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        parts = parts * len(CASES)
    if len(parts) != len(CASES) or not all(parts):
        raise ValueError(
            f"'{text}': give one form, or all six cases: {', '.join(CASES)}"
        )
    return dict(zip(CASES, parts, strict=True))


@dataclass(frozen=True)
class Term:
    """A named noun with Polish and English forms; ``key`` is '<owner>.<name>'."""

    key: str
    pl: Forms
    en: Forms

    def render(self, locale: str, case: str = "nom", count: int | float = 1,
               plural: bool = False) -> str:
        """The form for ``count`` things in ``case``; ``plural`` asks for the plural
        without a number ("Włączone wtyczki")."""
        if case not in CASES:
            raise ValueError(f"unknown grammatical case '{case}'; use one of {CASES}")
        lang = locale.split("_")[0] if locale.split("_")[0] in LOCALES else "en"
        forms_ = getattr(self, lang)
        category = Locale.parse(lang).plural_form(abs(count))
        if plural or (lang != "pl" and category != "one"):
            return forms_.plural[case]
        return forms_.pick(case, category)


class TermRegistry:
    """The terms of one application: core defaults plus those of enabled plugins."""

    def __init__(self, terms: dict[str, Term] | None = None, locale: str = "pl"):
        self.terms = dict(terms or {})
        self.locale = locale

    def get(self, key: str, case: str = "nom", count: int | float = 1,
            locale: str | None = None, plural: bool = False) -> str:
        found = self.terms.get(key)
        if found is None:
            # A missing term must not break a page: show the key so it gets noticed.
            return key
        return found.render(locale or self.locale, case=case, count=count, plural=plural)


def term(key: str, case: str = "nom", count: int | float = 1, locale: str | None = None,
         plural: bool = False) -> str:
    """The term ``key`` in the current application and request language."""
    from flask import current_app

    from core.web.i18n import current_locale

    rt = current_app.extensions["kartoteka"]
    registry = TermRegistry(rt.host.terms, rt.settings.default_locale)
    return registry.get(key, case=case, count=count, locale=locale or current_locale(),
                        plural=plural)

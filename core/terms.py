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

Adjectives agree with a Polish term's grammatical gender (see ``GENDERS``):
``term_adj("core.organisation", _("new"))`` gives "nowa" where the term is feminine and
"nowy" where an administrator renamed it to a masculine noun. The adjective is a
translated message whose Polish text lists its forms in the order of ``ADJECTIVE_SLOTS``,
separated by "|": "nowy|nowa|nowe|nowi|nowe"; English gives one form.

The terms an installation shows are the defaults merged with an administrator's
overrides: see ``core.terminology``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from babel import Locale

CASES = ("nom", "gen", "dat", "acc", "ins", "loc")
LOCALES = ("pl", "en")
# Polish genders: masculine personal (uczestnik), animate (pies) and inanimate (dział),
# feminine, neuter. In the plural only personal masculine nouns differ ("nowi
# uczestnicy"); every other noun takes the same adjective form ("nowe działy").
GENDERS = ("m1", "m2", "m3", "f", "n")
# The forms of an adjective in the nominative: singular masculine, feminine, neuter;
# plural with personal masculine nouns ("virile"), plural with all others.
ADJECTIVE_SLOTS = ("m", "f", "n", "virile", "plural")


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


def agree(adjective: str | Mapping[str, str], gender: str, plural: bool = False) -> str:
    """The nominative form of ``adjective`` that agrees with a noun of ``gender``.

    ``adjective`` maps ``ADJECTIVE_SLOTS`` (or a gender of ``GENDERS``) to words, or is
    a message with the slots' words separated by "|"; one word serves every gender.
    A slot left out falls back so that something always reads: the plural to the
    neuter ("nowe" is both), the virile plural to the plural, an unknown gender to
    the masculine.
    """
    table = _adjective_table(adjective)
    if plural:
        order = ("virile", "plural", "n") if gender == "m1" else ("plural", "n")
    elif gender.startswith("m") or not gender:
        order = (gender, "m")
    else:
        order = (gender,)
    found = next((table[slot] for slot in order if table.get(slot)), None)
    return found or next((word for word in table.values() if word), "")


def _adjective_table(adjective: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(adjective, Mapping):
        return {k: str(v).strip() for k, v in adjective.items()}
    words = [w.strip() for w in str(adjective).split("|")]
    if len(words) == 1:
        return dict.fromkeys(ADJECTIVE_SLOTS, words[0])
    return dict(zip(ADJECTIVE_SLOTS, words, strict=False))


def language(locale: str) -> str:
    """The language of a locale whose terms are used: Polish, or else English."""
    lang = locale.split("_")[0]
    return lang if lang in LOCALES else "en"


@dataclass(frozen=True)
class Term:
    """A named noun with Polish and English forms; ``key`` is '<owner>.<name>'.

    ``gender`` is the Polish noun's grammatical gender (one of ``GENDERS``), which
    adjectives agree with; English has none.
    """

    key: str
    pl: Forms
    en: Forms
    gender: str = ""

    def __post_init__(self):
        if self.gender not in ("", *GENDERS):
            raise ValueError(f"term '{self.key}': unknown gender '{self.gender}'; "
                             f"use one of {', '.join(GENDERS)}")

    def adjective(self, adjective: str | Mapping[str, str], locale: str,
                  plural: bool = False) -> str:
        """``adjective`` in the form that agrees with this term (see ``agree``)."""
        return agree(adjective, self.gender if language(locale) == "pl" else "", plural)

    def render(self, locale: str, case: str = "nom", count: int | float = 1,
               plural: bool = False) -> str:
        """The form for ``count`` things in ``case``; ``plural`` asks for the plural
        without a number ("Włączone wtyczki")."""
        if case not in CASES:
            raise ValueError(f"unknown grammatical case '{case}'; use one of {CASES}")
        lang = language(locale)
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

    def adjective(self, key: str, adjective: str | Mapping[str, str], plural: bool = False,
                  locale: str | None = None) -> str:
        found = self.terms.get(key)
        if found is None:
            return agree(adjective, "", plural)
        return found.adjective(adjective, locale or self.locale, plural)


def term(key: str, case: str = "nom", count: int | float = 1, locale: str | None = None,
         plural: bool = False) -> str:
    """The term ``key`` in the current application and request language, as the
    installation words it (an administrator's override takes effect at once)."""
    from core.terminology import current

    return current().get(key, case=case, count=count, locale=locale or _locale(),
                         plural=plural)


def term_adj(key: str, adjective: str | Mapping[str, str], plural: bool = False,
             locale: str | None = None) -> str:
    """``adjective`` agreeing with the term ``key`` in the current request language:
    ``term_adj("core.organisation", _("new"))`` is "nowa", and with ``plural=True``
    "nowe"; for a personal masculine noun "nowy" and "nowi"."""
    from core.terminology import current

    return current().adjective(key, adjective, plural=plural, locale=locale or _locale())


def _locale() -> str:
    """The request's language; outside an application English, as gettext's is."""
    from flask import has_app_context

    from core.web.i18n import current_locale

    return current_locale() if has_app_context() else "en"


def upper_first(text: str) -> str:
    """The text with its first letter in upper case and the rest as it is (unlike
    ``str.capitalize``, which would lower "PESEL")."""
    return text[:1].upper() + text[1:]

"""Adjectives agree with the grammatical gender of Polish terms."""

import importlib

import pytest

from core.defaults import CORE_TERMS
from core.terms import GENDERS, Term, TermRegistry, agree, forms

NEW = "nowy|nowa|nowe|nowi|nowe"
BUILT_IN = ("training", "photovoltaics", "grants", "printing", "fundraising", "expertise")


def all_built_in_terms() -> list[Term]:
    found = list(CORE_TERMS)
    for name in BUILT_IN:
        found += importlib.import_module(f"plugins.{name}.terms").TERMS
    return found


@pytest.fixture
def registry() -> TermRegistry:
    return TermRegistry({t.key: t for t in all_built_in_terms()}, locale="pl")


@pytest.mark.parametrize("term", all_built_in_terms(), ids=lambda t: t.key)
def test_every_built_in_term_has_a_polish_gender(term):
    assert term.gender in GENDERS


@pytest.mark.parametrize(("key", "singular", "plural"), [
    ("core.organisation", "nowa organizacja", "nowe organizacje"),
    ("core.task", "nowe zadanie", "nowe zadania"),
    ("training.participant", "nowy uczestnik", "nowi uczestnicy"),
    ("expertise.department", "nowy dział", "nowe działy"),
    ("fundraising.donor", "nowy darczyńca", "nowi darczyńcy"),
])
def test_new_agrees_in_the_singular_and_the_plural(registry, key, singular, plural):
    assert f"{registry.adjective(key, NEW)} {registry.get(key)}" == singular
    assert f"{registry.adjective(key, NEW, plural=True)} {registry.get(key, plural=True)}" \
        == plural


def test_a_mapping_of_three_genders_serves_the_plural_of_things_too(registry):
    adjective = {"m": "Nowy", "f": "Nowa", "n": "Nowe"}
    assert registry.adjective("core.organisation", adjective) == "Nowa"
    assert registry.adjective("expertise.department", adjective) == "Nowy"
    assert registry.adjective("expertise.department", adjective, plural=True) == "Nowe"


def test_english_takes_its_one_form_whatever_the_polish_gender(registry):
    assert registry.adjective("training.participant", "new", plural=True, locale="en") == "new"
    assert registry.adjective("training.participant", "new", plural=True) == "new"


def test_an_unknown_gender_takes_the_masculine_and_an_unknown_term_too(registry):
    assert agree(NEW, "") == "nowy"
    assert registry.adjective("core.no_such_term", NEW) == "nowy"


def test_an_unknown_gender_is_refused_when_a_term_is_made():
    with pytest.raises(ValueError) as excinfo:
        Term("visits.visit", pl=forms("wizyta", "wizyty"), en=forms("visit", "visits"),
             gender="x")
    assert "m1, m2, m3, f, n" in str(excinfo.value)

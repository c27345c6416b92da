"""Polish and English grammar of terms, as users read them on pages."""

import importlib

import pytest

from core.defaults import CORE_TERMS
from core.terms import CASES, Term, TermRegistry, forms

BUILT_IN = ("training", "photovoltaics", "grants", "printing", "fundraising", "expertise")

MEMBER_UNIT = Term(
    "training.member_unit",
    pl=forms("jednostka członkowska, jednostki członkowskiej, jednostce członkowskiej, "
             "jednostkę członkowską, jednostką członkowską, jednostce członkowskiej",
             "jednostki członkowskie, jednostek członkowskich, jednostkom członkowskim, "
             "jednostki członkowskie, jednostkami członkowskimi, jednostkach członkowskich"),
    en=forms("member unit", "member units"),
)


@pytest.fixture
def registry() -> TermRegistry:
    terms = {t.key: t for t in CORE_TERMS}
    terms[MEMBER_UNIT.key] = MEMBER_UNIT
    return TermRegistry(terms, locale="pl")


def test_one_takes_the_nominative_singular(registry):
    assert registry.get("training.member_unit", count=1) == "jednostka członkowska"


@pytest.mark.parametrize("count", [2, 3, 4, 22, 24])
def test_few_takes_the_nominative_plural(registry, count):
    assert registry.get("training.member_unit", count=count) == "jednostki członkowskie"


@pytest.mark.parametrize("count", [0, 5, 11, 12, 13, 14, 21, 25, 112])
def test_many_takes_the_genitive_plural_for_the_nominative(registry, count):
    assert registry.get("training.member_unit", count=count) == "jednostek członkowskich"


def test_many_keeps_the_instrumental_plural(registry):
    assert (registry.get("training.member_unit", case="ins", count=5)
            == "jednostkami członkowskimi")


def test_a_fraction_takes_the_genitive_singular(registry):
    assert registry.get("training.member_unit", count=1.5) == "jednostki członkowskiej"


def test_accusative_singular_reads_right_after_a_verb(registry):
    label = f"Dodaj {registry.get('training.member_unit', case='acc')}"
    assert label == "Dodaj jednostkę członkowską"


def test_plural_without_a_number(registry):
    assert registry.get("training.member_unit", plural=True) == "jednostki członkowskie"
    assert (registry.get("training.member_unit", case="loc", plural=True)
            == "jednostkach członkowskich")


def test_core_organisation_follows_the_same_rules(registry):
    got = [registry.get("core.organisation", count=n) for n in (1, 3, 5)]
    assert got == ["organizacja", "organizacje", "organizacji"]
    assert registry.get("core.organisation", case="acc") == "organizację"


def test_english_singular_for_one(registry):
    assert registry.get("training.member_unit", count=1, locale="en") == "member unit"


@pytest.mark.parametrize("count", [0, 2])
def test_english_plural_for_zero_and_two(registry, count):
    assert registry.get("training.member_unit", count=count, locale="en") == "member units"


def test_english_plural_without_a_number(registry):
    assert registry.get("core.organisation", plural=True, locale="en") == "organisations"


def test_polish_regional_locale_uses_polish(registry):
    assert registry.get("core.organisation", count=2, locale="pl_PL") == "organizacje"


def test_unknown_locale_falls_back_to_english(registry):
    assert registry.get("training.member_unit", count=1, locale="de") == "member unit"
    assert registry.get("core.organisation", plural=True, locale="de_DE") == "organisations"


def test_unknown_case_names_the_valid_cases(registry):
    with pytest.raises(ValueError) as excinfo:
        registry.get("core.organisation", case="voc")
    assert "voc" in str(excinfo.value)
    assert all(case in str(excinfo.value) for case in CASES)


def test_five_forms_instead_of_six_is_refused_with_the_case_list():
    with pytest.raises(ValueError) as excinfo:
        forms("sprawa, sprawy, sprawie, sprawę, sprawą", "sprawy")
    message = str(excinfo.value)
    assert "sprawa, sprawy, sprawie, sprawę, sprawą" in message
    assert "six cases" in message and "nom, gen, dat, acc, ins, loc" in message


def test_an_empty_form_is_refused():
    with pytest.raises(ValueError):
        forms("sprawa, , sprawie, sprawę, sprawą, sprawie", "sprawy")


def test_a_single_form_serves_every_case():
    one = forms("participant", "participants")
    assert set(one.singular.values()) == {"participant"}
    assert set(one.plural.values()) == {"participants"}


def test_unknown_key_shows_the_key_itself(registry):
    assert registry.get("training.no_such_term", count=5) == "training.no_such_term"


def built_in_terms() -> list[tuple[str, Term]]:
    found = [("core", t) for t in CORE_TERMS]
    for name in BUILT_IN:
        module = importlib.import_module(f"plugins.{name}.terms")
        found += [(name, t) for t in module.TERMS]
    return found


@pytest.mark.parametrize("owner,term", built_in_terms(), ids=lambda v: getattr(v, "key", v))
def test_built_in_term_has_all_polish_cases(owner, term):
    for number in (term.pl.singular, term.pl.plural):
        assert set(number) == set(CASES)
        assert all(form.strip() for form in number.values())


@pytest.mark.parametrize("owner,term", built_in_terms(), ids=lambda v: getattr(v, "key", v))
def test_built_in_term_key_starts_with_its_owner(owner, term):
    assert term.key.startswith(f"{owner}.")
    assert len(term.key) > len(owner) + 1


def test_every_built_in_plugin_registers_terms():
    owners = {owner for owner, _ in built_in_terms()}
    assert owners == {"core", *BUILT_IN}

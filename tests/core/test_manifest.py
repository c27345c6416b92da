"""Plugin manifests: what is wrong with one, its label, and the order of enabling."""

import importlib

import pytest

import core
from core.manifest import Manifest, dependency_order

BUILT_IN = ("training", "photovoltaics", "grants", "printing", "fundraising", "expertise")


def manifest(name="visits", depends=(), **changes) -> Manifest:
    values = dict(
        name=name,
        version="1.0",
        title={"pl": "Wizyty", "en": "Visits"},
        description={"pl": "Wizyty u klientów.", "en": "Client visits."},
        depends=tuple(depends),
        requires_core=">=0.1,<0.2",
    )
    values.update(changes)
    return Manifest(**values)


def test_a_good_manifest_has_no_problems():
    assert manifest().problems("0.1.0") == []


@pytest.mark.parametrize(
    "name", ["Visits", "1visits", "v", "visits-app", "wizyty.pl", "", "visits\n"])
def test_a_bad_name_is_a_problem(name):
    problems = manifest(name=name).problems("0.1.0")
    assert len(problems) == 1
    assert f"'{name}'" in problems[0]


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_a_missing_title_is_a_problem(lang):
    title = {"pl": "Wizyty", "en": "Visits"}
    del title[lang]
    assert manifest(title=title).problems("0.1.0") == [f"title in '{lang}' is missing"]


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_an_empty_description_is_a_problem(lang):
    description = {"pl": "Wizyty u klientów.", "en": "Client visits.", lang: ""}
    problems = manifest(description=description).problems("0.1.0")
    assert problems == [f"description in '{lang}' is missing"]


def test_an_unsupported_core_version_names_both_versions():
    problems = manifest(requires_core=">=0.2").problems("0.1.0")
    assert len(problems) == 1
    assert ">=0.2" in problems[0] and "0.1.0" in problems[0]


def test_an_invalid_specifier_is_a_problem():
    problems = manifest(requires_core="zero point one").problems("0.1.0")
    assert len(problems) == 1
    assert "'zero point one'" in problems[0] and "specifier" in problems[0]


def test_every_problem_is_reported_at_once():
    bad = manifest(name="Bad", title={}, description={}, requires_core=">=9")
    assert len(bad.problems("0.1.0")) == 6


def test_label_in_the_asked_language():
    assert manifest().label("pl") == "Wizyty"
    assert manifest().label("en") == "Visits"


def test_label_falls_back_to_english_then_to_the_name():
    assert manifest().label("de") == "Visits"
    assert manifest(title={"pl": "Wizyty"}).label("en") == "visits"


def test_dependencies_come_first():
    order = dependency_order({
        "alpha": manifest("alpha", depends=["zeta"]),
        "zeta": manifest("zeta", depends=["mid"]),
        "mid": manifest("mid"),
    })
    assert order == ["mid", "zeta", "alpha"]


def test_order_does_not_depend_on_the_order_given():
    manifests = [manifest("crm", depends=["base"]), manifest("base"), manifest("extra"),
                 manifest("addon", depends=["crm", "base"])]
    forward = dependency_order({m.name: m for m in manifests})
    backward = dependency_order({m.name: m for m in reversed(manifests)})
    assert forward == backward == ["base", "crm", "addon", "extra"]


def test_independent_plugins_are_sorted_by_name():
    names = ["printing", "grants", "training"]
    assert dependency_order({n: manifest(n) for n in names}) == sorted(names)


def test_a_cycle_raises_and_names_the_cycle():
    with pytest.raises(ValueError) as excinfo:
        dependency_order({
            "aa": manifest("aa", depends=["bb"]),
            "bb": manifest("bb", depends=["cc"]),
            "cc": manifest("cc", depends=["aa"]),
        })
    assert "cycle" in str(excinfo.value)
    assert "aa -> bb -> cc -> aa" in str(excinfo.value)


def test_dependencies_outside_the_set_are_ignored():
    order = dependency_order({"crm": manifest("crm", depends=["missing"]),
                              "base": manifest("base")})
    assert order == ["base", "crm"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_manifest_is_valid_for_this_core(name):
    found = importlib.import_module(f"plugins.{name}.plugin").manifest
    assert found.problems(core.__version__) == []
    assert found.name == name

"""The terms API: every term with all its forms, reworded and restored by whoever may
manage the terminology, with the staff page's checks, and used at once."""

import pytest
from api_helpers import callers
from sqlalchemy import func, select

from core.models import AuditEntry, TermOverride

CASES = ("nom", "gen", "dat", "acc", "ins", "loc")
UNIT_PL = {"singular": {"nom": "jednostka", "gen": "jednostki", "dat": "jednostce",
                        "acc": "jednostkę", "ins": "jednostką", "loc": "jednostce"},
           "plural": {"nom": "jednostki", "gen": "jednostek", "dat": "jednostkom",
                      "acc": "jednostki", "ins": "jednostkami", "loc": "jednostkach"},
           "gender": "f"}


@pytest.fixture
def staff(app, rt):
    """Someone who manages the terminology, and a colleague who does not."""
    return callers(app, rt, editor=dict(access=dict.fromkeys(("read", "create", "edit"),
                                                             "all"),
                                        permissions=["core.manage_terms"]), ola=dict())


def overrides(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(TermOverride))


def test_every_term_is_listed_with_all_the_forms_pages_show(staff):
    response = staff.ola("get", "/terms/")
    assert response.status_code == 200
    terms = {t["key"]: t for t in response.get_json()}
    assert {"core.organisation", "core.person", "core.task", "core.activity"} <= set(terms)
    assert next(iter(terms)).startswith("core.")
    task = terms["core.task"]
    assert (task["owner"], task["owner_label"], task["overridden"]) == ("core", "Core", False)
    assert set(task["pl"]["singular"]) == set(task["pl"]["plural"]) == set(CASES)
    assert task["pl"]["plural"]["gen"] == "zadań" and task["gender"] == "n"
    assert task["en"]["singular"] == {"nom": "task"}
    assert task["en"]["plural"] == {"nom": "tasks"}
    assert task["default"]["pl"] == {"singular": task["pl"]["singular"],
                                     "plural": task["pl"]["plural"]}
    assert staff.ola("get", "/terms/core.task").get_json() == task
    assert staff.ola("get", "/terms/core.nothing").status_code == 404


def test_a_rewording_is_used_at_once_and_deleting_it_restores_the_default(staff, rt):
    response = staff.editor("put", "/terms/core.organisation", json={
        "pl": UNIT_PL, "en": {"singular": {"nom": "member unit"},
                              "plural": {"nom": "member units"}}})
    assert response.status_code == 200, response.get_json()
    term = response.get_json()
    assert term["overridden"] and term["gender"] == "f"
    assert term["pl"]["singular"]["acc"] == "jednostkę" and term["pl"]["missing"] == []
    assert term["en"]["plural"] == {"nom": "member units"}
    assert term["default"]["en"]["singular"] == {"nom": "organisation"}
    # The API's own words follow: its tags and its messages.
    spec = staff.ola("get", "/openapi.json").get_json()
    assert next(t for t in spec["tags"] if t["name"] == "organizations")["description"] == \
        "Member units"
    polish = staff.ola("get", "/organizations/", query_string={
        "filter": '{"field": "ciry", "op": "eq", "value": "x"}'},
        headers={"Accept-Language": "pl"})
    assert "jednostek" in polish.get_json()["errors"]["filter.field"]

    # Only Polish, and only the noun: the rest is filled in and listed as missing.
    renamed = staff.editor("put", "/terms/core.task", json={
        "pl": {"singular": {"nom": "sprawa"}}}).get_json()
    assert renamed["pl"]["singular"]["nom"] == "sprawa"
    assert "plural.gen" in renamed["pl"]["missing"] and "gender" in renamed["pl"]["missing"]
    assert renamed["en"]["overridden"] is False
    with rt.session() as session:
        trail = session.scalar(select(AuditEntry).where(
            AuditEntry.action == "term_changed", AuditEntry.summary == "core.task (pl)"))
    assert trail is not None and trail.door == "api"

    # Blank forms for a language return it to the default, as on the staff page.
    back = staff.editor("put", "/terms/core.organisation", json={
        "en": {"singular": {"nom": ""}, "plural": {"nom": ""}}}).get_json()
    assert back["en"]["singular"] == {"nom": "organisation"} and back["pl"]["overridden"]
    assert staff.editor("delete", "/terms/core.organisation").status_code == 204
    restored = staff.ola("get", "/terms/core.organisation").get_json()
    assert not restored["overridden"] and restored["pl"]["singular"]["nom"] == "organizacja"
    assert overrides(rt) == 1  # core.task's


def test_bad_wording_answers_422_per_form_and_saves_neither_language(staff, rt):
    response = staff.editor("put", "/terms/core.organisation", json={
        "en": {"singular": {"nom": "member unit"}, "plural": {"nom": "member units"}},
        "pl": {"singular": {"nom": "", "gen": "   ", "xyz": "a", "dat": 5},
               "plural": {"nom": "a\nb"}, "gender": "x"}})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "pl.singular.nom": "Enter the nominative singular: the noun itself.",
        "pl.singular.gen": "Only spaces: type the form, or leave the field empty.",
        "pl.singular.xyz": "Unknown field.",
        "pl.singular.dat": "Not a valid string.",
        "pl.plural.nom": "Write the form on one line, without control characters.",
        "pl.gender": "Choose a gender from the list."}
    english = staff.editor("put", "/terms/core.organisation", json={
        "en": {"singular": {"nom": "x" * 101}, "plural": {"gen": "units"}}})
    assert english.get_json()["errors"] == {"en.singular.nom": "At most 100 characters.",
                                            "en.plural.gen": "Unknown field."}
    assert staff.editor("put", "/terms/core.organisation", json={
        "de": {"singular": {"nom": "Einheit"}}}).get_json()["errors"] == {
        "de": "Unknown field."}
    assert overrides(rt) == 0
    assert staff.ola("get", "/terms/core.organisation").get_json()["overridden"] is False


def test_rewording_needs_the_permission(staff, rt):
    for method, json in (("put", {"en": {"singular": {"nom": "unit"}}}), ("delete", None)):
        response = staff.ola(method, "/terms/core.organisation", json=json)
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == \
            "Your role does not allow changing the terminology."
    assert overrides(rt) == 0
    assert staff.editor("put", "/terms/core.nothing", json={}).status_code == 404


def test_the_openapi_document_lists_the_terms_api(staff):
    spec = staff.ola("get", "/openapi.json").get_json()
    item = spec["paths"]["/api/v1/terms/{key}"]
    assert {"get", "put", "delete"} <= set(item)
    assert {"403", "422"} <= set(item["put"]["responses"])
    assert "/api/v1/terms/" in spec["paths"]

"""The plugins API: which plugins are installed and enabled, what an enabled one adds to
the application, and switching one on or off for the next start; for whoever may manage
plugins."""

import pytest
from api_helpers import callers

import core
from core.models import PluginState


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


@pytest.fixture
def staff(app, rt):
    """An administrator, someone who may manage plugins, and a colleague who may not."""
    return callers(app, rt, boss=dict(admin=True),
                   keeper=dict(access={}, permissions=["core.manage_plugins"]), ola=dict())


def test_the_installed_plugins_are_listed_with_their_state_and_what_they_add(staff):
    response = staff.keeper("get", "/plugins/")
    assert response.status_code == 200, response.get_json()
    found = {p["name"]: p for p in response.get_json()}
    assert set(found) == {"expertise", "fundraising", "grants", "photovoltaics", "printing",
                          "training"}
    printing = found["printing"]
    assert (printing["state"], printing["loaded"], printing["version"]) == \
        ("enabled", True, core.__version__)
    assert printing["title"] == "Large-format printing"
    assert printing["description"].startswith("Projects with price calculations")
    adds = printing["registers"]
    assert "printing.project" in adds["processes"]
    assert adds["permissions"] == ["printing.check_print_files", "printing.confirm_documents",
                                   "printing.price_products", "printing.production",
                                   "printing.reports"]
    assert "printing.offer" in adds["templates"]
    assert adds["fields"] and all(f.startswith("case.printing_") for f in adds["fields"])
    assert adds["terms"] and all(t.startswith("printing.") for t in adds["terms"])
    assert {"kartoteka_register_processes", "kartoteka_register_permissions"} <= \
        set(adds["hooks"])
    assert adds["record_types"] == ["printing_print_file"]
    # A plugin that is not enabled is not imported: its name and version are known.
    assert found["grants"] == {"name": "grants", "state": "disabled", "loaded": False,
                               "version": core.__version__, "title": None,
                               "description": None, "depends": [], "registers": None}
    polish = staff.keeper("get", "/plugins/printing", headers={"Accept-Language": "pl"})
    assert polish.get_json()["title"] == "Druk wielkoformatowy"
    assert staff.boss("get", "/plugins/printing").get_json() == printing


def test_plugins_enabled_elsewhere_or_gone_are_told_apart(staff, rt):
    with rt.session() as session, session.begin():
        session.add(PluginState(name="grants", enabled=True, version="0.0.9", depends=[]))
        session.add(PluginState(name="removed", enabled=True, version="1.2", depends=[]))
    found = {p["name"]: p for p in staff.keeper("get", "/plugins/").get_json()}
    # Enabled by the command line after this application started: it runs from the next
    # start.
    assert (found["grants"]["state"], found["grants"]["loaded"],
            found["grants"]["version"]) == ("enabled", False, "0.0.9")
    assert found["removed"]["state"] == "missing" and found["removed"]["registers"] is None


def test_reading_plugins_needs_the_permission_and_nothing_changes_them(staff):
    refused = staff.ola("get", "/plugins/")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == "Your role does not allow managing plugins."
    assert staff.ola("get", "/plugins/printing").status_code == 403
    assert staff.keeper("get", "/plugins/nothing").status_code == 404
    for method in ("post", "put", "patch", "delete"):
        response = staff.boss(method, "/plugins/printing", json={"state": "disabled"})
        assert response.status_code == 405, method
    assert staff.boss("get", "/plugins/printing").get_json()["state"] == "enabled"


def test_the_openapi_document_lists_the_plugins_api(staff):
    spec = staff.ola("get", "/openapi.json").get_json()
    assert {"/api/v1/plugins/", "/api/v1/plugins/{name}"} <= set(spec["paths"])
    listing = spec["paths"]["/api/v1/plugins/"]
    assert set(listing) - {"parameters"} == {"get"}
    assert "/enable" in listing["get"]["description"]
    assert "/api/v1/plugins/{name}/enable" in spec["paths"]
    tag = next(t for t in spec["tags"] if t["name"] == "plugins")
    assert tag["description"] == "Plugins"


def test_a_plugin_is_switched_on_and_off_for_the_next_start(staff, rt):
    from core import plugins

    refused = staff.ola("post", "/plugins/grants/enable")
    assert refused.status_code == 403
    switched = staff.keeper("post", "/plugins/grants/enable")
    assert switched.status_code == 200, switched.get_json()
    assert (switched.get_json()["state"], switched.get_json()["loaded"]) == ("enabled", False)
    with rt.session() as session:
        assert set(plugins.enabled_states(session)) == {"printing", "grants"}
    off = staff.keeper("post", "/plugins/grants/disable")
    assert off.get_json()["state"] == "disabled"
    assert staff.keeper("post", "/plugins/nothing/enable").status_code == 404
    with rt.session() as session:
        assert set(plugins.enabled_states(session)) == {"printing"}


def test_a_plugin_that_cannot_be_enabled_says_why(staff, rt, third_party):
    from core import plugins

    refused = staff.keeper("post", "/plugins/needs_absent/enable")
    assert refused.status_code == 422
    assert "depends on plugin 'absent'" in refused.get_json()["errors"]["name"]
    with rt.session() as session:
        assert set(plugins.enabled_states(session)) == {"printing"}

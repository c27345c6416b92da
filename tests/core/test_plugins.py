"""Discovery, enabling, disabling and failing closed, through the CLI and the app."""

import json
import sys

import pytest
from sqlalchemy import inspect

from core import plugins
from core.db import make_engine
from core.errors import PluginError, StartupError
from core.web import create_app

BUILT_IN = {"training", "photovoltaics", "grants", "printing", "fundraising", "expertise"}


@pytest.fixture
def cli(cli_process):
    """Discovery is what a new process finds installed: each command runs as one."""
    return cli_process


def listing(cli) -> dict:
    result = cli("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {line["name"]: line for line in json.loads(result.stdout)}


def test_the_six_built_in_plugins_are_discovered_through_entry_points():
    found = plugins.discover()
    assert BUILT_IN <= set(found)
    for name in BUILT_IN:
        assert found[name].group == "kartoteka.plugins"
        assert found[name].value == f"plugins.{name}.plugin"
        assert found[name].dist.name == "kartoteka"


def test_installed_is_not_enabled_and_list_reports_each_plugin(cli):
    assert cli("init").returncode == 0
    lines = listing(cli)
    for name in BUILT_IN:
        line = lines[name]
        assert line["enabled"] is False and line["status"] == "disabled"
        assert line["error"] is None and line["version"] == "0.1.0" and line["title"]
        assert set(line) == {"name", "version", "enabled", "status", "error", "title",
                             "description", "depends"}


def test_init_enables_the_chosen_plugins_and_disable_keeps_them_listed(cli):
    assert cli("init", "--plugins", "training,grants").returncode == 0
    lines = listing(cli)
    assert {n for n, line in lines.items() if line["enabled"]} == {"training", "grants"}

    result = cli("plugins", "disable", "grants")
    assert result.returncode == 0 and "kept" in result.stdout
    assert listing(cli)["grants"]["status"] == "disabled"
    assert cli("plugins", "disable", "grants").stdout.strip() == "grants was not enabled."
    assert cli("plugins", "enable", "grants").returncode == 0
    assert listing(cli)["grants"]["status"] == "enabled"


def test_enabling_a_plugin_that_is_not_installed_names_the_installed_ones(cli):
    cli("init")
    result = cli("plugins", "enable", "trainig")
    assert result.returncode == 1
    assert "Plugin 'trainig': is not installed" in result.stderr
    assert "training" in result.stderr and "Nothing was enabled." in result.stderr


def test_enabling_refuses_a_disabled_dependency_naming_both(cli, third_party):
    cli("init")
    result = cli("plugins", "enable", "needs_visits")
    assert result.returncode == 1
    assert "Plugin 'needs_visits': depends on plugin 'visits', which is not enabled" \
        in result.stderr
    assert "kartoteka plugins enable visits" in result.stderr
    assert listing(cli)["needs_visits"]["enabled"] is False

    assert cli("plugins", "enable", "visits", "needs_visits").returncode == 0
    result = cli("plugins", "disable", "visits")
    assert result.returncode == 1
    assert "Plugin 'visits': plugin 'needs_visits' depends on it" in result.stderr
    assert listing(cli)["visits"]["enabled"] is True


def test_a_dependency_that_is_not_installed_is_named(cli, third_party):
    cli("init")
    result = cli("plugins", "enable", "needs_absent")
    assert result.returncode == 1
    assert "Plugin 'needs_absent': depends on plugin 'absent', which is not installed" \
        in result.stderr


def test_an_unsupported_core_version_is_refused_naming_both_versions(cli, third_party):
    cli("init")
    result = cli("plugins", "enable", "future_core")
    assert result.returncode == 1
    assert "Plugin 'future_core': supports core >=99, but this is core 0.1.0" in result.stderr
    line = listing(cli)["future_core"]
    assert line["status"] == "disabled" and "supports core >=99" in line["error"]


@pytest.mark.parametrize("name, message", [
    ("broken_import", "failed to import kartoteka_faulty.broken_import: "
                      "RuntimeError: cannot find the printer driver library"),
    ("broken_register", "kartoteka_register_terms raised ValueError: terms file is corrupt"),
    ("misspelt", "unknown hook 'kartoteka_register_term'"),
    ("bad_table", "table 'things' must be named 'bad_table_...'"),
])
def test_a_broken_plugin_is_refused_with_its_error_and_stays_disabled(cli, third_party,
                                                                       name, message):
    cli("init", "--plugins", "training")
    result = cli("plugins", "enable", name)
    assert result.returncode == 1
    assert f"Plugin '{name}'" in result.stderr and message in result.stderr
    lines = listing(cli)
    assert lines[name]["enabled"] is False
    assert lines["training"]["status"] == "enabled"


def test_a_plugin_that_breaks_after_enabling_stops_start_up_until_disabled(
        cli, third_party, database_url, tmp_path, monkeypatch):
    cli("init", "--plugins", "training")
    assert cli("plugins", "enable", "flaky").returncode == 0
    config = {"database_url": database_url, "instance_path": str(tmp_path / "instance")}
    assert create_app(config).config["FLAKY_STARTED"] is True

    # An upgrade breaks the plugin; a new process imports it afresh.
    monkeypatch.setenv("KARTOTEKA_TEST_BREAK_FLAKY", "1")
    monkeypatch.delitem(sys.modules, "kartoteka_faulty.flaky")
    with pytest.raises(StartupError) as refused:
        create_app(config)
    message = str(refused.value)
    assert "Plugin 'flaky' is enabled but cannot be loaded" in message
    assert "cannot import name 'Invoice'" in message
    assert "kartoteka plugins disable flaky" in message

    lines = listing(cli)
    assert lines["flaky"]["status"] == "broken" and "Invoice" in lines["flaky"]["error"]
    assert lines["training"]["status"] == "enabled"
    served = cli("serve", "--port", "1")
    assert served.returncode == 1 and "kartoteka plugins disable flaky" in served.stderr

    assert cli("plugins", "disable", "flaky").returncode == 0
    app = create_app(config)
    assert "flaky" not in app.extensions["kartoteka"].host.plugins
    assert "FLAKY_STARTED" not in app.config


def test_a_plugin_enabled_then_uninstalled_is_reported_missing(cli, third_party,
                                                               monkeypatch, database_url):
    cli("init")
    assert cli("plugins", "enable", "flaky").returncode == 0
    monkeypatch.delenv("PYTHONPATH")
    line = listing(cli)["flaky"]
    assert line["status"] == "missing" and "is not installed" in line["error"]
    assert cli("plugins", "disable", "flaky").returncode == 0


def test_enable_is_all_or_nothing(cli, third_party):
    cli("init")
    result = cli("plugins", "enable", "training", "broken_register")
    assert result.returncode == 1
    assert listing(cli)["training"]["enabled"] is False


def test_each_app_has_its_own_plugin_manager(kartoteka_app_factory):
    first = kartoteka_app_factory(["training"])
    second = kartoteka_app_factory(["grants"])
    assert set(first.extensions["kartoteka"].host.plugins) == {"training"}
    assert set(second.extensions["kartoteka"].host.plugins) == {"training", "grants"}
    assert first.extensions["kartoteka"].host.pm is not second.extensions["kartoteka"].host.pm


def test_plugins_register_in_dependency_order(third_party):
    host = plugins.build_host(["needs_visits", "visits", "training"])
    order = list(host.plugins)
    assert sorted(order) == ["needs_visits", "training", "visits"]
    assert order.index("visits") < order.index("needs_visits")
    # pluggy calls the last registered first: the dependent before its dependency.
    impls = host.pm.hook.kartoteka_register_permissions.get_hookimpls()
    callers = [impl.plugin_name for impl in impls]
    assert callers[0] == "core" and callers.index("visits") < callers.index("needs_visits")


def test_direct_enable_raises_plugin_error_and_creates_no_tables(database_url, third_party):
    engine = make_engine(database_url)
    from core import migrate

    migrate.upgrade(engine, migrate.CORE_BRANCH)
    with pytest.raises(PluginError) as refused:
        plugins.enable(engine, ["visits", "broken_register"])
    assert refused.value.plugin == "broken_register"
    assert not inspect(engine).has_table("visits_visit")
    engine.dispose()

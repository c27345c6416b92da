"""A third party's plugin, pip-installed from tests/fixtures, from discovery to removal."""

import json
import logging

from sqlalchemy import inspect, select, text

from core.db import make_engine


def test_a_pip_installed_plugin_is_discovered_enabled_and_served(
        cli, cli_process, third_party, kartoteka_app_factory, kartoteka_login, database_url):
    assert cli("init").returncode == 0
    # Listing imports every installed plugin, the faulty fixtures too: in a process of its
    # own, as a table one of them maps would stay in this one and be counted as the others'.
    listed = cli_process("plugins", "list", "--json")
    lines = {p["name"]: p for p in json.loads(listed.stdout)}
    assert lines["visits"]["status"] == "disabled"
    assert lines["visits"]["title"] == "Wizyty"

    enabled = cli("plugins", "enable", "visits")
    assert enabled.returncode == 0, enabled.stderr
    engine = make_engine(database_url)
    assert inspect(engine).has_table("visits_visit")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version_visits")) \
            == "0001_visits"
    engine.dispose()

    client = kartoteka_login(kartoteka_app_factory().test_client())
    page = client.get("/visits/")
    assert page.status_code == 200
    assert "Wizyty" in page.text and "0 wizyt" in page.text

    added = client.post("/visits/", data={"place": "Urząd Miasta Gniezno", "note": "umowa"})
    assert added.status_code == 302
    page = client.get("/visits/").text
    assert "Urząd Miasta Gniezno" in page and "1 wizyta" in page


def test_the_plugins_veto_keeps_a_bad_record_out(third_party, kartoteka_app_factory,
                                                 kartoteka_login):
    app = kartoteka_app_factory(["visits"])
    client = kartoteka_login(app.test_client())
    refused = client.post("/visits/", data={"place": "  ", "note": "bez miejsca"})
    assert refused.status_code == 200
    assert "Say where the visit took place." in refused.text
    assert "0 wizyt" in refused.text and 'value="bez miejsca"' in refused.text


def test_the_plugins_command_demo_data_and_events(cli, third_party):
    cli("init", "--plugins", "training")
    cli("plugins", "enable", "visits")
    assert cli("visits", "count").stdout.strip() == "0"
    demo = cli("demo")
    assert demo.returncode == 0 and "Demo data: visits" in demo.stdout
    assert cli("demo").returncode == 0
    assert cli("visits", "count").stdout.strip() == "2"
    assert "visits" in cli("--help").stdout


def test_disabling_removes_pages_commands_and_hooks_but_keeps_data(
        cli, third_party, kartoteka_app_factory, kartoteka_login, caplog):
    cli("init")
    cli("plugins", "enable", "visits")
    cli("demo")
    assert cli("plugins", "disable", "visits").returncode == 0

    app = kartoteka_app_factory()
    assert "visits" not in app.extensions["kartoteka"].host.plugins
    client = kartoteka_login(app.test_client())
    assert client.get("/visits/").status_code == 404
    unknown = cli("visits", "count")
    assert unknown.returncode == 2 and "No such command 'visits'" in unknown.stderr

    rt = app.extensions["kartoteka"]
    from core import records
    from kartoteka_visits.models import Visit

    with caplog.at_level(logging.INFO), rt.session() as session, session.begin():
        records.create(session, Visit(place="", visited_on=__import__("datetime").date.today()))
    assert "recorded" not in caplog.text  # neither the veto nor the listener ran
    with rt.session() as session:
        assert len(session.scalars(select(Visit)).all()) == 3

"""Schema migrations: the core's branch, each plugin's own branch, and start-up checks."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import core.models  # noqa: F401  (the core's tables on the metadata)
from core import migrate, plugins
from core.db import Base, make_engine
from core.errors import SchemaOutOfDate, StartupError
from core.web import create_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Every table of the core's models: the migrations must create exactly these.
CORE_TABLES = {m.local_table.name for m in Base.registry.mappers
               if m.class_.__module__.startswith("core.models.")}
CORE_HEAD = migrate.head(migrate.CORE_BRANCH)
VISITS = migrate.Branch(
    "visits", FIXTURES / "kartoteka-visits" / "kartoteka_visits" / "migrations" / "versions")


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def app_config(database_url, tmp_path, **extra):
    return {"database_url": database_url, "instance_path": str(tmp_path / "instance"), **extra}


def version(engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text(f"SELECT version_num FROM {table}")))


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --------------------------------------------------------------------- the core's branch


def test_upgrade_creates_the_core_tables_and_reports_the_head(engine):
    assert migrate.status(engine, [migrate.CORE_BRANCH])[0].current is None
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    assert CORE_TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
    [line] = migrate.status(engine, [migrate.CORE_BRANCH])
    assert (line.name, line.current, line.head) == ("core", CORE_HEAD, CORE_HEAD)
    assert line.up_to_date


def test_upgrading_twice_keeps_the_schema_and_the_data(engine):
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plugin_state (name, enabled, version, depends, "
                          "changed_at) VALUES ('x', false, '1', '[]', CURRENT_TIMESTAMP)"))
    tables = set(inspect(engine).get_table_names())

    migrate.upgrade(engine, migrate.CORE_BRANCH)
    assert set(inspect(engine).get_table_names()) == tables
    assert version(engine, "alembic_version") == [CORE_HEAD]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT name FROM plugin_state")) == "x"


def core_only(obj, name, type_, reflected, compare_to):
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in CORE_TABLES


def test_the_migrated_schema_matches_the_models(engine):
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    assert CORE_TABLES <= set(Base.metadata.tables)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": core_only, "compare_type": True,
            "compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


@pytest.mark.parametrize("branch", [migrate.CORE_BRANCH, VISITS], ids=lambda b: b.name)
def test_each_branch_has_exactly_one_head(branch):
    heads = ScriptDirectory.from_config(migrate.alembic_config(branch)).get_heads()
    assert len(heads) == 1, heads


# --------------------------------------------------------------------- start-up


def test_start_up_without_auto_migrate_refuses_an_unmigrated_database(database_url,
                                                                      tmp_path):
    with pytest.raises(SchemaOutOfDate) as refused:
        create_app(app_config(database_url, tmp_path, auto_migrate=False))
    assert "kartoteka db upgrade" in str(refused.value)
    assert "'core'" in str(refused.value)


def test_start_up_migrates_an_unmigrated_database_by_default(database_url, tmp_path,
                                                             engine):
    app = create_app(app_config(database_url, tmp_path))
    app.extensions["kartoteka"].engine.dispose()
    assert migrate.status(engine, [migrate.CORE_BRANCH])[0].current == CORE_HEAD
    assert CORE_TABLES <= set(inspect(engine).get_table_names())


def test_a_plugin_branch_behind_its_head_stops_start_up_naming_the_plugin(
        database_url, tmp_path, engine, third_party):
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    plugins.enable(engine, ["visits"])
    migrate.downgrade(engine, VISITS, "base")
    assert not inspect(engine).has_table("visits_visit")

    with pytest.raises(SchemaOutOfDate) as refused:
        create_app(app_config(database_url, tmp_path, auto_migrate=False))
    assert "'visits'" in str(refused.value) and "kartoteka db upgrade" in str(refused.value)

    app = create_app(app_config(database_url, tmp_path))
    app.extensions["kartoteka"].engine.dispose()
    assert inspect(engine).has_table("visits_visit")
    assert version(engine, "alembic_version_visits") == ["0001_visits"]


# --------------------------------------------------------------------- a plugin's branch


def test_a_plugin_has_its_own_version_table(cli, third_party, engine):
    ok(cli("init"))
    ok(cli("plugins", "enable", "visits"))
    assert inspect(engine).has_table("visits_visit")
    assert version(engine, "alembic_version_visits") == ["0001_visits"]
    assert version(engine, "alembic_version") == [CORE_HEAD]

    lines = json.loads(ok(cli("db", "status", "--json")).stdout)
    assert [(line["name"], line["current"], line["up_to_date"]) for line in lines] == [
        ("core", CORE_HEAD, True), ("visits", "0001_visits", True)]


def test_disabling_keeps_a_plugins_table_and_downgrade_then_removes_it(cli, third_party,
                                                                         engine):
    ok(cli("init"))
    ok(cli("plugins", "enable", "visits"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO visits_visit (place, visited_on, note) "
                          "VALUES ('Kórnik', :day, '')"), {"day": date(2026, 11, 2)})

    refused = cli("db", "downgrade", "--plugin", "visits", "base")
    assert refused.returncode == 1
    assert "disable 'visits' first" in refused.stderr
    assert inspect(engine).has_table("visits_visit")

    ok(cli("plugins", "disable", "visits"))
    with engine.connect() as conn:
        assert list(conn.scalars(text("SELECT place FROM visits_visit"))) == ["Kórnik"]

    ok(cli("db", "downgrade", "--plugin", "visits", "base"))
    tables = set(inspect(engine).get_table_names())
    assert "visits_visit" not in tables
    assert CORE_TABLES | {"alembic_version"} <= tables
    assert version(engine, "alembic_version") == [CORE_HEAD]


def generated_upgrade(versions: Path) -> str:
    (revision_file,) = [p for p in versions.glob("*.py") if "check" in p.name]
    body = revision_file.read_text()
    return body[body.index("def upgrade"):body.index("def downgrade")]


def test_autogenerate_looks_only_at_the_branchs_own_tables(engine, third_party, tmp_path):
    import kartoteka_visits.models  # noqa: F401  (the plugin's table on the metadata)

    migrate.upgrade(engine, migrate.CORE_BRANCH)
    plugins.enable(engine, ["visits"])
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy_import (id INTEGER PRIMARY KEY)"))
    names = tuple(plugins.discover())

    visits_copy = migrate.Branch("visits", tmp_path / "visits")
    shutil.copytree(VISITS.versions, visits_copy.versions)
    migrate.make_revision(engine, visits_copy, "check", True, names)
    core_copy = migrate.Branch("core", tmp_path / "core")
    shutil.copytree(migrate.CORE_VERSIONS, core_copy.versions)
    migrate.make_revision(engine, core_copy, "check", True, names)

    for upgrade in (generated_upgrade(visits_copy.versions),
                    generated_upgrade(core_copy.versions)):
        assert "op." not in upgrade, upgrade
    assert inspect(engine).has_table("legacy_import")


def test_autogenerate_for_a_plugin_sees_a_change_to_its_own_model(engine, third_party,
                                                                  tmp_path):
    import kartoteka_visits.models  # noqa: F401

    migrate.upgrade(engine, migrate.CORE_BRANCH)
    plugins.enable(engine, ["visits"])
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE visits_visit"))
    copy = migrate.Branch("visits", tmp_path / "visits")
    shutil.copytree(VISITS.versions, copy.versions)
    migrate.make_revision(engine, copy, "check", True, tuple(plugins.discover()))
    upgrade = generated_upgrade(copy.versions)
    assert "op.create_table('visits_visit'" in upgrade
    assert upgrade.count("op.create_table(") == 1 and "op.drop_table" not in upgrade


def test_a_database_migrated_by_newer_code_is_refused_not_downgraded(engine, database_url,
                                                                     tmp_path):
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(StartupError, match="at revision 0099_from_the_future, which this "
                                           "version of Kartoteka does not know"):
        create_app(app_config(database_url, tmp_path))
    assert version(engine, "alembic_version") == ["0099_from_the_future"]


def test_a_migration_that_rebuilds_a_table_keeps_the_rows_pointing_at_it(engine):
    # Adding the supervisor to `users` rebuilds the table on SQLite; rows referring to
    # accounts (team memberships cascade, owners are set to null) must come through.
    migrate.upgrade(engine, migrate.CORE_BRANCH, "0009_privacy")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, email, full_name, password_hash, is_admin, active, "
            "created_at, kind, portal_admin, password_changed_at, totp_last_step) VALUES "
            "(7, 'ola@example.com', 'Ola', 'x', false, true, CURRENT_TIMESTAMP, 'staff', "
            "false, CURRENT_TIMESTAMP, 0)"))
        conn.execute(text("INSERT INTO teams (id, name) VALUES (1, 'Sprzedaż')"))
        conn.execute(text("INSERT INTO team_members (team_id, user_id) VALUES (1, 7)"))
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT user_id FROM team_members")).all() == [(7,)]
        assert conn.execute(text("SELECT supervisor_id FROM users")).all() == [(None,)]

"""Test setup: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KARTOTEKA_TEST_POSTGRES_URL (default: the local server's
``test`` database); each test gets its own schema, dropped afterwards. With CI=true
an unreachable PostgreSQL stops the run instead of skipping those tests.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from core.db import normalise_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PG_URL = normalise_url(os.environ.get("KARTOTEKA_TEST_POSTGRES_URL",
                                      "postgresql://postgres@127.0.0.1:5432/test"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect is reported as such
        return f"PostgreSQL at {make_url(PG_URL).render_as_string()} is unreachable: {exc}"
    return None


def pytest_configure(config):
    config.kartoteka_pg_problem = _postgres_problem()
    if IN_CI and config.kartoteka_pg_problem:
        raise pytest.UsageError(
            f"{config.kartoteka_pg_problem}\nThe PostgreSQL tests are mandatory when CI=true.")


def pytest_collection_modifyitems(config, items):
    """Tests marked slow go first: xdist hands tests out in this order, and one of a
    minute started last would leave a worker busy after the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(scope="session", autouse=True)
def sqlite_without_fsync():
    """Test databases are thrown away, so SQLite need not wait for the disk at each
    commit (0.45 ms here): most of the time of tests that commit once a message. A killed
    process loses nothing this way; only a crash of the machine would."""
    def no_fsync(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=OFF")

    event.listen(Pool, "connect", no_fsync)
    yield
    event.remove(Pool, "connect", no_fsync)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """The database a test runs on: each database test runs once on each."""
    if request.param == "postgresql" and request.config.kartoteka_pg_problem:
        pytest.skip(request.config.kartoteka_pg_problem)
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    """A fresh, empty database: an SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'kartoteka.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema_url(schema)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def schema_url(schema: str) -> str:
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def kartoteka_database_url(request, backend, tmp_path):
    """The database of the apps a test builds, with the core's schema already there.

    Migrating for every test is most of what a test costs, so each worker migrates
    once: an SQLite file is copied, and a PostgreSQL schema is emptied and handed on
    when the test left its tables, indexes and versions as they were (else it is
    dropped). A test that also asks for ``database_url`` gets that very database.
    """
    if "database_url" in request.fixturenames:
        yield request.getfixturevalue("database_url")
        return
    if backend == "sqlite":
        path = tmp_path / "kartoteka.db"
        shutil.copyfile(_migrated_sqlite(request.config), path)
        yield f"sqlite:///{path}"
        return
    pool = _schema_pool(request.config)
    schema = pool.take()
    yield schema_url(schema)
    pool.give_back(schema)


def _migrated_sqlite(config) -> Path:
    found = getattr(config, "kartoteka_sqlite_template", None)
    if found is None:
        from core import migrate
        from core.db import make_engine

        folder = tempfile.mkdtemp(prefix="kartoteka-template-")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        found = Path(folder) / "kartoteka.db"
        engine = make_engine(f"sqlite:///{found}")
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        config.kartoteka_sqlite_template = found
    return found


def _schema_pool(config) -> SchemaPool:
    if getattr(config, "kartoteka_schema_pool", None) is None:
        config.kartoteka_schema_pool = SchemaPool()
        config.add_cleanup(config.kartoteka_schema_pool.close)
    return config.kartoteka_schema_pool


class SchemaPool:
    """One migrated PostgreSQL schema per worker, emptied between tests."""

    # Tables (with partitions) and indexes of a schema: what a test must not have changed.
    RELATIONS = text("SELECT c.relkind::text, c.relname FROM pg_class c "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'i') ORDER BY 2, 1")

    def __init__(self):
        self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        # Emptying needs a real transaction: SET LOCAL does nothing under AUTOCOMMIT.
        self.engine = create_engine(PG_URL)
        self.free: str | None = None
        self.pristine: tuple | None = None  # the shape and data a migrated schema has

    def take(self) -> str:
        if self.free is not None:
            schema, self.free = self.free, None
            return schema
        from core import migrate
        from core.db import make_engine

        schema = f"p_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(schema_url(schema))
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        engine.dispose()
        if self.pristine is None:
            self.pristine = (self._shape(schema), self._rows(schema))
        return schema

    def give_back(self, schema: str) -> None:
        try:
            if self.pristine is not None and self._shape(schema) == self.pristine[0]:
                self._empty(schema)
                self.free = schema
                return
        except Exception as exc:  # anything odd: the schema is not handed on, visibly
            # (quietly dropping made every PostgreSQL test migrate anew, unnoticed)
            warnings.warn(f"schema {schema} was not emptied for reuse: {exc!r}", stacklevel=1)
        self._drop(schema)

    def _shape(self, schema: str) -> tuple:
        """Tables, indexes and migration versions: what a test must not have changed."""
        with self.admin.connect() as conn:
            relations = tuple(tuple(r) for r in conn.execute(self.RELATIONS, {"s": schema}))
            versions = tuple(tuple(r) for kind, name in relations
                             if kind == "r" and name.startswith("alembic_version")
                             for r in conn.execute(text(f'SELECT * FROM "{schema}"."{name}"')))
        return relations, versions

    def _rows(self, schema: str) -> dict:
        """The rows migrations put in (the built-in role) and every sequence's place."""
        with self.admin.connect() as conn:
            rows = {}
            for table in self._data_tables(conn, schema):
                found = conn.execute(text(f'SELECT * FROM "{schema}"."{table}"')).mappings()
                rows[table] = [dict(r) for r in found]
            sequences = {name: tuple(conn.execute(text(
                f'SELECT last_value, is_called FROM "{schema}"."{name}"')).one())
                for name in conn.execute(text(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = :s"),
                    {"s": schema}).scalars()}
        return {"tables": list(rows), "rows": {t: r for t, r in rows.items() if r},
                "sequences": sequences}

    def _data_tables(self, conn, schema: str) -> list[str]:
        return [t for t in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"),
            {"s": schema}).scalars() if not t.startswith("alembic_version")]

    def _empty(self, schema: str) -> None:
        """Back to the rows and sequences of a migrated schema, in one round trip but for
        the few rows migrations add (a hundred statements one by one cost ~50 ms)."""
        pristine = self.pristine[1]
        script = ["SET LOCAL session_replication_role = replica",  # no foreign key checks
                  "SET LOCAL lock_timeout = '10s'"]
        script += [f'DELETE FROM "{schema}"."{table}"' for table in pristine["tables"]]
        script += [f"SELECT setval('\"{schema}\".\"{name}\"', {int(last)}, {bool(called)})"
                   for name, (last, called) in pristine["sequences"].items()]
        with self.engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(script))  # no parameters: one simple query
            for table, rows in pristine["rows"].items():
                columns = list(rows[0])
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join(f":{c}" for c in columns)
                conn.execute(text(f'INSERT INTO "{schema}"."{table}" ({names}) '
                                  f"VALUES ({values})"), rows)

    def _drop(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def close(self) -> None:
        if self.free is not None:
            self._drop(self.free)
        self.admin.dispose()
        self.engine.dispose()


@pytest.fixture(scope="session")
def fixture_plugins_dir(tmp_path_factory) -> Path:
    """The test plugin distributions, pip-installed into a folder of their own."""
    target = tmp_path_factory.mktemp("site")
    sources = tmp_path_factory.mktemp("src")  # pip builds in the source tree: one per worker
    for name in ("kartoteka-visits", "kartoteka-faulty", "kartoteka-fleet"):
        shutil.copytree(FIXTURES / name, sources / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--disable-pip-version-check", "--target", str(target),
         str(sources / "kartoteka-visits"), str(sources / "kartoteka-faulty"),
         str(sources / "kartoteka-fleet")],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


@pytest.fixture
def third_party(fixture_plugins_dir, monkeypatch) -> Path:
    """Make the pip-installed test plugins visible, in this process and to subprocesses."""
    monkeypatch.syspath_prepend(str(fixture_plugins_dir))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(fixture_plugins_dir)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return fixture_plugins_dir


@pytest.fixture
def cli(database_url, kartoteka_instance_path, monkeypatch):
    """Run the ``kartoteka`` command against the test's database, in this process (click's
    runner): what a command does, without a second of interpreter start-up each time.
    Tests about start-up itself use ``cli_process``. The instance folder is the one of
    the apps the test builds."""
    monkeypatch.setenv("KARTOTEKA_DATABASE_URL", database_url)
    monkeypatch.setenv("KARTOTEKA_INSTANCE_PATH", str(kartoteka_instance_path))
    from click.testing import CliRunner

    from core import cli as module

    def run(*args: str, input: str | None = None, env: dict | None = None):
        module.cli._plugin_commands = None  # as a new process would find them
        result = CliRunner().invoke(module.cli, list(args), input=input, env=env,
                                   prog_name="kartoteka")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout,
                                           result.stderr)

    return run


@pytest.fixture
def cli_process(database_url, kartoteka_instance_path, monkeypatch):
    """Run the ``kartoteka`` command as a process of its own, against the test's database."""
    monkeypatch.setenv("KARTOTEKA_DATABASE_URL", database_url)
    monkeypatch.setenv("KARTOTEKA_INSTANCE_PATH", str(kartoteka_instance_path))
    command = Path(sys.executable).parent / "kartoteka"

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return subprocess.run([str(command), *args], capture_output=True, text=True,
                              input=input, env={**os.environ, **(env or {})}, timeout=120)

    return run

"""Test setup: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KARTOTEKA_TEST_POSTGRES_URL (default: the local server's
``test`` database); each test gets a schema of its own, emptied or dropped afterwards
(``databases``). With CI=true an unreachable PostgreSQL stops the run instead of
skipping those tests.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from core.db import normalise_url
from tests import databases

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
    return databases.schema_url(PG_URL, schema)


@pytest.fixture
def kartoteka_database_url(request, backend, tmp_path):
    """The database of the apps a test builds, with the core's schema already there
    (see ``databases``). A test that also asks for ``database_url`` gets that very
    database."""
    if "database_url" in request.fixturenames:
        yield request.getfixturevalue("database_url")
        return
    if backend == "sqlite":
        path = tmp_path / "kartoteka.db"
        _templates(request.config, databases.SqliteTemplates).copy_to(path)
        yield f"sqlite:///{path}"
        return
    pool = _templates(request.config, databases.SchemaPool)
    schema = pool.take()
    yield schema_url(schema)
    pool.give_back(schema)


@pytest.fixture
def kartoteka_enable_plugins(request):
    """Plugins are enabled on a test's database by handing it one where their
    migrations already ran, when nothing was written to it yet. (Not by ``backend``:
    a test that chose its database is not run on the other.)"""
    def enable(engine, names) -> None:
        sqlite = engine.url.get_backend_name() == "sqlite"
        kind = databases.SqliteTemplates if sqlite else databases.SchemaPool
        _templates(request.config, kind).enable(engine, names)

    return enable


def _templates(config, kind):
    """The worker's SQLite templates or PostgreSQL schema pool, made when first asked."""
    name = f"kartoteka_{kind.__name__}"
    if getattr(config, name, None) is None:
        setattr(config, name, kind(PG_URL) if kind is databases.SchemaPool else kind())
        config.add_cleanup(getattr(config, name).close)
    return getattr(config, name)


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


@pytest.fixture(scope="session")
def cli_zygote():
    """The worker's process that forks each ``kartoteka`` command (``cli_zygote.py``)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from tests.cli_zygote import serve; serve()"],
        cwd=Path(__file__).parent.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    yield process
    process.stdin.close()
    process.wait(timeout=30)


@pytest.fixture
def cli_process(database_url, kartoteka_instance_path, monkeypatch, cli_zygote, tmp_path):
    """Run the ``kartoteka`` command as a process of its own, against the test's database:
    forked from a process that has done the imports, so it starts in milliseconds."""
    monkeypatch.setenv("KARTOTEKA_DATABASE_URL", database_url)
    monkeypatch.setenv("KARTOTEKA_INSTANCE_PATH", str(kartoteka_instance_path))
    folder = tmp_path / "cli"
    folder.mkdir()

    def run(*args: str, input: str | None = None, env: dict | None = None):
        files = {name: folder / name for name in ("stdin", "stdout", "stderr")}
        files["stdin"].write_text(input or "", encoding="utf-8")
        request = {"args": list(args), "env": {**os.environ, **(env or {})},
                   "cwd": os.getcwd(), "script_dir": str(Path(sys.executable).parent),
                   **{name: str(path) for name, path in files.items()}}
        cli_zygote.stdin.write(json.dumps(request) + "\n")
        cli_zygote.stdin.flush()
        if not select.select([cli_zygote.stdout], [], [], 120)[0]:
            cli_zygote.kill()
            raise subprocess.TimeoutExpired(["kartoteka", *args], 120)
        code = json.loads(cli_zygote.stdout.readline())["returncode"]
        return subprocess.CompletedProcess(["kartoteka", *args], code,
                                           files["stdout"].read_text(encoding="utf-8"),
                                           files["stderr"].read_text(encoding="utf-8"))

    return run

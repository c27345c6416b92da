"""Test setup: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KARTOTEKA_TEST_POSTGRES_URL (default: the local server's
``test`` database); each test gets its own schema, dropped afterwards. With CI=true
an unreachable PostgreSQL stops the run instead of skipping those tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kartoteka.db'}"
        return
    problem = request.config.kartoteka_pg_problem
    if problem:
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def kartoteka_database_url(database_url):
    return database_url


@pytest.fixture(scope="session")
def fixture_plugins_dir(tmp_path_factory) -> Path:
    """The test plugin distributions, pip-installed into a folder of their own."""
    target = tmp_path_factory.mktemp("site")
    sources = tmp_path_factory.mktemp("src")  # pip builds in the source tree: one per worker
    for name in ("kartoteka-visits", "kartoteka-faulty"):
        shutil.copytree(FIXTURES / name, sources / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--disable-pip-version-check", "--target", str(target),
         str(sources / "kartoteka-visits"), str(sources / "kartoteka-faulty")],
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
def cli(database_url, tmp_path, monkeypatch):
    """Run the ``kartoteka`` command against the test's database."""
    monkeypatch.setenv("KARTOTEKA_DATABASE_URL", database_url)
    monkeypatch.setenv("KARTOTEKA_INSTANCE_PATH", str(tmp_path / "instance"))
    command = Path(sys.executable).parent / "kartoteka"

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return subprocess.run([str(command), *args], capture_output=True, text=True,
                              input=input, env={**os.environ, **(env or {})}, timeout=120)

    return run

"""Alembic, driven from code: one environment, one version table per branch.

The core's revisions live in ``core/migrations/versions`` and are tracked in
``alembic_version``; each plugin ships only its own ``versions`` folder and is tracked
in ``alembic_version_<plugin>``, so removing one plugin never breaks the others.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CORE = "core"
ENV_DIR = Path(__file__).parent / "migrations"
CORE_VERSIONS = ENV_DIR / "versions"


@dataclass(frozen=True)
class Branch:
    """One line of migrations: the core's or a plugin's."""

    name: str
    versions: Path

    @property
    def version_table(self) -> str:
        return "alembic_version" if self.name == CORE else f"alembic_version_{self.name}"


@dataclass(frozen=True)
class BranchStatus:
    name: str
    current: str | None
    head: str | None
    known: bool = True  # False: the database was migrated by code this one does not have

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


CORE_BRANCH = Branch(CORE, CORE_VERSIONS)


def alembic_config(branch: Branch, connection: Connection | None = None,
                   plugin_names: tuple[str, ...] = ()) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("version_locations", str(branch.versions))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes.update(branch=branch, connection=connection, plugin_names=plugin_names)
    return cfg


def head(branch: Branch) -> str | None:
    return scripts_of(branch).get_current_head()


def scripts_of(branch: Branch) -> ScriptDirectory:
    """The branch's revision scripts, read once while its folder is unchanged: each start
    of an application checks every branch, and reading them costs tens of ms."""
    folder = Path(branch.versions)
    return _read_scripts(str(folder), folder.stat().st_mtime_ns if folder.exists() else 0)


@functools.lru_cache(maxsize=64)
def _read_scripts(folder: str, _changed: int) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(Branch("", Path(folder))))


def current(connection: Connection, branch: Branch) -> str | None:
    ctx = MigrationContext.configure(connection, opts={"version_table": branch.version_table})
    return ctx.get_current_revision()


def status(engine: Engine, branches: list[Branch]) -> list[BranchStatus]:
    with engine.connect() as conn:
        return [_status(conn, b) for b in branches]


def _status(conn: Connection, branch: Branch) -> BranchStatus:
    scripts = scripts_of(branch)
    revision = current(conn, branch)
    try:
        known = revision is None or scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    return BranchStatus(branch.name, revision, scripts.get_current_head(), known)


def upgrade(engine: Engine, branch: Branch, revision: str = "head") -> None:
    with migration_lock(engine), migrating(engine) as conn:
        command.upgrade(alembic_config(branch, conn), revision)


def downgrade(engine: Engine, branch: Branch, revision: str) -> None:
    with migration_lock(engine), migrating(engine) as conn:
        command.downgrade(alembic_config(branch, conn), revision)


@contextmanager
def migrating(engine: Engine):
    """A connection in a transaction for migrations.

    SQLite alters a table by copying it and dropping the old one; with foreign keys
    enforced, that drop would cascade to every row pointing at it (the tables referring
    to ``users`` would lose theirs). So they are off while migrating, and checked as a
    whole before the transaction commits.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, as it must be
        conn.commit()
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def make_revision(engine: Engine, branch: Branch, message: str, autogenerate: bool,
                  plugin_names: tuple[str, ...]) -> None:
    branch.versions.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        cfg = alembic_config(branch, conn, plugin_names)
        command.revision(cfg, message=message, autogenerate=autogenerate,
                         head="head" if head(branch) else "base")


@contextmanager
def migration_lock(engine: Engine):
    """Let only one process migrate at a time (several web processes may start at once)."""
    if engine.dialect.name == "postgresql":
        # One lock per database (and schema search path), the same in every process.
        url = engine.url.render_as_string(hide_password=True)
        key = int(hashlib.sha1(f"kartoteka-migrate {url}".encode()).hexdigest()[:15], 16)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

"""The tests' databases, migrated once a worker and handed on.

Migrating is most of what a database test would cost: the core's migrations take
0.4 s on SQLite and 1.5 s on PostgreSQL, a plugin's up to 0.5 s more. So each worker
keeps a database as the migrations left it for the core alone and for each set of
plugins a test enabled, and hands out copies of it (SQLite) or schemas emptied back to
it (PostgreSQL). A database is swapped for one with the plugins already migrated only
while nothing has been written to it, and a schema a test changed the shape of is
dropped, never handed on.

A plugin set's database also holds the fields and templates its plugins ship, which an
app's start would otherwise write for every test (about 0.1 s). It is kept under what
the plugins ship at that moment, so a test that patches a plugin's fields gets a
database of its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import migrate, plugins, runtime
from core.db import make_engine

CORE: tuple = ((), "")  # the key of the core without plugins: it ships nothing
SHIPPING = ("kartoteka_register_fields", "kartoteka_register_templates")


def key_of(names) -> tuple:
    """The plugins' names and a digest of what they ship now (None: a plugin that is not
    installed, whose database is not kept)."""
    names = tuple(sorted(names))
    available = plugins.discover()
    if any(name not in available for name in names):
        return names, None
    shipped = []
    for name in names:
        module = available[name].load()
        shipped += [repr(getattr(module, hook)()) for hook in SHIPPING if hasattr(module, hook)]
    return names, hashlib.sha1("\n".join(shipped).encode()).hexdigest()


def ship(engine, key: tuple) -> bool:
    """Write what the plugins ship, as an app's start would; False if it cannot."""
    try:
        host = plugins.build_host(key[0])
        runtime.ship_fields(engine, host)
        runtime.ship_templates(engine, host)
    except Exception:  # the test will meet it starting its app, where it is expected
        return False
    return True


def schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class SqliteTemplates:
    """Database files as migrated: the core's, and the core's with each plugin set."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="kartoteka-template-"))
        self.files: dict[tuple, Path] = {}
        self.core_bytes: bytes | None = None

    def copy_to(self, path: Path) -> None:
        shutil.copyfile(self._core(), path)

    def enable(self, engine, names) -> None:
        """Enable plugins on a test's database, by copying a file where they already
        are when the database is still a copy of the core's."""
        key = key_of(names)
        path = Path(engine.url.database)
        engine.dispose()  # what it wrote is in the file now, unless another engine is open
        if not self._untouched(path) or key[1] is None:
            plugins.enable(engine, names)
        elif key in self.files:
            shutil.copyfile(self.files[key], path)
        else:
            plugins.enable(engine, names)
            kept = self._keep(engine, f"{len(self.files)}.db")
            shipped = make_engine(f"sqlite:///{kept}")
            if ship(shipped, key):
                self.files[key] = self._keep(shipped, kept.name)
                shutil.copyfile(kept, path)
            shipped.dispose()

    def _untouched(self, path: Path) -> bool:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            return False
        if self.core_bytes is None:
            self.core_bytes = self._core().read_bytes()
        return path.read_bytes() == self.core_bytes

    def _core(self) -> Path:
        if CORE not in self.files:
            path = self.folder / "core.db"
            engine = make_engine(f"sqlite:///{path}")
            migrate.upgrade(engine, migrate.CORE_BRANCH)
            self.files[CORE] = self._keep(engine, "core.db")
        return self.files[CORE]

    def _keep(self, engine, name: str) -> Path:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        kept = self.folder / name
        if Path(engine.url.database) != kept:
            shutil.copyfile(engine.url.database, kept)
        return kept

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class SchemaPool:
    """PostgreSQL schemas as migrated, for the core and each plugin set, one of each
    kept free; a test's schema is emptied back to how its plugins' migrations left it."""

    # Tables (with partitions) and indexes of a schema: what a test must not have changed.
    RELATIONS = text("SELECT c.relkind::text, c.relname FROM pg_class c "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'i') ORDER BY 2, 1")

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        # Emptying needs a real transaction: SET LOCAL does nothing under AUTOCOMMIT.
        self.engine = create_engine(base_url)
        self.free: dict[tuple, str] = {}
        self.pristine: dict[tuple, tuple] = {}  # key -> (shape, rows) as migrated
        self.handed: str | None = None  # the core schema handed out last
        self.handed_key: tuple = CORE  # what the schema handed out last holds

    def take(self) -> str:
        schema = self.free.pop(CORE, None) or self._migrated()
        self.handed, self.handed_key = schema, CORE
        return schema

    def enable(self, engine, names) -> None:
        """Enable plugins on a test's schema, by swapping in a schema where they are
        already when the test's is the core one handed out and still untouched."""
        key = key_of(names)
        schema = self.handed
        if schema is None or engine.url.query.get("options") != f"-csearch_path={schema}" \
                or key[1] is None or not self._untouched(schema):
            plugins.enable(engine, names)  # the app's start ships what they ship
            self.handed_key = key
            return
        engine.dispose()  # no connection keeps plans made against the schema swapped out
        self.handed_key = key
        if key in self.free:
            spare = self._new_name()
            self._rename(schema, spare)
            self._rename(self.free.pop(key), schema)
            self._keep(CORE, spare)
            return
        plugins.enable(engine, names)
        if ship(engine, key):
            self.pristine.setdefault(key, (self._shape(schema), self._rows(schema)))
        else:
            self.handed_key = (key[0], None)

    def give_back(self, schema: str) -> None:
        self.handed, key = None, self.handed_key
        try:
            if self._enabled(schema) != key[0]:  # plugins enabled some other way
                key = (self._enabled(schema), None)
            added = self._field_indexes(schema, key)
            if added is not None:
                self._empty(schema, key, added)
                self._keep(key, schema)
                return
        except Exception as exc:  # anything odd: the schema is not handed on, visibly
            # (quietly dropping made every PostgreSQL test migrate anew, unnoticed)
            warnings.warn(f"schema {schema} was not emptied for reuse: {exc!r}", stacklevel=1)
        self._drop(schema)

    def _field_indexes(self, schema: str, key: tuple) -> list[str] | None:
        """The custom fields' indexes the schema has beyond the migrated one of its
        plugins (fields are shipped and indexed as an app starts), or None when it
        differs in anything else."""
        if key not in self.pristine:
            return None
        (relations, versions), (migrated, migrated_versions) = \
            self._shape(schema), self.pristine[key][0]
        added = set(relations) - set(migrated)
        if versions != migrated_versions or not set(migrated) <= set(relations) or \
                any(kind != "i" or not name.startswith("ix_cf_") for kind, name in added):
            return None
        return sorted(name for _, name in added)

    # The schema's functions that find its tables by its name (SET search_path FROM
    # CURRENT, as the search triggers do).
    PINNED = text("SELECT p.oid::regprocedure::text FROM pg_proc p "
                  "JOIN pg_namespace n ON n.oid = p.pronamespace "
                  "WHERE n.nspname = :s AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c "
                  "WHERE c LIKE 'search_path=%')")

    def _rename(self, schema: str, name: str) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{name}"'))
            for function in conn.execute(self.PINNED, {"s": name}).scalars().all():
                conn.execute(text(f'ALTER FUNCTION {function} SET search_path = "{name}"'))

    def _keep(self, key: tuple, schema: str) -> None:
        if key in self.free:
            self._drop(schema)
        else:
            self.free[key] = schema

    def _new_name(self) -> str:
        return f"p_{uuid.uuid4().hex[:12]}"

    def _migrated(self) -> str:
        schema = self._new_name()
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(schema_url(self.base_url, schema))
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        engine.dispose()
        self.pristine.setdefault(CORE, (self._shape(schema), self._rows(schema)))
        return schema

    def _enabled(self, schema: str) -> tuple:
        with self.admin.connect() as conn:
            return tuple(conn.execute(text(
                f'SELECT name FROM "{schema}".plugin_state WHERE enabled ORDER BY name'))
                .scalars())

    def _untouched(self, schema: str) -> bool:
        """True when the schema has the core's tables with the rows and sequences the
        migrations left: nothing a test wrote would be lost by swapping it out."""
        shape, pristine = self.pristine[CORE]
        if self._shape(schema) != shape:
            return False
        counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{schema}\".\"{t}\""
                                    for t in pristine["tables"])
        with self.admin.connect() as conn:
            found = {t: n for t, n in conn.execute(text(counts)) if n}
        rows = self._rows(schema, tables=False)
        return found == {t: len(r) for t, r in pristine["rows"].items()} and \
            rows["sequences"] == pristine["sequences"]

    def _shape(self, schema: str) -> tuple:
        """Tables, indexes and migration versions: what a test must not have changed."""
        with self.admin.connect() as conn:
            relations = tuple(tuple(r) for r in conn.execute(self.RELATIONS, {"s": schema}))
            versions = tuple(tuple(r) for kind, name in relations
                             if kind == "r" and name.startswith("alembic_version")
                             for r in conn.execute(text(f'SELECT * FROM "{schema}"."{name}"')))
        return relations, versions

    def _rows(self, schema: str, tables: bool = True) -> dict:
        """The rows migrations put in (the built-in role) and every sequence's place."""
        with self.admin.connect() as conn:
            rows = {}
            for table in self._data_tables(conn, schema) if tables else ():
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

    def _empty(self, schema: str, key: tuple, indexes: list[str]) -> None:
        """Back to the rows, sequences and indexes of a migrated schema, in one round
        trip but for the few rows migrations add (a hundred statements one by one cost
        ~50 ms)."""
        pristine = self.pristine[key][1]
        script = ["SET LOCAL session_replication_role = replica",  # no foreign key checks
                  "SET LOCAL lock_timeout = '10s'"]
        script += [f'DROP INDEX "{schema}"."{name}"' for name in indexes]
        script += [f'DELETE FROM "{schema}"."{table}"' for table in pristine["tables"]]
        script += [f"SELECT setval('\"{schema}\".\"{name}\"', {int(last)}, {bool(called)})"
                   for name, (last, called) in pristine["sequences"].items()]
        with self.engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(script))  # no parameters: one simple query
            for table, rows in pristine["rows"].items():  # JSON columns and all
                conn.execute(text(
                    f'INSERT INTO "{schema}"."{table}" SELECT * FROM json_populate_recordset('
                    f'NULL::"{schema}"."{table}", CAST(:rows AS json))'),
                    {"rows": json.dumps(rows, default=str)})

    def _drop(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def close(self) -> None:
        for schema in self.free.values():
            self._drop(schema)
        self.admin.dispose()
        self.engine.dispose()

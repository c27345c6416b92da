"""One running installation: settings, database, schema check and enabled plugins.

Both the web application and the command line start from ``start()``; it refuses to
run with an out-of-date schema (unless it may upgrade it) or without a plugin that an
administrator enabled.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import config, jobs, migrate, plugins
from core.db import make_engine, make_sessionmaker
from core.errors import PluginError, SchemaOutOfDate, StartupError
from core.plugins import PluginHost


@dataclass
class Runtime:
    settings: config.Settings
    engine: Engine
    Session: sessionmaker
    host: PluginHost
    jobs: jobs.Queue

    def session(self) -> Session:
        return self.Session()


# The runtime started last in this process: what code outside a request or a job (the
# command line) runs against.
latest: Runtime | None = None


def start(settings: config.Settings) -> Runtime:
    from core import (  # noqa: F401 (they register jobs and webhook events)
        billing,
        importing,
        mailing,
        outbox,
        tasks,
        webhook_delivery,
    )

    config.ensure_instance(settings)
    engine = make_engine(settings.database_url)
    ensure_schema(engine, [migrate.CORE_BRANCH], settings.auto_migrate)
    host = load_enabled(engine, settings)
    ensure_schema(engine, host.branches()[1:], settings.auto_migrate)
    ship_fields(engine, host)
    ship_templates(engine, host)
    queue = jobs.Queue(settings)
    rt = Runtime(settings, engine, make_sessionmaker(engine, host=host, jobs=queue), host, queue)
    queue.bind(rt)
    global latest
    latest = rt
    return rt


def ship_templates(engine: Engine, host: PluginHost) -> None:
    """Add the templates (and number series) plugins ship; like ``ship_fields``."""
    from core import documents

    for shipped in host.templates.values():
        with Session(engine) as session:
            try:
                documents.ship(session, shipped)
                session.commit()
            except IntegrityError:
                session.rollback()


def ship_fields(engine: Engine, host: PluginHost) -> None:
    """Add the field definitions plugins ship; another process starting at the same
    time may add them first, which is as good."""
    from core import field_definitions

    for plugin, shipped in host.fields:
        with Session(engine) as session:
            try:
                field_definitions.ship(session, shipped, plugin, host)
                session.commit()
            except IntegrityError:
                session.rollback()


def load_enabled(engine: Engine, settings: config.Settings) -> PluginHost:
    with Session(engine) as session:
        names = set(plugins.enabled_states(session))
    try:
        return plugins.build_host(names, trace=settings.trace_plugins)
    except PluginError as exc:
        raise StartupError(
            f"Plugin '{exc.plugin}' is enabled but cannot be loaded: {exc.reason}\n"
            "Kartoteka does not run without a plugin an administrator enabled.\n"
            f"Fix or reinstall the plugin, or disable it with:\n"
            f"    kartoteka plugins disable {exc.plugin}"
        ) from exc


def ensure_schema(engine: Engine, branches: list[migrate.Branch], auto: bool) -> None:
    """Bring each branch to its head, or refuse when automatic migration is off."""
    for line in migrate.status(engine, branches):
        if line.up_to_date:
            continue
        if not line.known:
            raise StartupError(
                f"The database schema of '{line.name}' is at revision {line.current}, which "
                "this version of Kartoteka does not know: it was migrated by a newer version. "
                "Install that version again, or restore a backup made before the upgrade."
            )
        if not auto:
            raise SchemaOutOfDate(
                f"The database schema of '{line.name}' is at {line.current or 'nothing'}, "
                f"the code needs {line.head}. Run:\n    kartoteka db upgrade"
            )
        migrate.upgrade(engine, next(b for b in branches if b.name == line.name))

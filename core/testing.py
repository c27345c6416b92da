"""Pytest fixtures for Kartoteka and its plugins' authors.

Installed as a pytest plugin with Kartoteka, so a plugin's own tests can write::

    def test_my_page(kartoteka_app_factory, kartoteka_login):
        app = kartoteka_app_factory(plugins=["visits"])
        client = app.test_client()
        kartoteka_login(client)
        assert client.get("/visits/").status_code == 200

Each app gets a throwaway database (SQLite in a temporary folder unless the
``kartoteka_database_url`` fixture is overridden) with the core migrated and the
named plugins enabled through the same path as ``kartoteka plugins enable``. Jobs run
in the test's process as soon as their transaction commits; ``kartoteka_smtp`` is a
real SMTP server on 127.0.0.1 that keeps what it is sent. The instance folder is one
a process, emptied for each test (``kartoteka_instance_path``); an app with the same
plugins and settings as one built for an earlier test is that app on a fresh runtime.
Passwords are hashed with argon2's cheapest parameters (``kartoteka_quick_passwords``).
"""

from __future__ import annotations

import functools
import shutil
from collections import OrderedDict
from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace

import pytest

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session", autouse=True)
def kartoteka_quick_passwords():
    """Passwords are hashed with argon2's cheapest parameters in the tests' process.

    Production's (64 MiB, 3 passes, 4 lanes) cost about 0.2 s of CPU a hash, and nearly
    every test creates an account and logs in: that was half of what a test cost.
    Verifying reads the parameters from the stored hash, so hashes made either way
    check alike. Yields the production hasher, for the test that proves it is used.
    """
    from argon2 import PasswordHasher, profiles

    from core import users

    production = users.hasher
    users.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield production
    users.hasher = production


@pytest.fixture
def kartoteka_database_url(tmp_path) -> str:
    """Where the test's database lives; override it to test on PostgreSQL."""
    return f"sqlite:///{tmp_path / 'kartoteka.db'}"


@pytest.fixture
def kartoteka_instance_path(tmp_path_factory) -> Path:
    """The instance folder of the apps a test builds: one a process, emptied for each
    test of all but its secret key and compiled translations, so that an application
    built for an earlier test is the one this test would build (see the factory)."""
    folder = tmp_path_factory.getbasetemp() / "kartoteka-instance"
    folder.mkdir(exist_ok=True)
    for entry in folder.iterdir():
        if entry.name in ("secret_key", "translations"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return folder


@pytest.fixture
def kartoteka_enable_plugins():
    """How the factory enables plugins on the test's database: ``enable(engine, names)``,
    as ``kartoteka plugins enable`` does. A suite may override it to hand out databases
    whose plugins were migrated once."""
    from core import plugins

    def enable(engine, names) -> None:
        plugins.enable(engine, names)

    return enable


@pytest.fixture
def kartoteka_app_factory(kartoteka_database_url, kartoteka_instance_path,
                          kartoteka_enable_plugins):
    """Build apps on the test's database: ``factory(plugins=[...], **config)``.

    Building an app costs about 0.25 s, as much as the rest of a typical test, so an app
    is built once a process for each configuration and plugin set, and a later test
    asking for the same gets it with a runtime of its own: new settings, engine, plugin
    host, caches and job queue (``core.web.app.attach``). Within one test each call is a
    new app, as two processes would be.
    """
    from core import migrate
    from core.db import make_engine
    from core.web import create_app

    engines = []
    handed_out: set[tuple] = set()  # this test's: a second call builds a second app

    def factory(plugins_to_enable=(), **config):
        config.setdefault("database_url", kartoteka_database_url)
        config.setdefault("instance_path", str(kartoteka_instance_path))
        config.setdefault("TESTING", True)
        config.setdefault("WTF_CSRF_ENABLED", False)
        # Jobs (mailings, delivery) run as soon as what asks for them commits.
        config.setdefault("jobs_url", "immediate")
        engine = make_engine(config["database_url"])
        engines.append(engine)
        with engine.connect() as conn:  # an up-to-date database is most often handed in
            current = migrate.current(conn, migrate.CORE_BRANCH)
        if current != _core_head():
            migrate.upgrade(engine, migrate.CORE_BRANCH)
        if plugins_to_enable:
            kartoteka_enable_plugins(engine, plugins_to_enable)
        key = (tuple(plugins_to_enable),
               tuple(sorted((k, repr(v)) for k, v in config.items() if k != "database_url")))
        app = None if key in handed_out else _reuse(key, config)
        if app is None:
            app = create_app(config)
            _remember(key, app)
        handed_out.add(key)
        engines.append(app.extensions["kartoteka"].engine)
        return app

    yield factory
    for engine in engines:
        engine.dispose()


@functools.cache
def _core_head() -> str:
    """The core's newest revision; reading it parses every revision (a test's worth)."""
    from core import migrate

    return migrate.head(migrate.CORE_BRANCH)


# Apps built by the factory, by plugins and configuration (the database aside), newest
# last; each with its configuration, settings and plugins as built.
_built: OrderedDict[tuple, tuple] = OrderedDict()
_KEEP = 8  # many tests use one configuration, some a port of their own that never recurs


def _plugins_of(rt) -> tuple | None:
    """The enabled plugins and their versions, or None when the app may not be reused:
    a plugin's start-up hook is given the app once, as it is built, and may have done
    there what a new runtime would need again. Pages, API routes and menu entries are
    the same for the same plugins at the same versions, and find the runtime through
    ``current_app`` as they are served."""
    if rt.host.pm.hook.kartoteka_startup.get_hookimpls():
        return None
    return tuple(sorted((name, p.manifest.version) for name, p in rt.host.plugins.items()))


def _remember(key: tuple, app) -> None:
    rt = app.extensions["kartoteka"]
    enabled = _plugins_of(rt)
    if enabled is None:
        return
    _built[key] = (app, dict(app.config), replace(rt.settings), enabled)
    _built.move_to_end(key)
    while len(_built) > _KEEP:
        _built.popitem(last=False)


def _reuse(key: tuple, config: dict):
    """The app built earlier for ``config``, on a fresh runtime, if nothing differs but
    the database: the same plugins are enabled and the settings (environment, instance
    file and secret key included) are the same."""
    from core import config as settings_module
    from core import runtime
    from core.web.app import attach

    if key not in _built:
        return None
    app, app_config, built_with, enabled = _built[key]
    names = {f.name for f in fields(settings_module.Settings)}  # as create_app reads them
    rt = runtime.start(settings_module.load(
        {k: v for k, v in config.items() if k.lower() in names}))
    if _plugins_of(rt) != enabled or \
            replace(rt.settings, database_url="") != replace(built_with, database_url=""):
        rt.engine.dispose()
        return None
    app.config.clear()
    app.config.update(app_config)  # as built, whatever an earlier test changed
    attach(app, rt)
    _built.move_to_end(key)
    return app


@pytest.fixture
def kartoteka_login():
    """Create an administrator in the client's app and log the client in."""
    from flask import Flask

    from core import users

    def login(client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
        app: Flask = client.application
        rt = app.extensions["kartoteka"]
        with rt.session() as session, session.begin():
            if users.find_by_email(session, email) is None:
                users.create_user(session, email, password, is_admin=True)
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, "login failed"
        return client

    return login


class SmtpSink:
    """What an SMTP server on 127.0.0.1 was sent; ``refuse`` maps an address to the
    reply its RCPT gets ("550 No such user", "451 Try later")."""

    def __init__(self):
        import threading

        self.raw: list[bytes] = []  # what arrived, in order
        self.recipients: list[str] = []  # the envelope's recipients, in order
        self.refuse: dict[str, str] = {}
        self._parsed: list = []
        self.lock = threading.Lock()
        self.host, self.port = "127.0.0.1", 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.raw.append(envelope.content)
            self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"

    @property
    def messages(self) -> list:
        """What arrived as email.message.EmailMessage objects, parsed when asked for."""
        from email import message_from_bytes
        from email.policy import default

        with self.lock:
            for content in self.raw[len(self._parsed):]:
                self._parsed.append(message_from_bytes(content, policy=default))
            return list(self._parsed)

    def settings(self) -> dict:
        """The settings that send an app's mail here."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none",
                "mail_from": "Biuro <biuro@example.org>"}


@pytest.fixture
def kartoteka_smtp():
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, for one test."""
    global _smtp_port
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    # The previous test's port when it is free: apps that send there have the same
    # settings, so the factory can hand them on.
    sink.port = _smtp_port = _free_port(_smtp_port)
    # aiosmtpd reads every attribute of its handler at each connection, ``messages`` too,
    # which parsed all mail received so far: it is handed the two hooks alone.
    handler = SimpleNamespace(handle_RCPT=sink.handle_RCPT, handle_DATA=sink.handle_DATA)
    controller = Controller(handler, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


_smtp_port = 0


def _free_port(preferred: int) -> int:
    """``preferred`` if it can be bound on 127.0.0.1 now, else any free port there."""
    import socket

    for port in ((preferred, 0) if preferred else (0,)):
        with socket.socket() as probe:
            # As the server binds: a port whose last connections are closing is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def add_people(session, count: int, consent_to: str | None = None, start: int = 0) -> list[int]:
    """Add ``count`` people with an e-mail address each (osobaN@example.org) in a few
    statements, consenting to ``consent_to`` if given: audiences for mailing tests and
    benchmarks. Returns their ids."""
    from sqlalchemy import insert, select

    from core.db import utcnow
    from core.models import Consent, ContactPoint, Person, ProcessingPurpose

    now = utcnow()
    ids = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), [
        {"first_name": f"Osoba{n}", "last_name": "Testowa", "name_key": f"osoba{n} testowa",
         "created_at": now, "updated_at": now, "custom": {}, "version": 1}
        for n in range(start, start + count)]).all()
    session.execute(insert(ContactPoint), [
        {"person_id": i, "kind": "email", "value": f"osoba{n}@example.org", "label": "",
         "is_primary": True} for n, i in enumerate(ids, start)])
    if consent_to:
        purpose = session.scalar(select(ProcessingPurpose.id).where(
            ProcessingPurpose.key == consent_to))
        session.execute(insert(Consent), [
            {"person_id": i, "purpose_id": purpose, "state": "given", "at": now,
             "source": "import", "evidence": "Zgoda na newsletter.", "note": ""} for i in ids])
    return list(ids)

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
real SMTP server on 127.0.0.1 that keeps what it is sent.
"""

from __future__ import annotations

import pytest

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
def kartoteka_database_url(tmp_path) -> str:
    """Where the test's database lives; override it to test on PostgreSQL."""
    return f"sqlite:///{tmp_path / 'kartoteka.db'}"


@pytest.fixture
def kartoteka_app_factory(kartoteka_database_url, tmp_path):
    """Build apps on the test's database: ``factory(plugins=[...], **config)``."""
    from core import migrate, plugins
    from core.db import make_engine
    from core.web import create_app

    engines = []

    def factory(plugins_to_enable=(), **config):
        config.setdefault("database_url", kartoteka_database_url)
        config.setdefault("instance_path", str(tmp_path / "instance"))
        config.setdefault("TESTING", True)
        config.setdefault("WTF_CSRF_ENABLED", False)
        # Jobs (mailings, delivery) run as soon as what asks for them commits.
        config.setdefault("jobs_url", "immediate")
        engine = make_engine(config["database_url"])
        engines.append(engine)
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        if plugins_to_enable:
            plugins.enable(engine, plugins_to_enable)
        app = create_app(config)
        engines.append(app.extensions["kartoteka"].engine)
        return app

    yield factory
    for engine in engines:
        engine.dispose()


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
    import socket

    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


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

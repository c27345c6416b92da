"""A worker killed with SIGKILL at random moments, and right after the mail server
accepted a message, never loses a message silently and never sends one twice silently.

The worker is the real ``kartoteka worker`` process with the default SQLite job queue;
the mail server is aiosmtpd on 127.0.0.1. After each kill a new worker starts, until
every message is settled; then what arrived is compared with what the outbox says.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from core import consents, outbox, people, users
from core.models import OutboxMessage, Person
from core.models.outbox import FINAL

PEOPLE = 30
LEASE = 1  # seconds: how soon a killed worker's messages count as abandoned
ROUNDS = 12


class KillingSink:
    """Keeps what arrives; kills the worker right after accepting every ``kill_every``-th
    message, before the worker hears the 250."""

    def __init__(self):
        self.arrived: list[str] = []
        self.worker = None
        self.kill_every = 11
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        from email import message_from_bytes

        with self.lock:
            self.arrived.append(message_from_bytes(envelope.content)["Message-ID"])
            count = len(self.arrived)
        time.sleep(0.003)  # a little server latency, so random kills land mid-run
        if self.kill_every and count % self.kill_every == 0 and self.worker is not None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait()
        return "250 OK"


@pytest.fixture
def sink():
    import socket

    from aiosmtpd.controller import Controller

    found = KillingSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    found.port = port
    yield found
    controller.stop()


def start_worker(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()",
                             "worker", "--threads", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_killed_workers_deliver_every_message_exactly_once(kartoteka_app_factory, sink,
                                                           tmp_path):
    settings = {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_security": "none",
                "mail_from": "Biuro <biuro@example.org>", "mail_lease_seconds": LEASE,
                "jobs_url": "", "instance_path": str(tmp_path / "instance"),
                "default_locale": "en"}
    app = kartoteka_app_factory(**settings)
    rt = app.extensions["kartoteka"]
    env = {**os.environ, **{f"KARTOTEKA_{k.upper()}": str(v) for k, v in settings.items()},
           "KARTOTEKA_DATABASE_URL": rt.settings.database_url}
    with app.test_request_context():
        queued = queue_mail(rt)
    rng = random.Random(20261206)
    for round_ in range(ROUNDS):
        sink.worker = start_worker(env)
        last = round_ == ROUNDS - 1
        sink.kill_every = 0 if last else 11
        # The random kill comes at a random moment once this worker is sending, however
        # long a loaded machine takes to start it.
        before, sending = len(sink.arrived), False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sink.worker.poll() is None \
                and not settled(rt, queued):
            if not last and not sending and len(sink.arrived) > before:
                sending, deadline = True, time.monotonic() + rng.uniform(0.0, 1.0)
            time.sleep(0.02)
        if sink.worker.poll() is None:
            sink.worker.send_signal(signal.SIGKILL)  # the random kill
        sink.worker.wait()
        if settled(rt, queued):
            break
        time.sleep(LEASE + 0.2)  # the dead worker's lease runs out
    with rt.session() as session:
        rows = list(session.scalars(select(OutboxMessage)))
    assert all(m.state in FINAL for m in rows), Counter(m.state for m in rows)
    arrived = Counter(sink.arrived)
    for m in rows:
        got = arrived.pop(m.message_id, 0)
        if m.state == "sent":
            assert got >= 1, f"{m.message_id} is logged sent but never arrived"
        if m.kind == "marketing":
            assert got <= 1, f"bulk message {m.message_id} arrived {got} times"
            assert m.state in ("sent", "uncertain"), (m.state, m.error)
            if m.state == "uncertain":
                assert "not sent twice" in m.error
        else:
            assert m.state == "sent", (m.state, m.error)
            if got > 1:  # a second copy only under the same Message-ID, and said so
                assert "same Message-ID" in m.error
    assert not arrived, f"messages arrived that the outbox does not know: {arrived}"
    kills = sum(1 for m in rows if m.state == "uncertain" or "same Message-ID" in m.error)
    assert kills >= 1, "no kill landed in a hand-over: the test proved nothing"


def queue_mail(rt) -> int:
    """PEOPLE consenting people, each sent one marketing and one service message."""
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        consents.create_purpose(s, {"key": "newsletter", "name": "Newsletter",
                                    "legal_basis": "consent"}, admin)
        drafts = []
        for n in range(PEOPLE):
            person = people.create(s, {"first_name": f"Osoba{n}", "last_name": "Testowa",
                                       "emails": [f"osoba{n}@example.org"]},
                                   allow_duplicates=True)
            consents.give(s, s.get(Person, person.id), "newsletter", "form", "Zgoda.")
            for kind in ("marketing", "service"):
                drafts.append(outbox.Draft(
                    f"osoba{n}@example.org", f"{kind} {n}", "Treść.", kind=kind,
                    purpose_key="newsletter" if kind == "marketing" else None,
                    person_id=person.id, about=[("person", person.id)]))
        return len(outbox.queue(s, drafts, admin))


def settled(rt, total: int) -> bool:
    with rt.session() as session:
        done = session.scalars(select(OutboxMessage.state)).all()
    return len(done) == total and all(state in FINAL for state in done)

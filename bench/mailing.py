"""Mailing benchmark: personalising and queueing a mailing, then delivering it.

The targets (issue 8): 100,000 recipients personalised and queued in under 30 s;
delivery to a local SMTP sink of at least 300 messages a second per worker, growing
with workers; memory flat during the run.

* ``queue``: a marketing mailing to a segment of RECIPIENTS consenting people, queued
  by its job (consent and suppression checked, template filled for each person, the
  message and its timeline entry written);
* ``deliver``: the outbox delivered to an aiosmtpd sink in a process of its own, first
  by one worker process, then by two at once; each worker reports its rate and its
  peak resident memory after its first 1,000 messages and at the end.

    python bench/mailing.py [RECIPIENTS]   # default KARTOTEKA_BENCH_MAIL_RECIPIENTS or 100000

PostgreSQL too when KARTOTEKA_BENCH_POSTGRES_URL is set (schema bench_mailing).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECIPIENTS = int(os.environ.get("KARTOTEKA_BENCH_MAIL_RECIPIENTS", "100000"))
DELIVER = int(os.environ.get("KARTOTEKA_BENCH_MAIL_DELIVER", "20000"))  # per run

WORKER = """
import json, resource, sys, time
from core.web import create_app
from core import outbox
app = create_app()
rt = app.extensions["kartoteka"]
limit = int(sys.argv[1])
with app.test_request_context():
    start = time.perf_counter()
    first = outbox.deliver(rt, f"bench-{sys.argv[2]}", limit=1000)
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rest = outbox.deliver(rt, f"bench-{sys.argv[2]}", limit=max(limit - 1000, 0))
    took = time.perf_counter() - start
print(json.dumps({"sent": first + rest, "seconds": took,
                  "rss_after_1000_mib": rss_first / 1024,
                  "rss_end_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def queue(database_url: str, instance: Path, recipients: int) -> dict:
    """Make the people, then prepare the mailing with one worker and again with two."""
    env = {**os.environ, "KARTOTEKA_DATABASE_URL": database_url,
           "KARTOTEKA_INSTANCE_PATH": str(instance), "KARTOTEKA_SMTP_HOST": ""}
    subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "db",
                    "upgrade"], env=env, check=True, capture_output=True)
    from core import consents, documents, segments, users
    from core.documents import Template
    from core.testing import add_people
    from core.web import create_app

    # The queue of jobs is the installation's own (a SQLite file in the instance folder),
    # worked off by real worker processes, as `make run` does.
    app = create_app({"database_url": database_url, "instance_path": str(instance),
                      "smtp_host": ""})
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        with rt.session() as s, s.begin():
            admin = users.create_user(s, "admin@example.com", "correct horse battery",
                                      is_admin=True)
            consents.create_purpose(s, {"key": "newsletter", "name": "Newsletter",
                                        "legal_basis": "consent"}, admin)
            documents.ship(s, Template(
                "bench.letter", "email", "person", {"pl": "List", "en": "Letter"},
                "<p>Dzień dobry {{ person.first_name }},</p><p>zapraszamy na szkolenie.</p>",
                subject="Zaproszenie: {{ person.full_name }}",
                text_body="Dzień dobry {{ person.first_name }},\nzapraszamy na szkolenie."))
            for start in range(0, recipients, 10_000):
                add_people(s, min(10_000, recipients - start), "newsletter", start)
            segment = segments.save(s, "Wszyscy", "person",
                                    {"field": "last_name", "op": "eq", "value": "Testowa"},
                                    admin)
        found = {"recipients": recipients}
        for workers in (1, 2):
            found[f"workers_{workers}"] = prepare(rt, env, admin.id, segment.id, workers)
    rt.engine.dispose()
    return found


def prepare(rt, env: dict, admin_id: int, segment_id: int, workers: int) -> dict:
    """Time one mailing from "send" until every message is in the outbox, prepared by
    ``workers`` worker processes (two threads each, as `kartoteka worker` runs)."""
    from core import mailing
    from core.models import Mailing, User

    logs = [Path(env["KARTOTEKA_INSTANCE_PATH"]) / f"worker-{workers}-{n}.log"
            for n in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()",
                               "worker"], env={**env, "PYTHONUNBUFFERED": "1"},
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
             for log in logs]
    try:
        while not all("Kartoteka worker" in log.read_text() for log in logs):
            time.sleep(0.1)  # started: each says so once its queue is open
        with rt.session() as s, s.begin():
            admin = s.get(User, admin_id)
            made = mailing.create(s, {"name": f"Zaproszenie {workers}",
                                      "template": "bench.letter", "purpose": "newsletter",
                                      "audience": "segment", "segment_id": segment_id}, admin)
        start = time.perf_counter()
        with rt.session() as s, s.begin():
            mailing.send(s, s.get(Mailing, made.id), s.get(User, admin_id))
        while True:
            with rt.session() as s:
                if s.get(Mailing, made.id).state != "queuing":
                    break
            time.sleep(0.1)
        took = time.perf_counter() - start
        with rt.session() as s:
            queued = mailing.stats(s, s.get(Mailing, made.id)).get("queued", 0)
        rss = [_rss_mib(proc.pid) for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    return {"queued": queued, "seconds": round(took, 1),
            "per_second": round(queued / took), "worker_rss_mib": rss}


def _rss_mib(pid: int) -> int:
    """A worker's resident memory now (its peak is not readable from outside)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def deliver(database_url: str, instance: Path, workers: int, each: int, port: int) -> dict:
    env = {**os.environ, "KARTOTEKA_DATABASE_URL": database_url,
           "KARTOTEKA_INSTANCE_PATH": str(instance), "KARTOTEKA_JOBS_URL": "immediate",
           "KARTOTEKA_SMTP_HOST": "127.0.0.1", "KARTOTEKA_SMTP_PORT": str(port),
           "KARTOTEKA_SMTP_SECURITY": "none"}
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(each), str(n)], env=env,
                              stdout=subprocess.PIPE, text=True) for n in range(workers)]
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    took = time.perf_counter() - start
    sent = sum(r["sent"] for r in reports)
    return {"workers": workers, "sent": sent,
            "per_second_total": round(sent / took),
            "per_second_per_worker": [round(r["sent"] / r["seconds"]) for r in reports],
            "rss_after_1000_mib": [round(r["rss_after_1000_mib"]) for r in reports],
            "rss_end_mib": [round(r["rss_end_mib"]) for r in reports]}


def sink() -> tuple[subprocess.Popen, int]:
    """aiosmtpd's discarding handler in a process of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l",
                             f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port


def run(database_url: str, instance: Path, recipients: int) -> dict:
    found = {"queue": queue(database_url, instance, recipients)}
    proc, port = sink()
    try:
        each = min(DELIVER, recipients // 3)
        found["deliver_1"] = deliver(database_url, instance, 1, each, port)
        found["deliver_2"] = deliver(database_url, instance, 2, each, port)
    finally:
        proc.terminate()
    return found


def main(argv: list[str]) -> dict:
    recipients = int(argv[0]) if argv else RECIPIENTS
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{tmp}/mailing.db", Path(tmp) / "instance",
                                recipients)
    pg = os.environ.get("KARTOTEKA_BENCH_POSTGRES_URL")
    if pg:
        from run import fresh_schema

        with tempfile.TemporaryDirectory() as tmp:
            results["postgresql"] = run(fresh_schema(pg, "bench_mailing"),
                                        Path(tmp) / "instance", recipients)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main(sys.argv[1:])

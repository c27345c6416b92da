"""The ``kartoteka`` command as an operator uses it."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.models import User


def users_in(database_url) -> list[tuple[str, bool]]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        found = [(u.email, u.is_admin) for u in session.scalars(select(User).order_by(User.id))]
    engine.dispose()
    return found


def test_help_reads_well_without_any_installation(cli, tmp_path):
    result = cli("--help", env={"KARTOTEKA_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"})
    assert result.returncode == 0 and result.stderr == ""
    for command in ("init", "db", "plugins", "users", "demo", "serve"):
        assert f"  {command} " in result.stdout
    assert not (tmp_path / "none.db").exists()
    assert cli("--version").stdout.strip() == "kartoteka, version 0.1.0"


def test_init_creates_the_installation_once(cli, database_url, tmp_path):
    password_file = tmp_path / "login.txt"
    first = cli("init", "--plugins", "all", "--admin-email", "Szef@Example.com",
                "--admin-password-file", str(password_file))
    assert first.returncode == 0, first.stderr
    assert "Enabled training 0.1.0" in first.stdout
    email, password = password_file.read_text().split()
    assert email == "Szef@Example.com" and len(password) >= 12
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert users_in(database_url) == [("szef@example.com", True)]

    again = cli("init", "--plugins", "training", "--admin-email", "other@example.com")
    assert again.returncode == 0
    assert "The installation exists" in again.stdout
    assert users_in(database_url) == [("szef@example.com", True)]
    lines = json.loads(cli("plugins", "list", "--json").stdout)
    assert all(line["enabled"] for line in lines if line["name"] != "visits")


def test_create_admin_with_options_and_with_prompts(cli, database_url):
    cli("init")
    made = cli("users", "create-admin", "--email", "ala@example.com",
               "--password", "długie hasło 123", "--name", "Ala Kot")
    assert made.returncode == 0 and "Created administrator ala@example.com." in made.stdout
    prompted = cli("users", "create-admin", input="ola@example.com\nsekretne-haslo\n"
                                                  "sekretne-haslo\n")
    assert prompted.returncode == 0, prompted.stderr
    assert users_in(database_url) == [("ala@example.com", True), ("ola@example.com", True)]


def test_create_admin_refuses_bad_input_field_by_field(cli, database_url):
    cli("init")
    short = cli("users", "create-admin", "--email", "not-an-address", "--password", "krótkie")
    assert short.returncode == 1
    assert "email: Enter a valid e-mail address." in short.stderr
    assert "password: The password must have at least 10 characters." in short.stderr
    cli("users", "create-admin", "--email", "ala@example.com", "--password", "x" * 12)
    twice = cli("users", "create-admin", "--email", "ALA@example.com", "--password", "y" * 12)
    assert twice.returncode == 1 and "already exists" in twice.stderr
    assert users_in(database_url) == [("ala@example.com", True)]


def test_db_upgrade_and_status(cli):
    cli("init", "--plugins", "grants")
    assert cli("db", "upgrade").stdout.strip() == "The schema is up to date."
    status = cli("db", "status")
    assert status.returncode == 0
    assert "core" in status.stdout and "up to date" in status.stdout


def test_an_unreachable_database_is_a_clear_error(cli):
    result = cli("plugins", "enable", "training",
                 env={"KARTOTEKA_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/x"})
    assert result.returncode == 1
    assert "the database at postgresql+psycopg://nobody:***@127.0.0.1:1/x cannot be used" \
        in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_on_the_chosen_port(cli):
    cli("init", "--plugins", "training")
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "kartoteka"), "serve",
                               "--port", str(port)], env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                    body = json.load(response)
                break
            except OSError:
                time.sleep(0.1)
        assert body == {"status": "ok", "version": "0.1.0", "database": "ok",
                        "plugins": ["training"]}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_usage_and_quality_reports_on_the_command_line(cli):
    cli("init")
    cli("users", "create-admin", "--email", "ala@example.com", "--password", "x" * 12)
    result = cli("report", "usage", "--days", "7", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records_added"] == {"current": 0, "previous": 0,
                                                          "change_percent": None}
    assert "logins" in cli("report", "usage").stdout
    quality = cli("report", "quality", "organisation")
    assert quality.returncode == 0 and quality.stdout.strip() == "0 record(s) to fix."
    assert cli("report", "quality", "invoice").returncode == 2


def test_demo_gives_a_card_index_to_look_at_and_is_safe_to_repeat(cli, database_url):
    cli("init", "--plugins", "training", "--demo")
    assert cli("demo").returncode == 0
    engine = make_engine(database_url)
    from core.models import Activity, Mailing, Membership, Organisation, Person, PublicForm

    with Session(engine) as session:
        counts = [session.query(m).count() for m in (Organisation, Person, Membership, Activity)]
        kornik = session.scalar(select(Organisation).where(Organisation.name == "Gmina Kórnik"))
        assert kornik.nip == "7773061579" and kornik.postal_code == "62-035"
        mailings = session.scalars(select(Mailing)).all()  # a draft to preview, once
        assert [(m.name, m.state, len(m.person_ids)) for m in mailings] == [
            ("Zaproszenie na szkolenie", "draft", 4)]
        forms = session.scalars(select(PublicForm)).all()  # a sign-up open to anyone
        assert [(f.key, f.active, f.tags) for f in forms] == [
            ("newsletter", True, ["newsletter"])]
    engine.dispose()
    # The core's 7 organisations and 5 people; the training plugin's 4 more people of
    # the units (each a membership) and a trainer.
    assert counts[0] == 7 and counts[1] == 10 and counts[2] == 9 and counts[3] >= 10

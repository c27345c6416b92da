"""`kartoteka processes`: list, settings and escalation from the command line."""


def test_processes_listed_and_settings_changed_from_the_command_line(cli):
    assert cli("init", "--plugins", "printing").returncode == 0
    listed = cli("processes", "list")
    assert "printing.project: inquiry -> calculation -> offer -> order" in listed.stdout
    changed = cli("processes", "settings", "printing.project", "approval_from=7500,50",
                  "check.printing.documents=off")
    assert changed.returncode == 0, changed.stderr
    assert "approval_from = 7500.50" in changed.stdout
    assert "check.printing.documents = False" in changed.stdout
    assert "approval_from = 7500.50" in cli("processes", "settings", "printing.project").stdout


def test_bad_settings_are_named_and_nothing_is_stored(cli):
    assert cli("init", "--plugins", "printing").returncode == 0
    bad = cli("processes", "settings", "printing.project", "approval_from=dużo",
              "supervisor_up_to=30000", "colour=red")
    assert bad.returncode == 1
    assert "approval_from: Enter an amount" in bad.stderr and "colour:" in bad.stderr
    shown = cli("processes", "settings", "printing.project").stdout
    assert "supervisor_up_to = 20000.00" in shown
    unknown = cli("processes", "settings", "printing.nothing")
    assert unknown.returncode == 1 and "Unknown process" in unknown.stderr


def test_the_deadline_watch_from_cron_reports_what_it_did(cli):
    assert cli("init", "--plugins", "printing").returncode == 0
    done = cli("processes", "deadlines")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("0 reminded, 0 escalated.")


def test_the_organisation_chart_from_the_command_line(cli):
    assert cli("db", "upgrade").returncode == 0
    for email in ("boss@example.com", "rep@example.com"):
        made = cli("users", "create", "--email", email, "--password", "correct horse battery")
        assert made.returncode == 0, made.stderr
    placed = cli("users", "supervisor", "rep@example.com", "boss@example.com")
    assert placed.returncode == 0 and "answers to boss@example.com" in placed.stdout
    circle = cli("users", "supervisor", "boss@example.com", "rep@example.com")
    assert circle.returncode == 1 and "would make a circle" in circle.stderr
    own = cli("users", "supervisor", "boss@example.com", "boss@example.com")
    assert own.returncode == 1 and "cannot be its own supervisor" in own.stderr
    assert cli("users", "supervisor", "rep@example.com").returncode == 0

"""`kartoteka mail`: the outbox's state, a test message, imported unsubscribes."""


def test_a_test_message_reaches_the_mail_server_and_the_outbox_says_so(cli, kartoteka_smtp):
    assert cli("db", "upgrade").returncode == 0
    env = {f"KARTOTEKA_{k.upper()}": str(v) for k, v in kartoteka_smtp.settings().items()}
    sent = cli("mail", "test", "ops@example.org", env=env)
    assert sent.returncode == 0, sent.stderr
    assert [m["To"] for m in kartoteka_smtp.messages] == ["ops@example.org"]
    status = cli("mail", "status", env=env)
    assert "sent       1" in status.stdout and f":{kartoteka_smtp.port}" in status.stdout


def test_without_a_mail_server_the_test_message_is_refused_with_the_setting_named(cli):
    assert cli("db", "upgrade").returncode == 0
    refused = cli("mail", "test", "ops@example.org")
    assert refused.returncode == 1 and "KARTOTEKA_SMTP_HOST" in refused.stderr


def test_unsubscribes_are_imported_from_a_csv_file(cli, tmp_path):
    assert cli("db", "upgrade").returncode == 0
    listed = tmp_path / "unsubscribed.csv"
    listed.write_text("email\nola@example.org\nnonsense\nOLA@example.org\n")
    done = cli("mail", "unsubscribes", str(listed), "--note", "MailChimp")
    assert done.returncode == 0, done.stderr
    assert "Added 1 address(es)" in done.stdout and "lines: 3" in done.stdout
    again = cli("mail", "unsubscribes", str(listed))
    assert "Added 0 address(es); 1 were on the list" in again.stdout
    unknown = cli("mail", "unsubscribes", str(listed), "--purpose", "nothing")
    assert unknown.returncode == 1 and "purpose" in unknown.stderr

"""Managing roles and staff accounts from the command line."""


def test_roles_and_accounts_from_the_command_line(cli):
    assert cli("db", "upgrade").returncode == 0
    assert cli("roles", "create", "sales", "--name", "Sales").returncode == 0
    access = cli("roles", "access", "sales", "organisation.read=team", "*.read=own",
                 "person.edit=own")
    assert access.returncode == 0, access.stderr
    granted = cli("roles", "permissions", "sales", "core.import")
    assert granted.returncode == 0, granted.stderr
    shown = cli("roles", "show", "sales").stdout.splitlines()
    assert shown == ["*.read=own", "organisation.read=team", "person.edit=own",
                     "permission core.import"]
    created = cli("users", "create", "--email", "Ola@Example.com", "--name", "Ola",
                  "--role", "sales", input="correct horse battery\ncorrect horse battery\n")
    assert created.returncode == 0, created.stderr
    assert "ola@example.com\tOla\tsales\tactive" in cli("users", "list").stdout
    assert "sales\tSales\t1" in cli("roles", "list").stdout
    assert cli("users", "roles", "ola@example.com", "staff", "sales").returncode == 0
    assert "staff,sales" in cli("users", "list").stdout or \
        "sales,staff" in cli("users", "list").stdout
    assert cli("users", "deactivate", "ola@example.com").returncode == 0
    assert "switched off" in cli("users", "list").stdout


def test_bad_role_commands_say_what_is_wrong_and_change_nothing(cli):
    assert cli("db", "upgrade").returncode == 0
    bad_key = cli("roles", "create", "Sales Team", "--name", "Sales")
    assert bad_key.returncode == 1 and "key:" in bad_key.stderr
    bad_level = cli("roles", "access", "staff", "organisation.read=everything")
    assert bad_level.returncode == 1 and "organisation.read" in bad_level.stderr
    assert "*.read=all" in cli("roles", "show", "staff").stdout
    unknown = cli("roles", "permissions", "staff", "core.fly")
    assert unknown.returncode == 1 and "core.fly" in unknown.stderr
    missing = cli("users", "roles", "nobody@example.com", "staff")
    assert missing.returncode == 1 and "no account" in missing.stderr
    no_role = cli("users", "create", "--email", "a@example.com", "--role", "pilot",
                  "--password", "correct horse battery")
    assert no_role.returncode == 1 and "pilot" in no_role.stderr
    assert "a@example.com" not in cli("users", "list").stdout

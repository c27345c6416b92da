"""Administrators' pages for roles and accounts, and who may reach them."""

from __future__ import annotations

from sqlalchemy import select

from core import roles, users
from core.models import Role, Team, User

PASSWORD = "correct horse battery"


def log_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_an_admin_defines_a_role_and_gives_it_to_a_new_account_in_a_team(client, app, rt):
    created = client.post("/admin/roles/new", data={"key": "sales", "name": "Sales"})
    assert created.status_code == 302
    with rt.session() as session:
        role = session.scalar(select(Role).where(Role.key == "sales"))
    saved = client.post(f"/admin/roles/{role.id}", data={
        "name": "Sales people", "description": "Own clients only",
        "level-*-read": "own", "level-*-create": "own", "level-*-edit": "own",
        "level-person-read": "team", "permissions": ["core.import"]})
    assert saved.status_code == 302
    with rt.session() as session:
        role = session.get(Role, role.id)
        assert role.name == "Sales people"
        assert roles.access_of(session, role)[("person", "read")] == "team"
        assert roles.access_of(session, role)[("*", "edit")] == "own"
        assert roles.permissions_of(session, role) == ["core.import"]

    assert client.post("/admin/users/teams", data={"name": "North"}).status_code == 302
    with rt.session() as session:
        north = session.scalar(select(Team).where(Team.name == "North"))
    added = client.post("/admin/users/new", data={
        "email": "Kasia@Example.com", "password": PASSWORD, "full_name": "Kasia Nowak",
        "roles": ["sales"], "teams": [str(north.id)]})
    assert added.status_code == 302
    listing = client.get("/admin/users/").get_data(as_text=True)
    assert "Kasia Nowak" in listing and "Sales people" in listing and "North" in listing
    with rt.session() as session:
        kasia = users.find_by_email(session, "kasia@example.com")
        assert roles.roles_of(session, kasia) == ["sales"]
    # Kasia's role reaches only what she owns and grants no administration.
    kasia_client = log_in(app, "kasia@example.com")
    assert kasia_client.get("/admin/roles/").status_code == 403
    assert "Accounts" not in kasia_client.get("/organisations/").get_data(as_text=True)


def test_bad_role_and_account_input_is_shown_next_to_the_fields(client, rt):
    page = client.post("/admin/roles/new", data={"key": "Bad Key", "name": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "lower-case letters" in text and "Enter a name." in text
    with rt.session() as session:
        staff = roles.find(session, "staff")
    bad_level = client.post(f"/admin/roles/{staff.id}", data={
        "name": "Staff", "level-*-read": "everything"})
    assert "Choose none, own, team or all." in bad_level.get_data(as_text=True)
    with rt.session() as session:
        assert roles.access_of(session, roles.find(session, "staff"))[("*", "read")] == "all"
    account = client.post("/admin/users/new", data={"email": "not-an-address",
                                                    "password": "short"})
    text = account.get_data(as_text=True)
    assert "Enter a valid e-mail address." in text and "at least 10 characters" in text
    with rt.session() as session:
        assert session.scalar(select(User).where(User.email == "not-an-address")) is None


def test_a_built_in_role_cannot_be_deleted_but_an_own_one_can(client, rt):
    with rt.session() as session, session.begin():
        staff = roles.find(session, "staff")
        temp = roles.create(session, "temp", "Temporary")
        staff_id, temp_id = staff.id, temp.id
    page = client.post(f"/admin/roles/{staff_id}/delete", follow_redirects=True)
    assert "cannot be deleted" in page.get_data(as_text=True)
    assert client.post(f"/admin/roles/{temp_id}/delete").status_code == 302
    with rt.session() as session:
        assert roles.find(session, "staff") is not None
        assert roles.find(session, "temp") is None


def test_an_admin_neither_demotes_nor_switches_off_themself(client, rt):
    with rt.session() as session:
        me = session.scalar(select(User).where(User.is_admin))
    page = client.post(f"/admin/users/{me.id}", data={"full_name": "Me", "roles": []})
    assert "your own administrator rights" in page.get_data(as_text=True)
    client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    with rt.session() as session:
        me = session.get(User, me.id)
        assert me.is_admin and me.active


def test_switching_an_account_off_ends_its_access_at_once(client, app, rt):
    with rt.session() as session, session.begin():
        ola = users.create_user(session, "ola@example.com", PASSWORD, "Ola")
    ola_client = log_in(app, "ola@example.com")
    assert ola_client.get("/organisations/").status_code == 200
    assert client.post(f"/admin/users/{ola.id}/active", data={"active": "0"}).status_code == 302
    assert ola_client.get("/organisations/").status_code == 302  # back to the login page
    client.post(f"/admin/users/{ola.id}/active", data={"active": "1"})
    assert log_in(app, "ola@example.com").get("/organisations/").status_code == 200


def test_a_role_granting_account_management_opens_those_pages_only(app, rt):
    with rt.session() as session, session.begin():
        role = roles.create(session, "office", "Office")
        roles.set_permissions(session, role, ["core.manage_users"])
        users.create_user(session, "office@example.com", PASSWORD, roles=["office"])
    office = log_in(app, "office@example.com")
    assert office.get("/admin/users/").status_code == 200
    assert office.get("/admin/roles/").status_code == 200
    assert office.get("/admin/fields/").status_code == 403
    assert office.get("/admin/audit").status_code == 403

"""Administrators' pages for roles and accounts, and who may reach them."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from core import organisations, roles, teams, users
from core.models import Role, Team, User
from page_helpers import error_under, text, value_of

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


# --- The staff organisation chart --------------------------------------------------------

def outline(page: str) -> list[tuple[int, str]]:
    """The chart as a reader meets it: each account's e-mail with its depth in the tree."""
    chart = re.search(r'<div class="card org-chart">(.*)</div>', page, re.S).group(1)
    depth, found = 0, []
    for tag, email in re.findall(r'(<ul>|</ul>)|· ([^\s<]+@[^\s<]+)', chart):
        if tag:
            depth += 1 if tag == "<ul>" else -1
        else:
            found.append((depth, email))
    return found


def staff_chart(rt) -> dict[str, int]:
    """A boss with two under her, one of whom has someone under him; Ola answers to
    nobody and is switched off."""
    with rt.session() as session, session.begin():
        north = teams.create_team(session, "North")
        made = {name: users.create_user(session, f"{name.lower()}@example.com", PASSWORD,
                                        f"{name} Staff")
                for name in ("Beata", "Zenon", "Adam", "Cezary", "Ola")}
        session.flush()
        users.set_supervisor(session, made["Zenon"], made["Beata"].id)
        users.set_supervisor(session, made["Adam"], made["Beata"].id)
        users.set_supervisor(session, made["Cezary"], made["Adam"].id)
        teams.add_member(session, north, made["Adam"])
        made["Ola"].active = False
        return {name: user.id for name, user in made.items()}


def test_the_chart_nests_staff_under_their_supervisors_in_order_of_name(client, rt):
    staff_chart(rt)
    assert 'href="/admin/users/chart"' in client.get("/admin/users/").get_data(as_text=True)
    page = client.get("/admin/users/chart").get_data(as_text=True)
    assert outline(page) == [(1, "admin@example.com"), (1, "beata@example.com"),
                             (2, "adam@example.com"), (3, "cezary@example.com"),
                             (2, "zenon@example.com"), (1, "ola@example.com")]
    adam = re.search(r'<li id="node-\d+">\s*<a[^>]*><strong>Adam Staff</strong>(.*?)<ul>',
                     page, re.S).group(1)
    assert "Roles: Staff · Teams: North" in " ".join(adam.split())
    ola = re.search(r'<li id="node-\d+" class="muted">(.*?)</li>', page, re.S).group(1)
    assert "Ola Staff" in ola and "switched off" in ola


def test_a_circle_or_a_portal_supervisor_in_the_rows_does_not_break_the_chart(client, rt):
    ids = staff_chart(rt)
    with rt.session() as session, session.begin():
        unit = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})
        portal = users.create_user(session, "portal@kornik.pl", PASSWORD, portal_of=unit)
        session.flush()
        # Rows the forms refuse, as an old import or a hand-made change could leave them.
        session.execute(update(User).where(User.id == ids["Beata"])
                        .values(supervisor_id=ids["Cezary"]))
        session.execute(update(User).where(User.id == ids["Ola"])
                        .values(supervisor_id=portal.id))
    page = client.get("/admin/users/chart").get_data(as_text=True)
    # Each staff account once, the portal account nowhere; the circle is cut above Adam,
    # the first of it by name, with Zenon still under Beata.
    assert outline(page) == [(1, "admin@example.com"), (1, "ola@example.com"),
                             (1, "adam@example.com"), (2, "cezary@example.com"),
                             (3, "beata@example.com"), (4, "zenon@example.com")]
    assert "its supervisor is not a staff account" in page
    assert page.count("lead round in a circle") == 3  # Adam, Cezary and Beata


def test_a_supervisor_must_be_another_staff_account_above_in_no_circle(client, rt):
    ids = staff_chart(rt)
    with rt.session() as session, session.begin():
        unit = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})
        portal = users.create_user(session, "portal@kornik.pl", PASSWORD, portal_of=unit)
    form = {"full_name": "Beata Renamed", "roles": ["staff"]}
    for chosen, message in ((portal.id, "Choose an account from the list."),
                            (ids["Beata"], "An account cannot be its own supervisor."),
                            (ids["Cezary"], "would make a circle"),
                            (999999, "Choose an account from the list.")):
        page = text(client.post(f"/admin/users/{ids['Beata']}",
                                data={**form, "supervisor_id": str(chosen)}))
        assert message in error_under(page, "supervisor_id"), chosen
        assert value_of(page, "full_name") == "Beata Renamed"  # what was typed stays
    with rt.session() as session:
        beata = session.get(User, ids["Beata"])
        assert (beata.full_name, beata.supervisor_id) == ("Beata Staff", None)
    assert client.post(f"/admin/users/{ids['Beata']}",
                       data={**form, "supervisor_id": str(ids["Ola"])}).status_code == 302
    with rt.session() as session:
        assert session.get(User, ids["Beata"]).supervisor_id == ids["Ola"]


def test_the_chart_is_for_those_who_manage_accounts_and_never_for_the_portal(app, rt):
    with rt.session() as session, session.begin():
        users.create_user(session, "clerk@example.com", PASSWORD, "Clerk")
        unit = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})
        users.create_user(session, "portal@kornik.pl", PASSWORD, portal_of=unit,
                          portal_admin=True)
    assert log_in(app, "clerk@example.com").get("/admin/users/chart").status_code == 403
    assert log_in(app, "portal@kornik.pl").get("/admin/users/chart").status_code == 404

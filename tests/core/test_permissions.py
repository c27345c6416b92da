"""The permission matrix: roles' record scopes (none, own, team, all) over record types,
actions and doors (services, staff pages, search, segments, exports, the REST API).

A restricted user may neither get a record nor learn that it exists, and a refused
write leaves the database exactly as it was.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from core import (
    counting,
    organisations,
    people,
    records,
    roles,
    search,
    segments,
    tasks,
    teams,
    tokens,
    users,
)
from core.duplicates import DuplicateFound
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, Organisation, Person, Task, User

PASSWORD = "correct horse battery"
LEVELS = {"ola": "own", "bartek": "team", "celina": "all", "dora": "none"}
# What each level reaches of the three records: Ola's, Bartek's and one nobody owns.
SEES = {"own": {"Ola"}, "team": {"Ola", "Bartek"},
        "all": {"Ola", "Bartek", "Nobody"}, "none": set()}
TYPES = ("organisation", "person", "task")


@pytest.fixture
def world(rt):
    """A role per level for every action, a user holding each, and for each record type
    three records: owned by Ola, by Bartek (Ola's teammate), and by nobody."""
    ids = {}
    with rt.session() as session, session.begin():
        admin = users.create_user(session, "admin@example.com", PASSWORD, is_admin=True)
        for name, level in LEVELS.items():
            role = roles.create(session, f"{level}_records", f"{level.title()} records")
            roles.set_access(session, role, {(rt_, action): level for rt_ in TYPES
                                             for action in ("read", "create", "edit",
                                                            "delete", "export")})
            user = users.create_user(session, f"{name}@example.com", PASSWORD,
                                     name.title(), roles=[role.key])
            ids[name] = user.id
        sales = teams.create_team(session, "Sales")
        support = teams.create_team(session, "Support")
        for name in ("ola", "bartek"):
            teams.add_member(session, sales, session.get(User, ids[name]))
        for label, owner in (("Ola", ids["ola"]), ("Bartek", ids["bartek"]),
                             ("Nobody", None)):
            organisations.create(session, rt.host, {
                "name": f"{label} municipality", "type_key": "core.municipality",
                "owner_id": owner}, admin)
            people.create(session, {"first_name": label, "last_name": "Person",
                                    "owner_id": owner}, admin)
            tasks.create(session, {"title": f"{label} task", "assignee_id": owner,
                                   "team_id": None if owner else support.id}, actor=admin)
    return ids


def label(record) -> str:
    text = getattr(record, "name", None) or getattr(record, "title", None) \
        or record.first_name
    return text.split(" ")[0]


def model_of(record_type):
    return records.record_types()[record_type]


@pytest.mark.parametrize("record_type", TYPES)
@pytest.mark.parametrize("name", list(LEVELS))
def test_lists_gets_and_counts_show_only_what_the_scope_reaches(rt, world, name, record_type):
    model = model_of(record_type)
    expected = SEES[LEVELS[name]]
    with rt.session() as session:
        actor = session.get(User, world[name])
        listed = {label(r) for r in session.scalars(records.visible(model, actor))}
        assert listed == expected
        assert counting.count(session, records.visible(model, actor)).value == len(expected)
        for record in session.scalars(records.visible(model)):
            found = records.get(session, model, record.id, actor)
            assert (found is not None) == (label(record) in expected)


@pytest.mark.parametrize("name", list(LEVELS))
def test_search_and_segments_never_reveal_a_record_out_of_reach(rt, world, name):
    expected = SEES[LEVELS[name]]
    with rt.session() as session, session.begin():
        actor = session.get(User, world[name])
        hits = search.search(session, "municipality", actor)
        assert {h.label.split(" ")[0] for h in hits} == expected
        admin = session.scalar(select(User).where(User.is_admin))
        segment = segments.save(session, "All municipalities", "organisation",
                                {"field": "type_key", "op": "eq",
                                 "value": "core.municipality"}, admin, shared=True)
        members = session.scalars(segments.members(session, segment, actor))
        assert {label(o) for o in members} == expected


def login(app, name):
    client = app.test_client()
    response = client.post("/login", data={"email": f"{name}@example.com",
                                           "password": PASSWORD})
    assert response.status_code == 302
    return client


def ids_by_label(rt, model) -> dict[str, int]:
    with rt.session() as session:
        return {label(r): r.id for r in session.scalars(select(model))}


@pytest.mark.parametrize("name", list(LEVELS))
def test_staff_pages_list_export_and_open_only_reachable_records(app, rt, world, name):
    client = login(app, name)
    expected = SEES[LEVELS[name]]
    page = client.get("/organisations/").get_data(as_text=True)
    assert {who for who in SEES["all"] if f"{who} municipality" in page} == expected
    for who, record_id in ids_by_label(rt, Organisation).items():
        status = client.get(f"/organisations/{record_id}").status_code
        assert status == (200 if who in expected else 404)
    suggest = client.get("/search/suggest?q=municipality").get_data(as_text=True)
    assert {who for who in SEES["all"] if who in suggest} == expected
    export = client.get("/organisations/export?format=csv")
    if LEVELS[name] == "none":
        assert export.status_code == 403
    else:
        rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
        assert {row[0].split(" ")[0] for row in rows[1:]} == expected


@pytest.mark.parametrize("name", list(LEVELS))
def test_the_api_lists_and_gets_only_reachable_records(app, rt, world, name):
    with rt.session() as session, session.begin():
        secret = tokens.create(session, session.get(User, world[name]), "test")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}
    expected = SEES[LEVELS[name]]
    for path, model in (("organizations", Organisation), ("people", Person)):
        listed = client.get(f"/api/v1/{path}/", headers=headers).get_json()
        names = {(item.get("name") or item.get("first_name")).split(" ")[0]
                 for item in listed["items"]}
        assert names == expected
        for who, record_id in ids_by_label(rt, model).items():
            status = client.get(f"/api/v1/{path}/{record_id}", headers=headers).status_code
            assert status == (200 if who in expected else 404)


def snapshot(rt):
    """Everything a refused write must leave as it was."""
    with rt.session() as session:
        return (sorted((o.id, o.name, o.owner_id, o.version, o.deleted_at)
                       for o in session.scalars(select(Organisation))),
                session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.fixture
def reader(rt, world):
    """Edwin reads every organisation but edits, deletes and creates only his own."""
    with rt.session() as session, session.begin():
        role = roles.create(session, "reader", "Reader")
        roles.set_access(session, role, {("organisation", "read"): "all",
                                         ("organisation", "edit"): "own",
                                         ("organisation", "create"): "own",
                                         ("organisation", "delete"): "none"})
        return users.create_user(session, "edwin@example.com", PASSWORD, "Edwin",
                                 roles=["reader"]).id


def test_a_service_refuses_an_edit_out_of_reach_and_writes_nothing(rt, world, reader):
    before = snapshot(rt)
    with rt.session() as session:
        edwin = session.get(User, reader)
        target = session.scalar(select(Organisation).where(Organisation.owner_id == world["ola"]))
        with pytest.raises(Forbidden):
            organisations.update(session, rt.host, target, {"name": "Taken over"}, edwin)
        with pytest.raises(Forbidden):  # not "saved" either when nothing would change
            organisations.update(session, rt.host, target, {"name": target.name}, edwin)
        with pytest.raises(Forbidden):
            records.soft_delete(session, target, edwin)
        session.rollback()
    assert snapshot(rt) == before


def test_nobody_hands_a_record_to_someone_out_of_their_reach(rt, world, reader):
    before = snapshot(rt)
    with rt.session() as session:
        edwin = session.get(User, reader)
        with pytest.raises(ValidationError) as refused:
            organisations.create(session, rt.host, {"name": "Gmina X", "owner_id": world["ola"],
                                                    "type_key": "core.municipality"}, edwin)
        assert "owner_id" in refused.value.errors
        session.rollback()
    assert snapshot(rt) == before
    with rt.session() as session, session.begin():
        edwin = session.get(User, reader)
        mine = organisations.create(session, rt.host, {"name": "Gmina Y",
                                                       "type_key": "core.municipality"}, edwin)
        assert records.get(session, Organisation, mine.id, edwin) is not None
        with pytest.raises(ValidationError):
            organisations.update(session, rt.host, mine, {"owner_id": world["ola"]}, edwin)


def test_a_user_without_create_access_cannot_create(rt, world):
    with rt.session() as session:
        dora = session.get(User, world["dora"])
        with pytest.raises(Forbidden):
            people.create(session, {"first_name": "Jan", "last_name": "Nowak"}, dora)
        with pytest.raises(Forbidden):
            tasks.create(session, {"title": "Call", "assignee_id": dora.id}, actor=dora)
        session.rollback()
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)
                              .where(Person.first_name == "Jan")) == 0
        assert session.scalar(select(func.count()).select_from(Task)
                              .where(Task.title == "Call")) == 0


def test_the_api_answers_403_and_422_and_changes_nothing(app, rt, world, reader):
    with rt.session() as session, session.begin():
        secret = tokens.create(session, session.get(User, reader), "test")[1]
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}
    client = app.test_client()
    target = ids_by_label(rt, Organisation)["Ola"]
    before = snapshot(rt)
    patched = client.patch(f"/api/v1/organizations/{target}", json={"name": "Taken"},
                           headers={**headers, "If-Match": '"1"'})
    assert patched.status_code == 403 and patched.mimetype == "application/problem+json"
    deleted = client.delete(f"/api/v1/organizations/{target}", headers=headers)
    assert deleted.status_code == 403
    given = client.post("/api/v1/organizations/", headers=headers,
                        json={"name": "Gmina Z", "type_key": "core.municipality",
                              "owner_id": world["ola"]})
    assert given.status_code == 422 and "owner_id" in given.get_json()["errors"]
    assert snapshot(rt) == before


def test_the_staff_page_refuses_an_edit_with_403_and_changes_nothing(app, rt, world, reader):
    client = login(app, "edwin")
    target = ids_by_label(rt, Organisation)["Ola"]
    before = snapshot(rt)
    response = client.post(f"/organisations/{target}/edit",
                           data={"name": "Taken", "type_key": "core.municipality",
                                 "version": "1"})
    assert response.status_code == 403
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert client.post(f"/organisations/{target}/delete").status_code == 403
    assert snapshot(rt) == before


def test_a_role_change_takes_effect_on_the_next_request_and_is_audited(app, rt, world):
    client = login(app, "dora")
    assert "Ola municipality" not in client.get("/organisations/").get_data(as_text=True)
    with rt.session() as session, session.begin():
        admin = session.scalar(select(User).where(User.is_admin))
        roles.assign(session, session.get(User, world["dora"]), ["all_records"], admin)
    assert "Ola municipality" in client.get("/organisations/").get_data(as_text=True)
    with rt.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "permissions",
                                                        AuditEntry.record_id == world["dora"])
                               .order_by(AuditEntry.id.desc()).limit(1))
        assert entry.changes["roles"] == [["none_records"], ["all_records"]]


def test_a_more_specific_level_overrides_the_roles_default_for_all_types(rt, world):
    with rt.session() as session, session.begin():
        role = roles.create(session, "no_people", "Everything but people")
        roles.set_access(session, role, {("*", "read"): "all", ("person", "read"): "none"})
        user = users.create_user(session, "fred@example.com", PASSWORD, roles=["no_people"])
        assert session.scalar(select(func.count()).select_from(
            records.visible(Person, user).subquery())) == 0
        assert session.scalar(select(func.count()).select_from(
            records.visible(Organisation, user).subquery())) == 3


def test_bad_role_settings_are_refused_with_field_errors(rt):
    with rt.session() as session, session.begin():
        with pytest.raises(ValidationError) as bad_key:
            roles.create(session, "Sales Team!", "")
        assert set(bad_key.value.errors) == {"key", "name"}
        role = roles.create(session, "sales", "Sales")
        with pytest.raises(ValidationError) as taken:
            roles.create(session, "sales", "Sales again")
        assert "key" in taken.value.errors
        with pytest.raises(ValidationError) as bad_level:
            roles.set_access(session, role, {("organisation", "read"): "everything",
                                             ("spaceship", "read"): "all"})
        assert set(bad_level.value.errors) == {"organisation.read", "spaceship.read"}
        with pytest.raises(ValidationError):
            roles.set_permissions(session, role, ["core.launch_rockets"])
        with pytest.raises(ValidationError):
            roles.remove(session, roles.find(session, "staff"))


def test_a_duplicate_warning_never_names_a_record_out_of_reach(rt, world):
    with rt.session() as session, session.begin():
        admin = session.scalar(select(User).where(User.is_admin))
        organisations.create(session, rt.host, {"name": "Hidden Ltd", "nip": "7773061579",
                                                "type_key": "core.company",
                                                "owner_id": world["bartek"]}, admin)
    with rt.session() as session:
        ola = session.get(User, world["ola"])
        mine = organisations.create(session, rt.host, {"name": "Hidden Ltd",
                                                       "nip": "7773061579",
                                                       "type_key": "core.company"}, ola)
        assert mine.created_by_id == ola.id
        session.rollback()
    with rt.session() as session:
        bartek = session.get(User, world["bartek"])
        with pytest.raises(DuplicateFound):
            organisations.create(session, rt.host, {"name": "Hidden Ltd",
                                                    "nip": "7773061579",
                                                    "type_key": "core.company"}, bartek)
        session.rollback()

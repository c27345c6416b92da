"""The permission matrix, table-driven: roles × record types × actions × doors.

One world per test: a user per access level (own, team, all, none), a reader who sees
everything but edits only their own, an administrator and a portal account; and of each
scoped record type (organisations, people, cases, tasks, calendar events) one record
owned by Ola, one by Bartek (Ola's teammate) and one by nobody. Each door (services,
staff pages, the REST API, search, segments, CSV export, document generation, a
mailing's audience) is walked for every user, record type and action it offers, and each
cell is checked against what the levels say: allowed works; refused answers 403, or 404
where the record must not be revealed, and leaves every business table and the audit
trail exactly as they were. All the mismatches of a door are reported together.

Activities are not scoped (they show on the timelines of the records they are linked
to) and documents are reached through the record they are made for: both are covered
through those records' doors. The narrower cases (handing a record to someone out of
reach, duplicate warnings, role changes) are in test_permissions.py; a portal account's
own pages in test_portal_isolation.py.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import func, inspect, select

from core import (
    calendar,
    cases,
    mailing,
    memberships,
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
from core.db import Base
from core.documents import create as create_template
from core.errors import Forbidden
from core.models import (
    AuditEntry,
    CalendarEvent,
    Case,
    Document,
    Mailing,
    Organisation,
    Person,
    Task,
    User,
)
from core.permissions import ACTIONS
from core.workflow import Phase, Process, Transition

PASSWORD = "correct horse battery"
OWNERS = ("Ola", "Bartek", "Nobody")  # the labels of each type's three records
SALES = {"ola", "bartek"}  # a team: the records of one are the other's at the team level
# Each user's level for an action, the same for every record type.
LEVELS = {
    "ola": dict.fromkeys(ACTIONS, "own"),
    "bartek": dict.fromkeys(ACTIONS, "team"),
    "celina": dict.fromkeys(ACTIONS, "all"),
    "dora": dict.fromkeys(ACTIONS, "none"),
    "edwin": {"read": "all", "export": "all", "edit": "own", "create": "none",
              "delete": "none"},
    "admin": dict.fromkeys(ACTIONS, "all"),
}
USERS = (*LEVELS, "portal")
MODELS = {"organisation": Organisation, "person": Person, "case": Case, "task": Task,
          "event": CalendarEvent}
PROCESS = Process("matrix.order", "core.case", title={"en": "Order"}, phases=(
    Phase("draft", "core.case"), Phase("done", "core.phase", final=True)),
    transitions=(Transition("draft", "done"),))
EDITS = itertools.count()
# Tables left out of the snapshot: rows no user's action is about (sessions, throttling,
# usage counters, a token's use) and settings none of the walked doors can change (each
# snapshot is a query a table: this halves the file's time).
UNWATCHED = {"auth_sessions", "login_attempts", "usage_events", "api_tokens", "jobs",
             "config_stamps", "password_resets", "roles", "role_access", "role_permissions",
             "user_roles", "teams", "team_members", "field_definitions",
             "archived_field_values", "organisation_types", "plugin_state",
             "process_settings", "processing_purposes", "quality_rules", "term_overrides",
             "template_versions", "number_series", "import_mappings", "mail_suppressions"}


def reach(user: str, record_type: str, action: str) -> set[str]:
    """The labels of the world's records ``user`` may ``action``."""
    if user == "portal":  # its own organisation and its people, read only
        return {"Ola"} if action == "read" and record_type in ("organisation", "person") \
            else set()
    level = LEVELS[user][action]
    owners = {"own": {user}, "team": SALES if user in SALES else {user}}.get(level, set())
    return set(OWNERS) if level == "all" else {o for o in OWNERS if o.lower() in owners}


def may_create(user: str) -> bool:
    return user != "portal" and LEVELS[user]["create"] != "none"


# --- The world ----------------------------------------------------------------------------

@dataclass
class World:
    users: dict[str, int]
    ids: dict[tuple[str, str], int]  # (record type, label) -> id
    owner: dict[str, int | None]  # label -> owner's user id
    tokens: dict[str, str] = field(default_factory=dict)
    template: int = 0


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en")
    app.extensions["kartoteka"].host.processes = {"matrix.order": PROCESS}
    return app


@pytest.fixture
def world(rt) -> World:
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, "Admin", is_admin=True)
        found = {"admin": admin.id}
        for name, levels in LEVELS.items():
            if name == "admin":
                continue
            role = roles.create(s, f"matrix_{name}", f"Matrix {name}")
            roles.set_access(s, role, {(t, a): level for t in MODELS
                                       for a, level in levels.items()})
            found[name] = users.create_user(s, f"{name}@example.com", PASSWORD, name.title(),
                                            roles=[role.key]).id
        sales = teams.create_team(s, "Sales", admin)
        for name in ("ola", "bartek"):
            teams.add_member(s, sales, s.get(User, found[name]), admin)
        support = teams.create_team(s, "Support", admin)  # nobody's: its tasks are no one's
        owner = {"Ola": found["ola"], "Bartek": found["bartek"], "Nobody": None}
        ids = {}
        for label in OWNERS:
            ids.update(_records(s, rt, admin, label, owner[label], support.id))
        kornik = s.get(Organisation, ids["organisation", "Ola"])
        found["portal"] = users.create_user(s, "portal@example.com", PASSWORD, "Portal",
                                            portal_of=kornik).id
        template = create_template(s, {"key": "local.letter", "kind": "letter",
                                       "subject_type": "organisation", "name_pl": "List",
                                       "body": "<p>{{ organisation.name }}</p>"}, admin)
        built = World(found, ids, owner, template=template.id)
        for name, user_id in found.items():
            built.tokens[name] = tokens.create(s, s.get(User, user_id), "matrix")[1]
    return built


def _records(s, rt, admin, label: str, owner_id: int | None, support: int) -> dict:
    org = organisations.create(s, rt.host, {"name": f"{label} municipality",
                                            "type_key": "core.municipality",
                                            "owner_id": owner_id}, admin)
    person = people.create(s, {"first_name": label, "last_name": "Person",
                               "owner_id": owner_id}, admin)
    memberships.join(s, person, org, role="clerk", actor=admin)
    case = cases.create(s, rt.host, {"title": f"{label} case", "process_key": "matrix.order",
                                     "owner_id": owner_id, "organisation_id": org.id}, admin)
    task = tasks.create(s, {"title": f"{label} task", "assignee_id": owner_id,
                            "team_id": None if owner_id else support}, about=[org], actor=admin)
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    event = calendar.create_event(
        s, {"title": f"{label} event", "starts_at": start, "ends_at": start + timedelta(hours=1)},
        attendees_users=[s.get(User, owner_id)] if owner_id else [], actor=admin)
    return {("organisation", label): org.id, ("person", label): person.id,
            ("case", label): case.id, ("task", label): task.id, ("event", label): event.id}


def label_of(record) -> str:
    text = getattr(record, "name", None) or getattr(record, "title", None) \
        or record.first_name
    return text.split(" ")[0]


# --- Checking cells -----------------------------------------------------------------------

def snapshot(rt) -> dict:
    """Every row of every table the walked doors may write to, and the trail's size."""
    with rt.session() as s:
        state = {}
        # A plugin's models imported by an earlier test of this process are in the
        # metadata too, but their tables are not in this database.
        present = set(inspect(s.connection()).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name in UNWATCHED or table.name == "audit_log" or \
                    table.name not in present:
                continue
            state[table.name] = sorted(tuple(map(repr, row))
                                       for row in s.execute(select(table)))
        state["audit_log"] = s.scalar(select(func.count()).select_from(AuditEntry))
    return state


class Matrix:
    """Runs cells and keeps the mismatches; the state a refusal must leave is read
    again only after a cell that was allowed to write."""

    def __init__(self, rt):
        self.rt, self.failures, self._state = rt, [], None

    def forget(self) -> None:
        self._state = None

    def expect(self, cell: tuple, wanted, got) -> None:
        if wanted != got:
            self.failures.append(f"{cell}: expected {wanted!r}, got {got!r}")

    def refused(self, cell: tuple, action, wanted) -> None:
        """Run ``action``, which must answer ``wanted`` and write nothing."""
        before = self._state or snapshot(self.rt)
        got = action()
        after = snapshot(self.rt)
        self.expect(cell, wanted, got)
        if after != before:
            changed = sorted(k for k in after if after[k] != before.get(k))
            self.failures.append(f"{cell}: refused but wrote to {changed}")
        self._state = after

    def allowed(self, cell: tuple, action, wanted) -> None:
        self.expect(cell, wanted, action())
        self._state = None

    def run(self, cell: tuple, allowed: bool, wanted: tuple, action, *args, **kwargs):
        """``action(*args, **kwargs)`` must answer ``wanted[0]`` if ``allowed``, else
        ``wanted[1]`` and write nothing."""
        call = partial(action, *args, **kwargs)
        if allowed:
            self.allowed(cell, call, wanted[0])
        else:
            self.refused(cell, call, wanted[1])

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} cells differ:\n" + \
            "\n".join(self.failures)


def restore(rt, model, record_id: int) -> None:
    """Out of the bin again as the system, so the world stays the same for later cells."""
    with rt.session() as s, s.begin():
        records.restore(s, s.get(model, record_id))


# --- Door: the services -------------------------------------------------------------------

# The field each type's edits change (to a new value each time: an edit that changes
# nothing is no write, and is let through without a check).
EDITED = {"organisation": "notes", "person": "notes", "case": "description",
          "task": "description", "event": "description"}
SERVICE = ("done", "refused")


def _service_create(s, actor, rt, record_type: str):
    # A portal account is no owner: it names an administrator (and is refused anyway).
    mine = actor.id if actor.kind == "staff" else s.scalar(select(User.id).where(User.is_admin))
    if record_type == "organisation":
        return organisations.create(s, rt.host, {"name": "Fresh municipality",
                                                 "type_key": "core.municipality",
                                                 "owner_id": mine}, actor, True)
    if record_type == "person":
        return people.create(s, {"first_name": "Fresh", "last_name": "Person",
                                 "owner_id": mine}, actor, True)
    if record_type == "case":
        return cases.create(s, rt.host, {"title": "Fresh case", "process_key": "matrix.order",
                                         "owner_id": mine}, actor)
    if record_type == "task":
        return tasks.create(s, {"title": "Fresh task", "assignee_id": mine}, actor=actor)
    start = datetime(2030, 2, 1, 9, tzinfo=UTC)
    return calendar.create_event(s, {"title": "Fresh event", "starts_at": start,
                                     "ends_at": start + timedelta(hours=1)},
                                 attendees_users=[actor], actor=actor)


def _service_edit(s, actor, model, record_id: int):
    field_name = EDITED[model.record_type]
    records.update(s, s.get(model, record_id), {field_name: f"edited by {actor.email}"}, actor)


def _service_bin(s, actor, model, record_id: int):
    records.soft_delete(s, s.get(model, record_id), actor)


def _service_write(rt, user_id: int, write, *args) -> str:
    """``write(session, actor, *args)``; refused writes are committed as they stand, so
    that anything written before the refusal would show; allowed ones are rolled back."""
    with rt.session() as s:
        actor = s.get(User, user_id)
        try:
            write(s, actor, *args)
        except Forbidden:
            s.commit()
            return "refused"
        s.rollback()
        return "done"


@pytest.mark.parametrize("record_type", list(MODELS))
def test_services(rt, world, record_type):
    model, matrix = MODELS[record_type], Matrix(rt)
    ids = {label: world.ids[record_type, label] for label in OWNERS}
    for user in USERS:
        user_id = world.users[user]
        with rt.session() as s:
            actor = s.get(User, user_id)
            listed = {label_of(r) for r in s.scalars(records.visible(model, actor))}
            matrix.expect((user, record_type, "list", "service"),
                          reach(user, record_type, "read"), listed & set(OWNERS))
            got = {label for label, i in ids.items() if records.get(s, model, i, actor)}
            matrix.expect((user, record_type, "read", "service"),
                          reach(user, record_type, "read"), got)
        matrix.run((user, record_type, "create", "service"), may_create(user), SERVICE,
                   _service_write, rt, user_id, _service_create, rt, record_type)
        for label, record_id in ids.items():
            for action, write, level in (("update", _service_edit, "edit"),
                                         ("bin", _service_bin, "delete")):
                matrix.run((user, record_type, action, label, "service"),
                           label in reach(user, record_type, level), SERVICE,
                           _service_write, rt, user_id, write, model, record_id)
    matrix.check()


# --- Door: the staff pages ----------------------------------------------------------------

PAGES = {"organisation": "/organisations/", "person": "/people/", "case": "/cases/"}
LIST_PAGES = {**PAGES, "case": "/cases/board/matrix.order"}
SHOWN_AS = {"organisation": "{} municipality", "person": "Person {}", "case": "{} case"}
# The case form shows a refused save on the form (200, the message on top), where the
# other forms answer 403; either way nothing is written.
FORM_REFUSAL = {"case": 200}


def login(app, email: str, matrix: Matrix | None = None):
    """A logged-in client; logging in is audited, so the matrix reads the state anew."""
    if matrix is not None:
        matrix.forget()
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def status(call, *args, **kwargs) -> int:
    return call(*args, **kwargs).status_code


def version_of(rt, model, record_id: int) -> int:
    with rt.session() as s:
        return s.get(model, record_id).version


def _form(rt, world, record_type: str, label: str | None, user: str) -> dict:
    """What the edit (label given) or new form posts: one harmless change, the owner kept."""
    owner = world.owner[label] if label else world.users[user]
    common = {"owner_id": "" if owner is None else str(owner)}
    note = f"edited by {user} {next(EDITS)}"
    if label is not None:
        model = MODELS[record_type]
        common["version"] = str(version_of(rt, model, world.ids[record_type, label]))
    if record_type == "organisation":
        return {**common, "name": f"{label or 'Fresh'} municipality", "notes": note,
                "type_key": "core.municipality", "allow_duplicates": "1"}
    if record_type == "person":
        return {**common, "first_name": label or "Fresh", "last_name": "Person",
                "notes": note, "allow_duplicates": "1"}
    return {**common, "title": f"{label or 'Fresh'} case", "currency": "PLN",
            "description": note, "process_key": "matrix.order"}


def _shown(page: str, record_type: str) -> set[str]:
    return {label for label in OWNERS if SHOWN_AS[record_type].format(label) in page}


def _refusal(user: str, visible: bool, record_type: str = "") -> int:
    """A portal account has no staff pages; a record out of sight is not revealed."""
    return 404 if user == "portal" or not visible else FORM_REFUSAL.get(record_type, 403)


@pytest.mark.parametrize("record_type", list(LIST_PAGES))
def test_staff_pages(app, rt, world, record_type):
    model, matrix = MODELS[record_type], Matrix(rt)
    base = PAGES[record_type]
    for user in USERS:
        client = login(app, f"{user}@example.com", matrix)
        seen = reach(user, record_type, "read")
        listing = client.get(LIST_PAGES[record_type])
        shown = _shown(listing.get_data(as_text=True), record_type) \
            if listing.status_code == 200 else listing.status_code
        matrix.expect((user, record_type, "list", "web"), 404 if user == "portal" else seen,
                      shown)
        matrix.run((user, record_type, "create", "web"), may_create(user),
                   (302, _refusal(user, True, record_type)), status, client.post, f"{base}new",
                   data=_form(rt, world, record_type, None, user))
        for label in OWNERS:
            record_id = world.ids[record_type, label]
            visible = user != "portal" and label in seen
            matrix.expect((user, record_type, "read", label, "web"), 200 if visible else 404,
                          client.get(f"{base}{record_id}").status_code)
            matrix.run((user, record_type, "update", label, "web"),
                       user != "portal" and label in reach(user, record_type, "edit"),
                       (302, _refusal(user, visible, record_type)), status, client.post,
                       f"{base}{record_id}/edit", data=_form(rt, world, record_type, label, user))
            if record_type != "organisation":
                continue  # the other types have no bin button
            allowed = user != "portal" and label in reach(user, record_type, "delete")
            matrix.run((user, record_type, "bin", label, "web"), allowed,
                       (302, _refusal(user, visible)), status, client.post,
                       f"{base}{record_id}/delete")
            if allowed:
                restore(rt, model, record_id)
    matrix.check()


def test_tasks_are_done_only_by_whom_they_reach_on_the_staff_pages(app, rt, world):
    matrix = Matrix(rt)
    for user in USERS:
        client = login(app, f"{user}@example.com", matrix)
        for label in OWNERS:
            task_id = world.ids["task", label]
            visible = user != "portal" and label in reach(user, "task", "read")
            allowed = user != "portal" and label in reach(user, "task", "edit")
            matrix.run((user, "task", "complete", label, "web"), allowed,
                       (302, _refusal(user, visible)), status, client.post,
                       f"/tasks/{task_id}/complete",
                       data={"version": version_of(rt, Task, task_id)})
            if allowed:
                with rt.session() as s, s.begin():
                    tasks.reopen(s, s.get(Task, task_id))
    matrix.check()


# --- Door: the REST API -------------------------------------------------------------------

API_PATHS = {"organisation": "organizations", "person": "people", "case": "cases"}
API_NEW = {"organisation": {"name": "Fresh municipality", "type_key": "core.municipality"},
           "person": {"first_name": "Fresh", "last_name": "Person"},
           "case": {"title": "Fresh case", "process_key": "matrix.order"}}


@pytest.mark.parametrize("record_type", list(API_PATHS))
def test_rest_api(app, rt, world, record_type):
    model, matrix = MODELS[record_type], Matrix(rt)
    client = app.test_client()
    base = f"/api/v1/{API_PATHS[record_type]}/"
    for user in USERS:
        headers = {"Authorization": f"Bearer {world.tokens[user]}", "Accept-Language": "en"}
        seen = reach(user, record_type, "read")
        listed = client.get(base, headers=headers)
        got = {label_of_json(item) for item in listed.get_json()["items"]} & set(OWNERS) \
            if listed.status_code == 200 else listed.status_code
        matrix.expect((user, record_type, "list", "api"), seen, got)
        mine = {} if user == "portal" else {"owner_id": world.users[user]}
        matrix.run((user, record_type, "create", "api"), may_create(user), (201, 403),
                   status, client.post, f"{base}?allow_duplicates=true",
                   json={**API_NEW[record_type], **mine}, headers=headers)
        for label in OWNERS:
            record_id = world.ids[record_type, label]
            visible = label in seen
            matrix.expect((user, record_type, "read", label, "api"), 200 if visible else 404,
                          client.get(f"{base}{record_id}", headers=headers).status_code)
            etag = f'"{version_of(rt, model, record_id)}"'
            matrix.run((user, record_type, "update", label, "api"),
                       label in reach(user, record_type, "edit"), (200, 403 if visible else 404),
                       status, client.patch, f"{base}{record_id}",
                       json={EDITED[record_type]: f"edited by {user} {next(EDITS)}"},
                       headers={**headers, "If-Match": etag})
            allowed = label in reach(user, record_type, "delete")
            matrix.run((user, record_type, "bin", label, "api"), allowed,
                       (204, 403 if visible else 404), status, client.delete,
                       f"{base}{record_id}", headers=headers)
            if allowed:
                restore(rt, model, record_id)
    matrix.check()


def label_of_json(item: dict) -> str:
    return (item.get("name") or item.get("title") or item.get("first_name") or "").split(" ")[0]


# --- Doors that read: search, segments, export, a mailing's audience ----------------------

SEARCHED = {"organisation": "municipality", "person": "Person"}
EXPORTS = {"organisation": "/organisations/export?format=csv",
           "person": "/people/export?format=csv"}


@pytest.mark.parametrize("record_type", list(SEARCHED))
def test_search_segments_export_and_audience(app, rt, world, record_type):
    matrix = Matrix(rt)
    with rt.session() as s, s.begin():
        admin = s.get(User, world.users["admin"])
        column = "type_key" if record_type == "organisation" else "last_name"
        value = "core.municipality" if record_type == "organisation" else "Person"
        segment_id = segments.save(s, "Everyone", record_type, {
            "field": column, "op": "eq", "value": value}, admin, shared=True).id
    everyone = [world.ids["person", label] for label in OWNERS]
    for user in USERS:
        seen = reach(user, record_type, "read")
        with rt.session() as s:
            actor = s.get(User, world.users[user])
            hits = search.search(s, SEARCHED[record_type], actor, types=(record_type,))
            matrix.expect((user, record_type, "search", "service"), seen,
                          {h.label.split(" ")[0] for h in hits} & set(OWNERS))
            segment = s.get(segments.Segment, segment_id)
            members = {label_of(r) for r in s.scalars(segments.members(s, segment, actor))}
            matrix.expect((user, record_type, "segment", "service"), seen,
                          members & set(OWNERS))
            if record_type == "person":
                audience = Mailing(audience="people", person_ids=everyone)
                found = {label_of(p) for p in s.scalars(mailing.audience(s, audience, actor))}
                matrix.expect((user, "person", "audience", "service"), seen, found)
        client = login(app, f"{user}@example.com", matrix)
        suggest = client.get(f"/search/suggest?q={SEARCHED[record_type]}")
        got = {label for label in seen | set(OWNERS)
               if f"{label} " in suggest.get_data(as_text=True)} \
            if suggest.status_code == 200 else suggest.status_code
        matrix.expect((user, record_type, "search", "web"),
                      404 if user == "portal" else seen, got)
        export = client.get(EXPORTS[record_type])
        wanted = 404 if user == "portal" else reach(user, record_type, "export") \
            if LEVELS[user]["export"] != "none" else 403
        matrix.expect((user, record_type, "export", "web"), wanted, _exported(export))
    matrix.check()


def _exported(response):
    if response.status_code != 200:
        return response.status_code
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {row[0].split(" ")[0] for row in rows[1:]} & set(OWNERS)


# --- Door: documents ----------------------------------------------------------------------

def documents_of(rt, record_id: int) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(Document).where(
            Document.record_type == "organisation", Document.record_id == record_id))


def test_document_generation(app, rt, world, monkeypatch):
    """Making a document changes its record: it needs the edit level, and a record out of
    sight is not found (staff page and API alike)."""
    # Who may make it is the question here, not how it is drawn (a tenth of a second each).
    monkeypatch.setattr("core.pdf.render", lambda html, settings: b"%PDF-1.4\n%%EOF\n")
    matrix = Matrix(rt)
    client = app.test_client()
    for user in USERS:
        page = login(app, f"{user}@example.com", matrix)
        headers = {"Authorization": f"Bearer {world.tokens[user]}", "Accept-Language": "en"}
        for label in OWNERS:
            record_id = world.ids["organisation", label]
            visible = label in reach(user, "organisation", "read")
            allowed = label in reach(user, "organisation", "edit")
            before = documents_of(rt, record_id)
            matrix.run((user, "organisation", "document", label, "web"), allowed,
                       (302, 302 if visible and user != "portal" else 404), status, page.post,
                       "/documents/generate", data={"record_type": "organisation",
                                                    "record_id": record_id,
                                                    "template_id": world.template})
            matrix.expect((user, "organisation", "document made", label, "web"),
                          before + allowed, documents_of(rt, record_id))
            matrix.run((user, "organisation", "document", label, "api"), allowed,
                       (201, 403 if visible else 404), status, client.post,
                       "/api/v1/documents/", headers=headers,
                       json={"record_type": "organisation", "record_id": record_id,
                             "template": "local.letter"})
    matrix.check()


def test_the_world_is_what_the_matrix_assumes(rt, world):
    """Each type has its three records, owned as the labels say (a world gone wrong
    would make every other cell meaningless)."""
    with rt.session() as s:
        for record_type, model in MODELS.items():
            found = {label_of(r) for r in s.scalars(records.visible(model))}
            assert found == set(OWNERS), record_type
        columns = {c.key for c in inspect(Organisation).columns}
        assert "owner_id" in columns

"""Writes outside the records' service are audited too: approvals asked and decided,
API tokens, data-quality rules, plugins enabled and disabled, imported suppression
lists, shipped templates and activities linked to one more record."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import (
    approvals,
    audit,
    cases,
    organisations,
    plugins,
    quality,
    roles,
    timeline,
    tokens,
    unsubscribe,
    users,
)
from core.approvals import Approver, Threshold
from core.documents import Template
from core.models import ApiToken, ApprovalRequest, AuditEntry, User
from core.workflow import Phase, Process, Setting, Transition

PASSWORD = "correct horse battery"
SETTINGS = (Setting("approval_from", {"en": "From"}, "money", Decimal("1000")),)
NEEDS_BOSS = Threshold("test.amount", "approval_from", ((None, Approver.supervisor()),))
ORDER = Process("test.order", "core.case", title={"en": "Order"}, settings=SETTINGS, phases=(
    Phase("draft", "core.case"), Phase("calculated", "core.task", final=True)),
    transitions=(Transition("draft", "calculated", approval=NEEDS_BOSS),))


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en")
    app.extensions["kartoteka"].host.processes = {"test.order": ORDER}
    return app


@pytest.fixture
def staff(rt):
    """A rep answering to a boss, both staff, and an administrator."""
    with rt.session() as s, s.begin():
        boss = users.create_user(s, "boss@example.com", PASSWORD, "Boss")
        rep = users.create_user(s, "rep@example.com", PASSWORD, "Rep")
        roles.assign(s, boss, ["staff"])
        roles.assign(s, rep, ["staff"])
        rep.supervisor_id = boss.id
        admin = users.create_user(s, "admin@example.com", PASSWORD, "Admin", is_admin=True)
        return {"boss": boss.id, "rep": rep.id, "admin": admin.id}


def entries(rt, record_type: str, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.record_type == record_type)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with rt.session() as s:
        return list(s.scalars(query.order_by(AuditEntry.id)))


def ask(rt, staff, amount="5000"):
    """A case of the rep's that needs the boss's approval, and the request for it."""
    with rt.session() as s, s.begin(), audit.door("ui"):
        rep = s.get(User, staff["rep"])
        case = cases.create(s, rt.host, {"title": "Banner", "process_key": "test.order",
                                         "owner_id": rep.id, "amount": amount}, rep)
        req = approvals.request(s, rt.host, case, "calculated", rep)
        return case.id, req.id


def test_asking_for_an_approval_is_audited_with_what_it_covers(rt, staff):
    case_id, req_id = ask(rt, staff)
    [entry] = entries(rt, "approval_requests", "create")
    assert (entry.record_id, entry.actor_id, entry.door) == (req_id, staff["rep"], "ui")
    assert entry.summary == "Banner"
    assert entry.changes["case_id"] == [None, case_id]
    assert entry.changes["transition"] == [None, "draft->calculated"]
    assert entry.changes["approver_id"] == [None, staff["boss"]]
    assert entry.changes["status"] == [None, "pending"]
    assert entry.changes["values"][1]["amount"] == "5000.00"


def test_approving_through_the_api_and_returning_are_audited(app, rt, staff):
    _case_id, req_id = ask(rt, staff)
    with rt.session() as s, s.begin():
        secret = tokens.create(s, s.get(User, staff["boss"]), "test")[1]
    answer = app.test_client().post(
        f"/api/v1/approvals/{req_id}/decision", json={"decision": "approve", "comment": "OK"},
        headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.get_json()
    [approved] = entries(rt, "approval_requests", "update")
    assert (approved.record_id, approved.actor_id, approved.door) == \
        (req_id, staff["boss"], "api")
    assert approved.changes == {"status": ["pending", "approved"],
                                "decided_by_id": [None, staff["boss"]],
                                "comment": [None, "OK"]}
    _case_id, second = ask(rt, staff, amount="7000")
    with rt.session() as s, s.begin(), audit.door("ui"):
        approvals.decide(s, rt.host, s.get(ApprovalRequest, second), "return",
                         s.get(User, staff["boss"]), comment="Too dear.")
    returned = entries(rt, "approval_requests", "update")[-1]
    assert (returned.record_id, returned.door) == (second, "ui")
    assert returned.changes["status"] == ["pending", "returned"]
    assert returned.changes["comment"] == [None, "Too dear."]


def test_corrections_made_while_approving_are_in_the_entry(rt, staff):
    _case_id, req_id = ask(rt, staff)
    with rt.session() as s, s.begin():
        approvals.decide(s, rt.host, s.get(ApprovalRequest, req_id), "approve",
                         s.get(User, staff["boss"]), corrections={"amount": "4500"})
    [decided] = entries(rt, "approval_requests", "update")
    assert decided.changes["values"][0]["amount"] == "5000.00"
    assert decided.changes["values"][1]["amount"] == "4500.00"


def test_an_approval_made_worthless_by_a_change_is_audited(rt, staff):
    case_id, req_id = ask(rt, staff)
    with rt.session() as s, s.begin():
        rep = s.get(User, staff["rep"])
        case = s.get(cases.Case, case_id)
        cases.update(s, rt.host, case, {"amount": "9000"}, rep)
    [superseded] = entries(rt, "approval_requests", "update")
    assert (superseded.record_id, superseded.actor_id) == (req_id, staff["rep"])
    assert superseded.changes == {"status": ["pending", "superseded"]}


def test_api_tokens_created_and_revoked_on_the_account_page_are_audited(app, rt, staff):
    client = app.test_client()
    assert client.post("/login", data={"email": "rep@example.com",
                                       "password": PASSWORD}).status_code == 302
    assert client.post("/account/tokens", data={"name": "Zapier"}).status_code == 200
    [created] = entries(rt, "api_tokens", "create")
    assert (created.actor_id, created.door) == (staff["rep"], "ui")
    assert created.changes["name"] == [None, "Zapier"]
    assert created.changes["user_id"] == [None, staff["rep"]]
    assert "secret_hash" not in created.changes
    client.post(f"/account/tokens/{created.record_id}/revoke")
    [revoked] = entries(rt, "api_tokens", "update")
    assert (revoked.record_id, revoked.actor_id) == (created.record_id, staff["rep"])
    assert revoked.changes["revoked_at"][0] is None and revoked.changes["revoked_at"][1]
    with rt.session() as s:
        assert s.get(ApiToken, created.record_id).revoked_at is not None


def test_a_data_quality_rule_set_by_an_administrator_is_audited(rt, staff):
    with rt.session() as s, s.begin():
        admin = s.get(User, staff["admin"])
        quality.set_rule(s, "organisation", ["nip", "city"], 90, admin)
        quality.set_rule(s, "organisation", ["nip"], 90, admin)
    created, changed = entries(rt, "quality_rules")
    assert (created.action, created.actor_id, created.summary) == \
        ("create", staff["admin"], "organisation")
    assert created.changes == {"required": [None, ["nip", "city"]], "stale_days": [None, 90]}
    assert (changed.action, changed.changes) == ("update",
                                                 {"required": [["nip", "city"], ["nip"]]})


def test_enabling_and_disabling_a_plugin_is_audited_once(rt):
    with audit.door("cli"):
        plugins.enable(rt.engine, ["printing"])
        plugins.enable(rt.engine, ["printing"])  # already enabled: nothing changes
        plugins.disable(rt.engine, "printing")
    enabled, disabled = entries(rt, "plugin_state")
    assert (enabled.door, enabled.summary, enabled.changes["enabled"]) == \
        ("cli", "printing", [False, True])
    assert disabled.changes == {"enabled": [True, False]}


def test_an_imported_suppression_list_is_audited_with_its_counts(rt, staff):
    with rt.session() as s, s.begin(), audit.door("import"):
        unsubscribe.import_addresses(s, "email\na@example.org\nb@example.org\nnot-mail\n",
                                     None, s.get(User, staff["admin"]), note="From Mailchimp")
    [entry] = entries(rt, "suppression", "import")
    assert (entry.actor_id, entry.door, entry.summary) == \
        (staff["admin"], "import", "From Mailchimp")
    assert (entry.changes["added"], entry.changes["invalid"]) == (2, 1)


def test_a_template_a_plugin_ships_is_audited_as_the_systems(rt):
    from core import documents

    with rt.session() as s, s.begin():
        documents.ship(s, Template(key="test.letter", kind="letter",
                                   subject_type="organisation",
                                   name={"pl": "List", "en": "Letter"}, body="<p>Hi</p>"))
    [entry] = [e for e in entries(rt, "template", "create")
               if e.changes.get("key") == "test.letter"]
    assert (entry.actor_id, entry.door, entry.summary) == (None, "system", "List")


def test_linking_an_activity_to_one_more_record_is_audited(rt, staff):
    with rt.session() as s, s.begin():
        admin = s.get(User, staff["admin"])
        first, second = (organisations.create(s, rt.host, {
            "name": name, "type_key": "core.municipality"}, admin) for name in ("A", "B"))
        note = timeline.add(s, "note", "Called", [first], actor=admin)
        timeline.link(s, note, second, admin)
        note_id, second_id = note.id, second.id
    [linked] = [e for e in entries(rt, "activity", "update") if e.record_id == note_id]
    assert linked.changes == {"links": [None, ["organisation", second_id]]}
    assert linked.actor_id == staff["admin"]


def test_a_change_through_the_rest_api_comes_through_the_api_door(app, rt, staff):
    with rt.session() as s, s.begin():
        secret = tokens.create(s, s.get(User, staff["admin"]), "test")[1]
    created = app.test_client().post(
        "/api/v1/organizations/", json={"name": "Gmina Kórnik", "type_key": "core.municipality"},
        headers={"Authorization": f"Bearer {secret}"})
    assert created.status_code == 201
    [entry] = entries(rt, "organisation", "create")
    assert (entry.record_id, entry.actor_id, entry.door) == \
        (created.get_json()["id"], staff["admin"], "api")

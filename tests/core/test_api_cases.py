"""The cases API: cases with custom fields and exact amounts, moves refused with their
reasons, approvals asked and decided, ETags, invisible cases, processes and OpenAPI."""

import json

import pytest
from sqlalchemy import func, select

from core import roles, tokens, users, workflow
from core.models import ApprovalRequest, Case, User
from core.permissions import ACTIONS

PASSWORD = "correct horse battery"
PROJECT = "printing.project"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def staff(app, rt):
    """API callers: a rep, their supervisor, a colleague, and a seller who sees only
    their own cases; ``staff.ids`` holds their account ids."""
    with rt.session() as s, s.begin():
        boss = users.create_user(s, "boss@example.com", PASSWORD, full_name="Boss")
        rep = users.create_user(s, "rep@example.com", PASSWORD, full_name="Rep")
        colleague = users.create_user(s, "colleague@example.com", PASSWORD)
        seller = users.create_user(s, "seller@example.com", PASSWORD)
        rep.supervisor_id = boss.id
        for user in (boss, rep, colleague):
            roles.assign(s, user, ["staff"])
        own = roles.create(s, "seller", "Seller")
        roles.set_access(s, own, {("*", action): "own" for action in ACTIONS})
        roles.assign(s, seller, ["seller"])
        found = {u.email.split("@")[0]: (u.id, tokens.create(s, u, "test")[1])
                 for u in (boss, rep, colleague, seller)}

    class Staff:
        ids = {name: user_id for name, (user_id, _token) in found.items()}

    client = app.test_client()
    for name, (_user_id, token) in found.items():
        setattr(Staff, name, _caller(client, token))
    return Staff


def _caller(client, token):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def open_case(api, owner_id, **extra):
    response = api("post", "/cases/", json={"title": "Banners for the fair",
                                            "process_key": PROJECT, "owner_id": owner_id,
                                            **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def move(api, case, target, etag=None, **extra):
    etag = etag or api("get", f"/cases/{case['id']}").headers["ETag"]
    return api("post", f"/cases/{case['id']}/move", json={"target": target, **extra},
               headers={"If-Match": etag})


def count(rt, model=Case) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def phase_of(rt, case) -> str:
    with rt.session() as session:
        return session.get(Case, case["id"]).phase_key


# ------------------------------------------------------------------ cases


def test_a_case_is_created_with_custom_fields_and_exact_decimal_amounts(staff):
    created = staff.rep("post", "/cases/", json={
        "title": "Banners", "process_key": PROJECT, "owner_id": staff.ids["rep"],
        "amount": "12500.50", "cost": 9000, "currency": "PLN",
        "custom": {"printing_signed_order": True}})
    assert created.status_code == 201, created.get_json()
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith(f"/api/v1/cases/{created.get_json()['id']}")
    body = created.get_json()
    assert body["amount"] == "12500.50" and body["cost"] == "9000.00"
    assert body["margin"] == "0.2800" and body["currency"] == "PLN"
    assert body["custom"]["printing_signed_order"] is True
    assert (body["process_key"], body["phase_key"], body["phase_name"]) == \
        (PROJECT, "inquiry", "inquiry")
    assert body["version"] == 1 and body["owner_id"] == staff.ids["rep"]
    assert body["parent_id"] is None and body["organisation_id"] is None
    assert body["created_at"] and body["updated_at"]

    read = staff.rep("get", f"/cases/{body['id']}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json()["amount"] == "12500.50"
    polish = staff.rep("get", f"/cases/{body['id']}", headers={"Accept-Language": "pl"})
    assert polish.get_json()["phase_name"] == "zapytanie"


def test_bad_values_answer_422_with_each_fields_message(staff, rt):
    response = staff.rep("post", "/cases/", json={
        "title": "X", "process_key": "nope.nothing", "amount": "-5", "cost": "a lot",
        "currency": "zl", "custom": {"printing_signed_order": "maybe"}})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert errors["amount"] == "Enter an amount from 0 to 999 999 999 999,99."
    assert errors["cost"] == "Enter an amount, such as 12500,50."
    assert errors["currency"] == "Enter a three-letter currency code, such as PLN."
    unknown = staff.rep("post", "/cases/", json={"title": "X", "process_key": "nope.nothing",
                                                 "custom": {"printing_signed_order": "maybe"}})
    assert {"process_key", "custom.printing_signed_order"} <= \
        unknown.get_json()["errors"].keys()
    assert count(rt) == 0


@pytest.mark.parametrize("field, value", [("phase_key", "production"), ("version", 7),
                                          ("id", 5), ("created_by_id", 1),
                                          ("phase_entered_at", "2020-01-01T00:00:00Z")])
def test_mass_assignment_is_refused_and_nothing_is_written(staff, rt, field, value):
    response = staff.rep("post", "/cases/", json={"title": "X", "process_key": PROJECT,
                                                  field: value})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count(rt) == 0
    case = open_case(staff.rep, staff.ids["rep"])
    changed = staff.rep("patch", f"/cases/{case['id']}", json={field: value},
                        headers={"If-Match": '"1"'})
    assert changed.status_code == 422 and field in changed.get_json()["errors"]
    read = staff.rep("get", f"/cases/{case['id']}")
    assert read.headers["ETag"] == '"1"' and read.get_json()["phase_key"] == "inquiry"


def test_an_update_needs_the_current_etag(staff):
    case = open_case(staff.rep, staff.ids["rep"], amount="100.00")
    path = f"/cases/{case['id']}"
    assert staff.rep("patch", path, json={"amount": "200"}).status_code == 428
    changed = staff.rep("patch", path, json={"amount": "200"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.get_json()["amount"] == "200.00"
    stale = staff.rep("patch", path, json={"amount": "300"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert staff.rep("get", path).get_json()["amount"] == "200.00"


def test_list_filters_and_pages_by_cursor(staff):
    ids = [open_case(staff.rep, staff.ids["rep"], title=f"Case {i}")["id"] for i in range(3)]
    first = staff.rep("get", "/cases/?limit=2").get_json()
    assert [c["id"] for c in first["items"]] == ids[:2] and first["next"]
    second = staff.rep("get", f"/cases/?limit=2&after={first['next']}").get_json()
    assert [c["id"] for c in second["items"]] == ids[2:] and second["next"] is None
    assert move(staff.rep, {"id": ids[1]}, "calculation").status_code == 200
    in_calculation = staff.rep("get", f"/cases/?process={PROJECT}&phase=calculation")
    assert [c["id"] for c in in_calculation.get_json()["items"]] == [ids[1]]
    assert staff.rep("get", f"/cases/?owner_id={staff.ids['boss']}").get_json()["items"] == []
    assert staff.rep("get", "/cases/?process=other.thing").get_json()["items"] == []
    assert staff.rep("get", "/cases/?after=%%%").status_code == 422


def test_the_list_takes_the_filter_language_and_sorting(staff):
    import json

    for title, amount in (("Ulotki", "900"), ("Billboardy", "145000.50"), ("Baner", "12500")):
        open_case(staff.rep, staff.ids["rep"], title=title, amount=amount)
    spec = json.dumps({"field": "amount", "op": "gte", "value": 1000})
    found = staff.rep("get", "/cases/", query_string={"filter": spec, "sort": "-amount"})
    assert [c["title"] for c in found.get_json()["items"]] == ["Billboardy", "Baner"]
    bad = staff.rep("get", "/cases/", query_string={"filter": json.dumps(
        {"field": "amount) OR 1=1 --", "op": "eq", "value": 1})})
    assert bad.status_code == 422 and "filter.field" in json.dumps(bad.get_json())


def test_delete_moves_the_case_to_the_bin(staff):
    case = open_case(staff.rep, staff.ids["rep"])
    assert staff.rep("delete", f"/cases/{case['id']}").status_code == 204
    assert staff.rep("get", f"/cases/{case['id']}").status_code == 404
    assert staff.rep("get", "/cases/").get_json()["items"] == []


# ------------------------------------------------------------------ moving


def test_a_blocked_move_answers_422_with_the_reasons_as_field_errors(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    moved = move(staff.rep, case, "calculation", etag='"1"', comment="Priced")
    assert moved.status_code == 200, moved.get_json()
    assert moved.headers["ETag"] == '"2"'
    assert moved.get_json()["phase_key"] == "calculation"
    assert moved.get_json()["phase_name"] == "price calculation"

    blocked = move(staff.rep, case, "offer")
    assert blocked.status_code == 422 and blocked.mimetype == "application/problem+json"
    assert list(blocked.get_json()["errors"]) == ["approval"]
    assert "the direct supervisor (Boss)" in blocked.get_json()["errors"]["approval"]
    assert phase_of(rt, case) == "calculation"

    moves = {m["target"]: m for m in staff.rep("get", f"/cases/{case['id']}/moves").get_json()}
    assert set(moves) == {"offer", "lost"}
    assert moves["lost"]["allowed"] and moves["lost"]["blockers"] == {}
    assert not moves["offer"]["allowed"] and "approval" in moves["offer"]["blockers"]

    unknown = move(staff.rep, case, "closed")
    assert unknown.status_code == 422 and "phase" in unknown.get_json()["errors"]


def test_checks_block_a_move_with_their_reasons_in_the_asked_language(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"], amount="100.00")
    assert move(staff.rep, case, "calculation").status_code == 200
    assert move(staff.rep, case, "offer").status_code == 200  # below the approval limit
    blocked = move(staff.rep, case, "order")
    assert blocked.status_code == 422
    errors = blocked.get_json()["errors"]
    assert errors == {
        "check.printing.documents": "Customer service has not confirmed that the "
                                    "registration documents were received."}
    polish = staff.rep("post", f"/cases/{case['id']}/move", json={"target": "order"},
                       headers={"If-Match": blocked.request.headers["If-Match"],
                                "Accept-Language": "pl"})
    assert polish.get_json()["errors"]["check.printing.documents"].startswith(
        "Obsługa klienta nie potwierdziła")
    etag = staff.rep("get", f"/cases/{case['id']}").headers["ETag"]
    with rt.session() as s, s.begin():  # customer service confirms the documents
        staff_role = roles.find(s, "staff")
        roles.set_permissions(s, staff_role, [*roles.permissions_of(s, staff_role),
                                              "printing.confirm_documents"])
    ticked = staff.rep("patch", f"/cases/{case['id']}", headers={"If-Match": etag}, json={
        "custom": {"printing_documents_received": True}})
    assert ticked.status_code == 200, ticked.get_json()
    assert move(staff.rep, case, "order", etag=ticked.headers["ETag"]).status_code == 200
    history = staff.rep("get", f"/cases/{case['id']}/history").get_json()
    assert [(h["from_phase"], h["to_phase"]) for h in history] == [
        (None, "inquiry"), ("inquiry", "calculation"), ("calculation", "offer"),
        ("offer", "order")]
    assert history[-1]["to_name"] == "order" and history[-1]["actor_id"] == staff.ids["rep"]


def test_a_move_needs_the_current_etag(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"])
    path = f"/cases/{case['id']}/move"
    missing = staff.rep("post", path, json={"target": "calculation"})
    assert missing.status_code == 428 and missing.mimetype == "application/problem+json"
    stale = staff.rep("post", path, json={"target": "calculation"},
                      headers={"If-Match": '"7"'})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert phase_of(rt, case) == "inquiry"
    assert move(staff.rep, case, "calculation", etag='"1"').status_code == 200
    again = move(staff.rep, case, "lost", etag='"1"')
    assert again.status_code == 412
    assert phase_of(rt, case) == "calculation"


# ------------------------------------------------------------------ approvals


def test_ask_for_approval_the_supervisor_decides_and_the_move_then_passes(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50", cost="9000")
    assert move(staff.rep, case, "calculation").status_code == 200
    base = f"/cases/{case['id']}/approvals"

    explained = staff.rep("get", f"{base}/explain?target=offer").get_json()
    assert explained["target"] == "offer"
    [level] = explained["required"]
    assert level["approver"]["kind"] == "supervisor" and level["status"] == "missing"
    assert [u["id"] for u in level["users"]] == [staff.ids["boss"]]
    assert "12,500.50" in level["reason"]

    asked = staff.rep("post", base, json={"target": "offer"})
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert request["status"] == "pending" and request["approver_id"] == staff.ids["boss"]
    assert request["values"] == {"amount": "12500.50", "cost": "9000.00", "currency": "PLN"}
    assert staff.rep("post", base, json={"target": "offer"}).status_code == 422  # asked
    waiting = staff.boss("get", "/approvals/").get_json()
    assert [r["id"] for r in waiting] == [request["id"]]

    decided = staff.boss("post", f"/approvals/{request['id']}/decision", json={
        "decision": "approve", "comment": "Fine at this price",
        "corrections": {"amount": "13000.00"}})
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "approved"
    assert decided.get_json()["decided_by_id"] == staff.ids["boss"]
    assert decided.get_json()["values"]["amount"] == "13000.00"

    listed = staff.rep("get", base).get_json()
    assert [(r["status"], r["level"], r["reason"]) for r in listed] == [
        ("approved", 0, request["reason"])]
    after = staff.rep("get", f"{base}/explain?target=offer").get_json()
    assert after["required"][0]["status"] == "approved"
    moved = move(staff.rep, case, "offer", comment="Sent to the client")
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["phase_key"] == "offer" and moved.get_json()["amount"] == "13000.00"


def test_an_approval_stops_counting_when_the_amount_changes(staff):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    assert move(staff.rep, case, "calculation").status_code == 200
    request = staff.rep("post", f"/cases/{case['id']}/approvals",
                        json={"target": "offer"}).get_json()
    assert staff.boss("post", f"/approvals/{request['id']}/decision",
                      json={"decision": "approve"}).status_code == 200
    etag = staff.rep("get", f"/cases/{case['id']}").headers["ETag"]
    assert staff.rep("patch", f"/cases/{case['id']}", json={"amount": "15000"},
                     headers={"If-Match": etag}).status_code == 200
    blocked = move(staff.rep, case, "offer")
    assert blocked.status_code == 422 and "approval" in blocked.get_json()["errors"]
    assert [r["status"] for r in staff.rep("get", f"/cases/{case['id']}/approvals")
            .get_json()] == ["superseded"]


def test_self_approval_and_other_peoples_decisions_are_refused_403(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    assert move(staff.rep, case, "calculation").status_code == 200
    request = staff.rep("post", f"/cases/{case['id']}/approvals",
                        json={"target": "offer"}).get_json()
    path = f"/approvals/{request['id']}/decision"
    own = staff.rep("post", path, json={"decision": "approve"})
    assert own.status_code == 403 and own.mimetype == "application/problem+json"
    assert own.get_json()["detail"] == "You cannot approve your own request."
    stranger = staff.colleague("post", path, json={"decision": "approve",
                                                   "corrections": {"amount": "1.00"}})
    assert stranger.status_code == 403
    assert stranger.get_json()["detail"] == "Only the approver can decide."
    with rt.session() as session:
        row = session.get(ApprovalRequest, request["id"])
        assert row.status == "pending" and row.decided_by_id is None
        assert str(session.get(Case, case["id"]).amount) == "12500.50"
    assert move(staff.rep, case, "offer").status_code == 422


def test_a_return_needs_a_reason_and_bad_corrections_are_named(staff):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    assert move(staff.rep, case, "calculation").status_code == 200
    request = staff.rep("post", f"/cases/{case['id']}/approvals",
                        json={"target": "offer"}).get_json()
    path = f"/approvals/{request['id']}/decision"
    silent = staff.boss("post", path, json={"decision": "return"})
    assert silent.status_code == 422 and "comment" in silent.get_json()["errors"]
    bad = staff.boss("post", path, json={"decision": "approve",
                                         "corrections": {"amount": "lots", "phase_key": "x"}})
    assert bad.status_code == 422
    assert {"corrections.amount", "corrections.phase_key"} <= bad.get_json()["errors"].keys()
    assert staff.boss("post", path, json={"decision": "maybe"}).status_code == 422
    returned = staff.boss("post", path, json={"decision": "return", "comment": "Too cheap"})
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert staff.boss("post", path, json={"decision": "approve"}).status_code == 422


# ------------------------------------------------------------------ visibility


def test_a_case_another_user_may_not_see_is_404_on_every_route(staff, rt):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    assert move(staff.rep, case, "calculation").status_code == 200
    request = staff.rep("post", f"/cases/{case['id']}/approvals",
                        json={"target": "offer"}).get_json()
    base = f"/cases/{case['id']}"
    version = {"If-Match": '"2"'}
    answers = [
        staff.seller("get", base),
        staff.seller("patch", base, json={"title": "Mine"}, headers=version),
        staff.seller("delete", base),
        staff.seller("post", f"{base}/move", json={"target": "lost"}, headers=version),
        staff.seller("get", f"{base}/moves"),
        staff.seller("get", f"{base}/history"),
        staff.seller("get", f"{base}/approvals"),
        staff.seller("post", f"{base}/approvals", json={"target": "offer"}),
        staff.seller("get", f"{base}/approvals/explain?target=offer"),
        staff.seller("post", f"/approvals/{request['id']}/decision",
                     json={"decision": "return", "comment": "No"}),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert all(r.mimetype == "application/problem+json" for r in answers)
    assert staff.seller("get", "/cases/").get_json()["items"] == []
    assert phase_of(rt, case) == "calculation"
    own = open_case(staff.seller, staff.ids["seller"], title="My own")
    assert [c["id"] for c in staff.seller("get", "/cases/").get_json()["items"]] == [own["id"]]


# ------------------------------------------------------------------ processes


def test_processes_are_listed_with_phases_checks_approvals_and_settings(staff, rt):
    listed = staff.rep("get", "/processes/")
    assert listed.status_code == 200
    found = {p["key"]: p for p in listed.get_json()}
    assert list(found) == ["printing.complaint", PROJECT]  # the project and its complaints
    process = found[PROJECT]
    assert process["key"] == PROJECT and process["title"] == "Print project"
    assert process["name"] == "project"
    phases = {p["key"]: p for p in process["phases"]}
    assert phases["inquiry"] == {"key": "inquiry", "name": "inquiry", "deadline_days": 2,
                                 "final": False, "term": "printing.inquiry",
                                 "starts": [], "then": None}
    assert phases["closed"]["final"] and phases["closed"]["deadline_days"] is None
    steps = {t["key"]: t for t in process["transitions"]}
    assert [c["title"] for c in steps["offer->order"]["checks"]] == [
        "Calculation approved", "No overdue payments", "Registration documents received"]
    rule = steps["calculation->offer"]["approval"]
    assert rule["kind"] == "threshold" and rule["free_below"] == "approval_from"
    assert [s["approver"]["kind"] for s in rule["steps"]] == ["supervisor", "role", "role"]
    assert steps["inquiry->calculation"]["approval"] is None
    settings = {s["key"]: s for s in process["settings"]}
    assert settings["approval_from"]["value"] == "5000.00"
    assert settings["check.printing.documents"]["value"] is True

    with rt.session() as session, session.begin():
        workflow.change_settings(session, rt.host.processes[PROJECT], {
            "approval_from": "7500", "deadline.inquiry": "5",
            "check.printing.documents": "off"}, actor=None)
    one = staff.rep("get", f"/processes/{PROJECT}", headers={"Accept-Language": "pl"})
    assert one.status_code == 200
    body = one.get_json()
    settings = {s["key"]: s["value"] for s in body["settings"]}
    assert settings["approval_from"] == "7500.00" and settings["deadline.inquiry"] == 5
    assert body["phases"][0]["deadline_days"] == 5 and body["phases"][0]["name"] == "zapytanie"
    order = next(t for t in body["transitions"] if t["key"] == "offer->order")
    assert [(c["title"], c["enabled"]) for c in order["checks"]] == [
        ("Kalkulacja zaakceptowana", True), ("Brak zaległych płatności", True),
        ("Dokumenty rejestrowe otrzymane", False)]
    assert staff.rep("get", "/processes/nothing.here").status_code == 404


# ------------------------------------------------------------------ OpenAPI


def test_the_openapi_document_describes_the_cases_api(staff):
    spec = staff.rep("get", "/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/cases/", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/move",
                 "/api/v1/cases/{case_id}/moves", "/api/v1/cases/{case_id}/history",
                 "/api/v1/cases/{case_id}/approvals",
                 "/api/v1/cases/{case_id}/approvals/explain",
                 "/api/v1/approvals/{request_id}/decision", "/api/v1/processes/",
                 "/api/v1/processes/{key}"):
        assert path in paths, path
    move_op = paths["/api/v1/cases/{case_id}/move"]["post"]
    assert {"200", "412", "422", "428"} <= set(move_op["responses"])
    case = spec["components"]["schemas"]["Case"]["properties"]
    assert case["amount"]["type"] == "string" and case["phase_key"]["readOnly"]
    assert "printing_signed_order" in case["custom"]["properties"]
    assert json.dumps(spec)  # serialisable as it is served
    tags = {t["name"]: t.get("description") for t in spec["tags"]}
    assert tags["cases"] == "Cases"


def test_a_correction_into_a_higher_band_still_needs_that_bands_approver(staff, rt):
    with rt.session() as s, s.begin():
        roles.create(s, "printing_board", "Board")
        roles.assign(s, users.find_by_email(s, "colleague@example.com"),
                     ["staff", "printing_board"])
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    assert move(staff.rep, case, "calculation").status_code == 200
    request = staff.rep("post", f"/cases/{case['id']}/approvals",
                        json={"target": "offer"}).get_json()
    decided = staff.boss("post", f"/approvals/{request['id']}/decision", json={
        "decision": "approve", "corrections": {"amount": "150000.00"}})
    assert decided.status_code == 200, decided.get_json()
    blocked = move(staff.rep, case, "offer")
    assert blocked.status_code == 422
    assert "board member" in blocked.get_json()["errors"]["approval"]
    explained = staff.rep("get", f"/cases/{case['id']}/approvals/explain?target=offer")
    [level] = explained.get_json()["required"]
    assert (level["step_key"], level["status"]) == ("band2", "pending")
    [board] = [r for r in staff.rep("get", f"/cases/{case['id']}/approvals").get_json()
               if r["status"] == "pending"]
    assert board["approver_id"] == staff.ids["colleague"]
    assert staff.colleague("post", f"/approvals/{board['id']}/decision",
                           json={"decision": "approve"}).status_code == 200
    assert move(staff.rep, case, "offer").status_code == 200


def test_a_step_without_approval_is_explained_as_needing_none(staff):
    case = open_case(staff.rep, staff.ids["rep"], amount="12500.50")
    explained = staff.rep("get", f"/cases/{case['id']}/approvals/explain?target=lost")
    assert explained.status_code == 200, explained.get_json()
    assert explained.get_json()["required"] == []
    assert staff.rep("get", f"/cases/{case['id']}/approvals").get_json() == []


def test_a_subprocess_is_opened_under_a_parent_the_caller_may_see_and_change(staff, rt):
    parent = open_case(staff.rep, staff.ids["rep"])
    child = open_case(staff.rep, staff.ids["rep"], title="Die cutting", parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]
    moves = staff.rep("get", f"/cases/{parent['id']}/moves").get_json()
    assert moves[0]["blockers"] == {"subprocesses": "1 subprocess is not finished yet."}
    # A parent the caller may not see, and one they may see but not change.
    theirs = open_case(staff.rep, staff.ids["rep"], title="Rep's own")
    hidden = staff.seller("post", "/cases/", json={
        "title": "Poster", "process_key": PROJECT, "owner_id": staff.ids["seller"],
        "parent_id": theirs["id"]})
    assert hidden.status_code == 422
    assert hidden.get_json()["errors"] == {"parent_id": "Choose a case from the list."}
    with rt.session() as s, s.begin():
        reader = roles.create(s, "case_reader", "Reads every case")
        roles.set_access(s, reader, {("*", "read"): "all", ("*", "create"): "own",
                                     ("*", "edit"): "own"})
        roles.assign(s, s.get(User, staff.ids["seller"]), ["case_reader"])
    refused = staff.seller("post", "/cases/", json={
        "title": "Poster", "process_key": PROJECT, "owner_id": staff.ids["seller"],
        "parent_id": theirs["id"]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"parent_id": "You may not change this case."}
    # A case cannot become a subprocess of itself, nor of one of its own subprocesses.
    for parent_id in (parent["id"], child["id"]):
        etag = staff.rep("get", f"/cases/{parent['id']}").headers["ETag"]
        looped = staff.rep("patch", f"/cases/{parent['id']}", json={"parent_id": parent_id},
                           headers={"If-Match": etag})
        assert looped.status_code == 422
        assert looped.get_json()["errors"] == {
            "parent_id": "A case cannot be a subprocess of itself."}
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 3
        assert s.get(Case, parent["id"]).parent_id is None

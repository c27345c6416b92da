"""The staff pages of cases: processes, the board, the card with its moves and approvals,
the form, the administrators' process settings and diagram, and the org chart."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core import cases, diagram, roles, users, workflow
from core.db import utcnow
from core.models import ApprovalRequest, Case, PhaseChange, Task, User
from core.testing import ADMIN_PASSWORD
from core.workflow import Phase, Process, Transition
from page_helpers import add_org, count, fetch, flashes, show, text, visible, writing

PASSWORD = ADMIN_PASSWORD
STALE = ("The record was changed by someone else meanwhile; "
         "reload it and apply your change again.")
DOCUMENTS = ("Customer service has not confirmed that the registration documents were "
             "received.")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


# --------------------------------------------------------------------- helpers


def staff(app, email, name, supervisor=None, role_keys=("staff",)) -> int:
    """A staff account with a password, perhaps answering to ``supervisor`` (an id)."""
    with writing(app) as (session, _admin):
        user = users.create_user(session, email, PASSWORD, name, roles=list(role_keys))
        user.supervisor_id = supervisor
        return user.id


def team(app) -> tuple[int, int]:
    """A sales rep and the boss they answer to."""
    boss = staff(app, "boss@example.com", "Barbara Boss")
    return boss, staff(app, "rep@example.com", "Robert Rep", supervisor=boss)


def login(app, kartoteka_login, email):
    return kartoteka_login(app.test_client(), email, PASSWORD)


def add_case(app, title, owner_id, amount=None, phases=(), **fields) -> int:
    """A printing project owned (and opened) by ``owner_id``, moved through ``phases``."""
    rt = app.extensions["kartoteka"]
    with writing(app) as (session, _admin):
        owner = session.get(User, owner_id)
        data = {"title": title, "process_key": "printing.project", "owner_id": owner_id,
                **({"amount": amount} if amount is not None else {}), **fields}
        case = cases.create(session, rt.host, data, actor=owner)
        for phase in phases:
            workflow.move(session, rt.host, case, phase, actor=owner)
        return case.id


def phase_of(app, case_id) -> str:
    return fetch(app, Case, case_id).phase_key


def columns(page: str) -> dict[str, tuple[int, list[str]]]:
    """The board's columns by phase key: the count shown and the cards' titles."""
    found = {}
    for key, body in re.findall(r'<section class="board-column[^"]*" data-phase="([^"]+)"'
                                r'(.*?)</section>', page, re.S):
        shown = int(re.search(r'<span class="count">(\d+)</span>', body).group(1))
        found[key] = (shown, re.findall(r'<a class="title" href="/cases/\d+">(.*?)</a>', body))
    return found


def card_of(page: str, title: str) -> str:
    found = re.search(rf'<li class="case-card[^"]*"[^>]*data-title="{re.escape(title)}"'
                      r'.*?</li>', page, re.S)
    assert found, f"no card {title}"
    return visible(found.group(0))


def moves_on(page: str) -> dict[str, tuple[bool, list[str]]]:
    """The card's move buttons by target: (enabled, the reasons listed under it)."""
    found = {}
    for target, body in re.findall(r'<li class="move[^"]*" data-target="([^"]+)">(.*?)</li>\s*'
                                   r'(?=<li class="move|</ul>\s*<p class="field">)',
                                   page, re.S):
        button = re.search(r"<button[^>]*>", body).group(0)
        found[target] = ("disabled" not in button,
                         [visible(r) for r in re.findall(r'<li data-blocker="[^"]+">(.*?)</li>',
                                                         body, re.S)])
    return found


def history_rows(page: str) -> list[list[str]]:
    table = re.search(r'<table class="list phase-history">.*?<tbody>(.*?)</tbody>', page, re.S)
    return [[visible(td) for td in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]


def error_under(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-{re.escape(name)}">(.*?)</span>', page, re.S)
    return found.group(1) if found else None


def request_rows(page: str) -> list[str]:
    return [visible(row) for row in re.findall(
        r'<tr id="request-\d+" class="status-\w+">(.*?)</tr>', page, re.S)]


def requests_of(app, case_id) -> list[ApprovalRequest]:
    with app.extensions["kartoteka"].session() as session:
        found = session.scalars(select(ApprovalRequest).where(ApprovalRequest.case_id == case_id)
                                .order_by(ApprovalRequest.id)).all()
        session.expunge_all()
        return list(found)


# --------------------------------------------------------------------- processes and boards


def test_the_cases_page_lists_each_process_with_counts_per_phase(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    add_case(app, "Banner", owner)
    add_case(app, "Roll-up", owner, phases=["calculation"])
    page = show(client, "/cases/")
    section = re.search(r'<section class="card process" id="process-printing.project">(.*?)'
                        r"</section>", page, re.S).group(1)
    assert 'href="/cases/board/printing.project"' in section
    assert "Print project" in section
    assert "Inquiry 1" in visible(section) and "Price calculation 1" in visible(section)
    assert "Offer 0" in visible(section)
    assert 'href="/cases/"' in page  # in the navigation


def test_the_board_shows_the_visible_cases_in_their_phase_columns(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    org = add_org(app, "Drukarnia Poznań", type_key="core.company")
    add_case(app, "Banner", owner, amount="1200", organisation_id=org)
    late = add_case(app, "Roll-up", owner, amount="800", phases=["calculation"])
    add_case(app, "Poster", owner, amount="300", phases=["lost"])
    with writing(app) as (session, _admin):
        session.execute(update(Case).where(Case.id == late)
                        .values(phase_entered_at=utcnow() - timedelta(days=5)))
    page = show(client, "/cases/board/printing.project")
    found = columns(page)
    assert list(found) == ["inquiry", "calculation", "offer", "order", "production",
                           "delivery", "closed", "lost"]
    assert found["inquiry"] == (1, ["Banner"])
    assert found["calculation"] == (1, ["Roll-up"])
    assert found["lost"] == (1, ["Poster"])
    assert found["offer"] == (0, [])
    banner = card_of(page, "Banner")
    assert "Drukarnia Poznań" in banner and "Robert Rep" in banner and "1,200.00" in banner
    assert "overdue" not in banner
    assert "overdue since" in card_of(page, "Roll-up")  # three days are allowed there
    assert 'data-csrf="' in page and "core/board.js" in page
    assert client.get("/cases/board/nope.nothing").status_code == 404


def test_a_drag_to_a_blocked_phase_is_refused_with_the_reasons_and_the_case_stays(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200", phases=["calculation", "offer"])
    version = fetch(app, Case, case_id).version
    response = client.post(f"/cases/{case_id}/move", json={"target": "order",
                                                           "version": version},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["ok"] is False
    assert set(answer["errors"].values()) == {DOCUMENTS}
    assert answer["phase"] == "offer"
    assert phase_of(app, case_id) == "offer"
    assert count(app, PhaseChange, PhaseChange.case_id == case_id) == 3
    # A step the process does not have, and a move on stale data, are refused the same way.
    answer = client.post(f"/cases/{case_id}/move", json={"target": "closed"}).get_json()
    assert answer["ok"] is False
    assert "cannot go from “offer” to “closed”" in answer["errors"]["phase"]
    answer = client.post(f"/cases/{case_id}/move", json={"target": "lost",
                                                         "version": version - 1}).get_json()
    assert answer == {"ok": False, "errors": {"version": STALE}, "phase": "offer",
                      "phase_name": "offer", "version": version}
    assert phase_of(app, case_id) == "offer"
    assert columns(show(client, "/cases/board/printing.project"))["offer"] == (1, ["Banner"])


def test_a_drag_that_passes_moves_the_card_and_answers_with_the_new_version(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200")
    version = fetch(app, Case, case_id).version
    response = client.post(f"/cases/{case_id}/move", json={"target": "calculation",
                                                           "version": version})
    answer = response.get_json()
    assert response.status_code == 200 and answer["ok"] is True and answer["errors"] == {}
    assert answer["phase"] == "calculation" and answer["version"] > version
    found = columns(show(client, "/cases/board/printing.project"))
    assert found["inquiry"] == (0, []) and found["calculation"] == (1, ["Banner"])


def test_a_move_from_the_card_records_the_step_in_the_history(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200")
    version = fetch(app, Case, case_id).version
    response = client.post(f"/cases/{case_id}/move", data={
        "target": "calculation", "comment": "Sizes confirmed by phone", "version": version})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case_id}"
    page = show(client, f"/cases/{case_id}")
    assert "Moved to “price calculation”." in flashes(page)
    rows = history_rows(page)
    assert [r[:3] for r in rows] == [["", "Inquiry", "Robert Rep"],
                                     ["Inquiry", "Price calculation", "admin@example.com"]]
    assert rows[-1][4] == "Sizes confirmed by phone"
    assert phase_of(app, case_id) == "calculation"


def test_the_card_lists_what_blocks_each_step_before_the_click(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200", phases=["calculation", "offer"])
    page = show(client, f"/cases/{case_id}")
    found = moves_on(page)
    assert found["calculation"] == (True, [])
    assert found["lost"] == (True, [])
    assert found["order"] == (False, [DOCUMENTS])
    assert 'disabled aria-describedby="why-order"' in page
    # Ticking the confirmation clears the way; the button is enabled then.
    with writing(app) as (session, admin):
        cases.update(session, app.extensions["kartoteka"].host, session.get(Case, case_id),
                     {"custom": {"printing_documents_received": True}}, actor=admin)
    assert moves_on(show(client, f"/cases/{case_id}"))["order"] == (True, [])


def test_a_refused_move_from_the_card_shows_the_reasons_and_keeps_the_comment(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200", phases=["calculation", "offer"])
    response = client.post(f"/cases/{case_id}/move", data={
        "target": "order", "comment": "The client called", "version": "1"})
    page = text(response)
    assert response.status_code == 200
    errors = re.search(r'<div class="flash error move-errors" role="alert">(.*?)</div>', page,
                       re.S).group(1)
    assert STALE in errors or DOCUMENTS in errors
    assert ">The client called</textarea>" in page
    assert phase_of(app, case_id) == "offer"


# --------------------------------------------------------------------- approvals


def test_approval_is_explained_asked_for_and_approved_through_the_pages(app, kartoteka_login):
    boss, rep = team(app)
    case_id = add_case(app, "Banner", rep, amount="12500", phases=["calculation"])
    as_rep, as_boss = (login(app, kartoteka_login, e) for e in ("rep@example.com",
                                                                "boss@example.com"))
    page = show(as_rep, f"/cases/{case_id}")
    step = re.search(r'<div class="approval-step" data-target="offer">(.*?)</div>', page,
                     re.S).group(1)
    assert "the direct supervisor (Barbara Boss)" in visible(step)
    assert "PLN12,500.00 is at least PLN5,000.00 and below PLN20,000.00" in visible(step)
    offer = moves_on(page)["offer"]
    assert offer[0] is False and "It needs approval: the direct supervisor" in offer[1][0]
    response = as_rep.post(f"/cases/{case_id}/approvals", data={"target": "offer"})
    assert response.headers["Location"] == f"/cases/{case_id}"
    page = show(as_rep, f"/cases/{case_id}")
    assert "Approval asked of Barbara Boss." in flashes(page)
    assert "Ask for approval" not in page  # asked once; waiting now
    assert "waiting" in request_rows(page)[0]
    assert "decide-" not in page  # the rep does not decide their own request
    # The boss finds it on the start page and on their list, and approves it there.
    home = show(as_boss, "/")
    assert 'class="card waiting-approvals"' in home and "Banner" in home
    waiting = show(as_boss, "/cases/approvals")
    assert "Banner" in waiting and "price calculation → offer" in visible(waiting)
    req = requests_of(app, case_id)[0]
    response = as_boss.post(f"/cases/approvals/{req.id}/decide", data={
        "decision": "approve", "comment": "Fine", "back": "/cases/approvals"})
    assert response.headers["Location"] == "/cases/approvals"
    assert "Nothing is waiting for you." in show(as_boss, "/cases/approvals")
    assert requests_of(app, case_id)[0].status == "approved"
    page = show(as_rep, f"/cases/{case_id}")
    assert "approved" in request_rows(page)[0] and "Barbara Boss" in request_rows(page)[0]
    assert moves_on(page)["offer"] == (True, [])
    as_rep.post(f"/cases/{case_id}/move", data={"target": "offer"})
    assert phase_of(app, case_id) == "offer"


def test_a_return_needs_a_reason_and_gives_the_author_a_task(app, kartoteka_login):
    boss, rep = team(app)
    case_id = add_case(app, "Banner", rep, amount="12500", phases=["calculation"])
    as_rep, as_boss = (login(app, kartoteka_login, e) for e in ("rep@example.com",
                                                                "boss@example.com"))
    as_rep.post(f"/cases/{case_id}/approvals", data={"target": "offer"})
    req = requests_of(app, case_id)[0]
    page = show(as_boss, f"/cases/{case_id}")
    assert f'id="decide-{req.id}"' in page
    as_boss.post(f"/cases/approvals/{req.id}/decide", data={"decision": "return",
                                                            "comment": "  "})
    page = show(as_boss, f"/cases/{case_id}")
    assert "Reason: Say why you are returning it." in flashes(page)
    assert requests_of(app, case_id)[0].status == "pending"
    as_boss.post(f"/cases/approvals/{req.id}/decide", data={
        "decision": "return", "comment": "The price is too low for this size"})
    assert requests_of(app, case_id)[0].status == "returned"
    page = show(as_rep, f"/cases/{case_id}")
    assert "The price is too low for this size" in request_rows(page)[0]
    assert count(app, Task, Task.assignee_id == rep, Task.title == "Returned: Banner") == 1
    assert "Returned: Banner" in show(as_rep, "/")  # at the head of the next steps
    assert "Ask for approval" in page  # it can be asked again


def test_a_correction_is_stored_and_approved_and_a_bad_one_is_refused(app, kartoteka_login):
    boss, rep = team(app)
    case_id = add_case(app, "Banner", rep, amount="12500", phases=["calculation"],
                       cost="9000")
    as_rep, as_boss = (login(app, kartoteka_login, e) for e in ("rep@example.com",
                                                                "boss@example.com"))
    as_rep.post(f"/cases/{case_id}/approvals", data={"target": "offer"})
    req = requests_of(app, case_id)[0]
    as_boss.post(f"/cases/approvals/{req.id}/decide", data={
        "decision": "correct", "amount": "a lot", "cost": "9000"})
    assert "Amount: Enter an amount, such as 12500,50." in flashes(show(as_boss, "/"))
    assert fetch(app, Case, case_id).amount == Decimal("12500.00")
    as_boss.post(f"/cases/approvals/{req.id}/decide", data={
        "decision": "correct", "amount": "13 800,00", "cost": "9000",
        "comment": "Priced with the new ink"})
    case = fetch(app, Case, case_id)
    assert case.amount == Decimal("13800.00")
    assert requests_of(app, case_id)[0].status == "approved"
    page = show(as_rep, f"/cases/{case_id}")
    assert "13,800.00" in page
    assert moves_on(page)["offer"] == (True, [])


def test_only_the_approver_decides_and_others_do_not_see_the_request(app, kartoteka_login):
    boss, rep = team(app)
    staff(app, "other@example.com", "Olga Other")
    case_id = add_case(app, "Banner", rep, amount="12500", phases=["calculation"])
    as_rep = login(app, kartoteka_login, "rep@example.com")
    as_rep.post(f"/cases/{case_id}/approvals", data={"target": "offer"})
    req = requests_of(app, case_id)[0]
    as_other = login(app, kartoteka_login, "other@example.com")
    as_other.post(f"/cases/approvals/{req.id}/decide", data={"decision": "approve"},
                  headers={"Referer": "http://localhost/"})
    assert "Only the approver can decide." in flashes(show(as_other, f"/cases/{case_id}"))
    as_rep.post(f"/cases/approvals/{req.id}/decide", data={"decision": "approve"})
    assert "You cannot approve your own request." in flashes(show(as_rep, f"/cases/{case_id}"))
    assert requests_of(app, case_id)[0].status == "pending"
    assert as_rep.post("/cases/approvals/999999/decide", data={}).status_code == 404


# --------------------------------------------------------------------- the form


def test_a_case_is_added_with_custom_fields_and_edited(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    org = add_org(app, "Drukarnia Poznań", type_key="core.company")
    page = show(client, "/cases/new?process=printing.project")
    assert 'name="custom.printing_signed_order"' in page
    assert '<option value="printing.project" selected>' in page
    response = client.post("/cases/new", data={
        "process_key": "printing.project", "title": "Banner 3x1", "organisation_id": str(org),
        "owner_id": str(owner), "amount": "12 500,50", "cost": "9000", "currency": "PLN",
        "description": "Mesh, eyelets", "custom.printing_signed_order": "true"})
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case = fetch(app, Case, case_id)
    assert (case.title, case.amount, case.cost, case.organisation_id, case.owner_id) == (
        "Banner 3x1", Decimal("12500.50"), Decimal("9000.00"), org, owner)
    assert case.custom["printing_signed_order"] is True and case.phase_key == "inquiry"
    page = show(client, f"/cases/{case_id}")
    assert "12,500.50" in page and "Drukarnia Poznań" in page and "28%" in page
    response = client.post(f"/cases/{case_id}/edit", data={
        "title": "Banner 4x1", "amount": "14000", "cost": "9000", "currency": "PLN",
        "organisation_id": str(org), "owner_id": str(owner), "description": "",
        "version": str(case.version)})
    assert response.status_code == 302
    assert fetch(app, Case, case_id).title == "Banner 4x1"


def test_bad_input_is_shown_next_to_the_fields_and_nothing_is_added(app, client):
    page = show(client, "/cases/new?process=nope.nothing")
    assert error_under(page, "process_key") == "Choose a process from the list."
    response = client.post("/cases/new", data={
        "process_key": "nope.nothing", "title": " ", "amount": "lots", "cost": "-5",
        "currency": "zloty", "organisation_id": "999999", "owner_id": "abc"})
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "process_key") == "Choose a process from the list."
    assert error_under(page, "title") == "Enter a title."
    assert error_under(page, "amount") == "Enter an amount, such as 12500,50."
    assert error_under(page, "cost") == "Enter an amount from 0 to 999 999 999 999,99."
    assert error_under(page, "currency") == "Enter a three-letter currency code, such as PLN."
    assert error_under(page, "organisation_id")
    assert error_under(page, "owner_id")
    assert 'value="lots"' in page  # what was typed stays
    assert count(app, Case) == 0


def test_a_stale_edit_is_refused_and_what_was_typed_is_kept(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200")
    old = fetch(app, Case, case_id).version
    with writing(app) as (session, admin):
        cases.update(session, app.extensions["kartoteka"].host, session.get(Case, case_id),
                     {"amount": "1500"}, actor=admin)
    response = client.post(f"/cases/{case_id}/edit", data={
        "title": "Banner, bigger", "amount": "1800", "cost": "", "currency": "PLN",
        "owner_id": str(owner), "organisation_id": "", "description": "Typed with care",
        "version": str(old)})
    page = text(response)
    assert response.status_code == 200 and STALE in page
    assert 'value="Banner, bigger"' in page and "Typed with care</textarea>" in page
    stored = re.search(r'<div class="card warning stale" role="alert">(.*?)</div>', page,
                       re.S).group(1)
    assert "1500.00" in visible(stored)
    new = fetch(app, Case, case_id).version
    assert f'name="version" value="{new}"' in page
    assert fetch(app, Case, case_id).title == "Banner"
    client.post(f"/cases/{case_id}/edit", data={
        "title": "Banner, bigger", "amount": "1800", "currency": "PLN",
        "owner_id": str(owner), "version": str(new)})
    assert fetch(app, Case, case_id).amount == Decimal("1800.00")


def test_a_copy_starts_again_in_the_first_phase(app, client):
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Banner", owner, amount="1200", phases=["calculation"])
    response = client.post(f"/cases/{case_id}/copy")
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert copy_id != case_id
    copied = fetch(app, Case, copy_id)
    assert (copied.title, copied.phase_key, copied.amount) == (
        "Copy of Banner", "inquiry", Decimal("1200.00"))


# --------------------------------------------------------------------- access


def test_a_user_without_access_to_a_case_gets_not_found(app, kartoteka_login):
    boss, rep = team(app)
    with writing(app) as (session, admin):
        role = roles.create(session, "own_cases", "Own cases only", actor=admin)
        roles.set_access(session, role, {("*", a): "own" for a in
                                         ("read", "create", "edit", "delete", "export")})
    staff(app, "other@example.com", "Olga Other", role_keys=("own_cases",))
    case_id = add_case(app, "Banner", rep, amount="1200")
    mine = add_case(app, "Olga's poster", rep, amount="100")
    with writing(app) as (session, _admin):
        session.get(Case, mine).owner_id = session.scalar(
            select(User.id).where(User.email == "other@example.com"))
    as_other = login(app, kartoteka_login, "other@example.com")
    assert as_other.get(f"/cases/{case_id}").status_code == 404
    assert as_other.get(f"/cases/{case_id}/edit").status_code == 404
    assert as_other.post(f"/cases/{case_id}/move", json={"target": "lost"}).status_code == 404
    assert as_other.post(f"/cases/{case_id}/approvals", data={"target": "x"}).status_code == 404
    assert as_other.post(f"/cases/{case_id}/copy").status_code == 404
    assert phase_of(app, case_id) == "inquiry"
    found = columns(show(as_other, "/cases/board/printing.project"))
    assert found["inquiry"] == (1, ["Olga's poster"])
    assert as_other.get(f"/cases/{mine}").status_code == 200
    assert as_other.get("/admin/processes/").status_code == 403


def test_a_step_needing_a_permission_is_shown_blocked_to_those_without_it(app, kartoteka_login):
    _boss, rep = team(app)
    case_id = add_case(app, "Banner", rep, amount="1200", phases=["calculation", "offer"])
    with writing(app) as (session, admin):  # customer service confirmed the documents
        case = session.get(Case, case_id)
        cases.update(session, app.extensions["kartoteka"].host, case,
                     {"custom": {"printing_documents_received": True}}, actor=admin)
        workflow.move(session, app.extensions["kartoteka"].host, session.get(Case, case_id),
                      "order", actor=None)
    as_rep = login(app, kartoteka_login, "rep@example.com")
    found = moves_on(show(as_rep, f"/cases/{case_id}"))
    assert found["production"][0] is False
    assert "You may not take this step." in found["production"][1]
    response = as_rep.post(f"/cases/{case_id}/move", json={"target": "production"})
    assert response.status_code == 422
    assert "You may not take this step." in response.get_json()["errors"].values()


# --------------------------------------------------------------------- administration


def test_the_settings_form_refuses_a_bad_amount_and_stores_a_good_one(app, client, rt):
    page = show(client, "/admin/processes/")
    assert 'href="/admin/processes/printing.project"' in page
    assert 'href="/admin/processes/"' in page  # in the navigation
    url = "/admin/processes/printing.project"
    page = show(client, url)
    assert 'name="approval_from" value="5000.00"' in page
    response = client.post(url, data={"approval_from": "a lot", "deadline.offer": "21"})
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "approval_from") == "Enter an amount, such as 12500 or 12500,50."
    assert 'name="approval_from" value="a lot"' in page
    with rt.session() as session:
        values = workflow.settings(session, rt.host.processes["printing.project"])
        assert values["approval_from"] == Decimal("5000.00") and values["deadline.offer"] == 14
    response = client.post(url, data={"approval_from": "7 000,00", "deadline.offer": "21",
                                      "check.printing.documents": ["0"]})
    assert response.status_code == 302
    with rt.session() as session:
        values = workflow.settings(session, rt.host.processes["printing.project"])
    assert values["approval_from"] == Decimal("7000.00")
    assert values["deadline.offer"] == 21 and values["check.printing.documents"] is False
    assert 'name="approval_from" value="7000.00"' in show(client, url)
    assert client.get("/admin/processes/nope.nothing").status_code == 404


def test_the_diagram_draws_every_phase_the_approval_and_the_final_phases(app, client, rt):
    process = rt.host.processes["printing.project"]
    with app.test_request_context():
        picture = diagram.svg(process, "en", processes=rt.host.processes,
                              permissions=rt.host.permissions)
    assert picture.startswith("<svg") and picture.endswith("</svg>")
    for name in ("inquiry", "price calculation", "offer", "order", "production", "delivery",
                 "closed", "lost"):
        assert f">{name}</text>" in picture
    assert "approval by amount" in picture and "the direct supervisor" in picture
    assert "sales director" in picture and "board member" in picture
    assert ("checks: Calculation approved; No overdue payments; Registration documents "
            "received (optional)") in picture
    assert "permission: Run production" in picture
    assert picture.count('class="phase final"') == 2
    assert picture.count('class="transition"') == len(process.transitions)
    page = show(client, "/admin/processes/printing.project")
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="process-diagram"' in page


def test_the_diagram_escapes_texts_and_notes_subprocesses():
    child = Process("x.child", "core.case", (Phase("open", "core.case"),
                                             Phase("done", "core.phase", final=True)),
                    (Transition("open", "done"),), title={"en": "Child <b>"})
    parent = Process("x.parent", "core.case",
                     (Phase("start", "core.case", starts=("x.child",), then="end"),
                      Phase("end", "core.phase", final=True)),
                     (), title={"en": "Parent & <script>"})
    picture = diagram.svg(parent, "en", processes={"x.child": child})
    assert "<script>" not in picture and "Parent &amp; &lt;script&gt;" in picture
    assert "starts: Child &lt;b&gt;" in picture
    assert "then: phase" in picture
    assert "by itself once every subprocess is finished" in picture


# --------------------------------------------------------------------- the org chart


def test_a_supervisor_is_chosen_shown_and_a_circle_refused(app, client, rt):
    boss, rep = team(app)
    page = show(client, f"/admin/users/{rep}")
    assert f'<option value="{boss}" selected>Barbara Boss</option>' in page
    assert f'<option value="{rep}"' not in page  # not the account itself
    accounts = show(client, "/admin/users/")
    row = re.search(rf'<tr id="account-{rep}".*?</tr>', accounts, re.S).group(0)
    assert '<td class="supervisor">Barbara Boss</td>' in row
    form = {"full_name": "Barbara Boss", "roles": ["staff"]}
    page = text(client.post(f"/admin/users/{boss}", data={**form, "supervisor_id": str(rep)}))
    assert "would make a circle" in error_under(page, "supervisor_id")
    page = text(client.post(f"/admin/users/{boss}", data={**form, "supervisor_id": str(boss)}))
    assert error_under(page, "supervisor_id") == "An account cannot be its own supervisor."
    page = text(client.post(f"/admin/users/{boss}", data={**form, "supervisor_id": "x"}))
    assert error_under(page, "supervisor_id") == "Choose an account from the list."
    assert fetch(app, User, boss).supervisor_id is None
    chief = staff(app, "chief@example.com", "Celina Chief")
    response = client.post(f"/admin/users/{boss}", data={**form, "supervisor_id": str(chief)})
    assert response.status_code == 302
    assert fetch(app, User, boss).supervisor_id == chief
    response = client.post(f"/admin/users/{chief}", data={"full_name": "Celina Chief",
                                                           "roles": ["staff"],
                                                           "supervisor_id": str(rep)})
    assert "would make a circle" in error_under(text(response), "supervisor_id")
    assert fetch(app, User, chief).supervisor_id is None


def test_the_pages_name_processes_and_phases_in_the_installations_language(
        kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory(["printing"])  # Polish by default
    client = kartoteka_login(app.test_client())
    owner = staff(app, "rep@example.com", "Robert Rep")
    case_id = add_case(app, "Baner", owner, amount="1200", phases=["calculation"])
    board = show(client, "/cases/board/printing.project")
    assert "Projekt druku" in board and "Kalkulacja" in board and "Zapytanie" in board
    assert ">Sprawy</a>" in board  # the navigation
    card = show(client, f"/cases/{case_id}")
    assert "Oferta" in card and "Baner" in card
    page = show(client, "/admin/processes/printing.project")
    assert ">kalkulacja</text>" in page and "akceptacja" in page


def test_a_task_and_a_file_are_added_on_the_case_card(app, client, rt):
    with rt.session() as s, s.begin():
        case = cases.create(s, rt.host, {"title": "Baner", "process_key": "printing.project"})
    added = client.post("/tasks/new", data={"title": "Zadzwonić do klienta", "record_type":
                                            "case", "record_id": str(case.id)},
                        headers={"Referer": f"/cases/{case.id}"})
    assert added.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Zadzwonić do klienta" in page
    sent = client.post(f"/attachments/case/{case.id}", data={
        "file": (io.BytesIO(b"%PDF-1.4 offer"), "oferta.pdf")},
        content_type="multipart/form-data")
    assert sent.status_code == 302
    assert "oferta.pdf" in client.get(f"/cases/{case.id}").get_data(as_text=True)


# --------------------------------------------------------------------- subprocesses by hand


def start_form_error(page: str, name: str) -> str | None:
    found = re.search(r'<details class="start-subprocess" open>(.*?)</details>', page, re.S)
    return error_under(found.group(1), name) if found else None


def test_a_subprocess_started_by_hand_is_listed_and_holds_the_parent(app, client):
    boss, rep = team(app)
    org = add_org(app, "Drukarnia Krzak")
    parent = add_case(app, "Banners", rep, organisation_id=org)
    page = show(client, f"/cases/{parent}")
    assert '<details class="start-subprocess">' in page
    response = client.post(f"/cases/{parent}/subprocesses", data={
        "process_key": "printing.project", "title": "Die cutting", "owner_id": str(boss)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{parent}#subprocesses")
    page = show(client, f"/cases/{parent}")
    assert "Started: Die cutting." in flashes(page)
    children = re.search(r'<ul class="children">(.*?)</ul>', page, re.S).group(1)
    with writing(app) as (session, _admin):
        child = session.scalar(select(Case).where(Case.title == "Die cutting"))
        child_id, values = child.id, (child.parent_id, child.owner_id, child.organisation_id,
                                      child.phase_key)
    assert values == (parent, boss, org, "inquiry")
    assert f'href="/cases/{child_id}">Die cutting</a>' in children
    assert moves_on(page)["calculation"] == (False, ["1 subprocess is not finished yet."])
    assert f'href="/cases/{parent}">Banners</a>' in show(client, f"/cases/{child_id}")
    client.post(f"/cases/{child_id}/move", data={"target": "lost"})
    assert moves_on(show(client, f"/cases/{parent}"))["calculation"] == (True, [])


def test_a_subprocess_whose_process_is_gone_does_not_hold_the_parent(app, client):
    _boss, rep = team(app)
    parent = add_case(app, "Banners", rep)
    client.post(f"/cases/{parent}/subprocesses", data={
        "process_key": "printing.project", "title": "Die cutting", "owner_id": ""})
    assert moves_on(show(client, f"/cases/{parent}"))["calculation"][0] is False
    with writing(app) as (session, _admin):  # as when its plugin is switched off
        session.scalar(select(Case).where(Case.title == "Die cutting")).process_key = "gone.x"
    assert moves_on(show(client, f"/cases/{parent}"))["calculation"] == (True, [])


def test_a_refused_subprocess_shows_the_reasons_next_to_the_fields(app, client):
    _boss, rep = team(app)
    parent = add_case(app, "Banners", rep)
    before = count(app, Case)
    page = text(client.post(f"/cases/{parent}/subprocesses", data={
        "process_key": "nothing.here", "title": "  ", "owner_id": "12345"}))
    assert start_form_error(page, "process_key") == "Choose a process from the list."
    assert start_form_error(page, "title") == "Enter a title."
    assert start_form_error(page, "owner_id") == "Choose an active staff member."
    page = text(client.post(f"/cases/{parent}/subprocesses", data={
        "process_key": "printing.project", "title": "Die cutting", "owner_id": "12345"}))
    assert re.search(r'<input id="f-title" name="title" type="text" value="Die cutting"', page)
    assert start_form_error(page, "title") is None
    assert count(app, Case) == before


def test_without_the_right_to_edit_the_case_no_subprocess_is_started(app, kartoteka_login):
    _boss, rep = team(app)
    with writing(app) as (session, admin):
        role = roles.create(session, "case_reader", "Reads cases", actor=admin)
        roles.set_access(session, role, {("*", "read"): "all"})
    staff(app, "reader@example.com", "Rita Reader", role_keys=("case_reader",))
    parent = add_case(app, "Banners", rep)
    reader = login(app, kartoteka_login, "reader@example.com")
    assert "start-subprocess" not in show(reader, f"/cases/{parent}")
    response = reader.post(f"/cases/{parent}/subprocesses", data={
        "process_key": "printing.project", "title": "Die cutting"})
    assert response.status_code == 403
    assert count(app, Case) == 1


# --------------------------------------------------------------------- the list


def list_rows(page: str) -> list[str]:
    """The list's rows as a reader sees them."""
    body = re.search(r'<table class="list case-list">.*?<tbody>(.*?)</tbody>', page, re.S)
    return [visible(row) for row in re.findall(r'<tr class="(?:open|finished)" id="case-\d+">'
                                               r'(.*?)</tr>', body.group(1), re.S)]


def titles(page: str) -> list[str]:
    return re.findall(r'<tr class="(?:open|finished)" id="case-\d+">\s*<td><a href="/cases/\d+">'
                      r'(.*?)</a>', page)


def test_the_list_filters_by_process_phase_owner_state_and_title(app, client):
    boss, rep = team(app)
    add_case(app, "Banner", rep)
    add_case(app, "Roll-up", rep, phases=["calculation"])
    add_case(app, "Poster", boss, phases=["lost"])
    add_case(app, "Leaflets", boss, phases=["calculation"])
    page = show(client, "/cases/list")
    assert sorted(titles(page)) == ["Banner", "Leaflets", "Poster", "Roll-up"]
    assert re.search(r'<p class="muted list-count" role="status">(.*?)</p>', page).group(1) \
        == "4 cases"
    assert 'href="/cases/board/' not in page.split("<form")[0]  # no process chosen: no board
    one = show(client, "/cases/list?process=printing.project&phase=calculation")
    assert sorted(titles(one)) == ["Leaflets", "Roll-up"]
    assert 'href="/cases/board/printing.project"' in one
    assert sorted(titles(show(client, f"/cases/list?owner={boss}"))) == ["Leaflets", "Poster"]
    assert titles(show(client, "/cases/list?state=finished")) == ["Poster"]
    assert "Poster" not in titles(show(client, "/cases/list?state=open"))
    assert titles(show(client, "/cases/list?q=roll")) == ["Roll-up"]
    row = list_rows(show(client, "/cases/list?q=poster"))[0]
    assert row.startswith("Poster Print project Lost Barbara Boss")


def test_the_list_sorts_by_its_columns_and_goes_page_by_page(app, client, monkeypatch):
    from core.web import case_list

    boss, rep = team(app)
    add_case(app, "Banner", rep, phases=["calculation"])
    add_case(app, "Roll-up", boss)
    add_case(app, "Poster", rep, phases=["calculation", "offer"])
    add_case(app, "Calendar", boss, phases=["lost"])
    assert titles(show(client, "/cases/list?sort=title")) == ["Banner", "Calendar", "Poster",
                                                              "Roll-up"]
    assert titles(show(client, "/cases/list?sort=-title"))[0] == "Roll-up"
    assert titles(show(client, "/cases/list?sort=phase")) == ["Roll-up", "Banner", "Poster",
                                                              "Calendar"]
    assert titles(show(client, "/cases/list?sort=owner")) == ["Roll-up", "Calendar", "Banner",
                                                              "Poster"]
    # Inquiries are due in two days, calculations in three, offers in fourteen; a lost
    # case has no deadline and comes last.
    assert titles(show(client, "/cases/list?sort=deadline")) == ["Roll-up", "Banner",
                                                                 "Poster", "Calendar"]
    with writing(app) as (session, _admin):
        session.execute(update(Case).where(Case.title == "Poster")
                        .values(phase_entered_at=utcnow() - timedelta(days=30)))
    page = show(client, "/cases/list?sort=deadline")
    assert titles(page)[0] == "Poster"
    assert "overdue" in list_rows(page)[0]
    monkeypatch.setattr(case_list, "PAGE", 3)
    first = show(client, "/cases/list?sort=title")
    assert titles(first) == ["Banner", "Calendar", "Poster"]
    following = re.search(r'<a href="(/cases/list\?[^"]*after=[^"]*)">Next page', first)
    assert following, "no link to the next page"
    assert titles(show(client, following.group(1).replace("&amp;", "&"))) == ["Roll-up"]


def test_the_list_shows_only_visible_cases_and_names_bad_filters(app, kartoteka_login, client):
    boss, rep = team(app)
    with writing(app) as (session, admin):
        role = roles.create(session, "own_cases", "Own cases only", actor=admin)
        roles.set_access(session, role, {("*", a): "own" for a in
                                         ("read", "create", "edit", "delete", "export")})
    olga = staff(app, "other@example.com", "Olga Other", role_keys=("own_cases",))
    add_case(app, "Banner", rep)
    add_case(app, "Olga's poster", olga)
    as_other = login(app, kartoteka_login, "other@example.com")
    assert titles(show(as_other, "/cases/list")) == ["Olga's poster"]
    page = show(client, "/cases/list?process=nothing.here&phase=x&owner=abc&state=done&sort=size")
    assert error_under(page, "process") == "Choose a process from the list."
    assert error_under(page, "phase") == "Choose a phase from the list."
    assert error_under(page, "owner") == "Choose an owner from the list."
    assert error_under(page, "state") == "Choose open or finished."
    assert error_under(page, "sort") == "Choose an order from the list."
    assert sorted(titles(page)) == ["Banner", "Olga's poster"]


def test_the_board_and_the_list_lead_to_each_other(app, client):
    board = show(client, "/cases/board/printing.project")
    assert 'href="/cases/list?process=printing.project"' in board
    listing = show(client, "/cases/list?process=printing.project")
    assert 'href="/cases/board/printing.project"' in listing
    index = show(client, "/cases/")
    assert 'href="/cases/list"' in index and 'href="/cases/list?process=printing.project"' in index

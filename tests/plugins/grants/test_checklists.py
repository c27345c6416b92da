"""The checklist of a grant application (GR-3): one item per attachment its call
requires, ticked as ready with one of the application's own files (or none), unticked,
extra items added and removed; the application is not submitted while an item is not
ready (the reason names them) nor after the call's deadline, unless an administrator
switched that check off. Each tick on the application's timeline. Through the service,
the application's card and the REST API, on SQLite and PostgreSQL."""

import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core import attachments, organisations, roles, timeline, users, workflow
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import AuditEntry, Case
from core.permissions import ACTIONS
from plugins.grants import calls, checklists
from plugins.grants.models import ChecklistItem
from plugins.grants.process import APPLICATION
from tests.core.api_helpers import caller
from tests.core.page_helpers import show, visible

PASSWORD = "correct horse battery"
ATTACHMENTS = ["Biznesplan", "Oświadczenie de minimis", "Sprawozdania finansowe"]


def in_days(days: int) -> date:
    return local_today() + timedelta(days=days)


def pdf(body: bytes = b"plan") -> io.BytesIO:
    return io.BytesIO(b"%PDF-1.4\n%" + body + b"\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: an administrator, the consultant who owns the application, a reader
    who may read everything and change nothing; a call open today and the application
    to it with a PDF attached; another application with a file of its own."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        readers = roles.create(session, "readers", "Readers")
        roles.set_access(session, readers, {("*", action): "all" if action == "read" else "none"
                                            for action in ACTIONS})
        admin = users.create_user(session, "admin@example.com", PASSWORD,
                                  full_name="Adam Admin", is_admin=True)
        consultant = _user(session, "consultant@example.com", ["staff"], "Piotr Doradca")
        _user(session, "reader@example.com", ["readers"], "Olga Czyta")
        firm = organisations.create(session, rt.host, {
            "name": "Stolarnia Dąb", "type_key": "core.company"}, admin).id
        other_firm = organisations.create(session, rt.host, {
            "name": "Piekarnia Kłos", "type_key": "core.company"}, admin).id
        call = calls.create(session, {
            "title": "Ścieżka SMART", "opens_on": in_days(-5).isoformat(),
            "deadline": in_days(20).isoformat(), "required_attachments": ATTACHMENTS}, admin)
        case = calls.apply(session, rt.host, call, {"organisation_id": firm}, consultant)
        other = calls.apply(session, rt.host, call, {"organisation_id": other_firm},
                            consultant)
        plan = attachments.store(session, rt.settings, case, "biznesplan.pdf", pdf(),
                                 consultant, "application/pdf")
        foreign = attachments.store(session, rt.settings, other, "cudzy.pdf", pdf(b"x"),
                                    consultant, "application/pdf")
        return {"case": case.id, "other": other.id, "call": call.id, "plan": plan.id,
                "foreign": foreign.id, "consultant": consultant.id}


def _user(session, email, role_keys, name):
    user = users.create_user(session, email, PASSWORD, full_name=name)
    roles.assign(session, user, role_keys)
    return user


@pytest.fixture
def world(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, settings=rt.settings, ids=ids)
        w.case = session.get(Case, ids["case"])
        w.admin = users.find_by_email(session, "admin@example.com")
        w.consultant = users.find_by_email(session, "consultant@example.com")
        w.reader = users.find_by_email(session, "reader@example.com")
        w.items = lambda: checklists.items(session, w.case, w.consultant)
        w.item = lambda name: next(i for i in w.items() if i.name == name)
        yield w


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.errors


def events(world) -> list[tuple[str, str]]:
    return [(a.subject, a.body) for a in reversed(timeline.timeline(world.session, world.case))
            if a.event.startswith("grants.checklist")]


def tick_all(world) -> None:
    for item in world.items():
        checklists.mark_ready(world.session, world.case, item.id, None, world.consultant)


# --- Ticking -----------------------------------------------------------------------------------

def test_an_item_is_ticked_with_a_file_of_the_application_and_unticked(world):
    plan = world.item("Biznesplan")
    checklists.mark_ready(world.session, world.case, plan.id, world.ids["plan"],
                          world.consultant)
    assert (plan.attachment_id, plan.ready_by_id) == (world.ids["plan"], world.consultant.id)
    assert plan.ready_at is not None
    lines = checklists.lines(world.session, world.case, world.reader)
    assert [(line.item.name, line.ready) for line in lines] == [
        ("Biznesplan", True), ("Oświadczenie de minimis", False),
        ("Sprawozdania finansowe", False)]
    assert checklists.progress(lines) == (1, 3)
    checklists.unmark(world.session, world.case, plan.id, world.consultant)
    assert (plan.ready_at, plan.attachment_id) == (None, None)
    assert events(world) == [("Ready: Biznesplan", "biznesplan.pdf"),
                             ("Not ready: Biznesplan", "")]


def test_an_item_may_be_ready_without_a_file_and_ticking_twice_records_once(world):
    item = world.item("Oświadczenie de minimis")
    for _twice in range(2):
        checklists.mark_ready(world.session, world.case, item.id, None, world.consultant)
    assert item.ready_at is not None and item.attachment_id is None
    assert events(world) == [("Ready: Oświadczenie de minimis", "")]


def test_a_file_of_another_case_or_an_unknown_one_is_refused(world):
    item = world.item("Biznesplan")
    message = {"attachment_id": "Choose one of the files attached to this grant application."}
    for attachment_id in (world.ids["foreign"], 999999, 0):
        assert refusal(lambda a=attachment_id: checklists.mark_ready(
            world.session, world.case, item.id, a, world.consultant)) == message
    assert item.ready_at is None
    assert refusal(lambda: checklists.mark_ready(
        world.session, world.case, 999999, None, world.consultant)) == {
        "item_id": "There is no such item on this checklist."}
    foreign_item = checklists.items(world.session, world.session.get(Case, world.ids["other"]))[0]
    assert refusal(lambda: checklists.mark_ready(
        world.session, world.case, foreign_item.id, None, world.consultant)) == {
        "item_id": "There is no such item on this checklist."}


def test_a_ticked_item_whose_file_was_removed_is_not_ready(world):
    item = world.item("Biznesplan")
    checklists.mark_ready(world.session, world.case, item.id, world.ids["plan"],
                          world.consultant)
    attachments.remove(world.session, world.session.get(
        attachments.Attachment, world.ids["plan"]), world.consultant)
    line = checklists.lines(world.session, world.case)[0]
    assert (line.ready, line.file_removed) == (False, True)
    assert "Biznesplan" in checklists.missing(world.session, world.case)["en"]


def test_who_may_not_change_the_application_cannot_tick(world):
    item = world.item("Biznesplan")
    with pytest.raises(Forbidden, match="You cannot change the checklist: you may not change "
                                        "the grant application."):
        checklists.mark_ready(world.session, world.case, item.id, None, world.reader)
    with pytest.raises(Forbidden):
        checklists.add(world.session, world.case, "Pełnomocnictwo", world.reader)
    assert not checklists.may_change(world.session, world.case, world.reader)
    assert [i.name for i in checklists.items(world.session, world.case, world.reader)] \
        == ATTACHMENTS


def test_extra_items_are_added_and_removed_but_the_calls_own_stay(world):
    extra = checklists.add(world.session, world.case, "  Pełnomocnictwo  ", world.consultant)
    assert (extra.name, extra.position) == ("Pełnomocnictwo", 4)
    assert refusal(lambda: checklists.add(world.session, world.case, "pełnomocnictwo",
                                          world.consultant)) == {
        "name": "“pełnomocnictwo” is on the checklist already."}
    assert refusal(lambda: checklists.add(world.session, world.case, " ",
                                          world.consultant)) == {
        "name": "Enter the name of the attachment."}
    assert [line.required for line in checklists.lines(world.session, world.case)] == [
        True, True, True, False]
    assert refusal(lambda: checklists.remove(world.session, world.case,
                                             world.item("Biznesplan").id, world.consultant)) \
        == {"item_id": "Call for proposals requires “Biznesplan”: it stays on the checklist."}
    checklists.remove(world.session, world.case, extra.id, world.consultant)
    assert [i.name for i in world.items()] == ATTACHMENTS
    assert [s for s, _b in events(world)] == ["Added to the checklist: Pełnomocnictwo",
                                              "Removed from the checklist: Pełnomocnictwo"]


def test_every_change_is_in_the_audit_trail(world):
    item = world.item("Biznesplan")
    checklists.mark_ready(world.session, world.case, item.id, world.ids["plan"],
                          world.consultant)
    trail = world.session.execute(select(AuditEntry.action, AuditEntry.actor_id,
                                         AuditEntry.changes).where(
        AuditEntry.record_type == "grants_checklist_items", AuditEntry.record_id == item.id)
        .order_by(AuditEntry.id)).all()
    assert [a for a, _who, _c in trail] == ["create", "update"]
    assert trail[1].actor_id == world.consultant.id
    assert trail[1].changes["attachment_id"] == [None, world.ids["plan"]]


# --- Submitting --------------------------------------------------------------------------------

def test_submitting_is_refused_while_items_are_missing_and_allowed_once_all_are_ready(world):
    checklists.mark_ready(world.session, world.case, world.item("Biznesplan").id,
                          world.ids["plan"], world.consultant)
    assert refusal(lambda: workflow.move(world.session, world.host, world.case, "submitted",
                                         world.consultant)) == {
        "check.grants.checklist": "Attachments not ready: “Oświadczenie de minimis”, "
                                  "“Sprawozdania finansowe”."}
    assert checklists.missing(world.session, world.case)["pl"] == (
        "Załączniki nie są gotowe: „Oświadczenie de minimis”, „Sprawozdania finansowe”.")
    tick_all(world)
    workflow.move(world.session, world.host, world.case, "submitted", world.consultant)
    assert world.case.phase_key == "submitted"


def test_after_the_calls_deadline_it_is_not_submitted_unless_the_check_is_off(world):
    tick_all(world)
    call = calls.of_case(world.session, world.case)
    calls.update(world.session, call, {"opens_on": in_days(-30).isoformat(),
                                       "deadline": in_days(-1).isoformat()}, world.admin)
    day = in_days(-1)
    assert refusal(lambda: workflow.move(world.session, world.host, world.case, "submitted",
                                         world.consultant)) == {
        "check.grants.on_time": f"The call's deadline passed on {day:%B} {day.day}, "
                                f"{day.year}."}
    workflow.change_settings(world.session, APPLICATION, {"check.grants.on_time": "0"},
                             world.admin)
    workflow.move(world.session, world.host, world.case, "submitted", world.consultant)
    assert world.case.phase_key == "submitted"


def test_a_case_without_a_call_is_not_held_by_the_checks(world):
    case = Case(title="Wniosek bez naboru", process_key="grants.application",
                phase_key="preparation")
    world.session.add(case)
    world.session.flush()
    assert checklists.missing(world.session, case) is None
    assert checklists.too_late(world.session, case) is None


def test_once_decided_the_checklist_no_longer_changes(world):
    tick_all(world)
    for phase in ("submitted", "evaluation"):
        workflow.move(world.session, world.host, world.case, phase, world.consultant)
    extra = checklists.add(world.session, world.case, "Uzupełnienie", world.consultant)
    world.case.phase_key = "awarded"  # the award's own checks belong to another part
    world.session.flush()
    assert refusal(lambda: checklists.unmark(world.session, world.case, extra.id,
                                             world.consultant)) == {
        "_": "The grant application has been decided: its checklist records what was sent "
             "and no longer changes."}
    assert not checklists.may_change(world.session, world.case, world.consultant)


# --- The application's card --------------------------------------------------------------------

def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def panel(page: str) -> str:
    return re.search(r'<section class="grants-checklist".*?</section>', page, re.S).group(0)


def item_row(page: str, item_id: int) -> str:
    return visible(re.search(rf'<tr id="checklist-item-{item_id}".*?</tr>', page, re.S).group(0))


def item_id(app, case_id: int, name: str) -> int:
    with app.extensions["kartoteka"].session() as session:
        return session.scalar(select(ChecklistItem.id).where(
            ChecklistItem.case_id == case_id, ChecklistItem.name == name))


def test_the_card_shows_the_call_the_progress_and_ticks_with_a_file(app, ids):
    consultant = login(app, "consultant@example.com")
    card = show(consultant, f"/cases/{ids['case']}")
    shown = visible(panel(card))
    assert shown.startswith("Checklist of attachments Call for proposals: Ścieżka SMART")
    assert "20 days left" in shown and "0 of 3 ready" in shown
    assert f'href="/grants/calls/{ids["call"]}"' in panel(card)
    assert f'<option value="{ids["plan"]}">biznesplan.pdf</option>' in panel(card)
    assert "cudzy.pdf" not in panel(card)  # another application's file
    plan = item_id(app, ids["case"], "Biznesplan")
    response = consultant.post(f"/grants/applications/{ids['case']}/checklist/{plan}/ready",
                               data={"csrf_token": csrf(card), "attachment_id": str(ids["plan"])})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{ids['case']}#checklist")
    card = show(consultant, f"/cases/{ids['case']}")
    assert "1 of 3 ready" in visible(panel(card))
    assert item_row(card, plan).startswith("Biznesplan ✓ ready")
    assert "Piotr Doradca biznesplan.pdf" in item_row(card, plan)
    assert "Ready: Biznesplan" in card  # flashed, and on the timeline
    refused = consultant.post(f"/grants/applications/{ids['case']}/checklist/{plan}/ready",
                              data={"csrf_token": csrf(card),
                                    "attachment_id": str(ids["foreign"])})
    assert "Choose one of the files attached to this grant application." in show(
        consultant, refused.headers["Location"])
    consultant.post(f"/grants/applications/{ids['case']}/checklist/{plan}/unready",
                    data={"csrf_token": csrf(card)})
    assert "0 of 3 ready" in visible(panel(show(consultant, f"/cases/{ids['case']}")))


def test_the_card_adds_and_removes_an_extra_item_and_blocks_the_step(app, ids):
    consultant = login(app, "consultant@example.com")
    card = show(consultant, f"/cases/{ids['case']}")
    assert "Attachments not ready: “Biznesplan”, “Oświadczenie de minimis”, " \
           "“Sprawozdania finansowe”." in card  # why "submitted" is blocked
    consultant.post(f"/grants/applications/{ids['case']}/checklist",
                    data={"csrf_token": csrf(card), "name": "Pełnomocnictwo"})
    card = show(consultant, f"/cases/{ids['case']}")
    extra = item_id(app, ids["case"], "Pełnomocnictwo")
    assert item_row(card, extra).startswith("Pełnomocnictwo extra not ready")
    assert "0 of 4 ready" in visible(panel(card))
    assert "Remove" not in item_row(card, item_id(app, ids["case"], "Biznesplan"))
    consultant.post(f"/grants/applications/{ids['case']}/checklist/{extra}/remove",
                    data={"csrf_token": csrf(card)})
    card = show(consultant, f"/cases/{ids['case']}")
    assert "Removed from the checklist: Pełnomocnictwo" in card
    assert "0 of 3 ready" in visible(panel(card))


def test_a_reader_sees_the_checklist_without_forms_and_other_cases_have_none(app, ids):
    reader = login(app, "reader@example.com")
    card = show(reader, f"/cases/{ids['case']}")
    assert "0 of 3 ready" in visible(panel(card)) and "<form" not in panel(card)
    plan = item_id(app, ids["case"], "Biznesplan")
    assert reader.post(f"/grants/applications/{ids['case']}/checklist/{plan}/ready",
                       data={"csrf_token": csrf(card)}).status_code == 403
    assert reader.post(f"/grants/applications/999999/checklist/{plan}/ready",
                       data={"csrf_token": csrf(card)}).status_code == 404


# --- The REST API ------------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    from core import tokens

    rt = app.extensions["kartoteka"]
    client = app.test_client()
    made = SimpleNamespace(ids=ids)
    with rt.session() as session, session.begin():
        for name in ("consultant", "reader"):
            user = users.find_by_email(session, f"{name}@example.com")
            setattr(made, name, caller(client, tokens.create(session, user, "test")[1]))
    return made


def test_the_api_reads_ticks_and_unticks_the_checklist(api, app):
    case = api.ids["case"]
    body = api.reader("get", f"/grants/applications/{case}/checklist").get_json()
    assert (body["call_id"], body["deadline"], body["ready"], body["total"]) == (
        api.ids["call"], in_days(20).isoformat(), 0, 3)
    plan = body["items"][0]
    assert (plan["name"], plan["required"], plan["ready"]) == ("Biznesplan", True, False)
    path = f"/grants/applications/{case}/checklist/{plan['id']}/ready"
    assert api.reader("post", path, json={}).status_code == 403
    ticked = api.consultant("post", path, json={"attachment_id": api.ids["plan"]})
    assert ticked.status_code == 200, ticked.get_json()
    assert {k: ticked.get_json()[k] for k in ("ready", "attachment_id", "filename")} == {
        "ready": True, "attachment_id": api.ids["plan"], "filename": "biznesplan.pdf"}
    foreign = api.consultant("post", path, json={"attachment_id": api.ids["foreign"]})
    assert foreign.status_code == 422
    assert foreign.get_json()["errors"] == {
        "attachment_id": "Choose one of the files attached to this grant application."}
    unticked = api.consultant("delete", path)
    assert unticked.status_code == 200 and unticked.get_json()["ready"] is False
    added = api.consultant("post", f"/grants/applications/{case}/checklist",
                           json={"name": "Pełnomocnictwo"})
    assert added.status_code == 201 and added.get_json()["required"] is False
    assert api.consultant("delete", f"/grants/applications/{case}/checklist/"
                                    f"{plan['id']}").status_code == 422
    assert api.consultant("delete", f"/grants/applications/{case}/checklist/"
                                    f"{added.get_json()['id']}").status_code == 204
    assert api.consultant("get", "/grants/applications/999999/checklist").status_code == 404
    assert api.consultant("post", f"/grants/applications/{case}/checklist/999999/ready",
                          json={}).status_code == 404


def test_the_checklist_names_the_call_in_the_installations_terms(kartoteka_app_factory, ids):
    app = kartoteka_app_factory(["grants"], default_locale="pl")
    consultant = login(app, "consultant@example.com")
    card = show(consultant, f"/cases/{ids['case']}")
    assert "Nabór: Ścieżka SMART" in visible(panel(card))
    assert "Załączniki nie są gotowe: „Biznesplan”" in card

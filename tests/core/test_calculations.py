"""Calculations of cases: lines priced from a price list with the markup, versions that
supersede the open ones before them, the customer's decision, the case's amount and
cost following, a process step waiting for an accepted calculation; bad input refused
line by line with nothing written. On SQLite and PostgreSQL."""

import re
from decimal import Decimal as D

import pytest
from api_helpers import callers
from sqlalchemy import func, select

from core import (
    approvals,
    calculations,
    cases,
    organisations,
    price_lists,
    roles,
    users,
    workflow,
)
from core.approvals import Approver, Chain, Step
from core.errors import Forbidden, ValidationError
from core.models import (
    Activity,
    ActivityLink,
    ApprovalRequest,
    Calculation,
    Case,
    Invoice,
    User,
)
from core.price_lists import PriceList
from core.workflow import Phase, Process, Transition
from page_helpers import error_under, show, text, visible

PASSWORD = "correct horse battery"
PARTS = PriceList("test.parts", {"pl": "Części", "en": "Parts"},
                  {"panel": {"pl": "Panele", "en": "Panels"},
                   "labour": {"pl": "Robocizna", "en": "Labour"}})
ACCEPTED = calculations.accepted_check(
    "test.accepted", {"pl": "Oferta przyjęta", "en": "Offer accepted"},
    {"pl": "Klient nie przyjął oferty.", "en": "The customer has not accepted an offer."})
PROCESS = Process("test.sale", "core.case", title={"en": "Sale"}, phases=(
    Phase("offer", "core.case"), Phase("contract", "core.case"),
    Phase("done", "core.phase", final=True)),
    transitions=(Transition("offer", "contract", checks=(ACCEPTED,)),))


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en")
    rt = app.extensions["kartoteka"]
    rt.host.processes = {**rt.host.processes, PROCESS.key: PROCESS}
    rt.host.price_lists = {**rt.host.price_lists, PARTS.key: PARTS}
    return app


@pytest.fixture
def rt(app):
    with app.test_request_context():
        yield app.extensions["kartoteka"]


@pytest.fixture
def world(rt):
    found = {}
    with rt.session() as s, s.begin():
        designer = roles.create(s, "designer", "Designer")
        roles.set_permissions(s, designer, ["core.calculate", "core.manage_price_lists"])
        found["designer"] = users.create_user(s, "design@example.com", PASSWORD, "Dorota",
                                              roles=["staff", "designer"]).id
        found["rep"] = users.create_user(s, "rep@example.com", PASSWORD, roles=["staff"]).id
        designer = s.get(User, found["designer"])
        for key, data in (
                ("panel", {"name": "Panel 450 W", "category": "panel", "unit": "szt.",
                           "net_price": "400.00", "vat_rate": "8",
                           "details": {"power_w": 450}}),
                ("labour", {"name": "Montaż", "category": "labour", "unit": "h",
                            "net_price": "120.00", "vat_rate": "8"}),
                ("old", {"name": "Panel 300 W", "category": "panel", "net_price": "250"})):
            found[key] = price_lists.create(s, PARTS, data, designer).id
        price_lists.retire(s, PARTS, s.get(price_lists.PriceItem, found["old"]), designer)
        found["case"] = cases.create(s, rt.host, {"title": "Dom Nowaków",
                                                 "process_key": PROCESS.key}, designer).id
    return found


def make(rt, world, by="designer", **data):
    with rt.session() as s, s.begin():
        made = calculations.create(s, s.get(Case, world["case"]), data, s.get(User, world[by]))
        return made.id


def two_lines(world, **extra):
    return [{"price_item_id": world["panel"], "quantity": "22", **extra},
            {"price_item_id": world["labour"], "quantity": "16"}]


def test_lines_take_the_price_list_and_the_markup_and_the_case_follows(rt, world):
    made = make(rt, world, markup="25", lines=[
        *two_lines(world),
        {"description": "Dojazd", "quantity": "1", "unit_cost": "300", "unit_price": "350",
         "vat_rate": "23"}])
    with rt.session() as s:
        calc = s.get(Calculation, made)
        assert [(ln.description, ln.unit, ln.unit_cost, ln.unit_price, ln.vat_rate, ln.net)
                for ln in calc.lines] == [
            ("Panel 450 W", "szt.", D("400"), D("500"), "8", D("11000.00")),
            ("Montaż", "h", D("120"), D("150"), "8", D("2400.00")),
            ("Dojazd", "szt.", D("300"), D("350"), "23", D("350.00"))]
        assert (calc.number, calc.status, calc.cost) == (1, "draft", D("11020.00"))
        assert (calc.net, calc.vat, calc.gross) == (D("13750.00"), D("1152.50"), D("14902.50"))
        case = s.get(Case, world["case"])
        assert (case.amount, case.cost) == (D("13750.00"), D("11020.00"))
        event = s.scalar(select(Activity).join(ActivityLink).where(
            ActivityLink.record_type == "case", ActivityLink.record_id == case.id,
            Activity.event == "calculation_made"))
        assert event.subject == "Version 1: PLN14,902.50"


def test_a_new_version_supersedes_the_open_one_and_keeps_it(rt, world):
    first = make(rt, world, markup="25", lines=two_lines(world))
    with rt.session() as s, s.begin():
        calculations.decide(s, s.get(Calculation, first), {"status": "sent"},
                            s.get(User, world["designer"]))
    second = make(rt, world, markup="20", lines=two_lines(world, unit_price="480"))
    with rt.session() as s:
        found = calculations.of_case(s, s.get(Case, world["case"]))
        assert [(c.number, c.status) for c in found] == [(2, "draft"), (1, "superseded")]
        assert found[0].lines[0].unit_price == D("480")  # given, not the list's plus markup
        assert found[0].lines[1].unit_price == D("144.00")
        assert len(found[1].lines) == 2  # the old version keeps its lines
    with rt.session() as s, s.begin(), pytest.raises(ValidationError) as refused:
        calculations.decide(s, s.get(Calculation, first), {"status": "accepted"},
                            s.get(User, world["designer"]))
    assert "only the latest open version" in refused.value.errors["status"]
    assert second


def test_a_step_waits_for_an_accepted_calculation(rt, world):
    made = make(rt, world, lines=two_lines(world))
    designer = lambda s: s.get(User, world["designer"])  # noqa: E731
    with rt.session() as s, s.begin():
        case = s.get(Case, world["case"])
        with pytest.raises(ValidationError) as refused:
            workflow.move(s, rt.host, case, "contract", designer(s))
        assert refused.value.errors["check.test.accepted"] == \
            "The customer has not accepted an offer."
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            calculations.decide(s, s.get(Calculation, made), {"status": "rejected"},
                                designer(s))
        assert refused.value.errors["reason"] == "Say why the customer rejected it."
        calculations.decide(s, s.get(Calculation, made), {"status": "accepted"}, designer(s))
    with rt.session() as s, s.begin():
        workflow.move(s, rt.host, s.get(Case, world["case"]), "contract", designer(s))
        assert s.get(Case, world["case"]).phase_key == "contract"


def test_bad_lines_are_refused_one_by_one_and_nothing_is_written(rt, world):
    with pytest.raises(ValidationError) as refused:
        make(rt, world, markup="2000", lines=[
            {"price_item_id": world["old"], "quantity": "1"},
            {"price_item_id": 999999, "quantity": "1"},
            {"description": "Coś", "quantity": "0"},
            {"description": "", "quantity": "1", "unit_cost": "-5", "vat_rate": "7"},
            {"quantity": "2"}])
    errors = refused.value.errors
    assert errors["markup"] == "Enter a mark-up from -100 to 1000%."
    assert errors["lines.2.quantity"] == "Enter a quantity above 0."
    assert errors["lines.3.unit_cost"] == "Enter a cost of 0 or more."
    assert errors["lines.3.vat_rate"] == "Choose a VAT rate."
    with pytest.raises(ValidationError) as refused:
        make(rt, world, lines=[{"price_item_id": world["old"], "quantity": "1"},
                               {"price_item_id": 999999, "quantity": "1"},
                               {"quantity": "2"}])
    errors = refused.value.errors
    assert errors["lines.0.price_item_id"] == "Choose an item the price list still offers."
    assert errors["lines.1.price_item_id"] == "Choose an item the price list still offers."
    assert errors["lines.2.unit_cost"] == "Enter the cost, or choose an item of a price list."
    assert errors["lines.2.description"] == "Describe the line, or choose an item."
    with pytest.raises(ValidationError) as refused:
        make(rt, world, lines=[])
    assert refused.value.errors["lines"] == "Give from 1 to 500 lines."
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Calculation)) == 0
        assert s.get(Case, world["case"]).amount is None


def test_only_those_who_calculate_may_write(rt, world):
    with pytest.raises(Forbidden, match="may not make calculations"):
        make(rt, world, by="rep", lines=two_lines(world))


def test_blanks_and_amounts_beyond_reach_are_refused_at_their_fields(rt, world):
    for data, field, says in (
            ({"markup": "", "lines": two_lines(world)}, "markup", "Enter the mark-up"),
            ({"lines": [{"price_item_id": world["panel"], "quantity": ""}]},
             "lines.0.quantity", "Enter the quantity."),
            ({"lines": [{"price_item_id": 2 ** 70, "quantity": "1"}]},
             "lines.0.price_item_id", ""),
            ({"markup": "1000", "lines": [{"description": "Farma", "quantity": "9999999999",
                                           "unit_cost": "999999999"}]},
             "lines.0.quantity", "more than the largest amount"),
            ({"lines": [{"description": "Farma", "quantity": "600", "unit_cost": "999999999"},
                        {"description": "Farma", "quantity": "600",
                         "unit_cost": "999999999"}]},
             "lines", "more than the largest amount")):
        with pytest.raises(ValidationError) as refused:
            make(rt, world, **data)
        assert says in refused.value.errors[field], (data, refused.value.errors)
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Calculation)) == 0


def test_a_price_from_a_cost_in_fractions_of_a_grosz_keeps_them(rt, world):
    made = make(rt, world, markup="0", lines=[
        {"description": "Ulotka A6", "quantity": "10000", "unit_cost": "0,045"}])
    with rt.session() as s:
        calc = s.get(Calculation, made)
        assert (calc.lines[0].unit_price, calc.cost, calc.net) == (
            D("0.0450"), D("450.00"), D("450.00"))


def test_only_the_latest_version_accepted_lets_the_step_through(rt, world):
    first = make(rt, world, lines=two_lines(world))
    with rt.session() as s, s.begin():
        calculations.decide(s, s.get(Calculation, first), {"status": "accepted"},
                            s.get(User, world["designer"]))
    make(rt, world, markup="50", lines=two_lines(world))  # a new draft after it
    with rt.session() as s:
        case = s.get(Case, world["case"])
        assert calculations.accepted(s, case) is None
        assert [(c.number, c.status) for c in calculations.of_case(s, case)] == [
            (2, "draft"), (1, "accepted")]
        assert case.amount == s.scalar(select(Calculation.net).where(
            Calculation.number == 2))


def test_a_version_superseded_meanwhile_is_not_accepted(rt, world):
    first = make(rt, world, lines=two_lines(world))
    with rt.session() as stale:
        seen = stale.get(Calculation, first)
        assert seen.status == "draft"
        make(rt, world, lines=two_lines(world))  # someone else's new version
        with pytest.raises(ValidationError) as refused:
            calculations.decide(stale, seen, {"status": "accepted"},
                                stale.get(User, world["designer"]))
        assert "changed this version meanwhile" in refused.value.errors["status"]


# --------------------------------------------------------------------- the pages


def test_the_designer_makes_a_version_on_the_cases_pages(app, world, kartoteka_login):
    client = kartoteka_login(app.test_client(), "design@example.com", PASSWORD)
    card = show(client, f"/cases/{world['case']}")
    assert "No calculations yet." in visible(card)
    form = show(client, f"/cases/{world['case']}/calculations/new")
    assert f'<option value="{world["panel"]}">Panel 450 W — 400.00/szt.</option>' in form
    assert "Panel 300 W" not in form  # retired: not offered
    refused = client.post(f"/cases/{world['case']}/calculations/new", data={
        "markup": "abc", "lines-0-item": str(world["panel"]), "lines-0-quantity": "",
        "lines-1-description": "Dojazd", "lines-1-quantity": "1"})
    page = text(refused)
    assert refused.status_code == 422
    assert error_under(page, "markup") == "Not a valid number."
    assert error_under(page, "lines-0-quantity") == "Enter the quantity."
    assert error_under(page, "lines-1-unit_cost") == \
        "Enter the cost, or choose an item of a price list."
    assert 'name="lines-1-description" value="Dojazd"' in page  # kept as typed
    saved = client.post(f"/cases/{world['case']}/calculations/new", data={
        "markup": "25", "lines-0-item": str(world["panel"]), "lines-0-quantity": "22",
        "lines-1-description": "Dojazd", "lines-1-quantity": "1",
        "lines-1-unit_cost": "300,00", "lines-1-unit_price": "350", "lines-1-vat_rate": "23",
        "lines-2-item": "", "lines-2-description": "", "note": "Dach południowy"})
    assert saved.status_code == 302
    page = show(client, saved.headers["Location"])
    assert "Calculation 1: Dom Nowaków" in page and "draft" in visible(page)
    assert "PLN11,350.00" in visible(page.split('id="net"')[1])  # 22 × 500 + 350
    again = show(client, f"/cases/{world['case']}/calculations/new")  # from the latest
    assert 'name="lines-0-quantity" value="22"' in again
    assert 'name="lines-1-unit_cost" value="300.00"' in again
    assert 'name="lines-0-unit_price" value=""' in again  # the list's price plus the markup
    sent = client.post(saved.headers["Location"] + "/decision", data={"status": "sent"})
    assert sent.status_code == 302
    assert "sent to the customer" in visible(show(client, saved.headers["Location"]))
    card = show(client, f"/cases/{world['case']}")
    assert re.search(r'<tr id="calculation-\d+" class="status-sent">', card)


def test_who_does_not_calculate_reads_the_versions_but_makes_none(app, world, rt,
                                                                  kartoteka_login):
    made = make(rt, world, lines=two_lines(world))
    client = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    card = show(client, f"/cases/{world['case']}")
    assert f"/calculations/{made}" in card and "New version" not in card
    assert client.get(f"/cases/{world['case']}/calculations/new").status_code == 403
    assert client.post(f"/calculations/{made}/decision",
                       data={"status": "accepted"}).status_code == 403
    assert client.get("/calculations/999999").status_code == 404


# --------------------------------------------------------------------- the API


def test_calculations_through_the_api(app, rt, world):
    api = callers(app, rt, designer={"access": {a: "all" for a in ("read", "create", "edit")},
                                     "permissions": ["core.calculate"]},
                  reader={"access": {"read": "all"}})
    path = f"/cases/{world['case']}/calculations"
    made = api.designer("post", path, json={"markup": "25", "lines": [
        {"price_item_id": world["panel"], "quantity": "22"},
        {"description": "Dojazd", "quantity": 1, "unit_cost": "300", "vat_rate": "23"}]})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["number"], body["status"], body["net"], body["cost"]) == (
        1, "draft", "11375.00", "9100.00")
    assert body["lines"][1] == {
        "position": 2, "price_item_id": None, "description": "Dojazd", "category": "",
        "quantity": "1.0000", "unit": "szt.", "unit_cost": "300.0000",
        "unit_price": "375.0000", "vat_rate": "23", "net": "375.00", "vat": "86.25",
        "gross": "461.25"}
    bad = api.designer("post", path, json={"markup": 25, "lines": [
        {"price_item_id": world["panel"], "quantity": "1"}, {"quantity": "x"}]})
    assert (bad.status_code, bad.get_json()["errors"]) == (
        422, {"lines.1.quantity": "Not a valid number."})
    bad = api.designer("post", path, json={"lines": [
        {"price_item_id": world["old"], "quantity": "1"}]})
    assert (bad.status_code, bad.get_json()["errors"]) == (
        422, {"lines.0.price_item_id": "Choose an item the price list still offers."})
    assert api.reader("post", path, json={"lines": [
        {"price_item_id": world["panel"], "quantity": 1}]}).status_code == 403
    listed = api.reader("get", path)
    assert [c["number"] for c in listed.get_json()] == [1]
    one = f"/calculations/{body['id']}"
    assert api.reader("get", one).get_json()["gross"] == body["gross"]
    decided = api.designer("post", f"{one}/decision", json={"status": "rejected"})
    assert decided.get_json()["errors"] == {"reason": "Say why the customer rejected it."}
    decided = api.designer("post", f"{one}/decision", json={"status": "accepted"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "accepted"
    assert api.reader("get", "/calculations/999999").status_code == 404
    assert api.reader("get", "/cases/999999/calculations").status_code == 404
    blank = api.designer("post", path, json={"markup": "", "lines": [
        {"price_item_id": world["panel"], "quantity": ""}]})
    assert (blank.status_code, set(blank.get_json()["errors"])) == (
        422, {"markup", "lines.0.quantity"})


def test_a_portal_account_finds_no_calculation_nor_price_list(app, rt, world):
    from core import organisations, tokens
    from core.models import Organisation

    made = make(rt, world, lines=two_lines(world))
    with rt.session() as s, s.begin():
        unit = organisations.create(s, rt.host, {"name": "Gmina Kórnik",
                                                 "type_key": "core.municipality"})
        s.get(Case, world["case"]).organisation_id = unit.id
        account = users.create_user(s, "portal@kornik.pl", PASSWORD,
                                    portal_of=s.get(Organisation, unit.id))
        token = tokens.create(s, account, "portal")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in (f"/cases/{world['case']}/calculations", f"/calculations/{made}",
                 "/price-lists/", "/price-lists/test.parts/items"):
        assert client.get(f"/api/v1{path}", headers=headers).status_code == 404, path


# ------------------------------------------------------- the approver's corrections

APPROVED = Process("test.approved", "core.case", title={"en": "Approved sale"}, phases=(
    Phase("draft", "core.case"), Phase("sent", "core.case", final=True)),
    transitions=(Transition("draft", "sent", approval=Chain(
        "test.boss", (Step("boss", Approver.supervisor()),))),))


@pytest.fixture
def asked(app, rt, world):
    """A priced case of the designer's, its approval asked of their supervisor (who
    makes no calculations of their own)."""
    rt.host.processes = {**rt.host.processes, APPROVED.key: APPROVED}
    with rt.session() as s, s.begin():
        boss = users.create_user(s, "boss@example.com", PASSWORD, "Bogdan", roles=["staff"])
        designer = s.get(User, world["designer"])
        designer.supervisor_id = boss.id
        case = cases.create(s, rt.host, {"title": "Dach Kowalskich", "process_key": APPROVED.key,
                                         "owner_id": designer.id}, designer)
        calculations.create(s, case, {"markup": "25", "lines": two_lines(world)}, designer)
        req = approvals.request(s, rt.host, case, "sent", designer)
        world.update(boss=boss.id, approved_case=case.id, request=req.id)
    return world


def test_the_approver_corrects_the_prices_in_a_new_version_and_approves(rt, asked):
    with rt.session() as s, s.begin():
        req, boss = s.get(ApprovalRequest, asked["request"]), s.get(User, asked["boss"])
        approvals.decide(s, rt.host, req, "approve", boss, comment="Panel po 450 zł",
                         corrections={"calculation": {"markup": "25", "lines": two_lines(
                             asked, unit_price="450.00")}})
    with rt.session() as s:
        case, req = s.get(Case, asked["approved_case"]), s.get(ApprovalRequest, asked["request"])
        versions = calculations.of_case(s, case)
        assert [(v.number, v.status, v.created_by_id) for v in versions] == [
            (2, "draft", asked["boss"]), (1, "superseded", asked["designer"])]
        assert case.amount == D("12300.00")  # 22 × 450 + 16 × 150
        assert (req.status, req.decided_by_id, req.values["amount"]) == (
            "approved", asked["boss"], "12300.00")
        assert approvals.missing(s, rt.host, case, APPROVED.transition("draft", "sent")) == []


def test_a_priced_cases_amount_is_not_corrected_apart_from_its_calculation(rt, asked):
    with rt.session() as s, s.begin():
        req, boss = s.get(ApprovalRequest, asked["request"]), s.get(User, asked["boss"])
        with pytest.raises(ValidationError) as refused:
            approvals.decide(s, rt.host, req, "approve", boss, corrections={"amount": "100"})
        assert list(refused.value.errors) == ["amount"]
        with pytest.raises(ValidationError) as bad:
            approvals.decide(s, rt.host, req, "approve", boss, corrections={
                "calculation": {"lines": [{"price_item_id": asked["panel"]}]}})
        assert bad.value.errors == {"lines.0.quantity": "Enter the quantity."}
    with rt.session() as s:
        assert s.get(ApprovalRequest, asked["request"]).status == "pending"
        assert len(calculations.of_case(s, s.get(Case, asked["approved_case"]))) == 1


def test_the_approver_corrects_on_the_calculations_form(app, rt, asked, kartoteka_login):
    new = f"/cases/{asked['approved_case']}/calculations/new"
    rep = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    assert rep.get(f"{new}?approve={asked['request']}").status_code == 404  # not theirs
    boss = kartoteka_login(app.test_client(), "boss@example.com", PASSWORD)
    assert boss.get(new).status_code == 403  # no calculations of their own
    card = show(boss, f"/cases/{asked['approved_case']}")
    assert f"{new}?approve={asked['request']}" in card and 'value="correct"' not in card
    form = show(boss, f"{new}?approve={asked['request']}")
    assert "Save the corrected prices and approve" in form
    assert 'name="lines-0-quantity" value="22"' in form
    fields = {"approve": str(asked["request"]), "markup": "25",
              "lines-0-item": str(asked["panel"]), "lines-0-quantity": "",
              "lines-1-item": str(asked["labour"]), "lines-1-quantity": "16"}
    refused = boss.post(new, data=fields)
    assert refused.status_code == 422
    assert error_under(text(refused), "lines-0-quantity") == "Enter the quantity."
    saved = boss.post(new, data=fields | {"lines-0-quantity": "20", "note": "20 paneli"})
    assert saved.status_code == 302
    assert "Corrected and approved." in show(boss, saved.headers["Location"])
    with rt.session() as s:
        req = s.get(ApprovalRequest, asked["request"])
        assert (req.status, req.comment, req.values["amount"]) == (
            "approved", "20 paneli", "12400.00")  # 20 × 500 + 16 × 150


# ------------------------------------------------------------------ invoicing

def test_accounting_drafts_the_invoice_from_the_version(app, rt, world, kartoteka_login):
    first = make(rt, world, markup="25", lines=two_lines(world))
    with rt.session() as s, s.begin():
        case = s.get(Case, world["case"])
        with pytest.raises(ValidationError) as nobody:
            calculations.invoice(s, s.get(Calculation, first), s.get(User, world["designer"]))
        assert "organisation_id" in nobody.value.errors  # no client yet
        case.organisation_id = organisations.create(s, rt.host, {
            "name": "Nowakowie s.c.", "type_key": "core.company"}, None).id
        clerk = users.create_user(s, "clerk@example.com", PASSWORD, roles=["staff"])
        roles.set_permissions(s, roles.create(s, "billing", "Billing"), ["core.billing"])
        roles.assign(s, clerk, ["staff", "billing"])
    latest = make(rt, world, markup="25", lines=two_lines(world, unit_price="480"))
    rep = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    assert "Draft an invoice" not in show(rep, f"/calculations/{latest}")
    assert rep.post(f"/calculations/{latest}/invoice").status_code == 403
    clerk = kartoteka_login(app.test_client(), "clerk@example.com", PASSWORD)
    assert "Draft an invoice" not in show(clerk, f"/calculations/{first}")  # superseded
    refused = clerk.post(f"/calculations/{first}/invoice")
    assert refused.status_code == 302
    assert "Only the latest version" in show(clerk, refused.headers["Location"])
    page = show(clerk, f"/calculations/{latest}")
    assert "Draft an invoice from this version" in page
    made = clerk.post(f"/calculations/{latest}/invoice")
    assert made.status_code == 302 and "/invoices/" in made.headers["Location"]
    with rt.session() as s:
        invoice = s.scalar(select(Invoice).where(Invoice.case_id == world["case"]))
        assert (invoice.status, invoice.net) == ("draft", D("12960.00"))  # 22 × 480 + 16 × 150
        assert [(line.description, line.quantity, line.unit_price) for line in
                sorted(invoice.lines, key=lambda line: line.position)] == [
            ("Panel 450 W", D("22"), D("480")), ("Montaż", D("16"), D("150"))]


def test_the_api_drafts_the_invoice_of_a_version(app, rt, world):
    made = make(rt, world, lines=two_lines(world))
    with rt.session() as s, s.begin():
        s.get(Case, world["case"]).organisation_id = organisations.create(s, rt.host, {
            "name": "Nowakowie s.c.", "type_key": "core.company"}, None).id
    api = callers(app, rt, designer={"permissions": ["core.calculate"]},
                  clerk={"permissions": ["core.billing"]})
    assert api.designer("post", f"/calculations/{made}/invoice").status_code == 403
    drafted = api.clerk("post", f"/calculations/{made}/invoice")
    assert drafted.status_code == 201, drafted.get_json()
    body = drafted.get_json()
    assert (body["status"], body["case_id"]) == ("draft", world["case"])
    assert body["net"] == "10720.00"  # 22 × 400 + 16 × 120
    assert [line["description"] for line in body["lines"]] == ["Panel 450 W", "Montaż"]
    assert api.clerk("post", "/calculations/999999/invoice").status_code == 404

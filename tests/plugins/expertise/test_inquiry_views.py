"""An inquiry's section on its case card (EX-2, EX-3, EX-4): the details with the court,
deadline and other parties; routing to the departments of its specialisation, the least
busy first, by the secretariat alone; the experts able to take it and those excluded
with why; the estimate with each expert's hours at their rate, the cost, price and
margin and whether the board must approve; each form refused with the messages under
its fields and what was typed kept. Every test runs on SQLite and PostgreSQL
(``kartoteka_app_factory`` depends on ``kartoteka_database_url``)."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core import workflow
from core.filters import today
from core.models import Calculation, Case
from plugins.expertise import estimates, inquiries
from plugins.expertise.models import Assignment, Inquiry, Party
from tests.core.page_helpers import error_under, show, text, value_of, visible
from tests.plugins.expertise.conftest import SELLER, opened
from tests.plugins.expertise.pages import csrf, login

CONFLICT = "Anna Nowak cannot take it: conflict of interest with Budimex Sp. z o.o."


@pytest.fixture
def app_config():
    return {"company_name": SELLER}


@pytest.fixture
def ids(app):
    return build(app)


def build(app) -> dict:
    """Committed: the firm staffed (conftest's ``world``: an account manager who owns
    the inquiry and estimates, a secretary who routes, a department manager, a board
    member, the client); a second construction department, busier, besides the first
    and the vehicles one; experts of construction: one able (the firm's), one in
    conflict with the client, one absent; one of vehicles; a court, an insurer and a
    person; the inquiry, waiting in its "inquiry" phase; a case of another process."""
    with opened(app, commit=True) as firm:
        firm.furnished().staffed()
        structures = firm.department("A structures department", [firm.construction])
        court = firm.organisation("Sąd Okręgowy w Poznaniu", inquiries.COURT)
        insurer = firm.organisation("PZU SA")
        defendant = firm.person("Adam", "Pozwany")
        conflicted = firm.new_expert("Anna", "Nowak", "150.00", internal=False, conflicts=[
            {"organisation_id": firm.client.id, "reason": "former employer"}])
        absent = firm.new_expert("Piotr", "Zając", "180.00", absences=[
            {"starts_on": today().isoformat(),
             "ends_on": (today() + timedelta(days=400)).isoformat(), "reason": "leave"}])
        driver = firm.new_expert("Ewa", "Kierowca", "120.00", firm.vehicles, firm.cars)

        # An open inquiry of the structures department makes it the busier one.
        firm.routed(firm.inquiry(title="Opinia o konstrukcji hali"), structures)
        case = firm.inquiry(title="Opinia o stanie budynku")
        firm.move(case, "inquiry")
        elsewhere = Case(title="Przegląd", process_key="elsewhere.service", phase_key="open",
                         owner_id=firm.owner.id)
        firm.session.add(elsewhere)
        firm.session.flush()
        return {"case": case.id, "elsewhere": elsewhere.id,
                "construction": firm.construction.id, "vehicles": firm.vehicles.id,
                "building": firm.building.id, "structures": structures.id,
                "cars": firm.cars.id, "client": firm.client.id, "court": court.id,
                "insurer": insurer.id, "defendant": defendant.id, "able": firm.expert.id,
                "conflicted": conflicted.id, "absent": absent.id, "driver": driver.id,
                "manager": firm.manager.id, "owner": firm.owner.id}


def prepared(app, ids, phase="estimate", specialisation="construction"):
    """The inquiry with its specialisation, routed to the construction department and,
    for "estimate", moved to the estimate phase."""
    with opened(app, commit=True) as firm:
        case = firm.session.get(Case, ids["case"])
        inquiries.update(firm.session, case, {
            "specialisation_id": ids[specialisation],
            "due_on": (today() + timedelta(days=30)).isoformat()})
        inquiries.route(firm.session, firm.host, case, ids["building"], None)
        if phase == "estimate":
            workflow.move(firm.session, firm.host, case, "estimate", None)


def estimated(app, ids, **data):
    with opened(app, commit=True) as firm:
        estimates.estimate(firm.session, firm.session.get(Case, ids["case"]), {
            "experts": [{"expert_id": ids["able"], "hours": "10"}], "margin": "30", **data})


def stored(app, case_id) -> SimpleNamespace:
    with app.extensions["kartoteka"].session() as session:
        found = session.get(Inquiry, case_id) or Inquiry()
        return SimpleNamespace(
            specialisation_id=found.specialisation_id, department_id=found.department_id,
            court_reference=found.court_reference or "", due_on=found.due_on,
            phase=session.get(Case, case_id).phase_key,
            parties=session.scalars(select(Party.role).where(Party.case_id == case_id)).all(),
            hours=session.scalars(select(Assignment.hours).where(
                Assignment.case_id == case_id)).all(),
            calculations=session.scalars(select(Calculation.id).where(
                Calculation.case_id == case_id)).all())


def section(page: str) -> str:
    return re.search(r'<section class="expertise-inquiry".*?</section>', page, re.S).group(0)


def part(page: str, name: str) -> str:
    """One part of the section: details, routing, candidates or estimate."""
    return re.search(rf'<div class="expertise-{name}" id="expertise-{name}">.*?'
                     rf'(?=<div class="expertise-|</section>)', page, re.S).group(0)


def rows_of(page: str, table: str) -> list[str]:
    body = re.search(rf'<table class="list {table}">.*?</table>', page, re.S).group(0)
    return [visible(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S)][1:]


def selected(page: str, name: str) -> str | None:
    body = re.search(rf'<select id="f-{re.escape(name)}".*?</select>', page, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected>', body)
    return found.group(1) if found else None


def card_of(client, ids) -> str:
    return show(client, f"/cases/{ids['case']}")


def url(ids, action, case="case") -> str:
    return f"/expertise/inquiries/{ids[case]}/{action}"


# --- Details -----------------------------------------------------------------------------------

def test_the_details_are_set_on_the_card(app, ids):
    owner = login(app, "owner@example.com")
    card = card_of(owner, ids)
    assert "not routed yet" in visible(part(section(card), "details"))
    response = owner.post(url(ids, "details"), data={
        "csrf_token": csrf(card), "specialisation_id": str(ids["construction"]),
        "court_id": str(ids["court"]), "court_reference": " I C 123/26 ",
        "due_on": "2027-03-31", "action": "save",
        "parties-0-organisation_id": str(ids["insurer"]), "parties-0-role": "insurer",
        "parties-1-organisation_id": "", "parties-1-person_id": "", "parties-1-role": "",
        "parties-2-person_id": str(ids["defendant"]), "parties-2-role": "defendant"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{ids['case']}#expertise-inquiry")

    card = card_of(owner, ids)
    assert "The details of the inquiry are saved." in card
    details = visible(part(section(card), "details"))
    for shown in ("Specialisation Construction", "Court Sąd Okręgowy w Poznaniu",
                  "Court case reference I C 123/26", "Deadline of the expert opinion Mar 31, 2027",
                  "Other parties PZU SA (insurer); Adam Pozwany (defendant)"):
        assert shown in details
    form = section(card)  # the form holds what is stored
    assert selected(form, "specialisation_id") == str(ids["construction"])
    assert selected(form, "court_id") == str(ids["court"])
    assert selected(form, "parties-1-person_id") == str(ids["defendant"])
    assert value_of(form, "due_on") == "2027-03-31"
    saved = stored(app, ids["case"])
    assert (saved.court_reference, saved.parties) == ("I C 123/26", ["insurer", "defendant"])


def test_refused_details_come_back_with_the_messages_under_the_fields(app, ids):
    owner = login(app, "owner@example.com")
    response = owner.post(url(ids, "details"), data={
        "csrf_token": csrf(card_of(owner, ids)), "specialisation_id": "999999",
        "court_id": "", "court_reference": "XII C 7/26", "due_on": "31.02.2027",
        "parties-0-role": "defendant", "action": "save"})
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved; see the messages below." in page
    assert error_under(page, "specialisation_id") == "There is no such specialisation."
    assert error_under(page, "due_on") == "Enter a date, such as 2026-03-31."
    assert error_under(page, "parties-0") == "Choose an organisation or a person."
    assert value_of(page, "court_reference") == "XII C 7/26"  # kept as typed
    assert value_of(page, "due_on") == "31.02.2027"
    assert value_of(page, "parties-0-role") == "defendant"
    saved = stored(app, ids["case"])
    assert (saved.specialisation_id, saved.court_reference, saved.parties) == (None, "", [])


def test_more_party_rows_without_a_script(app, ids):
    owner = login(app, "owner@example.com")
    page = text(owner.post(url(ids, "details"), data={
        "csrf_token": csrf(card_of(owner, ids)), "specialisation_id": "",
        "court_id": "", "court_reference": "", "due_on": "",
        "parties-0-organisation_id": str(ids["insurer"]), "parties-0-role": "insurer",
        "action": "more"}))
    # What was typed, three empty rows and the blank one.
    assert len(re.findall(r'name="parties-\d+-role"', page)) == 1 + 3 + 1
    assert selected(page, "parties-0-organisation_id") == str(ids["insurer"])
    assert stored(app, ids["case"]).parties == []


# --- Routing -----------------------------------------------------------------------------------

def test_the_secretariat_routes_to_a_suggested_department(app, ids):
    owner = login(app, "owner@example.com")
    assert "Choose the specialisation first" in visible(part(card_of(owner, ids), "routing"))
    owner.post(url(ids, "details"), data={
        "csrf_token": csrf(card_of(owner, ids)), "specialisation_id": str(ids["construction"]),
        "court_id": "", "court_reference": "", "due_on": "", "action": "save"})

    secretary = login(app, "secretary@example.com")
    routing = part(card_of(secretary, ids), "routing")
    # The departments covering construction, the least busy first; vehicles is not one.
    assert rows_of(routing, "suggested-departments") == [
        "Construction department Marek Kierownik 0 Route to Construction department",
        "A structures department — 1 Route to A structures department"]
    refused = secretary.post(url(ids, "route"), data={
        "csrf_token": csrf(routing), "department_id": str(ids["cars"])})
    assert refused.status_code == 422
    assert error_under(text(refused), "department_id") == \
        "The department does not cover the inquiry's specialisation."
    assert stored(app, ids["case"]).department_id is None

    response = secretary.post(url(ids, "route"), data={
        "csrf_token": csrf(routing), "department_id": str(ids["building"])})
    assert response.status_code == 302
    card = card_of(secretary, ids)
    assert "Routed to Construction department." in card
    assert "Department Construction department" in visible(part(section(card), "details"))
    assert "Construction department routed here Marek Kierownik 1" in rows_of(
        part(card, "routing"), "suggested-departments")
    assert stored(app, ids["case"]).phase == "routed"


def test_only_the_secretariat_may_route(app, ids):
    prepared(app, ids, phase="routed")
    owner = login(app, "owner@example.com")
    routing = part(card_of(owner, ids), "routing")
    assert "A structures department" in routing
    assert "<form" not in routing  # the list, without the buttons
    response = owner.post(url(ids, "route"), data={
        "csrf_token": csrf(card_of(owner, ids)), "department_id": str(ids["structures"])})
    assert response.status_code == 403
    assert "You may not route inquiries to departments." in text(response)
    assert stored(app, ids["case"]).department_id == ids["building"]


# --- Experts -----------------------------------------------------------------------------------

def test_the_experts_able_to_do_it_and_those_excluded_with_why(app, ids):
    prepared(app, ids)
    experts_part = part(card_of(login(app, "owner@example.com"), ids), "candidates")
    assert rows_of(experts_part, "able-experts") == [
        "Jan Biegły Construction department PLN200.00 0"]
    excluded = rows_of(experts_part, "excluded-experts")
    assert excluded[0] == "Anna Nowak conflict of interest with Budimex Sp. z o.o."
    assert excluded[1].startswith("Piotr Zając absent from ")
    assert len(excluded) == 2 and "Ewa Kierowca" not in experts_part  # another specialisation


def test_an_estimated_expert_of_another_specialisation_is_excluded(app, ids):
    prepared(app, ids)
    estimated(app, ids)
    owner = login(app, "owner@example.com")
    owner.post(url(ids, "details"), data={
        "csrf_token": csrf(card_of(owner, ids)), "specialisation_id": str(ids["vehicles"]),
        "court_id": "", "court_reference": "", "due_on": "", "action": "save"})
    card = card_of(owner, ids)
    assert rows_of(part(card, "candidates"), "able-experts") == [
        "Ewa Kierowca Vehicles department PLN120.00 0"]
    assert rows_of(part(card, "candidates"), "excluded-experts") == [
        "Jan Biegły not of the inquiry's specialisation"]


# --- The estimate ------------------------------------------------------------------------------

def test_the_estimate_shows_hours_at_rates_cost_price_margin_and_approvers(app, ids):
    prepared(app, ids)
    owner = login(app, "owner@example.com")
    card = card_of(owner, ids)
    assert "Not estimated yet." in part(card, "estimate")
    response = owner.post(url(ids, "estimate"), data={
        "csrf_token": csrf(card), "experts-0-expert_id": str(ids["able"]),
        "experts-0-hours": "12,5", "experts-1-expert_id": "", "experts-1-hours": "",
        "travel_cost": "300", "materials_cost": "200", "margin": "30", "markup": "",
        "action": "save"})
    assert response.status_code == 302, error_under(text(response), "margin")
    card = card_of(owner, ids)
    assert "The estimate is saved: cost PLN3,000.00, price PLN4,285.80, margin 30%." in card
    estimate = part(card, "estimate")
    assert rows_of(estimate, "estimate") == [
        "Jan Biegły 12.5 h × PLN200.00 PLN2,500.00", "Travel PLN300.00",
        "Materials and tests PLN200.00", "Total cost PLN3,000.00", "Price (net) PLN4,285.80",
        "Margin mark-up 42.86% 30%"]
    assert "The department manager's approval is enough; the board is not asked." in estimate
    assert "the department manager (Marek Kierownik): always required" in estimate
    # The form holds the estimate: the experts' hours, the costs and its mark-up.
    assert (value_of(estimate, "experts-0-hours"), value_of(estimate, "travel_cost"),
            value_of(estimate, "markup")) == ("12.5", "300.00", "42.86")

    owner.post(url(ids, "estimate"), data={
        "csrf_token": csrf(card), "experts-0-expert_id": str(ids["able"]),
        "experts-0-hours": "10", "margin": "20", "action": "save"})
    estimate = visible(part(card_of(owner, ids), "estimate"))
    assert "The board must approve the offer too." in estimate
    assert "the board (Zofia Zarząd): the margin 20% is below the minimum of 25%" in estimate


def test_a_refused_estimate_names_the_expert_in_conflict_and_keeps_what_was_typed(app, ids):
    prepared(app, ids)
    owner = login(app, "owner@example.com")
    response = owner.post(url(ids, "estimate"), data={
        "csrf_token": csrf(card_of(owner, ids)),
        "experts-0-expert_id": str(ids["conflicted"]), "experts-0-hours": "5",
        "experts-1-expert_id": str(ids["able"]), "experts-1-hours": "0",
        "experts-2-expert_id": "", "experts-2-hours": "3",
        "travel_cost": "350", "materials_cost": "", "margin": "", "markup": "",
        "action": "save"})
    assert response.status_code == 422
    page = text(response)
    assert error_under(page, "experts-0-expert_id") == CONFLICT
    assert error_under(page, "experts-1-hours") == "Enter the hours: above 0 and below 10 000."
    assert error_under(page, "experts-2-expert_id") == "Choose the expert."
    assert error_under(page, "margin") == "Give the margin or the mark-up."
    assert selected(page, "experts-0-expert_id") == str(ids["conflicted"])
    assert (value_of(page, "experts-1-hours"), value_of(page, "travel_cost")) == ("0", "350")
    saved = stored(app, ids["case"])
    assert (saved.hours, saved.calculations) == ([], [])


def test_the_estimate_form_is_for_those_who_make_calculations(app, ids):
    prepared(app, ids)
    manager = login(app, "manager@example.com")
    card = card_of(manager, ids)
    assert 'class="expertise-estimate-form"' not in card
    assert 'class="expertise-details-form"' in card  # staff may change the case
    response = manager.post(url(ids, "estimate"), data={
        "csrf_token": csrf(card), "experts-0-expert_id": str(ids["able"]),
        "experts-0-hours": "5", "margin": "30", "action": "save"})
    assert response.status_code == 403
    assert "You may not make calculations." in text(response)
    assert stored(app, ids["case"]).calculations == []


def test_other_cases_have_no_section_and_its_forms_are_not_found(app, ids):
    owner = login(app, "owner@example.com")
    assert 'id="expertise-inquiry"' not in show(owner, f"/cases/{ids['elsewhere']}")
    assert 'id="expertise-inquiry"' in card_of(owner, ids)
    card = card_of(owner, ids)
    for action in ("details", "route", "estimate"):
        assert owner.post(url(ids, action, "elsewhere"), data={
            "csrf_token": csrf(card)}).status_code == 404
    assert owner.get("/expertise/inquiries/999999").status_code == 404

"""The staff pages of the expertise registry (EX-2, EX-3): departments with their
specialisations, managers and open inquiries; specialisations added, renamed and
archived; experts listed by specialisation and activity, each with a card and a form
that picks the person by name and keeps absences and conflicts of interest row by row.
Every staff member reads them; only ``expertise.manage`` changes them. Every test runs
on SQLite and PostgreSQL (``kartoteka_app_factory`` depends on
``kartoteka_database_url``)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import cases, people, users
from core.filters import today as local_today
from plugins.expertise import departments, experts, inquiries, specialisations
from plugins.expertise.models import Assignment, Department, Expert, Specialisation
from tests.core.page_helpers import error_under, show, text, visible
from tests.plugins.expertise.conftest import opened
from tests.plugins.expertise.pages import csrf, login


@pytest.fixture
def ids(app):
    """Committed: the registry (conftest's ``firm``: the specialisations construction
    and vehicles, the construction department, its expert, a client firm) kept by its
    manager, Anna Kierownik (``expertise.manage``); a staff member without it; an
    archived specialisation; and two people called Nowak."""
    with opened(app, commit=True) as firm:
        firm.role("registry", "Registry", ["expertise.manage"])
        manager = firm.user("manager@example.com", ["staff", "registry"], "Anna Kierownik")
        firm.furnished(manager)
        firm.user("staff@example.com", ["staff"], "Piotr Pracownik")
        old = specialisations.create(firm.session, {"name": "Telegraphy", "archived": True},
                                     manager)
        nowaks = [firm.person(first, "Nowak").id for first in ("Ewa", "Adam")]
        return {"manager": manager.id, "construction": firm.construction.id,
                "vehicles": firm.vehicles.id, "old": old.id, "building": firm.building.id,
                "expert": firm.expert.id, "jan": firm.expert.person_id,
                "client": firm.client.id, "nowaks": nowaks}


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def row(page: str, element_id: str) -> str:
    return visible(re.search(rf'<tr id="{element_id}".*?</tr>', page, re.S).group(0))


def section(page: str, css: str) -> str:
    return visible(re.search(rf'<section class="card {css}".*?</section>', page, re.S).group(0))


def options(page: str, name: str) -> list[str]:
    found = re.search(rf'<select id="f-{name}".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="\d+" ?(?:selected)?>([^<]+)</option>', found)


def in_session(app, change):
    with opened(app, commit=True) as firm:
        return change(firm.session, firm.host,
                      users.find_by_email(firm.session, "manager@example.com"))


def open_inquiry(app, ids, title="Opinia o pęknięciach"):
    """An inquiry of the construction department, its estimate naming the expert."""
    def make(session, host, manager):
        case = cases.create(session, host, {
            "title": title, "process_key": "expertise.inquiry", "owner_id": manager.id,
            "organisation_id": ids["client"]}, actor=manager)
        inquiry = inquiries.of_case(session, case)
        inquiry.department_id = ids["building"]
        inquiry.due_on = local_today() + timedelta(days=20)
        session.add(Assignment(case_id=case.id, expert_id=ids["expert"], hours=Decimal(10),
                               rate=Decimal(200)))
        return case.id
    return in_session(app, make)


# --- Reading ---------------------------------------------------------------------------------

def test_staff_read_the_registry_and_only_managers_change_it(app, ids):
    case_id = open_inquiry(app, ids)
    staff = login(app, "staff@example.com")
    page = show(staff, "/expertise/departments/")
    assert row(page, f"department-{ids['building']}") == (
        "Construction department Construction Anna Kierownik 1")
    assert "Add department" not in page and "Delete" not in page
    assert 'href="/expertise/experts/"' in page and 'href="/expertise/departments/"' in page
    page = show(staff, "/expertise/experts/")
    assert row(page, f"expert-{ids['expert']}") == (
        "Jan Biegły Construction Construction department PLN200.00 active 1")
    card = show(staff, f"/expertise/experts/{ids['expert']}")
    assert "Construction" in section(card, "expert-details")
    assert "PLN200.00" in section(card, "expert-details")
    assert row(card, f"inquiry-{case_id}").startswith("Opinia o pęknięciach Meeting")
    assert 'href="/expertise/experts/' + str(ids["expert"]) + '/edit"' not in card
    page = show(staff, "/expertise/specialisations/")
    assert row(page, f"specialisation-{ids['old']}") == "Telegraphy 0 0 archived"
    assert "Rename" not in page
    for url in ("/expertise/departments/new", f"/expertise/departments/{ids['building']}/edit",
                "/expertise/experts/new", f"/expertise/experts/{ids['expert']}/edit"):
        assert staff.get(url).status_code == 403, url
    for url in (f"/expertise/departments/{ids['building']}/delete",
                f"/expertise/experts/{ids['expert']}/delete", "/expertise/specialisations/",
                f"/expertise/specialisations/{ids['old']}/archive"):
        assert staff.post(url, data={"csrf_token": csrf(page), "name": "X"}).status_code \
            == 403, url
    assert staff.get("/expertise/experts/999999").status_code == 404


def test_the_experts_are_listed_by_specialisation_and_activity(app, ids):
    def more(session, host, manager):
        anna = people.create(session, {"first_name": "Anna", "last_name": "Auto"})
        return experts.create(session, {
            "person_id": anna.id, "hourly_rate": "150,50", "internal": False,
            "active": False, "specialisation_ids": [ids["vehicles"]]}, manager).id
    other = in_session(app, more)
    staff = login(app, "staff@example.com")
    page = show(staff, "/expertise/experts/")
    assert row(page, f"expert-{other}") == "Anna Auto Vehicles external PLN150.50 inactive 0"
    found = show(staff, f"/expertise/experts/?specialisation_id={ids['vehicles']}")
    assert f"expert-{other}" in found and f"expert-{ids['expert']}" not in found
    found = show(staff, "/expertise/experts/?active=yes")
    assert f"expert-{other}" not in found and f"expert-{ids['expert']}" in found
    found = show(staff, "/expertise/experts/?active=no")
    assert f"expert-{other}" in found and f"expert-{ids['expert']}" not in found
    refused = staff.get("/expertise/experts/?specialisation_id=999999")
    assert refused.status_code == 400
    assert error_under(text(refused), "specialisation_id") == "There is no such specialisation."


# --- Departments ---------------------------------------------------------------------------

def test_a_manager_adds_and_corrects_a_department(app, ids):
    manager = login(app, "manager@example.com")
    form = show(manager, "/expertise/departments/new")
    assert options(form, "specialisation_ids") == ["Construction", "Vehicles"]  # not archived
    refused = manager.post("/expertise/departments/new", data={
        "csrf_token": csrf(form), "name": " construction  DEPARTMENT ",
        "specialisation_ids": [str(ids["old"]), "999999"], "manager_id": "999999"})
    assert refused.status_code == 422
    page = text(refused)
    assert error_under(page, "name") == "A department of this name already exists."
    assert error_under(page, "specialisation_ids") == "There is no such specialisation."
    assert error_under(page, "manager_id") == "Choose an active staff member."
    assert 'value=" construction  DEPARTMENT "' in page  # kept as typed
    response = manager.post("/expertise/departments/new", data={
        "csrf_token": csrf(form), "name": "Vehicles  department", "description": "Wyceny aut",
        "specialisation_ids": [str(ids["vehicles"]), str(ids["construction"])],
        "manager_id": str(ids["manager"])})
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        made = session.scalars(select(Department).where(
            Department.name == "Vehicles department")).one()
        assert [s.name for s in departments.specialisations_of(session, made)] == [
            "Construction", "Vehicles"]
    page = show(manager, "/expertise/departments/")
    assert "Saved." in page
    assert row(page, f"department-{made.id}").startswith(
        "Vehicles department Wyceny aut Construction, Vehicles Anna Kierownik 0 Edit")

    form = show(manager, f"/expertise/departments/{made.id}/edit")
    data = {"csrf_token": csrf(form), "name": "Vehicles department", "manager_id": "",
            "specialisation_ids": [str(ids["vehicles"])], "version": version(form)}
    assert manager.post(f"/expertise/departments/{made.id}/edit", data=data).status_code == 302
    stale = manager.post(f"/expertise/departments/{made.id}/edit", data={**data, "name": "X"})
    assert stale.status_code == 422
    assert "changed by someone else meanwhile" in text(stale)
    assert row(show(manager, "/expertise/departments/"), f"department-{made.id}").startswith(
        "Vehicles department Vehicles not named 0")


def test_a_department_with_open_inquiries_is_kept_and_an_idle_one_deleted(app, ids):
    open_inquiry(app, ids)
    idle = in_session(app, lambda s, host, m: departments.create(
        s, {"name": "Idle department"}, m).id)
    manager = login(app, "manager@example.com")
    page = show(manager, "/expertise/departments/")
    refused = manager.post(f"/expertise/departments/{ids['building']}/delete",
                           data={"csrf_token": csrf(page)})
    assert refused.status_code == 302
    page = show(manager, "/expertise/departments/")
    assert "The department has open inquiries: route them to another one first." in page
    assert f"department-{ids['building']}" in page
    manager.post(f"/expertise/departments/{idle}/delete", data={"csrf_token": csrf(page)})
    page = show(manager, "/expertise/departments/")
    assert "Department “Idle department” was moved to the bin." in page
    assert f"department-{idle}" not in page
    assert manager.get(f"/expertise/departments/{idle}/edit").status_code == 404
    # The expert named in the open inquiry's estimate is kept too.
    card = show(manager, f"/expertise/experts/{ids['expert']}")
    manager.post(f"/expertise/experts/{ids['expert']}/delete", data={"csrf_token": csrf(card)})
    assert "mark them inactive instead" in show(manager, f"/expertise/experts/{ids['expert']}")


# --- Specialisations -------------------------------------------------------------------------

def test_specialisations_are_added_renamed_and_archived(app, ids):
    manager = login(app, "manager@example.com")
    page = show(manager, "/expertise/specialisations/")
    token = csrf(page)
    refused = manager.post("/expertise/specialisations/", data={
        "csrf_token": token, "name": " CONSTRUCTION "})
    assert refused.status_code == 422
    assert error_under(text(refused), "name") == "This specialisation already exists."
    refused = manager.post("/expertise/specialisations/", data={"csrf_token": token, "name": ""})
    assert error_under(text(refused), "name") == "Enter the name of the specialisation."
    assert manager.post("/expertise/specialisations/", data={
        "csrf_token": token, "name": "Fire  safety"}).status_code == 302
    page = show(manager, "/expertise/specialisations/")
    assert "Specialisation “Fire safety” added." in page
    refused = manager.post(f"/expertise/specialisations/{ids['vehicles']}", data={
        "csrf_token": token, "name": "fire safety"})
    assert refused.status_code == 422
    assert error_under(text(refused), f"name-{ids['vehicles']}") == (
        "This specialisation already exists.")
    assert manager.post(f"/expertise/specialisations/{ids['vehicles']}", data={
        "csrf_token": token, "name": "Vehicles and machines"}).status_code == 302
    manager.post(f"/expertise/specialisations/{ids['construction']}/archive",
                 data={"csrf_token": token, "archived": "1"})
    page = show(manager, "/expertise/specialisations/")
    assert "archived: new records cannot choose it" in page
    assert row(page, f"specialisation-{ids['construction']}").startswith(
        "Construction 1 1 archived")
    # Kept where it is set, marked; not offered to a new department.
    form = show(manager, f"/expertise/departments/{ids['building']}/edit")
    assert options(form, "specialisation_ids") == [
        "Construction (archived)", "Fire safety", "Vehicles and machines"]
    assert options(show(manager, "/expertise/departments/new"), "specialisation_ids") == [
        "Fire safety", "Vehicles and machines"]
    # Renaming an archived one does not offer it again; offering it again does.
    manager.post(f"/expertise/specialisations/{ids['construction']}", data={
        "csrf_token": token, "name": "Buildings"})
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Specialisation, ids["construction"]).archived
    manager.post(f"/expertise/specialisations/{ids['construction']}/archive",
                 data={"csrf_token": token, "archived": "0"})
    assert row(show(manager, "/expertise/specialisations/"),
               f"specialisation-{ids['construction']}").startswith("Buildings 1 1 offered")


# --- Experts ---------------------------------------------------------------------------------

def _expert_form(token: str, **changes) -> dict:
    return {"csrf_token": token, "target": "", "target_id": "", "internal": "1",
            "active": "1", "department_id": "", "hourly_rate": "", "note": "",
            "absence-0-starts_on": "", "absence-0-ends_on": "", "absence-0-reason": "",
            "absence-1-starts_on": "", "absence-1-ends_on": "", "absence-1-reason": "",
            "conflict-0-kind": "organisation", "conflict-0-name": "", "conflict-0-id": "",
            "conflict-0-named": "", "conflict-0-reason": "",
            "conflict-1-kind": "organisation", "conflict-1-name": "", "conflict-1-id": "",
            "conflict-1-named": "", "conflict-1-reason": "", **changes}


def test_a_manager_adds_an_expert_picked_by_name_with_absences_and_conflicts(app, ids):
    manager = login(app, "manager@example.com")
    form = show(manager, "/expertise/experts/new")
    token = csrf(form)
    refused = manager.post("/expertise/experts/new", data=_expert_form(
        token, target="Nieznany Człowiek", hourly_rate="0",
        **{"absence-0-starts_on": "2026-05-10", "absence-0-ends_on": "2026-05-01",
           "absence-1-reason": "urlop", "conflict-0-name": "Nieznana Firma",
           "conflict-1-reason": "były pracodawca",
           "specialisation_ids": [str(ids["old"])]}))
    assert refused.status_code == 422
    page = text(refused)
    assert "Nothing was saved" in page
    assert error_under(page, "person_id") == (
        "Nothing found for “Nieznany Człowiek” among the records you may see.")
    assert error_under(page, "hourly_rate") == "Enter a rate above 0 and below 100 000."
    assert error_under(page, "absences.0.ends_on") == "The last day cannot be before the first."
    assert error_under(page, "absences.1.starts_on") == "Enter the first day."
    assert error_under(page, "conflicts.0") == (
        "Nothing found for “Nieznana Firma” among the records you may see.")
    assert error_under(page, "conflicts.1") == "Choose an organisation or a person."
    assert error_under(page, "specialisation_ids") == "There is no such specialisation."
    assert 'value="2026-05-10"' in page and 'value="były pracodawca"' in page  # kept

    # Two people called Nowak: the form asks which one.
    refused = manager.post("/expertise/experts/new", data=_expert_form(
        token, target="Nowak", hourly_rate="180,50"))
    page = text(refused)
    assert error_under(page, "person_id") == "Several records answer to this name: choose one."
    assert sorted(re.findall(r'<option value="\d+">([^<]+)</option>', re.search(
        r'<select id="f-person_id-choice".*?</select>', page, re.S).group(0))) == [
        "Adam Nowak", "Ewa Nowak"]
    ewa = ids["nowaks"][0]
    response = manager.post("/expertise/experts/new", data=_expert_form(
        token, target="Nowak", target_id=str(ewa), hourly_rate="180,50", internal="",
        note="Rzeczoznawca", specialisation_ids=[str(ids["construction"]),
                                                  str(ids["vehicles"])],
        **{"absence-0-starts_on": "2026-07-01", "absence-0-ends_on": "2026-07-14",
           "absence-0-reason": "urlop", "conflict-0-name": "budimex",
           "conflict-0-reason": "były pracodawca", "conflict-1-kind": "person",
           "conflict-1-name": "Adam Nowak"}))
    assert response.status_code == 302, text(response)
    with app.extensions["kartoteka"].session() as session:
        made = session.scalars(select(Expert).where(Expert.person_id == ewa)).one()
        assert (made.hourly_rate, made.internal, made.active) == (Decimal("180.50"), False,
                                                                  True)
    assert response.headers["Location"].endswith(f"/expertise/experts/{made.id}")
    card = show(manager, f"/expertise/experts/{made.id}")
    assert "Saved." in card
    details = section(card, "expert-details")
    assert "Construction, Vehicles" in details and "PLN180.50" in details
    assert "external" in details and "Rzeczoznawca" in details
    availability = section(card, "expert-availability")
    assert "Jul 1, 2026 – Jul 14, 2026 — urlop" in availability
    assert "Budimex Sp. z o.o. — były pracodawca" in availability
    assert "Adam Nowak" in availability


def test_an_expert_is_corrected_on_the_version_read_and_rows_cleared_go(app, ids):
    def conflicted(session, host, manager):
        expert = experts.get(session, ids["expert"])
        experts.update(session, expert, {
            "person_id": ids["jan"], "hourly_rate": "200", "department_id": ids["building"],
            "specialisation_ids": [ids["construction"]],
            "absences": [{"starts_on": "2026-08-01", "ends_on": "2026-08-02"}],
            "conflicts": [{"organisation_id": ids["client"], "reason": "spór"}]}, manager)
    in_session(app, conflicted)
    manager = login(app, "manager@example.com")
    form = show(manager, f"/expertise/experts/{ids['expert']}/edit")
    assert 'value="Jan Biegły"' in form and 'value="2026-08-01"' in form
    assert 'value="Budimex Sp. z o.o."' in form
    data = _expert_form(
        csrf(form), target="Jan Biegły", target_id=str(ids["jan"]), hourly_rate="210",
        department_id=str(ids["building"]), version=version(form),
        specialisation_ids=[str(ids["construction"])],
        **{"conflict-0-name": "Budimex Sp. z o.o.", "conflict-0-id": str(ids["client"]),
           "conflict-0-named": "Budimex Sp. z o.o.", "conflict-0-reason": "spór sądowy"})
    response = manager.post(f"/expertise/experts/{ids['expert']}/edit", data=data)
    assert response.status_code == 302, text(response)
    card = show(manager, f"/expertise/experts/{ids['expert']}")
    assert "None recorded." in section(card, "expert-availability")  # the absence cleared
    assert "Budimex Sp. z o.o. — spór sądowy" in section(card, "expert-availability")
    assert "PLN210.00" in section(card, "expert-details")
    stale = manager.post(f"/expertise/experts/{ids['expert']}/edit",
                         data={**data, "hourly_rate": "999"})
    assert stale.status_code == 422 and "changed by someone else meanwhile" in text(stale)
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Expert, ids["expert"]).hourly_rate == Decimal("210.00")

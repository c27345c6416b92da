"""The installer's reports: the pipeline by phase and value, the crews' work in
progress, and conversion from lead to contract by source; on a page and in the API,
for those with photovoltaics.reports only. Runs on SQLite and PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import cases, roles, workflow
from core.filters import today
from plugins.photovoltaics import assignments, crews, reports
from plugins.photovoltaics.process import ROOF
from tests.core.api_helpers import callers


@pytest.fixture
def sales(world):
    """Three leads from the website (one lost), two from reps (one signed)."""
    made = []
    for source, amount in (("form", "30000"), ("form", None), ("form", None),
                           ("rep", "45000"), ("rep", "25000")):
        made.append(cases.create(world.session, world.host, {
            "title": f"Lead {len(made)}", "process_key": "photovoltaics.installation",
            "amount": amount, "custom": {"photovoltaics_source": source}}, actor=world.rep))
    workflow.move(world.session, world.host, made[2], "lost", actor=world.rep)
    signed = made[3]
    world.to_offer(signed, status="accepted")
    world.move(signed, "contract")
    world.approve_contract(signed)
    world.move(signed, "advance_payment")
    return made


def test_the_pipeline_counts_and_values_each_phase(world, sales):
    lines = {line.key: line for line in reports.pipeline(world.session, world.rep)}
    assert (lines["lead"].count, lines["lead"].value) == (3, Decimal("55000"))
    assert lines["lead"].name == "lead"
    assert lines["lost"].count == 1
    assert lines["advance_payment"].count == 1
    assert lines["completed"].count == 0


def test_conversion_follows_each_source_from_lead_to_contract(world, sales):
    day = today()
    lines = {line.source: line for line in reports.conversion(
        world.session, world.rep, day - timedelta(days=1), day)}
    form, rep, total = lines["form"], lines["rep"], lines["*"]
    assert (form.leads, form.contracts, form.lost, form.rate) == (3, 0, 1, 0)
    assert (rep.leads, rep.contracts, rep.rate) == (2, 1, Decimal("0.5"))
    assert (total.leads, total.contracts, total.completed, total.lost) == (5, 1, 0, 1)
    assert reports.conversion(world.session, world.rep, day + timedelta(days=1),
                              day + timedelta(days=9))[-1].leads == 0


def test_the_crews_work_counts_jobs_ahead_and_done(world, sales):
    role = roles.create(world.session, "planner", "Planner")
    roles.set_permissions(world.session, role, [crews.PLAN])
    planner = world.user("planner@example.com", ["staff", "planner"])
    crew = crews.create(world.session, {"name": "Ekipa A", "members": [
        {"name": "Jan", "skills": ["roof", "electrical"]}]}, planner)
    part = cases.create(world.session, world.host, {
        "title": "Dach", "process_key": ROOF, "parent_id": sales[3].id})
    day = today()
    assignments.assign(world.session, world.host, part, {
        "crew_id": crew.id, "starts_on": day + timedelta(days=2),
        "ends_on": day + timedelta(days=4)}, planner)
    [line] = reports.by_crew(world.session, day)
    assert (line.name, line.planned, line.days_ahead, line.done) == ("Ekipa A", 1, 3, 0)


def test_the_reports_page_and_api_need_the_permission(app, world, sales):
    world.session.commit()
    rt = app.extensions["kartoteka"]
    api = callers(app, rt, boss={"permissions": [reports.REPORTS]}, clerk={})
    assert api.clerk("get", "/photovoltaics/reports/pipeline").status_code == 403
    pipeline = api.boss("get", "/photovoltaics/reports/pipeline").get_json()
    assert {"key": "lead", "name": "lead", "count": 3, "value": "55000.00"} in pipeline
    conversion = api.boss("get", "/photovoltaics/reports/conversion").get_json()
    assert conversion[-1]["source"] == "*" and conversion[-1]["leads"] == 5
    assert api.boss("get", "/photovoltaics/reports/crews").get_json() == []

    client = app.test_client()
    client.post("/login", data={"email": "boss@example.com", "password": "correct horse battery"})
    page = client.get("/photovoltaics/reports").text
    assert 'id="phase-lead"' in page and ">Lead</a>" in page
    assert "Website form" in page and "50%" in page
    clerk = app.test_client()
    clerk.post("/login", data={"email": "clerk@example.com", "password": "correct horse battery"})
    assert clerk.get("/photovoltaics/reports").status_code == 403

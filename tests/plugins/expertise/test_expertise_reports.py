"""The expertise reports: margin per department of the offers made in a period, the
offers waiting for approval with who is asked, the experts' hours, and the opinions'
deadlines at risk; on a page with CSV downloads and in the API, for holders of
expertise.reports over the inquiries they may see. Every test runs on SQLite and
PostgreSQL."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import approvals, cases, organisations, people, roles, tokens, users, workflow
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import AuditEntry, PhaseChange
from core.permissions import ACTIONS
from plugins.expertise import departments, estimates, experts, inquiries, reports, specialisations
from plugins.expertise.models import Absence, Assignment, Inquiry
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, text, visible

PASSWORD = "correct horse battery"
PROCESS = "expertise.inquiry"
WARSAW = ZoneInfo("Europe/Warsaw")
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["expertise"], default_locale="en",
                                 company_name="Ekspertyzy Test sp. z o.o.")


def at(year, month, day, hour=12, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


@pytest.fixture
def ids(app):
    """Committed: Maria reads the reports over everything, Olga over her own records
    only, Karol may not read them. Construction (managed by Marek) and Vehicles
    (managed by Wiktor); experts Jan Biegły (construction, 200 zł), Anna Nowak (vehicles,
    external, 150 zł), Zofia Zaręba (active, no hours) and Piotr Stary (inactive).

    Inquiries (price / cost; when the offer was made; phase now):
    - "Budynek A" (Construction): 1000 / 600, offered 10 Jan, accepted 20 Jan,
      delivered 15 Feb, invoiced; Jan 3 h;
    - "Budynek B" (Construction): 2000 / 1500, offered 1 Feb; offer; Jan 7.5 h;
    - "Auto C" (Vehicles, Olga's): 500 / 450, offered 31 Mar 23:30, accepted 2 Apr;
      its opinion is due two days ago, for the Sąd Okręgowy (I C 123/26); Anna 4 h;
    - "Auto H" (Vehicles): 800 / 100, offered 1 Apr 00:30: after the first quarter;
    - "Budynek D" (Construction): offered and delivered in 2025, invoiced; Jan 10 h;
    - "Budynek E": accepted, due in 10 days; Jan 2 h; "Budynek F": accepted, due in 30
      days; Jan 1 h; "Budynek G": delivered, due 5 days ago.
    Jan is absent 30 Mar – 5 Apr and 31 Mar; Anna 28 Dec 2025 – 3 Jan 2026.
    """
    rt = app.extensions["kartoteka"]
    t = today()
    with app.test_request_context(), rt.session() as s, s.begin():
        readers = roles.create(s, "expertise_readers", "Expertise reports")
        roles.set_permissions(s, readers, [reports.REPORTS])
        own = roles.create(s, "own_only", "Own records")
        roles.set_access(s, own, {("*", action): "own" if action != "delete" else "none"
                                  for action in ACTIONS})
        ewa = users.create_user(s, "ewa@example.com", PASSWORD, full_name="Ewa Opiekun",
                                roles=["staff"])
        olga = users.create_user(s, "olga@example.com", PASSWORD, full_name="Olga Nowicka",
                                 roles=["own_only", "expertise_readers"])
        users.create_user(s, "maria@example.com", PASSWORD, full_name="Maria Szef",
                          roles=["staff", "expertise_readers"])
        users.create_user(s, "karol@example.com", PASSWORD, full_name="Karol Biuro",
                          roles=["staff"])
        marek = users.create_user(s, "marek@example.com", PASSWORD, full_name="Marek Budowa",
                                  roles=["staff"])
        wiktor = users.create_user(s, "wiktor@example.com", PASSWORD, full_name="Wiktor Auto",
                                   roles=["staff"])
        construction = specialisations.create(s, {"name": "Construction"})
        vehicles = specialisations.create(s, {"name": "Vehicles"})
        building = departments.create(s, {"name": "Construction", "manager_id": marek.id,
                                          "specialisation_ids": [construction.id]})
        cars = departments.create(s, {"name": "Vehicles", "manager_id": wiktor.id,
                                      "specialisation_ids": [vehicles.id]})

        def expert(first, last, rate, specialisation, department=None, **data):
            person = people.create(s, {"first_name": first, "last_name": last})
            return experts.create(s, {
                "person_id": person.id, "hourly_rate": rate,
                "department_id": department.id if department else None,
                "internal": department is not None,
                "specialisation_ids": [specialisation.id], **data})

        jan = expert("Jan", "Biegły", "200.00", construction, building)
        anna = expert("Anna", "Nowak", "150.00", vehicles)
        zofia = expert("Zofia", "Zaręba", "120.00", construction, building)
        expert("Piotr", "Stary", "100.00", construction, building, active=False)
        s.add_all([Absence(expert_id=jan.id, starts_on=date(2026, 3, 30),
                           ends_on=date(2026, 4, 5)),
                   Absence(expert_id=jan.id, starts_on=date(2026, 3, 31),
                           ends_on=date(2026, 3, 31)),
                   Absence(expert_id=anna.id, starts_on=date(2025, 12, 28),
                           ends_on=date(2026, 1, 3))])
        client = organisations.create(s, rt.host, {"name": "Budimex Sp. z o.o.",
                                                   "type_key": "core.company"})
        court = organisations.create(s, rt.host, {"name": "Sąd Okręgowy w Poznaniu",
                                                  "type_key": inquiries.COURT})
        made = {}
        for (title, owner, department, price, cost, phase, steps, due, hours,
             who) in (
                ("Budynek A", ewa, building, "1000", "600", "invoiced",
                 [("offer", at(2026, 1, 10)), ("accepted", at(2026, 1, 20)),
                  ("delivered", at(2026, 2, 15)), ("invoiced", at(2026, 3, 1))],
                 None, "3", jan),
                ("Budynek B", ewa, building, "2000", "1500", "offer",
                 [("offer", at(2026, 2, 1))], None, "7.5", jan),
                ("Auto C", olga, cars, "500", "450", "accepted",
                 [("offer", at(2026, 3, 31, 23, 30)), ("accepted", at(2026, 4, 2))],
                 t - timedelta(days=2), "4", anna),
                ("Auto H", ewa, cars, "800", "100", "offer",
                 [("offer", at(2026, 4, 1, 0, 30))], None, None, None),
                ("Budynek D", ewa, building, "9999", "1", "invoiced",
                 [("offer", at(2025, 12, 1)), ("accepted", at(2025, 12, 5)),
                  ("delivered", at(2025, 12, 20)), ("invoiced", at(2025, 12, 31))],
                 None, "10", jan),
                ("Budynek E", ewa, building, "1000", "700", "accepted",
                 [("offer", at(2025, 11, 1)), ("accepted", at(2025, 11, 5))],
                 t + timedelta(days=10), "2", jan),
                ("Budynek F", ewa, building, "1000", "700", "accepted",
                 [("offer", at(2025, 11, 1)), ("accepted", at(2025, 11, 5))],
                 t + timedelta(days=30), "1", jan),
                ("Budynek G", ewa, building, "1000", "700", "delivered",
                 [("offer", at(2025, 11, 1)), ("accepted", at(2025, 11, 5)),
                  ("delivered", at(2025, 11, 20))], t - timedelta(days=5), None, None)):
            case = cases.create(s, rt.host, {
                "title": title, "process_key": PROCESS, "owner_id": owner.id,
                "organisation_id": client.id})
            # The steps before are the process's business: here only their history.
            case.phase_key, case.amount, case.cost = phase, Decimal(price), Decimal(cost)
            source = "estimate"
            for target, moment in steps:
                s.add(PhaseChange(case_id=case.id, from_phase=source, to_phase=target,
                                  at=moment))
                source = target
            s.add(Inquiry(case_id=case.id, department_id=department.id,
                          specialisation_id=(construction if department is building
                                             else vehicles).id, due_on=due,
                          court_id=court.id if title == "Auto C" else None,
                          court_reference="I C 123/26" if title == "Auto C" else ""))
            if who is not None:
                s.add(Assignment(case_id=case.id, expert_id=who.id, hours=Decimal(hours),
                                 rate=who.hourly_rate))
            made[title] = case
        s.flush()
        return {"today": t, **{title: case.id for title, case in made.items()},
                "jan": jan.id, "anna": anna.id, "zofia": zofia.id, "building": building.id,
                "cars": cars.id, "construction": construction.id, "client": client.id}


@pytest.fixture
def world(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, host=rt.host, ids=ids, t=ids["today"])
        for name in ("maria", "olga", "karol", "ewa", "marek", "wiktor"):
            setattr(w, name, users.find_by_email(session, f"{name}@example.com"))
        yield w


def margins(w, actor, first="2026-01-01", last="2026-03-31"):
    found = reports.margin_per_department(w.session, actor, first, last)
    return [(x.department, x.offers, x.price, x.cost, x.margin, x.average_margin,
             x.below_minimum, x.accepted, x.accepted_value) for x in found.lines], found


# --- Margin per department -----------------------------------------------------------

def test_margins_per_department_of_the_offers_made_in_the_period(world):
    lines, found = margins(world, world.maria)
    assert lines == [
        # 1000/600 (40%) and 2000/1500 (25%): 900 of 3000 is 30%; the average 32.5%
        ("Construction", 2, Decimal("3000.00"), Decimal("2100.00"), Decimal("30.00"),
         Decimal("32.50"), 0, 1, Decimal("1000.00")),
        # 500/450 offered at 23:30 on the last day; "Auto H" half an hour later is not
        ("Vehicles", 1, Decimal("500.00"), Decimal("450.00"), Decimal("10.00"),
         Decimal("10.00"), 1, 1, Decimal("500.00"))]
    assert found.minimum == Decimal("25.00")
    assert [x.under_minimum for x in found.lines] == [False, True]
    total = found.total
    assert (total.offers, total.price, total.cost, total.margin, total.average_margin,
            total.below_minimum, total.accepted, total.accepted_value) == (
        3, Decimal("3500.00"), Decimal("2550.00"), Decimal("27.14"), Decimal("25.00"), 1, 2,
        Decimal("1500.00"))
    assert (found.period.first, found.period.last) == (date(2026, 1, 1), date(2026, 3, 31))


def test_margins_count_only_what_the_reader_may_see_and_follow_the_minimum(world):
    lines, _found = margins(world, world.olga)
    assert [line[:3] for line in lines] == [("Vehicles", 1, Decimal("500.00"))]
    april, _found = margins(world, world.maria, "2026-04-01", "2026-04-30")
    assert april == [("Vehicles", 1, Decimal("800.00"), Decimal("100.00"), Decimal("87.50"),
                      Decimal("87.50"), 0, 0, Decimal("0.00"))]
    workflow.change_settings(world.session, world.host.processes[PROCESS],
                             {"minimum_margin": "35"})
    lines, found = margins(world, world.maria)
    assert found.minimum == Decimal("35")
    assert [(x[0], x[6]) for x in lines] == [("Construction", 1), ("Vehicles", 1)]


def test_a_bad_period_is_refused_and_the_permission_is_needed(world):
    with pytest.raises(ValidationError) as refused:
        reports.margin_per_department(world.session, world.maria, "2026-13-01", "2026-01-01")
    assert refused.value.errors == {"from": "Give a date as YYYY-MM-DD."}
    with pytest.raises(ValidationError) as refused:
        reports.expert_utilisation(world.session, world.maria, "2026-03-01", "2026-01-01")
    assert refused.value.errors == {"to": "The period cannot end before it starts."}
    with pytest.raises(ValidationError) as refused:
        reports.deadlines_at_risk(world.session, world.maria, world.t, days=-1)
    assert refused.value.errors == {"days": "Give a whole number of days from 0 to 366."}
    for report in (lambda a: reports.margin_per_department(world.session, a, None, None),
                   lambda a: reports.offers_waiting(world.session, a),
                   lambda a: reports.expert_utilisation(world.session, a, None, None),
                   lambda a: reports.deadlines_at_risk(world.session, a, world.t)):
        with pytest.raises(Forbidden):
            report(world.karol)


# --- Offers waiting ------------------------------------------------------------------

def estimated(w, title, margin):
    """A new inquiry of Ewa's, routed to Construction, Jan's 10 hours priced at the
    margin, its approval asked for."""
    case = cases.create(w.session, w.host, {
        "title": title, "process_key": PROCESS, "owner_id": w.ewa.id,
        "organisation_id": w.ids["client"]}, actor=w.ewa)
    case.phase_key = "routed"
    inquiry = inquiries.of_case(w.session, case)
    inquiry.specialisation_id, inquiry.department_id = (w.ids["construction"],
                                                        w.ids["building"])
    w.session.flush()
    estimates.estimate(w.session, case, {
        "experts": [{"expert_id": w.ids["jan"], "hours": "10"}], "margin": margin},
        actor=w.ewa)
    case.phase_key = "estimate"
    w.session.flush()
    return case, approvals.request(w.session, w.host, case, "offer", actor=w.ewa)


def test_offers_waiting_name_the_manager_or_the_board_and_the_days(world):
    w = world
    estimators = roles.create(w.session, "estimators", "Estimators")
    roles.set_permissions(w.session, estimators, ["core.calculate"])
    roles.assign(w.session, w.ewa, ["staff", "estimators"])
    board = users.create_user(w.session, "board@example.com", PASSWORD,
                              full_name="Zenon Zarząd", roles=["staff"])
    roles.create(w.session, "expertise_board", "Board")
    roles.assign(w.session, board, ["expertise_board"])
    good, first = estimated(w, "Dobra marża", "40")
    poor, asked = estimated(w, "Niska marża", "20")
    approvals.decide(w.session, w.host, asked, "approve", w.marek)
    (second,) = [r for r in approvals.requests(w.session, poor) if r.status == "pending"]
    first.requested_at -= timedelta(days=3)
    w.session.flush()

    found = reports.offers_waiting(w.session, w.maria)
    assert [(x.title, x.department, x.amount, x.margin, x.level, x.approver_id, x.approver,
             x.days_waiting, x.requested_by) for x in found] == [
        ("Dobra marża", "Construction", Decimal("3333.40"), Decimal("40.00"), "manager",
         w.marek.id, "Marek Budowa", 3, "Ewa Opiekun"),
        ("Niska marża", "Construction", Decimal("2500.00"), Decimal("20.00"), "board",
         board.id, "Zenon Zarząd", 0, "Marek Budowa")]
    assert found[1].request_id == second.id
    assert reports.offers_waiting(w.session, w.olga) == []
    approvals.decide(w.session, w.host, first, "approve", w.marek)
    assert [x.title for x in reports.offers_waiting(w.session, w.maria)] == ["Niska marża"]


# --- Expert utilisation --------------------------------------------------------------

def test_utilisation_sums_the_hours_of_open_and_delivered_inquiries(world):
    w = world
    found = reports.expert_utilisation(w.session, w.maria, "2026-01-01", "2026-03-31")
    assert [(x.name, x.department, x.rate, x.open_hours, x.open_inquiries,
             x.delivered_hours, x.delivered, x.absence_days) for x in found.experts] == [
        # B 7.5 + E 2 + F 1 open; A delivered on 15 Feb; D was delivered in 2025
        ("Jan Biegły", "Construction", Decimal("200.00"), Decimal("10.50"), 3,
         Decimal("3.00"), 1, 2),
        ("Anna Nowak", "", Decimal("150.00"), Decimal("4.00"), 1, Decimal("0.00"), 0, 3),
        ("Zofia Zaręba", "Construction", Decimal("120.00"), Decimal("0.00"), 0,
         Decimal("0.00"), 0, 0)]
    assert (found.open_hours, found.delivered_hours) == (Decimal("14.50"), Decimal("3.00"))
    mine = reports.expert_utilisation(w.session, w.olga, "2026-01-01", "2026-03-31")
    assert [(x.name, x.open_hours) for x in mine.experts][:2] == [
        ("Anna Nowak", Decimal("4.00")), ("Jan Biegły", Decimal("0.00"))]
    december = reports.expert_utilisation(w.session, w.maria, "2025-12-01", "2025-12-31")
    jan = next(x for x in december.experts if x.name == "Jan Biegły")
    assert (jan.delivered_hours, jan.delivered, jan.absence_days) == (Decimal("10.00"), 1, 0)


# --- Deadlines at risk ---------------------------------------------------------------

def test_deadlines_at_risk_are_overdue_and_near_opinions_being_prepared(world):
    w = world
    found = reports.deadlines_at_risk(w.session, w.maria, w.t)
    assert [(x.title, x.days_left, x.overdue, x.court, x.court_reference, x.department,
             x.experts, x.owner) for x in found] == [
        ("Auto C", -2, True, "Sąd Okręgowy w Poznaniu", "I C 123/26", "Vehicles",
         ["Anna Nowak"], "Olga Nowicka"),
        ("Budynek E", 10, False, "", "", "Construction", ["Jan Biegły"], "Ewa Opiekun")]
    # F is due in 30 days, G is delivered
    assert [x.title for x in reports.deadlines_at_risk(w.session, w.maria, w.t, 30)] == [
        "Auto C", "Budynek E", "Budynek F"]
    assert [x.title for x in reports.deadlines_at_risk(w.session, w.maria, w.t, 0)] == [
        "Auto C"]
    (mine,) = reports.deadlines_at_risk(w.session, w.olga, w.t)
    assert (mine.title, mine.court) == ("Auto C", "")  # the court is not hers to see


# --- The page and its downloads ------------------------------------------------------

def login(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def row(page: str, row_id: str) -> str:
    """What a reader sees of the table row ``row_id``, spaces squashed (amounts too)."""
    found = page[page.rindex("<tr", 0, page.index(f'id="{row_id}"')):]
    return " ".join(visible(found[:found.index("</tr>")]).replace("\xa0", " ").split())


def test_the_report_page_shows_every_report(app, ids):
    client = login(app, "maria@example.com")
    response = client.get("/expertise/reports/?from=2026-01-01&to=2026-03-31")
    assert response.status_code == 200
    page = text(response)
    assert row(page, f"margin-{ids['building']}") == (
        "Construction 2 PLN3,000.00 PLN2,100.00 30.00% 32.50% 0 1 PLN1,000.00")
    assert row(page, "margin-total") == (
        "Total 3 PLN3,500.00 PLN2,550.00 27.14% 25.00% 1 2 PLN1,500.00")
    assert row(page, f"expert-{ids['jan']}") == (
        "Jan Biegły Construction PLN200.00 10.5 3 3 1 2")
    assert row(page, f"deadline-{ids['Auto C']}").endswith(
        "Auto C Olga Nowicka Sąd Okręgowy w Poznaniu I C 123/26 Vehicles Anna Nowak -2")
    assert f'id="deadline-{ids["Budynek F"]}"' not in page
    assert "No offer is waiting." in page


def test_the_report_page_needs_the_permission_and_names_bad_filters(app, ids):
    karol = login(app, "karol@example.com")
    assert karol.get("/expertise/reports/").status_code == 403
    assert karol.get("/expertise/reports/margins.csv").status_code == 403
    client = login(app, "maria@example.com")
    response = client.get("/expertise/reports/?from=2026-13-01&days=x")
    assert response.status_code == 400
    page = text(response)
    assert error_under(page, "from") == "Give a date as YYYY-MM-DD."
    assert error_under(page, "days") == "Give a whole number of days from 0 to 366."
    assert 'id="margin-total"' not in page
    refused = client.get("/expertise/reports/?from=2026-03-01&to=2026-01-01")
    assert refused.status_code == 400
    assert error_under(text(refused), "to") == "The period cannot end before it starts."
    assert client.get("/expertise/reports/sales.csv").status_code == 404


def test_the_reports_download_as_csv_and_the_download_is_audited(app, ids):
    client = login(app, "maria@example.com")
    response = client.get("/expertise/reports/margins.csv?from=2026-01-01&to=2026-03-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.decode("utf-8") == (
        "\ufeffDepartment,Offers made,Price,Cost,Margin (%),Average margin (%),"
        "Minimum margin (%),Offers below the minimum,Accepted,Accepted value\r\n"
        "Construction,2,3000.00,2100.00,30.00,32.50,25.00,0,1,1000.00\r\n"
        "Vehicles,1,500.00,450.00,10.00,10.00,25.00,1,1,500.00\r\n"
        "Total,3,3500.00,2550.00,27.14,25.00,25.00,1,2,1500.00\r\n")
    excel = client.get("/expertise/reports/margins.csv?from=2026-01-01&to=2026-03-31"
                       "&excel=pl")
    assert excel.data.decode("utf-8").splitlines()[1] == (
        "Construction;2;3000,00;2100,00;30,00;32,50;25,00;0;1;1000,00")
    utilisation = client.get("/expertise/reports/utilisation.csv?from=2026-01-01"
                             "&to=2026-03-31").data.decode("utf-8").splitlines()
    assert utilisation[1] == f"Jan Biegły,Construction,200.00,10.50,3,3.00,1,2,{ids['jan']}"
    deadlines = client.get("/expertise/reports/deadlines.csv").data.decode(
        "utf-8").splitlines()
    assert deadlines[1].split(",")[1:8] == [
        "-2", "Auto C", "Sąd Okręgowy w Poznaniu", "I C 123/26", "Vehicles", "Anna Nowak",
        "Olga Nowicka"]
    assert len(deadlines) == 3
    waiting = client.get("/expertise/reports/waiting.csv").data.decode("utf-8")
    assert waiting.splitlines()[0].startswith("\ufeffInquiry,Department,Amount,Margin")
    rt = app.extensions["kartoteka"]
    with rt.session() as s:
        trail = s.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "expertise_report").order_by(AuditEntry.id)).all()
    assert [(e.action, e.changes["report"], e.changes["rows"]) for e in trail] == [
        ("export", "margins", 3), ("export", "margins", 3), ("export", "utilisation", 3),
        ("export", "deadlines", 2), ("export", "waiting", 0)]
    refused = client.get("/expertise/reports/margins.csv?to=2026-13-01")
    assert refused.status_code == 400 and error_under(text(refused), "to")


# --- The API -------------------------------------------------------------------------

@pytest.fixture
def api(app, ids):
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        made = {name: tokens.create(s, users.find_by_email(s, f"{name}@example.com"), "t")[1]
                for name in ("maria", "olga", "karol")}
    return SimpleNamespace(**{name: caller(app.test_client(), token)
                              for name, token in made.items()})


def test_the_api_gives_the_margins_and_the_utilisation(api, ids):
    response = api.maria("get", "/expertise/reports/margins?from=2026-01-01&to=2026-03-31")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["minimum"]) == ("2026-01-01", "2026-03-31",
                                                          "25.00")
    assert [(x["department_id"], x["offers"], x["price"], x["cost"], x["margin"],
             x["average_margin"], x["under_minimum"]) for x in body["lines"]] == [
        (ids["building"], 2, "3000.00", "2100.00", "30.00", "32.50", False),
        (ids["cars"], 1, "500.00", "450.00", "10.00", "10.00", True)]
    assert (body["total"]["margin"], body["total"]["accepted_value"]) == ("27.14", "1500.00")
    mine = api.olga("get", "/expertise/reports/margins?from=2026-01-01&to=2026-03-31")
    assert [x["department"] for x in mine.get_json()["lines"]] == ["Vehicles"]
    used = api.maria("get", "/expertise/reports/utilisation?from=2026-01-01&to=2026-03-31")
    assert [(x["name"], x["open_hours"], x["delivered_hours"])
            for x in used.get_json()["experts"]][:2] == [
        ("Jan Biegły", "10.50", "3.00"), ("Anna Nowak", "4.00", "0.00")]


def test_the_api_gives_waiting_offers_and_deadlines(api, ids):
    assert api.maria("get", "/expertise/reports/waiting").get_json() == []
    found = api.maria("get", "/expertise/reports/deadlines?days=30").get_json()
    assert [(x["case_id"], x["days_left"], x["overdue"]) for x in found] == [
        (ids["Auto C"], -2, True), (ids["Budynek E"], 10, False), (ids["Budynek F"], 30, False)]
    assert found[0]["experts"] == ["Anna Nowak"]
    assert len(api.maria("get", "/expertise/reports/deadlines").get_json()) == 2


def test_the_api_refuses_without_the_permission_and_names_bad_parameters(api):
    for path in ("/expertise/reports/margins", "/expertise/reports/waiting",
                 "/expertise/reports/utilisation", "/expertise/reports/deadlines"):
        assert api.karol("get", path).status_code == 403, path
    refused = api.maria("get", "/expertise/reports/margins?from=2026-03-01&to=2026-01-01")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"to": "The period cannot end before it starts."}
    refused = api.maria("get", "/expertise/reports/utilisation?from=yesterday&to=2026-02-30")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"from": "Give a date as YYYY-MM-DD.",
                                            "to": "Give a date as YYYY-MM-DD."}
    refused = api.maria("get", "/expertise/reports/deadlines?days=400")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "days": "Give a whole number of days from 0 to 366."}

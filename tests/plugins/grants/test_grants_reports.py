"""The grants reports: grants won per month, quarter or year of the day awarded, the
clients in their durability period with their indicators' latest values and next
report, the overdue payment requests and durability reports, and the clients at risk;
on a page with CSV downloads and in the API, for holders of grants.reports over the
applications they may see. Every test runs on SQLite and PostgreSQL."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core import cases, organisations, report_periods, roles, tokens, users
from core.errors import Forbidden, ValidationError
from core.filters import today
from core.models import AuditEntry
from core.permissions import ACTIONS
from plugins.grants import fields, reports
from plugins.grants.models import DurabilityReport, Indicator, IndicatorValue, PaymentRequest
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, text, visible

PASSWORD = "correct horse battery"
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed: Maria reads the reports over everything, Olga over her own records
    only, Karol may not read them. Applications, with the grant awarded and the day:

    - "Linia lakiernicza" (Ewa, Stolarnia; agreement): 100 000.00 on 2026-01-15;
      payment request 1 planned and due 5 days ago, 2 submitted and due 20 days ago;
    - "Hala magazynowa" (Ewa, Stolarnia; durability): 250 000.50 on 2026-02-03; jobs
      created 2 of 3, export sales 600 000 of 500 000 in the delivered report of 2025;
      the report of 2026 was due 10 days ago, the one of 2027 is due in 355 days;
    - "Piec konwekcyjny" (Olga, Piekarnia; awarded): 50 000.00 on 2026-02-20; its
      advance is due in 30 days;
    - "Maszyna CNC" (rejected) and "Drukarka UV" (evaluation) with a day in March, and
      "Stara dotacja" (closed) awarded on 2025-12-30: none counted in the first quarter.
    """
    rt = app.extensions["kartoteka"]
    t = today()
    with app.test_request_context(), rt.session() as s, s.begin():
        readers = roles.create(s, "grants_readers", "Grants reports")
        roles.set_permissions(s, readers, [reports.REPORTS])
        own = roles.create(s, "own_only", "Own records")
        roles.set_access(s, own, {("*", action): "own" if action != "delete" else "none"
                                  for action in ACTIONS})
        ewa = users.create_user(s, "ewa@example.com", PASSWORD, full_name="Ewa Doradca")
        olga = users.create_user(s, "olga@example.com", PASSWORD, full_name="Olga Nowicka",
                                 roles=["own_only", "grants_readers"])
        users.create_user(s, "maria@example.com", PASSWORD, full_name="Maria Szef",
                                  roles=["staff", "grants_readers"])
        users.create_user(s, "karol@example.com", PASSWORD, full_name="Karol Biuro")
        firm = {name: organisations.create(s, rt.host, {
            "name": name, "type_key": "core.company",
            "owner_id": olga.id if name == "Piekarnia Zawada" else None},
            allow_duplicates=True)
            for name in ("Stolarnia Nowak", "Piekarnia Zawada", "Drukarnia Kolor")}
        made = {}
        for title, owner, client, phase, amount, day in (
                ("Linia lakiernicza", ewa, "Stolarnia Nowak", "agreement", "100000.00",
                 "2026-01-15"),
                ("Hala magazynowa", ewa, "Stolarnia Nowak", "durability", "250000.50",
                 "2026-02-03"),
                ("Piec konwekcyjny", olga, "Piekarnia Zawada", "awarded", "50000",
                 "2026-02-20"),
                ("Maszyna CNC", ewa, "Drukarnia Kolor", "rejected", "70000", "2026-03-01"),
                ("Drukarka UV", ewa, "Drukarnia Kolor", "evaluation", "90000", "2026-03-10"),
                ("Stara dotacja", ewa, "Stolarnia Nowak", "closed", "80000", "2025-12-30")):
            case = cases.create(s, rt.host, {
                "title": title, "process_key": fields.APPLICATION, "owner_id": owner.id,
                "organisation_id": firm[client].id,
                "custom": {fields.AWARDED: amount, fields.AWARDED_ON: day,
                           fields.DURABILITY_YEARS: 3}})
            case.phase_key = phase  # the steps before are the other parts' business
            made[title] = case
        s.flush()
        line, hall, oven = (made[k] for k in ("Linia lakiernicza", "Hala magazynowa",
                                              "Piec konwekcyjny"))
        s.add_all([
            PaymentRequest(case_id=line.id, position=1, kind="advance", status="planned",
                           amount=Decimal("40000"), due_on=t - timedelta(days=5)),
            PaymentRequest(case_id=line.id, position=2, kind="interim", status="submitted",
                           amount=Decimal("60000"), due_on=t - timedelta(days=20)),
            PaymentRequest(case_id=oven.id, position=1, kind="advance", status="planned",
                           amount=Decimal("10000"), due_on=t + timedelta(days=30))])
        jobs = Indicator(case_id=hall.id, position=1, name="Nowe miejsca pracy",
                         unit="etaty", target=Decimal(3))
        sales = Indicator(case_id=hall.id, position=2, name="Sprzedaż eksportowa",
                          unit="PLN", target=Decimal(500000))
        delivered, missed, later = (
            DurabilityReport(case_id=hall.id, position=n, period_start=date(year, 1, 1),
                             period_end=date(year, 12, 31), due_on=t + timedelta(days=days),
                             status=status,
                             delivered_on=t - timedelta(days=300) if status == "delivered"
                             else None)
            for n, year, days, status in ((1, 2025, -340, "delivered"), (2, 2026, -10, "due"),
                                          (3, 2027, 355, "due")))
        s.add_all([jobs, sales, delivered, missed, later])
        s.flush()
        s.add_all([IndicatorValue(report_id=delivered.id, indicator_id=jobs.id,
                                  value=Decimal(2)),
                   IndicatorValue(report_id=delivered.id, indicator_id=sales.id,
                                  value=Decimal(600000))])
        return {"today": t, "jobs": jobs.id, "sales": sales.id, "missed": missed.id,
                **{title: case.id for title, case in made.items()},
                "stolarnia": firm["Stolarnia Nowak"].id}


@pytest.fixture
def world(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, ids=ids, t=ids["today"])
        for name in ("maria", "olga", "karol"):
            setattr(w, name, users.find_by_email(session, f"{name}@example.com"))
        yield w


def q1():
    return report_periods.period(Q1["from"], Q1["to"])


# --- Grants won ----------------------------------------------------------------------

def test_grants_won_are_counted_and_summed_by_month_of_the_day_awarded(world):
    won = reports.grants_won(world.session, world.maria, q1(), "month")
    assert [(x.label, x.count, x.amount) for x in won.lines] == [
        ("2026-01", 1, Decimal("100000.00")), ("2026-02", 2, Decimal("300000.50")),
        ("2026-03", 0, Decimal(0))]
    assert (won.count, won.totals) == (3, {"PLN": Decimal("400000.50")})
    assert [(a.title, a.awarded_on, a.amount, a.client, a.owner) for a in won.awards] == [
        ("Linia lakiernicza", date(2026, 1, 15), Decimal("100000.00"), "Stolarnia Nowak",
         "Ewa Doradca"),
        ("Hala magazynowa", date(2026, 2, 3), Decimal("250000.50"), "Stolarnia Nowak",
         "Ewa Doradca"),
        ("Piec konwekcyjny", date(2026, 2, 20), Decimal("50000"), "Piekarnia Zawada",
         "Olga Nowicka")]


def test_grants_won_by_quarter_and_year(world):
    by_quarter = reports.grants_won(world.session, world.maria,
                                    report_periods.period("2025-10-01", "2026-06-30"), "quarter")
    assert [(x.label, x.count, x.amount) for x in by_quarter.lines] == [
        ("2025 Q4", 1, Decimal("80000")), ("2026 Q1", 3, Decimal("400000.50")),
        ("2026 Q2", 0, Decimal(0))]
    by_year = reports.grants_won(world.session, world.maria,
                                 report_periods.period("2025-01-01", "2026-12-31"), "year")
    assert [(x.label, x.count) for x in by_year.lines] == [("2025", 1), ("2026", 3)]


def test_grants_won_count_only_what_the_reader_may_see(world):
    won = reports.grants_won(world.session, world.olga, q1())
    assert [(x.label, x.count, x.amount) for x in won.lines if x.count] == [
        ("2026-02", 1, Decimal("50000"))]
    assert [a.title for a in won.awards] == ["Piec konwekcyjny"]


def test_a_bad_period_or_grouping_is_refused_and_the_permission_is_needed(world):
    with pytest.raises(ValidationError) as refused:
        report_periods.period("2026-13-01", "2026-01-01")
    assert refused.value.errors == {"from": "Give a date as YYYY-MM-DD."}
    with pytest.raises(ValidationError) as refused:
        report_periods.period("2026-03-01", "2026-01-01")
    assert refused.value.errors == {"to": "The period cannot end before it starts."}
    with pytest.raises(ValidationError) as refused:
        reports.grants_won(world.session, world.maria, q1(), "week")
    assert refused.value.errors == {"by": "Sum by month, quarter or year."}
    for report in (lambda a: reports.grants_won(world.session, a, q1()),
                   lambda a: reports.in_durability(world.session, a),
                   lambda a: reports.overdue(world.session, a),
                   lambda a: reports.at_risk(world.session, a)):
        with pytest.raises(Forbidden):
            report(world.karol)


# --- Durability, overdue, at risk ----------------------------------------------------

def test_clients_in_durability_with_their_indicators_and_next_report(world):
    w = world
    (entry,) = reports.in_durability(w.session, w.maria)
    assert (entry.title, entry.client, entry.owner, entry.years, entry.delivered,
            entry.due) == ("Hala magazynowa", "Stolarnia Nowak", "Ewa Doradca", 3, 1, 2)
    assert [(i.name, i.target, i.latest, i.latest_period_end, i.reached)
            for i in entry.indicators] == [
        ("Nowe miejsca pracy", Decimal(3), Decimal(2), date(2025, 12, 31), False),
        ("Sprzedaż eksportowa", Decimal(500000), Decimal(600000), date(2025, 12, 31), True)]
    report = entry.next_report
    assert (report.report_id, report.position, report.due_on, report.days_left,
            report.overdue) == (w.ids["missed"], 2, w.t - timedelta(days=10), -10, True)
    assert reports.in_durability(w.session, w.olga) == []


def test_overdue_obligations_are_payment_requests_and_reports_past_their_date(world):
    w = world
    found = reports.overdue(w.session, w.maria)
    assert [(o.kind, o.application, o.days_left) for o in found.obligations] == [
        ("durability_report", "Hala magazynowa", -10),
        ("payment_request", "Linia lakiernicza", -5)]
    assert found.counts == {"payment_request": 1, "durability_report": 1}
    assert reports.overdue(w.session, w.olga).obligations == []
    in_a_month = reports.overdue(w.session, w.olga, today=w.t + timedelta(days=31))
    assert [o.application for o in in_a_month.obligations] == ["Piec konwekcyjny"]


def test_a_client_with_a_missed_report_is_at_risk(world):
    w = world
    (risk,) = reports.at_risk(w.session, w.maria)
    assert (risk.case_id, risk.title, risk.client, risk.owner) == (
        w.ids["Hala magazynowa"], "Hala magazynowa", "Stolarnia Nowak", "Ewa Doradca")
    assert len(risk.reasons) == 2  # the report overdue; the jobs below their target
    assert "overdue" in risk.reasons[0] and "Nowe miejsca pracy" in risk.reasons[1]
    assert reports.at_risk(w.session, w.olga) == []
    w.session.get(DurabilityReport, w.ids["missed"]).status = "delivered"
    w.session.flush()
    (risk,) = reports.at_risk(w.session, w.maria)  # the jobs are still below the target
    assert len(risk.reasons) == 1 and "Nowe miejsca pracy" in risk.reasons[0]


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
    response = client.get("/grants/reports/?from=2026-01-01&to=2026-03-31")
    assert response.status_code == 200
    page = text(response)
    assert row(page, "won-2026-02-01") == "2026-02 2 PLN300,000.50"
    assert row(page, "won-2026-03-01") == "2026-03 0 PLN0.00"
    assert row(page, "won-total") == "Total 3 PLN400,000.50"
    assert "Piec konwekcyjny" in row(page, f"award-{ids['Piec konwekcyjny']}")
    hall = row(page, f"durability-{ids['Hala magazynowa']}")
    assert "Nowe miejsca pracy: 2 / 3 etaty below the target" in hall
    assert "Sprzedaż eksportowa: 600000 / 500000 PLN" in hall
    assert "overdue since" in hall
    assert "Linia lakiernicza" in page[page.index('id="overdue"'):]
    assert "Hala magazynowa" in row(page, f"risk-{ids['Hala magazynowa']}")
    by_quarter = text(client.get("/grants/reports/?from=2026-01-01&to=2026-03-31&by=quarter"))
    assert row(by_quarter, "won-2026-01-01") == "2026 Q1 3 PLN400,000.50"


def test_the_report_page_needs_the_permission_and_names_bad_filters(app, ids):
    assert login(app, "karol@example.com").get("/grants/reports/").status_code == 403
    assert login(app, "karol@example.com").get("/grants/reports/won.csv").status_code == 403
    client = login(app, "maria@example.com")
    response = client.get("/grants/reports/?from=2026-13-01&by=week")
    assert response.status_code == 400
    page = text(response)
    assert error_under(page, "from") == "Give a date as YYYY-MM-DD."
    assert error_under(page, "by") == "Sum by month, quarter or year."
    assert 'id="won-total"' not in page
    assert client.get("/grants/reports/?from=2026-03-01&to=2026-01-01").status_code == 400
    assert client.get("/grants/reports/sales.csv").status_code == 404


def test_the_reports_download_as_csv_and_the_download_is_audited(app, ids):
    client = login(app, "maria@example.com")
    response = client.get("/grants/reports/won.csv?from=2026-01-01&to=2026-03-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.decode("utf-8") == (
        "\ufeffPeriod,Currency,Grants awarded,Amount awarded\r\n"
        "2026-01,PLN,1,100000.00\r\n2026-02,PLN,2,300000.50\r\n2026-03,PLN,0,0\r\n")
    excel = client.get("/grants/reports/won.csv?from=2026-01-01&to=2026-03-31&excel=pl")
    assert excel.data.decode("utf-8").splitlines()[2] == "2026-02;PLN;2;300000,50"
    overdue = client.get("/grants/reports/overdue.csv").data.decode("utf-8").splitlines()
    assert overdue[1].split(",")[1:5] == ["10", "Durability report 2026", "Stolarnia Nowak",
                                          "Hala magazynowa"]
    durability = client.get("/grants/reports/durability.csv").data.decode("utf-8")
    assert durability.splitlines()[1].split(",")[4:9] == [
        "Nowe miejsca pracy", "etaty", "0.0000", "3.0000", "2.0000"]
    risk = client.get("/grants/reports/at-risk.csv").data.decode("utf-8").splitlines()
    assert risk[1].startswith("Stolarnia Nowak,Hala magazynowa,Ewa Doradca,")
    awards = client.get("/grants/reports/awards.csv?from=2026-01-01&to=2026-03-31")
    assert len(awards.data.decode("utf-8").splitlines()) == 4
    rt = app.extensions["kartoteka"]
    with rt.session() as s:
        trail = s.scalars(select(AuditEntry).where(AuditEntry.record_type == "grants_report")
                          .order_by(AuditEntry.id)).all()
    assert [(e.action, e.changes["report"], e.changes["rows"]) for e in trail] == [
        ("export", "won", 3), ("export", "won", 3), ("export", "overdue", 2),
        ("export", "durability", 2), ("export", "at-risk", 1), ("export", "awards", 3)]
    refused = client.get("/grants/reports/won.csv?to=2026-13-01")
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


def test_the_api_gives_grants_won(api):
    response = api.maria("get", "/grants/reports/won?from=2026-01-01&to=2026-03-31&by=quarter")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["by"], body["count"]) == (
        "2026-01-01", "2026-03-31", "quarter", 3)
    assert [(x["label"], x["count"], x["amount"]) for x in body["lines"]] == [
        ("2026 Q1", 3, "400000.50")]
    assert body["totals"] == [{"currency": "PLN", "amount": "400000.50"}]
    assert [a["title"] for a in body["awards"]] == ["Linia lakiernicza", "Hala magazynowa",
                                                    "Piec konwekcyjny"]
    mine = api.olga("get", "/grants/reports/won?from=2026-01-01&to=2026-03-31").get_json()
    assert mine["count"] == 1


def test_the_api_gives_durability_overdue_and_at_risk(api, ids):
    (entry,) = api.maria("get", "/grants/reports/durability").get_json()
    assert (entry["title"], entry["next_report"]["overdue"], entry["due"]) == (
        "Hala magazynowa", True, 2)
    assert [(i["name"], i["latest"], i["reached"]) for i in entry["indicators"]] == [
        ("Nowe miejsca pracy", "2.0000", False), ("Sprzedaż eksportowa", "600000.0000", True)]
    overdue = api.maria("get", "/grants/reports/overdue").get_json()
    assert [(o["kind"], o["days_left"]) for o in overdue["obligations"]] == [
        ("durability_report", -10), ("payment_request", -5)]
    assert overdue["counts"] == {"payment_request": 1, "durability_report": 1}
    (risk,) = api.maria("get", "/grants/reports/at-risk").get_json()
    assert (risk["case_id"], len(risk["reasons"])) == (ids["Hala magazynowa"], 2)
    assert api.olga("get", "/grants/reports/at-risk").get_json() == []


def test_the_api_refuses_without_the_permission_and_names_bad_parameters(api):
    for path in ("/grants/reports/won", "/grants/reports/durability",
                 "/grants/reports/overdue", "/grants/reports/at-risk"):
        assert api.karol("get", path).status_code == 403, path
    refused = api.maria("get", "/grants/reports/won?from=2026-03-01&to=2026-01-01")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"to": "The period cannot end before it starts."}
    refused = api.maria("get", "/grants/reports/won?by=week&from=yesterday")
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"by", "from"}

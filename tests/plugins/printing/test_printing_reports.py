"""The printing house's reports and the reps' sales picture: calculations waiting for
approval by age, the account managers' win rate with the open projects apart, the
complaint rate of each product, and visits, calls, offers and wins per rep and
voivodeship; on a page and in the API, for holders of printing.reports over the
projects they may see. Every test runs on SQLite and PostgreSQL."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select

from core import (
    approvals,
    calculations,
    cases,
    documents,
    invoices,
    memberships,
    organisations,
    people,
    places,
    price_lists,
    report_periods,
    roles,
    teams,
    timeline,
    users,
    workflow,
)
from core.db import utcnow
from core.errors import ValidationError
from core.filters import today
from core.models import DocumentTemplate, Place
from plugins.printing import price_list, regions, reports
from tests.core.api_helpers import callers

PASSWORD = "correct horse battery"
PROJECT = "printing.project"
COMPLAINT = "printing.complaint"
PATH = ("calculation", "offer", "order", "production", "delivery", "closed")
CONFIRMED = {"printing_documents_received": "service", "printing_delivered": "accountant"}
_place_ids = count(700_000)


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(["printing"], default_locale="en",
                                 company_name="Drukarnia Test sp. z o.o.")
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():  # printed from the house's own designs
        workflow.change_settings(session, rt.host.processes["printing.project"],
                                 {"check.printing.files_checked": "off"}, actor=None)
    return app


@pytest.fixture
def world(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt.host, rt.settings)


class World:
    """The sales line (a board member, the sales director, two reps, the one reporting
    to the other), a manager who reads the reports, a clerk who does not, customer
    service and accounting who confirm the projects' documents and deliveries; the
    product price list; customers in Greater Poland, in Warsaw (by the gazetteer) and
    abroad."""

    def __init__(self, session, host, settings):
        self.session, self.host, self.settings = session, host, settings
        for key, name in (("printing_board", "Board"),
                          ("printing_sales_director", "Sales director")):
            roles.create(session, key, name)
        sales = roles.create(session, "sales", "Sales")
        roles.set_permissions(session, sales, [calculations.PERMISSION])
        reading = roles.create(session, "reading", "Reports")
        roles.set_permissions(session, reading, [reports.REPORTS])
        self.board = self.user("board@example.com", "Barbara Zarząd", ["printing_board"])
        self.director = self.user("director@example.com", "Piotr Dyrektor",
                                  ["printing_sales_director"], self.board)
        self.ewa = self.user("ewa@example.com", "Ewa Kowalczyk", ["sales"], self.director)
        self.marek = self.user("marek@example.com", "Marek Wiśniewski", ["sales"], self.ewa)
        self.manager = self.user("manager@example.com", "Maria Kierownik", ["reading"])
        accounting = roles.create(session, "accounting", "Accounting")
        roles.set_permissions(session, accounting, ["core.billing"])
        self.accountant = self.user("accounting@example.com", "Alicja Księgowa",
                                    ["accounting"])
        service = roles.create(session, "customer_service", "Customer service")
        roles.set_permissions(session, service, ["printing.confirm_documents"])
        self.service = self.user("service@example.com", "Celina Obsługa",
                                 ["customer_service"])
        self.clerk = self.user("clerk@example.com", "Karol Biuro", [])
        products = price_list.PRODUCTS
        self.banner, self.eyelets, self.rollup = (
            price_lists.create(session, products, {"code": code, "name": name,
                                                   "category": category, "unit": unit,
                                                   "net_price": price})
            for code, name, category, unit, price in (
                ("FL-510", "Banner frontlit 510 g", "media", "m2", "40.00"),
                ("OCZ", "Eyelets", "finishing", "szt.", "0.50"),
                ("RU-85", "Roll-up 85×200", "print", "szt.", "150.00")))
        session.add(Place(place_id=next(_place_ids), country="PL", name="Warsaw",
                          name_key=places.key("Warszawa"), region_code="78", latitude=52.23,
                          longitude=21.01, longitude_km=places.longitude_km(52.23),
                          population=1_700_000, principal=True))
        self.kreska = self.organisation("Agencja Kreska", city="Poznań",
                                        region="Województwo wielkopolskie")
        self.mazovia = self.organisation("Reklama Mazowsze", city="Warszawa")
        self.berlin = self.organisation("Werbung GmbH", city="Berlin", country="DE")

    def user(self, email, name, role_keys, supervisor=None):
        user = users.create_user(self.session, email, PASSWORD, full_name=name,
                                 roles=["staff", *role_keys])
        user.supervisor_id = supervisor.id if supervisor else None
        self.session.flush()
        return user

    def organisation(self, name, **data):
        return organisations.create(self.session, self.host, {
            "name": name, "type_key": "core.company", **data}, allow_duplicates=True)

    def project(self, title, rep, customer, *lines, to=None):
        """A project priced from the price list (``(item, quantity)``, at list prices),
        its confirmations given by those who confirm them, taken to phase ``to`` step
        by step."""
        case = cases.create(self.session, self.host, {
            "title": title, "process_key": PROJECT, "owner_id": rep.id,
            "organisation_id": customer.id, "custom": {"printing_signed_order": True}},
            actor=rep)
        for flag, who in CONFIRMED.items():
            cases.update(self.session, self.host, case, {"custom": {flag: True}},
                         actor=getattr(self, who))
        if lines:
            self.calculate(case, rep, *lines)
        for phase in PATH[:PATH.index(to) + 1] if to else ():
            self.move(case, phase, rep)
        return case

    def calculate(self, case, rep, *lines):
        return calculations.create(self.session, case, {"lines": [
            {"price_item_id": item.id, "quantity": str(quantity)} for item, quantity in lines]},
            rep)

    def move(self, case, phase, rep):
        # Production's steps are production's: the system takes them here. Accounting
        # invoices the project and closes it.
        actor = None if phase in ("production", "delivery") else rep
        if phase == "closed":
            self.invoice(case)
            actor = self.accountant
        workflow.move(self.session, self.host, case, phase, actor=actor)

    def invoice(self, case):
        """Accounting's invoice for the project, which closing it needs."""
        draft = invoices.create(self.session, {
            "organisation_id": case.organisation_id, "case_id": case.id, "lines": [
                {"description": case.title, "quantity": "1", "unit_price": str(case.amount),
                 "vat_rate": "23"}]}, self.accountant)
        invoices.issue(self.session, self.settings, draft, self.accountant)

    def complaint(self, project, rep):
        return cases.create(self.session, self.host, {
            "title": f"Complaint: {project.title}", "process_key": COMPLAINT,
            "parent_id": project.id, "organisation_id": project.organisation_id,
            "custom": {"printing_complaint_defect": "Colours faded after a week."}},
            actor=rep)

    def period(self, first=None, last=None):
        day = today()
        return report_periods.period(first or day, last or day)


def login(app, email):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


# --- Calculations waiting for approval ---------------------------------------------------

def test_calculations_waiting_for_approval_show_who_decides_and_the_oldest_first(world):
    small = world.project("Baner 6×3", world.marek, world.kreska, (world.banner, 300),
                          to="calculation")  # 12 000 zł: Marek's supervisor, Ewa
    huge = world.project("Billboardy jesień", world.ewa, world.mazovia, (world.banner, 3000),
                         to="calculation")  # 120 000 zł: the board
    middle = world.project("Oklejenie floty", world.ewa, world.kreska, (world.banner, 1500),
                           to="calculation")  # 60 000 zł: the sales director
    world.user("board2@example.com", "Bogdan Zarząd", ["printing_board"])  # two hold it
    asked = {case.id: approvals.request(world.session, world.host, case, "offer", actor=owner)
             for case, owner in ((small, world.marek), (huge, world.ewa),
                                 (middle, world.ewa))}
    now = utcnow()
    asked[small.id].requested_at = now - timedelta(hours=5)
    asked[huge.id].requested_at = now - timedelta(days=3, hours=4, minutes=10)
    asked[middle.id].requested_at = now - timedelta(days=1)
    world.session.flush()

    lines = reports.waiting(world.session, world.manager, now=now)

    assert [line.title for line in lines] == ["Billboardy jesień", "Oklejenie floty",
                                              "Baner 6×3"]
    oldest, between, newest = lines
    assert (oldest.age_days, oldest.age_hours) == (3, 76)
    assert (newest.age_days, newest.age_hours) == (0, 5)
    assert oldest.amount == Decimal("120000.00") and oldest.calculation_number == 1
    # Two board members: the role is asked, nobody by name.
    assert (oldest.approver_id, oldest.approver_role, oldest.approver_role_name) == (
        None, "printing_board", "Board")
    assert (newest.approver, newest.approver_role_name) == (
        "Ewa Kowalczyk", "the direct supervisor")
    assert newest.requested_by == "Marek Wiśniewski"
    assert (between.approver, between.approver_role_name) == ("Piotr Dyrektor",
                                                              "Sales director")
    # Decided ones leave the list.
    approvals.decide(world.session, world.host, asked[small.id], "approve", world.ewa)
    assert "Baner 6×3" not in [line.title for line in reports.waiting(world.session,
                                                                      world.manager)]


# --- Win rate ----------------------------------------------------------------------------

@pytest.fixture
def pipeline(world):
    """Ewa: two won (order, closed), one lost, one open; Marek: one won, two open; one of
    Ewa's opened last year, outside the period."""
    made = {
        "ewa_order": world.project("Roll-upy targowe", world.ewa, world.kreska,
                                   (world.rollup, 10), to="order"),
        "ewa_closed": world.project("Baner sklepowy", world.ewa, world.kreska,
                                    (world.banner, 20), to="closed"),
        "ewa_lost": world.project("Plakaty", world.ewa, world.mazovia, (world.banner, 5)),
        "ewa_open": world.project("Oklejenie witryny", world.ewa, world.mazovia,
                                  (world.banner, 30), to="offer"),
        "marek_won": world.project("Tablice gminne", world.marek, world.mazovia,
                                   (world.banner, 50), to="delivery"),
        "marek_open": world.project("Flagi", world.marek, world.berlin),
        "marek_open2": world.project("Naklejki", world.marek, world.kreska,
                                     (world.eyelets, 100), to="calculation"),
        "old": world.project("Zeszłoroczny", world.ewa, world.kreska, (world.banner, 10),
                             to="order"),
    }
    world.move(made["ewa_lost"], "lost", world.ewa)
    made["old"].created_at = utcnow() - timedelta(days=400)
    world.session.flush()
    return made


def test_win_rate_counts_won_against_lost_and_lists_the_open_ones_apart(world, pipeline):
    result = reports.win_rate(world.session, world.manager, world.period())

    lines = {line.name: line for line in result.lines}
    ewa, marek = lines["Ewa Kowalczyk"], lines["Marek Wiśniewski"]
    assert (ewa.won, ewa.lost, ewa.open) == (2, 1, 1)
    assert ewa.won_value == Decimal("2300.00")  # 10 × 150 + 20 × 40
    assert ewa.rate == Decimal(2) / 3
    assert (marek.won, marek.lost, marek.open, marek.rate) == (1, 0, 2, Decimal(1))
    assert marek.won_value == Decimal("2000.00")
    assert (result.total.won, result.total.lost, result.total.open) == (3, 1, 3)
    assert result.total.rate == Decimal("0.75")
    assert {p.title for p in result.open} == {"Oklejenie witryny", "Flagi", "Naklejki"}
    assert {p.phase for p in result.open} == {"offer", "inquiry", "price calculation"}

    only_marek = reports.win_rate(world.session, world.manager, world.period(),
                                  rep_id=world.marek.id)
    assert [line.name for line in only_marek.lines] == ["Marek Wiśniewski"]
    last_year = reports.win_rate(world.session, world.manager,
                                 world.period(today() - timedelta(days=500)))
    assert last_year.total.won == 4


def test_a_reader_counts_only_the_projects_they_may_see(world, pipeline):
    for title, owner in (("Baner Marka", world.marek), ("Baner Ewy", world.ewa)):
        asked = world.project(title, owner, world.kreska, (world.banner, 300),
                              to="calculation")
        approvals.request(world.session, world.host, asked, "offer", actor=owner)
    timeline.add(world.session, "meeting", "Samples for Flagi", workflow.about_case(
        world.session, pipeline["marek_open"]), actor=world.marek)
    timeline.add(world.session, "call", "About the window", workflow.about_case(
        world.session, pipeline["ewa_open"]), actor=world.ewa)
    own = roles.create(world.session, "own_reports", "Own")
    roles.set_access(world.session, own, {("*", "read"): "own"})
    roles.set_permissions(world.session, own, [reports.REPORTS])
    roles.assign(world.session, world.marek, ["own_reports"])
    narrow = world.user("narrow@example.com", "Nina Wąska", [])
    roles.assign(world.session, narrow, ["own_reports"])
    world.session.flush()
    marks = {pipeline[key].id for key in ("marek_won", "marek_open", "marek_open2")}

    assert reports.win_rate(world.session, narrow, world.period()).total.decided == 0
    assert reports.waiting(world.session, narrow) == []
    assert reports.sales_picture(world.session, narrow, world.period()).by_rep == []

    # Marek, reading his own: his projects in every report, nobody else's.
    assert [line.title for line in reports.waiting(world.session, world.marek)] == [
        "Baner Marka"]
    won = reports.win_rate(world.session, world.marek, world.period())
    assert [line.name for line in won.lines] == ["Marek Wiśniewski"]
    assert (won.total.won, won.total.lost, won.total.open) == (1, 0, 3)
    assert {p.title for p in won.open} == {"Flagi", "Naklejki", "Baner Marka"}
    complaints = reports.complaint_rate(world.session, world.marek, world.period())
    assert complaints.delivered == 1
    assert {case_id for line in complaints.lines for case_id in line.delivered} == {
        pipeline["marek_won"].id}
    picture = reports.sales_picture(world.session, world.marek, world.period())
    assert [line.name for line in picture.by_rep] == ["Marek Wiśniewski"]
    assert (picture.total.visits, picture.total.calls, picture.total.won) == (1, 0, 1)
    assert {entry.case_id for entry in picture.entries} <= marks
    everyone = reports.sales_picture(world.session, world.manager, world.period())
    assert everyone.total.calls == 1 and everyone.total.won == 4


def test_bad_periods_and_unknown_reps_are_refused_by_name(world):
    with pytest.raises(ValidationError) as refused:
        report_periods.period("2026-05-02", "2026-05-01")
    assert refused.value.errors == {"to": "The period cannot end before it starts."}
    with pytest.raises(ValidationError) as refused:
        report_periods.period("2026-13-01", "someday")
    assert refused.value.errors == {"from": "Give a date as YYYY-MM-DD.",
                                    "to": "Give a date as YYYY-MM-DD."}
    with pytest.raises(ValidationError) as refused:
        report_periods.period("0001-01-01", None)
    assert refused.value.errors == {"from": "Give a year from 1900 to 9000."}
    assert report_periods.period(None, "2026-05-20") == report_periods.Period(
        date(2026, 1, 1), date(2026, 5, 20))
    assert report_periods.period(None, "2026-05-20", default="month").first.isoformat() \
        == "2026-05-01"
    with pytest.raises(ValidationError) as refused:
        reports.win_rate(world.session, world.manager, world.period(), rep_id=987654)
    assert refused.value.errors == {"rep": "Choose one of the account managers from the list."}


# --- Complaint rate per product ----------------------------------------------------------

@pytest.fixture
def delivered(world):
    """Three projects delivered (one closed) and one in production; two complaints."""
    closed = world.project("Baner z oczkami", world.ewa, world.kreska,
                           (world.banner, 20), (world.eyelets, 40), to="closed")
    banner = world.project("Baner", world.ewa, world.mazovia, (world.rollup, 1))
    world.calculate(banner, world.ewa, (world.banner, 10))  # the roll-up is gone
    for phase in PATH[:PATH.index("delivery") + 1]:
        world.move(banner, phase, world.ewa)
    rollups = world.project("Roll-upy z oczkami", world.marek, world.kreska,
                            (world.rollup, 2), (world.eyelets, 8), to="delivery")
    world.project("Baner w produkcji", world.marek, world.kreska, (world.banner, 5),
                  to="production")
    world.complaint(closed, world.ewa)
    world.complaint(banner, world.ewa)
    return closed, banner, rollups


def test_the_complaint_rate_of_each_product_on_delivered_projects(world, delivered):
    closed, banner, rollups = delivered
    result = reports.complaint_rate(world.session, world.manager, world.period())

    found = [(line.name, len(line.delivered), len(line.complained), line.rate)
             for line in result.lines]
    assert found == [("Banner frontlit 510 g", 2, 2, Decimal(1)),
                     ("Eyelets", 2, 1, Decimal("0.5")),
                     ("Roll-up 85×200", 1, 0, Decimal(0))]
    assert (result.delivered, result.complained) == (3, 2)
    assert result.titles == {closed.id: "Baner z oczkami", banner.id: "Baner"}
    assert reports.complaint_rate(world.session, world.manager, world.period(
        today() - timedelta(days=30), today() - timedelta(days=1))).delivered == 0


# --- The sales picture -------------------------------------------------------------------

@pytest.fixture
def road(world):
    """Ewa visits Kreska and a person of Reklama Mazowsze, calls about her project,
    sends its calculation, makes the offer, wins it; Marek calls Berlin and wins in
    Warsaw; the clerk, who owns no project, calls Kreska. A note and a visit last month
    do not count."""
    earlier = utcnow() - timedelta(hours=1)
    anna = people.create(world.session, {"first_name": "Anna", "last_name": "Nowak"},
                         allow_duplicates=True)
    memberships.join(world.session, anna, world.mazovia)
    timeline.add(world.session, "meeting", "Visit: new samples", [world.kreska],
                 occurred_at=earlier, actor=world.ewa)
    timeline.add(world.session, "meeting", "Coffee with Anna", [anna], actor=world.ewa)
    timeline.add(world.session, "note", "Remember the catalogue", [world.kreska],
                 actor=world.ewa)
    timeline.add(world.session, "meeting", "Last month's visit", [world.kreska],
                 occurred_at=utcnow() - timedelta(days=40), actor=world.ewa)
    timeline.add(world.session, "call", "Invoice question", [world.kreska],
                 actor=world.clerk)
    project = world.project("Witryna salonu", world.ewa, world.kreska, (world.banner, 25),
                            to="offer")
    timeline.add(world.session, "call", "Colours agreed", workflow.about_case(
        world.session, project), actor=world.ewa)
    calculation = calculations.of_case(world.session, project)[0]
    calculations.decide(world.session, calculation, {"status": "sent"}, world.ewa)
    template = world.session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == "printing.offer"))
    documents.generate(world.session, world.host, world.settings, template, project,
                       world.ewa)
    world.move(project, "order", world.ewa)
    timeline.add(world.session, "call", "Hallo Berlin", [world.berlin], actor=world.marek)
    world.project("Tablice", world.marek, world.mazovia, (world.banner, 40), to="order")
    return project


def test_the_sales_picture_per_rep_and_per_voivodeship(world, road):
    picture = reports.sales_picture(world.session, world.manager, world.period())

    by_rep = {line.name: line for line in picture.by_rep}
    ewa, marek = by_rep["Ewa Kowalczyk"], by_rep["Marek Wiśniewski"]
    assert (ewa.visits, ewa.calls, ewa.offers, ewa.offer_documents, ewa.won) == (2, 1, 1, 1, 1)
    assert ewa.won_value == Decimal("1000.00")
    assert (marek.visits, marek.calls, marek.offers, marek.won) == (0, 1, 0, 1)
    assert marek.won_value == Decimal("1600.00")
    clerk = by_rep["Karol Biuro"]  # he recorded a call, though he owns no project
    assert (clerk.visits, clerk.calls, clerk.offers, clerk.won) == (0, 1, 0, 0)
    by_region = {line.key: line for line in picture.by_region}
    assert set(by_region) == {"wielkopolskie", "mazowieckie", regions.ABROAD}
    assert (by_region["wielkopolskie"].visits, by_region["wielkopolskie"].calls,
            by_region["wielkopolskie"].won) == (1, 2, 1)
    assert (by_region["mazowieckie"].visits, by_region["mazowieckie"].won) == (1, 1)
    assert by_region["mazowieckie"].name == "Masovian"
    assert by_region[regions.ABROAD].calls == 1
    assert (picture.total.visits, picture.total.calls, picture.total.won) == (2, 3, 2)

    there = reports.sales_picture(world.session, world.manager, world.period(),
                                  region_key="wielkopolskie", rep_id=world.ewa.id)
    kinds = sorted(entry.kind for entry in there.entries)
    assert kinds == ["call", "offer", "offer_document", "visit", "won"]
    won = next(e for e in there.entries if e.kind == "won")
    assert (won.case_id, won.case_title, won.organisation_name) == (
        road.id, "Witryna salonu", "Agencja Kreska")
    visit = next(e for e in there.entries if e.kind == "visit")
    assert visit.subject == "Visit: new samples"

    month = reports.sales_picture(world.session, world.manager,
                                  world.period(today() - timedelta(days=45)))
    assert {line.name: line.visits for line in month.by_rep}["Ewa Kowalczyk"] == 3


def test_a_rep_who_owns_no_project_yet_counts_with_the_visits_and_calls_recorded(world):
    newcomer = world.user("jan@example.com", "Jan Nowak", ["sales"], world.ewa)
    timeline.add(world.session, "meeting", "First visit", [world.kreska], actor=newcomer)
    timeline.add(world.session, "call", "Follow-up", [world.mazovia], actor=newcomer)
    timeline.add(world.session, "call", "Last month", [world.mazovia], actor=newcomer,
                 occurred_at=utcnow() - timedelta(days=40))
    world.project("Ulotki", world.ewa, world.berlin)
    narrow = world.user("narrow@example.com", "Nina Wąska", [])
    own = roles.create(world.session, "own_reports", "Own")
    roles.set_access(world.session, own, {("*", "read"): "own"})
    roles.set_permissions(world.session, own, [reports.REPORTS])
    roles.assign(world.session, narrow, ["own_reports"])
    world.session.flush()

    picture = reports.sales_picture(world.session, world.manager, world.period())
    assert {line.name: (line.visits, line.calls) for line in picture.by_rep} == {
        "Ewa Kowalczyk": (0, 0), "Jan Nowak": (1, 1)}
    assert {line.key: (line.visits, line.calls) for line in picture.by_region} == {
        "wielkopolskie": (1, 0), "mazowieckie": (0, 1)}
    assert sorted(entry.subject for entry in picture.entries) == ["First visit",
                                                                  "Follow-up"]
    # Only the entries the reader may see bring their authors in.
    assert reports.sales_picture(world.session, narrow, world.period()).by_rep == []


def test_a_team_narrows_the_reps_and_is_refused_when_unknown(world, road):
    sales = teams.create_team(world.session, "Sales team")
    teams.add_member(world.session, sales, world.ewa)
    teams.add_member(world.session, sales, world.clerk)
    picture = reports.sales_picture(world.session, world.manager, world.period(),
                                    team_id=sales.id)
    assert {line.name: line.calls for line in picture.by_rep} == {
        "Ewa Kowalczyk": 1, "Karol Biuro": 1}
    with pytest.raises(ValidationError) as refused:
        reports.sales_picture(world.session, world.manager, world.period(), team_id=424242,
                              rep_id=424242, region_key="atlantis")
    assert refused.value.errors == {
        "rep": "Choose one of the account managers from the list.",
        "team": "Choose a team from the list.", "region": "Choose a voivodeship from the list."}


def test_regions_come_from_the_typed_region_or_the_gazetteer(world):
    assert regions.named("woj. Śląskie") == "slaskie"
    assert regions.named("Greater Poland") == "wielkopolskie"
    assert regions.named("Bawaria") is None
    nowhere = world.organisation("Bez adresu")
    found = regions.of_organisations(world.session, [world.kreska.id, world.mazovia.id,
                                                     world.berlin.id, nowhere.id])
    assert found == {world.kreska.id: "wielkopolskie", world.mazovia.id: "mazowieckie",
                     world.berlin.id: regions.ABROAD, nowhere.id: regions.UNKNOWN}


# --- Pages and API -----------------------------------------------------------------------

def test_the_pages_show_the_figures_and_refuse_bad_filters(app, world, pipeline):
    asked = world.project("Billboardy", world.ewa, world.mazovia, (world.banner, 3000),
                          to="calculation")
    approvals.request(world.session, world.host, asked, "offer", actor=world.ewa)
    world.session.commit()
    client = login(app, "manager@example.com")

    page = client.get("/printing/reports/")
    assert page.status_code == 200
    text = page.text
    assert ">Projects: reports<" in text  # the menu entry, by the term
    assert 'id="request-' in text and ">Billboardy</a>" in text and "Barbara Zarząd" in text
    assert 'id="rep-all"' in text and "75%" in text and "66.7%" in text
    assert 'id="open-' in text and ">Flagi</a>" in text

    refused = client.get("/printing/reports/?from=2026-05-02&to=2026-05-01&rep=x")
    assert refused.status_code == 400
    assert "The period cannot end before it starts." in refused.text
    assert "Choose one of the account managers from the list." in refused.text

    unknown = client.get(f"/printing/reports/?rep={world.clerk.id + 1000}")
    assert unknown.status_code == 400
    assert "Choose one of the account managers from the list." in unknown.text
    assert 'id="complaints"' in unknown.text  # the rest still shows

    sales = client.get(f"/printing/reports/sales?rep={world.ewa.id}")
    assert sales.status_code == 200
    assert "Account managers: sales picture" in sales.text
    assert 'id="entries"' in sales.text and 'class="entry-won"' in sales.text

    clerk = login(app, "clerk@example.com")
    assert clerk.get("/printing/reports/").status_code == 403
    assert clerk.get("/printing/reports/sales").status_code == 403


def test_the_sales_page_links_the_group_calendar_of_the_chosen_team(app, world, road):
    sales = teams.create_team(world.session, "Sales team")
    other = teams.create_team(world.session, "Office")
    for member in (world.ewa, world.marek, world.manager):
        teams.add_member(world.session, sales, member)
    world.session.commit()
    client = login(app, "manager@example.com")

    page = client.get(f"/printing/reports/sales?team={sales.id}&region=wielkopolskie").text
    assert f'href="/calendar/?team={sales.id}"' in page
    assert 'class="entry-visit"' in page and ">Agencja Kreska</a>" in page
    # Each rep drills down within the chosen voivodeship and team.
    assert f'href="/printing/reports/sales?rep={world.ewa.id}&amp;region=wielkopolskie&amp;' \
        f'team={sales.id}"' in page
    elsewhere = client.get(f"/printing/reports/sales?team={other.id}").text
    assert "The group calendar of Office is open only to the team's members." in elsewhere
    assert client.get("/printing/reports/sales?team=99999").status_code == 400


def test_the_api_answers_the_reports_and_refuses_by_name(app, world, pipeline):
    world.session.commit()
    rt = app.extensions["kartoteka"]
    api = callers(app, rt, boss={"permissions": [reports.REPORTS]}, typist={},
                  own={"access": {"read": "own"}, "permissions": [reports.REPORTS]})

    won = api.boss("get", "/printing/reports/win-rate").get_json()
    assert won["total"]["won"] == 3 and won["total"]["rate"] == "0.7500"
    assert {line["name"]: line["won_value"] for line in won["lines"]} == {
        "Ewa Kowalczyk": "2300.00", "Marek Wiśniewski": "2000.00"}
    assert len(won["open"]) == 3 and won["from"].endswith("-01-01")
    assert api.boss("get", "/printing/reports/approvals").get_json() == []
    complaints = api.boss("get", "/printing/reports/complaints").get_json()
    assert complaints["delivered"] == 2 and complaints["complained"] == 0
    sales = api.boss("get", "/printing/reports/sales").get_json()
    # Won today counts here though opened last year, unlike in the win rate.
    assert sales["total"]["won"] == 4
    entries = api.boss("get", "/printing/reports/sales/entries",
                       query_string={"rep": world.marek.id}).get_json()
    assert [e["kind"] for e in entries["entries"]] == ["won"] and entries["more"] == 0
    assert won["open_more"] == 0

    bad = api.boss("get", "/printing/reports/win-rate",
                   query_string={"from": "2026-05-02", "to": "2026-05-01"})
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {"to": "The period cannot end before it starts."}
    bad = api.boss("get", "/printing/reports/win-rate",
                   query_string={"rep": 987654, "from": "2026-05-02", "to": "2026-05-01"})
    assert bad.get_json()["errors"] == {
        "rep": "Choose one of the account managers from the list.",
        "to": "The period cannot end before it starts."}
    bad = api.boss("get", "/printing/reports/complaints", query_string={"from": "yesterday"})
    assert (bad.status_code, bad.get_json()["errors"]) == (
        422, {"from": "Give a date as YYYY-MM-DD."})
    bad = api.boss("get", "/printing/reports/sales", query_string={"region": "atlantis"})
    assert bad.get_json()["errors"] == {"region": "Choose a voivodeship from the list."}
    # Ids beyond the columns' range are refused before they reach the database.
    for path, name in (("win-rate", "rep"), ("sales", "rep"), ("sales", "team"),
                       ("sales/entries", "team")):
        bad = api.boss("get", f"/printing/reports/{path}", query_string={name: 2**40})
        assert (bad.status_code, bad.get_json()["errors"]) == (
            422, {name: "There is no such record."}), path

    assert api.typist("get", "/printing/reports/win-rate").status_code == 403
    assert api.typist("get", "/printing/reports/sales").status_code == 403
    assert api.own("get", "/printing/reports/win-rate").get_json()["total"]["won"] == 0



def test_long_lists_are_cut_and_say_so(app, world, pipeline, road, monkeypatch):
    monkeypatch.setattr(reports, "ENTRIES_MAX", 2)
    won = reports.win_rate(world.session, world.manager, world.period())
    assert won.total.open == 3 and len(won.open) == 2 and won.open_more == 1
    world.session.commit()
    rt = app.extensions["kartoteka"]
    api = callers(app, rt, boss={"permissions": [reports.REPORTS]})

    answer = api.boss("get", "/printing/reports/win-rate").get_json()
    assert (len(answer["open"]), answer["open_more"], answer["total"]["open"]) == (2, 1, 3)
    everything = reports.sales_picture(world.session, world.manager, world.period(),
                                       rep_id=world.ewa.id).entries
    entries = api.boss("get", "/printing/reports/sales/entries",
                       query_string={"rep": world.ewa.id}).get_json()
    assert len(everything) > 2
    assert (len(entries["entries"]), entries["more"]) == (2, len(everything) - 2)

    client = login(app, "manager@example.com")
    page = client.get("/printing/reports/").text
    assert page.count('<tr id="open-') == 2 and 'id="open-more"' in page
    assert "The newest 2 are shown; narrow the period to see the rest." in page
    sales = client.get(f"/printing/reports/sales?rep={world.ewa.id}").text
    assert sales.count('class="entry-') == 2 and 'id="entries-more"' in sales

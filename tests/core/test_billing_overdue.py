"""Overdue: derived from the due date and what is still owed on the day asked, for an
organisation (with those merged into it) or a person, and as a process's check."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing_helpers import COMPANY, issued, make_world, org, person, user
from core import billing, cases, invoices, merge, organisations, payments, workflow
from core.errors import ValidationError
from core.filters import today
from core.models import Invoice
from core.workflow import Phase, Process, Transition

STRICT = billing.no_overdue_check("test.no_overdue")
LENIENT = billing.no_overdue_check("test.lenient", {"en": "Nothing long overdue"},
                                   optional=True, grace_days=7)
ORDER = Process("test.order", "core.case", title={"en": "Order"}, phases=(
    Phase("offer", "core.case"), Phase("order", "core.task"),
    Phase("done", "core.phase", final=True)), transitions=(
    Transition("offer", "order", checks=(STRICT,)),
    Transition("order", "done", checks=(LENIENT,))))
D = Decimal
DUE = date(2026, 3, 16)  # issued on 2 March with 14 days to pay


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    app.extensions["kartoteka"].host.processes = {"test.order": ORDER}
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


def late_ids(s, party, day) -> list[int]:
    return [invoice.id for invoice in billing.overdue(s, party, day)]


def test_an_invoice_is_overdue_from_the_day_after_its_due_date_while_anything_is_owed(rt,
                                                                                       world):
    invoice_id = issued(rt, world)
    with rt.session() as s, s.begin():
        kornik, clerk = org(s, world), user(s, world, "clerk")
        invoice = s.get(Invoice, invoice_id)
        assert invoice.due_date == DUE
        assert late_ids(s, kornik, DUE) == [] and not invoices.is_overdue(invoice, DUE)
        assert late_ids(s, kornik, DUE + timedelta(days=1)) == [invoice_id]
        assert invoices.is_overdue(invoice, DUE + timedelta(days=1))
        payments.record(s, {"received_on": "2026-03-20", "amount": "1000"}, clerk,
                        allocate_to=[(invoice, None)])
        assert late_ids(s, kornik, date(2026, 3, 21)) == [invoice_id]  # 230,00 still owed
        less = invoices.correct(s, invoice, [{"position": 1, "unit_price": "813.01"}],
                                "Rabat", clerk)
        invoices.issue(s, rt.settings, less, clerk, date(2026, 3, 21))
        assert invoice.to_pay == D("1000.00")  # 813.01 + 23% = 1000.00
        assert late_ids(s, kornik, date(2026, 3, 22)) == []  # settled by the correction
        assert invoice.status == "paid"
        assert late_ids(s, org(s, world, "mosina"), date(2027, 1, 1)) == []


def test_drafts_cancelled_invoices_and_pro_formas_are_never_overdue(rt, world):
    proforma_id = issued(rt, world, kind="proforma")
    cancelled_id = issued(rt, world)
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        invoices.cancel(s, s.get(Invoice, cancelled_id), "Pomyłka", clerk)
        invoices.create(s, {"organisation_id": world["kornik"], "issue_date": "2026-01-02",
                            "lines": []}, clerk)
        assert late_ids(s, org(s, world), date(2027, 1, 1)) == []
        assert not invoices.is_overdue(s.get(Invoice, proforma_id), date(2027, 1, 1))


def test_a_persons_invoices_and_those_of_an_organisation_merged_in_count(rt, world):
    anna_id = issued(rt, world, person_id=world["anna"])
    mosina_id = issued(rt, world, client="mosina")
    kornik_id = issued(rt, world, issue_date=date(2026, 3, 9))
    with rt.session() as s, s.begin():
        late = date(2026, 4, 1)
        assert late_ids(s, person(s, world), late) == [anna_id]
        assert late_ids(s, org(s, world), late) == [kornik_id]
        merge.merge(s, org(s, world), org(s, world, "mosina"), user(s, world, "admin"))
        assert late_ids(s, org(s, world), late) == [mosina_id, kornik_id]  # longest first
        # The merged organisation's invoice is now the survivor's, as issued.
        moved = s.get(Invoice, mosina_id)
        assert moved.organisation_id == world["kornik"] and "Mosina" in moved.buyer["name"]
        with pytest.raises(TypeError):
            billing.overdue(s, user(s, world, "clerk"), late)


def test_the_check_blocks_an_order_while_the_client_is_overdue(rt, world):
    start = today() - timedelta(days=30)  # due 16 days ago
    invoice_id = issued(rt, world, issue_date=start)
    number = f"FV/{start.year}/0001"
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        case = cases.create(s, rt.host, {"title": "Baner na dożynki",
                                         "process_key": "test.order",
                                         "organisation_id": world["kornik"]}, clerk)
        [step] = workflow.moves(s, rt.host, case, clerk)
        assert step.blockers == {
            "check.test.no_overdue": f"1 invoice of the client is overdue: {number}."}
        with pytest.raises(ValidationError) as refused:
            workflow.move(s, rt.host, case, "order", clerk)
        assert refused.value.errors == step.blockers
        assert case.phase_key == "offer"
        payments.record(s, {"received_on": today().isoformat(), "amount": "1230"}, clerk,
                        allocate_to=[(s.get(Invoice, invoice_id), None)])
        workflow.move(s, rt.host, case, "order", clerk)
        assert case.phase_key == "order"


def test_the_check_looks_at_the_cases_people_without_an_organisation_and_allows_grace(rt,
                                                                                     world):
    issued(rt, world, person_id=world["anna"], issue_date=today() - timedelta(days=17))
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        case = cases.create(s, rt.host, {"title": "Fotoksiążka", "process_key": "test.order"},
                            clerk, people=[(person(s, world), "klient")])
        assert workflow.moves(s, rt.host, case, clerk)[0].blockers == {
            "check.test.no_overdue": f"1 invoice of the client is overdue: "
                                     f"FV/{(today() - timedelta(days=17)).year}/0001."}
        case.phase_key = "order"
        s.flush()
        assert workflow.moves(s, rt.host, case, clerk)[0].blockers == {}  # 3 days: in grace
        other = organisations.create(s, rt.host, {"name": "Firma bez długów",
                                                  "type_key": "core.company"}, clerk)
        clean = cases.create(s, rt.host, {"title": "Roll-up", "process_key": "test.order",
                                          "organisation_id": other.id}, clerk)
        workflow.move(s, rt.host, clean, "order", clerk)


def test_the_check_names_at_most_five_invoices(rt, world):
    for _ in range(7):
        issued(rt, world, issue_date=today() - timedelta(days=40))
    year = (today() - timedelta(days=40)).year
    with rt.session() as s, s.begin():
        case = cases.create(s, rt.host, {"title": "Siatka", "process_key": "test.order",
                                         "organisation_id": world["kornik"]},
                            user(s, world, "clerk"))
        reason = STRICT.test(s, case)
        assert reason == "7 invoices of the client are overdue: " + ", ".join(
            f"FV/{year}/{n:04}" for n in range(1, 6)) + "…."
        assert STRICT.title == {"pl": "Brak zaległych płatności", "en": "No overdue payments"}
        assert LENIENT.optional and not STRICT.optional


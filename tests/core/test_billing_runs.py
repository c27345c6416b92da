"""Billing runs: a preview that shows exactly what the run makes, one run per period,
nothing made twice (run again, on two workers at once, after a worker was killed), the
aggregated settlement of what clients owe (TR-5), and a bad bill costing only itself."""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from billing_helpers import COMPANY, make_world, user
from core import billing, billing_runs, cases, contracts, organisations, people, records
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import BillableItem, BillingRun, Contract, Invoice, Job, Organisation
from core.workflow import Phase, Process

D = Decimal
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
TRAINING = Process("test.training", "core.case", title={"en": "Training"}, phases=(
    Phase("planned", "core.case"), Phase("done", "core.phase", final=True)), transitions=())


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    app.extensions["kartoteka"].host.processes = {"test.training": TRAINING}
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    return make_world(rt)


def monthly(rt, world, client="kornik", **data) -> int:
    with rt.session() as s, s.begin():
        return contracts.create(s, {
            "organisation_id": world[client], "title": f"Składka {client}",
            "description": "Membership fee", "starts_on": "2026-01-01", "period_months": 1,
            "unit_price": "100", "vat_rate": "zw", **data}, user(s, world, "clerk")).id


def start(rt, data=MARCH, by="clerk", world=None) -> int:
    with rt.session() as s, s.begin():
        actor = user(s, world, by) if world else None
        return billing_runs.start(s, rt.host, data, actor).id


def counted(rt) -> tuple[int, int]:
    with rt.session() as s:
        return (s.scalar(select(func.count()).select_from(Invoice)),
                s.scalar(select(func.count()).select_from(BillableItem)))


def test_the_preview_shows_exactly_what_the_run_makes_and_writes_nothing(rt, world):
    monthly(rt, world)
    monthly(rt, world, "mosina", starts_on="2026-03-16")
    with rt.session() as s:
        preview = billing_runs.preview(s, rt.host, MARCH)
    assert counted(rt) == (0, 0)
    assert (preview.invoices, preview.charges, preview.totals) == (2, 4, {"PLN": D("351.61")})
    shown = {(b["client"], tuple(line["description"] for line in b["lines"]), b["amount"])
             for b in preview.bills}
    start(rt)
    with rt.session() as s:
        made = {(i.buyer["name"], tuple(line.description for line in i.lines), i.net)
                for i in s.scalars(select(Invoice))}
    assert made == shown
    assert ("Gmina Mosina", ("Membership fee, 16.03.2026–31.03.2026 (16 of 31 days)",),
            D("51.61")) in made


def test_running_the_same_period_again_makes_nothing_new(rt, world):
    monthly(rt, world)
    first = start(rt)
    assert counted(rt) == (1, 3)
    assert start(rt) == first  # the period's run, found again
    assert counted(rt) == (1, 3)
    with rt.session() as s:
        run = s.get(BillingRun, first)
        assert run.made["invoices"] == 1 and run.state == "done"
        assert s.get(Job, run.job_id).result["invoices"] == 0
        assert billing_runs.preview(s, rt.host, MARCH).invoices == 0


def test_a_run_held_by_another_worker_is_left_to_it(rt, world):
    monthly(rt, world)
    with rt.session() as s, s.begin():
        run = billing_runs._run_of(s, billing_runs.load(rt.host, MARCH)[0])
        run.strategies, run.lease_until, run.holder = ["core.contracts"], \
            utcnow() + timedelta(minutes=1), "another"
        run_id = run.id
    assert billing_runs.execute(rt, run_id) == {"held": True}
    assert counted(rt) == (0, 0)
    with rt.session() as s, s.begin():
        s.execute(update(BillingRun).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert billing_runs.execute(rt, run_id)["invoices"] == 1  # its lease ran out


def test_starting_a_period_that_is_running_does_not_queue_it_twice(rt, world):
    monthly(rt, world)
    with rt.session() as s, s.begin():
        run = billing_runs._run_of(s, billing_runs.load(rt.host, MARCH)[0])
        run.lease_until, run.state = utcnow() + timedelta(minutes=1), "running"
    with rt.session() as s, s.begin():
        billing_runs.start(s, rt.host, MARCH)
        assert s.scalars(select(Job)).all() == []


def test_a_run_is_refused_bad_periods_unknown_strategies_and_people_without_billing(
        rt, world):
    with rt.session() as s:
        with pytest.raises(ValidationError) as refused:
            billing_runs.preview(s, rt.host, {"period_start": "2026-03-31",
                                              "period_end": "2026-03-01",
                                              "strategies": ["nope.x"]})
        assert refused.value.errors == {
            "period_end": "The period cannot end before it starts.",
            "strategies": "There is no billing strategy “nope.x”."}
        with pytest.raises(ValidationError) as refused:
            billing_runs.preview(s, rt.host, {"period_start": "2026-01-01",
                                              "period_end": "2027-01-02"})
        assert set(refused.value.errors) == {"period_end"}
        with pytest.raises(ValidationError) as refused:
            billing_runs.preview(s, rt.host, {"period_end": "tomorrow"})
        assert set(refused.value.errors) == {"period_start", "period_end"}
        with pytest.raises(Forbidden):
            billing_runs.start(s, rt.host, MARCH, user(s, world, "rep"))


def test_issuing_at_once_numbers_the_invoices_in_order_without_gaps(rt, world):
    for client in ("kornik", "mosina"):
        monthly(rt, world, client)
    start(rt, {**MARCH, "issue": True, "issue_date": "2026-03-02"})
    with rt.session() as s:
        assert [(i.number, i.status) for i in s.scalars(select(Invoice).order_by(Invoice.id))] \
            == [("FV/2026/0001", "issued"), ("FV/2026/0002", "issued")]


def test_the_drafts_of_a_run_are_issued_together(rt, world):
    monthly(rt, world)
    run_id = start(rt)
    with rt.session() as s, s.begin():
        with pytest.raises(Forbidden):
            billing_runs.issue_drafts(s, rt.settings, s.get(BillingRun, run_id),
                                      user(s, world, "rep"))
        assert billing_runs.issue_drafts(s, rt.settings, s.get(BillingRun, run_id),
                                         user(s, world, "clerk")) == 1
    with rt.session() as s:
        assert s.scalars(select(Invoice.status)).all() == ["issued"]


def test_a_bill_that_cannot_be_written_is_named_and_the_others_are_made(rt, world):
    monthly(rt, world)
    monthly(rt, world, "mosina")
    with rt.session() as s, s.begin():
        records.soft_delete(s, s.get(Organisation, world["mosina"]))
    run_id = start(rt)
    with rt.session() as s:
        run = s.get(BillingRun, run_id)
        assert run.made["invoices"] == 1
        assert run.made["failed"] == [{"bill": "Składka mosina",
                                       "error": "The client has been deleted."}]
        assert s.scalars(select(Invoice.organisation_id)).all() == [world["kornik"]]


# --- Aggregated settlement (TR-5) ---------------------------------------------------------

def test_a_settlement_puts_everything_a_client_owes_on_one_invoice_saying_who_and_what(
        rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        jan = people.create(s, {"first_name": "Jan", "last_name": "Kowalski"}).id
        ewa = people.create(s, {"first_name": "Ewa", "last_name": "Lis"}).id
        first = cases.create(s, rt.host, {"title": "Zamówienia publiczne",
                                          "process_key": "test.training"}).id
        second = cases.create(s, rt.host, {"title": "RODO w gminie",
                                           "process_key": "test.training"}).id
        for case, person, day in ((first, jan, "2026-03-05"), (first, ewa, "2026-03-05"),
                                  (second, jan, "2026-03-19")):
            billing.add_item(s, {"organisation_id": world["kornik"], "case_id": case,
                                 "people": [person], "description": "Training",
                                 "quantity": "1", "unit_price": "450", "vat_rate": "zw",
                                 "earned_on": day, "source": "test.training",
                                 "reference": f"{case}/{person}"}, clerk)
        billing.add_item(s, {"organisation_id": world["mosina"], "description": "Training",
                             "quantity": "1", "unit_price": "450", "vat_rate": "zw",
                             "earned_on": "2026-04-02", "source": "test.training"}, clerk)
    start(rt, {**MARCH, "strategies": ["core.settlement"]})
    with rt.session() as s:
        invoice = s.scalars(select(Invoice)).one()
        assert invoice.organisation_id == world["kornik"] and invoice.net == D("1350.00")
        assert [line.description for line in invoice.lines] == [
            "Training — Jan Kowalski — Zamówienia publiczne — 05.03.2026",
            "Training — Ewa Lis — Zamówienia publiczne — 05.03.2026",
            "Training — Jan Kowalski — RODO w gminie — 19.03.2026"]
        assert invoice.case_id is None  # from two cases


# --- A worker killed halfway --------------------------------------------------------------

CONTRACTS = 600


@pytest.mark.slow
def test_a_run_killed_halfway_and_started_again_completes_without_duplicates(
        kartoteka_app_factory, tmp_path):
    settings = {"instance_path": str(tmp_path / "instance"), "default_locale": "en",
                "billing_lease_seconds": 1, "jobs_url": "", **COMPANY}
    app = kartoteka_app_factory(**settings)
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        with rt.session() as s, s.begin():
            for n in range(CONTRACTS):
                org = organisations.create(s, rt.host, {"name": f"Gmina {n}",
                                                        "type_key": "core.municipality"},
                                           allow_duplicates=True)
                contracts.create(s, {"organisation_id": org.id, "title": f"Umowa {n}",
                                     "starts_on": "2026-01-01", "period_months": 1,
                                     "unit_price": "100", "vat_rate": "zw"})
    env = {**os.environ, **{f"KARTOTEKA_{k.upper()}": str(v) for k, v in settings.items()},
           "KARTOTEKA_DATABASE_URL": rt.settings.database_url}
    command = [sys.executable, "-c", "from core.cli import main; main()", "billing", "run",
               "--from", "2026-03-01", "--to", "2026-03-31"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.poll() is None and counted(rt)[0] == 0:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    halfway = counted(rt)[0]
    assert 0 < halfway < CONTRACTS, "the kill did not land halfway: the test proved nothing"
    time.sleep(1.2)  # the dead worker's lease runs out
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == CONTRACTS
        assert s.scalar(select(func.count()).select_from(BillableItem)) == CONTRACTS * 3
        assert s.scalar(select(func.count(func.distinct(Invoice.organisation_id)))) == \
            CONTRACTS
        assert set(s.scalars(select(Contract.billed_through))) == {date(2026, 3, 31)}
        run = s.scalars(select(BillingRun)).one()
        assert run.state == "done" and run.made["invoices"] == CONTRACTS


def test_a_contract_terminated_while_the_run_reads_it_is_left_to_the_next_run(
        rt, world, monkeypatch):
    kornik, mosina = monthly(rt, world), monthly(rt, world, "mosina")
    read = contracts.bill_of

    def read_then_terminate(contract, until, texts=None):
        bill = read(contract, until, texts)
        if contract.id == mosina:  # someone terminates it before the run writes its bill
            with rt.session() as s, s.begin():
                contracts.terminate(s, s.get(Contract, mosina), {"ends_on": "2026-03-15"},
                                    user(s, world, "clerk"))
        return bill

    monkeypatch.setattr(contracts, "bill_of", read_then_terminate)
    run_id = start(rt)
    with rt.session() as s:
        run = s.get(BillingRun, run_id)
        assert run.made["failed"] == [{"bill": "Składka mosina", "error": (
            "The contract changed while it was being billed; the next run bills it as it "
            "is now.")}]
        assert s.scalars(select(Invoice.organisation_id)).all() == [world["kornik"]]
        assert s.get(Contract, kornik).billed_through == date(2026, 3, 31)
    monkeypatch.setattr(contracts, "bill_of", read)
    with rt.session() as s:
        run_id = billing_runs.start(s, rt.host, MARCH).id
        s.commit()
    with rt.session() as s:
        net = s.scalar(select(Invoice.net).where(Invoice.organisation_id == world["mosina"]))
        assert net == D("248.39")  # January, February and 15 of March's 31 days


def test_a_contract_repriced_while_the_run_reads_it_is_billed_at_its_new_price_next_time(
        rt, world, monkeypatch):
    kornik, mosina = monthly(rt, world), monthly(rt, world, "mosina")
    read = contracts.bill_of

    def read_then_reprice(contract, until, texts=None):
        bill = read(contract, until, texts)
        if contract.id == mosina:  # the price goes up from 16 March meanwhile
            with rt.session() as s, s.begin():
                contracts.change_price(s, s.get(Contract, mosina), {
                    "valid_from": "2026-03-16", "unit_price": "200"}, user(s, world, "clerk"))
        return bill

    monkeypatch.setattr(contracts, "bill_of", read_then_reprice)
    run_id = start(rt)
    with rt.session() as s:
        assert [f["bill"] for f in s.get(BillingRun, run_id).made["failed"]] == \
            ["Składka mosina"]
        assert s.get(Contract, kornik).billed_through == date(2026, 3, 31)
        assert s.get(Contract, mosina).billed_through is None
    monkeypatch.setattr(contracts, "bill_of", read)
    with rt.session() as s:
        billing_runs.start(s, rt.host, MARCH)
        s.commit()
    with rt.session() as s:
        net = s.scalar(select(Invoice.net).where(Invoice.organisation_id == world["mosina"]))
        assert net == D("351.62")  # 100 + 100 + 15/31 of 100 + 16/31 of 200

"""Writing many rows at once: ids handed out in order, values as the ORM would store
them, look-ups over hundreds of values, and the collector's pace restored afterwards."""

import gc
import threading
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core import bulk
from core.db import utcnow
from core.models import AuditEntry, Contract, ContractPrice, Organisation


def test_rows_are_written_with_their_ids_defaults_and_values_as_the_orm_reads_them(rt):
    with rt.session() as s, s.begin():
        ids = bulk.add_rows(s, AuditEntry, [
            {"action": "create", "record_type": "organisations", "record_id": n,
             "changes": {"name": [None, f"Gmina {n}"]}, "at": utcnow()}
            for n in range(3)])
        bulk.add_rows(s, AuditEntry, [{"action": "note"}])
    assert ids == sorted(ids) and len(set(ids)) == 3
    with rt.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids))
                            .order_by(AuditEntry.id)).all()
        assert [(e.record_id, e.changes, e.door, e.summary) for e in entries] == [
            (n, {"name": [None, f"Gmina {n}"]}, "system", "") for n in range(3)]
        assert all(e.at.tzinfo is not None for e in entries)
        note = s.scalars(select(AuditEntry).where(AuditEntry.action == "note")).one()
        assert note.changes == {} and note.at is not None  # the columns' defaults


def test_the_next_rows_take_ids_after_the_ones_written_before(rt):
    with rt.session() as s, s.begin():
        first = bulk.add_rows(s, AuditEntry, [{"action": "a"}, {"action": "b"}])
    with rt.session() as s, s.begin():
        s.add(AuditEntry(action="by the orm"))
        s.flush()
        second = bulk.add_rows(s, AuditEntry, [{"action": "c"}])
    assert second[0] > max(first)


def test_decimals_and_days_keep_their_value(rt):
    with rt.session() as s, s.begin():
        org = Organisation(name="Gmina Kórnik", name_key="gmina kornik",
                           type_key="core.municipality")
        s.add(org)
        s.flush()
        contract = Contract(organisation_id=org.id, title="Składka", description="Składka",
                            starts_on=date(2026, 1, 1))
        s.add(contract)
        s.flush()
        bulk.add_rows(s, ContractPrice, [
            {"contract_id": contract.id, "valid_from": date(2026, 2, 1),
             "unit_price": Decimal("1234.5678")}])
        contract_id = contract.id
    with rt.session() as s:
        price = s.scalars(select(ContractPrice).where(
            ContractPrice.contract_id == contract_id)).one()
        assert (price.valid_from, price.unit_price) == (date(2026, 2, 1), Decimal("1234.5678"))


def test_among_finds_each_of_hundreds_of_values_and_nothing_else(rt):
    with rt.session() as s, s.begin():
        ids = bulk.add_rows(s, AuditEntry, [{"action": f"a{n}"} for n in range(1200)])
    wanted = ids[::2]
    with rt.session() as s:
        found = s.scalars(select(AuditEntry.id).where(
            bulk.among(s, AuditEntry.id, wanted))).all()
        assert sorted(found) == wanted
        names = s.scalars(select(AuditEntry.action).where(
            bulk.among(s, AuditEntry.action, ["a1", "a7", "none such"]))).all()
        assert sorted(names) == ["a1", "a7"]
        assert s.scalars(select(AuditEntry).where(bulk.among(s, AuditEntry.id, []))).all() \
            == []


def test_the_collector_waits_longer_during_bulk_work_and_its_pace_comes_back():
    before = gc.get_threshold()
    with bulk.fewer_collections():
        assert gc.get_threshold()[0] == bulk.BULK_GC_THRESHOLD
        with bulk.fewer_collections():  # bulk work inside bulk work
            pass
        assert gc.get_threshold()[0] == bulk.BULK_GC_THRESHOLD
    assert gc.get_threshold() == before
    try:
        with bulk.fewer_collections():
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_two_threads_at_bulk_work_leave_the_pace_as_it_was():
    before = gc.get_threshold()
    inside, leave = threading.Barrier(2), threading.Event()

    def work():
        with bulk.fewer_collections():
            inside.wait()
            leave.wait()

    other = threading.Thread(target=work)
    other.start()
    with bulk.fewer_collections():
        inside.wait()
        leave.set()
        other.join()
        assert gc.get_threshold()[0] == bulk.BULK_GC_THRESHOLD  # this one still works
    assert gc.get_threshold() == before

"""Billing benchmark: a monthly run over recurring contracts, then the same run again.

The target (issue 9): a monthly run over 100,000 recurring contracts in under 20 s on
SQLite and PostgreSQL, and a second run of the same period creating nothing.

The contracts are monthly membership fees of as many organisations, billed in advance,
billed through February; the run bills March: a billable item and a draft invoice (with
its line and audit entry) per contract, as ``kartoteka billing run`` does, in one
process. The second run of March is timed too; it must make nothing.

    python bench/billing.py [CONTRACTS]   # default KARTOTEKA_BENCH_CONTRACTS or 100000

PostgreSQL too when KARTOTEKA_BENCH_POSTGRES_URL is set (schema bench_billing).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTRACTS = int(os.environ.get("KARTOTEKA_BENCH_CONTRACTS", "100000"))
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


def populate(session, count: int) -> None:
    """``count`` organisations, each with a monthly contract billed through February."""
    from sqlalchemy import insert

    from core.db import utcnow
    from core.models import Contract, ContractPrice, Organisation

    now = utcnow()
    for start in range(0, count, 10_000):
        size = min(10_000, count - start)
        orgs = session.scalars(insert(Organisation).returning(
            Organisation.id, sort_by_parameter_order=True), [
            {"name": f"Gmina {n}", "name_key": f"gmina {n}", "type_key": "core.municipality",
             "city": "Poznań", "created_at": now, "updated_at": now, "custom": {},
             "version": 1} for n in range(start, start + size)]).all()
        contracts = session.scalars(insert(Contract).returning(
            Contract.id, sort_by_parameter_order=True), [
            {"organisation_id": org, "title": f"Umowa członkowska {n}/2026",
             "description": "Składka członkowska", "starts_on": date(2026, 1, 1),
             "period_months": 1, "vat_rate": "zw", "billed_through": date(2026, 2, 28),
             "created_at": now} for n, org in enumerate(orgs, start)]).all()
        session.execute(insert(ContractPrice), [
            {"contract_id": c, "valid_from": date(2026, 1, 1), "unit_price": 100}
            for c in contracts])


def run(database_url: str, instance: Path, count: int) -> dict:
    env = {**os.environ, "KARTOTEKA_DATABASE_URL": database_url,
           "KARTOTEKA_INSTANCE_PATH": str(instance)}
    subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "db",
                    "upgrade"], env=env, check=True, capture_output=True)
    from sqlalchemy import func, select

    from core import billing_runs
    from core.models import BillableItem, Invoice
    from core.web import create_app

    app = create_app({"database_url": database_url, "instance_path": str(instance),
                      "jobs_url": "immediate"})
    rt = app.extensions["kartoteka"]
    found = {"contracts": count}
    with app.test_request_context():
        with rt.session() as s, s.begin():
            populate(s, count)
        for name in ("first", "second"):
            start = time.perf_counter()
            with rt.session() as s, s.begin():
                run_id = billing_runs.start(s, rt.host, MARCH, queue=False).id
            made = billing_runs.execute(rt, run_id)
            took = time.perf_counter() - start
            found[f"{name}_run"] = {"seconds": round(took, 1),
                                    "invoices": made["invoices"], "items": made["items"],
                                    "per_second": round(made["invoices"] / took)}
        with rt.session() as s:
            found["invoices_in_all"] = s.scalar(select(func.count()).select_from(Invoice))
            found["items_in_all"] = s.scalar(select(func.count()).select_from(BillableItem))
    found["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    rt.engine.dispose()
    return found


def main(argv: list[str]) -> dict:
    count = int(argv[0]) if argv else CONTRACTS
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{tmp}/billing.db", Path(tmp) / "instance", count)
    pg = os.environ.get("KARTOTEKA_BENCH_POSTGRES_URL")
    if pg:
        from run import fresh_schema

        with tempfile.TemporaryDirectory() as tmp:
            results["postgresql"] = run(fresh_schema(pg, "bench_billing"),
                                        Path(tmp) / "instance", count)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main(sys.argv[1:])

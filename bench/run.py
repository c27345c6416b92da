"""Benchmarks of the core platform: start-up, plugin listing and a served request.

Run by ``make bench``; prints a table and writes bench/results/latest.json. Figures
are written up in docs/performance.md. Uses SQLite, and PostgreSQL when
KARTOTEKA_BENCH_POSTGRES_URL names a database (schemas bench_platform, bench_records
and bench_import are created in it afresh). KARTOTEKA_BENCH_SCALE scales the card
index, KARTOTEKA_BENCH_IMPORT_ROWS the file of people imported (bench/importing.py),
KARTOTEKA_BENCH_MAIL_RECIPIENTS the mailing queued and delivered (bench/mailing.py),
KARTOTEKA_BENCH_CONTRACTS the contracts a billing run bills (bench/billing.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench(database_url: str, instance: Path) -> dict:
    env = {**os.environ, "KARTOTEKA_DATABASE_URL": database_url,
           "KARTOTEKA_INSTANCE_PATH": str(instance)}
    subprocess.run([BIN / "kartoteka", "init", "--plugins", "all"], env=env, check=True,
                   capture_output=True)
    os.environ.update(env)
    from core.web import create_app

    tracemalloc.start()
    start_ms = timed(lambda: create_app({"database_url": database_url}), 10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    app = create_app({"database_url": database_url})
    client = app.test_client()
    health_ms = timed(lambda: client.get("/healthz"), 500)
    cli_ms = timed(lambda: subprocess.run([BIN / "kartoteka", "plugins", "list", "--json"],
                                          env=env, check=True, capture_output=True), 5)
    return {
        "create_app_ms_median": round(statistics.median(start_ms), 1),
        "create_app_peak_mib": round(peak / 2**20, 1),
        "healthz_ms_p50": round(percentile(health_ms, 50), 2),
        "healthz_ms_p95": round(percentile(health_ms, 95), 2),
        "plugins_list_cli_ms_median": round(statistics.median(cli_ms), 0),
    }


def fresh_schema(url: str, schema: str) -> str:
    """An empty PostgreSQL schema of the given database, as a URL that uses it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.db import normalise_url

    url = normalise_url(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def main() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import billing
    import importing
    import mailing
    import records

    results, card_index = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = bench(f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance")
        card_index["sqlite"] = records.run(f"sqlite:///{tmp}/records.db")
    pg = os.environ.get("KARTOTEKA_BENCH_POSTGRES_URL")
    if pg:
        with tempfile.TemporaryDirectory() as tmp:
            results["postgresql"] = bench(fresh_schema(pg, "bench_platform"),
                                          Path(tmp) / "instance")
        card_index["postgresql"] = records.run(fresh_schema(pg, "bench_records"))
    print("\nimport")
    imports = importing.main([importing.ROWS])
    print("\nmailing")
    mailings = mailing.main([str(mailing.RECIPIENTS)])
    print("\nbilling")
    billings = billing.main([str(billing.CONTRACTS)])
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"platform": results,
                                                 "card_index": card_index,
                                                 "import": imports, "mailing": mailings,
                                                 "billing": billings},
                                                indent=2, default=str))
    for title, table in (("platform", results), ("card index", card_index)):
        print(f"\n{title}")
        keys = list(next(iter(table.values())))
        print(f"{'measure':40}" + "".join(f"{db:>26}" for db in table))
        for key in keys:
            print(f"{key:40}" + "".join(f"{str(table[db][key]):>26}" for db in table))


if __name__ == "__main__":
    main()

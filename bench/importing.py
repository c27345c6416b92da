"""Import benchmark: a generated CSV of people imported through ``core.importing``.

The target (issue 3): a million people from CSV at 20,000 rows/s or more, in constant
memory, on SQLite and PostgreSQL. Every row has a first name, a surname, a PESEL, an
e-mail address, a phone number and an address, all valid, so every row goes through
the whole of validation. Names repeat as in life (a few hundred surnames), so most
people have namesakes.

Three imports into a fresh database, each in a process of its own so that its peak
resident memory is its own:

* ``create``: the whole file with "create anyway" for duplicates: a migration;
* ``skip``: the same file again with the default policy: every row is found as a
  duplicate (same PESEL, e-mail and phone) and skipped;
* ``update``: the first UPDATE_ROWS rows again with "update", through the service.

    python bench/importing.py [ROWS ...]   # default KARTOTEKA_BENCH_IMPORT_ROWS or 100000

PostgreSQL too when KARTOTEKA_BENCH_POSTGRES_URL is set (schema bench_import, made
afresh). Compare the peak memory of a small and a large file: it must not grow.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("KARTOTEKA_BENCH_IMPORT_ROWS", "100000"))
UPDATE_ROWS = 5_000
HEADERS = ["Imię", "Nazwisko", "PESEL", "E-mail", "Telefon", "Ulica", "Kod pocztowy",
           "Miejscowość"]
MAPPING = {"Imię": "first_name", "Nazwisko": "last_name", "PESEL": "pesel",
           "E-mail": "emails", "Telefon": "phones", "Ulica": "street",
           "Kod pocztowy": "postal_code", "Miejscowość": "city"}
FIRST_NAMES = ["Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa",
               "Krystyna", "Elżbieta", "Zofia", "Joanna", "Magdalena", "Monika", "Jolanta",
               "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Jan", "Michał", "Marcin",
               "Stanisław", "Jakub", "Adam", "Łukasz", "Grzegorz", "Józef", "Zbigniew",
               "Wojciech"]
STEMS = ["Nowak", "Kowal", "Wiśniew", "Wójcik", "Kamień", "Lewandow", "Zieliń", "Szymań",
         "Woźniak", "Dąbrow", "Kozłow", "Jankow", "Mazur", "Kwiatkow", "Krawczyk", "Piotrow",
         "Grabow", "Nowakow", "Pawłow", "Michalak", "Król", "Wieczorek", "Jabłoń", "Wróbel",
         "Majew", "Olszew", "Stępień", "Malinow", "Jaworsk", "Adamczyk", "Dudek", "Nowick",
         "Pietrzak", "Zając", "Wróblew", "Sikor", "Baran", "Rutkow", "Michalsk", "Szewczyk"]
ENDINGS = ["", "ski", "ska", "czyk", "ek", "owicz"]
STREETS = ["Długa", "Krótka", "Polna", "Leśna", "Słoneczna", "Ogrodowa", "Lipowa", "Łąkowa",
           "Kościuszki", "Mickiewicza", "Żeromskiego", "Źródlana"]
CITIES = ["Poznań", "Kórnik", "Gniezno", "Śrem", "Kalisz", "Konin", "Piła", "Leszno",
          "Łódź", "Kraków", "Gdańsk", "Wrocław"]
PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


def pesel(i: int) -> str:
    """A valid PESEL, different for every i below 200 million."""
    born = datetime.date(1940, 1, 1) + datetime.timedelta(days=i % 20_000)
    month = born.month + (20 if born.year >= 2000 else 0)
    digits = f"{born.year % 100:02d}{month:02d}{born.day:02d}{i // 20_000 % 10_000:04d}"
    check = (10 - sum(int(d) * w for d, w in zip(digits, PESEL_WEIGHTS, strict=True)) % 10) % 10
    return f"{digits}{check}"


def write_csv(path: Path, rows: int, seed: int = 3) -> None:
    """People as an office's spreadsheet would export them (UTF-8, semicolons)."""
    rng = random.Random(seed)
    surnames = [stem + ending for stem in STEMS for ending in ENDINGS]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADERS)
        for i in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(surnames)
            writer.writerow([first, last, pesel(i), f"{first}.{last}.{i}@poczta.example.pl",
                             f"{600_000_000 + i:09d}",
                             f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                             f"{rng.randint(10, 99)}-{rng.randint(0, 999):03d}",
                             rng.choice(CITIES)])


def import_once(database_url: str, path: str, policy: str) -> dict:
    """One import in this process: its speed, the processor time it took here and in
    the PostgreSQL server, and this process's peak memory."""
    from core import importing
    from core.db import make_engine, make_sessionmaker
    from core.plugins import build_host

    engine = make_engine(database_url)
    backends = _backend_pids(engine)
    session_factory = make_sessionmaker(engine, host=build_host([]))
    start, cpu = time.perf_counter(), time.process_time()
    report = importing.run_import(session_factory, None, path, "person", MAPPING,
                                  on_duplicate=policy)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_cpu = sum(_cpu_seconds(pid) for pid in backends)
    engine.dispose()
    return {"rows": report.rows, "created": report.created, "updated": report.updated,
            "skipped": report.skipped, "failed": report.failed,
            "seconds": round(seconds, 1), "rows_per_s": round(report.rows / seconds),
            "cpu_us_per_row": round(cpu / report.rows * 1e6),
            "server_cpu_us_per_row": round(server_cpu / report.rows * 1e6),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def _backend_pids(engine) -> list[int]:
    """The PostgreSQL server processes of the engine's connections, as they are made."""
    from sqlalchemy import event

    pids: list[int] = []
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def remember(dbapi_connection, _record) -> None:
            with dbapi_connection.cursor() as cursor:
                pids.append(cursor.execute("SELECT pg_backend_pid()").fetchone()[0])
            dbapi_connection.rollback()
    return pids


def _cpu_seconds(pid: int) -> float:
    """User and system time of a process on this machine (the server's, here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clean_cost(path: Path, rows: int = 20_000) -> float:
    """Microseconds of processor time ``people.clean`` takes per row of the file."""
    from core import people

    with path.open(encoding="utf-8") as source:
        reader = csv.DictReader(source, delimiter=";")
        data = [{"first_name": r["Imię"], "last_name": r["Nazwisko"], "pesel": r["PESEL"],
                 "emails": [r["E-mail"]], "phones": [r["Telefon"]],
                 "addresses": [{"street": r["Ulica"], "postal_code": r["Kod pocztowy"],
                                "city": r["Miejscowość"]}]}
                for r, _ in zip(reader, range(rows), strict=False)]
    start = time.process_time()
    for values in data:
        people.clean(values)
    return round((time.process_time() - start) / len(data) * 1e6)


def _in_process_of_its_own(database_url: str, path: Path, policy: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", database_url, str(path),
                           policy], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def _head(path: Path, rows: int) -> Path:
    head = path.with_name(f"head-{rows}.csv")
    with path.open(encoding="utf-8") as source, head.open("w", encoding="utf-8") as out:
        for number, line in enumerate(source):
            if number > rows:
                break
            out.write(line)
    return head


def run(database_url: str, path: Path) -> dict:
    """The three imports into a fresh, migrated database."""
    from core import migrate
    from core.db import make_engine

    engine = make_engine(database_url)
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    engine.dispose()
    return {policy: _in_process_of_its_own(database_url, source, policy)
            for policy, source in (("create", path), ("skip", path),
                                   ("update", _head(path, UPDATE_ROWS)))}


def main(sizes: list[int]) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from run import fresh_schema

    results = {}
    pg = os.environ.get("KARTOTEKA_BENCH_POSTGRES_URL")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "people.csv"
            write_csv(path, rows)
            results[f"people.clean {rows}"] = {"clean": {"cpu_us_per_row": clean_cost(path)}}
            results[f"sqlite {rows}"] = run(f"sqlite:///{tmp}/import.db", path)
            if pg:
                results[f"postgresql {rows}"] = run(fresh_schema(pg, "bench_import"), path)
    for name, scenarios in results.items():
        for policy, figures in scenarios.items():
            print(f"{name:>24} {policy:>7}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(import_once(*sys.argv[2:5])))
    else:
        main([int(n) for n in sys.argv[1:]] or [ROWS])
